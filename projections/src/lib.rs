//! Read models: ordinary SQL tables built from the event log, in position order.
//!
//! The server updates them inside each command's transaction (`Inline`), and marks those
//! events `projected`. The pipeline (`catch_up`) applies, in position order, the events
//! that are not marked (another writer's, or a crash's leftovers) and writes the audit
//! log; each batch in one transaction together with the checkpoint, so a crash between
//! an event's commit and its projection is repaired by the next catch-up (at start-up,
//! or the next pass). Applying an event twice leaves the same rows.
#![forbid(unsafe_code)]

use authio_eventstore::{time_text, Db, Dialect, Planned, SqlArg, StoreError, StoredEvent, Tx};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::future::Future;

/// The read-model tables. `PROJECTIONS` says which of them are rebuilt together.
pub const TABLES: &[&str] = &[
    "operators",
    "tenants",
    "api_keys",
    "users",
    "organizations",
    "memberships",
    "sessions",
    "session_contexts",
    "audit_events",
    "stream_owners",
    "webhook_endpoints",
    "permissions",
    "roles",
    "invitations",
    "teams",
    "team_members",
    "organization_domains",
    "directories",
    "directory_users",
    "directory_groups",
    "directory_group_members",
    "oauth_clients",
    "oauth_grants",
    "connections",
];

pub mod audit;
mod batch;
mod rebuild;
pub mod relay;

pub use rebuild::{projection, rebuild, rebuild_projection, Projection, Target, PROJECTIONS, SHADOW_SUFFIX};

/// The checkpoint name of the read models.
pub const READ_MODELS: &str = "read_models";

const BATCH: i64 = 500;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("unknown projection {0:?}; expected one of: {names}", names = rebuild::names())]
    UnknownProjection(String),
    /// A task of a rebuild (the log reader or a lane writing shadows) stopped: it
    /// panicked or was cancelled.
    #[error("a rebuild task stopped: {0}")]
    Reader(String),
    /// The shadow table of a rebuild cannot be made like the live one.
    #[error("cannot rebuild {0}")]
    Schema(String),
}

/// Apply every stamped event after the checkpoint. Returns the new checkpoint.
/// `progress` is called with the position after each batch.
pub async fn catch_up(db: &Db, mut progress: impl FnMut(i64)) -> Result<i64, ProjectionError> {
    loop {
        let mut w = db.begin_write().await?;
        if db.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(7243003)").execute(&mut *w.tx).await?;
        }
        let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = $1")
            .bind(READ_MODELS)
            .fetch_optional(&mut *w.tx)
            .await?;
        let cp = cp.unwrap_or(0);
        let events = db.read_after(cp, BATCH).await?;
        let Some(last) = events.last().map(|e| e.position) else {
            w.tx.rollback().await?;
            return Ok(cp);
        };
        // The audit entries (and the read-model INSERTs of events not projected inline)
        // go as multi-row INSERTs, the owner of each stream looked up once a batch.
        let mut batch = batch::Batch::unprepared();
        for e in &events {
            follow_batched(&mut w.tx, e, &mut batch).await?;
        }
        batch.flush(&mut w.tx).await?;
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(READ_MODELS)
        .bind(last)
        .execute(&mut *w.tx)
        .await?;
        w.tx.commit().await?;
        progress(last);
        if (events.len() as i64) < BATCH {
            return Ok(last);
        }
    }
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A whole number from an event body, as text (bound with a `CAST`).
fn number(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_u64).unwrap_or(0).to_string()
}

fn text(v: &Value, key: &str) -> String {
    s(v, key).unwrap_or_default()
}

/// Normalize a timestamp from an event body to the stored text form.
fn ts(v: &Value, key: &str) -> String {
    s(v, key)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| time_text(t.with_timezone(&Utc)))
        .unwrap_or_default()
}

/// `Some(Some(x))` set, `Some(None)` cleared (JSON null), `None` unchanged (absent).
fn patch(v: &Value, key: &str) -> (bool, Option<String>) {
    match v.get(key) {
        None => (false, None),
        Some(Value::Null) => (true, None),
        Some(x) => (true, x.as_str().map(str::to_string)),
    }
}

/// Where the statements of an event go.
enum Sink<'x> {
    Tx(&'x mut Tx),
    /// Recorded instead of run (`Inline::plan`); `None` once one cannot be.
    Plan(&'x mut Option<Vec<Planned>>),
}

/// A transaction (or a plan) and the tables its statements go to; INSERTs and UPDATEs
/// of one row by id are queued in `batch` when there is one (rebuilds, the pipeline),
/// and any other statement first sends the queued rows of the tables it names.
struct Out<'x, 'a> {
    sink: Sink<'x>,
    target: Target<'a>,
    batch: Option<&'x mut batch::Batch>,
}

async fn exec(out: &mut Out<'_, '_>, sql: &str, args: Vec<Option<String>>) -> Result<(), sqlx::Error> {
    let Some(sql) = out.target.sql(sql) else { return Ok(()) };
    let tx = match &mut out.sink {
        Sink::Tx(tx) => &mut **tx,
        Sink::Plan(plan) => {
            if let Some(p) = plan.as_mut() {
                p.push((sql.to_string(), args.into_iter().map(SqlArg::OptText).collect()));
            }
            return Ok(());
        }
    };
    if let Some(b) = out.batch.as_deref_mut() {
        if batch::Batch::accepts(&sql) {
            return b.queue(tx, &sql, args.into_iter().map(batch::Arg::Text).collect()).await;
        }
        if let Some(table) = batch::Batch::update_target(&sql) {
            return b.queue_update(tx, &sql, table, args.into_iter().map(batch::Arg::Text).collect()).await;
        }
        b.flush_for(tx, &sql).await?;
    }
    let mut q = sqlx::query(&sql);
    for a in args {
        q = q.bind(a);
    }
    q.execute(&mut **tx).await.map(|_| ())
}

/// The read models updated inside each command's own transaction: all of them but the
/// webhook endpoints, whose rows record the global position of their creation (known on
/// PostgreSQL only after the commit). The audit log always follows the pipeline, which
/// writes it in position order.
pub struct Inline;

impl authio_eventstore::Projector for Inline {
    fn handles(&self, aggregate_type: &str) -> bool {
        aggregate_type != "webhook_endpoint"
    }
    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a StoredEvent,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'a>> {
        Box::pin(apply(tx, event))
    }
    fn plan(&self, event: &StoredEvent) -> Option<Vec<Planned>> {
        let mut plan = Some(Vec::new());
        {
            let mut out = Out { sink: Sink::Plan(&mut plan), target: Target::Live, batch: None };
            // Recording never waits, so the first poll finishes.
            let run = std::pin::pin!(apply_out(&mut out, event));
            let done = run.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
            if !matches!(done, std::task::Poll::Ready(Ok(()))) {
                return None;
            }
        }
        plan
    }
}

/// What the pipeline does with one event: its read models unless its commit updated
/// them (`projected`), and its audit entry.
pub(crate) async fn follow(tx: &mut Tx, e: &StoredEvent) -> Result<(), sqlx::Error> {
    if !e.projected {
        apply(tx, e).await?;
    }
    audit::apply(tx, e).await
}

/// `follow`, queueing the INSERTs in `batch` (flushed by the caller).
async fn follow_batched(tx: &mut Tx, e: &StoredEvent, batch: &mut batch::Batch) -> Result<(), sqlx::Error> {
    if !e.projected {
        apply_batched(tx, Target::Live, e, Some(&mut *batch)).await?;
    }
    audit::apply_batched(tx, Target::Live, e, Some(batch)).await
}

/// Apply one event to the live read models.
pub async fn apply(tx: &mut Tx, e: &StoredEvent) -> Result<(), sqlx::Error> {
    apply_to(tx, Target::Live, e).await
}

/// Apply one event to the read models of `target`: the live tables, or the shadow copies
/// of a rebuild (every statement goes through `Target::sql`).
pub async fn apply_to(tx: &mut Tx, target: Target<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    apply_batched(tx, target, e, None).await
}

/// `apply_to`, queueing INSERTs in `batch` (flushed by the caller).
async fn apply_batched(
    tx: &mut Tx,
    target: Target<'_>,
    e: &StoredEvent,
    batch: Option<&mut batch::Batch>,
) -> Result<(), sqlx::Error> {
    apply_out(&mut Out { sink: Sink::Tx(tx), target, batch }, e).await
}

async fn apply_out(tx: &mut Out<'_, '_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    let d = &e.data;
    let id = Some(e.aggregate_id.clone());
    let at = Some(e.recorded_at.clone());
    match e.event_type.as_str() {
        "operator.created" => {
            exec(
                tx,
                "INSERT INTO operators (id, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "email"), Some(ts(d, "created_at"))],
            )
            .await
        }
        "tenant.created" => {
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO tenants (id, name, slug, mode, owner_id, organizations_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "name"), s(d, "slug"), s(d, "mode"), s(d, "owner"), created],
            )
            .await
        }
        "tenant.updated" => exec(
            tx,
            "UPDATE tenants SET name = COALESCE($2, name), slug = COALESCE($3, slug), updated_at = $4 WHERE id = $1",
            vec![id, s(d, "name"), s(d, "slug"), at],
        )
        .await,
        "tenant.redirect_urls_changed" | "tenant.allowed_origins_changed" => {
            let column =
                if e.event_type == "tenant.redirect_urls_changed" { "redirect_urls" } else { "allowed_origins" };
            let urls = d.get("to").map(Value::to_string).unwrap_or_else(|| "[]".into());
            let sql = format!("UPDATE tenants SET {column} = $2, updated_at = $3 WHERE id = $1");
            exec(tx, &sql, vec![id, Some(urls), at]).await
        }
        "tenant.token_algorithm_changed" => {
            let sql = "UPDATE tenants SET token_algorithm = $2, updated_at = $3 WHERE id = $1";
            exec(tx, sql, vec![id, s(d, "to"), at]).await
        }
        "tenant.mode_changed" => {
            exec(tx, "UPDATE tenants SET mode = $2, updated_at = $3 WHERE id = $1", vec![id, s(d, "to"), at]).await
        }
        "tenant.organization_added" | "tenant.organization_removed" => {
            // Counted from the stream's own events so a replay of one event stays exact.
            // The step is bound, not written in, so a batch folds a tenant's steps into
            // one UPDATE (`Batch::queue_update`).
            let step = if e.event_type.ends_with("added") { "1" } else { "-1" };
            exec(
                tx,
                "UPDATE tenants SET organizations_count = organizations_count + CAST($3 AS BIGINT), updated_at = $2 \
                 WHERE id = $1",
                vec![id, at, Some(step.to_string())],
            )
            .await
        }
        "api_key.created" => {
            exec(
                tx,
                "INSERT INTO api_keys (id, tenant_id, name, environment, secret_prefix, secret_last_four, \
                 publishable_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                vec![
                    s(d, "key_id"),
                    id,
                    s(d, "name"),
                    s(d, "environment"),
                    s(d, "secret_prefix"),
                    s(d, "secret_last_four"),
                    s(d, "publishable_key"),
                    Some(ts(d, "created_at")),
                ],
            )
            .await
        }
        "api_key.revoked" => {
            exec(
                tx,
                "UPDATE api_keys SET revoked_at = $2 WHERE id = $1",
                vec![s(d, "key_id"), Some(ts(d, "revoked_at"))],
            )
            .await
        }
        "user.created" => {
            let email = text(d, "email");
            let verified =
                if d.get("email_verified").and_then(Value::as_bool).unwrap_or(false) { "TRUE" } else { "FALSE" };
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                &format!(
                    "INSERT INTO users (id, project_id, email, email_normalized, first_name, last_name, email_verified, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, {verified}, $7, $7) ON CONFLICT (id) DO NOTHING"
                ),
                vec![
                    id,
                    s(d, "project_id"),
                    Some(email.clone()),
                    Some(authio_domain::normalize_email(&email)),
                    s(d, "first_name"),
                    s(d, "last_name"),
                    created,
                ],
            )
            .await
        }
        "user.updated" => {
            let updated = Some(ts(d, "updated_at"));
            if let Some(email) = s(d, "email") {
                let norm = authio_domain::normalize_email(&email);
                exec(
                    tx,
                    "UPDATE users SET email = $2, email_normalized = $3 WHERE id = $1",
                    vec![id.clone(), Some(email), Some(norm)],
                )
                .await?;
            }
            for field in ["first_name", "last_name"] {
                if let (true, value) = patch(d, field) {
                    exec(tx, &format!("UPDATE users SET {field} = $2 WHERE id = $1"), vec![id.clone(), value]).await?;
                }
            }
            if let Some(v) = d.get("email_verified").and_then(Value::as_bool) {
                let b = if v { "TRUE" } else { "FALSE" };
                exec(tx, &format!("UPDATE users SET email_verified = {b} WHERE id = $1"), vec![id.clone()]).await?;
            }
            exec(tx, "UPDATE users SET updated_at = $2 WHERE id = $1", vec![id, updated]).await
        }
        "user.deleted" => exec(tx, "DELETE FROM users WHERE id = $1", vec![id]).await,
        "organization.created" => {
            let created = Some(ts(d, "created_at"));
            let domains = d.get("domains").cloned().unwrap_or(Value::Array(vec![])).to_string();
            if let (Some(b), Some(p)) = (tx.batch.as_deref_mut(), s(d, "project_id")) {
                b.projects.insert(e.aggregate_id.clone(), p);
            }
            exec(
                tx,
                "INSERT INTO organizations (id, project_id, name, slug, domains, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "project_id"), s(d, "name"), s(d, "slug"), Some(domains), created],
            )
            .await
        }
        "organization.updated" => {
            let domains = d.get("domains").filter(|v| !v.is_null()).map(Value::to_string);
            exec(
                tx,
                "UPDATE organizations SET name = COALESCE($2, name), slug = COALESCE($3, slug), \
                 domains = COALESCE($4, domains), updated_at = $5 WHERE id = $1",
                vec![id, s(d, "name"), s(d, "slug"), domains, Some(ts(d, "updated_at"))],
            )
            .await
        }
        "organization.deleted" => exec(tx, "DELETE FROM organizations WHERE id = $1", vec![id]).await,
        "organization.policy_changed" => {
            let methods = d.get("allowed_methods").filter(|v| !v.is_null()).map(Value::to_string);
            let passkey =
                if d.get("require_passkey").and_then(Value::as_bool).unwrap_or(false) { "TRUE" } else { "FALSE" };
            let age = d.get("max_session_age_seconds").and_then(Value::as_u64).map(|n| n.to_string());
            let sql = format!(
                "UPDATE organizations SET allowed_methods = $2, require_passkey = {passkey}, \
                 max_session_age = CAST($3 AS BIGINT), updated_at = $4 WHERE id = $1"
            );
            exec(tx, &sql, vec![id, methods, age, Some(ts(d, "changed_at"))]).await
        }
        "session.stepped_up" => {
            let at = Some(ts(d, "stepped_up_at"));
            exec(tx, "UPDATE sessions SET stepped_up_at = $2, updated_at = $2 WHERE id = $1", vec![id, at]).await
        }
        "membership.created" => {
            let created = Some(ts(d, "created_at"));
            let status = text(d, "status");
            let joined = if status == "active" { created.clone() } else { None };
            // The organization's project: known when its creation was in this batch of
            // events (a rebuild's lane sees every organization created), else read from
            // its row (`$2` then stays unused). It never changes.
            let project = tx.batch.as_deref().and_then(|b| b.projects.get(&e.aggregate_id).cloned());
            let sql = if project.is_some() {
                "INSERT INTO memberships (id, project_id, organization_id, user_id, role, status, joined_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING"
            } else {
                "INSERT INTO memberships (id, project_id, organization_id, user_id, role, status, joined_at, \
                 created_at, updated_at) VALUES ($1, (SELECT project_id FROM organizations WHERE id = $3), \
                 $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING"
            };
            let row = vec![
                s(d, "membership_id"),
                project,
                id,
                s(d, "user_id"),
                s(d, "role"),
                Some(status),
                joined,
                created.clone(),
                created,
            ];
            exec(tx, sql, row).await
        }
        "membership.role_changed" => {
            exec(
                tx,
                "UPDATE memberships SET role = $2, updated_at = $3 WHERE id = $1",
                vec![s(d, "membership_id"), s(d, "to"), Some(ts(d, "changed_at"))],
            )
            .await
        }
        "membership.deactivated" => {
            exec(
                tx,
                "UPDATE memberships SET status = 'inactive', updated_at = $2 WHERE id = $1",
                vec![s(d, "membership_id"), Some(ts(d, "deactivated_at"))],
            )
            .await
        }
        "membership.reactivated" => {
            exec(
                tx,
                "UPDATE memberships SET status = 'active', joined_at = COALESCE(joined_at, $2), updated_at = $2 \
                 WHERE id = $1",
                vec![s(d, "membership_id"), Some(ts(d, "reactivated_at"))],
            )
            .await
        }
        "membership.deleted" => exec(tx, "DELETE FROM memberships WHERE id = $1", vec![s(d, "membership_id")]).await,
        "tenant.settings_changed" => {
            let teams = d.get("teams_in_tokens").and_then(Value::as_bool).map(|b| b.to_string());
            exec(
                tx,
                "UPDATE tenants SET sign_up = COALESCE($2, sign_up), \
                 teams_in_tokens = CASE WHEN $3 IS NULL THEN teams_in_tokens ELSE $3 = 'true' END, updated_at = $4 \
                 WHERE id = $1",
                vec![id, s(d, "sign_up"), teams, Some(ts(d, "changed_at"))],
            )
            .await
        }
        "role.default_changed" => {
            let sql = "UPDATE tenants SET default_role = $2, updated_at = $3 WHERE id = $1";
            exec(tx, sql, vec![id, s(d, "to"), Some(ts(d, "changed_at"))]).await
        }
        "permission.created" => {
            exec(
                tx,
                "INSERT INTO permissions (id, project_id, slug, name, description, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
                vec![
                    Some(format!("{}:{}", e.aggregate_id, text(d, "slug"))),
                    id,
                    s(d, "slug"),
                    s(d, "name"),
                    s(d, "description"),
                    Some(ts(d, "created_at")),
                ],
            )
            .await
        }
        "permission.deleted" => {
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "slug")));
            exec(tx, "DELETE FROM permissions WHERE id = $1", vec![key]).await
        }
        "role.created" | "role.updated" => {
            // A built-in role has no row until it is first changed: the update inserts it.
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "slug")));
            let perms = d.get("permissions").cloned().unwrap_or(Value::Array(vec![])).to_string();
            let at = Some(ts(d, if e.event_type == "role.created" { "created_at" } else { "updated_at" }));
            exec(
                tx,
                "INSERT INTO roles (id, project_id, slug, organization_id, name, description, permissions, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (id) DO NOTHING",
                vec![
                    key.clone(),
                    id,
                    s(d, "slug"),
                    s(d, "organization_id"),
                    s(d, "name"),
                    s(d, "description"),
                    Some(perms.clone()),
                    at.clone(),
                ],
            )
            .await?;
            exec(
                tx,
                "UPDATE roles SET name = $2, description = $3, permissions = $4, updated_at = $5 WHERE id = $1",
                vec![key, s(d, "name"), s(d, "description"), Some(perms), at],
            )
            .await
        }
        "role.deleted" => {
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "slug")));
            exec(tx, "DELETE FROM roles WHERE id = $1", vec![key]).await
        }
        "invitation.created" => {
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO invitations (id, project_id, organization_id, email, role, state, inviter_user_id, \
                 expires_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $8) \
                 ON CONFLICT (id) DO NOTHING",
                vec![
                    id,
                    s(d, "project_id"),
                    s(d, "organization_id"),
                    s(d, "email"),
                    s(d, "role"),
                    s(d, "inviter_user_id"),
                    Some(ts(d, "expires_at")),
                    created,
                ],
            )
            .await
        }
        "invitation.resent" => {
            exec(
                tx,
                "UPDATE invitations SET expires_at = $2, updated_at = $3 WHERE id = $1",
                vec![id, Some(ts(d, "expires_at")), Some(ts(d, "resent_at"))],
            )
            .await
        }
        "invitation.accepted" => {
            let accepted = Some(ts(d, "accepted_at"));
            exec(
                tx,
                "UPDATE invitations SET state = 'accepted', accepted_at = $2, accepted_user_id = $3, updated_at = $2 \
                 WHERE id = $1",
                vec![id, accepted, s(d, "user_id")],
            )
            .await
        }
        "invitation.revoked" | "invitation.expired" => {
            let (state, at) = if e.event_type == "invitation.revoked" {
                ("revoked", "revoked_at")
            } else {
                ("expired", "expired_at")
            };
            let sql = format!("UPDATE invitations SET state = '{state}', updated_at = $2 WHERE id = $1");
            exec(tx, &sql, vec![id, Some(ts(d, at))]).await
        }
        "team.created" => {
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO teams (id, project_id, organization_id, name, slug, members_count, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "project_id"), s(d, "organization_id"), s(d, "name"), s(d, "slug"), created],
            )
            .await
        }
        "team.updated" => {
            exec(
                tx,
                "UPDATE teams SET name = COALESCE($2, name), slug = COALESCE($3, slug), updated_at = $4 WHERE id = $1",
                vec![id, s(d, "name"), s(d, "slug"), Some(ts(d, "updated_at"))],
            )
            .await
        }
        "team.deleted" => {
            exec(tx, "DELETE FROM team_members WHERE team_id = $1", vec![id.clone()]).await?;
            exec(tx, "DELETE FROM teams WHERE id = $1", vec![id]).await
        }
        "team.member_added" | "team.member_removed" => {
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "user_id")));
            let (step, at) = if e.event_type == "team.member_added" {
                exec(
                    tx,
                    "INSERT INTO team_members (id, team_id, organization_id, user_id, membership_id, role, added_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                    vec![
                        key,
                        id.clone(),
                        s(d, "organization_id"),
                        s(d, "user_id"),
                        s(d, "membership_id"),
                        s(d, "role"),
                        Some(ts(d, "added_at")),
                    ],
                )
                .await?;
                ("1", ts(d, "added_at"))
            } else {
                exec(tx, "DELETE FROM team_members WHERE id = $1", vec![key]).await?;
                ("-1", ts(d, "removed_at"))
            };
            // Counted from the stream's own events, like an organization count.
            exec(
                tx,
                "UPDATE teams SET members_count = members_count + CAST($3 AS BIGINT), updated_at = $2 WHERE id = $1",
                vec![id, Some(at), Some(step.to_string())],
            )
            .await
        }
        "domain.added" => {
            let created = Some(ts(d, "added_at"));
            exec(
                tx,
                "INSERT INTO organization_domains (id, project_id, organization_id, domain, challenge, state, auto_join, \
                 role, verified_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', FALSE, NULL, NULL, \
                 $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "project_id"), s(d, "organization_id"), s(d, "domain"), s(d, "challenge"), created],
            )
            .await
        }
        "domain.verified" => {
            let at = Some(ts(d, "verified_at"));
            let sql =
                "UPDATE organization_domains SET state = 'verified', verified_at = $2, updated_at = $2 WHERE id = $1";
            exec(tx, sql, vec![id, at]).await
        }
        "domain.verification_failed" => {
            let sql = "UPDATE organization_domains SET state = 'failed', updated_at = $2 WHERE id = $1";
            exec(tx, sql, vec![id, Some(ts(d, "failed_at"))]).await
        }
        "domain.policy_changed" => {
            let on = if d.get("auto_join").and_then(Value::as_bool).unwrap_or(false) { "TRUE" } else { "FALSE" };
            let sql =
                format!("UPDATE organization_domains SET auto_join = {on}, role = $2, updated_at = $3 WHERE id = $1");
            exec(tx, &sql, vec![id, s(d, "role"), Some(ts(d, "changed_at"))]).await
        }
        "domain.removed" => exec(tx, "DELETE FROM organization_domains WHERE id = $1", vec![id]).await,
        "directory.created" => {
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO directories (id, project_id, organization_id, name, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "project_id"), s(d, "organization_id"), s(d, "name"), created],
            )
            .await
        }
        "directory.token_rotated" => {
            exec(tx, "UPDATE directories SET updated_at = $2 WHERE id = $1", vec![id, Some(ts(d, "rotated_at"))]).await
        }
        "directory.deleted" => {
            exec(tx, "DELETE FROM directory_users WHERE directory_id = $1", vec![id.clone()]).await?;
            exec(tx, "DELETE FROM directory_group_members WHERE directory_id = $1", vec![id.clone()]).await?;
            exec(tx, "DELETE FROM directory_groups WHERE directory_id = $1", vec![id.clone()]).await?;
            exec(tx, "DELETE FROM directories WHERE id = $1", vec![id]).await
        }
        "directory.user_linked" => {
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "user_id")));
            let at = Some(ts(d, "linked_at"));
            exec(
                tx,
                "INSERT INTO directory_users (id, directory_id, organization_id, user_id, external_id, user_name, \
                 display_name, linked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                vec![
                    key.clone(),
                    id,
                    s(d, "organization_id"),
                    s(d, "user_id"),
                    s(d, "external_id"),
                    s(d, "user_name"),
                    s(d, "display_name"),
                    at,
                ],
            )
            .await?;
            let sql = "UPDATE directory_users SET external_id = $2, user_name = $3, display_name = $4 WHERE id = $1";
            exec(tx, sql, vec![key, s(d, "external_id"), s(d, "user_name"), s(d, "display_name")]).await
        }
        "directory.user_unlinked" => {
            let key = Some(format!("{}:{}", e.aggregate_id, text(d, "user_id")));
            exec(tx, "DELETE FROM directory_users WHERE id = $1", vec![key]).await
        }
        "directory.group_created" => {
            let created = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO directory_groups (id, directory_id, organization_id, display_name, external_id, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![s(d, "group_id"), id, s(d, "organization_id"), s(d, "display_name"), s(d, "external_id"), created],
            )
            .await
        }
        "directory.group_updated" => {
            let sql = "UPDATE directory_groups SET display_name = $2, external_id = $3, updated_at = $4 WHERE id = $1";
            exec(tx, sql, vec![s(d, "group_id"), s(d, "display_name"), s(d, "external_id"), Some(ts(d, "updated_at"))])
                .await
        }
        "directory.group_deleted" => {
            exec(tx, "DELETE FROM directory_group_members WHERE group_id = $1", vec![s(d, "group_id")]).await?;
            exec(tx, "DELETE FROM directory_groups WHERE id = $1", vec![s(d, "group_id")]).await
        }
        "directory.group_member_added" => {
            let key = Some(format!("{}:{}", text(d, "group_id"), text(d, "user_id")));
            let at = Some(ts(d, "added_at"));
            exec(
                tx,
                "INSERT INTO directory_group_members (id, group_id, directory_id, user_id, added_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
                vec![key, s(d, "group_id"), id, s(d, "user_id"), at.clone()],
            )
            .await?;
            exec(tx, "UPDATE directory_groups SET updated_at = $2 WHERE id = $1", vec![s(d, "group_id"), at]).await
        }
        "directory.group_member_removed" => {
            let key = Some(format!("{}:{}", text(d, "group_id"), text(d, "user_id")));
            exec(tx, "DELETE FROM directory_group_members WHERE id = $1", vec![key]).await?;
            let at = Some(ts(d, "removed_at"));
            exec(tx, "UPDATE directory_groups SET updated_at = $2 WHERE id = $1", vec![s(d, "group_id"), at]).await
        }
        "directory.group_mappings_changed" => {
            exec(tx, "UPDATE directories SET updated_at = $2 WHERE id = $1", vec![id, Some(ts(d, "changed_at"))]).await
        }
        "membership.activated" => {
            exec(
                tx,
                "UPDATE memberships SET status = 'active', joined_at = COALESCE(joined_at, $2), updated_at = $2 \
                 WHERE id = $1",
                vec![s(d, "membership_id"), Some(ts(d, "activated_at"))],
            )
            .await
        }
        "session.created" => {
            let created = Some(ts(d, "created_at"));
            let org = s(d, "active_organization");
            exec(
                tx,
                "INSERT INTO sessions (id, project_id, user_id, method, active_organization_id, status, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, 'active', $6, $6) ON CONFLICT (id) DO NOTHING",
                vec![id, s(d, "project_id"), s(d, "user_id"), s(d, "method"), org, created],
            )
            .await
        }
        // Since contexts a switch is a token family's event, and the context's opening
        // (`session.context_opened`) is what the read models record.
        "session.org_switched" if e.aggregate_type != "session" => Ok(()),
        // Before contexts, a switch was the session's own event.
        "session.org_switched" => {
            let to = s(d, "to");
            exec(
                tx,
                "UPDATE sessions SET active_organization_id = $2, updated_at = $3 WHERE id = $1",
                vec![id, to.clone(), Some(ts(d, "switched_at"))],
            )
            .await?;
            exec(tx, "UPDATE users SET last_organization_id = $2 WHERE id = $1", vec![s(d, "user_id"), to]).await
        }
        "session.context_opened" => {
            let org = s(d, "organization_id");
            let opened = Some(ts(d, "opened_at"));
            exec(
                tx,
                "INSERT INTO session_contexts (session_id, context, project_id, user_id, organization_id, epoch, \
                 status, reason, opened_at, updated_at) VALUES ($1, $2, $3, $4, $5, CAST($6 AS BIGINT), 'open', NULL, \
                 $7, $7) ON CONFLICT (session_id, context) DO UPDATE SET epoch = excluded.epoch, status = 'open', \
                 reason = NULL, opened_at = excluded.opened_at, updated_at = excluded.updated_at",
                vec![
                    s(d, "session_id"),
                    Some(org.clone().unwrap_or_default()),
                    s(d, "project_id"),
                    s(d, "user_id"),
                    org.clone(),
                    Some(number(d, "epoch")),
                    opened,
                ],
            )
            .await?;
            // The organization a sign-in chooses next: the last one a context was opened
            // in (a sign-in's own, or a switch's). Only when it changes, so the users
            // row is not written by every switch of a busy session.
            if org.is_some() {
                let sql = "UPDATE users SET last_organization_id = $2 WHERE id = $1 \
                           AND (last_organization_id IS NULL OR last_organization_id <> $2)";
                exec(tx, sql, vec![s(d, "user_id"), org]).await?;
            }
            Ok(())
        }
        "session.context_closed" | "session.context_cut" => {
            let (status, at) =
                if e.event_type == "session.context_cut" { ("cut", "cut_at") } else { ("closed", "closed_at") };
            let sql = format!(
                "UPDATE session_contexts SET status = '{status}', reason = $3, updated_at = $4 \
                 WHERE session_id = $1 AND context = $2"
            );
            let key = Some(s(d, "organization_id").unwrap_or_default());
            exec(tx, &sql, vec![s(d, "session_id"), key, s(d, "reason"), Some(ts(d, at))]).await
        }
        "session.revoked" => {
            let revoked = Some(ts(d, "revoked_at"));
            exec(
                tx,
                "UPDATE sessions SET status = 'revoked', updated_at = $2 WHERE id = $1",
                vec![id.clone(), revoked.clone()],
            )
            .await?;
            exec(
                tx,
                "UPDATE session_contexts SET status = 'closed', reason = $2, updated_at = $3 \
                 WHERE session_id = $1 AND status = 'open'",
                vec![id, s(d, "reason"), revoked],
            )
            .await
        }
        "webhook_endpoint.created" => {
            let created = Some(ts(d, "created_at"));
            let filters = d.get("events").cloned().unwrap_or(Value::Array(vec![])).to_string();
            let enabled = if d.get("enabled").and_then(Value::as_bool).unwrap_or(false) { "TRUE" } else { "FALSE" };
            let sql = format!(
                "INSERT INTO webhook_endpoints (id, project_id, url, events, enabled, created_position, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, {enabled}, $5, $6, $6) ON CONFLICT (id) DO NOTHING"
            );
            let Some(sql) = tx.target.sql(&sql) else {
                return Ok(());
            };
            let out = match &mut tx.sink {
                Sink::Tx(t) => &mut **t,
                // Binds an integer; never projected inline (see `Inline::handles`).
                Sink::Plan(plan) => {
                    **plan = None;
                    return Ok(());
                }
            };
            if let Some(b) = tx.batch.as_deref_mut() {
                b.flush_for(out, &sql).await?;
            }
            sqlx::query(&sql)
                .bind(id)
                .bind(s(d, "project_id"))
                .bind(s(d, "url"))
                .bind(filters)
                .bind(e.position)
                .bind(created)
                .execute(&mut **out)
                .await
                .map(|_| ())
        }
        "webhook_endpoint.updated" => {
            let filters = d.get("events").filter(|v| !v.is_null()).map(Value::to_string);
            exec(
                tx,
                "UPDATE webhook_endpoints SET url = COALESCE($2, url), events = COALESCE($3, events), updated_at = $4 \
                 WHERE id = $1",
                vec![id, s(d, "url"), filters, Some(ts(d, "updated_at"))],
            )
            .await
        }
        "webhook_endpoint.secret_rotated" => {
            exec(tx, "UPDATE webhook_endpoints SET updated_at = $2 WHERE id = $1", vec![id, Some(ts(d, "rotated_at"))])
                .await
        }
        "webhook_endpoint.disabled" => {
            exec(
                tx,
                "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, updated_at = $3 WHERE id = $1",
                vec![id, s(d, "reason"), Some(ts(d, "disabled_at"))],
            )
            .await
        }
        "webhook_endpoint.enabled" => {
            exec(
                tx,
                "UPDATE webhook_endpoints SET enabled = TRUE, disabled_reason = NULL, updated_at = $2 WHERE id = $1",
                vec![id, Some(ts(d, "enabled_at"))],
            )
            .await
        }
        "webhook_endpoint.deleted" => exec(tx, "DELETE FROM webhook_endpoints WHERE id = $1", vec![id]).await,
        "oauth_client.registered" => {
            let at = Some(ts(d, "registered_at"));
            let list = |k: &str| d.get(k).filter(|v| !v.is_null()).map(Value::to_string);
            exec(
                tx,
                "INSERT INTO oauth_clients (id, project_id, name, client_type, redirect_uris, scopes, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (id) DO NOTHING",
                vec![
                    id,
                    s(d, "project_id"),
                    s(d, "name"),
                    s(d, "client_type"),
                    list("redirect_uris"),
                    list("scopes"),
                    at,
                ],
            )
            .await
        }
        "oauth_client.updated" => {
            let list = |k: &str| d.get(k).filter(|v| !v.is_null()).map(Value::to_string);
            exec(
                tx,
                "UPDATE oauth_clients SET name = COALESCE($2, name), redirect_uris = COALESCE($3, redirect_uris), \
                 scopes = COALESCE($4, scopes), updated_at = $5 WHERE id = $1",
                vec![id, s(d, "name"), list("redirect_uris"), list("scopes"), Some(ts(d, "updated_at"))],
            )
            .await
        }
        "oauth_client.secret_rotated" => {
            exec(tx, "UPDATE oauth_clients SET updated_at = $2 WHERE id = $1", vec![id, Some(ts(d, "rotated_at"))])
                .await
        }
        "oauth_client.deleted" => exec(tx, "DELETE FROM oauth_clients WHERE id = $1", vec![id]).await,
        "oauth_client.backchannel_logout_changed" => {
            let args = vec![id, s(d, "backchannel_logout_uri"), Some(ts(d, "changed_at"))];
            exec(tx, "UPDATE oauth_clients SET backchannel_logout_uri = $2, updated_at = $3 WHERE id = $1", args).await
        }
        "oauth.code_redeemed" => {
            let scopes = d.get("scopes").filter(|v| !v.is_null()).map(Value::to_string);
            exec(
                tx,
                "INSERT INTO oauth_grants (family_id, code_id, client_id, project_id, session_id, user_id, \
                 organization_id, scopes, auth_time, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (family_id) DO NOTHING",
                vec![
                    s(d, "family_id"),
                    id,
                    s(d, "client_id"),
                    s(d, "project_id"),
                    s(d, "session_id"),
                    s(d, "user_id"),
                    s(d, "organization_id"),
                    scopes,
                    Some(ts(d, "auth_time")),
                    Some(ts(d, "redeemed_at")),
                ],
            )
            .await
        }
        "connection.created" => {
            let at = Some(ts(d, "created_at"));
            exec(
                tx,
                "INSERT INTO connections (id, project_id, organization_id, name, issuer, client_id, jit_role, \
                 created_at, updated_at, protocol, saml_metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10) \
                 ON CONFLICT (id) DO NOTHING",
                vec![
                    id,
                    s(d, "project_id"),
                    s(d, "organization_id"),
                    s(d, "name"),
                    s(d, "issuer"),
                    s(d, "client_id"),
                    s(d, "jit_role"),
                    at,
                    Some(s(d, "protocol").unwrap_or_else(|| "oidc".into())),
                    s(d, "saml_metadata"),
                ],
            )
            .await
        }
        "connection.deleted" => exec(tx, "DELETE FROM connections WHERE id = $1", vec![id]).await,
        "oauth.grant_revoked" => {
            let args = vec![s(d, "family_id"), Some(ts(d, "revoked_at"))];
            exec(tx, "UPDATE oauth_grants SET revoked_at = $2 WHERE family_id = $1", args).await
        }
        _ => Ok(()),
    }
}
