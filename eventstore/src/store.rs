//! Appending, loading and reading events.
use crate::cache::AnyState;
use crate::conns::{Conns, Leased};
use crate::db::{Db, Dialect};
use crate::fuse::{fuse, Fused, Part};
use chrono::{DateTime, SecondsFormat, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::MutexGuard;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended to one of the streams first; the command may be retried.
    #[error("concurrent modification of a stream")]
    Conflict,
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored event cannot be read: {0}")]
    Corrupt(String),
    /// A side write that had to change exactly one row changed none (the row was taken
    /// by another writer first); carries the side write's code. Not retried.
    #[error("precondition failed: {0}")]
    Precondition(&'static str),
}

pub(crate) fn now_text() -> String {
    time_text(Utc::now())
}

/// Timestamps are stored as fixed-width RFC 3339 UTC text (sorts as it reads).
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Who and why: actor, request id, client address, user agent. String pairs, as in
/// cqrs-es. Never a token or secret.
pub type Metadata = BTreeMap<String, String>;

/// One event as stored, with its global position.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub position: i64,
    pub event_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    pub data: Value,
    pub metadata: Metadata,
    pub recorded_at: String,
    /// The read models were updated in the event's own transaction (see `Projector`).
    pub projected: bool,
}

impl StoredEvent {
    /// Decode into a domain event (upcasting old versions when there are any).
    pub fn decode<E: DomainEvent>(&self) -> Result<E, StoreError> {
        decode_payload(&self.event_type, &self.event_version, self.data.clone())
    }
}

fn decode_payload<E: DomainEvent>(event_type: &str, version: &str, data: Value) -> Result<E, StoreError> {
    // Every event type is at version 1.0; an upcaster goes here when one changes.
    if version != "1.0" {
        return Err(StoreError::Corrupt(format!("{event_type} has unknown version {version}")));
    }
    serde_json::from_value(json!({"type": event_type, "data": data}))
        .map_err(|e| StoreError::Corrupt(format!("{event_type}: {e}")))
}

/// Run a command against an aggregate and return the events it decided; the state is
/// updated as the events are written.
pub async fn decide<A: Aggregate>(
    state: &mut A,
    command: A::Command,
    services: &A::Services,
) -> Result<Vec<A::Event>, A::Error> {
    let sink = EventSink::default();
    state.handle(command, services, &sink).await?;
    Ok(sink.collect().await)
}

/// An aggregate loaded at a version, collecting new events.
#[derive(Debug)]
pub struct Loaded<A: Aggregate> {
    pub id: String,
    pub state: A,
    pub version: i64,
    pub new_events: Vec<A::Event>,
}

impl<A: Aggregate> Loaded<A> {
    /// A stream that has no events yet (a new random id): nothing to load. Should the
    /// id exist after all, the commit fails with `StoreError::Conflict`.
    pub fn fresh(id: &str) -> Self {
        Loaded { id: id.to_string(), state: A::default(), version: 0, new_events: Vec::new() }
    }
}

impl<A: Aggregate<Services = ()>> Loaded<A> {
    pub async fn exec(&mut self, command: A::Command) -> Result<(), A::Error> {
        let events = decide(&mut self.state, command, &()).await?;
        self.new_events.extend(events);
        Ok(())
    }
}

/// Rows of (sequence, event_type, event_version, payload) applied to `state` at
/// `version`; a row with an empty event type is a snapshot at that version. `Ok(None)`:
/// the snapshot does not decode.
fn replay<A: Aggregate>(
    id: &str,
    mut state: A,
    mut version: i64,
    rows: &[AnyRow],
) -> Result<Option<Loaded<A>>, StoreError> {
    for row in rows {
        let seq: i64 = row.try_get(0)?;
        let t: String = row.try_get(1)?;
        let v: String = row.try_get(2)?;
        let p: String = row.try_get(3)?;
        if t.is_empty() {
            match serde_json::from_str::<A>(&p) {
                Ok(s) => state = s,
                Err(_) => return Ok(None),
            }
        } else {
            let data: Value = serde_json::from_str(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            state.apply(decode_payload::<A::Event>(&t, &v, data)?);
        }
        version = seq;
    }
    Ok(Some(Loaded { id: id.to_string(), state, version, new_events: Vec::new() }))
}

/// An event's row (PostgreSQL), returning its transaction id as `t` for the ticket.
const PG_INSERT_EVENT: &str = "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type, \
     event_version, payload, metadata, recorded_at, projected) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING (txid::text)::bigint AS t";

/// `PG_INSERT_EVENT` as `INSERT … SELECT`, for a `WHERE` to follow (then `RETURNING`).
const PG_INSERT_EVENT_SELECT: &str = "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, \
     event_type, event_version, payload, metadata, recorded_at, projected) \
     SELECT $1, $2, $3, $4::bigint, $5, $6, $7, $8, $9, $10::bigint";

/// The commit of `changes` as one statement (see `fuse`), when every event's read-model
/// writes are known up front and no statement would see an earlier one's write.
/// Commands of one kind commit the same statements with other values: the statement's
/// text is made once per shape (`FusedShapes`) and its values are laid out again each time.
fn plan_fused(
    changes: &Changes,
    metadata: &Metadata,
    meta: &str,
    now: &str,
    projector: &dyn Projector,
) -> Option<Fused> {
    let mut planned: Vec<(Vec<SqlArg>, Vec<Planned>)> = Vec::new();
    for a in &changes.appends {
        if !projector.handles(a.aggregate_type) {
            return None;
        }
        for i in 0..a.events.len() {
            let stored = a.stored(i, metadata, now, true);
            let writes = projector.plan(&stored)?;
            planned.push((event_row(&stored, meta), writes));
        }
    }
    // Requirements need an event's INSERT to go into (see `fuse_planned`).
    if planned.is_empty() && !changes.requires.is_empty() {
        return None;
    }
    let key = shape_key(changes, &planned);
    if let Some(known) = FusedShapes::recall(&key) {
        return Some(Fused { sql: known?, args: lay_out(changes, planned) });
    }
    let fused = fuse_planned(changes, planned);
    FusedShapes::remember(key, fused.as_ref().map(|f| f.sql.clone()));
    fused
}

/// The values of a fused commit in the order `fuse_planned` lays them out: each part's
/// (the first event's row followed by the requirements'), then the read's.
fn lay_out(changes: &Changes, planned: Vec<(Vec<SqlArg>, Vec<Planned>)>) -> Vec<SqlArg> {
    let mut args = Vec::new();
    for (i, (row, writes)) in planned.into_iter().enumerate() {
        args.extend(row);
        if i == 0 {
            changes.requires.iter().for_each(|(_, a, _)| args.extend(a.iter().cloned()));
        }
        writes.into_iter().for_each(|(_, a)| args.extend(a));
    }
    changes.side_writes.iter().for_each(|(_, a, _)| args.extend(a.iter().cloned()));
    if let Some((_, a)) = &changes.read {
        args.extend(a.iter().cloned());
    }
    args
}

/// What decides a fused statement's text: each part's SQL and number of values, each
/// requirement's and check's code, the read, in order (NUL, which no SQL text holds,
/// between them).
fn shape_key(changes: &Changes, planned: &[(Vec<SqlArg>, Vec<Planned>)]) -> String {
    use std::fmt::Write;
    let mut k = String::with_capacity(4096);
    let _ = write!(k, "{}", !changes.appends.is_empty());
    for (i, (row, writes)) in planned.iter().enumerate() {
        let _ = write!(k, "\0E\0{}", row.len());
        if i == 0 {
            for (condition, args, code) in &changes.requires {
                let _ = write!(k, "\0R\0{condition}\0{}\0{code}", args.len());
            }
        }
        for (sql, args) in writes {
            let _ = write!(k, "\0W\0{sql}\0{}", args.len());
        }
    }
    for (sql, args, code) in &changes.side_writes {
        let _ = write!(k, "\0S\0{sql}\0{}\0{}", args.len(), code.unwrap_or(""));
    }
    if let Some((sql, args)) = &changes.read {
        let _ = write!(k, "\0Q\0{sql}\0{}", args.len());
    }
    k
}

/// The fused statements of the commit shapes seen (`None`: that shape is not fused), at
/// most `FusedShapes::MAX` (forgotten all at once beyond that; commands come in a few
/// dozen shapes).
struct FusedShapes;

type ShapeMap = std::collections::HashMap<String, Option<Arc<str>>>;

impl FusedShapes {
    const MAX: usize = 1024;

    fn map() -> &'static std::sync::Mutex<ShapeMap> {
        static SHAPES: std::sync::OnceLock<std::sync::Mutex<ShapeMap>> = std::sync::OnceLock::new();
        SHAPES.get_or_init(Default::default)
    }

    fn recall(key: &str) -> Option<Option<Arc<str>>> {
        Self::map().lock().ok()?.get(key).cloned()
    }

    fn remember(key: String, sql: Option<Arc<str>>) {
        if let Ok(mut m) = Self::map().lock() {
            if m.len() >= Self::MAX {
                m.clear();
            }
            m.insert(key, sql);
        }
    }
}

/// `plan_fused`'s statement made from its parts.
fn fuse_planned(changes: &Changes, mut planned: Vec<(Vec<SqlArg>, Vec<Planned>)>) -> Option<Fused> {
    // The requirements go into the first event's INSERT, which then inserts only if
    // they hold (and raises otherwise): a part that always runs, before any write.
    let guarded = match (changes.requires.is_empty(), planned.first_mut()) {
        (true, _) => None,
        (false, None) => return None,
        (false, Some((row, _))) => {
            let mut sql = String::from(PG_INSERT_EVENT_SELECT);
            for (i, (condition, args, code)) in changes.requires.iter().enumerate() {
                if !crate::fuse::is_code(code) {
                    return None;
                }
                sql.push_str(if i == 0 { " WHERE " } else { " AND " });
                sql.push_str("authio_require(");
                crate::fuse::renumber(condition, row.len(), &mut sql);
                sql.push_str(&format!(", '{}{code}')", crate::fuse::REQUIRE_PREFIX));
                row.extend(args.iter().cloned());
            }
            sql.push_str(" RETURNING (txid::text)::bigint AS t");
            Some(sql)
        }
    };
    let mut parts = Vec::new();
    for (i, (row, writes)) in planned.iter().enumerate() {
        let sql = match (&guarded, i) {
            (Some(g), 0) => g.as_str(),
            _ => PG_INSERT_EVENT,
        };
        parts.push(Part { sql, args: row, exactly_one: None });
        for (sql, args) in writes {
            parts.push(Part { sql, args, exactly_one: None });
        }
    }
    for (sql, args, exactly_one) in &changes.side_writes {
        parts.push(Part { sql, args, exactly_one: *exactly_one });
    }
    let read = changes.read.as_ref().map(|(sql, args)| (sql.as_str(), args.as_slice()));
    fuse(parts, !changes.appends.is_empty(), read)
}

/// A write that lost to a concurrent one and may be retried with fresh state: a unique
/// violation (another writer appended the same stream version first), or, on
/// PostgreSQL, a deadlock or serialization failure between two commands' read-model
/// updates.
impl PendingAppend {
    /// Event `i` of the append as it is stored (position 0: PostgreSQL stamps it after
    /// the commit, SQLite assigns it at insert), with a new event id.
    fn stored(&self, i: usize, metadata: &Metadata, now: &str, projected: bool) -> StoredEvent {
        let (event_type, event_version, data) = &self.events[i];
        StoredEvent {
            position: 0,
            event_id: format!("evt_{}", ulid::Ulid::new().to_string().to_lowercase()),
            aggregate_type: self.aggregate_type.to_string(),
            aggregate_id: self.aggregate_id.clone(),
            sequence: self.expected + 1 + i as i64,
            event_type: event_type.clone(),
            event_version: event_version.clone(),
            data: data.clone(),
            metadata: metadata.clone(),
            recorded_at: now.to_string(),
            projected,
        }
    }
}

/// The values of an event's row, `$1`–`$10` of `PG_INSERT_EVENT` (`meta`: its metadata
/// as stored).
fn event_row(e: &StoredEvent, meta: &str) -> Vec<SqlArg> {
    vec![
        SqlArg::Text(e.event_id.clone()),
        SqlArg::Text(e.aggregate_type.clone()),
        SqlArg::Text(e.aggregate_id.clone()),
        SqlArg::I64(e.sequence),
        SqlArg::Text(e.event_type.clone()),
        SqlArg::Text(e.event_version.clone()),
        SqlArg::Text(e.data.to_string()),
        SqlArg::Text(meta.to_string()),
        SqlArg::Text(e.recorded_at.clone()),
        SqlArg::I64(e.projected as i64),
    ]
}

/// `q` with `args` bound in order.
fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    args: &'q [SqlArg],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for a in args {
        q = match a {
            SqlArg::Text(s) => q.bind(s.as_str()),
            SqlArg::OptText(s) => q.bind(s.as_deref()),
            SqlArg::I64(i) => q.bind(*i),
        };
    }
    q
}

fn lost_race(e: &dyn sqlx::error::DatabaseError) -> bool {
    e.is_unique_violation() || matches!(e.code().as_deref(), Some("40P01") | Some("40001"))
}

/// Rows read per query when replaying a stream.
const REPLAY_PAGE: i64 = 5_000;

/// A message past this size (a snapshot's state) makes a connection drop its grown
/// buffers once it is through (`sqlx::Connection::shrink_buffers`).
const BIG_MESSAGE: usize = 1 << 20;

/// A stream gets a snapshot each time its version crosses a multiple of this, or of
/// `snapshot_interval` once it is long.
pub const SNAPSHOT_EVERY: i64 = 32;

/// Events between snapshots of a stream at `version`: `SNAPSHOT_EVERY`, growing with the
/// stream to about 1/32 to 1/64 of its length (2,048 at 100,000 events), so that writing
/// snapshots of a large state costs each command a constant share, while a load without
/// the cache replays at most that many events after the snapshot.
pub fn snapshot_interval(version: i64) -> i64 {
    let pow2 = (version.max(1) as u64).next_power_of_two() as i64;
    (pow2 / 64).max(SNAPSHOT_EVERY)
}

/// Read models updated inside the commit's own transaction, so a request that committed
/// reads its own writes at once and no crash can come between an event and its read
/// model. Events it does not `handle` (their read model needs the global position,
/// which PostgreSQL stamps after commit) are left to the projection pipeline. The
/// event passed to `apply` has position 0 on PostgreSQL.
pub trait Projector: Send + Sync {
    fn handles(&self, aggregate_type: &str) -> bool;
    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a StoredEvent,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'a>>;
    /// The statements `apply` runs for `event`, in order, when it can tell them without
    /// running any; `None` otherwise. A commit whose statements are all known up front
    /// can go to PostgreSQL as one statement (see `fuse`).
    fn plan(&self, _event: &StoredEvent) -> Option<Vec<Planned>> {
        None
    }
}

/// What a commit did: its ticket, and whether every event was projected inline (else
/// the read models include it only after the pipeline's next pass).
pub struct Committed {
    pub ticket: CommitTicket,
    pub projected: bool,
    /// The rows of the commit's `read` (see `Changes::read`); none without one.
    pub rows: Vec<AnyRow>,
}

impl std::fmt::Debug for Committed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Committed")
            .field("ticket", &self.ticket)
            .field("projected", &self.projected)
            .field("rows", &self.rows.len())
            .finish()
    }
}

/// A statement a `Projector` plans, and its values (`$1, $2, …`).
pub type Planned = (String, Vec<SqlArg>);

/// A value for a side write, bound in order to `$1, $2, …`.
#[derive(Debug, Clone)]
pub enum SqlArg {
    Text(String),
    OptText(Option<String>),
    I64(i64),
}

struct PendingAppend {
    aggregate_type: &'static str,
    aggregate_id: String,
    expected: i64,
    events: Vec<(String, String, Value)>,
}

/// The precondition code of `Changes::expect_unchanged`.
const STREAM_MOVED: &str = "stream_moved";

/// A failed requirement: a stream that `expect_unchanged` held moved on is a lost race
/// like any other (`Conflict`, decided again by the caller); the rest keep their code.
fn precondition_failed(code: &'static str) -> StoreError {
    if code == STREAM_MOVED {
        StoreError::Conflict
    } else {
        StoreError::Precondition(code)
    }
}

/// Everything one command commits atomically: appends to streams plus side writes
/// (credential tables that are not events).
#[derive(Default)]
pub struct Changes {
    appends: Vec<PendingAppend>,
    side_writes: Vec<(String, Vec<SqlArg>, Option<&'static str>)>,
    /// Conditions checked before the writes (see `require`).
    requires: Vec<(String, Vec<SqlArg>, &'static str)>,
    /// A query answered before the writes (see `read`).
    read: Option<(String, Vec<SqlArg>)>,
    /// The states the appends leave, for once the commit went through.
    states: Vec<NewState>,
}

/// A stream's state after the commit: kept in the state cache, and stored as a snapshot
/// (in the background, see `write_snapshots`) when the commit crossed the interval.
struct NewState {
    aggregate_type: &'static str,
    id: String,
    version: i64,
    state: Arc<AnyState>,
    /// The snapshot's JSON, when one is due (`None` from it: the state does not
    /// serialize, and simply gets no snapshot).
    snapshot: Option<Box<dyn FnOnce() -> Option<String> + Send + Sync>>,
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add<A: Aggregate + 'static>(&mut self, loaded: Loaded<A>) -> Result<(), StoreError> {
        if loaded.new_events.is_empty() {
            return Ok(());
        }
        let mut events = Vec::with_capacity(loaded.new_events.len());
        for e in loaded.new_events {
            let event_type = e.event_type();
            let version = e.event_version();
            let mut v = serde_json::to_value(&e).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let data = v.get_mut("data").map(Value::take).unwrap_or(Value::Null);
            events.push((event_type, version, data));
        }
        let (from, to) = (loaded.version, loaded.version + events.len() as i64);
        let state = Arc::new(loaded.state);
        let every = snapshot_interval(to);
        let snapshot = (to / every > from / every).then(|| {
            let s = state.clone();
            Box::new(move || serde_json::to_string(&*s).ok()) as Box<dyn FnOnce() -> Option<String> + Send + Sync>
        });
        self.states.push(NewState { aggregate_type: A::TYPE, id: loaded.id.clone(), version: to, state, snapshot });
        self.appends.push(PendingAppend {
            aggregate_type: A::TYPE,
            aggregate_id: loaded.id,
            expected: loaded.version,
            events,
        });
        Ok(())
    }
    pub fn side_write(&mut self, sql: impl Into<String>, args: Vec<SqlArg>) {
        self.side_writes.push((sql.into(), args, None));
    }
    /// A side write that must change exactly one row, or the whole commit fails with
    /// `StoreError::Precondition(code)` (e.g. spending a single-use token).
    pub fn side_write_exactly_one(&mut self, sql: impl Into<String>, args: Vec<SqlArg>, code: &'static str) {
        self.side_writes.push((sql.into(), args, Some(code)));
    }
    /// A condition the commit requires: `condition` is an SQL boolean expression over
    /// `args` (`$1, $2, …`), evaluated in the commit's transaction before its writes;
    /// false fails the whole commit with `StoreError::Precondition(code)`. Lets a
    /// command decide on an assumption (the user is an active member) and have the
    /// database hold it to it, instead of reading first. `code` is `[a-z0-9_]+`.
    pub fn require(&mut self, condition: impl Into<String>, args: Vec<SqlArg>, code: &'static str) {
        self.requires.push((condition.into(), args, code));
    }
    /// Require that the stream of `loaded` has not moved past the version it was loaded
    /// at, without appending to it: a decision that read it (a role the project's role
    /// catalog defines) then stands or falls with it. A moved stream fails the commit
    /// with `StoreError::Conflict`, as a stream it appends to would.
    pub fn expect_unchanged<A: Aggregate>(&mut self, loaded: &Loaded<A>) {
        self.require(
            "NOT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
             AND sequence > CAST($3 AS BIGINT))",
            vec![
                SqlArg::Text(A::TYPE.into()),
                SqlArg::Text(loaded.id.clone()),
                SqlArg::Text(loaded.version.to_string()),
            ],
            STREAM_MOVED,
        );
    }
    /// A query (`SELECT …`) answered in the commit's transaction before its writes,
    /// its rows returned in `Committed::rows`. Read its columns by name: on PostgreSQL
    /// the commit may come back as one statement whose rows carry columns of its own,
    /// and, when the query finds nothing, one row whose columns are all NULL; its order
    /// is not kept.
    pub fn read(&mut self, sql: impl Into<String>, args: Vec<SqlArg>) {
        self.read = Some((sql.into(), args));
    }
    pub fn is_empty(&self) -> bool {
        self.appends.is_empty() && self.side_writes.is_empty()
    }
    pub fn event_count(&self) -> usize {
        self.appends.iter().map(|a| a.events.len()).sum()
    }
}

/// What a commit returns: enough to wait until the read models have caught up with it.
/// PostgreSQL: the transaction id (positions are stamped for transactions below the
/// horizon). SQLite: the last position written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CommitTicket(pub i64);

/// A transaction on one pooled connection, safe to cancel: if it is dropped before
/// `commit` or `rollback` finished (an error, or the future was dropped — a client
/// went away, a task was aborted, even in the middle of `BEGIN`), the connection is
/// closed instead of going back to the pool, so the database rolls back and no pooled
/// connection is ever left inside a transaction (on SQLite that would hold the write
/// lock forever). sqlx's own `Transaction` is not safe against a cancelled `BEGIN`.
pub struct Tx {
    conn: Option<Leased>,
}

impl Tx {
    async fn begin(conns: &Arc<Conns>, statement: &'static str) -> Result<Tx, sqlx::Error> {
        let mut tx = Tx { conn: Some(conns.acquire().await?) };
        tx.execute(statement).await?;
        Ok(tx)
    }

    /// A pooled connection outside any transaction, for one statement (its own
    /// transaction), closed if dropped before `release`.
    async fn autocommit(conns: &Arc<Conns>) -> Result<Tx, sqlx::Error> {
        Ok(Tx { conn: Some(conns.acquire().await?) })
    }

    /// Give the connection of `autocommit` back to the pool.
    fn release(mut self) {
        self.give_back();
    }

    fn give_back(&mut self) {
        if let Some(conn) = self.conn.take() {
            conn.give_back();
        }
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        self.execute("COMMIT").await?;
        self.give_back();
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<(), sqlx::Error> {
        self.execute("ROLLBACK").await?;
        self.give_back();
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn.as_ref().expect("transaction in progress")
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        self.conn.as_mut().expect("transaction in progress")
    }
}

// Dropping a `Tx` that still holds its connection drops the `Leased`, which closes it.

/// A write transaction; on SQLite it holds the process-wide write lock.
pub struct WriteTx<'a> {
    pub tx: Tx,
    _guard: Option<MutexGuard<'a, ()>>,
}

impl Db {
    /// A cancel-safe transaction (see `Tx`).
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Tx::begin(&self.conns, "BEGIN").await
    }

    pub async fn begin_write(&self) -> Result<WriteTx<'_>, sqlx::Error> {
        let guard = match self.dialect {
            Dialect::Sqlite => Some(self.write_lock.lock().await),
            Dialect::Postgres => None,
        };
        // SQLite: take the write lock up front (BEGIN IMMEDIATE), so a transaction that
        // reads before it writes waits for other processes' writers (busy_timeout)
        // instead of failing when its snapshot went stale.
        let statement = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        Ok(WriteTx { tx: Tx::begin(&self.conns, statement).await?, _guard: guard })
    }

    /// Load an aggregate: its cached state (see `cache`) plus the events after it, else
    /// its latest snapshot (if any) plus the events after that, in one query each. A
    /// snapshot that does not decode (the state's shape changed) is ignored and the
    /// whole stream replayed. The state loaded is cached.
    pub async fn load<A: Aggregate + Clone + 'static>(&self, id: &str) -> Result<Loaded<A>, StoreError> {
        if let Some((version, state)) = self.cache.get::<A>(A::TYPE, id) {
            let loaded = self.replay_tail(id, state, version).await?;
            if loaded.version > version {
                self.cache.put(A::TYPE, id.to_string(), loaded.version, Arc::new(loaded.state.clone()));
            }
            return Ok(loaded);
        }
        let loaded = self.load_stored::<A>(id).await?;
        if loaded.version > 0 {
            self.cache.put(A::TYPE, id.to_string(), loaded.version, Arc::new(loaded.state.clone()));
        }
        Ok(loaded)
    }

    /// The cached state as it is, without reading the events after it; `load` when none
    /// is cached. Only for a command that appends to this stream: should another process
    /// have appended meanwhile, the commit fails with `StoreError::Conflict` (the stream
    /// moved past the version), and the retry must `load`. Saves the read of a command
    /// whose stream only this process writes (a session's switches and refreshes).
    pub async fn load_to_append<A: Aggregate + Clone + 'static>(&self, id: &str) -> Result<Loaded<A>, StoreError> {
        match self.cache.get::<A>(A::TYPE, id) {
            Some((version, state)) => Ok(Loaded { id: id.to_string(), state, version, new_events: Vec::new() }),
            None => self.load(id).await,
        }
    }

    /// `load` from the database alone: snapshot plus events, the cache neither read nor
    /// written.
    pub async fn load_stored<A: Aggregate>(&self, id: &str) -> Result<Loaded<A>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT version, '' AS event_type, '' AS event_version, state FROM snapshots \
             WHERE aggregate_type = $1 AND aggregate_id = $2 \
             UNION ALL \
             SELECT sequence, event_type, event_version, payload FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > COALESCE( \
               (SELECT version FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2), 0) \
             ORDER BY 1 LIMIT $3",
        )
        .bind(A::TYPE)
        .bind(id)
        .bind(REPLAY_PAGE)
        .fetch_all(&mut *conn)
        .await?;
        // A large snapshot left the connection's read buffer at its size (see
        // `write_snapshot`).
        if rows.first().and_then(|r| r.try_get::<&str, _>(3).ok()).is_some_and(|s| s.len() > BIG_MESSAGE) {
            sqlx::Connection::shrink_buffers(&mut *conn);
        }
        drop(conn);
        match replay::<A>(id, A::default(), 0, &rows) {
            // A full page: the stream may go on.
            Ok(Some(loaded)) if rows.len() as i64 == REPLAY_PAGE => {
                self.replay_tail(id, loaded.state, loaded.version).await
            }
            Ok(Some(loaded)) => Ok(loaded),
            Ok(None) => {
                tracing::warn!(aggregate = A::TYPE, id, "snapshot does not decode; replaying the stream");
                self.load_from_start(id).await
            }
            Err(e) => Err(e),
        }
    }

    /// Load an aggregate by replaying its whole stream (no snapshot).
    pub async fn load_from_start<A: Aggregate>(&self, id: &str) -> Result<Loaded<A>, StoreError> {
        self.replay_tail(id, A::default(), 0).await
    }

    /// Apply the events of stream `id` after `version` to `state`, `REPLAY_PAGE` events a
    /// query, so that the rows of a long stream are never all in memory at once.
    async fn replay_tail<A: Aggregate>(&self, id: &str, state: A, version: i64) -> Result<Loaded<A>, StoreError> {
        let mut loaded = Loaded { id: id.to_string(), state, version, new_events: Vec::new() };
        loop {
            let rows = sqlx::query(
                "SELECT sequence, event_type, event_version, payload FROM events \
                 WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 ORDER BY sequence LIMIT $4",
            )
            .bind(A::TYPE)
            .bind(id)
            .bind(loaded.version)
            .bind(REPLAY_PAGE)
            .fetch_all(&self.pool)
            .await?;
            loaded = replay::<A>(id, loaded.state, loaded.version, &rows)?
                .ok_or_else(|| StoreError::Corrupt("unexpected snapshot row".into()))?;
            if (rows.len() as i64) < REPLAY_PAGE {
                return Ok(loaded);
            }
        }
    }

    /// Commit appends and side writes in one transaction. A stream whose version moved
    /// since it was loaded fails the whole commit with `StoreError::Conflict`.
    pub async fn commit(&self, changes: Changes, metadata: &Metadata) -> Result<CommitTicket, StoreError> {
        Ok(self.commit_with(changes, metadata, None).await?.ticket)
    }

    /// `commit`, updating the read models of `projector` in the same transaction.
    pub async fn commit_with(
        &self,
        changes: Changes,
        metadata: &Metadata,
        projector: Option<&dyn Projector>,
    ) -> Result<Committed, StoreError> {
        let meta = serde_json::to_string(metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = now_text();
        if let (Dialect::Postgres, Some(p)) = (self.dialect, projector) {
            if let Some(fused) = plan_fused(&changes, metadata, &meta, &now, p) {
                let (ticket, rows) = self.commit_fused(fused, &changes).await?;
                self.committed(changes);
                return Ok(Committed { ticket: CommitTicket(ticket), projected: true, rows });
            }
        }
        let mut w = self.begin_write().await?;
        match self.write_changes(&mut w.tx, &changes, metadata, &meta, &now, projector).await {
            Ok(done) => {
                w.tx.commit().await?;
                self.committed(changes);
                Ok(done)
            }
            Err(e) => {
                // Keep the connection when the rollback goes through; `Tx` closes it otherwise.
                let _ = w.tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Cache the states a commit left, and write the snapshots that fell due.
    fn committed(&self, changes: Changes) {
        for mut s in changes.states {
            if let Some(serialize) = s.snapshot.take() {
                self.write_snapshot(s.aggregate_type, s.id.clone(), s.version, serialize);
            }
            self.cache.put(s.aggregate_type, s.id, s.version, s.state);
        }
    }

    /// Run a fused commit (`plan_fused`): one statement, its own transaction. Returns
    /// its ticket (the transaction id) and its rows (those of the commit's read).
    async fn commit_fused(&self, fused: Fused, changes: &Changes) -> Result<(i64, Vec<AnyRow>), StoreError> {
        let mut conn = Tx::autocommit(&self.conns).await?;
        let res = bind_all(sqlx::query(&fused.sql), &fused.args).fetch_all(&mut *conn).await;
        match res {
            Ok(rows) => {
                conn.release();
                self.fused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let ticket = match rows.first() {
                    Some(row) => row.try_get::<i64, _>(0)?,
                    None => return Err(StoreError::Corrupt("a fused commit returned no row".into())),
                };
                Ok((ticket, rows))
            }
            Err(sqlx::Error::Database(e)) => {
                conn.release();
                if lost_race(e.as_ref()) {
                    return Err(StoreError::Conflict);
                }
                let failed = e.message().strip_prefix(crate::fuse::REQUIRE_PREFIX);
                let codes = changes.side_writes.iter().filter_map(|w| w.2).chain(changes.requires.iter().map(|r| r.2));
                let code = codes.into_iter().find(|c| Some(*c) == failed);
                match (e.code().as_deref(), code) {
                    (Some("P0001"), Some(code)) => Err(precondition_failed(code)),
                    _ => Err(sqlx::Error::Database(e).into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn write_changes(
        &self,
        tx: &mut Tx,
        changes: &Changes,
        metadata: &Metadata,
        meta: &str,
        now: &str,
        projector: Option<&dyn Projector>,
    ) -> Result<Committed, StoreError> {
        for (condition, args, code) in &changes.requires {
            let sql = format!("SELECT CASE WHEN {condition} THEN 1 ELSE 0 END");
            let held: i64 = bind_all(sqlx::query(&sql), args).fetch_one(&mut **tx).await?.try_get(0)?;
            if held != 1 {
                return Err(precondition_failed(code));
            }
        }
        let rows = match &changes.read {
            Some((sql, args)) => bind_all(sqlx::query(sql), args).fetch_all(&mut **tx).await?,
            None => Vec::new(),
        };
        let mut ticket = 0;
        let mut all_projected = true;
        for a in &changes.appends {
            for i in 0..a.events.len() {
                let inline = projector.filter(|p| p.handles(a.aggregate_type));
                all_projected &= inline.is_some();
                let mut stored = a.stored(i, metadata, now, inline.is_some());
                let q = match self.dialect {
                    Dialect::Postgres => PG_INSERT_EVENT,
                    Dialect::Sqlite => {
                        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type, \
                         event_version, payload, metadata, recorded_at, projected, position) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                         (SELECT COALESCE(MAX(position), 0) + 1 FROM events)) RETURNING position"
                    }
                };
                let res = bind_all(sqlx::query(q), &event_row(&stored, meta)).fetch_one(&mut **tx).await;
                match res {
                    Ok(row) => ticket = row.try_get(0)?,
                    Err(sqlx::Error::Database(e)) if lost_race(e.as_ref()) => return Err(StoreError::Conflict),
                    Err(e) => return Err(e.into()),
                }
                if let Some(p) = inline {
                    if self.dialect == Dialect::Sqlite {
                        stored.position = ticket;
                    }
                    match p.apply(tx, &stored).await {
                        Ok(()) => {}
                        Err(sqlx::Error::Database(e)) if lost_race(e.as_ref()) => return Err(StoreError::Conflict),
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        for (sql, args, exactly_one) in &changes.side_writes {
            match bind_all(sqlx::query(sql), args).execute(&mut **tx).await {
                Ok(r) => {
                    if let Some(code) = exactly_one {
                        if r.rows_affected() != 1 {
                            return Err(precondition_failed(code));
                        }
                    }
                }
                Err(sqlx::Error::Database(e)) if lost_race(e.as_ref()) => return Err(StoreError::Conflict),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Committed { ticket: CommitTicket(ticket), projected: all_projected, rows })
    }

    /// Write a snapshot of a committed state in the background: serializing a large state
    /// (an organization of 100,000 members: about 10 MB of JSON) and storing it would
    /// otherwise hold up the command that crossed the interval, and every command queued
    /// behind it on the stream. A snapshot only speeds up loads without the cache, so one
    /// lost to a crash or a failed write is simply not there (logged); an older one never
    /// replaces a newer one.
    fn write_snapshot(
        &self,
        aggregate_type: &'static str,
        id: String,
        version: i64,
        serialize: Box<dyn FnOnce() -> Option<String> + Send + Sync>,
    ) {
        let db = self.clone();
        tokio::spawn(async move {
            let Ok(Some(state)) = tokio::task::spawn_blocking(serialize).await else { return };
            let write = async {
                let mut w = db.begin_write().await?;
                sqlx::query(
                    "INSERT INTO snapshots (aggregate_type, aggregate_id, version, state) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET version = excluded.version, \
                     state = excluded.state WHERE snapshots.version < excluded.version",
                )
                .bind(aggregate_type)
                .bind(&id)
                .bind(version)
                .bind(state)
                .execute(&mut *w.tx)
                .await?;
                // The connection's write buffer grew to the snapshot's size and would
                // keep it (sqlx never shrinks one by itself): one pooled connection per
                // snapshot written held about 10 MB each for the organization of 100,000.
                sqlx::Connection::shrink_buffers(&mut *w.tx);
                w.tx.commit().await
            };
            if let Err(e) = write.await {
                tracing::warn!(aggregate = aggregate_type, id = %id, error = %e, "snapshot not written");
            }
        });
    }

    /// PostgreSQL: give positions to events of transactions that committed below the
    /// oldest running transaction, in (txid, id) order. One stamper at a time (advisory
    /// lock). Returns the horizon txid: every commit with a smaller txid is stamped.
    /// SQLite assigns positions at insert; returns the last position.
    pub async fn stamp(&self) -> Result<i64, StoreError> {
        match self.dialect {
            Dialect::Postgres => {
                let mut tx = self.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(7243002)").execute(&mut *tx).await?;
                let horizon: i64 = sqlx::query_scalar("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")
                    .fetch_one(&mut *tx)
                    .await?;
                sqlx::query(
                    "WITH todo AS (SELECT id, row_number() OVER (ORDER BY txid, id) AS rn FROM events \
                       WHERE position IS NULL AND txid < ($1::text)::xid8), \
                     base AS (SELECT COALESCE(MAX(position), 0) AS m FROM events) \
                     UPDATE events e SET position = base.m + todo.rn FROM todo, base WHERE e.id = todo.id",
                )
                .bind(horizon)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(horizon)
            }
            Dialect::Sqlite => Ok(self.last_position().await?),
        }
    }

    /// A value that `stamp()` (PostgreSQL) or `last_position() + 1` (SQLite) reaches once
    /// everything committed before this call is positioned.
    pub async fn commit_horizon(&self) -> Result<i64, StoreError> {
        match self.dialect {
            Dialect::Postgres => {
                Ok(sqlx::query_scalar("SELECT (pg_snapshot_xmax(pg_current_snapshot())::text)::bigint")
                    .fetch_one(&self.pool)
                    .await?)
            }
            Dialect::Sqlite => Ok(self.last_position().await? + 1),
        }
    }

    pub async fn last_position(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events").fetch_one(&self.pool).await?)
    }

    /// Events with position > `after`, in position order. Only stamped events are
    /// visible, so a reader never skips one that commits late.
    pub async fn read_after(&self, after: i64, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT position, event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
             payload, metadata, recorded_at, projected FROM events WHERE position > $1 ORDER BY position LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_event).collect()
    }

    /// Events after `after` that were projected inline, in the order the stamper gives
    /// (or gave) them positions; read inside `tx`, which must keep writers out.
    pub async fn inline_tail(&self, tx: &mut Tx, after: i64) -> Result<Vec<StoredEvent>, StoreError> {
        let order = match self.dialect {
            Dialect::Postgres => "ORDER BY position NULLS LAST, txid, id",
            Dialect::Sqlite => "ORDER BY position",
        };
        let rows = sqlx::query(&format!(
            "SELECT COALESCE(position, 0), event_id, aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata, recorded_at, projected FROM events \
             WHERE projected = 1 AND (position > $1 OR position IS NULL) {order}"
        ))
        .bind(after)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(row_to_event).collect()
    }

    /// Every event of one stream, in order (for tests and tools).
    pub async fn read_stream(&self, aggregate_type: &str, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT COALESCE(position, 0), event_id, aggregate_type, aggregate_id, sequence, event_type, \
             event_version, payload, metadata, recorded_at, projected FROM events \
             WHERE aggregate_type = $1 AND aggregate_id = $2 ORDER BY sequence",
        )
        .bind(aggregate_type)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_event).collect()
    }
}

fn row_to_event(row: &sqlx::any::AnyRow) -> Result<StoredEvent, StoreError> {
    let payload: String = row.try_get(7)?;
    let metadata: String = row.try_get(8)?;
    Ok(StoredEvent {
        position: row.try_get(0)?,
        event_id: row.try_get(1)?,
        aggregate_type: row.try_get(2)?,
        aggregate_id: row.try_get(3)?,
        sequence: row.try_get(4)?,
        event_type: row.try_get(5)?,
        event_version: row.try_get(6)?,
        data: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        metadata: serde_json::from_str(&metadata).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        recorded_at: row.try_get(9)?,
        projected: row.try_get::<i64, _>(10)? != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize) -> Vec<SqlArg> {
        (0..n).map(|i| SqlArg::Text(format!("v{i}"))).collect()
    }

    /// A commit of a remembered shape gets the statement made for it and its values in
    /// the order that statement numbers them.
    #[test]
    fn a_remembered_shape_lays_out_its_values_as_the_statement_numbers_them() {
        let mut c = Changes::new();
        c.require("EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2)", text(2), "no_session");
        c.require("EXISTS (SELECT 1 FROM memberships WHERE id = $1)", text(1), "no_member");
        c.side_write_exactly_one("UPDATE refresh_tokens SET state = 'spent' WHERE token_hash = $1", text(1), "spent");
        c.side_write("INSERT INTO refresh_tokens (token_hash, family_id) VALUES ($1, $2)", text(2));
        c.read("SELECT email FROM users WHERE id = $1 AND project_id = $2", text(2));
        let update = ("UPDATE sessions SET a = $1, b = $2 WHERE id = $3".to_string(), text(3));
        let insert = ("INSERT INTO audit (a, b, c) VALUES ($1, $2, $3)".to_string(), text(3));
        let planned = vec![(text(10), vec![update]), (text(10), vec![insert.clone(), insert])];
        let made = fuse_planned(&c, planned.clone()).expect("fused");
        assert_eq!(format!("{:?}", lay_out(&c, planned.clone())), format!("{:?}", made.args));

        let key = shape_key(&c, &planned);
        FusedShapes::remember(key.clone(), Some(made.sql.clone()));
        assert_eq!(FusedShapes::recall(&key), Some(Some(made.sql.clone())));
        // Another number of values, another code, another part: another shape.
        let mut other = planned.clone();
        other[1].1[0].1.push(SqlArg::I64(1));
        assert_ne!(shape_key(&c, &other), key);
        other = planned.clone();
        other.pop();
        assert_ne!(shape_key(&c, &other), key);
        let mut c2 = Changes::new();
        c2.require("EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2)", text(2), "other_code");
        assert_ne!(shape_key(&c2, &planned), shape_key(&Changes::new(), &planned));
    }
}
