//! Session: one sign-in of a user. It records that it was created (with the organization
//! its first context is in) and revoked (with a reason); its organization contexts and
//! their refreshes are streams of their own (`crate::context`). Tokens never enter
//! events. Streams written before contexts existed also hold `session.org_switched` and
//! `session.refreshed` (no longer written here: a switch is now the token family's
//! `session.org_switched`, the same name with more fields, and a refresh
//! `session.context_refreshed`, on the family's stream); they still replay.
use crate::ids::{OrganizationId, SessionId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum SessionCommand {
    Create {
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        /// `magic_link`, `passkey`, `sign_in_token`.
        method: String,
        active_organization: Option<OrganizationId>,
        at: DateTime<Utc>,
    },
    Revoke {
        reason: String,
        at: DateTime<Utc>,
    },
    /// The user proved themselves again in this session (`method`: `passkey`), to meet an
    /// organization's policy.
    StepUp {
        method: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum SessionEvent {
    #[serde(rename = "session.created")]
    Created {
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        method: String,
        active_organization: Option<OrganizationId>,
        created_at: DateTime<Utc>,
    },
    /// Legacy (before contexts): a switch of the session's one active organization.
    #[serde(rename = "session.org_switched")]
    OrganizationSwitched {
        user_id: UserId,
        from: Option<OrganizationId>,
        to: OrganizationId,
        switched_at: DateTime<Utc>,
    },
    /// Legacy (before contexts): a refresh of the session's one token family.
    #[serde(rename = "session.refreshed")]
    Refreshed { generation: u64, refreshed_at: DateTime<Utc> },
    #[serde(rename = "session.revoked")]
    Revoked { user_id: UserId, reason: String, revoked_at: DateTime<Utc> },
    #[serde(rename = "session.stepped_up")]
    SteppedUp { user_id: UserId, method: String, stepped_up_at: DateTime<Utc> },
}

crate::event_names!(SessionEvent {
    Created => "session.created",
    OrganizationSwitched => "session.org_switched",
    Refreshed => "session.refreshed",
    Revoked => "session.revoked",
    SteppedUp => "session.stepped_up",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the session already exists")]
    AlreadyExists,
    #[error("no such session")]
    NotFound,
    #[error("the session was revoked")]
    Revoked,
    #[error("the user has no active membership in that organization")]
    NotAMember,
}

impl SessionError {
    pub fn code(&self) -> &'static str {
        match self {
            SessionError::AlreadyExists => "session_exists",
            SessionError::NotFound | SessionError::Revoked => "unauthenticated",
            SessionError::NotAMember => "not_a_member",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Session {
    pub created: bool,
    pub revoked: bool,
    pub user_id: Option<UserId>,
    pub project_id: Option<TenantId>,
    pub active_organization: Option<OrganizationId>,
    pub generation: u64,
}

impl Session {
    pub fn is_live(&self) -> bool {
        self.created && !self.revoked
    }
    pub fn ensure_live(&self) -> Result<(), SessionError> {
        if !self.created {
            Err(SessionError::NotFound)
        } else if self.revoked {
            Err(SessionError::Revoked)
        } else {
            Ok(())
        }
    }
    fn user(&self) -> UserId {
        self.user_id.clone().unwrap_or_else(|| UserId::new(""))
    }
}

impl Aggregate for Session {
    const TYPE: &'static str = "session";
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;
    type Services = ();

    async fn handle(&mut self, command: SessionCommand, _: &(), sink: &EventSink<Self>) -> Result<(), SessionError> {
        match command {
            SessionCommand::Create { session_id, project_id, user_id, method, active_organization, at } => {
                if self.created {
                    return Err(SessionError::AlreadyExists);
                }
                let ev = SessionEvent::Created {
                    session_id,
                    project_id,
                    user_id,
                    method,
                    active_organization,
                    created_at: at,
                };
                sink.write(ev, self).await;
            }
            SessionCommand::Revoke { reason, at } => {
                if !self.created {
                    return Err(SessionError::NotFound);
                }
                if !self.revoked {
                    sink.write(SessionEvent::Revoked { user_id: self.user(), reason, revoked_at: at }, self).await;
                }
            }
            SessionCommand::StepUp { method, at } => {
                self.ensure_live()?;
                sink.write(SessionEvent::SteppedUp { user_id: self.user(), method, stepped_up_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Created { user_id, project_id, active_organization, .. } => {
                self.created = true;
                self.user_id = Some(user_id);
                self.project_id = Some(project_id);
                self.active_organization = active_organization;
            }
            SessionEvent::OrganizationSwitched { to, .. } => self.active_organization = Some(to),
            SessionEvent::Refreshed { generation, .. } => self.generation = generation,
            SessionEvent::Revoked { .. } => self.revoked = true,
            SessionEvent::SteppedUp { .. } => {}
        }
    }
}
