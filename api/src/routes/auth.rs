//! Sign-in (magic links, sign-in tokens, console sign-in), sessions (switch-org,
//! refresh with reuse detection, revoke), `/v1/me`, introspection and the key set.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PublishableKey, RequestContext, SecretKey, UserClaims, UserToken};
use crate::openapi::Errors;
use crate::sessions::{self, ActiveOrganization, MembershipSummary, SessionAnswer};
use crate::AppState;
use authio_domain::ids::{OrganizationId, TenantId, UserId};
use authio_domain::reservation::{user_email_key, Reservation, ReservationCommand};
use authio_domain::session::{Session, SessionCommand};
use authio_domain::user::{User, UserCommand};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, SqlArg};
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

/// Magic links and console sign-in links are valid 15 minutes, sign-in tokens 10.
const MAGIC_LINK_MINUTES: i64 = 15;
const SIGN_IN_TOKEN_MINUTES: i64 = 10;

#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Always `true`: the same answer whether or not the address is known.
    pub accepted: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MagicLinkRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: String,
    /// Where the link points; the token is appended as `token=…`.
    pub redirect_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenBody {
    pub token: String,
}

/// A valid address, normalized (sign-in is by the identity, not the spelling).
fn check_email(email: &str) -> ApiResult<String> {
    super::project::check_email(email).map(|e| authio_domain::normalize_email(&e))
}

fn check_redirect(url: &Option<String>) -> ApiResult<()> {
    match url {
        Some(u)
            if !(u.starts_with("https://") || u.starts_with("http://"))
                || u.len() > 2048
                || u.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Err(ApiError::invalid_field("redirect_url", "redirect_url must be an absolute http(s) URL"))
        }
        _ => Ok(()),
    }
}

fn rate_limited() -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many sign-in requests; retry later")
}

fn invalid_token() -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", "the token is unknown, expired or already used")
}

/// Store a single-use token (hashed) and return it.
async fn mint(
    st: &AppState,
    prefix: &str,
    purpose: &str,
    project: Option<&str>,
    subject: &str,
    redirect: Option<&str>,
    minutes: i64,
) -> ApiResult<(String, chrono::DateTime<Utc>)> {
    let token = new_secret(prefix);
    let now = Utc::now();
    let expires = now + Duration::minutes(minutes);
    sqlx::query(
        "INSERT INTO one_time_tokens (token_hash, purpose, project_id, subject, redirect_url, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(hash_secret(&token))
    .bind(purpose)
    .bind(project)
    .bind(subject)
    .bind(redirect)
    .bind(time_text(now))
    .bind(time_text(expires))
    .execute(&st.db.pool)
    .await?;
    Ok((token, expires))
}

/// Spend a single-use token: exactly one caller wins, and only before it expires and
/// for the purpose and project it was made for. Returns its subject.
async fn consume(st: &AppState, purpose: &str, project: Option<&str>, token: &str) -> ApiResult<String> {
    if token.len() > 256 {
        return Err(invalid_token());
    }
    let now = time_text(Utc::now());
    let subject: Option<String> = sqlx::query_scalar(
        "UPDATE one_time_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL \
         AND expires_at > $1 AND COALESCE(project_id, '') = COALESCE($4, '') RETURNING subject",
    )
    .bind(&now)
    .bind(hash_secret(token))
    .bind(purpose)
    .bind(project)
    .fetch_optional(&st.db.pool)
    .await?;
    subject.ok_or_else(invalid_token)
}

fn link(st: &AppState, redirect: Option<&str>, path: &str, token: &str) -> String {
    match redirect {
        Some(r) => format!("{r}{}token={token}", if r.contains('?') { '&' } else { '?' }),
        None => format!("{}{path}?token={token}", st.keys.issuer),
    }
}

async fn send_link(st: &AppState, to: &str, subject: &str, link: &str, token: &str) -> ApiResult<()> {
    let body = format!(
        "Sign in with this link:\n\n{link}\n\nOr paste this code: {token}\n\nIt works once and expires in {MAGIC_LINK_MINUTES} minutes. \
         If you did not ask for it, ignore this message.\n"
    );
    st.mailer.send(&st.mail_from, to, subject, &body).await.map_err(|e| match e {
        crate::mail::MailError::Recipient(_) => ApiError::invalid_field("email", "email must be a deliverable address"),
        e => {
            tracing::error!(error = %e, "sending mail failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "mail could not be sent; retry later")
        }
    })
}

fn limit(st: &AppState, email: &str, ctx: &RequestContext) -> ApiResult<()> {
    let ip = ctx.client_ip.clone().unwrap_or_default();
    if !st.ip_limit.allow(&format!("ip:{ip}")) || !st.email_limit.allow(&format!("email:{email}")) {
        return Err(rate_limited());
    }
    Ok(())
}

/// Send a magic link. Known and unknown addresses get the same answer.
#[utoipa::path(post, path = "/v1/auth/magic-links", tag = "sign-in", request_body = MagicLinkRequest,
    security(("publishable_key" = [])),
    responses((status = 202, body = Accepted), (status = 429, body = crate::error::ErrorBody), Errors))]
pub async fn send_magic_link(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<MagicLinkRequest>,
) -> ApiResult<(StatusCode, axum::Json<Accepted>)> {
    let email = check_email(&body.email)?;
    check_redirect(&body.redirect_url)?;
    limit(&st, &format!("{}:{email}", pk.project_id), &ctx)?;
    let (token, _) =
        mint(&st, "ml_", "magic_link", Some(&pk.project_id), &email, body.redirect_url.as_deref(), MAGIC_LINK_MINUTES)
            .await?;
    let url = link(&st, body.redirect_url.as_deref(), "/magic-link", &token);
    send_link(&st, &email, "Your sign-in link", &url, &token).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Accepted { accepted: true })))
}

/// The user with this email in the project, created (sign-up) when there is none.
async fn find_or_create_user(st: &AppState, project: &str, email: &str, ctx: &RequestContext) -> ApiResult<String> {
    let key = user_email_key(project, email);
    let new_user = new_id("user_");
    let mut user_id = String::new();
    let meta = ctx.metadata(&Actor::System);
    crate::execute!(st, &meta, {
        let mut r = st.db.load::<Reservation>(&key).await?;
        let mut c = Changes::new();
        match r.state.owner.clone() {
            Some(owner) => user_id = owner,
            None => {
                r.exec(ReservationCommand::Claim { owner: new_user.clone() })
                    .await
                    .map_err(|_| ApiError::concurrent())?;
                c.add(r)?;
                let mut u = st.db.load::<User>(&new_user).await?;
                u.exec(UserCommand::Create {
                    user_id: UserId::new(&new_user),
                    project_id: TenantId::new(project),
                    email: email.to_string(),
                    first_name: None,
                    last_name: None,
                    email_verified: true,
                    at: Utc::now(),
                })
                .await?;
                c.add(u)?;
                user_id = new_user.clone();
            }
        }
        Ok(c)
    })?;
    Ok(user_id)
}

/// Exchange a magic link's token for a session (signing the user up on first use).
#[utoipa::path(post, path = "/v1/auth/magic-links/verify", tag = "sign-in", request_body = TokenBody,
    security(("publishable_key" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn verify_magic_link(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<TokenBody>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let email = consume(&st, "magic_link", Some(&pk.project_id), &body.token).await?;
    let user = find_or_create_user(&st, &pk.project_id, &email, &ctx).await?;
    let meta = ctx.metadata(&Actor::User(user.clone()));
    Ok(axum::Json(sessions::start(&st, &pk.project_id, &user, "magic_link", &meta, || Ok(Changes::new())).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInTokenRequest {
    pub user_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInTokenAnswer {
    /// Single-use, valid 10 minutes; hand it to the frontend.
    pub token: String,
    pub expires_at: String,
}

/// Issue a single-use sign-in token for a user (the project's backend only; audited).
#[utoipa::path(post, path = "/v1/sign-in-tokens", tag = "sign-in", request_body = SignInTokenRequest,
    security(("secret_key" = [])), responses((status = 201, body = SignInTokenAnswer), Errors))]
pub async fn create_sign_in_token(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<SignInTokenRequest>,
) -> ApiResult<(StatusCode, axum::Json<SignInTokenAnswer>)> {
    let meta = ctx.metadata(&key.actor());
    let token_id = new_id("sit_");
    let (token, expires) =
        mint(&st, "st_", "sign_in_token", Some(&key.project_id), &body.user_id, None, SIGN_IN_TOKEN_MINUTES).await?;
    let issued = crate::execute!(st, &meta, {
        let mut u = st.db.load::<User>(&body.user_id).await?;
        if !u.state.is_live() || u.state.project_id.as_ref().map(TenantId::as_str) != Some(key.project_id.as_str()) {
            return Err(ApiError::not_found());
        }
        u.exec(UserCommand::IssueSignInToken { token_id: token_id.clone(), expires_at: expires, at: Utc::now() })
            .await?;
        let mut c = Changes::new();
        c.add(u)?;
        Ok(c)
    });
    if let Err(e) = issued {
        // The token was never handed out; make sure it can never be used.
        sqlx::query("DELETE FROM one_time_tokens WHERE token_hash = $1")
            .bind(hash_secret(&token))
            .execute(&st.db.pool)
            .await?;
        return Err(e);
    }
    Ok((StatusCode::CREATED, axum::Json(SignInTokenAnswer { token, expires_at: time_text(expires) })))
}

/// Exchange a sign-in token for a session.
#[utoipa::path(post, path = "/v1/auth/sign-in-tokens/verify", tag = "sign-in", request_body = TokenBody,
    security(("publishable_key" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn verify_sign_in_token(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<TokenBody>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let user = consume(&st, "sign_in_token", Some(&pk.project_id), &body.token).await?;
    // The read model has no row for a user deleted since the token was issued.
    let profile = sessions::profile(&st, &pk.project_id, &user).await?.ok_or_else(invalid_token)?;
    let meta = ctx.metadata(&Actor::User(user.clone()));
    let none = || Ok(Changes::new());
    let answer = sessions::start_with_profile(&st, &pk.project_id, &user, profile, "sign_in_token", &meta, none);
    Ok(axum::Json(answer.await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ConsoleSignIn {
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsoleToken {
    /// A console session token (`cs_…`).
    pub token: String,
}

/// Operators sign in to the console by email link.
#[utoipa::path(post, path = "/v1/session/sign-in", tag = "console sign-in", request_body = ConsoleSignIn,
    responses((status = 202, body = Accepted), (status = 429, body = crate::error::ErrorBody), Errors))]
pub async fn console_sign_in(
    State(st): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<ConsoleSignIn>,
) -> ApiResult<(StatusCode, axum::Json<Accepted>)> {
    let email = check_email(&body.email)?;
    limit(&st, &format!("console:{email}"), &ctx)?;
    let (token, _) = mint(&st, "csl_", "console_sign_in", None, &email, None, MAGIC_LINK_MINUTES).await?;
    let url = link(&st, None, "/console/sign-in", &token);
    send_link(&st, &email, "Your Authio console sign-in link", &url, &token).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Accepted { accepted: true })))
}

#[utoipa::path(post, path = "/v1/session/sign-in/verify", tag = "console sign-in", request_body = TokenBody,
    responses((status = 200, body = ConsoleToken), Errors))]
pub async fn console_sign_in_verify(
    State(st): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<TokenBody>,
) -> ApiResult<axum::Json<ConsoleToken>> {
    let email = consume(&st, "console_sign_in", None, &body.token).await?;
    let meta = ctx.metadata(&Actor::System);
    let token = crate::cli::issue_console_token(&st.db, &email, "magic_link", &meta)
        .await
        .map_err(|e| ApiError { message: e.to_string(), ..ApiError::internal() })?;
    st.pipeline.kick();
    Ok(axum::Json(ConsoleToken { token }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SwitchOrg {
    pub organization_id: String,
}

/// Switch the session's active organization: a new token pair, same `sub` and `sid`.
#[utoipa::path(post, path = "/v1/sessions/switch-org", tag = "sessions", request_body = SwitchOrg,
    security(("access_token" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn switch_org(
    State(st): State<AppState>,
    UserClaims(user): UserClaims,
    ctx: RequestContext,
    Json(body): Json<SwitchOrg>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let meta = ctx.metadata(&user.actor());
    let mut refresh = String::new();
    // Decide as if the user were an active member of the organization, and let the
    // commit require it and read the user's memberships for the answer, in the same
    // transaction (on PostgreSQL one statement: one round trip for the whole switch).
    // When the requirement fails, `switch_org_checked` reads first and gives the answer
    // a non-member (or a deleted user) gets.
    let mut loaded = Some(st.db.load_to_append::<Session>(user.session_id()).await?);
    let switched = crate::execute!(st, &meta, {
        let mut c = switch_changes(&st, &user, &body.organization_id, true, &mut loaded, &mut refresh).await?;
        let (u, p, o) = (user.user_id(), user.project_id(), body.organization_id.as_str());
        c.require(sessions::ACTIVE_MEMBER, [u, p, o].map(|a| SqlArg::Text(a.into())).to_vec(), MEMBER_REQUIRED);
        c.read(sessions::PROFILE, [u, p].map(|a| SqlArg::Text(a.into())).to_vec());
        Ok(c)
    });
    let (profile, refresh) = match switched {
        // The requirement held, so the user and the membership were there.
        Ok(rows) => (sessions::profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?, refresh),
        Err(e) if e.code == MEMBER_REQUIRED => switch_org_checked(&st, &user, &meta, &body).await?,
        Err(e) => return Err(e),
    };
    let answer = sessions::answer(
        &st,
        user.project_id(),
        user.user_id(),
        profile,
        user.session_id(),
        Some(&body.organization_id),
        refresh,
    );
    Ok(axum::Json(answer.await?))
}

/// The code of a switch's requirement that the user be an active member.
const MEMBER_REQUIRED: &str = "switch_requires_active_membership";

/// The changes of a switch of `user`'s session to `org`: the event, decided on the
/// session `loaded` (taken; a retry reads it), and the session's refresh token replaced
/// (the new one in `refresh`).
async fn switch_changes(
    st: &AppState,
    user: &UserToken,
    org: &str,
    has_active_membership: bool,
    loaded: &mut Option<authio_eventstore::Loaded<Session>>,
    refresh: &mut String,
) -> ApiResult<Changes> {
    let mut s = match loaded.take() {
        Some(s) => s,
        None => st.db.load::<Session>(user.session_id()).await?,
    };
    // The session aggregate stands in for `UserToken`'s read-model check: a revoked
    // session is refused by the command (401), and it must be this token's.
    let owner = (s.state.user_id.as_ref().map(|u| u.0.as_str()), s.state.project_id.as_ref().map(|p| p.0.as_str()));
    if s.state.is_live() && owner != (Some(user.user_id()), Some(user.project_id())) {
        return Err(ApiError::unauthenticated());
    }
    s.exec(SessionCommand::SwitchOrganization { to: OrganizationId::new(org), has_active_membership, at: Utc::now() })
        .await?;
    let mut c = Changes::new();
    c.add(s)?;
    *refresh = sessions::replace_refresh_tokens(&mut c, user.session_id(), user.project_id(), user.user_id());
    Ok(c)
}

/// A switch that reads the user's memberships first and decides on them: for the user
/// who is not (or no longer) an active member of the organization, or was deleted.
/// Returns the profile read and the new refresh token.
async fn switch_org_checked(
    st: &AppState,
    user: &UserToken,
    meta: &authio_eventstore::Metadata,
    body: &SwitchOrg,
) -> ApiResult<(sessions::Profile, String)> {
    let profile =
        sessions::profile(st, user.project_id(), user.user_id()).await?.ok_or_else(ApiError::unauthenticated)?;
    let has_active_membership = profile.active(Some(&body.organization_id)).is_some();
    let mut refresh = String::new();
    let mut loaded = Some(st.db.load::<Session>(user.session_id()).await?);
    crate::execute!(st, meta, {
        switch_changes(st, user, &body.organization_id, has_active_membership, &mut loaded, &mut refresh).await
    })?;
    Ok((profile, refresh))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RefreshBody {
    pub refresh_token: String,
}

async fn revoke_session(
    st: &AppState,
    session: &str,
    reason: &str,
    meta: &authio_eventstore::Metadata,
) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut s = st.db.load::<Session>(session).await?;
        s.exec(SessionCommand::Revoke { reason: reason.into(), at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(s)?;
        sessions::supersede_refresh_tokens(&mut c, session);
        Ok(c)
    })?;
    Ok(())
}

async fn is_spent(st: &AppState, hash: &str) -> ApiResult<bool> {
    let state: Option<String> = sqlx::query_scalar("SELECT state FROM refresh_tokens WHERE token_hash = $1")
        .bind(hash)
        .fetch_optional(&st.db.pool)
        .await?;
    Ok(state.as_deref() == Some("spent"))
}

/// Rotate a refresh token. A spent one presented again revokes the whole session.
#[utoipa::path(post, path = "/v1/sessions/refresh", tag = "sessions", request_body = RefreshBody,
    responses((status = 200, body = SessionAnswer), Errors))]
pub async fn refresh(
    State(st): State<AppState>,
    ctx: RequestContext,
    Json(body): Json<RefreshBody>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    if body.refresh_token.len() > 256 {
        return Err(ApiError::unauthenticated());
    }
    let hash = hash_secret(&body.refresh_token);
    if let Some(answer) = refresh_in_one(&st, &ctx, &body.refresh_token, &hash).await? {
        return Ok(axum::Json(answer));
    }
    // A token that names no session, or one whose quick refresh did not commit: read
    // it first and decide on what it shows.
    let now = time_text(Utc::now());
    let row = sqlx::query(
        "SELECT state, session_id, project_id, user_id, expires_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(ApiError::unauthenticated)?;
    let (state, session, project, user, expires): (String, String, String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
    let reused = async || -> ApiResult<axum::Json<SessionAnswer>> {
        let meta = ctx.metadata(&Actor::User(user.clone()));
        revoke_session(&st, &session, "refresh_token_reused", &meta).await?;
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "refresh_token_reused",
            "this refresh token was already used; the session is revoked",
        ))
    };
    match state.as_str() {
        "spent" => return reused().await,
        "live" if expires > now => {}
        _ => return Err(ApiError::unauthenticated()),
    }
    // The cached session without reading it: a refresh appends to it, so a session that
    // another process moved on (revoked, say) fails the commit, and the retry reads it.
    let mut loaded = Some(st.db.load_to_append::<Session>(&session).await?);
    let meta = ctx.metadata(&Actor::User(user.clone()));
    // First as if the user were still there and a member of the session's organization,
    // the commit requiring it and reading the user's memberships for the answer (on
    // PostgreSQL one statement). When the requirement fails, again with the user read
    // first, which gives the answer a deleted user or a former member gets.
    let mut checked = false;
    loop {
        let live = loaded.as_ref().is_some_and(|s| s.state.is_live());
        let profile = if checked || !live {
            // A deleted user has no row in the read model any more.
            let profile = if live { sessions::profile(&st, &project, &user).await? } else { None };
            let Some(profile) = profile else {
                if is_spent(&st, &hash).await? {
                    return reused().await;
                }
                return Err(ApiError::unauthenticated());
            };
            Some(profile)
        } else {
            None
        };
        let mut new_token = String::new();
        // Spending the token, recording the refresh and storing its successor commit
        // together: exactly one of any number of concurrent refreshes wins.
        // The first attempt decides on the session as loaded above; a retry reloads it.
        let mut org = None;
        let done = crate::execute!(st, &meta, {
            let mut s = match loaded.take() {
                Some(s) => s,
                None => st.db.load::<Session>(&session).await?,
            };
            // The organization of the session as committed (a retry may see another).
            org = s.state.active_organization.clone().map(|o| o.0);
            if let (Some(o), Some(profile)) = (org.as_deref(), &profile) {
                if profile.active(Some(o)).is_none() {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "not_a_member",
                        "the session's organization is no longer available to this user; switch organization",
                    ));
                }
            }
            s.exec(SessionCommand::Refresh { at: Utc::now() }).await?;
            let mut c = Changes::new();
            c.add(s)?;
            let owner = (session.as_str(), project.as_str(), user.as_str());
            // `now` is the time the token was found unexpired at, so the spend cannot
            // fail for its expiry (which would be taken for reuse below).
            new_token = sessions::spend_refresh_token(&mut c, &hash, &now, owner, "refresh_token_spent");
            if profile.is_none() {
                require_still_member_and_read(&mut c, &user, &project, org.as_deref());
            }
            Ok(c)
        });
        let profile = match (done, profile) {
            (Ok(_), Some(profile)) => profile,
            (Ok(rows), None) => sessions::profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?,
            (Err(e), _) if e.code == MEMBER_STILL => {
                checked = true;
                loaded = Some(st.db.load::<Session>(&session).await?);
                continue;
            }
            (Err(e), _) if e.code == "refresh_token_spent" => return reused().await,
            (Err(e), _) => {
                // A concurrent refresh may have spent the token (and a reuse revoked the
                // session) while this one was deciding: that is reuse too.
                if is_spent(&st, &hash).await? {
                    return reused().await;
                }
                return Err(e);
            }
        };
        let answer = sessions::answer(&st, &project, &user, profile, &session, org.as_deref(), new_token);
        return Ok(axum::Json(answer.await?));
    }
}

/// The refresh of a token that names its session (`sessions::session_in_token`), without
/// reading the token first: decided on the session as this process has it, and
/// committed (on PostgreSQL as one statement) only if the token is that session's, live
/// and unexpired, the user is still in the project and, when the session has an active
/// organization, an active member of it; the commit reads the user's memberships for
/// the answer. `None` when the token names no session, the session is not live, or the
/// commit fails for any reason: nothing was written, and the caller reads the token and
/// decides as for any other, so a made-up token learns nothing here.
async fn refresh_in_one(
    st: &AppState,
    ctx: &RequestContext,
    token: &str,
    hash: &str,
) -> ApiResult<Option<SessionAnswer>> {
    let Some(session) = sessions::session_in_token(token) else { return Ok(None) };
    let s = st.db.load_to_append::<Session>(session).await?;
    let (Some(user), Some(project)) = (s.state.user_id.clone(), s.state.project_id.clone()) else {
        return Ok(None);
    };
    if !s.state.is_live() {
        return Ok(None);
    }
    let (user, project) = (user.0, project.0);
    let meta = ctx.metadata(&Actor::User(user.clone()));
    let mut loaded = Some(s);
    let mut new_token = String::new();
    let mut org = None;
    let done = crate::execute!(st, &meta, {
        let mut s = match loaded.take() {
            Some(s) => s,
            None => st.db.load::<Session>(session).await?,
        };
        if s.state.user_id.as_ref().map(|u| u.0.as_str()) != Some(user.as_str()) {
            return Err(ApiError::unauthenticated());
        }
        org = s.state.active_organization.clone().map(|o| o.0);
        s.exec(SessionCommand::Refresh { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(s)?;
        let owner = (session, project.as_str(), user.as_str());
        new_token = sessions::spend_refresh_token(&mut c, hash, &time_text(Utc::now()), owner, "refresh_token_spent");
        require_still_member_and_read(&mut c, &user, &project, org.as_deref());
        Ok(c)
    });
    let Ok(rows) = done else { return Ok(None) };
    // The token is spent now: from here on there is no going back to the slow path (it
    // would see a spent token and revoke the session).
    let profile = sessions::profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?;
    let answer = sessions::answer(st, &project, &user, profile, session, org.as_deref(), new_token).await?;
    Ok(Some(answer))
}

/// A refresh's commit requires the user still in the project and, when the session has
/// an active organization `org`, an active member of it (`MEMBER_STILL` otherwise), and
/// reads the user's memberships for the answer.
fn require_still_member_and_read(c: &mut Changes, user: &str, project: &str, org: Option<&str>) {
    let (u, p) = (SqlArg::Text(user.into()), SqlArg::Text(project.into()));
    match org {
        Some(o) => c.require(sessions::ACTIVE_MEMBER, vec![u.clone(), p.clone(), SqlArg::Text(o.into())], MEMBER_STILL),
        None => c.require(sessions::IN_PROJECT, vec![u.clone(), p.clone()], MEMBER_STILL),
    }
    c.read(sessions::PROFILE, vec![u, p]);
}

/// The code of a refresh's requirement that the user still be in the project and, when
/// the session has an active organization, an active member of it.
const MEMBER_STILL: &str = "refresh_requires_user_and_membership";

/// Sign out: the session is revoked and refresh stops at once.
#[utoipa::path(post, path = "/v1/sessions/revoke", tag = "sessions",
    security(("access_token" = [])), responses((status = 204, description = "revoked"), Errors))]
pub async fn revoke(State(st): State<AppState>, user: UserToken, ctx: RequestContext) -> ApiResult<StatusCode> {
    revoke_session(&st, user.session_id(), "signed_out", &ctx.metadata(&user.actor())).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeUser {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub user: MeUser,
    pub session_id: String,
    pub active_organization: Option<ActiveOrganization>,
    pub memberships: Vec<MembershipSummary>,
}

/// The signed-in user, their active organization and their own memberships.
#[utoipa::path(get, path = "/v1/me", tag = "sessions",
    security(("access_token" = [])), responses((status = 200, body = Me), Errors))]
pub async fn me(State(st): State<AppState>, user: UserToken) -> ApiResult<axum::Json<Me>> {
    let p = sessions::profile(&st, user.project_id(), user.user_id()).await?.ok_or_else(ApiError::unauthenticated)?;
    let active_organization = p.active(user.claims.act_org.as_deref());
    let sessions::Profile { email, first_name, last_name, memberships, .. } = p;
    Ok(axum::Json(Me {
        user: MeUser { id: user.user_id().to_string(), email, first_name, last_name },
        session_id: user.session_id().to_string(),
        active_organization,
        memberships,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Introspection {
    pub active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act_org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// Is this access token good right now (genuine, unexpired, session active, and its
/// organization's membership still active)?
#[utoipa::path(post, path = "/v1/tokens/introspect", tag = "sessions", request_body = TokenBody,
    security(("secret_key" = [])), responses((status = 200, body = Introspection), Errors))]
pub async fn introspect(
    State(st): State<AppState>,
    key: SecretKey,
    Json(body): Json<TokenBody>,
) -> ApiResult<axum::Json<Introspection>> {
    let inactive = Introspection { active: false, sub: None, sid: None, act_org: None, org_role: None, exp: None };
    let Ok(user) = UserToken::from_token(&body.token, &st).await else {
        return Ok(axum::Json(inactive));
    };
    if user.project_id() != key.project_id {
        return Ok(axum::Json(inactive));
    }
    if let Some(org) = &user.claims.act_org {
        if sessions::active_role(&st, user.user_id(), org).await?.is_none() {
            return Ok(axum::Json(inactive));
        }
    }
    let c = user.claims;
    Ok(axum::Json(Introspection {
        active: true,
        sub: Some(c.sub),
        sid: Some(c.sid),
        act_org: c.act_org,
        org_role: c.org_role,
        exp: Some(c.exp),
    }))
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JSON Web Key Set", content_type = "application/json", body = Object)))]
pub async fn jwks(State(st): State<AppState>) -> axum::Json<Value> {
    axum::Json(st.keys.jwks().await)
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "keys",
    responses((status = 200, description = "Issuer metadata", content_type = "application/json", body = Object)))]
pub async fn openid_configuration(State(st): State<AppState>) -> axum::Json<Value> {
    let issuer = &st.keys.issuer;
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "introspection_endpoint": format!("{issuer}/v1/tokens/introspect"),
    }))
}
