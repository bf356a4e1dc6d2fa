//! Session: created for a user, switched between organizations, refreshed, revoked.
mod common;

use authio_domain::ids::OrganizationId;
use authio_domain::session::{Session, SessionCommand, SessionError, SessionEvent};
use common::{at, org_id, other_org_id, session_id, tenant_id, user_id};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

// ---- builders -------------------------------------------------------------------

fn given(events: Vec<SessionEvent>) -> AggregateTestExecutor<Session> {
    TestFramework::<Session>::with(()).given(events)
}

fn created_in(active_organization: Option<OrganizationId>) -> SessionEvent {
    SessionEvent::Created {
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        method: "magic_link".into(),
        active_organization,
        created_at: at(),
    }
}

fn created() -> SessionEvent {
    created_in(None)
}

fn switched(from: Option<OrganizationId>, to: OrganizationId) -> SessionEvent {
    SessionEvent::OrganizationSwitched { user_id: user_id(), from, to, switched_at: at() }
}

fn refreshed(generation: u64) -> SessionEvent {
    SessionEvent::Refreshed { generation, refreshed_at: at() }
}

fn revoked(reason: &str) -> SessionEvent {
    SessionEvent::Revoked { user_id: user_id(), reason: reason.into(), revoked_at: at() }
}

fn create_in(active_organization: Option<OrganizationId>) -> SessionCommand {
    SessionCommand::Create {
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        method: "magic_link".into(),
        active_organization,
        at: at(),
    }
}

fn create() -> SessionCommand {
    create_in(None)
}

/// A switch by a user with an active membership in `to`.
fn switch_to(to: OrganizationId) -> SessionCommand {
    SessionCommand::SwitchOrganization { to, has_active_membership: true, at: at() }
}

/// A switch by a user with no active membership in `to`.
fn switch_as_non_member(to: OrganizationId) -> SessionCommand {
    SessionCommand::SwitchOrganization { to, has_active_membership: false, at: at() }
}

fn refresh() -> SessionCommand {
    SessionCommand::Refresh { at: at() }
}

fn revoke(reason: &str) -> SessionCommand {
    SessionCommand::Revoke { reason: reason.into(), at: at() }
}

// ---- create ---------------------------------------------------------------------

#[tokio::test]
async fn create_session_emits_created() {
    given(vec![]).when_async(create()).await.then_expect_events(vec![created()]);
}

#[tokio::test]
async fn create_session_with_an_active_organization_records_it() {
    given(vec![]).when_async(create_in(Some(org_id()))).await.then_expect_events(vec![created_in(Some(org_id()))]);
}

#[tokio::test]
async fn create_existing_session_is_rejected() {
    given(vec![created()]).when_async(create()).await.then_expect_error(SessionError::AlreadyExists);
}

/// A revoked session's id is never reused.
#[tokio::test]
async fn create_over_a_revoked_session_is_rejected() {
    given(vec![created(), revoked("sign_out")])
        .when_async(create())
        .await
        .then_expect_error(SessionError::AlreadyExists);
}

// ---- switch organization --------------------------------------------------------

#[tokio::test]
async fn first_switch_emits_org_switched_from_none() {
    given(vec![created()]).when_async(switch_to(org_id())).await.then_expect_events(vec![switched(None, org_id())]);
}

#[tokio::test]
async fn switch_after_a_switch_emits_org_switched_from_the_previous_organization() {
    given(vec![created(), switched(None, org_id())])
        .when_async(switch_to(other_org_id()))
        .await
        .then_expect_events(vec![switched(Some(org_id()), other_org_id())]);
}

#[tokio::test]
async fn switch_from_the_organization_chosen_at_creation_emits_it_as_from() {
    given(vec![created_in(Some(org_id()))])
        .when_async(switch_to(other_org_id()))
        .await
        .then_expect_events(vec![switched(Some(org_id()), other_org_id())]);
}

#[tokio::test]
async fn switch_without_an_active_membership_is_rejected() {
    given(vec![created()]).when_async(switch_as_non_member(org_id())).await.then_expect_error(SessionError::NotAMember);
}

#[tokio::test]
async fn switch_on_unknown_session_is_not_found() {
    given(vec![]).when_async(switch_to(org_id())).await.then_expect_error(SessionError::NotFound);
}

#[tokio::test]
async fn switch_on_revoked_session_is_rejected() {
    given(vec![created(), revoked("sign_out")])
        .when_async(switch_to(org_id()))
        .await
        .then_expect_error(SessionError::Revoked);
}

/// A revoked session answers "revoked" before anything about memberships.
#[tokio::test]
async fn switch_as_non_member_on_revoked_session_is_rejected_as_revoked() {
    given(vec![created(), revoked("sign_out")])
        .when_async(switch_as_non_member(org_id()))
        .await
        .then_expect_error(SessionError::Revoked);
}

// ---- refresh --------------------------------------------------------------------

#[tokio::test]
async fn first_refresh_emits_generation_1() {
    given(vec![created()]).when_async(refresh()).await.then_expect_events(vec![refreshed(1)]);
}

#[tokio::test]
async fn second_refresh_emits_generation_2() {
    given(vec![created(), refreshed(1)]).when_async(refresh()).await.then_expect_events(vec![refreshed(2)]);
}

#[tokio::test]
async fn refresh_after_a_switch_keeps_counting_generations() {
    given(vec![created(), refreshed(1), switched(None, org_id())])
        .when_async(refresh())
        .await
        .then_expect_events(vec![refreshed(2)]);
}

#[tokio::test]
async fn refresh_on_unknown_session_is_not_found() {
    given(vec![]).when_async(refresh()).await.then_expect_error(SessionError::NotFound);
}

#[tokio::test]
async fn refresh_on_revoked_session_is_rejected() {
    given(vec![created(), refreshed(1), revoked("sign_out")])
        .when_async(refresh())
        .await
        .then_expect_error(SessionError::Revoked);
}

// ---- revoke ---------------------------------------------------------------------

#[tokio::test]
async fn revoke_emits_revoked_with_the_reason() {
    given(vec![created()]).when_async(revoke("sign_out")).await.then_expect_events(vec![revoked("sign_out")]);
}

#[tokio::test]
async fn revoke_after_switch_and_refresh_emits_revoked() {
    given(vec![created(), switched(None, org_id()), refreshed(1)])
        .when_async(revoke("membership_deactivated"))
        .await
        .then_expect_events(vec![revoked("membership_deactivated")]);
}

/// Revoking is idempotent: the first reason stands and nothing more is written.
#[tokio::test]
async fn revoking_a_revoked_session_emits_nothing() {
    given(vec![created(), revoked("sign_out")]).when_async(revoke("user_deleted")).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn revoke_unknown_session_is_not_found() {
    given(vec![]).when_async(revoke("sign_out")).await.then_expect_error(SessionError::NotFound);
}

// ---- error codes ----------------------------------------------------------------

#[test]
fn session_error_codes_are_stable() {
    assert_eq!(SessionError::AlreadyExists.code(), "session_exists");
    assert_eq!(SessionError::NotFound.code(), "unauthenticated");
    assert_eq!(SessionError::Revoked.code(), "unauthenticated");
    assert_eq!(SessionError::NotAMember.code(), "not_a_member");
}
