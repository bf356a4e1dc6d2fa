//! A domain an organization claims (`acme.com`): `pending` until a DNS TXT record proves
//! it (`verified`), `failed` when a re-check no longer finds the record. At most one
//! organization of a project holds a domain verified (a reservation, kept by the
//! application). A verified domain's policy can make users of that domain members at
//! sign-in (`auto_join`, with a role).
use crate::ids::{OrganizationId, TenantId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// Mail providers anyone can get an address at: nobody proves to own these.
pub const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.com",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "fastmail.com",
    "hey.com",
    "qq.com",
    "163.com",
    "126.com",
];

pub fn is_public_mail_domain(domain: &str) -> bool {
    PUBLIC_MAIL_DOMAINS.contains(&domain)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DomainState {
    #[default]
    Pending,
    Verified,
    Failed,
}

impl DomainState {
    pub fn as_str(self) -> &'static str {
        match self {
            DomainState::Pending => "pending",
            DomainState::Verified => "verified",
            DomainState::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum DomainCommand {
    Add {
        domain_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        domain: String,
        /// The TXT record's value to publish (`authio-verify=…`).
        challenge: String,
        at: DateTime<Utc>,
    },
    /// The challenge was found in DNS.
    Verify {
        at: DateTime<Utc>,
    },
    /// A re-check of a verified domain no longer found it; `seen`: the TXT values found.
    LoseVerification {
        seen: Vec<String>,
        at: DateTime<Utc>,
    },
    SetPolicy {
        auto_join: Option<bool>,
        role: Option<Option<String>>,
        at: DateTime<Utc>,
    },
    Remove {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum DomainEvent {
    #[serde(rename = "domain.added")]
    Added {
        domain_id: String,
        project_id: TenantId,
        organization_id: OrganizationId,
        domain: String,
        challenge: String,
        added_at: DateTime<Utc>,
    },
    #[serde(rename = "domain.verified")]
    Verified { domain_id: String, organization_id: OrganizationId, domain: String, verified_at: DateTime<Utc> },
    #[serde(rename = "domain.verification_failed")]
    VerificationFailed {
        domain_id: String,
        organization_id: OrganizationId,
        domain: String,
        seen: Vec<String>,
        failed_at: DateTime<Utc>,
    },
    /// The policy after the change (both fields).
    #[serde(rename = "domain.policy_changed")]
    PolicyChanged {
        domain_id: String,
        organization_id: OrganizationId,
        auto_join: bool,
        role: Option<String>,
        changed_at: DateTime<Utc>,
    },
    #[serde(rename = "domain.removed")]
    Removed { domain_id: String, organization_id: OrganizationId, domain: String, removed_at: DateTime<Utc> },
}

crate::event_names!(DomainEvent {
    Added => "domain.added",
    Verified => "domain.verified",
    VerificationFailed => "domain.verification_failed",
    PolicyChanged => "domain.policy_changed",
    Removed => "domain.removed",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("the domain already exists")]
    AlreadyExists,
    #[error("no such domain")]
    NotFound,
    #[error("public mail domains cannot be claimed")]
    PublicMailDomain,
}

impl DomainError {
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::AlreadyExists => "concurrent_modification",
            DomainError::NotFound => "not_found",
            DomainError::PublicMailDomain => "public_mail_domain",
        }
    }
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct OrgDomain {
    pub id: String,
    pub created: bool,
    pub removed: bool,
    pub project_id: Option<TenantId>,
    pub organization_id: Option<OrganizationId>,
    pub domain: String,
    pub challenge: String,
    pub state: DomainState,
    pub auto_join: bool,
    pub role: Option<String>,
}

impl OrgDomain {
    pub fn is_live(&self) -> bool {
        self.created && !self.removed
    }
    fn org(&self) -> OrganizationId {
        self.organization_id.clone().unwrap_or_else(|| OrganizationId::new(""))
    }
}

impl Aggregate for OrgDomain {
    const TYPE: &'static str = "organization_domain";
    type Command = DomainCommand;
    type Event = DomainEvent;
    type Error = DomainError;
    type Services = ();

    async fn handle(&mut self, command: DomainCommand, _: &(), sink: &EventSink<Self>) -> Result<(), DomainError> {
        use DomainCommand as C;
        use DomainEvent as E;
        if !matches!(command, C::Add { .. }) && !self.is_live() {
            return Err(DomainError::NotFound);
        }
        let (domain_id, organization_id, domain) = (self.id.clone(), self.org(), self.domain.clone());
        match command {
            C::Add { domain_id, project_id, organization_id, domain, challenge, at } => {
                if self.created {
                    return Err(DomainError::AlreadyExists);
                }
                if is_public_mail_domain(&domain) {
                    return Err(DomainError::PublicMailDomain);
                }
                let ev = E::Added { domain_id, project_id, organization_id, domain, challenge, added_at: at };
                sink.write(ev, self).await;
            }
            C::Verify { at } => {
                if self.state != DomainState::Verified {
                    sink.write(E::Verified { domain_id, organization_id, domain, verified_at: at }, self).await;
                }
            }
            C::LoseVerification { seen, at } => {
                if self.state == DomainState::Verified {
                    let ev = E::VerificationFailed { domain_id, organization_id, domain, seen, failed_at: at };
                    sink.write(ev, self).await;
                }
            }
            C::SetPolicy { auto_join, role, at } => {
                let auto_join = auto_join.unwrap_or(self.auto_join);
                let role = role.unwrap_or_else(|| self.role.clone());
                if auto_join != self.auto_join || role != self.role {
                    let ev = E::PolicyChanged { domain_id, organization_id, auto_join, role, changed_at: at };
                    sink.write(ev, self).await;
                }
            }
            C::Remove { at } => {
                sink.write(E::Removed { domain_id, organization_id, domain, removed_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: DomainEvent) {
        use DomainEvent as E;
        match event {
            E::Added { domain_id, project_id, organization_id, domain, challenge, .. } => {
                self.id = domain_id;
                self.created = true;
                self.project_id = Some(project_id);
                self.organization_id = Some(organization_id);
                self.domain = domain;
                self.challenge = challenge;
            }
            E::Verified { .. } => self.state = DomainState::Verified,
            E::VerificationFailed { .. } => self.state = DomainState::Failed,
            E::PolicyChanged { auto_join, role, .. } => {
                self.auto_join = auto_join;
                self.role = role;
            }
            E::Removed { .. } => self.removed = true,
        }
    }
}
