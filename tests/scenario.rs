//! The core scenario of the event-sourced backbone, on PostgreSQL and on SQLite.
mod common;

use common::{code, Server};
use reqwest::StatusCode;
use serde_json::json;

async fn scenario(postgres: bool) {
    let srv = Server::start(postgres).await;
    // Console token from the CLI → tenant (b2b) → test secret key.
    let cs = srv.console_token("owner@example.com").await;
    let (s, tenant) = srv.post("/v1/session/tenants", &cs, json!({"name": "Acme Corp", "mode": "b2b"})).await;
    assert_eq!(s, StatusCode::CREATED, "{tenant}");
    assert_eq!(tenant["mode"], "b2b");
    let tid = common::id(&tenant);
    let (s, key) = srv
        .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "ci", "environment": "test"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let sk = key["secret"].as_str().unwrap().to_string();
    assert!(sk.starts_with("sk_test_"));
    assert!(key["publishable_key"].as_str().unwrap().starts_with("pk_test_"));

    // Users alice and bob; organizations Acme and Globex.
    let alice = srv.user(&sk, "alice@example.com").await;
    let bob = srv.user(&sk, "bob@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    // alice admin of Acme and member of Globex; bob member of Acme.
    let m1 = srv.membership(&sk, &alice, &acme, "admin").await;
    let m2 = srv.membership(&sk, &alice, &globex, "member").await;
    srv.membership(&sk, &bob, &acme, "member").await;

    let (s, list) = srv.get(&format!("/v1/users/{alice}/memberships"), &sk).await;
    assert_eq!(s, StatusCode::OK);
    let mut got: Vec<(String, String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_string(),
                m["organization_id"].as_str().unwrap().to_string(),
                m["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![(m1, acme.clone(), "admin".to_string()), (m2, globex.clone(), "member".to_string())];
    want.sort();
    assert_eq!(got, want);
    assert!(list["data"].as_array().unwrap().iter().all(|m| m["status"] == "active"));

    // b2b → flat is refused while organizations exist.
    let (s, e) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"mode": "flat"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(code(&e), "tenant_has_organizations");

    // Delete both organizations, then the switch succeeds.
    for org in [&acme, &globex] {
        let (s, _) = srv.delete(&format!("/v1/organizations/{org}"), &sk).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
    }
    let (s, list) = srv.get(&format!("/v1/users/{alice}/memberships"), &sk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["data"].as_array().unwrap().len(), 0, "deleting an organization removes its memberships");
    let (s, t) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"mode": "flat"})).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["mode"], "flat");

    // The event store holds tenant.mode_changed {from: b2b, to: flat}.
    let events = srv.db.read_stream("tenant", &tid).await.unwrap();
    let changed: Vec<_> = events.iter().filter(|e| e.event_type == "tenant.mode_changed").collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].data, json!({"from": "b2b", "to": "flat"}));
    assert_eq!(changed[0].metadata.get("actor_type").map(String::as_str), Some("operator"));
    assert!(changed[0].metadata.get("request_id").is_some_and(|r| r.starts_with("req_")));

    let (s, t) = srv.get(&format!("/v1/session/tenants/{tid}"), &cs).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["mode"], "flat");
    assert_eq!(t["organizations_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_sqlite() {
    scenario(false).await;
}

/// The embedded default keeps its data across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_survives_a_restart() {
    let url = common::database_url(false).await;
    let (cs, tid, sk, alice);
    {
        let srv = Server::start_on(&url).await;
        (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
        alice = srv.user(&sk, "alice@example.com").await;
    }
    let srv = Server::start_on(&url).await;
    let (s, t) = srv.get(&format!("/v1/session/tenants/{tid}"), &cs).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["id"], tid.as_str());
    let (s, u) = srv.get(&format!("/v1/users/{alice}"), &sk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(u["email"], "alice@example.com");
}
