//! One error shape everywhere: `{"error": {"code", "message", "details"?}}`.
use authio_domain::organization::OrganizationError;
use authio_domain::tenant::TenantError;
use authio_domain::user::UserError;
use authio_eventstore::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::{IntoResponses, ToSchema};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Boxed: an error travels in every `Result` of a handler, and stays small.
    pub details: Option<Box<Value>>,
    /// Seconds for `Retry-After` (429 and 503 have a default).
    pub retry_after: Option<u32>,
}

/// The error body, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case; see the README's table.
    pub code: String,
    /// For people; never parse it.
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// Every error code the API answers with, its status, and what it means. The README
/// table is checked against this list by a test.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("invalid_request", 400, "Malformed or invalid input; `details.field` names the field when one is at fault."),
    ("unknown_role", 400, "The role is not defined in the project, or is another organization's own role."),
    ("public_mail_domain", 400, "Public mail domains (gmail.com and the like) cannot be claimed by an organization."),
    ("unknown_team", 400, "The team named is not a team of this organization."),
    (
        "unknown_group_member",
        400,
        "SCIM: a group member named is not a user of the directory (`scimType` `invalidValue`).",
    ),
    ("unknown_permission", 400, "A permission named is not defined in the project."),
    (
        "redirect_not_allowed",
        400,
        "The redirect URL is not among the project's allowed redirect URLs (`test` keys also allow `http://localhost:*` and `http://127.0.0.1:*`).",
    ),
    (
        "invalid_authorization_request",
        400,
        "The OAuth authorization request the hosted page holds is unknown, tampered with or expired (10 minutes), or its client or redirect URI is no longer registered; start again from the application.",
    ),
    (
        "organization_mismatch",
        400,
        "The OAuth authorization request names another organization than the caller's current context: switch to it first.",
    ),
    (
        "invalid_grant",
        400,
        "OAuth: the authorization code is unknown, expired, already used, or another client's (the `/oauth2/*` endpoints answer RFC 6749's `{\"error\": \"invalid_grant\"}`).",
    ),
    (
        "connection_discovery_failed",
        400,
        "The SSO connection's identity provider has no usable discovery document at `<issuer>/.well-known/openid-configuration` (unreachable, not JSON, or naming another issuer).",
    ),
    (
        "invalid_sso_state",
        400,
        "The SSO sign-in's state is unknown, tampered with or expired (10 minutes); start again from the application.",
    ),
    (
        "invalid_saml_metadata",
        400,
        "The SAML identity provider's metadata cannot be used: not an `EntityDescriptor` with an `IDPSSODescriptor`, no signing certificate, no HTTP-Redirect `SingleSignOnService`, or a DOCTYPE.",
    ),
    (
        "saml_unavailable",
        501,
        "This build of Authio has no SAML support: build it with `--features saml` (needs Debian's libxmlsec1-dev and libclang-dev).",
    ),
    ("connection_unavailable", 502, "The SSO connection's identity provider did not answer its discovery document."),
    (
        "encryption_key_missing",
        503,
        "SSO connections need `AUTHIO_SECRET_KEY` (64 hex digits) on the server; it is not set.",
    ),
    (
        "sso_required",
        403,
        "The email's organization admits only SSO (its policy's `allowed_methods`): sign in through its connection (`details.connection_id`, `/v1/auth/sso/start`).",
    ),
    (
        "invalid_handoff",
        400,
        "The handoff code is unknown, expired, of another project, or its `code_verifier` does not match; a code presented again after it was redeemed also revokes its session.",
    ),
    ("invalid_cursor", 400, "The `after` cursor is not one this list gave out (`details.field` is `after`)."),
    (
        "webhook_url_not_allowed",
        400,
        "The webhook URL targets a private, loopback, link-local or otherwise non-public address (allowed only with `AUTHIO_WEBHOOK_ALLOW_PRIVATE=true`).",
    ),
    ("unauthenticated", 401, "Missing, malformed, expired or revoked credential."),
    ("invalid_token", 401, "The sign-in token or link is unknown, expired, already used or for another purpose."),
    ("refresh_token_reused", 401, "A spent refresh token was presented again; the whole session is revoked."),
    (
        "invalid_ceremony",
        401,
        "The passkey ceremony is unknown, expired, already finished, or was started for another project or user.",
    ),
    (
        "passkey_invalid",
        401,
        "The passkey response failed verification: unknown credential, wrong origin or RP ID, challenge mismatch, bad signature, or a signature counter that did not increase.",
    ),
    ("forbidden", 403, "The caller is authenticated but may not do this (e.g. a member without the admin role)."),
    (
        "origin_not_allowed",
        403,
        "The browser origin is not among the project's allowed origins (`test` keys also allow `http://localhost:*` and `http://127.0.0.1:*`).",
    ),
    ("not_a_member", 403, "The user has no active membership in that organization (whether or not it exists)."),
    ("sign_up_closed", 403, "The project admits new users by invitation only; no valid invitation code for this email was given."),
    (
        "step_up_required",
        403,
        "The organization's sign-in policy asks for more than the session has (`details` says what); step up with a passkey, then switch again.",
    ),
    (
        "sign_in_method_not_allowed",
        403,
        "The organization that verified the email's domain does not allow this sign-in method (its policy), whichever organization the sign-in is for.",
    ),
    ("invitation_email_mismatch", 403, "The invitation is for another email address than the signed-in user's."),
    ("email_not_verified", 403, "The user's email address is not verified."),
    ("secret_key_required", 403, "The route is for the project's backend (secret key), not a user token."),
    ("not_found", 404, "The resource does not exist or is outside the caller's reach."),
    ("invitation_invalid", 404, "No invitation has this code (unknown, or replaced by a resend)."),
    ("method_not_allowed", 405, "The route exists but not with this method."),
    ("email_taken", 409, "Another user of the project has this email (case-insensitive)."),
    ("slug_taken", 409, "Another organization of the project has this slug."),
    ("membership_exists", 409, "The user already has a membership in this organization."),
    ("passkey_exists", 409, "This passkey (credential id) is already registered, to this user or another."),
    ("invalid_membership_transition", 409, "The membership's status does not allow this change."),
    ("last_admin", 409, "An org admin cannot demote, deactivate or remove the organization's last active admin (the backend can)."),
    ("permission_exists", 409, "The project already defines a permission with this slug."),
    ("permission_in_use", 409, "A role still grants this permission."),
    ("role_exists", 409, "The project already has a role with this slug (built-in and org-level roles included)."),
    ("role_built_in", 409, "Built-in roles (`admin`, `member`) cannot be deleted."),
    ("role_is_default", 409, "The project's default role cannot be deleted; choose another default first."),
    ("role_in_use", 409, "Memberships hold this role (`details.memberships`); give a `replacement` to move them."),
    ("invitation_exists", 409, "A pending invitation for this email and organization exists (`details.id`)."),
    ("invitation_not_pending", 409, "The invitation is accepted, revoked or expired."),
    ("invitation_accepted", 409, "The invitation was accepted already."),
    ("already_member", 409, "The user is an active member of the organization already."),
    ("domain_exists", 409, "The organization has claimed this domain already (`details.id`)."),
    ("domain_taken", 409, "Another organization of the project has verified this domain."),
    ("group_name_taken", 409, "SCIM: the directory has a group with this displayName (`scimType` `uniqueness`)."),
    ("team_exists", 409, "The organization already has a team with this slug."),
    ("team_member_exists", 409, "The user is in the team already."),
    ("not_an_org_member", 409, "The user is not a member of the team's organization."),
    ("tenant_has_organizations", 409, "A b2b tenant with organizations cannot switch to flat or b2c."),
    ("organizations_disabled", 409, "Organizations exist only in b2b mode."),
    ("concurrent_modification", 409, "A concurrent change won the race; retrying may succeed."),
    ("idempotency_key_reused", 409, "The Idempotency-Key was used with a different request."),
    ("request_in_progress", 409, "A request with this Idempotency-Key is still being processed."),
    ("delivery_in_flight", 409, "The webhook delivery is being sent right now; retry shortly."),
    ("invitation_expired", 410, "The invitation is past its expiry."),
    ("invitation_revoked", 410, "The invitation was revoked."),
    (
        "domain_verification_failed",
        422,
        "The challenge TXT record was not found; `details` has the name looked up, the value expected and the values seen.",
    ),
    ("rate_limited", 429, "Too many sign-in requests for this email or client address; retry later."),
    ("payload_too_large", 413, "The request body is too large."),
    ("unsupported_media_type", 415, "The request body must be JSON (Content-Type: application/json)."),
    ("internal", 500, "An unexpected server error; it is logged with the request id."),
    ("unavailable", 503, "A dependency (the database) is not reachable."),
];

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, retry_after: None }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(message).with_field(field)
    }
    /// The same error with another message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }
    /// The same error, naming the one field at fault (`details.field`).
    pub fn with_field(mut self, field: &str) -> Self {
        self.details = Some(Box::new(json!({ "field": field })));
        self
    }
    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "a valid credential is required")
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn concurrent() -> Self {
        Self::conflict("concurrent_modification", "a concurrent change won; retry the request")
    }
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        // An internal error's message may name a table or a query: it goes to the log only.
        let message =
            if self.status == StatusCode::INTERNAL_SERVER_ERROR { "internal error".into() } else { self.message };
        let mut error = json!({ "code": self.code, "message": message });
        if let Some(d) = self.details {
            error["details"] = *d;
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        let headers = response.headers_mut();
        use axum::http::{header, HeaderValue};
        match self.status {
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                // The limiter says when the next request is allowed; otherwise a second
                // (the database) or a minute.
                let default = if self.status == StatusCode::SERVICE_UNAVAILABLE { 1 } else { 60 };
                headers.insert(header::RETRY_AFTER, HeaderValue::from(self.retry_after.unwrap_or(default).max(1)));
            }
            // RFC 6750: every 401 carries a bearer-token challenge.
            StatusCode::UNAUTHORIZED => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"authio\""));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => ApiError::concurrent(),
            StoreError::Database(db) => database_error(db),
            StoreError::Precondition(code) => ApiError::conflict(code, "a precondition of this change no longer holds"),
            other => {
                let mut err = ApiError::internal();
                err.message = other.to_string();
                err
            }
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        database_error(e)
    }
}

/// The answer for a database error. Both `From` conversions above end here, and this
/// converts nothing back (they once called each other, and a database error overflowed
/// the stack).
pub fn database_error(e: sqlx::Error) -> ApiError {
    let unavailable = || {
        // The cause, for the operator (the answer only says to retry).
        tracing::warn!(error = %e, "database unavailable");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the database is unavailable; retry later")
    };
    match &e {
        // PostgreSQL's class 22 (data exception: a NUL byte in text, a value out of
        // range) is the client's input, not our failure.
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")) => {
            return ApiError::invalid("the request contains a value the database cannot store");
        }
        // PostgreSQL: serialization failure, deadlock; a concurrent change won.
        sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")) => {
            return ApiError::concurrent();
        }
        // PostgreSQL: too many connections, shutting down, cannot connect now, statement
        // timeout; SQLite: busy or locked (primary codes 5 and 6, with extended ones).
        sqlx::Error::Database(db)
            if db.code().is_some_and(|c| {
                matches!(c.as_ref(), "53300" | "57P01" | "57P02" | "57P03" | "57014")
                    || c.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            }) =>
        {
            return unavailable();
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            return unavailable();
        }
        _ => {}
    }
    let mut err = ApiError::internal();
    err.message = e.to_string();
    err
}

impl From<authio_projections::ProjectionError> for ApiError {
    fn from(e: authio_projections::ProjectionError) -> Self {
        let mut err = ApiError::internal();
        err.message = e.to_string();
        err
    }
}

/// The status of a domain error's code: the one `ERROR_CODES` lists for it; a broken
/// rule that the table does not list is a conflict.
fn status_for(code: &str) -> StatusCode {
    ERROR_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .and_then(|(_, status, _)| StatusCode::from_u16(*status).ok())
        .unwrap_or(StatusCode::CONFLICT)
}

macro_rules! domain_error {
    ($t:ty) => {
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                let code = e.code();
                if code == "not_owner" {
                    return ApiError::not_found();
                }
                ApiError::new(status_for(code), code, e.to_string())
            }
        }
    };
}
domain_error!(TenantError);
domain_error!(UserError);
domain_error!(OrganizationError);
domain_error!(authio_domain::operator::OperatorError);
domain_error!(authio_domain::session::SessionError);
domain_error!(authio_domain::webhook::WebhookError);
domain_error!(authio_domain::context::ContextError);
domain_error!(authio_domain::context::FamilyError);
domain_error!(authio_domain::roles::RoleError);
domain_error!(authio_domain::invitation::InvitationError);
domain_error!(authio_domain::team::TeamError);
domain_error!(authio_domain::domains::DomainError);
domain_error!(authio_domain::directory::DirectoryError);
domain_error!(authio_domain::handoff::HandoffError);
domain_error!(authio_domain::oauth_client::OAuthClientError);
domain_error!(authio_domain::authorization_code::CodeError);
domain_error!(authio_domain::connection::ConnectionError);

pub type ApiResult<T> = Result<T, ApiError>;

/// The error answers any route may give, all in the one error shape.
#[allow(dead_code)]
#[derive(IntoResponses)]
pub enum Errors {
    /// `invalid_request`, `unknown_role`, `unknown_permission`, `invalid_cursor`, `redirect_not_allowed`, `webhook_url_not_allowed`
    #[response(status = 400)]
    BadRequest(ErrorBody),
    /// `unauthenticated`, `invalid_token`, `refresh_token_reused`, `invalid_ceremony`, `passkey_invalid`
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// `forbidden`, `not_a_member`, `secret_key_required`, `origin_not_allowed`, `sign_up_closed`, `invitation_email_mismatch`, `email_not_verified`
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// `not_found`, `invitation_invalid`
    #[response(status = 404)]
    NotFound(ErrorBody),
    /// `invitation_expired`, `invitation_revoked`
    #[response(status = 410)]
    Gone(ErrorBody),
    /// `domain_verification_failed`
    #[response(status = 422)]
    Unprocessable(ErrorBody),
    /// A broken rule (its code) or `concurrent_modification`.
    #[response(status = 409)]
    Conflict(ErrorBody),
    /// `rate_limited`
    #[response(status = 429)]
    RateLimited(ErrorBody),
    /// `unavailable`: the database (or mail) is not reachable; `Retry-After` says when to retry
    #[response(status = 503)]
    Unavailable(ErrorBody),
    /// `payload_too_large`
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both conversions of a database error end in an answer: they once called each
    /// other until the stack overflowed.
    #[test]
    fn database_errors_convert_without_recursing() {
        let from_sqlx: ApiError = sqlx::Error::PoolTimedOut.into();
        assert_eq!((from_sqlx.status, from_sqlx.code), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        let from_store: ApiError = StoreError::Database(sqlx::Error::PoolClosed).into();
        assert_eq!((from_store.status, from_store.code), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
        let other: ApiError = sqlx::Error::RowNotFound.into();
        assert_eq!((other.status, other.code), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        let via_store: ApiError = StoreError::Database(sqlx::Error::RowNotFound).into();
        assert_eq!(via_store.code, "internal");
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let down: ApiError = sqlx::Error::Io(io).into();
        assert_eq!(down.code, "unavailable");
        let r = down.into_response();
        assert_eq!(r.headers().get(axum::http::header::RETRY_AFTER).unwrap(), "1");
    }
}
