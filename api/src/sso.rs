//! Sign-in through an identity provider (an SSO connection, `crate::connections`: an
//! organization's own, or the project's for social sign-in): Authio is the relying party
//! of an OpenID Connect provider, GitHub's OAuth 2 client, or a SAML service provider.
//!
//! 1. `start`: the application sends the browser to `/v1/auth/sso/start` with its
//!    publishable key, the connection, its redirect URL and a PKCE challenge (S256), as
//!    for a handoff. Authio sends it on to the provider (OpenID Connect and GitHub: code
//!    flow, PKCE S256 and a nonce of its own; SAML: an AuthnRequest by HTTP-Redirect),
//!    its state sealed with `AUTHIO_SECRET_KEY` (AES-256-GCM, ten minutes): in `state`
//!    (nothing is stored for an anonymous caller), or for SAML, whose `RelayState` may
//!    carry at most 80 bytes, in `saml_relay_states` under a random `RelayState` until
//!    it expires. The browser cannot read or change what it carries (the PKCE verifier,
//!    the request's id).
//! 2. `callback` (OpenID Connect, GitHub) or `acs` (SAML): the provider vouches for an
//!    email. OpenID Connect: Authio redeems the code (its client secret, opened from
//!    `connection_secrets`), validates the id token (the provider's JWKS, `iss`, `aud`,
//!    `nonce`, `exp`) and requires a verified email (from the id token, or the
//!    provider's userinfo for the same `sub`). GitHub: the code redeemed, the account's
//!    verified primary email from its API. SAML: the response verified by
//!    `authio_saml`, its assertion spent in the replay cache.
//! 3. `sign_in`: that email is the project's one user (created when new), linked by
//!    email. An organization's connection vouches only for addresses of the
//!    organization's verified domains; a non-member becomes a member with its
//!    `jit_role`, else is refused, and the session starts in the organization's
//!    context. Through the project's, a new user is signed up as the project's sign-up
//!    allows and the session starts as any sign-in's (method `sso`). The session goes to
//!    the application by a handoff code (`crate::handoffs`), redeemed with its verifier.
use crate::connections::{self, sealer};
use crate::error::{ApiError, ApiResult};
use crate::extract::RequestContext;
use crate::handoffs::{self, valid_challenge, valid_verifier};
use crate::oidc::with_query;
use crate::AppState;
use authio_domain::Actor;
use authio_eventstore::Changes;
use axum::http::StatusCode;
use base64::Engine;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;

/// How long the provider may take to sign the user in.
pub const STATE_TTL_SECONDS: i64 = 600;
const STATE_AAD: &str = "sso-state";

/// What travels through the provider, sealed.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    connection: String,
    project: String,
    redirect_url: String,
    /// The application's PKCE challenge (its handoff code is bound to it).
    challenge: String,
    app_state: Option<String>,
    /// OpenID Connect: the id token's nonce.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    nonce: String,
    /// OpenID Connect: Authio's own PKCE verifier at the provider.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    verifier: String,
    /// OpenID Connect: the provider's endpoints as read at the start (the callback needs
    /// no second read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider: Option<connections::Discovery>,
    /// SAML: the AuthnRequest's id (the response must answer it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
    exp: i64,
}

fn callback_url(st: &AppState) -> String {
    format!("{}/v1/auth/sso/callback", st.keys.issuer)
}

fn invalid_state() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_sso_state",
        "the SSO sign-in state is unknown, tampered with or expired; start again from the application",
    )
}

fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// The parameters of a start.
pub struct Start {
    pub publishable_key: String,
    pub connection: String,
    pub redirect_url: String,
    pub code_challenge: String,
    pub state: Option<String>,
    /// The client's address, for the per-address limit (`AUTHIO_SSO_START_LIMIT`).
    pub client: String,
}

/// Where the browser goes to sign in at the connection's provider.
pub async fn start(st: &AppState, s: Start) -> ApiResult<String> {
    let sealer = sealer(st)?;
    let key =
        sqlx::query("SELECT tenant_id, environment FROM api_keys WHERE publishable_key = $1 AND revoked_at IS NULL")
            .bind(&s.publishable_key)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
    let (project, environment): (String, String) = (key.try_get(0)?, key.try_get(1)?);
    // Counted once the key names a project, before anything is kept.
    if let Some(limit) = &st.sso_limit {
        limit.check(&format!("{project}:{}", s.client)).map_err(crate::ratelimit::refused)?;
    }
    let conn = sqlx::query(
        "SELECT issuer, client_id, protocol, saml_metadata FROM connections WHERE id = $1 AND project_id = $2",
    )
    .bind(&s.connection)
    .bind(&project)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(ApiError::not_found)?;
    let (issuer, client_id, protocol, metadata): (String, String, String, Option<String>) =
        (conn.try_get(0)?, conn.try_get(1)?, conn.try_get(2)?, conn.try_get(3)?);
    if !valid_challenge(&s.code_challenge) {
        return Err(ApiError::invalid_field(
            "code_challenge",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    if s.state.as_ref().is_some_and(|x| x.len() > 1024) {
        return Err(ApiError::invalid_field("state", "state is longer than 1024 characters"));
    }
    crate::redirects::check_sso_return(st, &project, &environment, &s.redirect_url).await?;
    let mut state = State {
        connection: s.connection,
        project,
        redirect_url: s.redirect_url,
        challenge: s.code_challenge,
        app_state: s.state,
        nonce: String::new(),
        verifier: String::new(),
        provider: None,
        request_id: None,
        exp: Utc::now().timestamp() + STATE_TTL_SECONDS,
    };
    let seal = |state: &State| -> ApiResult<String> {
        Ok(sealer.seal(STATE_AAD, &serde_json::to_vec(state).map_err(|_| ApiError::internal())?))
    };
    if protocol == "saml" {
        // The request's id travels in the sealed state, kept under the RelayState.
        let metadata = metadata.ok_or_else(ApiError::internal)?;
        let (entity_id, acs_url) = connections::saml_sp(st, &state.connection);
        let sp = authio_saml::Sp { entity_id: &entity_id, acs_url: &acs_url };
        let request_id = authio_saml::new_request_id();
        state.request_id = Some(request_id.clone());
        let relay = format!("{RELAY_PREFIX}{}", random_token());
        let url = authio_saml::authn_request_url(&metadata, sp, &request_id, &relay).map_err(|e| {
            connections::saml_error(e, |why| ApiError::new(StatusCode::BAD_GATEWAY, "connection_unavailable", why))
        })?;
        keep_relay_state(st, &relay, &seal(&state)?, state.exp).await?;
        return Ok(url);
    }
    if protocol == "github" {
        // GitHub's OAuth 2 (no id token): the code is redeemed with the client secret
        // and a PKCE verifier, and the verified primary email read from its API.
        let (authorize, _, _) = connections::github_endpoints(&issuer);
        let mut url = reqwest::Url::parse(&authorize)
            .map_err(|_| ApiError::new(StatusCode::BAD_GATEWAY, "connection_unavailable", "bad GitHub address"))?;
        state.verifier = random_token();
        let sealed = seal(&state)?;
        url.query_pairs_mut()
            .append_pair("client_id", &client_id)
            .append_pair("redirect_uri", &callback_url(st))
            .append_pair("scope", "read:user user:email")
            .append_pair("state", &sealed)
            .append_pair("code_challenge", &handoffs::challenge_of(&state.verifier))
            .append_pair("code_challenge_method", "S256");
        return Ok(url.to_string());
    }
    let d = connections::discover(st, &issuer).await.map_err(|why| {
        ApiError::new(StatusCode::BAD_GATEWAY, "connection_unavailable", format!("the identity provider: {why}"))
    })?;
    let mut url = reqwest::Url::parse(&d.authorization_endpoint)
        .map_err(|_| ApiError::new(StatusCode::BAD_GATEWAY, "connection_unavailable", "bad authorization_endpoint"))?;
    state.nonce = random_token();
    state.verifier = random_token();
    state.provider = Some(d);
    let sealed = seal(&state)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", &callback_url(st))
        .append_pair("scope", "openid email profile")
        .append_pair("state", &sealed)
        .append_pair("nonce", &state.nonce)
        .append_pair("code_challenge", &handoffs::challenge_of(&state.verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(url.to_string())
}

/// The parameters the provider sends back.
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How a RelayState of Authio's starts: `rs_` and 256 random bits, base64url (46 bytes,
/// within SAML's 80).
const RELAY_PREFIX: &str = "rs_";

/// Keep a SAML start's sealed state until `exp` (unix seconds) under its RelayState
/// `relay`. SAML bindings 3.4.3 allows a RelayState of at most 80 bytes, too few for the
/// state itself (the redirect URL alone may be 2,048).
async fn keep_relay_state(st: &AppState, relay: &str, sealed: &str, exp: i64) -> ApiResult<()> {
    let expires = chrono::DateTime::from_timestamp(exp, 0).ok_or_else(ApiError::internal)?;
    sqlx::query("INSERT INTO saml_relay_states (relay_state, sealed_state, expires_at) VALUES ($1, $2, $3)")
        .bind(relay)
        .bind(sealed)
        .bind(authio_eventstore::time_text(expires))
        .execute(&st.db.pool)
        .await?;
    Ok(())
}

/// The sealed state kept under a RelayState, while unexpired (it may be presented again:
/// a replayed response is refused by the replay cache, after the state opened).
async fn relay_state(st: &AppState, relay: Option<&str>) -> ApiResult<Option<String>> {
    let Some(relay) = relay.filter(|r| r.len() <= 80 && r.starts_with(RELAY_PREFIX)) else { return Ok(None) };
    let sealed =
        sqlx::query_scalar("SELECT sealed_state FROM saml_relay_states WHERE relay_state = $1 AND expires_at > $2")
            .bind(relay)
            .bind(authio_eventstore::time_text(Utc::now()))
            .fetch_optional(&st.db.pool)
            .await?;
    Ok(sealed)
}

/// The sealed state, opened and unexpired, or `400 invalid_sso_state`.
fn open_state(st: &AppState, sealed: Option<&str>) -> ApiResult<State> {
    let sealer = sealer(st)?;
    let opened = sealed.and_then(|s| sealer.open(STATE_AAD, s));
    let state: State = opened.and_then(|b| serde_json::from_slice(&b).ok()).ok_or_else(invalid_state)?;
    if state.exp < Utc::now().timestamp() {
        return Err(invalid_state());
    }
    Ok(state)
}

/// The application's redirect URL with `error=sso_failed` and why.
fn failed(state: &State, why: &str) -> String {
    tracing::info!(connection = state.connection, reason = why, "SSO sign-in refused");
    let pairs =
        [("error", Some("sso_failed")), ("error_description", Some(why)), ("state", state.app_state.as_deref())];
    with_query(&state.redirect_url, &pairs)
}

/// Where the browser goes once the sign-in is decided: the application's redirect URL
/// with a handoff code, or with `error=sso_failed` (a server fault stays an error).
fn conclude(state: &State, finished: ApiResult<Finished>) -> ApiResult<String> {
    match finished {
        Ok(Finished::Code(hc)) => {
            Ok(with_query(&state.redirect_url, &[("code", Some(&hc)), ("state", state.app_state.as_deref())]))
        }
        Ok(Finished::Refused(why)) => Ok(failed(state, &why)),
        Err(e) if e.status.is_server_error() => Err(e),
        Err(e) => Ok(failed(state, &e.message)),
    }
}

/// Finish an OpenID Connect sign-in: the application's redirect URL with a handoff code,
/// or with `error=sso_failed`. Only a state that does not open is an error of its own
/// (`400 invalid_sso_state`): without it there is nowhere to send the browser.
pub async fn callback(st: &AppState, cb: Callback, rctx: &RequestContext) -> ApiResult<String> {
    let state = open_state(st, cb.state.as_deref())?;
    if state.request_id.is_some() {
        return Err(invalid_state());
    }
    if let Some(e) = cb.error {
        let d = cb.error_description.unwrap_or_default();
        return Ok(failed(&state, format!("the identity provider answered {e} {d}").trim()));
    }
    let Some(code) = cb.code else { return Ok(failed(&state, "the identity provider sent no code")) };
    let finished = match state.provider.as_ref() {
        Some(provider) => finish_oidc(st, &state, provider, &code, rctx).await,
        None => finish_github(st, &state, &code, rctx).await,
    };
    conclude(&state, finished)
}

/// What the identity provider posts to the assertion consumer service.
pub struct Acs {
    pub saml_response: Option<String>,
    pub relay_state: Option<String>,
}

/// Finish a SAML sign-in (HTTP-POST binding), as [`callback`] does an OpenID Connect one.
pub async fn acs(st: &AppState, a: Acs, rctx: &RequestContext) -> ApiResult<String> {
    let sealed = relay_state(st, a.relay_state.as_deref()).await?;
    let state = open_state(st, sealed.as_deref())?;
    let Some(request_id) = state.request_id.as_deref() else { return Err(invalid_state()) };
    let Some(response) = a.saml_response.filter(|r| !r.is_empty()) else {
        return Ok(failed(&state, "the identity provider sent no SAMLResponse"));
    };
    let finished = finish_saml(st, &state, request_id, &response, rctx).await;
    conclude(&state, finished)
}

enum Finished {
    Code(String),
    Refused(String),
}

/// The connection's row as the sign-in needs it.
struct ConnectionRow {
    issuer: String,
    client_id: String,
    organization_id: Option<String>,
    jit_role: Option<String>,
    saml_metadata: Option<String>,
    protocol: String,
}

async fn connection_row(st: &AppState, id: &str) -> ApiResult<Option<ConnectionRow>> {
    let row = sqlx::query(
        "SELECT issuer, client_id, organization_id, jit_role, saml_metadata, protocol FROM connections WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(ConnectionRow {
        issuer: r.try_get(0)?,
        client_id: r.try_get(1)?,
        organization_id: r.try_get(2)?,
        jit_role: r.try_get(3)?,
        saml_metadata: r.try_get(4)?,
        protocol: r.try_get(5)?,
    }))
}

async fn finish_oidc(
    st: &AppState,
    state: &State,
    d: &connections::Discovery,
    code: &str,
    rctx: &RequestContext,
) -> ApiResult<Finished> {
    let Some(conn) = connection_row(st, &state.connection).await? else {
        return Ok(Finished::Refused("the connection was deleted".into()));
    };
    if !connections::issuer_fits(&d.issuer, &conn.issuer) {
        return Ok(Finished::Refused("the connection changed during the sign-in".into()));
    }
    let secret = connections::client_secret(st, &state.connection).await?;
    let claims = match redeem_upstream(st, d, &conn.client_id, &secret, code, state).await {
        Ok(c) => c,
        Err(why) => return Ok(Finished::Refused(why)),
    };
    let verified = email_verified(&claims);
    let Some(email) = claims.get("email").and_then(Value::as_str) else {
        return Ok(Finished::Refused("the identity provider gave no email".into()));
    };
    if !verified {
        return Ok(Finished::Refused("the identity provider has not verified the email address".into()));
    }
    sign_in(st, state, &conn, email, rctx).await
}

async fn finish_github(st: &AppState, state: &State, code: &str, rctx: &RequestContext) -> ApiResult<Finished> {
    let Some(conn) = connection_row(st, &state.connection).await? else {
        return Ok(Finished::Refused("the connection was deleted".into()));
    };
    if conn.protocol != "github" || !valid_verifier(&state.verifier) {
        return Ok(Finished::Refused("the connection changed during the sign-in".into()));
    }
    let secret = connections::client_secret(st, &state.connection).await?;
    match github_email(st, &conn, &secret, code, state).await {
        Ok(email) => sign_in(st, state, &conn, &email, rctx).await,
        Err(why) => Ok(Finished::Refused(why)),
    }
}

/// Redeem GitHub's code and read the account's verified primary email (GitHub has no
/// id token: its REST API's `/user/emails`, scope `user:email`).
async fn github_email(
    st: &AppState,
    conn: &ConnectionRow,
    secret: &str,
    code: &str,
    state: &State,
) -> Result<String, String> {
    let (_, token_url, api) = connections::github_endpoints(&conn.issuer);
    let (url, client) = connections::client_for(st, &token_url, "GitHub's token endpoint").await?;
    let callback = callback_url(st);
    let form = [
        ("client_id", conn.client_id.as_str()),
        ("client_secret", secret),
        ("code", code),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", state.verifier.as_str()),
    ];
    let res = client
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("GitHub's token endpoint: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| format!("GitHub's token endpoint: {e}"))?;
    // GitHub answers a refused code with 200 and an `error`.
    let Some(access) = body["access_token"].as_str().filter(|_| status.is_success()) else {
        return Err(format!("GitHub's token endpoint answered {}: {}", status.as_u16(), body["error"]));
    };
    let emails_url = format!("{api}/user/emails");
    let (url, client) = connections::client_for(st, &emails_url, "GitHub's API").await?;
    let res = client
        .get(url)
        .bearer_auth(access)
        .header(reqwest::header::ACCEPT, "application/vnd.github+json")
        .header(reqwest::header::USER_AGENT, "Authio")
        .header("X-GitHub-Api-Version", "2022-11-28")
        .send()
        .await
        .map_err(|e| format!("GitHub's /user/emails: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("GitHub's /user/emails answered {}", res.status().as_u16()));
    }
    let emails: Vec<Value> = res.json().await.map_err(|e| format!("GitHub's /user/emails: {e}"))?;
    emails
        .iter()
        .find(|e| e["primary"] == Value::Bool(true) && e["verified"] == Value::Bool(true))
        .and_then(|e| e["email"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "the GitHub account has no verified primary email address".to_string())
}

async fn finish_saml(
    st: &AppState,
    state: &State,
    request_id: &str,
    response: &str,
    rctx: &RequestContext,
) -> ApiResult<Finished> {
    let Some(conn) = connection_row(st, &state.connection).await? else {
        return Ok(Finished::Refused("the connection was deleted".into()));
    };
    let Some(metadata) = conn.saml_metadata.as_deref() else {
        return Ok(Finished::Refused("the connection is not a SAML connection".into()));
    };
    let (entity_id, acs_url) = connections::saml_sp(st, &state.connection);
    // XML parsing and xmlsec's signature check are CPU work of a few milliseconds: off
    // the async workers.
    let (metadata, response, request_id) = (metadata.to_string(), response.to_string(), request_id.to_string());
    let verified = tokio::task::spawn_blocking(move || {
        let sp = authio_saml::Sp { entity_id: &entity_id, acs_url: &acs_url };
        authio_saml::verify_response(&metadata, sp, &response, &request_id)
    })
    .await
    .map_err(|e| ApiError { message: format!("SAML verification: {e}"), ..ApiError::internal() })?;
    let asserted = match verified {
        Ok(a) => a,
        Err(authio_saml::SamlError::Unavailable) => {
            return Ok(Finished::Refused("this build of Authio has no SAML support".into()))
        }
        Err(e) => return Ok(Finished::Refused(e.to_string())),
    };
    let Some(email) = asserted.email.as_deref() else {
        return Ok(Finished::Refused(
            "the assertion carries no email address (an email attribute or an emailAddress NameID)".into(),
        ));
    };
    // The replay cache: an assertion is accepted once, for as long as it is valid at all.
    let fresh = sqlx::query(
        "INSERT INTO saml_assertions (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (connection_id, assertion_id) DO NOTHING",
    )
    .bind(&state.connection)
    .bind(&asserted.assertion_id)
    .bind(authio_eventstore::time_text(asserted.expires_at))
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if fresh == 0 {
        return Ok(Finished::Refused("the assertion was used already (replayed)".into()));
    }
    sign_in(st, state, &conn, email, rctx).await
}

/// Sign the address the identity provider vouched for in: the project's one user of that
/// email (created when new), and a handoff code for the application. An organization's
/// connection vouches only for addresses of a domain the organization has verified:
/// otherwise any organization's admin, by running an identity provider of their own,
/// could sign in as any user of the project.
async fn sign_in(
    st: &AppState,
    state: &State,
    conn: &ConnectionRow,
    email: &str,
    rctx: &RequestContext,
) -> ApiResult<Finished> {
    let email = authio_domain::normalize_email(email);
    if !authio_domain::is_valid_email(&email) {
        return Ok(Finished::Refused("the identity provider gave an email address Authio cannot use".into()));
    }
    let project = state.project.as_str();
    if let Some(org) = &conn.organization_id {
        if crate::domains::owner_of_address(st, project, &email).await?.as_deref() != Some(org.as_str()) {
            return Ok(Finished::Refused(format!(
                "{email} is not in a domain the organization has verified: its identity provider cannot vouch for it"
            )));
        }
    }
    let known: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE project_id = $1 AND email_normalized = $2")
            .bind(project)
            .bind(&email)
            .fetch_optional(&st.db.pool)
            .await?;
    let (user, session) = match conn.organization_id.clone() {
        Some(org) => match into_organization(st, project, &email, known, &org, conn.jit_role.clone(), rctx).await? {
            Ok(signed_in) => signed_in,
            Err(why) => return Ok(Finished::Refused(why)),
        },
        None => {
            if known.is_none() {
                let tenant = st.db.load::<authio_domain::tenant::Tenant>(project).await?;
                if tenant.state.sign_up == authio_domain::tenant::SignUp::InvitationOnly {
                    return Ok(Finished::Refused("this project admits new users by invitation only".into()));
                }
            }
            let user = match known {
                Some(u) => u,
                None => crate::routes::auth::find_or_create_user(st, project, &email, rctx).await?,
            };
            let meta = rctx.metadata(&Actor::User(user.clone()));
            // The address is proven: a verified domain's automatic membership applies.
            crate::domains::join_by_domain(st, project, &user, &email, &meta).await?;
            let session = crate::sessions::start(st, project, &user, "sso", &meta, || Ok(Changes::new())).await?;
            (user, session)
        }
    };
    let meta = rctx.metadata(&Actor::User(user.clone()));
    let org = session.active_organization.as_ref().map(|a| a.id.as_str());
    let issued =
        handoffs::issue_for(st, project, &session.session_id, &user, org, &state.redirect_url, &state.challenge, &meta)
            .await?;
    Ok(Finished::Code(issued.code))
}

/// An organization's connection: the user (known, or created) must be an active member
/// of `org`, or become one by `jit_role`; the session starts in `org`. `Err` says why not.
async fn into_organization(
    st: &AppState,
    project: &str,
    email: &str,
    known: Option<String>,
    org: &str,
    jit_role: Option<String>,
    rctx: &RequestContext,
) -> ApiResult<Result<(String, crate::sessions::SessionAnswer), String>> {
    let member: Option<String> = match &known {
        Some(u) => {
            sqlx::query_scalar("SELECT status FROM memberships WHERE user_id = $1 AND organization_id = $2")
                .bind(u)
                .bind(org)
                .fetch_optional(&st.db.pool)
                .await?
        }
        None => None,
    };
    match (member.as_deref(), &jit_role) {
        (Some("active"), _) | (None, Some(_)) => {}
        (Some(_), _) => return Ok(Err("the user's membership in the organization is not active".into())),
        (None, None) => return Ok(Err("the user is not a member of the organization".into())),
    }
    let user = match known {
        Some(u) => u,
        None => crate::routes::auth::find_or_create_user(st, project, email, rctx).await?,
    };
    let meta = rctx.metadata(&Actor::User(user.clone()));
    if member.is_none() {
        crate::domains::join(st, project, &user, org, jit_role, &meta).await?;
    }
    let session = crate::sessions::start_preferring(st, project, &user, "sso", &meta, Some(org)).await?;
    if session.active_organization.as_ref().map(|a| a.id.as_str()) != Some(org) {
        return Ok(Err("the organization's policy does not admit this sign-in".into()));
    }
    Ok(Ok((user, session)))
}

/// Redeem the provider's code and validate its id token: the claims, or why not.
async fn redeem_upstream(
    st: &AppState,
    d: &connections::Discovery,
    client_id: &str,
    secret: &str,
    code: &str,
    state: &State,
) -> Result<serde_json::Map<String, Value>, String> {
    if !valid_verifier(&state.verifier) {
        return Err("internal state".into());
    }
    let (url, client) = connections::client_for(st, &d.token_endpoint, "the token endpoint").await?;
    let callback = callback_url(st);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", state.verifier.as_str()),
    ];
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let res = client
        .post(url)
        .basic_auth(enc(client_id), Some(enc(secret)))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("the token endpoint: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| format!("the token endpoint: {e}"))?;
    if !status.is_success() {
        return Err(format!("the token endpoint answered {}: {}", status.as_u16(), body["error"]));
    }
    let id_token = body["id_token"].as_str().ok_or("the token endpoint gave no id_token")?;
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| format!("id_token: {e}"))?;
    use jsonwebtoken::Algorithm::*;
    if !matches!(header.alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512 | ES256 | ES384 | EdDSA) {
        return Err(format!("id_token: the algorithm {:?} is not accepted", header.alg));
    }
    let jwks: jsonwebtoken::jwk::JwkSet = connections::fetch_json(st, &d.jwks_uri).await?;
    let jwk = match &header.kid {
        Some(kid) => jwks.find(kid),
        None if jwks.keys.len() == 1 => jwks.keys.first(),
        None => None,
    }
    .ok_or("id_token: its key is not in the provider's JWKS")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("id_token key: {e}"))?;
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.leeway = 60;
    let multi_tenant = d.issuer.contains(connections::TENANT_PLACEHOLDER);
    if !multi_tenant {
        v.set_issuer(&[&d.issuer]);
    }
    v.set_audience(&[client_id]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let data = jsonwebtoken::decode::<serde_json::Map<String, Value>>(id_token, &key, &v)
        .map_err(|e| format!("id_token: {e}"))?;
    if multi_tenant {
        tenant_issuer_check(&d.issuer, &data.claims)?;
    }
    if data.claims.get("nonce").and_then(Value::as_str) != Some(state.nonce.as_str()) {
        return Err("id_token: the nonce does not match".into());
    }
    let mut claims = data.claims;
    // Providers that keep the email out of the id token (as OpenID Connect allows when
    // an access token is issued) answer it at userinfo, for the same `sub`.
    if claims.get("email").is_none() {
        if let (Some(endpoint), Some(access)) = (&d.userinfo_endpoint, body["access_token"].as_str()) {
            let info = userinfo(st, endpoint, access).await?;
            if info.get("sub") != claims.get("sub") {
                return Err("userinfo: another subject than the id token's".into());
            }
            for k in ["email", "email_verified"] {
                if let Some(v) = info.get(k) {
                    claims.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    Ok(claims)
}

/// A multi-tenant provider's id token: its `iss` must be the template with the token's
/// own tenant (`tid`) in place of `{tenantid}`.
fn tenant_issuer_check(template: &str, claims: &serde_json::Map<String, Value>) -> Result<(), String> {
    let tid = claims.get("tid").and_then(Value::as_str).filter(|t| !t.is_empty() && !t.contains('/'));
    let tid = tid.ok_or("id_token: a multi-tenant provider's token without its tenant (tid)")?;
    let expected = template.replace(connections::TENANT_PLACEHOLDER, tid);
    if claims.get("iss").and_then(Value::as_str) != Some(expected.as_str()) {
        return Err(format!("id_token: the issuer is not {expected}"));
    }
    Ok(())
}

/// Whether the provider vouches for the email: `email_verified` (OpenID Connect), or
/// Microsoft Entra ID's `xms_edov` ("email domain owner verified", its optional claim
/// for this; Entra ID sends no `email_verified`).
fn email_verified(claims: &serde_json::Map<String, Value>) -> bool {
    ["email_verified", "xms_edov"].iter().any(|k| match claims.get(*k) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true" || s == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    })
}

/// The provider's userinfo for an access token of its own.
async fn userinfo(st: &AppState, endpoint: &str, access: &str) -> Result<serde_json::Map<String, Value>, String> {
    let (url, client) = connections::client_for(st, endpoint, "the userinfo endpoint").await?;
    let res = client.get(url).bearer_auth(access).send().await.map_err(|e| format!("userinfo: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("userinfo answered {}", res.status().as_u16()));
    }
    res.json().await.map_err(|e| format!("userinfo: {e}"))
}

/// Where an email's users sign in with SSO: the organization that verified its domain
/// and has a connection.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SsoRoute {
    pub organization_id: String,
    /// The organization's (oldest) connection: start there.
    pub connection_id: String,
    /// Whether the organization's policy leaves its domain's users no other way in
    /// (its `allowed_methods` name `sso` and not `magic_link`).
    pub required: bool,
}

/// The SSO route of `email` in `project`, if its domain has one.
pub async fn lookup(st: &AppState, project: &str, email: &str) -> ApiResult<Option<SsoRoute>> {
    let Some(org) = crate::domains::owner_of_address(st, project, email).await? else { return Ok(None) };
    let conn: Option<String> =
        sqlx::query_scalar("SELECT id FROM connections WHERE organization_id = $1 ORDER BY id LIMIT 1")
            .bind(&org)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some(connection_id) = conn else { return Ok(None) };
    let required = crate::policies::admits_new_session(st, &org, "sso").await?
        && !crate::policies::admits_new_session(st, &org, "magic_link").await?;
    Ok(Some(SsoRoute { organization_id: org, connection_id, required }))
}

/// `403 sso_required` for an email whose organization admits only SSO: where to go.
pub async fn ensure_not_required(st: &AppState, project: &str, email: &str) -> ApiResult<()> {
    match lookup(st, project, email).await? {
        Some(r) if r.required => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sso_required",
            "this email's organization signs its users in through its identity provider: /v1/auth/sso/start",
        )
        .with_details(serde_json::json!({"organization_id": r.organization_id, "connection_id": r.connection_id}))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_multi_tenant_issuer_is_checked_against_the_tokens_tenant() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        assert!(connections::issuer_fits(template, "https://login.microsoftonline.com/common/v2.0"));
        assert!(connections::issuer_fits(template, "https://login.microsoftonline.com/organizations/v2.0"));
        assert!(!connections::issuer_fits(template, "https://login.microsoftonline.com/a/b/v2.0"));
        assert!(!connections::issuer_fits(template, "https://evil.example/common/v2.0"));
        assert!(!connections::issuer_fits(template, "https://login.microsoftonline.com//v2.0"));
        assert!(connections::issuer_fits("https://idp.example", "https://idp.example"));
        assert!(!connections::issuer_fits("https://idp.example", "https://idp.example/x"));
        let tid = "9b2f6e0c-1a4f-4c11-8d33-2f1e6c5a7b90";
        let good = json!({"tid": tid, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0")});
        assert_eq!(tenant_issuer_check(template, &claims(good)), Ok(()));
        let other = json!({"tid": tid, "iss": "https://login.microsoftonline.com/another/v2.0"});
        assert!(tenant_issuer_check(template, &claims(other)).is_err());
        let none = json!({"iss": "https://login.microsoftonline.com/x/v2.0"});
        assert!(tenant_issuer_check(template, &claims(none)).is_err());
        let slashed = json!({"tid": "a/b", "iss": "https://login.microsoftonline.com/a/b/v2.0"});
        assert!(tenant_issuer_check(template, &claims(slashed)).is_err());
    }

    #[test]
    fn an_email_is_verified_by_email_verified_or_entra_ids_xms_edov() {
        assert!(email_verified(&claims(json!({"email_verified": true}))));
        assert!(email_verified(&claims(json!({"email_verified": "true"}))));
        assert!(email_verified(&claims(json!({"xms_edov": true}))));
        assert!(email_verified(&claims(json!({"xms_edov": 1}))));
        assert!(!email_verified(&claims(json!({"email_verified": false}))));
        assert!(!email_verified(&claims(json!({"xms_edov": false, "email": "a@b.example"}))));
        assert!(!email_verified(&claims(json!({}))));
    }
}
