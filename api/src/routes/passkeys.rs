//! Passkeys: WebAuthn registration (a signed-in user adds a passkey) and
//! authentication with discoverable credentials (sign-in without a user id). The API
//! verifies each ceremony with `webauthn_rp`, then sends the User aggregate a plain
//! `RegisterPasskey` command; keys, counters and challenges stay in their tables.
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PublishableKey, RequestContext, UserToken};
use crate::passkeys::{b64, internal, passkey_invalid, take_ceremony, unb64, Kind};
use crate::sessions::{self, SessionAnswer};
use crate::AppState;
use authio_domain::ids::TenantId;
use authio_domain::user::{User, UserCommand};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, SqlArg};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;
use webauthn_rp::bin::{Decode, Encode};
use webauthn_rp::request::auth::AuthenticationVerificationOptions;
use webauthn_rp::request::register::{
    CredProtect, PublicKeyCredentialUserEntity, RegistrationVerificationOptions, UserHandle64, Username,
    USER_HANDLE_MAX_LEN,
};
use webauthn_rp::request::{ExtensionInfo, PublicKeyCredentialDescriptor};
use webauthn_rp::response::auth::ser_relaxed::DiscoverableAuthenticationRelaxed64;
use webauthn_rp::response::register::ser_relaxed::RegistrationRelaxed;
use webauthn_rp::response::register::{DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, DiscoverableAuthenticationServerState, DiscoverableCredentialRequestOptions,
    PublicKeyCredentialCreationOptions, RegistrationServerState,
};

/// A ceremony the browser carries out next.
#[derive(Debug, Serialize, ToSchema)]
pub struct CeremonyStart {
    /// Send it back with the credential to finish; valid five minutes, once.
    pub ceremony_id: String,
    /// WebAuthn options JSON (`PublicKeyCredentialCreationOptionsJSON` or
    /// `PublicKeyCredentialRequestOptionsJSON`) for `PublicKeyCredential.parse…OptionsFromJSON`.
    #[schema(value_type = Object)]
    pub options: Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CeremonyFinish {
    pub ceremony_id: String,
    /// The credential as `PublicKeyCredential.toJSON()` gives it
    /// (`RegistrationResponseJSON` or `AuthenticationResponseJSON`).
    #[schema(value_type = Object)]
    pub credential: Value,
}

/// A registered passkey. No key material.
#[derive(Debug, Serialize, ToSchema)]
pub struct Passkey {
    /// The credential id, base64url without padding.
    pub id: String,
    pub user_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
}

/// The options JSON a browser needs, as webauthn_rp serializes it.
fn options_json(client: &impl Serialize) -> ApiResult<Value> {
    serde_json::to_value(client).map_err(|e| internal(format!("passkey options do not serialize: {e}")))
}

/// Start registering a passkey for the signed-in user.
#[utoipa::path(post, path = "/v1/auth/passkeys/registration/start", tag = "passkeys",
    security(("access_token" = [])), responses((status = 200, body = CeremonyStart), Errors))]
pub async fn registration_start(State(st): State<AppState>, user: UserToken) -> ApiResult<axum::Json<CeremonyStart>> {
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND project_id = $2")
        .bind(user.user_id())
        .bind(user.project_id())
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    // The user's passkeys so far: excluded (an authenticator must not overwrite one),
    // and their user handle is reused so every passkey of the user carries the same.
    let rows = sqlx::query("SELECT credential_id, user_handle, transports FROM passkey_credentials WHERE user_id = $1")
        .bind(user.user_id())
        .fetch_all(&st.db.pool)
        .await?;
    let mut handle: Option<UserHandle64> = None;
    let mut exclude = Vec::with_capacity(rows.len());
    for r in &rows {
        let (id, stored_handle, transports): (String, String, i64) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let id = CredentialId::decode(unb64(&id)?).map_err(|e| internal(format!("stored credential id: {e}")))?;
        let transports = u8::try_from(transports)
            .ok()
            .and_then(|t| AuthTransports::decode(t).ok())
            .ok_or_else(|| internal("stored transports do not decode"))?;
        exclude.push(PublicKeyCredentialDescriptor { id, transports });
        if handle.is_none() {
            handle = Some(decode_handle(&stored_handle)?);
        }
    }
    let handle = handle.unwrap_or_default();
    let name = Username::try_from(email.as_str())
        .or_else(|_| Username::try_from(user.user_id()))
        .map_err(|e| internal(format!("no WebAuthn user name for the user: {e}")))?;
    let entity = PublicKeyCredentialUserEntity { name, id: &handle, display_name: None };
    let mut creation = PublicKeyCredentialCreationOptions::passkey(&st.passkeys.rp_id, entity, exclude);
    // Ask authenticators for user-verification-required protection, without making the
    // browser refuse those that lack the credProtect extension (Chromium's platform and
    // virtual authenticators do): every sign-in requires user verification anyway.
    creation.extensions.cred_protect = CredProtect::UserVerificationRequired(ExtensionInfo::AllowDontEnforceValue);
    let (server, client) = creation.start_ceremony().map_err(|e| internal(format!("passkey creation options: {e}")))?;
    let options = options_json(&client)?;
    let state = server.encode().map_err(|e| internal(format!("registration state does not encode: {e}")))?;
    let ceremony_id =
        crate::passkeys::save_ceremony(&st, Kind::Registration, user.project_id(), Some(user.user_id()), &state)
            .await?;
    Ok(axum::Json(CeremonyStart { ceremony_id, options }))
}

fn decode_handle(stored: &str) -> ApiResult<UserHandle64> {
    let bytes: [u8; USER_HANDLE_MAX_LEN] =
        unb64(stored)?.try_into().map_err(|_| internal("a stored user handle has the wrong length"))?;
    UserHandle64::decode(bytes).map_err(|e| match e {})
}

/// Finish registering: verify the authenticator's attestation, then record the passkey.
#[utoipa::path(post, path = "/v1/auth/passkeys/registration/finish", tag = "passkeys", request_body = CeremonyFinish,
    security(("access_token" = [])), responses((status = 201, body = Passkey), Errors))]
pub async fn registration_finish(
    State(st): State<AppState>,
    user: UserToken,
    ctx: RequestContext,
    Json(body): Json<CeremonyFinish>,
) -> ApiResult<(StatusCode, axum::Json<Passkey>)> {
    let registration = serde_json::from_value::<RegistrationRelaxed>(body.credential)
        .map_err(|e| ApiError::invalid_field("credential", format!("not a WebAuthn registration response: {e}")))?
        .0;
    let state =
        take_ceremony(&st, Kind::Registration, &body.ceremony_id, user.project_id(), Some(user.user_id())).await?;
    let server = RegistrationServerState::<USER_HANDLE_MAX_LEN>::decode(state.as_slice())
        .map_err(|e| internal(format!("stored registration state: {e}")))?;
    let origins = st.passkeys.origins();
    let options = RegistrationVerificationOptions::<&str, &str> { allowed_origins: &origins, ..Default::default() };
    let credential = server.verify(&st.passkeys.rp_id, &registration, &options).map_err(passkey_invalid)?;
    let (id, transports, handle, static_state, dynamic_state, _) = credential.into_parts();
    let credential_id = b64(id.as_ref());
    let public_key = match static_state.encode() {
        Ok(v) => b64(&v),
        Err(e) => match e {},
    };
    let dynamic = match dynamic_state.encode() {
        Ok(v) => b64(&v),
        Err(e) => match e {},
    };
    let transports = match transports.encode() {
        Ok(t) => i64::from(t),
        Err(e) => match e {},
    };
    let handle = match handle.encode() {
        Ok(h) => b64(&h),
        Err(e) => match e {},
    };
    let now = Utc::now();
    let meta = ctx.metadata(&user.actor());
    crate::execute!(st, &meta, {
        // A credential id belongs to one user only: the primary key of the credential
        // table keeps that under races; this check gives the clear answer.
        let taken: Option<String> =
            sqlx::query_scalar("SELECT user_id FROM passkey_credentials WHERE credential_id = $1")
                .bind(&credential_id)
                .fetch_optional(&st.db.pool)
                .await?;
        if taken.is_some() {
            return Err(ApiError::conflict("passkey_exists", "this passkey is already registered"));
        }
        let mut u = st.db.load::<User>(user.user_id()).await?;
        if !u.state.is_live() || u.state.project_id.as_ref().map(TenantId::as_str) != Some(user.project_id()) {
            return Err(ApiError::unauthenticated());
        }
        u.exec(UserCommand::RegisterPasskey { credential_id: credential_id.clone(), at: now }).await?;
        let mut c = Changes::new();
        c.add(u)?;
        c.side_write(
            "INSERT INTO passkey_credentials (credential_id, project_id, user_id, user_handle, public_key, sign_count, \
             dynamic_state, transports, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            vec![
                SqlArg::Text(credential_id.clone()),
                SqlArg::Text(user.project_id().into()),
                SqlArg::Text(user.user_id().into()),
                SqlArg::Text(handle.clone()),
                SqlArg::Text(public_key.clone()),
                SqlArg::I64(i64::from(dynamic_state.sign_count)),
                SqlArg::Text(dynamic.clone()),
                SqlArg::I64(transports),
                SqlArg::Text(time_text(now)),
            ],
        );
        Ok(c)
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Passkey {
            id: credential_id,
            user_id: user.user_id().into(),
            created_at: time_text(now),
            last_used_at: None,
        }),
    ))
}

/// Start a passkey sign-in with a discoverable credential: no user id is needed.
#[utoipa::path(post, path = "/v1/auth/passkeys/authentication/start", tag = "passkeys",
    security(("publishable_key" = [])), responses((status = 200, body = CeremonyStart), Errors))]
pub async fn authentication_start(
    State(st): State<AppState>,
    pk: PublishableKey,
) -> ApiResult<axum::Json<CeremonyStart>> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&st.passkeys.rp_id)
        .start_ceremony()
        .map_err(|e| internal(format!("passkey request options: {e}")))?;
    let options = options_json(&client)?;
    let state = server.encode().map_err(|e| internal(format!("authentication state does not encode: {e}")))?;
    let ceremony_id = crate::passkeys::save_ceremony(&st, Kind::Authentication, &pk.project_id, None, &state).await?;
    Ok(axum::Json(CeremonyStart { ceremony_id, options }))
}

/// A verified assertion: whose passkey it was, and the signature counter's move to
/// commit with whatever the assertion is for.
struct Assertion {
    user: String,
    credential_id: String,
    old_dynamic: String,
    new_dynamic: String,
    sign_count: i64,
}

impl Assertion {
    /// The new counter, committed only over the state this check started from: of two
    /// uses racing with one counter value, one loses (`passkey_state_changed`).
    fn counter(&self, c: &mut Changes) {
        c.side_write_exactly_one(
            "UPDATE passkey_credentials SET dynamic_state = $1, sign_count = $2, last_used_at = $3 \
             WHERE credential_id = $4 AND dynamic_state = $5",
            vec![
                SqlArg::Text(self.new_dynamic.clone()),
                SqlArg::I64(self.sign_count),
                SqlArg::Text(time_text(Utc::now())),
                SqlArg::Text(self.credential_id.clone()),
                SqlArg::Text(self.old_dynamic.clone()),
            ],
            "passkey_state_changed",
        );
    }
}

fn counter_moved(e: ApiError) -> ApiError {
    if e.code == "passkey_state_changed" {
        passkey_invalid("the credential was used concurrently; its signature counter moved")
    } else {
        e
    }
}

/// Verify an assertion of the ceremony `ceremony_id` (of `project`, and of `user` when
/// the ceremony was started for one): origin, RP id, challenge, signature, user handle,
/// signature counter; the credential's user must be live in the project.
async fn verify_assertion(
    st: &AppState,
    project: &str,
    user: Option<&str>,
    body: CeremonyFinish,
) -> ApiResult<Assertion> {
    let authentication = serde_json::from_value::<DiscoverableAuthenticationRelaxed64>(body.credential)
        .map_err(|e| ApiError::invalid_field("credential", format!("not a WebAuthn authentication response: {e}")))?
        .0;
    let state = take_ceremony(st, Kind::Authentication, &body.ceremony_id, project, user).await?;
    let server = DiscoverableAuthenticationServerState::decode(state.as_slice())
        .map_err(|e| internal(format!("stored authentication state: {e}")))?;
    let credential_id = b64(authentication.raw_id().as_ref());
    let row = sqlx::query(
        "SELECT user_id, user_handle, public_key, dynamic_state FROM passkey_credentials \
         WHERE credential_id = $1 AND project_id = $2",
    )
    .bind(&credential_id)
    .bind(project)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(|| passkey_invalid("unknown credential"))?;
    let (owner, handle, public_key, dynamic): (String, String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    if user.is_some_and(|u| u != owner) {
        return Err(passkey_invalid("the credential is another user's"));
    }
    let handle = decode_handle(&handle)?;
    let public_key = unb64(&public_key)?;
    let static_state =
        StaticState::decode(public_key.as_slice()).map_err(|e| internal(format!("stored public key: {e}")))?;
    let old_dynamic: [u8; 7] =
        unb64(&dynamic)?.try_into().map_err(|_| internal("a stored passkey state has the wrong length"))?;
    let dynamic_state =
        DynamicState::decode(old_dynamic).map_err(|e| internal(format!("stored passkey state: {e}")))?;
    let mut cred = AuthenticatedCredential::new(authentication.raw_id(), &handle, static_state, dynamic_state)
        .map_err(passkey_invalid)?;
    let origins = st.passkeys.origins();
    let options = AuthenticationVerificationOptions::<&str, &str> { allowed_origins: &origins, ..Default::default() };
    server.verify(&st.passkeys.rp_id, &authentication, &mut cred, &options).map_err(passkey_invalid)?;
    let new_state = cred.dynamic_state();
    let new_dynamic = match new_state.encode() {
        Ok(v) => b64(&v),
        Err(e) => match e {},
    };
    let u = st.db.load::<User>(&owner).await?;
    if !u.state.is_live() || u.state.project_id.as_ref().map(TenantId::as_str) != Some(project) {
        return Err(passkey_invalid("unknown credential"));
    }
    Ok(Assertion {
        user: owner,
        credential_id,
        old_dynamic: dynamic,
        new_dynamic,
        sign_count: i64::from(new_state.sign_count),
    })
}

/// Finish a passkey sign-in: verify the assertion (origin, RP id, challenge, signature,
/// user handle, signature counter), then start a session.
#[utoipa::path(post, path = "/v1/auth/passkeys/authentication/finish", tag = "passkeys", request_body = CeremonyFinish,
    security(("publishable_key" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn authentication_finish(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<CeremonyFinish>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let a = verify_assertion(&st, &pk.project_id, None, body).await?;
    let meta = ctx.metadata(&Actor::User(a.user.clone()));
    let answer = sessions::start(&st, &pk.project_id, &a.user, "passkey", &meta, || {
        let mut c = Changes::new();
        a.counter(&mut c);
        Ok(c)
    })
    .await;
    Ok(axum::Json(answer.map_err(counter_moved)?))
}

/// Start a step-up: a passkey assertion by the signed-in user, in their session (an
/// organization's policy may ask for one).
#[utoipa::path(post, path = "/v1/sessions/step-up/passkey/start", tag = "passkeys",
    security(("access_token" = [])), responses((status = 200, body = CeremonyStart), Errors))]
pub async fn step_up_start(State(st): State<AppState>, user: UserToken) -> ApiResult<axum::Json<CeremonyStart>> {
    let (server, client) = DiscoverableCredentialRequestOptions::passkey(&st.passkeys.rp_id)
        .start_ceremony()
        .map_err(|e| internal(format!("passkey request options: {e}")))?;
    let options = options_json(&client)?;
    let state = server.encode().map_err(|e| internal(format!("authentication state does not encode: {e}")))?;
    let ceremony_id =
        crate::passkeys::save_ceremony(&st, Kind::Authentication, user.project_id(), Some(user.user_id()), &state)
            .await?;
    Ok(axum::Json(CeremonyStart { ceremony_id, options }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SteppedUp {
    pub session_id: String,
    /// `passkey`.
    pub method: String,
    #[schema(format = DateTime)]
    pub stepped_up_at: String,
}

/// Finish a step-up: the assertion must be of one of the user's own passkeys; the
/// session records it (`session.stepped_up`) and then meets policies that ask for a
/// passkey (and restarts their maximum session age). Switch again afterwards.
#[utoipa::path(post, path = "/v1/sessions/step-up/passkey/finish", tag = "passkeys", request_body = CeremonyFinish,
    security(("access_token" = [])), responses((status = 200, body = SteppedUp), Errors))]
pub async fn step_up_finish(
    State(st): State<AppState>,
    user: UserToken,
    ctx: RequestContext,
    Json(body): Json<CeremonyFinish>,
) -> ApiResult<axum::Json<SteppedUp>> {
    let a = verify_assertion(&st, user.project_id(), Some(user.user_id()), body).await?;
    let meta = ctx.metadata(&user.actor());
    let at = Utc::now();
    crate::execute!(st, &meta, {
        let mut s = st.db.load::<authio_domain::session::Session>(user.session_id()).await?;
        s.exec(authio_domain::session::SessionCommand::StepUp { method: "passkey".into(), at }).await?;
        let mut c = Changes::new();
        c.add(s)?;
        a.counter(&mut c);
        Ok(c)
    })
    .map_err(counter_moved)?;
    Ok(axum::Json(SteppedUp {
        session_id: user.session_id().to_string(),
        method: "passkey".into(),
        stepped_up_at: time_text(at),
    }))
}
