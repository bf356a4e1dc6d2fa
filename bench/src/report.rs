//! Everything measured, printed as markdown at the end (also after an error: whatever
//! was measured until then).
use crate::hooks::WebhookFigures;
use crate::ops::Row;
use crate::pgbench::Baseline;
use crate::synth::Synth;
use crate::{Args, Settings};
use std::fmt::Write;
use std::time::Duration;

pub struct GrowthRow {
    pub case: &'static str,
    pub size: String,
    pub row: Row,
}

pub struct RelayFigures {
    pub events: i64,
    pub secs: f64,
    /// Reached the target position (else it stalled and the figure is partial).
    pub complete: bool,
    /// Audit entries in the log.
    pub total: i64,
    /// The target was the whole log (no `--relay-events`).
    pub whole: bool,
}

pub struct Report {
    command: String,
    settings: String,
    quick: bool,
    concurrency: usize,
    pub database: Option<String>,
    pub postgres: Option<String>,
    pub provisioned: Option<String>,
    pub ready_fresh: Option<Duration>,
    pub ready_restart: Option<Duration>,
    pub rss_idle: Option<f64>,
    pub rss_load: Option<f64>,
    pub rss_idle_big: Option<f64>,
    /// After the cost-growth rows (the large organizations in the server's state cache).
    pub rss_after_growth: Option<f64>,
    pub pgbench: Option<Baseline>,
    pub ops: Vec<Row>,
    pub webhooks: Option<WebhookFigures>,
    pub growth: Vec<GrowthRow>,
    pub synth: Option<Synth>,
    /// (events replayed, seconds) of `authio projections rebuild`.
    pub rebuild: Option<(i64, f64)>,
    /// The untimed `CHECKPOINT` before the rebuild: its seconds, or why it failed.
    pub rebuild_checkpoint: Option<Result<f64, String>>,
    pub relay: Option<RelayFigures>,
    pub skipped: Vec<String>,
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(x: f64) -> String {
    thousands(x.round().max(0.0) as u64)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "yes"
    } else {
        "**no**"
    }
}

impl Report {
    pub fn new(args: &Args, st: &Settings) -> Report {
        let argv: Vec<String> = std::env::args().skip(1).collect();
        let command = format!("authio-bench {}", argv.join(" ")).trim_end().to_string();
        let settings = format!(
            "concurrency {}, {} s per operation and for pgbench, {} s per growth row, {} synthetic events, \
             {} webhook events, {} event pages, sections: {}",
            args.concurrency,
            st.duration,
            st.growth_duration,
            thousands(st.events as u64),
            thousands(st.webhook_events as u64),
            st.event_pages,
            st.sections.join(",")
        );
        Report {
            command,
            settings,
            quick: args.quick,
            concurrency: args.concurrency,
            database: None,
            postgres: None,
            provisioned: None,
            ready_fresh: None,
            ready_restart: None,
            rss_idle: None,
            rss_load: None,
            rss_idle_big: None,
            rss_after_growth: None,
            pgbench: None,
            ops: Vec::new(),
            webhooks: None,
            growth: Vec::new(),
            synth: None,
            rebuild: None,
            rebuild_checkpoint: None,
            relay: None,
            skipped: Vec::new(),
        }
    }

    fn op(&self, name: &str) -> Option<&Row> {
        self.ops.iter().find(|r| r.label == name)
    }

    /// Operation throughput as a multiple of the pgbench rate.
    fn ratio(&self, r: &Row) -> Option<f64> {
        self.pgbench.as_ref().map(|b| r.rate() / b.tps)
    }

    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = self.render_into(&mut o);
        o
    }

    fn render_into(&self, o: &mut String) -> std::fmt::Result {
        writeln!(o, "\n## authio-bench{}\n", if self.quick { " (quick smoke run)" } else { "" })?;
        writeln!(o, "- command: `{}`", self.command)?;
        writeln!(o, "- machine: {}", crate::infra::machine())?;
        if let Some(v) = &self.postgres {
            writeln!(o, "- PostgreSQL {v} (same host); database `{}`", self.database.as_deref().unwrap_or("?"))?;
        }
        writeln!(o, "- {}", self.settings)?;
        if let Some(p) = &self.provisioned {
            writeln!(o, "- provisioned over the API: {p}")?;
        }
        self.summary(o)?;
        self.ops_table(o)?;
        self.cpu_table(o)?;
        self.throughput_table(o)?;
        self.growth_table(o)?;
        self.notes(o)
    }

    fn summary(&self, o: &mut String) -> std::fmt::Result {
        let mut rows: Vec<[String; 4]> = Vec::new();
        if let Some(d) = self.ready_fresh {
            let ms = d.as_secs_f64() * 1000.0;
            rows.push([
                "ready after start, fresh database".into(),
                format!("{ms:.0} ms"),
                "< 1 s".into(),
                met(ms < 1000.0).into(),
            ]);
        }
        if let Some(d) = self.ready_restart {
            let ms = d.as_secs_f64() * 1000.0;
            let n = self.synth.as_ref().map(|s| thousands(s.last_position as u64)).unwrap_or_default();
            rows.push([
                format!("ready after restart, {n} events"),
                format!("{ms:.0} ms"),
                "< 1 s".into(),
                met(ms < 1000.0).into(),
            ]);
        }
        if let Some(m) = self.rss_idle {
            rows.push(["resident memory, idle after provisioning".into(), format!("{m:.1} MB"), "".into(), "".into()]);
        }
        if let Some(m) = self.rss_load {
            rows.push([
                "resident memory, max during the HTTP operations".into(),
                format!("{m:.1} MB"),
                "< 150 MB".into(),
                met(m < 150.0).into(),
            ]);
        }
        if let Some(m) = self.rss_idle_big {
            rows.push([
                "resident memory, idle after restart on the big data set".into(),
                format!("{m:.1} MB"),
                "".into(),
                "".into(),
            ]);
        }
        if let Some(m) = self.rss_after_growth {
            rows.push([
                "resident memory after the cost-growth rows (large organizations cached)".into(),
                format!("{m:.1} MB"),
                "< 150 MB".into(),
                met(m < 150.0).into(),
            ]);
        }
        if let Some(b) = &self.pgbench {
            rows.push([
                format!("pgbench, command-shaped transaction, {} clients", b.clients),
                format!("{} tps", rate(b.tps)),
                "".into(),
                "".into(),
            ]);
        }
        for name in ["switch-org", "refresh"] {
            if let Some(r) = self.op(name) {
                let x = self.ratio(r);
                let ok = r.rate() >= 2000.0 && r.p99 < 25.0 && r.errors == 0 && x.is_none_or(|x| x >= 0.4);
                rows.push([
                    name.into(),
                    format!(
                        "{}/s, p99 {:.1} ms, {} errors{}",
                        rate(r.rate()),
                        r.p99,
                        r.errors,
                        x.map(|x| format!(", {x:.2} × pgbench")).unwrap_or_default()
                    ),
                    "≥ 2,000/s, p99 < 25 ms, 0 errors, ≥ 0.4 × pgbench".into(),
                    met(ok).into(),
                ]);
            }
        }
        // One session shared by every worker: the goal of issue 15, beside its
        // one-session-per-worker row.
        for (name, alone) in [("switch-org-shared", "switch-org"), ("refresh-shared", "refresh")] {
            if let Some(r) = self.op(name) {
                let of_alone = self.op(alone).map(|a| r.rate() / a.rate());
                let ok = r.rate() >= 2500.0 && r.p99 < 20.0 && r.errors == 0 && of_alone.is_none_or(|x| x >= 0.9);
                rows.push([
                    format!("{name} (one session, every worker)"),
                    format!(
                        "{}/s, p99 {:.1} ms, {} errors{}",
                        rate(r.rate()),
                        r.p99,
                        r.errors,
                        of_alone.map(|x| format!(", {x:.2} × {alone}")).unwrap_or_default()
                    ),
                    format!("≥ 2,500/s, p99 < 20 ms, 0 errors, ≥ 0.9 × {alone}"),
                    met(ok).into(),
                ]);
            }
        }
        // Issue 17: switches whose tokens carry 50 permissions and 10 teams, beside the
        // plain switch-org row; the size of such a token; invitations created and accepted.
        if let Some(r) = self.op("switch-org-50-perms") {
            let of_plain = self.op("switch-org").map(|a| r.rate() / a.rate());
            rows.push([
                "switch-org, tokens with 50 permissions and 10 teams".into(),
                format!(
                    "{}/s, p99 {:.1} ms, {} errors{}{}",
                    rate(r.rate()),
                    r.p99,
                    r.errors,
                    self.ratio(r).map(|x| format!(", {x:.2} × pgbench")).unwrap_or_default(),
                    of_plain.map(|x| format!(", {x:.2} × switch-org")).unwrap_or_default()
                ),
                "".into(),
                "".into(),
            ]);
            if let Some(n) = r.token_bytes {
                rows.push([
                    "access token with 50 permissions and 10 teams".into(),
                    format!("{} bytes", thousands(n as u64)),
                    "< 2,048 bytes".into(),
                    met(n < 2048).into(),
                ]);
            }
        }
        if let Some(r) = self.op("invite-accept") {
            rows.push([
                "invite-accept (create + outbox read + accept)".into(),
                format!(
                    "{}/s, p99 {:.1} ms, {} errors{}",
                    rate(r.rate()),
                    r.p99,
                    r.errors,
                    self.ratio(r).map(|x| format!(", {x:.2} × pgbench")).unwrap_or_default()
                ),
                "".into(),
                "".into(),
            ]);
        }
        if let Some(r) = self.op("sign-in") {
            rows.push([
                "sign-in (session creation)".into(),
                format!("{}/s", rate(r.rate())),
                "≥ 1,000/s".into(),
                met(r.rate() >= 1000.0).into(),
            ]);
        }
        if let Some((n, s)) = self.rebuild {
            let x = n as f64 / s;
            rows.push([
                format!("projection rebuild, {} events", thousands(n as u64)),
                format!("{} events/s", rate(x)),
                "≥ 50,000 events/s".into(),
                met(x >= 50_000.0).into(),
            ]);
        }
        if let Some(r) = &self.relay {
            let x = r.events as f64 / r.secs;
            let what = if r.complete { "" } else { " (stalled: partial)" };
            rows.push([
                format!("relay to JetStream, {} events{what}", thousands(r.events as u64)),
                format!("{} events/s", rate(x)),
                "≥ 20,000 events/s".into(),
                met(x >= 20_000.0 && r.complete).into(),
            ]);
        }
        if let Some(w) = &self.webhooks {
            rows.push([
                format!("webhook deliveries to a local receiver, {} events", thousands(w.events as u64)),
                format!("{}/s", rate(w.rate())),
                "".into(),
                "".into(),
            ]);
        }
        for case in self.growth_cases() {
            if let Some((small, large, p50, p99)) = self.growth_ratio(case) {
                rows.push([
                    format!("{case}: {small} → {large}"),
                    format!("p50 × {p50:.2}, p99 × {p99:.2}"),
                    "within 2×".into(),
                    met(p50 <= 2.0 && p99 <= 2.0).into(),
                ]);
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(o, "\n### Summary\n")?;
        writeln!(o, "| figure | measured | target (issue 5) | met |")?;
        writeln!(o, "| --- | --- | --- | --- |")?;
        for r in rows {
            writeln!(o, "| {} | {} | {} | {} |", r[0], r[1], r[2], r[3])?;
        }
        Ok(())
    }

    /// CPU per request (or per pgbench transaction), by process, and the throughput it
    /// allows when all of them share the machine's cores.
    fn cpu_table(&self, o: &mut String) -> std::fmt::Result {
        let mut rows: Vec<(String, usize, crate::cpu::CpuSpent)> = Vec::new();
        if let Some(b) = &self.pgbench {
            if let (Some(cpu), Some(n)) = (b.cpu, b.transactions) {
                rows.push(("pgbench transaction".into(), n as usize, cpu));
            }
        }
        for r in &self.ops {
            if let Some(cpu) = r.cpu {
                rows.push((r.label.clone(), r.requests, cpu));
            }
        }
        for g in &self.growth {
            if let Some(cpu) = g.row.cpu {
                rows.push((format!("{}, {}", g.case, g.size), g.row.requests, cpu));
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        writeln!(o, "\n### CPU per request\n")?;
        writeln!(
            o,
            "User + system time from `/proc` while each measurement's clock runs (the workers' setup and its \
             audit entries are done before), divided by its requests: the `authio` server, the PostgreSQL backends of the bench database, and the load \
             generator (this harness; pgbench for its row). The ceiling is {cores} cores ÷ the total: the most \
             requests per second these processes could serve on this machine, sharing its cores.\n"
        )?;
        writeln!(
            o,
            "| measurement | requests | server µs | PostgreSQL µs | load generator µs | total µs | ceiling/s |"
        )?;
        writeln!(o, "| --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for (label, n, cpu) in rows {
            let per = |secs: f64| secs * 1e6 / n.max(1) as f64;
            let total = per(cpu.total());
            writeln!(
                o,
                "| {label} | {} | {} | {:.0} | {:.0} | {:.0} | {} |",
                thousands(n as u64),
                if cpu.server_seen { format!("{:.0}", per(cpu.server)) } else { "—".to_string() },
                per(cpu.postgres),
                per(cpu.client),
                total,
                rate(cores as f64 * 1e6 / total.max(1.0)),
            )?;
        }
        Ok(())
    }

    fn ops_table(&self, o: &mut String) -> std::fmt::Result {
        if let Some(b) = &self.pgbench {
            writeln!(o, "\n### pgbench baseline\n")?;
            writeln!(
                o,
                "`pgbench -n -M prepared -c {} -j {} -T {}` on `pgbench_events` (`LIKE events INCLUDING ALL`, each \
                 client's stream seeded with 10 events), one transaction = read one stream's events + append one \
                 event: **{} tps**{}{}{}.",
                b.clients,
                b.clients.min(2),
                b.secs,
                rate(b.tps),
                b.latency_ms.map(|l| format!(", latency average {l:.2} ms")).unwrap_or_default(),
                b.transactions.map(|n| format!(", {} transactions", thousands(n))).unwrap_or_default(),
                b.failed.map(|n| format!(", {n} failed")).unwrap_or_default(),
            )?;
        }
        if self.ops.is_empty() {
            return Ok(());
        }
        writeln!(o, "\n### HTTP operations ({} workers)\n", self.concurrency)?;
        writeln!(o, "| operation | requests | throughput/s | × pgbench | p50 ms | p95 ms | p99 ms | errors |")?;
        writeln!(o, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for r in &self.ops {
            writeln!(
                o,
                "| {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
                r.label,
                thousands(r.requests as u64),
                rate(r.rate()),
                self.ratio(r).map(|x| format!("{x:.2}")).unwrap_or_else(|| "—".into()),
                r.p50,
                r.p95,
                r.p99,
                r.errors
            )?;
        }
        Ok(())
    }

    fn throughput_table(&self, o: &mut String) -> std::fmt::Result {
        let mut rows: Vec<[String; 3]> = Vec::new();
        if let Some(s) = &self.synth {
            let sizes: Vec<String> = s.big_orgs.iter().map(|(n, _)| thousands(*n as u64)).collect();
            rows.push([
                "synthetic events written with COPY".into(),
                thousands(s.events as u64),
                format!(
                    "positions {}..={}; {} users (+ {} for switch-org growth), organizations of {} members and {} \
                     of 20, {} memberships; {:.1} s ({} events/s)",
                    thousands(s.first_position as u64),
                    thousands(s.last_position as u64),
                    thousands(s.users as u64),
                    s.switch_users.iter().map(|(_, v)| v.len()).sum::<usize>(),
                    sizes.join(", "),
                    thousands(s.small_orgs as u64),
                    thousands(s.memberships as u64),
                    s.secs,
                    rate(s.events as f64 / s.secs)
                ),
            ]);
        }
        if let Some((n, s)) = self.rebuild {
            rows.push([
                "projection rebuild (`authio projections rebuild`)".into(),
                format!("{} events/s", rate(n as f64 / s)),
                format!(
                    "the whole log, {} events, in {s:.1} s, process start to exit{}",
                    thousands(n as u64),
                    match &self.rebuild_checkpoint {
                        Some(Ok(c)) => format!(", after an untimed `CHECKPOINT` ({c:.1} s)"),
                        Some(Err(e)) => format!(" (the `CHECKPOINT` before it failed: {e})"),
                        None => String::new(),
                    }
                ),
            ]);
        }
        if let Some(r) = &self.relay {
            let scope = if r.whole {
                format!("the whole log ({} audit entries) from relay checkpoint 0", thousands(r.total as u64))
            } else {
                format!("the first {} audit entries from relay checkpoint 0", thousands(r.events as u64))
            };
            rows.push([
                "relay to JetStream (private nats-server, file storage)".into(),
                format!("{} events/s", rate(r.events as f64 / r.secs)),
                format!(
                    "{scope}: {} events in {:.1} s between the first and last checkpoint samples{}",
                    thousands(r.events as u64),
                    r.secs,
                    if r.complete { "" } else { "; **stalled before the end**" }
                ),
            ]);
        }
        if let Some(w) = &self.webhooks {
            rows.push([
                "webhook deliveries (endpoint for `*`, local receiver answering 204)".into(),
                format!("{}/s", rate(w.rate())),
                format!(
                    "{} distinct `webhook-id`s of {} role changes ({} requests received) in {:.1} s from first to \
                     last delivery; role changes took {:.1} s; first change to last delivery {:.1} s{}",
                    thousands(w.distinct as u64),
                    thousands(w.events as u64),
                    thousands(w.total as u64),
                    w.delivery_secs,
                    w.generation_secs,
                    w.end_to_end_secs,
                    if w.complete { "" } else { "; **incomplete**" }
                ),
            ]);
        }
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(o, "\n### Rebuild, relay, webhooks\n")?;
        writeln!(o, "| figure | rate | detail |")?;
        writeln!(o, "| --- | ---: | --- |")?;
        for r in rows {
            writeln!(o, "| {} | {} | {} |", r[0], r[1], r[2])?;
        }
        Ok(())
    }

    /// The growth cases, in the order they were measured.
    fn growth_cases(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = Vec::new();
        for g in &self.growth {
            if !v.contains(&g.case) {
                v.push(g.case);
            }
        }
        v
    }

    /// (smallest size, largest size, p50 ratio, p99 ratio) of a case.
    fn growth_ratio(&self, case: &str) -> Option<(String, String, f64, f64)> {
        let rows: Vec<&GrowthRow> = self.growth.iter().filter(|g| g.case == case).collect();
        let (a, b) = (rows.first()?, rows.last()?);
        if rows.len() < 2 || a.row.p50 == 0.0 || a.row.p99 == 0.0 {
            return None;
        }
        Some((a.size.clone(), b.size.clone(), b.row.p50 / a.row.p50, b.row.p99 / a.row.p99))
    }

    fn growth_table(&self, o: &mut String) -> std::fmt::Result {
        if self.growth.is_empty() {
            return Ok(());
        }
        writeln!(o, "\n### Cost growth\n")?;
        writeln!(o, "| case | size | workers | requests | ok/s | p50 ms | p99 ms | errors |")?;
        writeln!(o, "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
        for case in self.growth_cases() {
            for g in self.growth.iter().filter(|g| g.case == case) {
                let r = &g.row;
                let workers = if case.ends_with("(sequential)") { 1 } else { self.concurrency };
                writeln!(
                    o,
                    "| {} | {} | {workers} | {} | {} | {:.2} | {:.2} | {} |",
                    g.case,
                    g.size,
                    thousands(r.requests as u64),
                    rate(r.ok_rate()),
                    r.p50,
                    r.p99,
                    r.errors
                )?;
            }
            if let Some((small, large, p50, p99)) = self.growth_ratio(case) {
                let rows: Vec<&GrowthRow> = self.growth.iter().filter(|g| g.case == case).collect();
                let (a, b) = (&rows[0].row, &rows[rows.len() - 1].row);
                let tput =
                    if a.ok_rate() > 0.0 { format!("× {:.2}", b.ok_rate() / a.ok_rate()) } else { "—".into() };
                writeln!(o, "| {case} | **{large} ÷ {small}** | | | {tput} | **× {p50:.2}** | **× {p99:.2}** | |")?;
            }
        }
        Ok(())
    }

    fn notes(&self, o: &mut String) -> std::fmt::Result {
        let mut notes = Vec::new();
        let rows = self.ops.iter().chain(self.growth.iter().map(|g| &g.row));
        for r in rows {
            for (k, v) in &r.notes {
                notes.push(format!("{}: {} × {k}", r.label, thousands(*v as u64)));
            }
            notes.extend(r.details.iter().map(|d| format!("{}: {d}", r.label)));
        }
        notes.extend(self.skipped.iter().map(|s| format!("skipped {s}")));
        if notes.is_empty() {
            return Ok(());
        }
        writeln!(o, "\n### Errors and notes\n")?;
        for n in notes {
            writeln!(o, "- {n}")?;
        }
        Ok(())
    }
}
