//! PostgreSQL: a whole commit as one statement. The appends, the inline read-model
//! writes and the side writes of a command become the data-modifying `WITH` parts of a
//! single statement, which PostgreSQL runs as its own transaction: one round trip
//! instead of `BEGIN`, one per statement and `COMMIT` (a switch-org: one instead of
//! six; measured with pgbench, about half the CPU per command).
//!
//! The parts of one statement all see the snapshot it started with, not each other's
//! writes, so a commit is fused only when no part could see an earlier part's write
//! in the sequential order: a part must not read (`FROM`, `JOIN`, `USING`) a table an
//! earlier part wrote, and may write such a table only as a plain `INSERT … VALUES`
//! (no `ON CONFLICT`, which reads). Anything else (a first sign-in inserts the user and
//! then updates it) commits statement by statement as before. A side write that must
//! change exactly one row is checked inside the statement (`authio_require`, migration
//! 0009), so a failed check rolls the whole statement back.
use crate::store::SqlArg;

/// The single statement of a commit and its values.
#[derive(Debug)]
pub(crate) struct Fused {
    pub sql: std::sync::Arc<str>,
    pub args: Vec<SqlArg>,
}

/// The most statements one fused commit holds.
const MAX_PARTS: usize = 32;

/// The message prefix of a failed exactly-one check (`authio_require`).
pub(crate) const REQUIRE_PREFIX: &str = "authio_require:";

/// A statement of a commit: its SQL (`$1…` bound to `args`), and the code of the
/// commit's failure unless it changes exactly one row.
pub(crate) struct Part<'a> {
    pub sql: &'a str,
    pub args: &'a [SqlArg],
    pub exactly_one: Option<&'static str>,
}

/// The words of `sql` outside string literals and quoted identifiers, in order, with
/// each `$n` placeholder as its own word.
fn words(sql: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            // Skip the literal; a doubled quote inside it is an escaped one.
            i += 1;
            loop {
                match b.get(i) {
                    None => return None,
                    Some(&q) if q == c && b.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => break,
                    Some(_) => i += 1,
                }
            }
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' {
            let start = i;
            i += 1;
            let digits_only = c == b'$';
            while i < b.len()
                && (b[i].is_ascii_digit() || (!digits_only && (b[i].is_ascii_alphabetic() || b[i] == b'_')))
            {
                i += 1;
            }
            out.push(&sql[start..i]);
        } else if c == b';' || c == b'\\' || (c == b'-' && b.get(i + 1) == Some(&b'-')) || c == b'/' {
            // Several statements, escapes or comments: not worth understanding.
            return None;
        } else {
            i += 1;
        }
    }
    Some(out)
}

/// What one part does: the table it writes, the tables it reads, and whether it is a
/// plain `INSERT … VALUES` (which sees nothing).
struct Shape<'a> {
    writes: &'a str,
    reads: Vec<&'a str>,
    plain_insert: bool,
    params: usize,
    returning: bool,
}

fn shape(sql: &str) -> Option<Shape<'_>> {
    let words = words(sql)?;
    let verb = words.first()?.to_ascii_uppercase();
    let is = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    let mut tables = Vec::new();
    let params = highest_param(&words)?;
    let mut returning = false;
    let mut selects = false;
    let mut on_conflict = false;
    for (i, w) in words.iter().enumerate() {
        returning |= is(w, "RETURNING");
        selects |= is(w, "SELECT");
        on_conflict |= is(w, "CONFLICT");
        if ["INTO", "UPDATE", "FROM", "JOIN", "USING"].iter().any(|k| is(w, k)) {
            tables.push(*words.get(i + 1)?);
        }
    }
    let writes = match verb.as_str() {
        "INSERT" | "UPDATE" | "DELETE" => *tables.first()?,
        _ => return None,
    };
    Some(Shape {
        writes,
        reads: tables[1..].to_vec(),
        plain_insert: verb == "INSERT" && !selects && !on_conflict,
        params,
        returning,
    })
}

/// Whether `code` may be written into the statement as it is.
pub(crate) fn is_code(code: &str) -> bool {
    !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The highest `$n` among `words` (0 without any).
fn highest_param(words: &[&str]) -> Option<usize> {
    let mut n = 0;
    for d in words.iter().filter_map(|w| w.strip_prefix('$')) {
        n = n.max(d.parse::<usize>().ok()?);
    }
    Some(n)
}

/// `sql` with each `$n` numbered `$n + offset`.
pub(crate) fn renumber(sql: &str, offset: usize, out: &mut String) {
    let b = sql.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'\'' || c == b'"' => quote = Some(c),
            None if c == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                let end = (i + 1..b.len()).find(|&j| !b[j].is_ascii_digit()).unwrap_or(b.len());
                let n: usize = sql[i + 1..end].parse().unwrap_or(0);
                out.push_str(&sql[copied..i]);
                out.push('$');
                out.push_str(&(n + offset).to_string());
                copied = end;
                i = end;
                continue;
            }
            None => {}
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
}

/// The commit of `parts` (the first event's `INSERT … RETURNING … AS t` first, when
/// there is an event) as one statement whose rows' first column is that `t` (0 without
/// events): one row, or with a `read` (a `SELECT` and its values, answered from the
/// statement's snapshot) its rows, each followed by the read's columns (all NULL in
/// the one row when it finds nothing). `None` when the parts cannot be fused safely.
pub(crate) fn fuse(parts: Vec<Part<'_>>, first_is_event: bool, read: Option<(&str, &[SqlArg])>) -> Option<Fused> {
    // A command of many events (each a statement text of its own for the connection's
    // statement cache) commits statement by statement.
    if parts.is_empty() || parts.len() > MAX_PARTS {
        return None;
    }
    let mut written: Vec<&str> = Vec::new();
    let mut sql = String::from("WITH ");
    let mut args = Vec::new();
    let mut checks = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let s = shape(p.sql)?;
        if s.params != p.args.len() || s.reads.iter().any(|t| written.contains(t)) {
            return None;
        }
        if written.contains(&s.writes) && !s.plain_insert {
            return None;
        }
        written.push(s.writes);
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("p{i} AS ("));
        renumber(p.sql, args.len(), &mut sql);
        if let Some(code) = p.exactly_one {
            if s.returning || !is_code(code) {
                return None;
            }
            sql.push_str(" RETURNING 1");
            checks.push(format!("authio_require((SELECT count(*) FROM p{i}) = 1, '{REQUIRE_PREFIX}{code}')"));
        }
        sql.push(')');
        args.extend(p.args.iter().cloned());
    }
    let head =
        if first_is_event { "SELECT (SELECT t FROM p0) AS authio_ticket" } else { "SELECT 0::bigint AS authio_ticket" };
    let Some((read, read_args)) = read else {
        sql.push(' ');
        sql.push_str(head);
        for c in checks {
            sql.push_str(", ");
            sql.push_str(&c);
        }
        return Some(Fused { sql: sql.into(), args });
    };
    let read_words = words(read)?;
    if !read_words.first()?.eq_ignore_ascii_case("SELECT") || highest_param(&read_words)? != read_args.len() {
        return None;
    }
    // The checks in a row of their own, joined to the read's rows: they run even when
    // the read finds nothing.
    sql.push_str(" SELECT c.*, r.* FROM (");
    sql.push_str(head);
    for (i, c) in checks.iter().enumerate() {
        sql.push_str(&format!(", {c} AS authio_check_{i}"));
    }
    sql.push_str(") c LEFT JOIN (");
    renumber(read, args.len(), &mut sql);
    args.extend(read_args.iter().cloned());
    sql.push_str(") r ON TRUE");
    Some(Fused { sql: sql.into(), args })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARGS: &[SqlArg] = &[SqlArg::I64(0), SqlArg::I64(1), SqlArg::I64(2)];

    fn part(sql: &str, n: usize) -> Part<'_> {
        Part { sql, args: &ARGS[..n], exactly_one: None }
    }

    const EVENT: &str = "INSERT INTO events (a, b) VALUES ($1, $2) RETURNING (txid::text)::bigint AS t";

    #[test]
    fn a_switch_becomes_one_statement_with_its_values_renumbered() {
        let f = fuse(
            vec![
                part(EVENT, 2),
                part("UPDATE sessions SET org = $2, note = 'it''s $1' WHERE id = $1", 2),
                part("UPDATE refresh_tokens SET state = 'superseded' WHERE session_id = $1 AND state = 'live'", 1),
                part("INSERT INTO refresh_tokens (h, s) VALUES ($1, $2)", 2),
            ],
            true,
            None,
        )
        .unwrap();
        assert_eq!(
            &*f.sql,
            "WITH p0 AS (INSERT INTO events (a, b) VALUES ($1, $2) RETURNING (txid::text)::bigint AS t), \
             p1 AS (UPDATE sessions SET org = $4, note = 'it''s $1' WHERE id = $3), \
             p2 AS (UPDATE refresh_tokens SET state = 'superseded' WHERE session_id = $5 AND state = 'live'), \
             p3 AS (INSERT INTO refresh_tokens (h, s) VALUES ($6, $7)) SELECT (SELECT t FROM p0) AS authio_ticket"
        );
        assert_eq!(f.args.len(), 7);
    }

    #[test]
    fn an_exactly_one_write_is_checked_inside_the_statement() {
        let mut spend = part("UPDATE refresh_tokens SET state = 'spent' WHERE token_hash = $1 AND state = 'live'", 1);
        spend.exactly_one = Some("refresh_token_spent");
        let f = fuse(vec![part(EVENT, 2), spend], true, None).unwrap();
        assert!(f.sql.ends_with(
            "AND state = 'live' RETURNING 1) SELECT (SELECT t FROM p0) AS authio_ticket, \
             authio_require((SELECT count(*) FROM p1) = 1, 'authio_require:refresh_token_spent')"
        ));
    }

    #[test]
    fn a_read_is_joined_to_the_checks_so_they_run_when_it_finds_nothing() {
        let mut spend = part("UPDATE tokens SET state = 'spent' WHERE id = $1", 1);
        spend.exactly_one = Some("spent");
        let read = "SELECT u.email FROM users u WHERE u.id = $1 AND u.project_id = $2";
        let f = fuse(vec![part(EVENT, 2), spend], true, Some((read, &ARGS[..2]))).unwrap();
        assert!(
            f.sql.ends_with(
                " SELECT c.*, r.* FROM (SELECT (SELECT t FROM p0) AS authio_ticket, \
                 authio_require((SELECT count(*) FROM p1) = 1, 'authio_require:spent') AS authio_check_0) c \
                 LEFT JOIN (SELECT u.email FROM users u WHERE u.id = $4 AND u.project_id = $5) r ON TRUE"
            ),
            "{}",
            f.sql
        );
        assert_eq!(f.args.len(), 5);
        // Not a query, or values that do not match its placeholders.
        assert!(fuse(vec![part(EVENT, 2)], true, Some(("DELETE FROM users", &[]))).is_none());
        assert!(fuse(vec![part(EVENT, 2)], true, Some((read, &ARGS[..1]))).is_none());
    }

    #[test]
    fn a_part_that_would_see_an_earlier_write_is_not_fused() {
        // A first sign-in: the user's row is inserted, then updated.
        let user = "INSERT INTO users (id, org) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
        let update = "UPDATE users SET org = $2 WHERE id = $1";
        assert!(fuse(vec![part(user, 2), part(update, 2)], false, None).is_none());
        // Reading a table written before, in a subquery or a join.
        let read = "INSERT INTO memberships (id, name) SELECT $1, name FROM users WHERE id = $2";
        assert!(fuse(vec![part(update, 2), part(read, 2)], false, None).is_none());
        // An upsert reads the table it writes.
        let again = "INSERT INTO users (id, org) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET org = $2";
        assert!(fuse(vec![part(update, 2), part(again, 2)], false, None).is_none());
        // Deleting what was inserted.
        assert!(fuse(vec![part(user, 2), part("DELETE FROM users WHERE id = $1", 1)], false, None).is_none());
        // Independent tables, and a plain insert after an update of its table, are fused.
        assert!(fuse(vec![part(update, 2), part("INSERT INTO users (id) VALUES ($1)", 1)], false, None).is_some());
        assert!(fuse(vec![part(user, 2), part("UPDATE sessions SET org = $2 WHERE id = $1", 2)], false, None).is_some());
    }

    #[test]
    fn statements_it_does_not_understand_are_not_fused() {
        for sql in [
            "WITH x AS (UPDATE users SET a = $1) INSERT INTO t (a) VALUES ($1)",
            "SELECT $1",
            "UPDATE users SET a = $1; DELETE FROM users",
            "UPDATE users SET a = $1 -- comment",
            "UPDATE users SET a = 'unterminated",
            "UPDATE users SET a = $1 WHERE b = $2",
        ] {
            assert!(fuse(vec![part(sql, 1)], false, None).is_none(), "{sql}");
        }
        let mut returning = part("UPDATE users SET a = $1 RETURNING id", 1);
        returning.exactly_one = Some("x");
        assert!(fuse(vec![returning], false, None).is_none());
        let mut quoted = part("UPDATE users SET a = $1", 1);
        quoted.exactly_one = Some("it's");
        assert!(fuse(vec![quoted], false, None).is_none());
        assert!(fuse(vec![], false, None).is_none());
        let many = || (0..=MAX_PARTS).map(|_| part("INSERT INTO events (a) VALUES ($1)", 1));
        assert!(fuse(many().collect(), false, None).is_none());
        assert!(fuse(many().skip(1).collect(), false, None).is_some());
    }
}
