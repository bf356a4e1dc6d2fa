//! OAuth clients: the applications a project registers to sign its users in through
//! Authio's OpenID Connect provider (issue 20). A client is confidential (a server that
//! keeps a secret) or public (a browser or native app, PKCE only). Its redirect URIs are
//! matched exactly; its scopes bound what it may ask for. The secret is never part of the
//! state or of an event: the API keeps its hash beside the stream, written in the same
//! commit, and events only record that it was rotated.
use crate::ids::TenantId;
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// The scopes a client may be allowed; `openid` is always among a client's.
pub const SCOPES: &[&str] = &["openid", "email", "profile", "offline_access", "organization"];
/// The most redirect URIs one client may have.
pub const MAX_REDIRECT_URIS: usize = 20;
/// The longest accepted name.
pub const MAX_NAME_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Keeps a secret (client_secret_basic / client_secret_post).
    Confidential,
    /// Cannot keep a secret: authenticates nothing, PKCE S256 required.
    Public,
}

impl ClientType {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }
    pub fn parse(s: &str) -> Option<ClientType> {
        match s {
            "confidential" => Some(ClientType::Confidential),
            "public" => Some(ClientType::Public),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum OAuthClientCommand {
    Register {
        client_id: String,
        project_id: TenantId,
        name: String,
        client_type: ClientType,
        redirect_uris: Vec<String>,
        scopes: Vec<String>,
        at: DateTime<Utc>,
    },
    Update {
        name: Option<String>,
        redirect_uris: Option<Vec<String>>,
        scopes: Option<Vec<String>>,
        at: DateTime<Utc>,
    },
    /// Where the client takes back-channel logout notices (`None`: none).
    SetBackchannelLogout {
        uri: Option<String>,
        at: DateTime<Utc>,
    },
    /// A new secret (kept by the caller); the old one stops at once.
    RotateSecret {
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum OAuthClientEvent {
    #[serde(rename = "oauth_client.registered")]
    Registered {
        client_id: String,
        project_id: TenantId,
        name: String,
        client_type: ClientType,
        redirect_uris: Vec<String>,
        scopes: Vec<String>,
        registered_at: DateTime<Utc>,
    },
    #[serde(rename = "oauth_client.updated")]
    Updated {
        client_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        redirect_uris: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scopes: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "oauth_client.secret_rotated")]
    SecretRotated { client_id: String, rotated_at: DateTime<Utc> },
    #[serde(rename = "oauth_client.backchannel_logout_changed")]
    BackchannelLogoutChanged { client_id: String, backchannel_logout_uri: Option<String>, changed_at: DateTime<Utc> },
    #[serde(rename = "oauth_client.deleted")]
    Deleted { client_id: String, deleted_at: DateTime<Utc> },
}

crate::event_names!(OAuthClientEvent {
    Registered => "oauth_client.registered",
    Updated => "oauth_client.updated",
    SecretRotated => "oauth_client.secret_rotated",
    Deleted => "oauth_client.deleted",
    BackchannelLogoutChanged => "oauth_client.backchannel_logout_changed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthClientError {
    #[error("no such OAuth client")]
    NotFound,
    #[error("the OAuth client exists already")]
    AlreadyExists,
    #[error("the name must be 1 to 100 characters")]
    InvalidName,
    #[error("a client needs 1 to 20 distinct redirect URIs")]
    InvalidRedirectUris,
    #[error("scopes must be distinct, among openid, email, profile, offline_access, organization, and include openid")]
    InvalidScopes,
    #[error("a public client has no secret")]
    PublicClientHasNoSecret,
}

impl OAuthClientError {
    pub fn code(&self) -> &'static str {
        match self {
            OAuthClientError::NotFound => "not_found",
            OAuthClientError::AlreadyExists => "conflict",
            OAuthClientError::InvalidName
            | OAuthClientError::InvalidRedirectUris
            | OAuthClientError::InvalidScopes
            | OAuthClientError::PublicClientHasNoSecret => "invalid_request",
        }
    }
}

fn check_name(name: &str) -> Result<(), OAuthClientError> {
    let n = name.trim().chars().count();
    if (1..=MAX_NAME_LEN).contains(&n) {
        Ok(())
    } else {
        Err(OAuthClientError::InvalidName)
    }
}

fn distinct(items: &[String]) -> bool {
    items.iter().collect::<std::collections::BTreeSet<_>>().len() == items.len()
}

/// The count and distinctness of redirect URIs (their form is the API's to check).
fn check_redirect_uris(uris: &[String]) -> Result<(), OAuthClientError> {
    if (1..=MAX_REDIRECT_URIS).contains(&uris.len()) && distinct(uris) {
        Ok(())
    } else {
        Err(OAuthClientError::InvalidRedirectUris)
    }
}

fn check_scopes(scopes: &[String]) -> Result<(), OAuthClientError> {
    let known = scopes.iter().all(|s| SCOPES.contains(&s.as_str()));
    if distinct(scopes) && known && scopes.iter().any(|s| s == "openid") {
        Ok(())
    } else {
        Err(OAuthClientError::InvalidScopes)
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct OAuthClient {
    pub registered: bool,
    pub deleted: bool,
    pub client_id: String,
    pub project_id: Option<TenantId>,
    pub name: String,
    pub client_type: Option<ClientType>,
    pub redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
}

impl OAuthClient {
    fn live(&self) -> Result<(), OAuthClientError> {
        if self.registered && !self.deleted {
            Ok(())
        } else {
            Err(OAuthClientError::NotFound)
        }
    }
}

impl Aggregate for OAuthClient {
    const TYPE: &'static str = "oauth_client";
    type Command = OAuthClientCommand;
    type Event = OAuthClientEvent;
    type Error = OAuthClientError;
    type Services = ();

    async fn handle(
        &mut self,
        command: OAuthClientCommand,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), OAuthClientError> {
        match command {
            OAuthClientCommand::Register { client_id, project_id, name, client_type, redirect_uris, scopes, at } => {
                if self.registered {
                    return Err(OAuthClientError::AlreadyExists);
                }
                check_name(&name)?;
                check_redirect_uris(&redirect_uris)?;
                check_scopes(&scopes)?;
                let ev = OAuthClientEvent::Registered {
                    client_id,
                    project_id,
                    name: name.trim().to_string(),
                    client_type,
                    redirect_uris,
                    scopes,
                    registered_at: at,
                };
                sink.write(ev, self).await;
            }
            OAuthClientCommand::Update { name, redirect_uris, scopes, at } => {
                self.live()?;
                if let Some(n) = &name {
                    check_name(n)?;
                }
                if let Some(u) = &redirect_uris {
                    check_redirect_uris(u)?;
                }
                if let Some(s) = &scopes {
                    check_scopes(s)?;
                }
                // Only what changes is recorded; nothing changing records nothing.
                let name = name.map(|n| n.trim().to_string()).filter(|n| *n != self.name);
                let redirect_uris = redirect_uris.filter(|u| *u != self.redirect_uris);
                let scopes = scopes.filter(|s| *s != self.scopes);
                if name.is_some() || redirect_uris.is_some() || scopes.is_some() {
                    let client_id = self.client_id.clone();
                    let ev = OAuthClientEvent::Updated { client_id, name, redirect_uris, scopes, updated_at: at };
                    sink.write(ev, self).await;
                }
            }
            OAuthClientCommand::SetBackchannelLogout { uri, at } => {
                self.live()?;
                if uri != self.backchannel_logout_uri {
                    let client_id = self.client_id.clone();
                    let ev = OAuthClientEvent::BackchannelLogoutChanged {
                        client_id,
                        backchannel_logout_uri: uri,
                        changed_at: at,
                    };
                    sink.write(ev, self).await;
                }
            }
            OAuthClientCommand::RotateSecret { at } => {
                self.live()?;
                if self.client_type == Some(ClientType::Public) {
                    return Err(OAuthClientError::PublicClientHasNoSecret);
                }
                let client_id = self.client_id.clone();
                sink.write(OAuthClientEvent::SecretRotated { client_id, rotated_at: at }, self).await;
            }
            OAuthClientCommand::Delete { at } => {
                self.live()?;
                let client_id = self.client_id.clone();
                sink.write(OAuthClientEvent::Deleted { client_id, deleted_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: OAuthClientEvent) {
        match event {
            OAuthClientEvent::Registered {
                client_id, project_id, name, client_type, redirect_uris, scopes, ..
            } => {
                self.registered = true;
                self.client_id = client_id;
                self.project_id = Some(project_id);
                self.name = name;
                self.client_type = Some(client_type);
                self.redirect_uris = redirect_uris;
                self.scopes = scopes;
            }
            OAuthClientEvent::Updated { name, redirect_uris, scopes, .. } => {
                if let Some(n) = name {
                    self.name = n;
                }
                if let Some(u) = redirect_uris {
                    self.redirect_uris = u;
                }
                if let Some(s) = scopes {
                    self.scopes = s;
                }
            }
            OAuthClientEvent::SecretRotated { .. } => {}
            OAuthClientEvent::BackchannelLogoutChanged { backchannel_logout_uri, .. } => {
                self.backchannel_logout_uri = backchannel_logout_uri
            }
            OAuthClientEvent::Deleted { .. } => self.deleted = true,
        }
    }
}
