//! OAuth clients of a project (issue 20, first part): registered, listed, read, changed,
//! their secret rotated and deleted with the secret key; the secret shown once and kept
//! only as its SHA-256; redirect URIs and scopes checked; another project's key sees
//! nothing; every change an audited event; the CLI does the same through the same
//! application layer. Every scenario runs on PostgreSQL and on SQLite.
mod common;

use common::{code, id, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn web() -> Value {
    json!({"name": "Acme web", "client_type": "confidential", "redirect_uris": ["https://app.example.com/callback"]})
}

async fn stored_hash(srv: &Server, client: &str) -> Option<String> {
    sqlx::query_scalar("SELECT secret_hash FROM oauth_client_secrets WHERE client_id = $1")
        .bind(client)
        .fetch_optional(&srv.db.pool)
        .await
        .unwrap()
}

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn the_lifecycle_of_a_client(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;

    // A confidential client: the secret once, its hash stored, never the secret.
    let (s, created) = srv.post("/v1/oauth-clients", &sk, web()).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let client = id(&created);
    assert!(client.starts_with("oc_"), "{client}");
    let secret = created["client_secret"].as_str().expect("a secret").to_string();
    assert!(secret.starts_with("ocs_") && secret.len() > 60, "{secret}");
    assert_eq!(created["client_type"], "confidential");
    assert_eq!(created["scopes"], json!(["openid", "email", "profile", "offline_access", "organization"]));
    assert_eq!(stored_hash(&srv, &client).await, Some(sha256(&secret)));
    let (s, read) = srv.get(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!(s, StatusCode::OK, "{read}");
    assert!(read.get("client_secret").is_none(), "{read}");
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(read, expected, "the answer is the client as stored");

    // A public client has no secret, and none to rotate.
    let body = json!({"name": "SPA", "client_type": "public", "redirect_uris": ["http://localhost:3000/cb"], "scopes": ["openid"]});
    let (s, spa) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{spa}");
    assert_eq!(spa["client_secret"], Value::Null);
    let spa = id(&spa);
    assert_eq!(stored_hash(&srv, &spa).await, None);
    let (s, v) = srv.post(&format!("/v1/oauth-clients/{spa}/rotate-secret"), &sk, json!({})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    assert_eq!(v["error"]["details"]["field"], "client_type", "{v}");

    // Changes: what is given changes, the rest stays.
    let change = json!({"name": "Acme", "redirect_uris": ["https://app.example.com/callback", "com.example.app:/cb"]});
    let (s, v) = srv.patch(&format!("/v1/oauth-clients/{client}"), &sk, change).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Acme");
    assert_eq!(v["redirect_uris"], json!(["https://app.example.com/callback", "com.example.app:/cb"]));
    assert_eq!(v["scopes"], created["scopes"]);

    // Rotation: a new secret, the old hash gone.
    let (s, v) = srv.post(&format!("/v1/oauth-clients/{client}/rotate-secret"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new_secret = v["client_secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    assert_eq!(stored_hash(&srv, &client).await, Some(sha256(&new_secret)));

    // The list, paged.
    let (s, v) = srv.get("/v1/oauth-clients?limit=1", &sk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    let after = v["next_cursor"].as_str().expect("a second page").to_string();
    let (_, v) = srv.get(&format!("/v1/oauth-clients?limit=1&after={after}"), &sk).await;
    assert_eq!(v["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["next_cursor"], Value::Null);

    // Deletion: gone with its secret.
    let (s, _) = srv.delete(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(stored_hash(&srv, &client).await, None);
    let (s, v) = srv.get(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, v) = srv.delete(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");

    // Audited, the API key as actor, no secret anywhere in the log.
    common::audit_caught_up(&srv.db).await;
    let (_, log) = srv.get("/v1/audit-events?limit=100", &sk).await;
    let kinds: Vec<&str> = log["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    for kind in
        ["oauth_client.registered", "oauth_client.updated", "oauth_client.secret_rotated", "oauth_client.deleted"]
    {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let entry = log["data"].as_array().unwrap().iter().find(|e| e["type"] == "oauth_client.registered").unwrap();
    assert_eq!(entry["actor"]["type"], "api_key", "{entry}");
    let text = log.to_string();
    assert!(!text.contains(&secret) && !text.contains(&new_secret), "no secret in the audit log");
    assert!(!text.contains(&sha256(&secret)), "not even its hash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lifecycle_of_a_client_postgres() {
    the_lifecycle_of_a_client(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lifecycle_of_a_client_sqlite() {
    the_lifecycle_of_a_client(false).await;
}

async fn bad_input_names_its_field(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let with = |k: &str, v: Value| {
        let mut b = web();
        b[k] = v;
        b
    };
    for (body, field) in [
        (with("client_type", json!("trusted")), "client_type"),
        (with("name", json!("  ")), "name"),
        (with("name", json!("x".repeat(101))), "name"),
        (with("redirect_uris", json!([])), "redirect_uris"),
        (with("redirect_uris", json!(["http://app.example.com/cb"])), "redirect_uris"),
        (with("redirect_uris", json!(["https://app.example.com/cb#x"])), "redirect_uris"),
        (with("redirect_uris", json!(["javascript:alert(1)"])), "redirect_uris"),
        (with("redirect_uris", json!(["https://a.example/cb", "https://a.example/cb"])), "redirect_uris"),
        (with("scopes", json!(["email"])), "scopes"),
        (with("scopes", json!(["openid", "admin"])), "scopes"),
    ] {
        let (s, v) = srv.post("/v1/oauth-clients", &sk, body.clone()).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{body}: {v}");
        assert_eq!(v["error"]["details"]["field"], field, "{body}: {v}");
    }
    let (s, v) = srv.post("/v1/oauth-clients", &sk, with("extra", json!(1))).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let (s, c) = srv.post("/v1/oauth-clients", &sk, web()).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let client = id(&c);
    let (s, v) = srv.patch(&format!("/v1/oauth-clients/{client}"), &sk, json!({"scopes": ["profile"]})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    assert_eq!(v["error"]["details"]["field"], "scopes", "{v}");
    // Nothing was registered by the refused requests.
    let (_, list) = srv.get("/v1/oauth-clients", &sk).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_names_its_field_postgres() {
    bad_input_names_its_field(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_names_its_field_sqlite() {
    bad_input_names_its_field(false).await;
}

async fn another_project_sees_nothing(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (_, _, other) = srv.project("stranger@example.com", "b2b").await;
    let (s, c) = srv.post("/v1/oauth-clients", &sk, web()).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let client = id(&c);
    let path = format!("/v1/oauth-clients/{client}");
    assert_eq!(srv.get(&path, &other).await.0, StatusCode::NOT_FOUND);
    assert_eq!(srv.patch(&path, &other, json!({"name": "Mine"})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(srv.post(&format!("{path}/rotate-secret"), &other, json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(srv.delete(&path, &other).await.0, StatusCode::NOT_FOUND);
    let (_, list) = srv.get("/v1/oauth-clients", &other).await;
    assert_eq!(list["data"], json!([]), "{list}");
    // Untouched.
    let (s, v) = srv.get(&path, &sk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Acme web");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_project_sees_nothing_postgres() {
    another_project_sees_nothing(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_project_sees_nothing_sqlite() {
    another_project_sees_nothing(false).await;
}

/// `authio oauth-clients create|list|delete` on the database a server uses.
async fn the_cli_manages_clients(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let cli = |args: Vec<String>| {
        let url = srv.database_url.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
                .args(args)
                .env("DATABASE_URL", url)
                .env("RUST_LOG", "warn")
                .kill_on_drop(true)
                .output()
                .await
                .expect("run authio");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).to_string(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            )
        }
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let (ok, out, err) = cli(s(&[
        "oauth-clients",
        "create",
        "--project",
        &tid,
        "--name",
        "CLI app",
        "--type",
        "confidential",
        "--redirect-uri",
        "https://cli.example.com/cb",
        "--scope",
        "openid",
        "--scope",
        "email",
    ]))
    .await;
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let (client, secret) = (lines[0].to_string(), lines[1].to_string());
    assert!(client.starts_with("oc_") && secret.starts_with("ocs_"), "{out}");
    assert_eq!(stored_hash(&srv, &client).await, Some(sha256(&secret)));
    // The server sees it (the same read model).
    let (st, v) = srv.get(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["scopes"], json!(["openid", "email"]));
    let (ok, out, err) = cli(s(&["oauth-clients", "list", "--project", &tid])).await;
    assert!(
        ok && out.starts_with(&format!("{client}\tconfidential\tCLI app\thttps://cli.example.com/cb")),
        "{out}{err}"
    );
    // Bad input is the API's error, and a non-zero exit.
    let (ok, _, err) = cli(s(&[
        "oauth-clients",
        "create",
        "--project",
        &tid,
        "--name",
        "x",
        "--type",
        "public",
        "--redirect-uri",
        "http://evil.example/cb",
    ]))
    .await;
    assert!(!ok && err.contains("invalid_request"), "{err}");
    let (ok, _, err) = cli(s(&["oauth-clients", "list", "--project", "proj_nope"])).await;
    assert!(!ok && err.contains("no project proj_nope"), "{err}");
    let (ok, out, err) = cli(s(&["oauth-clients", "delete", "--project", &tid, "--id", &client])).await;
    assert!(ok, "{out}{err}");
    let (st, _) = srv.get(&format!("/v1/oauth-clients/{client}"), &sk).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_manages_clients_postgres() {
    the_cli_manages_clients(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_manages_clients_sqlite() {
    the_cli_manages_clients(false).await;
}
