//! An organization's sign-in policy: parse, call `crate::policies`, answer.
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, Manager, RequestContext};
use crate::policies::{self, PolicyView};
use crate::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPolicy {
    /// `magic_link`, `passkey`, `sign_in_token`; null or absent: any.
    pub allowed_methods: Option<Vec<String>>,
    #[serde(default)]
    pub require_passkey: bool,
    /// 60 to 31,536,000; null or absent: no limit.
    pub max_session_age_seconds: Option<u64>,
}

#[utoipa::path(get, path = "/v1/organizations/{id}/policy", tag = "policies", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = PolicyView), Errors))]
pub async fn get(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<PolicyView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    Ok(axum::Json(policies::get(&st, &org).await?))
}

/// Replace the organization's sign-in policy (`organization.policy_changed`); it holds
/// from the next switch into the organization and the next refresh of its contexts.
#[utoipa::path(put, path = "/v1/organizations/{id}/policy", tag = "policies", params(("id" = String, Path)),
    request_body = SetPolicy, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 200, body = PolicyView), Errors))]
pub async fn put(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<SetPolicy>,
) -> ApiResult<axum::Json<PolicyView>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let policy = policies::check(PolicyView {
        allowed_methods: body.allowed_methods,
        require_passkey: body.require_passkey,
        max_session_age_seconds: body.max_session_age_seconds,
    })?;
    Ok(axum::Json(policies::set(&st, &ctx.metadata(&who.actor()), &org, policy).await?))
}
