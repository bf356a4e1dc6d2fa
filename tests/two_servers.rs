//! Two `authio serve` processes on one database, as behind a load balancer. Each keeps
//! aggregate states in memory between commands (`eventstore/src/cache.rs`), and a
//! session's switch and refresh decide on that state without reading it first: a
//! stream the other process moved on must fail that first commit and be decided again
//! on what is stored, never answered from the stale state.
mod common;

use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn switch(srv: &Server, access: &str, org: &str) -> Value {
    let (s, a) = srv.post("/v1/sessions/switch-org", access, json!({"organization_id": org})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    a
}

async fn refresh(srv: &Server, refresh_token: &Value) -> (StatusCode, Value) {
    srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": refresh_token}))).await
}

fn token(answer: &Value, name: &str) -> String {
    answer[name].as_str().unwrap_or_else(|| panic!("{name} in {answer}")).to_string()
}

/// Two servers on one database with one issuer (as behind a load balancer).
async fn two_servers(postgres: bool) -> (Server, Server) {
    let url = common::database_url(postgres).await;
    let issuer = |c: &mut authio_api::Config| c.issuer = Some("http://authio.test".into());
    (Server::start_with(&url, issuer).await, Server::start_with(&url, issuer).await)
}

async fn a_session_moved_on_by_another_process(postgres: bool) {
    let (a, b) = two_servers(postgres).await;
    let (cs, tid, sk) = a.project("owner@example.com", "b2b").await;
    let pk = a.publishable_key(&cs, &tid).await;
    let user = a.user(&sk, "alice@example.com").await;
    let (acme, globex) = (a.org(&sk, "Acme").await, a.org(&sk, "Globex").await);
    a.membership(&sk, &user, &acme, "admin").await;
    a.membership(&sk, &user, &globex, "member").await;
    let signed_in = a.sign_in(&sk, &pk, &user).await;

    // Process a switches (and so holds the session in memory); then b switches.
    let on_a = switch(&a, &token(&signed_in, "access_token"), &acme).await;
    let on_b = switch(&b, &token(&on_a, "access_token"), &globex).await;
    assert_eq!(on_b["active_organization"]["id"], globex.as_str());

    // a refreshes b's token: the session is in Globex now, whatever a remembers.
    let (s, r) = refresh(&a, &on_b["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["active_organization"]["id"], globex.as_str(), "the answer follows the stored session");
    let (s, i) = a.post("/v1/tokens/introspect", &sk, json!({"token": r["access_token"]})).await;
    assert_eq!((s, i["act_org"].as_str()), (StatusCode::OK, Some(globex.as_str())), "{i}");

    // a switches back to Acme while b has moved the session on meanwhile (b refreshes).
    let (s, r2) = refresh(&b, &r["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    let back = switch(&a, &token(&r2, "access_token"), &acme).await;
    assert_eq!(back["active_organization"]["id"], acme.as_str());
    let (s, me) = b.get("/v1/me", &token(&back, "access_token")).await;
    assert_eq!((s, me["active_organization"]["id"].as_str()), (StatusCode::OK, Some(acme.as_str())), "{me}");

    // b signs the session out; a, which last saw it live, refuses it.
    let access = token(&back, "access_token");
    assert_eq!(b.call(Method::POST, "/v1/sessions/revoke", Some(&access), None).await.0, StatusCode::NO_CONTENT);
    let (s, e) = a.post("/v1/sessions/switch-org", &access, json!({"organization_id": globex})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked session cannot switch on the other process: {e}");
    let (s, e) = refresh(&a, &back["refresh_token"]).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "nor refresh there");

    // Both processes answer from the same, consistent read models.
    assert_eq!(a.read_models().await, b.read_models().await);
}

#[tokio::test]
async fn a_session_moved_on_by_another_process_postgres() {
    a_session_moved_on_by_another_process(true).await;
}

#[tokio::test]
async fn a_session_moved_on_by_another_process_sqlite() {
    a_session_moved_on_by_another_process(false).await;
}

/// Memberships added through both processes to one organization: each process's
/// cached organization catches up with the other's additions, so the one-membership
/// rule holds across them.
async fn an_organization_grown_by_two_processes(postgres: bool) {
    let (a, b) = two_servers(postgres).await;
    let (_, _, sk) = a.project("owner@example.com", "b2b").await;
    let org = a.org(&sk, "Acme").await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(a.user(&sk, &format!("u{i}@example.com")).await);
    }
    for (i, u) in users.iter().enumerate() {
        let srv = if i % 2 == 0 { &a } else { &b };
        srv.membership(&sk, u, &org, "member").await;
    }
    for (i, u) in users.iter().enumerate() {
        // The other process than the one that added it.
        let srv = if i % 2 == 0 { &b } else { &a };
        let (s, e) = srv.post("/v1/memberships", &sk, json!({"user_id": u, "organization_id": org})).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "membership_exists"), "user {i}");
    }
    let (s, list) = b.get(&format!("/v1/memberships?organization_id={org}&limit=100"), &sk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(users.len()));
}

#[tokio::test]
async fn an_organization_grown_by_two_processes_postgres() {
    an_organization_grown_by_two_processes(true).await;
}

#[tokio::test]
async fn an_organization_grown_by_two_processes_sqlite() {
    an_organization_grown_by_two_processes(false).await;
}
