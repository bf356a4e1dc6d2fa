//! Signed webhooks (Standard Webhooks): the dispatcher that turns audit entries into
//! deliveries, and the sender that POSTs them.
//!
//! Fan-out: inserts a `webhook_deliveries` row for each enabled endpoint of the event's
//! project whose filters match (and that existed before the event). With NATS it pulls
//! from a durable JetStream consumer on `AUTHIO_EVENTS` shared by every process, and acks
//! a fetched batch only after its deliveries are committed (a failed batch is nak'd and
//! redelivered). With the in-process bus (a lossy broadcast) it tails `audit_events` by
//! position with its own checkpoint (`webhooks` in `projection_checkpoints`), moved in
//! the same transaction. `UNIQUE (endpoint_id, position)` makes a redelivered or re-read
//! event harmless: exactly one delivery per (endpoint, event), across crashes and
//! processes; on PostgreSQL an advisory transaction lock serializes fan-out writes.
//!
//! Sender: claims due deliveries in position order (PostgreSQL: `FOR UPDATE SKIP
//! LOCKED`), marks them in flight with a lease (`lease_until`) so no two processes send
//! one delivery at once, sends each endpoint's deliveries in order (endpoints in
//! parallel), and records every try in `webhook_attempts`. Non-2xx or a transport error
//! schedules a retry from the configured schedule with ±10 % jitter; after the last one
//! the delivery is `failed`. An endpoint is disabled (`webhook_endpoint.disabled`,
//! reason `failing`) when a delivery fails for good and no delivery to it has succeeded
//! since a failed delivery created at least `disable_after` (default 72 h) earlier.
//!
//! Targets: private, loopback, link-local, unspecified, multicast and other non-public
//! addresses are refused at delivery time after DNS resolution, and the request goes to
//! the checked address (no second lookup); redirects are never followed. Both checks
//! are off with `AUTHIO_WEBHOOK_ALLOW_PRIVATE=true`.
use crate::pipeline::Pipeline;
use authio_domain::webhook::{filter_matches, DisableReason, WebhookCommand, WebhookEndpoint};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, Db, Dialect, Metadata, StoreError};
use authio_projections::audit::{envelope, envelopes_sql};
use authio_projections::relay::async_nats;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The dispatcher's checkpoint in `projection_checkpoints`.
pub const CHECKPOINT: &str = "webhooks";
/// The default retry schedule: the delay before each retry (7 retries, ~32 h in all).
pub const DEFAULT_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,14h";
const FAN_OUT_BATCH: i64 = 500;
const SEND_BATCH: i64 = 20;
/// Per request; a lease covers a whole claimed batch of one endpoint sent in order.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the routes need: whether private targets are allowed, and a way to wake the
/// sender (manual retries).
#[derive(Clone, Debug)]
pub struct Webhooks {
    pub allow_private: bool,
    pub kick: Arc<Notify>,
}

/// The dispatcher's settings, from `Config`.
#[derive(Clone, Debug)]
pub struct Settings {
    pub allow_private: bool,
    /// How long a claimed batch is reserved for the sender that claimed it; a sender that
    /// dies mid-batch leaves its deliveries to others once this runs out.
    pub lease: Duration,
    /// The delay before retry 1, 2, …; a delivery gets `1 + schedule.len()` tries.
    pub schedule: Vec<Duration>,
    pub disable_after: Duration,
    /// The durable JetStream consumer the fan-out shares with other processes (NATS only).
    pub consumer: String,
    /// TLS for `https://` endpoints (see `tls.rs`).
    pub tls: rustls::ClientConfig,
}

impl Settings {
    pub fn from_config(c: &crate::Config) -> Result<Settings, String> {
        Ok(Settings {
            allow_private: c.webhook_allow_private,
            lease: parse_duration(&c.webhook_lease).map_err(|e| format!("AUTHIO_WEBHOOK_LEASE: {e}"))?,
            schedule: parse_schedule(&c.webhook_retry_schedule)
                .map_err(|e| format!("AUTHIO_WEBHOOK_RETRY_SCHEDULE: {e}"))?,
            disable_after: parse_duration(&c.webhook_disable_after)
                .map_err(|e| format!("AUTHIO_WEBHOOK_DISABLE_AFTER: {e}"))?,
            consumer: check_consumer_name(&c.webhook_consumer).map_err(|e| format!("AUTHIO_WEBHOOK_CONSUMER: {e}"))?,
            tls: crate::tls::client_config(c.webhook_ca_file.as_deref())
                .map_err(|e| format!("AUTHIO_WEBHOOK_CA_FILE: {e}"))?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A JetStream consumer name: 1–64 of `A-Z a-z 0-9 - _`.
fn check_consumer_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?}: 1 to 64 letters, digits, '-' or '_'"))
    }
}

/// `250ms`, `5s`, `30m`, `2h`, `3d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration like 5s, 30m, 2h"))?;
    let ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{s:?}: the unit is one of ms, s, m, h, d")),
    };
    n.checked_mul(ms).map(Duration::from_millis).ok_or_else(|| format!("{s:?} is too long"))
}

/// A comma-separated list of durations (1 to 20).
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    let v = s.split(',').map(parse_duration).collect::<Result<Vec<_>, _>>()?;
    if v.is_empty() || v.len() > 20 {
        return Err("between 1 and 20 delays".into());
    }
    Ok(v)
}

/// `whsec_` + base64 of 24 random bytes.
pub fn new_secret() -> String {
    let mut b = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(b))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the decoded secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())))
}

/// Whether a delivery may connect to `ip`: a public unicast address only.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
                || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64: an IPv4 target in disguise
                || (s[0..6] == [0, 0, 0, 0, 0, 0])) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // shared address space (CGNAT)
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking
        || o[0] >= 240) // reserved
}

/// Why a URL is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an absolute http(s) URL with a host, or too long.
    Invalid,
    /// A private, loopback, link-local, … target.
    NotAllowed,
}

/// Parse and check a webhook URL at creation: shape, and (unless private targets are
/// allowed) a literal IP or `localhost` target. Names are checked again at delivery.
pub fn check_url(raw: &str, allow_private: bool) -> Result<reqwest::Url, UrlProblem> {
    if raw.len() > authio_domain::webhook::MAX_URL_LEN || authio_domain::webhook::ensure_url(raw).is_err() {
        return Err(UrlProblem::Invalid);
    }
    let url = reqwest::Url::parse(raw).map_err(|_| UrlProblem::Invalid)?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(UrlProblem::Invalid);
    }
    let host = url.host().ok_or(UrlProblem::Invalid)?;
    if allow_private {
        return Ok(url);
    }
    let ok = match host {
        url::Host::Ipv4(ip) => is_public_v4(ip),
        url::Host::Ipv6(ip) => is_public_ip(IpAddr::V6(ip)),
        url::Host::Domain(d) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d != "localhost" && !d.ends_with(".localhost")
        }
    };
    if ok {
        Ok(url)
    } else {
        Err(UrlProblem::NotAllowed)
    }
}

/// The addresses a delivery may connect to (`None`: let the client resolve, private
/// targets being allowed).
pub(crate) async fn resolve(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<Option<(String, Vec<SocketAddr>)>, String> {
    if allow_private {
        return Ok(None);
    }
    let port = url.port_or_known_default().unwrap_or(80);
    match url.host() {
        Some(url::Host::Ipv4(ip)) if is_public_v4(ip) => Ok(None),
        Some(url::Host::Ipv6(ip)) if is_public_ip(IpAddr::V6(ip)) => Ok(None),
        Some(url::Host::Domain(d)) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((d, port))
                .await
                .map_err(|e| format!("dns: {e}"))?
                .filter(|a| is_public_ip(a.ip()))
                .collect();
            if addrs.is_empty() {
                Err("the host resolves to no public address".into())
            } else {
                Ok(Some((d.to_string(), addrs)))
            }
        }
        _ => Err("the target address is not public".into()),
    }
}

// ---------------------------------------------------------------- fan-out

struct EndpointRow {
    id: String,
    filters: Vec<String>,
    created_position: i64,
}

/// One event as the fan-out sees it: position, event id, type, project.
struct Fanned {
    position: i64,
    event_id: String,
    action: String,
    project: Option<String>,
}

/// Insert the deliveries of `events` (idempotent: `UNIQUE (endpoint_id, position)`), one
/// per enabled endpoint of the event's project whose filters match and that existed
/// before the event. Returns how many deliveries were created.
async fn insert_deliveries(conn: &mut sqlx::AnyConnection, events: &[Fanned]) -> Result<usize, DispatchError> {
    let mut created = 0;
    let now = time_text(Utc::now());
    let mut endpoints: BTreeMap<String, Vec<EndpointRow>> = BTreeMap::new();
    for ev in events {
        let Some(project) = &ev.project else { continue };
        if !endpoints.contains_key(project) {
            let eps = sqlx::query(
                "SELECT id, events, created_position FROM webhook_endpoints WHERE project_id = $1 AND enabled \
                 ORDER BY id",
            )
            .bind(project)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|e| {
                let filters: String = e.try_get(1)?;
                Ok(EndpointRow {
                    id: e.try_get(0)?,
                    filters: serde_json::from_str(&filters).unwrap_or_default(),
                    created_position: e.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
            endpoints.insert(project.clone(), eps);
        }
        for ep in endpoints.get(project).map(Vec::as_slice).unwrap_or_default() {
            if ep.created_position >= ev.position || !ep.filters.iter().any(|f| filter_matches(f, &ev.action)) {
                continue;
            }
            let res = sqlx::query(
                "INSERT INTO webhook_deliveries (id, endpoint_id, project_id, position, event_id, event_type, \
                 status, attempts, next_attempt_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7, $7) \
                 ON CONFLICT (endpoint_id, position) DO NOTHING",
            )
            .bind(crate::crypto::new_id("whdl_"))
            .bind(&ep.id)
            .bind(project)
            .bind(ev.position)
            .bind(&ev.event_id)
            .bind(&ev.action)
            .bind(&now)
            .execute(&mut *conn)
            .await?;
            created += res.rows_affected() as usize;
        }
    }
    Ok(created)
}

/// Create the deliveries of every audit entry after the checkpoint. Returns how many
/// deliveries were created.
pub async fn fan_out(db: &Db) -> Result<usize, DispatchError> {
    let mut created = 0;
    loop {
        let mut w = db.begin_write().await?;
        if db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7243007)").execute(&mut *w.tx).await?;
        }
        let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(CHECKPOINT)
            .fetch_optional(&mut *w.tx)
            .await?;
        let rows = sqlx::query(
            "SELECT a.position, e.event_id, a.action, a.project_id FROM (SELECT position, action, project_id \
             FROM audit_events WHERE position > $1 ORDER BY position LIMIT $2) a \
             JOIN events e ON e.position = a.position ORDER BY a.position",
        )
        .bind(cp.unwrap_or(0))
        .bind(FAN_OUT_BATCH)
        .fetch_all(&mut *w.tx)
        .await?;
        let events = rows
            .iter()
            .map(|r| {
                Ok(Fanned {
                    position: r.try_get(0)?,
                    event_id: r.try_get(1)?,
                    action: r.try_get(2)?,
                    project: r.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let Some(last) = events.last().map(|e| e.position) else {
            w.tx.rollback().await?;
            return Ok(created);
        };
        created += insert_deliveries(&mut w.tx, &events).await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(CHECKPOINT)
        .bind(last)
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        if (events.len() as i64) < FAN_OUT_BATCH {
            return Ok(created);
        }
    }
}

// ---------------------------------------------------------------- fan-out from JetStream

/// The default durable consumer name on `AUTHIO_EVENTS` (`AUTHIO_WEBHOOK_CONSUMER`).
pub const DEFAULT_CONSUMER: &str = "authio-webhooks";
/// A fetched batch must be inserted and acknowledged within this, or it is redelivered.
const ACK_WAIT: Duration = Duration::from_secs(10);
/// A consumer no process has pulled from for this long is removed by the server; the
/// next process recreates it and catches up from the audit log (see `catch_up_once`).
const CONSUMER_INACTIVE: Duration = Duration::from_secs(24 * 3600);
const FETCH_BATCH: usize = 200;

async fn nats_consumer(
    js: &async_nats::jetstream::Context,
    name: &str,
) -> Result<async_nats::jetstream::consumer::PullConsumer, String> {
    use async_nats::jetstream::consumer::{pull, AckPolicy, DeliverPolicy};
    let stream = js.get_stream(authio_projections::relay::STREAM).await.map_err(|e| format!("stream: {e}"))?;
    stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_string()),
                description: Some("Authio webhook fan-out".into()),
                filter_subject: "authio.events.>".into(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: ACK_WAIT,
                max_deliver: -1,
                // Only what is published from now on: what came before is caught up from
                // the audit log right after the consumer is created.
                deliver_policy: DeliverPolicy::New,
                inactive_threshold: CONSUMER_INACTIVE,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| format!("consumer {name}: {e}"))
}

/// A consumer is created with `DeliverPolicy::New`; what was published before it is
/// covered by one audit-log fan-out pass (from the `webhooks` checkpoint) that runs after
/// the consumer exists, once per consumer incarnation (recorded in
/// `projection_checkpoints` as `webhooks@<consumer>` = a hash of its creation time). The
/// overlap is harmless: deliveries are unique per (endpoint, position).
async fn catch_up_once(db: &Db, name: &str, created: &str) -> Result<usize, DispatchError> {
    use sha2::Digest;
    let digest = Sha256::digest(created.as_bytes());
    let incarnation = i64::from_be_bytes(digest[..8].try_into().unwrap_or_default()) & i64::MAX;
    let marker = format!("{CHECKPOINT}@{name}");
    let done: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
        .bind(&marker)
        .fetch_optional(&db.pool)
        .await?;
    if done == Some(incarnation) {
        return Ok(0);
    }
    let n = fan_out(db).await?;
    sqlx::query(
        "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET position = excluded.position",
    )
    .bind(&marker)
    .bind(incarnation)
    .execute(&db.pool)
    .await?;
    Ok(n)
}

/// The fields of a published `Envelope` that the fan-out needs; the rest (targets, data,
/// metadata) is skipped, not decoded.
#[derive(serde::Deserialize)]
struct EnvelopeHead {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    position: i64,
    project_id: Option<String>,
}

/// Insert the deliveries of a fetched batch in one transaction; only after it commits
/// are the messages acknowledged. On failure they are negatively acknowledged (with a
/// delay), so JetStream redelivers them.
async fn handle_batch(db: &Db, msgs: Vec<async_nats::jetstream::Message>) -> Result<usize, DispatchError> {
    use async_nats::jetstream::AckKind;
    let mut events = Vec::with_capacity(msgs.len());
    let mut keep = Vec::with_capacity(msgs.len());
    for m in msgs {
        match serde_json::from_slice::<EnvelopeHead>(&m.payload) {
            Ok(e) => {
                events.push(Fanned { position: e.position, event_id: e.id, action: e.kind, project: e.project_id });
                keep.push(m);
            }
            Err(e) => {
                tracing::warn!(error = %e, subject = %m.subject, "not an event envelope; dropped from the webhook fan-out");
                let _ = m.ack_with(AckKind::Term).await;
            }
        }
    }
    let result = async {
        let mut w = db.begin_write().await?;
        if db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7243007)").execute(&mut *w.tx).await?;
        }
        let n = insert_deliveries(&mut w.tx, &events).await?;
        w.tx.commit().await?;
        Ok::<_, DispatchError>(n)
    }
    .await;
    match result {
        Ok(n) => {
            // A lost ack means a redelivery, which inserts nothing new.
            for m in &keep {
                let _ = m.ack().await;
            }
            Ok(n)
        }
        Err(e) => {
            for m in &keep {
                let _ = m.ack_with(AckKind::Nak(Some(Duration::from_secs(1)))).await;
            }
            Err(e)
        }
    }
}

/// One session on the durable consumer: (re)bind it, catch up if it is new, then fetch
/// and handle batches until something fails.
async fn consume_session(
    db: &Db,
    js: &async_nats::jetstream::Context,
    name: &str,
    send_kick: &Notify,
    healthy: &mut bool,
) -> Result<(), String> {
    use futures::StreamExt;
    let consumer = nats_consumer(js, name).await?;
    let created = consumer.cached_info().created.to_string();
    if catch_up_once(db, name, &created).await.map_err(|e| e.to_string())? > 0 {
        send_kick.notify_one();
    }
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(FETCH_BATCH)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(|e| format!("fetch: {e}"))?;
        let mut msgs = Vec::new();
        let mut failed = None;
        while let Some(m) = batch.next().await {
            match m {
                Ok(m) => msgs.push(m),
                Err(e) => {
                    failed = Some(format!("fetch: {e}"));
                    break;
                }
            }
        }
        if !msgs.is_empty() && handle_batch(db, msgs).await.map_err(|e| e.to_string())? > 0 {
            send_kick.notify_one();
        }
        if let Some(e) = failed {
            return Err(e);
        }
        *healthy = true;
    }
}

/// The fan-out when NATS is configured: a durable pull consumer shared by every process.
/// Never panics: NATS or the database being away only delays (with backoff).
async fn consume(db: Db, js: async_nats::jetstream::Context, name: String, send_kick: Arc<Notify>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let mut healthy = false;
        if let Err(e) = consume_session(&db, &js, &name, &send_kick, &mut healthy).await {
            tracing::warn!(error = %e, consumer = %name, "webhook fan-out from JetStream failed; retrying");
        }
        if healthy {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

// ---------------------------------------------------------------- sending

struct Claimed {
    id: String,
    endpoint_id: String,
    position: i64,
    attempts: i64,
    /// When this sender leased it (its lease runs `Settings::lease` from then).
    claimed_at: Instant,
}

/// Take due deliveries of enabled endpoints, in position order, and lease them.
async fn claim(db: &Db, lease: Duration) -> Result<Vec<Claimed>, DispatchError> {
    let now = Utc::now();
    let claimed_at = Instant::now();
    let lock = if db.dialect == Dialect::Postgres { " FOR UPDATE OF d SKIP LOCKED" } else { "" };
    let mut w = db.begin_write().await?;
    let rows = sqlx::query(&format!(
        "SELECT d.id, d.endpoint_id, d.position, d.attempts FROM webhook_deliveries d \
         JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND e.enabled \
         AND (d.lease_until IS NULL OR d.lease_until < $1) ORDER BY d.position, d.id LIMIT $2{lock}"
    ))
    .bind(time_text(now))
    .bind(SEND_BATCH)
    .fetch_all(&mut *w.tx)
    .await?;
    let lease = time_text(now + lease);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let c = Claimed {
            id: r.try_get(0)?,
            endpoint_id: r.try_get(1)?,
            position: r.try_get(2)?,
            attempts: r.try_get(3)?,
            claimed_at,
        };
        sqlx::query("UPDATE webhook_deliveries SET lease_until = $2 WHERE id = $1")
            .bind(&c.id)
            .bind(&lease)
            .execute(&mut *w.tx)
            .await?;
        out.push(c);
    }
    w.tx.commit().await?;
    Ok(out)
}

/// Send every due delivery once. Returns how many were tried.
pub async fn send_due(db: &Db, settings: &Settings, pipeline: &Pipeline) -> Result<usize, DispatchError> {
    let claimed = claim(db, settings.lease).await?;
    let n = claimed.len();
    let mut by_endpoint: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
    for c in claimed {
        by_endpoint.entry(c.endpoint_id.clone()).or_default().push(c);
    }
    let sends = by_endpoint.into_values().map(|batch| async move {
        for c in batch {
            if let Err(e) = deliver(db, settings, pipeline, &c).await {
                tracing::warn!(error = %e, delivery = %c.id, "webhook delivery could not be recorded");
            }
        }
    });
    futures::future::join_all(sends).await;
    Ok(n)
}

struct Target {
    url: String,
    secret: String,
    previous: Option<String>,
}

async fn target(db: &Db, endpoint_id: &str) -> Result<Option<Target>, DispatchError> {
    let row = sqlx::query(
        "SELECT e.url, s.secret, s.previous_secret, s.previous_expires_at FROM webhook_endpoints e \
         JOIN webhook_secrets s ON s.endpoint_id = e.id WHERE e.id = $1",
    )
    .bind(endpoint_id)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let expires: Option<String> = r.try_get(3)?;
    let previous: Option<String> = r.try_get(2)?;
    let live = expires.is_some_and(|x| x > time_text(Utc::now()));
    Ok(Some(Target { url: r.try_get(0)?, secret: r.try_get(1)?, previous: previous.filter(|_| live) }))
}

/// One try: `Ok(status)` for an HTTP answer, `Err(reason)` when none came.
async fn post(settings: &Settings, t: &Target, id: &str, body: Vec<u8>) -> Result<u16, String> {
    let url = reqwest::Url::parse(&t.url).map_err(|e| format!("url: {e}"))?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .use_preconfigured_tls(settings.tls.clone());
    if let Some((host, addrs)) = resolve(&url, settings.allow_private).await? {
        builder = builder.resolve_to_addrs(&host, &addrs);
    }
    let client = builder.build().map_err(|e| format!("client: {e}"))?;
    let timestamp = Utc::now().timestamp();
    let mut signatures = vec![sign(&t.secret, id, timestamp, &body).ok_or("the signing secret is malformed")?];
    if let Some(prev) = &t.previous {
        signatures.extend(sign(prev, id, timestamp, &body));
    }
    let res = client
        .post(url)
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signatures.join(" "))
        .header("content-type", "application/json")
        .header("user-agent", "Authio-Webhooks/1")
        .body(body)
        .send()
        .await
        .map_err(|e| {
            let mut e: &dyn std::error::Error = &e;
            let mut text = e.to_string();
            while let Some(src) = e.source() {
                text = format!("{text}: {src}");
                e = src;
            }
            text
        })?;
    Ok(res.status().as_u16())
}

fn jittered(d: Duration) -> Duration {
    let f = 0.9 + rand::random::<f64>() * 0.2;
    d.mul_f64(f)
}

async fn deliver(db: &Db, settings: &Settings, pipeline: &Pipeline, c: &Claimed) -> Result<(), DispatchError> {
    let env = sqlx::query(&envelopes_sql("WHERE position = $1", "position"))
        .bind(c.position)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| envelope(&r))
        .transpose()?;
    let started = Instant::now();
    let result = match (target(db, &c.endpoint_id).await?, env) {
        (Some(t), Some(env)) => match serde_json::to_vec(&env) {
            Ok(body) => post(settings, &t, &env.id, body).await,
            Err(e) => Err(format!("envelope: {e}")),
        },
        (None, _) => Err("the endpoint no longer exists".into()),
        (_, None) => Err("the event is not in the audit log".into()),
    };
    let latency = started.elapsed().as_millis() as i64;
    let attempt = c.attempts + 1;
    let now = Utc::now();
    let (status, next): (&str, Option<DateTime<Utc>>) = match &result {
        Ok(code) if (200..300).contains(code) => ("delivered", None),
        _ => match settings.schedule.get((attempt - 1) as usize) {
            Some(delay) => ("pending", chrono::Duration::from_std(jittered(*delay)).ok().map(|d| now + d)),
            None => ("failed", None),
        },
    };
    let outcome = match status {
        "delivered" => "delivered",
        "pending" => "retry",
        _ => "failed",
    };
    metrics::counter!("authio_webhook_delivery_attempts_total", "outcome" => outcome).increment(1);
    let (code, error) = match result {
        Ok(code) => (Some(code as i64), None),
        Err(e) => (None, Some(e.chars().take(500).collect::<String>())),
    };
    let at = time_text(now);
    let outcome = Outcome { status, attempt, next: next.map(time_text), code, error, latency, at };
    // The try happened: its outcome must be recorded, or a later pass sends it again. A
    // database that is away is waited for (with backoff) while the claim's lease lasts;
    // past it another sender may take the delivery over, so this one gives up.
    let lease_ends = c.claimed_at + settings.lease;
    let mut backoff = Duration::from_millis(100);
    loop {
        match record(db, c, &outcome).await {
            Ok(()) => break,
            Err(e) if Instant::now() + backoff < lease_ends => {
                tracing::warn!(error = %e, delivery = %c.id, "recording a webhook try failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(e),
        }
    }
    if status == "failed" {
        disable_if_failing(db, settings, pipeline, &c.endpoint_id).await?;
    }
    Ok(())
}

/// What one try came to, as `webhook_attempts` and `webhook_deliveries` record it.
struct Outcome {
    status: &'static str,
    attempt: i64,
    next: Option<String>,
    code: Option<i64>,
    error: Option<String>,
    latency: i64,
    at: String,
}

/// Record a try: its attempt row and the delivery's new state, in one transaction.
async fn record(db: &Db, c: &Claimed, o: &Outcome) -> Result<(), DispatchError> {
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, latency_ms, at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&c.id)
    .bind(o.attempt)
    .bind(o.code)
    .bind(o.error.clone())
    .bind(o.latency)
    .bind(&o.at)
    .execute(&mut *tx.tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = $3, next_attempt_at = $4, last_status_code = $5, \
         last_error = $6, lease_until = NULL, updated_at = $7 WHERE id = $1",
    )
    .bind(&c.id)
    .bind(o.status)
    .bind(o.attempt)
    .bind(o.next.clone())
    .bind(o.code)
    .bind(o.error.clone())
    .bind(&o.at)
    .execute(&mut *tx.tx)
    .await?;
    tx.tx.commit().await?;
    Ok(())
}

/// The auto-disable rule: no delivery succeeded since a failed delivery (all tries
/// spent) that was created at least `disable_after` ago.
async fn disable_if_failing(
    db: &Db,
    settings: &Settings,
    pipeline: &Pipeline,
    endpoint_id: &str,
) -> Result<(), DispatchError> {
    let last_ok: Option<String> = sqlx::query_scalar(
        "SELECT MAX(updated_at) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'delivered'",
    )
    .bind(endpoint_id)
    .fetch_one(&db.pool)
    .await?;
    let first_failed: Option<String> = sqlx::query_scalar(
        "SELECT MIN(created_at) FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed' \
         AND created_at > $2",
    )
    .bind(endpoint_id)
    .bind(last_ok.unwrap_or_default())
    .fetch_one(&db.pool)
    .await?;
    let Some(first) = first_failed.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()) else { return Ok(()) };
    let failing_for = Utc::now().signed_duration_since(first.with_timezone(&Utc));
    if failing_for.to_std().unwrap_or_default() < settings.disable_after {
        return Ok(());
    }
    let mut meta = Metadata::new();
    meta.insert("actor_type".into(), Actor::System.kind().into());
    for _ in 0..5 {
        let mut ep = db.load::<WebhookEndpoint>(endpoint_id).await?;
        if ep.exec(WebhookCommand::Disable { reason: DisableReason::Failing, at: Utc::now() }).await.is_err() {
            return Ok(()); // deleted meanwhile
        }
        let mut changes = Changes::new();
        changes.add(ep)?;
        match db.commit(changes, &meta).await {
            Ok(_) => {
                tracing::info!(endpoint = endpoint_id, "webhook endpoint disabled: failing for too long");
                pipeline.kick();
                return Ok(());
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Start the fan-out and sender loops; they run until aborted. With NATS the fan-out
/// consumes the durable JetStream consumer `settings.consumer`; with the in-process bus
/// (a lossy broadcast) it tails the audit log, woken by `fan_out_kick`.
pub fn spawn(
    db: Db,
    settings: Settings,
    pipeline: Pipeline,
    bus: &authio_projections::relay::Bus,
    fan_out_kick: Arc<Notify>,
    send_kick: Arc<Notify>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let fan = match bus {
        authio_projections::relay::Bus::Nats(js) => {
            tokio::spawn(consume(db.clone(), (**js).clone(), settings.consumer.clone(), send_kick.clone()))
        }
        authio_projections::relay::Bus::Local(_) => {
            let db = db.clone();
            let send_kick = send_kick.clone();
            tokio::spawn(async move {
                loop {
                    match fan_out(&db).await {
                        Ok(n) if n > 0 => send_kick.notify_one(),
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook fan-out failed; retrying");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                    tokio::select! {
                        _ = fan_out_kick.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            })
        }
    };
    let send = tokio::spawn(async move {
        loop {
            let full = match send_due(&db, &settings, &pipeline).await {
                Ok(n) => n as i64 >= SEND_BATCH,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook sender pass failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    false
                }
            };
            if !full {
                tokio::select! {
                    _ = send_kick.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                }
            }
        }
    });
    vec![fan, send]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public_ip(ip.parse().unwrap()), "{ip} is not public");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public_ip(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_checked_at_creation() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert_eq!(check_url("http://127.0.0.1:9000/x", false).unwrap_err(), UrlProblem::NotAllowed);
        assert_eq!(check_url("http://2130706433/", false).unwrap_err(), UrlProblem::NotAllowed);
        assert_eq!(check_url("http://[::1]/", false).unwrap_err(), UrlProblem::NotAllowed);
        assert_eq!(check_url("http://localhost:8080/", false).unwrap_err(), UrlProblem::NotAllowed);
        assert_eq!(check_url("http://169.254.169.254/latest", false).unwrap_err(), UrlProblem::NotAllowed);
        assert!(check_url("http://127.0.0.1:9000/x", true).is_ok());
        assert_eq!(check_url("ftp://example.com/", false).unwrap_err(), UrlProblem::Invalid);
        assert_eq!(check_url("example.com/x", false).unwrap_err(), UrlProblem::Invalid);
    }

    #[test]
    fn durations_and_schedules_parse() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("72h").unwrap(), Duration::from_secs(72 * 3600));
        assert!(parse_duration("5 minutes").is_err());
        assert_eq!(parse_schedule(DEFAULT_SCHEDULE).unwrap().len(), 7);
    }

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }
}
