//! Where sign-in links may send a user: each project's allowed redirect URLs.
//!
//! The rule: an entry that is an origin (`scheme://host[:port]`, no path) allows every
//! URL of that origin; any other entry allows exactly that URL (path and query alike).
//! A project's `test` keys also allow `http://localhost:*` and `http://127.0.0.1:*`
//! (any port, any path); its `live` keys allow nothing until registered. A URL with a
//! user name or password, or a fragment, is never allowed.
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::tenant::{Tenant, TenantCommand};
use authio_eventstore::{Changes, Metadata};
use axum::http::StatusCode;
use chrono::Utc;
use url::Url;

/// A URL that may be a redirect target at all: absolute `http(s)`, with a host, no
/// credentials or fragment, at most 2,048 bytes.
fn parse(input: &str) -> Option<Url> {
    if input.len() > 2048 || input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let url = Url::parse(input).ok()?;
    let ok = matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none();
    ok.then_some(url)
}

/// `input` parsed, and its origin when it names nothing but the origin (no path but `/`,
/// no query, not even an empty one).
fn parse_with_origin(input: &str) -> Option<(Url, Option<String>)> {
    let input = input.trim();
    let url = parse(input)?;
    let bare = url.path() == "/" && url.query().is_none() && !input.contains('?');
    let origin = bare.then(|| url.origin().ascii_serialization());
    Some((url, origin))
}

/// Plain `http` on `localhost` or `127.0.0.1` (any port): what `test` keys allow.
fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host_str(), Some("localhost" | "127.0.0.1"))
}

/// An entry as stored: an origin (given without a path, or with just `/`) as
/// `scheme://host[:port]`, anything else as the normalized URL. `None` when it is no
/// acceptable redirect URL.
pub fn normalize(input: &str) -> Option<String> {
    let (url, origin) = parse_with_origin(input)?;
    Some(origin.unwrap_or_else(|| url.as_str().to_string()))
}

/// Whether `candidate` is allowed by `registered` (entries as `normalize` stores them),
/// with the `test` environment's loopback defaults when `test`.
pub fn allowed(registered: &[String], test: bool, candidate: &str) -> bool {
    let Some(url) = parse(candidate) else { return false };
    if test && is_loopback(&url) {
        return true;
    }
    let origin = url.origin().ascii_serialization();
    registered.iter().any(|entry| *entry == origin || entry == url.as_str())
}

/// A page of Authio's own hosted pages (`<issuer>/hosted/…`): a sign-in link that comes
/// back to them is allowed for every project (they hand the session on only to the
/// project's allowed URLs).
pub fn is_hosted_page(issuer: &str, candidate: &str) -> bool {
    let (Some(url), Ok(own)) = (parse(candidate), Url::parse(issuer)) else { return false };
    url.origin() == own.origin() && url.path().starts_with("/hosted/")
}

/// One of a project's URL lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// Where sign-in links may point (`normalize`).
    RedirectUrls,
    /// Browser origins allowed on the end-user routes (`normalize_origin`).
    AllowedOrigins,
}

impl List {
    /// Its read-model column, and the field that names it in requests and errors.
    pub fn column(self) -> &'static str {
        match self {
            List::RedirectUrls => "redirect_urls",
            List::AllowedOrigins => "allowed_origins",
        }
    }
    fn normalize(self, input: &str) -> Option<String> {
        match self {
            List::RedirectUrls => normalize(input),
            List::AllowedOrigins => normalize_origin(input),
        }
    }
    pub fn command(self, urls: Vec<String>) -> TenantCommand {
        match self {
            List::RedirectUrls => TenantCommand::SetRedirectUrls { urls, at: Utc::now() },
            List::AllowedOrigins => TenantCommand::SetAllowedOrigins { origins: urls, at: Utc::now() },
        }
    }
    /// The list as the tenant's state holds it.
    pub fn of(self, t: &Tenant) -> &[String] {
        match self {
            List::RedirectUrls => &t.redirect_urls,
            List::AllowedOrigins => &t.allowed_origins,
        }
    }
}

/// An origin as browsers send it in `Origin`: `scheme://host[:port]` (lowercase host,
/// default port left out), from an `http(s)` URL without path (or just `/`), query,
/// fragment or credentials.
pub fn normalize_origin(input: &str) -> Option<String> {
    parse_with_origin(input)?.1
}

/// Whether `origin` (an `Origin` header) is a loopback origin over plain http, which a
/// project's `test` keys allow without registering it.
pub fn is_loopback_origin(origin: &str) -> bool {
    parse(origin).is_some_and(|u| is_loopback(&u))
}

/// One of the project's lists, from the read model.
pub async fn list(st: &AppState, project: &str, which: List) -> ApiResult<Vec<String>> {
    let sql = format!("SELECT {} FROM tenants WHERE id = $1", which.column());
    let json: Option<String> = sqlx::query_scalar(&sql).bind(project).fetch_optional(&st.db.pool).await?;
    Ok(parse_list(json.as_deref()))
}

/// A list as the read model stores it (a JSON array of strings); none when absent.
pub fn parse_list(json: Option<&str>) -> Vec<String> {
    json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default()
}

/// A `redirect_url` as given: an absolute http(s) URL of at most 2,048 printable
/// characters, else `400 invalid_request` naming the field.
pub fn check_form(url: &str) -> ApiResult<()> {
    let bad = !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2048
        || url.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(ApiError::invalid_field("redirect_url", "redirect_url must be an absolute http(s) URL"))
    } else {
        Ok(())
    }
}

/// A link in mail (magic link, invitation): the project's allowed URLs (`check`) or
/// Authio's own hosted pages, which hand the session on only to an allowed URL.
pub async fn check_link(st: &AppState, project: &str, environment: &str, url: &str) -> ApiResult<()> {
    if is_hosted_page(&st.keys.issuer, url) {
        return Ok(());
    }
    check(st, project, environment, url).await
}

/// The hosted pages' SSO return page (`<issuer>/hosted/sso`, any query): where an SSO
/// sign-in started by the hosted pages themselves (an OAuth authorization, an
/// invitation, the org-admin page) comes back with its handoff code. The page redeems
/// the code only with the PKCE verifier it kept in the browser tab that started the
/// sign-in, so a code sent there by a sign-in someone else started is never redeemed.
pub fn is_hosted_sso_return(issuer: &str, candidate: &str) -> bool {
    is_hosted_page(issuer, candidate)
        && parse(candidate).is_some_and(|u| matches!(u.path(), "/hosted/sso" | "/hosted/sso/"))
}

/// Where `/v1/auth/sso/start` may send its handoff code: the project's allowed URLs
/// (`check`), or the hosted pages' SSO return page (`is_hosted_sso_return`).
pub async fn check_sso_return(st: &AppState, project: &str, environment: &str, url: &str) -> ApiResult<()> {
    if is_hosted_sso_return(&st.keys.issuer, url) {
        return Ok(());
    }
    check(st, project, environment, url).await
}

/// `400 redirect_not_allowed` unless the project allows `url` for a key of `environment`
/// (its registered URLs; loopback too for `test`). Where a session is handed over this is
/// the rule, with no exception for Authio's own pages but the SSO return page's
/// (`check_sso_return`), which only a verifier the page holds itself can redeem.
pub async fn check(st: &AppState, project: &str, environment: &str, url: &str) -> ApiResult<()> {
    if allowed(&list(st, project, List::RedirectUrls).await?, environment == "test", url) {
        return Ok(());
    }
    let e = ApiError::new(
        StatusCode::BAD_REQUEST,
        "redirect_not_allowed",
        "redirect_url is not among the project's allowed redirect URLs",
    )
    .with_field("redirect_url");
    Err(e)
}

/// Replace the project's allowed redirect URLs with `urls` (each normalized; `400
/// invalid_request` naming `redirect_urls` for one that is not acceptable, a duplicate,
/// or more than 100). Records `tenant.redirect_urls_changed` when the list changes.
/// Returns the list as stored.
pub async fn set(
    st: &AppState,
    project: &str,
    which: List,
    urls: &[String],
    meta: &Metadata,
) -> ApiResult<Vec<String>> {
    let normalized = normalize_all(which, urls)?;
    let list = normalized.clone();
    crate::execute!(st, meta, {
        let mut t = st.db.load::<Tenant>(project).await?;
        t.exec(which.command(list.clone())).await?;
        let mut c = Changes::new();
        c.add(t)?;
        Ok(c)
    })?;
    Ok(normalized)
}

/// Every entry normalized, or `400 invalid_request` naming the list's field.
pub fn normalize_all(which: List, urls: &[String]) -> ApiResult<Vec<String>> {
    let bad = |m: &str| ApiError::invalid_field(which.column(), m.to_string());
    if urls.len() > authio_domain::tenant::MAX_REDIRECT_URLS {
        return Err(bad("at most 100 entries"));
    }
    let mut out: Vec<String> = Vec::with_capacity(urls.len());
    for u in urls {
        let n = which.normalize(u).ok_or_else(|| match which {
            List::RedirectUrls => {
                bad("each redirect URL must be an absolute http(s) URL with a host, without credentials or fragment")
            }
            List::AllowedOrigins => bad("each origin must be scheme://host[:port] (http or https), with no path"),
        })?;
        if out.contains(&n) {
            return Err(bad("an entry is listed twice"));
        }
        out.push(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_hosted_pages_are_allowed_for_every_project() {
        let issuer = "https://auth.example.com";
        assert!(is_hosted_page(issuer, "https://auth.example.com/hosted/magic-link?pk=pk_live_x"));
        assert!(!is_hosted_page(issuer, "https://auth.example.com/dashboard/"));
        assert!(!is_hosted_page(issuer, "https://auth.example.com/hosted/../v1/me"));
        assert!(!is_hosted_page(issuer, "https://evil.example.com/hosted/x"));
        assert!(!is_hosted_page(issuer, "http://auth.example.com/hosted/x"));
        assert!(!is_hosted_page(issuer, "https://user@auth.example.com/hosted/x"));
    }

    #[test]
    fn only_the_hosted_sso_return_page_takes_an_sso_code() {
        let issuer = "https://auth.example.com";
        assert!(is_hosted_sso_return(issuer, "https://auth.example.com/hosted/sso?pk=pk_live_x&authorization=a.b"));
        assert!(is_hosted_sso_return(issuer, "https://auth.example.com/hosted/sso/"));
        assert!(!is_hosted_sso_return(issuer, "https://auth.example.com/hosted/sign-in?pk=pk_live_x"));
        assert!(!is_hosted_sso_return(issuer, "https://auth.example.com/hosted/sso/x"));
        assert!(!is_hosted_sso_return(issuer, "https://auth.example.com/hosted/ssox"));
        assert!(!is_hosted_sso_return(issuer, "https://evil.example.com/hosted/sso"));
        assert!(!is_hosted_sso_return(issuer, "https://auth.example.com/hosted/sso#x"));
    }

    #[test]
    fn origins_allow_any_path_exact_urls_only_themselves() {
        let reg: Vec<String> = ["https://app.example.com/", "https://example.com/auth/cb?x=1"]
            .iter()
            .map(|u| normalize(u).unwrap())
            .collect();
        assert_eq!(reg, ["https://app.example.com", "https://example.com/auth/cb?x=1"]);
        assert!(allowed(&reg, false, "https://app.example.com/any/path?q=1"));
        assert!(allowed(&reg, false, "https://APP.example.com/x"), "host case does not matter");
        assert!(allowed(&reg, false, "https://example.com/auth/cb?x=1"));
        for refused in [
            "https://example.com/auth/cb",
            "https://example.com/auth/cb?x=2",
            "https://example.com/",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "https://app.example.com.evil.test/",
            "https://evil.test/?https://app.example.com",
            "https://user@app.example.com/",
            "https://app.example.com/#frag",
            "javascript:alert(1)",
            "//app.example.com/",
            "http://localhost:3000/cb",
        ] {
            assert!(!allowed(&reg, false, refused), "{refused}");
        }
    }

    #[test]
    fn test_environments_allow_loopback_by_default() {
        assert!(allowed(&[], true, "http://localhost:3000/cb"));
        assert!(allowed(&[], true, "http://127.0.0.1:5173/"));
        assert!(allowed(&[], true, "http://localhost/"));
        assert!(!allowed(&[], false, "http://localhost:3000/cb"), "live: nothing until registered");
        assert!(!allowed(&[], true, "https://localhost.evil.test/"));
        assert!(!allowed(&[], true, "http://127.0.0.2/"));
        assert!(!allowed(&[], true, "http://user:pw@localhost/"));
    }

    #[test]
    fn entries_are_checked_and_normalized() {
        assert!(normalize("ftp://example.com").is_none());
        assert!(normalize("https://").is_none());
        assert!(normalize("not a url").is_none());
        assert!(normalize("https://a.example/#x").is_none());
        assert_eq!(normalize("https://A.Example:443").as_deref(), Some("https://a.example"));
        assert_eq!(normalize("http://localhost:3000/cb").as_deref(), Some("http://localhost:3000/cb"));
        assert!(normalize_all(List::RedirectUrls, &["https://a.example".into(), "https://a.example/".into()]).is_err());
        assert_eq!(normalize_origin("https://App.Example:443/").as_deref(), Some("https://app.example"));
        assert_eq!(normalize_origin("http://localhost:3000").as_deref(), Some("http://localhost:3000"));
        assert!(normalize_origin("https://app.example/path").is_none());
        assert!(normalize_origin("https://app.example?x=1").is_none());
        assert!(is_loopback_origin("http://localhost:5173") && !is_loopback_origin("https://localhost:5173"));
    }
}
