//! Migrations run by sqlx's migrator, and a database migrated before it (bookkeeping in
//! the old `authio_migrations` table) is taken over without running anything twice.
use authio_eventstore::testing::{fresh_postgres_url, fresh_sqlite_url};
use authio_eventstore::Db;
use sqlx::Executor;

async fn takes_over_earlier_bookkeeping(postgres: bool) {
    let url = if postgres { fresh_postgres_url().await } else { fresh_sqlite_url() };
    let db = Db::connect(&url, 2).await.expect("connect");
    let dir = if postgres { "postgres" } else { "sqlite" };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations").join(dir);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    // The database as the old runner left it: the first migrations applied (up to 0013),
    // each recorded by its file stem.
    db.pool
        .execute("CREATE TABLE authio_migrations (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        .await
        .unwrap();
    let mut old = Vec::new();
    for f in &files {
        let stem = f.file_stem().unwrap().to_string_lossy().to_string();
        if stem.as_str() > "0013_zzz" {
            break;
        }
        db.pool.execute(std::fs::read_to_string(f).unwrap().as_str()).await.unwrap_or_else(|e| panic!("{stem}: {e}"));
        sqlx::query("INSERT INTO authio_migrations (version, applied_at) VALUES ($1, 'then')")
            .bind(&stem)
            .execute(&db.pool)
            .await
            .unwrap();
        old.push(stem);
    }
    assert!(old.len() >= 10, "{old:?}");

    let applied = db.migrate().await.expect("migrate takes over");
    let newer: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().to_string())
        .filter(|s| !old.contains(s))
        .collect();
    assert_eq!(applied, newer, "only the migrations after the old runner's");
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&db.pool).await.unwrap();
    assert_eq!(recorded as usize, files.len());
    let left: Result<i64, _> = sqlx::query_scalar("SELECT COUNT(*) FROM authio_migrations").fetch_one(&db.pool).await;
    assert!(left.is_err(), "the old table is gone");
    assert!(db.migrate().await.unwrap().is_empty(), "nothing the second time");
    // The schema is whole: a table of the last migration answers.
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE token_algorithm = 'EdDSA'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn takes_over_earlier_bookkeeping_postgres() {
    takes_over_earlier_bookkeeping(true).await;
}

#[tokio::test]
async fn takes_over_earlier_bookkeeping_sqlite() {
    takes_over_earlier_bookkeeping(false).await;
}

#[tokio::test]
async fn a_fresh_database_gets_every_migration_once() {
    for postgres in [true, false] {
        let url = if postgres { fresh_postgres_url().await } else { fresh_sqlite_url() };
        let db = Db::connect(&url, 2).await.unwrap();
        let first = db.migrate().await.unwrap();
        assert!(first.first().is_some_and(|v| v == "0001_events"), "{first:?}");
        assert!(db.migrate().await.unwrap().is_empty());
    }
}
