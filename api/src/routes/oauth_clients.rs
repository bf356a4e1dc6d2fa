//! OAuth clients of a project (secret key): register, list, read, change, rotate the
//! secret, delete (`crate::oauth_clients`). A confidential client's secret is shown at
//! registration and rotation only.
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, Query, RequestContext, SecretKey};
use crate::oauth_clients::{self, Change, OAuthClientView};
use crate::views::Page;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterOAuthClient {
    /// Shown to users on the consent and sign-in pages; 1 to 100 characters.
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    /// 1 to 20, matched exactly: `https`, `http` on `localhost`/`127.0.0.1`/`[::1]`, or a
    /// private-use scheme (`com.example.app:/callback`); no fragment.
    pub redirect_uris: Vec<String>,
    /// Among `openid`, `email`, `profile`, `offline_access`, `organization`; must include
    /// `openid`. Default: all five.
    pub scopes: Option<Vec<String>>,
    /// Where Authio POSTs a logout token when a session the client holds a grant in ends
    /// (OpenID Connect Back-Channel Logout 1.0): `https`, or `http` on a loopback host.
    pub backchannel_logout_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisteredOAuthClient {
    #[serde(flatten)]
    pub client: OAuthClientView,
    /// `ocs_…` for a confidential client, shown this once; `null` for a public one.
    pub client_secret: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOAuthClient {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// A new back-channel logout URI; `""` removes it.
    pub backchannel_logout_uri: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientList {
    pub data: Vec<OAuthClientView>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedClientSecret {
    /// The new `ocs_…` secret, shown this once; the previous one no longer works.
    pub client_secret: String,
}

/// Register an OAuth client of the project's OpenID Connect provider.
#[utoipa::path(post, path = "/v1/oauth-clients", tag = "oauth", request_body = RegisterOAuthClient,
    security(("secret_key" = [])), responses((status = 201, body = RegisteredOAuthClient), Errors))]
pub async fn register(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<RegisterOAuthClient>,
) -> ApiResult<(StatusCode, axum::Json<RegisteredOAuthClient>)> {
    let meta = ctx.metadata(&key.actor());
    let RegisterOAuthClient { name, client_type, redirect_uris, scopes, backchannel_logout_uri } = body;
    let new = oauth_clients::NewClient { name, client_type, redirect_uris, scopes, backchannel_logout_uri };
    let (client, client_secret) = oauth_clients::register(&st, &key.project_id, new, &meta).await?;
    Ok((StatusCode::CREATED, axum::Json(RegisteredOAuthClient { client, client_secret })))
}

/// The project's OAuth clients.
#[utoipa::path(get, path = "/v1/oauth-clients", tag = "oauth", params(Page),
    security(("secret_key" = [])), responses((status = 200, body = OAuthClientList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    key: SecretKey,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<OAuthClientList>> {
    let (data, next_cursor) = oauth_clients::list(&st, &key.project_id, &page).await?;
    Ok(axum::Json(OAuthClientList { data, next_cursor }))
}

/// One OAuth client (no secret).
#[utoipa::path(get, path = "/v1/oauth-clients/{id}", tag = "oauth",
    params(("id" = String, Path, description = "`oc_…`")),
    security(("secret_key" = [])), responses((status = 200, body = OAuthClientView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OAuthClientView>> {
    Ok(axum::Json(oauth_clients::get(&st, &key.project_id, &id).await?))
}

/// Change a client's name, redirect URIs or scopes (what is left out stays).
#[utoipa::path(patch, path = "/v1/oauth-clients/{id}", tag = "oauth", request_body = UpdateOAuthClient,
    params(("id" = String, Path, description = "`oc_…`")),
    security(("secret_key" = [])), responses((status = 200, body = OAuthClientView), Errors))]
pub async fn update(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<UpdateOAuthClient>,
) -> ApiResult<axum::Json<OAuthClientView>> {
    let meta = ctx.metadata(&key.actor());
    let UpdateOAuthClient { name, redirect_uris, scopes, backchannel_logout_uri } = body;
    let change = Change { name, redirect_uris, scopes, backchannel_logout_uri };
    Ok(axum::Json(oauth_clients::update(&st, &key.project_id, &id, change, &meta).await?))
}

/// A new secret for a confidential client, shown once; the old one stops at once.
#[utoipa::path(post, path = "/v1/oauth-clients/{id}/rotate-secret", tag = "oauth",
    params(("id" = String, Path, description = "`oc_…`")),
    security(("secret_key" = [])), responses((status = 200, body = RotatedClientSecret), Errors))]
pub async fn rotate_secret(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RotatedClientSecret>> {
    let meta = ctx.metadata(&key.actor());
    let client_secret = oauth_clients::rotate_secret(&st, &key.project_id, &id, &meta).await?;
    Ok(axum::Json(RotatedClientSecret { client_secret }))
}

/// Delete a client: it signs nobody in again.
#[utoipa::path(delete, path = "/v1/oauth-clients/{id}", tag = "oauth",
    params(("id" = String, Path, description = "`oc_…`")),
    security(("secret_key" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&key.actor());
    oauth_clients::delete(&st, &key.project_id, &id, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}
