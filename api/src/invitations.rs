//! The application layer of invitations: create (and mail), resend, revoke, accept,
//! find by code, and the sweep that records expiry. The code is mailed, never stored:
//! `invitation_codes` keeps its hash beside the invitation's events (a resend replaces
//! it). A code outlives its invitation's end, so presenting it again is answered with
//! why it no longer works (accepted, revoked, expired) rather than as unknown.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::invitation::{Invitation, InvitationCommand, InvitationError, InvitationState};
use authio_domain::organization::{Organization, OrganizationCommand};
use authio_domain::reservation::{pending_invitation_key, Reservation, ReservationCommand};
use authio_domain::Actor;
use authio_eventstore::{time_text, Changes, Db, Metadata, SqlArg, StoreError};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

/// Default lifetime of an invitation: 7 days.
pub const DEFAULT_EXPIRES_IN: i64 = 7 * 24 * 3600;
/// `expires_in` bounds, in seconds: a minute to 30 days.
pub const EXPIRES_IN_RANGE: std::ops::RangeInclusive<i64> = 60..=30 * 24 * 3600;

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub organization_id: Option<String>,
    pub role: Option<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub state: String,
    pub inviter_user_id: Option<String>,
    #[schema(format = DateTime)]
    pub expires_at: String,
    #[schema(format = DateTime)]
    pub accepted_at: Option<String>,
    pub accepted_user_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

pub const COLS: &str = "id, email, organization_id, role, state, inviter_user_id, expires_at, accepted_at, \
     accepted_user_id, created_at, updated_at";

pub fn view(r: &AnyRow) -> Result<InvitationView, sqlx::Error> {
    Ok(InvitationView {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        organization_id: r.try_get(2)?,
        role: r.try_get(3)?,
        state: r.try_get(4)?,
        inviter_user_id: r.try_get(5)?,
        expires_at: r.try_get(6)?,
        accepted_at: r.try_get(7)?,
        accepted_user_id: r.try_get(8)?,
        created_at: r.try_get(9)?,
        updated_at: r.try_get(10)?,
    })
}

/// The invitation `id` of `project`, as the read model has it.
pub async fn get(st: &AppState, project: &str, id: &str) -> ApiResult<InvitationView> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM invitations WHERE id = $1 AND project_id = $2"))
        .bind(id)
        .bind(project)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(view(&row)?)
}

pub struct Filter {
    pub organization_id: Option<String>,
    pub email: Option<String>,
    pub state: Option<String>,
}

pub async fn list(st: &AppState, project: &str, f: &Filter, after: &str, limit: i64) -> ApiResult<Vec<InvitationView>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM invitations WHERE project_id = $1 AND id > $2 \
         AND ($3 IS NULL OR organization_id = $3) AND ($4 IS NULL OR email = $4) AND ($5 IS NULL OR state = $5) \
         ORDER BY id LIMIT $6"
    ))
    .bind(project)
    .bind(after)
    .bind(&f.organization_id)
    .bind(f.email.as_deref().map(authio_domain::normalize_email))
    .bind(&f.state)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows.iter().map(view).collect::<Result<_, _>>()?)
}

/// The invitation a code names (in `project`), or `invitation_invalid`.
pub async fn id_by_code(db: &Db, project: &str, code: &str) -> ApiResult<String> {
    let invalid = || ApiError::from(InvitationError::NotFound);
    if code.len() > 128 {
        return Err(invalid());
    }
    let id: Option<String> =
        sqlx::query_scalar("SELECT invitation_id FROM invitation_codes WHERE code_hash = $1 AND project_id = $2")
            .bind(hash_secret(code))
            .bind(project)
            .fetch_optional(&db.pool)
            .await?;
    id.ok_or_else(invalid)
}

/// What the accept page shows: the invitation, its organization and its inviter; never
/// anything about other organizations.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub id: String,
    pub email: String,
    pub organization: Option<crate::sessions::OrganizationRef>,
    pub role: Option<String>,
    pub inviter: Option<Inviter>,
    pub state: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Inviter {
    pub email: String,
    pub name: Option<String>,
}

pub async fn preview(st: &AppState, project: &str, code: &str) -> ApiResult<InvitationPreview> {
    let id = id_by_code(&st.db, project, code).await?;
    let inv = get(st, project, &id).await?;
    let organization = match &inv.organization_id {
        Some(org) => sqlx::query("SELECT id, name, slug FROM organizations WHERE id = $1")
            .bind(org)
            .fetch_optional(&st.db.pool)
            .await?
            .map(|r| -> Result<_, sqlx::Error> {
                Ok(crate::sessions::OrganizationRef { id: r.try_get(0)?, name: r.try_get(1)?, slug: r.try_get(2)? })
            })
            .transpose()?,
        None => None,
    };
    let inviter = match &inv.inviter_user_id {
        Some(u) => sqlx::query("SELECT email, first_name, last_name FROM users WHERE id = $1")
            .bind(u)
            .fetch_optional(&st.db.pool)
            .await?
            .map(|r| -> Result<_, sqlx::Error> {
                let (first, last): (Option<String>, Option<String>) = (r.try_get(1)?, r.try_get(2)?);
                let name = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
                Ok(Inviter { email: r.try_get(0)?, name: (!name.is_empty()).then_some(name) })
            })
            .transpose()?,
        None => None,
    };
    // Past its expiry but not yet swept: shown as it will be recorded.
    let expired = inv.state == "pending" && inv.expires_at <= time_text(Utc::now());
    Ok(InvitationPreview {
        id: inv.id,
        email: inv.email,
        organization,
        role: inv.role,
        inviter,
        state: if expired { "expired".into() } else { inv.state },
        expires_at: inv.expires_at,
    })
}

pub struct NewInvitation {
    pub email: String,
    pub organization_id: Option<String>,
    pub role: Option<String>,
    pub expires_in: i64,
    pub inviter_user_id: Option<String>,
    pub redirect_url: Option<String>,
}

fn code_rows(c: &mut Changes, id: &str, project: &str) -> String {
    let code = new_secret("inv_");
    // One statement (a commit's writes may run as one statement, whose parts do not see
    // each other's changes): the invitation's code row is replaced in place.
    c.side_write(
        "INSERT INTO invitation_codes (code_hash, invitation_id, project_id) VALUES ($1, $2, $3) \
         ON CONFLICT (invitation_id) DO UPDATE SET code_hash = excluded.code_hash",
        vec![SqlArg::Text(hash_secret(&code)), SqlArg::Text(id.into()), SqlArg::Text(project.into())],
    );
    code
}

/// Create an invitation and mail it. The organization (if any) is the caller's to
/// manage (checked by the route); the role one it may give.
pub async fn create(st: &AppState, meta: &Metadata, project: &str, new: &NewInvitation) -> ApiResult<InvitationView> {
    let email = authio_domain::normalize_email(&new.email);
    if let Some(org) = &new.organization_id {
        let status: Option<String> = sqlx::query_scalar(
            "SELECT m.status FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.organization_id = $1 AND u.project_id = $2 AND u.email_normalized = $3",
        )
        .bind(org)
        .bind(project)
        .bind(&email)
        .fetch_optional(&st.db.pool)
        .await?;
        if status.as_deref() == Some("active") {
            return Err(already_member());
        }
    }
    let id = new_id("inv_");
    let mut code = String::new();
    let at = Utc::now();
    let expires_at = at + Duration::seconds(new.expires_in);
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        let role = match &new.organization_id {
            Some(org) => {
                let cat = crate::roles::catalog(st, project).await?;
                let role = new.role.clone().unwrap_or_else(|| cat.state.default_role().to_string());
                crate::roles::require_usable(&mut c, &cat, &role, org)?;
                Some(role)
            }
            None => None,
        };
        // One pending invitation per email and organization: the reservation says which.
        // One that is past its expiry but not swept yet is expired here and gives way.
        let key = pending_key(project, new.organization_id.as_deref(), &email);
        let mut r = st.db.load::<Reservation>(&key).await?;
        if let Some(old) = r.state.owner.clone() {
            let mut prior = st.db.load::<Invitation>(&old).await?;
            if prior.state.ensure_open(at).is_ok() {
                return Err(ApiError::conflict("invitation_exists", "a pending invitation for this email exists")
                    .with_details(serde_json::json!({ "id": old })));
            }
            prior.exec(InvitationCommand::Expire { at }).await.map_err(ApiError::from)?;
            c.add(prior)?;
            r.exec(ReservationCommand::Release { owner: old }).await.map_err(|_| ApiError::internal())?;
        }
        r.exec(ReservationCommand::Claim { owner: id.clone() }).await.map_err(|_| ApiError::concurrent())?;
        c.add(r)?;
        let mut inv = authio_eventstore::Loaded::<Invitation>::fresh(&id);
        inv.exec(InvitationCommand::Create {
            invitation_id: id.clone(),
            project_id: TenantId::new(project),
            organization_id: new.organization_id.as_deref().map(OrganizationId::new),
            email: email.clone(),
            role,
            inviter_user_id: new.inviter_user_id.as_deref().map(UserId::new),
            expires_at,
            at,
        })
        .await?;
        c.add(inv)?;
        code = code_rows(&mut c, &id, project);
        Ok(c)
    })?;
    mail(st, project, &id, &email, &code, new.redirect_url.as_deref(), expires_at).await?;
    get(st, project, &id).await
}

fn pending_key(project: &str, org: Option<&str>, email: &str) -> String {
    pending_invitation_key(project, org.unwrap_or(""), email)
}

/// The invitation stops being pending: its reservation is given up, in `c`.
async fn release_pending(db: &Db, c: &mut Changes, project: &str, inv: &Invitation) -> Result<(), StoreError> {
    let key = pending_key(project, inv.organization_id.as_ref().map(|o| o.as_str()), &inv.email);
    c.add(crate::reservations::release(db, &key, &inv.id).await?)
}

fn already_member() -> ApiError {
    ApiError::conflict("already_member", "the user is an active member of this organization already")
}

/// Mail the invitation: its accept link (`redirect` + `invitation_code=`, or this
/// server's `/invitations/accept`) and the code.
async fn mail(
    st: &AppState,
    project: &str,
    id: &str,
    to: &str,
    code: &str,
    redirect: Option<&str>,
    expires_at: DateTime<Utc>,
) -> ApiResult<()> {
    let link = match redirect {
        Some(r) => format!("{r}{}invitation_code={code}", if r.contains('?') { '&' } else { '?' }),
        None => format!("{}/invitations/accept?invitation_code={code}", st.keys.issuer),
    };
    let product = crate::mail::project_name(&st.db, project).await?;
    let org: Option<String> = sqlx::query_scalar(
        "SELECT o.name FROM invitations i JOIN organizations o ON o.id = i.organization_id WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&st.db.pool)
    .await?;
    let product = product.unwrap_or_else(|| "the app".into());
    let place = match &org {
        Some(o) => format!("{o} on {product}"),
        None => product.clone(),
    };
    let until = expires_at.format("%Y-%m-%d %H:%M UTC");
    let subject = format!("You are invited to {place}");
    let text = format!(
        "You are invited to join {place}.\n\nAccept the invitation:\n\n{link}\n\nOr use this code: {code}\n\n\
         It works once and expires {until}.\n"
    );
    let (p, l, c) = (crate::mail::escape_html(&place), crate::mail::escape_html(&link), crate::mail::escape_html(code));
    let html = format!(
        "<!doctype html><html><body style=\"font-family: sans-serif\"><p>You are invited to join <strong>{p}</strong>.</p>\
         <p><a href=\"{l}\">Accept the invitation</a></p><p>Or use this code: <code>{c}</code></p>\
         <p>It works once and expires {until}.</p></body></html>"
    );
    let mail = crate::mail::Mail { subject: &subject, text, html };
    st.mailer.send(&st.mail_from, to, mail).await.map_err(|e| {
        tracing::error!(error = %e, invitation = id, "sending an invitation failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the invitation was recorded but its mail could not be sent; resend it later",
        )
    })
}

/// Load the invitation `id` of `project` for a change (404 when it is another's).
async fn load(st: &AppState, project: &str, id: &str) -> ApiResult<authio_eventstore::Loaded<Invitation>> {
    let inv = st.db.load::<Invitation>(id).await?;
    if inv.state.created && inv.state.project_id.as_ref().is_some_and(|p| p.as_str() == project) {
        Ok(inv)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn revoke(st: &AppState, meta: &Metadata, project: &str, id: &str) -> ApiResult<InvitationView> {
    crate::execute!(st, meta, {
        let mut inv = load(st, project, id).await?;
        inv.exec(InvitationCommand::Revoke { at: Utc::now() }).await?;
        let mut c = Changes::new();
        release_pending(&st.db, &mut c, project, &inv.state).await?;
        c.add(inv)?;
        Ok(c)
    })?;
    get(st, project, id).await
}

pub async fn resend(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    id: &str,
    expires_in: i64,
    redirect: Option<&str>,
) -> ApiResult<InvitationView> {
    let mut code = String::new();
    let mut email = String::new();
    let expires_at = Utc::now() + Duration::seconds(expires_in);
    crate::execute!(st, meta, {
        let mut inv = load(st, project, id).await?;
        inv.exec(InvitationCommand::Resend { expires_at, at: Utc::now() }).await?;
        email = inv.state.email.clone();
        let mut c = Changes::new();
        c.add(inv)?;
        code = code_rows(&mut c, id, project);
        Ok(c)
    })?;
    mail(st, project, id, &email, &code, redirect, expires_at).await?;
    get(st, project, id).await
}

/// The user's address and whether it is verified, from the read model.
async fn user_email(st: &AppState, project: &str, user: &str) -> ApiResult<(String, bool)> {
    let row = sqlx::query(
        "SELECT email_normalized, CASE WHEN email_verified THEN 1 ELSE 0 END FROM users WHERE id = $1 AND project_id = $2",
    )
    .bind(user)
    .bind(project)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(ApiError::unauthenticated)?;
    Ok((row.try_get(0)?, row.try_get::<i64, _>(1)? != 0))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationAccepted {
    pub invitation: InvitationView,
    /// The membership it made active (none for an invitation to the project).
    pub membership: Option<crate::views::MembershipView>,
}

/// `user` accepts the invitation `code` names. `email_proven`: the caller has just
/// proven the address (a magic link), whatever the user's record says.
pub async fn accept(
    st: &AppState,
    project: &str,
    user: &str,
    code: &str,
    email_proven: bool,
    meta: &Metadata,
) -> ApiResult<InvitationAccepted> {
    let id = id_by_code(&st.db, project, code).await?;
    let (email, verified) = user_email(st, project, user).await?;
    let new_membership = new_id("mem_");
    let mut membership = None;
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        let mut inv = load(st, project, &id).await?;
        let now = Utc::now();
        // The invitation's own refusals come first (expired, revoked, another email).
        inv.state.ensure_open(now)?;
        let mut joined = None;
        if let Some(org) = inv.state.organization_id.clone() {
            let cat = crate::roles::catalog(st, project).await?;
            let role = inv.state.role.clone().unwrap_or_else(|| cat.state.default_role().to_string());
            let mut o = st.db.load::<Organization>(org.as_str()).await?;
            if !o.state.is_live() {
                return Err(ApiError::from(InvitationError::NotFound));
            }
            // Checked here so that a wrong email is not answered `already_member`.
            if authio_domain::normalize_email(&email) != inv.state.email {
                return Err(InvitationError::EmailMismatch.into());
            }
            crate::roles::require_usable(&mut c, &cat, &role, org.as_str())?;
            o.exec(OrganizationCommand::JoinByInvitation {
                membership_id: MembershipId::new(&new_membership),
                user_id: UserId::new(user),
                role,
                at: now,
            })
            .await
            .map_err(|e| match e {
                authio_domain::organization::OrganizationError::MembershipExists => already_member(),
                e => e.into(),
            })?;
            joined = o.state.membership_of(&UserId::new(user)).map(|(id, _)| id.clone());
            c.add(o)?;
        }
        inv.exec(InvitationCommand::Accept {
            user_id: UserId::new(user),
            email: email.clone(),
            email_verified: verified || email_proven,
            membership_id: joined.clone(),
            at: now,
        })
        .await?;
        release_pending(&st.db, &mut c, project, &inv.state).await?;
        c.add(inv)?;
        membership = joined;
        Ok(c)
    })?;
    let membership = match membership {
        Some(m) => Some(
            crate::views::one(
                &st.db,
                crate::views::MEMBERSHIP_COLS,
                "memberships",
                m.as_str(),
                project,
                crate::views::membership,
            )
            .await?,
        ),
        None => None,
    };
    Ok(InvitationAccepted { invitation: get(st, project, &id).await?, membership })
}

/// Whether `code` names a pending, unexpired invitation of `project` for `email` (what
/// lets a new user sign up while sign-up is closed).
pub async fn admits(st: &AppState, project: &str, code: &str, email: &str) -> ApiResult<bool> {
    let Ok(id) = id_by_code(&st.db, project, code).await else { return Ok(false) };
    let inv = st.db.load::<Invitation>(&id).await?;
    Ok(inv.state.ensure_open(Utc::now()).is_ok() && inv.state.email == authio_domain::normalize_email(email))
}

/// Record the expiry of every pending invitation past its `expires_at` at `now`; the
/// number recorded. One commit per invitation, so a failure leaves the others done.
pub async fn sweep_expired(db: &Db, now: DateTime<Utc>) -> Result<u64, StoreError> {
    let due: Vec<String> =
        sqlx::query_scalar("SELECT id FROM invitations WHERE state = 'pending' AND expires_at <= $1 ORDER BY id")
            .bind(time_text(now))
            .fetch_all(&db.pool)
            .await?;
    let mut meta = Metadata::new();
    meta.insert("actor_type".into(), Actor::System.kind().into());
    let mut n = 0;
    for id in due {
        let mut inv = db.load::<Invitation>(&id).await?;
        if inv.state.state != InvitationState::Pending {
            continue;
        }
        inv.exec(InvitationCommand::Expire { at: now }).await.map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if inv.new_events.is_empty() {
            continue;
        }
        let mut c = Changes::new();
        let project = inv.state.project_id.as_ref().map(|p| p.as_str().to_string()).unwrap_or_default();
        release_pending(db, &mut c, &project, &inv.state).await?;
        c.add(inv)?;
        match db.commit_with(c, &meta, Some(&authio_projections::Inline)).await {
            Ok(_) => n += 1,
            // Accepted, revoked or resent meanwhile: the next sweep decides again.
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Run `sweep_expired` every `every`, logging what it did.
pub fn spawn_sweeper(db: Db, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match sweep_expired(&db, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(expired = n, "invitations expired"),
                Err(e) => tracing::warn!(error = %e, "invitation sweep failed; retried next interval"),
            }
        }
    })
}
