//! Event names, versions and the stored JSON format.
//!
//! The stored name is the public name: the serde tag of every variant must equal
//! `event_type()`, and `all_event_types()` must list each name exactly once. The golden
//! fixtures in `tests/fixtures/events/` are the stored format of each event type; a
//! schema change (renamed field, new required field, changed encoding) fails here.
//! Never regenerate a fixture to make this test pass: add a new version and an
//! upcaster instead.
mod common;

use authio_domain::context::{ContextEvent, FamilyEvent};
use authio_domain::operator::OperatorEvent;
use authio_domain::organization::OrganizationEvent;
use authio_domain::reservation::ReservationEvent;
use authio_domain::session::SessionEvent;
use authio_domain::tenant::TenantEvent;
use authio_domain::user::UserEvent;
use authio_domain::webhook::WebhookEvent;
use cqrs_es::DomainEvent;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/events")
}

fn fixture_path(event_type: &str) -> PathBuf {
    fixtures_dir().join(format!("{event_type}.json"))
}

/// The one event type two aggregates store: the session's stream before organization
/// contexts (its fixture in `before_contexts/`), a token family's since.
const SHARED: &str = "session.org_switched";

fn read_fixture(event_type: &str) -> Value {
    read_fixture_at(&fixture_path(event_type))
}

fn read_fixture_at(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("missing fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path.display()))
}

/// The names of the given samples; fails on a wrong tag, a wrong version, or two
/// samples of one type.
fn check_names<E: DomainEvent + Serialize>(samples: &[E]) -> Vec<String> {
    let mut names = Vec::new();
    for event in samples {
        let name = event.event_type();
        let json = serde_json::to_value(event).expect("event serializes");
        assert_eq!(json["type"], Value::String(name.clone()), "serde tag and event_type() disagree for {event:?}");
        assert_eq!(event.event_version(), "1.0", "version of {name}");
        assert!(json.get("data").is_some_and(Value::is_object), "{name}: the payload is an object under \"data\"");
        assert!(!names.contains(&name), "two samples of {name}");
        names.push(name);
    }
    names
}

#[test]
fn every_variant_serializes_under_its_event_type_at_version_1_0() {
    let mut all = Vec::new();

    let tenant = check_names(&common::tenant_events());
    assert_eq!(tenant, TenantEvent::TYPES, "a sample per tenant event, in order");
    all.extend(tenant);

    let user = check_names(&common::user_events());
    assert_eq!(user, UserEvent::TYPES, "a sample per user event, in order");
    all.extend(user);

    let org = check_names(&common::organization_events());
    assert_eq!(org, OrganizationEvent::TYPES, "a sample per organization event");
    all.extend(org);

    let operator = check_names(&common::operator_events());
    assert_eq!(operator, OperatorEvent::TYPES, "a sample per operator event");
    all.extend(operator);

    let reservation = check_names(&common::reservation_events());
    assert_eq!(reservation, ReservationEvent::TYPES, "a sample per reservation event");
    all.extend(reservation);

    let session = check_names(&common::session_events());
    assert_eq!(session, SessionEvent::TYPES, "a sample per session event, in order");
    all.extend(session);

    let context = check_names(&common::context_events());
    assert_eq!(context, ContextEvent::TYPES, "a sample per context event, in order");
    all.extend(context);

    let family = check_names(&common::family_events());
    assert_eq!(family, FamilyEvent::TYPES, "a sample per token-family event, in order");
    all.extend(family);

    let webhook = check_names(&common::webhook_events());
    assert_eq!(webhook, WebhookEvent::TYPES, "a sample per webhook endpoint event, in order");
    all.extend(webhook);

    let roles = check_names(&common::role_events());
    assert_eq!(roles, authio_domain::roles::RoleEvent::TYPES, "a sample per role-catalog event, in order");
    all.extend(roles);

    let invitations = check_names(&common::invitation_events());
    assert_eq!(invitations, authio_domain::invitation::InvitationEvent::TYPES, "a sample per invitation event");
    all.extend(invitations);

    let teams = check_names(&common::team_events());
    assert_eq!(teams, authio_domain::team::TeamEvent::TYPES, "a sample per team event, in order");
    all.extend(teams);

    let domains = check_names(&common::domain_events());
    assert_eq!(domains, authio_domain::domains::DomainEvent::TYPES, "a sample per domain event, in order");
    all.extend(domains);

    let directories = check_names(&common::directory_events());
    assert_eq!(directories, authio_domain::directory::DirectoryEvent::TYPES, "a sample per directory event");
    all.extend(directories);

    let handoffs = check_names(&common::handoff_events());
    assert_eq!(handoffs, authio_domain::handoff::HandoffEvent::TYPES, "a sample per handoff event, in order");
    all.extend(handoffs);

    let clients = check_names(&common::oauth_client_events());
    assert_eq!(clients, authio_domain::oauth_client::OAuthClientEvent::TYPES, "a sample per OAuth-client event");
    all.extend(clients);

    let codes = check_names(&common::code_events());
    assert_eq!(codes, authio_domain::authorization_code::CodeEvent::TYPES, "a sample per authorization-code event");
    all.extend(codes);

    let connections = check_names(&common::connection_events());
    assert_eq!(connections, authio_domain::connection::ConnectionEvent::TYPES, "a sample per connection event");
    all.extend(connections);

    let shared = all.iter().filter(|n| *n == SHARED).count();
    assert_eq!(shared, 2, "{SHARED}: the session's (before contexts) and the token family's");
    let mut seen = BTreeSet::new();
    all.retain(|n| seen.insert(n.clone()));
    let expected: Vec<String> = authio_domain::all_event_types().into_iter().map(str::to_string).collect();
    assert_eq!(all, expected, "all_event_types() is the union of every enum's names");
}

#[test]
fn event_names_are_dotted_lower_snake_case() {
    for name in authio_domain::all_event_types() {
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts.len(), 2, "{name} is `<subject>.<past_tense>`");
        for part in parts {
            assert!(
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name} is lower snake case"
            );
        }
    }
}

#[test]
fn design_doc_event_names_exist() {
    let all = authio_domain::all_event_types();
    for name in [
        "tenant.created",
        "tenant.mode_changed",
        "user.created",
        "organization.created",
        "membership.created",
        "membership.role_changed",
        "membership.deactivated",
        "membership.reactivated",
        "membership.deleted",
    ] {
        assert!(all.contains(&name), "{name} is a published event type");
    }
}

/// Decodes each fixture, checks it is exactly the sample, and encodes it back to the
/// very same JSON. `dir` is where `SHARED`'s fixture is (the others are at the top).
fn round_trip_fixtures<E>(samples: &[E], dir: Option<&str>)
where
    E: DomainEvent + Serialize + DeserializeOwned + PartialEq + Debug,
{
    for sample in samples {
        let name = sample.event_type();
        let stored = match dir {
            Some(dir) if name == SHARED => read_fixture_at(&fixtures_dir().join(dir).join(format!("{name}.json"))),
            _ => read_fixture(&name),
        };
        assert_eq!(stored["type"], Value::String(name.clone()), "{name}: type tag");

        let decoded: E = serde_json::from_value(stored.clone())
            .unwrap_or_else(|e| panic!("{name}: the stored format no longer decodes: {e}"));
        assert_eq!(&decoded, sample, "{name}: the fixture decodes to the sample");

        let encoded = serde_json::to_value(&decoded).expect("event serializes");
        assert_eq!(encoded, stored, "{name}: re-encoding changes the stored format");
    }
}

#[test]
fn golden_fixtures_round_trip() {
    round_trip_fixtures(&common::tenant_events(), None);
    round_trip_fixtures(&common::user_events(), None);
    round_trip_fixtures(&common::organization_events(), None);
    round_trip_fixtures(&common::operator_events(), None);
    round_trip_fixtures(&common::reservation_events(), None);
    round_trip_fixtures(&common::session_events(), Some("before_contexts"));
    round_trip_fixtures(&common::context_events(), None);
    round_trip_fixtures(&common::family_events(), None);
    round_trip_fixtures(&common::webhook_events(), None);
    round_trip_fixtures(&common::role_events(), None);
    round_trip_fixtures(&common::invitation_events(), None);
    round_trip_fixtures(&common::team_events(), None);
    round_trip_fixtures(&common::domain_events(), None);
    round_trip_fixtures(&common::directory_events(), None);
    round_trip_fixtures(&common::handoff_events(), None);
    round_trip_fixtures(&common::oauth_client_events(), None);
    round_trip_fixtures(&common::code_events(), None);
    round_trip_fixtures(&common::connection_events(), None);
}

/// Writes the fixture of each sample that has none yet (`AUTHIO_WRITE_NEW_FIXTURES=1`),
/// for a new event type only: an existing fixture is never touched.
#[test]
fn write_missing_fixtures() {
    if std::env::var("AUTHIO_WRITE_NEW_FIXTURES").as_deref() != Ok("1") {
        return;
    }
    let mut samples: Vec<Value> = Vec::new();
    samples.extend(common::tenant_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::session_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::organization_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::role_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::invitation_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::team_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::domain_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::directory_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::operator_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::handoff_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::oauth_client_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::code_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    samples.extend(common::connection_events().iter().map(|e| serde_json::to_value(e).unwrap()));
    for v in samples {
        let path = fixture_path(v["type"].as_str().unwrap());
        if !path.exists() {
            std::fs::write(&path, serde_json::to_string_pretty(&v).unwrap() + "\n").unwrap();
        }
    }
}

#[test]
fn every_event_type_has_exactly_one_fixture() {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures_dir()).expect("fixtures directory exists") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            continue;
        }
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let stem =
            file.strip_suffix(".json").unwrap_or_else(|| panic!("unexpected file {file} among the event fixtures"));
        files.insert(stem.to_string(), path);
    }
    let types: BTreeSet<String> = authio_domain::all_event_types().into_iter().map(str::to_string).collect();
    let missing: Vec<_> = types.iter().filter(|t| !files.contains_key(*t)).collect();
    let stray: Vec<_> = files.keys().filter(|f| !types.contains(*f)).collect();
    assert!(missing.is_empty(), "event types without a fixture: {missing:?}");
    assert!(stray.is_empty(), "fixtures for unknown event types: {stray:?}");
}

#[test]
fn user_update_that_clears_a_name_keeps_the_null_after_a_round_trip() {
    let stored = read_fixture("user.updated");
    assert_eq!(stored["data"]["last_name"], Value::Null);
    let decoded: UserEvent = serde_json::from_value(stored).unwrap();
    match decoded {
        UserEvent::Updated { last_name, .. } => {
            assert_eq!(last_name, Some(None), "a cleared name is not an untouched one")
        }
        other => panic!("decoded as {other:?}"),
    }
    // An untouched field stays absent.
    let untouched = UserEvent::Updated {
        email: None,
        first_name: None,
        last_name: None,
        email_verified: None,
        updated_at: common::at(),
    };
    let json = serde_json::to_value(&untouched).unwrap();
    assert_eq!(json["data"], serde_json::json!({ "updated_at": common::AT }), "untouched fields are left out");
    let back: UserEvent = serde_json::from_value(json).unwrap();
    assert_eq!(back, untouched);
}
