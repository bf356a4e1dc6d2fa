//! Handoffs: the hosted pages (on Authio's origin) hand a signed-in session to the
//! application on its own origin by a one-time code, PKCE-bound (S256), redeemed for a
//! token family of the application's own in the same session and organization context.
//! The rules live in `authio_domain::handoff`; this is load, decide, require, commit.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::extract::{PublishableKey, RequestContext, UserToken};
use crate::sessions::{self, Include, SessionAnswer};
use crate::AppState;
use authio_domain::context::{context_key, context_stream_id, SessionContext};
use authio_domain::handoff::{Handoff, HandoffCommand, HandoffError};
use authio_domain::ids::{OrganizationId, SessionId, TenantId, UserId};
use authio_domain::session::{Session, SessionCommand};
use authio_domain::Actor;
use authio_eventstore::{Changes, Loaded, Metadata, SqlArg};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// How long a code may wait for its redemption.
pub const HANDOFF_TTL_SECONDS: i64 = 120;

const SESSION_REQUIRED: &str = "handoff_requires_active_session";
const MEMBER_REQUIRED: &str = "handoff_requires_active_membership";

fn invalid() -> ApiError {
    HandoffError::Invalid.into()
}

/// A PKCE S256 challenge: 43 characters of base64url without padding (a SHA-256).
pub(crate) fn valid_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A PKCE verifier (RFC 7636 §4.1): 43 to 128 unreserved characters.
pub(crate) fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// base64url(SHA-256(verifier)), unpadded.
pub fn challenge_of(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The handoff a code names (`hc_<handoff id>.<64 hex digits>`); nothing for anything
/// malformed.
fn handoff_in_code(code: &str) -> Option<&str> {
    let (id, secret) = code.strip_prefix("hc_")?.split_once('.')?;
    let ok = id.starts_with("hoff_")
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && secret.len() == 64
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then_some(id)
}

/// What the hosted pages show of a project to anyone holding its publishable key.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ProjectBrand {
    pub id: String,
    /// The project's name, as the hosted pages and its mail show it.
    pub name: String,
    /// The environment of the publishable key: `test` or `live`.
    pub environment: String,
    /// `b2b`, `flat` or `b2c`.
    pub mode: String,
}

/// The project of a publishable key, as the hosted pages brand themselves.
pub async fn brand(st: &AppState, key: &PublishableKey) -> ApiResult<ProjectBrand> {
    let row: Option<(String, String)> = sqlx::query_as("SELECT name, mode FROM tenants WHERE id = $1")
        .bind(&key.project_id)
        .fetch_optional(&st.db.pool)
        .await?;
    let (name, mode) = row.ok_or_else(ApiError::unauthenticated)?;
    Ok(ProjectBrand { id: key.project_id.clone(), name, environment: key.environment.clone(), mode })
}

/// A code issued: give it to the application once.
pub struct Issued {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Issue a code for the caller's session and context, to be redeemed by the application
/// at `redirect_url` (allowed for the project as `key`'s environment allows) with the
/// verifier of `challenge`. The caller's context must be open (the token extractor
/// checked it), and the key must be of the token's project.
pub async fn issue(
    st: &AppState,
    key: &PublishableKey,
    user: &UserToken,
    redirect_url: &str,
    challenge: &str,
    method: &str,
    meta: &Metadata,
) -> ApiResult<Issued> {
    if key.project_id != user.project_id() {
        return Err(ApiError::unauthenticated());
    }
    if method != "S256" {
        return Err(ApiError::invalid_field("code_challenge_method", "code_challenge_method must be S256"));
    }
    if !valid_challenge(challenge) {
        return Err(ApiError::invalid_field(
            "code_challenge",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    crate::redirects::check(st, &key.project_id, &key.environment, redirect_url).await?;
    let org = user.claims.act_org.as_deref();
    issue_for(st, user.project_id(), user.session_id(), user.user_id(), org, redirect_url, challenge, meta).await
}

/// Issue a code for `session`'s context of `org`, to `redirect_url` (checked by the
/// caller) and the S256 `challenge` (checked by the caller): the hosted pages' handoff,
/// and an SSO sign-in's hand-over to the application. The context must be open.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn issue_for(
    st: &AppState,
    project: &str,
    session: &str,
    user: &str,
    org: Option<&str>,
    redirect_url: &str,
    challenge: &str,
    meta: &Metadata,
) -> ApiResult<Issued> {
    let id = new_id("hoff_");
    let code = new_secret(&format!("hc_{id}."));
    let at = Utc::now();
    let expires_at = at + Duration::seconds(HANDOFF_TTL_SECONDS);
    let done = crate::execute!(st, meta, {
        let mut h = Loaded::<Handoff>::fresh(&id);
        h.exec(HandoffCommand::Issue {
            handoff_id: id.clone(),
            session_id: SessionId::new(session),
            project_id: TenantId::new(project),
            user_id: UserId::new(user),
            organization: org.map(OrganizationId::new),
            code_hash: hash_secret(&code),
            code_challenge: challenge.to_string(),
            redirect_url: redirect_url.to_string(),
            expires_at,
            at,
        })
        .await?;
        let mut c = Changes::new();
        c.add(h)?;
        // The context is still open when the code is recorded.
        let context = vec![SqlArg::Text(session.into()), SqlArg::Text(context_key(org).into())];
        c.require(sessions::CALLER_CONTEXT_OPEN, context, SESSION_REQUIRED);
        Ok(c)
    });
    match done {
        Ok(_) => Ok(Issued { code, expires_at }),
        Err(e) if e.code == SESSION_REQUIRED => Err(ApiError::unauthenticated()),
        Err(e) => Err(e),
    }
}

/// Redeem a code with its verifier, for the application of `project`: a new token
/// family in the code's session and context. A redeemed code presented again is
/// recorded as reuse and its session revoked; either way the answer is
/// `400 invalid_handoff`, as for an unknown or expired code or a wrong verifier.
pub async fn redeem(
    st: &AppState,
    project: &str,
    code: &str,
    verifier: &str,
    rctx: &RequestContext,
) -> ApiResult<SessionAnswer> {
    let id = handoff_in_code(code).ok_or_else(invalid)?;
    if !valid_verifier(verifier) {
        return Err(ApiError::invalid_field("code_verifier", "code_verifier must be 43 to 128 unreserved characters"));
    }
    // Redemptions of one code take turns in this process: the first wins and the others
    // find it redeemed (across processes the stream's version decides).
    let _turn = st.db.stream_turn::<Handoff>(id).await;
    let h = st.db.load::<Handoff>(id).await?;
    let s = &h.state;
    let genuine = s.issued
        && s.code_hash == hash_secret(code)
        && s.project_id.as_ref().is_some_and(|p| p.0 == project)
        && s.code_challenge == challenge_of(verifier);
    if !genuine {
        return Err(invalid());
    }
    let (sid, uid) =
        (s.session_id.clone().map(|x| x.0).unwrap_or_default(), s.user_id.clone().map(|x| x.0).unwrap_or_default());
    let org = s.organization_id.clone().map(|o| o.0);
    let meta = rctx.metadata(&Actor::User(uid.clone()));
    let mut loaded = Some(h);
    let mut reused = false;
    let mut refresh = String::new();
    let done = crate::execute!(st, &meta, {
        let mut h = match loaded.take() {
            Some(h) => h,
            None => st.db.load::<Handoff>(id).await?,
        };
        if h.state.redeemed {
            reused = true;
            return Err(invalid());
        }
        let mut c = Changes::new();
        let (family, token) =
            open_family(st, &mut c, &sid, project, &uid, org.as_deref(), Include::Memberships).await?;
        h.exec(HandoffCommand::Redeem { family_id: family, at: Utc::now() }).await?;
        c.add(h)?;
        refresh = token;
        Ok(c)
    });
    let rows = match done {
        Ok(rows) => rows,
        Err(_) if reused => {
            record_reuse(st, id, &sid, &meta).await?;
            return Err(invalid());
        }
        Err(e) if e.code == SESSION_REQUIRED => return Err(invalid()),
        Err(e) if e.code == MEMBER_REQUIRED => {
            return Err(sessions::not_a_member(st, project, &uid, org.as_deref().unwrap_or_default()).await)
        }
        Err(e) if e.code == crate::policies::STEP_UP => {
            return Err(crate::policies::step_up_required(st, org.as_deref().unwrap_or_default()).await)
        }
        Err(e) => return Err(e),
    };
    let profile = sessions::profile_of(&rows)?.ok_or_else(ApiError::unauthenticated)?;
    sessions::answer(st, project, &uid, profile, &sid, org.as_deref(), refresh, Include::Memberships, None).await
}

/// Add to `c` a new token family in the session's context of `org` (the hand-over of a
/// signed-in session to an application: a handoff, an OAuth authorization code),
/// required to commit only while the session is active, the user an active member of
/// `org` and its policy met; the commit reads the user's profile. Returns the family id
/// and its first refresh token. The refusals' codes: `SESSION_REQUIRED`,
/// `MEMBER_REQUIRED`, `policies::STEP_UP`.
pub(crate) async fn open_family(
    st: &AppState,
    c: &mut Changes,
    sid: &str,
    project: &str,
    uid: &str,
    org: Option<&str>,
    include: Include,
) -> ApiResult<(String, String)> {
    let text = |a: &str| SqlArg::Text(a.into());
    let ctx = st.db.load::<SessionContext>(&context_stream_id(sid, org)).await?;
    let (g, token, _) = sessions::enter(c, ctx, sid, project, uid, org, None).await?;
    c.require(sessions::SESSION_ACTIVE, vec![text(sid)], SESSION_REQUIRED);
    if let Some(o) = org {
        c.require(sessions::ACTIVE_MEMBER, vec![text(uid), text(project), text(o)], MEMBER_REQUIRED);
        let policy = vec![text(o), text(sid), sessions::now_arg()];
        c.require(crate::policies::met(st.db.dialect), policy, crate::policies::STEP_UP);
    }
    sessions::read_profile(c, uid, project, org, include);
    Ok((g.family, token))
}

/// A redeemed code came back: whoever presents it may hold what it issued, so the
/// session ends with it (`session.handoff_reused`, then `session.revoked` with reason
/// `handoff_code_reused`, in one commit).
async fn record_reuse(st: &AppState, id: &str, session: &str, meta: &Metadata) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut h = st.db.load::<Handoff>(id).await?;
        h.exec(HandoffCommand::RecordReuse { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(h)?;
        revoke_for_reuse(st, &mut c, session, "handoff_code_reused").await?;
        Ok(c)
    })?;
    Ok(())
}

/// Add to `c` the revocation of `session` (when still live) for a one-time code
/// presented again (`reason`), its live refresh tokens retired with it.
pub(crate) async fn revoke_for_reuse(st: &AppState, c: &mut Changes, session: &str, reason: &str) -> ApiResult<()> {
    let mut s = st.db.load::<Session>(session).await?;
    if s.state.ensure_live().is_ok() {
        s.exec(SessionCommand::Revoke { reason: reason.into(), at: Utc::now() }).await?;
        c.add(s)?;
        sessions::supersede_refresh_tokens(c, session);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_handoff() {
        let code = new_secret("hc_hoff_01abc.");
        assert_eq!(handoff_in_code(&code), Some("hoff_01abc"));
        assert_eq!(handoff_in_code("hc_hoff_01abc.xyz"), None);
        assert_eq!(handoff_in_code("rt_fam_1.00"), None);
        assert_eq!(handoff_in_code(""), None);
    }

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(valid_verifier(verifier));
        assert_eq!(challenge_of(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(valid_challenge(&challenge_of(verifier)));
        assert!(!valid_verifier("short"));
        assert!(!valid_challenge("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
    }
}
