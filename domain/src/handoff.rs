//! Handoffs: how the hosted sign-in pages (served on Authio's origin) hand a signed-in
//! session to the application that sent the user there, on another origin.
//!
//! The hosted page, holding an access token of the context the user chose, asks for a
//! one-time code bound to that session and context, to the application's redirect URL
//! and to a PKCE challenge (S256). The application redeems the code with the challenge's
//! verifier and gets a token family of its own in the same context. A code is redeemed
//! once, within its lifetime; presenting a redeemed code again is recorded as reuse, and
//! the caller revokes the session (whoever holds a copy of the code may hold its tokens).
//!
//! Each handoff is a stream of its own (id `hoff_…`, named in the code itself), so
//! redemptions of different codes never meet; two redemptions of one code meet on its
//! stream, and exactly one wins.
use crate::ids::{OrganizationId, SessionId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq)]
pub enum HandoffCommand {
    Issue {
        handoff_id: String,
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization: Option<OrganizationId>,
        /// SHA-256 (hex) of the whole code; the code itself is never stored.
        code_hash: String,
        /// base64url(SHA-256(verifier)), 43 characters.
        code_challenge: String,
        redirect_url: String,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The code's verifier matched (the caller checked the hash and the challenge).
    Redeem { family_id: String, at: DateTime<Utc> },
    /// A redeemed code was presented again.
    RecordReuse { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum HandoffEvent {
    #[serde(rename = "session.handoff_issued")]
    Issued {
        handoff_id: String,
        session_id: SessionId,
        project_id: TenantId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        code_hash: String,
        code_challenge: String,
        redirect_url: String,
        expires_at: DateTime<Utc>,
        issued_at: DateTime<Utc>,
    },
    #[serde(rename = "session.handoff_redeemed")]
    Redeemed {
        handoff_id: String,
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        /// The token family the redemption started.
        family_id: String,
        redeemed_at: DateTime<Utc>,
    },
    #[serde(rename = "session.handoff_reused")]
    Reused {
        handoff_id: String,
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        reused_at: DateTime<Utc>,
    },
}

crate::event_names!(HandoffEvent {
    Issued => "session.handoff_issued",
    Redeemed => "session.handoff_redeemed",
    Reused => "session.handoff_reused",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandoffError {
    #[error("the handoff code is unknown, expired or already used")]
    Invalid,
    #[error("the handoff code was already redeemed")]
    AlreadyRedeemed,
    #[error("the handoff exists already")]
    AlreadyExists,
}

impl HandoffError {
    pub fn code(&self) -> &'static str {
        match self {
            HandoffError::Invalid | HandoffError::AlreadyRedeemed => "invalid_handoff",
            HandoffError::AlreadyExists => "conflict",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Handoff {
    pub handoff_id: String,
    pub issued: bool,
    pub redeemed: bool,
    pub session_id: Option<SessionId>,
    pub project_id: Option<TenantId>,
    pub user_id: Option<UserId>,
    pub organization_id: Option<OrganizationId>,
    pub code_hash: String,
    pub code_challenge: String,
    pub redirect_url: String,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Handoff {
    fn ids(&self) -> (String, SessionId, UserId) {
        (
            self.handoff_id.clone(),
            self.session_id.clone().unwrap_or_else(|| SessionId::new("")),
            self.user_id.clone().unwrap_or_else(|| UserId::new("")),
        )
    }
}

impl Aggregate for Handoff {
    const TYPE: &'static str = "handoff";
    type Command = HandoffCommand;
    type Event = HandoffEvent;
    type Error = HandoffError;
    type Services = ();

    async fn handle(&mut self, command: HandoffCommand, _: &(), sink: &EventSink<Self>) -> Result<(), HandoffError> {
        match command {
            HandoffCommand::Issue {
                handoff_id,
                session_id,
                project_id,
                user_id,
                organization,
                code_hash,
                code_challenge,
                redirect_url,
                expires_at,
                at,
            } => {
                if self.issued {
                    return Err(HandoffError::AlreadyExists);
                }
                let ev = HandoffEvent::Issued {
                    handoff_id,
                    session_id,
                    project_id,
                    user_id,
                    organization_id: organization,
                    code_hash,
                    code_challenge,
                    redirect_url,
                    expires_at,
                    issued_at: at,
                };
                sink.write(ev, self).await;
            }
            HandoffCommand::Redeem { family_id, at } => {
                if !self.issued {
                    return Err(HandoffError::Invalid);
                }
                if self.redeemed {
                    return Err(HandoffError::AlreadyRedeemed);
                }
                if self.expires_at.is_none_or(|e| at >= e) {
                    return Err(HandoffError::Invalid);
                }
                let (handoff_id, session_id, user_id) = self.ids();
                let ev = HandoffEvent::Redeemed {
                    handoff_id,
                    session_id,
                    user_id,
                    organization_id: self.organization_id.clone(),
                    family_id,
                    redeemed_at: at,
                };
                sink.write(ev, self).await;
            }
            HandoffCommand::RecordReuse { at } => {
                if !self.redeemed {
                    return Err(HandoffError::Invalid);
                }
                let (handoff_id, session_id, user_id) = self.ids();
                let ev = HandoffEvent::Reused {
                    handoff_id,
                    session_id,
                    user_id,
                    organization_id: self.organization_id.clone(),
                    reused_at: at,
                };
                sink.write(ev, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: HandoffEvent) {
        match event {
            HandoffEvent::Issued {
                handoff_id,
                session_id,
                project_id,
                user_id,
                organization_id,
                code_hash,
                code_challenge,
                redirect_url,
                expires_at,
                ..
            } => {
                self.issued = true;
                self.handoff_id = handoff_id;
                self.session_id = Some(session_id);
                self.project_id = Some(project_id);
                self.user_id = Some(user_id);
                self.organization_id = organization_id;
                self.code_hash = code_hash;
                self.code_challenge = code_challenge;
                self.redirect_url = redirect_url;
                self.expires_at = Some(expires_at);
            }
            HandoffEvent::Redeemed { .. } => self.redeemed = true,
            HandoffEvent::Reused { .. } => {}
        }
    }
}
