//! The OAuth 2.0 error answer (RFC 6749 §5.2, RFC 6750 §3): `{"error",
//! "error_description"}`, never cached. The `/oauth2/*` endpoints answer in this shape;
//! the `/v1/oauth2/*` routes the hosted pages call answer in Authio's own.
use crate::error::ApiError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    /// RFC 6749's code: `invalid_request`, `invalid_client`, `invalid_grant`,
    /// `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`,
    /// `invalid_token`, `server_error`, `temporarily_unavailable`.
    pub error: &'static str,
    pub description: String,
}

/// The error body, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError { status, error, description: description.into() }
    }
    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }
    /// Client authentication failed (401, with a `Basic` challenge).
    pub fn invalid_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    pub fn invalid_grant(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }
    pub fn unauthorized_client(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }
    pub fn unsupported_grant_type(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_grant_type", description)
    }
    pub fn invalid_scope(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }
    /// A bearer token that is missing, expired or revoked (401, RFC 6750).
    pub fn invalid_token(description: impl Into<String>) -> OAuthError {
        OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_token", description)
    }
}

/// Total: a server fault stays one (`server_error`, `temporarily_unavailable` for a
/// 503), malformed input is `invalid_request`, and any other refusal of a grant (the
/// session revoked, the membership gone, a step-up due, a token reused) is
/// `invalid_grant`: the client's grant cannot be used, whichever rule said so.
impl From<ApiError> for OAuthError {
    fn from(e: ApiError) -> OAuthError {
        if e.status == StatusCode::SERVICE_UNAVAILABLE {
            return OAuthError::new(e.status, "temporarily_unavailable", e.message);
        }
        if e.status.is_server_error() {
            return OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "internal error");
        }
        match e.code {
            "invalid_request" => OAuthError::invalid_request(e.message),
            _ => OAuthError::invalid_grant(e.message),
        }
    }
}

impl From<sqlx::Error> for OAuthError {
    fn from(e: sqlx::Error) -> OAuthError {
        ApiError::from(e).into()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = OAuthErrorBody { error: self.error.into(), error_description: self.description.clone() };
        let mut r = (self.status, axum::Json(body)).into_response();
        let h = r.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        let challenge = match self.error {
            "invalid_client" => Some("Basic realm=\"authio\"".to_string()),
            "invalid_token" => {
                Some(format!("Bearer error=\"invalid_token\", error_description=\"{}\"", self.description))
            }
            _ => None,
        };
        if let Some(v) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            h.insert(header::WWW_AUTHENTICATE, v);
        }
        r
    }
}
