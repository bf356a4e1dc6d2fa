//! The audit log and the events API: the same envelope, from the `audit_events` read
//! model (one entry per event, in global-position order).
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, SecretKey, UserToken};
use crate::AppState;
pub use authio_projections::audit::{envelope, envelopes_sql, Envelope};
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvelopeList {
    pub data: Vec<Envelope>,
    /// The position to pass as `after` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn position(after: &Option<String>) -> ApiResult<Option<i64>> {
    match after.as_deref() {
        None | Some("") => Ok(None),
        Some(a) => a
            .parse::<i64>()
            .ok()
            .filter(|p| *p >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::invalid_field("after", "after must be a position (a non-negative integer)")),
    }
}

/// `types=membership.*,session.org_switched` → SQL conditions on `action`.
fn type_filter(types: &Option<String>, first_arg: usize) -> ApiResult<(String, Vec<String>)> {
    let Some(t) = types.as_deref().filter(|t| !t.is_empty()) else { return Ok((String::new(), vec![])) };
    let mut conds = Vec::new();
    let mut args = Vec::new();
    for (i, pat) in t.split(',').map(str::trim).enumerate() {
        let ok = !pat.is_empty()
            && pat.len() <= 100
            && pat.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.' || b == b'*')
            && (!pat.contains('*') || pat == "*" || (pat.ends_with(".*") && pat.matches('*').count() == 1));
        if !ok || i >= 20 {
            return Err(ApiError::invalid_field("types", "types are event types or prefixes like `membership.*`"));
        }
        let n = first_arg + args.len();
        if pat == "*" {
            conds.push("1 = 1".to_string());
        } else if let Some(prefix) = pat.strip_suffix('*') {
            conds.push(format!("substr(action, 1, {}) = ${n}", prefix.len()));
            args.push(prefix.to_string());
        } else {
            conds.push(format!("action = ${n}"));
            args.push(pat.to_string());
        }
    }
    Ok((format!(" AND ({})", conds.join(" OR ")), args))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Only events after this position (exclusive); default: from the start.
    pub after: Option<String>,
    /// Comma-separated event types; `prefix.*` matches a family.
    pub types: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<i64>,
}

/// The project's events in global-position order. Page with `after=<next_cursor>`:
/// every event is seen exactly once, across restarts and while writes go on.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(EventsQuery),
    security(("secret_key" = [])), responses((status = 200, body = EnvelopeList), Errors))]
pub async fn list_events(
    State(st): State<AppState>,
    key: SecretKey,
    Query(q): Query<EventsQuery>,
) -> ApiResult<axum::Json<EnvelopeList>> {
    let limit = crate::views::check_limit(q.limit)?;
    let after = position(&q.after)?.unwrap_or(0);
    let (cond, args) = type_filter(&q.types, 4)?;
    let sql =
        envelopes_sql(&format!("WHERE project_id = $1 AND position > $2{cond} ORDER BY position LIMIT $3"), "position");
    let page = async || {
        let mut query = sqlx::query(&sql).bind(&key.project_id).bind(after).bind(limit + 1);
        for a in &args {
            query = query.bind(a);
        }
        query.fetch_all(&st.db.pool).await
    };
    let mut rows = page().await?;
    if rows.len() as i64 <= limit {
        // The end of the log: first let the pipeline write every commit that completed
        // before this request, so a client reads its own writes.
        st.pipeline.sync(&st.db).await?;
        rows = page().await?;
    }
    let mut data = rows.iter().map(envelope).collect::<Result<Vec<_>, _>>()?;
    let more = data.len() as i64 > limit;
    data.truncate(limit as usize);
    // The cursor is the last position seen; a client at the end keeps it and polls.
    let next_cursor = if more { data.last().map(|e| e.position.to_string()) } else { None };
    Ok(axum::Json(EnvelopeList { data, next_cursor }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub organization_id: Option<String>,
    /// An event type, e.g. `membership.deactivated`.
    pub action: Option<String>,
    pub actor_id: Option<String>,
    /// Entries older than this position (the `next_cursor` of the previous page).
    pub after: Option<String>,
    pub limit: Option<i64>,
}

async fn audit_page(
    st: &AppState,
    project: &str,
    organization: Option<&str>,
    q: &AuditQuery,
) -> ApiResult<axum::Json<EnvelopeList>> {
    let limit = crate::views::check_limit(q.limit)?;
    let before = position(&q.after)?.unwrap_or(i64::MAX);
    if q.after.is_none() {
        // The newest entries: include every commit that completed before this request.
        st.pipeline.sync(&st.db).await?;
    }
    let sql = envelopes_sql(
        "WHERE project_id = $1 AND position < $2 AND ($3 IS NULL OR organization_id = $3) \
         AND ($4 IS NULL OR action = $4) AND ($5 IS NULL OR actor_id = $5) ORDER BY position DESC LIMIT $6",
        "position DESC",
    );
    let rows = sqlx::query(&sql)
        .bind(project)
        .bind(before)
        .bind(organization)
        .bind(q.action.as_deref())
        .bind(q.actor_id.as_deref())
        .bind(limit + 1)
        .fetch_all(&st.db.pool)
        .await?;
    let mut data = rows.iter().map(envelope).collect::<Result<Vec<_>, _>>()?;
    let more = data.len() as i64 > limit;
    data.truncate(limit as usize);
    let next_cursor = if more { data.last().map(|e| e.position.to_string()) } else { None };
    Ok(axum::Json(EnvelopeList { data, next_cursor }))
}

/// The project's audit trail, newest first.
#[utoipa::path(get, path = "/v1/audit-events", tag = "audit", params(AuditQuery),
    security(("secret_key" = [])), responses((status = 200, body = EnvelopeList), Errors))]
pub async fn list_audit(
    State(st): State<AppState>,
    key: SecretKey,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<EnvelopeList>> {
    audit_page(&st, &key.project_id, q.organization_id.as_deref(), &q).await
}

/// An organization's slice of the audit trail, for its admins.
#[utoipa::path(get, path = "/v1/organizations/{id}/audit-events", tag = "audit", params(("id" = String, Path), AuditQuery),
    security(("access_token" = [])), responses((status = 200, body = EnvelopeList), Errors))]
pub async fn org_audit(
    State(st): State<AppState>,
    user: UserToken,
    Path(id): Path<String>,
    Query(q): Query<AuditQuery>,
) -> ApiResult<axum::Json<EnvelopeList>> {
    crate::sessions::ensure_org_admin(&st, &user, &id).await?;
    audit_page(&st, user.project_id(), Some(&id), &q).await
}
