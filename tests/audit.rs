//! The audit log and the events API: one entry per event, the same envelope in both,
//! cursors that see every event exactly once, and an org admin's slice.
mod common;

use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// `prefix` at a word start followed by 64 hex digits: the shape of our secrets.
fn looks_like_secret(text: &str, prefix: &str) -> bool {
    text.match_indices(prefix).any(|(i, _)| {
        let boundary = text[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric() && c != '_');
        let rest = &text[i + prefix.len()..];
        boundary && rest.len() >= 64 && rest[..64].bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

async fn scenario(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let alice = srv.user(&sk, "alice@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &alice, &globex, "member").await;
    let session = srv.sign_in(&sk, &pk, &alice).await;
    // Where the events stream stands now.
    let (_, before) = srv.get("/v1/events?limit=100", &sk).await;
    let cursor = before["data"].as_array().unwrap().last().unwrap()["position"].as_i64().unwrap();

    // Create a membership, change its role, switch a session's organization.
    let m = srv.membership(&sk, &alice, &acme, "member").await;
    let (s, _) = srv.patch(&format!("/v1/memberships/{m}"), &sk, json!({"role": "admin"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = srv
        .post("/v1/sessions/switch-org", session["access_token"].as_str().unwrap(), json!({"organization_id": acme}))
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, events) = srv.get(&format!("/v1/events?after={cursor}&types=membership.*,session.org_switched"), &sk).await;
    assert_eq!(s, StatusCode::OK, "{events}");
    let types: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["membership.created", "membership.role_changed", "session.org_switched"]);
    let positions: Vec<i64> =
        events["data"].as_array().unwrap().iter().map(|e| e["position"].as_i64().unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
    let first = &events["data"][1];
    assert_eq!(first["data"]["from"], "member");
    assert_eq!(first["data"]["to"], "admin");
    assert_eq!(first["organization_id"], acme.as_str());
    assert_eq!(first["project_id"], tid.as_str());
    assert_eq!(first["actor"]["type"], "api_key");
    assert!(first["metadata"]["request_id"].as_str().unwrap().starts_with("req_"));
    let switched = &events["data"][2];
    assert_eq!(switched["actor"], json!({"type": "user", "id": alice}));
    assert_eq!(switched["data"]["to"], acme.as_str());

    // The audit log shows the same three, newest first, with the same ids and bodies
    // (the switch also opened the session's Acme context: one more entry).
    let (s, audit) = srv.get("/v1/audit-events?limit=4", &sk).await;
    let opened = audit["data"].as_array().unwrap().iter().filter(|e| e["type"] == "session.context_opened").count();
    assert_eq!(opened, 1, "{audit}");
    let mut audit = audit.clone();
    audit["data"].as_array_mut().unwrap().retain(|e| e["type"] != "session.context_opened");
    assert_eq!(s, StatusCode::OK);
    let mut newest_first = ids(&events);
    newest_first.reverse();
    assert_eq!(ids(&audit), newest_first);
    assert_eq!(audit["data"][2], events["data"][0]);
    let (_, filtered) =
        srv.get(&format!("/v1/audit-events?action=membership.role_changed&organization_id={acme}"), &sk).await;
    assert_eq!(ids(&filtered), vec![events["data"][1]["id"].as_str().unwrap().to_string()]);

    // `authio audit replay` writes the same trail straight from the event store.
    let mut api = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/audit-events?limit=100&after={c}"),
            None => "/v1/audit-events?limit=100".to_string(),
        };
        let (_, page) = srv.get(&path, &sk).await;
        api.extend(page["data"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    api.reverse();
    let replay: Vec<Value> = srv.audit_replay(&tid, &[]).await;
    assert_eq!(replay, api, "audit replay equals the audit API entry for entry");
    let (_, acme_slice) = srv.get(&format!("/v1/audit-events?organization_id={acme}&limit=100"), &sk).await;
    let mut acme_api: Vec<Value> = acme_slice["data"].as_array().unwrap().clone();
    acme_api.reverse();
    let acme_replay: Vec<Value> = srv.audit_replay(&tid, &["--organization", &acme]).await;
    assert_eq!(acme_replay, acme_api);
    let pivot = events["data"][0]["position"].as_i64().unwrap();
    let later: Vec<Value> = srv.audit_replay(&tid, &["--after", &pivot.to_string()]).await;
    assert_eq!(later, api.iter().filter(|e| e["position"].as_i64().unwrap() > pivot).cloned().collect::<Vec<_>>());

    // Exactly one audit entry per audited event (refreshes and the token family a
    // sign-in starts have none), and no entry carries a secret.
    let unaudited = "event_type NOT IN ('session.context_refreshed', 'session.tokens_issued')";
    let events_total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM events WHERE {unaudited}"))
        .fetch_one(&srv.db.pool)
        .await
        .unwrap();
    let audit_total: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(events_total, audit_total);
    let event_ids: BTreeSet<String> = sqlx::query_scalar(&format!("SELECT event_id FROM events WHERE {unaudited}"))
        .fetch_all(&srv.db.pool)
        .await
        .unwrap()
        .into_iter()
        .collect();
    let audit_ids: BTreeSet<String> =
        sqlx::query_scalar("SELECT e.event_id FROM audit_events a JOIN events e ON e.position = a.position")
            .fetch_all(&srv.db.pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(event_ids, audit_ids);
    let everything: Vec<String> = sqlx::query_scalar(
        "SELECT e.payload || e.metadata || a.targets FROM audit_events a JOIN events e ON e.position = a.position",
    )
    .fetch_all(&srv.db.pool)
    .await
    .unwrap();
    let secrets = [
        sk.as_str(),
        cs.as_str(),
        session["refresh_token"].as_str().unwrap(),
        session["access_token"].as_str().unwrap(),
    ];
    assert!(looks_like_secret(&format!("{{\"k\":\"{sk}\"}}"), "sk_test_"), "the detector detects");
    for entry in &everything {
        for secret in secrets {
            assert!(!entry.contains(secret), "an audit entry carries a secret: {entry}");
        }
        for prefix in ["sk_test_", "sk_live_", "cs_", "rt_", "ml_", "st_", "csl_"] {
            assert!(
                !looks_like_secret(entry, prefix),
                "an audit entry carries something like a {prefix} secret: {entry}"
            );
        }
        assert!(!entry.contains("private_key") && !entry.contains("secret_hash"), "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_events_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_and_events_sqlite() {
    scenario(false).await;
}

/// Paging the events API while writes go on sees every event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_cursor_sees_every_event_once_while_writes_go_on() {
    let srv = Server::start(true).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let writer = {
        let (url, sk) = (srv.url.clone(), sk.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..60 {
                let r = http
                    .post(format!("{url}/v1/users"))
                    .bearer_auth(&sk)
                    .json(&json!({"email": format!("w{i}@example.com")}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::CREATED);
            }
        })
    };
    let mut seen = Vec::new();
    let mut after = 0i64;
    let mut quiet = 0;
    loop {
        let (s, page) = srv.get(&format!("/v1/events?after={after}&limit=7"), &sk).await;
        assert_eq!(s, StatusCode::OK);
        let items = page["data"].as_array().unwrap();
        for e in items {
            let p = e["position"].as_i64().unwrap();
            assert!(p > after);
            after = p;
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        if items.is_empty() {
            if writer.is_finished() {
                quiet += 1;
                if quiet > 3 {
                    break;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    writer.await.unwrap();
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no event twice");
    let (_, all) = srv.get("/v1/audit-events?limit=100", &sk).await;
    let mut total = ids(&all).len();
    let mut cursor = all["next_cursor"].as_str().map(str::to_string);
    while let Some(c) = cursor {
        let (_, page) = srv.get(&format!("/v1/audit-events?limit=100&after={c}"), &sk).await;
        total += ids(&page).len();
        cursor = page["next_cursor"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), total, "the cursor saw every event of the project");
    let created = srv.db.read_after(0, 10_000).await.unwrap().iter().filter(|e| e.event_type == "user.created").count();
    assert_eq!(created, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_admin_sees_only_their_organizations_slice() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let admin = srv.user(&sk, "admin@example.com").await;
    let member = srv.user(&sk, "member@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &admin, &acme, "admin").await;
    srv.membership(&sk, &member, &acme, "member").await;
    let mg = srv.membership(&sk, &member, &globex, "member").await;
    srv.patch(&format!("/v1/memberships/{mg}"), &sk, json!({"role": "admin"})).await;
    let a = srv.sign_in(&sk, &pk, &admin).await;
    let (_, sw) = srv
        .post("/v1/sessions/switch-org", a["access_token"].as_str().unwrap(), json!({"organization_id": acme}))
        .await;
    let token = sw["access_token"].as_str().unwrap();
    let (s, slice) = srv.get(&format!("/v1/organizations/{acme}/audit-events?limit=100"), token).await;
    assert_eq!(s, StatusCode::OK, "{slice}");
    let entries = slice["data"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["organization_id"] == acme.as_str()));
    let text = slice.to_string();
    assert!(!text.contains(&globex) && !text.contains("Globex"), "{text}");
    let (s, e) = srv.get(&format!("/v1/organizations/{globex}/audit-events"), token).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"));
    let (s, e) = srv.get("/v1/audit-events", token).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "secret_key_required"));
    let (s, e) = srv.get("/v1/events?types=Bad%20Type", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"));
    let (s, e) = srv.get("/v1/events?after=-4", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"));
    let (s, _) = srv.call(Method::GET, "/v1/events", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A cursor is a position: it survives a server restart, and paging on sees every
/// event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_events_cursor_survives_a_restart() {
    let url = common::database_url(true).await;
    let (sk, first_half, cursor);
    {
        let srv = Server::start_on(&url).await;
        let (_, _, key) = srv.project("owner@example.com", "b2b").await;
        for i in 0..5 {
            srv.user(&key, &format!("a{i}@example.com")).await;
        }
        let (_, page) = srv.get("/v1/events?limit=100", &key).await;
        first_half = ids(&page);
        cursor = page["data"].as_array().unwrap().last().unwrap()["position"].as_i64().unwrap();
        sk = key;
    }
    let srv = Server::start_on(&url).await;
    for i in 0..5 {
        srv.user(&sk, &format!("b{i}@example.com")).await;
    }
    let (_, page) = srv.get(&format!("/v1/events?after={cursor}&limit=100"), &sk).await;
    let second_half = ids(&page);
    assert_eq!(second_half.len(), 5, "only the events after the cursor: {page}");
    let (_, all) = srv.get("/v1/events?limit=100", &sk).await;
    let mut both = first_half.clone();
    both.extend(second_half);
    assert_eq!(ids(&all), both, "every event exactly once, in order");
}
