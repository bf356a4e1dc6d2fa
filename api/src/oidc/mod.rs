//! The OpenID Connect provider (OpenID Connect Core 1.0, RFC 6749, RFC 7636, RFC 9700):
//! the authorization code flow with PKCE, through the hosted sign-in pages.
//!
//! 1. `/oauth2/authorize` checks the client and its redirect URI exactly (else an error
//!    page, never a redirect), then the rest of the request (else a redirect with
//!    `error`), and sends the user to the hosted pages with the request signed by the
//!    server (`REQUEST_TYP`, ten minutes): nothing is written for an anonymous caller.
//! 2. The hosted pages sign the user in and choose the organization context, then
//!    `POST /v1/oauth2/authorizations` with that context's access token: an
//!    authorization code (`authio_domain::authorization_code`, a stream per code, 60
//!    seconds, single use) bound to the session, the context, the client, the redirect
//!    URI, the scopes, the nonce and the PKCE challenge.
//! 3. `/oauth2/token` redeems it for a token family of the client's own in that
//!    context (the grant; `handoffs::open_family`, as a handoff does), so a refresh
//!    stays in its organization; a redeemed code presented again revokes the session.
//!
//! One issuer serves every project; the `client_id` names the project. Tokens are the
//! project's: access tokens as every session gets them (`aud` the project), id tokens
//! signed with the same keys (`aud` the client).
pub mod error;
pub mod logout;

use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::{RequestContext, UserToken};
use crate::handoffs::{self, challenge_of, valid_challenge, valid_verifier};
use crate::sessions::{self, Include, SessionAnswer};
use crate::tokens::REQUEST_TYP;
use crate::AppState;
use authio_domain::authorization_code::{AuthorizationCode, CodeCommand, CodeGrant};
use authio_domain::context::context_key;
use authio_domain::ids::{OrganizationId, SessionId, TenantId, UserId};
use authio_domain::oauth_client::ClientType;
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, Loaded, Metadata, SqlArg};
use chrono::{DateTime, Duration, Utc};
use error::OAuthError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::Row;
use std::collections::HashMap;
use url::Url;
use utoipa::ToSchema;

/// How long an authorization code may wait for its redemption.
pub const CODE_TTL_SECONDS: i64 = 60;
/// How long the hosted pages may take to sign the user in for a request.
pub const REQUEST_TTL_SECONDS: i64 = 600;
/// How long an id token is valid.
pub const ID_TOKEN_TTL_SECONDS: i64 = 600;

const MAX_STATE: usize = 1024;
const MAX_NONCE: usize = 512;
const MAX_LOGIN_HINT: usize = 320;

/// A registered client, as the read model has it.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
}

/// The live client `id` (of any project), if there is one.
pub async fn client(st: &AppState, id: &str) -> ApiResult<Option<Client>> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let row =
        sqlx::query("SELECT id, project_id, name, client_type, redirect_uris, scopes FROM oauth_clients WHERE id = $1")
            .bind(id)
            .fetch_optional(&st.db.pool)
            .await?;
    let Some(r) = row else { return Ok(None) };
    let list = |i: usize| -> Result<Vec<String>, sqlx::Error> {
        Ok(serde_json::from_str(&r.try_get::<String, _>(i)?).unwrap_or_default())
    };
    let kind: String = r.try_get(3)?;
    Ok(Some(Client {
        id: r.try_get(0)?,
        project_id: r.try_get(1)?,
        name: r.try_get(2)?,
        client_type: ClientType::parse(&kind).unwrap_or(ClientType::Confidential),
        redirect_uris: list(4)?,
        scopes: list(5)?,
    }))
}

/// `base` with `pairs` added to its query (a registered redirect URI may have one).
pub(crate) fn with_query(base: &str, pairs: &[(&str, Option<&str>)]) -> String {
    match Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    if let Some(v) = v {
                        q.append_pair(k, v);
                    }
                }
            }
            u.to_string()
        }
        Err(_) => base.to_string(),
    }
}

/// The parameters of a request, each at most once (RFC 6749 §3.1).
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Params, String> {
        let mut m = HashMap::new();
        for (k, v) in pairs {
            if m.insert(k.clone(), v).is_some() {
                return Err(format!("{k} must not be repeated"));
            }
        }
        Ok(Params(m))
    }
    /// The parameter, when present and not empty.
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// What `/oauth2/authorize` answers.
pub enum Authorize {
    /// The client or its redirect URI is wrong: an error page, never a redirect.
    Page(String),
    /// To the hosted pages, or back to the client with an error.
    Redirect(String),
}

/// An authorization request as signed for the hosted pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Request {
    /// The client.
    sub: String,
    project_id: String,
    redirect_uri: String,
    scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    login_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    organization: Option<String>,
}

fn request_audience(st: &AppState) -> String {
    format!("{}/oauth2/authorize", st.keys.issuer)
}

/// Where the client is sent back with an error (RFC 6749 §4.1.2.1, RFC 9207's `iss`).
fn error_redirect(st: &AppState, redirect_uri: &str, error: &str, description: &str, state: Option<&str>) -> String {
    let iss = st.keys.issuer.as_str();
    with_query(
        redirect_uri,
        &[("error", Some(error)), ("error_description", Some(description)), ("state", state), ("iss", Some(iss))],
    )
}

/// `/oauth2/authorize`: check the request, sign it, and send the user to the hosted
/// sign-in pages (see the module's documentation).
pub async fn authorize(st: &AppState, params: Result<Params, String>) -> ApiResult<Authorize> {
    let p = match params {
        Ok(p) => p,
        Err(why) => return Ok(Authorize::Page(why)),
    };
    let Some(client) = client(st, p.get("client_id").unwrap_or_default()).await? else {
        return Ok(Authorize::Page("The application (client_id) is not registered.".into()));
    };
    let Some(redirect_uri) = p.get("redirect_uri") else {
        return Ok(Authorize::Page("redirect_uri is missing.".into()));
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Ok(Authorize::Page("redirect_uri is not one of the application's registered redirect URIs.".into()));
    }
    let state = p.get("state");
    let refuse = |error: &str, description: &str| {
        Ok(Authorize::Redirect(error_redirect(
            st,
            redirect_uri,
            error,
            description,
            state.filter(|s| s.len() <= MAX_STATE),
        )))
    };
    match check_request(&p, &client) {
        Ok(()) => {}
        Err((error, description)) => return refuse(error, &description),
    }
    let pk: Option<String> = sqlx::query_scalar(
        "SELECT publishable_key FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL \
         ORDER BY CASE environment WHEN 'live' THEN 0 ELSE 1 END, created_at DESC LIMIT 1",
    )
    .bind(&client.project_id)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(pk) = pk else {
        return refuse("server_error", "the project has no API key for its sign-in pages");
    };
    let req = Request {
        sub: client.id.clone(),
        project_id: client.project_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: p.get("scope").unwrap_or_default().to_string(),
        state: state.map(str::to_string),
        nonce: p.get("nonce").map(str::to_string),
        code_challenge: p.get("code_challenge").map(str::to_string),
        prompt: p.get("prompt").map(str::to_string),
        login_hint: p.get("login_hint").map(str::to_string),
        organization: p.get("organization").map(str::to_string),
    };
    let signed = sign_request(st, &req).await?;
    let hosted = format!("{}/hosted/sign-in", st.keys.issuer);
    let mut pairs = vec![("authorization", Some(signed.as_str())), ("pk", Some(pk.as_str()))];
    pairs.push(("organization", req.organization.as_deref()));
    pairs.push(("login_hint", req.login_hint.as_deref()));
    Ok(Authorize::Redirect(with_query(&hosted, &pairs)))
}

/// The rules of a request whose client and redirect URI are right: `Err` is the
/// redirect's `error` and description.
fn check_request(p: &Params, client: &Client) -> Result<(), (&'static str, String)> {
    let bad = |d: &str| Err(("invalid_request", d.to_string()));
    if p.get("request").is_some() {
        return Err(("request_not_supported", "request objects are not supported".into()));
    }
    if p.get("request_uri").is_some() {
        return Err(("request_uri_not_supported", "request_uri is not supported".into()));
    }
    match p.get("response_type") {
        Some("code") => {}
        None => return bad("response_type is missing"),
        Some(_) => return Err(("unsupported_response_type", "only response_type=code is supported".into())),
    }
    if p.get("response_mode").is_some_and(|m| m != "query") {
        return bad("only response_mode=query is supported");
    }
    if p.get("state").is_some_and(|s| s.len() > MAX_STATE) {
        return bad("state is longer than 1024 characters");
    }
    let scope = p.get("scope").unwrap_or_default();
    let scopes: Vec<&str> = scope.split(' ').filter(|s| !s.is_empty()).collect();
    if !scopes.contains(&"openid") {
        return Err(("invalid_scope", "scope must include openid".into()));
    }
    if let Some(s) = scopes.iter().find(|s| !client.scopes.iter().any(|c| c == *s)) {
        return Err(("invalid_scope", format!("the application may not ask for the scope {s}")));
    }
    match (p.get("code_challenge"), p.get("code_challenge_method")) {
        (None, None) if client.client_type == ClientType::Public => {
            return bad("PKCE is required for public clients: code_challenge with code_challenge_method=S256")
        }
        (None, None) => {}
        (None, Some(_)) => return bad("code_challenge is missing"),
        (Some(_), m) if m != Some("S256") => return bad("code_challenge_method must be S256"),
        (Some(c), _) if !valid_challenge(c) => {
            return bad("code_challenge must be the base64url SHA-256 of the verifier (43 characters)")
        }
        (Some(_), _) => {}
    }
    if p.get("nonce").is_some_and(|n| n.len() > MAX_NONCE) {
        return bad("nonce is longer than 512 characters");
    }
    if p.get("login_hint").is_some_and(|h| h.len() > MAX_LOGIN_HINT) {
        return bad("login_hint is longer than 320 characters");
    }
    if let Some(o) = p.get("organization") {
        let ok = o.starts_with("org_") && o.len() <= 64 && o.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return bad("organization must be an organization id (org_…)");
        }
    }
    let prompts: Vec<&str> = p.get("prompt").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).collect();
    if let Some(x) = prompts.iter().find(|x| !matches!(**x, "none" | "login" | "consent" | "select_account")) {
        return bad(&format!("unknown prompt value {x}"));
    }
    if prompts.contains(&"none") {
        if prompts.len() > 1 {
            return bad("prompt=none cannot be combined with other values");
        }
        // The hosted pages keep no sign-in between visits (tokens live in the page only),
        // so there is never a session to answer from without showing a page.
        return Err(("login_required", "the user must sign in".into()));
    }
    Ok(())
}

async fn sign_request(st: &AppState, req: &Request) -> ApiResult<String> {
    let now = Utc::now().timestamp();
    let mut claims =
        serde_json::to_value(req).map_err(|e| ApiError { message: e.to_string(), ..ApiError::internal() })?;
    claims["iss"] = json!(st.keys.issuer);
    claims["aud"] = json!(request_audience(st));
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + REQUEST_TTL_SECONDS);
    st.keys
        .sign(&req.project_id, REQUEST_TYP, &claims)
        .await
        .map_err(|e| ApiError { message: e.to_string(), ..ApiError::internal() })
}

fn invalid_request_token() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_authorization_request",
        "the authorization request is unknown, tampered with or expired; start again from the application",
    )
}

/// A request the hosted pages hold, checked: signed by us, unexpired, its client still
/// registered with its redirect URI.
async fn open_request(st: &AppState, signed: &str) -> ApiResult<(Request, Client)> {
    let claims = st.keys.verify_signed(signed, REQUEST_TYP, &request_audience(st), true).await;
    let req: Request = claims.and_then(|c| serde_json::from_value(c).ok()).ok_or_else(invalid_request_token)?;
    let client = client(st, &req.sub).await?.ok_or_else(invalid_request_token)?;
    if client.project_id != req.project_id || !client.redirect_uris.contains(&req.redirect_uri) {
        return Err(invalid_request_token());
    }
    Ok((req, client))
}

/// What the hosted pages show of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub client_id: String,
    /// The application's name, as registered.
    pub client_name: String,
    pub scopes: Vec<String>,
    /// The organization the application asks for (no chooser then).
    pub organization: Option<String>,
    /// The email to prefill.
    pub login_hint: Option<String>,
    /// `login`, `consent`, `select_account` (space-separated), as the application sent it.
    pub prompt: Option<String>,
    /// Where the user goes back to.
    pub redirect_uri: String,
}

pub async fn describe(st: &AppState, signed: &str) -> ApiResult<RequestView> {
    let (req, client) = open_request(st, signed).await?;
    Ok(RequestView {
        client_id: client.id,
        client_name: client.name,
        scopes: req.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        organization: req.organization,
        login_hint: req.login_hint,
        prompt: req.prompt,
        redirect_uri: req.redirect_uri,
    })
}

/// The user declined: back to the client with `access_denied`.
pub async fn deny(st: &AppState, signed: &str) -> ApiResult<String> {
    let (req, _) = open_request(st, signed).await?;
    let d = "the user declined to sign in";
    Ok(error_redirect(st, &req.redirect_uri, "access_denied", d, req.state.as_deref()))
}

const SESSION_REQUIRED: &str = "oauth_code_requires_active_session";

/// The signed-in user grants the request in their current context: an authorization
/// code, and the redirect that carries it to the client.
pub async fn grant(st: &AppState, user: &UserToken, signed: &str, meta: &Metadata) -> ApiResult<String> {
    let (req, client) = open_request(st, signed).await?;
    if client.project_id != user.project_id() {
        return Err(ApiError::unauthenticated());
    }
    let org = user.claims.act_org.clone();
    if req.organization.is_some() && req.organization != org {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "organization_mismatch",
            "the application asked for another organization: switch to it first",
        ));
    }
    let started: Option<String> = sqlx::query_scalar("SELECT created_at FROM sessions WHERE id = $1")
        .bind(user.session_id())
        .fetch_optional(&st.db.pool)
        .await?;
    let auth_time = started
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(ApiError::unauthenticated)?;
    let id = new_id("oac_");
    let code = new_secret(&format!("{id}."));
    let at = Utc::now();
    let grant = CodeGrant {
        client_id: client.id.clone(),
        project_id: TenantId::new(user.project_id()),
        session_id: SessionId::new(user.session_id()),
        user_id: UserId::new(user.user_id()),
        organization_id: org.clone().map(OrganizationId::new),
        code_hash: hash_secret(&code),
        code_challenge: req.code_challenge.clone(),
        redirect_uri: req.redirect_uri.clone(),
        scopes: req.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        nonce: req.nonce.clone(),
        auth_time,
    };
    let done = crate::execute!(st, meta, {
        let mut a = Loaded::<AuthorizationCode>::fresh(&id);
        let cmd = CodeCommand::Issue {
            code_id: id.clone(),
            grant: Box::new(grant.clone()),
            expires_at: at + Duration::seconds(CODE_TTL_SECONDS),
            at,
        };
        a.exec(cmd).await?;
        let mut c = Changes::new();
        c.add(a)?;
        let context = vec![SqlArg::Text(user.session_id().into()), SqlArg::Text(context_key(org.as_deref()).into())];
        c.require(sessions::CALLER_CONTEXT_OPEN, context, SESSION_REQUIRED);
        Ok(c)
    });
    match done {
        Ok(_) => {}
        Err(e) if e.code == SESSION_REQUIRED => return Err(ApiError::unauthenticated()),
        Err(e) => return Err(e),
    }
    let iss = st.keys.issuer.as_str();
    let pairs = [("code", Some(code.as_str())), ("state", req.state.as_deref()), ("iss", Some(iss))];
    Ok(with_query(&req.redirect_uri, &pairs))
}

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Debug, Default)]
pub struct Credentials {
    /// The browser origin the request came from (`Origin`), if any.
    pub origin: Option<String>,
    /// HTTP Basic (`client_secret_basic`), decoded.
    pub basic: Option<(String, String)>,
    /// The form's `client_id` and `client_secret` (`client_secret_post`, or `none`).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The client the credentials prove: a confidential client by its secret (Basic or
/// form, not both), a public client by its id alone (it has no secret to send).
pub async fn authenticate(st: &AppState, cred: &Credentials) -> Result<Client, OAuthError> {
    let (id, secret) = match (&cred.basic, &cred.client_id, &cred.client_secret) {
        (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"))
        }
        (Some((id, secret)), form_id, None) => {
            if form_id.as_ref().is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request("client_id differs from the authenticated client"));
            }
            (id.as_str(), Some(secret.as_str()))
        }
        (None, Some(id), secret) => (id.as_str(), secret.as_deref()),
        (None, None, _) => return Err(OAuthError::invalid_client("client authentication is required")),
    };
    let unknown = || OAuthError::invalid_client("unknown client or wrong secret");
    let client = client(st, id).await.map_err(OAuthError::from)?.ok_or_else(unknown)?;
    if let Some(origin) = &cred.origin {
        if !crate::cors::oauth_origin_allowed(st, origin, &client.project_id, &client.redirect_uris).await? {
            return Err(OAuthError::unauthorized_client("this browser origin is not allowed for the client"));
        }
    }
    match (client.client_type, secret) {
        (ClientType::Public, None) => Ok(client),
        (ClientType::Public, Some(_)) => Err(OAuthError::invalid_client("a public client has no secret")),
        (ClientType::Confidential, None) => Err(unknown()),
        (ClientType::Confidential, Some(secret)) => {
            let stored: Option<String> =
                sqlx::query_scalar("SELECT secret_hash FROM oauth_client_secrets WHERE client_id = $1")
                    .bind(&client.id)
                    .fetch_optional(&st.db.pool)
                    .await?;
            let given = hash_secret(secret);
            // Both are SHA-256 hex digests of a high-entropy secret; compared in constant time.
            match stored {
                Some(h)
                    if aws_lc_rs::constant_time::verify_slices_are_equal(h.as_bytes(), given.as_bytes()).is_ok() =>
                {
                    Ok(client)
                }
                _ => Err(unknown()),
            }
        }
    }
}

/// The token endpoint's answer (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenAnswer {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    pub id_token: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    /// With `offline_access` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The code a string names (`oac_<id>.<64 hex digits>`); nothing for anything malformed.
fn code_id_of(code: &str) -> Option<&str> {
    let (id, secret) = code.split_once('.')?;
    let ok = id.starts_with("oac_")
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(id)
}

const BAD_CODE: &str = "the code is unknown, expired, already used, or was issued to another client or redirect URI";

/// `grant_type=authorization_code`: the code, for the client that asked for it, at the
/// same redirect URI, with the verifier of its challenge.
pub async fn redeem(
    st: &AppState,
    client: &Client,
    p: &Params,
    rctx: &RequestContext,
) -> Result<TokenAnswer, OAuthError> {
    let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is missing"))?;
    let redirect_uri = p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is missing"))?;
    let verifier = p.get("code_verifier");
    if verifier.is_some_and(|v| !valid_verifier(v)) {
        return Err(OAuthError::invalid_request("code_verifier must be 43 to 128 unreserved characters"));
    }
    let id = code_id_of(code).ok_or_else(|| OAuthError::invalid_grant(BAD_CODE))?;
    // Redemptions of one code take turns in this process (across processes the
    // stream's version decides): the first wins, the others find it redeemed.
    let _turn = st.db.stream_turn::<AuthorizationCode>(id).await;
    let a = st.db.load::<AuthorizationCode>(id).await.map_err(ApiError::from)?;
    let Some(g) = a.state.grant.clone() else { return Err(OAuthError::invalid_grant(BAD_CODE)) };
    if g.code_hash != hash_secret(code) {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    let meta = rctx.metadata(&Actor::User(g.user_id.0.clone()));
    if a.state.redeemed() {
        // Whoever presents a redeemed code may hold what it issued.
        record_reuse(st, id, &g.session_id.0, &meta).await?;
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    if g.client_id != client.id || g.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(BAD_CODE));
    }
    match (&g.code_challenge, verifier) {
        (Some(c), Some(v)) if *c == challenge_of(v) => {}
        (Some(_), Some(_)) => return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge")),
        (Some(_), None) => return Err(OAuthError::invalid_request("code_verifier is missing")),
        (None, Some(_)) => return Err(OAuthError::invalid_grant("the authorization request had no code_challenge")),
        (None, None) => {}
    }
    let (sid, uid, project) = (g.session_id.0.clone(), g.user_id.0.clone(), g.project_id.0.clone());
    let org = g.organization_id.clone().map(|o| o.0);
    let mut loaded = Some(a);
    let mut refresh = String::new();
    let rows = crate::execute!(st, &meta, {
        let mut a = match loaded.take() {
            Some(a) => a,
            None => st.db.load::<AuthorizationCode>(id).await?,
        };
        let mut c = Changes::new();
        let (family, token) =
            handoffs::open_family(st, &mut c, &sid, &project, &uid, org.as_deref(), Include::Nothing).await?;
        a.exec(CodeCommand::Redeem { family_id: family, at: Utc::now() }).await?;
        c.add(a)?;
        refresh = token;
        Ok(c)
    })?;
    let profile = sessions::profile_of(&rows)?.ok_or_else(|| OAuthError::invalid_grant(BAD_CODE))?;
    let granted = Granted { client: client.id.clone(), scopes: g.scopes, nonce: g.nonce, auth_time: g.auth_time };
    let tokens = granted.client_claims();
    let org_ = org.as_deref();
    let answer =
        sessions::answer(st, &project, &uid, profile, &sid, org_, refresh, Include::Nothing, Some(&tokens)).await?;
    token_answer(st, client, &granted, answer).await
}

async fn record_reuse(st: &AppState, id: &str, session: &str, meta: &Metadata) -> Result<(), OAuthError> {
    crate::execute!(st, meta, {
        let mut a = st.db.load::<AuthorizationCode>(id).await?;
        a.exec(CodeCommand::RecordReuse { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(a)?;
        handoffs::revoke_for_reuse(st, &mut c, session, "oauth_code_reused").await?;
        Ok(c)
    })?;
    Ok(())
}

/// What a grant was given: the id token's inputs besides the session's answer.
struct Granted {
    client: String,
    scopes: Vec<String>,
    nonce: Option<String>,
    auth_time: DateTime<Utc>,
}

impl Granted {
    /// What the grant's access tokens name: the client and the scopes.
    fn client_claims(&self) -> crate::tokens::ClientClaims {
        crate::tokens::ClientClaims { client_id: self.client.clone(), scope: self.scopes.join(" ") }
    }
}

/// The grant a refresh token's family is, when it is `client`'s and not revoked.
async fn granted(st: &AppState, client: &str, family: &str) -> Result<Option<Granted>, OAuthError> {
    let row = sqlx::query(
        "SELECT scopes, auth_time FROM oauth_grants WHERE family_id = $1 AND client_id = $2 AND revoked_at IS NULL",
    )
    .bind(family)
    .bind(client)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let scopes: String = r.try_get(0)?;
    let auth_time: String = r.try_get(1)?;
    Ok(Some(Granted {
        client: client.to_string(),
        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
        nonce: None,
        auth_time: DateTime::parse_from_rfc3339(&auth_time)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|_| Utc::now()),
    }))
}

const BAD_REFRESH: &str = "the refresh token is unknown, expired, revoked or was issued to another client";

/// `grant_type=refresh_token`: the grant's rotation (`sessions::refresh`: reuse of a
/// spent token revokes the session), in its organization context, with a new id token.
pub async fn refresh(
    st: &AppState,
    client: &Client,
    p: &Params,
    rctx: &RequestContext,
) -> Result<TokenAnswer, OAuthError> {
    let token = p.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?;
    let family = sessions::family_in_token(token).ok_or_else(|| OAuthError::invalid_grant(BAD_REFRESH))?;
    let granted = granted(st, &client.id, family).await?.ok_or_else(|| OAuthError::invalid_grant(BAD_REFRESH))?;
    if let Some(asked) = p.get("scope") {
        if let Some(s) = asked.split(' ').find(|s| !s.is_empty() && !granted.scopes.iter().any(|g| g == s)) {
            return Err(OAuthError::invalid_scope(format!("the scope {s} was not granted")));
        }
    }
    let answer = match sessions::refresh(st, rctx, token, Include::Nothing, Some(&granted.client_claims())).await {
        Ok(a) => a,
        Err(e) if e.status.is_server_error() => return Err(e.into()),
        Err(e) => return Err(OAuthError::invalid_grant(format!("{BAD_REFRESH} ({})", e.code))),
    };
    token_answer(st, client, &granted, answer).await
}

/// The token endpoint's answer for a grant: the session's answer (its access token
/// names the client and scopes already) and a new id token.
async fn token_answer(
    st: &AppState,
    client: &Client,
    g: &Granted,
    a: SessionAnswer,
) -> Result<TokenAnswer, OAuthError> {
    let has = |s: &str| g.scopes.iter().any(|x| x == s);
    let org =
        a.active_organization.as_ref().map(|o| OrgClaim { id: &o.id, role: &o.role, permissions: &o.permissions });
    let mut claims = user_claims(st, &a.user.id, &g.scopes, org).await?;
    let now = Utc::now().timestamp();
    claims.insert("iss".into(), json!(st.keys.issuer));
    claims.insert("aud".into(), json!(g.client));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ID_TOKEN_TTL_SECONDS));
    claims.insert("auth_time".into(), json!(g.auth_time.timestamp()));
    claims.insert("sid".into(), json!(a.session_id));
    if let Some(n) = &g.nonce {
        claims.insert("nonce".into(), json!(n));
    }
    let id_token = st
        .keys
        .sign(&client.project_id, "JWT", &Value::Object(claims))
        .await
        .map_err(|e| OAuthError::from(ApiError { message: e.to_string(), ..ApiError::internal() }))?;
    Ok(TokenAnswer {
        access_token: a.access_token,
        token_type: "Bearer".into(),
        expires_in: a.expires_in,
        id_token,
        scope: g.scopes.join(" "),
        refresh_token: has("offline_access").then_some(a.refresh_token),
    })
}

/// The organization context's part of the claims.
struct OrgClaim<'a> {
    id: &'a str,
    role: &'a str,
    permissions: &'a [String],
}

/// The claims about the user both the id token and userinfo carry: `sub`; `email` and
/// `email_verified` with the `email` scope; `name`, `given_name`, `family_name` (when
/// known) with `profile`; and the organization context's `org_id`, `org_role`,
/// `permissions` whenever the context has one (the grant is bound to it).
async fn user_claims(
    st: &AppState,
    user: &str,
    scopes: &[String],
    org: Option<OrgClaim<'_>>,
) -> Result<Map<String, Value>, OAuthError> {
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let row = sqlx::query(
        "SELECT email, CASE WHEN email_verified THEN 1 ELSE 0 END, first_name, last_name FROM users WHERE id = $1",
    )
    .bind(user)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(|| OAuthError::invalid_grant("the user is gone"))?;
    let mut m = Map::new();
    m.insert("sub".into(), json!(user));
    if has("email") {
        m.insert("email".into(), json!(row.try_get::<String, _>(0)?));
        m.insert("email_verified".into(), json!(row.try_get::<i64, _>(1)? != 0));
    }
    if has("profile") {
        let (first, last): (Option<String>, Option<String>) = (row.try_get(2)?, row.try_get(3)?);
        let name = [first.as_deref(), last.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if !name.is_empty() {
            m.insert("name".into(), json!(name));
        }
        if let Some(f) = first {
            m.insert("given_name".into(), json!(f));
        }
        if let Some(l) = last {
            m.insert("family_name".into(), json!(l));
        }
    }
    if let Some(o) = org {
        m.insert("org_id".into(), json!(o.id));
        m.insert("org_role".into(), json!(o.role));
        m.insert("permissions".into(), json!(o.permissions));
    }
    Ok(m)
}

/// `/oauth2/userinfo`: the claims of the access token's user and organization context,
/// as its scopes allow (a first-party token, without scopes, gets every claim).
pub async fn userinfo(st: &AppState, token: Option<&str>) -> Result<Value, OAuthError> {
    let invalid = || OAuthError::invalid_token("the access token is missing, expired or revoked");
    let user = UserToken::from_token(token.ok_or_else(invalid)?, st).await.map_err(|_| invalid())?;
    // The membership as it is now, not as the token was issued.
    let role = match &user.claims.act_org {
        Some(o) => Some(sessions::active_role(st, user.user_id(), o).await?.ok_or_else(invalid)?),
        None => None,
    };
    let permissions = user.claims.permissions.clone().unwrap_or_default();
    let org = match (&user.claims.act_org, &role) {
        (Some(id), Some(role)) => Some(OrgClaim { id, role, permissions: &permissions }),
        _ => None,
    };
    let scopes: Vec<String> = match &user.claims.scope {
        Some(s) => s.split(' ').map(str::to_string).collect(),
        None => vec!["email".into(), "profile".into()],
    };
    Ok(Value::Object(user_claims(st, user.user_id(), &scopes, org).await?))
}

/// `/oauth2/revoke` (RFC 7009): a refresh token of the client's grant ends the grant
/// (`oauth.grant_revoked`; its live refresh tokens are deleted in the same commit).
/// Anything else (an access token, which expires within minutes, an unknown token,
/// another client's) is answered the same, with nothing done.
pub async fn revoke(st: &AppState, client: &Client, token: &str, rctx: &RequestContext) -> Result<(), OAuthError> {
    let Some(family) = sessions::family_in_token(token) else { return Ok(()) };
    let row = sqlx::query(
        "SELECT g.code_id, g.user_id FROM oauth_grants g JOIN refresh_tokens t ON t.family_id = g.family_id \
         WHERE g.family_id = $1 AND g.client_id = $2 AND g.revoked_at IS NULL AND t.token_hash = $3",
    )
    .bind(family)
    .bind(&client.id)
    .bind(hash_secret(token))
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(r) = row else { return Ok(()) };
    let (code_id, user): (String, String) = (r.try_get(0)?, r.try_get(1)?);
    let meta = rctx.metadata(&Actor::User(user));
    crate::execute!(st, &meta, {
        let mut a = st.db.load::<AuthorizationCode>(&code_id).await?;
        a.exec(CodeCommand::Revoke { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(a)?;
        let retire = "DELETE FROM refresh_tokens WHERE family_id = $1 AND state = 'live'";
        c.side_write(retire, vec![SqlArg::Text(family.into())]);
        Ok(c)
    })?;
    Ok(())
}

/// `/oauth2/introspect` (RFC 7662) for a confidential client: an access token or a
/// refresh token the provider issued to this very client, good now (session active,
/// context open, membership active; a refresh token live); anything else, another
/// client's and first-party tokens included, is `{"active": false}`, so a client cannot
/// scan for others' tokens.
pub async fn introspect(st: &AppState, client: &Client, token: &str) -> Result<Value, OAuthError> {
    let inactive = json!({"active": false});
    if let Some(family) = sessions::family_in_token(token) {
        let row = sqlx::query(
            "SELECT g.user_id, g.session_id, g.organization_id, g.scopes, t.expires_at FROM oauth_grants g \
             JOIN refresh_tokens t ON t.family_id = g.family_id \
             WHERE g.family_id = $1 AND g.client_id = $2 AND g.revoked_at IS NULL AND t.token_hash = $3 \
             AND t.state = 'live' AND t.expires_at > $4",
        )
        .bind(family)
        .bind(&client.id)
        .bind(hash_secret(token))
        .bind(time_text(Utc::now()))
        .fetch_optional(&st.db.pool)
        .await?;
        let Some(r) = row else { return Ok(inactive) };
        let scopes: Vec<String> = serde_json::from_str(&r.try_get::<String, _>(3)?).unwrap_or_default();
        let exp = DateTime::parse_from_rfc3339(&r.try_get::<String, _>(4)?).map(|t| t.timestamp()).unwrap_or(0);
        return Ok(json!({
            "active": true, "token_type": "refresh_token", "client_id": client.id, "iss": st.keys.issuer,
            "sub": r.try_get::<String, _>(0)?, "sid": r.try_get::<String, _>(1)?,
            "org_id": r.try_get::<Option<String>, _>(2)?, "scope": scopes.join(" "), "exp": exp,
        }));
    }
    let Ok(user) = UserToken::from_token(token, st).await else { return Ok(inactive) };
    if user.project_id() != client.project_id || user.claims.client_id.as_deref() != Some(client.id.as_str()) {
        return Ok(inactive);
    }
    if let Some(org) = &user.claims.act_org {
        if sessions::active_role(st, user.user_id(), org).await?.is_none() {
            return Ok(inactive);
        }
    }
    let c = user.claims;
    Ok(json!({
        "active": true, "token_type": "Bearer", "client_id": c.client_id, "scope": c.scope, "iss": c.iss,
        "aud": c.aud, "sub": c.sub, "sid": c.sid, "org_id": c.act_org, "org_role": c.org_role,
        "permissions": c.permissions, "iat": c.iat, "exp": c.exp,
    }))
}

/// `/oauth2/logout` (RP-initiated logout): the session an id token of ours names ends
/// (its signature is checked, not its age), and the user goes back to
/// `post_logout_redirect_uri` when it is one of the token's client's redirect URIs.
pub async fn logout(st: &AppState, p: Params, rctx: &RequestContext) -> ApiResult<Authorize> {
    let Some(hint) = p.get("id_token_hint") else {
        return Ok(Authorize::Page("id_token_hint is required: the application must say which sign-in ends.".into()));
    };
    let claims = st.keys.verify_signed(hint, "JWT", p.get("client_id").unwrap_or_default(), false).await;
    let claims = match (claims, p.get("client_id")) {
        (Some(c), Some(_)) => Some(c),
        (None, Some(_)) => None,
        // Without client_id the token names its own audience: read it, then check it.
        (_, None) => match hint_audience(hint) {
            Some(aud) => st.keys.verify_signed(hint, "JWT", &aud, false).await,
            None => None,
        },
    };
    let Some(claims) = claims else {
        return Ok(Authorize::Page("id_token_hint is not an id token of this server for this application.".into()));
    };
    let (Some(aud), Some(sid), Some(sub)) = (claims["aud"].as_str(), claims["sid"].as_str(), claims["sub"].as_str())
    else {
        return Ok(Authorize::Page("id_token_hint is not an id token of this server.".into()));
    };
    let Some(client) = client(st, aud).await? else {
        return Ok(Authorize::Page("The application is not registered.".into()));
    };
    let target = match p.get("post_logout_redirect_uri") {
        Some(u) if client.redirect_uris.iter().any(|r| r == u) => Some(u),
        Some(_) => {
            return Ok(Authorize::Page(
                "post_logout_redirect_uri is not one of the application's registered redirect URIs.".into(),
            ))
        }
        None => None,
    };
    let live: Option<String> = sqlx::query_scalar("SELECT status FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(sid)
        .bind(sub)
        .fetch_optional(&st.db.pool)
        .await?;
    if live.as_deref() == Some("active") {
        let meta = rctx.metadata(&Actor::User(sub.to_string()));
        sessions::revoke_session(st, sid, "rp_logout", &meta).await?;
    }
    Ok(match target {
        Some(u) => Authorize::Redirect(with_query(u, &[("state", p.get("state"))])),
        None => Authorize::Page(SIGNED_OUT.into()),
    })
}

/// The page a logout without a way back shows.
pub const SIGNED_OUT: &str = "You are signed out.";

/// The `aud` an unverified JWT claims (only to choose what to verify it against).
fn hint_audience(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("aud").and_then(Value::as_str).map(str::to_string)
}

/// The discovery document (OpenID Connect Discovery 1.0, RFC 8414).
pub fn discovery(st: &AppState) -> Value {
    let issuer = &st.keys.issuer;
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth2/authorize"),
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "userinfo_endpoint": format!("{issuer}/oauth2/userinfo"),
        "revocation_endpoint": format!("{issuer}/oauth2/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth2/introspect"),
        "end_session_endpoint": format!("{issuer}/oauth2/logout"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["EdDSA", "ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": authio_domain::oauth_client::SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "email", "email_verified", "name",
            "given_name", "family_name", "org_id", "org_role", "permissions"
        ],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "authorization_response_iss_parameter_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "claims_parameter_supported": false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_stream() {
        let code = new_secret("oac_01abc.");
        assert_eq!(code_id_of(&code), Some("oac_01abc"));
        assert_eq!(code_id_of("oac_01abc.xyz"), None);
        assert_eq!(code_id_of("hc_hoff_1.00"), None);
        assert_eq!(code_id_of(""), None);
    }

    #[test]
    fn redirects_keep_the_registered_query() {
        let u = with_query("https://app.example/cb?tenant=a", &[("code", Some("c 1")), ("state", None)]);
        assert_eq!(u, "https://app.example/cb?tenant=a&code=c+1");
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let p = Params::parse(vec![("a".into(), "1".into()), ("a".into(), "2".into())]);
        assert!(p.is_err());
    }
}
