//! Organization sign-in policies: which sign-in methods an organization accepts, whether
//! it requires a passkey, how old a session's authentication may be. Held to at every
//! switch into the organization and every refresh of its context (a commit requirement,
//! so a policy change takes effect at the next one); a session that falls short is
//! answered `403 step_up_required` and can step up with a passkey in place.
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::organization::{Organization, OrganizationCommand, Policy, SIGN_IN_METHODS};
use authio_eventstore::{Changes, Dialect, Metadata};
use chrono::Utc;
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

/// The code a failed policy requirement fails a commit with.
pub const STEP_UP: &str = "step_up_required";

/// Whether session `$2` meets the policy of organization `$1` at `$3` (now, as stored
/// text). Only an active member's session is held to it: for anyone else (and for an
/// organization without a row) the membership requirement speaks, so a stranger never
/// learns that an organization has a policy.
pub fn met(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => {
            "NOT EXISTS (SELECT 1 FROM organizations o, sessions s WHERE o.id = $1 AND s.id = $2 \
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = o.id AND m.user_id = s.user_id \
                         AND m.status = 'active') AND NOT ( \
             (o.allowed_methods IS NULL OR o.allowed_methods LIKE '%\"' || s.method || '\"%' \
              OR (s.stepped_up_at IS NOT NULL AND o.allowed_methods LIKE '%\"passkey\"%')) \
             AND (NOT o.require_passkey OR s.method = 'passkey' OR s.stepped_up_at IS NOT NULL) \
             AND (o.max_session_age IS NULL OR CAST(COALESCE(s.stepped_up_at, s.created_at) AS timestamptz) \
                  + o.max_session_age * interval '1 second' > CAST($3 AS timestamptz))))"
        }
        Dialect::Sqlite => {
            "NOT EXISTS (SELECT 1 FROM organizations o, sessions s WHERE o.id = $1 AND s.id = $2 \
             AND EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = o.id AND m.user_id = s.user_id \
                         AND m.status = 'active') AND NOT ( \
             (o.allowed_methods IS NULL OR o.allowed_methods LIKE '%\"' || s.method || '\"%' \
              OR (s.stepped_up_at IS NOT NULL AND o.allowed_methods LIKE '%\"passkey\"%')) \
             AND (NOT o.require_passkey OR s.method = 'passkey' OR s.stepped_up_at IS NOT NULL) \
             AND (o.max_session_age IS NULL OR julianday(COALESCE(s.stepped_up_at, s.created_at)) \
                  + o.max_session_age / 86400.0 > julianday($3))))"
        }
    }
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct PolicyView {
    /// `magic_link`, `passkey`, `sign_in_token`, `sso`; null: any.
    pub allowed_methods: Option<Vec<String>>,
    pub require_passkey: bool,
    /// Null: no limit.
    pub max_session_age_seconds: Option<u64>,
}

impl From<Policy> for PolicyView {
    fn from(p: Policy) -> Self {
        PolicyView {
            allowed_methods: p.allowed_methods,
            require_passkey: p.require_passkey,
            max_session_age_seconds: p.max_session_age_seconds,
        }
    }
}

/// A policy as given: known methods only, each once; an age of a minute to a year.
pub fn check(view: PolicyView) -> ApiResult<Policy> {
    if let Some(m) = &view.allowed_methods {
        if m.is_empty() || m.iter().any(|x| !SIGN_IN_METHODS.contains(&x.as_str())) {
            return Err(ApiError::invalid_field(
                "allowed_methods",
                "allowed_methods must name at least one of magic_link, passkey, sign_in_token, sso (or be null)",
            ));
        }
    }
    if view.max_session_age_seconds.is_some_and(|a| !(60..=31_536_000).contains(&a)) {
        return Err(ApiError::invalid_field("max_session_age_seconds", "60 to 31536000 seconds, or null"));
    }
    let mut methods = view.allowed_methods;
    if let Some(m) = methods.as_mut() {
        m.sort();
        m.dedup();
    }
    Ok(Policy {
        allowed_methods: methods,
        require_passkey: view.require_passkey,
        max_session_age_seconds: view.max_session_age_seconds,
    })
}

pub async fn get(st: &AppState, org: &str) -> ApiResult<PolicyView> {
    let o = st.db.load::<Organization>(org).await?;
    if !o.state.is_live() {
        return Err(ApiError::not_found());
    }
    Ok(o.state.policy.clone().into())
}

pub async fn set(st: &AppState, meta: &Metadata, org: &str, policy: Policy) -> ApiResult<PolicyView> {
    let _turn = st.db.stream_turn::<Organization>(org).await;
    crate::execute!(st, meta, {
        let mut o = st.db.load::<Organization>(org).await?;
        o.exec(OrganizationCommand::SetPolicy { policy: policy.clone(), at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(o)?;
        Ok(c)
    })?;
    Ok(policy.into())
}

/// `403 step_up_required`, saying what organization `org` asks for.
pub async fn step_up_required(st: &AppState, org: &str) -> ApiError {
    let policy = sqlx::query(
        "SELECT allowed_methods, CASE WHEN require_passkey THEN 1 ELSE 0 END, max_session_age \
         FROM organizations WHERE id = $1",
    )
    .bind(org)
    .fetch_optional(&st.db.pool)
    .await;
    let details = match policy {
        Ok(Some(r)) => {
            let methods: Option<String> = r.try_get(0).ok().flatten();
            let methods: Option<serde_json::Value> = methods.and_then(|m| serde_json::from_str(&m).ok());
            serde_json::json!({
                "organization_id": org,
                "allowed_methods": methods,
                "require_passkey": r.try_get::<i64, _>(1).unwrap_or(0) != 0,
                "max_session_age_seconds": r.try_get::<Option<i64>, _>(2).ok().flatten(),
                "step_up": "/v1/sessions/step-up/passkey/start",
            })
        }
        _ => serde_json::json!({ "organization_id": org }),
    };
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        STEP_UP,
        "this organization's sign-in policy asks for more than this session has: step up with a passkey, then switch",
    )
    .with_details(details)
}

/// Whether a session signed in just now by `method` meets organization `org`'s policy
/// (a sign-in opens no context where it does not).
pub async fn admits_new_session(st: &AppState, org: &str, method: &str) -> ApiResult<bool> {
    let row = sqlx::query(
        "SELECT allowed_methods, CASE WHEN require_passkey THEN 1 ELSE 0 END FROM organizations WHERE id = $1",
    )
    .bind(org)
    .fetch_optional(&st.db.pool)
    .await?;
    let Some(r) = row else { return Ok(true) };
    let methods: Option<String> = r.try_get(0)?;
    let passkey: i64 = r.try_get(1)?;
    let allowed = methods.is_none_or(|m| m.contains(&format!("\"{method}\"")));
    Ok(allowed && (passkey == 0 || method == "passkey"))
}
