//! Races against PostgreSQL, 50 concurrent requests each.
mod common;

use common::{code, Server};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

const N: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_email_at_once_gives_one_user() {
    let srv = Server::start(true).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let results = join_all((0..N).map(|i| {
        let email = if i % 2 == 0 { "Race@Example.com" } else { "race@example.COM" };
        srv.post("/v1/users", &sk, json!({ "email": email }))
    }))
    .await;
    let created = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let taken = results.iter().filter(|(s, v)| *s == StatusCode::CONFLICT && code(v) == "email_taken").count();
    assert_eq!(created, 1, "{results:?}");
    assert_eq!(taken, N - 1, "{results:?}");
    let (_, list) = srv.get("/v1/users?email=race@example.com", &sk).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn organization_creation_racing_a_switch_to_flat_never_leaves_flat_with_organizations() {
    let srv = Server::start(true).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let results = join_all((0..N).map(|i| {
        let (srv, cs, sk, tid) = (&srv, &cs, &sk, &tid);
        async move {
            if i % 2 == 0 {
                srv.post("/v1/organizations", sk, json!({ "name": format!("Org {i}") })).await
            } else {
                srv.patch(&format!("/v1/session/tenants/{tid}"), cs, json!({ "mode": "flat" })).await
            }
        }
    }))
    .await;
    for (s, v) in &results {
        assert!(
            *s == StatusCode::CREATED
                || *s == StatusCode::OK
                || (*s == StatusCode::CONFLICT
                    && ["tenant_has_organizations", "organizations_disabled", "concurrent_modification"]
                        .contains(&code(v))),
            "unexpected answer {s} {v}"
        );
    }
    let (_, t) = srv.get(&format!("/v1/session/tenants/{tid}"), &cs).await;
    let (_, orgs) = srv.get("/v1/organizations?limit=100", &sk).await;
    let org_count = orgs["data"].as_array().unwrap().len() as i64;
    assert_eq!(t["organizations_count"].as_i64().unwrap(), org_count);
    assert!(!(t["mode"] == "flat" && org_count > 0), "flat with {org_count} organizations");
    // The event store agrees: replay the tenant's stream.
    let tenant = srv.db.load::<authio_domain::tenant::Tenant>(&tid).await.unwrap();
    assert_eq!(tenant.state.organizations.len() as i64, org_count);
    assert!(!(tenant.state.mode == authio_domain::tenant::TenantMode::Flat && org_count > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_on_one_organization_all_apply_without_gaps() {
    let srv = Server::start(true).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let org = srv.org(&sk, "Busy").await;
    let mut memberships = Vec::new();
    for i in 0..N {
        let u = srv.user(&sk, &format!("u{i}@example.com")).await;
        memberships.push(srv.membership(&sk, &u, &org, "member").await);
    }
    let paths: Vec<String> = memberships.iter().map(|m| format!("/v1/memberships/{m}")).collect();
    let results = join_all(paths.iter().map(|p| srv.patch(p, &sk, json!({ "role": "admin" })))).await;
    let applied = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    for (s, v) in &results {
        assert!(
            *s == StatusCode::OK || (*s == StatusCode::CONFLICT && code(v) == "concurrent_modification"),
            "unexpected answer {s} {v}"
        );
    }
    // Inside one process the commands on one organization take turns: none loses a race.
    assert_eq!(applied, N, "{results:?}");
    // So do members added at once.
    let mut users = Vec::new();
    for i in 0..N {
        users.push(srv.user(&sk, &format!("late{i}@example.com")).await);
    }
    let added =
        join_all(users.iter().map(|u| {
            srv.post("/v1/memberships", &sk, json!({"user_id": u, "organization_id": org, "role": "member"}))
        }))
        .await;
    assert!(added.iter().all(|(s, _)| *s == StatusCode::CREATED), "{added:?}");
    let events = srv.db.read_stream("organization", &org).await.unwrap();
    let seqs: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    assert_eq!(seqs, (1..=events.len() as i64).collect::<Vec<_>>(), "no gap in the stream");
    let created = events.iter().filter(|e| e.event_type == "membership.created").count();
    assert_eq!(created, 2 * N);
    let changed = events.iter().filter(|e| e.event_type == "membership.role_changed").count();
    assert_eq!(changed, applied, "each 200 is exactly one role_changed event");
    let (_, admins) = srv.get(&format!("/v1/memberships?organization_id={org}&limit=100"), &sk).await;
    let admin_rows = admins["data"].as_array().unwrap().iter().filter(|m| m["role"] == "admin").count();
    assert_eq!(admin_rows, applied);
}
