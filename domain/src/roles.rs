//! A project's permissions and roles (one stream per project, its id the project's).
//!
//! The built-in roles `admin` and `member` always exist; their name, description and
//! permissions can be changed (they start with none), never deleted. A role with an
//! organization is an org-level role: only that organization can give it. Role slugs
//! are unique in the project, org-level ones included, so a token's `org_role` names one
//! role. One project-wide role is the default for new memberships (`member` at first).
use crate::ids::{OrganizationId, TenantId};
use crate::organization::BUILT_IN_ROLES;
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_ROLE: &str = "member";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleDef {
    pub name: String,
    pub description: Option<String>,
    pub permissions: BTreeSet<String>,
    pub organization_id: Option<OrganizationId>,
    /// `None` for a built-in role never changed.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl RoleDef {
    fn built_in(slug: &str) -> RoleDef {
        let name = if slug == "admin" { "Admin" } else { "Member" };
        RoleDef {
            name: name.into(),
            description: None,
            permissions: BTreeSet::new(),
            organization_id: None,
            created_at: None,
            updated_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermissionDef {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RoleCommand {
    CreatePermission {
        project_id: TenantId,
        slug: String,
        name: Option<String>,
        description: Option<String>,
        at: DateTime<Utc>,
    },
    DeletePermission {
        project_id: TenantId,
        slug: String,
        at: DateTime<Utc>,
    },
    CreateRole {
        project_id: TenantId,
        slug: String,
        name: String,
        description: Option<String>,
        permissions: BTreeSet<String>,
        organization_id: Option<OrganizationId>,
        at: DateTime<Utc>,
    },
    UpdateRole {
        project_id: TenantId,
        slug: String,
        name: Option<String>,
        /// `Some(None)` clears it.
        description: Option<Option<String>>,
        permissions: Option<BTreeSet<String>>,
        at: DateTime<Utc>,
    },
    /// Memberships that hold it must have been moved off it in the same commit.
    DeleteRole {
        project_id: TenantId,
        slug: String,
        at: DateTime<Utc>,
    },
    SetDefault {
        project_id: TenantId,
        slug: String,
        at: DateTime<Utc>,
    },
}

/// Every event names the project, so a catalog's first event (whichever it is) tells
/// the audit log whose stream this is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RoleEvent {
    #[serde(rename = "permission.created")]
    PermissionCreated {
        project_id: TenantId,
        slug: String,
        name: Option<String>,
        description: Option<String>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "permission.deleted")]
    PermissionDeleted { project_id: TenantId, slug: String, deleted_at: DateTime<Utc> },
    #[serde(rename = "role.created")]
    RoleCreated {
        project_id: TenantId,
        slug: String,
        name: String,
        description: Option<String>,
        permissions: BTreeSet<String>,
        organization_id: Option<OrganizationId>,
        created_at: DateTime<Utc>,
    },
    /// The role as it is after the change (every field).
    #[serde(rename = "role.updated")]
    RoleUpdated {
        project_id: TenantId,
        slug: String,
        name: String,
        description: Option<String>,
        permissions: BTreeSet<String>,
        organization_id: Option<OrganizationId>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "role.deleted")]
    RoleDeleted {
        project_id: TenantId,
        slug: String,
        organization_id: Option<OrganizationId>,
        deleted_at: DateTime<Utc>,
    },
    #[serde(rename = "role.default_changed")]
    DefaultChanged { project_id: TenantId, from: String, to: String, changed_at: DateTime<Utc> },
}

crate::event_names!(RoleEvent {
    PermissionCreated => "permission.created",
    PermissionDeleted => "permission.deleted",
    RoleCreated => "role.created",
    RoleUpdated => "role.updated",
    RoleDeleted => "role.deleted",
    DefaultChanged => "role.default_changed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    #[error("a permission with this slug exists")]
    PermissionExists,
    #[error("no such permission")]
    PermissionNotFound,
    #[error("a role still grants this permission")]
    PermissionInUse,
    #[error("a permission of the role is not defined in the project")]
    UnknownPermission,
    #[error("a role with this slug exists in the project")]
    RoleExists,
    #[error("no such role")]
    RoleNotFound,
    #[error("built-in roles cannot be deleted")]
    BuiltIn,
    #[error("the default role cannot be deleted; choose another default first")]
    IsDefault,
    #[error("the default role must be a project-wide role")]
    UnknownRole,
    #[error("names are 1 to 200 printable characters")]
    InvalidName,
}

impl RoleError {
    pub fn code(&self) -> &'static str {
        match self {
            RoleError::PermissionExists => "permission_exists",
            RoleError::PermissionNotFound | RoleError::RoleNotFound => "not_found",
            RoleError::PermissionInUse => "permission_in_use",
            RoleError::UnknownPermission => "unknown_permission",
            RoleError::RoleExists => "role_exists",
            RoleError::BuiltIn => "role_built_in",
            RoleError::IsDefault => "role_is_default",
            RoleError::UnknownRole => "unknown_role",
            RoleError::InvalidName => "invalid_request",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RoleCatalog {
    pub permissions: BTreeMap<String, PermissionDef>,
    /// Custom roles, and built-in ones once changed.
    pub roles: BTreeMap<String, RoleDef>,
    /// `None`: `member`.
    pub default_role: Option<String>,
}

pub fn is_built_in(slug: &str) -> bool {
    BUILT_IN_ROLES.contains(&slug)
}

impl RoleCatalog {
    pub fn default_role(&self) -> &str {
        self.default_role.as_deref().unwrap_or(DEFAULT_ROLE)
    }

    /// The role `slug`, built-in ones included.
    pub fn role(&self, slug: &str) -> Option<RoleDef> {
        match self.roles.get(slug) {
            Some(r) => Some(r.clone()),
            None if is_built_in(slug) => Some(RoleDef::built_in(slug)),
            None => None,
        }
    }

    /// Whether organization `org` may give the role `slug`: a project-wide role, or its own.
    pub fn usable_in(&self, slug: &str, org: &str) -> bool {
        self.role(slug).is_some_and(|r| r.organization_id.as_ref().is_none_or(|o| o.as_str() == org))
    }

    /// Every role (built-in first, then by slug), as `role` gives each.
    pub fn all(&self) -> Vec<(String, RoleDef)> {
        let mut out: Vec<(String, RoleDef)> = BUILT_IN_ROLES
            .iter()
            .map(|s| (s.to_string(), self.role(s).unwrap_or_else(|| RoleDef::built_in(s))))
            .collect();
        out.extend(self.roles.iter().filter(|(s, _)| !is_built_in(s)).map(|(s, r)| (s.clone(), r.clone())));
        out
    }

    fn ensure_permissions(&self, permissions: &BTreeSet<String>) -> Result<(), RoleError> {
        if permissions.iter().all(|p| self.permissions.contains_key(p)) {
            Ok(())
        } else {
            Err(RoleError::UnknownPermission)
        }
    }
}

fn ensure_name(name: &str) -> Result<(), RoleError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        Err(RoleError::InvalidName)
    } else {
        Ok(())
    }
}

impl Aggregate for RoleCatalog {
    const TYPE: &'static str = "role_catalog";
    type Command = RoleCommand;
    type Event = RoleEvent;
    type Error = RoleError;
    type Services = ();

    async fn handle(&mut self, command: RoleCommand, _: &(), sink: &EventSink<Self>) -> Result<(), RoleError> {
        use RoleCommand as C;
        use RoleEvent as E;
        match command {
            C::CreatePermission { project_id, slug, name, description, at } => {
                if self.permissions.contains_key(&slug) {
                    return Err(RoleError::PermissionExists);
                }
                if let Some(n) = &name {
                    ensure_name(n)?;
                }
                sink.write(E::PermissionCreated { project_id, slug, name, description, created_at: at }, self).await;
            }
            C::DeletePermission { project_id, slug, at } => {
                if !self.permissions.contains_key(&slug) {
                    return Err(RoleError::PermissionNotFound);
                }
                if self.roles.values().any(|r| r.permissions.contains(&slug)) {
                    return Err(RoleError::PermissionInUse);
                }
                sink.write(E::PermissionDeleted { project_id, slug, deleted_at: at }, self).await;
            }
            C::CreateRole { project_id, slug, name, description, permissions, organization_id, at } => {
                if self.role(&slug).is_some() {
                    return Err(RoleError::RoleExists);
                }
                ensure_name(&name)?;
                self.ensure_permissions(&permissions)?;
                let ev = E::RoleCreated {
                    project_id,
                    slug,
                    name,
                    description,
                    permissions,
                    organization_id,
                    created_at: at,
                };
                sink.write(ev, self).await;
            }
            C::UpdateRole { project_id, slug, name, description, permissions, at } => {
                let old = self.role(&slug).ok_or(RoleError::RoleNotFound)?;
                if let Some(n) = &name {
                    ensure_name(n)?;
                }
                if let Some(p) = &permissions {
                    self.ensure_permissions(p)?;
                }
                let new = RoleDef {
                    name: name.unwrap_or_else(|| old.name.clone()),
                    description: description.unwrap_or_else(|| old.description.clone()),
                    permissions: permissions.unwrap_or_else(|| old.permissions.clone()),
                    ..old.clone()
                };
                if new != old {
                    let ev = E::RoleUpdated {
                        project_id,
                        slug,
                        name: new.name,
                        description: new.description,
                        permissions: new.permissions,
                        organization_id: new.organization_id,
                        updated_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            C::DeleteRole { project_id, slug, at } => {
                let role = self.role(&slug).ok_or(RoleError::RoleNotFound)?;
                if is_built_in(&slug) {
                    return Err(RoleError::BuiltIn);
                }
                if self.default_role() == slug {
                    return Err(RoleError::IsDefault);
                }
                let ev = E::RoleDeleted { project_id, slug, organization_id: role.organization_id, deleted_at: at };
                sink.write(ev, self).await;
            }
            C::SetDefault { project_id, slug, at } => {
                match self.role(&slug) {
                    Some(r) if r.organization_id.is_none() => {}
                    _ => return Err(RoleError::UnknownRole),
                }
                if self.default_role() != slug {
                    let from = self.default_role().to_string();
                    sink.write(E::DefaultChanged { project_id, from, to: slug, changed_at: at }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: RoleEvent) {
        use RoleEvent as E;
        match event {
            E::PermissionCreated { slug, name, description, created_at, .. } => {
                let created_at = Some(created_at);
                self.permissions.insert(slug, PermissionDef { name, description, created_at });
            }
            E::PermissionDeleted { slug, .. } => {
                self.permissions.remove(&slug);
            }
            E::RoleCreated { slug, name, description, permissions, organization_id, created_at, .. } => {
                let at = Some(created_at);
                let role = RoleDef { name, description, permissions, organization_id, created_at: at, updated_at: at };
                self.roles.insert(slug, role);
            }
            E::RoleUpdated { slug, name, description, permissions, organization_id, updated_at, .. } => {
                let created_at = self.roles.get(&slug).and_then(|r| r.created_at).or(Some(updated_at));
                let updated_at = Some(updated_at);
                let role = RoleDef { name, description, permissions, organization_id, created_at, updated_at };
                self.roles.insert(slug, role);
            }
            E::RoleDeleted { slug, .. } => {
                self.roles.remove(&slug);
            }
            E::DefaultChanged { to, .. } => self.default_role = Some(to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        Utc::now()
    }
    fn p() -> TenantId {
        TenantId::new("proj_1")
    }

    async fn run(c: &mut RoleCatalog, cmd: RoleCommand) -> Result<Vec<RoleEvent>, RoleError> {
        // The sink applies each event it is given.
        let sink = EventSink::default();
        c.handle(cmd, &(), &sink).await?;
        Ok(sink.collect().await)
    }

    #[tokio::test]
    async fn roles_permissions_and_the_default() {
        let mut c = RoleCatalog::default();
        let perm = |s: &str| RoleCommand::CreatePermission {
            project_id: p(),
            slug: s.into(),
            name: None,
            description: None,
            at: at(),
        };
        run(&mut c, perm("reports:read")).await.unwrap();
        assert_eq!(run(&mut c, perm("reports:read")).await, Err(RoleError::PermissionExists));
        let role = |slug: &str, perms: &[&str], org: Option<&str>| RoleCommand::CreateRole {
            project_id: p(),
            slug: slug.into(),
            name: "A role".into(),
            description: None,
            permissions: perms.iter().map(|s| s.to_string()).collect(),
            organization_id: org.map(OrganizationId::new),
            at: at(),
        };
        assert_eq!(run(&mut c, role("x", &["nope"], None)).await, Err(RoleError::UnknownPermission));
        assert_eq!(run(&mut c, role("admin", &[], None)).await, Err(RoleError::RoleExists));
        run(&mut c, role("analyst", &["reports:read"], None)).await.unwrap();
        run(&mut c, role("local", &[], Some("org_a"))).await.unwrap();
        assert!(c.usable_in("local", "org_a") && !c.usable_in("local", "org_b") && c.usable_in("analyst", "org_b"));
        let del_perm = RoleCommand::DeletePermission { project_id: p(), slug: "reports:read".into(), at: at() };
        assert_eq!(run(&mut c, del_perm).await, Err(RoleError::PermissionInUse));
        let set = |s: &str| RoleCommand::SetDefault { project_id: p(), slug: s.into(), at: at() };
        assert_eq!(run(&mut c, set("local")).await, Err(RoleError::UnknownRole));
        run(&mut c, set("analyst")).await.unwrap();
        let del = |s: &str| RoleCommand::DeleteRole { project_id: p(), slug: s.into(), at: at() };
        assert_eq!(run(&mut c, del("analyst")).await, Err(RoleError::IsDefault));
        assert_eq!(run(&mut c, del("member")).await, Err(RoleError::BuiltIn));
        // A built-in role's permissions can change; an unchanged update says nothing.
        let grant = RoleCommand::UpdateRole {
            project_id: p(),
            slug: "member".into(),
            name: None,
            description: None,
            permissions: Some(["reports:read".to_string()].into()),
            at: at(),
        };
        assert_eq!(run(&mut c, grant.clone()).await.unwrap().len(), 1);
        assert!(run(&mut c, grant).await.unwrap().is_empty());
        assert_eq!(
            c.all().iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
            ["admin", "member", "analyst", "local"]
        );
    }
}
