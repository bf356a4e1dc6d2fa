//! OAuth clients: registered once with a name, 1 to 20 distinct redirect URIs and known
//! scopes including `openid`; changes record only what changes; only confidential
//! clients rotate a secret; a deleted client takes no command.
mod common;

use authio_domain::oauth_client::{ClientType, OAuthClient, OAuthClientCommand, OAuthClientError, OAuthClientEvent};
use common::{at, oauth_client_events, tenant_id, OAUTH_CLIENT};
use cqrs_es::test::TestFramework;

fn registered() -> OAuthClientEvent {
    oauth_client_events().remove(0)
}

fn register(kind: ClientType, uris: &[&str], scopes: &[&str]) -> OAuthClientCommand {
    OAuthClientCommand::Register {
        client_id: OAUTH_CLIENT.into(),
        project_id: tenant_id(),
        name: " Acme web ".into(),
        client_type: kind,
        redirect_uris: uris.iter().map(|u| u.to_string()).collect(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        at: at(),
    }
}

fn given(events: Vec<OAuthClientEvent>) -> cqrs_es::test::AggregateTestExecutor<OAuthClient> {
    TestFramework::<OAuthClient>::with(()).given(events)
}

#[test]
fn registration_checks_its_fields() {
    let ok = register(ClientType::Confidential, &["https://app.example.com/callback"], &["openid", "email"]);
    given(vec![]).when(ok.clone()).then_expect_events(vec![registered()]);
    given(vec![registered()]).when(ok).then_expect_error(OAuthClientError::AlreadyExists);
    for (cmd, err) in [
        (register(ClientType::Public, &[], &["openid"]), OAuthClientError::InvalidRedirectUris),
        (
            register(ClientType::Public, &["https://a.example/cb", "https://a.example/cb"], &["openid"]),
            OAuthClientError::InvalidRedirectUris,
        ),
        (register(ClientType::Public, &["https://a.example/cb"], &["email"]), OAuthClientError::InvalidScopes),
        (
            register(ClientType::Public, &["https://a.example/cb"], &["openid", "admin"]),
            OAuthClientError::InvalidScopes,
        ),
        (
            register(ClientType::Public, &["https://a.example/cb"], &["openid", "openid"]),
            OAuthClientError::InvalidScopes,
        ),
    ] {
        given(vec![]).when(cmd).then_expect_error(err);
    }
    let many: Vec<String> = (0..21).map(|i| format!("https://a.example/cb{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    given(vec![])
        .when(register(ClientType::Public, &many, &["openid"]))
        .then_expect_error(OAuthClientError::InvalidRedirectUris);
    let nameless = OAuthClientCommand::Register {
        client_id: OAUTH_CLIENT.into(),
        project_id: tenant_id(),
        name: "  ".into(),
        client_type: ClientType::Public,
        redirect_uris: vec!["https://a.example/cb".into()],
        scopes: vec!["openid".into()],
        at: at(),
    };
    given(vec![]).when(nameless).then_expect_error(OAuthClientError::InvalidName);
}

#[test]
fn a_change_records_only_what_changes() {
    let update = |name: Option<&str>, scopes: Option<&[&str]>| OAuthClientCommand::Update {
        name: name.map(str::to_string),
        redirect_uris: Some(vec!["https://app.example.com/callback".into()]),
        scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
        at: at(),
    };
    given(vec![registered()])
        .when(update(Some("Acme"), Some(&["openid"])))
        .then_expect_events(vec![oauth_client_events().remove(1)]);
    given(vec![registered()]).when(update(Some("Acme web"), None)).then_expect_events(vec![]);
    given(vec![registered()]).when(update(None, Some(&["profile"]))).then_expect_error(OAuthClientError::InvalidScopes);
}

#[test]
fn secrets_rotate_for_confidential_clients_only_and_deleted_clients_take_nothing() {
    let rotate = OAuthClientCommand::RotateSecret { at: at() };
    given(vec![registered()]).when(rotate.clone()).then_expect_events(vec![oauth_client_events().remove(2)]);
    let public = OAuthClientEvent::Registered {
        client_id: OAUTH_CLIENT.into(),
        project_id: tenant_id(),
        name: "SPA".into(),
        client_type: ClientType::Public,
        redirect_uris: vec!["http://localhost:3000/cb".into()],
        scopes: vec!["openid".into()],
        registered_at: at(),
    };
    given(vec![public]).when(rotate.clone()).then_expect_error(OAuthClientError::PublicClientHasNoSecret);
    let delete = OAuthClientCommand::Delete { at: at() };
    given(vec![registered()]).when(delete.clone()).then_expect_events(vec![oauth_client_events().remove(3)]);
    let deleted = vec![registered(), oauth_client_events().remove(3)];
    given(deleted.clone()).when(delete).then_expect_error(OAuthClientError::NotFound);
    given(deleted).when(rotate).then_expect_error(OAuthClientError::NotFound);
    given(vec![]).when(OAuthClientCommand::Delete { at: at() }).then_expect_error(OAuthClientError::NotFound);
}
