//! The operations surface (issue 16, point 4): `/metrics`, request ids, trace context
//! and the JSON access log of the real `authio serve` process.
mod common;

use common::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_request_ids() {
    let srv = Server::start(false).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let user = srv.user(&sk, "metered@example.com").await;
    assert_eq!(srv.get(&format!("/v1/users/{user}"), &sk).await.0, StatusCode::OK);
    assert_eq!(srv.get("/v1/users/user_nope", &sk).await.0, StatusCode::NOT_FOUND);

    let res = srv.http.get(format!("{}/metrics", srv.url)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    // Routes by template, with their status; latency as a histogram.
    for want in [
        r#"authio_http_requests_total{method="GET",route="/v1/users/{id}",status="200"}"#,
        r#"authio_http_requests_total{method="GET",route="/v1/users/{id}",status="404"}"#,
        r#"authio_http_requests_total{method="POST",route="/v1/users",status="201"}"#,
        r#"authio_http_request_duration_seconds_bucket{method="POST",route="/v1/users",status="201",le="+Inf"}"#,
        r#"authio_commit_duration_seconds_count{outcome="ok"}"#,
        "authio_projection_lag_events",
        "authio_relay_backlog_events",
        r#"authio_db_pool_connections{state="idle"}"#,
        "authio_db_pool_max_connections",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    assert!(!text.contains(&user) && !text.contains("metered@") && !text.contains("sk_test"), "no ids or secrets");

    // A sane incoming X-Request-Id is echoed and recorded with the event; anything else
    // is replaced by one of ours.
    let res = srv
        .http
        .post(format!("{}/v1/users", srv.url))
        .bearer_auth(&sk)
        .header("x-request-id", "client-req.42:a_b-c")
        .json(&json!({"email": "traced@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["x-request-id"], "client-req.42:a_b-c");
    let (_, events) = srv.get("/v1/events?types=user.created&limit=100", &sk).await;
    let last = events["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["data"]["email"], "traced@example.com");
    assert_eq!(last["metadata"]["request_id"], "client-req.42:a_b-c", "{last}");
    for bad in ["has space", "semi;colon", &"x".repeat(129)] {
        let res = srv.http.get(format!("{}/healthz", srv.url)).header("x-request-id", bad).send().await.unwrap();
        let echoed = res.headers()["x-request-id"].to_str().unwrap().to_string();
        assert!(echoed.starts_with("req_"), "{bad:?} replaced: {echoed}");
    }
}

/// One JSON access line per request from the real binary: method, route template,
/// status, latency, request id, project, trace id; never a secret, token or email.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_access_log_of_the_binary() {
    let database_url = common::database_url(false).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::env::temp_dir().join(format!("authio_test_{}.log", ulid::Ulid::new().to_string().to_lowercase()));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("AUTHIO_ADDR", format!("127.0.0.1:{port}"))
        .env("AUTHIO_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,sqlx=warn")
        .env_remove("NATS_URL")
        .stdout(Stdio::null())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn authio");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if http.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready, "authio serve did not become ready");

    // A project and a key through the CLI, then a traced request with the secret key.
    let cli = |args: Vec<String>| {
        let url = database_url.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
                .args(&args)
                .env("DATABASE_URL", url)
                .env("RUST_LOG", "warn")
                .output()
                .await
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }
    };
    let cs = cli(vec!["operators".into(), "token".into(), "--email".into(), "ops@example.com".into()]).await;
    let console_post = |path: String, body: Value| {
        let req = http.post(format!("{base}{path}")).bearer_auth(&cs).json(&body);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let t = console_post("/v1/session/tenants".into(), json!({"name": "Observed"})).await;
    let tid = t["id"].as_str().unwrap().to_string();
    let k =
        console_post(format!("/v1/session/tenants/{tid}/api-keys"), json!({"name": "k", "environment": "test"})).await;
    let sk = k["secret"].as_str().unwrap().to_string();
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let res = http
        .post(format!("{base}/v1/users"))
        .bearer_auth(&sk)
        .header("x-request-id", "logged-request-1")
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({"email": "secret.person@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // The line is written after the answer: poll the log (bounded).
    let mut line = None;
    for _ in 0..100 {
        let text = std::fs::read_to_string(&log).unwrap();
        line = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v["target"] == "authio::access" && v["fields"]["request_id"] == "logged-request-1");
        if line.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let line = line.unwrap_or_else(|| panic!("no access line in {}", std::fs::read_to_string(&log).unwrap()));
    let f = &line["fields"];
    assert_eq!(f["method"], "POST", "{line}");
    assert_eq!(f["route"], "/v1/users", "{line}");
    assert_eq!(f["status"], 201, "{line}");
    assert!(f["latency_ms"].as_f64().is_some(), "{line}");
    assert_eq!(f["project_id"], tid.as_str(), "{line}");
    assert_eq!(line["span"]["trace_id"], trace, "{line}");

    let _ = child.kill().await;
    let all = std::fs::read_to_string(&log).unwrap();
    assert!(!all.contains(&sk), "the secret key is never logged");
    assert!(!all.contains(&cs), "the console token is never logged");
    assert!(!all.contains("secret.person@example.com"), "no email in clear");
    let _ = std::fs::remove_file(&log);
}
