//! The raw-PostgreSQL baseline: pgbench running a transaction shaped like one command
//! (read one aggregate's events, append one event) on a copy of the `events` table in the
//! bench database, at the harness's concurrency.
use crate::infra::connect;
use crate::Res;
use std::path::Path;
use tokio::process::Command;

/// About the size of a real `session.refreshed` payload plus ids (~150 bytes).
const PAYLOAD: &str = r#"{"generation":12,"refreshed_at":"2026-05-13T13:42:53.123456Z","session_id":"sess_01jv2q7z6x4n8m3k5p9r0s1t2g","user_id":"user_01jv2q7z6x4n8m3k5p9r0s1t2e"}"#;

/// What pgbench reported.
#[derive(Clone, Debug)]
pub struct Baseline {
    pub tps: f64,
    pub latency_ms: Option<f64>,
    pub transactions: Option<u64>,
    pub failed: Option<u64>,
    pub clients: usize,
    pub secs: u64,
    /// CPU spent by the PostgreSQL backends and pgbench itself during the run.
    pub cpu: Option<crate::cpu::CpuSpent>,
}

fn script() -> String {
    let stream = "'pgb_' || :client_id";
    format!(
        "BEGIN;\n\
         SELECT sequence, event_type, event_version, payload FROM pgbench_events \
         WHERE aggregate_type = 'session' AND aggregate_id = {stream} ORDER BY sequence;\n\
         INSERT INTO pgbench_events (event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata, recorded_at) VALUES ('evt_pgb_' || gen_random_uuid()::text, 'session', {stream}, \
         (SELECT COALESCE(MAX(sequence), 0) + 1 FROM pgbench_events WHERE aggregate_type = 'session' \
         AND aggregate_id = {stream}), 'session.refreshed', '1.0', '{PAYLOAD}', '{{}}', now()::text);\n\
         COMMIT;\n"
    )
}

/// Make `pgbench_events` (like `events`, indexes and defaults included), seed each
/// client's stream with 10 events, run pgbench, drop the table.
pub async fn run(pgbench: &str, db_url: &str, scratch: &Path, clients: usize, secs: u64) -> Res<Baseline> {
    let clients = clients.max(1);
    let mut c = connect(db_url).await?;
    for sql in [
        "DROP TABLE IF EXISTS pgbench_events".to_string(),
        "CREATE TABLE pgbench_events (LIKE events INCLUDING ALL)".to_string(),
        format!(
            "INSERT INTO pgbench_events (event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
             payload, metadata, recorded_at) \
             SELECT 'evt_pgbseed_' || c || '_' || s, 'session', 'pgb_' || c, s, 'session.refreshed', '1.0', \
             '{PAYLOAD}', '{{}}', now()::text FROM generate_series(0, {}) c, generate_series(1, 10) s",
            clients - 1
        ),
        "ANALYZE pgbench_events".to_string(),
    ] {
        sqlx::query(&sql).execute(&mut c).await.map_err(|e| format!("pgbench setup ({sql}): {e}"))?;
    }
    let file = scratch.join("pgbench-command.sql");
    std::fs::write(&file, script()).map_err(|e| format!("{}: {e}", file.display()))?;
    let threads = clients.min(2);
    let sampler = crate::cpu::CpuSampler::start(db_url, None, crate::cpu::Client::Children).await?;
    let out = Command::new(pgbench)
        .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &threads.to_string()])
        .args(["-T", &secs.to_string(), "-f"])
        .arg(&file)
        .arg(db_url)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("running {pgbench}: {e} (pass --pgbench)"))?;
    let cpu = sampler.stop();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let _ = sqlx::query("DROP TABLE IF EXISTS pgbench_events").execute(&mut c).await;
    if !out.status.success() {
        return Err(format!("pgbench failed:\n{text}\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut b = parse(&text, clients, secs).ok_or_else(|| format!("no `tps = …` in pgbench's output:\n{text}"))?;
    b.cpu = Some(cpu);
    Ok(b)
}

fn number_after(text: &str, prefix: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.trim_start().starts_with(prefix))?;
    let rest = line.trim_start()[prefix.len()..].trim_start();
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    n.parse().ok()
}

fn parse(text: &str, clients: usize, secs: u64) -> Option<Baseline> {
    Some(Baseline {
        tps: number_after(text, "tps =")?,
        latency_ms: number_after(text, "latency average ="),
        transactions: number_after(text, "number of transactions actually processed:").map(|n| n as u64),
        failed: number_after(text, "number of failed transactions:").map(|n| n as u64),
        clients,
        secs,
        cpu: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_pgbench_output() {
        let out = "transaction type: /tmp/x.sql\nscaling factor: 1\nquery mode: prepared\nnumber of clients: 32\n\
                   number of threads: 2\nmaximum number of tries: 1\nduration: 10 s\n\
                   number of transactions actually processed: 41234\n\
                   number of failed transactions: 0 (0.000%)\nlatency average = 7.757 ms\n\
                   initial connection time = 20.112 ms\ntps = 4125.061836 (without initial connection time)\n";
        let b = super::parse(out, 32, 10).unwrap();
        assert!((b.tps - 4125.061836).abs() < 1e-6);
        assert_eq!(b.latency_ms, Some(7.757));
        assert_eq!(b.transactions, Some(41234));
        assert_eq!(b.failed, Some(0));
    }
}
