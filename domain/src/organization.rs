//! Organization and the memberships it owns.
//!
//! Membership status machine: `pending → active` (accept), `active → inactive`
//! (deactivate), `inactive → active` (reactivate, role kept). `pending` can be neither
//! deactivated nor reactivated, only deleted; any membership can be deleted.
use crate::ids::{MembershipId, OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use imbl::OrdMap;
use serde::{Deserialize, Serialize};

pub const BUILT_IN_ROLES: [&str; 2] = ["admin", "member"];
pub const ADMIN: &str = "admin";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Pending,
    Active,
    Inactive,
}

impl MembershipStatus {
    pub const ALL: [MembershipStatus; 3] =
        [MembershipStatus::Pending, MembershipStatus::Active, MembershipStatus::Inactive];
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipStatus::Pending => "pending",
            MembershipStatus::Active => "active",
            MembershipStatus::Inactive => "inactive",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// On whose authority a membership change is made. The project's backend (secret key)
/// may leave an organization without an active admin (deprovisioning must always
/// work); an org admin may not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    Project,
    OrgAdmin,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrganizationCommand {
    Create {
        organization_id: OrganizationId,
        project_id: TenantId,
        name: String,
        slug: String,
        domains: Vec<String>,
        at: DateTime<Utc>,
    },
    Update {
        name: Option<String>,
        slug: Option<String>,
        domains: Option<Vec<String>>,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
    AddMembership {
        membership_id: MembershipId,
        user_id: UserId,
        role: String,
        status: MembershipStatus,
        at: DateTime<Utc>,
    },
    ChangeRole {
        membership_id: MembershipId,
        role: String,
        authority: Authority,
        at: DateTime<Utc>,
    },
    Deactivate {
        membership_id: MembershipId,
        authority: Authority,
        at: DateTime<Utc>,
    },
    Reactivate {
        membership_id: MembershipId,
        at: DateTime<Utc>,
    },
    /// An accepted invitation: the user becomes an active member with `role`, by a new
    /// membership (`membership_id`), or by activating their pending one or reactivating
    /// their inactive one (its role changed to `role` first). An active member is refused.
    JoinByInvitation {
        membership_id: MembershipId,
        user_id: UserId,
        role: String,
        at: DateTime<Utc>,
    },
    DeleteMembership {
        membership_id: MembershipId,
        authority: Authority,
        at: DateTime<Utc>,
    },
    /// Replace the organization's sign-in policy.
    SetPolicy {
        policy: Policy,
        at: DateTime<Utc>,
    },
    /// The user was deleted: remove every membership they hold here.
    RemoveUser {
        user_id: UserId,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum OrganizationEvent {
    #[serde(rename = "organization.created")]
    Created {
        organization_id: OrganizationId,
        project_id: TenantId,
        name: String,
        slug: String,
        domains: Vec<String>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "organization.updated")]
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slug: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domains: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "organization.deleted")]
    Deleted { deleted_at: DateTime<Utc> },
    #[serde(rename = "membership.created")]
    MembershipCreated {
        membership_id: MembershipId,
        organization_id: OrganizationId,
        user_id: UserId,
        role: String,
        status: MembershipStatus,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "membership.role_changed")]
    MembershipRoleChanged {
        membership_id: MembershipId,
        user_id: UserId,
        from: String,
        to: String,
        changed_at: DateTime<Utc>,
    },
    #[serde(rename = "membership.deactivated")]
    MembershipDeactivated { membership_id: MembershipId, user_id: UserId, deactivated_at: DateTime<Utc> },
    #[serde(rename = "membership.reactivated")]
    MembershipReactivated { membership_id: MembershipId, user_id: UserId, role: String, reactivated_at: DateTime<Utc> },
    #[serde(rename = "membership.deleted")]
    MembershipDeleted { membership_id: MembershipId, user_id: UserId, deleted_at: DateTime<Utc> },
    /// The organization's sign-in policy as it is now (every field).
    #[serde(rename = "organization.policy_changed")]
    PolicyChanged {
        allowed_methods: Option<Vec<String>>,
        require_passkey: bool,
        max_session_age_seconds: Option<u64>,
        changed_at: DateTime<Utc>,
    },
    /// A pending membership became active (an invitation was accepted).
    #[serde(rename = "membership.activated")]
    MembershipActivated { membership_id: MembershipId, user_id: UserId, role: String, activated_at: DateTime<Utc> },
}

crate::event_names!(OrganizationEvent {
    Created => "organization.created",
    Updated => "organization.updated",
    Deleted => "organization.deleted",
    MembershipCreated => "membership.created",
    MembershipRoleChanged => "membership.role_changed",
    MembershipDeactivated => "membership.deactivated",
    MembershipReactivated => "membership.reactivated",
    MembershipDeleted => "membership.deleted",
    MembershipActivated => "membership.activated",
    PolicyChanged => "organization.policy_changed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrganizationError {
    #[error("the organization already exists")]
    AlreadyExists,
    #[error("no such organization")]
    NotFound,
    #[error("no such membership")]
    MembershipNotFound,
    #[error("the user is already a member of this organization")]
    MembershipExists,
    /// Decided by the application from the project's roles (`roles::RoleCatalog`).
    #[error("the role does not exist in this organization")]
    UnknownRole,
    #[error("this status change is not allowed")]
    InvalidMembershipTransition,
    #[error("the organization must keep at least one active admin")]
    LastAdmin,
    #[error("the name must be 1 to 200 characters")]
    InvalidName,
}

impl OrganizationError {
    pub fn code(&self) -> &'static str {
        match self {
            OrganizationError::AlreadyExists => "organization_exists",
            OrganizationError::NotFound | OrganizationError::MembershipNotFound => "not_found",
            OrganizationError::MembershipExists => "membership_exists",
            OrganizationError::UnknownRole => "unknown_role",
            OrganizationError::InvalidMembershipTransition => "invalid_membership_transition",
            OrganizationError::LastAdmin => "last_admin",
            OrganizationError::InvalidName => "invalid_request",
        }
    }
}

/// Sign-in methods an organization's policy can name (`sso`: through one of its SSO
/// connections).
pub const SIGN_IN_METHODS: [&str; 4] = ["magic_link", "passkey", "sign_in_token", "sso"];

/// What a session must have to hold a context in the organization: a sign-in method
/// among `allowed_methods` (any, when `None`; a passkey step-up counts as `passkey`), a
/// passkey (at sign-in or by step-up) when `require_passkey`, and an authentication at
/// most `max_session_age_seconds` old.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub allowed_methods: Option<Vec<String>>,
    pub require_passkey: bool,
    pub max_session_age_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Membership {
    pub user_id: UserId,
    pub role: String,
    pub status: MembershipStatus,
}

/// Decision state. The maps are persistent (`imbl`): a clone shares them, so the store
/// can hand out a copy of a cached organization of 100,000 members in constant time.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(from = "OrganizationState")]
pub struct Organization {
    pub id: String,
    pub created: bool,
    pub deleted: bool,
    pub project_id: Option<TenantId>,
    pub slug: String,
    pub memberships: OrdMap<MembershipId, Membership>,
    /// The sign-in policy (absent from snapshots taken before it existed).
    #[serde(default)]
    pub policy: Policy,
    /// Each member's membership: `memberships` by user. Derived, so not serialized.
    #[serde(skip)]
    by_user: OrdMap<UserId, MembershipId>,
    /// The active admins' memberships (the last-admin rule). Derived, so not serialized.
    #[serde(skip)]
    active_admins: imbl::OrdSet<MembershipId>,
}

/// `Organization` as serialized (snapshots): without the derived indexes, which are
/// rebuilt when it is read.
#[derive(Deserialize)]
struct OrganizationState {
    id: String,
    created: bool,
    deleted: bool,
    project_id: Option<TenantId>,
    slug: String,
    memberships: OrdMap<MembershipId, Membership>,
    #[serde(default)]
    policy: Policy,
}

impl From<OrganizationState> for Organization {
    fn from(s: OrganizationState) -> Self {
        let mut o = Organization {
            id: s.id,
            created: s.created,
            deleted: s.deleted,
            project_id: s.project_id,
            slug: s.slug,
            policy: s.policy,
            ..Organization::default()
        };
        for (id, m) in s.memberships {
            o.put(id, m);
        }
        o
    }
}

impl Organization {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn ensure_live(&self) -> Result<(), OrganizationError> {
        if self.is_live() {
            Ok(())
        } else {
            Err(OrganizationError::NotFound)
        }
    }
    fn ensure_member(&self, id: &MembershipId) -> Result<Membership, OrganizationError> {
        self.ensure_live()?;
        self.memberships.get(id).cloned().ok_or(OrganizationError::MembershipNotFound)
    }
    /// An org admin may not remove the last active admin (by demotion, deactivation
    /// or deletion). `leaves_admin` says whether the change takes `id` out of the
    /// active admins.
    fn ensure_keeps_an_admin(
        &self,
        id: &MembershipId,
        m: &Membership,
        authority: Authority,
        leaves_admin: bool,
    ) -> Result<(), OrganizationError> {
        if authority == Authority::Project || !leaves_admin {
            return Ok(());
        }
        if m.status != MembershipStatus::Active || m.role != ADMIN {
            return Ok(());
        }
        let others = self.active_admins.len() - usize::from(self.active_admins.contains(id));
        if others == 0 {
            Err(OrganizationError::LastAdmin)
        } else {
            Ok(())
        }
    }
    pub fn membership_of(&self, user: &UserId) -> Option<(&MembershipId, &Membership)> {
        let id = self.by_user.get(user)?;
        self.memberships.get(id).map(|m| (id, m))
    }

    /// Insert or replace a membership, keeping the indexes in step.
    fn put(&mut self, id: MembershipId, m: Membership) {
        if m.status == MembershipStatus::Active && m.role == ADMIN {
            self.active_admins.insert(id.clone());
        } else {
            self.active_admins.remove(&id);
        }
        self.by_user.insert(m.user_id.clone(), id.clone());
        self.memberships.insert(id, m);
    }

    /// Change a membership in place (if it exists), keeping the indexes in step.
    fn update(&mut self, id: MembershipId, change: impl FnOnce(&mut Membership)) {
        if let Some(mut m) = self.memberships.get(&id).cloned() {
            change(&mut m);
            self.put(id, m);
        }
    }

    fn remove(&mut self, id: &MembershipId) {
        if let Some(m) = self.memberships.remove(id) {
            self.by_user.remove(&m.user_id);
            self.active_admins.remove(id);
        }
    }
}

fn ensure_name(name: &str) -> Result<(), OrganizationError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        Err(OrganizationError::InvalidName)
    } else {
        Ok(())
    }
}

impl Aggregate for Organization {
    const TYPE: &'static str = "organization";
    type Command = OrganizationCommand;
    type Event = OrganizationEvent;
    type Error = OrganizationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: OrganizationCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), OrganizationError> {
        use OrganizationCommand as C;
        use OrganizationEvent as E;
        match command {
            C::Create { organization_id, project_id, name, slug, domains, at } => {
                if self.created {
                    return Err(OrganizationError::AlreadyExists);
                }
                ensure_name(&name)?;
                let ev = E::Created { organization_id, project_id, name, slug, domains, created_at: at };
                sink.write(ev, self).await;
            }
            C::Update { name, slug, domains, at } => {
                self.ensure_live()?;
                if let Some(n) = &name {
                    ensure_name(n)?;
                }
                let ev = E::Updated { name, slug, domains, updated_at: at };
                sink.write(ev, self).await;
            }
            C::Delete { at } => {
                self.ensure_live()?;
                let ids: Vec<_> = self.memberships.iter().map(|(k, m)| (k.clone(), m.user_id.clone())).collect();
                for (membership_id, user_id) in ids {
                    let ev = E::MembershipDeleted { membership_id, user_id, deleted_at: at };
                    sink.write(ev, self).await;
                }
                sink.write(E::Deleted { deleted_at: at }, self).await;
            }
            C::AddMembership { membership_id, user_id, role, status, at } => {
                self.ensure_live()?;
                if self.membership_of(&user_id).is_some() || self.memberships.contains_key(&membership_id) {
                    return Err(OrganizationError::MembershipExists);
                }
                if status == MembershipStatus::Inactive {
                    return Err(OrganizationError::InvalidMembershipTransition);
                }
                let organization_id = OrganizationId(self.id.clone());
                let ev = E::MembershipCreated { membership_id, organization_id, user_id, role, status, created_at: at };
                sink.write(ev, self).await;
            }
            C::ChangeRole { membership_id, role, authority, at } => {
                let m = self.ensure_member(&membership_id)?;
                if m.role == role {
                    return Ok(());
                }
                self.ensure_keeps_an_admin(&membership_id, &m, authority, role != ADMIN)?;
                let ev = E::MembershipRoleChanged {
                    membership_id,
                    user_id: m.user_id,
                    from: m.role,
                    to: role,
                    changed_at: at,
                };
                sink.write(ev, self).await;
            }
            C::Deactivate { membership_id, authority, at } => {
                let m = self.ensure_member(&membership_id)?;
                if m.status != MembershipStatus::Active {
                    return Err(OrganizationError::InvalidMembershipTransition);
                }
                self.ensure_keeps_an_admin(&membership_id, &m, authority, true)?;
                let ev = E::MembershipDeactivated { membership_id, user_id: m.user_id, deactivated_at: at };
                sink.write(ev, self).await;
            }
            C::Reactivate { membership_id, at } => {
                let m = self.ensure_member(&membership_id)?;
                if m.status != MembershipStatus::Inactive {
                    return Err(OrganizationError::InvalidMembershipTransition);
                }
                let ev =
                    E::MembershipReactivated { membership_id, user_id: m.user_id, role: m.role, reactivated_at: at };
                sink.write(ev, self).await;
            }
            C::JoinByInvitation { membership_id, user_id, role, at } => {
                self.ensure_live()?;
                let Some((id, m)) = self.membership_of(&user_id).map(|(i, m)| (i.clone(), m.clone())) else {
                    let organization_id = OrganizationId(self.id.clone());
                    let status = MembershipStatus::Active;
                    let ev =
                        E::MembershipCreated { membership_id, organization_id, user_id, role, status, created_at: at };
                    sink.write(ev, self).await;
                    return Ok(());
                };
                if m.status == MembershipStatus::Active {
                    return Err(OrganizationError::MembershipExists);
                }
                if m.role != role {
                    let ev = E::MembershipRoleChanged {
                        membership_id: id.clone(),
                        user_id: user_id.clone(),
                        from: m.role,
                        to: role.clone(),
                        changed_at: at,
                    };
                    sink.write(ev, self).await;
                }
                let ev = match m.status {
                    MembershipStatus::Pending => {
                        E::MembershipActivated { membership_id: id, user_id, role, activated_at: at }
                    }
                    _ => E::MembershipReactivated { membership_id: id, user_id, role, reactivated_at: at },
                };
                sink.write(ev, self).await;
            }
            C::DeleteMembership { membership_id, authority, at } => {
                let m = self.ensure_member(&membership_id)?;
                self.ensure_keeps_an_admin(&membership_id, &m, authority, true)?;
                let ev = E::MembershipDeleted { membership_id, user_id: m.user_id, deleted_at: at };
                sink.write(ev, self).await;
            }
            C::SetPolicy { policy, at } => {
                self.ensure_live()?;
                if policy != self.policy {
                    let ev = E::PolicyChanged {
                        allowed_methods: policy.allowed_methods,
                        require_passkey: policy.require_passkey,
                        max_session_age_seconds: policy.max_session_age_seconds,
                        changed_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            C::RemoveUser { user_id, at } => {
                if !self.is_live() {
                    return Ok(());
                }
                if let Some((id, _)) = self.membership_of(&user_id) {
                    let ev = E::MembershipDeleted { membership_id: id.clone(), user_id, deleted_at: at };
                    sink.write(ev, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: OrganizationEvent) {
        use OrganizationEvent as E;
        match event {
            E::Created { organization_id, project_id, slug, .. } => {
                self.created = true;
                self.id = organization_id.0;
                self.project_id = Some(project_id);
                self.slug = slug;
            }
            E::Updated { slug, .. } => {
                if let Some(s) = slug {
                    self.slug = s;
                }
            }
            E::Deleted { .. } => self.deleted = true,
            E::MembershipCreated { membership_id, user_id, role, status, .. } => {
                self.put(membership_id, Membership { user_id, role, status });
            }
            E::MembershipRoleChanged { membership_id, to, .. } => self.update(membership_id, |m| m.role = to),
            E::MembershipDeactivated { membership_id, .. } => {
                self.update(membership_id, |m| m.status = MembershipStatus::Inactive)
            }
            E::MembershipReactivated { membership_id, .. } | E::MembershipActivated { membership_id, .. } => {
                self.update(membership_id, |m| m.status = MembershipStatus::Active)
            }
            E::MembershipDeleted { membership_id, .. } => self.remove(&membership_id),
            E::PolicyChanged { allowed_methods, require_passkey, max_session_age_seconds, .. } => {
                self.policy = Policy { allowed_methods, require_passkey, max_session_age_seconds };
            }
        }
    }
}
