//! Webhook endpoint: a project's subscriber URL, its event filters, and whether it
//! receives deliveries. The signing secret is never part of the state or of an event:
//! the API keeps it beside the stream (written in the same commit), and events only
//! record that it was rotated.
use crate::ids::{TenantId, WebhookEndpointId};
use chrono::{DateTime, Utc};
use cqrs_es::{event_sink::EventSink, Aggregate};
use serde::{Deserialize, Serialize};

/// The longest accepted URL.
pub const MAX_URL_LEN: usize = 2048;
/// The most filters one endpoint may have.
pub const MAX_FILTERS: usize = 50;

/// Why an endpoint stopped receiving deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisableReason {
    /// The project's backend turned it off.
    Manual,
    /// Every delivery failed for days (see the dispatcher's rule).
    Failing,
}

impl DisableReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisableReason::Manual => "manual",
            DisableReason::Failing => "failing",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WebhookCommand {
    Create {
        endpoint_id: WebhookEndpointId,
        project_id: TenantId,
        url: String,
        events: Vec<String>,
        enabled: bool,
        at: DateTime<Utc>,
    },
    Update {
        url: Option<String>,
        events: Option<Vec<String>>,
        at: DateTime<Utc>,
    },
    /// The new secret is kept by the caller; the previous one stays valid until
    /// `previous_expires_at`.
    RotateSecret {
        previous_expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    Disable {
        reason: DisableReason,
        at: DateTime<Utc>,
    },
    Enable {
        at: DateTime<Utc>,
    },
    Delete {
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum WebhookEvent {
    #[serde(rename = "webhook_endpoint.created")]
    Created {
        endpoint_id: WebhookEndpointId,
        project_id: TenantId,
        url: String,
        events: Vec<String>,
        enabled: bool,
        created_at: DateTime<Utc>,
    },
    #[serde(rename = "webhook_endpoint.updated")]
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        events: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    },
    #[serde(rename = "webhook_endpoint.secret_rotated")]
    SecretRotated { previous_expires_at: DateTime<Utc>, rotated_at: DateTime<Utc> },
    #[serde(rename = "webhook_endpoint.disabled")]
    Disabled { reason: DisableReason, disabled_at: DateTime<Utc> },
    #[serde(rename = "webhook_endpoint.enabled")]
    Enabled { enabled_at: DateTime<Utc> },
    #[serde(rename = "webhook_endpoint.deleted")]
    Deleted { deleted_at: DateTime<Utc> },
}

crate::event_names!(WebhookEvent {
    Created => "webhook_endpoint.created",
    Updated => "webhook_endpoint.updated",
    SecretRotated => "webhook_endpoint.secret_rotated",
    Disabled => "webhook_endpoint.disabled",
    Enabled => "webhook_endpoint.enabled",
    Deleted => "webhook_endpoint.deleted",
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook endpoint already exists")]
    AlreadyExists,
    #[error("no such webhook endpoint")]
    NotFound,
    #[error("the url must be an absolute http(s) URL of at most 2048 characters")]
    InvalidUrl,
    #[error("event filters are 1 to 50 event types, `prefix.*` or `*`")]
    InvalidEventFilter,
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::AlreadyExists => "concurrent_modification",
            WebhookError::NotFound => "not_found",
            WebhookError::InvalidUrl | WebhookError::InvalidEventFilter => "invalid_request",
        }
    }
}

/// A filter is `*`, a known event type, or `subject.*` where some known type has that
/// subject.
pub fn is_valid_event_filter(filter: &str) -> bool {
    let types = crate::all_event_types();
    if filter == "*" {
        return true;
    }
    if let Some(prefix) = filter.strip_suffix(".*") {
        return !prefix.is_empty()
            && !prefix.contains('*')
            && types.iter().any(|t| t.split_once('.').is_some_and(|(s, _)| s == prefix));
    }
    types.contains(&filter)
}

/// Whether `event_type` is selected by `filter` (assumed valid).
pub fn filter_matches(filter: &str, event_type: &str) -> bool {
    if filter == "*" {
        return true;
    }
    match filter.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => filter == event_type,
    }
}

/// A URL shape check the domain can make without a URL parser: http(s), a host, and
/// the length limit. The API parses it fully and checks the target address.
pub fn ensure_url(url: &str) -> Result<(), WebhookError> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r)
            if url.len() <= MAX_URL_LEN
                && !r.is_empty()
                && !r.starts_with('/')
                && !url.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(WebhookError::InvalidUrl),
    }
}

pub fn ensure_filters(filters: &[String]) -> Result<(), WebhookError> {
    if filters.is_empty() || filters.len() > MAX_FILTERS || !filters.iter().all(|f| is_valid_event_filter(f)) {
        Err(WebhookError::InvalidEventFilter)
    } else {
        Ok(())
    }
}

/// Decision state only.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub created: bool,
    pub deleted: bool,
    pub project_id: Option<TenantId>,
    pub enabled: bool,
}

impl WebhookEndpoint {
    pub fn is_live(&self) -> bool {
        self.created && !self.deleted
    }
    fn ensure_live(&self) -> Result<(), WebhookError> {
        if self.is_live() {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }
}

impl Aggregate for WebhookEndpoint {
    const TYPE: &'static str = "webhook_endpoint";
    type Command = WebhookCommand;
    type Event = WebhookEvent;
    type Error = WebhookError;
    type Services = ();

    async fn handle(&mut self, command: WebhookCommand, _: &(), sink: &EventSink<Self>) -> Result<(), WebhookError> {
        match command {
            WebhookCommand::Create { endpoint_id, project_id, url, events, enabled, at } => {
                if self.created {
                    return Err(WebhookError::AlreadyExists);
                }
                ensure_url(&url)?;
                ensure_filters(&events)?;
                let ev = WebhookEvent::Created { endpoint_id, project_id, url, events, enabled, created_at: at };
                sink.write(ev, self).await;
            }
            WebhookCommand::Update { url, events, at } => {
                self.ensure_live()?;
                if let Some(u) = &url {
                    ensure_url(u)?;
                }
                if let Some(f) = &events {
                    ensure_filters(f)?;
                }
                if url.is_some() || events.is_some() {
                    sink.write(WebhookEvent::Updated { url, events, updated_at: at }, self).await;
                }
            }
            WebhookCommand::RotateSecret { previous_expires_at, at } => {
                self.ensure_live()?;
                sink.write(WebhookEvent::SecretRotated { previous_expires_at, rotated_at: at }, self).await;
            }
            WebhookCommand::Disable { reason, at } => {
                self.ensure_live()?;
                if self.enabled {
                    sink.write(WebhookEvent::Disabled { reason, disabled_at: at }, self).await;
                }
            }
            WebhookCommand::Enable { at } => {
                self.ensure_live()?;
                if !self.enabled {
                    sink.write(WebhookEvent::Enabled { enabled_at: at }, self).await;
                }
            }
            WebhookCommand::Delete { at } => {
                self.ensure_live()?;
                sink.write(WebhookEvent::Deleted { deleted_at: at }, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: WebhookEvent) {
        match event {
            WebhookEvent::Created { project_id, enabled, .. } => {
                self.created = true;
                self.project_id = Some(project_id);
                self.enabled = enabled;
            }
            WebhookEvent::Updated { .. } | WebhookEvent::SecretRotated { .. } => {}
            WebhookEvent::Disabled { .. } => self.enabled = false,
            WebhookEvent::Enabled { .. } => self.enabled = true,
            WebhookEvent::Deleted { .. } => self.deleted = true,
        }
    }
}
