//! SSO connections (issue 20, part 2): an OpenID Connect identity provider through
//! which users sign in: an organization's own (its users, with just-in-time
//! membership; OpenID Connect or SAML 2.0), or the project's (social sign-in, OpenID
//! Connect: Google, Microsoft, any provider whose
//! users may sign up or in to the project, with no organization). A connection names the provider's issuer
//! and the client Authio is registered as there; its client secret is never part of the
//! state or of an event (the API keeps it sealed beside the stream, written in the same
//! commit). `jit_role`: a user who signs in through it and is not a member of the
//! organization becomes one with that role; without it such a user is refused.
use crate::ids::{OrganizationId, TenantId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// The longest accepted name.
pub const MAX_NAME_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSpec {
    pub connection_id: String,
    pub project_id: TenantId,
    /// The organization whose connection it is; none for the project's own.
    pub organization_id: Option<OrganizationId>,
    pub name: String,
    /// The provider's issuer (its discovery document was read at creation).
    pub issuer: String,
    pub client_id: String,
    pub jit_role: Option<String>,
    /// `oidc` (absent in the events of before SAML) or `saml`.
    #[serde(default, skip_serializing_if = "Protocol::is_oidc")]
    pub protocol: Protocol,
    /// A SAML connection's identity provider metadata, as imported (public: entity id,
    /// endpoints, certificates). `issuer` is its entity id; `client_id` is Authio's
    /// entity id as the service provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml_metadata: Option<String>,
}

/// How Authio talks to the identity provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Oidc,
    Saml,
    /// GitHub's OAuth 2 (no OpenID Connect): the verified primary email from its API.
    /// `issuer` is GitHub's address (`https://github.com`, or a GitHub Enterprise
    /// Server's).
    Github,
}

impl Protocol {
    pub fn is_oidc(&self) -> bool {
        *self == Protocol::Oidc
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Protocol::Oidc => "oidc",
            Protocol::Saml => "saml",
            Protocol::Github => "github",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionCommand {
    Create { spec: Box<ConnectionSpec>, at: DateTime<Utc> },
    Delete { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ConnectionEvent {
    #[serde(rename = "connection.created")]
    Created {
        #[serde(flatten)]
        spec: Box<ConnectionSpec>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "connection.deleted")]
    Deleted { connection_id: String, organization_id: Option<OrganizationId>, deleted_at: DateTime<Utc> },
}

crate::event_names!(ConnectionEvent {
    Created => "connection.created",
    Deleted => "connection.deleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("name must be 1 to 100 characters")]
    InvalidName,
    #[error("client_id must be 1 to 255 characters")]
    InvalidClientId,
    #[error("the connection exists already")]
    AlreadyExists,
    #[error("jit_role is for an organization's connection")]
    JitRoleWithoutOrganization,
    #[error("no such connection")]
    NotFound,
    #[error("a SAML connection belongs to an organization")]
    SamlWithoutOrganization,
    #[error("a SAML connection needs its identity provider's metadata, an OpenID Connect one none")]
    MetadataMismatch,
    #[error("a GitHub connection is the project's (social sign-in), not an organization's")]
    GithubForOrganization,
}

impl ConnectionError {
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::InvalidName
            | ConnectionError::InvalidClientId
            | ConnectionError::JitRoleWithoutOrganization
            | ConnectionError::SamlWithoutOrganization
            | ConnectionError::MetadataMismatch
            | ConnectionError::GithubForOrganization => "invalid_request",
            ConnectionError::AlreadyExists => "conflict",
            ConnectionError::NotFound => "not_found",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Connection {
    pub spec: Option<ConnectionSpec>,
    pub deleted: bool,
}

impl Connection {
    /// The live connection's spec.
    pub fn live(&self) -> Option<&ConnectionSpec> {
        self.spec.as_ref().filter(|_| !self.deleted)
    }
}

impl Aggregate for Connection {
    const TYPE: &'static str = "connection";
    type Command = ConnectionCommand;
    type Event = ConnectionEvent;
    type Error = ConnectionError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ConnectionCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ConnectionError> {
        let ev = match command {
            ConnectionCommand::Create { spec, at } => {
                if self.spec.is_some() {
                    return Err(ConnectionError::AlreadyExists);
                }
                let name = spec.name.trim();
                if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
                    return Err(ConnectionError::InvalidName);
                }
                if spec.client_id.is_empty() || spec.client_id.len() > 255 {
                    return Err(ConnectionError::InvalidClientId);
                }
                if spec.organization_id.is_none() && spec.jit_role.is_some() {
                    return Err(ConnectionError::JitRoleWithoutOrganization);
                }
                if spec.organization_id.is_none() && spec.protocol == Protocol::Saml {
                    return Err(ConnectionError::SamlWithoutOrganization);
                }
                if (spec.protocol == Protocol::Saml) != spec.saml_metadata.is_some() {
                    return Err(ConnectionError::MetadataMismatch);
                }
                if spec.organization_id.is_some() && spec.protocol == Protocol::Github {
                    return Err(ConnectionError::GithubForOrganization);
                }
                let spec = Box::new(ConnectionSpec { name: name.to_string(), ..*spec });
                ConnectionEvent::Created { spec, created_at: at }
            }
            ConnectionCommand::Delete { at } => {
                let s = self.live().ok_or(ConnectionError::NotFound)?;
                ConnectionEvent::Deleted {
                    connection_id: s.connection_id.clone(),
                    organization_id: s.organization_id.clone(),
                    deleted_at: at,
                }
            }
        };
        sink.write(ev, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ConnectionEvent) {
        match event {
            ConnectionEvent::Created { spec, .. } => self.spec = Some(*spec),
            ConnectionEvent::Deleted { .. } => self.deleted = true,
        }
    }
}
