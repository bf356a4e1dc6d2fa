//! The OpenID Connect provider's doors (`crate::oidc` holds the rules): the protocol
//! endpoints under `/oauth2/` (RFC 6749 errors), and the two routes the hosted pages
//! call under `/v1/oauth2/` (Authio's errors).
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, RequestContext, UserToken};
use crate::oidc::error::{OAuthError, OAuthErrorBody};
use crate::oidc::{self, Authorize, Credentials, Params, RequestView, TokenAnswer};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The token endpoint's form, for the OpenAPI document (the handler reads the form as
/// RFC 6749 has it: each parameter once).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    /// `authorization_code` or `refresh_token`.
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    scope: Option<String>,
    /// `client_secret_post`, or a public client's id (otherwise HTTP Basic).
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The revocation and introspection endpoints' form, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenParamForm {
    token: String,
    token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// The most a protocol request's parameters may weigh.
const MAX_FORM: usize = 16 * 1024;

/// The parameters of a GET's query or a POST's form body.
fn params_of(method: &Method, query: Option<String>, headers: &HeaderMap, body: &Bytes) -> Result<Params, String> {
    let text = if *method == Method::POST {
        if !crate::extract::is_form(headers) {
            return Err("the body must be application/x-www-form-urlencoded".into());
        }
        if body.len() > MAX_FORM {
            return Err("the body is too large".into());
        }
        std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_string())?.to_string()
    } else {
        query.unwrap_or_default()
    };
    if text.len() > MAX_FORM {
        return Err("the request is too large".into());
    }
    Params::parse(url::form_urlencoded::parse(text.as_bytes()).into_owned().collect())
}

/// A small page for the user (a request that cannot go back to the application).
fn page(status: StatusCode, message: &str) -> Response {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in</title></head>\
         <body><main><h1>{}</h1><p>{escaped}</p></main></body></html>",
        if status.is_success() { "Done" } else { "This sign-in link cannot be used" }
    );
    let mut r = (status, axum::response::Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    r
}

fn answer(a: Authorize, error_status: StatusCode) -> Response {
    match a {
        Authorize::Page(m) => page(error_status, &m),
        Authorize::Redirect(to) => Redirect::to(&to).into_response(),
    }
}

/// The authorization endpoint (code flow; GET or form POST). A valid request goes to
/// the hosted sign-in pages; a wrong client or redirect URI is an error page; anything
/// else wrong goes back to the redirect URI with `error`, `error_description`, `state`
/// and `iss`.
#[utoipa::path(get, path = "/oauth2/authorize", tag = "oidc",
    params(
        ("response_type" = String, Query, description = "`code`"),
        ("client_id" = String, Query),
        ("redirect_uri" = String, Query, description = "One of the client's, exactly"),
        ("scope" = String, Query, description = "Space-separated; must include `openid`"),
        ("state" = Option<String>, Query),
        ("nonce" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query, description = "Required for public clients"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`"),
        ("prompt" = Option<String>, Query, description = "`none` (always `login_required`), `login`, `consent`, `select_account`"),
        ("login_hint" = Option<String>, Query),
        ("organization" = Option<String>, Query, description = "An organization id: the context to sign in to"),
    ),
    responses((status = 303, description = "To the hosted sign-in pages, or back with an error"),
        (status = 400, description = "Unknown client or redirect URI (a page); a malformed URL (JSON)",
            content((String = "text/html"), (crate::error::ErrorBody = "application/json")))))]
pub async fn authorize(
    State(st): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let params = params_of(&method, query, &headers, &body);
    Ok(answer(oidc::authorize(&st, params).await?, StatusCode::BAD_REQUEST))
}

/// An authorization request as the hosted pages show it.
#[utoipa::path(get, path = "/v1/oauth2/requests/{request}", tag = "oidc",
    params(("request" = String, Path, description = "The `authorization` parameter the hosted page was given")),
    responses((status = 200, body = RequestView), Errors))]
pub async fn describe(State(st): State<AppState>, Path(request): Path<String>) -> ApiResult<axum::Json<RequestView>> {
    Ok(axum::Json(oidc::describe(&st, &request).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorizationBody {
    /// The `authorization` parameter the hosted page was given.
    pub request: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorizationRedirect {
    /// Where the browser goes next: the client's redirect URI with `code`, `state` and
    /// `iss` (or `error`).
    pub redirect_to: String,
}

/// Grant an authorization request in the caller's current session context: an
/// authorization code for the client, single use, 60 seconds. `400
/// organization_mismatch` when the request named another organization.
#[utoipa::path(post, path = "/v1/oauth2/authorizations", tag = "oidc", request_body = AuthorizationBody,
    security(("access_token" = [])), responses((status = 200, body = AuthorizationRedirect), Errors))]
pub async fn grant(
    State(st): State<AppState>,
    user: UserToken,
    ctx: RequestContext,
    Json(body): Json<AuthorizationBody>,
) -> ApiResult<axum::Json<AuthorizationRedirect>> {
    let meta = ctx.metadata(&user.actor());
    let redirect_to = oidc::grant(&st, &user, &body.request, &meta).await?;
    Ok(axum::Json(AuthorizationRedirect { redirect_to }))
}

/// The user declines: the client's redirect URI with `error=access_denied`.
#[utoipa::path(post, path = "/v1/oauth2/authorizations/deny", tag = "oidc", request_body = AuthorizationBody,
    responses((status = 200, body = AuthorizationRedirect), Errors))]
pub async fn deny(
    State(st): State<AppState>,
    Json(body): Json<AuthorizationBody>,
) -> ApiResult<axum::Json<AuthorizationRedirect>> {
    Ok(axum::Json(AuthorizationRedirect { redirect_to: oidc::deny(&st, &body.request).await? }))
}

fn credentials(headers: &HeaderMap, p: &Params) -> Credentials {
    Credentials {
        origin: headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string),
        basic: crate::extract::basic_header(headers),
        client_id: p.get("client_id").map(str::to_string),
        client_secret: p.get("client_secret").map(str::to_string),
    }
}

/// Form parameters of a protocol POST, or the OAuth error for a malformed body.
fn form(headers: &HeaderMap, body: &Bytes) -> Result<Params, OAuthError> {
    params_of(&Method::POST, None, headers, body).map_err(OAuthError::invalid_request)
}

/// A protocol POST's form and the client its credentials prove.
async fn authenticated(st: &AppState, headers: &HeaderMap, body: &Bytes) -> Result<(Params, oidc::Client), OAuthError> {
    let p = form(headers, body)?;
    let client = oidc::authenticate(st, &credentials(headers, &p)).await?;
    Ok((p, client))
}

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// The token endpoint: `authorization_code` (with `code_verifier` when the request had a
/// challenge) and `refresh_token`. Clients authenticate with `client_secret_basic`,
/// `client_secret_post`, or (public clients) `client_id` alone.
#[utoipa::path(post, path = "/oauth2/token", tag = "oidc",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenAnswer),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
pub async fn token(
    State(st): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (p, client) = authenticated(&st, &headers, &body).await?;
    let answer = match p.get("grant_type") {
        Some("authorization_code") => oidc::redeem(&st, &client, &p, &ctx).await?,
        Some("refresh_token") => oidc::refresh(&st, &client, &p, &ctx).await?,
        Some(_) => {
            return Err(OAuthError::unsupported_grant_type("grant_type must be authorization_code or refresh_token"))
        }
        None => return Err(OAuthError::invalid_request("grant_type is missing")),
    };
    Ok(no_store(axum::Json(answer).into_response()))
}

/// The claims of the access token's user and organization context (`Authorization:
/// Bearer`, or `access_token` in a form POST).
#[utoipa::path(get, path = "/oauth2/userinfo", tag = "oidc", security(("access_token" = [])),
    responses((status = 200, description = "Claims", content_type = "application/json", body = Object),
        (status = 401, body = OAuthErrorBody)))]
pub async fn userinfo(
    State(st): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let token = match (bearer, method) {
        (Some(t), _) => Some(t),
        (None, Method::POST) => form(&headers, &body)?.get("access_token").map(str::to_string),
        (None, _) => None,
    };
    let claims = oidc::userinfo(&st, token.as_deref()).await?;
    Ok(no_store(axum::Json(claims).into_response()))
}

/// Token revocation (RFC 7009): a refresh token of the client's grant ends the grant.
/// Always `200` for a token the client may not or need not revoke.
#[utoipa::path(post, path = "/oauth2/revoke", tag = "oidc",
    request_body(content = TokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
pub async fn revoke(
    State(st): State<AppState>,
    ctx: RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (p, client) = authenticated(&st, &headers, &body).await?;
    let token = p.get("token").ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    oidc::revoke(&st, &client, token, &ctx).await?;
    Ok(no_store(StatusCode::OK.into_response()))
}

/// Token introspection (RFC 7662) for a confidential client: its own tokens only.
#[utoipa::path(post, path = "/oauth2/introspect", tag = "oidc",
    request_body(content = TokenParamForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "`active` and the token's claims", content_type = "application/json", body = Object),
        (status = 400, body = OAuthErrorBody), (status = 401, body = OAuthErrorBody)))]
pub async fn introspect(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    let (p, client) = authenticated(&st, &headers, &body).await?;
    if client.client_type != authio_domain::oauth_client::ClientType::Confidential {
        return Err(OAuthError::invalid_client("introspection is for confidential clients (RFC 7662 §2.1)"));
    }
    let token = p.get("token").ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let v: Value = oidc::introspect(&st, &client, token).await?;
    Ok(no_store(axum::Json(v).into_response()))
}

/// RP-initiated logout: ends the session the `id_token_hint` names and goes back to
/// `post_logout_redirect_uri` (one of the client's redirect URIs) with `state`.
#[utoipa::path(get, path = "/oauth2/logout", tag = "oidc",
    params(("id_token_hint" = String, Query), ("post_logout_redirect_uri" = Option<String>, Query),
        ("state" = Option<String>, Query), ("client_id" = Option<String>, Query)),
    responses((status = 303, description = "Back to the application"),
        (status = 200, description = "Signed out", content_type = "text/html", body = String),
        (status = 400, description = "A hint or URI that cannot be used (a page); a malformed URL (JSON)",
            content((String = "text/html"), (crate::error::ErrorBody = "application/json")))))]
pub async fn logout(
    State(st): State<AppState>,
    ctx: RequestContext,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let p = match params_of(&method, query, &headers, &body) {
        Ok(p) => p,
        Err(why) => return Ok(page(StatusCode::BAD_REQUEST, &why)),
    };
    Ok(match oidc::logout(&st, p, &ctx).await? {
        Authorize::Page(m) if m == oidc::SIGNED_OUT => page(StatusCode::OK, &m),
        other => answer(other, StatusCode::BAD_REQUEST),
    })
}
