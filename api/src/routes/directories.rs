//! SCIM directories of an organization (their management; the protocol itself is
//! `crate::scim`): parse, call, answer. The backend's for any organization of the
//! project, an org admin's for their own.
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, Manager, RequestContext};
use crate::scim::groups::{self, Mappings};
use crate::scim::{self, DirectoryView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDirectory {
    /// e.g. `Okta`.
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryList {
    pub data: Vec<DirectoryView>,
    /// Always null: the whole list is one page.
    pub next_cursor: Option<String>,
}

/// Create a directory: its SCIM base URL and bearer token (shown this once).
#[utoipa::path(post, path = "/v1/organizations/{id}/directories", tag = "directories", params(("id" = String, Path)),
    request_body = CreateDirectory, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 201, body = DirectoryView), Errors))]
pub async fn create(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<CreateDirectory>,
) -> ApiResult<(StatusCode, axum::Json<DirectoryView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let name = super::console::check_name("name", &body.name)?;
    let view = scim::create_directory(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &name).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/directories", tag = "directories", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DirectoryList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<DirectoryList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(DirectoryList { data: scim::directories(&st, &org).await?, next_cursor: None }))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/directories/{directory_id}", tag = "directories",
    params(("id" = String, Path), ("directory_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DirectoryView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    who: Manager,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DirectoryView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(scim::directory(&st, &org, &id).await?))
}

/// A new bearer token; the old one stops working at once (`directory.token_rotated`).
#[utoipa::path(post, path = "/v1/organizations/{id}/directories/{directory_id}/rotate-token", tag = "directories",
    params(("id" = String, Path), ("directory_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DirectoryView), Errors))]
pub async fn rotate_token(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DirectoryView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(scim::rotate_token(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &id).await?))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/directories/{directory_id}", tag = "directories",
    params(("id" = String, Path), ("directory_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    scim::delete_directory(&st, &ctx.metadata(&who.actor()), &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The directory's group mappings, in precedence order (see the README's SCIM section).
#[utoipa::path(get, path = "/v1/organizations/{id}/directories/{directory_id}/group-mappings", tag = "directories",
    params(("id" = String, Path), ("directory_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = Mappings), Errors))]
pub async fn get_mappings(
    State(st): State<AppState>,
    who: Manager,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<Mappings>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(groups::mappings(&st, &org, &id).await?))
}

/// Replace the group mappings; the roles and teams of the directory's users follow at
/// once, in the same commit (`directory.group_mappings_changed`, then each change).
#[utoipa::path(put, path = "/v1/organizations/{id}/directories/{directory_id}/group-mappings", tag = "directories",
    params(("id" = String, Path), ("directory_id" = String, Path)), request_body = Mappings,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = Mappings), Errors))]
pub async fn put_mappings(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
    Json(body): Json<Mappings>,
) -> ApiResult<axum::Json<Mappings>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let meta = ctx.metadata(&who.actor());
    Ok(axum::Json(groups::set_mappings(&st, &meta, who.project_id(), &org, &id, body).await?))
}
