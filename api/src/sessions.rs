//! Creating sessions and building the session answer shared by every sign-in method,
//! switch-org and refresh.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::{RequestContext, UserToken};
use crate::tokens::ClientClaims;
use crate::AppState;
use authio_domain::context::{
    context_key, context_stream_id, ContextCommand, FamilyCommand, RefreshFamily, SessionContext,
};
use authio_domain::ids::{OrganizationId, SessionId, TenantId, UserId};
use authio_domain::session::{Session, SessionCommand, SessionError};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, Loaded, Metadata, SqlArg};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

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
    /// The role's permissions, sorted.
    pub permissions: Vec<String>,
    /// The user's teams here (slugs, sorted), when the project puts teams in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct MembershipSummary {
    pub organization: OrganizationRef,
    pub role: String,
    pub status: String,
    /// The role's permissions (shown for the active organization only).
    #[serde(skip)]
    pub permissions: Vec<String>,
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
    /// Every membership of the user; absent with `?include=` (empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memberships: Option<Vec<MembershipSummary>>,
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
    /// Whether the project puts team slugs in tokens.
    pub teams_in_tokens: bool,
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
            permissions: m.permissions.clone(),
            teams: None,
        })
    }
}

/// The permissions column of a role's row: a JSON array, sorted already (the catalog
/// keeps a role's permissions in a sorted set).
fn permissions_of(json: Option<String>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
}

/// The user's profile and memberships, bound to `$1` (user) and `$2` (project): one row
/// per membership (one with NULL membership columns for a user without any). Columns
/// are named for reading by name (`Changes::read`).
pub const PROFILE: &str = "SELECT u.id AS p_user, u.email AS p_email, u.first_name AS p_first_name, \
     u.last_name AS p_last_name, u.last_organization_id AS p_last_org, o.id AS p_org, o.name AS p_org_name, \
     o.slug AS p_org_slug, m.role AS p_role, m.status AS p_status, r.permissions AS p_perms, \
     CASE WHEN t.teams_in_tokens THEN 'on' END AS p_teams_on \
     FROM users u JOIN tenants t ON t.id = u.project_id \
     LEFT JOIN memberships m ON m.user_id = u.id LEFT JOIN organizations o ON o.id = m.organization_id \
     LEFT JOIN roles r ON r.id = u.project_id || ':' || m.role \
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
        teams_in_tokens: first.try_get::<Option<String>, _>("p_teams_on")?.is_some(),
    };
    for r in std::iter::once(first).chain(user) {
        let Some(id) = r.try_get::<Option<String>, _>("p_org")? else { continue };
        p.memberships.push(MembershipSummary {
            organization: OrganizationRef { id, name: r.try_get("p_org_name")?, slug: r.try_get("p_org_slug")? },
            role: r.try_get("p_role")?,
            status: r.try_get("p_status")?,
            permissions: permissions_of(r.try_get("p_perms")?),
        });
    }
    p.memberships.sort_by(|a, b| a.organization.id.cmp(&b.organization.id));
    Ok(Some(p))
}

/// Where a token family stands: its session, project and user, the organization of its
/// context (none for the "no organization" one) and the context's epoch it was started in.
#[derive(Debug, Clone)]
pub struct Grant {
    pub family: String,
    pub session: String,
    pub project: String,
    pub user: String,
    pub organization: Option<String>,
    pub epoch: u64,
}

impl Grant {
    /// The grant of a started family.
    pub fn of(family: &str, f: &RefreshFamily) -> Option<Grant> {
        Some(Grant {
            family: family.to_string(),
            session: f.session_id.clone()?.0,
            project: f.project_id.clone()?.0,
            user: f.user_id.clone()?.0,
            organization: f.organization_id.clone().map(|o| o.0),
            epoch: f.epoch,
        })
    }
    fn key(&self) -> &str {
        context_key(self.organization.as_deref())
    }
    /// `$1` session, `$2` context key, `$3` epoch: the arguments of `CONTEXT_LIVE`.
    fn context_args(&self) -> Vec<SqlArg> {
        vec![SqlArg::Text(self.session.clone()), SqlArg::Text(self.key().into()), SqlArg::I64(self.epoch as i64)]
    }
}

/// Whether the answer lists the user's memberships (`?include=memberships`, the default)
/// or only the active organization (`?include=`): a switch for a user of 1,000
/// organizations then reads one membership, not 1,000.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    Memberships,
    Nothing,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IncludeQuery {
    /// `memberships` (the default) or empty: whether the answer lists every membership.
    pub include: Option<String>,
}

impl IncludeQuery {
    pub fn parse(&self) -> ApiResult<Include> {
        match self.include.as_deref().map(str::trim) {
            None | Some("memberships") => Ok(Include::Memberships),
            Some("") | Some("none") => Ok(Include::Nothing),
            Some(_) => Err(ApiError::invalid_field("include", "include must be `memberships` or empty")),
        }
    }
}

/// A new live row, its nine values bound as `new_refresh_token` orders them.
const INSERT_LIVE: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, project_id, user_id, state, created_at, \
     expires_at, family_id, context, epoch) VALUES ($1, $2, $3, $4, 'live', $5, $6, $7, $8, $9)";

/// Deletes the live tokens of the session `$1` (sign-out, revocation): a retired token
/// presented again gets the answer an unknown one gets, and a `DELETE` costs PostgreSQL
/// less than an `UPDATE` of an indexed column. Spent tokens stay (until pruned):
/// presenting one again revokes the session.
const SUPERSEDE: &str = "DELETE FROM refresh_tokens WHERE session_id = $1 AND state = 'live'";

/// Deletes the live tokens of the session `$1`'s context `$2` (it was closed or cut).
const SUPERSEDE_CONTEXT: &str = "DELETE FROM refresh_tokens WHERE session_id = $1 AND context = $2 AND state = 'live'";

/// Spends the live, unexpired token of the family: hash `$1`, now `$2`, family `$3`.
const SPEND: &str = "UPDATE refresh_tokens SET state = 'spent', spent_at = $2 WHERE token_hash = $1 \
     AND state = 'live' AND expires_at > $2 AND family_id = $3";

/// The session `$1` is active and its context `$2` open at epoch `$3`.
const CONTEXT_LIVE: &str = "EXISTS (SELECT 1 FROM session_contexts c JOIN sessions s ON s.id = c.session_id \
     WHERE c.session_id = $1 AND c.context = $2 AND c.epoch = $3 AND c.status = 'open' AND s.status = 'active')";

/// The read model does not show the session `$1`'s context `$2` at an epoch other than
/// `$3` or not open (a row pruned while the stream kept the context open is no
/// contradiction: the switch's own event writes it again).
const CONTEXT_NOT_MOVED: &str = "NOT EXISTS (SELECT 1 FROM session_contexts WHERE session_id = $1 AND context = $2 \
     AND (status <> 'open' OR epoch <> $3))";

/// The session `$1` is active.
pub(crate) const SESSION_ACTIVE: &str = "EXISTS (SELECT 1 FROM sessions WHERE id = $1 AND status = 'active')";

/// The session `$1` is active and its context `$2` (the caller's) open: an access token
/// of a context that was closed or cut cannot switch.
pub(crate) const CALLER_CONTEXT_OPEN: &str =
    "EXISTS (SELECT 1 FROM session_contexts c JOIN sessions s ON s.id = c.session_id \
     WHERE c.session_id = $1 AND c.context = $2 AND c.status = 'open' AND s.status = 'active')";

/// Commit codes: a switch requires the membership, the session, and the context as the
/// command saw it; a refresh requires its context live and the user still a member.
const MEMBER_REQUIRED: &str = "switch_requires_active_membership";
const SESSION_REQUIRED: &str = "switch_requires_active_session";
const CONTEXT_SEEN: &str = "switch_requires_context_as_seen";
const CONTEXT_REQUIRED: &str = "refresh_requires_live_context";
const MEMBER_STILL: &str = "refresh_requires_user_and_membership";
const SPENT: &str = "refresh_token_spent";

/// A fresh refresh token of the family, and its row's values for `INSERT_LIVE`. The token
/// names its family (`rt_<family id>.<64 hex digits>`), so a refresh can go straight to
/// the commit (`family_in_token`); the hash covers the whole token, so another family's
/// id in it matches no row.
fn new_refresh_token(g: &Grant) -> (String, Vec<SqlArg>) {
    let token = new_secret(&format!("rt_{}.", g.family));
    let now = Utc::now();
    let row = vec![
        SqlArg::Text(hash_secret(&token)),
        SqlArg::Text(g.session.clone()),
        SqlArg::Text(g.project.clone()),
        SqlArg::Text(g.user.clone()),
        SqlArg::Text(time_text(now)),
        SqlArg::Text(time_text(now + Duration::days(REFRESH_TTL_DAYS))),
        SqlArg::Text(g.family.clone()),
        SqlArg::Text(g.key().into()),
        SqlArg::I64(g.epoch as i64),
    ];
    (token, row)
}

/// Add a fresh refresh token of the family to `changes`; returns the token.
fn add_refresh_token(changes: &mut Changes, g: &Grant) -> String {
    let (token, row) = new_refresh_token(g);
    changes.side_write(INSERT_LIVE, row);
    token
}

/// Retire every live refresh token of the session (sign-out, revocation), and queue a
/// back-channel logout notice for each OAuth client holding a grant in it that takes
/// them (`crate::oidc::logout`), in the same commit: a revocation is never without its
/// notices.
pub fn supersede_refresh_tokens(changes: &mut Changes, session: &str) {
    changes.side_write(SUPERSEDE, vec![SqlArg::Text(session.into())]);
    changes.side_write(crate::oidc::logout::QUEUE, vec![SqlArg::Text(session.into()), now_arg()]);
}

/// The family a refresh token names (tokens issued before families name none, and
/// neither does anything malformed).
pub fn family_in_token(token: &str) -> Option<&str> {
    let (family, secret) = token.strip_prefix("rt_")?.split_once('.')?;
    let well_formed = family.starts_with("fam_")
        && family.len() <= 64
        && family.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some(family)
}

/// Now, as stored text (a policy's maximum session age is measured against it).
pub(crate) fn now_arg() -> SqlArg {
    SqlArg::Text(time_text(Utc::now()))
}

/// The user's profile for the answer, read by the commit: every membership, or only the
/// one in `org` (`Include::Nothing`).
pub(crate) fn read_profile(c: &mut Changes, user: &str, project: &str, org: Option<&str>, include: Include) {
    let (u, p) = (SqlArg::Text(user.into()), SqlArg::Text(project.into()));
    match include {
        Include::Memberships => c.read(PROFILE, vec![u, p]),
        Include::Nothing => c.read(PROFILE_ONE, vec![u, p, SqlArg::Text(context_key(org).into())]),
    }
}

/// `PROFILE` with only the membership in organization `$3` (none for `''`).
const PROFILE_ONE: &str = "SELECT u.id AS p_user, u.email AS p_email, u.first_name AS p_first_name, \
     u.last_name AS p_last_name, u.last_organization_id AS p_last_org, o.id AS p_org, o.name AS p_org_name, \
     o.slug AS p_org_slug, m.role AS p_role, m.status AS p_status, r.permissions AS p_perms, \
     CASE WHEN t.teams_in_tokens THEN 'on' END AS p_teams_on \
     FROM users u JOIN tenants t ON t.id = u.project_id \
     LEFT JOIN memberships m ON m.user_id = u.id AND m.organization_id = $3 \
     LEFT JOIN organizations o ON o.id = m.organization_id \
     LEFT JOIN roles r ON r.id = u.project_id || ':' || m.role \
     WHERE u.id = $1 AND u.project_id = $2";

/// Enter `org`'s context of the session (`ctx`, loaded; opened unless open) and start a
/// token family in it, by a switch from `switch` (`Some(from)`) or a sign-in (`None`).
/// Adds both streams and the family's first token to `c`; returns the grant, the token,
/// and whether the context was opened.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enter(
    c: &mut Changes,
    mut ctx: Loaded<SessionContext>,
    session: &str,
    project: &str,
    user: &str,
    org: Option<&str>,
    switch: Option<Option<String>>,
) -> ApiResult<(Grant, String, bool)> {
    let at = Utc::now();
    ctx.exec(ContextCommand::Enter {
        session_id: SessionId::new(session),
        project_id: TenantId::new(project),
        user_id: UserId::new(user),
        organization: org.map(OrganizationId::new),
        at,
    })
    .await?;
    let opened = !ctx.new_events.is_empty();
    let g = Grant {
        family: new_id("fam_"),
        session: session.into(),
        project: project.into(),
        user: user.into(),
        organization: org.map(str::to_string),
        epoch: ctx.state.epoch,
    };
    let mut f = Loaded::<RefreshFamily>::fresh(&g.family);
    f.exec(FamilyCommand::Start {
        family_id: g.family.clone(),
        session_id: SessionId::new(session),
        project_id: TenantId::new(project),
        user_id: UserId::new(user),
        organization: org.map(OrganizationId::new),
        epoch: g.epoch,
        switch: switch.map(|from| from.map(OrganizationId::new)),
        at,
    })
    .await?;
    c.add(ctx)?;
    c.add(f)?;
    let token = add_refresh_token(c, &g);
    Ok((g, token, opened))
}
/// The answer for a session: a new access token plus the given refresh token, for the
/// user as `profile` (read before) shows them.
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    st: &AppState,
    project: &str,
    user: &str,
    profile: Profile,
    session: &str,
    org: Option<&str>,
    refresh_token: String,
    include: Include,
    client: Option<&ClientClaims>,
) -> ApiResult<SessionAnswer> {
    let mut active = profile.active(org);
    if let (Some(a), true) = (active.as_mut(), profile.teams_in_tokens) {
        a.teams = Some(crate::teams::slugs_of(st, &a.id, user).await?);
    }
    let org_claims = active.as_ref().map(|a| crate::tokens::OrgClaims {
        id: a.id.clone(),
        role: a.role.clone(),
        permissions: a.permissions.clone(),
        teams: a.teams.clone(),
    });
    let (access_token, claims) = st
        .keys
        .issue(project, user, session, org_claims, client)
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
        memberships: (include == Include::Memberships).then_some(profile.memberships),
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

/// `start`, opening the session in `prefer` when the user is an active member there (a
/// sign-in that just accepted an invitation starts in its organization).
pub async fn start_preferring(
    st: &AppState,
    project: &str,
    user: &str,
    method: &str,
    meta: &Metadata,
    prefer: Option<&str>,
) -> ApiResult<SessionAnswer> {
    let mut profile = profile(st, project, user).await?.ok_or_else(ApiError::unauthenticated)?;
    if let Some(org) = prefer.filter(|o| profile.active(Some(o)).is_some()) {
        profile.last_organization_id = Some(org.to_string());
    }
    start_with_profile(st, project, user, profile, method, meta, || Ok(Changes::new())).await
}

/// `start` for a user whose profile the caller has read already (it shows the user live
/// in the project: the read model has no row for a deleted user). The session opens
/// its first context (the organization `Profile::choose_organization` picks, or none)
/// with a token family in it.
pub async fn start_with_profile(
    st: &AppState,
    project: &str,
    user: &str,
    profile: Profile,
    method: &str,
    meta: &Metadata,
    extra: impl Fn() -> ApiResult<Changes>,
) -> ApiResult<SessionAnswer> {
    // A user of a verified domain signs in only as its organization's policy allows,
    // whichever organization the session is for.
    if let Some(owner) = crate::domains::owner_of_address(st, project, &profile.email).await? {
        if !crate::policies::admits_new_session(st, &owner, method).await? {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "sign_in_method_not_allowed",
                format!("the organization that owns this email domain does not allow signing in by {method}"),
            )
            .with_details(serde_json::json!({ "method": method })));
        }
    }
    let session_id = new_id("sess_");
    let mut org = profile.choose_organization();
    if let Some(o) = &org {
        if !crate::policies::admits_new_session(st, o, method).await? {
            org = None;
        }
    }
    let mut refresh = String::new();
    crate::execute!(st, meta, {
        let mut c = extra()?;
        let mut s = Loaded::<Session>::fresh(&session_id);
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
        let ctx = Loaded::<SessionContext>::fresh(&context_stream_id(&session_id, org.as_deref()));
        refresh = enter(&mut c, ctx, &session_id, project, user, org.as_deref(), None).await?.1;
        Ok(c)
    })?;
    answer(st, project, user, profile, &session_id, org.as_deref(), refresh, Include::Memberships, None).await
}

/// Switch the caller's session into `org`: its context is opened, or entered if open,
/// with a token family of its own; no other context's tokens are touched. Concurrent
/// switches commute: each appends to a family stream of its own, and only two first
/// openings of one context meet (the second, retried, finds it open and enters it).
/// Decided as if the user were an active member, the commit requiring it and reading
/// the profile for the answer (on PostgreSQL one statement: one round trip).
pub async fn switch(
    st: &AppState,
    user: &UserToken,
    org: &str,
    include: Include,
    meta: &Metadata,
) -> ApiResult<SessionAnswer> {
    let (sid, project, uid) = (user.session_id(), user.project_id(), user.user_id());
    // The session aggregate stands in for `UserToken`'s read-model check: a revoked
    // session is refused (401), and it must be this token's.
    let s = st.db.load_to_append::<Session>(sid).await?;
    s.state.ensure_live()?;
    let owner = (s.state.user_id.as_ref().map(|u| u.0.as_str()), s.state.project_id.as_ref().map(|p| p.0.as_str()));
    if owner != (Some(uid), Some(project)) {
        return Err(ApiError::unauthenticated());
    }
    let ctx_id = context_stream_id(sid, Some(org));
    let text = |a: &str| SqlArg::Text(a.into());
    // The context as this process has it, unless the commit found it moved on (another
    // process closed or reopened it): then as stored.
    let mut cached = true;
    loop {
        let mut first = cached;
        let mut refresh = String::new();
        let done = crate::execute!(st, meta, {
            let ctx = if std::mem::take(&mut first) {
                st.db.load_to_append::<SessionContext>(&ctx_id).await?
            } else {
                st.db.load::<SessionContext>(&ctx_id).await?
            };
            let mut c = Changes::new();
            let from = Some(user.claims.act_org.clone());
            let (g, token, opened) = enter(&mut c, ctx, sid, project, uid, Some(org), from).await?;
            // The caller's own context first: a token of a closed or cut context is
            // refused (401) whatever it asks for.
            let caller = context_key(user.claims.act_org.as_deref());
            c.require(CALLER_CONTEXT_OPEN, vec![text(sid), text(caller)], SESSION_REQUIRED);
            c.require(ACTIVE_MEMBER, vec![text(uid), text(project), text(org)], MEMBER_REQUIRED);
            let policy = vec![text(org), text(sid), now_arg()];
            c.require(crate::policies::met(st.db.dialect), policy, crate::policies::STEP_UP);
            if !opened {
                c.require(CONTEXT_NOT_MOVED, g.context_args(), CONTEXT_SEEN);
            }
            read_profile(&mut c, uid, project, Some(org), include);
            refresh = token;
            Ok(c)
        });
        let rows = match done {
            Ok(rows) => rows,
            Err(e) if e.code == CONTEXT_SEEN && cached => {
                cached = false;
                continue;
            }
            Err(e) if e.code == MEMBER_REQUIRED => return Err(not_a_member(st, project, uid, org).await),
            Err(e) if e.code == crate::policies::STEP_UP => {
                return Err(crate::policies::step_up_required(st, org).await)
            }
            Err(e) if e.code == SESSION_REQUIRED => return Err(ApiError::unauthenticated()),
            Err(e) => return Err(e),
        };
        // The requirement held, so the user and the membership were there.
        let profile = profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?;
        return answer(st, project, uid, profile, sid, Some(org), refresh, include, None).await;
    }
}

/// Why the user is not let into `org`: gone from the project (401) or not an active
/// member (403 `not_a_member`).
pub(crate) async fn not_a_member(st: &AppState, project: &str, user: &str, org: &str) -> ApiError {
    match profile(st, project, user).await {
        Ok(Some(p)) if p.active(Some(org)).is_some() => ApiError::concurrent(),
        Ok(Some(_)) => SessionError::NotAMember.into(),
        Ok(None) => ApiError::unauthenticated(),
        Err(e) => e,
    }
}

/// What a refresh commit came to.
enum Rotated {
    Done(Box<SessionAnswer>),
    /// The commit did not go through (nothing was written): why.
    Refused(ApiError),
}

/// Rotate a family: the token with hash `hash` spent (it must be the family's, live and
/// unexpired), its successor issued, the refresh recorded on the family's stream; the
/// commit requires the context live at the family's epoch and the user still a member
/// of its organization (or in the project), and reads the profile. Exactly one of any
/// number of concurrent refreshes of one token wins: the spend must change one row.
/// `loaded` is the family as this process has it (a retry, or `None`, reads it).
async fn rotate(
    st: &AppState,
    meta: &Metadata,
    g: &Grant,
    loaded: Option<Loaded<RefreshFamily>>,
    hash: &str,
    include: Include,
    client: Option<&ClientClaims>,
) -> ApiResult<Rotated> {
    let mut loaded = loaded;
    let mut token = String::new();
    let done = crate::execute!(st, meta, {
        let mut f = match loaded.take() {
            Some(f) => f,
            None => st.db.load::<RefreshFamily>(&g.family).await?,
        };
        f.exec(FamilyCommand::Rotate { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(f)?;
        let now = SqlArg::Text(time_text(Utc::now()));
        c.side_write_exactly_one(SPEND, vec![SqlArg::Text(hash.into()), now, SqlArg::Text(g.family.clone())], SPENT);
        token = add_refresh_token(&mut c, g);
        c.require(CONTEXT_LIVE, g.context_args(), CONTEXT_REQUIRED);
        let (u, p) = (SqlArg::Text(g.user.clone()), SqlArg::Text(g.project.clone()));
        match &g.organization {
            Some(o) => {
                c.require(ACTIVE_MEMBER, vec![u, p, SqlArg::Text(o.clone())], MEMBER_STILL);
                // The organization's policy as it is now (a change holds from here on).
                let args = vec![SqlArg::Text(o.clone()), SqlArg::Text(g.session.clone()), now_arg()];
                c.require(crate::policies::met(st.db.dialect), args, crate::policies::STEP_UP);
            }
            None => c.require(IN_PROJECT, vec![u, p], MEMBER_STILL),
        }
        read_profile(&mut c, &g.user, &g.project, g.organization.as_deref(), include);
        Ok(c)
    });
    let rows = match done {
        Ok(rows) => rows,
        Err(e) => return Ok(Rotated::Refused(e)),
    };
    // The token is spent now: whatever fails from here is not taken for reuse.
    let profile = profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?;
    let org = g.organization.as_deref();
    let a = answer(st, &g.project, &g.user, profile, &g.session, org, token, include, client).await?;
    Ok(Rotated::Done(Box::new(a)))
}

/// Rotate a refresh token. A spent one presented again revokes the whole session (every
/// context); a token of a context that was closed, cut or reopened since is refused.
/// `client`: the OAuth client whose grant the token is (its access token names it).
pub async fn refresh(
    st: &AppState,
    rctx: &RequestContext,
    token: &str,
    include: Include,
    client: Option<&ClientClaims>,
) -> ApiResult<SessionAnswer> {
    if token.len() > 256 {
        return Err(ApiError::unauthenticated());
    }
    let hash = hash_secret(token);
    // The quick way: the family the token names, as this process has it, straight to the
    // commit. Any refusal leaves nothing written, and the token is read and decided on
    // below, as for any other, so a made-up token learns nothing here.
    if let Some(family) = family_in_token(token) {
        let f = st.db.load_to_append::<RefreshFamily>(family).await?;
        if let Some(g) = Grant::of(family, &f.state) {
            let meta = rctx.metadata(&Actor::User(g.user.clone()));
            if let Rotated::Done(a) = rotate(st, &meta, &g, Some(f), &hash, include, client).await? {
                return Ok(*a);
            }
        }
    }
    let now = time_text(Utc::now());
    let row = sqlx::query(
        "SELECT t.state, t.session_id, t.project_id, t.user_id, t.expires_at, t.family_id, t.context, t.epoch, \
         s.status, c.status AS context_status, c.epoch AS context_epoch \
         FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id \
         LEFT JOIN session_contexts c ON c.session_id = t.session_id AND c.context = t.context \
         WHERE t.token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(ApiError::unauthenticated)?;
    let (state, session, user): (String, String, String) = (row.try_get(0)?, row.try_get(1)?, row.try_get(3)?);
    let meta = rctx.metadata(&Actor::User(user.clone()));
    let reused = async || -> ApiResult<SessionAnswer> {
        revoke_session(st, &session, "refresh_token_reused", &meta).await?;
        Err(token_reused())
    };
    let expires: String = row.try_get(4)?;
    match state.as_str() {
        "spent" => return reused().await,
        "live" if expires > now => {}
        _ => return Err(ApiError::unauthenticated()),
    }
    // A token issued before families (and so before contexts): it moves into them.
    let Some(family) = row.try_get::<Option<String>, _>(5)? else {
        let project: String = row.try_get(2)?;
        return upgrade_legacy(st, &meta, (&session, &project, &user), &hash, include).await;
    };
    let key: Option<String> = row.try_get(6)?;
    let g = Grant {
        family,
        session: session.clone(),
        project: row.try_get(2)?,
        user: user.clone(),
        organization: key.filter(|k| !k.is_empty()),
        epoch: row.try_get::<Option<i64>, _>(7)?.unwrap_or(0) as u64,
    };
    let session_status: String = row.try_get(8)?;
    let context_status: Option<String> = row.try_get("context_status")?;
    let context_epoch: Option<i64> = row.try_get("context_epoch")?;
    if session_status != "active" || context_epoch != Some(g.epoch as i64) {
        return Err(ApiError::unauthenticated());
    }
    match (context_status.as_deref(), &g.organization) {
        (Some("open"), _) => {}
        // Cut by a deactivation or removal: while the membership is not active again,
        // the user is told why; after a reactivation the old context simply stays dead
        // (a switch opens it anew).
        (Some("cut"), Some(org)) if active_role(st, &user, org).await?.is_none() => return Err(no_longer_member()),
        _ => return Err(ApiError::unauthenticated()),
    }
    match &g.organization {
        Some(org) if active_role(st, &user, org).await?.is_none() => {
            let in_project = profile(st, &g.project, &user).await?.is_some();
            return Err(if in_project { no_longer_member() } else { ApiError::unauthenticated() });
        }
        None if profile(st, &g.project, &user).await?.is_none() => return Err(ApiError::unauthenticated()),
        _ => {}
    }
    // Everything holds, so the quick way met a family this process had stale (another
    // process rotated it), or lost to a concurrent refresh: once more, reading it.
    match rotate(st, &meta, &g, None, &hash, include, client).await? {
        Rotated::Done(a) => Ok(*a),
        Rotated::Refused(e) if e.code == SPENT => reused().await,
        Rotated::Refused(e) if e.code == crate::policies::STEP_UP => match &g.organization {
            Some(org) => Err(crate::policies::step_up_required(st, org).await),
            None => Err(e),
        },
        Rotated::Refused(e) => {
            // A concurrent refresh may have spent the token (and a reuse revoked the
            // session) while this one was deciding: that is reuse too.
            if is_spent(st, &hash).await? {
                return reused().await;
            }
            Err(e)
        }
    }
}

/// Spends a live, unexpired token issued before families: hash `$1`, now `$2`, session `$3`.
const SPEND_LEGACY: &str = "UPDATE refresh_tokens SET state = 'spent', spent_at = $2 WHERE token_hash = $1 \
     AND state = 'live' AND expires_at > $2 AND session_id = $3 AND family_id IS NULL";

/// The refresh of a token issued before contexts: the session's one organization (as
/// the read model has it) becomes its context, opened if need be, with a family whose
/// first token answers. The old token is spent in the same commit (exactly one of
/// concurrent refreshes wins), so presenting it again is reuse, as for any token.
async fn upgrade_legacy(
    st: &AppState,
    meta: &Metadata,
    (session, project, user): (&str, &str, &str),
    hash: &str,
    include: Include,
) -> ApiResult<SessionAnswer> {
    let org: Option<String> =
        sqlx::query_scalar("SELECT active_organization_id FROM sessions WHERE id = $1 AND status = 'active'")
            .bind(session)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
    if let Some(o) = &org {
        if active_role(st, user, o).await?.is_none() {
            return Err(no_longer_member());
        }
    }
    let mut refresh = String::new();
    let rows = crate::execute!(st, meta, {
        let ctx = st.db.load::<SessionContext>(&context_stream_id(session, org.as_deref())).await?;
        let mut c = Changes::new();
        let now = SqlArg::Text(time_text(Utc::now()));
        c.side_write_exactly_one(
            SPEND_LEGACY,
            vec![SqlArg::Text(hash.into()), now, SqlArg::Text(session.into())],
            SPENT,
        );
        refresh = enter(&mut c, ctx, session, project, user, org.as_deref(), None).await?.1;
        let (u, p) = (SqlArg::Text(user.into()), SqlArg::Text(project.into()));
        match &org {
            Some(o) => c.require(ACTIVE_MEMBER, vec![u, p, SqlArg::Text(o.clone())], MEMBER_STILL),
            None => c.require(IN_PROJECT, vec![u, p], MEMBER_STILL),
        }
        c.require(SESSION_ACTIVE, vec![SqlArg::Text(session.into())], SESSION_REQUIRED);
        read_profile(&mut c, user, project, org.as_deref(), include);
        Ok(c)
    });
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) if e.code == SPENT => {
            revoke_session(st, session, "refresh_token_reused", meta).await?;
            return Err(token_reused());
        }
        Err(e) if e.code == MEMBER_STILL => return Err(no_longer_member()),
        Err(e) if e.code == SESSION_REQUIRED => return Err(ApiError::unauthenticated()),
        Err(e) => return Err(e),
    };
    let profile = profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?;
    answer(st, project, user, profile, session, org.as_deref(), refresh, include, None).await
}

fn token_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "refresh_token_reused",
        "this refresh token was already used; the session is revoked",
    )
}

fn no_longer_member() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "not_a_member",
        "the organization of this context is no longer available to this user; switch organization",
    )
}

async fn is_spent(st: &AppState, hash: &str) -> ApiResult<bool> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM refresh_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(state.as_deref() == Some("spent"))
}

/// End the whole session: every context closes and refresh stops at once.
pub async fn revoke_session(st: &AppState, session: &str, reason: &str, meta: &Metadata) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut s = st.db.load::<Session>(session).await?;
        s.exec(SessionCommand::Revoke { reason: reason.into(), at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(s)?;
        supersede_refresh_tokens(&mut c, session);
        Ok(c)
    })?;
    Ok(())
}

/// End one context of a session (`org`, or none): its tokens stop at once, the
/// session's other contexts go on. 404 when it is not open.
pub async fn close_context(
    st: &AppState,
    session: &str,
    org: Option<&str>,
    reason: &str,
    meta: &Metadata,
) -> ApiResult<()> {
    let id = context_stream_id(session, org);
    crate::execute!(st, meta, {
        let mut ctx = st.db.load::<SessionContext>(&id).await?;
        ctx.exec(ContextCommand::Close { reason: reason.into(), at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(ctx)?;
        let args = vec![SqlArg::Text(session.into()), SqlArg::Text(context_key(org).into())];
        c.side_write(SUPERSEDE_CONTEXT, args);
        Ok(c)
    })?;
    Ok(())
}

/// Add to `c` the cut of every open context in organization `org` (of `user`, or of
/// everyone when `None`): the membership was deactivated or removed (`reason`). Their
/// tokens were dead already (each use requires the active membership); this records it.
/// The tokens stay (until pruned), so a refresh is told `403 not_a_member`, not taken
/// for an unknown token.
pub async fn cut_contexts(
    st: &AppState,
    c: &mut Changes,
    org: &str,
    user: Option<&str>,
    reason: &str,
) -> ApiResult<()> {
    let sessions: Vec<String> = sqlx::query_scalar(
        "SELECT session_id FROM session_contexts WHERE organization_id = $1 AND status = 'open' \
         AND ($2 IS NULL OR user_id = $2) ORDER BY session_id",
    )
    .bind(org)
    .bind(user)
    .fetch_all(&st.db.pool)
    .await?;
    for sid in sessions {
        let mut ctx = st.db.load::<SessionContext>(&context_stream_id(&sid, Some(org))).await?;
        ctx.exec(ContextCommand::Cut { reason: reason.into(), at: Utc::now() }).await?;
        c.add(ctx)?;
    }
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContextOrganization {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// One live context of a session.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContextView {
    /// The organization; `null` for the "no organization" context.
    pub organization: Option<ContextOrganization>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When its newest token was issued (by the opening, a switch into it, or a refresh).
    #[schema(format = DateTime)]
    pub last_refreshed_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionView {
    pub session_id: String,
    pub contexts: Vec<ContextView>,
}

/// The newest token of a context `c` at its epoch (a correlated subquery).
const LAST_TOKEN: &str = "(SELECT MAX(t.created_at) FROM refresh_tokens t WHERE t.session_id = c.session_id \
     AND t.context = c.context AND t.epoch = c.epoch)";

/// The live contexts of a session: open, and for an organization with the membership
/// still active; oldest first.
pub async fn contexts(st: &AppState, session: &str) -> ApiResult<SessionView> {
    let sql = format!(
        "SELECT c.organization_id, o.name, m.role, c.opened_at, {LAST_TOKEN} AS last_token \
         FROM session_contexts c LEFT JOIN organizations o ON o.id = c.organization_id \
         LEFT JOIN memberships m ON m.organization_id = c.organization_id AND m.user_id = c.user_id \
         WHERE c.session_id = $1 AND c.status = 'open' AND (c.organization_id IS NULL OR m.status = 'active') \
         ORDER BY c.opened_at, c.context"
    );
    let rows = sqlx::query(&sql).bind(session).fetch_all(&st.db.pool).await?;
    let mut contexts = Vec::with_capacity(rows.len());
    for r in rows {
        let organization = match r.try_get::<Option<String>, _>(0)? {
            Some(id) => Some(ContextOrganization { id, name: r.try_get(1)?, role: r.try_get(2)? }),
            None => None,
        };
        contexts.push(ContextView { organization, created_at: r.try_get(3)?, last_refreshed_at: r.try_get(4)? });
    }
    Ok(SessionView { session_id: session.into(), contexts })
}

/// A member's session as their organization's admins see it: only its context in
/// that organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberSession {
    pub session_id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub last_refreshed_at: Option<String>,
}

/// The live sessions of organization `org`'s active members in it, by session id, after
/// `after`, at most `limit`.
pub async fn org_sessions(st: &AppState, org: &str, after: &str, limit: i64) -> ApiResult<Vec<MemberSession>> {
    let sql = format!(
        "SELECT c.session_id, c.user_id, u.email, m.role, c.opened_at, {LAST_TOKEN} AS last_token \
         FROM session_contexts c JOIN sessions s ON s.id = c.session_id AND s.status = 'active' \
         JOIN memberships m ON m.organization_id = c.organization_id AND m.user_id = c.user_id \
         AND m.status = 'active' JOIN users u ON u.id = c.user_id \
         WHERE c.organization_id = $1 AND c.status = 'open' AND c.session_id > $2 \
         ORDER BY c.session_id LIMIT $3"
    );
    let rows = sqlx::query(&sql).bind(org).bind(after).bind(limit).fetch_all(&st.db.pool).await?;
    rows.iter()
        .map(|r| {
            Ok(MemberSession {
                session_id: r.try_get(0)?,
                user_id: r.try_get(1)?,
                email: r.try_get(2)?,
                role: r.try_get(3)?,
                created_at: r.try_get(4)?,
                last_refreshed_at: r.try_get(5)?,
            })
        })
        .collect()
}

/// Whether session `session` has an open context in `org` of project `project`.
pub async fn has_open_context(st: &AppState, project: &str, session: &str, org: &str) -> ApiResult<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM session_contexts WHERE session_id = $1 AND context = $2 AND project_id = $3 \
         AND status = 'open'",
    )
    .bind(session)
    .bind(org)
    .bind(project)
    .fetch_optional(&st.db.pool)
    .await?;
    Ok(found.is_some())
}

/// What one housekeeping pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub tokens: u64,
    pub contexts: u64,
    /// Back-channel logout notices sent or given up on.
    pub notices: u64,
    /// SAML assertion ids past their expiry (the replay cache).
    pub saml_assertions: u64,
    /// SAML starts' states past their expiry (kept under their RelayState).
    pub saml_relay_states: u64,
}

/// Housekeeping of the session read models (the events stay): delete refresh tokens that
/// expired, were spent (or their context died) more than `retention` before `now`, and
/// contexts that are closed, cut, of a revoked session, of a membership no longer
/// active, or without a live unexpired token; and back-channel logout notices sent or
/// given up on more than `retention` ago; and SAML assertion ids that expired (they can no
/// longer be replayed) and SAML starts' states that expired. A spent token presented
/// after it was pruned is refused as unknown (401) instead of revoking the session.
pub async fn prune(db: &authio_eventstore::Db, now: DateTime<Utc>, retention: Duration) -> Result<Pruned, sqlx::Error> {
    let (now_t, cutoff) = (time_text(now), time_text(now - retention));
    let mut w = db.begin_write().await?;
    let tokens = sqlx::query(
        "DELETE FROM refresh_tokens WHERE expires_at <= $1 \
         OR (state <> 'live' AND COALESCE(spent_at, created_at) <= $2) \
         OR (created_at <= $2 AND NOT EXISTS (SELECT 1 FROM session_contexts c \
             WHERE c.session_id = refresh_tokens.session_id AND c.context = refresh_tokens.context \
             AND c.epoch = refresh_tokens.epoch AND c.status = 'open'))",
    )
    .bind(&now_t)
    .bind(&cutoff)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    let contexts = sqlx::query(
        "DELETE FROM session_contexts WHERE updated_at <= $2 AND (status <> 'open' \
         OR EXISTS (SELECT 1 FROM sessions s WHERE s.id = session_contexts.session_id AND s.status <> 'active') \
         OR (organization_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM memberships m \
             WHERE m.user_id = session_contexts.user_id AND m.organization_id = session_contexts.organization_id \
             AND m.status = 'active')) \
         OR NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.session_id = session_contexts.session_id \
             AND t.context = session_contexts.context AND t.state = 'live' AND t.expires_at > $1))",
    )
    .bind(&now_t)
    .bind(&cutoff)
    .execute(&mut *w.tx)
    .await?
    .rows_affected();
    let notices = sqlx::query("DELETE FROM logout_notices WHERE status <> 'pending' AND updated_at <= $1")
        .bind(&cutoff)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    // SAML assertions past their expiry can no longer be replayed: the cache forgets them.
    let saml_assertions = sqlx::query("DELETE FROM saml_assertions WHERE expires_at <= $1")
        .bind(&now_t)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    // So are SAML starts whose sign-in can no longer finish.
    let saml_relay_states = sqlx::query("DELETE FROM saml_relay_states WHERE expires_at <= $1")
        .bind(&now_t)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    w.tx.commit().await?;
    Ok(Pruned { tokens, contexts, notices, saml_assertions, saml_relay_states })
}

/// Run `prune` every `every` (the first pass after one interval), logging what it did.
pub fn spawn_pruner(
    db: authio_eventstore::Db,
    every: std::time::Duration,
    retention: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match prune(&db, Utc::now(), retention).await {
                Ok(p) => {
                    tracing::info!(
                        tokens = p.tokens,
                        contexts = p.contexts,
                        notices = p.notices,
                        "session housekeeping"
                    )
                }
                Err(e) => tracing::warn!(error = %e, "session housekeeping failed; retried next interval"),
            }
        }
    })
}

/// The organization is the caller's to manage: one of the project's (secret key), or
/// the active organization of an admin's token.
pub async fn ensure_manages(st: &AppState, who: &crate::extract::Manager, org: &str) -> ApiResult<()> {
    match who {
        crate::extract::Manager::OrgAdmin(user) => ensure_org_admin(st, user, org).await,
        crate::extract::Manager::Project(key) => {
            let found: Option<String> =
                sqlx::query_scalar("SELECT id FROM organizations WHERE id = $1 AND project_id = $2")
                    .bind(org)
                    .bind(&key.project_id)
                    .fetch_optional(&st.db.pool)
                    .await?;
            found.map(|_| ()).ok_or_else(ApiError::not_found)
        }
    }
}

/// Who acts, and where: for an org admin, the organization they manage (their token's
/// active one; `org`, when named, must be it: another is 404, a member is 403); for the
/// backend `None`, after checking that `org`, when named, is one of the project's.
pub async fn admin_scope(st: &AppState, who: &crate::extract::Manager, org: Option<&str>) -> ApiResult<Option<String>> {
    use crate::extract::Manager;
    match who {
        Manager::Project(_) => {
            if let Some(o) = org {
                ensure_manages(st, who, o).await?;
            }
            Ok(None)
        }
        Manager::OrgAdmin(user) => {
            let own = user.claims.act_org.clone().ok_or_else(ApiError::not_found)?;
            ensure_org_admin(st, user, org.unwrap_or(&own)).await?;
            Ok(Some(own))
        }
    }
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
    fn a_refresh_token_names_its_family() {
        let g = Grant {
            family: "fam_01abc".into(),
            session: "sess_1".into(),
            project: "proj_1".into(),
            user: "user_1".into(),
            organization: Some("org_1".into()),
            epoch: 2,
        };
        let (token, row) = new_refresh_token(&g);
        assert_eq!(family_in_token(&token), Some("fam_01abc"));
        assert!(matches!(&row[0], SqlArg::Text(h) if *h == hash_secret(&token)));
        assert!(matches!(&row[7], SqlArg::Text(k) if k == "org_1"));
        assert!(matches!(&row[8], SqlArg::I64(2)));
        let hex = "0f".repeat(32);
        for named_none in [
            format!("rt_{hex}"),                        // issued before tokens named anything
            format!("rt_sess_1.{hex}"),                 // issued before families
            format!("rt_user_1.{hex}"),                 // not a family
            format!("rt_fam_1.{}", &hex[1..]),          // short secret
            format!("rt_fam_1.{}x", &hex[1..]),         // not hex
            format!("rt_fam_1'--.{hex}"),               // not an id
            format!("rt_fam_{}.{hex}", "a".repeat(61)), // too long an id
            format!("xx_fam_1.{hex}"),
        ] {
            assert_eq!(family_in_token(&named_none), None, "{named_none}");
        }
    }

    #[test]
    fn include_is_memberships_or_nothing() {
        let q = |s: Option<&str>| IncludeQuery { include: s.map(str::to_string) }.parse();
        assert_eq!(q(None).unwrap(), Include::Memberships);
        assert_eq!(q(Some("memberships")).unwrap(), Include::Memberships);
        assert_eq!(q(Some("")).unwrap(), Include::Nothing);
        assert_eq!(q(Some("bogus")).unwrap_err().code, "invalid_request");
    }
}
