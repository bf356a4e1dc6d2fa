//! Tenant (= project): name, slug, mode, owners, organization count, API keys.
use crate::ids::{ApiKeyId, OperatorId, OrganizationId, TenantId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The algorithm that signs a project's access tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum TokenAlgorithm {
    /// Ed25519 (the default).
    #[default]
    EdDSA,
    /// ECDSA with P-256 and SHA-256, for verifiers without Ed25519.
    ES256,
}

impl TokenAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::EdDSA => "EdDSA",
            TokenAlgorithm::ES256 => "ES256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [TokenAlgorithm::EdDSA, TokenAlgorithm::ES256].into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TenantMode {
    #[default]
    B2b,
    Flat,
    B2c,
}

impl TenantMode {
    pub const ALL: [TenantMode; 3] = [TenantMode::B2b, TenantMode::Flat, TenantMode::B2c];
    pub fn as_str(self) -> &'static str {
        match self {
            TenantMode::B2b => "b2b",
            TenantMode::Flat => "flat",
            TenantMode::B2c => "b2c",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Test,
    Live,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Test => "test",
            Environment::Live => "live",
        }
    }
}

/// Who may sign up: anyone with a verified email (`Open`), or only someone holding a
/// valid invitation (`InvitationOnly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignUp {
    #[default]
    Open,
    InvitationOnly,
}

impl SignUp {
    pub fn as_str(self) -> &'static str {
        match self {
            SignUp::Open => "open",
            SignUp::InvitationOnly => "invitation_only",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [SignUp::Open, SignUp::InvitationOnly].into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TenantCommand {
    Create {
        tenant_id: TenantId,
        name: String,
        slug: String,
        mode: TenantMode,
        owner: OperatorId,
        at: DateTime<Utc>,
    },
    Update {
        by: OperatorId,
        name: Option<String>,
        slug: Option<String>,
        mode: Option<TenantMode>,
    },
    AddOrganization {
        organization_id: OrganizationId,
    },
    RemoveOrganization {
        organization_id: OrganizationId,
    },
    CreateApiKey {
        by: OperatorId,
        key_id: ApiKeyId,
        name: String,
        environment: Environment,
        secret_prefix: String,
        secret_last_four: String,
        publishable_key: String,
        at: DateTime<Utc>,
    },
    RevokeApiKey {
        by: OperatorId,
        key_id: ApiKeyId,
        at: DateTime<Utc>,
    },
    /// Replace the project's allowed redirect URLs (the API checked and normalized each;
    /// the order is kept, duplicates are not allowed).
    SetRedirectUrls {
        urls: Vec<String>,
        at: DateTime<Utc>,
    },
    /// Replace the browser origins allowed to call the project's end-user routes (the
    /// API checked and normalized each; duplicates are not allowed).
    /// Change the project's settings; `None` leaves one as it is.
    SetSettings {
        sign_up: Option<SignUp>,
        teams_in_tokens: Option<bool>,
        at: DateTime<Utc>,
    },
    SetAllowedOrigins {
        origins: Vec<String>,
        at: DateTime<Utc>,
    },
    /// Choose the algorithm that signs the project's access tokens (owners only).
    SetTokenAlgorithm {
        by: OperatorId,
        algorithm: TokenAlgorithm,
    },
}

/// At most this many allowed redirect URLs (and as many allowed origins) per project.
pub const MAX_REDIRECT_URLS: usize = 100;

/// A list of redirect URLs or origins: at most `MAX_REDIRECT_URLS`, each once.
fn ensure_url_list(urls: &[String]) -> Result<(), TenantError> {
    let distinct: std::collections::BTreeSet<&String> = urls.iter().collect();
    if urls.len() > MAX_REDIRECT_URLS || distinct.len() != urls.len() {
        return Err(TenantError::InvalidUrlList);
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TenantEvent {
    #[serde(rename = "tenant.created")]
    Created {
        tenant_id: TenantId,
        name: String,
        slug: String,
        mode: TenantMode,
        owner: OperatorId,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "tenant.updated")]
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        slug: Option<String>,
    },
    #[serde(rename = "tenant.mode_changed")]
    ModeChanged { from: TenantMode, to: TenantMode },
    #[serde(rename = "tenant.organization_added")]
    OrganizationAdded { organization_id: OrganizationId },
    #[serde(rename = "tenant.organization_removed")]
    OrganizationRemoved { organization_id: OrganizationId },
    #[serde(rename = "api_key.created")]
    ApiKeyCreated {
        key_id: ApiKeyId,
        name: String,
        environment: Environment,
        secret_prefix: String,
        secret_last_four: String,
        publishable_key: String,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "api_key.revoked")]
    ApiKeyRevoked { key_id: ApiKeyId, revoked_at: DateTime<Utc> },
    #[serde(rename = "tenant.redirect_urls_changed")]
    RedirectUrlsChanged { from: Vec<String>, to: Vec<String>, changed_at: DateTime<Utc> },
    #[serde(rename = "tenant.allowed_origins_changed")]
    AllowedOriginsChanged { from: Vec<String>, to: Vec<String>, changed_at: DateTime<Utc> },
    #[serde(rename = "tenant.token_algorithm_changed")]
    TokenAlgorithmChanged { from: TokenAlgorithm, to: TokenAlgorithm },
    /// Only the settings that changed are present.
    #[serde(rename = "tenant.settings_changed")]
    SettingsChanged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sign_up: Option<SignUp>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        teams_in_tokens: Option<bool>,
        changed_at: DateTime<Utc>,
    },
}

crate::event_names!(TenantEvent {
    Created => "tenant.created",
    Updated => "tenant.updated",
    ModeChanged => "tenant.mode_changed",
    OrganizationAdded => "tenant.organization_added",
    OrganizationRemoved => "tenant.organization_removed",
    ApiKeyCreated => "api_key.created",
    ApiKeyRevoked => "api_key.revoked",
    RedirectUrlsChanged => "tenant.redirect_urls_changed",
    AllowedOriginsChanged => "tenant.allowed_origins_changed",
    TokenAlgorithmChanged => "tenant.token_algorithm_changed",
    SettingsChanged => "tenant.settings_changed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("the tenant already exists")]
    AlreadyExists,
    #[error("no such tenant")]
    NotFound,
    #[error("only an owner of the tenant may do this")]
    NotOwner,
    #[error("the tenant still has organizations; delete them before leaving b2b mode")]
    TenantHasOrganizations,
    #[error("organizations exist only in b2b mode")]
    OrganizationsDisabled,
    #[error("no such API key")]
    ApiKeyNotFound,
    #[error("the name must be 1 to 200 characters")]
    InvalidName,
    #[error("at most 100 URLs, each once")]
    InvalidUrlList,
}

impl TenantError {
    pub fn code(&self) -> &'static str {
        match self {
            TenantError::AlreadyExists => "tenant_exists",
            TenantError::NotFound => "not_found",
            TenantError::NotOwner => "not_owner",
            TenantError::TenantHasOrganizations => "tenant_has_organizations",
            TenantError::OrganizationsDisabled => "organizations_disabled",
            TenantError::ApiKeyNotFound => "not_found",
            TenantError::InvalidName | TenantError::InvalidUrlList => "invalid_request",
        }
    }
}

/// Decision state only.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Tenant {
    pub created: bool,
    pub mode: TenantMode,
    pub owners: Vec<OperatorId>,
    /// The tenant's live organizations (their count decides mode changes); persistent, so
    /// a clone of a cached tenant shares it.
    pub organizations: imbl::OrdSet<String>,
    pub api_keys: BTreeMap<String, bool>,
    /// Allowed redirect URLs (absent from snapshots taken before they existed).
    #[serde(default)]
    pub redirect_urls: Vec<String>,
    /// Allowed browser origins (absent from older snapshots).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub token_algorithm: TokenAlgorithm,
    /// Who may sign up (absent from snapshots taken before it existed).
    #[serde(default)]
    pub sign_up: SignUp,
    /// Whether org context tokens carry the user's team slugs.
    #[serde(default)]
    pub teams_in_tokens: bool,
}

impl Tenant {
    fn ensure_exists(&self) -> Result<(), TenantError> {
        if self.created {
            Ok(())
        } else {
            Err(TenantError::NotFound)
        }
    }
    fn ensure_owner(&self, by: &OperatorId) -> Result<(), TenantError> {
        self.ensure_exists()?;
        if self.owners.contains(by) {
            Ok(())
        } else {
            Err(TenantError::NotOwner)
        }
    }
    fn ensure_mode_change_allowed(&self, to: TenantMode) -> Result<(), TenantError> {
        if self.mode == TenantMode::B2b && to != TenantMode::B2b && !self.organizations.is_empty() {
            return Err(TenantError::TenantHasOrganizations);
        }
        Ok(())
    }
}

pub fn ensure_name(name: &str) -> Result<(), TenantError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        Err(TenantError::InvalidName)
    } else {
        Ok(())
    }
}

impl Aggregate for Tenant {
    const TYPE: &'static str = "tenant";
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;
    type Services = ();

    async fn handle(&mut self, command: TenantCommand, _: &(), sink: &EventSink<Self>) -> Result<(), TenantError> {
        match command {
            TenantCommand::Create { tenant_id, name, slug, mode, owner, at } => {
                if self.created {
                    return Err(TenantError::AlreadyExists);
                }
                ensure_name(&name)?;
                let ev = TenantEvent::Created { tenant_id, name, slug, mode, owner, created_at: at };
                sink.write(ev, self).await;
            }
            TenantCommand::Update { by, name, slug, mode } => {
                self.ensure_owner(&by)?;
                if let Some(n) = &name {
                    ensure_name(n)?;
                }
                if let Some(to) = mode {
                    self.ensure_mode_change_allowed(to)?;
                }
                if name.is_some() || slug.is_some() {
                    sink.write(TenantEvent::Updated { name, slug }, self).await;
                }
                if let Some(to) = mode {
                    if to != self.mode {
                        let from = self.mode;
                        sink.write(TenantEvent::ModeChanged { from, to }, self).await;
                    }
                }
            }
            TenantCommand::AddOrganization { organization_id } => {
                self.ensure_exists()?;
                if self.mode != TenantMode::B2b {
                    return Err(TenantError::OrganizationsDisabled);
                }
                if self.organizations.contains(organization_id.as_str()) {
                    return Ok(());
                }
                sink.write(TenantEvent::OrganizationAdded { organization_id }, self).await;
            }
            TenantCommand::RemoveOrganization { organization_id } => {
                self.ensure_exists()?;
                if !self.organizations.contains(organization_id.as_str()) {
                    return Ok(());
                }
                sink.write(TenantEvent::OrganizationRemoved { organization_id }, self).await;
            }
            TenantCommand::CreateApiKey {
                by,
                key_id,
                name,
                environment,
                secret_prefix,
                secret_last_four,
                publishable_key,
                at,
            } => {
                self.ensure_owner(&by)?;
                ensure_name(&name)?;
                let ev = TenantEvent::ApiKeyCreated {
                    key_id,
                    name,
                    environment,
                    secret_prefix,
                    secret_last_four,
                    publishable_key,
                    created_at: at,
                };
                sink.write(ev, self).await;
            }
            TenantCommand::RevokeApiKey { by, key_id, at } => {
                self.ensure_owner(&by)?;
                match self.api_keys.get(key_id.as_str()) {
                    Some(true) => sink.write(TenantEvent::ApiKeyRevoked { key_id, revoked_at: at }, self).await,
                    _ => return Err(TenantError::ApiKeyNotFound),
                }
            }
            TenantCommand::SetRedirectUrls { urls, at } => {
                self.ensure_exists()?;
                ensure_url_list(&urls)?;
                if urls != self.redirect_urls {
                    let from = self.redirect_urls.clone();
                    sink.write(TenantEvent::RedirectUrlsChanged { from, to: urls, changed_at: at }, self).await;
                }
            }
            TenantCommand::SetTokenAlgorithm { by, algorithm } => {
                self.ensure_owner(&by)?;
                if algorithm != self.token_algorithm {
                    let from = self.token_algorithm;
                    sink.write(TenantEvent::TokenAlgorithmChanged { from, to: algorithm }, self).await;
                }
            }
            TenantCommand::SetSettings { sign_up, teams_in_tokens, at } => {
                self.ensure_exists()?;
                let sign_up = sign_up.filter(|s| *s != self.sign_up);
                let teams_in_tokens = teams_in_tokens.filter(|t| *t != self.teams_in_tokens);
                if sign_up.is_some() || teams_in_tokens.is_some() {
                    sink.write(TenantEvent::SettingsChanged { sign_up, teams_in_tokens, changed_at: at }, self).await;
                }
            }
            TenantCommand::SetAllowedOrigins { origins, at } => {
                self.ensure_exists()?;
                ensure_url_list(&origins)?;
                if origins != self.allowed_origins {
                    let from = self.allowed_origins.clone();
                    sink.write(TenantEvent::AllowedOriginsChanged { from, to: origins, changed_at: at }, self).await;
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: TenantEvent) {
        match event {
            TenantEvent::Created { mode, owner, .. } => {
                self.created = true;
                self.mode = mode;
                self.owners = vec![owner];
            }
            TenantEvent::Updated { .. } => {}
            TenantEvent::ModeChanged { to, .. } => self.mode = to,
            TenantEvent::OrganizationAdded { organization_id } => {
                self.organizations.insert(organization_id.0);
            }
            TenantEvent::OrganizationRemoved { organization_id } => {
                self.organizations.remove(&organization_id.0);
            }
            TenantEvent::ApiKeyCreated { key_id, .. } => {
                self.api_keys.insert(key_id.0, true);
            }
            TenantEvent::ApiKeyRevoked { key_id, .. } => {
                self.api_keys.insert(key_id.0, false);
            }
            TenantEvent::RedirectUrlsChanged { to, .. } => self.redirect_urls = to,
            TenantEvent::AllowedOriginsChanged { to, .. } => self.allowed_origins = to,
            TenantEvent::TokenAlgorithmChanged { to, .. } => self.token_algorithm = to,
            TenantEvent::SettingsChanged { sign_up, teams_in_tokens, .. } => {
                if let Some(s) = sign_up {
                    self.sign_up = s;
                }
                if let Some(t) = teams_in_tokens {
                    self.teams_in_tokens = t;
                }
            }
        }
    }
}
