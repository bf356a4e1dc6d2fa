//! Webhook endpoint: created with filters, updated, secret rotated, disabled and
//! enabled, deleted; filters and URLs validated; never a secret in an event.
mod common;

use authio_domain::webhook::{
    filter_matches, is_valid_event_filter, DisableReason, WebhookCommand, WebhookEndpoint, WebhookError, WebhookEvent,
};
use common::{at, previous_secret_expires_at, tenant_id, webhook_endpoint_id};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

// ---- builders -------------------------------------------------------------------

fn given(events: Vec<WebhookEvent>) -> AggregateTestExecutor<WebhookEndpoint> {
    TestFramework::<WebhookEndpoint>::with(()).given(events)
}

fn filters(f: &[&str]) -> Vec<String> {
    f.iter().map(|s| s.to_string()).collect()
}

fn created_with(enabled: bool) -> WebhookEvent {
    WebhookEvent::Created {
        endpoint_id: webhook_endpoint_id(),
        project_id: tenant_id(),
        url: "https://hooks.acme.example/authio".into(),
        events: filters(&["membership.*", "session.org_switched"]),
        enabled,
        created_at: at(),
    }
}

fn created() -> WebhookEvent {
    created_with(true)
}

fn create(url: &str, events: &[&str]) -> WebhookCommand {
    WebhookCommand::Create {
        endpoint_id: webhook_endpoint_id(),
        project_id: tenant_id(),
        url: url.into(),
        events: filters(events),
        enabled: true,
        at: at(),
    }
}

fn disabled(reason: DisableReason) -> WebhookEvent {
    WebhookEvent::Disabled { reason, disabled_at: at() }
}

fn deleted() -> WebhookEvent {
    WebhookEvent::Deleted { deleted_at: at() }
}

// ---- creation -------------------------------------------------------------------

#[test]
fn create_records_url_and_filters() {
    given(vec![])
        .when(create("https://hooks.acme.example/authio", &["membership.*", "session.org_switched"]))
        .then_expect_events(vec![created()]);
}

#[test]
fn create_twice_is_rejected() {
    given(vec![created()])
        .when(create("https://hooks.acme.example/authio", &["*"]))
        .then_expect_error(WebhookError::AlreadyExists);
}

#[test]
fn create_with_a_relative_or_non_http_url_is_rejected() {
    for url in ["/hooks", "ftp://example.com/x", "https://", "http:///path", "https://exa mple.com"] {
        given(vec![]).when(create(url, &["*"])).then_expect_error(WebhookError::InvalidUrl);
    }
    let long = format!("https://example.com/{}", "a".repeat(2048));
    given(vec![]).when(create(&long, &["*"])).then_expect_error(WebhookError::InvalidUrl);
}

#[test]
fn create_with_unknown_or_malformed_filters_is_rejected() {
    for f in [&[][..], &["membership.nope"], &["nope.*"], &["member*"], &["*.created"], &["membership.**"]] {
        given(vec![]).when(create("https://example.com/h", f)).then_expect_error(WebhookError::InvalidEventFilter);
    }
}

// ---- changes ----------------------------------------------------------------------

#[test]
fn update_records_only_what_changed() {
    given(vec![created()])
        .when(WebhookCommand::Update { url: None, events: Some(filters(&["*"])), at: at() })
        .then_expect_events(vec![WebhookEvent::Updated { url: None, events: Some(filters(&["*"])), updated_at: at() }]);
}

#[test]
fn update_with_nothing_is_a_no_op() {
    given(vec![created()])
        .when(WebhookCommand::Update { url: None, events: None, at: at() })
        .then_expect_events(vec![]);
}

#[test]
fn rotate_secret_records_the_overlap_but_no_secret() {
    given(vec![created()])
        .when(WebhookCommand::RotateSecret { previous_expires_at: previous_secret_expires_at(), at: at() })
        .then_expect_events(vec![WebhookEvent::SecretRotated {
            previous_expires_at: previous_secret_expires_at(),
            rotated_at: at(),
        }]);
}

#[test]
fn disable_then_enable() {
    given(vec![created()])
        .when(WebhookCommand::Disable { reason: DisableReason::Failing, at: at() })
        .then_expect_events(vec![disabled(DisableReason::Failing)]);
    given(vec![created(), disabled(DisableReason::Manual)])
        .when(WebhookCommand::Enable { at: at() })
        .then_expect_events(vec![WebhookEvent::Enabled { enabled_at: at() }]);
}

#[test]
fn disabling_a_disabled_endpoint_or_enabling_an_enabled_one_changes_nothing() {
    given(vec![created_with(false)])
        .when(WebhookCommand::Disable { reason: DisableReason::Failing, at: at() })
        .then_expect_events(vec![]);
    given(vec![created()]).when(WebhookCommand::Enable { at: at() }).then_expect_events(vec![]);
}

#[test]
fn a_deleted_endpoint_accepts_no_command() {
    let commands = [
        WebhookCommand::Update { url: Some("https://example.com".into()), events: None, at: at() },
        WebhookCommand::RotateSecret { previous_expires_at: at(), at: at() },
        WebhookCommand::Disable { reason: DisableReason::Manual, at: at() },
        WebhookCommand::Enable { at: at() },
        WebhookCommand::Delete { at: at() },
    ];
    for c in commands {
        given(vec![created(), deleted()]).when(c).then_expect_error(WebhookError::NotFound);
    }
}

#[test]
fn an_unknown_endpoint_is_not_found() {
    given(vec![]).when(WebhookCommand::Delete { at: at() }).then_expect_error(WebhookError::NotFound);
}

// ---- filters ----------------------------------------------------------------------

#[test]
fn filters_match_types_prefixes_and_everything() {
    assert!(is_valid_event_filter("*"));
    assert!(is_valid_event_filter("membership.*"));
    assert!(is_valid_event_filter("session.org_switched"));
    assert!(is_valid_event_filter("webhook_endpoint.*"));
    assert!(filter_matches("membership.*", "membership.role_changed"));
    assert!(!filter_matches("membership.*", "memberships.x"));
    assert!(!filter_matches("membership.*", "session.org_switched"));
    assert!(filter_matches("session.org_switched", "session.org_switched"));
    assert!(!filter_matches("session.org_switched", "session.created"));
    assert!(filter_matches("*", "user.created"));
}

#[test]
fn no_webhook_event_carries_a_secret() {
    for e in common::webhook_events() {
        let text = serde_json::to_string(&e).unwrap();
        assert!(!text.contains("whsec_") && !text.contains("secret\":"), "{text}");
    }
}
