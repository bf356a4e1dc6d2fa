//! The relay: tails the audit log (one envelope per event, in global-position order,
//! never skipping a late commit) and publishes each event to NATS JetStream — subject
//! `authio.events.<project>.<type>`, `Nats-Msg-Id` = the event id, so a republish within
//! the stream's duplicate window is dropped — or, without `NATS_URL`, to an in-process
//! bus. The checkpoint moves only after the publish is acknowledged, so a crash at any
//! point republishes (deduplicated), never loses. On PostgreSQL one relay publishes at a
//! time: the leader holds a session advisory lock, and another process takes over when
//! the leader's connection dies.
use crate::audit::{envelope, envelopes_sql, Envelope, RawEnvelope};
/// Re-exported for the crates that consume what the relay publishes (the webhook fan-out).
pub use async_nats;
use async_nats::jetstream;
use authio_eventstore::{Db, Dialect};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::time::Duration;
use tokio::sync::broadcast;

pub const STREAM: &str = "AUTHIO_EVENTS";
pub const CHECKPOINT: &str = "relay";
const BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("nats: {0}")]
    Nats(String),
}

/// Where events go.
#[derive(Clone)]
pub enum Bus {
    Nats(Box<jetstream::Context>),
    Local(broadcast::Sender<Envelope>),
}

/// `authio.events.<project>.<type>`; events without a project go under `_system`.
pub fn subject(project_id: Option<&str>, kind: &str) -> String {
    format!("authio.events.{}.{kind}", project_id.unwrap_or("_system"))
}

impl Bus {
    /// Connect to NATS and make sure the stream exists (2 minutes of deduplication).
    pub async fn nats(url: &str) -> Result<Bus, RelayError> {
        let client = async_nats::connect(url).await.map_err(|e| RelayError::Nats(e.to_string()))?;
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: STREAM.to_string(),
            subjects: vec!["authio.events.>".to_string()],
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(|e| RelayError::Nats(e.to_string()))?;
        Ok(Bus::Nats(Box::new(js)))
    }

    pub fn local() -> Bus {
        Bus::Local(broadcast::channel(4096).0)
    }

    /// Publish a batch of audit rows (`ENVELOPE_COLS`) in order; returns once every
    /// message is acknowledged.
    async fn publish(&self, rows: &[AnyRow]) -> Result<(), RelayError> {
        match self {
            Bus::Local(tx) => {
                for r in rows {
                    // No subscriber is not an error: the log stays readable by position.
                    let _ = tx.send(envelope(r)?);
                }
                Ok(())
            }
            Bus::Nats(js) => {
                let mut acks = Vec::with_capacity(rows.len());
                for r in rows {
                    let e = RawEnvelope::from_row(r)?;
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", e.id);
                    let subject = subject(e.project_id, e.kind);
                    let payload = serde_json::to_vec(&e).map_err(|e| RelayError::Nats(e.to_string()))?;
                    let ack = js
                        .publish_with_headers(subject, headers, payload.into())
                        .await
                        .map_err(|e| RelayError::Nats(e.to_string()))?;
                    acks.push(ack);
                }
                for ack in acks {
                    ack.await.map_err(|e| RelayError::Nats(e.to_string()))?;
                }
                Ok(())
            }
        }
    }
}

async fn checkpoint(db: &Db) -> Result<i64, RelayError> {
    let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
        .bind(CHECKPOINT)
        .fetch_optional(&db.pool)
        .await?;
    Ok(cp.unwrap_or(0))
}

/// Publish everything after the checkpoint. Returns how many events were published.
pub async fn relay_once(db: &Db, bus: &Bus) -> Result<usize, RelayError> {
    let mut total = 0;
    loop {
        let cp = checkpoint(db).await?;
        let rows = sqlx::query(&envelopes_sql("WHERE position > $1 ORDER BY position LIMIT $2", "position"))
            .bind(cp)
            .bind(BATCH)
            .fetch_all(&db.pool)
            .await?;
        let Some(last) = rows.last().map(|r| r.try_get::<i64, _>(2)).transpose()? else { return Ok(total) };
        bus.publish(&rows).await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(CHECKPOINT)
        .bind(last)
        .execute(&db.pool)
        .await?;
        total += rows.len();
        if (rows.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// Leadership on PostgreSQL: a session advisory lock on a connection of our own.
async fn lead(db: &Db) -> Option<AnyConnection> {
    if db.dialect == Dialect::Sqlite {
        return None;
    }
    let mut conn = db.pool.acquire().await.ok()?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(7243005)").fetch_one(&mut conn).await.ok()?;
    got.then_some(conn)
}

/// Run the relay until the process ends: woken by `kick` (after commits) and every
/// 200 ms; retries after failures (NATS down, database down) without losing anything.
pub async fn run(db: Db, bus: Bus, kick: std::sync::Arc<tokio::sync::Notify>) {
    loop {
        let lock = lead(&db).await;
        if db.dialect == Dialect::Postgres && lock.is_none() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let mut lock = lock;
        loop {
            if let Some(conn) = lock.as_mut() {
                // Still the leader? (The lock dies with its connection.)
                if sqlx::query("SELECT 1").execute(&mut *conn).await.is_err() {
                    break;
                }
            }
            if let Err(e) = relay_once(&db, &bus).await {
                tracing::warn!(error = %e, "relay pass failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            tokio::select! {
                _ = kick.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
}
