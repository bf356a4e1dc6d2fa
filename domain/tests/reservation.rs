//! Reservation streams: one owner per unique value (a user's email per project, an
//! organization's slug per project, an operator's email).
use authio_domain::reservation::{
    operator_email_key, organization_slug_key, user_email_key, Reservation, ReservationCommand, ReservationError,
    ReservationEvent,
};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

const ADA: &str = "user_ada";
const BOB: &str = "user_bob";

fn given(events: Vec<ReservationEvent>) -> AggregateTestExecutor<Reservation> {
    TestFramework::<Reservation>::with(()).given(events)
}

fn claimed(owner: &str) -> ReservationEvent {
    ReservationEvent::Claimed { owner: owner.into() }
}

fn released(owner: &str) -> ReservationEvent {
    ReservationEvent::Released { owner: owner.into() }
}

fn claim(owner: &str) -> ReservationCommand {
    ReservationCommand::Claim { owner: owner.into() }
}

fn release(owner: &str) -> ReservationCommand {
    ReservationCommand::Release { owner: owner.into() }
}

#[tokio::test]
async fn claim_free_value_emits_claimed() {
    given(vec![]).when_async(claim(ADA)).await.then_expect_events(vec![claimed(ADA)]);
}

#[tokio::test]
async fn claim_by_another_owner_is_taken() {
    given(vec![claimed(ADA)]).when_async(claim(BOB)).await.then_expect_error(ReservationError::Taken);
}

#[tokio::test]
async fn claim_again_by_the_same_owner_is_idempotent() {
    given(vec![claimed(ADA)]).when_async(claim(ADA)).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn release_by_owner_emits_released() {
    given(vec![claimed(ADA)]).when_async(release(ADA)).await.then_expect_events(vec![released(ADA)]);
}

#[tokio::test]
async fn released_value_can_be_claimed_by_another_owner() {
    given(vec![claimed(ADA), released(ADA)]).when_async(claim(BOB)).await.then_expect_events(vec![claimed(BOB)]);
}

#[tokio::test]
async fn release_by_another_owner_changes_nothing() {
    given(vec![claimed(ADA)]).when_async(release(BOB)).await.then_expect_events(vec![]);
    // ...and the value is still taken.
    given(vec![claimed(ADA)]).when_async(claim(BOB)).await.then_expect_error(ReservationError::Taken);
}

#[tokio::test]
async fn release_of_a_free_value_changes_nothing() {
    given(vec![]).when_async(release(ADA)).await.then_expect_events(vec![]);
    given(vec![claimed(ADA), released(ADA)]).when_async(release(ADA)).await.then_expect_events(vec![]);
}

#[test]
fn user_email_key_is_per_project_and_normalized() {
    assert_eq!(user_email_key("proj_1", "  Ada@Example.COM "), user_email_key("proj_1", "ada@example.com"));
    assert_eq!(user_email_key("proj_1", "ada@example.com"), "user_email:proj_1:ada@example.com");
    assert_ne!(
        user_email_key("proj_1", "ada@example.com"),
        user_email_key("proj_2", "ada@example.com"),
        "the same email may sign up in two projects"
    );
}

#[test]
fn organization_slug_key_is_per_project() {
    assert_eq!(organization_slug_key("proj_1", "globex"), "organization_slug:proj_1:globex");
    assert_ne!(organization_slug_key("proj_1", "globex"), organization_slug_key("proj_2", "globex"));
}

#[test]
fn operator_email_key_is_normalized() {
    assert_eq!(operator_email_key(" Owner@Acme.Example"), "operator_email:owner@acme.example");
}

#[test]
fn keys_of_different_kinds_never_collide() {
    let keys =
        [user_email_key("proj_1", "a@b.co"), organization_slug_key("proj_1", "a@b.co"), operator_email_key("a@b.co")];
    assert_ne!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
    assert_ne!(keys[1], keys[2]);
}
