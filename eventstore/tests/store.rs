use authio_domain::reservation::{Reservation, ReservationCommand};
use authio_eventstore::testing::{fresh_db, fresh_db_with};
use authio_eventstore::{Changes, Db, Metadata, StoreError};
use rand::Rng;
use std::collections::HashSet;
use std::time::Duration;

async fn claim(db: &Db, id: &str, owner: &str) -> Result<(), StoreError> {
    let mut r = db.load::<Reservation>(id).await?;
    r.exec(ReservationCommand::Claim { owner: owner.into() }).await.map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut c = Changes::new();
    c.add(r)?;
    db.commit(c, &Metadata::new()).await.map(|_| ())
}

async fn append_load_and_conflict(postgres: bool) {
    let db = fresh_db(postgres).await;
    claim(&db, "r1", "a").await.unwrap();
    let loaded = db.load::<Reservation>("r1").await.unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.state.owner.as_deref(), Some("a"));
    // Two writers that loaded the same version: the second one conflicts.
    let mut a = db.load::<Reservation>("r2").await.unwrap();
    let mut b = db.load::<Reservation>("r2").await.unwrap();
    a.exec(ReservationCommand::Claim { owner: "a".into() }).await.unwrap();
    b.exec(ReservationCommand::Claim { owner: "b".into() }).await.unwrap();
    let (mut ca, mut cb) = (Changes::new(), Changes::new());
    ca.add(a).unwrap();
    cb.add(b).unwrap();
    db.commit(ca, &Metadata::new()).await.unwrap();
    assert!(matches!(db.commit(cb, &Metadata::new()).await, Err(StoreError::Conflict)));
    // Stamping waits for transactions anywhere in the cluster; poll, bounded.
    let mut all = Vec::new();
    for _ in 0..500 {
        db.stamp().await.unwrap();
        all = db.read_after(0, 100).await.unwrap();
        if all.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(all.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1, 2]);
    assert!(all.iter().all(|e| e.event_type == "reservation.claimed" && e.event_id.starts_with("evt_")));
}

#[tokio::test]
async fn append_load_and_conflict_postgres() {
    append_load_and_conflict(true).await;
}

#[tokio::test]
async fn append_load_and_conflict_sqlite() {
    append_load_and_conflict(false).await;
}

/// Writers hold their transactions open for random times while a reader follows the
/// log by position. The reader must see every committed event exactly once, with dense
/// positions, even though transactions commit out of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reader_never_skips_late_commits_postgres() {
    let db = fresh_db(true).await;
    let writers = 16;
    let per_writer = 25;
    let mut handles = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let mut committed = Vec::new();
            for i in 0..per_writer {
                let mut tx = db.pool.begin().await.unwrap();
                let id = format!("evt_w{w}i{i}");
                sqlx::query(
                    "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type, \
                     event_version, payload, metadata, recorded_at) VALUES ($1, 'test', $2, 1, 'test.happened', '1.0', '{}', '{}', 'now')",
                )
                .bind(&id)
                .bind(format!("w{w}i{i}"))
                .execute(&mut *tx)
                .await
                .unwrap();
                let hold = rand::thread_rng().gen_range(0..30);
                tokio::time::sleep(Duration::from_millis(hold)).await;
                if rand::thread_rng().gen_bool(0.1) {
                    tx.rollback().await.unwrap();
                } else {
                    tx.commit().await.unwrap();
                    committed.push(id);
                }
            }
            committed
        }));
    }
    // Once the writers are done: the commit horizon then, which the stamp passes once
    // every writer's transaction is positioned (0 until then).
    let writers_done = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let reader = {
        let db = db.clone();
        let writers_done = writers_done.clone();
        tokio::spawn(async move {
            let mut cursor = 0i64;
            let mut seen = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            loop {
                // Read on until the stamp has covered every writer. Not merely once more:
                // the stamp waits for every transaction of the cluster (another test's
                // too), so one more round may not reach the last commits yet.
                let target = writers_done.load(std::sync::atomic::Ordering::SeqCst);
                let horizon = db.stamp().await.unwrap();
                let batch = db.read_after(cursor, 50).await.unwrap();
                if batch.is_empty() {
                    if target > 0 && horizon >= target {
                        break;
                    }
                    assert!(tokio::time::Instant::now() < deadline, "the stamp never passed the writers' commits");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                for e in batch {
                    assert_eq!(e.position, cursor + 1, "positions are dense");
                    cursor = e.position;
                    seen.push(e.event_id);
                }
            }
            seen
        })
    };
    let mut committed = HashSet::new();
    for h in handles {
        committed.extend(h.await.unwrap());
    }
    writers_done.store(db.commit_horizon().await.unwrap(), std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();
    let seen_set: HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), seen_set.len(), "no event read twice");
    assert_eq!(seen_set, committed, "the reader saw exactly the committed events");
}

/// A write whose future is dropped while `BEGIN IMMEDIATE` waits for another writer
/// (a client went away, a task was aborted) must not leave a pooled connection inside
/// a transaction: on SQLite that would hold the database's write lock for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_begin_leaves_no_transaction_behind_sqlite() {
    let url = authio_eventstore::testing::fresh_sqlite_url();
    let db = Db::connect(&url, 1).await.unwrap();
    db.migrate().await.unwrap();
    let other = Db::connect(&url, 1).await.unwrap();
    for _ in 0..5 {
        {
            let held = other.begin_write().await.unwrap();
            // This BEGIN IMMEDIATE waits in SQLite's busy handler; drop it mid-wait.
            assert!(tokio::time::timeout(Duration::from_millis(50), db.begin_write()).await.is_err());
            held.tx.rollback().await.unwrap();
        }
        // Both handles can write again: nothing holds the lock.
        claim(&db, &format!("r-{}", ulid::Ulid::new()), "a").await.unwrap();
        claim(&other, &format!("r-{}", ulid::Ulid::new()), "b").await.unwrap();
    }
    assert_eq!(db.read_after(0, 100).await.unwrap().len(), 10);
}

/// Run one command on a token family (a stream that grows by one event per refresh) and
/// commit its events.
async fn on_family(db: &Db, id: &str, command: authio_domain::context::FamilyCommand) {
    let mut s = db.load::<authio_domain::context::RefreshFamily>(id).await.unwrap();
    s.exec(command).await.unwrap();
    let mut c = Changes::new();
    c.add(s).unwrap();
    db.commit(c, &Metadata::new()).await.unwrap();
}

async fn create_family(db: &Db, id: &str) {
    use authio_domain::ids::{SessionId, TenantId, UserId};
    let start = authio_domain::context::FamilyCommand::Start {
        family_id: id.into(),
        session_id: SessionId::new("sess_1"),
        project_id: TenantId::new("ten_1"),
        user_id: UserId::new("user_1"),
        organization: None,
        epoch: 1,
        switch: None,
        at: chrono::Utc::now(),
    };
    on_family(db, id, start).await;
}

async fn rotate(db: &Db, id: &str, n: usize) {
    use authio_domain::context::FamilyCommand;
    for _ in 0..n {
        on_family(db, id, FamilyCommand::Rotate { at: chrono::Utc::now() }).await;
    }
}

/// A long stream loads from its snapshot plus the tail, to the same state and version as
/// a full replay; a snapshot that no longer decodes is ignored.
async fn snapshots_load_the_same_state(postgres: bool) {
    use authio_domain::context::RefreshFamily as Session;
    use authio_eventstore::SNAPSHOT_EVERY;
    let db = fresh_db(postgres).await;
    let id = "fam_snapshot";
    create_family(&db, id).await;
    let n = 2 * SNAPSHOT_EVERY as usize + 5;
    rotate(&db, id, n).await;
    // Snapshots are written after the commit, in the background: wait for it (bounded).
    let mut snap = None;
    for _ in 0..500 {
        snap = sqlx::query_scalar::<_, i64>(
            "SELECT version FROM snapshots WHERE aggregate_type = 'refresh_family' AND aggregate_id = $1",
        )
        .bind(id)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        if snap == Some(2 * SNAPSHOT_EVERY) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(snap, Some(2 * SNAPSHOT_EVERY), "a snapshot at the last multiple crossed");
    let fast = db.load_stored::<Session>(id).await.unwrap();
    let full = db.load_from_start::<Session>(id).await.unwrap();
    let cached = db.load::<Session>(id).await.unwrap();
    assert_eq!(
        (cached.version, serde_json::to_value(&cached.state).unwrap()),
        (full.version, serde_json::to_value(&full.state).unwrap())
    );
    assert_eq!(fast.version, n as i64 + 1);
    assert_eq!(
        (fast.version, serde_json::to_value(&fast.state).unwrap()),
        (full.version, serde_json::to_value(&full.state).unwrap())
    );
    assert_eq!(fast.state.generation, n as u64);
    // A snapshot of an older shape: ignored, the stream is replayed.
    sqlx::query("UPDATE snapshots SET state = '\"garbage\"' WHERE aggregate_id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let again = db.load_stored::<Session>(id).await.unwrap();
    assert_eq!(
        (again.version, serde_json::to_value(&again.state).unwrap()),
        (full.version, serde_json::to_value(&full.state).unwrap())
    );
    // Writing on goes on from the right version.
    rotate(&db, id, 1).await;
    assert_eq!(db.load::<Session>(id).await.unwrap().version, n as i64 + 2);
}

/// Two processes (two `Db`s) write the same stream: each one's cached state catches up
/// with the other's events when loaded, and a command decided on a state that another
/// writer has passed meanwhile still conflicts.
async fn a_cached_state_catches_up_with_other_writers(postgres: bool) {
    use authio_domain::context::{FamilyCommand, RefreshFamily as Session};
    use authio_eventstore::testing::{fresh_postgres_url, fresh_sqlite_url};
    let url = if postgres { fresh_postgres_url().await } else { fresh_sqlite_url() };
    let a = Db::connect(&url, 4).await.unwrap();
    a.migrate().await.unwrap();
    let b = Db::connect(&url, 4).await.unwrap();
    let id = "fam_cached";
    create_family(&a, id).await;
    rotate(&a, id, 3).await;
    assert_eq!(a.load::<Session>(id).await.unwrap().version, 4);
    rotate(&b, id, 2).await;
    for db in [&a, &b] {
        let cached = db.load::<Session>(id).await.unwrap();
        let full = db.load_from_start::<Session>(id).await.unwrap();
        assert_eq!(cached.version, 6);
        assert_eq!(
            (cached.version, serde_json::to_value(&cached.state).unwrap()),
            (full.version, serde_json::to_value(&full.state).unwrap())
        );
        assert_eq!(cached.state.generation, 5);
    }
    let mut stale = a.load::<Session>(id).await.unwrap();
    rotate(&b, id, 1).await;
    stale.exec(FamilyCommand::Rotate { at: chrono::Utc::now() }).await.unwrap();
    let mut c = Changes::new();
    c.add(stale).unwrap();
    assert!(matches!(a.commit(c, &Metadata::new()).await, Err(StoreError::Conflict)));
    let now = a.load::<Session>(id).await.unwrap();
    assert_eq!((now.version, now.state.generation), (7, 6));
}

#[tokio::test]
async fn a_cached_state_catches_up_with_other_writers_postgres() {
    a_cached_state_catches_up_with_other_writers(true).await;
}

#[tokio::test]
async fn a_cached_state_catches_up_with_other_writers_sqlite() {
    a_cached_state_catches_up_with_other_writers(false).await;
}

/// A stream longer than a replay page (5,000 events) loads whole, by every path.
async fn a_long_stream_loads_page_by_page(postgres: bool) {
    let db = fresh_db(postgres).await;
    let n = 12_003; // claimed, released, claimed, …: the last one claims
    let series = if postgres {
        format!("SELECT s FROM generate_series(1, {n}) AS s")
    } else {
        format!("WITH RECURSIVE g(s) AS (SELECT 1 UNION ALL SELECT s + 1 FROM g WHERE s < {n}) SELECT s FROM g")
    };
    sqlx::query(&format!(
        "INSERT INTO events (event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
         metadata, recorded_at) \
         SELECT 'evt_long_' || s, 'reservation', 'long', s, \
           CASE WHEN s % 2 = 1 THEN 'reservation.claimed' ELSE 'reservation.released' END, '1.0', \
           '{{\"owner\":\"o' || s || '\"}}', '{{}}', '2026-11-30T00:00:00.000000Z' FROM ({series}) AS t"
    ))
    .execute(&db.pool)
    .await
    .unwrap();
    let want = (n as i64, Some(format!("o{n}")));
    let full = db.load_from_start::<Reservation>("long").await.unwrap();
    assert_eq!((full.version, full.state.owner), want);
    let stored = db.load_stored::<Reservation>("long").await.unwrap();
    assert_eq!((stored.version, stored.state.owner), want);
    let loaded = db.load::<Reservation>("long").await.unwrap();
    assert_eq!((loaded.version, loaded.state.owner), want);
}

#[tokio::test]
async fn a_long_stream_loads_page_by_page_postgres() {
    a_long_stream_loads_page_by_page(true).await;
}

#[tokio::test]
async fn a_long_stream_loads_page_by_page_sqlite() {
    a_long_stream_loads_page_by_page(false).await;
}

#[tokio::test]
async fn snapshots_load_the_same_state_postgres() {
    snapshots_load_the_same_state(true).await;
}

#[tokio::test]
async fn snapshots_load_the_same_state_sqlite() {
    snapshots_load_the_same_state(false).await;
}

/// Two commits that lock the same rows in opposite orders: PostgreSQL breaks the
/// deadlock by failing one, which must come back as a lost race (retried by the API),
/// not as a database error (a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadlock_between_commits_is_a_conflict_postgres() {
    let db = fresh_db(true).await;
    sqlx::query("CREATE TABLE dl (id BIGINT PRIMARY KEY, v BIGINT NOT NULL)").execute(&db.pool).await.unwrap();
    sqlx::query("INSERT INTO dl VALUES (1, 0), (2, 0)").execute(&db.pool).await.unwrap();
    let changes = |first: i64, second: i64| {
        let mut c = Changes::new();
        c.side_write("UPDATE dl SET v = v + 1 WHERE id = $1", vec![authio_eventstore::SqlArg::I64(first)]);
        c.side_write("SELECT pg_sleep(0.3)", vec![]);
        c.side_write("UPDATE dl SET v = v + 1 WHERE id = $1", vec![authio_eventstore::SqlArg::I64(second)]);
        c
    };
    let meta = Metadata::new();
    let (a, b) = tokio::join!(db.commit(changes(1, 2), &meta), db.commit(changes(2, 1), &meta));
    let outcomes = [a.map(|_| ()), b.map(|_| ())];
    assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|r| matches!(r, Err(StoreError::Conflict))).count(), 1, "{outcomes:?}");
}

/// A projector into `claims (id, owner)` that only plans its writes: `apply` is never
/// called when the commit is fused. With `twice`, its plan inserts the row and then
/// updates it, which one statement cannot do (the update would not see the insert).
struct Claims {
    twice: bool,
    applied: std::sync::atomic::AtomicUsize,
}

impl authio_eventstore::Projector for Claims {
    fn handles(&self, aggregate_type: &str) -> bool {
        aggregate_type == "reservation"
    }
    fn apply<'a>(
        &'a self,
        tx: &'a mut authio_eventstore::Tx,
        event: &'a authio_eventstore::StoredEvent,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'a>> {
        self.applied.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            for (sql, args) in self.plan(event).unwrap() {
                let mut q = sqlx::query(&sql);
                for a in args {
                    let authio_eventstore::SqlArg::OptText(a) = a else { unreachable!() };
                    q = q.bind(a);
                }
                q.execute(&mut **tx).await?;
            }
            Ok(())
        })
    }
    fn plan(&self, event: &authio_eventstore::StoredEvent) -> Option<Vec<(String, Vec<authio_eventstore::SqlArg>)>> {
        use authio_eventstore::SqlArg::OptText;
        let owner = event.data.get("owner").and_then(|o| o.as_str()).map(str::to_string);
        let mut plan = vec![(
            "INSERT INTO claims (id, owner) VALUES ($1, $2)".to_string(),
            vec![OptText(Some(event.aggregate_id.clone())), OptText(owner.clone())],
        )];
        if self.twice {
            plan.push((
                "UPDATE claims SET owner = $2 || '!' WHERE id = $1".to_string(),
                vec![OptText(Some(event.aggregate_id.clone())), OptText(owner)],
            ));
        }
        Some(plan)
    }
}

async fn claim_with(
    db: &Db,
    p: &Claims,
    id: &str,
    owner: &str,
    extra: impl FnOnce(&mut Changes),
) -> Result<authio_eventstore::Committed, StoreError> {
    let mut r = db.load::<Reservation>(id).await?;
    r.exec(ReservationCommand::Claim { owner: owner.into() }).await.map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut c = Changes::new();
    c.add(r)?;
    extra(&mut c);
    let done = db.commit_with(c, &Metadata::new(), Some(p)).await?;
    assert!(done.projected);
    Ok(done)
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap()
}

/// PostgreSQL commits a command whose writes are all known up front as one statement:
/// it lands whole (event, read model, side writes) with its transaction id as ticket,
/// loses a race as a conflict, and a failed exactly-one side write leaves nothing.
#[tokio::test]
async fn a_fused_commit_is_all_or_nothing_postgres() {
    use authio_eventstore::SqlArg::Text;
    let db = fresh_db_with(
        true,
        &[
            "CREATE TABLE claims (id TEXT PRIMARY KEY, owner TEXT)",
            "CREATE TABLE tokens (id TEXT PRIMARY KEY, state TEXT NOT NULL)",
            "INSERT INTO tokens VALUES ('t1', 'live')",
        ],
    )
    .await;
    let p = Claims { twice: false, applied: Default::default() };
    let spend = |c: &mut Changes| {
        c.side_write_exactly_one(
            "UPDATE tokens SET state = 'spent' WHERE id = $1 AND state = 'live'",
            vec![Text("t1".into())],
            "token_spent",
        );
        c.side_write("INSERT INTO tokens VALUES ($1, 'live')", vec![Text("t2".into())]);
    };
    let ticket = claim_with(&db, &p, "r1", "a", spend).await.unwrap().ticket.0;
    let txid: i64 = count(&db, "SELECT (txid::text)::bigint FROM events").await;
    assert_eq!(ticket, txid);
    assert_eq!(count(&db, "SELECT count(*) FROM claims WHERE id = 'r1' AND owner = 'a'").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM tokens WHERE state = 'live'").await, 1, "t1 spent, t2 added");
    assert_eq!(count(&db, "SELECT count(*) FROM events WHERE projected = 1").await, 1);
    // The token is spent already: the check fails inside the statement, nothing lands.
    let failed = claim_with(&db, &p, "r2", "b", spend).await;
    assert!(matches!(failed, Err(StoreError::Precondition("token_spent"))), "{failed:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM events").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM claims").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM tokens").await, 2);
    // A second writer from the same version loses the race.
    let (mut a, mut b) = (db.load::<Reservation>("r3").await.unwrap(), db.load::<Reservation>("r3").await.unwrap());
    a.exec(ReservationCommand::Claim { owner: "a".into() }).await.unwrap();
    b.exec(ReservationCommand::Claim { owner: "b".into() }).await.unwrap();
    let (mut ca, mut cb) = (Changes::new(), Changes::new());
    ca.add(a).unwrap();
    cb.add(b).unwrap();
    db.commit_with(ca, &Metadata::new(), Some(&p)).await.unwrap();
    let lost = db.commit_with(cb, &Metadata::new(), Some(&p)).await;
    assert!(matches!(lost, Err(StoreError::Conflict)), "{lost:?}");
    assert_eq!(count(&db, "SELECT count(*) FROM claims WHERE id = 'r3' AND owner = 'a'").await, 1);
    assert_eq!(p.applied.load(std::sync::atomic::Ordering::SeqCst), 0, "every commit was one statement");
    assert_eq!(db.fused_commits(), 2);
    // No pooled connection was left inside a transaction.
    assert_eq!(count(&db, "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'").await, 0);
}

/// Writes one statement cannot make in order (an insert, then an update of that row) are
/// committed statement by statement, with the same result on both dialects.
async fn unfusable_writes_commit_in_order(postgres: bool) {
    let db = fresh_db(postgres).await;
    sqlx::query("CREATE TABLE claims (id TEXT PRIMARY KEY, owner TEXT)").execute(&db.pool).await.unwrap();
    let p = Claims { twice: true, applied: Default::default() };
    claim_with(&db, &p, "r1", "a", |_| {}).await.unwrap();
    assert_eq!(count(&db, "SELECT count(*) FROM claims WHERE owner = 'a!'").await, 1);
    assert_eq!(p.applied.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(db.fused_commits(), 0);
}

#[tokio::test]
async fn unfusable_writes_commit_in_order_postgres() {
    unfusable_writes_commit_in_order(true).await;
}

#[tokio::test]
async fn unfusable_writes_commit_in_order_sqlite() {
    unfusable_writes_commit_in_order(false).await;
}

/// A commit can require a condition and read rows, both before its writes and in the
/// same transaction (on PostgreSQL, the same single statement): a condition that does
/// not hold fails it with nothing written.
async fn a_commit_requires_and_reads(postgres: bool) {
    use authio_eventstore::SqlArg::Text;
    use sqlx::Row;
    let db = fresh_db_with(
        postgres,
        &[
            "CREATE TABLE claims (id TEXT PRIMARY KEY, owner TEXT)",
            "CREATE TABLE members (org TEXT NOT NULL, usr TEXT NOT NULL, status TEXT NOT NULL)",
            "INSERT INTO members VALUES ('o1', 'a', 'active'), ('o2', 'a', 'active'), ('o3', 'a', 'suspended')",
        ],
    )
    .await;
    let p = Claims { twice: false, applied: Default::default() };
    let attempt = |id: &'static str, org: &'static str, usr: &'static str| {
        claim_with(&db, &p, id, usr, move |c| {
            c.require(
                "EXISTS (SELECT 1 FROM members WHERE org = $1 AND usr = $2 AND status = 'active')",
                vec![Text(org.into()), Text(usr.into())],
                "not_a_member",
            );
            c.read("SELECT org AS member_org, status FROM members WHERE usr = $1", vec![Text(usr.into())]);
        })
    };
    let done = attempt("r1", "o2", "a").await.unwrap();
    let mut orgs: Vec<(String, String)> =
        done.rows.iter().map(|r| (r.try_get("member_org").unwrap(), r.try_get("status").unwrap())).collect();
    orgs.sort();
    let expected = [("o1", "active"), ("o2", "active"), ("o3", "suspended")];
    assert_eq!(orgs, expected.map(|(o, s)| (o.to_string(), s.to_string())));
    assert_eq!(count(&db, "SELECT count(*) FROM claims").await, 1);
    // A suspended membership, and a user with none: nothing is written.
    for (org, usr) in [("o3", "a"), ("o1", "nobody")] {
        let failed = attempt("r2", org, usr).await;
        assert!(matches!(failed, Err(StoreError::Precondition("not_a_member"))), "{failed:?}");
    }
    assert_eq!(count(&db, "SELECT count(*) FROM events").await, 1);
    assert_eq!(count(&db, "SELECT count(*) FROM claims").await, 1);
    // A read that finds nothing: no row, or (one statement) one row of NULLs.
    sqlx::query("INSERT INTO members VALUES ('o1', 'b', 'active')").execute(&db.pool).await.unwrap();
    sqlx::query("UPDATE members SET usr = 'b2' WHERE usr = 'b'").execute(&db.pool).await.unwrap();
    let done = attempt("r3", "o1", "b2").await.unwrap();
    assert_eq!(done.rows.len(), 1);
    let nobody =
        |c: &mut Changes| c.read("SELECT org AS member_org FROM members WHERE usr = $1", vec![Text("nobody".into())]);
    let done = claim_with(&db, &p, "r4", "x", nobody).await.unwrap();
    let found: Vec<Option<String>> = done.rows.iter().map(|r| r.try_get("member_org").unwrap()).collect();
    assert!(found.iter().all(Option::is_none), "{found:?}");
    assert_eq!(found.len(), postgres as usize);
    assert_eq!(p.applied.load(std::sync::atomic::Ordering::SeqCst), if postgres { 0 } else { 3 });
    assert_eq!(db.fused_commits(), if postgres { 3 } else { 0 });
}

#[tokio::test]
async fn a_commit_requires_and_reads_postgres() {
    a_commit_requires_and_reads(true).await;
}

#[tokio::test]
async fn a_commit_requires_and_reads_sqlite() {
    a_commit_requires_and_reads(false).await;
}

/// The transactions' connections (`conns.rs`): one given back is handed out again as it
/// is (the same PostgreSQL backend, no round trip in between); one whose transaction was
/// cut short (its future dropped mid-statement) is closed, never handed out inside that
/// transaction; a caller waits at most the acquire timeout when all are in use.
async fn transaction_connections(postgres: bool) {
    let db = fresh_db(postgres).await;
    // Each dialect's name for "this connection".
    let me = if postgres { "SELECT pg_backend_pid()::bigint" } else { "SELECT 1" };
    let whose = |mut tx: authio_eventstore::Tx| async move {
        let id: i64 = sqlx::query_scalar(me).fetch_one(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        id
    };
    let first = whose(db.begin().await.unwrap()).await;
    assert_eq!(whose(db.begin().await.unwrap()).await, first, "the connection given back is reused");
    let (open, idle, _) = db.connection_counts();
    assert!(open >= 1 && idle >= 1, "{open} open, {idle} idle");

    // Cut short after a write: rolled back, its connection closed.
    let cut_id = std::sync::atomic::AtomicI64::new(-1);
    let cut = async {
        let mut tx = db.begin().await.unwrap();
        let id: i64 = sqlx::query_scalar(me).fetch_one(&mut *tx).await.unwrap();
        cut_id.store(id, std::sync::atomic::Ordering::SeqCst);
        sqlx::query("INSERT INTO projection_checkpoints (name, position) VALUES ('cut', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        // PostgreSQL: cut in the middle of a statement. SQLite cannot interrupt one
        // (its worker thread runs it to the end), so there the cut comes between two.
        if postgres {
            let _ = sqlx::query("SELECT pg_sleep(3)::text").fetch_one(&mut *tx).await;
        } else {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        unreachable!("the transaction is cut short");
    };
    assert!(tokio::time::timeout(Duration::from_millis(300), cut).await.is_err());
    let mut tx = db.begin().await.unwrap();
    let status: Option<String> = sqlx::query_scalar("SELECT name FROM projection_checkpoints WHERE name = 'cut'")
        .fetch_optional(&mut *tx)
        .await
        .unwrap();
    assert_eq!(status, None, "the cut transaction was rolled back");
    if postgres {
        let id: i64 = sqlx::query_scalar(me).fetch_one(&mut *tx).await.unwrap();
        let cut = cut_id.load(std::sync::atomic::Ordering::SeqCst);
        assert_ne!(id, cut, "the cut connection is not handed out");
        // Its backend sleeps on until it next writes to the closed socket, its
        // transaction open: end it now, or it holds back the stamp of every database of
        // the cluster (other tests') for seconds.
        sqlx::query("SELECT pg_terminate_backend($1::int)").bind(cut).execute(&mut *tx).await.unwrap();
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%' AND pid <> $1::int")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(open, 0, "no connection was left inside a transaction");
    }
    tx.rollback().await.unwrap();
    claim(&db, "after-cut", "a").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_connections_sqlite() {
    transaction_connections(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transaction_connections_postgres() {
    transaction_connections(true).await;
}
