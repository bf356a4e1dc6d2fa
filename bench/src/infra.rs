//! What the harness runs besides HTTP: the bench database, `authio serve` processes,
//! a private nats-server, the `authio` CLI, and the server's resident memory.
use crate::Res;
use sqlx::postgres::PgConnection;
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// `base` (`postgres://user@host:port[/db][?params]`) pointed at database `name`.
pub fn db_url(base: &str, name: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let host = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(q) => format!("{scheme}://{host}/{name}?{q}"),
        None => format!("{scheme}://{host}/{name}"),
    }
}

pub async fn connect(url: &str) -> Res<PgConnection> {
    PgConnection::connect(url).await.map_err(|e| format!("connecting to {url}: {e}"))
}

/// A database made for this run, dropped (`DROP DATABASE … WITH (FORCE)`) when this is
/// dropped, also after an error or an interrupt, unless `keep`.
pub struct BenchDb {
    pub name: String,
    pub url: String,
    maintenance: String,
    keep: bool,
}

impl BenchDb {
    pub async fn create(base: &str, tag: &str, keep: bool) -> Res<BenchDb> {
        let name = format!("authio_bench_{tag}");
        let maintenance = db_url(base, "postgres");
        let mut c = connect(&maintenance).await?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .map_err(|e| format!("CREATE DATABASE {name}: {e}"))?;
        let _ = c.close().await;
        Ok(BenchDb { url: db_url(base, &name), name, maintenance, keep })
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept database {} ({})", self.name, self.url);
            return;
        }
        // Synchronous on purpose (also runs while unwinding after an error): psql.
        let out = std::process::Command::new("psql")
            .args(["-X", "-q", "-d", &self.maintenance, "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
        match out {
            Ok(o) if o.status.success() => eprintln!("dropped database {}", self.name),
            Ok(o) => eprintln!("could not drop database {}: {}", self.name, String::from_utf8_lossy(&o.stderr).trim()),
            Err(e) => eprintln!("could not drop database {} (psql: {e})", self.name),
        }
    }
}

/// A free loopback port (bound, then released).
pub fn free_port() -> Res<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

/// The `authio` binary: `--authio-bin`, else next to this executable, else on PATH.
pub fn authio_bin(flag: Option<&str>) -> String {
    flag.map(str::to_string).unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.join("authio")))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "authio".to_string())
    })
}

/// `authio <args>` with `DATABASE_URL`; its stdout, or an error with its stderr.
pub async fn authio_cli(bin: &str, database_url: Option<&str>, args: &[&str]) -> Res<String> {
    let mut cmd = Command::new(bin);
    cmd.args(args).env("RUST_LOG", "warn").stdin(Stdio::null()).kill_on_drop(true);
    if let Some(db) = database_url {
        cmd.env("DATABASE_URL", db);
    }
    let out = cmd.output().await.map_err(|e| format!("running {bin}: {e} (pass --authio-bin)"))?;
    if !out.status.success() {
        return Err(format!("{bin} {} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A console token (`cs_…`) from `authio operators token`.
pub async fn console_token(bin: &str, database_url: Option<&str>, tag: &str) -> Res<String> {
    let email = format!("bench-{tag}@example.com");
    let t = authio_cli(bin, database_url, &["operators", "token", "--email", &email]).await?;
    if !t.starts_with("cs_") {
        return Err(format!("unexpected console token {t:?}"));
    }
    Ok(t)
}

/// Resident memory of a process in MB (VmRSS of /proc/<pid>/status).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Samples a process's resident memory every 100 ms until stopped; keeps the maximum.
pub struct RssSampler {
    max_kb: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let max_kb = Arc::new(AtomicU64::new(0));
        let m = max_kb.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if let Some(mb) = rss_mb(pid) {
                    m.fetch_max((mb * 1024.0) as u64, Ordering::Relaxed);
                }
            }
        });
        RssSampler { max_kb, task }
    }

    /// Stop; the maximum in MB.
    pub fn stop(self) -> f64 {
        self.task.abort();
        self.max_kb.load(Ordering::Relaxed) as f64 / 1024.0
    }
}

/// An `authio serve` started by the harness: killed when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub url: String,
    log: PathBuf,
    /// From spawn until `GET /readyz` answered 200.
    pub ready: Duration,
}

/// Options of one `authio serve`.
pub struct ServeOpts<'a> {
    pub bin: &'a str,
    pub database_url: &'a str,
    pub nats_url: Option<&'a str>,
    /// The webhook fan-out's JetStream consumer (with NATS).
    pub consumer: &'a str,
    /// The mail outbox directory (`AUTHIO_MAIL_URL=file://DIR`).
    pub outbox: &'a Path,
    pub log: PathBuf,
    /// `AUTHIO_DNS_RESOLVER`: the harness's DNS stub (`crate::dns`).
    pub dns_resolver: Option<&'a str>,
}

impl Server {
    /// Spawn `authio serve` on a free port and wait until `/readyz` answers 200 (polled
    /// every 5 ms); the time from spawn to that answer is `ready`.
    pub async fn start(o: ServeOpts<'_>) -> Res<Server> {
        let port = free_port()?;
        let log = std::fs::File::create(&o.log).map_err(|e| format!("{}: {e}", o.log.display()))?;
        let mut cmd = Command::new(o.bin);
        cmd.arg("serve")
            .env("DATABASE_URL", o.database_url)
            .env("AUTHIO_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn")
            .env("AUTHIO_WEBHOOK_ALLOW_PRIVATE", "true")
            .env("AUTHIO_WEBHOOK_CONSUMER", o.consumer)
            .env("AUTHIO_MAIL_URL", format!("file://{}", o.outbox.display()))
            .env_remove("NATS_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        if let Some(n) = o.nats_url {
            cmd.env("NATS_URL", n);
        }
        if let Some(d) = o.dns_resolver {
            cmd.env("AUTHIO_DNS_RESOLVER", d);
        }
        // The harness starts thousands of SSO sign-ins from one address (`saml-sign-in`
        // prepares 30 per worker-second before the clock): no per-address limit.
        cmd.env("AUTHIO_SSO_START_LIMIT", "0");
        // SSO connections need a key (a fresh one each run).
        cmd.env("AUTHIO_SECRET_KEY", format!("{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>()));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().map_err(|e| e.to_string())?;
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("running {} serve: {e} (pass --authio-bin)", o.bin))?;
        let pid = child.id().ok_or("authio serve exited at once")?;
        let mut server = Server { child, pid, url, log: o.log, ready: Duration::ZERO };
        loop {
            if let Ok(r) = http.get(format!("{}/readyz", server.url)).send().await {
                if r.status().is_success() {
                    server.ready = started.elapsed();
                    break;
                }
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("authio serve exited ({status}) before ready:\n{}", server.log_tail()));
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err(format!("authio serve not ready after 600 s:\n{}", server.log_tail()));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(server)
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    pub fn rss_mb(&self) -> f64 {
        rss_mb(self.pid).unwrap_or(0.0)
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub async fn stop(mut self) -> Res<()> {
        terminate(&mut self.child, self.pid).await;
        Ok(())
    }
}

async fn terminate(child: &mut Child, pid: u32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
    if tokio::time::timeout(Duration::from_secs(10), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

/// A private nats-server with JetStream in a directory of its own (removed on drop).
pub struct Nats {
    child: Child,
    pid: u32,
    pub url: String,
    dir: PathBuf,
}

impl Nats {
    pub async fn start(bin: &str, dir: &Path) -> Res<Nats> {
        let port = free_port()?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("running {bin}: {e} (pass --nats-bin)"))?;
        let pid = child.id().ok_or("nats-server exited at once")?;
        let nats = Nats { child, pid, url: format!("nats://127.0.0.1:{port}"), dir: dir.to_path_buf() };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if started.elapsed() > Duration::from_secs(10) {
                return Err("nats-server did not listen within 10 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(nats)
    }

    pub async fn stop(mut self) {
        terminate(&mut self.child, self.pid).await;
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A scratch directory for logs and scripts (removed on drop unless kept).
pub struct Scratch {
    pub dir: PathBuf,
    pub keep: bool,
}

impl Scratch {
    pub fn new(tag: &str, keep: bool) -> Res<Scratch> {
        let dir = std::env::temp_dir().join(format!("authio-bench-{tag}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch { dir, keep })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("kept logs in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// CPU model, cores and memory of this machine, as one line.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
            l.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .map(|kb| format!("{:.0} GB RAM", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem}")
}
