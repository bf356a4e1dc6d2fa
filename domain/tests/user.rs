//! User: create, update, delete, and what a deleted user still allows.
mod common;

use authio_domain::user::{User, UserCommand, UserError, UserEvent};
use common::{at, sign_in_token_expires_at, tenant_id, user_id, PASSKEY_CREDENTIAL, SIGN_IN_TOKEN};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

// ---- builders -------------------------------------------------------------------

fn given(events: Vec<UserEvent>) -> AggregateTestExecutor<User> {
    TestFramework::<User>::with(()).given(events)
}

fn created() -> UserEvent {
    UserEvent::Created {
        user_id: user_id(),
        project_id: tenant_id(),
        email: "ada@example.com".into(),
        first_name: Some("Ada".into()),
        last_name: None,
        email_verified: false,
        created_at: at(),
    }
}

fn deleted() -> UserEvent {
    UserEvent::Deleted { deleted_at: at() }
}

fn create(email: &str) -> UserCommand {
    UserCommand::Create {
        user_id: user_id(),
        project_id: tenant_id(),
        email: email.into(),
        first_name: Some("Ada".into()),
        last_name: None,
        email_verified: false,
        at: at(),
    }
}

fn change_email(email: &str) -> UserCommand {
    UserCommand::Update { email: Some(email.into()), first_name: None, last_name: None, email_verified: None, at: at() }
}

fn email_changed(email: &str) -> UserEvent {
    UserEvent::Updated {
        email: Some(email.into()),
        first_name: None,
        last_name: None,
        email_verified: None,
        updated_at: at(),
    }
}

fn delete() -> UserCommand {
    UserCommand::Delete { at: at() }
}

// ---- create ---------------------------------------------------------------------

#[tokio::test]
async fn create_user_emits_created() {
    given(vec![]).when_async(create("ada@example.com")).await.then_expect_events(vec![created()]);
}

#[tokio::test]
async fn create_user_trims_the_email() {
    given(vec![]).when_async(create("  ada@example.com \n")).await.then_expect_events(vec![created()]);
}

/// Case is kept as typed; uniqueness uses the normalized form (see reservation tests).
#[tokio::test]
async fn create_user_keeps_the_email_as_typed() {
    let result = given(vec![]).when_async(create("Ada@Example.COM")).await.inspect_result().expect("created");
    match &result[..] {
        [UserEvent::Created { email, .. }] => assert_eq!(email, "Ada@Example.COM"),
        other => panic!("unexpected events {other:?}"),
    }
}

#[tokio::test]
async fn create_user_with_invalid_email_is_rejected() {
    let long = format!("{}@example.com", "a".repeat(250));
    for email in [
        "",
        "   ",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada@.example.com",
        "ada@example.com.",
        "ada lovelace@example.com",
        "ada@exa\tmple.com",
        long.as_str(),
    ] {
        let result = given(vec![]).when_async(create(email)).await.inspect_result();
        assert_eq!(result, Err(UserError::InvalidEmail), "email {email:?}");
    }
}

#[tokio::test]
async fn create_existing_user_is_rejected() {
    given(vec![created()]).when_async(create("ada@example.com")).await.then_expect_error(UserError::AlreadyExists);
}

/// A deleted user's id is never reused.
#[tokio::test]
async fn create_over_a_deleted_user_is_rejected() {
    given(vec![created(), deleted()])
        .when_async(create("ada@example.com"))
        .await
        .then_expect_error(UserError::AlreadyExists);
}

// ---- update ---------------------------------------------------------------------

#[tokio::test]
async fn update_email_emits_updated_with_trimmed_email() {
    given(vec![created()])
        .when_async(change_email(" ada@example.org "))
        .await
        .then_expect_events(vec![email_changed("ada@example.org")]);
}

#[tokio::test]
async fn update_can_set_and_clear_names_and_verify_email() {
    let update = UserCommand::Update {
        email: None,
        first_name: Some(Some("Augusta Ada".into())),
        last_name: Some(None),
        email_verified: Some(true),
        at: at(),
    };
    given(vec![created()]).when_async(update).await.then_expect_events(vec![UserEvent::Updated {
        email: None,
        first_name: Some(Some("Augusta Ada".into())),
        last_name: Some(None),
        email_verified: Some(true),
        updated_at: at(),
    }]);
}

#[tokio::test]
async fn update_with_invalid_email_is_rejected() {
    given(vec![created()]).when_async(change_email("not-an-email")).await.then_expect_error(UserError::InvalidEmail);
}

#[tokio::test]
async fn update_after_email_change_is_allowed() {
    given(vec![created(), email_changed("ada@example.org")])
        .when_async(change_email("ada@example.net"))
        .await
        .then_expect_events(vec![email_changed("ada@example.net")]);
}

#[tokio::test]
async fn update_unknown_user_is_not_found() {
    given(vec![]).when_async(change_email("ada@example.org")).await.then_expect_error(UserError::NotFound);
}

// ---- delete ---------------------------------------------------------------------

#[tokio::test]
async fn delete_user_emits_deleted() {
    given(vec![created()]).when_async(delete()).await.then_expect_events(vec![deleted()]);
}

#[tokio::test]
async fn delete_unknown_user_is_not_found() {
    given(vec![]).when_async(delete()).await.then_expect_error(UserError::NotFound);
}

#[tokio::test]
async fn update_deleted_user_is_not_found() {
    given(vec![created(), deleted()])
        .when_async(change_email("ada@example.org"))
        .await
        .then_expect_error(UserError::NotFound);
}

#[tokio::test]
async fn delete_deleted_user_is_not_found() {
    given(vec![created(), deleted()]).when_async(delete()).await.then_expect_error(UserError::NotFound);
}

/// Invalid input on a deleted user still answers "not found", never a hint.
#[tokio::test]
async fn invalid_update_of_deleted_user_is_not_found() {
    given(vec![created(), deleted()])
        .when_async(change_email("not-an-email"))
        .await
        .then_expect_error(UserError::NotFound);
}

// ---- sign-in token --------------------------------------------------------------

fn issue_sign_in_token() -> UserCommand {
    UserCommand::IssueSignInToken { token_id: SIGN_IN_TOKEN.into(), expires_at: sign_in_token_expires_at(), at: at() }
}

fn sign_in_token_issued() -> UserEvent {
    UserEvent::SignInTokenIssued {
        token_id: SIGN_IN_TOKEN.into(),
        expires_at: sign_in_token_expires_at(),
        issued_at: at(),
    }
}

#[tokio::test]
async fn issue_sign_in_token_for_live_user_emits_issued() {
    given(vec![created()]).when_async(issue_sign_in_token()).await.then_expect_events(vec![sign_in_token_issued()]);
}

#[tokio::test]
async fn issue_sign_in_token_after_an_earlier_one_emits_issued_again() {
    given(vec![created(), sign_in_token_issued()])
        .when_async(issue_sign_in_token())
        .await
        .then_expect_events(vec![sign_in_token_issued()]);
}

#[tokio::test]
async fn issue_sign_in_token_for_deleted_user_is_not_found() {
    given(vec![created(), deleted()]).when_async(issue_sign_in_token()).await.then_expect_error(UserError::NotFound);
}

#[tokio::test]
async fn issue_sign_in_token_for_unknown_user_is_not_found() {
    given(vec![]).when_async(issue_sign_in_token()).await.then_expect_error(UserError::NotFound);
}

/// Issuing a token leaves the user as it was: a later delete still goes through.
#[tokio::test]
async fn delete_after_sign_in_token_issued_emits_deleted() {
    given(vec![created(), sign_in_token_issued()]).when_async(delete()).await.then_expect_events(vec![deleted()]);
}

// ---- passkeys --------------------------------------------------------------------

fn register_passkey(credential_id: &str) -> UserCommand {
    UserCommand::RegisterPasskey { credential_id: credential_id.into(), at: at() }
}

fn passkey_registered(credential_id: &str) -> UserEvent {
    UserEvent::PasskeyRegistered { credential_id: credential_id.into(), created_at: at() }
}

/// Another credential id: base64url of 32 bytes.
const OTHER_PASSKEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

#[tokio::test]
async fn register_passkey_for_live_user_emits_registered() {
    given(vec![created()])
        .when_async(register_passkey(PASSKEY_CREDENTIAL))
        .await
        .then_expect_events(vec![passkey_registered(PASSKEY_CREDENTIAL)]);
}

#[tokio::test]
async fn register_a_second_passkey_emits_registered() {
    given(vec![created(), passkey_registered(PASSKEY_CREDENTIAL)])
        .when_async(register_passkey(OTHER_PASSKEY))
        .await
        .then_expect_events(vec![passkey_registered(OTHER_PASSKEY)]);
}

#[tokio::test]
async fn register_the_same_passkey_twice_is_rejected() {
    given(vec![created(), passkey_registered(PASSKEY_CREDENTIAL)])
        .when_async(register_passkey(PASSKEY_CREDENTIAL))
        .await
        .then_expect_error(UserError::PasskeyExists);
}

#[tokio::test]
async fn register_passkey_with_invalid_credential_id_is_rejected() {
    let too_long = "A".repeat(1365);
    for id in ["", "short", "not base64url because of spaces!", "q83vEjRWeJCrze8SNFZ4kA==", too_long.as_str()] {
        let result = given(vec![created()]).when_async(register_passkey(id)).await.inspect_result();
        assert_eq!(result, Err(UserError::InvalidCredentialId), "credential id {id:?}");
    }
}

#[tokio::test]
async fn register_passkey_for_deleted_user_is_not_found() {
    given(vec![created(), deleted()])
        .when_async(register_passkey(PASSKEY_CREDENTIAL))
        .await
        .then_expect_error(UserError::NotFound);
}

#[tokio::test]
async fn register_passkey_for_unknown_user_is_not_found() {
    given(vec![]).when_async(register_passkey(PASSKEY_CREDENTIAL)).await.then_expect_error(UserError::NotFound);
}

/// A passkey changes nothing else about the user: a later delete still goes through.
#[tokio::test]
async fn delete_after_passkey_registered_emits_deleted() {
    given(vec![created(), passkey_registered(PASSKEY_CREDENTIAL)])
        .when_async(delete())
        .await
        .then_expect_events(vec![deleted()]);
}

// ---- error codes ----------------------------------------------------------------

#[test]
fn user_error_codes_are_stable() {
    assert_eq!(UserError::AlreadyExists.code(), "user_exists");
    assert_eq!(UserError::NotFound.code(), "not_found");
    assert_eq!(UserError::InvalidEmail.code(), "invalid_request");
    assert_eq!(UserError::InvalidCredentialId.code(), "invalid_request");
    assert_eq!(UserError::PasskeyExists.code(), "passkey_exists");
}
