//! Project settings, permissions and roles: parse, call `crate::roles`, answer.
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Manager, Query, RequestContext, SecretKey};
use crate::roles::{self, NewRole, PermissionView, RoleChange, RoleView, Settings};
use crate::AppState;
use authio_domain::roles::RoleCatalog;
use authio_domain::tenant::SignUp;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    /// `open` or `invitation_only`.
    pub sign_up: Option<String>,
    /// A project-wide role.
    pub default_role: Option<String>,
    pub teams_in_tokens: Option<bool>,
}

#[utoipa::path(get, path = "/v1/settings", tag = "roles", security(("secret_key" = [])),
    responses((status = 200, body = Settings), Errors))]
pub async fn get_settings(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<Settings>> {
    Ok(axum::Json(roles::settings(&st, &key.project_id).await?))
}

/// Change the project's settings (`tenant.settings_changed`, `role.default_changed`).
#[utoipa::path(patch, path = "/v1/settings", tag = "roles", request_body = UpdateSettings,
    security(("secret_key" = [])), responses((status = 200, body = Settings), Errors))]
pub async fn update_settings(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<UpdateSettings>,
) -> ApiResult<axum::Json<Settings>> {
    let sign_up = body
        .sign_up
        .as_deref()
        .map(|s| {
            SignUp::parse(s).ok_or_else(|| ApiError::invalid_field("sign_up", "sign_up is open or invitation_only"))
        })
        .transpose()?;
    let meta = ctx.metadata(&key.actor());
    let settings = roles::update_settings(
        &st,
        &meta,
        &key.project_id,
        sign_up,
        body.default_role.as_deref(),
        body.teams_in_tokens,
    )
    .await?;
    Ok(axum::Json(settings))
}

/// Permission slugs: 1 to 100 of `a-z 0-9 : _ . -`, starting with a letter or digit.
fn check_permission_slug(field: &str, slug: &str) -> ApiResult<()> {
    let ok = !slug.is_empty()
        && slug.len() <= 100
        && slug.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b":_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(field, format!("{field} must be 1 to 100 of a-z, 0-9, ':', '_', '.', '-'")))
    }
}

fn check_text(field: &str, v: &Option<String>, max: usize) -> ApiResult<()> {
    match v {
        Some(s) if s.chars().count() > max || s.chars().any(char::is_control) => {
            Err(ApiError::invalid_field(field, format!("{field} must be at most {max} printable characters")))
        }
        _ => Ok(()),
    }
}

fn check_permissions(list: &[String]) -> ApiResult<BTreeSet<String>> {
    if list.len() > 200 {
        return Err(ApiError::invalid_field("permissions", "at most 200 permissions"));
    }
    list.iter().map(|p| check_permission_slug("permissions", p).map(|_| p.clone())).collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePermission {
    /// e.g. `reports:delete`.
    pub slug: String,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/v1/permissions", tag = "roles", request_body = CreatePermission,
    security(("secret_key" = [])), responses((status = 201, body = PermissionView), Errors))]
pub async fn create_permission(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreatePermission>,
) -> ApiResult<(StatusCode, axum::Json<PermissionView>)> {
    check_permission_slug("slug", &body.slug)?;
    check_text("name", &body.name, 200)?;
    check_text("description", &body.description, 1000)?;
    let meta = ctx.metadata(&key.actor());
    let view = roles::create_permission(&st, &meta, &key.project_id, &body.slug, body.name, body.description).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionList {
    pub data: Vec<PermissionView>,
    /// Always null: the whole list is one page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/permissions", tag = "roles", security(("secret_key" = [])),
    responses((status = 200, body = PermissionList), Errors))]
pub async fn list_permissions(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<PermissionList>> {
    let cat = st.db.load::<RoleCatalog>(&key.project_id).await?;
    let data = cat.state.permissions.into_iter().map(|(slug, p)| roles::permission_view(slug, p)).collect();
    Ok(axum::Json(PermissionList { data, next_cursor: None }))
}

#[utoipa::path(delete, path = "/v1/permissions/{slug}", tag = "roles", params(("slug" = String, Path)),
    security(("secret_key" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_permission(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(slug): Path<String>,
) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&key.actor());
    roles::delete_permission(&st, &meta, &key.project_id, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
    /// Makes it an org-level role: only this organization sees and gives it.
    pub organization_id: Option<String>,
}

#[utoipa::path(post, path = "/v1/roles", tag = "roles", request_body = CreateRole,
    security(("secret_key" = []), ("access_token" = [])), responses((status = 201, body = RoleView), Errors))]
pub async fn create_role(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Json(body): Json<CreateRole>,
) -> ApiResult<(StatusCode, axum::Json<RoleView>)> {
    let admin_of = crate::sessions::admin_scope(&st, &who, body.organization_id.as_deref()).await?;
    if admin_of.is_some() && body.organization_id.is_none() {
        return Err(crate::extract::secret_key_required());
    }
    if !authio_domain::is_valid_slug(&body.slug) {
        return Err(ApiError::invalid_field("slug", "slug must be 1 to 63 of a-z, 0-9 and inner '-'"));
    }
    super::console::check_name("name", &body.name)?;
    check_text("description", &body.description, 1000)?;
    let role = NewRole {
        slug: body.slug,
        name: body.name,
        description: body.description,
        permissions: check_permissions(&body.permissions)?,
        organization_id: body.organization_id,
    };
    let view = roles::create_role(&st, &ctx.metadata(&who.actor()), who.project_id(), &role).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RoleFilter {
    /// Include this organization's own roles (an org admin: always theirs).
    pub organization_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub data: Vec<RoleView>,
    /// Always null: the whole list is one page.
    pub next_cursor: Option<String>,
}

/// The project-wide roles (built-in first) and, with `organization_id`, that
/// organization's own; the backend without a filter sees every org-level role too.
#[utoipa::path(get, path = "/v1/roles", tag = "roles", params(RoleFilter),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = RoleList), Errors))]
pub async fn list_roles(
    State(st): State<AppState>,
    who: Manager,
    Query(f): Query<RoleFilter>,
) -> ApiResult<axum::Json<RoleList>> {
    let admin_of = crate::sessions::admin_scope(&st, &who, f.organization_id.as_deref()).await?;
    let org = admin_of.as_deref().or(f.organization_id.as_deref());
    let every_org = admin_of.is_none() && f.organization_id.is_none();
    let data = roles::list_roles(&st, who.project_id(), org, every_org).await?;
    Ok(axum::Json(RoleList { data, next_cursor: None }))
}

#[utoipa::path(get, path = "/v1/roles/{slug}", tag = "roles", params(("slug" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = RoleView), Errors))]
pub async fn get_role(
    State(st): State<AppState>,
    who: Manager,
    Path(slug): Path<String>,
) -> ApiResult<axum::Json<RoleView>> {
    let admin_of = crate::sessions::admin_scope(&st, &who, None).await?;
    Ok(axum::Json(roles::get_role(&st, who.project_id(), &slug, admin_of.as_deref()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The whole new set.
    pub permissions: Option<Vec<String>>,
}

/// Change a role (`role.updated`); tokens show it from their next refresh or switch.
#[utoipa::path(patch, path = "/v1/roles/{slug}", tag = "roles", params(("slug" = String, Path)),
    request_body = UpdateRole, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 200, body = RoleView), Errors))]
pub async fn update_role(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(slug): Path<String>,
    Json(body): Json<UpdateRole>,
) -> ApiResult<axum::Json<RoleView>> {
    let admin_of = crate::sessions::admin_scope(&st, &who, None).await?;
    if let Some(n) = &body.name {
        super::console::check_name("name", n)?;
    }
    check_text("description", &body.description.clone().flatten(), 1000)?;
    let change = RoleChange {
        name: body.name,
        description: body.description,
        permissions: body.permissions.as_deref().map(check_permissions).transpose()?,
    };
    let meta = ctx.metadata(&who.actor());
    Ok(axum::Json(roles::update_role(&st, &meta, who.project_id(), &slug, admin_of.as_deref(), &change).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteRoleParams {
    /// Move the role's memberships to this role in the same commit.
    pub replacement: Option<String>,
}

#[utoipa::path(delete, path = "/v1/roles/{slug}", tag = "roles", params(("slug" = String, Path), DeleteRoleParams),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_role(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(slug): Path<String>,
    Query(p): Query<DeleteRoleParams>,
) -> ApiResult<StatusCode> {
    let admin_of = crate::sessions::admin_scope(&st, &who, None).await?;
    let meta = ctx.metadata(&who.actor());
    roles::delete_role(&st, &meta, who.project_id(), &slug, p.replacement.as_deref(), admin_of.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
