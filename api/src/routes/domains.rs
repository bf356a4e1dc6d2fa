//! Domains of an organization: parse, call `crate::domains`, answer. The backend's for
//! any organization of the project, an org admin's for their own.
use crate::domains::{self, DomainView};
use crate::error::{ApiError, ApiResult, Errors};
use crate::extract::{Json, Manager, Query, RequestContext};
use crate::views::Page;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddDomain {
    /// e.g. `acme.com`.
    pub domain: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DomainPolicy {
    pub auto_join: Option<bool>,
    /// The role automatic members get; `null`: the project's default role.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub role: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainList {
    pub data: Vec<DomainView>,
    pub next_cursor: Option<String>,
}

/// Claim a domain: `pending`, with the TXT record to publish.
#[utoipa::path(post, path = "/v1/organizations/{id}/domains", tag = "domains", params(("id" = String, Path)),
    request_body = AddDomain, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 201, body = DomainView), Errors))]
pub async fn add(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<AddDomain>,
) -> ApiResult<(StatusCode, axum::Json<DomainView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let domain = domains::check_domain(&body.domain)?;
    let view = domains::add(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &domain).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/domains", tag = "domains", params(("id" = String, Path), Page),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DomainList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<DomainList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let limit = page.limit()?;
    let items = domains::list(&st, &org, page.after()?, limit).await?;
    let (data, next_cursor) = crate::views::paginate(items, limit, |d: &DomainView| d.id.clone());
    Ok(axum::Json(DomainList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/domains/{domain_id}", tag = "domains",
    params(("id" = String, Path), ("domain_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DomainView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    who: Manager,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DomainView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(domains::get(&st, &org, &id).await?))
}

/// Look the TXT record up now: `verified`, or `422 domain_verification_failed` with what
/// was seen.
#[utoipa::path(post, path = "/v1/organizations/{id}/domains/{domain_id}/verify", tag = "domains",
    params(("id" = String, Path), ("domain_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DomainView), Errors))]
pub async fn verify(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DomainView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(domains::verify(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &id).await?))
}

/// The domain's policy: automatic membership at sign-in, and its role.
#[utoipa::path(patch, path = "/v1/organizations/{id}/domains/{domain_id}", tag = "domains",
    params(("id" = String, Path), ("domain_id" = String, Path)), request_body = DomainPolicy,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = DomainView), Errors))]
pub async fn update(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
    Json(body): Json<DomainPolicy>,
) -> ApiResult<axum::Json<DomainView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    if let Some(Some(r)) = &body.role {
        if !authio_domain::is_valid_slug(r) {
            return Err(ApiError::invalid_field("role", "role must be a role's slug"));
        }
    }
    let meta = ctx.metadata(&who.actor());
    let view = domains::set_policy(&st, &meta, who.project_id(), &org, &id, body.auto_join, body.role).await?;
    Ok(axum::Json(view))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/domains/{domain_id}", tag = "domains",
    params(("id" = String, Path), ("domain_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "removed"), Errors))]
pub async fn remove(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    domains::remove(&st, &ctx.metadata(&who.actor()), who.project_id(), &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
