//! The WebAuthn relying party for passkeys (`webauthn_rp`): the configured RP id and
//! origins, the ceremony table (the server half of each ceremony, used once, bound to a
//! project and, for registration, a user) and the encodings of the credential table.
//! The HTTP handlers are in `routes/passkeys.rs`. Nothing here ever reaches an event.
use crate::crypto::new_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_eventstore::time_text;
use axum::http::StatusCode;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use webauthn_rp::request::{AsciiDomain, RpId};

/// A ceremony must be finished within five minutes (the timeout the options carry too).
pub const CEREMONY_MINUTES: i64 = 5;

/// What a ceremony row is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Registration,
    Authentication,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Registration => "registration",
            Kind::Authentication => "authentication",
        }
    }
}

/// The relying party: passkeys are bound to `rp_id`, and browsers must report one of
/// `origins` in the client data.
#[derive(Debug)]
pub struct RelyingParty {
    pub rp_id: RpId,
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// Validate the configuration: an ASCII domain as RP id and one or more
    /// comma-separated `http(s)://host[:port]` origins whose host is the RP id or a
    /// subdomain of it (as browsers require).
    pub fn new(rp_id: &str, origins: &str) -> Result<Self, String> {
        let rp = rp_id.trim().to_ascii_lowercase();
        if rp.is_empty() || rp.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.')) {
            return Err(format!("AUTHIO_WEBAUTHN_RP_ID must be a domain such as example.com, got {rp_id:?}"));
        }
        let domain = AsciiDomain::try_from(rp.clone())
            .map_err(|e| format!("AUTHIO_WEBAUTHN_RP_ID {rp_id:?} is not a domain: {e}"))?;
        let mut list = Vec::new();
        for origin in origins.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let origin = origin.trim_end_matches('/');
            let host_port = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .filter(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', '@', ' ']))
                .ok_or_else(|| {
                    format!("AUTHIO_WEBAUTHN_ORIGIN must be http(s)://host[:port] (no path), got {origin:?}")
                })?;
            let host = host_port.rsplit_once(':').map_or(host_port, |(h, _)| h).to_ascii_lowercase();
            if host != rp && !host.ends_with(&format!(".{rp}")) {
                return Err(format!(
                    "the host of AUTHIO_WEBAUTHN_ORIGIN {origin:?} must be the RP id {rp:?} or a subdomain of it"
                ));
            }
            list.push(origin.to_ascii_lowercase());
        }
        if list.is_empty() {
            return Err("AUTHIO_WEBAUTHN_ORIGIN must name at least one origin".into());
        }
        Ok(RelyingParty { rp_id: RpId::Domain(domain), origins: list })
    }

    /// The origins as `webauthn_rp` compares them.
    pub fn origins(&self) -> Vec<&str> {
        self.origins.iter().map(String::as_str).collect()
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode stored base64url; stored data that does not decode is our fault, not the
/// caller's.
pub fn unb64(text: &str) -> ApiResult<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).map_err(|e| internal(format!("stored passkey data is not base64url: {e}")))
}

pub fn internal(message: impl Into<String>) -> ApiError {
    ApiError { message: message.into(), ..ApiError::internal() }
}

pub fn invalid_ceremony() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_ceremony",
        "the passkey ceremony is unknown, expired or already finished; start a new one",
    )
}

/// The WebAuthn response failed verification; `why` says which check (for people).
pub fn passkey_invalid(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "passkey_invalid", format!("the passkey was not accepted: {why}"))
}

/// Store the server half of a new ceremony; returns its id. Expired ceremonies are
/// swept on the way.
pub async fn save_ceremony(
    st: &AppState,
    kind: Kind,
    project: &str,
    user: Option<&str>,
    state: &[u8],
) -> ApiResult<String> {
    let now = Utc::now();
    sqlx::query("DELETE FROM passkey_ceremonies WHERE expires_at <= $1")
        .bind(time_text(now))
        .execute(&st.db.pool)
        .await?;
    let id = new_id("pkc_");
    sqlx::query(
        "INSERT INTO passkey_ceremonies (id, kind, project_id, user_id, state, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(kind.as_str())
    .bind(project)
    .bind(user)
    .bind(b64(state))
    .bind(time_text(now))
    .bind(time_text(now + Duration::minutes(CEREMONY_MINUTES)))
    .execute(&st.db.pool)
    .await?;
    Ok(id)
}

/// Take a ceremony: exactly one caller gets its state, and only before it expires, for
/// its kind, its project and (registration) its user. The row is gone afterwards, so a
/// finished or failed ceremony can never be finished again.
pub async fn take_ceremony(
    st: &AppState,
    kind: Kind,
    id: &str,
    project: &str,
    user: Option<&str>,
) -> ApiResult<Vec<u8>> {
    if id.len() > 64 {
        return Err(invalid_ceremony());
    }
    let state: Option<String> = sqlx::query_scalar(
        "DELETE FROM passkey_ceremonies WHERE id = $1 AND kind = $2 AND project_id = $3 \
         AND COALESCE(user_id, '') = COALESCE($4, '') AND expires_at > $5 RETURNING state",
    )
    .bind(id)
    .bind(kind.as_str())
    .bind(project)
    .bind(user)
    .bind(time_text(Utc::now()))
    .fetch_optional(&st.db.pool)
    .await?;
    unb64(&state.ok_or_else(invalid_ceremony)?)
}

#[cfg(test)]
mod tests {
    use super::RelyingParty;

    #[test]
    fn default_configuration_is_valid() {
        let rp = RelyingParty::new("localhost", "http://localhost:8080").expect("valid");
        assert_eq!(rp.origins, vec!["http://localhost:8080"]);
    }

    #[test]
    fn several_origins_and_subdomains_are_accepted() {
        let rp = RelyingParty::new("example.com", "https://example.com/, https://app.example.com:8443").expect("valid");
        assert_eq!(rp.origins, vec!["https://example.com", "https://app.example.com:8443"]);
    }

    #[test]
    fn bad_configuration_is_refused() {
        for (rp, origin) in [
            ("", "http://localhost:8080"),
            ("exa mple.com", "https://example.com"),
            ("example.com", ""),
            ("example.com", "example.com"),
            ("example.com", "https://example.com/login"),
            ("example.com", "https://evil.test"),
            ("example.com", "https://notexample.com"),
        ] {
            assert!(RelyingParty::new(rp, origin).is_err(), "{rp:?} {origin:?} should be refused");
        }
    }
}
