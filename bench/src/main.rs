//! `authio-bench`: a load harness for an already running `authio serve`.
//!
//! It provisions a tenant over the HTTP API (users, organizations, memberships), then runs
//! each selected operation with `--concurrency` workers for `--duration` seconds and prints
//! a markdown table: requests, throughput, p50/p95/p99 latency and errors per operation.
//!
//! First cut: the pgbench baseline, projection rebuild / relay / webhook rates, cost growth
//! and memory are not measured yet (see BENCHMARKS.md).
use clap::Parser;
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Res<T> = Result<T, String>;

const OPS: [&str; 8] =
    ["switch-org", "refresh", "me", "sign-in", "create-membership", "change-role", "list-members", "events"];

#[derive(Parser, Debug, Clone)]
#[command(name = "authio-bench", about = "Load harness for a running `authio serve`")]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Database of the server, used to get a console token via `authio operators token`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// A console token (`cs_…`) to use instead of running the CLI.
    #[arg(long)]
    console_token: Option<String>,
    /// The `authio` binary used for the console token (default: next to this binary, else `authio` on PATH).
    #[arg(long)]
    authio_bin: Option<String>,
    /// Users to create.
    #[arg(long, default_value_t = 500)]
    users: usize,
    /// Organizations to create.
    #[arg(long, default_value_t = 50)]
    orgs: usize,
    /// Memberships per user (the first one with role admin), in distinct organizations.
    #[arg(long, default_value_t = 3)]
    memberships_per_user: usize,
    /// Concurrent workers per operation.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per operation.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Operations to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "switch-org,refresh,me,sign-in,create-membership,change-role,list-members,events",
        value_parser = clap::builder::PossibleValuesParser::new(OPS))]
    ops: Vec<String>,
}

/// A thin JSON client.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(
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
    async fn expect(
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
async fn create(api: &Api, path: &str, sk: &str, body: Value, retries: &AtomicUsize) -> Res<String> {
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

fn id(v: &Value) -> Res<String> {
    v["id"].as_str().map(str::to_string).ok_or_else(|| format!("no id in {v}"))
}

/// The project under load.
struct Tenant {
    sk: String,
    pk: String,
    users: Vec<String>,
    orgs: Vec<String>,
    /// Per user: (organization index, membership id) in creation order; the first is admin.
    memberships: Vec<Vec<(usize, String)>>,
}

/// A user's session: always the newest token pair.
struct Session {
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

async fn sign_in(api: &Api, t: &Tenant, user: &str) -> Res<Value> {
    let tok = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/v1/sign-in-tokens",
            Some(&t.sk),
            None,
            Some(json!({"user_id": user})),
        )
        .await?;
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

fn console_token(args: &Args, tag: &str) -> Res<String> {
    if let Some(t) = &args.console_token {
        return Ok(t.clone());
    }
    let bin = args.authio_bin.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("authio")))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "authio".to_string())
    });
    let mut cmd = std::process::Command::new(&bin);
    cmd.args(["operators", "token", "--email", &format!("bench-{tag}@example.com")]).env("RUST_LOG", "warn");
    if let Some(db) = &args.database_url {
        cmd.env("DATABASE_URL", db);
    }
    let out = cmd.output().map_err(|e| format!("running {bin}: {e} (pass --console-token or --authio-bin)"))?;
    if !out.status.success() {
        return Err(format!("{bin} operators token failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let t = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !t.starts_with("cs_") {
        return Err(format!("unexpected console token {t:?}"));
    }
    Ok(t)
}

/// Run `n` jobs with at most `c` in flight, in order of index.
async fn parallel<F, Fut, T>(n: usize, c: usize, f: F) -> Res<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res<T>>,
{
    futures::stream::iter((0..n).map(f)).buffered(c.max(1)).collect::<Vec<_>>().await.into_iter().collect()
}

async fn provision(api: &Api, args: &Args, tag: &str) -> Res<Tenant> {
    let cs = console_token(args, tag)?;
    let t = api
        .expect(
            StatusCode::CREATED,
            Method::POST,
            "/v1/session/tenants",
            Some(&cs),
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
            Some(&cs),
            None,
            Some(json!({"name": "bench", "environment": "test"})),
        )
        .await?;
    let sk = k["secret"].as_str().ok_or("no secret")?.to_string();
    let list = api.expect(StatusCode::OK, Method::GET, &keys, Some(&cs), None, None).await?;
    let pk = list["data"][0]["publishable_key"].as_str().ok_or("no publishable key")?.to_string();
    let c = args.concurrency;

    let started = Instant::now();
    let retries = AtomicUsize::new(0);
    let retries = &retries;
    let users = parallel(args.users, c, |i| {
        let (api, sk) = (api.clone(), sk.clone());
        let email = format!("u{i}-{tag}@example.com");
        async move { create(&api, "/v1/users", &sk, json!({"email": email}), retries).await }
    })
    .await?;
    let orgs = parallel(args.orgs, c, |i| {
        let (api, sk) = (api.clone(), sk.clone());
        let body = json!({"name": format!("Org {i} {tag}")});
        async move { create(&api, "/v1/organizations", &sk, body, retries).await }
    })
    .await?;
    let per = args.memberships_per_user.min(args.orgs);
    let pairs: Vec<(usize, usize)> = (0..users.len()).flat_map(|u| (0..per).map(move |k| (u, k))).collect();
    let ids = parallel(pairs.len(), c, |j| {
        let (api, sk) = (api.clone(), sk.clone());
        let (u, k) = pairs[j];
        let o = (u + k) % orgs.len();
        let body =
            json!({"user_id": users[u], "organization_id": orgs[o], "role": if k == 0 { "admin" } else { "member" }});
        async move { create(&api, "/v1/memberships", &sk, body, retries).await }
    })
    .await?;
    let mut memberships = vec![Vec::new(); users.len()];
    for (&(u, k), m) in pairs.iter().zip(ids) {
        memberships[u].push(((u + k) % orgs.len(), m));
    }
    let n = users.len() + orgs.len() + pairs.len();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "provisioned tenant {tid}: {} users, {} organizations, {} memberships in {secs:.1} s ({:.0} creations/s, \
         {} retries after 409 concurrent_modification)",
        users.len(),
        orgs.len(),
        pairs.len(),
        n as f64 / secs,
        retries.load(Ordering::Relaxed)
    );
    Ok(Tenant { sk, pk, users, orgs, memberships })
}

/// What one worker measured.
#[derive(Default)]
struct Sample {
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
}

/// State shared by the workers of one operation.
struct Shared {
    api: Api,
    tenant: Tenant,
    workers: usize,
    duration: Duration,
    /// Every worker finishes its setup (sign-in, switch) before the clock starts.
    barrier: tokio::sync::Barrier,
    start: std::sync::OnceLock<Instant>,
    /// For create-membership: the next unused (user, organization) pair.
    next_pair: AtomicUsize,
    free_pairs: Vec<(usize, usize)>,
}

/// The `w`-th worker's user, one whose first membership (admin) exists and, when `need` > 1,
/// that has at least `need` memberships.
fn worker_user(t: &Tenant, w: usize, need: usize) -> Res<usize> {
    let n = t.users.len();
    (0..n)
        .map(|k| (w + k) % n)
        .find(|&u| t.memberships[u].len() >= need.max(1))
        .ok_or_else(|| format!("no user with {need} memberships (raise --memberships-per-user)"))
}

async fn worker(op: &str, w: usize, sh: &Shared, started: &mut bool) -> Res<Sample> {
    let (api, t) = (&sh.api, &sh.tenant);
    let mut s = Sample::default();
    match op {
        "switch-org" => {
            let u = worker_user(t, w, 2)?;
            let mut sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let orgs: Vec<&str> = t.memberships[u].iter().map(|(o, _)| t.orgs[*o].as_str()).collect();
            let mut i = 0;
            let deadline = sh.go(started).await;
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
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                let body = json!({"refresh_token": sess.refresh});
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::POST, "/v1/sessions/refresh", None, None, Some(body)).await;
                let r = r.and_then(|v| Session::from_answer(&v)).map(|n| sess = n);
                let failed = r.is_err();
                s.record(start, r);
                if failed {
                    // The session may be revoked: start a new one (not timed).
                    sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
                }
            }
        }
        "me" => {
            let u = worker_user(t, w, 1)?;
            let mut sess = Session::from_answer(&sign_in(api, t, &t.users[u]).await?)?;
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                sess.keep_fresh(api).await?;
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, "/v1/me", Some(&sess.access), None, None).await;
                s.record(start, r.map(|_| ()));
            }
        }
        "sign-in" => {
            // Each iteration creates a sign-in token (not timed) and verifies it (timed):
            // the verify creates the session.
            let mut i = w;
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                let user = &t.users[i % t.users.len()];
                i += sh.workers;
                let tok = api
                    .expect(
                        StatusCode::CREATED,
                        Method::POST,
                        "/v1/sign-in-tokens",
                        Some(&t.sk),
                        None,
                        Some(json!({"user_id": user})),
                    )
                    .await;
                let tok = match tok {
                    Ok(v) => v,
                    Err(e) => {
                        s.errors += 1;
                        *s.error_kinds.entry(format!("sign-in-tokens: {e}")).or_default() += 1;
                        continue;
                    }
                };
                let start = Instant::now();
                let r = api
                    .expect(
                        StatusCode::OK,
                        Method::POST,
                        "/v1/auth/sign-in-tokens/verify",
                        None,
                        Some(&t.pk),
                        Some(json!({"token": tok["token"]})),
                    )
                    .await;
                s.record(start, r.map(|_| ()));
            }
        }
        "create-membership" => {
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                let j = sh.next_pair.fetch_add(1, Ordering::Relaxed);
                let Some(&(u, o)) = sh.free_pairs.get(j) else {
                    *s.error_kinds.entry("ran out of free (user, org) pairs".into()).or_default() += 1;
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
            let mut admin = false;
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                admin = !admin;
                let body = json!({"role": if admin { "admin" } else { "member" }});
                let start = Instant::now();
                let r = api
                    .expect(
                        StatusCode::OK,
                        Method::PATCH,
                        &format!("/v1/memberships/{m}"),
                        Some(&t.sk),
                        None,
                        Some(body),
                    )
                    .await;
                s.record(start, r.map(|_| ()));
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
            let deadline = sh.go(started).await;
            while Instant::now() < deadline {
                sess.keep_fresh(api).await?;
                let start = Instant::now();
                let r = api.expect(StatusCode::OK, Method::GET, &path, Some(&sess.access), None, None).await;
                s.record(start, r.map(|_| ()));
            }
        }
        "events" => {
            let mut after = "0".to_string();
            let deadline = sh.go(started).await;
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

impl Shared {
    /// Wait for every worker's setup, then answer the common deadline.
    async fn go(&self, started: &mut bool) -> Instant {
        *started = true;
        self.barrier.wait().await;
        *self.start.get_or_init(Instant::now) + self.duration
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
}

struct Row {
    op: String,
    requests: usize,
    secs: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    errors: usize,
    notes: BTreeMap<String, usize>,
}

async fn run_op(op: &str, api: &Api, tenant: Tenant, args: &Args) -> Res<(Row, Tenant)> {
    let free_pairs = if op == "create-membership" {
        let mut taken = vec![vec![false; tenant.orgs.len()]; tenant.users.len()];
        for (u, ms) in tenant.memberships.iter().enumerate() {
            for (o, _) in ms {
                taken[u][*o] = true;
            }
        }
        // Spread the load over organizations: org varies fastest.
        taken
            .iter()
            .enumerate()
            .flat_map(|(u, row)| row.iter().enumerate().filter(|(_, t)| !**t).map(move |(o, _)| (u, o)))
            .collect()
    } else {
        Vec::new()
    };
    let n = args.concurrency.max(1);
    let sh = Arc::new(Shared {
        api: api.clone(),
        tenant,
        workers: n,
        duration: Duration::from_secs(args.duration),
        barrier: tokio::sync::Barrier::new(n),
        start: std::sync::OnceLock::new(),
        next_pair: AtomicUsize::new(0),
        free_pairs,
    });
    let handles: Vec<_> = (0..n)
        .map(|w| {
            let sh = sh.clone();
            let op = op.to_string();
            tokio::spawn(async move {
                let mut started = false;
                let r = worker(&op, w, &sh, &mut started).await;
                if !started {
                    // Failed during setup: release the others anyway.
                    sh.barrier.wait().await;
                }
                r
            })
        })
        .collect();
    let mut all = Sample::default();
    for h in handles {
        let s = h.await.map_err(|e| format!("worker panicked: {e}"))??;
        all.latencies_us.extend(s.latencies_us);
        all.errors += s.errors;
        for (k, v) in s.error_kinds {
            *all.error_kinds.entry(k).or_default() += v;
        }
    }
    let secs = sh.start.get().map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0).max(0.001);
    let sh = Arc::try_unwrap(sh).map_err(|_| "workers still hold the tenant".to_string())?;
    all.latencies_us.sort_unstable();
    let l = &all.latencies_us;
    let row = Row {
        op: op.to_string(),
        requests: l.len(),
        secs,
        p50: percentile(l, 50.0),
        p95: percentile(l, 95.0),
        p99: percentile(l, 99.0),
        errors: all.errors,
        notes: all.error_kinds,
    };
    Ok((row, sh.tenant))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    if let Err(e) = run(args).await {
        eprintln!("authio-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Res<()> {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency.max(1) * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let api = Api { http, base: args.url.trim_end_matches('/').to_string() };
    let (s, _) = api.call(Method::GET, "/healthz", None, None, None).await?;
    if !s.is_success() {
        return Err(format!("{}/healthz answered {s}", args.url));
    }
    let tag = format!("{:08x}", rand::random::<u32>());
    let mut tenant = provision(&api, &args, &tag).await?;
    let mut rows = Vec::new();
    for op in &args.ops {
        eprintln!("running {op}: {} workers for {} s", args.concurrency, args.duration);
        let (row, t) = run_op(op, &api, tenant, &args).await?;
        tenant = t;
        rows.push(row);
    }
    println!(
        "\n{} users, {} organizations, {} memberships per user; concurrency {}, {} s per operation\n",
        tenant.users.len(),
        tenant.orgs.len(),
        args.memberships_per_user.min(args.orgs),
        args.concurrency,
        args.duration
    );
    println!("| operation | requests | throughput/s | p50 ms | p95 ms | p99 ms | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            r.op,
            r.requests,
            r.requests as f64 / r.secs,
            r.p50,
            r.p95,
            r.p99,
            r.errors
        );
    }
    for r in &rows {
        for (k, v) in &r.notes {
            println!("\n{}: {v} × {k}", r.op);
        }
    }
    Ok(())
}
