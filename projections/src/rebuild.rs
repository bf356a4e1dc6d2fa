//! Rebuilding read models by writing a new table version and swapping it in.
//!
//! For each table of the projection a shadow `<table>__rebuild` is made like the live
//! table (PostgreSQL: `LIKE … INCLUDING ALL`, its secondary indexes then dropped until
//! the replay is done; SQLite: the table's own `CREATE TABLE` from `sqlite_master`,
//! renamed), so it cannot drift from the migrations. The whole log is replayed into the
//! shadows through the same `apply` code as the live projector: every statement goes
//! through `Target::sql`, which points the statements that write a rebuilt table at its
//! shadow and skips the others. Three lanes (`LANES`: the audit log; organizations and
//! memberships; the rest) replay on three connections at once, fed by one reader of the
//! log (on PostgreSQL the audit lane and the organizations' lane send their plain
//! INSERTs with `COPY`, see `Batch::with_copy`). Reads keep answering from the live
//! tables meanwhile. On PostgreSQL each lane then builds its shadows' secondary
//! indexes and analyzes them. Then one transaction (PostgreSQL: holding the projector's
//! advisory lock; SQLite: the write lock) brings the shadows and the live checkpoint to
//! the same position, drops the live tables and renames the shadows into place, with
//! the live tables' index names (PostgreSQL renames the shadows' indexes; SQLite creates
//! its secondary indexes there from the live tables' own `CREATE INDEX`).
use crate::batch::Batch;
use crate::{apply_batched, apply_to, audit, follow, ProjectionError, BATCH, READ_MODELS, TABLES};
use authio_eventstore::{Db, Dialect, StoredEvent, Tx};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Appended to a table's name for its shadow during a rebuild.
pub const SHADOW_SUFFIX: &str = "__rebuild";

/// A read model that can be rebuilt on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Projection {
    /// The name given to `authio projections rebuild --projection`.
    pub name: &'static str,
    /// The tables rebuilt and swapped in.
    pub tables: &'static [&'static str],
    /// Read models that its `apply` statements read: rebuilt alongside as scratch copies
    /// (so each event sees them as they stood at its position), then dropped.
    pub reads: &'static [&'static str],
}

/// Every rebuildable read model. An event may write several of them (`session.created`
/// inserts into `sessions` and sets `users.last_organization_id`): each statement is
/// routed by the table it writes, so rebuilding `users` alone still replays the
/// `session.*` statements that write `users`. `memberships` reads `organizations`
/// (a membership's project); the audit log's `audit_events` and `stream_owners` read each
/// other and are one projection.
pub const PROJECTIONS: &[Projection] = &[
    Projection { name: "operators", tables: &["operators"], reads: &[] },
    Projection { name: "tenants", tables: &["tenants"], reads: &[] },
    Projection { name: "api_keys", tables: &["api_keys"], reads: &[] },
    Projection { name: "users", tables: &["users"], reads: &[] },
    Projection { name: "organizations", tables: &["organizations"], reads: &[] },
    Projection { name: "memberships", tables: &["memberships"], reads: &["organizations"] },
    Projection { name: "sessions", tables: &["sessions", "session_contexts"], reads: &[] },
    Projection { name: "audit_events", tables: &["audit_events", "stream_owners"], reads: &[] },
    Projection { name: "webhook_endpoints", tables: &["webhook_endpoints"], reads: &[] },
    Projection { name: "roles", tables: &["permissions", "roles"], reads: &[] },
    Projection { name: "invitations", tables: &["invitations"], reads: &[] },
    Projection { name: "teams", tables: &["teams", "team_members"], reads: &[] },
    Projection { name: "organization_domains", tables: &["organization_domains"], reads: &[] },
    Projection {
        name: "directories",
        tables: &["directories", "directory_users", "directory_groups", "directory_group_members"],
        reads: &[],
    },
    Projection { name: "oauth_clients", tables: &["oauth_clients"], reads: &[] },
    Projection { name: "oauth_grants", tables: &["oauth_grants"], reads: &[] },
    Projection { name: "connections", tables: &["connections"], reads: &[] },
];

/// The projection called `name`.
pub fn projection(name: &str) -> Option<&'static Projection> {
    PROJECTIONS.iter().find(|p| p.name == name)
}

pub(crate) fn names() -> String {
    PROJECTIONS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// Where the statements of `apply` go.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The live read models.
    Live,
    /// The shadows of these tables: a statement that writes one of them writes its
    /// shadow instead, one that writes any other table is skipped, and references to
    /// these tables read their shadows.
    Shadow(&'a Shadows),
}

/// The tables a rebuild writes as shadows, and the statements already pointed at them:
/// a replay runs the same few statements millions of times, and rewriting each one
/// every time took 8 % of a rebuild's CPU.
#[derive(Debug)]
pub struct Shadows {
    tables: Vec<&'static str>,
    rewritten: Mutex<HashMap<String, Option<Arc<str>>>>,
}

impl Shadows {
    pub fn new(tables: &[&'static str]) -> Self {
        Self { tables: tables.to_vec(), rewritten: Mutex::default() }
    }
}

/// A statement as `Target::sql` gives it.
#[derive(Debug, Clone)]
pub enum Sql<'s> {
    Borrowed(&'s str),
    Shared(Arc<str>),
}

impl std::ops::Deref for Sql<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Sql::Borrowed(s) => s,
            Sql::Shared(s) => s,
        }
    }
}

impl Target<'_> {
    /// The statement to run for `sql`, or `None` to skip it.
    pub fn sql<'s>(&self, sql: &'s str) -> Option<Sql<'s>> {
        match self {
            Target::Live => Some(Sql::Borrowed(sql)),
            Target::Shadow(shadows) => {
                let mut rewritten = shadows.rewritten.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(done) = rewritten.get(sql) {
                    return done.clone().map(Sql::Shared);
                }
                let done: Option<Arc<str>> = retarget(sql, &shadows.tables).map(Arc::from);
                rewritten.insert(sql.to_string(), done.clone());
                done.map(Sql::Shared)
            }
        }
    }

    fn includes(&self, table: &str) -> bool {
        match self {
            Target::Live => true,
            Target::Shadow(shadows) => shadows.tables.contains(&table),
        }
    }
}

/// Point the read-model table references of `sql` (the identifier right after `INTO`,
/// `UPDATE`, `FROM` or `JOIN`) that are in `shadowed` at their shadows. `None` when the
/// statement writes (`INSERT`, `UPDATE`, `DELETE`) a table that is not shadowed.
fn retarget(sql: &str, shadowed: &[&str]) -> Option<String> {
    let verb = sql.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    let writes = matches!(verb.as_str(), "INSERT" | "UPDATE" | "DELETE");
    let mut out = String::with_capacity(sql.len() + 16);
    let mut after_keyword = false;
    let mut written: Option<bool> = None;
    let mut rest = sql;
    while let Some(c) = rest.chars().next() {
        if c.is_ascii_alphanumeric() || c == '_' {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            let word = &rest[..end];
            if after_keyword && TABLES.contains(&word) {
                let shadow = shadowed.contains(&word);
                written.get_or_insert(shadow);
                out.push_str(word);
                if shadow {
                    out.push_str(SHADOW_SUFFIX);
                }
            } else {
                out.push_str(word);
            }
            after_keyword = ["INTO", "UPDATE", "FROM", "JOIN"].iter().any(|k| word.eq_ignore_ascii_case(k));
            rest = &rest[end..];
        } else {
            if !c.is_whitespace() {
                after_keyword = false;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if writes && written != Some(true) {
        return None;
    }
    Some(out)
}

fn shadow(table: &str) -> String {
    format!("{table}{SHADOW_SUFFIX}")
}

/// Rebuild every read model: one replay into shadows of all of `TABLES`, one swap.
/// Returns the position the read models stand at.
pub async fn rebuild(db: &Db, progress: impl FnMut(i64)) -> Result<i64, ProjectionError> {
    rebuild_tables(db, TABLES, &[], progress).await
}

/// Rebuild the projection called `name` (see `PROJECTIONS`).
pub async fn rebuild_projection(db: &Db, name: &str, progress: impl FnMut(i64)) -> Result<i64, ProjectionError> {
    let p = projection(name).ok_or_else(|| ProjectionError::UnknownProjection(name.to_string()))?;
    rebuild_tables(db, p.tables, p.reads, progress).await
}

async fn apply_events(
    tx: &mut Tx,
    target: Target<'_>,
    events: &[StoredEvent],
    batch: &mut Batch,
) -> Result<(), sqlx::Error> {
    let main = TABLES.iter().any(|t| !matches!(*t, "audit_events" | "stream_owners") && target.includes(t));
    let audit = target.includes("audit_events") || target.includes("stream_owners");
    for e in events {
        if main {
            apply_batched(tx, target, e, Some(batch)).await?;
        }
        if audit {
            audit::apply_batched(tx, target, e, Some(batch)).await?;
        }
    }
    batch.flush(tx).await
}

/// Apply the events in `(after, upto]` within `tx`, batch by batch.
async fn apply_range(
    db: &Db,
    tx: &mut Tx,
    target: Target<'_>,
    mut after: i64,
    upto: i64,
    batch: &mut Batch,
) -> Result<(), ProjectionError> {
    while after < upto {
        let mut events = db.read_after(after, BATCH).await?;
        events.retain(|e| e.position <= upto);
        let Some(last) = events.last().map(|e| e.position) else { break };
        match target {
            Target::Live => {
                for e in &events {
                    follow(tx, e).await?;
                }
            }
            Target::Shadow(_) => apply_events(tx, target, &events, batch).await?,
        }
        after = last;
    }
    Ok(())
}

async fn rebuild_tables(
    db: &Db,
    tables: &'static [&'static str],
    reads: &'static [&'static str],
    mut progress: impl FnMut(i64),
) -> Result<i64, ProjectionError> {
    let mut shadowed: Vec<&'static str> = tables.to_vec();
    shadowed.extend(reads.iter().filter(|t| !tables.contains(t)));
    let shadows = Shadows::new(&shadowed);
    let target = Target::Shadow(&shadows);

    // The new table versions, empty, and the statements that give the rebuilt ones their
    // secondary indexes after the replay.
    let mut deferred = Vec::new();
    {
        let mut w = db.begin_write().await?;
        for t in &shadowed {
            let indexes = create_shadow(&mut w.tx, db.dialect, t).await?;
            if tables.contains(t) {
                deferred.extend(indexes.into_iter().map(|ddl| (*t, ddl)));
            }
        }
        w.tx.commit().await?;
    }

    // Replay the log into them; the live tables keep answering (and keep projecting).
    // The lanes share no table and read none of each other's, so each replays on its own
    // connection: one task reads the log and hands every batch to each lane.
    let lanes: Vec<Vec<&'static str>> = (0..=LANES.len())
        .map(|i| shadowed.iter().copied().filter(|t| lane_of(t) == i).collect::<Vec<_>>())
        .filter(|lane| !lane.is_empty())
        .collect();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for (i, lane) in lanes.into_iter().enumerate() {
        let (tx, rx) = mpsc::channel(LANE_QUEUE);
        senders.push(tx);
        let indexes = deferred.iter().filter(|(t, _)| lane.contains(t)).map(|(_, ddl)| ddl.clone()).collect();
        workers.push(tokio::spawn(replay_lane(db.clone(), lane, indexes, rx, done_tx.clone(), i)));
    }
    drop(done_tx);
    let reader = tokio::spawn(read_log(db.clone(), senders));
    // Progress: the position every lane has committed.
    let mut at = vec![0; workers.len()];
    while let Some((lane, position)) = done_rx.recv().await {
        at[lane] = position;
        progress(at.iter().copied().min().unwrap_or(0));
    }
    let cursor = reader.await.map_err(|e| ProjectionError::Reader(e.to_string()))??;
    let mut batch = Batch::new();
    for w in workers {
        let lane = w.await.map_err(|e| ProjectionError::Reader(e.to_string()))??;
        batch.owners.extend(lane.owners);
    }

    // Swap, with the live projector paused and no event being written: commands update
    // the live tables in their own transactions (`Inline`). PostgreSQL: the projector's
    // lock, and a SHARE lock on `events` that waits for every writer in flight and holds
    // new ones until the swap commits (they then write to the new tables); SQLite: the
    // write lock does both.
    let mut w = db.begin_write().await?;
    if db.dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7243003)").execute(&mut *w.tx).await?;
        sqlx::query("LOCK TABLE events IN SHARE MODE").execute(&mut *w.tx).await?;
    }
    let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
        .bind(READ_MODELS)
        .fetch_optional(&mut *w.tx)
        .await?;
    let cp = cp.unwrap_or(0);
    let at = if cp >= cursor {
        // Events projected live while the shadows were written.
        apply_range(db, &mut w.tx, target, cursor, cp, &mut batch).await?;
        cp
    } else {
        // The live projector is behind the shadows: do its work up to them (we hold its
        // lock), so both stand at the same position and no event is applied twice.
        apply_range(db, &mut w.tx, Target::Live, cp, cursor, &mut batch).await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(READ_MODELS)
        .bind(cursor)
        .execute(&mut *w.tx)
        .await?;
        cursor
    };
    // Events past that point that were projected inline are in the live tables already
    // (on PostgreSQL some may not have a position yet): the shadows get them too.
    // (Their audit entries are the pipeline's, after the checkpoint.)
    for e in db.inline_tail(&mut w.tx, at).await? {
        apply_to(&mut w.tx, target, &e).await?;
    }
    for t in tables {
        swap(&mut w.tx, db.dialect, t).await?;
    }
    for t in shadowed.iter().filter(|t| !tables.contains(t)) {
        sqlx::query(&format!("DROP TABLE {}", shadow(t))).execute(&mut *w.tx).await?;
    }
    w.tx.commit().await?;
    progress(at);
    Ok(at)
}

/// The audit log's tables (one projection, see `PROJECTIONS`).
const AUDIT_TABLES: &[&str] = &["audit_events", "stream_owners"];

/// The tables each lane of a rebuild replays, besides the last lane, which replays the
/// rest: the audit log; organizations and their memberships (which read them); then
/// users, sessions, tenants and the others. A projection and the tables it reads stay
/// in one lane (tested).
const LANES: &[&[&str]] = &[AUDIT_TABLES, &["organizations", "memberships"]];

/// The lane that replays `table`.
fn lane_of(table: &str) -> usize {
    LANES.iter().position(|lane| lane.contains(&table)).unwrap_or(LANES.len())
}

/// Read the whole log, batch by batch, and hand each batch to every lane. Returns the
/// position of the last event read.
async fn read_log(db: Db, lanes: Vec<mpsc::Sender<Arc<Vec<StoredEvent>>>>) -> Result<i64, ProjectionError> {
    let mut cursor = 0;
    loop {
        let events = db.read_after(cursor, REPLAY_BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else { break };
        let full = events.len() as i64 == REPLAY_BATCH;
        let events = Arc::new(events);
        for lane in &lanes {
            if lane.send(events.clone()).await.is_err() {
                // The lane stopped on an error, which its task returns.
                return Ok(cursor);
            }
        }
        cursor = last;
        if !full {
            break;
        }
    }
    Ok(cursor)
}

/// Replay the batches from `events` into the shadows of `tables`, one transaction per
/// batch, reporting each committed batch's last position on `done` as (`lane`,
/// position). Then (PostgreSQL) build the deferred `indexes` and gather the shadows'
/// planner statistics (fresh tables have none until autovacuum gets to them, if it runs
/// at all; without them the first queries plan sequential scans), before the swap.
/// Returns the batch, whose `owners` the swap goes on with.
async fn replay_lane(
    db: Db,
    tables: Vec<&'static str>,
    indexes: Vec<String>,
    mut events: mpsc::Receiver<Arc<Vec<StoredEvent>>>,
    done: mpsc::UnboundedSender<(usize, i64)>,
    lane: usize,
) -> Result<Batch, ProjectionError> {
    let started = std::time::Instant::now();
    let shadows = Shadows::new(&tables);
    let target = Target::Shadow(&shadows);
    // PostgreSQL: the lanes of `LANES` insert each row of their empty shadows once (an
    // audit entry per event; an organization or a membership at its creation, which its
    // aggregate allows once per id), so their plain INSERTs go in with `COPY` rather than
    // multi-row `VALUES` lists (the audit lane on 1,038,098 events: PostgreSQL's CPU 56 →
    // 41 s, the rebuild 50 → 38 s; 746,210 memberships: 5.3 s as `INSERT … SELECT` with
    // the project's sub-select and `ON CONFLICT`, 1.9 s by `COPY`). Their UPDATEs and
    // DELETEs run after the rows they touch are sent and committed (`Batch::flush_for`,
    // `Batch::queue_update`).
    // A duplicate would fail the rebuild; `lock_timeout` bounds its wait when it meets an
    // uncommitted row of the lane's own transaction.
    let copies = tables.iter().all(|t| lane_of(t) < LANES.len());
    let mut batch = if db.dialect == Dialect::Postgres && copies {
        let mut conn = db.pg_connection().await?;
        sqlx::Executor::execute(&mut conn, "SET synchronous_commit = off").await?;
        sqlx::Executor::execute(&mut conn, "SET lock_timeout = '60s'").await?;
        Batch::with_copy(conn)
    } else {
        Batch::new()
    };
    while let Some(events) = events.recv().await {
        let mut w = db.begin_write().await?;
        if db.dialect == Dialect::Postgres {
            // Only shadows are written here: a commit lost to a server crash loses a
            // replay that has failed anyway. The swap commits synchronously, and with it
            // everything before it.
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *w.tx).await?;
        }
        apply_events(&mut w.tx, target, &events, &mut batch).await?;
        w.tx.commit().await?;
        if let Some(e) = events.last() {
            let _ = done.send((lane, e.position));
        }
    }
    let replayed = started.elapsed();
    if db.dialect == Dialect::Postgres {
        for ddl in indexes {
            sqlx::query(&ddl).execute(&db.pool).await?;
        }
        for t in &tables {
            sqlx::query(&format!("ANALYZE {}", shadow(t))).execute(&db.pool).await?;
        }
    }
    tracing::debug!(lane, ?tables, ?replayed, indexed = ?(started.elapsed() - replayed), "rebuild lane done");
    Ok(batch)
}

/// Events per read of the log and per transaction of each lane while replaying into the
/// shadows.
const REPLAY_BATCH: i64 = 5_000;

/// Batches read ahead for a lane. Lanes take turns being the slowest one (the last lane
/// runs an UPDATE round trip per organization created, the others do not), so a lane
/// may run this far ahead of another before the reader waits.
const LANE_QUEUE: usize = 8;

/// An empty `<table>__rebuild` with the live table's columns and constraints. A shadow
/// left by an interrupted rebuild is dropped first. PostgreSQL: made `LIKE` the live
/// table, then its secondary indexes (those that back no constraint) are dropped again
/// and returned as the `CREATE INDEX` statements that restore them: building an index
/// once over the loaded rows costs a fraction of updating it row by row. The replay
/// needs none of them (its UPDATEs, DELETEs and sub-selects find rows by primary key).
/// SQLite: the table's own `CREATE TABLE`, renamed; the swap creates its indexes.
async fn create_shadow(tx: &mut Tx, dialect: Dialect, table: &str) -> Result<Vec<String>, ProjectionError> {
    let new = shadow(table);
    sqlx::query(&format!("DROP TABLE IF EXISTS {new}")).execute(&mut **tx).await?;
    match dialect {
        Dialect::Postgres => {
            sqlx::query(&format!("CREATE TABLE {new} (LIKE {table} INCLUDING ALL)")).execute(&mut **tx).await?;
            let rows = sqlx::query(
                "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid \
                 WHERE i.indrelid = to_regclass($1) AND NOT EXISTS \
                 (SELECT 1 FROM pg_constraint k WHERE k.conrelid = i.indrelid AND k.conindid = i.indexrelid) \
                 ORDER BY c.relname",
            )
            .bind(&new)
            .fetch_all(&mut **tx)
            .await?;
            let mut deferred = Vec::new();
            for r in rows {
                let (name, ddl): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                sqlx::query(&format!("DROP INDEX \"{name}\"")).execute(&mut **tx).await?;
                deferred.push(ddl);
            }
            Ok(deferred)
        }
        Dialect::Sqlite => {
            let sql: Option<String> =
                sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                    .bind(table)
                    .fetch_optional(&mut **tx)
                    .await?;
            let sql = sql.ok_or_else(|| ProjectionError::Schema(format!("{table}: no such table")))?;
            let ddl = rename_create_table(&sql, table, &new)
                .ok_or_else(|| ProjectionError::Schema(format!("{table}: unexpected definition {sql:?}")))?;
            sqlx::query(&ddl).execute(&mut **tx).await?;
            Ok(Vec::new())
        }
    }
}

/// `CREATE TABLE <table> (…)` (name bare or quoted) as `CREATE TABLE <new> (…)`.
fn rename_create_table(sql: &str, table: &str, new: &str) -> Option<String> {
    let head = "CREATE TABLE";
    if !sql.get(..head.len())?.eq_ignore_ascii_case(head) {
        return None;
    }
    let rest = sql[head.len()..].trim_start();
    let rest = [format!("\"{table}\""), format!("`{table}`"), format!("[{table}]"), table.to_string()]
        .iter()
        .find_map(|name| rest.strip_prefix(name.as_str()))?;
    rest.trim_start().starts_with('(').then(|| format!("CREATE TABLE {new} {}", rest.trim_start()))
}

/// Drop `table` and rename its shadow into place, with the same index names.
async fn swap(tx: &mut Tx, dialect: Dialect, table: &str) -> Result<(), ProjectionError> {
    let new = shadow(table);
    match dialect {
        Dialect::Postgres => {
            let renames = pg_index_renames(tx, table, &new).await?;
            sqlx::query(&format!("DROP TABLE {table}")).execute(&mut **tx).await?;
            sqlx::query(&format!("ALTER TABLE {new} RENAME TO {table}")).execute(&mut **tx).await?;
            for (from, to) in renames {
                sqlx::query(&format!("ALTER INDEX \"{from}\" RENAME TO \"{to}\"")).execute(&mut **tx).await?;
            }
        }
        Dialect::Sqlite => {
            // Secondary indexes (constraint indexes come with the table and follow its name).
            let indexes: Vec<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 AND sql IS NOT NULL ORDER BY name",
            )
            .bind(table)
            .fetch_all(&mut **tx)
            .await?;
            sqlx::query(&format!("DROP TABLE {table}")).execute(&mut **tx).await?;
            sqlx::query(&format!("ALTER TABLE {new} RENAME TO {table}")).execute(&mut **tx).await?;
            for sql in indexes {
                sqlx::query(&sql).execute(&mut **tx).await?;
            }
        }
    }
    Ok(())
}

/// PostgreSQL: pair each index of the shadow (named by `LIKE`) with the live index it
/// copies (same definition up to the names), as (shadow name, live name).
async fn pg_index_renames(tx: &mut Tx, table: &str, new: &str) -> Result<Vec<(String, String)>, ProjectionError> {
    async fn indexes(tx: &mut Tx, table: &str) -> Result<Vec<(String, String)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT indexname::text, indexdef FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = $1 ORDER BY indexname",
        )
        .bind(table)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
    // `CREATE [UNIQUE] INDEX name ON schema.table USING …`: the kind and what follows USING.
    fn shape(def: &str) -> Option<(bool, &str)> {
        Some((def.starts_with("CREATE UNIQUE"), &def[def.find(" USING ")?..]))
    }
    let live = indexes(tx, table).await?;
    let mut copies = indexes(tx, new).await?;
    let mut renames = Vec::new();
    for (name, def) in live {
        let i = copies
            .iter()
            .position(|(_, d)| shape(d).is_some() && shape(d) == shape(&def))
            .ok_or_else(|| ProjectionError::Schema(format!("{table}: the new table has no copy of index {name}")))?;
        let (copy, _) = copies.swap_remove(i);
        renames.push((copy, name));
    }
    if let Some((extra, _)) = copies.first() {
        return Err(ProjectionError::Schema(format!("{table}: unexpected index {extra} on the new table")));
    }
    Ok(renames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_write_a_rebuilt_table_go_to_its_shadow() {
        let t = Target::Shadow(&Shadows::new(&["users"]));
        assert_eq!(
            t.sql("UPDATE users SET last_organization_id = $2 WHERE id = $1").as_deref(),
            Some("UPDATE users__rebuild SET last_organization_id = $2 WHERE id = $1")
        );
        assert_eq!(
            t.sql("DELETE FROM users WHERE id = $1").as_deref(),
            Some("DELETE FROM users__rebuild WHERE id = $1")
        );
        assert_eq!(
            t.sql("INSERT INTO users (id, project_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING").as_deref(),
            Some("INSERT INTO users__rebuild (id, project_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING")
        );
        // Writes to other tables are skipped.
        assert!(t.sql("INSERT INTO sessions (id) VALUES ($1) ON CONFLICT (id) DO NOTHING").is_none());
        assert!(t.sql("UPDATE tenants SET organizations_count = organizations_count + 1 WHERE id = $1").is_none());
        // Column names that contain a table name are left alone.
        let t = Target::Shadow(&Shadows::new(&["tenants", "organizations"]));
        assert_eq!(
            t.sql("UPDATE tenants SET organizations_count = organizations_count + 1 WHERE id = $1").as_deref(),
            Some("UPDATE tenants__rebuild SET organizations_count = organizations_count + 1 WHERE id = $1")
        );
        let t = Target::Shadow(&Shadows::new(&["webhook_endpoints"]));
        assert_eq!(
            t.sql("UPDATE webhook_endpoints SET url = COALESCE($2, url), events = COALESCE($3, events) WHERE id = $1")
                .as_deref(),
            Some(
                "UPDATE webhook_endpoints__rebuild SET url = COALESCE($2, url), events = COALESCE($3, events) \
                 WHERE id = $1"
            )
        );
    }

    #[test]
    fn reads_follow_the_written_table() {
        let sql = "INSERT INTO memberships (id, project_id) VALUES ($1, (SELECT project_id FROM organizations \
                   WHERE id = $2)) ON CONFLICT (id) DO NOTHING";
        assert_eq!(
            Target::Shadow(&Shadows::new(&["memberships", "organizations"])).sql(sql).as_deref(),
            Some(
                "INSERT INTO memberships__rebuild (id, project_id) VALUES ($1, (SELECT project_id FROM \
                 organizations__rebuild WHERE id = $2)) ON CONFLICT (id) DO NOTHING"
            )
        );
        assert!(Target::Shadow(&Shadows::new(&["organizations"])).sql(sql).is_none());
        let select = "SELECT project_id FROM stream_owners WHERE aggregate_type = $1";
        assert_eq!(
            Target::Shadow(&Shadows::new(&["stream_owners"])).sql(select).as_deref(),
            Some("SELECT project_id FROM stream_owners__rebuild WHERE aggregate_type = $1")
        );
        assert_eq!(Target::Shadow(&Shadows::new(&["users"])).sql(select).as_deref(), Some(select));
        assert_eq!(Target::Live.sql(sql).as_deref(), Some(sql));
    }

    #[test]
    fn a_projection_and_what_it_reads_replay_in_one_lane() {
        for p in PROJECTIONS {
            let lane = lane_of(p.tables[0]);
            assert!(p.tables.iter().chain(p.reads).all(|t| lane_of(t) == lane), "{}", p.name);
        }
    }

    #[test]
    fn every_table_is_in_exactly_one_projection() {
        for t in TABLES {
            assert_eq!(PROJECTIONS.iter().filter(|p| p.tables.contains(t)).count(), 1, "{t}");
        }
        for p in PROJECTIONS {
            assert!(p.tables.iter().chain(p.reads).all(|t| TABLES.contains(t)), "{}", p.name);
        }
    }

    #[test]
    fn sqlite_definitions_are_renamed() {
        assert_eq!(
            rename_create_table("CREATE TABLE users (\n id TEXT PRIMARY KEY\n)", "users", "users__rebuild").as_deref(),
            Some("CREATE TABLE users__rebuild (\n id TEXT PRIMARY KEY\n)")
        );
        assert_eq!(
            rename_create_table("CREATE TABLE \"users\"(id TEXT)", "users", "users__rebuild").as_deref(),
            Some("CREATE TABLE users__rebuild (id TEXT)")
        );
        assert_eq!(rename_create_table("CREATE TABLE users_x (id TEXT)", "users", "users__rebuild"), None);
    }
}
