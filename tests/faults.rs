//! Fault tests, against real PostgreSQL and a real nats-server, with the real `authio`
//! binary: the server killed with SIGKILL during a burst, writers holding transactions
//! open at random, and nats-server restarted mid-burst. In every case JetStream ends up
//! with exactly the committed events, in position order (so per-aggregate order holds).
mod common;

use rand::Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A durable consumer name of the test's own.
fn consumer_name() -> String {
    format!("authio-webhooks-test-{}", ulid::Ulid::new().to_string().to_lowercase())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `authio serve` as its own process.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    /// `consumer`: the durable JetStream consumer of the webhook fan-out, this test's own
    /// (the stream is shared by every test on the nats-server).
    async fn start(database_url: &str, nats_url: &str, consumer: &str, port: u16) -> Proc {
        let child = Command::new(env!("CARGO_BIN_EXE_authio"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("NATS_URL", nats_url)
            .env("AUTHIO_WEBHOOK_CONSUMER", consumer)
            .env("AUTHIO_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "error")
            .env("AUTHIO_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("AUTHIO_WEBHOOK_LEASE", "2s")
            .env("AUTHIO_WEBHOOK_RETRY_SCHEDULE", "200ms,500ms,1s,1s,2s,2s,5s")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn authio");
        // Owned by `Proc` at once, so every path (a panic included) kills and reaps it.
        let proc = Proc { child, url: format!("http://127.0.0.1:{port}") };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if http.get(format!("{}/readyz", proc.url)).send().await.is_ok_and(|r| r.status() == StatusCode::OK) {
                return proc;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("authio serve did not become ready");
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tenant and a secret key, made through the CLI and the given server only (a second,
/// in-process server would run its own relay).
async fn project_via(url: &str, db_url: &str) -> (String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_authio"))
        .args(["operators", "token", "--email", "owner@example.com"])
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("authio operators token");
    let cs = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let http = reqwest::Client::new();
    let t: Value = http
        .post(format!("{url}/v1/session/tenants"))
        .bearer_auth(&cs)
        .json(&json!({"name": "Burst"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tid = t["id"].as_str().expect("tenant").to_string();
    let k: Value = http
        .post(format!("{url}/v1/session/tenants/{tid}/api-keys"))
        .bearer_auth(&cs)
        .json(&json!({"name": "burst", "environment": "test"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (tid, k["secret"].as_str().expect("secret").to_string())
}

/// POST/PATCH until the server answers (it may be down for a restart). Returns the body.
async fn call(http: &reqwest::Client, url: &str, method: reqwest::Method, path: &str, sk: &str, body: Value) -> Value {
    for _ in 0..600 {
        let r = http.request(method.clone(), format!("{url}{path}")).bearer_auth(sk).json(&body).send().await;
        if let Ok(r) = r {
            let s = r.status();
            if s.is_success() {
                return r.json().await.unwrap_or(Value::Null);
            }
            if s == StatusCode::CONFLICT {
                return Value::Null; // a retried create whose first attempt committed
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{path} never succeeded");
}

async fn consume(nats_url: &str, tid: &str) -> Vec<(String, i64)> {
    common::jetstream_messages(nats_url, tid)
        .await
        .into_iter()
        .map(|(v, _, _)| (v["id"].as_str().unwrap().to_string(), v["position"].as_i64().unwrap()))
        .collect()
}

/// The committed events of the project, by position, once the read models and the relay
/// have caught up with the event store.
async fn committed(db: &authio_eventstore::Db, tid: &str) -> Vec<(String, i64)> {
    for _ in 0..1500 {
        db.stamp().await.unwrap();
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&db.pool).await.unwrap();
        let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&db.pool).await.unwrap();
        let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM audit_events")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let relayed: Option<i64> =
            sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'relay'")
                .fetch_optional(&db.pool)
                .await
                .unwrap();
        if events == audited && relayed == Some(max) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sqlx::query(
        "SELECT e.event_id, a.position FROM audit_events a JOIN events e ON e.position = a.position \
         WHERE a.project_id = $1 ORDER BY a.position",
    )
    .bind(tid)
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

/// Per-aggregate order: along JetStream's order, each stream's sequence numbers rise.
async fn assert_per_aggregate_order(db: &authio_eventstore::Db, got: &[(String, i64)]) {
    let rows = sqlx::query("SELECT event_id, aggregate_type || ':' || aggregate_id, sequence FROM events")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let seq: std::collections::HashMap<String, (String, i64)> =
        rows.iter().map(|r| (r.get::<String, _>(0), (r.get::<String, _>(1), r.get::<i64, _>(2)))).collect();
    let mut last: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for (id, _) in got {
        let (stream, s) = &seq[id];
        let prev = last.insert(stream.clone(), *s).unwrap_or(0);
        assert!(*s > prev, "stream {stream} out of order: {s} after {prev}");
    }
}

/// `users` users, then `updates` updates each (200 × 25: about 5,200 events), from 16 concurrent clients.
async fn burst(url: &std::sync::Arc<tokio::sync::RwLock<String>>, sk: &str, users: usize, updates: usize) {
    let http = reqwest::Client::new();
    let mut ids = Vec::new();
    for chunk in (0..users).collect::<Vec<_>>().chunks(16) {
        let base = url.read().await.clone();
        let made = futures::future::join_all(chunk.iter().map(|i| {
            call(&http, &base, reqwest::Method::POST, "/v1/users", sk, json!({"email": format!("u{i}@example.com")}))
        }))
        .await;
        ids.extend(made.into_iter().filter_map(|v| v["id"].as_str().map(str::to_string)));
    }
    let paths: Vec<String> = ids.iter().map(|id| format!("/v1/users/{id}")).collect();
    for round in 0..updates {
        for chunk in paths.chunks(16) {
            let base = url.read().await.clone();
            futures::future::join_all(chunk.iter().map(|path| {
                call(&http, &base, reqwest::Method::PATCH, path, sk, json!({"first_name": format!("n{round}")}))
            }))
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_a_burst_loses_nothing() {
    let db_url = common::database_url(true).await;
    let nats = common::nats_url();
    let port = free_port();
    let consumer = consumer_name();
    let mut server = Proc::start(&db_url, &nats, &consumer, port).await;
    let (tid, sk) = project_via(&server.url, &db_url).await;
    let (hook_url, received) = common::webhook_receiver().await;
    let hook = reqwest::Client::new()
        .post(format!("{}/v1/webhook-endpoints", server.url))
        .bearer_auth(&sk)
        .json(&json!({"url": hook_url, "events": ["*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(hook.status(), StatusCode::CREATED);
    let hook: Value = hook.json().await.unwrap();
    let url = std::sync::Arc::new(tokio::sync::RwLock::new(server.url.clone()));
    let load = {
        let (url, sk) = (url.clone(), sk.clone());
        tokio::spawn(async move { burst(&url, &sk, 200, 25).await })
    };
    // Kill the server at random moments while the burst runs; bring it back each time.
    for _ in 0..3 {
        let (wait, pause) = {
            let mut rng = rand::thread_rng();
            (rng.gen_range(1500..4000), rng.gen_range(0..500))
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        if load.is_finished() {
            break;
        }
        server.kill();
        tokio::time::sleep(Duration::from_millis(pause)).await;
        server = Proc::start(&db_url, &nats, &consumer, port).await;
    }
    load.await.unwrap();
    let db = authio_eventstore::Db::connect(&db_url, 4).await.unwrap();
    let want = committed(&db, &tid).await;
    assert!(want.len() >= 5000, "the burst made {} events", want.len());
    let got = consume(&nats, &tid).await;
    assert_eq!(got.len(), want.len(), "every committed event reached JetStream exactly once");
    assert_eq!(got, want, "in position order");
    assert_per_aggregate_order(&db, &got).await;

    // Every event after the endpoint's creation reaches the receiver (counted by webhook-id).
    let from: i64 = sqlx::query_scalar("SELECT created_position FROM webhook_endpoints WHERE id = $1")
        .bind(hook["id"].as_str().unwrap())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let expected: std::collections::BTreeSet<String> =
        want.iter().filter(|(_, p)| *p > from).map(|(id, _)| id.clone()).collect();
    let mut missing = expected.len();
    for _ in 0..1200 {
        let seen = received.lock().unwrap().clone();
        missing = expected.iter().filter(|id| !seen.contains_key(*id)).count();
        if missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(missing, 0, "of {} events, {missing} never reached the webhook receiver", expected.len());
    let seen = received.lock().unwrap().clone();
    let repeated = seen.values().filter(|n| **n > 1).count();
    eprintln!("webhook deliveries: {} events, {repeated} delivered more than once (at least once)", expected.len());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn relay_output_equals_the_committed_set_with_writers_holding_transactions_open() {
    let db_url = common::database_url(true).await;
    let nats = common::nats_url();
    let srv = common::Server::start_with(&db_url, |c| {
        c.nats_url = Some(nats.clone());
        c.webhook_consumer = consumer_name();
    })
    .await;
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(srv.user(&sk, &format!("w{i}@example.com")).await);
    }
    // Foreign writers append user.updated events in transactions held open at random,
    // some rolled back, while the server's own commands go on.
    let writers: Vec<_> = users
        .iter()
        .cloned()
        .map(|user| {
            let db = srv.db.clone();
            tokio::spawn(async move {
                for _ in 0..20 {
                    let mut tx = db.pool.begin().await.unwrap();
                    let seq: i64 = sqlx::query_scalar(
                        "SELECT COALESCE(MAX(sequence), 0) + 1 FROM events WHERE aggregate_type = 'user' AND aggregate_id = $1",
                    )
                    .bind(&user)
                    .fetch_one(&mut *tx)
                    .await
                    .unwrap();
                    let id = format!("evt_{}", ulid::Ulid::new().to_string().to_lowercase());
                    let ok = sqlx::query(
                        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
                         payload, metadata, recorded_at) VALUES ($1, 'user', $2, $3, 'user.updated', '1.0', \
                         '{\"updated_at\": \"2026-11-22T00:00:00Z\"}', '{}', '2026-11-22T00:00:00.000000Z')",
                    )
                    .bind(&id)
                    .bind(&user)
                    .bind(seq)
                    .execute(&mut *tx)
                    .await
                    .is_ok();
                    let (hold, keep) = {
                        let mut rng = rand::thread_rng();
                        (rng.gen_range(0..40), rng.gen_bool(0.85))
                    };
                    tokio::time::sleep(Duration::from_millis(hold)).await;
                    if ok && keep {
                        let _ = tx.commit().await;
                    } else {
                        let _ = tx.rollback().await;
                    }
                }
            })
        })
        .collect();
    for i in 0..40 {
        srv.org(&sk, &format!("Org {i}")).await;
    }
    for w in writers {
        w.await.unwrap();
    }
    srv.db.stamp().await.unwrap();
    let want = committed(&srv.db, &tid).await;
    let got = consume(&nats, &tid).await;
    assert_eq!(got, want, "the relay's output equals the committed set");
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&srv.db.pool).await.unwrap();
    let audited: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(total, audited);
}

/// A nats-server of our own, so the test can kill and restart it.
fn nats_server(port: u16, dir: &std::path::Path) -> Child {
    let bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nats-server is required for this test (Debian package nats-server)");
    Command::new(bin)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server")
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nats-server did not start on {port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarting_nats_mid_burst_loses_nothing() {
    let dir = std::env::temp_dir().join(format!("authio_nats_{}", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let mut nats = nats_server(port, &dir);
    wait_for_port(port).await;
    let nats_url = format!("nats://127.0.0.1:{port}");
    let db_url = common::database_url(true).await;
    let srv = common::Server::start_with(&db_url, |c| {
        c.nats_url = Some(nats_url.clone());
        c.webhook_consumer = consumer_name();
    })
    .await;
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let url = std::sync::Arc::new(tokio::sync::RwLock::new(srv.url.clone()));
    let load = {
        let (url, sk) = (url.clone(), sk.clone());
        tokio::spawn(async move { burst(&url, &sk, 50, 10).await })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    nats.kill().unwrap();
    nats.wait().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut nats = nats_server(port, &dir);
    wait_for_port(port).await;
    load.await.unwrap();
    let want = committed(&srv.db, &tid).await;
    assert!(want.len() >= 500);
    let got = consume(&nats_url, &tid).await;
    assert_eq!(got, want, "nothing lost once nats-server is back");
    nats.kill().unwrap();
    let _ = nats.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
