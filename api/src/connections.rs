//! SSO connections of an organization (OpenID Connect or SAML 2.0), or of the project
//! itself for social sign-in (OpenID Connect) (issue 20, part 2): create (an OpenID
//! provider's discovery document is read first; a SAML provider's metadata is checked
//! by `authio_saml`), list, delete. The rules live in
//! `authio_domain::connection`; the client secret is sealed with `AUTHIO_SECRET_KEY`
//! and side-written in `connection_secrets` in the same commit. The sign-in through a
//! connection is `crate::sso`.
use crate::crypto::{new_id, Sealer};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::connection::{Connection, ConnectionCommand, ConnectionSpec, Protocol};
use authio_domain::ids::{OrganizationId, TenantId};
use authio_eventstore::{time_text, Changes, Loaded, Metadata, SqlArg};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct ConnectionView {
    /// `conn_…`.
    pub id: String,
    /// The organization whose connection it is; `null` for the project's own (social
    /// sign-in).
    pub organization_id: Option<String>,
    pub name: String,
    /// The identity provider's issuer (SAML: its entity id; GitHub: its address).
    pub issuer: String,
    /// The client Authio is registered as at the provider.
    pub client_id: String,
    /// The role a non-member gets when signing in through the connection; none: refused.
    pub jit_role: Option<String>,
    /// `oidc`, `saml` (an organization's) or `github` (the project's).
    pub protocol: String,
    /// A SAML connection's service-provider side, to register at the identity provider
    /// (`client_id` is the service provider's entity id).
    pub saml: Option<SamlEndpoints>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct SamlEndpoints {
    /// The assertion consumer service (HTTP-POST binding).
    pub acs_url: String,
    /// The service provider's metadata (entity id, ACS), for the identity provider.
    pub metadata_url: String,
}

/// What a new connection is made of.
pub struct NewConnection {
    pub name: String,
    pub provider: Provider,
    pub jit_role: Option<String>,
}

/// The identity provider of a new connection.
pub enum Provider {
    Oidc {
        issuer: String,
        client_id: String,
        client_secret: String,
    },
    Saml {
        metadata_xml: String,
    },
    /// `base`: GitHub's address (`https://github.com` when none; a GitHub Enterprise
    /// Server's otherwise).
    Github {
        base: Option<String>,
        client_id: String,
        client_secret: String,
    },
}

/// GitHub's address when a connection names none.
pub const GITHUB: &str = "https://github.com";

/// GitHub's endpoints at `base`: authorize, token, and the REST API's root.
pub fn github_endpoints(base: &str) -> (String, String, String) {
    let api = if base == GITHUB { "https://api.github.com".to_string() } else { format!("{base}/api/v3") };
    (format!("{base}/login/oauth/authorize"), format!("{base}/login/oauth/access_token"), api)
}

fn check_client_secret(secret: &str) -> ApiResult<()> {
    if secret.is_empty() || secret.len() > 1024 {
        return Err(ApiError::invalid_field("client_secret", "client_secret must be 1 to 1024 characters"));
    }
    Ok(())
}

/// Authio as the service provider of the SAML connection `id`: its entity id and ACS.
pub fn saml_sp(st: &AppState, id: &str) -> (String, String) {
    (format!("{}/v1/auth/saml/{id}", st.keys.issuer), format!("{}/v1/auth/saml/acs", st.keys.issuer))
}

/// `501 saml_unavailable` for a build without SAML; any other SAML error as `other`.
pub fn saml_error(e: authio_saml::SamlError, other: impl FnOnce(String) -> ApiError) -> ApiError {
    match e {
        authio_saml::SamlError::Unavailable => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "saml_unavailable",
            "this build of Authio has no SAML support: build it with `--features saml` (needs libxmlsec1-dev and libclang-dev)",
        ),
        e => other(e.to_string()),
    }
}

fn saml_refused(e: authio_saml::SamlError) -> ApiError {
    saml_error(e, |why| ApiError::new(StatusCode::BAD_REQUEST, "invalid_saml_metadata", why))
}

/// The cipher of `AUTHIO_SECRET_KEY`, or `503 encryption_key_missing`.
pub fn sealer(st: &AppState) -> ApiResult<Arc<Sealer>> {
    st.sealer.clone().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "encryption_key_missing",
            "SSO connections need AUTHIO_SECRET_KEY (64 hex digits) on the server",
        )
    })
}

fn discovery_failed(why: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "connection_discovery_failed",
        format!("the identity provider's discovery document could not be used: {why}"),
    )
}

/// The provider's URL `url` (`what` names it in the refusal), checked as webhook URLs
/// are, and an HTTP client for it: no redirects, ten seconds, and (unless private
/// targets are allowed) only public addresses.
pub(crate) async fn client_for(
    st: &AppState,
    url: &str,
    what: &str,
) -> Result<(reqwest::Url, reqwest::Client), String> {
    let url =
        crate::webhooks::check_url(url, st.webhooks.allow_private).map_err(|_| format!("{what} is not allowed"))?;
    let mut builder =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(10));
    if let Some((host, addrs)) = crate::webhooks::resolve(&url, st.webhooks.allow_private).await? {
        builder = builder.resolve_to_addrs(&host, &addrs);
    }
    Ok((url, builder.build().map_err(|e| e.to_string())?))
}

/// The parts of a provider's discovery document the sign-in uses.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
}

/// GET a JSON document from the provider (at most 1 MB).
pub(crate) async fn fetch_json<T: serde::de::DeserializeOwned>(st: &AppState, url: &str) -> Result<T, String> {
    let (url, client) = client_for(st, url, url).await?;
    let res = client.get(url.clone()).send().await.map_err(|e| format!("{url}: {e}"))?;
    if !res.status().is_success() {
        return Err(format!("{url} answered {}", res.status().as_u16()));
    }
    let body = res.bytes().await.map_err(|e| e.to_string())?;
    if body.len() > 1 << 20 {
        return Err(format!("{url}: the document is larger than 1 MB"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
}

/// The provider's discovery document, whose `issuer` must be `issuer` exactly, or a
/// multi-tenant template of it (see [`issuer_fits`]).
pub async fn discover(st: &AppState, issuer: &str) -> Result<Discovery, String> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let d: Discovery = fetch_json(st, &url).await?;
    if !issuer_fits(&d.issuer, issuer) {
        return Err(format!("the document names the issuer {}, not {issuer}", d.issuer));
    }
    Ok(d)
}

/// The placeholder of a multi-tenant issuer (Microsoft Entra ID's `common`,
/// `organizations` and `consumers` endpoints name `https://login.microsoftonline.com/{tenantid}/v2.0`):
/// each id token's `iss` carries its own tenant, its `tid` claim.
pub const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// Whether a discovery document's `issuer` is the configured one: the same, or a
/// multi-tenant template that differs from it only in one path segment where the
/// template has `{tenantid}`.
pub fn issuer_fits(document: &str, configured: &str) -> bool {
    if document == configured {
        return true;
    }
    let Some((prefix, suffix)) = document.split_once(TENANT_PLACEHOLDER) else { return false };
    configured.len() > prefix.len() + suffix.len()
        && configured.starts_with(prefix)
        && configured.ends_with(suffix)
        && !configured[prefix.len()..configured.len() - suffix.len()].contains('/')
}

const COLS: &str = "id, organization_id, name, issuer, client_id, jit_role, created_at, updated_at, protocol";

fn view_of(st: &AppState, r: &sqlx::any::AnyRow) -> Result<ConnectionView, sqlx::Error> {
    let id: String = r.try_get(0)?;
    let protocol: String = r.try_get(8)?;
    let saml = (protocol == "saml").then(|| {
        let (entity, acs_url) = saml_sp(st, &id);
        SamlEndpoints { acs_url, metadata_url: format!("{entity}/metadata") }
    });
    Ok(ConnectionView {
        id,
        protocol,
        saml,
        organization_id: r.try_get(1)?,
        name: r.try_get(2)?,
        issuer: r.try_get(3)?,
        client_id: r.try_get(4)?,
        jit_role: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

/// Whose connections: `org`'s, or the project's own (`None`).
const OWNED: &str = "project_id = $1 AND (organization_id = $2 OR ($2 IS NULL AND organization_id IS NULL))";

/// The connection `id` of `project`'s organization `org` (or of the project itself).
pub async fn get(st: &AppState, project: &str, org: Option<&str>, id: &str) -> ApiResult<ConnectionView> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM connections WHERE {OWNED} AND id = $3"))
        .bind(project)
        .bind(org)
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(view_of(st, &row)?)
}

/// Every connection of `project`'s organization `org` (or of the project itself), oldest first.
pub async fn list(st: &AppState, project: &str, org: Option<&str>) -> ApiResult<Vec<ConnectionView>> {
    let rows = sqlx::query(&format!("SELECT {COLS} FROM connections WHERE {OWNED} ORDER BY id"))
        .bind(project)
        .bind(org)
        .fetch_all(&st.db.pool)
        .await?;
    Ok(rows.iter().map(|r| view_of(st, r)).collect::<Result<_, _>>()?)
}

/// Create a connection for the project's organization `org`, or (`None`) for the project.
pub async fn create(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: Option<&str>,
    new: NewConnection,
) -> ApiResult<ConnectionView> {
    let sealer = sealer(st)?;
    if org.is_none() && new.jit_role.is_some() {
        return Err(ApiError::invalid_field("jit_role", "jit_role is for an organization's connection"));
    }
    let id = new_id("conn_");
    // The provider's side: what the spec records, and the sealed client secret (OIDC).
    let (issuer, client_id, sealed, protocol, saml_metadata) = match &new.provider {
        Provider::Oidc { issuer, client_id, client_secret } => {
            let issuer = issuer.trim().trim_end_matches('/').to_string();
            if crate::webhooks::check_url(&issuer, st.webhooks.allow_private).is_err() {
                return Err(ApiError::invalid_field("issuer", "issuer must be a public http(s) URL"));
            }
            check_client_secret(client_secret)?;
            discover(st, &issuer).await.map_err(discovery_failed)?;
            let sealed = sealer.seal(&format!("connection:{id}"), client_secret.as_bytes());
            (issuer, client_id.clone(), Some(sealed), Protocol::Oidc, None)
        }
        Provider::Saml { metadata_xml } => {
            if org.is_none() {
                return Err(ApiError::invalid_field("protocol", "SAML connections belong to an organization"));
            }
            let idp = authio_saml::parse_metadata(metadata_xml).map_err(saml_refused)?;
            let (entity, _) = saml_sp(st, &id);
            (idp.entity_id, entity, None, Protocol::Saml, Some(metadata_xml.clone()))
        }
        Provider::Github { base, client_id, client_secret } => {
            if org.is_some() {
                return Err(ApiError::invalid_field(
                    "protocol",
                    "a GitHub connection is the project's (social sign-in)",
                ));
            }
            let base = base.as_deref().unwrap_or(GITHUB).trim().trim_end_matches('/').to_string();
            if crate::webhooks::check_url(&base, st.webhooks.allow_private).is_err() {
                return Err(ApiError::invalid_field(
                    "issuer",
                    "issuer (GitHub's address) must be a public http(s) URL",
                ));
            }
            check_client_secret(client_secret)?;
            let sealed = sealer.seal(&format!("connection:{id}"), client_secret.as_bytes());
            (base, client_id.clone(), Some(sealed), Protocol::Github, None)
        }
    };
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        if let Some(org) = org {
            let o = st.db.load::<authio_domain::organization::Organization>(org).await?;
            if !o.state.is_live() || o.state.project_id.as_ref().map(TenantId::as_str) != Some(project) {
                return Err(ApiError::not_found());
            }
            if let Some(role) = &new.jit_role {
                let cat = crate::roles::catalog(st, project).await?;
                crate::roles::require_usable(&mut c, &cat, role, org)?;
            }
        }
        let mut conn = Loaded::<Connection>::fresh(&id);
        let spec = ConnectionSpec {
            connection_id: id.clone(),
            project_id: TenantId::new(project),
            organization_id: org.map(OrganizationId::new),
            name: new.name.clone(),
            issuer: issuer.clone(),
            client_id: client_id.clone(),
            jit_role: new.jit_role.clone(),
            protocol,
            saml_metadata: saml_metadata.clone(),
        };
        conn.exec(ConnectionCommand::Create { spec: Box::new(spec), at: Utc::now() }).await?;
        c.add(conn)?;
        if let Some(sealed) = &sealed {
            c.side_write(
                "INSERT INTO connection_secrets (connection_id, project_id, sealed_secret, updated_at) VALUES ($1, $2, $3, $4)",
                vec![
                    SqlArg::Text(id.clone()),
                    SqlArg::Text(project.into()),
                    SqlArg::Text(sealed.clone()),
                    SqlArg::Text(time_text(Utc::now())),
                ],
            );
        }
        Ok(c)
    })?;
    get(st, project, org, &id).await
}

/// Delete the connection `id` of `project`'s organization `org` (or of the project); its
/// secret goes in the same commit.
pub async fn delete(st: &AppState, meta: &Metadata, project: &str, org: Option<&str>, id: &str) -> ApiResult<()> {
    get(st, project, org, id).await?;
    crate::execute!(st, meta, {
        let mut conn = st.db.load::<Connection>(id).await?;
        conn.exec(ConnectionCommand::Delete { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(conn)?;
        c.side_write("DELETE FROM connection_secrets WHERE connection_id = $1", vec![SqlArg::Text(id.into())]);
        Ok(c)
    })?;
    Ok(())
}

/// The service-provider metadata of the SAML connection `id` (any project's: metadata
/// is public), or `404`.
pub async fn saml_sp_metadata(st: &AppState, id: &str) -> ApiResult<String> {
    let found: Option<String> = sqlx::query_scalar("SELECT protocol FROM connections WHERE id = $1")
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?;
    if found.as_deref() != Some("saml") {
        return Err(ApiError::not_found());
    }
    let (entity_id, acs_url) = saml_sp(st, id);
    Ok(authio_saml::sp_metadata(authio_saml::Sp { entity_id: &entity_id, acs_url: &acs_url }))
}

/// The connection's client secret, opened.
pub async fn client_secret(st: &AppState, id: &str) -> ApiResult<String> {
    let sealer = sealer(st)?;
    let sealed: Option<String> =
        sqlx::query_scalar("SELECT sealed_secret FROM connection_secrets WHERE connection_id = $1")
            .bind(id)
            .fetch_optional(&st.db.pool)
            .await?;
    let open = sealed.and_then(|s| sealer.open(&format!("connection:{id}"), &s));
    let plain = open.ok_or_else(|| ApiError {
        message: format!("the client secret of {id} does not open with AUTHIO_SECRET_KEY"),
        ..ApiError::internal()
    })?;
    String::from_utf8(plain).map_err(|_| ApiError::internal())
}
