//! The operations surface: request ids, W3C trace context, one access-log line per
//! request, and Prometheus metrics (`GET /metrics`).
//!
//! Metrics (all through the `metrics` facade, rendered by `metrics-exporter-prometheus`):
//! - `authio_http_requests_total{method, route, status}` and
//!   `authio_http_request_duration_seconds{method, route, status}` (histogram); `route`
//!   is the route template (`/v1/users/{id}`), never a concrete path;
//! - `authio_commit_duration_seconds{outcome}` (histogram): event-store appends by the
//!   API's commands (`ok`, `conflict`, `error`);
//! - `authio_webhook_delivery_attempts_total{outcome}`: `delivered`, `retry`, `failed`;
//! - read at each scrape: `authio_projection_lag_events` (events after the read models'
//!   checkpoint), `authio_relay_backlog_events` (after the relay's),
//!   `authio_webhook_backlog_events` (after the webhook fan-out's, in-process bus only),
//!   `authio_webhook_deliveries{status}` (pending, failed), `authio_db_pool_connections{state}`
//!   (`open`, `idle`) and `authio_db_pool_max_connections`.
use crate::{AppState, RequestId};
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// The process's one Prometheus recorder (every server of a test process shares it).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
        let builder = PrometheusBuilder::new().set_buckets(&buckets).unwrap_or_else(|_| PrometheusBuilder::new());
        match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed already: keep one of our own (its metrics
            // stay empty rather than failing the server).
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        }
    })
}

/// The request id: an incoming `X-Request-Id` when it is a sane one (1 to 128 of
/// `A-Z a-z 0-9 - _ . :`), else a new `req_…`.
pub fn request_id_of(req: &Request) -> String {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        })
        .map(str::to_string)
        .unwrap_or_else(|| crate::crypto::new_id("req_"))
}

/// The trace id and parent span id of a valid W3C `traceparent`
/// (`00-<32 hex>-<16 hex>-<2 hex>`, neither id all zeros).
pub fn trace_context(header: Option<&str>) -> Option<(String, String)> {
    let mut parts = header?.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let ok = hex(version, 2)
        && version != "ff"
        && (version != "00" || parts.next().is_none())
        && hex(trace, 32)
        && hex(parent, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && parent.bytes().any(|b| b != b'0');
    ok.then(|| (trace.to_string(), parent.to_string()))
}

/// Who the request acted for, filled in by the credential extractors: the project (a
/// project is its tenant) of a secret key, publishable key or access token. Logged on
/// the access line; never a token, key or email.
#[derive(Clone, Default, Debug)]
pub struct Principal(Arc<Mutex<Option<String>>>);

impl Principal {
    pub fn set(&self, project: &str) {
        if let Ok(mut p) = self.0.lock() {
            *p = Some(project.to_string());
        }
    }
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|p| p.clone())
    }
}

/// Record the project a credential belongs to on the request's `Principal`.
pub fn note_project(parts: &axum::http::request::Parts, project: &str) {
    if let Some(p) = parts.extensions.get::<Principal>() {
        p.set(project);
    }
}

/// Outermost middleware: request id (incoming or new) and trace context into the
/// request's span, a `Principal` for the extractors, then one access-log line and the
/// request metrics once the answer is ready.
pub async fn layer(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id_of(&req);
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string());
    let trace = trace_context(req.headers().get("traceparent").and_then(|v| v.to_str().ok()));
    let principal = Principal::default();
    req.extensions_mut().insert(RequestId(id.clone()));
    req.extensions_mut().insert(principal.clone());
    let span = tracing::info_span!(
        "request",
        method = %method,
        route = route.as_deref().unwrap_or("-"),
        request_id = %id,
        trace_id = trace.as_ref().map(|t| t.0.as_str()).unwrap_or(""),
        parent_span_id = trace.as_ref().map(|t| t.1.as_str()).unwrap_or(""),
    );
    let mut res = {
        use tracing::Instrument;
        let nul = req.uri().to_string().to_ascii_lowercase().contains("%00");
        async move {
            if nul {
                use axum::response::IntoResponse;
                return crate::error::ApiError::invalid("the URL must not contain NUL characters").into_response();
            }
            next.run(req).await
        }
        .instrument(span.clone())
        .await
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    let route = route.unwrap_or_else(|| "unmatched".into());
    let labels = [("method", method.clone()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!("authio_http_requests_total", &labels).increment(1);
    metrics::histogram!("authio_http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    let _entered = span.enter();
    tracing::info!(
        target: "authio::access",
        method = %method,
        route = %route,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        request_id = %id,
        project_id = principal.get().as_deref().unwrap_or(""),
        "request"
    );
    res
}

/// Set the gauges read at scrape time, then render every metric.
pub async fn render(st: &AppState) -> String {
    let pool = &st.db.pool;
    let (open, idle, max) = st.db.connection_counts();
    metrics::gauge!("authio_db_pool_connections", "state" => "open").set(open as f64);
    metrics::gauge!("authio_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("authio_db_pool_max_connections").set(max as f64);
    // Backlogs need the database; while it is away they keep their last values.
    let backlog = |name: &'static str| {
        let sql = "SELECT COALESCE((SELECT MAX(position) FROM events), 0) - \
                   COALESCE((SELECT position FROM projection_checkpoints WHERE name = $1), 0)";
        sqlx::query_scalar::<_, i64>(sql).bind(name).fetch_one(pool)
    };
    for (gauge, checkpoint) in [
        ("authio_projection_lag_events", authio_projections::READ_MODELS),
        ("authio_relay_backlog_events", authio_projections::relay::CHECKPOINT),
        ("authio_webhook_backlog_events", crate::webhooks::CHECKPOINT),
    ] {
        if let Ok(n) = backlog(checkpoint).await {
            metrics::gauge!(gauge).set(n.max(0) as f64);
        }
    }
    for status in ["pending", "failed"] {
        let n: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = $1")
            .bind(status)
            .fetch_one(pool)
            .await;
        if let Ok(n) = n {
            metrics::gauge!("authio_webhook_deliveries", "status" => status).set(n as f64);
        }
    }
    prometheus().render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_only_when_valid() {
        let ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(
            trace_context(Some(ok)),
            Some(("4bf92f3577b34da6a3ce929d0e0e4736".into(), "00f067aa0ba902b7".into()))
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(trace_context(Some(bad)), None, "{bad}");
        }
    }
}
