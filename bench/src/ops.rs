//! The HTTP side: a thin JSON client, provisioning over the API, and the timed
//! operations (each worker does its setup first; the clock starts when all are ready).
use crate::Res;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const OPS: [&str; 12] = [
    "switch-org",
    "refresh",
    "switch-org-shared",
    "refresh-shared",
    "switch-org-es256",
    "introspect",
    "me",
    "sign-in",
    "create-membership",
    "change-role",
    "list-members",
    "events",
];

/// A thin JSON client.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(base: &str, concurrency: usize) -> Res<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency.max(1) * 2)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Api { http, base: base.trim_end_matches('/').to_string() })
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        publishable: Option<&str>,
        body: Option<Value>,
    ) -> Res<(StatusCode, Value)> {
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(pk) = publishable {
            req = req.header("authio-publishable-key", pk);
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| format!("request {path}: {e}"))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| format!("body {path}: {e}"))?;
        let v = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok((status, v))
    }

    /// A call that must answer `want`; anything else is an error naming the answer.
    pub async fn expect(
        &self,
        want: StatusCode,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        publishable: Option<&str>,
        body: Option<Value>,
    ) -> Res<Value> {
        let (s, v) = self.call(method, path, bearer, publishable, body).await?;
        if s != want {
            let code = v["error"]["code"].as_str().unwrap_or("");
            return Err(format!("{} {code}", s.as_u16()));
        }
        Ok(v)
    }
}

/// Provisioning: a `POST` that must answer 201, retried (up to 20 times) when the server
/// reports a lost race (`409 concurrent_modification`). Retries are counted in `retries`.
pub async fn create(api: &Api, path: &str, sk: &str, body: Value, retries: &AtomicUsize) -> Res<String> {
    let mut tries = 0;
    loop {
        match api.expect(StatusCode::CREATED, Method::POST, path, Some(sk), None, Some(body.clone())).await {
            Err(e) if e.ends_with("concurrent_modification") && tries < 20 => {
                tries += 1;
                retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % (5 * tries))).await;
            }
            r => return id(&r?),
        }
    }
}

pub fn id(v: &Value) -> Res<String> {
    v["id"].as_str().map(str::to_string).ok_or_else(|| format!("no id in {v}"))
}

/// The project under load.
#[derive(Clone)]
pub struct Tenant {
    pub id: String,
    /// The secret key's id (`key_…`), the actor of what the harness writes directly.
    pub key_id: String,
    pub sk: String,
    pub pk: String,
    /// The console token that made it (the owner's), for tenant settings.
    pub cs: String,
    pub users: Vec<String>,
    pub orgs: Vec<String>,
    /// Per user: (organization index, membership id) in creation order; the first is admin.
    pub memberships: Vec<Vec<(usize, String)>>,
}

/// A user's session: always the newest token pair.
pub struct Session {
    access: String,
    refresh: String,
    issued: Instant,
}

impl Session {
    fn from_answer(v: &Value) -> Res<Session> {
        Ok(Session {
            access: v["access_token"].as_str().ok_or("no access_token")?.to_string(),
            refresh: v["refresh_token"].as_str().ok_or("no refresh_token")?.to_string(),
            issued: Instant::now(),
        })
    }

    /// Refresh ahead of the 5-minute access-token expiry (not timed).
    async fn keep_fresh(&mut self, api: &Api) -> Res<()> {
        if self.issued.elapsed() > Duration::from_secs(240) {
            let v = api
                .expect(
                    StatusCode::OK,
                    Method::POST,
                    "/v1/sessions/refresh",
                    None,
                    None,
                    Some(json!({"refresh_token": self.refresh})),
                )
                .await?;
            *self = Session::from_answer(&v)?;
        }
        Ok(())
    }
}

/// `POST /v1/sign-in-tokens` for `user` (secret key).
async fn issue_sign_in_token(api: &Api, t: &Tenant, user: &str) -> Res<Value> {
    let body = Some(json!({"user_id": user}));
    api.expect(StatusCode::CREATED, Method::POST, "/v1/sign-in-tokens", Some(&t.sk), None, body).await
}

/// A new session for `user` (worker setup, not timed). Issuing the sign-in token
/// appends to the user's stream, so concurrent sign-ins of one user are retried when
/// they lose the race.
async fn sign_in(api: &Api, t: &Tenant, user: &str) -> Res<Value> {
    let mut tries = 0;
    let tok = loop {
        match issue_sign_in_token(api, t, user).await {
            Err(e) if e.ends_with("concurrent_modification") && tries < 50 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % (5 * tries))).await;
            }
            r => break r?,
        }
    };
    api.expect(
        StatusCode::OK,
        Method::POST,
        "/v1/auth/sign-in-tokens/verify",
        None,
        Some(&t.pk),
        Some(json!({"token": tok["token"]})),
    )
    .await
}

/// Run `n` jobs with at most `c` in flight, in order of index.
pub async fn parallel<F, Fut, T>(n: usize, c: usize, f: F) -> Res<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Res<T>>,
{
    futures::stream::iter((0..n).map(f)).buffered(c.max(1)).collect::<Vec<_>>().await.into_iter().collect()
}

/// Sizes of the provisioned tenant.
pub struct Sizes {
    pub users: usize,
    pub orgs: usize,
    pub memberships_per_user: usize,
    pub concurrency: usize,
}

/// A new b2b tenant with a test secret key, users, organizations and memberships (user
/// *u* joins organizations *u*, *u*+1, … modulo the count, admin of the first).
pub async fn provision(api: &Api, console_token: &str, sizes: &Sizes, tag: &str) -> Res<Tenant> {
    let cs = console_token;
    let t = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/v1/session/tenants",
            Some(cs),
            None,
            Some(json!({"name": format!("Bench {tag}"), "mode": "b2b"})),
        )
        .await?;
    let tid = id(&t)?;
    let keys = format!("/v1/session/tenants/{tid}/api-keys");
    let k = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            &keys,
            Some(cs),
            None,
            Some(json!({"name": "bench", "environment": "test"})),
        )
        .await?;
    let sk = k["secret"].as_str().ok_or("no secret")?.to_string();
    let key_id = id(&k)?;
    let list = api.expect(StatusCode::OK, Method::GET, &keys, Some(cs), None, None).await?;
    let pk = list["data"][0]["publishable_key"].as_str().ok_or("no publishable key")?.to_string();
    let mut tenant = Tenant {
        id: tid,
        key_id,
        sk,
        pk,
        cs: cs.to_string(),
        users: Vec::new(),
        orgs: Vec::new(),
        memberships: Vec::new(),
    };

    let started = Instant::now();
    let retries = AtomicUsize::new(0);
    tenant.users = create_users(api, &tenant, sizes.users, &format!("u{tag}"), sizes.concurrency, &retries).await?;
    tenant.orgs = create_orgs(api, &tenant, sizes.orgs, &format!("Org {tag}"), sizes.concurrency, &retries).await?;
    let per = sizes.memberships_per_user.min(sizes.orgs);
    let pairs: Vec<(usize, usize, bool)> =
        (0..tenant.users.len()).flat_map(|u| (0..per).map(move |k| (u, (u + k) % sizes.orgs.max(1), k == 0))).collect();
    let ids = create_memberships(api, &tenant, &pairs, sizes.concurrency, &retries).await?;
    tenant.memberships = vec![Vec::new(); tenant.users.len()];
    for (&(u, o, _), m) in pairs.iter().zip(ids) {
        tenant.memberships[u].push((o, m));
    }
    let n = tenant.users.len() + tenant.orgs.len() + pairs.len();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "provisioned tenant {}: {} users, {} organizations, {} memberships in {secs:.1} s ({:.0} creations/s, \
         {} retries after 409 concurrent_modification)",
        tenant.id,
        tenant.users.len(),
        tenant.orgs.len(),
        pairs.len(),
        n as f64 / secs,
        retries.load(Ordering::Relaxed)
    );
    Ok(tenant)
}

/// `n` users `<prefix>-<i>@example.com`.
pub async fn create_users(
    api: &Api,
    t: &Tenant,
    n: usize,
    prefix: &str,
    c: usize,
    retries: &AtomicUsize,
) -> Res<Vec<String>> {
    parallel(n, c, |i| {
        let email = format!("{prefix}-{i}@example.com");
        async move { create(api, "/v1/users", &t.sk, json!({"email": email}), retries).await }
    })
    .await
}

/// `n` organizations `<prefix> <i>`. They all append to the tenant's stream, so at most
/// 8 are created at once (fewer lost races).
pub async fn create_orgs(
    api: &Api,
    t: &Tenant,
    n: usize,
    prefix: &str,
    c: usize,
    retries: &AtomicUsize,
) -> Res<Vec<String>> {
    parallel(n, c.min(8), |i| {
        let body = json!({"name": format!("{prefix} {i}")});
        async move { create(api, "/v1/organizations", &t.sk, body, retries).await }
    })
    .await
}

/// Memberships for (user index, organization index, admin?) of `t`; their ids in order.
pub async fn create_memberships(
    api: &Api,
    t: &Tenant,
    pairs: &[(usize, usize, bool)],
    c: usize,
    retries: &AtomicUsize,
) -> Res<Vec<String>> {
    parallel(pairs.len(), c, |j| {
        let (u, o, admin) = pairs[j];
        let body =
            json!({"user_id": t.users[u], "organization_id": t.orgs[o], "role": if admin { "admin" } else { "member" }});
        async move { create(api, "/v1/memberships", &t.sk, body, retries).await }
    })
    .await
}

/// What one worker measured.
#[derive(Default)]
pub struct Sample {
    latencies_us: Vec<u64>,
    errors: usize,
    error_kinds: BTreeMap<String, usize>,
}

impl Sample {
    fn record(&mut self, started: Instant, outcome: Res<()>) {
        self.latencies_us.push(started.elapsed().as_micros() as u64);
        if let Err(e) = outcome {
            self.errors += 1;
            *self.error_kinds.entry(e).or_default() += 1;
        }
    }
    fn note(&mut self, what: impl Into<String>) {
        *self.error_kinds.entry(what.into()).or_default() += 1;
    }
}

/// The common start of one measurement: every worker finishes its setup (sign-in,
/// switch, pre-issued sign-in tokens) before the clock starts; then the server's
/// pipeline writes the audit entries of that setup (`settle`: the server and a secret
/// key of the project) (so the measurement does not
/// pay for them), and the CPU count restarts (`cpu::measure_from_now`). The deadline is
/// the start plus the duration.
pub struct Gate {
    barrier: tokio::sync::Barrier,
    start: std::sync::OnceLock<Instant>,
    duration: Duration,
    settle: (Api, String),
}

impl Gate {
    /// Both waits of `Ticket::go`, for a worker that failed in its setup.
    async fn release(&self) {
        self.barrier.wait().await;
        self.barrier.wait().await;
    }
}

/// A worker's handle on the gate.
pub struct Ticket {
    gate: Arc<Gate>,
    passed: Arc<AtomicBool>,
}

impl Ticket {
    /// Wait for every worker's setup, then answer the common deadline.
    pub async fn go(&self) -> Instant {
        self.passed.store(true, Ordering::SeqCst);
        if self.gate.barrier.wait().await.is_leader() {
            // An empty page at the end of the log waits for the pipeline to include every
            // commit before it (`GET /v1/events`).
            let (api, sk) = &self.gate.settle;
            let _ = api
                .expect(StatusCode::OK, Method::GET, "/v1/events?after=999999999999&limit=1", Some(sk), None, None)
                .await;
            crate::cpu::measure_from_now();
            self.gate.start.get_or_init(Instant::now);
        }
        self.gate.barrier.wait().await;
        *self.gate.start.get().expect("set by the leader") + self.gate.duration
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

/// The figures of one measurement.
#[derive(Clone, Debug)]
pub struct Row {
    pub label: String,
    pub requests: usize,
    pub secs: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub errors: usize,
    pub notes: BTreeMap<String, usize>,
    /// CPU spent meanwhile, where the harness could read it (`cpu`).
    pub cpu: Option<crate::cpu::CpuSpent>,
}

impl Row {
    /// Answered requests per second, errors included.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.secs
    }
    /// Successful requests per second.
    pub fn ok_rate(&self) -> f64 {
        (self.requests - self.errors) as f64 / self.secs
    }
}

/// Run `workers` copies of `f` (given the worker index and its ticket) and merge what
/// they measured. Throughput is over the time from the common start until the last
/// worker stopped.
pub async fn timed<F, Fut>(label: &str, workers: usize, duration: Duration, settle: (Api, String), f: F) -> Res<Row>
where
    F: Fn(usize, Ticket) -> Fut,
    Fut: Future<Output = Res<Sample>> + Send + 'static,
{
    let n = workers.max(1);
    let gate =
        Arc::new(Gate { barrier: tokio::sync::Barrier::new(n), start: std::sync::OnceLock::new(), duration, settle });
    let handles: Vec<_> = (0..n)
        .map(|w| {
            let passed = Arc::new(AtomicBool::new(false));
            let fut = f(w, Ticket { gate: gate.clone(), passed: passed.clone() });
            let gate = gate.clone();
            tokio::spawn(async move {
                let r = fut.await;
                if !passed.load(Ordering::SeqCst) {
                    // Failed during setup: release the others anyway.
                    gate.release().await;
                }
                r
            })
        })
        .collect();
    let mut all = Sample::default();
    let mut failure = None;
    for h in handles {
        match h.await.map_err(|e| format!("worker panicked: {e}"))? {
            Ok(s) => {
                all.latencies_us.extend(s.latencies_us);
                all.errors += s.errors;
                for (k, v) in s.error_kinds {
                    *all.error_kinds.entry(k).or_default() += v;
                }
            }
            Err(e) => failure = Some(e),
        }
    }
    if let Some(e) = failure {
        return Err(format!("{label}: a worker failed: {e}"));
    }
    let secs = gate.start.get().map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0).max(0.001);
    all.latencies_us.sort_unstable();
    let l = &all.latencies_us;
    Ok(Row {
        label: label.to_string(),
        requests: l.len(),
        secs,
        p50: percentile(l, 50.0),
        p95: percentile(l, 95.0),
        p99: percentile(l, 99.0),
        errors: all.errors,
        notes: all.error_kinds,
        cpu: None,
    })
}

/// The `w`-th worker's user: one that has at least `need` memberships.
fn worker_user(t: &Tenant, w: usize, need: usize) -> Res<usize> {
    let n = t.users.len();
    (0..n)
        .map(|k| (w + k) % n)
        .find(|&u| t.memberships[u].len() >= need.max(1))
        .ok_or_else(|| format!("no user with {need} memberships (raise --memberships-per-user)"))
}

/// (user, organization) pairs of `t` without a membership; organization varies fastest.
fn free_pairs(t: &Tenant) -> Vec<(usize, usize)> {
    let mut taken = vec![vec![false; t.orgs.len()]; t.users.len()];
    for (u, ms) in t.memberships.iter().enumerate() {
        for (o, _) in ms {
            taken[u][*o] = true;
        }
    }
    taken
        .iter()
        .enumerate()
        .flat_map(|(u, row)| row.iter().enumerate().filter(|(_, t)| !**t).map(move |(o, _)| (u, o)))
        .collect()
}

/// One of the operations of `OPS` with `concurrency` workers for `duration`.
pub async fn run_op(
    op: &str,
    label: &str,
    api: &Api,
    t: Arc<Tenant>,
    concurrency: usize,
    duration: Duration,
) -> Res<Row> {
    let pairs = Arc::new(if op == "create-membership" { free_pairs(&t) } else { Vec::new() });
    let next_pair = Arc::new(AtomicUsize::new(0));
    // The `-shared` rows: one session (one sign-in) that every worker uses, as a user
    // with many tabs does; signed in before the clock starts.
    let shared = match op {
        "switch-org-shared" | "refresh-shared" => {
            let u = worker_user(&t, 0, 2)?;
            Some(Arc::new((u, sign_in(api, &t, &t.users[u]).await?)))
        }
        _ => None,
    };
    // `switch-org-es256`: the same switches with the project's tokens signed with ES256
    // (set before the clock starts, set back to EdDSA after).
    let es256 = op == "switch-org-es256";
    if es256 {
        token_algorithm(api, &t, "ES256").await?;
    }
    let op = if es256 { "switch-org" } else { op };
    let row = timed(label, concurrency, duration, (api.clone(), t.sk.clone()), |w, ticket| {
        let (api, t, op) = (api.clone(), t.clone(), op.to_string());
        let (pairs, next_pair, shared) = (pairs.clone(), next_pair.clone(), shared.clone());
        let workers = concurrency.max(1);
        async move {
            match shared {
                Some(sh) => shared_worker(&op, w, &api, &t, ticket, &sh).await,
                None => worker(&op, w, workers, &api, &t, ticket, &pairs, &next_pair).await,
            }
        }
    })
    .await;
    if es256 {
        token_algorithm(api, &t, "EdDSA").await?;
    }
    row
}

/// Set the project's token algorithm (console, the owner's token).
async fn token_algorithm(api: &Api, t: &Tenant, algorithm: &str) -> Res<()> {
    let path = format!("/v1/session/tenants/{}", t.id);
    let body = Some(json!({"token_algorithm": algorithm}));
    api.expect(StatusCode::OK, Method::PATCH, &path, Some(&t.cs), None, body).await.map(|_| ())
}

/// One timed `POST /v1/sessions/refresh` with the session's newest refresh token; the
/// session takes the new pair. Whether it succeeded.
async fn refresh_once(api: &Api, sess: &mut Session, s: &mut Sample) -> bool {
    let body = json!({"refresh_token": sess.refresh});
    let start = Instant::now();
    let r = api.expect(StatusCode::OK, Method::POST, "/v1/sessions/refresh", None, None, Some(body)).await;
    let r = r.and_then(|v| Session::from_answer(&v)).map(|n| *sess = n);
    let ok = r.is_ok();
    s.record(start, r);
    ok
}

/// `POST /v1/sessions/switch-org` with `access` into `org`: the new pair.
async fn switch_org(api: &Api, access: &str, org: &str) -> Res<Session> {
    let body = Some(json!({"organization_id": org}));
    let v = api.expect(StatusCode::OK, Method::POST, "/v1/sessions/switch-org", Some(access), None, body).await?;
    Session::from_answer(&v)
}

/// A worker of a `-shared` row: `shared` is (user index, the sign-in's answer) of the
/// one session all workers use. `switch-org-shared`: every worker switches that
/// session between the user's organizations, each with the access token of its own
/// last switch (all of one `sid`). `refresh-shared`: each worker first switches into
/// one of the organizations (untimed), which gives it a token family of its own in
/// that organization's context, then refreshes it; workers in one organization share
/// its context.
async fn shared_worker(
    op: &str,
    w: usize,
    api: &Api,
    t: &Tenant,
    ticket: Ticket,
    shared: &(usize, Value),
) -> Res<Sample> {
    let mut s = Sample::default();
    let (u, answer) = shared;
    let orgs: Vec<&str> = t.memberships[*u].iter().map(|(o, _)| t.orgs[*o].as_str()).collect();
    let first = Session::from_answer(answer)?;
    match op {
        "switch-org-shared" => {
            let mut access = first.access;
            let mut i = w;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                i += 1;
                let start = Instant::now();
                let r = switch_org(api, &access, orgs[i % orgs.len()]).await.map(|n| access = n.access);
                s.record(start, r);
            }
        }
        "refresh-shared" => {
            let mut sess = switch_org(api, &first.access, orgs[w % orgs.len()]).await?;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                if !refresh_once(api, &mut sess, &mut s).await {
                    // A family of its own again (untimed), with the newest access token.
                    sess = switch_org(api, &sess.access, orgs[w % orgs.len()]).await?;
                }
            }
        }
        other => return Err(format!("{other} is not a shared-session operation")),
    }
    Ok(s)
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    op: &str,
    w: usize,
    workers: usize,
    api: &Api,
    t: &Tenant,
    ticket: Ticket,
    free_pairs: &[(usize, usize)],
    next_pair: &AtomicUsize,
) -> Res<Sample> {
    let mut s = Sample::default();
    match op {
        "switch-org" => {
            let u = worker_user(t, w, 1)?;
            let mut sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let orgs: Vec<&str> = t.memberships[u].iter().map(|(o, _)| t.orgs[*o].as_str()).collect();
            let mut i = w;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                sess.keep_fresh(api).await?;
                i += 1;
                let body = json!({"organization_id": orgs[i % orgs.len()]});
                let start = Instant::now();
                let r = api
                    .expect(
                        StatusCode::OK,
                        Method::POST,
                        "/v1/sessions/switch-org",
                        Some(&sess.access),
                        None,
                        Some(body),
                    )
                    .await;
                let r = r.and_then(|v| Session::from_answer(&v)).map(|n| sess = n);
                s.record(start, r);
            }
        }
        "refresh" => {
            let u = worker_user(t, w, 1)?;
            let mut sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                if !refresh_once(api, &mut sess, &mut s).await {
                    // The session may be revoked: start a new one (not timed).
                    sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
                }
            }
        }
        "introspect" => {
            // RFC 7662 as an OAuth resource server sends it: a form body, the key id and
            // secret as HTTP Basic client credentials.
            let u = worker_user(t, w, 1)?;
            let sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let url = format!("{}/v1/tokens/introspect", api.base);
            let body = format!("token={}", sess.access);
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                let start = Instant::now();
                let r = api
                    .http
                    .post(&url)
                    .basic_auth(&t.key_id, Some(&t.sk))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string());
                let r = match r {
                    Ok(res) if res.status() == StatusCode::OK => match res.json::<Value>().await {
                        Ok(v) if v["active"] == true => Ok(()),
                        Ok(v) => Err(format!("inactive: {v}")),
                        Err(e) => Err(e.to_string()),
                    },
                    Ok(res) => Err(format!("{}", res.status().as_u16())),
                    Err(e) => Err(e),
                };
                s.record(start, r);
            }
        }
        "me" => {
            let u = worker_user(t, w, 1)?;
            let mut sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                sess.keep_fresh(api).await?;
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, "/v1/me", Some(&sess.access), None, None).await;
                s.record(start, r.map(|_| ()));
            }
        }
        "sign-in" => {
            // The operation is the verify, which creates the session. Its sign-in tokens
            // (a command of their own, `POST /v1/sign-in-tokens`) are issued before the
            // clock starts: about 60 per worker and second of the run; a worker that uses
            // them all up stops early (noted), and the throughput counts the time until
            // the last worker stopped.
            let per_worker = (ticket.gate.duration.as_secs_f64() * 60.0).ceil().max(20.0) as usize;
            let mut tokens = Vec::with_capacity(per_worker);
            let mut i = w;
            for _ in 0..per_worker {
                let user = &t.users[i % t.users.len()];
                i += workers;
                match issue_sign_in_token(api, t, user).await {
                    Ok(v) => tokens.push(v["token"].clone()),
                    Err(e) => s.note(format!("setup: sign-in-tokens {e}")),
                }
            }
            let mut tokens = tokens.into_iter();
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                let Some(token) = tokens.next() else {
                    s.note("stopped early: used up its pre-issued sign-in tokens");
                    break;
                };
                let start = Instant::now();
                let r = api
                    .expect(
                        StatusCode::OK,
                        Method::POST,
                        "/v1/auth/sign-in-tokens/verify",
                        None,
                        Some(&t.pk),
                        Some(json!({"token": token})),
                    )
                    .await;
                s.record(start, r.map(|_| ()));
            }
        }
        "create-membership" => {
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                let j = next_pair.fetch_add(1, Ordering::Relaxed);
                let Some(&(u, o)) = free_pairs.get(j) else {
                    if j == free_pairs.len() {
                        s.note("stopped early: ran out of free (user, org) pairs");
                    }
                    break;
                };
                let body = json!({"user_id": t.users[u], "organization_id": t.orgs[o], "role": "member"});
                let start = Instant::now();
                let r = api
                    .expect(StatusCode::CREATED, Method::POST, "/v1/memberships", Some(&t.sk), None, Some(body))
                    .await;
                s.record(start, r.map(|_| ()));
            }
        }
        "change-role" => {
            // Toggle a non-first (member) membership between member and admin; the org's
            // first-membership admin stays, so the last-admin rule never trips.
            let u = worker_user(t, w, 2)?;
            let m = t.memberships[u][1].1.clone();
            // Known state first (an earlier run may have left it admin): member.
            change_role(api, t, &m, false).await?;
            let mut admin = false;
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                admin = !admin;
                let start = Instant::now();
                let r = change_role(api, t, &m, admin).await;
                s.record(start, r);
            }
        }
        "list-members" => {
            let u = worker_user(t, w, 1)?;
            let org = t.orgs[t.memberships[u][0].0].clone();
            let v = sign_in(api, t, &t.users[u]).await?;
            let mut sess = Session::from_answer(&v)?;
            let v = api
                .expect(
                    StatusCode::OK,
                    Method::POST,
                    "/v1/sessions/switch-org",
                    Some(&sess.access),
                    None,
                    Some(json!({"organization_id": org})),
                )
                .await?;
            sess = Session::from_answer(&v)?;
            let path = format!("/v1/organizations/{org}/members?limit=20");
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                sess.keep_fresh(api).await?;
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, &path, Some(&sess.access), None, None).await;
                s.record(start, r.map(|_| ()));
            }
        }
        "events" => {
            let mut after = "0".to_string();
            let deadline = ticket.go().await;
            while Instant::now() < deadline {
                let path = format!("/v1/events?after={after}&limit=100");
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, &path, Some(&t.sk), None, None).await;
                let r = r.map(|v| {
                    after = v["next_cursor"].as_str().unwrap_or("0").to_string();
                });
                s.record(start, r);
            }
        }
        other => return Err(format!("unknown operation {other}")),
    }
    Ok(s)
}

/// `PATCH /v1/memberships/{m}` to admin or member.
pub async fn change_role(api: &Api, t: &Tenant, m: &str, admin: bool) -> Res<()> {
    let body = json!({"role": if admin { "admin" } else { "member" }});
    api.expect(StatusCode::OK, Method::PATCH, &format!("/v1/memberships/{m}"), Some(&t.sk), None, Some(body))
        .await
        .map(|_| ())
}

/// Adding members to one organization: each request takes the next user of `pool`
/// (from `next`, shared by the rows of one organization, as a user joins it once) with
/// `POST /v1/memberships` (secret key). Runs for `duration` and at least `min` requests
/// (`limits.0`), at most `limits.1` requests, or until the pool runs out.
#[allow(clippy::too_many_arguments)]
pub async fn add_members(
    label: &str,
    api: &Api,
    t: Arc<Tenant>,
    org: &str,
    pool: Arc<Vec<String>>,
    next: Arc<AtomicUsize>,
    concurrency: usize,
    duration: Duration,
    (min, max): (usize, usize),
) -> Res<Row> {
    let done = Arc::new(AtomicUsize::new(0));
    let ran_out = Arc::new(AtomicBool::new(false));
    timed(label, concurrency, duration, (api.clone(), t.sk.clone()), |_, ticket| {
        let (api, t, pool, next, org) = (api.clone(), t.clone(), pool.clone(), next.clone(), org.to_string());
        let (done, ran_out) = (done.clone(), ran_out.clone());
        async move {
            let mut s = Sample::default();
            let deadline = ticket.go().await;
            loop {
                let n = done.fetch_add(1, Ordering::Relaxed);
                if n >= max || (Instant::now() >= deadline && n >= min) {
                    break;
                }
                let Some(user) = pool.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    if !ran_out.swap(true, Ordering::Relaxed) {
                        s.note("stopped early: ran out of fresh users (raise --growth-pool)");
                    }
                    break;
                };
                let body = json!({"user_id": user, "organization_id": org, "role": "member"});
                let start = Instant::now();
                let r = api
                    .expect(StatusCode::CREATED, Method::POST, "/v1/memberships", Some(&t.sk), None, Some(body))
                    .await;
                s.record(start, r.map(|_| ()));
            }
            Ok(s)
        }
    })
    .await
}

/// `pages` pages of `GET /v1/events?limit=100` by `concurrency` workers, worker *w*
/// starting at `after + w × (its share of pages) × 100` and following `next_cursor`.
pub async fn event_pages(
    label: &str,
    api: &Api,
    t: Arc<Tenant>,
    after: i64,
    pages: usize,
    concurrency: usize,
) -> Res<Row> {
    let per = pages.div_ceil(concurrency.max(1)).max(1);
    timed(label, concurrency, Duration::from_secs(3600), (api.clone(), t.sk.clone()), |w, ticket| {
        let (api, t) = (api.clone(), t.clone());
        async move {
            let mut s = Sample::default();
            let mut cursor = (after + (w * per * 100) as i64).to_string();
            ticket.go().await;
            for _ in 0..per {
                let path = format!("/v1/events?after={cursor}&limit=100");
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, &path, Some(&t.sk), None, None).await;
                let r = r.and_then(|v| {
                    let n = v["data"].as_array().map(Vec::len).unwrap_or(0);
                    match v["next_cursor"].as_str() {
                        Some(c) if n == 100 => {
                            cursor = c.to_string();
                            Ok(())
                        }
                        _ => Err(format!("short page ({n} events): ran off the end of the log")),
                    }
                });
                s.record(start, r);
            }
            Ok(s)
        }
    })
    .await
}
