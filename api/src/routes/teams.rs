//! Teams of an organization: parse, call `crate::teams`, answer. Every route is the
//! backend's for any organization of the project, and an org admin's for their own.
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Manager, Query, RequestContext};
use crate::teams::{self, TeamMemberView, TeamView};
use crate::views::Page;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
    /// Unique in the organization; derived from the name when absent.
    pub slug: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    pub name: Option<String>,
    pub slug: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTeamMember {
    pub user_id: String,
    /// A free-form team role (a slug, e.g. `lead`).
    pub role: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub data: Vec<TeamView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberList {
    pub data: Vec<TeamMemberView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/organizations/{id}/teams", tag = "teams", params(("id" = String, Path)),
    request_body = CreateTeam, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 201, body = TeamView), Errors))]
pub async fn create(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<CreateTeam>,
) -> ApiResult<(StatusCode, axum::Json<TeamView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let name = super::console::check_name("name", &body.name)?;
    let slug = super::console::slug_or_derived(body.slug.as_deref(), &name, "team")?;
    let view = teams::create(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &name, &slug).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/teams", tag = "teams", params(("id" = String, Path), Page),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = TeamList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<TeamList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let limit = page.limit()?;
    let items = teams::list(&st, &org, page.after()?, limit).await?;
    let (data, next_cursor) = crate::views::paginate(items, limit, |t: &TeamView| t.id.clone());
    Ok(axum::Json(TeamList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/teams/{team_id}", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = TeamView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    who: Manager,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<axum::Json<TeamView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(teams::get(&st, &org, &team).await?))
}

#[utoipa::path(patch, path = "/v1/organizations/{id}/teams/{team_id}", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path)), request_body = UpdateTeam,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = TeamView), Errors))]
pub async fn update(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, team)): Path<(String, String)>,
    Json(body): Json<UpdateTeam>,
) -> ApiResult<axum::Json<TeamView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let name = body.name.as_deref().map(|n| super::console::check_name("name", n)).transpose()?;
    let slug = body.slug.as_deref().map(super::console::check_slug).transpose()?;
    Ok(axum::Json(teams::update(&st, &ctx.metadata(&who.actor()), &org, &team, name, slug).await?))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/teams/{team_id}", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, team)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    teams::delete(&st, &ctx.metadata(&who.actor()), &org, &team).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/organizations/{id}/teams/{team_id}/members", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path)), request_body = AddTeamMember,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 201, body = TeamMemberView), Errors))]
pub async fn add_member(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, team)): Path<(String, String)>,
    Json(body): Json<AddTeamMember>,
) -> ApiResult<(StatusCode, axum::Json<TeamMemberView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    if let Some(r) = &body.role {
        if !authio_domain::is_valid_slug(r) {
            return Err(ApiError::invalid_field("role", "role must be 1 to 63 of a-z, 0-9 and inner '-'"));
        }
    }
    let meta = ctx.metadata(&who.actor());
    let view = teams::add_member(&st, &meta, &org, &team, &body.user_id, body.role).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/teams/{team_id}/members", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path), Page),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = TeamMemberList), Errors))]
pub async fn members(
    State(st): State<AppState>,
    who: Manager,
    Path((org, team)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<TeamMemberList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    teams::get(&st, &org, &team).await?;
    let limit = page.limit()?;
    let items = teams::members(&st, &team, page.after()?, limit).await?;
    let (data, next_cursor) = crate::views::paginate(items, limit, |m: &TeamMemberView| m.user_id.clone());
    Ok(axum::Json(TeamMemberList { data, next_cursor }))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/teams/{team_id}/members/{user_id}", tag = "teams",
    params(("id" = String, Path), ("team_id" = String, Path), ("user_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "removed"), Errors))]
pub async fn remove_member(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, team, user)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    teams::remove_member(&st, &ctx.metadata(&who.actor()), &org, &team, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
