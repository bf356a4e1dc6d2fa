//! Multi-row INSERTs for rebuilds: a rebuild replays the whole log, and one round trip
//! per projected row bounds it at a few thousand events per second. `Batch` queues the
//! INSERT statements of a stretch of events and sends each distinct statement as
//! multi-row INSERTs (statements of one table stay in order; the read-model tables have
//! no foreign keys, so tables may be written in any order). Any other statement flushes
//! the queue first, so every UPDATE, DELETE or SELECT sees the rows queued before it, and
//! an INSERT with a sub-select first sends the other statements queued before it.
use authio_eventstore::Tx;
use std::collections::HashMap;

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
    /// Distinct statements in the order first seen, with their queued rows.
    groups: Vec<(String, Vec<Vec<Arg>>)>,
    index: HashMap<String, usize>,
    /// Stream owners seen in this rebuild, (aggregate type, id) → project, so the audit
    /// log's owner lookups need no query.
    pub(crate) owners: HashMap<(String, String), String>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
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
                self.groups.push((sql.to_string(), Vec::new()));
                self.index.insert(sql.to_string(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.groups[i].1.push(args);
    }

    /// Queue an INSERT that `accepts`; one that reads other tables (a sub-select) first
    /// sends every other queued statement, so it reads what came before it.
    pub async fn queue(&mut self, tx: &mut Tx, sql: &str, args: Vec<Arg>) -> Result<(), sqlx::Error> {
        let reads: Vec<&str> = sql.split(" FROM ").skip(1).filter_map(|r| r.split_whitespace().next()).collect();
        if !reads.is_empty() {
            self.flush_where(tx, |other| table(other).is_some_and(|t| reads.contains(&t))).await?;
        }
        self.push(sql, args);
        Ok(())
    }

    /// Send every queued row.
    pub async fn flush(&mut self, tx: &mut Tx) -> Result<(), sqlx::Error> {
        self.flush_where(tx, |_| true).await
    }

    /// Send the queued statements that `send` picks, keep the others.
    async fn flush_where(&mut self, tx: &mut Tx, send: impl Fn(&str) -> bool) -> Result<(), sqlx::Error> {
        let (send, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.groups).into_iter().partition(|(sql, _)| send(sql));
        self.index.clear();
        for (i, g) in kept.into_iter().enumerate() {
            self.index.insert(g.0.clone(), i);
            self.groups.push(g);
        }
        for (sql, rows) in send {
            let Some((head, tuple, tail)) = split(&sql) else { continue };
            let width = rows.first().map_or(1, Vec::len).max(1);
            let per = (MAX_ARGS / width).clamp(1, MAX_ROWS);
            for chunk in rows.chunks(per) {
                let tuples: Vec<String> = (0..chunk.len()).map(|k| renumber(tuple, k * width)).collect();
                let statement = format!("{head}{}{tail}", tuples.join(", "));
                let mut q = sqlx::query(&statement);
                for row in chunk {
                    for a in row {
                        q = match a {
                            Arg::I64(v) => q.bind(*v),
                            Arg::Text(v) => q.bind(v.clone()),
                        };
                    }
                }
                q.execute(&mut **tx).await?;
            }
        }
        Ok(())
    }
}

/// The table an `INSERT INTO t …` writes.
fn table(sql: &str) -> Option<&str> {
    sql.strip_prefix("INSERT INTO ")?.split([' ', '(']).next()
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
    let mut out = String::with_capacity(tuple.len() + 8);
    let mut chars = tuple.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            match n.parse::<usize>() {
                Ok(v) => out.push_str(&(v + offset).to_string()),
                Err(_) => out.push_str(&n),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A membership row whose INSERT reads its organization's project: queued after an
    /// organization row of another statement, it must see that row (the other
    /// statement is sent first), on both databases.
    async fn a_sub_select_sees_the_rows_queued_before_it(postgres: bool) {
        let db = authio_eventstore::testing::fresh_db(postgres).await;
        for ddl in [
            "CREATE TABLE b_orgs (id TEXT PRIMARY KEY, project_id TEXT NOT NULL)",
            "CREATE TABLE b_members (id TEXT PRIMARY KEY, organization_id TEXT NOT NULL, project_id TEXT)",
            "INSERT INTO b_orgs VALUES ('org_a', 'proj_1')",
        ] {
            sqlx::query(ddl).execute(&db.pool).await.unwrap();
        }
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
        b.flush(&mut w.tx).await.unwrap();
        w.tx.commit().await.unwrap();
        let rows: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT id, project_id FROM b_members ORDER BY id").fetch_all(&db.pool).await.unwrap();
        assert_eq!(rows, vec![("m1".into(), Some("proj_1".into())), ("m2".into(), Some("proj_2".into()))]);
    }

    #[tokio::test]
    async fn a_sub_select_sees_the_rows_queued_before_it_postgres() {
        a_sub_select_sees_the_rows_queued_before_it(true).await;
    }

    #[tokio::test]
    async fn a_sub_select_sees_the_rows_queued_before_it_sqlite() {
        a_sub_select_sees_the_rows_queued_before_it(false).await;
    }

    #[test]
    fn statements_split_and_renumber() {
        let sql = "INSERT INTO s (a, b, c) VALUES ($1, lower($2), $2) ON CONFLICT (a) DO NOTHING";
        let (head, tuple, tail) = split(sql).unwrap();
        assert_eq!(head, "INSERT INTO s (a, b, c) VALUES ");
        assert_eq!(tuple, "($1, lower($2), $2)");
        assert_eq!(tail, " ON CONFLICT (a) DO NOTHING");
        assert_eq!(renumber(tuple, 20), "($21, lower($22), $22)");
        assert!(split("INSERT INTO s (a) VALUES ('x', $1)").is_none());
        assert!(split("UPDATE s SET a = $1").is_none());
        assert_eq!(table("INSERT INTO m__rebuild (a) VALUES ($1)"), Some("m__rebuild"));
    }
}
