//! CORS for the end-user routes (issue 16, point 3): per-project allowed origins, and no
//! browser origin ever on the secret-key routes. On PostgreSQL and SQLite.
mod common;

use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const APP: &str = "https://app.acme.example";
const EVIL: &str = "https://evil.example";

/// A preflight from `origin` for `method path` with the publishable key header.
async fn preflight(srv: &Server, path: &str, origin: &str) -> reqwest::Response {
    srv.http
        .request(Method::OPTIONS, format!("{}{path}", srv.url))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authio-publishable-key,content-type")
        .send()
        .await
        .unwrap()
}

fn allow_origin(res: &reqwest::Response) -> Option<String> {
    res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string())
}

/// `POST path` with a publishable key and `Origin`.
async fn from_browser(
    srv: &Server,
    path: &str,
    pk: &str,
    origin: &str,
    body: Value,
) -> (StatusCode, Option<String>, Value) {
    let res = srv
        .http
        .post(format!("{}{path}", srv.url))
        .header("authio-publishable-key", pk)
        .header("origin", origin)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (s, acao) = (res.status(), allow_origin(&res));
    (s, acao, res.json().await.unwrap_or(Value::Null))
}

async fn cors(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (cs_b, tid_b, sk_b) = srv.project("other@example.com", "b2b").await;
    let pk_b = srv.publishable_key(&cs_b, &tid_b).await;
    let magic = "/v1/auth/magic-links";

    // Nothing registered: no preflight passes for a foreign origin.
    assert_eq!(allow_origin(&preflight(&srv, magic, APP).await), None);

    // Register the app's origin (normalized), with an event.
    let (s, v) = srv
        .call(
            Method::PUT,
            "/v1/allowed-origins",
            Some(&sk),
            Some(json!({"allowed_origins": ["https://APP.acme.example:443/"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["allowed_origins"], json!([APP]));
    assert_eq!(srv.get("/v1/allowed-origins", &sk).await.1, v);
    let (_, events) = srv.get("/v1/events?types=tenant.allowed_origins_changed", &sk).await;
    assert_eq!(events["data"][0]["data"]["to"], json!([APP]), "{events}");
    for bad in
        [json!({"allowed_origins": ["https://app.example/path"]}), json!({"allowed_origins": ["ftp://a.example"]})]
    {
        let (s, e) = srv.call(Method::PUT, "/v1/allowed-origins", Some(&sk), Some(bad.clone())).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{bad}");
        assert_eq!(e["error"]["details"]["field"], "allowed_origins");
    }

    // Preflights: the registered origin passes on every end-user route, with the
    // headers a browser needs; a foreign one does not; secret-key routes never.
    for path in [magic, "/v1/auth/sign-in-tokens/verify", "/v1/sessions/refresh", "/v1/sessions/switch-org", "/v1/me"] {
        let res = preflight(&srv, path, APP).await;
        assert!(res.status().is_success(), "{path}: {}", res.status());
        assert_eq!(allow_origin(&res).as_deref(), Some(APP), "{path}");
        let headers = res.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
        assert!(headers.contains("authio-publishable-key") && headers.contains("authorization"), "{headers}");
        assert_eq!(allow_origin(&preflight(&srv, path, EVIL).await), None, "{path}");
    }
    for path in ["/v1/users", "/v1/organizations", "/v1/webhook-endpoints", "/v1/events", "/v1/allowed-origins"] {
        let res = preflight(&srv, path, APP).await;
        assert_eq!(allow_origin(&res), None, "{path} is for the backend only");
        let res =
            srv.http.get(format!("{}{path}", srv.url)).bearer_auth(&sk).header("origin", APP).send().await.unwrap();
        assert_eq!(allow_origin(&res), None, "{path} answers no browser");
    }

    // Requests: the project's own origin is answered (with the CORS header); a foreign
    // one, or one that only another project allows, is refused and sends nothing.
    let body = json!({"email": "a@example.com"});
    let (s, acao, v) = from_browser(&srv, magic, &pk, APP, body.clone()).await;
    assert_eq!((s, acao.as_deref()), (StatusCode::ACCEPTED, Some(APP)), "{v}");
    let (s, _, v) = from_browser(&srv, magic, &pk, EVIL, body.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "origin_not_allowed"), "{v}");
    let (s, _, v) = from_browser(&srv, magic, &pk_b, APP, body.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "origin_not_allowed"), "another project's origin: {v}");
    // A test key's loopback origins need no registration; a live key's do.
    let (s, acao, v) = from_browser(&srv, magic, &pk_b, "http://localhost:5173", body.clone()).await;
    assert_eq!((s, acao.as_deref()), (StatusCode::ACCEPTED, Some("http://localhost:5173")), "{v}");
    let (s, k) = srv
        .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "live", "environment": "live"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let live_pk = k["publishable_key"].as_str().unwrap().to_string();
    let (s, _, v) = from_browser(&srv, magic, &live_pk, "http://localhost:5173", body.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "origin_not_allowed"), "{v}");
    let (s, _, v) = from_browser(&srv, magic, &live_pk, APP, body).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");

    // Access-token routes: the token's project decides.
    let u = srv.user(&sk, "u@example.com").await;
    let a = srv.sign_in(&sk, &pk, &u).await;
    let token = a["access_token"].as_str().unwrap();
    let me = |origin: &'static str| {
        srv.http.get(format!("{}/v1/me", srv.url)).bearer_auth(token).header("origin", origin).send()
    };
    let res = me(APP).await.unwrap();
    assert_eq!((res.status(), allow_origin(&res).as_deref()), (StatusCode::OK, Some(APP)));
    let res = me(EVIL).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(&res.json().await.unwrap()), "origin_not_allowed");
    // Without an Origin (a backend, curl) nothing changes.
    assert_eq!(srv.get("/v1/me", token).await.0, StatusCode::OK);
    let _ = sk_b;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_postgres() {
    cors(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_sqlite() {
    cors(false).await;
}
