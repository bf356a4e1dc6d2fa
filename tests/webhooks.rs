//! Signed webhooks end to end: a local receiver gets exactly one signed delivery per
//! matching event, in order, verified with the independent `standardwebhooks` crate;
//! failures are retried and logged, private targets are refused, rotated secrets
//! overlap, strangers get 404, manual retries and auto-disable work.
mod common;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode as AxumStatus};
use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }
    fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

/// A tiny HTTP server on 127.0.0.1:0 recording every request; it answers 500 while
/// `failures` is above zero (counting down), then 200.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(failures: usize) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let failures = Arc::new(AtomicUsize::new(failures));
        let (h, f) = (hits.clone(), failures.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (h, f) = (h.clone(), f.clone());
            async move {
                h.lock().unwrap().push(Hit { headers, body });
                if f.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                    AxumStatus::INTERNAL_SERVER_ERROR
                } else {
                    AxumStatus::OK
                }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url: format!("http://{addr}/hooks"), hits, task }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Wait (bounded) until at least `n` requests arrived.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..500 {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the receiver got {} requests, expected {n}", self.hits().len());
    }
}

async fn server(postgres: bool, schedule: &str) -> Server {
    let url = common::database_url(postgres).await;
    let schedule = schedule.to_string();
    Server::start_with(&url, move |c| {
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = schedule;
    })
    .await
}

/// PostgreSQL with NATS: the fan-out is a durable JetStream consumer (named here, so the
/// test can see when it has drained).
async fn server_with_nats(schedule: &str) -> (Server, String) {
    let url = common::database_url(true).await;
    let schedule = schedule.to_string();
    let consumer = format!("authio-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let name = consumer.clone();
    let srv = Server::start_with(&url, move |c| {
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = schedule;
        c.nats_url = Some(common::nats_url());
        c.webhook_consumer = name;
    })
    .await;
    (srv, consumer)
}

/// Wait (bounded) until JetStream holds everything, the consumer has drained and no
/// delivery is pending.
async fn settled_nats(srv: &Server, consumer: &str) {
    common::relay_caught_up(&srv.db).await;
    let js = async_nats::jetstream::new(async_nats::connect(common::nats_url()).await.unwrap());
    let stream = js.get_stream(authio_projections::relay::STREAM).await.unwrap();
    for _ in 0..500 {
        let drained = match stream.consumer_info(consumer).await {
            Ok(info) => info.num_pending == 0 && info.num_ack_pending == 0,
            Err(_) => false,
        };
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(&srv.db.pool)
            .await
            .unwrap();
        if drained && pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("webhook deliveries did not settle within 10 s");
}

async fn endpoint(srv: &Server, sk: &str, url: &str, events: &[&str]) -> (String, String) {
    let (s, e) = srv.post("/v1/webhook-endpoints", sk, json!({"url": url, "events": events})).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = common::id(&e);
    assert!(id.starts_with("whep_"), "{id}");
    let secret = e["secret"].as_str().unwrap().to_string();
    (id, secret)
}

/// Wait (bounded) until the dispatcher has fanned out everything and nothing is pending.
async fn settled(srv: &Server) {
    for _ in 0..500 {
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM audit_events")
            .fetch_one(&srv.db.pool)
            .await
            .unwrap();
        let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'webhooks'")
            .fetch_optional(&srv.db.pool)
            .await
            .unwrap();
        let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(&srv.db.pool)
            .await
            .unwrap();
        if cp.unwrap_or(0) >= last && pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("webhook deliveries did not settle within 10 s");
}

async fn deliveries(srv: &Server, sk: &str, endpoint: &str) -> Vec<Value> {
    let (s, d) = srv.get(&format!("/v1/webhook-endpoints/{endpoint}/deliveries?limit=100"), sk).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    d["data"].as_array().unwrap().clone()
}

fn verify(secret: &str, hit: &Hit) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret).expect("secret decodes").verify(&hit.body, &hit.headers)
}

fn ids(list: &Value) -> Vec<String> {
    list["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect()
}

// ---------------------------------------------------------------- the scenario

async fn three_signed_deliveries_in_order(postgres: bool) {
    let (srv, consumer) = if postgres {
        let (srv, c) = server_with_nats("100ms,200ms").await;
        (srv, Some(c))
    } else {
        (server(false, "100ms,200ms").await, None)
    };
    let rx = Receiver::start(0).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let alice = srv.user(&sk, "alice@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &alice, &globex, "member").await;
    let session = srv.sign_in(&sk, &pk, &alice).await;
    let (_, before) = srv.get("/v1/events?limit=100", &sk).await;
    let cursor = before["data"].as_array().unwrap().last().unwrap()["position"].as_i64().unwrap();

    let (whep, secret) = endpoint(&srv, &sk, &rx.url, &["membership.*", "session.org_switched"]).await;
    let raw = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(raw).unwrap().len(), 24);
    let (_, got) = srv.get(&format!("/v1/webhook-endpoints/{whep}"), &sk).await;
    assert!(got.get("secret").is_none(), "the secret is shown at creation only: {got}");
    assert_eq!(got["events"], json!(["membership.*", "session.org_switched"]));

    // Create a membership, change its role, switch a session's organization.
    let m = srv.membership(&sk, &alice, &acme, "member").await;
    let (s, _) = srv.patch(&format!("/v1/memberships/{m}"), &sk, json!({"role": "admin"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = srv
        .post("/v1/sessions/switch-org", session["access_token"].as_str().unwrap(), json!({"organization_id": acme}))
        .await;
    assert_eq!(s, StatusCode::OK);

    rx.wait_for(3).await;
    match &consumer {
        Some(c) => settled_nats(&srv, c).await,
        None => settled(&srv).await,
    }
    let hits = rx.hits();
    assert_eq!(hits.len(), 3, "exactly three deliveries");
    let types: Vec<String> = hits.iter().map(|h| h.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, vec!["membership.created", "membership.role_changed", "session.org_switched"]);
    for h in &hits {
        verify(&secret, h).expect("the signature verifies with standardwebhooks");
        assert_eq!(h.header("webhook-id"), h.json()["id"].as_str().unwrap());
        assert_eq!(h.header("content-type"), "application/json");
        assert!(h.header("webhook-signature").starts_with("v1,"));
        let ts: i64 = h.header("webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
    }
    // Any other key, a tampered body, or a stale (correctly signed) timestamp is refused.
    let other = standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    assert!(other.verify(&hits[0].body, &hits[0].headers).is_err());
    let mut tampered = hits[1].clone();
    tampered.body = Bytes::from(String::from_utf8(tampered.body.to_vec()).unwrap().replace("admin", "owner"));
    assert!(matches!(verify(&secret, &tampered), Err(standardwebhooks::WebhookError::InvalidSignature)));
    let mut stale = hits[2].clone();
    let old = chrono::Utc::now().timestamp() - 600;
    let wh = standardwebhooks::Webhook::new(&secret).unwrap();
    let sig = wh.sign(&stale.header("webhook-id"), old, &stale.body).unwrap();
    stale.headers.insert("webhook-timestamp", HeaderValue::from_str(&old.to_string()).unwrap());
    stale.headers.insert("webhook-signature", HeaderValue::from_str(&sig).unwrap());
    assert!(matches!(verify(&secret, &stale), Err(standardwebhooks::WebhookError::TimestampTooOldError)));

    // The events API and the audit log show the same three ids.
    let delivered: Vec<String> = hits.iter().map(|h| h.header("webhook-id")).collect();
    let (_, events) = srv.get(&format!("/v1/events?after={cursor}&types=membership.*,session.org_switched"), &sk).await;
    assert_eq!(ids(&events), delivered);
    let (_, audit) = srv.get("/v1/audit-events?limit=20", &sk).await;
    let audit_ids = ids(&audit);
    let mut in_audit: Vec<String> = audit_ids.into_iter().filter(|i| delivered.contains(i)).collect();
    in_audit.reverse();
    assert_eq!(in_audit, delivered);
    assert_eq!(hits[2].json(), events["data"][2], "the body is the envelope");

    // The delivery log: one delivered try each.
    let log = deliveries(&srv, &sk, &whep).await;
    assert_eq!(log.len(), 3);
    for d in &log {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["try"], 1);
        assert_eq!(d["status_code"], 200);
        assert_eq!(d["next_retry_at"], Value::Null);
        assert_eq!(d["attempts"][0]["status_code"], 200);
        assert!(d["attempts"][0]["latency_ms"].as_i64().unwrap() >= 0);
    }
    let mut log_ids: Vec<String> = log.iter().map(|d| d["event_id"].as_str().unwrap().to_string()).collect();
    log_ids.reverse();
    assert_eq!(log_ids, delivered);

    // No secret in any event or audit entry.
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM events").fetch_all(&srv.db.pool).await.unwrap();
    assert!(payloads.iter().all(|p| !p.contains("whsec_")));

    // `authio audit replay` equals the audit API; `authio projections rebuild` leaves
    // every read model equal to before.
    let (_, all) = srv.get("/v1/audit-events?limit=100", &sk).await;
    let mut api: Vec<Value> = all["data"].as_array().unwrap().clone();
    assert!(all["next_cursor"].is_null(), "one page holds this project's trail");
    api.reverse();
    let replay: Vec<Value> = srv.audit_replay(&tid, &[]).await;
    assert_eq!(replay, api);
    let before = srv.read_models().await;
    srv.cli(&["projections", "rebuild"]).await;
    assert_eq!(srv.read_models().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_sqlite() {
    three_signed_deliveries_in_order(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_postgres() {
    three_signed_deliveries_in_order(true).await;
}

// ---------------------------------------------------------------- retries

async fn failing_receiver_gets_everything_after_retries(postgres: bool) {
    let srv = server(postgres, "100ms,200ms,300ms,400ms,500ms").await;
    let rx = Receiver::start(3).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (whep, secret) = endpoint(&srv, &sk, &rx.url, &["user.created"]).await;
    let a = srv.user(&sk, "a@example.com").await;
    let b = srv.user(&sk, "b@example.com").await;
    rx.wait_for(5).await;
    settled(&srv).await;
    let hits = rx.hits();
    assert_eq!(hits.len(), 5, "three failures, then one success per event");
    for h in &hits {
        verify(&secret, h).unwrap();
    }
    let ok: Vec<String> = hits[3..].iter().map(|h| h.json()["data"]["user_id"].as_str().unwrap().to_string()).collect();
    let mut users = ok.clone();
    users.sort();
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(users, want, "every event delivered");

    let log = deliveries(&srv, &sk, &whep).await;
    assert_eq!(log.len(), 2);
    let tries: i64 = log.iter().map(|d| d["try"].as_i64().unwrap()).sum();
    assert_eq!(tries, 5, "every try is in the log");
    for d in &log {
        assert_eq!(d["status"], "delivered");
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len() as i64, d["try"].as_i64().unwrap());
        assert_eq!(attempts.last().unwrap()["status_code"], 200);
        for (i, a) in attempts.iter().enumerate() {
            assert_eq!(a["try"], i as i64 + 1);
        }
        for a in &attempts[..attempts.len() - 1] {
            assert_eq!(a["status_code"], 500);
        }
    }
    assert!(log.iter().any(|d| d["try"].as_i64().unwrap() > 1), "a retry is visible");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_sqlite() {
    failing_receiver_gets_everything_after_retries(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_postgres() {
    failing_receiver_gets_everything_after_retries(true).await;
}

// ---------------------------------------------------------------- manual retry, auto-disable

async fn manual_retry_sends_a_failed_delivery_again(postgres: bool) {
    let srv = server(postgres, "50ms").await;
    let rx = Receiver::start(2).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (whep, _) = endpoint(&srv, &sk, &rx.url, &["user.*"]).await;
    srv.user(&sk, "a@example.com").await;
    rx.wait_for(2).await;
    settled(&srv).await;
    let log = deliveries(&srv, &sk, &whep).await;
    assert_eq!(log[0]["status"], "failed", "two tries, both failed: {log:?}");
    assert_eq!(log[0]["try"], 2);
    let did = log[0]["id"].as_str().unwrap();

    let (s, d) = srv.post(&format!("/v1/webhook-endpoints/{whep}/deliveries/{did}/retry"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["status"], "pending");
    rx.wait_for(3).await;
    settled(&srv).await;
    let log = deliveries(&srv, &sk, &whep).await;
    assert_eq!(log[0]["status"], "delivered");
    assert_eq!(log[0]["try"], 3);
    let (s, v) = srv.post(&format!("/v1/webhook-endpoints/{whep}/deliveries/whdl_nope/retry"), &sk, json!({})).await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_retry_sqlite() {
    manual_retry_sends_a_failed_delivery_again(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_retry_postgres() {
    manual_retry_sends_a_failed_delivery_again(true).await;
}

async fn endpoint_failing_too_long_is_disabled(postgres: bool) {
    let url = common::database_url(postgres).await;
    let srv = Server::start_with(&url, |c| {
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = "50ms".into();
        c.webhook_disable_after = "0s".into();
    })
    .await;
    let rx = Receiver::start(usize::MAX).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (whep, _) = endpoint(&srv, &sk, &rx.url, &["user.created"]).await;
    srv.user(&sk, "a@example.com").await;
    let mut disabled = Value::Null;
    for _ in 0..250 {
        let (_, e) = srv.get(&format!("/v1/webhook-endpoints/{whep}"), &sk).await;
        if e["enabled"] == false {
            disabled = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(disabled["disabled_reason"], "failing", "{:?}", deliveries(&srv, &sk, &whep).await);
    let (_, audit) = srv.get("/v1/audit-events?action=webhook_endpoint.disabled", &sk).await;
    assert_eq!(audit["data"][0]["data"]["reason"], "failing");
    assert_eq!(audit["data"][0]["actor"]["type"], "system");
    // A disabled endpoint gets nothing new; enabling it again works.
    let before = rx.hits().len();
    srv.user(&sk, "b@example.com").await;
    settled(&srv).await;
    assert_eq!(rx.hits().len(), before);
    let (s, e) = srv.patch(&format!("/v1/webhook-endpoints/{whep}"), &sk, json!({"enabled": true})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(e["enabled"], true);
    assert_eq!(e["disabled_reason"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_disable_sqlite() {
    endpoint_failing_too_long_is_disabled(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_disable_postgres() {
    endpoint_failing_too_long_is_disabled(true).await;
}

// ---------------------------------------------------------------- secret rotation

async fn rotation_sends_both_signatures_during_the_overlap(postgres: bool) {
    let srv = server(postgres, "100ms").await;
    let rx = Receiver::start(0).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (whep, old) = endpoint(&srv, &sk, &rx.url, &["user.created"]).await;
    srv.user(&sk, "a@example.com").await;
    let first = rx.wait_for(1).await[0].clone();
    assert_eq!(first.header("webhook-signature").split(' ').count(), 1);

    let (s, r) = srv.post(&format!("/v1/webhook-endpoints/{whep}/rotate-secret"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let new = r["secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert!(r["previous_secret_expires_at"].as_str().is_some());
    srv.user(&sk, "b@example.com").await;
    let second = rx.wait_for(2).await[1].clone();
    let sigs: Vec<String> = second.header("webhook-signature").split(' ').map(str::to_string).collect();
    assert_eq!(sigs.len(), 2, "new and previous secret: {sigs:?}");
    assert!(sigs.iter().all(|s| s.starts_with("v1,")));
    verify(&new, &second).expect("verifies with the new secret");
    verify(&old, &second).expect("verifies with the previous secret during the overlap");
    assert!(verify(&new, &first).is_err());
    let (_, audit) = srv.get("/v1/audit-events?action=webhook_endpoint.secret_rotated", &sk).await;
    assert!(!audit.to_string().contains("whsec_"), "no secret in the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_sqlite() {
    rotation_sends_both_signatures_during_the_overlap(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_postgres() {
    rotation_sends_both_signatures_during_the_overlap(true).await;
}

// ---------------------------------------------------------------- validation and reach

async fn private_targets_and_bad_input_are_refused(postgres: bool) {
    let srv = Server::start(postgres).await; // AUTHIO_WEBHOOK_ALLOW_PRIVATE unset
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    for url in [
        "http://127.0.0.1:9000/hooks",
        "http://localhost/hooks",
        "http://[::1]/hooks",
        "http://10.0.0.8/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://[::ffff:192.168.0.1]/",
    ] {
        let (s, v) = srv.post("/v1/webhook-endpoints", &sk, json!({"url": url, "events": ["*"]})).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "webhook_url_not_allowed"), "{url}: {v}");
    }
    let long = format!("https://example.com/{}", "a".repeat(2040));
    for (body, field) in [
        (json!({"url": "ftp://example.com/x", "events": ["*"]}), "url"),
        (json!({"url": "/relative", "events": ["*"]}), "url"),
        (json!({"url": long, "events": ["*"]}), "url"),
        (json!({"url": "https://example.com/x", "events": []}), "events"),
        (json!({"url": "https://example.com/x", "events": ["nope.*"]}), "events"),
        (json!({"url": "https://example.com/x", "events": ["membership.nope"]}), "events"),
        (json!({"url": "https://example.com/x", "events": ["member*"]}), "events"),
    ] {
        let (s, v) = srv.post("/v1/webhook-endpoints", &sk, body.clone()).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{body}: {v}");
        assert_eq!(v["error"]["details"]["field"], field);
    }
    let (s, v) = srv.post("/v1/webhook-endpoints", &sk, json!({"url": 5})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"));

    // A host name that resolves to a private address passes creation but is refused
    // at delivery, after resolution: nothing is sent and the try records why.
    let rx = Receiver::start(0).await;
    let port = rx.url.trim_start_matches("http://127.0.0.1:").trim_end_matches("/hooks").to_string();
    let mut name = None;
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    for candidate in [hostname.trim(), "ip6-localhost", "ip6-loopback"] {
        if candidate.is_empty() || candidate == "localhost" {
            continue;
        }
        if let Ok(addrs) = tokio::net::lookup_host((candidate, 80)).await {
            let addrs: Vec<_> = addrs.collect();
            if !addrs.is_empty() && addrs.iter().all(|a| !authio_api::webhooks::is_public_ip(a.ip())) {
                name = Some(candidate.to_string());
                break;
            }
        }
    }
    // Debian's /etc/hosts maps the host name and ip6-localhost to loopback; without one of
    // them the delivery-time check cannot be exercised, and the test says so by failing.
    let name = name.expect("no local host name resolves to a private address; the delivery-time check needs one");
    let (whep, _) = endpoint(&srv, &sk, &format!("http://{name}:{port}/hooks"), &["user.created"]).await;
    srv.user(&sk, "a@example.com").await;
    let mut log = Vec::new();
    for _ in 0..250 {
        log = deliveries(&srv, &sk, &whep).await;
        if log.first().is_some_and(|d| d["try"].as_i64().unwrap_or(0) >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let d = &log[0];
    assert_eq!(d["attempts"][0]["status_code"], Value::Null, "{d}");
    assert!(d["attempts"][0]["error"].as_str().unwrap().contains("no public address"), "{d}");
    assert_eq!(d["status"], "pending", "retried later");
    assert!(d["next_retry_at"].as_str().is_some());
    assert!(rx.hits().is_empty(), "nothing reached the private target");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_sqlite() {
    private_targets_and_bad_input_are_refused(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_postgres() {
    private_targets_and_bad_input_are_refused(true).await;
}

async fn another_projects_key_gets_404(postgres: bool) {
    let srv = server(postgres, "100ms").await;
    let rx = Receiver::start(0).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let (_, _, other) = srv.project("stranger@example.com", "b2b").await;
    let (whep, _) = endpoint(&srv, &sk, &rx.url, &["user.created"]).await;
    srv.user(&sk, "a@example.com").await;
    rx.wait_for(1).await;
    settled(&srv).await;
    let did = deliveries(&srv, &sk, &whep).await[0]["id"].as_str().unwrap().to_string();
    let base = format!("/v1/webhook-endpoints/{whep}");
    for (s, v) in [
        srv.get(&base, &other).await,
        srv.patch(&base, &other, json!({"enabled": false})).await,
        srv.post(&format!("{base}/rotate-secret"), &other, json!({})).await,
        srv.get(&format!("{base}/deliveries"), &other).await,
        srv.post(&format!("{base}/deliveries/{did}/retry"), &other, json!({})).await,
        srv.delete(&base, &other).await,
    ] {
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    }
    let (_, list) = srv.get("/v1/webhook-endpoints", &other).await;
    assert_eq!(list["data"], json!([]));
    let (_, list) = srv.get("/v1/webhook-endpoints", &sk).await;
    assert_eq!(ids(&list), vec![whep.clone()]);
    // The owner may still do all of it; deleting removes it.
    let (s, e) = srv.patch(&base, &sk, json!({"events": ["*"], "url": rx.url})).await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["events"], json!(["*"]));
    assert_eq!(srv.delete(&base, &sk).await.0, StatusCode::NO_CONTENT);
    assert_eq!(srv.get(&base, &sk).await.0, StatusCode::NOT_FOUND);
    let secrets: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM webhook_secrets").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(secrets, 0, "the secret is gone with the endpoint");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoping_sqlite() {
    another_projects_key_gets_404(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoping_postgres() {
    another_projects_key_gets_404(true).await;
}

// ---------------------------------------------------------------- two processes, one JetStream consumer

/// Two servers on one PostgreSQL database and one NATS: the fan-out is the durable
/// JetStream consumer they share (a name of this test's own, so parallel tests on the
/// same nats-server do not take each other's messages). Every event after the endpoint's
/// creation reaches the receiver exactly once — no process dies here, so no lease ever
/// runs out and nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_share_the_jetstream_consumer_postgres() {
    let url = common::database_url(true).await;
    let consumer = format!("authio-webhooks-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let start = |url: String, consumer: String| async move {
        Server::start_with(&url, move |c| {
            c.nats_url = Some(common::nats_url());
            c.webhook_allow_private = true;
            c.webhook_retry_schedule = "100ms,200ms,500ms".into();
            c.webhook_consumer = consumer;
        })
        .await
    };
    let a = start(url.clone(), consumer.clone()).await;
    let b = start(url.clone(), consumer.clone()).await;
    let rx = Receiver::start(0).await;
    let (_, tid, sk) = a.project("owner@example.com", "b2b").await;
    a.user(&sk, "before@example.com").await; // before the endpoint: never delivered
    let (whep, secret) = endpoint(&b, &sk, &rx.url, &["*"]).await;

    // About 200 events, half through each server, 16 at a time.
    for chunk in (0..100).collect::<Vec<_>>().chunks(16) {
        futures::future::join_all(chunk.iter().map(|i| {
            let (srv, other) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
            let sk = sk.clone();
            async move {
                let user = srv.user(&sk, &format!("u{i}@example.com")).await;
                let (s, v) =
                    other.patch(&format!("/v1/users/{user}"), &sk, json!({"first_name": format!("n{i}")})).await;
                assert_eq!(s, StatusCode::OK, "{v}");
            }
        }))
        .await;
    }

    common::audit_caught_up(&a.db).await;
    let from: i64 = sqlx::query_scalar("SELECT created_position FROM webhook_endpoints WHERE id = $1")
        .bind(&whep)
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    let expected: Vec<(i64, String)> = sqlx::query_as(
        "SELECT a.position, e.event_id FROM audit_events a JOIN events e ON e.position = a.position \
         WHERE a.project_id = $1 AND a.position > $2 ORDER BY a.position",
    )
    .bind(&tid)
    .bind(from)
    .fetch_all(&a.db.pool)
    .await
    .unwrap();
    assert!(expected.len() >= 200, "{} events after the endpoint", expected.len());
    let counts = |hits: &[Hit]| {
        let mut n = std::collections::HashMap::<String, usize>::new();
        for h in hits {
            *n.entry(h.header("webhook-id")).or_default() += 1;
        }
        n
    };
    let mut missing = expected.len();
    for _ in 0..1000 {
        let seen = counts(&rx.hits());
        missing = expected.iter().filter(|(_, id)| !seen.contains_key(id)).count();
        if missing == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(missing, 0, "of {} events, {missing} never reached the receiver", expected.len());
    // Let anything redelivered or sent twice show up before counting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = rx.hits();
    let seen = counts(&hits);
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let want: std::collections::BTreeSet<&String> = expected.iter().map(|(_, id)| id).collect();
    let got: std::collections::BTreeSet<&String> = seen.keys().collect();
    assert_eq!(got, want, "exactly the events after the endpoint's creation");
    for h in hits.iter().take(5) {
        verify(&secret, h).unwrap();
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1")
        .bind(&whep)
        .fetch_one(&a.db.pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, expected.len(), "one delivery row per event");
    let order: Vec<i64> = {
        let pos: std::collections::HashMap<&String, i64> = expected.iter().map(|(p, id)| (id, *p)).collect();
        hits.iter().map(|h| pos[&h.header("webhook-id")]).collect()
    };
    let inversions = order.windows(2).filter(|w| w[0] > w[1]).count();
    eprintln!("{} deliveries through two processes; {inversions} sent after a later position", order.len());

    drop((a, b));
    let js = async_nats::jetstream::new(async_nats::connect(common::nats_url()).await.unwrap());
    let stream = js.get_stream(authio_projections::relay::STREAM).await.unwrap();
    let _ = stream.delete_consumer(&consumer).await;
}

/// With NATS, a batch whose deliveries cannot be written (here: the table is away) is not
/// acknowledged; JetStream redelivers it and nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_redelivers_what_could_not_be_written_postgres() {
    let url = common::database_url(true).await;
    let consumer = format!("authio-webhooks-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let name = consumer.clone();
    let srv = Server::start_with(&url, move |c| {
        c.nats_url = Some(common::nats_url());
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = "100ms".into();
        c.webhook_consumer = name;
    })
    .await;
    let rx = Receiver::start(0).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    endpoint(&srv, &sk, &rx.url, &["user.created"]).await;
    sqlx::query("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(srv.user(&sk, &format!("u{i}@example.com")).await);
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(rx.hits().is_empty());
    sqlx::query("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    rx.wait_for(5).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let mut got: Vec<String> =
        rx.hits().iter().map(|h| h.json()["data"]["user_id"].as_str().unwrap().to_string()).collect();
    got.sort();
    users.sort();
    assert_eq!(got, users, "each event delivered once after the redelivery");
    drop(srv);
    let js = async_nats::jetstream::new(async_nats::connect(common::nats_url()).await.unwrap());
    let stream = js.get_stream(authio_projections::relay::STREAM).await.unwrap();
    let _ = stream.delete_consumer(&consumer).await;
}

/// The read models held back (here: the webhook endpoints' table is away, so the
/// pipeline cannot project the new endpoint; a long transaction elsewhere in the cluster
/// holding the stamp back does the same, but for every database of the cluster, so other
/// tests would stall). Creating an endpoint then still answers `201` with the endpoint
/// as committed once the wait for the read models gives up, and the endpoint shows up
/// in the read model once the table is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_an_endpoint_while_the_read_models_are_held_back_postgres() {
    let srv = server(true, "1s").await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    sqlx::query("ALTER TABLE webhook_endpoints RENAME TO webhook_endpoints_away").execute(&srv.db.pool).await.unwrap();
    let (s, e) = srv
        .post("/v1/webhook-endpoints", &sk, json!({"url": "http://127.0.0.1:9/hook", "events": ["membership.*"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let id = common::id(&e);
    assert_eq!((e["url"].as_str(), e["enabled"].as_bool()), (Some("http://127.0.0.1:9/hook"), Some(true)), "{e}");
    assert_eq!(e["events"], json!(["membership.*"]));
    assert!(e["secret"].as_str().is_some_and(|s| s.starts_with("whsec_")), "{e}");
    sqlx::query("ALTER TABLE webhook_endpoints_away RENAME TO webhook_endpoints").execute(&srv.db.pool).await.unwrap();
    let mut got = None;
    for _ in 0..250 {
        let (s, v) = srv.get(&format!("/v1/webhook-endpoints/{id}"), &sk).await;
        if s == StatusCode::OK {
            got = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let v = got.expect("the endpoint reaches the read model once its table is back");
    assert_eq!((&v["url"], &v["events"], &v["created_at"]), (&e["url"], &e["events"], &e["created_at"]), "{v}");
}

// ---------------------------------------------------------------- organization administration

/// Every event type of organization administration reaches a subscriber, signed, and in
/// the order the changes were made (one organization's changes, one by one).
async fn org_admin_events_signed_in_order(postgres: bool) {
    let (srv, consumer) = if postgres {
        let (srv, c) = server_with_nats("100ms,200ms").await;
        (srv, Some(c))
    } else {
        (server(false, "100ms,200ms").await, None)
    };
    let rx = Receiver::start(0).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let joe = srv.user(&sk, "joe@example.com").await;
    srv.membership(&sk, &joe, &acme, "member").await;
    let filters = ["invitation.*", "role.*", "permission.*", "team.*", "tenant.settings_changed"];
    let (_, secret) = endpoint(&srv, &sk, &rx.url, &filters).await;

    let ok = |what: &str, (s, v): (StatusCode, Value)| {
        assert!(s.is_success(), "{what}: {s} {v}");
        v
    };
    ok("settings", srv.patch("/v1/settings", &sk, json!({"teams_in_tokens": true})).await);
    ok("permission", srv.post("/v1/permissions", &sk, json!({"slug": "reports:read"})).await);
    let role = json!({"slug": "analyst", "name": "Analyst", "permissions": ["reports:read"]});
    ok("role", srv.post("/v1/roles", &sk, role).await);
    ok("role", srv.patch("/v1/roles/analyst", &sk, json!({"name": "Analysts"})).await);
    ok("default", srv.patch("/v1/settings", &sk, json!({"default_role": "analyst"})).await);
    ok("default", srv.patch("/v1/settings", &sk, json!({"default_role": "member"})).await);
    ok("role", srv.delete("/v1/roles/analyst", &sk).await);
    ok("permission", srv.delete("/v1/permissions/reports:read", &sk).await);
    let inv = ok(
        "invite",
        srv.post("/v1/invitations", &sk, json!({"email": "ann@example.com", "organization_id": acme})).await,
    );
    let inv = common::id(&inv);
    ok("resend", srv.post(&format!("/v1/invitations/{inv}/resend"), &sk, json!({})).await);
    ok("revoke", srv.post(&format!("/v1/invitations/{inv}/revoke"), &sk, json!({})).await);
    let team = ok("team", srv.post(&format!("/v1/organizations/{acme}/teams"), &sk, json!({"name": "Core"})).await);
    let team = format!("/v1/organizations/{acme}/teams/{}", common::id(&team));
    ok("rename", srv.patch(&team, &sk, json!({"name": "Core team"})).await);
    ok("add", srv.post(&format!("{team}/members"), &sk, json!({"user_id": joe})).await);
    ok("remove", srv.delete(&format!("{team}/members/{joe}"), &sk).await);
    ok("delete", srv.delete(&team, &sk).await);

    let want = [
        "tenant.settings_changed",
        "permission.created",
        "role.created",
        "role.updated",
        "role.default_changed",
        "role.default_changed",
        "role.deleted",
        "permission.deleted",
        "invitation.created",
        "invitation.resent",
        "invitation.revoked",
        "team.created",
        "team.updated",
        "team.member_added",
        "team.member_removed",
        "team.deleted",
    ];
    rx.wait_for(want.len()).await;
    match &consumer {
        Some(c) => settled_nats(&srv, c).await,
        None => settled(&srv).await,
    }
    let hits = rx.hits();
    let types: Vec<String> = hits.iter().map(|h| h.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, want, "each once, in the order of the changes");
    for h in &hits {
        verify(&secret, h).expect("the signature verifies with standardwebhooks");
        assert_eq!(h.header("webhook-id"), h.json()["id"].as_str().unwrap());
    }
    // The organization's events name it; the code of an invitation is in none of them.
    for h in hits.iter().filter(|h| h.json()["type"].as_str().unwrap().starts_with("team.")) {
        assert_eq!(h.json()["organization_id"], json!(acme), "{}", h.json());
    }
    assert!(hits.iter().all(|h| !String::from_utf8_lossy(&h.body).contains("\"code\"")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_admin_events_signed_in_order_postgres_nats() {
    org_admin_events_signed_in_order(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_admin_events_signed_in_order_sqlite() {
    org_admin_events_signed_in_order(false).await;
}

/// Every directory event type (SCIM users and groups, mappings) reaches a subscriber,
/// signed, in the order of the changes, with the directory as the actor of its own.
async fn directory_events_signed_in_order(postgres: bool) {
    let (srv, consumer) = if postgres {
        let (srv, c) = server_with_nats("100ms,200ms").await;
        (srv, Some(c))
    } else {
        (server(false, "100ms,200ms").await, None)
    };
    let rx = Receiver::start(0).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let (_, secret) = endpoint(&srv, &sk, &rx.url, &["directory.*"]).await;
    let ok = |what: &str, (s, v): (StatusCode, Value)| {
        assert!(s.is_success(), "{what}: {s} {v}");
        v
    };
    let dir =
        ok("directory", srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await);
    let dir_id = common::id(&dir);
    let dir_path = format!("/v1/organizations/{acme}/directories/{dir_id}");
    let dir = ok("rotate", srv.post(&format!("{dir_path}/rotate-token"), &sk, json!({})).await);
    let token = dir["token"].as_str().unwrap().to_string();
    let base = format!("/scim/v2/{dir_id}");
    let scim_ok = |what: &'static str, (s, _, v): (StatusCode, String, Value)| {
        assert!(s.is_success(), "{what}: {s} {v}");
        v
    };
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ada@acme.example"});
    let ada =
        scim_ok("user", common::scim(&srv, Some(&token), Method::POST, &format!("{base}/Users"), Some(user)).await);
    let ada = ada["id"].as_str().unwrap().to_string();
    ok(
        "mappings",
        srv.put(&format!("{dir_path}/group-mappings"), &sk, json!({"mappings": [{"group": "Eng", "role": "admin"}]}))
            .await,
    );
    let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Eng"});
    let g =
        scim_ok("group", common::scim(&srv, Some(&token), Method::POST, &format!("{base}/Groups"), Some(group)).await);
    let g = format!("{base}/Groups/{}", g["id"].as_str().unwrap());
    let ops = |o: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": o});
    let add = ops(json!([{"op": "add", "path": "members", "value": [{"value": ada}]}]));
    scim_ok("add", common::scim(&srv, Some(&token), Method::PATCH, &g, Some(add)).await);
    let rename = ops(json!([{"op": "replace", "path": "externalId", "value": "00g1"}]));
    scim_ok("rename", common::scim(&srv, Some(&token), Method::PATCH, &g, Some(rename)).await);
    let remove = ops(json!([{"op": "remove", "path": "members"}]));
    scim_ok("remove", common::scim(&srv, Some(&token), Method::PATCH, &g, Some(remove)).await);
    common::scim(&srv, Some(&token), Method::DELETE, &g, None).await;
    common::scim(&srv, Some(&token), Method::DELETE, &format!("{base}/Users/{ada}"), None).await;
    ok("delete", srv.delete(&dir_path, &sk).await);

    let want = [
        "directory.created",
        "directory.token_rotated",
        "directory.user_linked",
        "directory.group_mappings_changed",
        "directory.group_created",
        "directory.group_member_added",
        "directory.group_updated",
        "directory.group_member_removed",
        "directory.group_deleted",
        "directory.user_unlinked",
        "directory.deleted",
    ];
    rx.wait_for(want.len()).await;
    match &consumer {
        Some(c) => settled_nats(&srv, c).await,
        None => settled(&srv).await,
    }
    let hits = rx.hits();
    let types: Vec<String> = hits.iter().map(|h| h.json()["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, want, "each once, in the order of the changes");
    for h in &hits {
        verify(&secret, h).expect("the signature verifies with standardwebhooks");
        let e = h.json();
        assert_eq!(e["organization_id"], json!(acme), "{e}");
        let scim = [
            "directory.user_linked",
            "directory.group_created",
            "directory.group_member_added",
            "directory.group_updated",
            "directory.group_member_removed",
            "directory.group_deleted",
            "directory.user_unlinked",
        ];
        let by_directory = scim.contains(&e["type"].as_str().unwrap());
        if by_directory {
            assert_eq!(e["actor"], json!({"type": "directory", "id": dir_id}), "{e}");
        }
    }
    assert!(hits.iter().all(|h| !String::from_utf8_lossy(&h.body).contains(&token)), "the token is in no event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_events_signed_in_order_postgres_nats() {
    directory_events_signed_in_order(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_events_signed_in_order_sqlite() {
    directory_events_signed_in_order(false).await;
}
