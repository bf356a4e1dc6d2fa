//! The application layer of permissions, roles and project settings: load, decide,
//! require, commit. Routes parse and answer; this holds the rules that span aggregates
//! (a role's memberships move with its deletion; a membership's role is one the
//! project's catalog lets its organization give).
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::ids::{MembershipId, OrganizationId, TenantId};
use authio_domain::organization::{Authority, Organization, OrganizationCommand};
use authio_domain::roles::{is_built_in, RoleCatalog, RoleCommand, RoleDef};
use authio_domain::tenant::{SignUp, Tenant, TenantCommand};
use authio_eventstore::{Changes, Loaded, Metadata};
use chrono::Utc;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// A role as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleView {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    /// Sorted.
    pub permissions: Vec<String>,
    /// Set for an org-level role: only this organization can give it.
    pub organization_id: Option<String>,
    pub built_in: bool,
    /// The project's default role for new memberships.
    pub default: bool,
    /// Null for a built-in role never changed.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PermissionView {
    pub slug: String,
    pub name: Option<String>,
    pub description: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
}

pub fn permission_view(slug: String, p: authio_domain::roles::PermissionDef) -> PermissionView {
    PermissionView {
        slug,
        name: p.name,
        description: p.description,
        created_at: p.created_at.map(authio_eventstore::time_text),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// `open` or `invitation_only`.
    pub sign_up: String,
    pub default_role: String,
    pub teams_in_tokens: bool,
}

pub fn role_view(cat: &RoleCatalog, slug: &str, r: RoleDef) -> RoleView {
    RoleView {
        slug: slug.to_string(),
        name: r.name,
        description: r.description,
        permissions: r.permissions.into_iter().collect(),
        organization_id: r.organization_id.map(|o| o.0),
        built_in: is_built_in(slug),
        default: cat.default_role() == slug,
        created_at: r.created_at.map(authio_eventstore::time_text),
        updated_at: r.updated_at.map(authio_eventstore::time_text),
    }
}

pub async fn catalog(st: &AppState, project: &str) -> ApiResult<Loaded<RoleCatalog>> {
    Ok(st.db.load::<RoleCatalog>(project).await?)
}

fn unknown_role() -> ApiError {
    ApiError::from(authio_domain::roles::RoleError::UnknownRole)
        .with_message("the role is not defined in the project, or is another organization's own role")
}

/// The role `role` as organization `org` may give it (a project-wide role or its own),
/// held to the catalog as loaded: the commit fails as a lost race should the catalog
/// move meanwhile (a role deleted), and is decided again.
pub fn require_usable(c: &mut Changes, cat: &Loaded<RoleCatalog>, role: &str, org: &str) -> ApiResult<()> {
    if !cat.state.usable_in(role, org) {
        return Err(unknown_role().with_field("role"));
    }
    c.expect_unchanged(cat);
    Ok(())
}

/// Who may change a role: the backend any; an org admin only their organization's own
/// roles (and `org` is the organization they manage, checked by the caller).
pub fn ensure_role_reach(role: &RoleDef, org_admin_of: Option<&str>) -> ApiResult<()> {
    match org_admin_of {
        None => Ok(()),
        Some(org) if role.organization_id.as_ref().is_some_and(|o| o.as_str() == org) => Ok(()),
        Some(_) if role.organization_id.is_some() => Err(ApiError::not_found()),
        Some(_) => Err(crate::extract::secret_key_required()),
    }
}

pub async fn create_permission(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    slug: &str,
    name: Option<String>,
    description: Option<String>,
) -> ApiResult<PermissionView> {
    let mut view = None;
    crate::execute!(st, meta, {
        let mut cat = catalog(st, project).await?;
        cat.exec(RoleCommand::CreatePermission {
            project_id: TenantId::new(project),
            slug: slug.to_string(),
            name: name.clone(),
            description: description.clone(),
            at: Utc::now(),
        })
        .await?;
        let def = cat.state.permissions.get(slug).cloned().ok_or_else(ApiError::internal)?;
        view = Some(permission_view(slug.to_string(), def));
        let mut c = Changes::new();
        c.add(cat)?;
        Ok(c)
    })?;
    view.ok_or_else(ApiError::internal)
}

pub async fn delete_permission(st: &AppState, meta: &Metadata, project: &str, slug: &str) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut cat = catalog(st, project).await?;
        cat.exec(RoleCommand::DeletePermission {
            project_id: TenantId::new(project),
            slug: slug.into(),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(cat)?;
        Ok(c)
    })?;
    Ok(())
}

pub struct NewRole {
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: BTreeSet<String>,
    pub organization_id: Option<String>,
}

pub async fn create_role(st: &AppState, meta: &Metadata, project: &str, role: &NewRole) -> ApiResult<RoleView> {
    let mut view = None;
    crate::execute!(st, meta, {
        let mut cat = catalog(st, project).await?;
        cat.exec(RoleCommand::CreateRole {
            project_id: TenantId::new(project),
            slug: role.slug.clone(),
            name: role.name.clone(),
            description: role.description.clone(),
            permissions: role.permissions.clone(),
            organization_id: role.organization_id.as_deref().map(OrganizationId::new),
            at: Utc::now(),
        })
        .await?;
        let def = cat.state.role(&role.slug).ok_or_else(ApiError::internal)?;
        view = Some(role_view(&cat.state, &role.slug, def));
        let mut c = Changes::new();
        c.add(cat)?;
        Ok(c)
    })?;
    view.ok_or_else(ApiError::internal)
}

/// The role `slug` as the caller may see it: any (backend) or the project-wide ones and
/// their organization's own (org admin of `org_admin_of`).
pub async fn get_role(st: &AppState, project: &str, slug: &str, org_admin_of: Option<&str>) -> ApiResult<RoleView> {
    let cat = catalog(st, project).await?;
    let role = cat.state.role(slug).ok_or_else(ApiError::not_found)?;
    if let (Some(org), Some(own)) = (org_admin_of, &role.organization_id) {
        if own.as_str() != org {
            return Err(ApiError::not_found());
        }
    }
    Ok(role_view(&cat.state, slug, role))
}

pub async fn list_roles(st: &AppState, project: &str, org: Option<&str>, every_org: bool) -> ApiResult<Vec<RoleView>> {
    let cat = catalog(st, project).await?;
    Ok(cat
        .state
        .all()
        .into_iter()
        .filter(|(_, r)| match (&r.organization_id, org) {
            (None, _) => true,
            (Some(own), Some(o)) => own.as_str() == o,
            (Some(_), None) => every_org,
        })
        .map(|(slug, r)| role_view(&cat.state, &slug, r))
        .collect())
}

pub struct RoleChange {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub permissions: Option<BTreeSet<String>>,
}

pub async fn update_role(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    slug: &str,
    org_admin_of: Option<&str>,
    change: &RoleChange,
) -> ApiResult<RoleView> {
    let mut view = None;
    crate::execute!(st, meta, {
        let mut cat = catalog(st, project).await?;
        let role = cat.state.role(slug).ok_or_else(ApiError::not_found)?;
        ensure_role_reach(&role, org_admin_of)?;
        cat.exec(RoleCommand::UpdateRole {
            project_id: TenantId::new(project),
            slug: slug.into(),
            name: change.name.clone(),
            description: change.description.clone(),
            permissions: change.permissions.clone(),
            at: Utc::now(),
        })
        .await?;
        let def = cat.state.role(slug).ok_or_else(ApiError::internal)?;
        view = Some(role_view(&cat.state, slug, def));
        let mut c = Changes::new();
        c.add(cat)?;
        Ok(c)
    })?;
    view.ok_or_else(ApiError::internal)
}

/// Delete a role. Memberships that hold it move to `replacement` in the same commit
/// (one `membership.role_changed` each); without one, a role in use is refused.
pub async fn delete_role(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    slug: &str,
    replacement: Option<&str>,
    org_admin_of: Option<&str>,
) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut cat = catalog(st, project).await?;
        let role = cat.state.role(slug).ok_or_else(ApiError::not_found)?;
        ensure_role_reach(&role, org_admin_of)?;
        let holders = sqlx::query("SELECT id, organization_id FROM memberships WHERE project_id = $1 AND role = $2")
            .bind(project)
            .bind(slug)
            .fetch_all(&st.db.pool)
            .await?;
        let mut by_org: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &holders {
            by_org.entry(r.try_get(1)?).or_default().push(r.try_get(0)?);
        }
        cat.exec(RoleCommand::DeleteRole { project_id: TenantId::new(project), slug: slug.into(), at: Utc::now() })
            .await?;
        let mut c = Changes::new();
        if !holders.is_empty() {
            let Some(to) = replacement else {
                return Err(ApiError::conflict("role_in_use", format!("{} memberships hold this role", holders.len()))
                    .with_details(serde_json::json!({ "memberships": holders.len() })));
            };
            for (org, memberships) in &by_org {
                if to == slug || !cat.state.usable_in(to, org) {
                    return Err(unknown_role().with_field("replacement"));
                }
                let mut o = st.db.load::<Organization>(org).await?;
                for m in memberships {
                    o.exec(OrganizationCommand::ChangeRole {
                        membership_id: MembershipId::new(m),
                        role: to.to_string(),
                        authority: Authority::Project,
                        at: Utc::now(),
                    })
                    .await?;
                }
                c.add(o)?;
            }
        }
        c.add(cat)?;
        Ok(c)
    })?;
    Ok(())
}

pub async fn settings(st: &AppState, project: &str) -> ApiResult<Settings> {
    let t = st.db.load::<Tenant>(project).await?;
    let cat = catalog(st, project).await?;
    Ok(Settings {
        sign_up: t.state.sign_up.as_str().into(),
        default_role: cat.state.default_role().into(),
        teams_in_tokens: t.state.teams_in_tokens,
    })
}

pub async fn update_settings(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    sign_up: Option<SignUp>,
    default_role: Option<&str>,
    teams_in_tokens: Option<bool>,
) -> ApiResult<Settings> {
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        if sign_up.is_some() || teams_in_tokens.is_some() {
            let mut t = st.db.load::<Tenant>(project).await?;
            t.exec(TenantCommand::SetSettings { sign_up, teams_in_tokens, at: Utc::now() }).await?;
            c.add(t)?;
        }
        if let Some(role) = default_role {
            let mut cat = catalog(st, project).await?;
            cat.exec(RoleCommand::SetDefault { project_id: TenantId::new(project), slug: role.into(), at: Utc::now() })
                .await
                .map_err(|e| ApiError::from(e).with_field("default_role"))?;
            c.add(cat)?;
        }
        Ok(c)
    })?;
    settings(st, project).await
}
