use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Readiness: the database answers within a second.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(st): State<AppState>) -> Result<Json<Health>, ApiError> {
    let probe = sqlx::query("SELECT 1").execute(&st.db.pool);
    match tokio::time::timeout(std::time::Duration::from_secs(1), probe).await {
        Ok(Ok(_)) => Ok(Json(Health { status: "ready".into() })),
        _ => Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is not reachable")),
    }
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi() -> Json<Value> {
    Json(serde_json::to_value(crate::openapi::document()).unwrap_or_else(|_| json!({})))
}

/// Prometheus metrics (text exposition format): requests and their latency per route
/// template and status, command commit latency, webhook delivery outcomes, backlogs and
/// pool usage. No ids, tokens or emails in any label.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain", body = String)))]
pub async fn metrics(State(st): State<AppState>) -> impl axum::response::IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::observe::render(&st).await)
}
