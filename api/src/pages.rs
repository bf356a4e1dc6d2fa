//! The front end's built pages, embedded in the binary so that `authio serve` needs
//! nothing else: the tenant owners' dashboard at `/dashboard/` (built from
//! `web/apps/dashboard` into `api/assets/dashboard`) and the hosted end-user pages at
//! `/hosted/` (sign-in, organization chooser, invitation accept, step-up, org admin; built
//! from `web/apps/hosted` into `api/assets/hosted`). `scripts/web-build` writes both
//! builds; they are committed, and `scripts/web-check` fails when one differs from a
//! fresh build.
//!
//! Hashed files under `assets/` are cached for a year; `index.html` is revalidated, and
//! any other path under an app's root without a file extension answers it (the app routes
//! in the browser). Pages carry a content security policy that allows only this origin.
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use include_dir::{include_dir, Dir};

static DASHBOARD: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/dashboard");
static HOSTED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/hosted");

/// Only this origin: the dashboard calls the API it is served by.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn file(app: &Dir<'static>, path: &str) -> Option<Response> {
    let f = app.get_file(path)?;
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut r = (StatusCode::OK, f.contents()).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if path.ends_with(".html") {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Some(r)
}

fn index(app: &Dir<'static>) -> Response {
    file(app, "index.html").unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// A file of `app`, or, for a page of the app (no extension), the app; a missing file is
/// a 404.
fn app_file(app: &Dir<'static>, path: &str) -> Response {
    if let Some(r) = file(app, path) {
        return r;
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if last.contains('.') {
        crate::error::ApiError::not_found().into_response()
    } else {
        index(app)
    }
}

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/dashboard", get(|| async { Redirect::permanent("/dashboard/") }))
        .route("/dashboard/", get(|| async { index(&DASHBOARD) }))
        .route("/dashboard/{*path}", get(|Path(p): Path<String>| async move { app_file(&DASHBOARD, &p) }))
        .route("/hosted", get(|| async { Redirect::permanent("/hosted/") }))
        .route("/hosted/", get(|| async { index(&HOSTED) }))
        .route("/hosted/{*path}", get(|Path(p): Path<String>| async move { app_file(&HOSTED, &p) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_is_embedded() {
        let html = DASHBOARD.get_file("index.html").and_then(|f| f.contents_utf8()).unwrap_or_default();
        assert!(html.contains("/dashboard/"), "index.html refers to its assets under /dashboard/");
        let html = HOSTED.get_file("index.html").and_then(|f| f.contents_utf8()).unwrap_or_default();
        assert!(html.contains("<title>"), "the hosted pages are embedded");
        assert_eq!(content_type("assets/index-abc.js"), "text/javascript; charset=utf-8");
    }
}
