//! `Idempotency-Key` on POST: the same key and body within 24 h returns the first
//! response and performs the change once. Keys are scoped to the credential (its hash)
//! and the path. A key reused with a different body answers `409 idempotency_key_reused`;
//! one whose first request is still running answers `409 request_in_progress`.
use crate::crypto::hash_secret;
use crate::error::ApiError;
use crate::AppState;
use authio_eventstore::time_text;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use sqlx::Row;

const MAX_BODY: usize = 1 << 20;

pub async fn layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_string) else {
        return next.run(req).await;
    };
    if key.is_empty() || key.len() > 255 {
        return ApiError::invalid_field("Idempotency-Key", "Idempotency-Key must be 1 to 255 characters")
            .into_response();
    }
    match run(&st, key, req, next).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn run(st: &AppState, key: String, req: Request, next: Next) -> Result<Response, ApiError> {
    let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let scope = hash_secret(&format!("{auth}\n{}", req.uri().path()));
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
    })?;
    let request_hash = hash_secret(&format!("{}\n{}", parts.uri, String::from_utf8_lossy(&bytes)));
    let now = Utc::now();
    let expired = time_text(now - Duration::hours(24));
    let abandoned = time_text(now - Duration::seconds(60));
    // Forget expired keys and placeholders whose request died with its process.
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND (created_at < $3 OR (status = 0 AND created_at < $4))",
    )
    .bind(&scope)
    .bind(&key)
    .bind(&expired)
    .bind(&abandoned)
    .execute(&st.db.pool)
    .await?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, status, body, created_at) VALUES ($1, $2, $3, 0, '', $4) \
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(&scope)
    .bind(&key)
    .bind(&request_hash)
    .bind(time_text(now))
    .execute(&st.db.pool)
    .await?
    .rows_affected();
    if inserted == 0 {
        let row = sqlx::query("SELECT request_hash, status, body FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(&scope)
            .bind(&key)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(ApiError::concurrent)?;
        let (hash, status, body): (String, i32, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if hash != request_hash {
            return Err(ApiError::conflict(
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request",
            ));
        }
        if status == 0 {
            return Err(ApiError::conflict(
                "request_in_progress",
                "the first request with this Idempotency-Key is still running",
            ));
        }
        let mut res = Response::new(Body::from(body));
        *res.status_mut() = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
        res.headers_mut().insert("content-type", HeaderValue::from_static("application/json"));
        res.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(res);
    }
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    let (rparts, rbody) = res.into_parts();
    let rbytes = to_bytes(rbody, 16 << 20).await.map_err(|_| ApiError::internal())?;
    if rparts.status.is_server_error() {
        // Not remembered: a retry may succeed.
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
            .bind(&scope)
            .bind(&key)
            .execute(&st.db.pool)
            .await?;
    } else {
        sqlx::query("UPDATE idempotency_keys SET status = $3, body = $4 WHERE scope = $1 AND key = $2")
            .bind(&scope)
            .bind(&key)
            .bind(rparts.status.as_u16() as i32)
            .bind(String::from_utf8_lossy(&rbytes).to_string())
            .execute(&st.db.pool)
            .await?;
    }
    Ok(Response::from_parts(rparts, Body::from(rbytes)))
}
