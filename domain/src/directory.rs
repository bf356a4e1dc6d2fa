//! An organization's SCIM directory: its customer's identity provider provisions users
//! into the organization through it. The bearer token lives beside the events (hashed);
//! the events say when it was rotated. The directory links each user it provisioned
//! (their SCIM id is the user's id) with the identity provider's `externalId`.
use crate::ids::{OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use imbl::OrdMap;
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
    /// Link a provisioned user (or change their `externalId`).
    Link {
        user_id: UserId,
        external_id: Option<String>,
        user_name: Option<String>,
        at: DateTime<Utc>,
    },
    Unlink {
        user_id: UserId,
        at: DateTime<Utc>,
    },
}

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
        linked_at: DateTime<Utc>,
    },
    #[serde(rename = "directory.user_unlinked")]
    UserUnlinked { directory_id: String, organization_id: OrganizationId, user_id: UserId, unlinked_at: DateTime<Utc> },
}

crate::event_names!(DirectoryEvent {
    Created => "directory.created",
    TokenRotated => "directory.token_rotated",
    Deleted => "directory.deleted",
    UserLinked => "directory.user_linked",
    UserUnlinked => "directory.user_unlinked",
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
}

impl DirectoryError {
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::AlreadyExists => "concurrent_modification",
            DirectoryError::NotFound | DirectoryError::NotLinked => "not_found",
            DirectoryError::InvalidName => "invalid_request",
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
    /// Provisioned users: their `externalId` and SCIM `userName` (when not their email).
    pub users: OrdMap<UserId, (Option<String>, Option<String>)>,
}

impl Directory {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn org(&self) -> OrganizationId {
        self.organization_id.clone().unwrap_or_else(|| OrganizationId::new(""))
    }
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
            C::Link { user_id, external_id, user_name, at } => {
                if self.users.get(&user_id) != Some(&(external_id.clone(), user_name.clone())) {
                    let ev =
                        E::UserLinked { directory_id, organization_id, user_id, external_id, user_name, linked_at: at };
                    sink.write(ev, self).await;
                }
            }
            C::Unlink { user_id, at } => {
                if !self.users.contains_key(&user_id) {
                    return Err(DirectoryError::NotLinked);
                }
                sink.write(E::UserUnlinked { directory_id, organization_id, user_id, unlinked_at: at }, self).await;
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
            E::UserLinked { user_id, external_id, user_name, .. } => {
                self.users.insert(user_id, (external_id, user_name));
            }
            E::UserUnlinked { user_id, .. } => {
                self.users.remove(&user_id);
            }
        }
    }
}
