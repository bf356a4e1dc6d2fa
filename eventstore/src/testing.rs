//! Throwaway databases for tests: each test gets its own PostgreSQL database or SQLite
//! file, so tests run in parallel. PostgreSQL comes from `AUTHIO_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432`); when it is unreachable the test
//! fails loudly rather than skipping.
use crate::db::Db;
use sqlx::Executor;

pub fn pg_base_url() -> String {
    std::env::var("AUTHIO_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Create an empty PostgreSQL database and return its URL. Panics (fails the test)
/// with a clear message when PostgreSQL is unreachable.
pub async fn fresh_postgres_url() -> String {
    sqlx::any::install_default_drivers();
    let base = pg_base_url();
    let admin = format!("{base}/postgres");
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required for this test and is unreachable at {admin}: {e}"));
    let name = unique_name("authio_test");
    conn.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
    format!("{base}/{name}")
}

/// A fresh SQLite file in the system temp dir.
pub fn fresh_sqlite_url() -> String {
    let dir = std::env::temp_dir().join(unique_name("authio_test"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    format!("sqlite://{}/authio.db", dir.display())
}

/// A migrated database of either dialect.
pub async fn fresh_db(postgres: bool) -> Db {
    let url = if postgres { fresh_postgres_url().await } else { fresh_sqlite_url() };
    let db = Db::connect(&url, 20).await.expect("connect");
    db.migrate().await.expect("migrate");
    db
}

/// `fresh_db`, then `statements` run on it (a test's own tables and rows).
pub async fn fresh_db_with(postgres: bool, statements: &[&str]) -> Db {
    let db = fresh_db(postgres).await;
    for sql in statements {
        sqlx::query(sql).execute(&db.pool).await.expect(sql);
    }
    db
}
