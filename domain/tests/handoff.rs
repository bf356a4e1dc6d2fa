//! Handoff codes: issued once, redeemed once within their lifetime, reuse recorded only
//! after a redemption.
mod common;

use authio_domain::handoff::{Handoff, HandoffCommand, HandoffError, HandoffEvent};
use chrono::Duration;
use common::{at, handoff_events, FAMILY};
use cqrs_es::test::TestFramework;

fn issued() -> HandoffEvent {
    handoff_events().remove(0)
}

fn redeemed() -> HandoffEvent {
    handoff_events().remove(1)
}

fn issue() -> HandoffCommand {
    let HandoffEvent::Issued {
        handoff_id,
        session_id,
        project_id,
        user_id,
        organization_id,
        code_hash,
        code_challenge,
        redirect_url,
        expires_at,
        issued_at,
    } = issued()
    else {
        unreachable!()
    };
    HandoffCommand::Issue {
        handoff_id,
        session_id,
        project_id,
        user_id,
        organization: organization_id,
        code_hash,
        code_challenge,
        redirect_url,
        expires_at,
        at: issued_at,
    }
}

fn redeem_at(seconds: i64) -> HandoffCommand {
    HandoffCommand::Redeem { family_id: FAMILY.into(), at: at() + Duration::seconds(seconds) }
}

#[test]
fn issued_once() {
    TestFramework::<Handoff>::with(()).given_no_previous_events().when(issue()).then_expect_events(vec![issued()]);
    TestFramework::<Handoff>::with(())
        .given(vec![issued()])
        .when(issue())
        .then_expect_error(HandoffError::AlreadyExists);
}

#[test]
fn redeemed_once_within_its_lifetime() {
    // The sample's redemption is at issue time; a redemption a minute later is the same event
    // but for its time.
    TestFramework::<Handoff>::with(()).given(vec![issued()]).when(redeem_at(0)).then_expect_events(vec![redeemed()]);
    TestFramework::<Handoff>::with(()).given(vec![issued()]).when(redeem_at(119)).then_expect_events(vec![
        HandoffEvent::Redeemed {
            handoff_id: common::HANDOFF.into(),
            session_id: common::session_id(),
            user_id: common::user_id(),
            organization_id: Some(common::org_id()),
            family_id: FAMILY.into(),
            redeemed_at: at() + Duration::seconds(119),
        },
    ]);
    TestFramework::<Handoff>::with(())
        .given(vec![issued()])
        .when(redeem_at(120))
        .then_expect_error(HandoffError::Invalid);
    TestFramework::<Handoff>::with(())
        .given(vec![issued(), redeemed()])
        .when(redeem_at(1))
        .then_expect_error(HandoffError::AlreadyRedeemed);
    TestFramework::<Handoff>::with(())
        .given_no_previous_events()
        .when(redeem_at(0))
        .then_expect_error(HandoffError::Invalid);
}

#[test]
fn reuse_is_recorded_only_after_a_redemption() {
    TestFramework::<Handoff>::with(())
        .given(vec![issued(), redeemed()])
        .when(HandoffCommand::RecordReuse { at: at() })
        .then_expect_events(vec![handoff_events().remove(2)]);
    TestFramework::<Handoff>::with(())
        .given(vec![issued()])
        .when(HandoffCommand::RecordReuse { at: at() })
        .then_expect_error(HandoffError::Invalid);
}
