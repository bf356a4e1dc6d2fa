//! Database outage, end to end (issue 16, point 1: database faults are answers, not
//! crashes). The test starts a throwaway PostgreSQL cluster of its own (`initdb`,
//! `pg_ctl`; as the `postgres` OS user when run as root), runs an Authio server on it,
//! and stops PostgreSQL under a load of requests — once with `pg_ctl -m fast`, once with
//! `-m immediate` (a crash) — then starts it again. Throughout: nothing panics, every
//! answer is 200/201 or `503 unavailable` with `Retry-After`, `/healthz` answers 200,
//! `/readyz` answers 503 while PostgreSQL is down; after each restart requests succeed
//! again within 5 s without restarting the server; and in the end the users are exactly
//! the created ones (each `201` a user, each user its `user.created` event, and the audit
//! log lists them all).
mod common;

use common::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every request of the test gives up after this long (a longer wait is a hang).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long PostgreSQL stays down in each cycle.
const DOWN_FOR: Duration = Duration::from_secs(3);
/// After a restart, requests must succeed again within this long.
const RECOVERY_LIMIT: Duration = Duration::from_secs(5);
/// The load stops at the latest this long after it started.
const LOAD_LIMIT: Duration = Duration::from_secs(40);

/// Panics anywhere in the process (a handler, a background task), counted by a hook.
static PANICS: AtomicUsize = AtomicUsize::new(0);

// ---------------------------------------------------------------- the cluster

/// The directory holding `initdb` and `pg_ctl`: the newest `/usr/lib/postgresql/*/bin`,
/// else the `PATH`. Panics (fails the test) when there is none: this test never skips.
fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: Option<Vec<u64>> =
                e.file_name().to_string_lossy().split('.').map(|p| p.parse::<u64>().ok()).collect();
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version?, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return bin;
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
            return dir;
        }
    }
    panic!(
        "this test starts a PostgreSQL cluster of its own and needs the server binaries initdb and pg_ctl: \
         none in /usr/lib/postgresql/*/bin nor on PATH (Debian: apt-get install postgresql). \
         The test does not skip."
    );
}

fn succeeded(out: &Output) -> bool {
    out.status.success()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A throwaway PostgreSQL cluster on 127.0.0.1:`port`, data and socket in `dir`.
/// Dropping it stops the server (immediate) and removes the directory, a panic included.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// The OS user that runs the server, when this process is root (PostgreSQL refuses
    /// to run as root).
    user: Option<String>,
}

impl Cluster {
    async fn start() -> Cluster {
        let bin = pg_bin_dir();
        let root =
            Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let user = root.then(|| {
            let postgres = Command::new("id").args(["-u", "postgres"]).output().is_ok_and(|o| succeeded(&o));
            if postgres { "postgres" } else { "nobody" }.to_string()
        });
        let dir = std::env::temp_dir().join(format!("authio_test_pg_{}", ulid::Ulid::new().to_string().to_lowercase()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        // Owned at once, so every path from here (a panic included) cleans up.
        let cluster = Cluster { bin, dir, port, user };
        if let Some(u) = &cluster.user {
            let out = Command::new("chown").arg(format!("{u}:")).arg(&cluster.dir).output().expect("run chown");
            assert!(succeeded(&out), "chown {u}: {}: {}", cluster.dir.display(), text(&out));
        }
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.dir.join("data"))
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"])
            .output()
            .unwrap_or_else(|e| panic!("run {}/initdb: {e}", cluster.bin.display()));
        assert!(succeeded(&out), "initdb failed: {}", text(&out));
        cluster.pg_ctl_start().await;
        cluster
    }

    /// `program` of the PostgreSQL bin dir, as the service user when root, in `dir`.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut c = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        c.current_dir(&self.dir);
        c
    }

    fn pg_ctl(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = self.command("pg_ctl");
        c.arg("-D").arg(self.dir.join("data")).args(args);
        c.stdin(std::process::Stdio::null());
        tokio::process::Command::from(c)
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    async fn pg_ctl_start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("postgres.log");
        let log = log.to_str().expect("a UTF-8 temp dir");
        let out =
            self.pg_ctl(&["-l", log, "-w", "-t", "60", "-o", &options, "start"]).output().await.expect("run pg_ctl");
        assert!(succeeded(&out), "pg_ctl start failed: {}\npostgres.log:\n{}", text(&out), self.log_tail());
    }

    /// `pg_ctl stop -m mode`: `fast` (sessions terminated, a clean shutdown) or
    /// `immediate` (every process quits at once: a crash, recovered at the next start).
    async fn pg_ctl_stop(&self, mode: &str) {
        let out = self.pg_ctl(&["-m", mode, "-w", "-t", "60", "stop"]).output().await.expect("run pg_ctl");
        assert!(succeeded(&out), "pg_ctl stop -m {mode} failed: {}\npostgres.log:\n{}", text(&out), self.log_tail());
    }

    fn base_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Fails harmlessly when the server is not running.
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdin(std::process::Stdio::null())
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------- the answers

/// Where the outage is. A cycle is Stopping → Down → Starting → Up.
const BEFORE: u8 = 0;
const STOPPING: u8 = 1;
const DOWN: u8 = 2;
const STARTING: u8 = 3;
const UP: u8 = 4;

fn stage(cycle: u8, step: u8) -> u8 {
    cycle * 10 + step
}

fn is_down(stage: u8) -> bool {
    stage % 10 == DOWN
}

#[derive(Debug, Clone)]
struct Answer {
    what: String,
    /// The email of a `POST /v1/users`.
    email: Option<String>,
    /// The stage when the request was sent and when its answer came.
    sent: u8,
    answered: u8,
    took: Duration,
    /// Status, body, `Retry-After`; or the transport error (a timeout, a closed connection).
    result: Result<(StatusCode, Value, Option<String>), String>,
}

#[derive(Clone)]
struct Load {
    url: String,
    sk: String,
    http: reqwest::Client,
    stage: Arc<AtomicU8>,
    stop: Arc<AtomicBool>,
    answers: Arc<Mutex<Vec<Answer>>>,
}

impl Load {
    async fn send(&self, what: &str, email: Option<String>, req: reqwest::RequestBuilder) -> Answer {
        let sent = self.stage.load(Ordering::SeqCst);
        let started = Instant::now();
        let result = match req.send().await {
            Ok(res) => {
                let status = res.status();
                let retry_after =
                    res.headers().get(reqwest::header::RETRY_AFTER).map(|v| v.to_str().unwrap_or("?").to_string());
                match res.text().await {
                    Ok(t) => {
                        let body = if t.is_empty() {
                            Value::Null
                        } else {
                            serde_json::from_str(&t).unwrap_or(Value::String(t))
                        };
                        Ok((status, body, retry_after))
                    }
                    Err(e) => Err(format!("reading the body of a {status}: {e:?}")),
                }
            }
            Err(e) => Err(format!("{e:?}")),
        };
        let answer = Answer {
            what: what.to_string(),
            email,
            sent,
            answered: self.stage.load(Ordering::SeqCst),
            took: started.elapsed(),
            result,
        };
        self.answers.lock().unwrap().push(answer.clone());
        answer
    }

    async fn create_user(&self, email: String) -> Answer {
        let req = self.http.post(format!("{}/v1/users", self.url)).bearer_auth(&self.sk).json(&json!({"email": email}));
        self.send("POST /v1/users", Some(email), req).await
    }

    async fn list_users(&self, limit: u32) -> Answer {
        let req = self.http.get(format!("{}/v1/users?limit={limit}", self.url)).bearer_auth(&self.sk);
        self.send(&format!("GET /v1/users?limit={limit}"), None, req).await
    }

    async fn readyz(&self) -> Answer {
        self.send("GET /readyz", None, self.http.get(format!("{}/readyz", self.url))).await
    }

    async fn healthz(&self) -> Answer {
        self.send("GET /healthz", None, self.http.get(format!("{}/healthz", self.url))).await
    }
}

fn status_of(a: &Answer) -> Option<StatusCode> {
    a.result.as_ref().ok().map(|(s, _, _)| *s)
}

/// After `pg_ctl start` returned: poll (every 100 ms, up to 10 s) until `/readyz`, a
/// list and a create all succeed in one round. The time it took, or `None`.
async fn recovery(load: &Load, cycle: u8) -> Option<Duration> {
    let t0 = Instant::now();
    let mut round = 0;
    while t0.elapsed() < Duration::from_secs(10) {
        round += 1;
        let ready = status_of(&load.readyz().await) == Some(StatusCode::OK);
        let listed = status_of(&load.list_users(1).await) == Some(StatusCode::OK);
        let created = status_of(&load.create_user(format!("probe{cycle}-{round}@example.com")).await)
            == Some(StatusCode::CREATED);
        if ready && listed && created {
            return Some(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Every user of the project through `GET /v1/users?limit=100` pages: email → id.
async fn all_users(srv: &Server, sk: &str) -> BTreeMap<String, String> {
    let mut users = BTreeMap::new();
    let mut after = String::new();
    for _ in 0..1000 {
        let (s, page) = srv.get(&format!("/v1/users?limit=100&after={after}"), sk).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for u in page["data"].as_array().expect("data") {
            let email = u["email"].as_str().expect("email").to_string();
            assert!(users.insert(email, common::id(u)).is_none(), "a user listed twice: {u}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = c.to_string(),
            None => return users,
        }
    }
    panic!("more than 1000 pages of users");
}

/// The user ids of every `user.created` in the events API (`limit=100` pages).
async fn created_in_events(srv: &Server, sk: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut after = String::new();
    for _ in 0..1000 {
        let (s, page) = srv.get(&format!("/v1/events?types=user.created&limit=100&after={after}"), sk).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        for e in page["data"].as_array().expect("data") {
            assert_eq!(e["type"], "user.created", "{e}");
            let id = e["data"]["user_id"].as_str().unwrap_or_else(|| panic!("no data.user_id in {e}"));
            assert!(ids.insert(id.to_string()), "an event listed twice: {e}");
        }
        match page["next_cursor"].as_str() {
            Some(c) => after = c.to_string(),
            None => return ids,
        }
    }
    panic!("more than 1000 pages of events");
}

// ---------------------------------------------------------------- the test

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_answers_503_and_recovers_without_loss() {
    outage(false).await;
}

/// The same with the relay publishing to NATS JetStream and the webhook fan-out pulling
/// from it: every event reaches the stream once, and every delivery is made once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_under_load_with_nats_loses_and_doubles_nothing() {
    outage(true).await;
}

async fn outage(nats: bool) {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }

    let cluster = Cluster::start().await;
    let base = cluster.base_url();
    {
        use sqlx::{Connection, Executor};
        let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres")).await.expect("connect to the cluster");
        admin.execute("CREATE DATABASE authio").await.expect("create database");
        admin.close().await.expect("close");
    }
    let consumer = format!("authio-webhooks-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let mut srv = Server::start_with(&format!("{base}/authio"), |c| {
        if nats {
            c.nats_url = Some(common::nats_url());
            c.webhook_consumer = consumer.clone();
        }
        c.webhook_allow_private = true;
        c.webhook_retry_schedule = "200ms,500ms,1s,1s,2s,2s,5s".into();
        c.webhook_lease = "8s".into();
    })
    .await;
    srv.http = reqwest::Client::builder().timeout(CLIENT_TIMEOUT).build().expect("client");
    let (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    // A webhook endpoint for every user.created: each must be delivered exactly once,
    // whatever the outage did to the fan-out and the sender.
    let (hook_url, delivered) = common::webhook_receiver().await;
    let (s, ep) = srv.post("/v1/webhook-endpoints", &sk, json!({"url": hook_url, "events": ["user.*"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{ep}");

    let load = Load {
        url: srv.url.clone(),
        sk: sk.clone(),
        http: srv.http.clone(),
        stage: Arc::new(AtomicU8::new(BEFORE)),
        stop: Arc::new(AtomicBool::new(false)),
        answers: Arc::default(),
    };
    let load_started = Instant::now();

    // Four writers/readers: create a user, list five, again, until told to stop.
    let mut workers = Vec::new();
    for task in 0..4 {
        let load = load.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !load.stop.load(Ordering::SeqCst) && load_started.elapsed() < LOAD_LIMIT {
                n += 1;
                load.create_user(format!("load{task}-{n}@example.com")).await;
                load.list_users(5).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    // Liveness and readiness every 100 ms, each probe on its own (a slow one does not
    // hold up the next).
    let monitor = {
        let load = load.clone();
        tokio::spawn(async move {
            let mut probes = Vec::new();
            while !load.stop.load(Ordering::SeqCst) && load_started.elapsed() < LOAD_LIMIT {
                let l = load.clone();
                probes.push(tokio::spawn(async move {
                    l.healthz().await;
                }));
                let l = load.clone();
                probes.push(tokio::spawn(async move {
                    l.readyz().await;
                }));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for p in probes {
                p.await.expect("probe task");
            }
        })
    };

    let mut recoveries = Vec::new();
    let mut downtimes = Vec::new();
    for (cycle, mode) in [(1u8, "fast"), (2u8, "immediate")] {
        tokio::time::sleep(Duration::from_secs(1)).await;
        load.stage.store(stage(cycle, STOPPING), Ordering::SeqCst);
        let stopping = Instant::now();
        cluster.pg_ctl_stop(mode).await;
        load.stage.store(stage(cycle, DOWN), Ordering::SeqCst);
        eprintln!("cycle {cycle}: pg_ctl stop -m {mode} took {:?}", stopping.elapsed());
        tokio::time::sleep(DOWN_FOR).await;
        load.stage.store(stage(cycle, STARTING), Ordering::SeqCst);
        let starting = Instant::now();
        cluster.pg_ctl_start().await;
        load.stage.store(stage(cycle, UP), Ordering::SeqCst);
        downtimes.push(stopping.elapsed());
        eprintln!("cycle {cycle}: pg_ctl start took {:?}", starting.elapsed());
        let recovered = recovery(&load, cycle).await;
        eprintln!("cycle {cycle} ({mode}): requests succeed again {recovered:?} after PostgreSQL accepted connections");
        recoveries.push((mode, recovered));
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    load.stop.store(true, Ordering::SeqCst);
    for w in workers {
        tokio::time::timeout(Duration::from_secs(30), w).await.expect("a load task hung").expect("load task");
    }
    tokio::time::timeout(Duration::from_secs(30), monitor).await.expect("the monitor hung").expect("monitor task");
    let answers = load.answers.lock().unwrap().clone();
    let load_time = load_started.elapsed();

    // A summary, for the log.
    let mut by_kind: BTreeMap<(String, String), usize> = BTreeMap::new();
    for a in &answers {
        let outcome = match &a.result {
            Ok((s, _, _)) => s.as_u16().to_string(),
            Err(_) => "transport error".to_string(),
        };
        *by_kind.entry((a.what.clone(), outcome)).or_default() += 1;
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap_or_default();
    eprintln!(
        "{} answers in {load_time:?} (downtimes {downtimes:?}; slowest answer {slowest:?}): {by_kind:#?}",
        answers.len()
    );

    // Nothing panicked.
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a panic in the process (see the output above)");

    // Every answer is 200/201, or 503 unavailable with Retry-After; no 500, no hang.
    let mut unavailable = 0;
    for a in &answers {
        let (status, body, retry_after) = match &a.result {
            Ok(r) => r,
            Err(e) => panic!("{} (sent at stage {}, after {:?}) got no answer: {e}", a.what, a.sent, a.took),
        };
        match *status {
            StatusCode::OK | StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                unavailable += 1;
                assert_eq!(common::code(body), "unavailable", "{} answered 503 with {body}", a.what);
                assert!(retry_after.is_some(), "{} answered 503 without Retry-After: {body}", a.what);
            }
            other => panic!(
                "{} (sent at stage {}, answered at stage {}, after {:?}) answered {other}: {body}",
                a.what, a.sent, a.answered, a.took
            ),
        }
        if a.what == "POST /v1/users" {
            assert!(matches!(*status, StatusCode::CREATED | StatusCode::SERVICE_UNAVAILABLE), "{status}: {body}");
        }
    }
    assert!(unavailable > 0, "no 503 at all: the outage was not observed");

    // Liveness throughout; readiness 503 while PostgreSQL is down, in each cycle.
    for a in answers.iter().filter(|a| a.what == "GET /healthz") {
        assert_eq!(status_of(a), Some(StatusCode::OK), "{a:?}");
    }
    // (Checked last, after the data: described here, asserted at the end.)
    let mut not_ready = Vec::new();
    for cycle in [1, 2] {
        let probes = |a: &&Answer| a.what == "GET /readyz" && a.sent == stage(cycle, DOWN);
        let down: Vec<&Answer> = answers.iter().filter(probes).filter(|a| is_down(a.answered)).collect();
        let late: Vec<&Answer> = answers.iter().filter(probes).filter(|a| !is_down(a.answered)).collect();
        let describe = |set: &[&Answer]| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for a in set {
                *counts.entry(status_of(a).map_or("no answer".into(), |s| s.as_u16().to_string())).or_default() += 1;
            }
            let slowest = set.iter().map(|a| a.took).max().unwrap_or_default();
            format!("{counts:?}, slowest {slowest:?}")
        };
        eprintln!(
            "cycle {cycle}: /readyz sent while PostgreSQL was down: {} answered while down ({}), {} answered after \
             the restart began ({})",
            down.len(),
            describe(&down),
            late.len(),
            describe(&late)
        );
        if down.is_empty() {
            not_ready.push(format!(
                "cycle {cycle}: no /readyz was answered while PostgreSQL was down ({} sent then were \
                 answered only after the restart began: {})",
                late.len(),
                describe(&late)
            ));
        }
        for a in &down {
            if status_of(a) != Some(StatusCode::SERVICE_UNAVAILABLE) {
                not_ready.push(format!("cycle {cycle}: /readyz answered while down: {a:?}"));
            }
        }
    }
    let (s, r) = srv.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    // Back within 5 s after each restart, the same server.
    for (mode, recovered) in &recoveries {
        let took = recovered.unwrap_or_else(|| panic!("after the {mode} stop: no recovery within 10 s"));
        assert!(took < RECOVERY_LIMIT, "after the {mode} stop: recovery took {took:?}");
    }

    // Nothing lost, nothing half-written.
    let mut created: BTreeMap<String, String> = BTreeMap::new(); // email → id, answered 201
    let mut refused: BTreeMap<String, Answer> = BTreeMap::new(); // answered 503
    for a in answers.iter().filter(|a| a.what == "POST /v1/users") {
        let email = a.email.clone().expect("email");
        match &a.result {
            Ok((StatusCode::CREATED, body, _)) => {
                assert_eq!(body["email"], email.as_str(), "{body}");
                assert!(created.insert(email, common::id(body)).is_none(), "an email created twice");
            }
            _ => {
                refused.insert(email, a.clone());
            }
        }
    }
    let users = all_users(&srv, &sk).await;
    for (email, id) in &created {
        assert_eq!(users.get(email), Some(id), "{email} answered 201 as {id} but the users are not that");
    }
    let extra: Vec<(&String, &String)> = users.iter().filter(|(e, _)| !created.contains_key(*e)).collect();
    for (email, id) in &extra {
        let answer = refused.get(*email);
        assert!(answer.is_some(), "user {id} ({email}) exists though nobody asked for it");
        eprintln!("user {id} ({email}) exists though its POST answered {answer:?}");
    }
    eprintln!(
        "{} users answered 201, {} POSTs answered 503; of those, {} committed nonetheless: {extra:?}",
        created.len(),
        refused.len(),
        extra.len()
    );
    // The event store and the read model agree: each user.created has its row, each row
    // its event.
    let pool = &srv.db.pool;
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE event_type = 'user.created'")
        .fetch_one(pool)
        .await
        .expect("count events");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await.expect("count users");
    let orphans: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events e WHERE e.event_type = 'user.created' \
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = e.aggregate_id)",
    )
    .fetch_one(pool)
    .await
    .expect("events without rows");
    let unsourced: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users u WHERE NOT EXISTS \
         (SELECT 1 FROM events e WHERE e.event_type = 'user.created' AND e.aggregate_id = u.id)",
    )
    .fetch_one(pool)
    .await
    .expect("rows without events");
    assert_eq!((events, rows, orphans, unsourced), (users.len() as i64, users.len() as i64, 0, 0));

    // The audit log caught up: the events API lists every created user (bounded poll).
    let ids: BTreeSet<String> = users.values().cloned().collect();
    let mut listed = BTreeSet::new();
    for _ in 0..100 {
        listed = created_in_events(&srv, &sk).await;
        if listed == ids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        listed.symmetric_difference(&ids).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "the events API and the users differ"
    );
    // Webhooks: every user.created event delivered, none twice (bounded poll).
    let event_ids: BTreeSet<String> =
        sqlx::query_scalar::<_, String>("SELECT event_id FROM events WHERE event_type = 'user.created'")
            .fetch_all(&srv.db.pool)
            .await
            .expect("event ids")
            .into_iter()
            .collect();
    // (A delivery whose send could not even read its event waits out its lease, 8 s.)
    let mut seen = BTreeMap::new();
    for _ in 0..400 {
        seen = delivered.lock().unwrap().clone();
        if seen.keys().cloned().collect::<BTreeSet<_>>() == event_ids {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: BTreeSet<String> = seen.keys().cloned().collect();
    assert_eq!(got.symmetric_difference(&event_ids).count(), 0, "webhook deliveries differ from the events");
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "deliveries sent more than once: {doubled:?}");
    eprintln!("{} webhook deliveries, each once", seen.len());
    if nats {
        // The relay published every user.created to JetStream, none twice (bounded poll).
        let mut published = Vec::new();
        for _ in 0..100 {
            published = common::jetstream_messages(&common::nats_url(), &tid)
                .await
                .into_iter()
                .filter(|(e, _, _)| e["type"] == "user.created")
                .map(|(e, _, _)| e["id"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>();
            if published.iter().cloned().collect::<BTreeSet<_>>() == event_ids {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let distinct: BTreeSet<String> = published.iter().cloned().collect();
        assert_eq!(distinct, event_ids, "JetStream holds every user.created");
        assert_eq!(published.len(), distinct.len(), "and none twice");
        eprintln!("{} events on JetStream, each once", published.len());
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0, "a panic in the process (see the output above)");
    assert!(not_ready.is_empty(), "readiness while PostgreSQL was down:\n{}", not_ready.join("\n"));
    drop(srv);
    drop(cluster);
}

/// SQLite locked by another process (an exclusive write transaction held longer than the
/// busy timeout): a write answers `503 unavailable` with `Retry-After` and writes nothing;
/// reads go on (WAL); once the lock is gone, writes succeed again without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_locked_by_another_writer_answers_503_then_recovers() {
    use sqlx::{Connection, Executor};
    let url = common::database_url(false).await;
    let srv = Server::start_on(&url).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let path = url.strip_prefix("sqlite://").unwrap().to_string();
    let mut other = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await.expect("open the file");
    other.execute("BEGIN EXCLUSIVE").await.expect("lock");
    let res = srv
        .http
        .post(format!("{}/v1/users", srv.url))
        .bearer_auth(&sk)
        .json(&json!({"email": "blocked@example.com"}))
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("retry-after").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(common::code(&body), "unavailable", "{body}");
    assert_eq!(srv.get("/readyz", &sk).await.0, StatusCode::OK, "reads go on while a writer holds the lock");
    other.execute("ROLLBACK").await.expect("unlock");
    drop(other);
    let (s, u) = srv.post("/v1/users", &sk, json!({"email": "after@example.com"})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (_, users) = srv.get("/v1/users?email=blocked@example.com", &sk).await;
    assert_eq!(users["data"].as_array().unwrap().len(), 0, "the refused write left nothing");
}
