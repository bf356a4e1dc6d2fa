//! An organization's sessions as its admins (and the project's backend) see them: the
//! organization context of each member's session, never the member's other contexts.
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Manager, Query, RequestContext};
use crate::sessions::{self, MemberSession};
use crate::views::{self, Page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberSessionList {
    pub data: Vec<MemberSession>,
    pub next_cursor: Option<String>,
}

/// The live sessions of the organization's active members, in this organization only.
#[utoipa::path(get, path = "/v1/organizations/{id}/sessions", tag = "org admins", params(("id" = String, Path), Page),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = MemberSessionList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<MemberSessionList>> {
    let limit = page.limit()?;
    sessions::ensure_manages(&st, &who, &id).await?;
    let items = sessions::org_sessions(&st, &id, page.after()?, limit + 1).await?;
    let (data, next_cursor) = views::paginate(items, limit, |s: &MemberSession| s.session_id.clone());
    Ok(axum::Json(MemberSessionList { data, next_cursor }))
}

/// End a member's session in this organization: only its context here closes; the
/// member stays signed in to their other organizations.
#[utoipa::path(post, path = "/v1/organizations/{id}/sessions/{session_id}/revoke", tag = "org admins",
    params(("id" = String, Path), ("session_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "closed"), Errors))]
pub async fn revoke(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((id, session_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    sessions::ensure_manages(&st, &who, &id).await?;
    if !sessions::has_open_context(&st, who.project_id(), &session_id, &id).await? {
        return Err(ApiError::not_found());
    }
    let reason = match who {
        Manager::OrgAdmin(_) => "revoked_by_admin",
        Manager::Project(_) => "revoked_by_project",
    };
    sessions::close_context(&st, &session_id, Some(&id), reason, &ctx.metadata(&who.actor())).await?;
    Ok(StatusCode::NO_CONTENT)
}
