//! Sign-in (magic links, sign-in tokens, console sign-in), sessions (switch-org,
//! refresh with reuse detection, revoke), `/v1/me`, introspection and the key set.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, PublishableKey, Query, RequestContext, SecretKey, UserClaims, UserToken};
use crate::sessions::{self, ActiveOrganization, MembershipSummary, SessionAnswer};
use crate::AppState;
use authio_domain::ids::{TenantId, UserId};
use authio_domain::reservation::{user_email_key, Reservation, ReservationCommand};
use authio_domain::user::{User, UserCommand};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes};
use axum::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
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
#[serde(deny_unknown_fields)]
pub struct MagicLinkRequest {
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: String,
    /// Where the link points; the token is appended as `token=…`. Must be allowed by the
    /// project (`/v1/redirect-urls`; `test` keys also allow `http://localhost:*` and
    /// `http://127.0.0.1:*`), else `400 redirect_not_allowed`.
    pub redirect_url: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    pub token: String,
}

/// A valid address, normalized (sign-in is by the identity, not the spelling).
fn check_email(email: &str) -> ApiResult<String> {
    super::project::check_email(email).map(|e| authio_domain::normalize_email(&e))
}

fn check_redirect(url: &Option<String>) -> ApiResult<()> {
    url.as_deref().map_or(Ok(()), crate::redirects::check_form)
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

/// Mail a sign-in link for `product` (the project's name, or "the Authio console"), in
/// plain text and HTML.
async fn send_link(st: &AppState, to: &str, product: &str, link: &str, token: &str) -> ApiResult<()> {
    let subject = format!("Your sign-in link for {product}");
    let text = format!(
        "Sign in to {product} with this link:\n\n{link}\n\nOr paste this code: {token}\n\nIt works once and expires in \
         {MAGIC_LINK_MINUTES} minutes. If you did not ask for it, ignore this message.\n"
    );
    let (p, l, t) =
        (crate::mail::escape_html(product), crate::mail::escape_html(link), crate::mail::escape_html(token));
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\"><p>Sign in to <strong>{p}</strong>:</p>\
         <p><a href=\"{l}\">Sign in</a></p><p>Or paste this code: <code>{t}</code></p>\
         <p>It works once and expires in {MAGIC_LINK_MINUTES} minutes. If you did not ask for it, ignore this \
         message.</p></body></html>"
    );
    let mail = crate::mail::Mail { subject: &subject, text, html };
    st.mailer.send(&st.mail_from, to, mail).await.map_err(|e| match e {
        crate::mail::MailError::Recipient(_) => ApiError::invalid_field("email", "email must be a deliverable address"),
        e => {
            tracing::error!(error = %e, "sending mail failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "mail could not be sent; retry later")
        }
    })
}

/// The project's name, for the mail it sends.
async fn project_name(st: &AppState, project: &str) -> ApiResult<String> {
    Ok(crate::mail::project_name(&st.db, project).await?.unwrap_or_else(|| "your account".into()))
}

/// The sign-in limits: per project and email, and per project and client address.
fn limit(st: &AppState, project: &str, email: &str, ctx: &RequestContext) -> ApiResult<()> {
    let ip = ctx.client_ip.clone().unwrap_or_default();
    let waits = [st.ip_limit.check(&format!("{project}:{ip}")), st.email_limit.check(&format!("{project}:{email}"))];
    match waits.iter().filter_map(|w| w.err()).max() {
        None => Ok(()),
        Some(wait) => Err(crate::ratelimit::refused(wait)),
    }
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
    if let Some(url) = &body.redirect_url {
        crate::redirects::check_link(&st, &pk.project_id, &pk.environment, url).await?;
    }
    limit(&st, &pk.project_id, &email, &ctx)?;
    // A domain whose organization admits only SSO: say where to go instead of mailing a
    // link that could not sign in.
    crate::sso::ensure_not_required(&st, &pk.project_id, &email).await?;
    let (token, _) =
        mint(&st, "ml_", "magic_link", Some(&pk.project_id), &email, body.redirect_url.as_deref(), MAGIC_LINK_MINUTES)
            .await?;
    let url = link(&st, body.redirect_url.as_deref(), "/magic-link", &token);
    let product = project_name(&st, &pk.project_id).await?;
    send_link(&st, &email, &product, &url, &token).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Accepted { accepted: true })))
}

/// The user with this email in the project, created (sign-up) when there is none.
pub(crate) async fn find_or_create_user(
    st: &AppState,
    project: &str,
    email: &str,
    ctx: &RequestContext,
) -> ApiResult<String> {
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
#[utoipa::path(post, path = "/v1/auth/magic-links/verify", tag = "sign-in", request_body = MagicLinkVerify,
    security(("publishable_key" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn verify_magic_link(
    State(st): State<AppState>,
    pk: PublishableKey,
    ctx: RequestContext,
    Json(body): Json<MagicLinkVerify>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let project = pk.project_id.as_str();
    let email = consume(&st, "magic_link", Some(project), &body.token).await?;
    let known: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE project_id = $1 AND email_normalized = $2")
            .bind(project)
            .bind(&email)
            .fetch_optional(&st.db.pool)
            .await?;
    if known.is_none() {
        let tenant = st.db.load::<authio_domain::tenant::Tenant>(project).await?;
        if tenant.state.sign_up == authio_domain::tenant::SignUp::InvitationOnly {
            let admitted = match &body.invitation_code {
                Some(code) => crate::invitations::admits(&st, project, code, &email).await?,
                None => false,
            };
            if !admitted {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "sign_up_closed",
                    "this project admits new users by invitation only",
                ));
            }
        }
    }
    let user = find_or_create_user(&st, project, &email, &ctx).await?;
    let meta = ctx.metadata(&Actor::User(user.clone()));
    // The link proved the address: a verified domain's automatic membership applies.
    crate::domains::join_by_domain(&st, project, &user, &email, &meta).await?;
    // The link proved the address: the invitation for it is accepted before the
    // session starts, which then opens in its organization.
    let mut joined = None;
    if let Some(code) = &body.invitation_code {
        let accepted = crate::invitations::accept(&st, project, &user, code, true, &meta).await?;
        joined = accepted.membership.map(|m| m.organization_id);
    }
    Ok(axum::Json(sessions::start_preferring(&st, project, &user, "magic_link", &meta, joined.as_deref()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MagicLinkVerify {
    pub token: String,
    /// An invitation code for the same email: accepted as part of the sign-in (and, when
    /// sign-up is by invitation only, what lets a new user in).
    pub invitation_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInTokenRequest {
    pub user_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInTokenAnswer {
    /// Single-use, valid 10 minutes; hand it to the frontend.
    pub token: String,
    #[schema(format = DateTime)]
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
#[serde(deny_unknown_fields)]
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
    limit(&st, "console", &email, &ctx)?;
    let (token, _) = mint(&st, "csl_", "console_sign_in", None, &email, None, MAGIC_LINK_MINUTES).await?;
    let url = link(&st, None, "/dashboard/", &token);
    send_link(&st, &email, "the Authio console", &url, &token).await?;
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
#[serde(deny_unknown_fields)]
pub struct SwitchOrg {
    pub organization_id: String,
}

/// Switch into an organization's context: a new token pair for it, same `sub` and
/// `sid`. The session's other contexts (other tabs) keep their tokens.
#[utoipa::path(post, path = "/v1/sessions/switch-org", tag = "sessions", request_body = SwitchOrg,
    params(sessions::IncludeQuery),
    security(("access_token" = [])), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn switch_org(
    State(st): State<AppState>,
    UserClaims(user): UserClaims,
    ctx: RequestContext,
    Query(include): Query<sessions::IncludeQuery>,
    Json(body): Json<SwitchOrg>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let include = include.parse()?;
    let meta = ctx.metadata(&user.actor());
    Ok(axum::Json(sessions::switch(&st, &user, &body.organization_id, include, &meta).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

/// Rotate a refresh token: a new pair in the token's own context, whatever other tabs
/// did meanwhile. A spent one presented again revokes the whole session.
#[utoipa::path(post, path = "/v1/sessions/refresh", tag = "sessions", request_body = RefreshBody,
    params(sessions::IncludeQuery), responses((status = 200, body = SessionAnswer), Errors))]
pub async fn refresh(
    State(st): State<AppState>,
    ctx: RequestContext,
    Query(include): Query<sessions::IncludeQuery>,
    Json(body): Json<RefreshBody>,
) -> ApiResult<axum::Json<SessionAnswer>> {
    let include = include.parse()?;
    Ok(axum::Json(sessions::refresh(&st, &ctx, &body.refresh_token, include, None).await?))
}

/// Sign out: the whole session (every context) is revoked and refresh stops at once.
#[utoipa::path(post, path = "/v1/sessions/revoke", tag = "sessions",
    security(("access_token" = [])), responses((status = 204, description = "revoked"), Errors))]
pub async fn revoke(State(st): State<AppState>, user: UserToken, ctx: RequestContext) -> ApiResult<StatusCode> {
    sessions::revoke_session(&st, user.session_id(), "signed_out", &ctx.metadata(&user.actor())).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's session and its live organization contexts.
#[utoipa::path(get, path = "/v1/sessions/current", tag = "sessions",
    security(("access_token" = [])), responses((status = 200, body = sessions::SessionView), Errors))]
pub async fn current(State(st): State<AppState>, user: UserToken) -> ApiResult<axum::Json<sessions::SessionView>> {
    Ok(axum::Json(sessions::contexts(&st, user.session_id()).await?))
}

/// End one context of the caller's session (`none` for the "no organization" one); the
/// others go on.
#[utoipa::path(post, path = "/v1/sessions/contexts/{organization_id}/revoke", tag = "sessions",
    params(("organization_id" = String, Path, description = "an organization id, or `none`")),
    security(("access_token" = [])), responses((status = 204, description = "closed"), Errors))]
pub async fn revoke_context(
    State(st): State<AppState>,
    user: UserToken,
    ctx: RequestContext,
    Path(org): Path<String>,
) -> ApiResult<StatusCode> {
    let org = (org != "none").then_some(org);
    let meta = ctx.metadata(&user.actor());
    sessions::close_context(&st, user.session_id(), org.as_deref(), "signed_out", &meta).await?;
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
    let mut active_organization = p.active(user.claims.act_org.as_deref());
    if let (Some(a), true) = (active_organization.as_mut(), p.teams_in_tokens) {
        a.teams = Some(crate::teams::slugs_of(&st, &a.id, user.user_id()).await?);
    }
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
    /// The token's permissions (as issued, sorted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// The token's team slugs, when the project puts teams in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

/// The token to introspect: `{token}` as JSON, or RFC 7662's form
/// (`application/x-www-form-urlencoded`, `token=…`, an optional `token_type_hint`).
pub struct IntrospectBody(String);

impl<S: Send + Sync> axum::extract::FromRequest<S> for IntrospectBody {
    type Rejection = ApiError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
        if !form {
            let Json(body) = Json::<TokenBody>::from_request(req, state).await?;
            return Ok(IntrospectBody(body.token));
        }
        let bytes = axum::body::to_bytes(req.into_body(), 64 * 1024).await.map_err(|_| {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        })?;
        let mut token = None;
        for (k, v) in url::form_urlencoded::parse(&bytes) {
            match k.as_ref() {
                "token" if token.is_none() => token = Some(v.into_owned()),
                "token" => return Err(ApiError::invalid_field("token", "token is given twice")),
                "token_type_hint" => {}
                other => return Err(ApiError::invalid_field(other, format!("unknown field {other}"))),
            }
        }
        token.map(IntrospectBody).ok_or_else(|| ApiError::invalid_field("token", "token is required"))
    }
}

/// Is this access token good right now (genuine, unexpired, session active, and its
/// organization's membership still active)? JSON `{token}` or RFC 7662's form body;
/// the secret key as a Bearer token or as HTTP Basic client credentials (key id, secret).
#[utoipa::path(post, path = "/v1/tokens/introspect", tag = "sessions",
    request_body(content((TokenBody = "application/json"), (TokenBody = "application/x-www-form-urlencoded"))),
    security(("secret_key" = [])), responses((status = 200, body = Introspection), Errors))]
pub async fn introspect(
    State(st): State<AppState>,
    key: SecretKey,
    IntrospectBody(token): IntrospectBody,
) -> ApiResult<axum::Json<Introspection>> {
    let inactive = Introspection {
        active: false,
        sub: None,
        sid: None,
        act_org: None,
        org_role: None,
        permissions: None,
        teams: None,
        exp: None,
    };
    let Ok(user) = UserToken::from_token(&token, &st).await else {
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
        permissions: c.permissions,
        teams: c.teams,
        exp: Some(c.exp),
    }))
}

/// The public keys that verify access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses((status = 200, description = "JSON Web Key Set", content_type = "application/json", body = Object)))]
pub async fn jwks(State(st): State<AppState>) -> impl axum::response::IntoResponse {
    // Cached as long as an access token lives: a verifier that meets an unknown `kid`
    // (a key rotated in) fetches again, as JWKS clients do; a retired key leaves caches
    // within that.
    ([(axum::http::header::CACHE_CONTROL, "public, max-age=300")], axum::Json(st.keys.jwks().await))
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "keys",
    responses((status = 200, description = "Issuer metadata", content_type = "application/json", body = Object)))]
pub async fn openid_configuration(State(st): State<AppState>) -> axum::Json<Value> {
    axum::Json(crate::oidc::discovery(&st))
}
