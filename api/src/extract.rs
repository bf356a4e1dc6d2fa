//! Request extractors: JSON bodies with our error shape, request context for event
//! metadata, and the callers (console session, secret key).
use crate::crypto::hash_secret;
use crate::error::ApiError;
use crate::AppState;
use authio_domain::Actor;
use authio_eventstore::Metadata;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use sqlx::Row;
use std::net::SocketAddr;

/// The largest JSON body accepted.
pub const MAX_JSON_BODY: usize = 1 << 20;

/// `Json` whose rejections use the API error shape.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, MAX_JSON_BODY).await.map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        })?;
        // Text never holds NUL: PostgreSQL cannot store it and no identity field needs it.
        if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
            return Err(ApiError::invalid("strings must not contain NUL characters"));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected Content-Type: application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                Err(match field_at_fault(&text) {
                    Some(field) => ApiError::invalid_field(&field, text),
                    None => ApiError::invalid(text),
                })
            }
            Err(JsonRejection::BytesRejection(_)) => {
                Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large"))
            }
            Err(e) => Err(ApiError::invalid(e.body_text())),
        }
    }
}

/// The field a JSON data error is about: an unknown one, a missing one, or the path
/// before the message (`email: invalid type: …`).
fn field_at_fault(text: &str) -> Option<String> {
    let quoted = |marker: &str| {
        let start = text.find(marker)? + marker.len();
        let end = text[start..].find('`')?;
        Some(text[start..start + end].to_string())
    };
    if let Some(f) = quoted("unknown field `").or_else(|| quoted("missing field `")) {
        return Some(f);
    }
    let rest = text.strip_prefix("Failed to deserialize the JSON body into the target type: ")?;
    let (path, _) = rest.split_once(": ")?;
    let ok =
        !path.is_empty() && path.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']'));
    ok.then(|| path.to_string())
}

/// `Query` whose rejections use the API error shape.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid(e.body_text()))
    }
}

/// Request facts that travel into event metadata.
#[derive(Clone, Debug)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestContext {
    pub fn metadata(&self, actor: &Actor) -> Metadata {
        let mut m = Metadata::new();
        m.insert("actor_type".into(), actor.kind().into());
        if let Some(id) = actor.id() {
            m.insert("actor_id".into(), id.into());
        }
        m.insert("request_id".into(), self.request_id.clone());
        if let Some(ip) = &self.client_ip {
            m.insert("client_ip".into(), ip.clone());
        }
        if let Some(ua) = &self.user_agent {
            m.insert("user_agent".into(), ua.chars().take(256).collect());
        }
        m
    }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request_id = parts
            .extensions
            .get::<crate::RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_else(|| crate::crypto::new_id("req_"));
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let client_ip = crate::ratelimit::client_ip(peer, forwarded, &state.trusted_proxies).map(|ip| ip.to_string());
        let user_agent =
            parts.headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(RequestContext { request_id, client_ip, user_agent })
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        Some(token.trim())
    } else {
        None
    }
}

/// A tenant owner's console session (`Authorization: Bearer cs_…`).
#[derive(Clone, Debug)]
pub struct Console {
    pub operator_id: String,
    pub session_id: String,
    pub token_hash: String,
    pub active_tenant_id: Option<String>,
}

impl Console {
    pub fn actor(&self) -> Actor {
        Actor::Operator(self.operator_id.clone())
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).filter(|t| t.starts_with("cs_")).ok_or_else(ApiError::unauthenticated)?;
        let hash = hash_secret(token);
        let row = sqlx::query(
            "SELECT session_id, operator_id, active_tenant_id FROM console_sessions \
             WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(&hash)
        .bind(authio_eventstore::time_text(chrono::Utc::now()))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
        Ok(Console {
            session_id: row.try_get(0)?,
            operator_id: row.try_get(1)?,
            active_tenant_id: row.try_get(2)?,
            token_hash: hash,
        })
    }
}

/// A project's backend (`Authorization: Bearer sk_test_…` / `sk_live_…`).
#[derive(Clone, Debug)]
pub struct SecretKey {
    pub key_id: String,
    pub project_id: String,
    pub environment: String,
}

impl SecretKey {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey(self.key_id.clone())
    }
}

fn looks_like_jwt(t: &str) -> bool {
    t.split('.').count() == 3
}

impl FromRequestParts<AppState> for SecretKey {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // OAuth-style client authentication (RFC 7662 introspection clients send it):
        // HTTP Basic with the key's id as user name and the secret key as password.
        if let Some((client_id, secret)) = basic(parts) {
            let key = SecretKey::of_secret(&secret, state).await?;
            if key.key_id != client_id {
                return Err(ApiError::unauthenticated());
            }
            crate::observe::note_project(parts, &key.project_id);
            return Ok(key);
        }
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        if looks_like_jwt(token) {
            // A signed-in user on a backend route: say so, once the token is genuine.
            return match UserToken::from_token(token, state).await {
                Ok(_) => Err(secret_key_required()),
                Err(e) => Err(e),
            };
        }
        let key = SecretKey::of_secret(token, state).await?;
        crate::observe::note_project(parts, &key.project_id);
        Ok(key)
    }
}

impl SecretKey {
    /// The live key whose secret is `token`, else `401`.
    async fn of_secret(token: &str, state: &AppState) -> Result<SecretKey, ApiError> {
        if !(token.starts_with("sk_test_") || token.starts_with("sk_live_")) {
            return Err(ApiError::unauthenticated());
        }
        let row = sqlx::query("SELECT key_id, tenant_id, environment FROM api_key_secrets WHERE secret_hash = $1")
            .bind(hash_secret(token))
            .fetch_optional(&state.db.pool)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(SecretKey { key_id: row.try_get(0)?, project_id: row.try_get(1)?, environment: row.try_get(2)? })
    }
}

/// `Authorization: Basic` user name and password (RFC 7617), if that is the scheme.
fn basic(parts: &Parts) -> Option<(String, String)> {
    basic_header(&parts.headers)
}

/// HTTP Basic credentials (user name, password), each form-decoded.
pub(crate) fn basic_header(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let v = headers.get(axum::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, creds) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(creds.trim()).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    // RFC 6749 2.3.1: client credentials are form-encoded (`+` a space) before Basic
    // encoding.
    let unescape =
        |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|t| t.into_owned());
    Some((unescape(user)?, unescape(password)?))
}

/// A project's frontend (`Authio-Publishable-Key: pk_test_…` / `pk_live_…`).
#[derive(Clone, Debug)]
pub struct PublishableKey {
    pub project_id: String,
    /// `test` or `live`.
    pub environment: String,
}

impl FromRequestParts<AppState> for PublishableKey {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = parts
            .headers
            .get("authio-publishable-key")
            .and_then(|v| v.to_str().ok())
            .filter(|k| k.starts_with("pk_test_") || k.starts_with("pk_live_"))
            .ok_or_else(ApiError::unauthenticated)?;
        // The project's allowed origins come with the key (one query), for a browser's
        // request.
        let row = sqlx::query(
            "SELECT k.tenant_id, k.environment, t.allowed_origins FROM api_keys k \
             LEFT JOIN tenants t ON t.id = k.tenant_id WHERE k.publishable_key = $1 AND k.revoked_at IS NULL",
        )
        .bind(key)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
        let key = PublishableKey { project_id: row.try_get(0)?, environment: row.try_get(1)? };
        crate::observe::note_project(parts, &key.project_id);
        if let Some(origin) = crate::cors::origin_of(parts) {
            let listed = crate::redirects::parse_list(row.try_get::<Option<String>, _>(2)?.as_deref());
            crate::cors::check_listed(state, &origin, Some(&key.environment), &listed)?;
        }
        Ok(key)
    }
}

/// A signed-in end user (`Authorization: Bearer <access JWT>`): a genuine, unexpired
/// token whose session is still active, and whose organization context (`act_org`, or
/// the "no organization" one) is still open in it.
#[derive(Clone, Debug)]
pub struct UserToken {
    pub claims: crate::tokens::Claims,
}

impl UserToken {
    pub fn project_id(&self) -> &str {
        &self.claims.aud
    }
    pub fn user_id(&self) -> &str {
        &self.claims.sub
    }
    pub fn session_id(&self) -> &str {
        &self.claims.sid
    }
    pub fn actor(&self) -> Actor {
        Actor::User(self.claims.sub.clone())
    }

    pub async fn from_token(token: &str, state: &AppState) -> Result<UserToken, ApiError> {
        let claims = state.keys.verify(token).await.ok_or_else(ApiError::unauthenticated)?;
        UserToken::checked(claims, state).await
    }

    /// Verified claims whose session is still active and belongs to them, with their
    /// context open, and open since before the token was issued: a token of a context
    /// that was closed or cut stays dead when the context is opened again.
    async fn checked(claims: crate::tokens::Claims, state: &AppState) -> Result<UserToken, ApiError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.project_id, c.opened_at FROM sessions s \
             JOIN session_contexts c ON c.session_id = s.id \
             WHERE s.id = $1 AND s.status = 'active' AND c.context = $2 AND c.status = 'open'",
        )
        .bind(&claims.sid)
        .bind(authio_domain::context::context_key(claims.act_org.as_deref()))
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
        let (user, project, opened): (String, String, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if user != claims.sub || project != claims.aud {
            return Err(ApiError::unauthenticated());
        }
        // `iat` is in whole seconds, and the opening's own token is issued after it.
        let opened = chrono::DateTime::parse_from_rfc3339(&opened).map(|t| t.timestamp()).unwrap_or(i64::MAX);
        if (claims.iat as i64) < opened {
            return Err(ApiError::unauthenticated());
        }
        Ok(UserToken { claims })
    }
}

impl FromRequestParts<AppState> for UserToken {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let UserClaims(unchecked) = UserClaims::from_request_parts(parts, state).await?;
        crate::observe::note_project(parts, &unchecked.claims.aud);
        UserToken::checked(unchecked.claims, state).await
    }
}

/// A genuine, unexpired access token whose session is *not* looked up here: for routes
/// that load the session aggregate themselves and refuse a revoked one (switch-org),
/// saving a query.
#[derive(Clone, Debug)]
pub struct UserClaims(pub UserToken);

impl FromRequestParts<AppState> for UserClaims {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).filter(|t| looks_like_jwt(t)).ok_or_else(ApiError::unauthenticated)?;
        let claims = state.keys.verify(token).await.ok_or_else(ApiError::unauthenticated)?;
        if let Some(origin) = crate::cors::origin_of(parts) {
            crate::cors::check(state, &origin, &claims.aud, None).await?;
        }
        Ok(UserClaims(UserToken { claims }))
    }
}

/// For `#[serde(deserialize_with)]`: distinguishes an absent field (`None`, with
/// `#[serde(default)]`) from an explicit `null` (`Some(None)`).
pub fn nullable<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

/// A signed-in user asked for what only the project's backend may do.
pub fn secret_key_required() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "secret_key_required", "this needs the project's secret key")
}

/// Routes open to the project's backend and to org admins acting in their active
/// organization. (An extractor lives for one request on its handler's stack: the size
/// difference of the variants costs nothing worth a box.)
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Manager {
    Project(SecretKey),
    OrgAdmin(UserToken),
}

impl Manager {
    pub fn project_id(&self) -> &str {
        match self {
            Manager::Project(k) => &k.project_id,
            Manager::OrgAdmin(u) => u.project_id(),
        }
    }
    pub fn actor(&self) -> Actor {
        match self {
            Manager::Project(k) => k.actor(),
            Manager::OrgAdmin(u) => u.actor(),
        }
    }
}

impl FromRequestParts<AppState> for Manager {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        if looks_like_jwt(token) {
            Ok(Manager::OrgAdmin(UserToken::from_token(token, state).await?))
        } else {
            Ok(Manager::Project(SecretKey::from_request_parts(parts, state).await?))
        }
    }
}

/// Whether the request's body is declared `application/x-www-form-urlencoded` (the
/// protocol endpoints: OAuth's token, revocation and introspection, SAML's ACS).
pub fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    })
}
