//! SSO connections of an organization (`crate::connections`) and the sign-in through
//! them (`crate::sso`): parse, call, answer. Managed by the backend for any
//! organization of the project, or by an org admin for their own.
use crate::connections::{self, ConnectionView, NewConnection, Provider};
use crate::error::{ApiError, ApiResult, Errors};
use crate::extract::{Json, Manager, Query, RequestContext, SecretKey};
use crate::sso;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnection {
    /// e.g. `Acme Okta`.
    pub name: String,
    /// `oidc` (the default) or `saml`.
    pub protocol: Option<String>,
    /// OpenID Connect: the identity provider's issuer; its discovery document
    /// (`<issuer>/.well-known/openid-configuration`) is read at creation.
    pub issuer: Option<String>,
    /// OpenID Connect: the client Authio is registered as at the provider (redirect URI
    /// `<AUTHIO_ISSUER>/v1/auth/sso/callback`, `client_secret_basic`).
    pub client_id: Option<String>,
    /// OpenID Connect: sealed with `AUTHIO_SECRET_KEY`; never shown again.
    pub client_secret: Option<String>,
    /// SAML: the identity provider's metadata XML (an `EntityDescriptor` with an
    /// `IDPSSODescriptor`: a signing certificate and an HTTP-Redirect
    /// `SingleSignOnService`). Register Authio there from the answer's `saml` URLs.
    pub metadata_xml: Option<String>,
    /// The role a user who signs in through the connection and is not a member gets;
    /// absent: such a user is refused.
    pub jit_role: Option<String>,
}

/// The provider of a connection to create: the fields of its protocol, and only those.
fn provider_of(
    protocol: Option<&str>,
    issuer: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    metadata_xml: Option<String>,
) -> ApiResult<Provider> {
    let need = |v: Option<String>, field: &'static str| {
        v.ok_or_else(|| ApiError::invalid_field(field, format!("{field} is required for an OpenID Connect connection")))
    };
    match protocol.unwrap_or("oidc") {
        "oidc" => {
            if metadata_xml.is_some() {
                return Err(ApiError::invalid_field("metadata_xml", "metadata_xml is for a SAML connection"));
            }
            Ok(Provider::Oidc {
                issuer: need(issuer, "issuer")?,
                client_id: need(client_id, "client_id")?,
                client_secret: need(client_secret, "client_secret")?,
            })
        }
        "github" => Err(ApiError::invalid_field(
            "protocol",
            "a GitHub connection is the project's (social sign-in): POST /v1/connections",
        )),
        "saml" => {
            for (field, v) in [("issuer", &issuer), ("client_id", &client_id), ("client_secret", &client_secret)] {
                if v.is_some() {
                    return Err(ApiError::invalid_field(field, format!("{field} is for an OpenID Connect connection")));
                }
            }
            let metadata_xml = metadata_xml.ok_or_else(|| {
                ApiError::invalid_field("metadata_xml", "metadata_xml (the identity provider's metadata) is required")
            })?;
            Ok(Provider::Saml { metadata_xml })
        }
        _ => Err(ApiError::invalid_field("protocol", "protocol must be oidc or saml")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionList {
    pub data: Vec<ConnectionView>,
    /// Always null: the whole list is one page.
    pub next_cursor: Option<String>,
}

/// Connect the organization's own identity provider (OpenID Connect or SAML 2.0).
#[utoipa::path(post, path = "/v1/organizations/{id}/connections", tag = "connections", params(("id" = String, Path)),
    request_body = CreateConnection, security(("secret_key" = []), ("access_token" = [])),
    responses((status = 201, body = ConnectionView), Errors))]
pub async fn create(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path(org): Path<String>,
    Json(body): Json<CreateConnection>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionView>)> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let name = super::console::check_name("name", &body.name)?;
    let CreateConnection { protocol, issuer, client_id, client_secret, metadata_xml, jit_role, .. } = body;
    let provider = provider_of(protocol.as_deref(), issuer, client_id, client_secret, metadata_xml)?;
    let new = NewConnection { name, provider, jit_role };
    let view = connections::create(&st, &ctx.metadata(&who.actor()), who.project_id(), Some(&org), new).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(get, path = "/v1/organizations/{id}/connections", tag = "connections", params(("id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 200, body = ConnectionList), Errors))]
pub async fn list(
    State(st): State<AppState>,
    who: Manager,
    Path(org): Path<String>,
) -> ApiResult<axum::Json<ConnectionList>> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    let data = connections::list(&st, who.project_id(), Some(&org)).await?;
    Ok(axum::Json(ConnectionList { data, next_cursor: None }))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}/connections/{connection_id}", tag = "connections",
    params(("id" = String, Path), ("connection_id" = String, Path)),
    security(("secret_key" = []), ("access_token" = [])), responses((status = 204), Errors))]
pub async fn delete(
    State(st): State<AppState>,
    who: Manager,
    ctx: RequestContext,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    crate::sessions::ensure_manages(&st, &who, &org).await?;
    connections::delete(&st, &ctx.metadata(&who.actor()), who.project_id(), Some(&org), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProjectConnection {
    /// e.g. `Google`.
    pub name: String,
    /// `oidc` (the default) or `github` (GitHub's OAuth 2, which has no OpenID Connect).
    pub protocol: Option<String>,
    /// OpenID Connect: the provider's issuer (`https://accounts.google.com`; Microsoft
    /// Entra ID: a tenant's `https://login.microsoftonline.com/<tenant id>/v2.0`).
    /// GitHub: absent for github.com, or a GitHub Enterprise Server's address.
    pub issuer: Option<String>,
    pub client_id: String,
    pub client_secret: String,
}

/// Connect an identity provider for the whole project (social sign-in): any user it
/// proves an email for signs in (or up, as the project's sign-up allows), in no
/// organization unless they already belong to some.
#[utoipa::path(post, path = "/v1/connections", tag = "connections", request_body = CreateProjectConnection,
    security(("secret_key" = [])), responses((status = 201, body = ConnectionView), Errors))]
pub async fn create_for_project(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateProjectConnection>,
) -> ApiResult<(StatusCode, axum::Json<ConnectionView>)> {
    let name = super::console::check_name("name", &body.name)?;
    let CreateProjectConnection { protocol, issuer, client_id, client_secret, .. } = body;
    let provider = match protocol.as_deref().unwrap_or("oidc") {
        "oidc" => {
            let issuer = issuer.ok_or_else(|| {
                ApiError::invalid_field("issuer", "issuer is required for an OpenID Connect connection")
            })?;
            Provider::Oidc { issuer, client_id, client_secret }
        }
        "github" => Provider::Github { base: issuer, client_id, client_secret },
        _ => return Err(ApiError::invalid_field("protocol", "protocol must be oidc or github")),
    };
    let new = NewConnection { name, provider, jit_role: None };
    let view = connections::create(&st, &ctx.metadata(&key.actor()), &key.project_id, None, new).await?;
    Ok((StatusCode::CREATED, axum::Json(view)))
}

/// The project's own connections (not its organizations').
#[utoipa::path(get, path = "/v1/connections", tag = "connections",
    security(("secret_key" = [])), responses((status = 200, body = ConnectionList), Errors))]
pub async fn list_for_project(State(st): State<AppState>, key: SecretKey) -> ApiResult<axum::Json<ConnectionList>> {
    let data = connections::list(&st, &key.project_id, None).await?;
    Ok(axum::Json(ConnectionList { data, next_cursor: None }))
}

#[utoipa::path(delete, path = "/v1/connections/{id}", tag = "connections", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 204), Errors))]
pub async fn delete_for_project(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    connections::delete(&st, &ctx.metadata(&key.actor()), &key.project_id, None, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StartQuery {
    /// The project's publishable key.
    pub pk: String,
    /// The connection (`conn_…`).
    pub connection: String,
    /// Where the application takes the handoff code back (allowed as for handoffs), or
    /// the hosted pages' SSO return page `<issuer>/hosted/sso`.
    pub redirect_url: String,
    /// base64url SHA-256 of the application's verifier.
    pub code_challenge: String,
    /// Returned to the application untouched.
    pub state: Option<String>,
}

/// Sign in through the connection: a redirect to the organization's identity provider.
#[utoipa::path(get, path = "/v1/auth/sso/start", tag = "sign-in", params(StartQuery),
    responses((status = 303, description = "To the identity provider"),
        (status = 429, description = "Too many starts from this client address", body = crate::error::ErrorBody), Errors))]
pub async fn start(
    State(st): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<StartQuery>,
) -> ApiResult<Response> {
    let StartQuery { pk, connection, redirect_url, code_challenge, state } = q;
    let client = ctx.client_ip.unwrap_or_default();
    let s = sso::Start { publishable_key: pk, connection, redirect_url, code_challenge, state, client };
    Ok(Redirect::to(&sso::start(&st, s).await?).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Where the identity provider sends the browser back: on to the application with a
/// handoff code (`code`, `state`), or with `error=sso_failed`.
#[utoipa::path(get, path = "/v1/auth/sso/callback", tag = "sign-in", params(CallbackQuery),
    responses((status = 303, description = "To the application"), Errors))]
pub async fn callback(
    State(st): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<CallbackQuery>,
) -> ApiResult<Response> {
    let CallbackQuery { code, state, error, error_description } = q;
    let cb = sso::Callback { code, state, error, error_description };
    Ok(Redirect::to(&sso::callback(&st, cb, &ctx).await?).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LookupQuery {
    pub email: String,
}

/// Home-realm discovery: whether an email's domain belongs to an organization that signs
/// its users in through an SSO connection (`404` when not), and whether it must.
#[utoipa::path(get, path = "/v1/auth/sso/lookup", tag = "sign-in", params(LookupQuery),
    security(("publishable_key" = [])), responses((status = 200, body = sso::SsoRoute), Errors))]
pub async fn lookup(
    State(st): State<AppState>,
    pk: crate::extract::PublishableKey,
    Query(q): Query<LookupQuery>,
) -> ApiResult<axum::Json<sso::SsoRoute>> {
    let email = super::project::check_email(&q.email).map(|e| authio_domain::normalize_email(&e))?;
    let route = sso::lookup(&st, &pk.project_id, &email).await?;
    Ok(axum::Json(route.ok_or_else(crate::error::ApiError::not_found)?))
}

/// A SAML connection's service-provider metadata (Authio's entity id and assertion
/// consumer service), for its identity provider. Public, as metadata is.
#[utoipa::path(get, path = "/v1/auth/saml/{connection_id}/metadata", tag = "sign-in", params(("connection_id" = String, Path)),
    responses((status = 200, content_type = "application/samlmetadata+xml", body = String), Errors))]
pub async fn saml_metadata(State(st): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let xml = connections::saml_sp_metadata(&st, &id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response())
}

/// The SAML assertion consumer service's form (HTTP-POST binding).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AcsForm {
    /// The base64 `Response`.
    #[schema(rename = "SAMLResponse")]
    saml_response: String,
    /// What `/v1/auth/sso/start` sent the identity provider.
    #[schema(rename = "RelayState")]
    relay_state: String,
}

/// The most an ACS form may weigh.
const MAX_ACS_FORM: usize = 1 << 20;

/// Where a SAML identity provider posts its response (HTTP-POST binding): on to the
/// application with a handoff code (`code`, `state`), or with `error=sso_failed`.
#[utoipa::path(post, path = "/v1/auth/saml/acs", tag = "sign-in",
    request_body(content = AcsForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "To the application"), Errors))]
pub async fn saml_acs(
    State(st): State<AppState>,
    ctx: RequestContext,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    if !crate::extract::is_form(&headers) || body.len() > MAX_ACS_FORM {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the SAML response must come as an application/x-www-form-urlencoded form of at most 1 MB",
        ));
    }
    let mut acs = sso::Acs { saml_response: None, relay_state: None };
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "SAMLResponse" if acs.saml_response.is_none() => acs.saml_response = Some(v.into_owned()),
            "RelayState" if acs.relay_state.is_none() => acs.relay_state = Some(v.into_owned()),
            _ => {}
        }
    }
    Ok(Redirect::to(&sso::acs(&st, acs, &ctx).await?).into_response())
}
