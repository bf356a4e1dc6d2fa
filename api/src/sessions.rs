//! Creating sessions and building the session answer shared by every sign-in method,
//! switch-org and refresh.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::ids::{OrganizationId, SessionId, TenantId, UserId};
use authio_domain::session::{Session, SessionCommand};
use authio_eventstore::{time_text, Changes, Metadata, SqlArg};
use chrono::{Duration, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

/// Refresh tokens live 30 days (each use rotates them).
pub const REFRESH_TTL_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct OrganizationRef {
    pub id: String,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct ActiveOrganization {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct MembershipSummary {
    pub organization: OrganizationRef,
    pub role: String,
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct UserRef {
    pub id: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionAnswer {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    pub session_id: String,
    pub user: UserRef,
    pub active_organization: Option<ActiveOrganization>,
    pub memberships: Vec<MembershipSummary>,
}

/// The role of the user's *active* membership in `org`, if there is one.
pub async fn active_role(st: &AppState, user: &str, org: &str) -> ApiResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT role FROM memberships WHERE user_id = $1 AND organization_id = $2 AND status = 'active'",
    )
    .bind(user)
    .bind(org)
    .fetch_optional(&st.db.pool)
    .await?)
}

/// A user as a session answer shows them: their profile and every membership with its
/// organization. One query.
pub struct Profile {
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub memberships: Vec<MembershipSummary>,
    /// The organization of the user's last switch or sign-in.
    pub last_organization_id: Option<String>,
}

impl Profile {
    /// On sign-in: the user's last active organization (if still an active membership),
    /// else their only active membership, else none.
    pub fn choose_organization(&self) -> Option<String> {
        if let Some(last) = self.last_organization_id.as_deref() {
            if self.active(Some(last)).is_some() {
                return Some(last.to_string());
            }
        }
        let mut active = self.memberships.iter().filter(|m| m.status == "active");
        match (active.next(), active.next()) {
            (Some(only), None) => Some(only.organization.id.clone()),
            _ => None,
        }
    }

    /// The organization `org` as the user's active one, if their membership is active.
    pub fn active(&self, org: Option<&str>) -> Option<ActiveOrganization> {
        let org = org?;
        self.memberships.iter().find(|m| m.organization.id == org && m.status == "active").map(|m| ActiveOrganization {
            id: m.organization.id.clone(),
            name: m.organization.name.clone(),
            slug: m.organization.slug.clone(),
            role: m.role.clone(),
        })
    }
}

/// The user's profile and memberships, bound to `$1` (user) and `$2` (project): one row
/// per membership (one with NULL membership columns for a user without any). Columns
/// are named for reading by name (`Changes::read`).
pub const PROFILE: &str = "SELECT u.id AS p_user, u.email AS p_email, u.first_name AS p_first_name, \
     u.last_name AS p_last_name, u.last_organization_id AS p_last_org, o.id AS p_org, o.name AS p_org_name, \
     o.slug AS p_org_slug, m.role AS p_role, m.status AS p_status \
     FROM users u LEFT JOIN memberships m ON m.user_id = u.id LEFT JOIN organizations o ON o.id = m.organization_id \
     WHERE u.id = $1 AND u.project_id = $2";

/// Whether the user `$1` of project `$2` is an active member of organization `$3`: what
/// `Profile::active` says of the rows of `PROFILE`.
pub const ACTIVE_MEMBER: &str = "EXISTS (SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id \
     JOIN organizations o ON o.id = m.organization_id \
     WHERE u.id = $1 AND u.project_id = $2 AND m.organization_id = $3 AND m.status = 'active')";

/// Whether the user `$1` is in project `$2` (and not deleted).
pub const IN_PROJECT: &str = "EXISTS (SELECT 1 FROM users WHERE id = $1 AND project_id = $2)";

/// The user's profile and memberships; `None` when the user is not in the project (or
/// was deleted).
pub async fn profile(st: &AppState, project: &str, user: &str) -> ApiResult<Option<Profile>> {
    let rows = sqlx::query(PROFILE).bind(user).bind(project).fetch_all(&st.db.pool).await?;
    profile_of(&rows)
}

/// The profile in rows of `PROFILE` (rows without a user, as a commit's read that
/// found nothing returns, are skipped); memberships in organization id order.
pub fn profile_of(rows: &[AnyRow]) -> ApiResult<Option<Profile>> {
    let mut user = rows.iter().filter(|r| r.try_get::<Option<String>, _>("p_user").ok().flatten().is_some());
    let Some(first) = user.next() else { return Ok(None) };
    let mut p = Profile {
        email: first.try_get("p_email")?,
        first_name: first.try_get("p_first_name")?,
        last_name: first.try_get("p_last_name")?,
        memberships: Vec::with_capacity(rows.len()),
        last_organization_id: first.try_get("p_last_org")?,
    };
    for r in std::iter::once(first).chain(user) {
        let Some(id) = r.try_get::<Option<String>, _>("p_org")? else { continue };
        p.memberships.push(MembershipSummary {
            organization: OrganizationRef { id, name: r.try_get("p_org_name")?, slug: r.try_get("p_org_slug")? },
            role: r.try_get("p_role")?,
            status: r.try_get("p_status")?,
        });
    }
    p.memberships.sort_by(|a, b| a.organization.id.cmp(&b.organization.id));
    Ok(Some(p))
}

/// A new live row, its six values bound as `new_refresh_token` orders them.
const INSERT_LIVE: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, project_id, user_id, state, created_at, \
     expires_at) VALUES ($1, $2, $3, $4, 'live', $5, $6)";

/// Retires the live tokens of the session bound to `$1`. They are deleted: a retired
/// token presented again gets the same answer as an unknown one, and a `DELETE` marks
/// the row where an `UPDATE` of `state` (an indexed column) writes a new row version
/// and two index entries. Spent tokens stay: presenting one again revokes the session.
const SUPERSEDE: &str = "DELETE FROM refresh_tokens WHERE session_id = $1 AND state = 'live'";

/// Spends the live, unexpired token of the session: hash `$1`, now `$2`, session `$3`.
const SPEND: &str = "UPDATE refresh_tokens SET state = 'spent' WHERE token_hash = $1 AND state = 'live' \
     AND expires_at > $2 AND session_id = $3";

/// A fresh refresh token for the session: the token, and its row's values for `INSERT_LIVE`.
/// The token names its session (`rt_<session id>.<64 hex digits>`), so a refresh can go
/// straight to the commit (`session_in_token`); the hash covers the whole token, so
/// another session's id in it matches no row.
fn new_refresh_token(session: &str, project: &str, user: &str) -> (String, Vec<SqlArg>) {
    let token = new_secret(&format!("rt_{session}."));
    let now = Utc::now();
    let row = vec![
        SqlArg::Text(hash_secret(&token)),
        SqlArg::Text(session.into()),
        SqlArg::Text(project.into()),
        SqlArg::Text(user.into()),
        SqlArg::Text(time_text(now)),
        SqlArg::Text(time_text(now + Duration::days(REFRESH_TTL_DAYS))),
    ];
    (token, row)
}

/// Add a fresh refresh token for the session to `changes`; returns the token.
pub fn add_refresh_token(changes: &mut Changes, session: &str, project: &str, user: &str) -> String {
    let (token, row) = new_refresh_token(session, project, user);
    changes.side_write(INSERT_LIVE, row);
    token
}

/// Retire every live refresh token of the session (switch, sign-out, revocation).
pub fn supersede_refresh_tokens(changes: &mut Changes, session: &str) {
    changes.side_write(SUPERSEDE, vec![SqlArg::Text(session.into())]);
}

/// Retire the session's live refresh tokens and add a fresh one (switch-org); returns
/// the token. Two statements (on PostgreSQL the fused commit sends them in one, see
/// `authio_eventstore`'s `fuse`); the new row is not among those retired.
pub fn replace_refresh_tokens(changes: &mut Changes, session: &str, project: &str, user: &str) -> String {
    supersede_refresh_tokens(changes, session);
    add_refresh_token(changes, session, project, user)
}

/// The session a refresh token names (tokens issued before the session was put in
/// them name none, and neither does anything malformed).
pub fn session_in_token(token: &str) -> Option<&str> {
    let (session, secret) = token.strip_prefix("rt_")?.split_once('.')?;
    let well_formed = session.starts_with("sess_")
        && session.len() <= 64
        && session.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(session)
}

/// Spend the refresh token with hash `spent` if it is live, unexpired at `now` and
/// `session`'s, and add its successor (refresh); returns the new token. The commit fails
/// with `code` (and adds nothing) unless exactly this token went from live to spent.
pub fn spend_refresh_token(
    changes: &mut Changes,
    spent: &str,
    now: &str,
    (session, project, user): (&str, &str, &str),
    code: &'static str,
) -> String {
    let args = vec![SqlArg::Text(spent.into()), SqlArg::Text(now.into()), SqlArg::Text(session.into())];
    changes.side_write_exactly_one(SPEND, args, code);
    add_refresh_token(changes, session, project, user)
}

/// The answer for a session: a new access token plus the given refresh token, for the
/// user as `profile` (read before) shows them.
pub async fn answer(
    st: &AppState,
    project: &str,
    user: &str,
    profile: Profile,
    session: &str,
    org: Option<&str>,
    refresh_token: String,
) -> ApiResult<SessionAnswer> {
    let active = profile.active(org);
    let (access_token, claims) = st
        .keys
        .issue(project, user, session, active.as_ref().map(|a| (a.id.clone(), a.role.clone())))
        .await
        .map_err(|e| ApiError { message: e.to_string(), ..ApiError::internal() })?;
    Ok(SessionAnswer {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: claims.exp.saturating_sub(claims.iat),
        session_id: session.into(),
        user: UserRef { id: user.into(), email: profile.email },
        active_organization: active,
        memberships: profile.memberships,
    })
}

/// Create a session for a user who just proved who they are. `extra` adds changes
/// to the same commit (e.g. the user's creation on first sign-in).
pub async fn start(
    st: &AppState,
    project: &str,
    user: &str,
    method: &str,
    meta: &Metadata,
    extra: impl Fn() -> ApiResult<Changes>,
) -> ApiResult<SessionAnswer> {
    // The user as the answer shows them; the session changes none of it.
    let profile = profile(st, project, user).await?.ok_or_else(ApiError::unauthenticated)?;
    start_with_profile(st, project, user, profile, method, meta, extra).await
}

/// `start` for a user whose profile the caller has read already (it shows the user live
/// in the project: the read model has no row for a deleted user).
pub async fn start_with_profile(
    st: &AppState,
    project: &str,
    user: &str,
    profile: Profile,
    method: &str,
    meta: &Metadata,
    extra: impl Fn() -> ApiResult<Changes>,
) -> ApiResult<SessionAnswer> {
    let session_id = new_id("sess_");
    let org = profile.choose_organization();
    let mut refresh = String::new();
    crate::execute!(st, meta, {
        let mut c = extra()?;
        let mut s = authio_eventstore::Loaded::<Session>::fresh(&session_id);
        s.exec(SessionCommand::Create {
            session_id: SessionId::new(&session_id),
            project_id: TenantId::new(project),
            user_id: UserId::new(user),
            method: method.into(),
            active_organization: org.clone().map(OrganizationId::new),
            at: Utc::now(),
        })
        .await?;
        c.add(s)?;
        refresh = add_refresh_token(&mut c, &session_id, project, user);
        Ok(c)
    })?;
    answer(st, project, user, profile, &session_id, org.as_deref(), refresh).await
}

/// The caller acts as an admin of `org`: it is their session's active organization and
/// their membership there is active with the admin role. Another organization, or no
/// active membership, is 404; a member without the admin role is 403.
pub async fn ensure_org_admin(st: &AppState, user: &crate::extract::UserToken, org: &str) -> ApiResult<()> {
    if user.claims.act_org.as_deref() != Some(org) {
        return Err(ApiError::not_found());
    }
    match active_role(st, user.user_id(), org).await? {
        Some(role) if role == authio_domain::organization::ADMIN => Ok(()),
        Some(_) => Err(ApiError::forbidden("only the organization's admins may do this")),
        None => Err(ApiError::not_found()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refresh_token_names_its_session() {
        let (token, row) = new_refresh_token("sess_01abc", "proj_1", "user_1");
        assert_eq!(session_in_token(&token), Some("sess_01abc"));
        assert!(matches!(&row[0], SqlArg::Text(h) if *h == hash_secret(&token)));
        let hex = "0f".repeat(32);
        for named_none in [
            format!("rt_{hex}"),                         // issued before tokens named their session
            format!("rt_user_1.{hex}"),                  // not a session
            format!("rt_sess_1.{}", &hex[1..]),          // short secret
            format!("rt_sess_1.{}x", &hex[1..]),         // not hex
            format!("rt_sess_1'--.{hex}"),               // not an id
            format!("rt_sess_{}.{hex}", "a".repeat(60)), // too long an id
            format!("xx_sess_1.{hex}"),
        ] {
            assert_eq!(session_in_token(&named_none), None, "{named_none}");
        }
    }
}
