//! What the hosted pages call besides the sign-in routes: the project's brand, and the
//! handoff of a signed-in session to the application (`crate::handoffs`).
use crate::error::{ApiResult, Errors};
use crate::extract::{Json, PublishableKey, RequestContext, UserToken};
use crate::handoffs::{self, ProjectBrand};
use crate::sessions::SessionAnswer;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The project of the publishable key: its name and mode, for the hosted pages' brand.
#[utoipa::path(get, path = "/v1/auth/project", tag = "sign-in",
    security(("publishable_key" = [])), responses((status = 200, body = ProjectBrand), Errors))]
pub async fn project(State(st): State<AppState>, pk: PublishableKey) -> ApiResult<axum::Json<ProjectBrand>> {
    Ok(axum::Json(handoffs::brand(&st, &pk).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffRequest {
    /// Where the application takes the code back: allowed for the project as the
    /// publishable key's environment allows (`/v1/redirect-urls`; `test` keys also allow
    /// `http://localhost:*` and `http://127.0.0.1:*`), else `400 redirect_not_allowed`.
    pub redirect_url: String,
    /// base64url (unpadded) of the SHA-256 of the application's `code_verifier`.
    pub code_challenge: String,
    /// `S256`, the only method.
    pub code_challenge_method: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffIssued {
    /// `hc_…`: give it to the application at `redirect_url` (as the `code` query
    /// parameter); single use.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Hand the caller's session (its current organization context) to the application at
/// `redirect_url`: a one-time code, valid two minutes, bound to the PKCE challenge.
/// Needs both the user's access token and the project's publishable key.
#[utoipa::path(post, path = "/v1/auth/handoffs", tag = "sign-in", request_body = HandoffRequest,
    security(("access_token" = [], "publishable_key" = [])),
    responses((status = 201, body = HandoffIssued), Errors))]
pub async fn issue(
    State(st): State<AppState>,
    pk: PublishableKey,
    user: UserToken,
    ctx: RequestContext,
    Json(body): Json<HandoffRequest>,
) -> ApiResult<(StatusCode, axum::Json<HandoffIssued>)> {
    let meta = ctx.metadata(&user.actor());
    let HandoffRequest { redirect_url, code_challenge, code_challenge_method } = body;
    let issued =
        handoffs::issue(&st, &pk, &user, &redirect_url, &code_challenge, &code_challenge_method, &meta).await?;
    Ok((StatusCode::CREATED, axum::Json(HandoffIssued { code: issued.code, expires_at: issued.expires_at })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffExchange {
    pub code: String,
    /// The verifier whose S256 challenge the code was issued for (43 to 128 characters).
    pub code_verifier: String,
}

/// Redeem a handoff code: tokens of a new family in the code's session and organization
/// context. `400 invalid_handoff` for an unknown, expired or other project's code or a
/// wrong verifier; a code presented after its redemption also revokes the session.
#[utoipa::path(post, path = "/v1/auth/handoffs/exchange", tag = "sign-in", request_body = HandoffExchange,
    security(("publishable_key" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn exchange(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<HandoffExchange>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    Ok(axum::Json(handoffs::redeem(&st, &pk.project_id, &body.code, &body.code_verifier, &ctx).await?))
}
