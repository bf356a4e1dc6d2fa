//! CPU time spent per request, by whom: the `authio` server process, the PostgreSQL
//! backends connected to the bench database, and the load generator (this process, or
//! pgbench for the baseline). Read from `/proc/<pid>/stat` (user + system time of every
//! thread, in clock ticks of 1/100 s, Linux's USER_HZ) every 100 ms while a measurement
//! runs. A backend already there at the start counts from its value then; one that
//! appears later counts from zero (all its time belongs to the measurement). Not
//! counted: PostgreSQL's background processes (WAL writer, checkpointer) and the
//! kernel's network processing outside these processes.
//!
//! On a machine where all of them share the cores, the sum bounds the throughput: no
//! more than cores × 1 s ÷ (CPU per request) requests per second.
use crate::infra::connect;
use crate::Res;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TICKS_PER_SEC: f64 = 100.0;

/// CPU seconds spent during one measurement.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuSpent {
    pub server: f64,
    pub postgres: f64,
    pub client: f64,
    /// The server's process was read (it is not when the harness drives a server it
    /// did not start, nor for pgbench).
    pub server_seen: bool,
}

impl CpuSpent {
    pub fn total(&self) -> f64 {
        self.server + self.postgres + self.client
    }
}

/// Two fields of `/proc/<pid>/stat` (counted from the state, field 3, as 0) added up,
/// in seconds.
fn stat_secs(pid: u32, a: usize, b: usize) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let x: f64 = f.get(a)?.parse().ok()?;
    let y: f64 = f.get(b)?.parse().ok()?;
    Some((x + y) / TICKS_PER_SEC)
}

/// CPU seconds of a process so far (utime + stime of all its threads), if it still runs.
fn cpu_secs(pid: u32) -> Option<f64> {
    stat_secs(pid, 11, 12)
}

/// CPU seconds of this process's children that have been waited for (cutime + cstime).
fn children_secs() -> f64 {
    stat_secs(std::process::id(), 13, 14).unwrap_or(0.0)
}

/// Whose CPU time is the load generator's.
#[derive(Clone, Copy, Debug)]
pub enum Client {
    /// This process (the HTTP workers).
    This,
    /// The child processes this one runs and waits for meanwhile (pgbench).
    Children,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Server,
    Postgres,
    Client,
}

#[derive(Default)]
struct Seen {
    /// (role, pid) → (value at first sight, or 0 for a process born during the run; last value).
    procs: HashMap<(Role, u32), (f64, f64)>,
}

impl Seen {
    fn record(&mut self, role: Role, pid: u32, secs: f64, at_start: bool) {
        let e = self.procs.entry((role, pid)).or_insert((if at_start { secs } else { 0.0 }, secs));
        e.1 = secs;
    }
    fn spent(&self) -> CpuSpent {
        let mut s = CpuSpent::default();
        for ((role, _), (first, last)) in &self.procs {
            let d = (last - first).max(0.0);
            match role {
                Role::Server => {
                    s.server += d;
                    s.server_seen = true;
                }
                Role::Postgres => s.postgres += d,
                Role::Client => s.client += d,
            }
        }
        s
    }
}

/// The processes read at each sample besides the backends.
#[derive(Clone, Copy)]
struct Targets {
    server: Option<u32>,
    client: Client,
}

impl Targets {
    fn sample(&self, seen: &mut Seen, at_start: bool, backends: &[u32]) {
        if let Some(pid) = self.server {
            if let Some(s) = cpu_secs(pid) {
                seen.record(Role::Server, pid, s, at_start);
            }
        }
        for &pid in backends {
            if let Some(s) = cpu_secs(pid) {
                seen.record(Role::Postgres, pid, s, at_start);
            }
        }
        let this = std::process::id();
        if let (Client::This, Some(s)) = (self.client, cpu_secs(this)) {
            seen.record(Role::Client, this, s, true);
        }
    }
}

const BACKENDS: &str =
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";

/// What `measure_from_now` does: restart the count of the sampler of the measurement
/// that runs (one at a time).
type Restart = Box<dyn Fn() + Send>;
static RESTART: Mutex<Option<Restart>> = Mutex::new(None);

/// Count the CPU of the running measurement (if any) from now on: called when its
/// clock starts, so the workers' setup is not counted.
pub fn measure_from_now() {
    if let Some(restart) = RESTART.lock().unwrap().as_ref() {
        restart();
    }
}

/// Samples CPU time every 100 ms until stopped.
pub struct CpuSampler {
    targets: Targets,
    children_at_start: f64,
    seen: Arc<Mutex<Seen>>,
    backends: Arc<Mutex<Vec<u32>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CpuSampler {
    /// Start sampling: the server `server` (if any), the backends of the database at
    /// `db_url` (found in `pg_stat_activity`, without the sampler's own), and the
    /// load generator `client`.
    pub async fn start(db_url: &str, server: Option<u32>, client: Client) -> Res<CpuSampler> {
        let targets = Targets { server, client };
        let children_at_start = children_secs();
        let mut conn = connect(db_url).await?;
        let pids = |v: Vec<i32>| v.into_iter().map(|p| p as u32).collect::<Vec<u32>>();
        let first: Vec<i32> =
            sqlx::query_scalar(BACKENDS).fetch_all(&mut conn).await.map_err(|e| format!("pg_stat_activity: {e}"))?;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let backends = Arc::new(Mutex::new(pids(first)));
        targets.sample(&mut seen.lock().unwrap(), true, &backends.lock().unwrap());
        let task = tokio::spawn({
            let (seen, backends) = (seen.clone(), backends.clone());
            async move {
                let mut every = tokio::time::interval(Duration::from_millis(100));
                every.tick().await;
                loop {
                    every.tick().await;
                    if let Ok(now) = sqlx::query_scalar::<_, i32>(BACKENDS).fetch_all(&mut conn).await {
                        *backends.lock().unwrap() = pids(now);
                    }
                    let now = backends.lock().unwrap().clone();
                    targets.sample(&mut seen.lock().unwrap(), false, &now);
                }
            }
        });
        Ok(CpuSampler { targets, children_at_start, seen, backends, task })
    }

    /// Let `measure_from_now` restart this sampler's count, until `stop`.
    pub fn restart_at_clock(&self) {
        let (targets, seen, backends) = (self.targets, self.seen.clone(), self.backends.clone());
        *RESTART.lock().unwrap() = Some(Box::new(move || {
            let now = backends.lock().unwrap().clone();
            let mut seen = seen.lock().unwrap();
            *seen = Seen::default();
            targets.sample(&mut seen, true, &now);
        }));
    }

    /// One last sample, then the CPU seconds spent since the start. With
    /// `Client::Children`, call it after the children were waited for.
    pub fn stop(self) -> CpuSpent {
        RESTART.lock().unwrap().take();
        self.task.abort();
        let backends = self.backends.lock().unwrap().clone();
        let mut seen = self.seen.lock().unwrap();
        self.targets.sample(&mut seen, false, &backends);
        let mut spent = seen.spent();
        if let Client::Children = self.targets.client {
            spent.client = (children_secs() - self.children_at_start).max(0.0);
        }
        spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        let before = cpu_secs(pid).expect("own stat");
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        assert!(cpu_secs(pid).unwrap() >= before);
        assert_eq!(cpu_secs(u32::MAX), None);
    }

    #[test]
    fn a_process_born_during_the_run_counts_from_zero() {
        let mut seen = Seen::default();
        seen.record(Role::Postgres, 1, 5.0, true);
        seen.record(Role::Postgres, 1, 7.0, false);
        seen.record(Role::Postgres, 2, 1.5, false);
        seen.record(Role::Postgres, 2, 2.0, false);
        seen.record(Role::Server, 3, 10.0, true);
        let s = seen.spent();
        assert_eq!((s.postgres, s.server, s.client), (4.0, 0.0, 0.0));
    }
}
