//! The connections that transactions and commits run on (`Tx`), kept apart from sqlx's
//! pool. sqlx pings every connection given back to its pool, a round trip of its own
//! (`Sync` and `ReadyForQuery` on PostgreSQL): for a command that is one statement, that
//! doubled the round trips, and skipping it took a shared-session switch-org from
//! 664–710 to 576–632 µs of the machine's CPU (BENCHMARKS.md). Here a connection goes
//! back as it is. That is safe because of what `Tx` guarantees: a connection is given
//! back only after its statement's answer was read to the end (`release`, `commit`,
//! `rollback`); one whose future was dropped in the middle is closed instead. A
//! connection idle for `PING_AFTER_IDLE` is pinged before it is handed out again, and
//! one that fails is closed and replaced (what `Db::connect` asks of sqlx's pool too).
//!
//! At most `max` connections, opened when needed and kept while the process runs; a
//! caller waits at most `ACQUIRE_TIMEOUT` for one (then `PoolTimedOut`), and a connect
//! that fails is its error at once (the API answers `503 unavailable` to both).
use crate::db::{prepare, Dialect, ACQUIRE_TIMEOUT, PING_AFTER_IDLE};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, Connection};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(crate) struct Conns {
    opts: AnyConnectOptions,
    dialect: Dialect,
    max: u32,
    /// Idle connections and since when, the most recently given back last.
    idle: Mutex<Vec<(AnyConnection, Instant)>>,
    permits: Arc<Semaphore>,
    open: AtomicU32,
}

/// Counts only: the connect options hold the URL, which may hold a password.
impl std::fmt::Debug for Conns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (open, idle, max) = self.counts();
        f.debug_struct("Conns").field("open", &open).field("idle", &idle).field("max", &max).finish()
    }
}

/// A connection of `Conns` in use: `give_back` returns it, dropping it closes it.
pub(crate) struct Leased {
    conn: Option<AnyConnection>,
    home: Arc<Conns>,
    _permit: OwnedSemaphorePermit,
}

impl Conns {
    pub(crate) fn new(opts: AnyConnectOptions, dialect: Dialect, max: u32) -> Conns {
        Conns {
            opts,
            dialect,
            max,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(max as usize)),
            open: AtomicU32::new(0),
        }
    }

    /// (open, idle, max).
    pub(crate) fn counts(&self) -> (u32, u32, u32) {
        let idle = self.idle.lock().map(|i| i.len() as u32).unwrap_or(0);
        (self.open.load(Ordering::Relaxed), idle, self.max)
    }

    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<Leased, sqlx::Error> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)?
            .map_err(|_| sqlx::Error::PoolClosed)?;
        loop {
            let idle = self.idle.lock().ok().and_then(|mut i| i.pop());
            let Some((mut conn, since)) = idle else { break };
            if since.elapsed() < PING_AFTER_IDLE || conn.ping().await.is_ok() {
                return Ok(Leased { conn: Some(conn), home: self.clone(), _permit: permit });
            }
            self.open.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!("an idle connection failed its ping; closed");
        }
        let connect = async {
            let mut conn = AnyConnection::connect_with(&self.opts).await?;
            prepare(&mut conn, self.dialect).await?;
            Ok::<_, sqlx::Error>(conn)
        };
        let conn = tokio::time::timeout(ACQUIRE_TIMEOUT, connect).await.map_err(|_| sqlx::Error::PoolTimedOut)??;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Leased { conn: Some(conn), home: self.clone(), _permit: permit })
    }
}

impl Leased {
    /// Back to the idle connections, as it is (no round trip).
    pub(crate) fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            match self.home.idle.lock() {
                Ok(mut idle) => idle.push((conn, Instant::now())),
                Err(_) => close(&self.home, conn),
            }
        }
    }
}

/// Close `conn` (gracefully, in the background, when there is a runtime).
fn close(home: &Conns, conn: AnyConnection) {
    home.open.fetch_sub(1, Ordering::Relaxed);
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(async move {
            let _ = conn.close().await;
        });
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            close(&self.home, conn);
        }
    }
}

impl std::ops::Deref for Leased {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("a leased connection")
    }
}

impl std::ops::DerefMut for Leased {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("a leased connection")
    }
}
