//! Multi-row INSERTs for rebuilds: a rebuild replays the whole log, and one round trip
//! per projected row bounds it at a few thousand events per second. `Batch` queues the
//! INSERT statements of a stretch of events and sends each distinct statement as
//! multi-row INSERTs (rows of one statement stay in order; the read-model tables have
//! no foreign keys, so tables may be written in any order). Any other statement first
//! sends the queued rows of the statements that name a table it names (write or read
//! it), so every UPDATE, DELETE or SELECT sees the rows queued before it and overtakes
//! no queued read, and an INSERT with a sub-select first sends the rows queued for the
//! tables it reads. On PostgreSQL a batch may send
//! plain INSERTs with `COPY` instead (`Batch::with_copy`).
//!
//! UPDATEs of one row by its id (`UPDATE t SET … WHERE id = $1`) are queued too, and
//! each distinct statement's rows sent as one `UPDATE t SET … FROM (VALUES …) AS v
//! WHERE id = v.column1` (a rebuild replays every role change and organization switch,
//! and one round trip each made a log with 135,000 of them take twice as long). Order
//! is kept where it matters: the INSERTs queued into a table (or reading it) are sent
//! before an UPDATE of it is queued, the UPDATEs queued for a table before an INSERT
//! into it (or reading it) is queued, and a row's second UPDATE first sends every
//! UPDATE queued for its table. So the UPDATEs queued at any time touch distinct rows
//! of their tables, which nothing queued reads, and may run in any order. Where a row's
//! second UPDATE is by the same statement and that statement only sets columns to
//! values or adds to them (`merge_plan`), it folds into the queued one instead: a
//! tenant's organization counter, stepped once per organization created, is one UPDATE
//! per flush rather than one round trip per organization.
use authio_eventstore::{copy_text_escape, Tx};
use std::collections::HashMap;
use std::io::Write;

/// A bound value of a queued statement.
#[derive(Debug, Clone)]
pub enum Arg {
    I64(i64),
    Text(Option<String>),
}

/// At most this many bound values per statement (PostgreSQL allows 65,535, SQLite
/// 32,766).
const MAX_ARGS: usize = 30_000;
/// At most this many rows per statement.
const MAX_ROWS: usize = 500;

#[derive(Default)]
pub struct Batch {
    /// Distinct INSERT statements in the order first seen, with their queued rows.
    groups: Vec<Inserts>,
    index: HashMap<String, usize>,
    /// Stream owners seen in this rebuild, (aggregate type, id) → project, so the audit
    /// log's owner lookups need no query.
    pub(crate) owners: HashMap<(String, String), String>,
    /// Organizations created in this batch's events, id → project, so a membership's
    /// row needs no sub-select for its project (and a rebuild can `COPY` it).
    pub(crate) projects: HashMap<String, String>,
    /// Queued UPDATEs, one entry per distinct statement (see the module's comment).
    updates: Vec<Updates>,
    /// The multi-row text of (statement, rows), built once.
    statements: HashMap<(String, usize), String>,
    /// PostgreSQL, where given: plain INSERTs are sent with `COPY … FROM STDIN` on this
    /// connection (see `with_copy`).
    copy: Option<sqlx::PgConnection>,
    /// Multi-row statements are not kept prepared on the connection, and hold at most
    /// `PIPELINE_ROWS` rows (see `unprepared`).
    unprepared: bool,
}

/// At most this many rows per statement of an `unprepared` batch.
const PIPELINE_ROWS: usize = 32;

/// The queued rows of one INSERT statement, and the tables it names (the one it writes
/// first, then those it reads).
struct Inserts {
    sql: String,
    names: Vec<String>,
    rows: Vec<Vec<Arg>>,
}

impl Inserts {
    fn names_any(&self, tables: &[&str]) -> bool {
        self.names.iter().any(|n| tables.contains(&n.as_str()))
    }
}

/// The queued rows of one UPDATE statement, the ids they update (id → row), and how a
/// second UPDATE of a row folds into its queued one, where it can (`merge_plan`).
struct Updates {
    sql: String,
    table: String,
    rows: Vec<Vec<Arg>>,
    ids: HashMap<String, usize>,
    merge: Option<Vec<(usize, Fold)>>,
}

/// How a parameter of a mergeable UPDATE folds a later row into an earlier one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fold {
    /// `col = $k`: the later value wins.
    Last,
    /// `col = col + CAST($k AS …)`: the values add up.
    Sum,
}

impl Updates {
    /// Fold `args`, a later UPDATE of the row queued at `row`, into that row: the same
    /// as running both in order. `false` (nothing changed) where the statement does not
    /// fold or a summed value is not an integer.
    fn fold(&mut self, row: usize, args: &[Arg]) -> bool {
        let Some(plan) = &self.merge else { return false };
        let queued = &mut self.rows[row];
        if queued.len() != args.len() {
            return false;
        }
        let sums: Option<Vec<(usize, i64)>> = plan
            .iter()
            .filter(|&&(_, fold)| fold == Fold::Sum)
            .map(|&(k, _)| integer(&queued[k])?.checked_add(integer(&args[k])?).map(|sum| (k, sum)))
            .collect();
        let Some(sums) = sums else { return false };
        queued[1..].clone_from_slice(&args[1..]);
        for (k, sum) in sums {
            queued[k] = match queued[k] {
                Arg::I64(_) => Arg::I64(sum),
                Arg::Text(_) => Arg::Text(Some(sum.to_string())),
            };
        }
        true
    }
}

/// A bound value as an integer, where it is one.
fn integer(a: &Arg) -> Option<i64> {
    match a {
        Arg::I64(v) => Some(*v),
        Arg::Text(Some(t)) => t.parse().ok(),
        Arg::Text(None) => None,
    }
}

/// How the parameters of `UPDATE t SET … WHERE id = $1` fold (0-based indexes), when
/// every assignment is `col = $k` or `col = col + CAST($k AS type)` with `$k` used once:
/// then two UPDATEs of one row are one UPDATE (the later plain values, the sums of the
/// added ones). `None` for anything else (`COALESCE`, literals, a parameter used twice).
fn merge_plan(sql: &str) -> Option<Vec<(usize, Fold)>> {
    let set = sql.split_once(" SET ")?.1.strip_suffix(" WHERE id = $1")?;
    let mut plan = Vec::new();
    for assignment in set.split(", ") {
        let (col, value) = assignment.split_once(" = ")?;
        let (k, fold) = match value.strip_prefix('$') {
            Some(k) => (k, Fold::Last),
            None => {
                let cast = value.strip_prefix(col)?.strip_prefix(" + CAST($")?;
                let (k, ty) = cast.split_once(" AS ")?;
                ty.strip_suffix(')').filter(|t| t.chars().all(|c| c.is_ascii_alphabetic()))?;
                (k, Fold::Sum)
            }
        };
        let k: usize = k.parse().ok()?;
        if k < 2 || plan.iter().any(|&(seen, _)| seen == k - 1) || col.contains(['(', '$', ' ']) {
            return None;
        }
        plan.push((k - 1, fold));
    }
    Some(plan)
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    /// A batch that sends its plain INSERTs (`VALUES ($1, …, $n)` of bound values only,
    /// no expression) as `COPY … FROM STDIN` on `conn`: PostgreSQL then neither plans nor
    /// evaluates a `VALUES` list, and no argument goes through the `Any` driver. Only for
    /// tables that are empty when the batch starts and get each row once (a rebuild's
    /// shadows): `COPY` has no `ON CONFLICT`, so a duplicate fails the flush instead of
    /// being skipped. Each `COPY` commits on its own (`conn` is outside the caller's
    /// transaction); later statements of that transaction see its rows.
    pub fn with_copy(conn: sqlx::PgConnection) -> Self {
        Self { copy: Some(conn), ..Self::default() }
    }

    /// A batch for a caller that runs its statements on any pooled connection now and
    /// then (the pipeline, every pass): its multi-row statements are sent unprepared and
    /// hold at most `PIPELINE_ROWS` rows. Kept prepared, each connection of the pool
    /// would cache every size of every statement (tens of kilobytes of text each), and
    /// each connection's buffers grow to the largest message it ever sent (an audit row
    /// carries the event's JSON: 500 of them are about a megabyte): with 500-row
    /// prepared statements the server's resident memory under load went from about 56
    /// to 108 MB.
    pub fn unprepared() -> Self {
        Self { unprepared: true, ..Self::default() }
    }

    /// Whether `sql` can be queued: a single-row `INSERT … VALUES (…)`.
    pub fn accepts(sql: &str) -> bool {
        sql.starts_with("INSERT INTO ") && split(sql).is_some()
    }

    /// Queue an INSERT that `accepts` and reads no other table.
    pub fn push(&mut self, sql: &str, args: Vec<Arg>) {
        let i = match self.index.get(sql) {
            Some(&i) => i,
            None => {
                let names = named_tables(sql).into_iter().map(str::to_string).collect();
                self.groups.push(Inserts { sql: sql.to_string(), names, rows: Vec::new() });
                self.index.insert(sql.to_string(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[i].rows.push(args);
    }

    /// Queue an INSERT that `accepts`; one that reads other tables (a sub-select) first
    /// sends the rows queued for them, so it reads what came before it. The UPDATEs
    /// queued for its table, or for a table it reads, are sent first.
    pub async fn queue(&mut self, tx: &mut Tx, sql: &str, args: Vec<Arg>) -> Result<(), sqlx::Error> {
        let names = named_tables(sql);
        let reads = names.get(1..).unwrap_or_default();
        if !reads.is_empty() {
            self.flush_where(tx, |g| g.names.first().is_some_and(|t| reads.contains(&t.as_str()))).await?;
        }
        self.flush_updates(tx, |t| names.contains(&t)).await?;
        self.push(sql, args);
        Ok(())
    }

    /// The table of an UPDATE that `queue_update` takes: `UPDATE t SET … WHERE id = $1`,
    /// reading no other table.
    pub fn update_target(sql: &str) -> Option<&str> {
        let (table, set) = sql.strip_prefix("UPDATE ")?.split_once(" SET ")?;
        let set = set.strip_suffix(" WHERE id = $1")?;
        let plain = !table.contains(' ') && !set.contains("FROM") && !set.contains("SELECT") && !set.contains("WHERE");
        plain.then_some(table)
    }

    /// Queue an UPDATE whose `update_target` is `table`; `args[0]` is the row's id.
    pub async fn queue_update(
        &mut self,
        tx: &mut Tx,
        sql: &str,
        table: &str,
        args: Vec<Arg>,
    ) -> Result<(), sqlx::Error> {
        self.flush_where(tx, |g| g.names_any(&[table])).await?;
        let id = match args.first() {
            Some(Arg::Text(Some(id))) => id.clone(),
            _ => String::new(),
        };
        // A row is queued in at most one statement of its table; a second UPDATE of it
        // by the same statement folds into the queued one where the statement allows.
        if let Some(u) = self.updates.iter_mut().find(|u| u.sql == sql) {
            if let Some(&row) = u.ids.get(&id) {
                if u.fold(row, &args) {
                    return Ok(());
                }
            }
        }
        if self.updates.iter().any(|u| u.table == table && u.ids.contains_key(&id)) {
            self.flush_updates(tx, |t| t == table).await?;
        }
        let i = match self.updates.iter().position(|u| u.sql == sql) {
            Some(i) => i,
            None => {
                let (merge, sql, table) = (merge_plan(sql), sql.to_string(), table.to_string());
                self.updates.push(Updates { sql, table, rows: Vec::new(), ids: HashMap::new(), merge });
                self.updates.len() - 1
            }
        };
        let u = &mut self.updates[i];
        u.ids.insert(id, u.rows.len());
        u.rows.push(args);
        Ok(())
    }

    /// Send the queued rows of every statement that names (writes or reads) a table that
    /// `sql` names (the identifiers after `INTO`, `UPDATE`, `FROM` or `JOIN`), and the
    /// queued UPDATEs of those tables, before `sql` itself is run: a `DELETE` must not
    /// overtake a queued INSERT whose sub-select reads the rows it deletes.
    pub async fn flush_for(&mut self, tx: &mut Tx, sql: &str) -> Result<(), sqlx::Error> {
        let named = named_tables(sql);
        self.flush_where(tx, |g| g.names_any(&named)).await?;
        self.flush_updates(tx, |t| named.contains(&t)).await
    }

    /// Send every queued row.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        self.flush_where(tx, |_| true).await?;
        self.flush_updates(tx, |_| true).await
    }

    /// Send the queued UPDATEs of the tables that `send` picks.
    async fn flush_updates(&mut self, tx: &mut Tx, send: impl Fn(&str) -> bool) -> Result<(), sqlx::Error> {
        if !self.updates.iter().any(|u| send(&u.table)) {
            return Ok(());
        }
        let (sent, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.updates).into_iter().partition(|u| send(&u.table));
        self.updates = kept;
        for u in sent {
            self.send_multi_row(tx, &u.sql, &u.rows, |n, width| multi_row_update(&u.sql, n, width)).await?;
        }
        Ok(())
    }

    /// Send the queued INSERTs that `send` picks, keep the others.
    async fn flush_where(&mut self, tx: &mut Tx, send: impl Fn(&Inserts) -> bool) -> Result<(), sqlx::Error> {
        if !self.groups.iter().any(&send) {
            return Ok(());
        }
        let (send, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.groups).into_iter().partition(&send);
        self.index.clear();
        for (i, g) in kept.into_iter().enumerate() {
            self.index.insert(g.sql.clone(), i);
            self.groups.push(g);
        }
        for g in send {
            let Some((head, tuple, tail)) = split(&g.sql) else { continue };
            if let (Some(conn), Some(copy)) = (self.copy.as_mut(), copy_statement(head, tuple, tail)) {
                let mut data = Vec::with_capacity(g.rows.len() * 256);
                for row in &g.rows {
                    copy_row(&mut data, row);
                }
                let mut sink = conn.copy_in_raw(&copy).await?;
                sink.send(data).await?;
                sink.finish().await?;
                continue;
            }
            self.send_multi_row(tx, &g.sql, &g.rows, |n, width| multi_row(head, tuple, tail, n, width)).await?;
        }
        Ok(())
    }

    /// Send the `rows` of `sql` as statements of several rows each, of few sizes (see
    /// `chunk_sizes`), the text for `n` rows of `width` values built once by `build`.
    async fn send_multi_row(
        &mut self,
        tx: &mut Tx,
        sql: &str,
        rows: &[Vec<Arg>],
        build: impl Fn(usize, usize) -> String,
    ) -> Result<(), sqlx::Error> {
        let width = rows.first().map_or(1, Vec::len).max(1);
        let most = if self.unprepared { PIPELINE_ROWS } else { MAX_ROWS };
        let unprepared = self.unprepared;
        let mut start = 0;
        for n in chunk_sizes(rows.len(), (MAX_ARGS / width).clamp(1, most)) {
            let statement = self.statements.entry((sql.to_string(), n)).or_insert_with(|| build(n, width));
            send_rows(tx, statement, &rows[start..start + n], unprepared).await?;
            start += n;
        }
        Ok(())
    }
}

/// Run `statement` with the bound values of `rows`, in order.
async fn send_rows(tx: &mut Tx, statement: &str, rows: &[Vec<Arg>], unprepared: bool) -> Result<(), sqlx::Error> {
    let mut q = sqlx::query(statement).persistent(!unprepared);
    for row in rows {
        for a in row {
            q = match a {
                Arg::I64(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.as_deref()),
            };
        }
    }
    q.execute(&mut **tx).await.map(|_| ())
}

/// `UPDATE t SET … WHERE id = $1` (see `Batch::update_target`) for `n` rows of `width`
/// bound values: `UPDATE t SET … FROM (VALUES (…), …) AS v WHERE id = v.column1`, the
/// SET clause reading its parameters from `v`.
fn multi_row_update(sql: &str, n: usize, width: usize) -> String {
    let set = parameters(sql.strip_suffix(" WHERE id = $1").unwrap_or(sql), |p| format!("v.column{p}"));
    let rows: Vec<String> = (0..n)
        .map(|k| format!("({})", (1..=width).map(|p| format!("${}", k * width + p)).collect::<Vec<_>>().join(", ")))
        .collect();
    format!("{set} FROM (VALUES {}) AS v WHERE id = v.column1", rows.join(", "))
}

/// The statement that inserts `n` rows of `head tuple tail` (`width` bound values each).
/// Plain tuples become `VALUES (…), (…)`. A tuple with a sub-select becomes
/// `SELECT <tuple> FROM (VALUES <the rows' bound values>) AS v`, its parameters read from
/// `v` (`column1`, `column2`, … in both databases): PostgreSQL then plans the sub-select
/// once, where `VALUES` rows each carrying it cost a plan per row (≈ 70 µs each).
fn multi_row(head: &str, tuple: &str, tail: &str, n: usize, width: usize) -> String {
    if !tuple.contains("SELECT ") {
        let tuples: Vec<String> = (0..n).map(|k| renumber(tuple, k * width)).collect();
        return format!("{head}{}{tail}", tuples.join(", "));
    }
    let insert = head.strip_suffix("VALUES ").unwrap_or(head);
    let columns = parameters(&tuple[1..tuple.len() - 1], |p| format!("v.column{p}"));
    let rows: Vec<String> = (0..n)
        .map(|k| format!("({})", (1..=width).map(|p| format!("${}", k * width + p)).collect::<Vec<_>>().join(", ")))
        .collect();
    // `WHERE true`: SQLite reads `ON CONFLICT` after a bare `FROM …` as a join constraint.
    format!("{insert}SELECT {columns} FROM (VALUES {}) AS v WHERE true{tail}", rows.join(", "))
}

/// `COPY t (columns) FROM STDIN` for `head tuple tail` when the tuple is `($1, …, $n)`
/// (bound values in order, nothing else) and the tail at most skips conflicts.
fn copy_statement(head: &str, tuple: &str, tail: &str) -> Option<String> {
    let target = head.strip_prefix("INSERT INTO ")?.strip_suffix(" VALUES ")?;
    let n = tuple.matches('$').count();
    let plain = format!("({})", (1..=n).map(|p| format!("${p}")).collect::<Vec<_>>().join(", "));
    let tail_ok = tail.is_empty() || (tail.starts_with(" ON CONFLICT ") && tail.ends_with(" DO NOTHING"));
    (n > 0 && tuple == plain && tail_ok).then(|| format!("COPY {target} FROM STDIN"))
}

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL, the text escaped
/// (`copy_text_escape`).
fn copy_row(out: &mut Vec<u8>, row: &[Arg]) {
    for (i, a) in row.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match a {
            Arg::I64(v) => {
                let _ = write!(out, "{v}");
            }
            Arg::Text(None) => out.extend_from_slice(b"\\N"),
            Arg::Text(Some(t)) => copy_text_escape(out, t),
        }
    }
    out.push(b'\n');
}

/// How many rows each statement of a flush of `n` rows carries: `per` while that many
/// are left, then powers of two, so a statement has one of few shapes (each distinct
/// text is prepared once per connection and cached).
fn chunk_sizes(mut n: usize, per: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while n >= per {
        sizes.push(per);
        n -= per;
    }
    while n > 0 {
        let p = 1 << (usize::BITS - 1 - n.leading_zeros());
        sizes.push(p);
        n -= p;
    }
    sizes
}

/// The identifiers right after `INTO`, `UPDATE`, `FROM` and `JOIN` in `sql`.
fn named_tables(sql: &str) -> Vec<&str> {
    let words: Vec<&str> =
        sql.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',').filter(|w| !w.is_empty()).collect();
    words
        .windows(2)
        .filter(|w| ["INTO", "UPDATE", "FROM", "JOIN"].iter().any(|k| w[0].eq_ignore_ascii_case(k)))
        .map(|w| w[1])
        .collect()
}

/// `INSERT INTO t (…) VALUES (…) tail` as (`INSERT INTO t (…) VALUES `, `(…)`, ` tail`).
fn split(sql: &str) -> Option<(&str, &str, &str)> {
    let at = sql.find(" VALUES (")? + " VALUES ".len();
    let mut depth = 0;
    for (i, c) in sql[at..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    let end = at + i + 1;
                    return Some((&sql[..at], &sql[at..end], &sql[end..]));
                }
            }
            '\'' => return None, // literals are not worth parsing here
            _ => {}
        }
    }
    None
}

/// `($1, $2, $2)` with every parameter number raised by `offset`.
fn renumber(tuple: &str, offset: usize) -> String {
    parameters(tuple, |p| format!("${}", p + offset))
}

/// `text` with every parameter `$n` replaced by `to(n)`.
fn parameters(text: &str, to: impl Fn(usize) -> String) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut n = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            n.push(*d);
            chars.next();
        }
        match n.parse::<usize>() {
            Ok(v) => out.push_str(&to(v)),
            Err(_) => {
                out.push(c);
                out.push_str(&n);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use authio_eventstore::testing::fresh_db_with as db_with;

    /// A membership row whose INSERT reads its organization's project: queued after an
    /// organization row of another statement, it must see that row (the other
    /// statement is sent first), and a later DELETE of its organization must not
    /// overtake it, on both databases.
    async fn a_sub_select_sees_the_rows_queued_before_it(postgres: bool) {
        let db = db_with(
            postgres,
            &[
                "CREATE TABLE b_orgs (id TEXT PRIMARY KEY, project_id TEXT NOT NULL)",
                "CREATE TABLE b_members (id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, project_id TEXT)",
                "INSERT INTO b_orgs VALUES ('org_a', 'proj_1')",
            ],
        )
        .await;
        let member = "INSERT INTO b_members (id, organization_id, project_id) \
                      VALUES ($1, $2, (SELECT project_id FROM b_orgs WHERE id = $2))";
        let org = "INSERT INTO b_orgs (id, project_id) VALUES ($1, $2)";
        let text = |v: &[&str]| v.iter().map(|s| Arg::Text(Some(s.to_string()))).collect::<Vec<_>>();
        let mut w = db.begin_write().await.unwrap();
        let mut b = Batch::new();
        // The member statement is seen first, so a plain first-seen flush would send
        // it before the organization it reads.
        b.queue(&mut w.tx, member, text(&["m1", "org_a"])).await.unwrap();
        b.queue(&mut w.tx, org, text(&["org_b", "proj_2"])).await.unwrap();
        b.queue(&mut w.tx, member, text(&["m2", "org_b"])).await.unwrap();
        let delete = "DELETE FROM b_orgs WHERE id = $1";
        b.flush_for(&mut w.tx, delete).await.unwrap();
        sqlx::query(delete).bind("org_a").execute(&mut *w.tx).await.unwrap();
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, project_id FROM b_members ORDER BY id").fetch_all(&db.pool).await.unwrap();
        assert_eq!(rows, vec![("m1".into(), Some("proj_1".into())), ("m2".into(), Some("proj_2".into()))]);
    }

    /// Queued UPDATEs land as if run one by one: after the INSERTs queued before them,
    /// a row's second UPDATE after its first, an INSERT after the UPDATEs of its table
    /// queued before it, on both databases.
    async fn queued_updates_keep_their_order(postgres: bool) {
        let db = db_with(
            postgres,
            &[
                "CREATE TABLE u_members (id TEXT PRIMARY KEY, role TEXT NOT NULL, joined_at TEXT, n BIGINT NOT NULL)",
                "CREATE TABLE u_users (id TEXT PRIMARY KEY, last_org TEXT)",
                "INSERT INTO u_users VALUES ('u1', NULL)",
            ],
        )
        .await;
        let insert =
            "INSERT INTO u_members (id, role, joined_at, n) VALUES ($1, $2, $3, 0) ON CONFLICT (id) DO NOTHING";
        let role = "UPDATE u_members SET role = $2, n = n + 1 WHERE id = $1";
        let join = "UPDATE u_members SET joined_at = COALESCE(joined_at, $2), n = n + 1 WHERE id = $1";
        let last = "UPDATE u_users SET last_org = $2 WHERE id = $1";
        assert_eq!(Batch::update_target(role), Some("u_members"));
        assert_eq!(Batch::update_target(last), Some("u_users"));
        assert_eq!(Batch::update_target("UPDATE t SET a = (SELECT b FROM c) WHERE id = $1"), None);
        assert_eq!(Batch::update_target("UPDATE t SET a = $2 WHERE id = $1 AND b = $3"), None);
        assert_eq!(Batch::update_target("DELETE FROM t WHERE id = $1"), None);
        let text = |v: &[Option<&str>]| v.iter().map(|s| Arg::Text(s.map(str::to_string))).collect::<Vec<_>>();
        let mut w = db.begin_write().await.unwrap();
        let mut b = Batch::new();
        let update = async |b: &mut Batch, tx: &mut Tx, sql: &str, args: Vec<Arg>| {
            let table = Batch::update_target(sql).unwrap();
            b.queue_update(tx, sql, table, args).await.unwrap();
        };
        b.queue(&mut w.tx, insert, text(&[Some("m1"), Some("member"), None])).await.unwrap();
        update(&mut b, &mut w.tx, role, text(&[Some("m1"), Some("admin")])).await;
        update(&mut b, &mut w.tx, last, text(&[Some("u1"), Some("org_a")])).await;
        update(&mut b, &mut w.tx, join, text(&[Some("m1"), Some("t1")])).await;
        // A second UPDATE of m1 by the same statement: it must see the first.
        update(&mut b, &mut w.tx, role, text(&[Some("m1"), Some("owner")])).await;
        update(&mut b, &mut w.tx, join, text(&[Some("m1"), Some("t2")])).await;
        update(&mut b, &mut w.tx, last, text(&[Some("u1"), Some("org_b")])).await;
        // An UPDATE of a row not yet inserted changes nothing; the INSERT then lands.
        update(&mut b, &mut w.tx, role, text(&[Some("m2"), Some("admin")])).await;
        b.queue(&mut w.tx, insert, text(&[Some("m2"), Some("member"), Some("t0")])).await.unwrap();
        update(&mut b, &mut w.tx, join, text(&[Some("m2"), Some("t3")])).await;
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(String, String, Option<String>, i64)> =
            sqlx::query_as("SELECT id, role, joined_at, n FROM u_members ORDER BY id")
                .fetch_all(&db.pool)
                .await
                .unwrap();
        assert_eq!(
            rows,
            vec![
                ("m1".into(), "owner".into(), Some("t1".into()), 4),
                ("m2".into(), "member".into(), Some("t0".into()), 1),
            ]
        );
        let last: Option<String> =
            sqlx::query_scalar("SELECT last_org FROM u_users").fetch_one(&db.pool).await.unwrap();
        assert_eq!(last.as_deref(), Some("org_b"));
    }

    #[tokio::test]
    async fn queued_updates_keep_their_order_postgres() {
        queued_updates_keep_their_order(true).await;
    }

    #[tokio::test]
    async fn queued_updates_keep_their_order_sqlite() {
        queued_updates_keep_their_order(false).await;
    }

    /// Steps of one counter fold into one queued UPDATE and land as if run one by one,
    /// also around another statement's UPDATE of the same row.
    async fn folded_updates_add_up(postgres: bool) {
        let db = db_with(
            postgres,
            &[
                "CREATE TABLE f_tenants (id TEXT PRIMARY KEY, n BIGINT NOT NULL, at TEXT)",
                "INSERT INTO f_tenants VALUES ('t1', 10, NULL), ('t2', 0, NULL)",
            ],
        )
        .await;
        let step = "UPDATE f_tenants SET n = n + CAST($3 AS BIGINT), at = $2 WHERE id = $1";
        let first = "UPDATE f_tenants SET at = COALESCE(at, $2) WHERE id = $1";
        let text = |v: &[&str]| v.iter().map(|s| Arg::Text(Some(s.to_string()))).collect::<Vec<_>>();
        let mut w = db.begin_write().await.unwrap();
        let mut b = Batch::new();
        for args in [["t1", "a", "1"], ["t2", "b", "1"], ["t1", "c", "1"], ["t1", "d", "-1"], ["t2", "e", "5"]] {
            b.queue_update(&mut w.tx, step, "f_tenants", text(&args)).await.unwrap();
        }
        assert_eq!(b.updates.len(), 1);
        assert_eq!(b.updates[0].rows.len(), 2, "one queued row per tenant");
        // Another statement's UPDATE of t1 sends the folded one first, and the next
        // step comes after it.
        b.queue_update(&mut w.tx, first, "f_tenants", text(&["t1", "f"])).await.unwrap();
        b.queue_update(&mut w.tx, step, "f_tenants", text(&["t1", "g", "2"])).await.unwrap();
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(String, i64, Option<String>)> =
            sqlx::query_as("SELECT id, n, at FROM f_tenants ORDER BY id").fetch_all(&db.pool).await.unwrap();
        assert_eq!(rows, vec![("t1".into(), 13, Some("g".into())), ("t2".into(), 6, Some("e".into()))]);
    }

    #[tokio::test]
    async fn folded_updates_add_up_postgres() {
        folded_updates_add_up(true).await;
    }

    #[tokio::test]
    async fn folded_updates_add_up_sqlite() {
        folded_updates_add_up(false).await;
    }

    #[test]
    fn only_plain_and_added_assignments_fold() {
        let plan = |sql| merge_plan(sql);
        assert_eq!(
            plan("UPDATE t SET n = n + CAST($3 AS BIGINT), at = $2 WHERE id = $1"),
            Some(vec![(2, Fold::Sum), (1, Fold::Last)])
        );
        assert_eq!(plan("UPDATE t SET a = $2 WHERE id = $1"), Some(vec![(1, Fold::Last)]));
        for sql in [
            "UPDATE t SET a = COALESCE($2, a) WHERE id = $1",
            "UPDATE t SET n = n + 1 WHERE id = $1",
            "UPDATE t SET n = m + CAST($2 AS BIGINT) WHERE id = $1",
            "UPDATE t SET a = $2, b = $2 WHERE id = $1",
            "UPDATE t SET a = $1 WHERE id = $1",
            "UPDATE t SET a = 'x' WHERE id = $1",
            "UPDATE t SET a = $2 WHERE id = $1 AND b = $3",
        ] {
            assert_eq!(plan(sql), None, "{sql}");
        }
        let mut u = Updates {
            sql: String::new(),
            table: String::new(),
            rows: vec![vec![Arg::Text(Some("t".into())), Arg::Text(Some("a".into())), Arg::I64(i64::MAX)]],
            ids: HashMap::new(),
            merge: plan("UPDATE t SET n = n + CAST($3 AS BIGINT), at = $2 WHERE id = $1"),
        };
        let later = [Arg::Text(Some("t".into())), Arg::Text(Some("b".into())), Arg::I64(1)];
        assert!(!u.fold(0, &later), "an overflowing sum does not fold");
        assert!(matches!(&u.rows[0][1], Arg::Text(Some(a)) if a == "a"), "nothing changed");
        let later = [Arg::Text(Some("t".into())), Arg::Text(Some("b".into())), Arg::I64(-2)];
        assert!(u.fold(0, &later));
        assert!(matches!(u.rows[0][..], [_, Arg::Text(Some(ref b)), Arg::I64(v)] if b == "b" && v == i64::MAX - 2));
    }

    #[test]
    fn updates_become_one_statement() {
        assert_eq!(
            multi_row_update("UPDATE t SET a = COALESCE($2, a), b = 'x', c = $3 WHERE id = $1", 2, 3),
            "UPDATE t SET a = COALESCE(v.column2, a), b = 'x', c = v.column3 FROM (VALUES ($1, $2, $3), ($4, $5, $6)) \
             AS v WHERE id = v.column1"
        );
    }

    #[tokio::test]
    async fn a_sub_select_sees_the_rows_queued_before_it_postgres() {
        a_sub_select_sees_the_rows_queued_before_it(true).await;
    }

    #[tokio::test]
    async fn a_sub_select_sees_the_rows_queued_before_it_sqlite() {
        a_sub_select_sees_the_rows_queued_before_it(false).await;
    }

    /// An `unprepared` batch (the pipeline's) sends 70 rows as statements of at most
    /// `PIPELINE_ROWS` rows, and every row arrives; conflicting rows are skipped.
    async fn an_unprepared_batch_sends_every_row(postgres: bool) {
        let db = db_with(
            postgres,
            &["CREATE TABLE u_rows (n BIGINT PRIMARY KEY, a TEXT)", "INSERT INTO u_rows VALUES (5, 'kept')"],
        )
        .await;
        let sql = "INSERT INTO u_rows (n, a) VALUES ($1, $2) ON CONFLICT (n) DO NOTHING";
        let mut w = db.begin_write().await.unwrap();
        let mut b = Batch::unprepared();
        for n in 0..70 {
            b.push(sql, vec![Arg::I64(n), Arg::Text(Some(format!("row {n}")))]);
        }
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT n, a FROM u_rows ORDER BY n").fetch_all(&db.pool).await.unwrap();
        assert_eq!(rows.len(), 70);
        assert!(rows.iter().all(|(n, a)| *a == if *n == 5 { "kept".to_string() } else { format!("row {n}") }));
        assert_eq!(chunk_sizes(70, PIPELINE_ROWS), vec![32, 32, 4, 2]);
    }

    #[tokio::test]
    async fn an_unprepared_batch_sends_every_row_postgres() {
        an_unprepared_batch_sends_every_row(true).await;
    }

    #[tokio::test]
    async fn an_unprepared_batch_sends_every_row_sqlite() {
        an_unprepared_batch_sends_every_row(false).await;
    }

    /// Rows sent with `COPY` read back as bound: NULLs, tabs, newlines, backslashes,
    /// quotes and non-ASCII text; a statement with an expression still goes as an INSERT.
    #[tokio::test]
    async fn copied_rows_read_back_as_bound() {
        let db = db_with(
            true,
            &[
                "CREATE TABLE c_rows (n BIGINT PRIMARY KEY, a TEXT, b TEXT)",
                "CREATE TABLE c_lower (k TEXT PRIMARY KEY)",
            ],
        )
        .await;
        let texts = [
            Some("plain"),
            None,
            Some("tab\there\nnew line\r\\back\\slash \\N 'quote' \"dq\""),
            Some("é ü 日本 {\"json\": [1, \"x\\ty\"]}"),
            Some(""),
        ];
        let mut w = db.begin_write().await.unwrap();
        let mut b = Batch::with_copy(db.pg_connection().await.unwrap());
        let sql = "INSERT INTO c_rows (n, a, b) VALUES ($1, $2, $3) ON CONFLICT (n) DO NOTHING";
        for (i, t) in texts.iter().enumerate() {
            let t = t.map(str::to_string);
            b.push(sql, vec![Arg::I64(i as i64 - 2), Arg::Text(t.clone()), Arg::Text(t)]);
        }
        b.push("INSERT INTO c_lower (k) VALUES (lower($1))", vec![Arg::Text(Some("MiXeD".into()))]);
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(i64, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT n, a, b FROM c_rows ORDER BY n").fetch_all(&db.pool).await.unwrap();
        let want: Vec<_> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i as i64 - 2, t.map(str::to_string), t.map(str::to_string)))
            .collect();
        assert_eq!(rows, want);
        let k: String = sqlx::query_scalar("SELECT k FROM c_lower").fetch_one(&db.pool).await.unwrap();
        assert_eq!(k, "mixed");
    }

    #[test]
    fn only_plain_inserts_are_copied() {
        let copy = |sql: &str| split(sql).and_then(|(h, t, tail)| copy_statement(h, t, tail));
        assert_eq!(
            copy("INSERT INTO a__rebuild (x, y) VALUES ($1, $2) ON CONFLICT (x) DO NOTHING").as_deref(),
            Some("COPY a__rebuild (x, y) FROM STDIN")
        );
        assert_eq!(copy("INSERT INTO a (x) VALUES ($1)").as_deref(), Some("COPY a (x) FROM STDIN"));
        assert_eq!(copy("INSERT INTO a (x, y) VALUES ($2, $1)"), None);
        assert_eq!(copy("INSERT INTO a (x, y) VALUES ($1, lower($2))"), None);
        assert_eq!(copy("INSERT INTO a (x, y) VALUES ($1, $1)"), None);
        assert_eq!(copy("INSERT INTO a (x) VALUES ($1) ON CONFLICT (x) DO UPDATE SET x = excluded.x"), None);
        let mut out = Vec::new();
        copy_row(&mut out, &[Arg::I64(-7), Arg::Text(None), Arg::Text(Some("a\tb\\c\nd".into()))]);
        assert_eq!(out, b"-7\t\\N\ta\\tb\\\\c\\nd\n");
    }

    #[test]
    fn statements_split_and_renumber() {
        let sql = "INSERT INTO s (a, b, c) VALUES ($1, lower($2), $2) ON CONFLICT (a) DO NOTHING";
        let (head, tuple, tail) = split(sql).unwrap();
        assert_eq!(head, "INSERT INTO s (a, b, c) VALUES ");
        assert_eq!(tuple, "($1, lower($2), $2)");
        assert_eq!(tail, " ON CONFLICT (a) DO NOTHING");
        assert_eq!(renumber(tuple, 20), "($21, lower($22), $22)");
        assert_eq!(
            multi_row(head, tuple, tail, 2, 3),
            "INSERT INTO s (a, b, c) VALUES ($1, lower($2), $2), ($4, lower($5), $5) ON CONFLICT (a) DO NOTHING"
        );
        let sub = "INSERT INTO m (a, p, o) VALUES ($1, (SELECT p FROM o WHERE id = $2), $2) ON CONFLICT (a) DO NOTHING";
        let (head, tuple, tail) = split(sub).unwrap();
        assert_eq!(
            multi_row(head, tuple, tail, 2, 2),
            "INSERT INTO m (a, p, o) SELECT v.column1, (SELECT p FROM o WHERE id = v.column2), v.column2 \
             FROM (VALUES ($1, $2), ($3, $4)) AS v WHERE true ON CONFLICT (a) DO NOTHING"
        );
        assert!(split("INSERT INTO s (a) VALUES ('x', $1)").is_none());
        assert!(split("UPDATE s SET a = $1").is_none());
        // An INSERT names the table it writes first.
        assert_eq!(named_tables("INSERT INTO m__rebuild (a) VALUES ($1)"), vec!["m__rebuild"]);
        assert_eq!(
            named_tables("UPDATE t__rebuild SET n = n + 1 WHERE id = (SELECT id FROM u WHERE k = $1)"),
            vec!["t__rebuild", "u"]
        );
        assert_eq!(named_tables("DELETE FROM memberships WHERE id = $1"), vec!["memberships"]);
    }

    #[test]
    fn flushes_use_few_statement_shapes() {
        assert_eq!(chunk_sizes(0, 500), Vec::<usize>::new());
        assert_eq!(chunk_sizes(1_234, 500), vec![500, 500, 128, 64, 32, 8, 2]);
        assert_eq!(chunk_sizes(7, 4), vec![4, 2, 1]);
        for n in 0..2_000 {
            let sizes = chunk_sizes(n, 500);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|&s| s == 500 || (s < 500 && s.is_power_of_two())));
        }
    }
}
