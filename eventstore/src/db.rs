//! Connections and migrations for both dialects.
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// How long a caller waits for a pooled connection before the pool gives up.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

const PG_MIGRATIONS: &[(&str, &str)] = &[
    ("0001_events", include_str!("../../migrations/postgres/0001_events.sql")),
    ("0002_read_models", include_str!("../../migrations/postgres/0002_read_models.sql")),
    ("0003_sessions", include_str!("../../migrations/postgres/0003_sessions.sql")),
    ("0004_passkeys", include_str!("../../migrations/postgres/0004_passkeys.sql")),
    ("0005_audit", include_str!("../../migrations/postgres/0005_audit.sql")),
    ("0006_webhooks", include_str!("../../migrations/postgres/0006_webhooks.sql")),
    ("0007_snapshots", include_str!("../../migrations/postgres/0007_snapshots.sql")),
    ("0008_inline_projection", include_str!("../../migrations/postgres/0008_inline_projection.sql")),
    ("0009_fused_commits", include_str!("../../migrations/postgres/0009_fused_commits.sql")),
    ("0010_narrow_audit", include_str!("../../migrations/postgres/0010_narrow_audit.sql")),
    ("0011_bytewise_keys", include_str!("../../migrations/postgres/0011_bytewise_keys.sql")),
    ("0012_retired_tokens_deleted", include_str!("../../migrations/postgres/0012_retired_tokens_deleted.sql")),
    ("0013_org_contexts", include_str!("../../migrations/postgres/0013_org_contexts.sql")),
    ("0014_redirect_urls", include_str!("../../migrations/postgres/0014_redirect_urls.sql")),
    ("0015_retired_keys", include_str!("../../migrations/postgres/0015_retired_keys.sql")),
    ("0016_allowed_origins", include_str!("../../migrations/postgres/0016_allowed_origins.sql")),
    ("0017_token_algorithm", include_str!("../../migrations/postgres/0017_token_algorithm.sql")),
];
const SQLITE_MIGRATIONS: &[(&str, &str)] = &[
    ("0001_events", include_str!("../../migrations/sqlite/0001_events.sql")),
    ("0002_read_models", include_str!("../../migrations/sqlite/0002_read_models.sql")),
    ("0003_sessions", include_str!("../../migrations/sqlite/0003_sessions.sql")),
    ("0004_passkeys", include_str!("../../migrations/sqlite/0004_passkeys.sql")),
    ("0005_audit", include_str!("../../migrations/sqlite/0005_audit.sql")),
    ("0006_webhooks", include_str!("../../migrations/sqlite/0006_webhooks.sql")),
    ("0007_snapshots", include_str!("../../migrations/sqlite/0007_snapshots.sql")),
    ("0008_inline_projection", include_str!("../../migrations/sqlite/0008_inline_projection.sql")),
    ("0010_narrow_audit", include_str!("../../migrations/sqlite/0010_narrow_audit.sql")),
    ("0012_retired_tokens_deleted", include_str!("../../migrations/sqlite/0012_retired_tokens_deleted.sql")),
    ("0013_org_contexts", include_str!("../../migrations/sqlite/0013_org_contexts.sql")),
    ("0014_redirect_urls", include_str!("../../migrations/sqlite/0014_redirect_urls.sql")),
    ("0015_retired_keys", include_str!("../../migrations/sqlite/0015_retired_keys.sql")),
    ("0016_allowed_origins", include_str!("../../migrations/sqlite/0016_allowed_origins.sql")),
    ("0017_token_algorithm", include_str!("../../migrations/sqlite/0017_token_algorithm.sql")),
];

/// A database handle: the pool, its dialect, and (SQLite) the process-wide write lock
/// that serializes writers so positions commit in order and writers never meet
/// `SQLITE_BUSY` on a lock upgrade.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    pub(crate) write_lock: Arc<Mutex<()>>,
    /// Aggregate states between commands (see `cache`).
    pub(crate) cache: Arc<crate::cache::StateCache>,
    /// Commands on one stream take turns in this process (see `turns`).
    pub(crate) turns: Arc<crate::turns::Turns>,
    /// The URL connected to, for a connection outside the pool (`pg_connection`).
    url: Url,
    /// Commits sent as one statement (see `fuse`), counted for tests and metrics.
    pub(crate) fused: Arc<std::sync::atomic::AtomicU64>,
}

/// A database URL, which may hold a password: never printed.
#[derive(Clone)]
struct Url(Arc<str>);

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Url(..)")
    }
}

/// Append `s` to a row of `COPY … FROM STDIN` in PostgreSQL's text format: backslash,
/// tab, newline and carriage return escaped (the caller separates fields with tabs, ends
/// rows with a newline and writes NULL as `\N`).
pub fn copy_text_escape(out: &mut Vec<u8>, s: &str) {
    // Runs of plain bytes are copied whole (pushing byte by byte was 5 % of a rebuild).
    let bytes = s.as_bytes();
    let mut plain = 0;
    for (i, b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain..i]);
        out.extend_from_slice(escaped);
        plain = i + 1;
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// A pooled connection idle this long is pinged before it is handed out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Open one connection to PostgreSQL before making the pool, so that a wrong host, port,
/// role or database fails at once with its cause and the host named (the pool would
/// retry until its timeout and say only that it timed out). Never shows a password.
async fn probe_postgres(opts: &AnyConnectOptions, url: &str) -> Result<(), sqlx::Error> {
    let host = postgres_host(url);
    let fail =
        |cause: String| sqlx::Error::Configuration(format!("cannot connect to PostgreSQL at {host}: {cause}").into());
    match tokio::time::timeout(Duration::from_secs(10), <sqlx::AnyConnection as sqlx::Connection>::connect_with(opts))
        .await
    {
        Ok(Ok(conn)) => {
            let _ = sqlx::Connection::close(conn).await;
            Ok(())
        }
        Ok(Err(e)) => Err(fail(e.to_string())),
        Err(_) => Err(fail("no answer within 10 s".into())),
    }
}

/// `host[:port]/database` of a PostgreSQL URL, without user or password.
pub fn postgres_host(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest).to_string()
}

#[cfg(test)]
mod host_tests {
    #[test]
    fn the_host_never_shows_the_password() {
        let h = super::postgres_host("postgres://app:s3cr%40t@db.example:5433/authio?sslmode=require");
        assert_eq!(h, "db.example:5433/authio");
        assert_eq!(super::postgres_host("postgres://127.0.0.1/x"), "127.0.0.1/x");
    }
}

/// The default embedded database: a SQLite file under `./authio-data/`.
pub const DEFAULT_SQLITE_URL: &str = "sqlite://authio-data/authio.db";

impl Db {
    /// Connect to `url` (`postgres://…` or `sqlite://…`).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, sqlx::Error> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(sqlx::Error::Configuration(
                format!("DATABASE_URL must start with postgres:// or sqlite:, got {url:?}").into(),
            ));
        };
        let mut url = url.to_string();
        if dialect == Dialect::Sqlite {
            if let Some(path) = sqlite_path(&url) {
                if let Some(dir) = std::path::Path::new(&path).parent() {
                    // The default's directory is made on first start; any other must exist
                    // (a mistyped path is an error, not a new empty database).
                    if url == DEFAULT_SQLITE_URL {
                        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
                    } else if !dir.as_os_str().is_empty() && !dir.is_dir() {
                        return Err(sqlx::Error::Configuration(
                            format!(
                                "the directory of the SQLite file {path:?} does not exist: {} (create it first)",
                                dir.display()
                            )
                            .into(),
                        ));
                    }
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
            }
        }
        let opts = AnyConnectOptions::from_str(&url)?;
        if dialect == Dialect::Postgres {
            probe_postgres(&opts, &url).await?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            // A request waits at most this long for a connection; while the database is
            // away (sqlx keeps retrying a refused connect until then) it then answers
            // 503 instead of hanging.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // No reaper task: sqlx's (0.8) iterates over a count of idle connections that a
            // concurrent release can briefly wrap below zero, and then spins without
            // yielding (seen: a CLI process that never exited). A connection that sat
            // idle for a while is pinged before use instead (one that served a request
            // a moment ago is not: a ping is a round trip, and under load every
            // request acquires a connection two or three times).
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA synchronous = NORMAL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Db {
            pool,
            dialect,
            write_lock: Arc::new(Mutex::new(())),
            cache: Arc::default(),
            turns: Arc::default(),
            url: Url(url.into()),
            fused: Arc::default(),
        })
    }

    /// How many commits of this handle went to PostgreSQL as one statement (see `fuse`).
    pub fn fused_commits(&self) -> u64 {
        self.fused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// PostgreSQL: a connection of its own, outside the pool and the `Any` driver, for
    /// what only the native driver does (`COPY … FROM STDIN` in a rebuild).
    pub async fn pg_connection(&self) -> Result<sqlx::PgConnection, sqlx::Error> {
        if self.dialect != Dialect::Postgres {
            return Err(sqlx::Error::Configuration("not a PostgreSQL database".into()));
        }
        sqlx::Connection::connect(&self.url.0).await
    }

    /// Wait for the turn of stream `id` of `A` in this process: while the returned turn
    /// is held, no other command that asks for it runs (see `turns`).
    pub async fn stream_turn<A: cqrs_es::Aggregate>(&self, id: &str) -> crate::turns::StreamTurn {
        self.turns.take(A::TYPE, id).await
    }

    /// Apply pending migrations (idempotent). Serialized across processes on PostgreSQL.
    pub async fn migrate(&self) -> Result<Vec<&'static str>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        let migrations = match self.dialect {
            Dialect::Postgres => {
                conn.execute("SELECT pg_advisory_lock(7243001)").await?;
                PG_MIGRATIONS
            }
            Dialect::Sqlite => SQLITE_MIGRATIONS,
        };
        let result = async {
            conn.execute(
                "CREATE TABLE IF NOT EXISTS authio_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .await?;
            let mut applied = Vec::new();
            for (version, sql) in migrations {
                let done: Option<(String,)> =
                    sqlx::query_as("SELECT version FROM authio_migrations WHERE version = $1")
                        .bind(*version)
                        .fetch_optional(&mut *conn)
                        .await?;
                if done.is_some() {
                    continue;
                }
                conn.execute("BEGIN").await?;
                let step = async {
                    conn.execute(*sql).await?;
                    sqlx::query("INSERT INTO authio_migrations (version, applied_at) VALUES ($1, $2)")
                        .bind(*version)
                        .bind(crate::store::now_text())
                        .execute(&mut *conn)
                        .await?;
                    Ok::<_, sqlx::Error>(())
                }
                .await;
                match step {
                    Ok(()) => {
                        conn.execute("COMMIT").await?;
                        applied.push(*version);
                    }
                    Err(e) => {
                        let _ = conn.execute("ROLLBACK").await;
                        return Err(e);
                    }
                }
            }
            Ok(applied)
        }
        .await;
        if self.dialect == Dialect::Postgres {
            let _ = conn.execute("SELECT pg_advisory_unlock(7243001)").await;
        }
        result
    }
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_text_escapes_only_what_copy_reads_specially() {
        let mut out = b"x\t".to_vec();
        super::copy_text_escape(&mut out, "a\\b\tc\nd\re é");
        assert_eq!(out, "x\ta\\\\b\\tc\\nd\\re é".as_bytes());
        let mut out = Vec::new();
        super::copy_text_escape(&mut out, "");
        super::copy_text_escape(&mut out, "\n");
        super::copy_text_escape(&mut out, "plain");
        assert_eq!(out, b"\\nplain");
    }
}
