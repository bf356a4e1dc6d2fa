//! Users, organizations and memberships, managed by the project's backend (secret key).
use super::console::{check_name, check_slug, slug_or_derived};
use crate::crypto::new_id;
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Manager, Query, RequestContext, SecretKey, UserToken};
use crate::views::{
    self, MembershipList, MembershipView, OrganizationList, OrganizationView, Page, UserList, UserView,
};
use crate::AppState;
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::organization::{Authority, MembershipStatus, Organization, OrganizationCommand};
use authio_domain::reservation::{organization_slug_key, user_email_key};
use authio_domain::session::{Session, SessionCommand};
use authio_domain::tenant::{Tenant, TenantCommand};
use authio_domain::user::{User, UserCommand};
use authio_eventstore::{Changes, Db, Loaded};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// A valid address, trimmed (the spelling is kept; uniqueness uses the normalized form).
pub(crate) fn check_email(email: &str) -> ApiResult<String> {
    if authio_domain::is_valid_email(email) {
        Ok(email.trim().to_string())
    } else {
        Err(ApiError::invalid_field("email", "email must be a valid address"))
    }
}

fn check_person_name(field: &str, v: &Option<String>) -> ApiResult<()> {
    match v {
        Some(s) if s.chars().count() > 200 || s.chars().any(char::is_control) => {
            Err(ApiError::invalid_field(field, format!("{field} must be at most 200 printable characters")))
        }
        _ => Ok(()),
    }
}

fn check_domains(domains: &[String]) -> ApiResult<Vec<String>> {
    if domains.len() > 50 {
        return Err(ApiError::invalid_field("domains", "at most 50 domains"));
    }
    domains
        .iter()
        .map(|d| {
            let d = d.trim().to_lowercase();
            if authio_domain::is_host_name(&d) {
                Ok(d)
            } else {
                Err(ApiError::invalid_field("domains", "each domain must be a valid host name"))
            }
        })
        .collect()
}

/// The live user of this project, loaded from its stream (authoritative), or 404.
async fn load_user(db: &Db, id: &str, project: &str) -> ApiResult<Loaded<User>> {
    let u = db.load::<User>(id).await?;
    if u.state.is_live() && u.state.project_id.as_ref().map(TenantId::as_str) == Some(project) {
        Ok(u)
    } else {
        Err(ApiError::not_found())
    }
}

async fn load_org(db: &Db, id: &str, project: &str) -> ApiResult<Loaded<Organization>> {
    let o = db.load::<Organization>(id).await?;
    if o.state.is_live() && o.state.project_id.as_ref().map(TenantId::as_str) == Some(project) {
        Ok(o)
    } else {
        Err(ApiError::not_found())
    }
}

// ---------------------------------------------------------------- users

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: String,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub first_name: Option<String>,
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub last_name: Option<String>,
    pub email_verified: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[schema(
        max_length = 254,
        pattern = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
    )]
    pub email: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    pub email_verified: Option<bool>,
}

/// Create a user; the email is unique per project, case-insensitively.
#[utoipa::path(post, path = "/v1/users", tag = "users", request_body = CreateUser,
    security(("secret_key" = [])), responses((status = 201, body = UserView), Errors))]
pub async fn create_user(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateUser>,
) -> ApiResult<(StatusCode, axum::Json<UserView>)> {
    let email = check_email(&body.email)?;
    check_person_name("first_name", &body.first_name)?;
    check_person_name("last_name", &body.last_name)?;
    let user_id = new_id("user_");
    let meta = ctx.metadata(&key.actor());
    let at = Utc::now();
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        c.add(
            crate::reservations::claim(
                &st.db,
                &user_email_key(&key.project_id, &email),
                &user_id,
                "email_taken",
                "the email",
            )
            .await?,
        )?;
        let mut u = st.db.load::<User>(&user_id).await?;
        u.exec(UserCommand::Create {
            user_id: UserId::new(&user_id),
            project_id: TenantId::new(&key.project_id),
            email: email.clone(),
            first_name: body.first_name.clone(),
            last_name: body.last_name.clone(),
            email_verified: body.email_verified.unwrap_or(false),
            at,
        })
        .await?;
        c.add(u)?;
        Ok(c)
    })?;
    // The answer is what was committed, not read back: once the commit went through, a
    // database that goes away cannot turn the answer into a 503 (a retry would then meet
    // `email_taken`). The read model's row holds the same values.
    let created = authio_eventstore::time_text(at);
    let view = views::UserView {
        id: user_id,
        email,
        first_name: body.first_name,
        last_name: body.last_name,
        email_verified: body.email_verified.unwrap_or(false),
        created_at: created.clone(),
        updated_at: created,
    };
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Exact match, case-insensitive.
    pub email: Option<String>,
}

/// The project's users, optionally filtered by email.
#[utoipa::path(get, path = "/v1/users", tag = "users", params(UserFilter, Page),
    security(("secret_key" = [])), responses((status = 200, body = UserList), Errors))]
pub async fn list_users(
    State(st): State<AppState>,
    key: SecretKey,
    Query(filter): Query<UserFilter>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<UserList>> {
    let limit = page.limit()?;
    let email = filter.email.as_deref().map(authio_domain::normalize_email);
    let rows = sqlx::query(&format!(
        "SELECT {} FROM users WHERE project_id = $1 AND id > $2 AND ($3 IS NULL OR email_normalized = $3) \
         ORDER BY id LIMIT $4",
        views::USER_COLS
    ))
    .bind(&key.project_id)
    .bind(page.after()?)
    .bind(email)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    let items = rows.iter().map(views::user).collect::<Result<Vec<_>, _>>()?;
    let (data, next_cursor) = views::paginate(items, limit, |u: &UserView| u.id.clone());
    Ok(axum::Json(UserList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 200, body = UserView), Errors))]
pub async fn get_user(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<UserView>> {
    Ok(axum::Json(views::one(&st.db, views::USER_COLS, "users", &id, &key.project_id, views::user).await?))
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)), request_body = UpdateUser,
    security(("secret_key" = [])), responses((status = 200, body = UserView), Errors))]
pub async fn update_user(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<axum::Json<UserView>> {
    let new_email = body.email.as_deref().map(check_email).transpose()?;
    check_person_name("first_name", &body.first_name.clone().flatten())?;
    check_person_name("last_name", &body.last_name.clone().flatten())?;
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut u = load_user(&st.db, &id, &key.project_id).await?;
        let old_email = u.state.email.clone();
        let email_change = new_email.clone().filter(|e| *e != old_email);
        if let Some(e) = &email_change {
            let (old_key, new_key) = (user_email_key(&key.project_id, &old_email), user_email_key(&key.project_id, e));
            if old_key != new_key {
                c.add(crate::reservations::claim(&st.db, &new_key, &id, "email_taken", "the email").await?)?;
                c.add(crate::reservations::release(&st.db, &old_key, &id).await?)?;
            }
        }
        u.exec(UserCommand::Update {
            email: email_change,
            first_name: body.first_name.clone(),
            last_name: body.last_name.clone(),
            email_verified: body.email_verified,
            at: Utc::now(),
        })
        .await?;
        c.add(u)?;
        Ok(c)
    })?;
    Ok(axum::Json(views::one(&st.db, views::USER_COLS, "users", &id, &key.project_id, views::user).await?))
}

/// Delete a user and every membership they hold.
#[utoipa::path(delete, path = "/v1/users/{id}", tag = "users", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_user(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut u = load_user(&st.db, &id, &key.project_id).await?;
        let email_key = user_email_key(&key.project_id, &u.state.email);
        u.exec(UserCommand::Delete { at: Utc::now() }).await?;
        c.add(u)?;
        c.add(crate::reservations::release(&st.db, &email_key, &id).await?)?;
        let orgs: Vec<String> = sqlx::query_scalar("SELECT organization_id FROM memberships WHERE user_id = $1")
            .bind(&id)
            .fetch_all(&st.db.pool)
            .await?;
        for org_id in orgs {
            let mut o = st.db.load::<Organization>(&org_id).await?;
            o.exec(OrganizationCommand::RemoveUser { user_id: UserId::new(&id), at: Utc::now() }).await?;
            c.add(o)?;
            crate::teams::leave_teams(&st, &mut c, &org_id, Some(&id)).await?;
        }
        let live: Vec<String> = sqlx::query_scalar("SELECT id FROM sessions WHERE user_id = $1 AND status = 'active'")
            .bind(&id)
            .fetch_all(&st.db.pool)
            .await?;
        for sid in live {
            let mut s = st.db.load::<Session>(&sid).await?;
            s.exec(SessionCommand::Revoke { reason: "user_deleted".into(), at: Utc::now() }).await?;
            c.add(s)?;
            crate::sessions::supersede_refresh_tokens(&mut c, &sid);
        }
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every membership of the user, across organizations (secret key only).
#[utoipa::path(get, path = "/v1/users/{id}/memberships", tag = "users", params(("id" = String, Path), Page),
    security(("secret_key" = [])), responses((status = 200, body = MembershipList), Errors))]
pub async fn user_memberships(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<MembershipList>> {
    views::one(&st.db, "id", "users", &id, &key.project_id, |r| sqlx::Row::try_get::<String, _>(r, 0)).await?;
    list_memberships_where(&st, &key, None, Some(id), None, &page).await
}

// ---------------------------------------------------------------- organizations

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganization {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    pub domains: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganization {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    pub domains: Option<Vec<String>>,
}

/// Create an organization (b2b tenants only); the slug is unique per project.
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", request_body = CreateOrganization,
    security(("secret_key" = [])), responses((status = 201, body = OrganizationView), Errors))]
pub async fn create_organization(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateOrganization>,
) -> ApiResult<(StatusCode, axum::Json<OrganizationView>)> {
    let name = check_name("name", &body.name)?;
    let org_id = new_id("org_");
    let slug = slug_or_derived(body.slug.as_deref(), &name, &org_id)?;
    let domains = check_domains(body.domains.as_deref().unwrap_or_default())?;
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut t = st.db.load::<Tenant>(&key.project_id).await?;
        t.exec(TenantCommand::AddOrganization { organization_id: OrganizationId::new(&org_id) }).await?;
        c.add(t)?;
        c.add(
            crate::reservations::claim(
                &st.db,
                &organization_slug_key(&key.project_id, &slug),
                &org_id,
                "slug_taken",
                "the slug",
            )
            .await?,
        )?;
        let mut o = st.db.load::<Organization>(&org_id).await?;
        o.exec(OrganizationCommand::Create {
            organization_id: OrganizationId::new(&org_id),
            project_id: TenantId::new(&key.project_id),
            name: name.clone(),
            slug: slug.clone(),
            domains: domains.clone(),
            at: Utc::now(),
        })
        .await?;
        c.add(o)?;
        Ok(c)
    })?;
    let view =
        views::one(&st.db, views::ORG_COLS, "organizations", &org_id, &key.project_id, views::organization).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations", tag = "organizations", params(Page),
    security(("secret_key" = [])), responses((status = 200, body = OrganizationList), Errors))]
pub async fn list_organizations(
    State(st): State<AppState>,
    key: SecretKey,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<OrganizationList>> {
    let (data, next_cursor) = views::page_where(
        &st.db,
        views::ORG_COLS,
        "organizations",
        ("project_id", &key.project_id),
        &page,
        views::organization,
        |o| o.id.clone(),
    )
    .await?;
    Ok(axum::Json(OrganizationList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 200, body = OrganizationView), Errors))]
pub async fn get_organization(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<OrganizationView>> {
    Ok(axum::Json(
        views::one(&st.db, views::ORG_COLS, "organizations", &id, &key.project_id, views::organization).await?,
    ))
}

#[utoipa::path(patch, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    request_body = UpdateOrganization, security(("secret_key" = [])), responses((status = 200, body = OrganizationView), Errors))]
pub async fn update_organization(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<UpdateOrganization>,
) -> ApiResult<axum::Json<OrganizationView>> {
    let name = body.name.as_deref().map(|n| check_name("name", n)).transpose()?;
    let slug = body.slug.as_deref().map(check_slug).transpose()?;
    let domains = body.domains.as_deref().map(check_domains).transpose()?;
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut o = load_org(&st.db, &id, &key.project_id).await?;
        let slug_change = slug.clone().filter(|s| *s != o.state.slug);
        if let Some(s) = &slug_change {
            c.add(
                crate::reservations::claim(
                    &st.db,
                    &organization_slug_key(&key.project_id, s),
                    &id,
                    "slug_taken",
                    "the slug",
                )
                .await?,
            )?;
            c.add(
                crate::reservations::release(&st.db, &organization_slug_key(&key.project_id, &o.state.slug), &id)
                    .await?,
            )?;
        }
        o.exec(OrganizationCommand::Update {
            name: name.clone(),
            slug: slug_change,
            domains: domains.clone(),
            at: Utc::now(),
        })
        .await?;
        c.add(o)?;
        Ok(c)
    })?;
    Ok(axum::Json(
        views::one(&st.db, views::ORG_COLS, "organizations", &id, &key.project_id, views::organization).await?,
    ))
}

/// Delete an organization and its memberships.
#[utoipa::path(delete, path = "/v1/organizations/{id}", tag = "organizations", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_organization(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut o = load_org(&st.db, &id, &key.project_id).await?;
        let slug_key = organization_slug_key(&key.project_id, &o.state.slug);
        o.exec(OrganizationCommand::Delete { at: Utc::now() }).await?;
        c.add(o)?;
        c.add(crate::reservations::release(&st.db, &slug_key, &id).await?)?;
        let mut t = st.db.load::<Tenant>(&key.project_id).await?;
        t.exec(TenantCommand::RemoveOrganization { organization_id: OrganizationId::new(&id) }).await?;
        c.add(t)?;
        crate::sessions::cut_contexts(&st, &mut c, &id, None, "organization_deleted").await?;
        crate::teams::leave_teams(&st, &mut c, &id, None).await?;
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------- memberships

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMembership {
    pub user_id: String,
    pub organization_id: String,
    /// Default: the project's default role (`member` unless changed). A project-wide role
    /// or one of the organization's own.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: String,
}

/// Add a user to an organization (active at once).
#[utoipa::path(post, path = "/v1/memberships", tag = "memberships", request_body = CreateMembership,
    security(("secret_key" = [])), responses((status = 201, body = MembershipView), Errors))]
pub async fn create_membership(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateMembership>,
) -> ApiResult<(StatusCode, axum::Json<MembershipView>)> {
    let membership_id = new_id("mem_");
    let meta = ctx.metadata(&key.actor());
    // Members added to one organization at once wait for each other here, instead of
    // losing the race at commit.
    let _turn = st.db.stream_turn::<Organization>(&body.organization_id).await;
    crate::execute!(st, &meta, {
        load_user(&st.db, &body.user_id, &key.project_id).await?;
        let mut o = load_org(&st.db, &body.organization_id, &key.project_id).await?;
        let mut c = Changes::new();
        let cat = crate::roles::catalog(&st, &key.project_id).await?;
        let role = body.role.clone().unwrap_or_else(|| cat.state.default_role().to_string());
        crate::roles::require_usable(&mut c, &cat, &role, &body.organization_id)?;
        o.exec(OrganizationCommand::AddMembership {
            membership_id: MembershipId::new(&membership_id),
            user_id: UserId::new(&body.user_id),
            role,
            status: MembershipStatus::Active,
            at: Utc::now(),
        })
        .await?;
        c.add(o)?;
        Ok(c)
    })?;
    let view =
        views::one(&st.db, views::MEMBERSHIP_COLS, "memberships", &membership_id, &key.project_id, views::membership)
            .await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MembershipFilter {
    pub organization_id: Option<String>,
    pub user_id: Option<String>,
    /// `pending`, `active` or `inactive`.
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/v1/memberships", tag = "memberships", params(MembershipFilter, Page),
    security(("secret_key" = [])), responses((status = 200, body = MembershipList), Errors))]
pub async fn list_memberships(
    State(st): State<AppState>,
    key: SecretKey,
    Query(f): Query<MembershipFilter>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<MembershipList>> {
    if let Some(s) = &f.status {
        if MembershipStatus::parse(s).is_none() {
            return Err(ApiError::invalid_field("status", "status must be pending, active or inactive"));
        }
    }
    list_memberships_where(&st, &key, f.organization_id, f.user_id, f.status, &page).await
}

async fn list_memberships_where(
    st: &AppState,
    key: &SecretKey,
    org: Option<String>,
    user: Option<String>,
    status: Option<String>,
    page: &Page,
) -> ApiResult<axum::Json<MembershipList>> {
    let limit = page.limit()?;
    let rows = sqlx::query(&format!(
        "SELECT {} FROM memberships WHERE project_id = $1 AND id > $2 \
         AND ($3 IS NULL OR organization_id = $3) AND ($4 IS NULL OR user_id = $4) AND ($5 IS NULL OR status = $5) \
         ORDER BY id LIMIT $6",
        views::MEMBERSHIP_COLS
    ))
    .bind(&key.project_id)
    .bind(page.after()?)
    .bind(org)
    .bind(user)
    .bind(status)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    let items = rows.iter().map(views::membership).collect::<Result<Vec<_>, _>>()?;
    let (data, next_cursor) = views::paginate(items, limit, |m: &MembershipView| m.id.clone());
    Ok(axum::Json(MembershipList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/memberships/{id}", tag = "memberships", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 200, body = MembershipView), Errors))]
pub async fn get_membership(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MembershipView>> {
    Ok(axum::Json(membership_of_project(&st, &key.project_id, &id).await?))
}

/// The membership `id` as the caller may manage it. The project's backend reaches every
/// membership of its project; an org admin only those of their active organization,
/// and only while their own membership there is active with the admin role.
async fn managed_membership(st: &AppState, who: &Manager, id: &str) -> ApiResult<(MembershipView, Authority)> {
    let m = views::one(&st.db, views::MEMBERSHIP_COLS, "memberships", id, who.project_id(), views::membership).await?;
    match who {
        Manager::Project(_) => Ok((m, Authority::Project)),
        Manager::OrgAdmin(user) => {
            if user.claims.act_org.as_deref() != Some(m.organization_id.as_str()) {
                return Err(ApiError::not_found());
            }
            match crate::sessions::active_role(st, user.user_id(), &m.organization_id).await? {
                Some(role) if role == authio_domain::organization::ADMIN => Ok((m, Authority::OrgAdmin)),
                Some(_) => Err(ApiError::forbidden("only the organization's admins may manage its members")),
                None => Err(ApiError::not_found()),
            }
        }
    }
}

/// What else a membership change does in its commit.
#[derive(Default)]
struct Also<'a> {
    /// Cut the member's contexts in the organization (for this reason).
    cut: Option<&'a str>,
    /// The member leaves the organization's teams (the membership is deleted).
    leave_teams: bool,
    /// The new role, which the organization must be able to give.
    role: Option<&'a str>,
}

/// Run one command on the organization that owns membership `id`, with what `also` says
/// in the same commit.
async fn on_membership(
    st: &AppState,
    who: &Manager,
    ctx: &RequestContext,
    id: &str,
    also: Also<'_>,
    command: impl Fn(Authority) -> OrganizationCommand,
) -> ApiResult<()> {
    let (m, authority) = managed_membership(st, who, id).await?;
    let meta = ctx.metadata(&who.actor());
    let _turn = st.db.stream_turn::<Organization>(&m.organization_id).await;
    crate::execute!(st, &meta, {
        let mut o = load_org(&st.db, &m.organization_id, who.project_id()).await?;
        let mut c = Changes::new();
        if let Some(role) = also.role {
            let cat = crate::roles::catalog(st, who.project_id()).await?;
            crate::roles::require_usable(&mut c, &cat, role, &m.organization_id)?;
        }
        o.exec(command(authority)).await?;
        c.add(o)?;
        if let Some(reason) = also.cut {
            crate::sessions::cut_contexts(st, &mut c, &m.organization_id, Some(&m.user_id), reason).await?;
        }
        if also.leave_teams {
            crate::teams::leave_teams(st, &mut c, &m.organization_id, Some(&m.user_id)).await?;
        }
        Ok(c)
    })?;
    Ok(())
}

async fn membership_of_project(st: &AppState, project: &str, id: &str) -> ApiResult<MembershipView> {
    views::one(&st.db, views::MEMBERSHIP_COLS, "memberships", id, project, views::membership).await
}

/// Change the role (`membership.role_changed`).
#[utoipa::path(patch, path = "/v1/memberships/{id}", tag = "memberships", params(("id" = String, Path)),
    request_body = ChangeRole, security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = MembershipView), Errors))]
pub async fn change_role(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<ChangeRole>,
) -> ApiResult<axum::Json<MembershipView>> {
    let also = Also { role: Some(&body.role), ..Also::default() };
    on_membership(&st, &who, &ctx, &id, also, |authority| OrganizationCommand::ChangeRole {
        membership_id: MembershipId::new(&id),
        role: body.role.clone(),
        authority,
        at: Utc::now(),
    })
    .await?;
    Ok(axum::Json(membership_of_project(&st, who.project_id(), &id).await?))
}

/// Deactivate: the user's access to this organization stops at once.
#[utoipa::path(post, path = "/v1/memberships/{id}/deactivate", tag = "memberships", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = MembershipView), Errors))]
pub async fn deactivate_membership(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MembershipView>> {
    let also = Also { cut: Some("membership_deactivated"), ..Also::default() };
    on_membership(&st, &who, &ctx, &id, also, |authority| OrganizationCommand::Deactivate {
        membership_id: MembershipId::new(&id),
        authority,
        at: Utc::now(),
    })
    .await?;
    Ok(axum::Json(membership_of_project(&st, who.project_id(), &id).await?))
}

/// Reactivate with the role it had.
#[utoipa::path(post, path = "/v1/memberships/{id}/reactivate", tag = "memberships", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = MembershipView), Errors))]
pub async fn reactivate_membership(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<MembershipView>> {
    on_membership(&st, &who, &ctx, &id, Also::default(), |_| OrganizationCommand::Reactivate {
        membership_id: MembershipId::new(&id),
        at: Utc::now(),
    })
    .await?;
    Ok(axum::Json(membership_of_project(&st, who.project_id(), &id).await?))
}

#[utoipa::path(delete, path = "/v1/memberships/{id}", tag = "memberships", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_membership(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let also = Also { cut: Some("membership_removed"), leave_teams: true, ..Also::default() };
    on_membership(&st, &who, &ctx, &id, also, |authority| OrganizationCommand::DeleteMembership {
        membership_id: MembershipId::new(&id),
        authority,
        at: Utc::now(),
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct MemberUser {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct Member {
    pub id: String,
    pub user_id: String,
    pub organization_id: String,
    pub role: String,
    #[schema(value_type = crate::views::MembershipStatus)]
    pub status: String,
    #[schema(format = DateTime)]
    pub joined_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    pub user: MemberUser,
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct MemberList {
    pub data: Vec<Member>,
    pub next_cursor: Option<String>,
}

/// An org admin's view of their active organization's members. Nothing here names any
/// other organization a member belongs to.
#[utoipa::path(get, path = "/v1/organizations/{id}/members", tag = "org admins", params(("id" = String, Path), Page),
    security(("access_token" = [])), responses((status = 200, body = MemberList), Errors))]
pub async fn org_members(
    State(st): State<AppState>,
    user: UserToken,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<MemberList>> {
    let limit = page.limit()?;
    crate::sessions::ensure_org_admin(&st, &user, &id).await?;
    let rows = sqlx::query(
        "SELECT m.id, m.user_id, m.organization_id, m.role, m.status, m.joined_at, m.created_at, \
         u.email, u.first_name, u.last_name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND m.project_id = $2 AND m.id > $3 ORDER BY m.id LIMIT $4",
    )
    .bind(&id)
    .bind(user.project_id())
    .bind(page.after()?)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    use sqlx::Row;
    let items = rows
        .iter()
        .map(|r| {
            let user_id: String = r.try_get(1)?;
            Ok(Member {
                id: r.try_get(0)?,
                user_id: user_id.clone(),
                organization_id: r.try_get(2)?,
                role: r.try_get(3)?,
                status: r.try_get(4)?,
                joined_at: r.try_get(5)?,
                created_at: r.try_get(6)?,
                user: MemberUser {
                    id: user_id,
                    email: r.try_get(7)?,
                    first_name: r.try_get(8)?,
                    last_name: r.try_get(9)?,
                },
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let (data, next_cursor) = views::paginate(items, limit, |m: &Member| m.id.clone());
    Ok(axum::Json(MemberList { data, next_cursor }))
}
