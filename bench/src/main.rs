//! `authio-bench`: the load harness of issue 5. One command measures everything and
//! prints markdown tables on stdout (progress goes to stderr):
//!
//! - it creates a fresh PostgreSQL database, starts `authio serve` on it and times
//!   readiness; provisions a tenant over the API; reads the server's resident memory;
//! - runs the pgbench baseline (a command-shaped transaction) on that database;
//! - runs each HTTP operation for `--duration` seconds with `--concurrency` workers
//!   (throughput, p50/p95/p99, errors, ratio to pgbench), sampling memory;
//! - measures webhook deliveries per second to a local receiver;
//! - measures how cost grows (switch-org for 1/100/1,000 memberships);
//! - writes a large synthetic event log straight into the database, times
//!   `authio projections rebuild` over it, restarts the server (ready time on a big
//!   database), measures adding a member to organizations of 10/10,000/100,000 members
//!   and `GET /v1/events` at position 0 and ~1,000,000;
//! - relays the whole log to a private nats-server and times it;
//! - drops the database and stops everything it started, also after an error.
//!
//! `--url` drives an already running server instead (HTTP sections only).
mod cpu;
mod dns;
mod hooks;
mod infra;
mod ops;
mod pgbench;
mod report;
mod synth;

use clap::Parser;
use infra::{BenchDb, Nats, RssSampler, Scratch, ServeOpts, Server};
use ops::{Api, Sizes, Tenant};
use report::{GrowthRow, Report};
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type Res<T> = Result<T, String>;

const SECTIONS: [&str; 8] = ["ready", "memory", "pgbench", "ops", "webhooks", "growth", "rebuild", "relay"];

#[derive(Parser, Debug, Clone)]
#[command(
    name = "authio-bench",
    about = "Load harness for Authio: starts `authio serve` on a fresh PostgreSQL database and measures it"
)]
pub struct Args {
    /// Drive this already running server instead of starting one (only the sections
    /// that need no control of the server run: pgbench with --database-url, ops,
    /// webhooks).
    #[arg(long)]
    url: Option<String>,
    /// PostgreSQL server (a role that may create databases); the harness creates
    /// `authio_bench_<random>` on it and drops it at the end.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// Keep the database (and the server logs) at the end.
    #[arg(long)]
    keep: bool,
    /// With --url: the server's database (console token via `authio operators token`, pgbench).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// With --url: a console token (`cs_…`) to use instead of running the CLI.
    #[arg(long)]
    console_token: Option<String>,
    /// With --url: the server's mail outbox directory (its `AUTHIO_MAIL_URL=file://DIR`),
    /// where `invite-accept` reads the invitation codes (without it that row is skipped).
    #[arg(long)]
    mail_outbox: Option<std::path::PathBuf>,
    /// The `authio` binary (default: next to this binary, else `authio` on PATH).
    #[arg(long)]
    authio_bin: Option<String>,
    /// The pgbench binary.
    #[arg(long, default_value = "pgbench")]
    pgbench: String,
    /// The nats-server binary (for the relay).
    #[arg(long, default_value = "nats-server")]
    nats_bin: String,
    /// Sections to run, comma-separated (default: all). `growth`, `rebuild` and `relay`
    /// build the big synthetic data set (and so always time the rebuild).
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(SECTIONS))]
    sections: Option<Vec<String>>,
    /// A small smoke run: 50,000 events, 2 s per operation, fewer users, webhooks and pages.
    #[arg(long)]
    quick: bool,
    /// Users to create over the API [default: 500; quick: 200].
    #[arg(long)]
    users: Option<usize>,
    /// Organizations to create over the API [default: 50; quick: 20].
    #[arg(long)]
    orgs: Option<usize>,
    /// Memberships per user (the first one with role admin), in distinct organizations.
    #[arg(long, default_value_t = 3)]
    memberships_per_user: usize,
    /// Concurrent workers (HTTP) and clients (pgbench).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds per operation and for pgbench [default: 10; quick: 2].
    #[arg(long)]
    duration: Option<u64>,
    /// Operations to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "switch-org,refresh,switch-org-shared,refresh-shared,switch-org-es256,introspect,me,sign-in,create-membership,change-role,list-members,events,switch-org-50-perms,invite-accept,scim-create,scim-deactivate,handoff,oauth-client-register,oauth-code,oauth-refresh,oauth-userinfo,sso-lookup,saml-sign-in",
        value_parser = clap::builder::PossibleValuesParser::new(ops::OPS))]
    ops: Vec<String>,
    /// Events of the synthetic data set, written straight into the database (plus
    /// about --concurrency × 1,101 memberships of the switch-org growth users)
    /// [default: 1000000; quick: 50000].
    #[arg(long)]
    events: Option<usize>,
    /// Role changes whose webhook deliveries are timed [default: 20000; quick: 2000].
    #[arg(long)]
    webhook_events: Option<usize>,
    /// Seconds per cost-growth row [default: --duration].
    #[arg(long)]
    growth_duration: Option<u64>,
    /// Fresh users created over the API for the add-member rows (the sequential and the
    /// concurrent row of one organization share them) [default: 24000; quick: 1000].
    #[arg(long)]
    growth_pool: Option<usize>,
    /// Requests of the sequential add-member rows (one worker; the row ends at this many
    /// or at --growth-duration, whichever comes first, but not before 10)
    /// [default: 3000; quick: 300].
    #[arg(long)]
    growth_sequential: Option<usize>,
    /// Pages of `GET /v1/events` per position and mode [default: 300; quick: 100].
    #[arg(long)]
    event_pages: Option<usize>,
    /// Relay: stop timing after this many events (0: the whole log).
    #[arg(long, default_value_t = 0)]
    relay_events: usize,
}

/// The effective settings (flags, else the quick preset, else the defaults).
pub struct Settings {
    pub users: usize,
    pub orgs: usize,
    pub duration: u64,
    pub events: usize,
    pub webhook_events: usize,
    pub growth_duration: u64,
    pub growth_pool: usize,
    pub growth_sequential: usize,
    pub event_pages: usize,
    pub sections: Vec<String>,
}

impl Settings {
    fn from(a: &Args) -> Settings {
        let q = a.quick;
        let duration = a.duration.unwrap_or(if q { 2 } else { 10 });
        Settings {
            users: a.users.unwrap_or(if q { 200 } else { 500 }),
            orgs: a.orgs.unwrap_or(if q { 20 } else { 50 }),
            duration,
            events: a.events.unwrap_or(if q { 50_000 } else { 1_000_000 }),
            webhook_events: a.webhook_events.unwrap_or(if q { 2_000 } else { 20_000 }),
            growth_duration: a.growth_duration.unwrap_or(duration),
            growth_pool: a.growth_pool.unwrap_or(if q { 1_000 } else { 24_000 }),
            growth_sequential: a.growth_sequential.unwrap_or(if q { 300 } else { 3_000 }),
            event_pages: a.event_pages.unwrap_or(if q { 100 } else { 300 }),
            sections: a.sections.clone().unwrap_or_else(|| SECTIONS.iter().map(|s| s.to_string()).collect()),
        }
    }
    fn has(&self, s: &str) -> bool {
        self.sections.iter().any(|x| x == s)
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let settings = Settings::from(&args);
    let mut report = Report::new(&args, &settings);
    // Ctrl-C drops `run` (and so stops the servers and drops the database).
    let outcome = tokio::select! {
        r = run(&args, &settings, &mut report) => r,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    print!("{}", report.render());
    if let Err(e) = outcome {
        eprintln!("authio-bench: {e}");
        std::process::exit(1);
    }
}

async fn run(args: &Args, st: &Settings, report: &mut Report) -> Res<()> {
    let tag = format!("{:08x}", rand::random::<u32>());
    let bin = infra::authio_bin(args.authio_bin.as_deref());
    let c = args.concurrency.max(1);
    let sizes =
        Sizes { users: st.users, orgs: st.orgs, memberships_per_user: args.memberships_per_user, concurrency: c };
    let scratch = Scratch::new(&tag, args.keep)?;

    if let Some(url) = &args.url {
        let api = Api::new(url, c)?;
        let (s, _) = api.call(reqwest::Method::GET, "/healthz", None, None, None).await?;
        if !s.is_success() {
            return Err(format!("{url}/healthz answered {s}"));
        }
        let cs = match &args.console_token {
            Some(t) => t.clone(),
            None => infra::console_token(&bin, args.database_url.as_deref(), &tag).await?,
        };
        let tenant = Arc::new(ops::provision(&api, &cs, &sizes, &tag).await?);
        report.provisioned = Some(describe(&tenant));
        if st.has("pgbench") {
            match &args.database_url {
                Some(db) if db.starts_with("postgres") => {
                    report.pgbench = Some(pgbench::run(&args.pgbench, db, &scratch.dir, c, st.duration).await?)
                }
                _ => report.skipped.push("pgbench: needs --database-url postgres://… with --url".into()),
            }
        }
        let db_url = args.database_url.as_deref().filter(|u| u.starts_with("postgres"));
        let cpu = CpuScope { db_url, server: None };
        http_sections(args, st, report, &api, &tenant, None, args.mail_outbox.as_deref(), &cpu).await?;
        for s in ["ready", "memory", "rebuild", "relay"] {
            if st.has(s) {
                report.skipped.push(format!("{s}: needs a server started by the harness (no --url)"));
            }
        }
        if st.has("growth") {
            report.skipped.push("growth: needs the big data set (no --url)".into());
        }
        return Ok(());
    }

    let db = BenchDb::create(&args.pg, &tag, args.keep).await?;
    eprintln!("database {} created; logs in {}", db.name, scratch.dir.display());
    report.database = Some(db.name.clone());
    report.postgres = postgres_version(&db.url).await;
    let launcher = Launcher {
        bin: bin.clone(),
        database_url: db.url.clone(),
        consumer: format!("authio-bench-{tag}"),
        dir: scratch.dir.clone(),
        outbox: scratch.dir.join("outbox"),
        dns: dns::start().await?,
    };

    // 1. A fresh database: ready time, provisioning, idle memory.
    let s1 = launcher.start(1, None).await?;
    eprintln!("authio serve ready in {:.0} ms on a fresh database ({})", ms(s1.ready), s1.url);
    report.ready_fresh = Some(s1.ready);
    let api = Api::new(&s1.url, c)?;
    let cs = infra::console_token(&bin, Some(&db.url), &tag).await?;
    let tenant = Arc::new(ops::provision(&api, &cs, &sizes, &tag).await?);
    report.provisioned = Some(describe(&tenant));
    // Untimed: planner statistics for the provisioned tables, as autovacuum would gather
    // them after thousands of inserts. This machine's PostgreSQL runs with autovacuum
    // off, and without statistics the planner took the project index for an
    // organization's members (all of the project's memberships read and filtered).
    let mut conn = infra::connect(&db.url).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await.map_err(|e| format!("ANALYZE: {e}"))?;
    drop(conn);
    if st.has("memory") {
        tokio::time::sleep(Duration::from_secs(1)).await;
        report.rss_idle = Some(s1.rss_mb());
    }

    // 2. pgbench, the server idle, then the HTTP operations (memory sampled).
    if st.has("pgbench") {
        eprintln!("pgbench: {c} clients for {} s", st.duration);
        let b = pgbench::run(&args.pgbench, &db.url, &scratch.dir, c, st.duration).await?;
        eprintln!("pgbench: {:.0} tps", b.tps);
        report.pgbench = Some(b);
    }
    let scope = CpuScope { db_url: Some(&db.url), server: Some(s1.pid) };
    http_sections(args, st, report, &api, &tenant, Some(&s1), Some(&launcher.outbox), &scope).await?;

    let big = st.has("growth") || st.has("rebuild") || st.has("relay");
    s1.stop().await?;
    if !big {
        return Ok(());
    }

    // 3. The big synthetic data set, the rebuild, a restart on it.
    eprintln!("writing about {} synthetic events into {}", st.events, db.name);
    let syn = synth::generate(&db.url, &tenant, st.events, c, &tag).await?;
    eprintln!(
        "wrote {} events (positions {}..={}) in {:.1} s",
        syn.events, syn.first_position, syn.last_position, syn.secs
    );
    // Untimed: flush the dirty pages the synthetic data set left, so the rebuild's clock
    // does not pay for the checkpoint of the COPY just before it (a rebuild in production
    // starts on a database at rest). The rebuild's own WAL and checkpoints are timed.
    let started = Instant::now();
    let mut conn = infra::connect(&db.url).await?;
    let flushed = sqlx::query("CHECKPOINT").execute(&mut conn).await;
    drop(conn);
    report.rebuild_checkpoint = Some(flushed.map(|_| started.elapsed().as_secs_f64()).map_err(|e| e.to_string()));
    eprintln!("CHECKPOINT before the rebuild: {:?}", report.rebuild_checkpoint);
    eprintln!("authio projections rebuild over {} events", syn.last_position);
    let started = Instant::now();
    infra::authio_cli(&bin, Some(&db.url), &["projections", "rebuild"]).await?;
    report.rebuild = Some((syn.last_position, started.elapsed().as_secs_f64()));
    eprintln!("rebuild: {:.1} s", started.elapsed().as_secs_f64());
    // The swapped-in tables have no planner statistics yet; autovacuum would gather them
    // soon after (where it runs: see the report's header), so gather them now.
    let started = Instant::now();
    let mut conn = infra::connect(&db.url).await?;
    sqlx::query("ANALYZE").execute(&mut conn).await.map_err(|e| format!("ANALYZE: {e}"))?;
    drop(conn);
    eprintln!("ANALYZE after the rebuild: {:.1} s", started.elapsed().as_secs_f64());
    report.synth = Some(syn);

    let s2 = launcher.start(2, None).await?;
    eprintln!("authio serve ready in {:.0} ms on the big database", ms(s2.ready));
    report.ready_restart = Some(s2.ready);
    if st.has("memory") {
        tokio::time::sleep(Duration::from_secs(1)).await;
        report.rss_idle_big = Some(s2.rss_mb());
    }
    if st.has("growth") {
        let api = Api::new(&s2.url, c)?;
        switch_growth(st, report, &api, &tenant, c, &CpuScope { db_url: Some(&db.url), server: Some(s2.pid) }).await?;
        big_growth(st, report, &api, &tenant, c, &tag, &db.url, s2.pid).await?;
        if st.has("memory") {
            report.rss_after_growth = Some(s2.rss_mb());
        }
    }
    s2.stop().await?;

    // 4. The relay: the whole log to a private nats-server.
    if st.has("relay") {
        relay(args, report, &launcher, &scratch).await?;
    }
    Ok(())
}

/// How the harness starts `authio serve` on the bench database.
struct Launcher {
    bin: String,
    database_url: String,
    consumer: String,
    dir: std::path::PathBuf,
    /// The servers' mail outbox (`AUTHIO_MAIL_URL=file://…`), read by `invite-accept`.
    outbox: std::path::PathBuf,
    /// The harness's DNS stub (`AUTHIO_DNS_RESOLVER`), where `saml-sign-in` publishes
    /// its domains' challenges.
    dns: String,
}

impl Launcher {
    async fn start(&self, n: usize, nats: Option<&str>) -> Res<Server> {
        Server::start(ServeOpts {
            bin: &self.bin,
            database_url: &self.database_url,
            nats_url: nats,
            consumer: &self.consumer,
            outbox: &self.outbox,
            log: self.dir.join(format!("serve-{n}.log")),
            dns_resolver: Some(&self.dns),
        })
        .await
    }
}

fn describe(t: &Tenant) -> String {
    let m: usize = t.memberships.iter().map(Vec::len).sum();
    format!("tenant {}: {} users, {} organizations, {} memberships", t.id, t.users.len(), t.orgs.len(), m)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `15.20 (…)`, and whether autovacuum runs.
async fn postgres_version(url: &str) -> Option<String> {
    let mut c = infra::connect(url).await.ok()?;
    let v: String = sqlx::query_scalar("SHOW server_version").fetch_one(&mut c).await.ok()?;
    let av: String = sqlx::query_scalar("SHOW autovacuum").fetch_one(&mut c).await.ok()?;
    Some(format!("{v}, autovacuum {av}"))
}

/// The sections that need only HTTP: operations (with memory sampled when the harness
/// runs the server) and webhooks. `outbox`: the server's mail outbox directory.
#[allow(clippy::too_many_arguments)]
async fn http_sections(
    args: &Args,
    st: &Settings,
    report: &mut Report,
    api: &Api,
    tenant: &Arc<Tenant>,
    server: Option<&Server>,
    outbox: Option<&std::path::Path>,
    cpu: &CpuScope<'_>,
) -> Res<()> {
    let c = args.concurrency.max(1);
    if st.has("ops") {
        let sampler = server.filter(|_| st.has("memory")).map(|s| RssSampler::start(s.pid));
        for op in &args.ops {
            if op == "invite-accept" && outbox.is_none() {
                report.skipped.push("invite-accept: needs --mail-outbox DIR with --url".into());
                continue;
            }
            eprintln!("running {op}: {c} workers for {} s", st.duration);
            let d = Duration::from_secs(st.duration);
            let row = cpu.measure(ops::run_op(op, op, api, tenant.clone(), c, d, outbox)).await?;
            eprintln!("  {:.0}/s, p99 {:.1} ms, {} errors", row.rate(), row.p99, row.errors);
            report.ops.push(row);
        }
        if let Some(s) = sampler {
            report.rss_load = Some(s.stop());
        }
    }
    if st.has("webhooks") {
        eprintln!("webhooks: {} role changes with {c} workers, deliveries to a local receiver", st.webhook_events);
        report.webhooks = Some(hooks::run(api, tenant.clone(), st.webhook_events, c).await?);
    }
    Ok(())
}

/// Where the CPU time of a measurement is read: the bench database's backends, and the
/// server when the harness runs it (see `cpu`).
struct CpuScope<'a> {
    db_url: Option<&'a str>,
    server: Option<u32>,
}

impl CpuScope<'_> {
    /// Run one HTTP measurement, with the CPU it cost when it can be read.
    async fn measure(&self, row: impl std::future::Future<Output = Res<ops::Row>>) -> Res<ops::Row> {
        let sampler = match self.db_url {
            Some(url) => Some(cpu::CpuSampler::start(url, self.server, cpu::Client::This).await?),
            None => None,
        };
        if let Some(s) = &sampler {
            s.restart_at_clock();
        }
        let mut row = row.await?;
        row.cpu = sampler.map(cpu::CpuSampler::stop);
        Ok(row)
    }
}

/// switch-org for users with 1, 100 and 1,000 memberships (from the synthetic data set:
/// one such user per worker, so no two workers share a user).
async fn switch_growth(
    st: &Settings,
    report: &mut Report,
    api: &Api,
    t: &Arc<Tenant>,
    c: usize,
    cpu: &CpuScope<'_>,
) -> Res<()> {
    let Some(syn) = &report.synth else { return Ok(()) };
    let sizes = syn.switch_users.clone();
    for (n, users) in sizes {
        let mut one = (**t).clone();
        one.users = users.iter().map(|(u, _)| u.clone()).collect();
        one.orgs = users.iter().flat_map(|(_, orgs)| orgs.iter().cloned()).collect();
        let mut i = 0;
        one.memberships = users
            .iter()
            .map(|(_, orgs)| {
                let v = (i..i + orgs.len()).map(|o| (o, String::new())).collect();
                i += orgs.len();
                v
            })
            .collect();
        let size = format!("{} membership{}", report::thousands(n as u64), if n == 1 { "" } else { "s" });
        let label = format!("switch-org, users with {size}");
        eprintln!("growth: {label}: {c} workers for {} s", st.growth_duration);
        let d = Duration::from_secs(st.growth_duration);
        let row = cpu.measure(ops::run_op("switch-org", &label, api, Arc::new(one), c, d, None)).await?;
        eprintln!("  {:.0}/s, p99 {:.1} ms, {} errors{}", row.ok_rate(), row.p99, row.errors, rss_note(cpu.server));
        report.growth.push(GrowthRow { case: "switch-org", size, row });
    }
    Ok(())
}

/// The server's resident memory for a progress line (where the harness knows it).
fn rss_note(server: Option<u32>) -> String {
    server.and_then(infra::rss_mb).map(|mb| format!("; server RSS {mb:.1} MB")).unwrap_or_default()
}

/// Adding a member to the large synthetic organizations, and events paging at 0 and
/// near 1,000,000 (on the restarted server).
#[allow(clippy::too_many_arguments)]
async fn big_growth(
    st: &Settings,
    report: &mut Report,
    api: &Api,
    t: &Arc<Tenant>,
    c: usize,
    tag: &str,
    db_url: &str,
    server: u32,
) -> Res<()> {
    let Some(syn) = &report.synth else { return Ok(()) };
    let orgs = syn.big_orgs.clone();
    let last = syn.last_position;
    eprintln!("growth: {} fresh users for the add-member rows", st.growth_pool);
    let started = Instant::now();
    let retries = AtomicUsize::new(0);
    let pool = Arc::new(ops::create_users(api, t, st.growth_pool, &format!("fresh{tag}"), c, &retries).await?);
    eprintln!("growth: created in {:.1} s", started.elapsed().as_secs_f64());
    for (size, org) in &orgs {
        let n = report::thousands(*size as u64);
        let next = Arc::new(AtomicUsize::new(0));
        let d = Duration::from_secs(st.growth_duration);
        // Untimed: the streams written by COPY have no snapshot yet; a stream grown over
        // the API would have one, so add members until the first one is written.
        let k = synth::warm_up(*size);
        eprintln!("growth: warm-up, {k} untimed add-member requests on the organization of {n}");
        let label = format!("warm-up, organization of {n}");
        ops::add_members(&label, api, t.clone(), org, pool.clone(), next.clone(), 1, Duration::ZERO, (k, k)).await?;
        // The server writes that snapshot after the commit, in the background (for the
        // organization of 100,350: about 10 MB of JSON); wait for it, so the timed rows
        // do not share the machine with it.
        let waited = synth::wait_for_snapshot(db_url, org, (1 + size + k) as i64).await?;
        eprintln!("growth: its snapshot written after {:.1} s{}", waited.as_secs_f64(), rss_note(Some(server)));
        // Sequential: at least 10 and at most --growth-sequential requests (300, the
        // default until `2c0f565`, took 0.4 s: its p99 was its third-slowest request).
        let sequential = (1, 10, st.growth_sequential.max(10));
        for (case, (workers, min, max)) in
            [("add member (sequential)", sequential), ("add member (concurrent)", (c, 0, usize::MAX))]
        {
            let label = format!("{case}, organization of {n}");
            eprintln!("growth: {label}: {workers} workers for {} s", st.growth_duration);
            let limits = (min, max);
            let row =
                ops::add_members(&label, api, t.clone(), org, pool.clone(), next.clone(), workers, d, limits).await?;
            let rss = rss_note(Some(server));
            eprintln!("  {:.0} ok/s, p99 {:.1} ms, {} errors{rss}", row.ok_rate(), row.p99, row.errors);
            report.growth.push(GrowthRow { case, size: format!("{n} members"), row });
        }
    }
    // The far position: 1,000,000, or as far as the log allows the pages to run (each
    // page of 100 of the project's events spans up to ~125 positions, as reservations
    // have no project; concurrent worker w starts w × its share of pages further on).
    let per = st.event_pages.div_ceil(c) as i64;
    let room = (st.event_pages as i64).max((c as i64 + 1) * per) * 125 + 1000;
    let far = (last - room).clamp(0, 1_000_000);
    for (mode, workers) in [("sequential", 1), ("concurrent", c)] {
        for after in [0, far] {
            let label = format!("GET /v1/events, {mode}, after={after}");
            eprintln!("growth: {label}: {} pages", st.event_pages);
            let row = ops::event_pages(&label, api, t.clone(), after, st.event_pages, workers).await?;
            let case = if workers == 1 { "events page (sequential)" } else { "events page (concurrent)" };
            report.growth.push(GrowthRow { case, size: format!("after={}", report::thousands(after as u64)), row });
        }
    }
    Ok(())
}

/// Relay throughput: relay checkpoint at 0, a server with `NATS_URL` on a private
/// nats-server, the checkpoint polled every 50 ms until it reaches the target.
async fn relay(args: &Args, report: &mut Report, launcher: &Launcher, scratch: &Scratch) -> Res<()> {
    let nats = Nats::start(&args.nats_bin, &scratch.dir.join("nats")).await?;
    let mut conn = infra::connect(&launcher.database_url).await?;
    let q = |e: sqlx::Error| format!("relay: {e}");
    let (count, last): (i64, i64) = sqlx::query_as("SELECT COUNT(*), COALESCE(MAX(position), 0) FROM audit_events")
        .fetch_one(&mut conn)
        .await
        .map_err(q)?;
    let target = if args.relay_events > 0 && (args.relay_events as i64) < count {
        sqlx::query_scalar("SELECT position FROM audit_events ORDER BY position OFFSET $1 LIMIT 1")
            .bind(args.relay_events as i64 - 1)
            .fetch_one(&mut conn)
            .await
            .map_err(q)?
    } else {
        last
    };
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position) VALUES ('relay', 0) \
         ON CONFLICT (name) DO UPDATE SET position = 0",
    )
    .execute(&mut conn)
    .await
    .map_err(q)?;
    eprintln!("relay: {count} audit entries from position 0 to {target}, NATS at {}", nats.url);
    let s3 = launcher.start(3, Some(&nats.url)).await?;
    let mut first: Option<(Instant, i64)> = None;
    let mut progress = (Instant::now(), 0i64);
    let end = loop {
        let cp: i64 = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'relay'")
            .fetch_one(&mut conn)
            .await
            .map_err(q)?;
        let now = Instant::now();
        if cp > 0 && first.is_none() {
            first = Some((now, cp));
        }
        if cp >= target {
            break Some((now, cp));
        }
        if cp > progress.1 {
            progress = (now, cp);
        } else if progress.0.elapsed() > Duration::from_secs(60) {
            eprintln!("relay: stuck at position {cp} for 60 s:\n{}", s3.log_tail());
            break first.map(|_| progress);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    s3.stop().await?;
    nats.stop().await;
    let (Some((t0, p0)), Some((t1, p1))) = (first, end) else {
        return Err("relay: the checkpoint never moved".into());
    };
    // Positions are dense: one audit entry each.
    let events = p1 - p0;
    let secs = (t1 - t0).as_secs_f64().max(0.001);
    eprintln!("relay: {events} events in {secs:.1} s");
    report.relay = Some(report::RelayFigures {
        events,
        secs,
        complete: p1 >= target,
        total: count,
        whole: args.relay_events == 0,
    });
    Ok(())
}
