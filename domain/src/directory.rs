//! An organization's SCIM directory: its customer's identity provider provisions users
//! into the organization through it. The bearer token lives beside the events (hashed);
//! the events say when it was rotated. The directory links each user it provisioned
//! (their SCIM id is the user's id) with the identity provider's `externalId`.
//!
//! Groups: the identity provider pushes groups of the users it provisioned (a display
//! name unique in the directory, in any letter case; members only linked users). The
//! directory's group mappings, set by the organization's administrators, say what a
//! group means here: a role (the first mapping, in order, of a group holding the user
//! gives their role) and a team (the group's members are its members).
use crate::ids::{OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use imbl::{OrdMap, OrdSet};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum DirectoryCommand {
    Create {
        directory_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        name: String,
        at: DateTime<Utc>,
    },
    RotateToken {
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
    /// Link a provisioned user (or change what the directory keeps of them).
    Link {
        user_id: UserId,
        link: LinkedUser,
        at: DateTime<Utc>,
    },
    Unlink {
        user_id: UserId,
        at: DateTime<Utc>,
    },
    CreateGroup {
        group_id: String,
        display_name: String,
        external_id: Option<String>,
        members: Vec<UserId>,
        at: DateTime<Utc>,
    },
    /// Rename a group or change its `externalId`, and change its members: `members`
    /// replaces them all when given.
    ChangeGroup {
        group_id: String,
        display_name: Option<String>,
        external_id: Option<Option<String>>,
        members: Option<Vec<UserId>>,
        at: DateTime<Utc>,
    },
    DeleteGroup {
        group_id: String,
        at: DateTime<Utc>,
    },
    /// Replace the group mappings (in precedence order).
    SetMappings {
        mappings: Vec<GroupMapping>,
        at: DateTime<Utc>,
    },
}

/// What a directory group means in the organization: the group is named by its display
/// name (compared in any letter case, so a mapping may precede the group's push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMapping {
    pub group: String,
    /// The role its members hold (the first mapping of a group holding the user wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The team its members are members of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

/// What a directory keeps of a user it provisioned, besides the user itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LinkedUser {
    /// The identity provider's id for the user.
    pub external_id: Option<String>,
    /// The identity provider's `userName`, when it is not the user's email.
    pub user_name: Option<String>,
    /// The `displayName` the identity provider gave.
    pub display_name: Option<String>,
}

/// A group the identity provider pushed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DirectoryGroup {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: OrdSet<UserId>,
}

/// The most mappings one directory holds.
pub const MAX_MAPPINGS: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DirectoryEvent {
    #[serde(rename = "directory.created")]
    Created {
        directory_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        name: String,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.token_rotated")]
    TokenRotated { directory_id: String, organization_id: OrganizationId, rotated_at: DateTime<Utc> },
    #[serde(rename = "directory.deleted")]
    Deleted { directory_id: String, organization_id: OrganizationId, deleted_at: DateTime<Utc> },
    #[serde(rename = "directory.user_linked")]
    UserLinked {
        directory_id: String,
        organization_id: OrganizationId,
        user_id: UserId,
        external_id: Option<String>,
        /// The identity provider's `userName`, when it is not the user's email.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_name: Option<String>,
        /// The identity provider's `displayName` for the user.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        linked_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.user_unlinked")]
    UserUnlinked { directory_id: String, organization_id: OrganizationId, user_id: UserId, unlinked_at: DateTime<Utc> },
    #[serde(rename = "directory.group_created")]
    GroupCreated {
        directory_id: String,
        organization_id: OrganizationId,
        group_id: String,
        display_name: String,
        external_id: Option<String>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.group_updated")]
    GroupUpdated {
        directory_id: String,
        organization_id: OrganizationId,
        group_id: String,
        display_name: String,
        external_id: Option<String>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.group_deleted")]
    GroupDeleted { directory_id: String, organization_id: OrganizationId, group_id: String, deleted_at: DateTime<Utc> },
    #[serde(rename = "directory.group_member_added")]
    GroupMemberAdded {
        directory_id: String,
        organization_id: OrganizationId,
        group_id: String,
        user_id: UserId,
        added_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.group_member_removed")]
    GroupMemberRemoved {
        directory_id: String,
        organization_id: OrganizationId,
        group_id: String,
        user_id: UserId,
        removed_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.group_mappings_changed")]
    GroupMappingsChanged {
        directory_id: String,
        organization_id: OrganizationId,
        mappings: Vec<GroupMapping>,
        changed_at: DateTime<Utc>,
    },
}

crate::event_names!(DirectoryEvent {
    Created => "directory.created",
    TokenRotated => "directory.token_rotated",
    Deleted => "directory.deleted",
    UserLinked => "directory.user_linked",
    UserUnlinked => "directory.user_unlinked",
    GroupCreated => "directory.group_created",
    GroupUpdated => "directory.group_updated",
    GroupDeleted => "directory.group_deleted",
    GroupMemberAdded => "directory.group_member_added",
    GroupMemberRemoved => "directory.group_member_removed",
    GroupMappingsChanged => "directory.group_mappings_changed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("the directory already exists")]
    AlreadyExists,
    #[error("no such directory")]
    NotFound,
    #[error("the user is not provisioned by this directory")]
    NotLinked,
    #[error("the name must be 1 to 200 printable characters")]
    InvalidName,
    #[error("no such group")]
    GroupNotFound,
    #[error("a group's displayName must be 1 to 256 printable characters")]
    InvalidGroupName,
    #[error("this directory has a group named {0:?} already")]
    GroupNameTaken(String),
    #[error("group member {0} is not a user of this directory")]
    UnknownMember(String),
    #[error("the group id exists already")]
    GroupExists,
    #[error("at most {MAX_MAPPINGS} mappings, each naming a group (1 to 256 printable characters, once) and a role or a team")]
    InvalidMappings,
}

impl DirectoryError {
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::AlreadyExists | DirectoryError::GroupExists => "concurrent_modification",
            DirectoryError::NotFound | DirectoryError::NotLinked | DirectoryError::GroupNotFound => "not_found",
            DirectoryError::InvalidName | DirectoryError::InvalidGroupName | DirectoryError::InvalidMappings => {
                "invalid_request"
            }
            DirectoryError::GroupNameTaken(_) => "group_name_taken",
            DirectoryError::UnknownMember(_) => "unknown_group_member",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Directory {
    pub id: String,
    pub created: bool,
    pub deleted: bool,
    pub project_id: Option<TenantId>,
    pub organization_id: Option<OrganizationId>,
    /// Provisioned users and what the directory keeps of them.
    pub users: OrdMap<UserId, LinkedUser>,
    #[serde(default)]
    pub groups: OrdMap<String, DirectoryGroup>,
    #[serde(default)]
    pub mappings: Vec<GroupMapping>,
}

impl Directory {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn org(&self) -> OrganizationId {
        self.organization_id.clone().unwrap_or_else(|| OrganizationId::new(""))
    }

    /// The group with this display name (in any letter case).
    pub fn group_named(&self, name: &str) -> Option<(&String, &DirectoryGroup)> {
        let name = name.trim().to_lowercase();
        self.groups.iter().find(|(_, g)| g.display_name.trim().to_lowercase() == name)
    }

    /// The role the mappings give `user`: that of the first role mapping whose group
    /// holds them; `None` when no role mapping holds them (or there is none).
    pub fn mapped_role(&self, user: &UserId) -> Option<&str> {
        self.mappings
            .iter()
            .filter(|m| m.role.is_some())
            .find_map(|m| self.group_named(&m.group).filter(|(_, g)| g.members.contains(user)).and(m.role.as_deref()))
    }

    /// Whether any mapping gives a role (then the directory sets its users' roles).
    pub fn maps_roles(&self) -> bool {
        self.mappings.iter().any(|m| m.role.is_some())
    }

    /// The teams the mappings manage, each with whether `user` belongs in it.
    pub fn mapped_teams(&self, user: &UserId) -> Vec<(&str, bool)> {
        let mut out: Vec<(&str, bool)> = Vec::new();
        for m in &self.mappings {
            let Some(team) = m.team_id.as_deref() else { continue };
            let holds = self.group_named(&m.group).is_some_and(|(_, g)| g.members.contains(user));
            match out.iter_mut().find(|(t, _)| *t == team) {
                Some((_, inside)) => *inside |= holds,
                None => out.push((team, holds)),
            }
        }
        out
    }

    fn check_group_name(&self, name: &str, except: Option<&str>) -> Result<(), DirectoryError> {
        let n = name.trim();
        if n.is_empty() || n.chars().count() > 256 || n.chars().any(char::is_control) {
            return Err(DirectoryError::InvalidGroupName);
        }
        match self.group_named(n) {
            Some((id, _)) if Some(id.as_str()) != except => Err(DirectoryError::GroupNameTaken(n.to_string())),
            _ => Ok(()),
        }
    }

    fn check_members<'a>(&self, users: impl IntoIterator<Item = &'a UserId>) -> Result<(), DirectoryError> {
        match users.into_iter().find(|u| !self.users.contains_key(*u)) {
            Some(u) => Err(DirectoryError::UnknownMember(u.as_str().to_string())),
            None => Ok(()),
        }
    }
}

fn valid_mappings(mappings: &[GroupMapping]) -> bool {
    let mut seen = std::collections::HashSet::new();
    mappings.len() <= MAX_MAPPINGS
        && mappings.iter().all(|m| {
            let g = m.group.trim();
            !g.is_empty()
                && g.chars().count() <= 256
                && !g.chars().any(char::is_control)
                && (m.role.is_some() || m.team_id.is_some())
                && seen.insert(g.to_lowercase())
        })
}

impl Aggregate for Directory {
    const TYPE: &'static str = "directory";
    type Command = DirectoryCommand;
    type Event = DirectoryEvent;
    type Error = DirectoryError;
    type Services = ();

    async fn handle(
        &mut self,
        command: DirectoryCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), DirectoryError> {
        use DirectoryCommand as C;
        use DirectoryEvent as E;
        if !matches!(command, C::Create { .. }) && !self.is_live() {
            return Err(DirectoryError::NotFound);
        }
        let (directory_id, organization_id) = (self.id.clone(), self.org());
        match command {
            C::Create { directory_id, project_id, organization_id, name, at } => {
                if self.created {
                    return Err(DirectoryError::AlreadyExists);
                }
                let n = name.trim();
                if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
                    return Err(DirectoryError::InvalidName);
                }
                let ev = E::Created { directory_id, project_id, organization_id, name, created_at: at };
                sink.write(ev, self).await;
            }
            C::RotateToken { at } => {
                sink.write(E::TokenRotated { directory_id, organization_id, rotated_at: at }, self).await;
            }
            C::Delete { at } => sink.write(E::Deleted { directory_id, organization_id, deleted_at: at }, self).await,
            C::Link { user_id, link, at } => {
                if self.users.get(&user_id) != Some(&link) {
                    let LinkedUser { external_id, user_name, display_name } = link;
                    let ev = E::UserLinked {
                        directory_id,
                        organization_id,
                        user_id,
                        external_id,
                        user_name,
                        display_name,
                        linked_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            C::Unlink { user_id, at } => {
                if !self.users.contains_key(&user_id) {
                    return Err(DirectoryError::NotLinked);
                }
                // An unlinked user leaves the directory's groups first.
                let holding: Vec<String> = self
                    .groups
                    .iter()
                    .filter(|(_, g)| g.members.contains(&user_id))
                    .map(|(id, _)| id.clone())
                    .collect();
                for group_id in holding {
                    let ev = E::GroupMemberRemoved {
                        directory_id: directory_id.clone(),
                        organization_id: organization_id.clone(),
                        group_id,
                        user_id: user_id.clone(),
                        removed_at: at,
                    };
                    sink.write(ev, self).await;
                }
                sink.write(E::UserUnlinked { directory_id, organization_id, user_id, unlinked_at: at }, self).await;
            }
            C::CreateGroup { group_id, display_name, external_id, members, at } => {
                if self.groups.contains_key(&group_id) {
                    return Err(DirectoryError::GroupExists);
                }
                self.check_group_name(&display_name, None)?;
                self.check_members(&members)?;
                let ev = E::GroupCreated {
                    directory_id: directory_id.clone(),
                    organization_id: organization_id.clone(),
                    group_id: group_id.clone(),
                    display_name: display_name.trim().to_string(),
                    external_id,
                    created_at: at,
                };
                sink.write(ev, self).await;
                let members: OrdSet<UserId> = members.into_iter().collect();
                for user_id in members {
                    let ev = E::GroupMemberAdded {
                        directory_id: directory_id.clone(),
                        organization_id: organization_id.clone(),
                        group_id: group_id.clone(),
                        user_id,
                        added_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            C::ChangeGroup { group_id, display_name, external_id, members, at } => {
                let g = self.groups.get(&group_id).cloned().ok_or(DirectoryError::GroupNotFound)?;
                let name = display_name.map(|n| n.trim().to_string()).unwrap_or_else(|| g.display_name.clone());
                self.check_group_name(&name, Some(&group_id))?;
                let external = external_id.unwrap_or_else(|| g.external_id.clone());
                let wanted = members.map(|m| m.into_iter().collect::<OrdSet<_>>()).unwrap_or(g.members.clone());
                self.check_members(wanted.iter().filter(|u| !g.members.contains(*u)))?;
                if name != g.display_name || external != g.external_id {
                    let ev = E::GroupUpdated {
                        directory_id: directory_id.clone(),
                        organization_id: organization_id.clone(),
                        group_id: group_id.clone(),
                        display_name: name,
                        external_id: external,
                        updated_at: at,
                    };
                    sink.write(ev, self).await;
                }
                for user_id in g.members.iter().filter(|u| !wanted.contains(*u)).cloned() {
                    let ev = E::GroupMemberRemoved {
                        directory_id: directory_id.clone(),
                        organization_id: organization_id.clone(),
                        group_id: group_id.clone(),
                        user_id,
                        removed_at: at,
                    };
                    sink.write(ev, self).await;
                }
                for user_id in wanted.into_iter().filter(|u| !g.members.contains(u)) {
                    let ev = E::GroupMemberAdded {
                        directory_id: directory_id.clone(),
                        organization_id: organization_id.clone(),
                        group_id: group_id.clone(),
                        user_id,
                        added_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            C::DeleteGroup { group_id, at } => {
                if !self.groups.contains_key(&group_id) {
                    return Err(DirectoryError::GroupNotFound);
                }
                sink.write(E::GroupDeleted { directory_id, organization_id, group_id, deleted_at: at }, self).await;
            }
            C::SetMappings { mappings, at } => {
                if !valid_mappings(&mappings) {
                    return Err(DirectoryError::InvalidMappings);
                }
                let mappings: Vec<GroupMapping> =
                    mappings.into_iter().map(|m| GroupMapping { group: m.group.trim().to_string(), ..m }).collect();
                if mappings != self.mappings {
                    let ev = E::GroupMappingsChanged { directory_id, organization_id, mappings, changed_at: at };
                    sink.write(ev, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: DirectoryEvent) {
        use DirectoryEvent as E;
        match event {
            E::Created { directory_id, project_id, organization_id, .. } => {
                self.id = directory_id;
                self.created = true;
                self.project_id = Some(project_id);
                self.organization_id = Some(organization_id);
            }
            E::TokenRotated { .. } => {}
            E::Deleted { .. } => self.deleted = true,
            E::UserLinked { user_id, external_id, user_name, display_name, .. } => {
                self.users.insert(user_id, LinkedUser { external_id, user_name, display_name });
            }
            E::UserUnlinked { user_id, .. } => {
                self.users.remove(&user_id);
            }
            E::GroupCreated { group_id, display_name, external_id, .. } => {
                self.groups.insert(group_id, DirectoryGroup { display_name, external_id, members: OrdSet::new() });
            }
            E::GroupUpdated { group_id, display_name, external_id, .. } => {
                if let Some(g) = self.groups.get_mut(&group_id) {
                    g.display_name = display_name;
                    g.external_id = external_id;
                }
            }
            E::GroupDeleted { group_id, .. } => {
                self.groups.remove(&group_id);
            }
            E::GroupMemberAdded { group_id, user_id, .. } => {
                if let Some(g) = self.groups.get_mut(&group_id) {
                    g.members.insert(user_id);
                }
            }
            E::GroupMemberRemoved { group_id, user_id, .. } => {
                if let Some(g) = self.groups.get_mut(&group_id) {
                    g.members.remove(&user_id);
                }
            }
            E::GroupMappingsChanged { mappings, .. } => self.mappings = mappings,
        }
    }
}
