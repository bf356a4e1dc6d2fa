//! OAuth 2.0 authorization codes of the OpenID Connect provider (issue 20).
//!
//! The hosted pages, holding an access token of the context the user chose, ask for a
//! code for an OAuth client's authorization request (its redirect URI, scopes, nonce
//! and PKCE challenge, checked by the caller against the client). The client redeems
//! the code at the token endpoint and gets a token family of its own in the same
//! session and organization context: the *grant*. A code is redeemed once, within its
//! lifetime; a redeemed code presented again is recorded as reuse (the caller revokes
//! the session: whoever holds a copy may hold its tokens). Revoking the grant's refresh
//! token (RFC 7009) is recorded on the same stream.
//!
//! Each code is a stream of its own (id `oac_…`, named in the code itself), so
//! redemptions of different codes never meet, and two of one code meet on its stream.
use crate::ids::{OrganizationId, SessionId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// What an authorization request asked for and the user granted, as the code carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeGrant {
    pub client_id: String,
    pub project_id: TenantId,
    pub session_id: SessionId,
    pub user_id: UserId,
    pub organization_id: Option<OrganizationId>,
    /// SHA-256 (hex) of the whole code; the code itself is never stored.
    pub code_hash: String,
    /// base64url(SHA-256(verifier)); none when a confidential client sent no challenge.
    pub code_challenge: Option<String>,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// When the user signed in (the session's start): the id_token's `auth_time`.
    pub auth_time: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CodeCommand {
    Issue {
        code_id: String,
        grant: Box<CodeGrant>,
        expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// The client, redirect URI and verifier matched (the caller checked them).
    Redeem {
        family_id: String,
        at: DateTime<Utc>,
    },
    /// A redeemed code was presented again.
    RecordReuse {
        at: DateTime<Utc>,
    },
    /// The grant's refresh token was revoked by its client.
    Revoke {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum CodeEvent {
    #[serde(rename = "oauth.code_issued")]
    Issued {
        code_id: String,
        #[serde(flatten)]
        grant: Box<CodeGrant>,
        expires_at: DateTime<Utc>,
        issued_at: DateTime<Utc>,
    },
    #[serde(rename = "oauth.code_redeemed")]
    Redeemed {
        code_id: String,
        client_id: String,
        project_id: TenantId,
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        /// The token family the redemption started: the grant's.
        family_id: String,
        scopes: Vec<String>,
        nonce: Option<String>,
        auth_time: DateTime<Utc>,
        redeemed_at: DateTime<Utc>,
    },
    #[serde(rename = "oauth.code_reused")]
    Reused {
        code_id: String,
        client_id: String,
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        reused_at: DateTime<Utc>,
    },
    #[serde(rename = "oauth.grant_revoked")]
    Revoked {
        code_id: String,
        client_id: String,
        session_id: SessionId,
        user_id: UserId,
        organization_id: Option<OrganizationId>,
        family_id: String,
        revoked_at: DateTime<Utc>,
    },
}

crate::event_names!(CodeEvent {
    Issued => "oauth.code_issued",
    Redeemed => "oauth.code_redeemed",
    Reused => "oauth.code_reused",
    Revoked => "oauth.grant_revoked",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("the authorization code is unknown, expired or already used")]
    Invalid,
    #[error("the authorization code was already redeemed")]
    AlreadyRedeemed,
    #[error("the authorization code exists already")]
    AlreadyExists,
}

impl CodeError {
    pub fn code(&self) -> &'static str {
        match self {
            CodeError::Invalid | CodeError::AlreadyRedeemed => "invalid_grant",
            CodeError::AlreadyExists => "conflict",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub code_id: String,
    pub grant: Option<CodeGrant>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The family the redemption started.
    pub family_id: Option<String>,
    pub revoked: bool,
}

type Ids = (String, String, SessionId, UserId, Option<OrganizationId>);

impl AuthorizationCode {
    pub fn redeemed(&self) -> bool {
        self.family_id.is_some()
    }

    /// The code's, client's, session's, user's and organization's ids, for its events.
    fn ids(&self) -> Result<Ids, CodeError> {
        let g = self.grant.as_ref().ok_or(CodeError::Invalid)?;
        Ok((
            self.code_id.clone(),
            g.client_id.clone(),
            g.session_id.clone(),
            g.user_id.clone(),
            g.organization_id.clone(),
        ))
    }
}

impl Aggregate for AuthorizationCode {
    const TYPE: &'static str = "oauth_code";
    type Command = CodeCommand;
    type Event = CodeEvent;
    type Error = CodeError;
    type Services = ();

    async fn handle(&mut self, command: CodeCommand, _: &(), sink: &EventSink<Self>) -> Result<(), CodeError> {
        let ev = match command {
            CodeCommand::Issue { code_id, grant, expires_at, at } => {
                if self.grant.is_some() {
                    return Err(CodeError::AlreadyExists);
                }
                CodeEvent::Issued { code_id, grant, expires_at, issued_at: at }
            }
            CodeCommand::Redeem { family_id, at } => {
                let (code_id, client_id, session_id, user_id, organization_id) = self.ids()?;
                if self.redeemed() {
                    return Err(CodeError::AlreadyRedeemed);
                }
                if self.expires_at.is_none_or(|e| at >= e) {
                    return Err(CodeError::Invalid);
                }
                let g = self.grant.clone().ok_or(CodeError::Invalid)?;
                CodeEvent::Redeemed {
                    code_id,
                    client_id,
                    project_id: g.project_id,
                    session_id,
                    user_id,
                    organization_id,
                    family_id,
                    scopes: g.scopes,
                    nonce: g.nonce,
                    auth_time: g.auth_time,
                    redeemed_at: at,
                }
            }
            CodeCommand::RecordReuse { at } => {
                let (code_id, client_id, session_id, user_id, organization_id) = self.ids()?;
                if !self.redeemed() {
                    return Err(CodeError::Invalid);
                }
                CodeEvent::Reused { code_id, client_id, session_id, user_id, organization_id, reused_at: at }
            }
            CodeCommand::Revoke { at } => {
                let (code_id, client_id, session_id, user_id, organization_id) = self.ids()?;
                let family_id = self.family_id.clone().ok_or(CodeError::Invalid)?;
                if self.revoked {
                    return Ok(());
                }
                CodeEvent::Revoked {
                    code_id,
                    client_id,
                    session_id,
                    user_id,
                    organization_id,
                    family_id,
                    revoked_at: at,
                }
            }
        };
        sink.write(ev, self).await;
        Ok(())
    }

    fn apply(&mut self, event: CodeEvent) {
        match event {
            CodeEvent::Issued { code_id, grant, expires_at, .. } => {
                self.code_id = code_id;
                self.grant = Some(*grant);
                self.expires_at = Some(expires_at);
            }
            CodeEvent::Redeemed { family_id, .. } => self.family_id = Some(family_id),
            CodeEvent::Reused { .. } => {}
            CodeEvent::Revoked { .. } => self.revoked = true,
        }
    }
}
