//! Session: created for a user and revoked; its organization contexts opened, closed
//! and cut; its token families started and rotated.
mod common;

use authio_domain::context::*;
use authio_domain::ids::OrganizationId;
use authio_domain::session::{Session, SessionCommand, SessionError, SessionEvent};
use common::{at, org_id, other_org_id, session_id, tenant_id, user_id};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use cqrs_es::Aggregate;

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

// ---- revoke ---------------------------------------------------------------------

#[tokio::test]
async fn revoke_emits_revoked_with_the_reason() {
    given(vec![created()]).when_async(revoke("sign_out")).await.then_expect_events(vec![revoked("sign_out")]);
}

/// A stream written before contexts (its switches and refreshes its own) still replays.
#[tokio::test]
async fn revoke_after_legacy_switch_and_refresh_emits_revoked() {
    let switched =
        SessionEvent::OrganizationSwitched { user_id: user_id(), from: None, to: org_id(), switched_at: at() };
    let refreshed = SessionEvent::Refreshed { generation: 1, refreshed_at: at() };
    given(vec![created(), switched, refreshed])
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

// ---- contexts -------------------------------------------------------------------

fn in_context(events: Vec<ContextEvent>) -> AggregateTestExecutor<SessionContext> {
    TestFramework::<SessionContext>::with(()).given(events)
}

fn enter(org: Option<OrganizationId>) -> ContextCommand {
    ContextCommand::Enter {
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        organization: org,
        at: at(),
    }
}

fn opened(org: Option<OrganizationId>, epoch: u64) -> ContextEvent {
    ContextEvent::Opened {
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        organization_id: org,
        epoch,
        opened_at: at(),
    }
}

fn closed(reason: &str) -> ContextEvent {
    ContextEvent::Closed {
        session_id: session_id(),
        user_id: user_id(),
        organization_id: Some(org_id()),
        reason: reason.into(),
        closed_at: at(),
    }
}

fn cut(reason: &str) -> ContextEvent {
    ContextEvent::Cut {
        session_id: session_id(),
        user_id: user_id(),
        organization_id: Some(org_id()),
        reason: reason.into(),
        cut_at: at(),
    }
}

#[tokio::test]
async fn entering_a_new_context_opens_it_at_epoch_1() {
    in_context(vec![]).when_async(enter(Some(org_id()))).await.then_expect_events(vec![opened(Some(org_id()), 1)]);
}

#[tokio::test]
async fn the_no_organization_context_opens_like_any() {
    in_context(vec![]).when_async(enter(None)).await.then_expect_events(vec![opened(None, 1)]);
}

/// Entering an open context writes nothing: a switch into it touches only its own
/// family's stream, so concurrent switches commute.
#[tokio::test]
async fn entering_an_open_context_emits_nothing() {
    in_context(vec![opened(Some(org_id()), 1)]).when_async(enter(Some(org_id()))).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn entering_a_closed_context_reopens_it_at_the_next_epoch() {
    in_context(vec![opened(Some(org_id()), 1), closed("signed_out")])
        .when_async(enter(Some(org_id())))
        .await
        .then_expect_events(vec![opened(Some(org_id()), 2)]);
}

#[tokio::test]
async fn entering_a_cut_context_reopens_it_at_the_next_epoch() {
    in_context(vec![opened(Some(org_id()), 1), cut("membership_deactivated"), opened(Some(org_id()), 2), cut("x")])
        .when_async(enter(Some(org_id())))
        .await
        .then_expect_events(vec![opened(Some(org_id()), 3)]);
}

#[tokio::test]
async fn closing_an_open_context_emits_closed_with_the_reason() {
    in_context(vec![opened(Some(org_id()), 1)])
        .when_async(ContextCommand::Close { reason: "signed_out".into(), at: at() })
        .await
        .then_expect_events(vec![closed("signed_out")]);
}

#[tokio::test]
async fn closing_a_context_that_is_not_open_is_not_found() {
    for given in [vec![], vec![opened(Some(org_id()), 1), closed("signed_out")]] {
        in_context(given)
            .when_async(ContextCommand::Close { reason: "signed_out".into(), at: at() })
            .await
            .then_expect_error(ContextError::NotOpen);
    }
}

#[tokio::test]
async fn cutting_an_open_context_emits_cut() {
    in_context(vec![opened(Some(org_id()), 1)])
        .when_async(ContextCommand::Cut { reason: "membership_deactivated".into(), at: at() })
        .await
        .then_expect_events(vec![cut("membership_deactivated")]);
}

/// Cutting is idempotent: a context that is not open has nothing to cut.
#[tokio::test]
async fn cutting_a_context_that_is_not_open_emits_nothing() {
    in_context(vec![opened(Some(org_id()), 1), closed("signed_out")])
        .when_async(ContextCommand::Cut { reason: "membership_removed".into(), at: at() })
        .await
        .then_expect_events(vec![]);
}

#[test]
fn context_streams_are_per_session_and_organization() {
    assert_eq!(context_stream_id("sess_1", Some("org_1")), "sess_1/org_1");
    assert_eq!(context_stream_id("sess_1", None), "sess_1/-");
    assert_ne!(context_stream_id("sess_1", Some("org_1")), context_stream_id("sess_1", Some("org_2")));
    assert_eq!((context_key(Some("org_1")), context_key(None)), ("org_1", ""));
}

// ---- token families -------------------------------------------------------------

fn family(events: Vec<FamilyEvent>) -> AggregateTestExecutor<RefreshFamily> {
    TestFramework::<RefreshFamily>::with(()).given(events)
}

fn start(switch: Option<Option<OrganizationId>>, org: Option<OrganizationId>) -> FamilyCommand {
    FamilyCommand::Start {
        family_id: "fam_1".into(),
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        organization: org,
        epoch: 2,
        switch,
        at: at(),
    }
}

fn switched_into(from: Option<OrganizationId>, to: OrganizationId) -> FamilyEvent {
    FamilyEvent::Switched {
        family_id: "fam_1".into(),
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        from,
        to,
        epoch: 2,
        switched_at: at(),
    }
}

fn rotated(generation: u64) -> FamilyEvent {
    FamilyEvent::Refreshed { session_id: session_id(), organization_id: Some(org_id()), generation, refreshed_at: at() }
}

#[tokio::test]
async fn a_switch_starts_a_family_recording_where_it_came_from() {
    family(vec![])
        .when_async(start(Some(Some(other_org_id())), Some(org_id())))
        .await
        .then_expect_events(vec![switched_into(Some(other_org_id()), org_id())]);
}

#[tokio::test]
async fn a_sign_in_starts_a_family_in_its_context() {
    let issued = FamilyEvent::Issued {
        family_id: "fam_1".into(),
        session_id: session_id(),
        project_id: tenant_id(),
        user_id: user_id(),
        organization_id: None,
        epoch: 2,
        issued_at: at(),
    };
    family(vec![]).when_async(start(None, None)).await.then_expect_events(vec![issued]);
}

#[tokio::test]
async fn a_family_starts_once() {
    family(vec![switched_into(None, org_id())])
        .when_async(start(Some(None), Some(org_id())))
        .await
        .then_expect_error(FamilyError::AlreadyExists);
}

#[tokio::test]
async fn each_rotation_counts_one_more_generation_in_the_family_s_organization() {
    family(vec![switched_into(None, org_id())])
        .when_async(FamilyCommand::Rotate { at: at() })
        .await
        .then_expect_events(vec![rotated(1)]);
    family(vec![switched_into(None, org_id()), rotated(1)])
        .when_async(FamilyCommand::Rotate { at: at() })
        .await
        .then_expect_events(vec![rotated(2)]);
}

#[tokio::test]
async fn rotating_an_unknown_family_is_refused() {
    family(vec![]).when_async(FamilyCommand::Rotate { at: at() }).await.then_expect_error(FamilyError::NotFound);
}

#[test]
fn a_family_remembers_its_context_and_epoch() {
    let mut f = RefreshFamily::default();
    f.apply(switched_into(None, org_id()));
    f.apply(rotated(1));
    assert_eq!((f.organization_id, f.epoch, f.generation), (Some(org_id()), 2, 1));
}

#[test]
fn context_error_codes_are_stable() {
    assert_eq!(ContextError::NotOpen.code(), "not_found");
    assert_eq!(FamilyError::AlreadyExists.code(), "conflict");
    assert_eq!(FamilyError::NotFound.code(), "unauthenticated");
}
