//! Organization contexts of a session, and their refresh-token families.
//!
//! One sign-in (a `Session`, one `sid`) holds any number of *contexts*: at most one per
//! organization, plus the "no organization" context. Each context is its own stream
//! (`SessionContext`, id `context_stream_id`), so opening, closing or cutting one never
//! touches another. Tokens are issued in *families* (`RefreshFamily`, one stream each):
//! a sign-in or a switch into a context starts a family, and each refresh rotates it.
//! A family belongs to one context at one *epoch* (the count of the context's
//! openings), so tokens of a context that was closed and opened again stay dead.
//!
//! Why streams of their own: a switch into a context that is open appends only to a new
//! family's stream, and a refresh only to its own family's, so any number of concurrent
//! switches and refreshes on one session commute. The only commands that meet on one
//! stream are two first openings of the same context (one opens it, the other then
//! finds it open) and two refreshes of one token (one wins; the token's spend decides).
use crate::ids::{OrganizationId, SessionId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// The stream id of `session`'s context for `organization` (`-` for none).
pub fn context_stream_id(session: &str, organization: Option<&str>) -> String {
    format!("{session}/{}", organization.unwrap_or("-"))
}

/// The read model's key of a context within its session: the organization id, or the
/// empty string for the "no organization" context.
pub fn context_key(organization: Option<&str>) -> &str {
    organization.unwrap_or("")
}

#[derive(Debug, Clone, PartialEq)]
pub enum ContextCommand {
    /// Open the context unless it is open (then nothing happens): a sign-in or a switch
    /// into it. The caller has checked the session is live and, for an organization,
    /// that the membership is active (or makes its commit require it).
    Enter {
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization: Option<OrganizationId>,
        at: DateTime<Utc>,
    },
    /// The user (or an org admin, or the project) ended this context.
    Close { reason: String, at: DateTime<Utc> },
    /// The membership was deactivated or removed: the context dies with it.
    Cut { reason: String, at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ContextEvent {
    #[serde(rename = "session.context_opened")]
    Opened {
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        /// 1 for the first opening, then one more for each reopening.
        epoch: u64,
        opened_at: DateTime<Utc>,
    },
    #[serde(rename = "session.context_closed")]
    Closed {
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        /// `signed_out`, `revoked_by_admin`, `revoked_by_project`.
        reason: String,
        closed_at: DateTime<Utc>,
    },
    #[serde(rename = "session.context_cut")]
    Cut {
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        /// `membership_deactivated`, `membership_removed`.
        reason: String,
        cut_at: DateTime<Utc>,
    },
}

crate::event_names!(ContextEvent {
    Opened => "session.context_opened",
    Closed => "session.context_closed",
    Cut => "session.context_cut",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("the session has no open context for that organization")]
    NotOpen,
}

impl ContextError {
    pub fn code(&self) -> &'static str {
        match self {
            ContextError::NotOpen => "not_found",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct SessionContext {
    pub open: bool,
    pub epoch: u64,
    pub session_id: Option<SessionId>,
    pub user_id: Option<UserId>,
    pub organization_id: Option<OrganizationId>,
}

impl SessionContext {
    fn ids(&self) -> (SessionId, UserId) {
        (
            self.session_id.clone().unwrap_or_else(|| SessionId::new("")),
            self.user_id.clone().unwrap_or_else(|| UserId::new("")),
        )
    }
}

impl Aggregate for SessionContext {
    const TYPE: &'static str = "session_context";
    type Command = ContextCommand;
    type Event = ContextEvent;
    type Error = ContextError;
    type Services = ();

    async fn handle(&mut self, command: ContextCommand, _: &(), sink: &EventSink<Self>) -> Result<(), ContextError> {
        match command {
            ContextCommand::Enter { session_id, project_id, user_id, organization, at } => {
                if !self.open {
                    let ev = ContextEvent::Opened {
                        session_id,
                        project_id,
                        user_id,
                        organization_id: organization,
                        epoch: self.epoch + 1,
                        opened_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            ContextCommand::Close { reason, at } => {
                if !self.open {
                    return Err(ContextError::NotOpen);
                }
                let (session_id, user_id) = self.ids();
                let organization_id = self.organization_id.clone();
                sink.write(ContextEvent::Closed { session_id, user_id, organization_id, reason, closed_at: at }, self)
                    .await;
            }
            ContextCommand::Cut { reason, at } => {
                if self.open {
                    let (session_id, user_id) = self.ids();
                    let organization_id = self.organization_id.clone();
                    sink.write(ContextEvent::Cut { session_id, user_id, organization_id, reason, cut_at: at }, self)
                        .await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: ContextEvent) {
        match event {
            ContextEvent::Opened { session_id, user_id, organization_id, epoch, .. } => {
                self.open = true;
                self.epoch = epoch;
                self.session_id = Some(session_id);
                self.user_id = Some(user_id);
                self.organization_id = organization_id;
            }
            ContextEvent::Closed { .. } | ContextEvent::Cut { .. } => self.open = false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum FamilyCommand {
    /// Start the family: at sign-in (`switched_from` none and `by_switch` false) or by a
    /// switch into the context (`by_switch`, from the caller's organization).
    Start {
        family_id: String,
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization: Option<OrganizationId>,
        epoch: u64,
        switch: Option<Option<OrganizationId>>,
        at: DateTime<Utc>,
    },
    /// A refresh: the family's token is spent and its successor issued.
    Rotate { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum FamilyEvent {
    /// A family started by a sign-in, in the context the sign-in opened.
    #[serde(rename = "session.tokens_issued")]
    Issued {
        family_id: String,
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        epoch: u64,
        issued_at: DateTime<Utc>,
    },
    /// A switch into an organization's context (opened by the same command if it was
    /// not open): a family of its own, so no other context's tokens are touched. The
    /// published name of a switch: before contexts the session's stream stored it
    /// (`SessionEvent::OrganizationSwitched`, `user_id`, `from`, `to`, `switched_at`);
    /// this payload has those fields and more, so a subscriber of either reads both.
    #[serde(rename = "session.org_switched")]
    Switched {
        family_id: String,
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        /// The organization of the access token that asked for the switch.
        from: Option<OrganizationId>,
        to: OrganizationId,
        epoch: u64,
        switched_at: DateTime<Utc>,
    },
    #[serde(rename = "session.context_refreshed")]
    Refreshed {
        session_id: SessionId,
        organization_id: Option<OrganizationId>,
        generation: u64,
        refreshed_at: DateTime<Utc>,
    },
}

crate::event_names!(FamilyEvent {
    Issued => "session.tokens_issued",
    Switched => "session.org_switched",
    Refreshed => "session.context_refreshed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FamilyError {
    #[error("the refresh-token family already exists")]
    AlreadyExists,
    #[error("no such refresh-token family")]
    NotFound,
}

impl FamilyError {
    pub fn code(&self) -> &'static str {
        match self {
            FamilyError::AlreadyExists => "conflict",
            FamilyError::NotFound => "unauthenticated",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct RefreshFamily {
    pub started: bool,
    pub session_id: Option<SessionId>,
    pub project_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub organization_id: Option<OrganizationId>,
    pub epoch: u64,
    pub generation: u64,
}

impl Aggregate for RefreshFamily {
    const TYPE: &'static str = "refresh_family";
    type Command = FamilyCommand;
    type Event = FamilyEvent;
    type Error = FamilyError;
    type Services = ();

    async fn handle(&mut self, command: FamilyCommand, _: &(), sink: &EventSink<Self>) -> Result<(), FamilyError> {
        match command {
            FamilyCommand::Start { family_id, session_id, project_id, user_id, organization, epoch, switch, at } => {
                if self.started {
                    return Err(FamilyError::AlreadyExists);
                }
                let ev = match (switch, organization) {
                    (Some(from), Some(to)) => FamilyEvent::Switched {
                        family_id,
                        session_id,
                        project_id,
                        user_id,
                        from,
                        to,
                        epoch,
                        switched_at: at,
                    },
                    (_, organization_id) => FamilyEvent::Issued {
                        family_id,
                        session_id,
                        project_id,
                        user_id,
                        organization_id,
                        epoch,
                        issued_at: at,
                    },
                };
                sink.write(ev, self).await;
            }
            FamilyCommand::Rotate { at } => {
                if !self.started {
                    return Err(FamilyError::NotFound);
                }
                let ev = FamilyEvent::Refreshed {
                    session_id: self.session_id.clone().unwrap_or_else(|| SessionId::new("")),
                    organization_id: self.organization_id.clone(),
                    generation: self.generation + 1,
                    refreshed_at: at,
                };
                sink.write(ev, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: FamilyEvent) {
        match event {
            FamilyEvent::Issued { session_id, project_id, user_id, organization_id, epoch, .. } => {
                self.start(session_id, project_id, user_id, organization_id, epoch)
            }
            FamilyEvent::Switched { session_id, project_id, user_id, to, epoch, .. } => {
                self.start(session_id, project_id, user_id, Some(to), epoch)
            }
            FamilyEvent::Refreshed { generation, .. } => self.generation = generation,
        }
    }
}

impl RefreshFamily {
    fn start(
        &mut self,
        session: SessionId,
        project: TenantId,
        user: UserId,
        organization: Option<OrganizationId>,
        epoch: u64,
    ) {
        self.started = true;
        self.session_id = Some(session);
        self.project_id = Some(project);
        self.user_id = Some(user);
        self.organization_id = organization;
        self.epoch = epoch;
    }
}
