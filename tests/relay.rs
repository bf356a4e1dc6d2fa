//! The relay: every event reaches JetStream (real nats-server) exactly once per event id,
//! in position order, and a republish is deduplicated; without NATS the in-process bus
//! gets the same envelopes. One relay leads per database.
mod common;

use authio_projections::audit::envelopes_sql;
use common::Server;
use std::time::Duration;

/// Every message of the project's subjects, in stream order: (event id, position, type).
async fn consume(tid: &str) -> Vec<(String, i64, String)> {
    let mut out = Vec::new();
    for (v, subject, msg_id) in common::jetstream_messages(&common::nats_url(), tid).await {
        assert_eq!(subject, format!("authio.events.{tid}.{}", v["type"].as_str().unwrap()));
        assert_eq!(msg_id.as_deref(), v["id"].as_str(), "message id = event id");
        out.push((
            v["id"].as_str().unwrap().to_string(),
            v["position"].as_i64().unwrap(),
            v["type"].as_str().unwrap().to_string(),
        ));
    }
    out
}

async fn project_events(srv: &Server, tid: &str) -> Vec<(String, i64, String)> {
    use sqlx::Row;
    sqlx::query(
        "SELECT e.event_id, a.position, a.action FROM audit_events a JOIN events e ON e.position = a.position \
         WHERE a.project_id = $1 ORDER BY a.position",
    )
    .bind(tid)
    .fetch_all(&srv.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

/// The project's audit entries as envelopes (JSON), in position order.
async fn envelopes(srv: &Server, tid: &str) -> Vec<serde_json::Value> {
    use authio_projections::audit::envelope;
    sqlx::query(&envelopes_sql("WHERE project_id = $1 ORDER BY position", "position"))
        .bind(tid)
        .fetch_all(&srv.db.pool)
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::to_value(envelope(r).unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_reaches_jetstream_once_in_order() {
    let url = common::database_url(true).await;
    let srv = Server::start_with(&url, |c| c.nats_url = Some(common::nats_url())).await;
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let org = srv.org(&sk, "Acme").await;
    for i in 0..20 {
        let u = srv.user(&sk, &format!("u{i}@example.com")).await;
        srv.membership(&sk, &u, &org, "member").await;
    }
    common::relay_caught_up(&srv.db).await;
    let want = project_events(&srv, &tid).await;
    assert!(want.len() > 40);
    let got = consume(&tid).await;
    assert_eq!(got, want, "JetStream holds exactly the committed events, in position order");
    // Each message is the event's envelope, as the events API and webhooks give it (the
    // relay writes the stored JSON columns through undecoded).
    let published: Vec<serde_json::Value> =
        common::jetstream_messages(&common::nats_url(), &tid).await.into_iter().map(|(v, _, _)| v).collect();
    assert_eq!(published, envelopes(&srv, &tid).await);

    // A restart that republishes from an old checkpoint is deduplicated by message id.
    sqlx::query("UPDATE projection_checkpoints SET position = 0 WHERE name = 'relay'")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    authio_projections::relay::relay_once(&srv.db, &srv.bus).await.unwrap();
    let again = consume(&tid).await;
    assert_eq!(again, want, "no duplicates after a republish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_the_in_process_bus_gets_every_envelope() {
    let srv = Server::start(false).await;
    let authio_projections::relay::Bus::Local(tx) = &srv.bus else { panic!("expected the in-process bus") };
    let mut rx = tx.subscribe();
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    srv.user(&sk, "a@example.com").await;
    common::relay_caught_up(&srv.db).await;
    let want = project_events(&srv, &tid).await;
    let mut got = Vec::new();
    while let Ok(Ok(e)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
        if e.project_id.as_deref() == Some(tid.as_str()) {
            got.push((e.id, e.position, e.kind));
        }
    }
    assert_eq!(got, want);
}

async fn relay_leaders(db: &authio_eventstore::Db) -> Vec<i32> {
    sqlx::query_scalar::<_, i32>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = 7243005 AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_leads_and_another_takes_over() {
    let url = common::database_url(true).await;
    let a = Server::start_with(&url, |c| c.nats_url = Some(common::nats_url())).await;
    let (_, tid, sk) = a.project("owner@example.com", "b2b").await;
    a.user(&sk, "one@example.com").await;
    common::relay_caught_up(&a.db).await;
    let first = relay_leaders(&a.db).await;
    assert_eq!(first.len(), 1, "a leads");
    let b = Server::start_with(&url, |c| c.nats_url = Some(common::nats_url())).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(relay_leaders(&b.db).await, first, "b stands by while a leads");
    drop(a); // the leader dies with its tasks and its connection
    let mut now = relay_leaders(&b.db).await;
    for _ in 0..100 {
        if now.len() == 1 && now != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        now = relay_leaders(&b.db).await;
    }
    assert!(now.len() == 1 && now != first, "b took over: {first:?} -> {now:?}");
    b.user(&sk, "two@example.com").await;
    common::relay_caught_up(&b.db).await;
    let want = project_events(&b, &tid).await;
    assert_eq!(consume(&tid).await, want);
}
