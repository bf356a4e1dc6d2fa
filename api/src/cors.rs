//! Browsers on the end-user routes (`/v1/auth/*`, `/v1/sessions/*`, `/v1/me`, and the
//! OpenID Connect provider's `/oauth2/token`, `/oauth2/userinfo`, `/oauth2/revoke` for
//! browser-only clients): CORS with each project's allowed origins (and, on the OAuth
//! routes, the origins of an OAuth client's redirect URIs).
//!
//! A preflight carries no credential, so it cannot name its project: it is answered for
//! an origin that some project allows (or a loopback origin, which `test` keys allow).
//! The request itself then carries its publishable key or access token, and is refused
//! with `403 origin_not_allowed` unless *its* project allows the origin. Secret-key
//! routes are never allowed an origin (the one layer checks the path), so a browser
//! never reads their answers.
use crate::error::{ApiError, ApiResult};
use crate::redirects::{is_loopback_origin, normalize_origin};
use crate::AppState;
use authio_eventstore::Db;
use axum::http::request::Parts as RequestParts;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Whether `path` is an end-user route (the only ones a browser may call).
fn end_user(path: &str) -> bool {
    path.starts_with("/v1/auth/") || path.starts_with("/v1/sessions/") || path == "/v1/me" || oauth(path)
}

/// The OAuth endpoints a browser-only client calls itself.
fn oauth(path: &str) -> bool {
    matches!(path, "/oauth2/token" | "/oauth2/userinfo" | "/oauth2/revoke")
}

/// The CORS layer of the whole router: it allows an origin on the end-user routes only,
/// so every other route answers browsers without `Access-Control-Allow-Origin`.
pub fn layer(db: Db) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin: HeaderValue, parts: &RequestParts| {
            let db = db.clone();
            let end_user = end_user(parts.uri.path());
            let oauth = oauth(parts.uri.path());
            async move {
                if !end_user {
                    return false;
                }
                let Some(origin) = origin.to_str().ok().filter(|o| o.len() <= 256).map(str::to_string) else {
                    return false;
                };
                if normalize_origin(&origin).as_deref() != Some(origin.as_str()) {
                    return false;
                }
                is_loopback_origin(&origin)
                    || any_project_allows(&db, &origin).await
                    || (oauth && any_client_redirects_from(&db, &origin).await)
            }
        }))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("authio-publishable-key"),
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static("x-request-id"),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Whether any project lists `origin` (a normalized origin) among its allowed origins.
async fn any_project_allows(db: &Db, origin: &str) -> bool {
    any_like(db, "SELECT 1 FROM tenants WHERE allowed_origins LIKE $1 ESCAPE '\\' LIMIT 1", origin, "\"").await
}

/// Whether some OAuth client has a redirect URI on `origin` (a normalized origin).
async fn any_client_redirects_from(db: &Db, origin: &str) -> bool {
    any_like(db, "SELECT 1 FROM oauth_clients WHERE redirect_uris LIKE $1 ESCAPE '\\' LIMIT 1", origin, "/").await
}

/// Whether `sql` finds a row for a JSON array holding a string that starts with `origin`
/// followed by `after` (the pattern `%"<origin><after>%`, `origin` escaped for LIKE).
async fn any_like(db: &Db, sql: &str, origin: &str, after: &str) -> bool {
    let escaped = origin.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    let pattern = format!("%\"{escaped}{after}%");
    sqlx::query_scalar::<_, i64>(sql).bind(pattern).fetch_optional(&db.pool).await.ok().flatten().is_some()
}

/// Whether a browser at `origin` may call the OAuth endpoints as `client`: Authio's own
/// origin, a loopback one, one of the project's allowed origins, or the origin of one of
/// the client's redirect URIs.
pub async fn oauth_origin_allowed(
    st: &AppState,
    origin: &str,
    project: &str,
    redirect_uris: &[String],
) -> ApiResult<bool> {
    let origin_of = |u: &str| url::Url::parse(u).ok().map(|x| x.origin().ascii_serialization());
    if exempt(st, origin, None) || redirect_uris.iter().any(|u| origin_of(u).as_deref() == Some(origin)) {
        return Ok(true);
    }
    let listed = crate::redirects::list(st, project, crate::redirects::List::AllowedOrigins).await?;
    Ok(listed.iter().any(|o| o == origin))
}

/// The request's `Origin`, if a browser sent one.
pub fn origin_of(parts: &axum::http::request::Parts) -> Option<String> {
    parts.headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// `403 origin_not_allowed` unless `origin` may call the end-user routes of `project`
/// (its allowed origins read from the read model when needed): see `check_listed`.
pub async fn check(st: &AppState, origin: &str, project: &str, environment: Option<&str>) -> ApiResult<()> {
    if exempt(st, origin, environment) {
        return Ok(());
    }
    let listed = crate::redirects::list(st, project, crate::redirects::List::AllowedOrigins).await?;
    check_listed(st, origin, environment, &listed)
}

/// `403 origin_not_allowed` unless `origin` is among the project's allowed origins
/// (`listed`), Authio's own origin (the issuer's), or a loopback origin — for a
/// publishable key only of a `test` environment (`environment` is `None` for an access
/// token, which names no environment).
pub fn check_listed(st: &AppState, origin: &str, environment: Option<&str>, listed: &[String]) -> ApiResult<()> {
    if exempt(st, origin, environment) || listed.iter().any(|o| o == origin) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
        "this browser origin is not among the project's allowed origins",
    ))
}

/// Authio's own origin, or loopback unless the key is a `live` one.
fn exempt(st: &AppState, origin: &str, environment: Option<&str>) -> bool {
    let own = normalize_origin(&st.keys.issuer).is_some_and(|o| o == origin);
    own || (is_loopback_origin(origin) && environment != Some("live"))
}
