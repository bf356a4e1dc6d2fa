//! An invitation to an organization (or, without one, to the project).
//!
//! `pending → accepted | revoked | expired`. The one-time code is not part of the state:
//! the application keeps only its hash beside the events (a resend replaces it), and
//! finds the invitation by it. Expiry is decided from `expires_at` at accept time and
//! recorded by a sweep (`Expire`), so an expired invitation is refused before the
//! sweep has recorded it.
use crate::ids::{MembershipId, OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    #[default]
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl InvitationState {
    pub const ALL: [InvitationState; 4] =
        [InvitationState::Pending, InvitationState::Accepted, InvitationState::Revoked, InvitationState::Expired];
    pub fn as_str(self) -> &'static str {
        match self {
            InvitationState::Pending => "pending",
            InvitationState::Accepted => "accepted",
            InvitationState::Revoked => "revoked",
            InvitationState::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum InvitationCommand {
    Create {
        invitation_id: String,
        project_id: TenantId,
        organization_id: Option<OrganizationId>,
        /// Normalized (trimmed, lower-case).
        email: String,
        role: Option<String>,
        inviter_user_id: Option<UserId>,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A new code was issued (the old one dies) with a new expiry.
    Resend {
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The user (their normalized email and whether it is verified) accepts; the
    /// membership created or changed by the same commit, if any.
    Accept {
        user_id: UserId,
        email: String,
        email_verified: bool,
        membership_id: Option<MembershipId>,
        at: DateTime<Utc>,
    },
    Revoke {
        at: DateTime<Utc>,
    },
    /// Record the expiry of a pending invitation past `expires_at` (the sweep).
    Expire {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum InvitationEvent {
    #[serde(rename = "invitation.created")]
    Created {
        invitation_id: String,
        project_id: TenantId,
        organization_id: Option<OrganizationId>,
        email: String,
        role: Option<String>,
        inviter_user_id: Option<UserId>,
        expires_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "invitation.resent")]
    Resent {
        invitation_id: String,
        organization_id: Option<OrganizationId>,
        expires_at: DateTime<Utc>,
        resent_at: DateTime<Utc>,
    },
    #[serde(rename = "invitation.accepted")]
    Accepted {
        invitation_id: String,
        organization_id: Option<OrganizationId>,
        user_id: UserId,
        membership_id: Option<MembershipId>,
        accepted_at: DateTime<Utc>,
    },
    #[serde(rename = "invitation.revoked")]
    Revoked { invitation_id: String, organization_id: Option<OrganizationId>, revoked_at: DateTime<Utc> },
    #[serde(rename = "invitation.expired")]
    Expired { invitation_id: String, organization_id: Option<OrganizationId>, expired_at: DateTime<Utc> },
}

crate::event_names!(InvitationEvent {
    Created => "invitation.created",
    Resent => "invitation.resent",
    Accepted => "invitation.accepted",
    Revoked => "invitation.revoked",
    Expired => "invitation.expired",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    #[error("the invitation already exists")]
    AlreadyExists,
    #[error("no such invitation")]
    NotFound,
    #[error("the invitation is no longer pending")]
    NotPending,
    #[error("the invitation has expired")]
    Expired,
    #[error("the invitation was revoked")]
    Revoked,
    #[error("the invitation was accepted already")]
    Accepted,
    #[error("the invitation is for another email address")]
    EmailMismatch,
    #[error("the user's email address is not verified")]
    EmailNotVerified,
}

impl InvitationError {
    pub fn code(&self) -> &'static str {
        match self {
            InvitationError::AlreadyExists => "concurrent_modification",
            InvitationError::NotFound => "invitation_invalid",
            InvitationError::NotPending => "invitation_not_pending",
            InvitationError::Expired => "invitation_expired",
            InvitationError::Revoked => "invitation_revoked",
            InvitationError::Accepted => "invitation_accepted",
            InvitationError::EmailMismatch => "invitation_email_mismatch",
            InvitationError::EmailNotVerified => "email_not_verified",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Invitation {
    pub id: String,
    pub created: bool,
    pub project_id: Option<TenantId>,
    pub organization_id: Option<OrganizationId>,
    pub email: String,
    pub role: Option<String>,
    pub state: InvitationState,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Invitation {
    /// Whether it is pending and not past its expiry at `now`; otherwise why not.
    pub fn ensure_open(&self, now: DateTime<Utc>) -> Result<(), InvitationError> {
        if !self.created {
            return Err(InvitationError::NotFound);
        }
        match self.state {
            InvitationState::Pending if self.expires_at.is_some_and(|e| now >= e) => Err(InvitationError::Expired),
            InvitationState::Pending => Ok(()),
            InvitationState::Accepted => Err(InvitationError::Accepted),
            InvitationState::Revoked => Err(InvitationError::Revoked),
            InvitationState::Expired => Err(InvitationError::Expired),
        }
    }
    fn ensure_pending(&self) -> Result<(), InvitationError> {
        match (self.created, self.state) {
            (false, _) => Err(InvitationError::NotFound),
            (true, InvitationState::Pending) => Ok(()),
            _ => Err(InvitationError::NotPending),
        }
    }
}

impl Aggregate for Invitation {
    const TYPE: &'static str = "invitation";
    type Command = InvitationCommand;
    type Event = InvitationEvent;
    type Error = InvitationError;
    type Services = ();

    async fn handle(
        &mut self,
        command: InvitationCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), InvitationError> {
        use InvitationCommand as C;
        use InvitationEvent as E;
        let invitation_id = self.id.clone();
        let organization_id = self.organization_id.clone();
        match command {
            C::Create { invitation_id, project_id, organization_id, email, role, inviter_user_id, expires_at, at } => {
                if self.created {
                    return Err(InvitationError::AlreadyExists);
                }
                let ev = E::Created {
                    invitation_id,
                    project_id,
                    organization_id,
                    email,
                    role,
                    inviter_user_id,
                    expires_at,
                    created_at: at,
                };
                sink.write(ev, self).await;
            }
            C::Resend { expires_at, at } => {
                self.ensure_pending()?;
                sink.write(E::Resent { invitation_id, organization_id, expires_at, resent_at: at }, self).await;
            }
            C::Accept { user_id, email, email_verified, membership_id, at } => {
                self.ensure_open(at)?;
                if crate::normalize_email(&email) != self.email {
                    return Err(InvitationError::EmailMismatch);
                }
                if !email_verified {
                    return Err(InvitationError::EmailNotVerified);
                }
                let ev = E::Accepted { invitation_id, organization_id, user_id, membership_id, accepted_at: at };
                sink.write(ev, self).await;
            }
            C::Revoke { at } => {
                self.ensure_pending()?;
                sink.write(E::Revoked { invitation_id, organization_id, revoked_at: at }, self).await;
            }
            C::Expire { at } => {
                let due = self.expires_at.is_some_and(|e| at >= e);
                if self.created && self.state == InvitationState::Pending && due {
                    sink.write(E::Expired { invitation_id, organization_id, expired_at: at }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: InvitationEvent) {
        use InvitationEvent as E;
        match event {
            E::Created { invitation_id, project_id, organization_id, email, role, expires_at, .. } => {
                self.id = invitation_id;
                self.created = true;
                self.project_id = Some(project_id);
                self.organization_id = organization_id;
                self.email = email;
                self.role = role;
                self.expires_at = Some(expires_at);
            }
            E::Resent { expires_at, .. } => self.expires_at = Some(expires_at),
            E::Accepted { .. } => self.state = InvitationState::Accepted,
            E::Revoked { .. } => self.state = InvitationState::Revoked,
            E::Expired { .. } => self.state = InvitationState::Expired,
        }
    }
}
