//! User: one identity per (project, email). Uniqueness of the email is kept by a
//! reservation stream (see `reservation`), claimed in the same commit.
use crate::ids::{TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create {
        user_id: UserId,
        project_id: TenantId,
        email: String,
        first_name: Option<String>,
        last_name: Option<String>,
        email_verified: bool,
        at: DateTime<Utc>,
    },
    Update {
        email: Option<String>,
        first_name: Option<Option<String>>,
        last_name: Option<Option<String>>,
        email_verified: Option<bool>,
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
    /// A single-use sign-in token was issued by the project's backend (the token itself
    /// is never in the event).
    IssueSignInToken {
        token_id: String,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A passkey the API has verified (a completed WebAuthn registration ceremony).
    /// The public key, sign counter and challenge stay outside the event stream; the
    /// event records only which credential was added and when.
    RegisterPasskey {
        /// The WebAuthn credential id, base64url without padding.
        credential_id: String,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UserEvent {
    #[serde(rename = "user.created")]
    Created {
        user_id: UserId,
        project_id: TenantId,
        email: String,
        first_name: Option<String>,
        last_name: Option<String>,
        email_verified: bool,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "user.updated")]
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
        #[serde(default, deserialize_with = "cleared_or_set", skip_serializing_if = "Option::is_none")]
        first_name: Option<Option<String>>,
        #[serde(default, deserialize_with = "cleared_or_set", skip_serializing_if = "Option::is_none")]
        last_name: Option<Option<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email_verified: Option<bool>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "user.deleted")]
    Deleted { deleted_at: DateTime<Utc> },
    #[serde(rename = "user.sign_in_token_issued")]
    SignInTokenIssued { token_id: String, expires_at: DateTime<Utc>, issued_at: DateTime<Utc> },
    #[serde(rename = "user.passkey_registered")]
    PasskeyRegistered { credential_id: String, created_at: DateTime<Utc> },
}

/// A present field (even `null`, which means "cleared") is `Some`; an absent one is
/// `None` through `#[serde(default)]`. Plain serde would read `null` as `None` and lose
/// the clearing.
fn cleared_or_set<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

crate::event_names!(UserEvent {
    Created => "user.created",
    Updated => "user.updated",
    Deleted => "user.deleted",
    SignInTokenIssued => "user.sign_in_token_issued",
    PasskeyRegistered => "user.passkey_registered",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("the user already exists")]
    AlreadyExists,
    #[error("no such user")]
    NotFound,
    #[error("the email address is not valid")]
    InvalidEmail,
    #[error("the passkey credential id is not valid")]
    InvalidCredentialId,
    #[error("this passkey is already registered")]
    PasskeyExists,
}

impl UserError {
    pub fn code(&self) -> &'static str {
        match self {
            UserError::AlreadyExists => "user_exists",
            UserError::NotFound => "not_found",
            UserError::InvalidEmail => "invalid_request",
            UserError::InvalidCredentialId => "invalid_request",
            UserError::PasskeyExists => "passkey_exists",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct User {
    pub created: bool,
    pub deleted: bool,
    pub project_id: Option<TenantId>,
    pub email: String,
    /// Credential ids of the user's passkeys (to refuse registering one twice).
    #[serde(default)]
    pub passkeys: BTreeSet<String>,
}

impl User {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn ensure_live(&self) -> Result<(), UserError> {
        if self.is_live() {
            Ok(())
        } else {
            Err(UserError::NotFound)
        }
    }
    /// A credential id is base64url (no padding) of 16 to 1023 bytes, as WebAuthn allows.
    fn ensure_credential_id(id: &str) -> Result<(), UserError> {
        let ok =
            (22..=1364).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(())
        } else {
            Err(UserError::InvalidCredentialId)
        }
    }
    fn ensure_new_passkey(&self, id: &str) -> Result<(), UserError> {
        if self.passkeys.contains(id) {
            Err(UserError::PasskeyExists)
        } else {
            Ok(())
        }
    }
}

impl Aggregate for User {
    const TYPE: &'static str = "user";
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;
    type Services = ();

    async fn handle(&mut self, command: UserCommand, _: &(), sink: &EventSink<Self>) -> Result<(), UserError> {
        match command {
            UserCommand::Create { user_id, project_id, email, first_name, last_name, email_verified, at } => {
                if self.created {
                    return Err(UserError::AlreadyExists);
                }
                if !crate::is_valid_email(&email) {
                    return Err(UserError::InvalidEmail);
                }
                let ev = UserEvent::Created {
                    user_id,
                    project_id,
                    email: email.trim().to_string(),
                    first_name,
                    last_name,
                    email_verified,
                    created_at: at,
                };
                sink.write(ev, self).await;
            }
            UserCommand::Update { email, first_name, last_name, email_verified, at } => {
                self.ensure_live()?;
                if let Some(e) = &email {
                    if !crate::is_valid_email(e) {
                        return Err(UserError::InvalidEmail);
                    }
                }
                let ev = UserEvent::Updated {
                    email: email.map(|e| e.trim().to_string()),
                    first_name,
                    last_name,
                    email_verified,
                    updated_at: at,
                };
                sink.write(ev, self).await;
            }
            UserCommand::IssueSignInToken { token_id, expires_at, at } => {
                self.ensure_live()?;
                sink.write(UserEvent::SignInTokenIssued { token_id, expires_at, issued_at: at }, self).await;
            }
            UserCommand::RegisterPasskey { credential_id, at } => {
                self.ensure_live()?;
                Self::ensure_credential_id(&credential_id)?;
                self.ensure_new_passkey(&credential_id)?;
                sink.write(UserEvent::PasskeyRegistered { credential_id, created_at: at }, self).await;
            }
            UserCommand::Delete { at } => {
                self.ensure_live()?;
                sink.write(UserEvent::Deleted { deleted_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: UserEvent) {
        match event {
            UserEvent::Created { project_id, email, .. } => {
                self.created = true;
                self.project_id = Some(project_id);
                self.email = email;
            }
            UserEvent::Updated { email, .. } => {
                if let Some(e) = email {
                    self.email = e;
                }
            }
            UserEvent::Deleted { .. } => self.deleted = true,
            UserEvent::SignInTokenIssued { .. } => {}
            UserEvent::PasskeyRegistered { credential_id, .. } => {
                self.passkeys.insert(credential_id);
            }
        }
    }
}
