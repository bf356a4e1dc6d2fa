//! A team inside an organization: a name, a slug unique in the organization (held by a
//! reservation), and members who must be members of the organization (the application
//! requires it at commit). A member's status in the team is their membership's.
use crate::ids::{MembershipId, OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub enum TeamCommand {
    Create {
        team_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        name: String,
        slug: String,
        at: DateTime<Utc>,
    },
    Update {
        name: Option<String>,
        slug: Option<String>,
        at: DateTime<Utc>,
    },
    /// Delete the team (its members leave it first, each with an event).
    Delete {
        at: DateTime<Utc>,
    },
    AddMember {
        user_id: UserId,
        membership_id: MembershipId,
        role: Option<String>,
        at: DateTime<Utc>,
    },
    RemoveMember {
        user_id: UserId,
        at: DateTime<Utc>,
    },
    /// The user left the organization: leave the team if in it (no error otherwise).
    Leave {
        user_id: UserId,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TeamEvent {
    #[serde(rename = "team.created")]
    Created {
        team_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        name: String,
        slug: String,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "team.updated")]
    Updated {
        team_id: String,
        organization_id: OrganizationId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slug: Option<String>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "team.deleted")]
    Deleted { team_id: String, organization_id: OrganizationId, deleted_at: DateTime<Utc> },
    #[serde(rename = "team.member_added")]
    MemberAdded {
        team_id: String,
        organization_id: OrganizationId,
        user_id: UserId,
        membership_id: MembershipId,
        role: Option<String>,
        added_at: DateTime<Utc>,
    },
    #[serde(rename = "team.member_removed")]
    MemberRemoved { team_id: String, organization_id: OrganizationId, user_id: UserId, removed_at: DateTime<Utc> },
}

crate::event_names!(TeamEvent {
    Created => "team.created",
    Updated => "team.updated",
    Deleted => "team.deleted",
    MemberAdded => "team.member_added",
    MemberRemoved => "team.member_removed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    #[error("the team already exists")]
    AlreadyExists,
    #[error("no such team")]
    NotFound,
    #[error("the user is in the team already")]
    MemberExists,
    #[error("the user is not in the team")]
    NotAMember,
    #[error("names are 1 to 200 printable characters")]
    InvalidName,
}

impl TeamError {
    pub fn code(&self) -> &'static str {
        match self {
            TeamError::AlreadyExists => "concurrent_modification",
            TeamError::NotFound | TeamError::NotAMember => "not_found",
            TeamError::MemberExists => "team_member_exists",
            TeamError::InvalidName => "invalid_request",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Team {
    pub id: String,
    pub created: bool,
    pub deleted: bool,
    pub project_id: Option<TenantId>,
    pub organization_id: Option<OrganizationId>,
    pub slug: String,
    /// Members by user, with their team role.
    pub members: BTreeMap<UserId, Option<String>>,
}

impl Team {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn org(&self) -> OrganizationId {
        self.organization_id.clone().unwrap_or_else(|| OrganizationId::new(""))
    }
}

fn ensure_name(name: &str) -> Result<(), TeamError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        Err(TeamError::InvalidName)
    } else {
        Ok(())
    }
}

impl Aggregate for Team {
    const TYPE: &'static str = "team";
    type Command = TeamCommand;
    type Event = TeamEvent;
    type Error = TeamError;
    type Services = ();

    async fn handle(&mut self, command: TeamCommand, _: &(), sink: &EventSink<Self>) -> Result<(), TeamError> {
        use TeamCommand as C;
        use TeamEvent as E;
        if !matches!(command, C::Create { .. }) && !self.is_live() {
            return Err(TeamError::NotFound);
        }
        let (team_id, organization_id) = (self.id.clone(), self.org());
        match command {
            C::Create { team_id, project_id, organization_id, name, slug, at } => {
                if self.created {
                    return Err(TeamError::AlreadyExists);
                }
                ensure_name(&name)?;
                let ev = E::Created { team_id, project_id, organization_id, name, slug, created_at: at };
                sink.write(ev, self).await;
            }
            C::Update { name, slug, at } => {
                if let Some(n) = &name {
                    ensure_name(n)?;
                }
                let slug = slug.filter(|s| *s != self.slug);
                if name.is_some() || slug.is_some() {
                    sink.write(E::Updated { team_id, organization_id, name, slug, updated_at: at }, self).await;
                }
            }
            C::Delete { at } => {
                let users: Vec<UserId> = self.members.keys().cloned().collect();
                for user_id in users {
                    let ev = E::MemberRemoved {
                        team_id: team_id.clone(),
                        organization_id: organization_id.clone(),
                        user_id,
                        removed_at: at,
                    };
                    sink.write(ev, self).await;
                }
                sink.write(E::Deleted { team_id, organization_id, deleted_at: at }, self).await;
            }
            C::AddMember { user_id, membership_id, role, at } => {
                if self.members.contains_key(&user_id) {
                    return Err(TeamError::MemberExists);
                }
                let ev = E::MemberAdded { team_id, organization_id, user_id, membership_id, role, added_at: at };
                sink.write(ev, self).await;
            }
            C::RemoveMember { user_id, at } | C::Leave { user_id, at } if self.members.contains_key(&user_id) => {
                sink.write(E::MemberRemoved { team_id, organization_id, user_id, removed_at: at }, self).await;
            }
            C::RemoveMember { .. } => return Err(TeamError::NotAMember),
            C::Leave { .. } => {}
        }
        Ok(())
    }

    fn apply(&mut self, event: TeamEvent) {
        use TeamEvent as E;
        match event {
            E::Created { team_id, project_id, organization_id, slug, .. } => {
                self.id = team_id;
                self.created = true;
                self.project_id = Some(project_id);
                self.organization_id = Some(organization_id);
                self.slug = slug;
            }
            E::Updated { slug, .. } => {
                if let Some(s) = slug {
                    self.slug = s;
                }
            }
            E::Deleted { .. } => self.deleted = true,
            E::MemberAdded { user_id, role, .. } => {
                self.members.insert(user_id, role);
            }
            E::MemberRemoved { user_id, .. } => {
                self.members.remove(&user_id);
            }
        }
    }
}
