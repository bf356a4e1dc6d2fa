//! A project's allowed redirect URLs (secret key): where sign-in links may point.
use crate::error::ApiResult;
use crate::extract::{Json, RequestContext, SecretKey};
use crate::openapi::Errors;
use crate::AppState;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectUrls {
    /// Origins (`https://app.example.com`: any path) and exact URLs, at most 100.
    pub redirect_urls: Vec<String>,
}

/// The project's allowed redirect URLs.
#[utoipa::path(get, path = "/v1/redirect-urls", tag = "redirect urls",
    security(("secret_key" = [])), responses((status = 200, body = RedirectUrls), Errors))]
pub async fn get(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<RedirectUrls>> {
    Ok(axum::Json(RedirectUrls { redirect_urls: crate::redirects::registered(&st, &key.project_id).await? }))
}

/// Replace the project's allowed redirect URLs (records `tenant.redirect_urls_changed`
/// when the list changes). An entry without a path (or with just `/`) is an origin and
/// allows every URL under it; any other entry allows exactly that URL.
#[utoipa::path(put, path = "/v1/redirect-urls", tag = "redirect urls", request_body = RedirectUrls,
    security(("secret_key" = [])), responses((status = 200, body = RedirectUrls), Errors))]
pub async fn put(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<RedirectUrls>,
) -> ApiResult<axum::Json<RedirectUrls>> {
    let meta = ctx.metadata(&key.actor());
    let redirect_urls = crate::redirects::set(&st, &key.project_id, &body.redirect_urls, &meta).await?;
    Ok(axum::Json(RedirectUrls { redirect_urls }))
}
