//! A project's allowed redirect URLs (secret key): where sign-in links may point.
use crate::error::ApiResult;
use crate::error::Errors;
use crate::extract::{Json, RequestContext, SecretKey};
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
    Ok(axum::Json(RedirectUrls {
        redirect_urls: crate::redirects::list(&st, &key.project_id, crate::redirects::List::RedirectUrls).await?,
    }))
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
    let redirect_urls =
        crate::redirects::set(&st, &key.project_id, crate::redirects::List::RedirectUrls, &body.redirect_urls, &meta)
            .await?;
    Ok(axum::Json(RedirectUrls { redirect_urls }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllowedOrigins {
    /// `scheme://host[:port]`, at most 100.
    pub allowed_origins: Vec<String>,
}

/// The browser origins allowed to call the project's end-user routes (`/v1/auth/*`,
/// `/v1/sessions/*`, `/v1/me`); `test` keys also allow `http://localhost:*` and
/// `http://127.0.0.1:*`.
#[utoipa::path(get, path = "/v1/allowed-origins", tag = "redirect urls",
    security(("secret_key" = [])), responses((status = 200, body = AllowedOrigins), Errors))]
pub async fn get_origins(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<AllowedOrigins>> {
    let allowed_origins = crate::redirects::list(&st, &key.project_id, crate::redirects::List::AllowedOrigins).await?;
    Ok(axum::Json(AllowedOrigins { allowed_origins }))
}

/// Replace the project's allowed origins (records `tenant.allowed_origins_changed`
/// when the list changes).
#[utoipa::path(put, path = "/v1/allowed-origins", tag = "redirect urls", request_body = AllowedOrigins,
    security(("secret_key" = [])), responses((status = 200, body = AllowedOrigins), Errors))]
pub async fn put_origins(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<AllowedOrigins>,
) -> ApiResult<axum::Json<AllowedOrigins>> {
    let meta = ctx.metadata(&key.actor());
    let which = crate::redirects::List::AllowedOrigins;
    let allowed_origins = crate::redirects::set(&st, &key.project_id, which, &body.allowed_origins, &meta).await?;
    Ok(axum::Json(AllowedOrigins { allowed_origins }))
}
