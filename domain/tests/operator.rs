//! Operator: a console owner, created once, opening console sessions.
mod common;

use authio_domain::operator::{Operator, OperatorCommand, OperatorError, OperatorEvent};
use common::{at, operator_id, CONSOLE_SESSION};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

fn given(events: Vec<OperatorEvent>) -> AggregateTestExecutor<Operator> {
    TestFramework::<Operator>::with(()).given(events)
}

fn created() -> OperatorEvent {
    OperatorEvent::Created { operator_id: operator_id(), email: "owner@acme.example".into(), created_at: at() }
}

fn create(email: &str) -> OperatorCommand {
    OperatorCommand::Create { operator_id: operator_id(), email: email.into(), at: at() }
}

fn open_session() -> OperatorCommand {
    OperatorCommand::OpenConsoleSession { session_id: CONSOLE_SESSION.into(), method: "email_link".into(), at: at() }
}

#[tokio::test]
async fn create_operator_stores_the_normalized_email() {
    given(vec![]).when_async(create("  Owner@ACME.example ")).await.then_expect_events(vec![created()]);
}

#[tokio::test]
async fn create_operator_with_invalid_email_is_rejected() {
    given(vec![]).when_async(create("owner.acme.example")).await.then_expect_error(OperatorError::InvalidEmail);
}

#[tokio::test]
async fn create_existing_operator_is_rejected() {
    given(vec![created()])
        .when_async(create("owner@acme.example"))
        .await
        .then_expect_error(OperatorError::AlreadyExists);
}

#[tokio::test]
async fn open_console_session_emits_opened() {
    given(vec![created()]).when_async(open_session()).await.then_expect_events(vec![
        OperatorEvent::ConsoleSessionOpened {
            session_id: CONSOLE_SESSION.into(),
            method: "email_link".into(),
            opened_at: at(),
        },
    ]);
}

#[tokio::test]
async fn close_console_session_emits_closed() {
    given(vec![created()])
        .when_async(OperatorCommand::CloseConsoleSession { session_id: CONSOLE_SESSION.into(), at: at() })
        .await
        .then_expect_events(vec![OperatorEvent::ConsoleSessionClosed {
            session_id: CONSOLE_SESSION.into(),
            closed_at: at(),
        }]);
}

#[tokio::test]
async fn open_console_session_for_unknown_operator_is_not_found() {
    given(vec![]).when_async(open_session()).await.then_expect_error(OperatorError::NotFound);
}

#[test]
fn operator_error_codes_are_stable() {
    assert_eq!(OperatorError::AlreadyExists.code(), "operator_exists");
    assert_eq!(OperatorError::NotFound.code(), "not_found");
    assert_eq!(OperatorError::InvalidEmail.code(), "invalid_request");
}
