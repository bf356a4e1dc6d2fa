//! OAuth clients of a project (the applications its OpenID Connect provider serves):
//! register, list, read, change, rotate the secret, delete. The rules live in
//! `authio_domain::oauth_client`; this is load, decide, commit. A confidential client's
//! secret is shown at registration and rotation only and kept as its SHA-256 in
//! `oauth_client_secrets`, written in the same commit.
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::views::{self, Page};
use crate::AppState;
use authio_domain::ids::TenantId;
use authio_domain::oauth_client::{ClientType, OAuthClient, OAuthClientCommand};
use authio_eventstore::{time_text, Changes, Loaded, Metadata, SqlArg};
use chrono::Utc;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use url::Url;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema, PartialEq)]
pub struct OAuthClientView {
    /// `oc_…`: the `client_id`.
    pub id: String,
    pub name: String,
    /// `confidential` (a secret; `client_secret_basic` or `client_secret_post`) or
    /// `public` (no secret; PKCE S256 required).
    pub client_type: String,
    /// Matched exactly, character for character.
    pub redirect_uris: Vec<String>,
    /// What the client may ask for; always includes `openid`.
    pub scopes: Vec<String>,
    /// Where the client takes back-channel logout notices (OpenID Connect Back-Channel
    /// Logout 1.0), if anywhere.
    pub backchannel_logout_uri: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// What a change asks for (`None`: unchanged).
#[derive(Debug, Default)]
pub struct Change {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// `Some("")` clears it.
    pub backchannel_logout_uri: Option<String>,
}

const COLS: &str = "id, name, client_type, redirect_uris, scopes, created_at, updated_at, backchannel_logout_uri";

fn view_of(r: &AnyRow) -> Result<OAuthClientView, sqlx::Error> {
    let list = |i: usize| -> Result<Vec<String>, sqlx::Error> {
        Ok(serde_json::from_str(&r.try_get::<String, _>(i)?).unwrap_or_default())
    };
    Ok(OAuthClientView {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        client_type: r.try_get(2)?,
        redirect_uris: list(3)?,
        scopes: list(4)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
        backchannel_logout_uri: r.try_get(7)?,
    })
}

/// The scopes a client gets when registration names none.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "email", "profile", "offline_access", "organization"];

/// A redirect URI a client may register (RFC 9700 §2.1, RFC 8252 §7): at most 2,048
/// characters, absolute, no fragment, no user name or password; `https`, or `http` on a
/// loopback host (`localhost`, `127.0.0.1`, `[::1]`), or a native app's private-use
/// scheme (reverse domain: it contains a dot, e.g. `com.example.app:/callback`).
pub fn valid_redirect_uri(input: &str) -> bool {
    if input.len() > 2048 || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Ok(url) = Url::parse(input) else { return false };
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    match url.scheme() {
        "https" => url.host_str().is_some_and(|h| !h.is_empty()),
        "http" => matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")),
        other => other.contains('.') && url.host_str().is_none_or(str::is_empty),
    }
}

/// A back-channel logout URI: `https`, or `http` on a loopback host (as a redirect URI,
/// without private-use schemes: Authio POSTs to it). `""` clears, so `None` then.
fn check_logout_uri(uri: Option<String>) -> ApiResult<Option<String>> {
    match uri {
        None => Ok(None),
        Some(u) if u.is_empty() => Ok(None),
        Some(u) if valid_redirect_uri(&u) && (u.starts_with("https://") || u.starts_with("http://")) => Ok(Some(u)),
        Some(_) => Err(ApiError::invalid_field(
            "backchannel_logout_uri",
            "backchannel_logout_uri must be an https URL (or http on localhost, 127.0.0.1 or [::1]) without a fragment",
        )),
    }
}

/// Each URI's form (`valid_redirect_uri`); how many and whether distinct is the
/// aggregate's rule.
fn check_redirect_uris(uris: &[String]) -> ApiResult<()> {
    if !uris.iter().all(|u| valid_redirect_uri(u)) {
        return Err(ApiError::invalid_field(
            "redirect_uris",
            "redirect_uris must be absolute URIs without a fragment: https, http on localhost, 127.0.0.1 or \
             [::1], or a private-use scheme such as com.example.app:/callback",
        ));
    }
    Ok(())
}

fn domain(e: authio_domain::oauth_client::OAuthClientError) -> ApiError {
    use authio_domain::oauth_client::OAuthClientError as E;
    match e {
        E::InvalidName => ApiError::invalid_field("name", e.to_string()),
        E::InvalidRedirectUris => ApiError::invalid_field("redirect_uris", e.to_string()),
        E::InvalidScopes => ApiError::invalid_field("scopes", e.to_string()),
        E::PublicClientHasNoSecret => ApiError::invalid_field("client_type", e.to_string()),
        other => other.into(),
    }
}

/// The project's live client `id`, as its stream has it; 404 for another project's.
async fn load(st: &AppState, project: &str, id: &str) -> ApiResult<Loaded<OAuthClient>> {
    let c = st.db.load::<OAuthClient>(id).await?;
    let mine = c.state.project_id.as_ref().map(TenantId::as_str) == Some(project);
    if c.state.registered && !c.state.deleted && mine {
        Ok(c)
    } else {
        Err(ApiError::not_found())
    }
}

fn secret_row(id: &str, project: &str, secret: &str) -> Vec<SqlArg> {
    vec![
        SqlArg::Text(id.into()),
        SqlArg::Text(project.into()),
        SqlArg::Text(hash_secret(secret)),
        SqlArg::Text(time_text(Utc::now())),
    ]
}

/// What a registration asks for.
pub struct NewClient {
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    pub redirect_uris: Vec<String>,
    /// `None`: `DEFAULT_SCOPES`.
    pub scopes: Option<Vec<String>>,
    pub backchannel_logout_uri: Option<String>,
}

/// Register a client; its view and, for a confidential one, the secret (shown once).
pub async fn register(
    st: &AppState,
    project: &str,
    new: NewClient,
    meta: &Metadata,
) -> ApiResult<(OAuthClientView, Option<String>)> {
    let NewClient { name, client_type, redirect_uris, scopes, backchannel_logout_uri } = new;
    let (name, client_type) = (name.as_str(), client_type.as_str());
    let backchannel_logout_uri = check_logout_uri(backchannel_logout_uri)?;
    let kind = ClientType::parse(client_type)
        .ok_or_else(|| ApiError::invalid_field("client_type", "client_type must be `confidential` or `public`"))?;
    check_redirect_uris(&redirect_uris)?;
    let scopes = scopes.unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
    let id = new_id("oc_");
    let secret = (kind == ClientType::Confidential).then(|| new_secret("ocs_"));
    let at = Utc::now();
    crate::execute!(st, meta, {
        let mut c = Loaded::<OAuthClient>::fresh(&id);
        c.exec(OAuthClientCommand::Register {
            client_id: id.clone(),
            project_id: TenantId::new(project),
            name: name.to_string(),
            client_type: kind,
            redirect_uris: redirect_uris.clone(),
            scopes: scopes.clone(),
            at,
        })
        .await
        .map_err(domain)?;
        if backchannel_logout_uri.is_some() {
            let uri = backchannel_logout_uri.clone();
            c.exec(OAuthClientCommand::SetBackchannelLogout { uri, at }).await.map_err(domain)?;
        }
        let mut changes = Changes::new();
        changes.add(c)?;
        if let Some(s) = &secret {
            changes.side_write(
                "INSERT INTO oauth_client_secrets (client_id, project_id, secret_hash, updated_at) \
                 VALUES ($1, $2, $3, $4)",
                secret_row(&id, project, s),
            );
        }
        Ok(changes)
    })?;
    let view = OAuthClientView {
        id,
        name: name.trim().to_string(),
        client_type: kind.as_str().into(),
        redirect_uris,
        scopes,
        created_at: time_text(at),
        updated_at: time_text(at),
        backchannel_logout_uri,
    };
    Ok((view, secret))
}

/// The project's clients, a page at a time (by id).
pub async fn list(st: &AppState, project: &str, page: &Page) -> ApiResult<(Vec<OAuthClientView>, Option<String>)> {
    views::page_where(&st.db, COLS, "oauth_clients", ("project_id", project), page, view_of, |v| v.id.clone()).await
}

/// One client of the project (404 for another project's).
pub async fn get(st: &AppState, project: &str, id: &str) -> ApiResult<OAuthClientView> {
    views::one(&st.db, COLS, "oauth_clients", id, project, view_of).await
}

/// Change a client's name, redirect URIs or scopes; the client as it is now.
pub async fn update(
    st: &AppState,
    project: &str,
    id: &str,
    change: Change,
    meta: &Metadata,
) -> ApiResult<OAuthClientView> {
    if let Some(uris) = &change.redirect_uris {
        check_redirect_uris(uris)?;
    }
    let logout = match change.backchannel_logout_uri.clone() {
        Some(u) => Some(check_logout_uri(Some(u))?),
        None => None,
    };
    crate::execute!(st, meta, {
        let mut c = load(st, project, id).await?;
        c.exec(OAuthClientCommand::Update {
            name: change.name.clone(),
            redirect_uris: change.redirect_uris.clone(),
            scopes: change.scopes.clone(),
            at: Utc::now(),
        })
        .await
        .map_err(domain)?;
        if let Some(uri) = &logout {
            c.exec(OAuthClientCommand::SetBackchannelLogout { uri: uri.clone(), at: Utc::now() })
                .await
                .map_err(domain)?;
        }
        let mut changes = Changes::new();
        changes.add(c)?;
        Ok(changes)
    })?;
    get(st, project, id).await
}

/// A new secret for a confidential client (shown once); the old one stops at once.
pub async fn rotate_secret(st: &AppState, project: &str, id: &str, meta: &Metadata) -> ApiResult<String> {
    let secret = new_secret("ocs_");
    crate::execute!(st, meta, {
        let mut c = load(st, project, id).await?;
        c.exec(OAuthClientCommand::RotateSecret { at: Utc::now() }).await.map_err(domain)?;
        let mut changes = Changes::new();
        changes.add(c)?;
        changes.side_write(
            "UPDATE oauth_client_secrets SET secret_hash = $3, updated_at = $4 WHERE client_id = $1 AND project_id = $2",
            secret_row(id, project, &secret),
        );
        Ok(changes)
    })?;
    Ok(secret)
}

/// Delete a client: its secret goes with it, and it can sign nobody in again.
pub async fn delete(st: &AppState, project: &str, id: &str, meta: &Metadata) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut c = load(st, project, id).await?;
        c.exec(OAuthClientCommand::Delete { at: Utc::now() }).await.map_err(domain)?;
        let mut changes = Changes::new();
        changes.add(c)?;
        changes.side_write("DELETE FROM oauth_client_secrets WHERE client_id = $1", vec![SqlArg::Text(id.into())]);
        Ok(changes)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_redirect_uri;

    #[test]
    fn redirect_uris_follow_rfc_9700_and_8252() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?x=1",
            "http://localhost:3000/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(valid_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "/relative",
            "javascript:alert(1)",
            "myapp:/cb",
            "https:// space.example.com",
            "",
        ] {
            assert!(!valid_redirect_uri(bad), "{bad}");
        }
    }
}
