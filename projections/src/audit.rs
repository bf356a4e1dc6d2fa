//! The audit log: every event becomes exactly one entry carrying the envelope of
//! DESIGN.md (action, actor, project, organization, targets, time, request id, client
//! address, user agent). Events never carry secrets, tokens or keys, so neither do
//! entries. Internal bookkeeping (reservations, operators) has no project and is not
//! shown to projects.
use crate::batch::{Arg, Batch};
use crate::Target;
use authio_eventstore::{StoredEvent, Tx};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;
use utoipa::ToSchema;

async fn owner(
    tx: &mut Tx,
    target: Target<'_>,
    e: &StoredEvent,
    mut batch: Option<&mut Batch>,
) -> Result<Option<String>, sqlx::Error> {
    let d = &e.data;
    match e.aggregate_type.as_str() {
        "tenant" => Ok(Some(e.aggregate_id.clone())),
        "operator" | "reservation" => Ok(None),
        _ => {
            let key = (e.aggregate_type.clone(), e.aggregate_id.clone());
            if let Some(p) = d.get("project_id").and_then(Value::as_str) {
                if let Some(sql) = target.sql(
                    "INSERT INTO stream_owners (aggregate_type, aggregate_id, project_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (aggregate_type, aggregate_id) DO NOTHING",
                ) {
                    match batch {
                        // A stream already in `owners` has its row (queued, sent, or read
                        // back), so this INSERT would do nothing: it is not queued.
                        Some(b) => {
                            if let std::collections::hash_map::Entry::Vacant(v) = b.owners.entry(key) {
                                v.insert(p.to_string());
                                let args = [&e.aggregate_type, &e.aggregate_id, p];
                                b.push(&sql, args.iter().map(|a| Arg::Text(Some(a.to_string()))).collect());
                            }
                        }
                        None => {
                            sqlx::query(&sql)
                                .bind(&e.aggregate_type)
                                .bind(&e.aggregate_id)
                                .bind(p)
                                .execute(&mut **tx)
                                .await?;
                        }
                    }
                }
                return Ok(Some(p.to_string()));
            }
            let Some(sql) =
                target.sql("SELECT project_id FROM stream_owners WHERE aggregate_type = $1 AND aggregate_id = $2")
            else {
                return Ok(None);
            };
            if let Some(b) = batch.as_deref_mut() {
                if let Some(p) = b.owners.get(&key) {
                    return Ok(Some(p.clone()));
                }
                b.flush_for(tx, &sql).await?;
            }
            let p: Option<String> = sqlx::query_scalar(&sql)
                .bind(&e.aggregate_type)
                .bind(&e.aggregate_id)
                .fetch_optional(&mut **tx)
                .await?;
            if let (Some(b), Some(p)) = (batch, &p) {
                b.owners.insert(key, p.clone());
            }
            Ok(p)
        }
    }
}

/// Whether an event gets an audit entry (and so reaches the events API and webhooks).
/// A refresh does not: one per access-token lifetime per tab would flood the log, and
/// says nothing an auditor asks (the context's last refresh is in the session listing;
/// the event store keeps every one). Nor does the token family a sign-in starts: the
/// sign-in's `session.created` and `session.context_opened` say it.
pub fn audited(event_type: &str) -> bool {
    !matches!(event_type, "session.context_refreshed" | "session.tokens_issued")
}

fn organization_of(e: &StoredEvent) -> Option<String> {
    let d = &e.data;
    match e.aggregate_type.as_str() {
        "organization" => Some(e.aggregate_id.clone()),
        "tenant" => d.get("organization_id").and_then(Value::as_str).map(str::to_string),
        "session" | "session_context" | "refresh_family" => d
            .get("to")
            .or_else(|| d.get("organization_id"))
            .or_else(|| d.get("active_organization"))
            .and_then(Value::as_str)
            .map(str::to_string),
        "invitation"
        | "team"
        | "role_catalog"
        | "organization_domain"
        | "directory"
        | "handoff"
        | "oauth_code"
        | "connection" => d.get("organization_id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// The entry's targets. Each object's keys are written in sorted order (`id`, `type`):
/// the stored text is then the same whether or not serde_json keeps insertion order (a
/// dependency's feature can turn that on), so a rebuild writes what the live path wrote.
fn targets(e: &StoredEvent) -> Value {
    let mut t = vec![json!({"id": e.aggregate_id, "type": e.aggregate_type})];
    for (key, kind) in [
        ("membership_id", "membership"),
        ("user_id", "user"),
        ("key_id", "api_key"),
        ("session_id", "session"),
        ("team_id", "team"),
        ("invitation_id", "invitation"),
        ("directory_id", "directory"),
        ("client_id", "oauth_client"),
    ] {
        if let Some(id) = e.data.get(key).and_then(Value::as_str) {
            if id != e.aggregate_id {
                t.push(json!({"id": id, "type": kind}));
            }
        }
    }
    Value::Array(t)
}

/// The envelope of an event, given its project.
pub fn to_envelope(e: &StoredEvent, project: Option<String>) -> Envelope {
    let m = &e.metadata;
    Envelope {
        id: e.event_id.clone(),
        kind: e.event_type.clone(),
        position: e.position,
        occurred_at: e.recorded_at.clone(),
        project_id: project,
        organization_id: organization_of(e),
        actor: ActorRef {
            kind: m.get("actor_type").cloned().unwrap_or_else(|| "system".into()),
            id: m.get("actor_id").cloned(),
        },
        targets: targets(e),
        data: e.data.clone(),
        metadata: serde_json::to_value(m).unwrap_or(Value::Null),
    }
}

/// The project of an event read straight from the event store (no read model): fixed
/// for tenants, none for internal streams, else the stream's creation event's
/// `project_id`, remembered in `owners` (events arrive in position order).
pub fn replay_project(e: &StoredEvent, owners: &mut HashMap<(String, String), String>) -> Option<String> {
    match e.aggregate_type.as_str() {
        "tenant" => Some(e.aggregate_id.clone()),
        "operator" | "reservation" => None,
        _ => {
            let key = (e.aggregate_type.clone(), e.aggregate_id.clone());
            if let Some(p) = e.data.get("project_id").and_then(Value::as_str) {
                owners.entry(key.clone()).or_insert_with(|| p.to_string());
            }
            owners.get(&key).cloned()
        }
    }
}

/// Write the audit entry of one event (and its stream's owner) to the live tables.
pub async fn apply(tx: &mut Tx, e: &StoredEvent) -> Result<(), sqlx::Error> {
    apply_to(tx, Target::Live, e).await
}

/// `apply` into `target` (the live tables or a rebuild's shadow copies).
pub async fn apply_to(tx: &mut Tx, target: Target<'_>, e: &StoredEvent) -> Result<(), sqlx::Error> {
    apply_batched(tx, target, e, None).await
}

/// `apply_to`, queueing the INSERTs in `batch` (flushed by the caller).
pub(crate) async fn apply_batched(
    tx: &mut Tx,
    target: Target<'_>,
    e: &StoredEvent,
    mut batch: Option<&mut Batch>,
) -> Result<(), sqlx::Error> {
    if !audited(&e.event_type) {
        return Ok(());
    }
    let project = owner(tx, target, e, batch.as_deref_mut()).await?;
    let Some(sql) = target.sql(
        "INSERT INTO audit_events (position, project_id, organization_id, action, actor_type, actor_id, targets) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (position) DO NOTHING",
    ) else {
        return Ok(());
    };
    let m = &e.metadata;
    let actor_type = m.get("actor_type").cloned().unwrap_or_else(|| "system".into());
    if let Some(b) = batch {
        b.push(
            &sql,
            vec![
                Arg::I64(e.position),
                Arg::Text(project),
                Arg::Text(organization_of(e)),
                Arg::Text(Some(e.event_type.clone())),
                Arg::Text(Some(actor_type)),
                Arg::Text(m.get("actor_id").cloned()),
                Arg::Text(Some(targets(e).to_string())),
            ],
        );
        return Ok(());
    }
    sqlx::query(&sql)
        .bind(e.position)
        .bind(project)
        .bind(organization_of(e))
        .bind(&e.event_type)
        .bind(actor_type)
        .bind(m.get("actor_id").cloned())
        .bind(targets(e).to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
pub struct ActorRef {
    /// `operator`, `api_key`, `user`, `directory` (SCIM) or `system`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: Option<String>,
}

/// The envelope shared by the audit log, the events API and webhooks.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
pub struct Envelope {
    /// `evt_…`
    pub id: String,
    /// The event type, e.g. `membership.role_changed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Global position: strictly increasing, no gaps.
    pub position: i64,
    pub occurred_at: String,
    pub project_id: Option<String>,
    pub organization_id: Option<String>,
    pub actor: ActorRef,
    /// What the event is about: `[{type, id}]`.
    #[schema(value_type = Vec<Object>)]
    pub targets: Value,
    #[schema(value_type = Object)]
    pub data: Value,
    /// Request id, client address, user agent.
    #[schema(value_type = Object)]
    pub metadata: Value,
}

/// The columns of an envelope (see `envelopes_sql`): an audit entry holds what the log
/// filters on and derives (project, organization, action, actor, targets); the event's
/// id, time, data and metadata are the event's own, joined on its position.
pub const ENVELOPE_COLS: &str = "e.event_id, a.action, a.position, e.recorded_at, a.project_id, a.organization_id, \
     a.actor_type, a.actor_id, a.targets, e.payload, e.metadata";

/// The envelopes (`ENVELOPE_COLS`) of the audit entries that `entries` picks (what
/// follows `SELECT * FROM audit_events`: conditions, order, limit), ordered by `order`
/// (`position` or `position DESC`). The entries are picked first and then joined to
/// their events one by one: a join with the range condition outside lets PostgreSQL
/// merge-join the whole `events` table from its start (0.8 s for a page at position
/// 1,000,000), as it does not carry `position > $n` over to `events`.
pub fn envelopes_sql(entries: &str, order: &str) -> String {
    format!(
        "SELECT {ENVELOPE_COLS} FROM (SELECT * FROM audit_events {entries}) a \
         JOIN events e ON e.position = a.position ORDER BY a.{order}"
    )
}

/// The envelope of an audit row read with `ENVELOPE_COLS`.
pub fn envelope(r: &sqlx::any::AnyRow) -> Result<Envelope, sqlx::Error> {
    let raw = RawEnvelope::from_row(r)?;
    let json = |v: &RawValue| serde_json::from_str(v.get()).unwrap_or(Value::Null);
    Ok(Envelope {
        id: raw.id.to_string(),
        kind: raw.kind.to_string(),
        position: raw.position,
        occurred_at: raw.occurred_at.to_string(),
        project_id: raw.project_id.map(str::to_string),
        organization_id: raw.organization_id.map(str::to_string),
        actor: ActorRef { kind: raw.actor.kind.to_string(), id: raw.actor.id.map(str::to_string) },
        targets: json(raw.targets),
        data: json(raw.data),
        metadata: json(raw.metadata),
    })
}

/// An `Envelope` as its audit row holds it, borrowed from the row, the JSON columns
/// (targets, data, metadata) left as stored text: `envelope` decodes them, the relay
/// publishes them as they are (parsing them into values and printing them again for
/// every event relayed is avoided). Its fields are those of `Envelope`, in its order, so
/// it serializes to the same JSON.
#[derive(Serialize)]
pub struct RawEnvelope<'a> {
    pub id: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub position: i64,
    pub occurred_at: &'a str,
    pub project_id: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub actor: RawActor<'a>,
    pub targets: &'a RawValue,
    pub data: &'a RawValue,
    pub metadata: &'a RawValue,
}

/// `ActorRef`, borrowed.
#[derive(Serialize)]
pub struct RawActor<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub id: Option<&'a str>,
}

impl<'a> RawEnvelope<'a> {
    /// Read from a row of `ENVELOPE_COLS`; a JSON column that does not parse (never
    /// written so) reads as null.
    pub fn from_row(r: &'a sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        let json = |i: usize| -> Result<&'a RawValue, sqlx::Error> {
            let s: &'a str = r.try_get(i)?;
            Ok(serde_json::from_str(s).unwrap_or(RawValue::NULL))
        };
        Ok(RawEnvelope {
            id: r.try_get(0)?,
            kind: r.try_get(1)?,
            position: r.try_get(2)?,
            occurred_at: r.try_get(3)?,
            project_id: r.try_get(4)?,
            organization_id: r.try_get(5)?,
            actor: RawActor { kind: r.try_get(6)?, id: r.try_get(7)? },
            targets: json(8)?,
            data: json(9)?,
            metadata: json(10)?,
        })
    }
}
