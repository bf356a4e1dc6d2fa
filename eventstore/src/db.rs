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

/// The migrations of each dialect, `migrations/postgres` and `migrations/sqlite`, run by
/// sqlx's migrator (bookkeeping in `_sqlx_migrations`; on PostgreSQL under its advisory
/// lock). Files are `<version>_<description>.sql`; a version never changes once released.
static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// A database handle: the pool, its dialect, and (SQLite) the process-wide write lock
/// that serializes writers so positions commit in order and writers never meet
/// `SQLITE_BUSY` on a lock upgrade.
#[derive(Clone, Debug)]
pub struct Db {
    /// Reads, and everything not in a `Tx`.
    pub pool: AnyPool,
    /// Transactions and commits (`Tx`; see `conns`).
    pub(crate) conns: Arc<crate::conns::Conns>,
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
pub(crate) const PING_AFTER_IDLE: Duration = Duration::from_secs(5);

/// Set up a new connection: SQLite's journal, busy timeout and sync level.
pub(crate) async fn prepare(conn: &mut sqlx::AnyConnection, dialect: Dialect) -> Result<(), sqlx::Error> {
    if dialect == Dialect::Sqlite {
        conn.execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;").await?;
    }
    Ok(())
}

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
            .after_connect(move |conn, _| Box::pin(prepare(conn, dialect)))
            .connect_with(opts.clone())
            .await?;
        Ok(Db {
            pool,
            conns: Arc::new(crate::conns::Conns::new(opts, dialect, max_connections)),
            dialect,
            write_lock: Arc::new(Mutex::new(())),
            cache: Arc::default(),
            turns: Arc::default(),
            url: Url(url.into()),
            fused: Arc::default(),
        })
    }

    /// Connections (open, idle, at most) of the read pool and of the transactions'
    /// (`conns`) together.
    pub fn connection_counts(&self) -> (u32, u32, u32) {
        let (open, idle, max) = self.conns.counts();
        let reads = self.pool.options().get_max_connections();
        (open + self.pool.size(), idle + self.pool.num_idle() as u32, max + reads)
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

    /// Apply pending migrations (idempotent; serialized across processes on PostgreSQL by
    /// sqlx's lock). Returns the ones applied now, as `<version>_<description>`.
    pub async fn migrate(&self) -> Result<Vec<String>, sqlx::Error> {
        let migrator = match self.dialect {
            Dialect::Postgres => &PG_MIGRATOR,
            Dialect::Sqlite => &SQLITE_MIGRATOR,
        };
        let mut conn = self.pool.acquire().await?;
        // One process at a time through all of it (taking over, listing, running): two
        // servers starting together would otherwise race to create the tables.
        if self.dialect == Dialect::Postgres {
            conn.execute("SELECT pg_advisory_lock(7243001)").await?;
        }
        let result = async {
            self.adopt_earlier_bookkeeping(&mut conn, migrator).await?;
            use sqlx::migrate::Migrate;
            let migrate_error = |e: sqlx::migrate::MigrateError| sqlx::Error::Migrate(Box::new(e));
            conn.ensure_migrations_table().await.map_err(migrate_error)?;
            let before: Vec<i64> =
                conn.list_applied_migrations().await.map_err(migrate_error)?.iter().map(|m| m.version).collect();
            migrator.run(&mut *conn).await.map_err(migrate_error)?;
            Ok(migrator
                .iter()
                .filter(|m| !before.contains(&m.version))
                .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
                .collect())
        }
        .await;
        if self.dialect == Dialect::Postgres {
            let _ = conn.execute("SELECT pg_advisory_unlock(7243001)").await;
        }
        result
    }

    /// Databases migrated before sqlx's migrator kept their own table
    /// (`authio_migrations`, versions like `0013_org_contexts`): record those versions as
    /// applied in `_sqlx_migrations`, with the checksums of the files (they are the same
    /// files), and drop the old table, so the migrator applies only what is new.
    async fn adopt_earlier_bookkeeping(
        &self,
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        migrator: &sqlx::migrate::Migrator,
    ) -> Result<(), sqlx::Error> {
        use sqlx::migrate::Migrate;
        let exists = match self.dialect {
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'authio_migrations' \
                                  AND schemaname = current_schema()"
            }
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'authio_migrations'",
        };
        let n: i64 = sqlx::query_scalar(exists).fetch_one(&mut **conn).await?;
        if n == 0 {
            return Ok(());
        }
        conn.ensure_migrations_table().await.map_err(|e| sqlx::Error::Migrate(Box::new(e)))?;
        let old: Vec<String> =
            sqlx::query_scalar("SELECT version FROM authio_migrations").fetch_all(&mut **conn).await?;
        for version in old {
            let number: Option<i64> = version.split('_').next().and_then(|v| v.parse().ok());
            let Some(m) = migrator.iter().find(|m| Some(m.version) == number) else { continue };
            sqlx::query(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
            )
            .bind(m.version)
            .bind(m.description.to_string())
            .bind(m.checksum.to_vec())
            .execute(&mut **conn)
            .await?;
        }
        sqlx::query("DROP TABLE IF EXISTS authio_migrations").execute(&mut **conn).await?;
        Ok(())
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
