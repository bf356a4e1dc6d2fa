//! Authio's domain: aggregates, commands, events and the rules they keep.
//! Pure: no I/O, no clock, no randomness. Ids and timestamps arrive in commands.
#![forbid(unsafe_code)]

pub mod actor;
pub mod authorization_code;
pub mod connection;
pub mod context;
pub mod directory;
pub mod domains;
pub mod handoff;
pub mod ids;
pub mod invitation;
pub mod oauth_client;
pub mod operator;
pub mod organization;
pub mod reservation;
pub mod roles;
pub mod session;
pub mod team;
pub mod tenant;
pub mod user;
pub mod webhook;

pub use actor::Actor;

/// Every event type the system stores, for tests and documentation, each once.
/// `session.org_switched` is stored by two aggregates: a session's stream before
/// organization contexts, a token family's since (a payload with the same fields and
/// more).
pub fn all_event_types() -> Vec<&'static str> {
    let mut v = Vec::new();
    v.extend_from_slice(tenant::TenantEvent::TYPES);
    v.extend_from_slice(user::UserEvent::TYPES);
    v.extend_from_slice(organization::OrganizationEvent::TYPES);
    v.extend_from_slice(operator::OperatorEvent::TYPES);
    v.extend_from_slice(reservation::ReservationEvent::TYPES);
    v.extend_from_slice(session::SessionEvent::TYPES);
    v.extend_from_slice(context::ContextEvent::TYPES);
    v.extend_from_slice(context::FamilyEvent::TYPES);
    v.extend_from_slice(webhook::WebhookEvent::TYPES);
    v.extend_from_slice(roles::RoleEvent::TYPES);
    v.extend_from_slice(invitation::InvitationEvent::TYPES);
    v.extend_from_slice(team::TeamEvent::TYPES);
    v.extend_from_slice(domains::DomainEvent::TYPES);
    v.extend_from_slice(directory::DirectoryEvent::TYPES);
    v.extend_from_slice(handoff::HandoffEvent::TYPES);
    v.extend_from_slice(oauth_client::OAuthClientEvent::TYPES);
    v.extend_from_slice(authorization_code::CodeEvent::TYPES);
    v.extend_from_slice(connection::ConnectionEvent::TYPES);
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|name| seen.insert(*name));
    v
}

/// Normalize an email for identity: trimmed and lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// An email address we can both store and deliver to: an ASCII dot-atom local part
/// (RFC 5322 `atext`, at most 64 characters) `@` a host name of at least two labels
/// (letters, digits, inner hyphens; 1 to 63 characters each), 254 characters in all.
/// Quoted local parts and non-ASCII (IDN) domains are refused.
pub fn is_valid_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else { return false };
    let atext = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b);
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|part| !part.is_empty() && part.bytes().all(atext));
    email.len() <= 254 && local_ok && is_host_name(domain)
}

/// A host name of at least two labels (letters, digits, inner hyphens; 1 to 63
/// characters each), 253 characters in all. Case is not checked (callers lower-case).
pub fn is_host_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Slugs: 1..=63 of `a-z0-9-`, not starting or ending with `-`.
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 63
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
}

/// Derive a slug from a display name.
pub fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out.truncate(63);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Generates the `match` in `event_type()` and the `TYPES` list from one table, so the
/// stored name (serde tag) and `event_type()` cannot drift apart unnoticed: a test checks
/// that serializing each variant yields the same name.
#[macro_export]
macro_rules! event_names {
    ($enum:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $enum {
            pub const TYPES: &'static [&'static str] = &[$($name),+];
            pub fn name(&self) -> &'static str {
                match self { $( $enum::$variant { .. } => $name ),+ }
            }
        }
        impl cqrs_es::DomainEvent for $enum {
            fn event_type(&self) -> String { self.name().to_string() }
            fn event_version(&self) -> String { "1.0".to_string() }
        }
    };
}
