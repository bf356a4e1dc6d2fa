//! SSO connections of an organization (`crate::connections`) and the sign-in through
//! them (`crate::sso`): parse, call, answer. Managed by the backend for any
//! organization of the project, or by an org admin for their own.
use crate::connections::{self, ConnectionView, NewConnection};
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, Manager, Query, RequestContext, SecretKey};
use crate::sso;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// e.g. `Acme Okta`.
    pub name: String,
    /// The identity provider's issuer: its discovery document
    /// (`<issuer>/.well-known/openid-configuration`) is read at creation.
    pub issuer: String,
    /// The client Authio is registered as at the provider (redirect URI
    /// `<AUTHIO_ISSUER>/v1/auth/sso/callback`, `client_secret_basic`).
    pub client_id: String,
    /// Sealed with `AUTHIO_SECRET_KEY`; never shown again.
    pub client_secret: String,
    /// The role a user who signs in through the connection and is not a member gets;
    /// absent: such a user is refused.
    pub jit_role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    pub data: Vec<ConnectionView>,
    /// Always null: the whole list is one page.
    pub next_cursor: Option<String>,
}

/// Connect the organization's own OpenID Connect identity provider.
#[utoipa::path(post, path = "/v1/organizations/{id}/connections", tag = "connections", params(("id" = String, Path)),
    request_body = CreateConnection, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 201, body = ConnectionView), Errors))]
pub async fn create(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<CreateConnection>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let name = super::console::check_name("name", &body.name)?;
    let CreateConnection { issuer, client_id, client_secret, jit_role, .. } = body;
    let new = NewConnection { name, issuer, client_id, client_secret, jit_role };
    let view = connections::create(&st, &ctx.metadata(&who.actor()), who.project_id(), Some(&org), new).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/connections", tag = "connections", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = ConnectionList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<ConnectionList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let data = connections::list(&st, who.project_id(), Some(&org)).await?;
    Ok(axum::Json(ConnectionList { data, next_cursor: None }))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/connections/{connection_id}", tag = "connections",
    params(("id" = String, Path), ("connection_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204), Errors))]
pub async fn delete(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    connections::delete(&st, &ctx.metadata(&who.actor()), who.project_id(), Some(&org), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectConnection {
    /// e.g. `Google`.
    pub name: String,
    /// The provider's issuer (`https://accounts.google.com`; Microsoft Entra ID: a
    /// tenant's `https://login.microsoftonline.com/<tenant id>/v2.0`).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
}

/// Connect an identity provider for the whole project (social sign-in): any user it
/// proves an email for signs in (or up, as the project's sign-up allows), in no
/// organization unless they already belong to some.
#[utoipa::path(post, path = "/v1/connections", tag = "connections", request_body = CreateProjectConnection,
    security(("secret_key" = [])), responses((status = 201, body = ConnectionView), Errors))]
pub async fn create_for_project(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateProjectConnection>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionView>)> {
    let name = super::console::check_name("name", &body.name)?;
    let CreateProjectConnection { issuer, client_id, client_secret, .. } = body;
    let new = NewConnection { name, issuer, client_id, client_secret, jit_role: None };
    let view = connections::create(&st, &ctx.metadata(&key.actor()), &key.project_id, None, new).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The project's own connections (not its organizations').
#[utoipa::path(get, path = "/v1/connections", tag = "connections",
    security(("secret_key" = [])), responses((status = 200, body = ConnectionList), Errors))]
pub async fn list_for_project(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<ConnectionList>> {
    let data = connections::list(&st, &key.project_id, None).await?;
    Ok(axum::Json(ConnectionList { data, next_cursor: None }))
}

#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 204), Errors))]
pub async fn delete_for_project(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    connections::delete(&st, &ctx.metadata(&key.actor()), &key.project_id, None, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// The project's publishable key.
    pub pk: String,
    /// The connection (`conn_…`).
    pub connection: String,
    /// Where the application takes the handoff code back (allowed as for handoffs).
    pub redirect_url: String,
    /// base64url SHA-256 of the application's verifier.
    pub code_challenge: String,
    /// Returned to the application untouched.
    pub state: Option<String>,
}

/// Sign in through the connection: a redirect to the organization's identity provider.
#[utoipa::path(get, path = "/v1/auth/sso/start", tag = "sign-in", params(StartQuery),
    responses((status = 303, description = "To the identity provider"), Errors))]
pub async fn start(State(st): State<AppState>, Query(q): Query<StartQuery>) -> ApiResult<Response> {
    let StartQuery { pk, connection, redirect_url, code_challenge, state } = q;
    let s = sso::Start { publishable_key: pk, connection, redirect_url, code_challenge, state };
    Ok(Redirect::to(&sso::start(&st, s).await?).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the identity provider sends the browser back: on to the application with a
/// handoff code (`code`, `state`), or with `error=sso_failed`.
#[utoipa::path(get, path = "/v1/auth/sso/callback", tag = "sign-in", params(CallbackQuery),
    responses((status = 303, description = "To the application"), Errors))]
pub async fn callback(
    State(st): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Response> {
    let CallbackQuery { code, state, error, error_description } = q;
    let cb = sso::Callback { code, state, error, error_description };
    Ok(Redirect::to(&sso::callback(&st, cb, &ctx).await?).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    pub email: String,
}

/// Home-realm discovery: whether an email's domain belongs to an organization that signs
/// its users in through an SSO connection (`404` when not), and whether it must.
#[utoipa::path(get, path = "/v1/auth/sso/lookup", tag = "sign-in", params(LookupQuery),
    security(("publishable_key" = [])), responses((status = 200, body = sso::SsoRoute), Errors))]
pub async fn lookup(
    State(st): State<AppState>,
    pk: crate::extract::PublishableKey,
    Query(q): Query<LookupQuery>,
) -> ApiResult<axum::Json<sso::SsoRoute>> {
    let email = super::project::check_email(&q.email).map(|e| authio_domain::normalize_email(&e))?;
    let route = sso::lookup(&st, &pk.project_id, &email).await?;
    Ok(axum::Json(route.ok_or_else(crate::error::ApiError::not_found)?))
}
