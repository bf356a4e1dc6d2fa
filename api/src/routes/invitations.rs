//! Invitations: parse, call `crate::invitations`, answer.
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Manager, PublishableKey, Query, RequestContext, UserToken};
use crate::invitations::{self, Filter, InvitationAccepted, InvitationPreview, InvitationView, NewInvitation};
use crate::views::Page;
use crate::AppState;
use authio_domain::invitation::InvitationState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    /// Without it, the invitation is to the project (sign-up while sign-up is closed).
    pub organization_id: Option<String>,
    /// Default: the project's default role. Only with `organization_id`.
    pub role: Option<String>,
    /// Seconds, 60 to 2,592,000 (default 604,800: 7 days).
    pub expires_in: Option<i64>,
    pub inviter_user_id: Option<String>,
    /// Where the accept link points (`?invitation_code=` is added); an allowed redirect URL.
    pub redirect_url: Option<String>,
}

fn check_expires_in(v: Option<i64>) -> ApiResult<i64> {
    let v = v.unwrap_or(invitations::DEFAULT_EXPIRES_IN);
    if invitations::EXPIRES_IN_RANGE.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::invalid_field("expires_in", "expires_in must be 60 to 2592000 seconds"))
    }
}

/// The redirect URL, allowed for the caller: the backend's key environment decides
/// (`test` allows localhost); an org admin is held to the registered URLs.
async fn check_redirect(st: &AppState, who: &Manager, url: &Option<String>) -> ApiResult<()> {
    let Some(url) = url else { return Ok(()) };
    crate::redirects::check_form(url)?;
    let environment = match who {
        Manager::Project(k) => k.environment.as_str(),
        Manager::OrgAdmin(_) => "live",
    };
    crate::redirects::check_link(st, who.project_id(), environment, url).await
}

/// The organization an invitation of the caller's goes to: an org admin's is always
/// their own (another is 404); the backend's any of the project's.
async fn scope(st: &AppState, who: &Manager, org: Option<&str>) -> ApiResult<Option<String>> {
    Ok(crate::sessions::admin_scope(st, who, org).await?.or_else(|| org.map(str::to_string)))
}

/// Invite someone by email; the invitation is mailed with its accept link and code.
#[utoipa::path(post, path = "/v1/invitations", tag = "invitations", request_body = CreateInvitation,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 201, body = InvitationView), Errors))]
pub async fn create(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Json(body): Json<CreateInvitation>,
) -> ApiResult<(StatusCode, axum::Json<InvitationView>)> {
    let org = scope(&st, &who, body.organization_id.as_deref()).await?;
    let email = super::project::check_email(&body.email)?;
    let expires_in = check_expires_in(body.expires_in)?;
    if org.is_none() && body.role.is_some() {
        return Err(ApiError::invalid_field("role", "an invitation to the project has no role"));
    }
    check_redirect(&st, &who, &body.redirect_url).await?;
    let inviter = match &who {
        Manager::OrgAdmin(u) => Some(u.user_id().to_string()),
        Manager::Project(k) => match &body.inviter_user_id {
            Some(u) => {
                let found: Option<String> =
                    sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND project_id = $2")
                        .bind(u)
                        .bind(&k.project_id)
                        .fetch_optional(&st.db.pool)
                        .await?;
                Some(found.ok_or_else(|| ApiError::invalid_field("inviter_user_id", "no such user in the project"))?)
            }
            None => None,
        },
    };
    let new = NewInvitation {
        email,
        organization_id: org,
        role: body.role,
        expires_in,
        inviter_user_id: inviter,
        redirect_url: body.redirect_url,
    };
    let view = invitations::create(&st, &ctx.metadata(&who.actor()), who.project_id(), &new).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationFilter {
    pub organization_id: Option<String>,
    pub email: Option<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub data: Vec<InvitationView>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/invitations", tag = "invitations", params(InvitationFilter, Page),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = InvitationList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Query(f): Query<InvitationFilter>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<InvitationList>> {
    if let Some(s) = &f.state {
        if InvitationState::parse(s).is_none() {
            return Err(ApiError::invalid_field("state", "state must be pending, accepted, revoked or expired"));
        }
    }
    let org = scope(&st, &who, f.organization_id.as_deref()).await?;
    let limit = page.limit()?;
    let filter = Filter { organization_id: org, email: f.email, state: f.state };
    let items = invitations::list(&st, who.project_id(), &filter, page.after()?, limit).await?;
    let (data, next_cursor) = crate::views::paginate(items, limit, |i: &InvitationView| i.id.clone());
    Ok(axum::Json(InvitationList { data, next_cursor }))
}

/// The invitation `id` as the caller may see it: an org admin only their organization's.
async fn reach(st: &AppState, who: &Manager, id: &str) -> ApiResult<InvitationView> {
    let inv = invitations::get(st, who.project_id(), id).await?;
    if let Manager::OrgAdmin(_) = who {
        match &inv.organization_id {
            Some(org) => {
                scope(st, who, Some(org)).await?;
            }
            None => return Err(ApiError::not_found()),
        }
    }
    Ok(inv)
}

#[utoipa::path(get, path = "/v1/invitations/{id}", tag = "invitations", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = InvitationView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    who: Manager,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InvitationView>> {
    Ok(axum::Json(reach(&st, &who, &id).await?))
}

/// Revoke a pending invitation: its code stops working (`invitation.revoked`).
#[utoipa::path(post, path = "/v1/invitations/{id}/revoke", tag = "invitations", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = InvitationView), Errors))]
pub async fn revoke(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InvitationView>> {
    reach(&st, &who, &id).await?;
    Ok(axum::Json(invitations::revoke(&st, &ctx.metadata(&who.actor()), who.project_id(), &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    /// Seconds from now, 60 to 2,592,000 (default 604,800).
    pub expires_in: Option<i64>,
    pub redirect_url: Option<String>,
}

/// Mail a new code with a new expiry; the old code stops working (`invitation.resent`).
#[utoipa::path(post, path = "/v1/invitations/{id}/resend", tag = "invitations", params(("id" = String, Path)),
    request_body = Resend, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 200, body = InvitationView), Errors))]
pub async fn resend(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<Resend>,
) -> ApiResult<axum::Json<InvitationView>> {
    reach(&st, &who, &id).await?;
    let expires_in = check_expires_in(body.expires_in)?;
    check_redirect(&st, &who, &body.redirect_url).await?;
    let meta = ctx.metadata(&who.actor());
    let view = invitations::resend(&st, &meta, who.project_id(), &id, expires_in, body.redirect_url.as_deref()).await?;
    Ok(axum::Json(view))
}

/// What an accept page shows for a code (publishable key).
#[utoipa::path(get, path = "/v1/invitations/by-code/{code}", tag = "invitations", params(("code" = String, Path)),
    security(("publishable_key" = [])), responses((status = 200, body = InvitationPreview), Errors))]
pub async fn by_code(
    State(st): State<AppState>,
    pk: PublishableKey,
    Path(code): Path<String>,
) -> ApiResult<axum::Json<InvitationPreview>> {
    Ok(axum::Json(invitations::preview(&st, &pk.project_id, &code).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    pub code: String,
}

/// Accept an invitation as the signed-in user (their verified email must be the
/// invitation's): the membership is made active with the invited role.
#[utoipa::path(post, path = "/v1/invitations/accept", tag = "invitations", request_body = AcceptInvitation,
    security(("access_token" = [])), responses((status = 200, body = InvitationAccepted), Errors))]
pub async fn accept(
    State(st): State<AppState>,
    user: UserToken,
    ctx: RequestContext,
    Json(body): Json<AcceptInvitation>,
) -> ApiResult<axum::Json<InvitationAccepted>> {
    let meta = ctx.metadata(&user.actor());
    Ok(axum::Json(invitations::accept(&st, user.project_id(), user.user_id(), &body.code, false, &meta).await?))
}
