//! Redirect allow-list: a sign-in link points only where its project allows (issue 16,
//! point 2). On PostgreSQL and SQLite.
mod common;

use common::{code, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn outbox() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("authio_outbox_{}", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every mail in the outbox, as text with quoted-printable soft breaks undone.
fn mails(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path()).unwrap().replace("=\r\n", "").replace("=\n", "").replace("=3D", "="))
        .collect()
}

async fn magic(srv: &Server, pk: &str, email: &str, redirect: &str) -> (StatusCode, Value) {
    srv.front("/v1/auth/magic-links", pk, json!({"email": email, "redirect_url": redirect})).await
}

async fn allow_list(postgres: bool) {
    let url = common::database_url(postgres).await;
    let dir = outbox();
    let mail = format!("file://{}", dir.display());
    let srv = Server::start_with(&url, |c| c.mail_url = Some(mail)).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    assert!(pk.starts_with("pk_test_"));

    // Nothing registered: a test key allows loopback only; an attacker's URL is refused
    // and no mail goes out.
    let (s, e) = magic(&srv, &pk, "victim@example.com", "https://evil.example/steal").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{e}");
    assert_eq!(e["error"]["details"]["field"], "redirect_url");
    assert!(mails(&dir).is_empty(), "a refused request sends nothing");
    let (s, e) = magic(&srv, &pk, "a@example.com", "http://localhost:3000/callback").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    assert!(mails(&dir).iter().any(|m| m.contains("http://localhost:3000/callback?token=ml_")));
    let (s, _) = magic(&srv, &pk, "a@example.com", "http://127.0.0.1:5173/").await;
    assert_eq!(s, StatusCode::ACCEPTED);

    // Register an origin and an exact URL; the answer is the list as stored.
    let (_, before) = srv.get("/v1/events?types=tenant.*&limit=100", &sk).await;
    let after = before["next_cursor"].as_i64().or_else(|| before["data"].as_array()?.last()?["position"].as_i64());
    let (s, v) = srv
        .call(
            reqwest::Method::PUT,
            "/v1/redirect-urls",
            Some(&sk),
            Some(json!({"redirect_urls": ["https://App.Example.com/", "https://example.com/auth/cb?x=1"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["redirect_urls"], json!(["https://app.example.com", "https://example.com/auth/cb?x=1"]));
    let (s, got) = srv.get("/v1/redirect-urls", &sk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(got, v);
    for ok in ["https://app.example.com/any/path?q=1", "https://example.com/auth/cb?x=1"] {
        let (s, e) = magic(&srv, &pk, "a@example.com", ok).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{ok}: {e}");
    }
    for refused in [
        "https://example.com/auth/cb",
        "https://example.com/auth/cb?x=2",
        "http://app.example.com/",
        "https://app.example.com.evil.example/",
        "https://user@app.example.com/",
    ] {
        let (s, e) = magic(&srv, &pk, "a@example.com", refused).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{refused}: {e}");
    }

    // The change is an event (from, to, the key as actor), in the events API.
    let path = match after {
        Some(p) => format!("/v1/events?types=tenant.redirect_urls_changed&after={p}"),
        None => "/v1/events?types=tenant.redirect_urls_changed".to_string(),
    };
    let (s, events) = srv.get(&path, &sk).await;
    assert_eq!(s, StatusCode::OK, "{events}");
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 1, "{events}");
    assert_eq!(data[0]["data"]["from"], json!([]));
    assert_eq!(data[0]["data"]["to"], v["redirect_urls"]);
    assert_eq!(data[0]["actor"]["type"], "api_key", "{events}");
    // Setting the same list again changes nothing and records nothing.
    let (s, _) = srv.call(reqwest::Method::PUT, "/v1/redirect-urls", Some(&sk), Some(got.clone())).await;
    assert_eq!(s, StatusCode::OK);
    let (_, again) = srv.get(&path, &sk).await;
    assert_eq!(again["data"].as_array().unwrap().len(), 1);

    // Bad lists: one clear 400 naming the field, nothing changed.
    for bad in [
        json!({"redirect_urls": ["ftp://example.com"]}),
        json!({"redirect_urls": ["https://a.example", "https://a.example/"]}),
        json!({"redirect_urls": ["https://a.example/#frag"]}),
        json!({"redirect_urls": (0..101).map(|i| format!("https://a{i}.example")).collect::<Vec<_>>()}),
    ] {
        let (s, e) = srv.call(reqwest::Method::PUT, "/v1/redirect-urls", Some(&sk), Some(bad.clone())).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{bad}: {e}");
        assert_eq!(e["error"]["details"]["field"], "redirect_urls");
    }
    assert_eq!(srv.get("/v1/redirect-urls", &sk).await.1, got);

    // A live key of the same project: loopback is not allowed until registered.
    let (s, k) = srv
        .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "live", "environment": "live"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let live_pk = k["publishable_key"].as_str().unwrap().to_string();
    assert!(live_pk.starts_with("pk_live_"));
    let (s, e) = magic(&srv, &live_pk, "a@example.com", "http://localhost:3000/callback").await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{e}");
    let (s, e) = magic(&srv, &live_pk, "a@example.com", "https://app.example.com/welcome").await;
    assert_eq!(s, StatusCode::ACCEPTED, "{e}");

    // Another project's list is its own: its key sees nothing of this one's and its
    // change leaves this one's alone.
    let (_, _, other_sk) = srv.project("other@example.com", "b2b").await;
    let (s, theirs) = srv.get("/v1/redirect-urls", &other_sk).await;
    assert_eq!((s, &theirs["redirect_urls"]), (StatusCode::OK, &json!([])));
    let (s, _) = srv
        .call(
            reqwest::Method::PUT,
            "/v1/redirect-urls",
            Some(&other_sk),
            Some(json!({"redirect_urls": ["https://evil.example"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(srv.get("/v1/redirect-urls", &sk).await.1, got);
    let (s, _) = magic(&srv, &pk, "a@example.com", "https://evil.example/").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The CLI manages the same list, recorded the same way.
    let listed = srv.cli(&["redirect-urls", "list", "--project", &tid]).await;
    assert_eq!(listed.lines().collect::<Vec<_>>(), ["https://app.example.com", "https://example.com/auth/cb?x=1"]);
    let set = srv.cli(&["redirect-urls", "set", "--project", &tid, "https://cli.example/"]).await;
    assert_eq!(set, "https://cli.example");
    assert_eq!(srv.get("/v1/redirect-urls", &sk).await.1["redirect_urls"], json!(["https://cli.example"]));
    let (_, events) = srv.get(&path, &sk).await;
    let data = events["data"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{events}");
    assert_eq!(data[1]["data"]["to"], json!(["https://cli.example"]));
    assert_eq!(data[1]["actor"]["type"], "system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_postgres() {
    allow_list(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_sqlite() {
    allow_list(false).await;
}
