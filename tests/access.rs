//! The authorization matrix: every documented route × every kind of caller, with the
//! expected status for each. Rows are generated from the route table below, and the
//! table must cover exactly the routes of the OpenAPI document, so a new route without
//! rows fails this test.
mod common;

use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    ExpiredToken,
    OtherProjectToken,
    Member,
    OrgAdminHere,
    OrgAdminOther,
    FormerMember,
    SecretKeyHere,
    SecretKeyOther,
    ConsoleHere,
    ConsoleOther,
}

const CALLERS: [Caller; 11] = [
    Caller::Anonymous,
    Caller::ExpiredToken,
    Caller::OtherProjectToken,
    Caller::Member,
    Caller::OrgAdminHere,
    Caller::OrgAdminOther,
    Caller::FormerMember,
    Caller::SecretKeyHere,
    Caller::SecretKeyOther,
    Caller::ConsoleHere,
    Caller::ConsoleOther,
];

impl Caller {
    /// A genuine access token whose session is active and whose context is open. Not
    /// `FormerMember`'s: the deactivation of the membership cut its context, so its token
    /// is refused everywhere (401), switching included.
    fn valid_user_token(self) -> bool {
        matches!(self, Caller::OtherProjectToken | Caller::Member | Caller::OrgAdminHere | Caller::OrgAdminOther)
    }
}

/// Who may use a route, and how strangers are answered.
#[derive(Clone, Copy, Debug)]
enum Class {
    /// Anyone; the answer does not depend on the caller.
    Open(u16),
    /// Console session of the tenant's owner. `scoped`: another owner gets 404
    /// (otherwise it acts on its own tenant and succeeds).
    Console { ok: u16, scoped: bool },
    /// The project's secret key. `scoped` as above; user tokens get 403 secret_key_required.
    Secret { ok: u16, scoped: bool },
    /// The secret key, or an org admin acting in their active organization.
    Manager(u16),
    /// Org admins of that organization only.
    OrgAdmin(u16),
    /// Any signed-in user, about themselves.
    SignedIn(u16),
    /// Switching into the target organization: needs an active membership there.
    SwitchIntoTarget,
    /// The caller's own context in the target organization: those in it succeed, the
    /// signed-in elsewhere get 404.
    OwnContext(u16),
    /// The project's frontend (publishable key): no caller here carries one.
    Frontend,
    /// A signed-in user of the target's project (the hosted pages granting an OAuth
    /// request); another project's user is refused as unauthenticated.
    ProjectUser(u16),
}

struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    class: Class,
    /// A success changes state that a second success could not repeat: each successful
    /// caller gets a fresh world.
    destructive: bool,
    /// Deactivate the target membership first (to reactivate it).
    target_inactive: bool,
}

fn routes() -> Vec<Route> {
    use Class::*;
    let r = |method: Method, path: &'static str, body: Option<Value>, class: Class, destructive: bool| Route {
        method,
        path,
        body,
        class,
        destructive,
        target_inactive: false,
    };
    let g = Method::GET;
    let p = Method::POST;
    let pa = Method::PATCH;
    let d = Method::DELETE;
    vec![
        r(g.clone(), "/healthz", None, Open(200), false),
        r(g.clone(), "/readyz", None, Open(200), false),
        r(g.clone(), "/openapi.json", None, Open(200), false),
        r(g.clone(), "/metrics", None, Open(200), false),
        r(g.clone(), "/.well-known/jwks.json", None, Open(200), false),
        r(g.clone(), "/.well-known/openid-configuration", None, Open(200), false),
        r(p.clone(), "/v1/session/sign-in", Some(json!({"email": "{caller}@example.com"})), Open(202), false),
        r(p.clone(), "/v1/session/sign-in/verify", Some(json!({"token": "csl_bogus"})), Open(401), false),
        r(p.clone(), "/v1/session/tenants", Some(json!({"name": "New"})), Console { ok: 201, scoped: false }, false),
        r(g.clone(), "/v1/session/tenants/me", None, Console { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/session/tenants/{tenant}", None, Console { ok: 200, scoped: true }, false),
        r(
            pa.clone(),
            "/v1/session/tenants/{tenant}",
            Some(json!({"name": "Renamed"})),
            Console { ok: 200, scoped: true },
            false,
        ),
        r(p.clone(), "/v1/session/tenants/{tenant}/select", None, Console { ok: 200, scoped: true }, false),
        r(g.clone(), "/v1/session/home", None, Console { ok: 200, scoped: false }, false),
        r(p.clone(), "/v1/session/sign-out", None, Console { ok: 204, scoped: false }, true),
        r(
            p.clone(),
            "/v1/session/tenants/{tenant}/api-keys",
            Some(json!({"name": "k", "environment": "live"})),
            Console { ok: 201, scoped: true },
            false,
        ),
        r(g.clone(), "/v1/session/tenants/{tenant}/api-keys", None, Console { ok: 200, scoped: true }, false),
        r(d.clone(), "/v1/session/tenants/{tenant}/api-keys/{key}", None, Console { ok: 204, scoped: true }, true),
        r(p.clone(), "/v1/users", Some(json!({"email": "new@example.com"})), Secret { ok: 201, scoped: false }, false),
        r(g.clone(), "/v1/users", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/users/{user}", None, Secret { ok: 200, scoped: true }, false),
        r(pa.clone(), "/v1/users/{user}", Some(json!({"first_name": "Z"})), Secret { ok: 200, scoped: true }, false),
        r(d.clone(), "/v1/users/{user}", None, Secret { ok: 204, scoped: true }, true),
        r(g.clone(), "/v1/users/{user}/memberships", None, Secret { ok: 200, scoped: true }, false),
        r(p.clone(), "/v1/organizations", Some(json!({"name": "New Org"})), Secret { ok: 201, scoped: false }, false),
        r(g.clone(), "/v1/organizations", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/organizations/{org}", None, Secret { ok: 200, scoped: true }, false),
        r(pa.clone(), "/v1/organizations/{org}", Some(json!({"name": "Q"})), Secret { ok: 200, scoped: true }, false),
        r(d.clone(), "/v1/organizations/{org}", None, Secret { ok: 204, scoped: true }, true),
        r(g.clone(), "/v1/organizations/{org}/members", None, OrgAdmin(200), false),
        r(
            p.clone(),
            "/v1/memberships",
            Some(json!({"user_id": "{loner}", "organization_id": "{org}"})),
            Secret { ok: 201, scoped: true },
            true,
        ),
        r(g.clone(), "/v1/memberships", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/memberships/{mem}", None, Secret { ok: 200, scoped: true }, false),
        r(pa.clone(), "/v1/memberships/{mem}", Some(json!({"role": "admin"})), Manager(200), true),
        r(d.clone(), "/v1/memberships/{mem}", None, Manager(204), true),
        r(p.clone(), "/v1/memberships/{mem}/deactivate", None, Manager(200), true),
        Route { target_inactive: true, ..r(p.clone(), "/v1/memberships/{mem}/reactivate", None, Manager(200), true) },
        r(p.clone(), "/v1/sign-in-tokens", Some(json!({"user_id": "{user}"})), Secret { ok: 201, scoped: true }, false),
        r(
            p.clone(),
            "/v1/tokens/introspect",
            Some(json!({"token": "x.y.z"})),
            Secret { ok: 200, scoped: false },
            false,
        ),
        r(p.clone(), "/v1/auth/magic-links", Some(json!({"email": "a@example.com"})), Frontend, false),
        r(p.clone(), "/v1/auth/magic-links/verify", Some(json!({"token": "ml_bogus"})), Frontend, false),
        r(p.clone(), "/v1/auth/sign-in-tokens/verify", Some(json!({"token": "st_bogus"})), Frontend, false),
        r(g.clone(), "/v1/auth/project", None, Frontend, false),
        r(
            p.clone(),
            "/v1/oauth-clients",
            Some(json!({"name": "Web", "client_type": "public", "redirect_uris": ["https://app.example.com/cb"]})),
            Secret { ok: 201, scoped: false },
            false,
        ),
        r(g.clone(), "/v1/oauth-clients", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/oauth-clients/{oauth_client}", None, Secret { ok: 200, scoped: true }, false),
        r(
            pa.clone(),
            "/v1/oauth-clients/{oauth_client}",
            Some(json!({"name": "Renamed"})),
            Secret { ok: 200, scoped: true },
            false,
        ),
        r(p.clone(), "/v1/oauth-clients/{oauth_client}/rotate-secret", None, Secret { ok: 200, scoped: true }, false),
        r(d.clone(), "/v1/oauth-clients/{oauth_client}", None, Secret { ok: 204, scoped: true }, true),
        r(g.clone(), "/oauth2/authorize", None, Open(400), false),
        r(p.clone(), "/oauth2/token", None, Open(400), false),
        r(g.clone(), "/oauth2/userinfo", None, SignedIn(200), false),
        r(p.clone(), "/oauth2/revoke", None, Open(400), false),
        r(p.clone(), "/oauth2/introspect", None, Open(400), false),
        r(g.clone(), "/oauth2/logout", None, Open(400), false),
        r(g.clone(), "/v1/oauth2/requests/{oauth_request}", None, Open(200), false),
        r(p.clone(), "/v1/oauth2/authorizations", Some(json!({"request": "{oauth_request}"})), ProjectUser(200), false),
        r(p.clone(), "/v1/oauth2/authorizations/deny", Some(json!({"request": "{oauth_request}"})), Open(200), false),
        r(
            p.clone(),
            "/v1/auth/handoffs",
            Some(
                json!({"redirect_url": "http://localhost:3000/cb", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"}),
            ),
            Frontend,
            false,
        ),
        r(
            p.clone(),
            "/v1/auth/handoffs/exchange",
            Some(json!({"code": "hc_bogus", "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"})),
            Frontend,
            false,
        ),
        r(p.clone(), "/v1/auth/passkeys/registration/start", None, SignedIn(200), false),
        // A bogus ceremony with an empty credential: a clear 400 once the caller is known.
        r(
            p.clone(),
            "/v1/auth/passkeys/registration/finish",
            Some(json!({"ceremony_id": "pkc_bogus", "credential": {}})),
            SignedIn(400),
            false,
        ),
        r(p.clone(), "/v1/auth/passkeys/authentication/start", Some(json!({})), Frontend, false),
        r(
            p.clone(),
            "/v1/auth/passkeys/authentication/finish",
            Some(json!({"ceremony_id": "pkc_bogus", "credential": {}})),
            Frontend,
            false,
        ),
        r(p.clone(), "/v1/sessions/switch-org", Some(json!({"organization_id": "{org}"})), SwitchIntoTarget, true),
        r(p.clone(), "/v1/sessions/refresh", Some(json!({"refresh_token": "rt_bogus"})), Open(401), false),
        r(p.clone(), "/v1/sessions/revoke", None, SignedIn(204), true),
        r(g.clone(), "/v1/me", None, SignedIn(200), false),
        r(g.clone(), "/v1/sessions/current", None, SignedIn(200), false),
        r(p.clone(), "/v1/sessions/contexts/{ctxorg}/revoke", None, OwnContext(204), true),
        r(g.clone(), "/v1/organizations/{org}/sessions", None, Manager(200), false),
        r(p.clone(), "/v1/organizations/{org}/sessions/{session}/revoke", None, Manager(204), true),
        r(g.clone(), "/v1/events", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/redirect-urls", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/allowed-origins", None, Secret { ok: 200, scoped: false }, false),
        r(
            Method::PUT,
            "/v1/allowed-origins",
            Some(json!({"allowed_origins": ["https://app.example.com"]})),
            Secret { ok: 200, scoped: false },
            false,
        ),
        r(
            Method::PUT,
            "/v1/redirect-urls",
            Some(json!({"redirect_urls": ["https://app.example.com"]})),
            Secret { ok: 200, scoped: false },
            false,
        ),
        r(g.clone(), "/v1/audit-events", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/organizations/{org}/audit-events", None, OrgAdmin(200), false),
        r(
            p.clone(),
            "/v1/webhook-endpoints",
            Some(json!({"url": "https://hooks.example.invalid/new", "events": ["membership.*"]})),
            Secret { ok: 201, scoped: false },
            false,
        ),
        r(g.clone(), "/v1/webhook-endpoints", None, Secret { ok: 200, scoped: false }, false),
        r(g.clone(), "/v1/webhook-endpoints/{whep}", None, Secret { ok: 200, scoped: true }, false),
        r(
            pa.clone(),
            "/v1/webhook-endpoints/{whep}",
            Some(json!({"events": ["*"]})),
            Secret { ok: 200, scoped: true },
            false,
        ),
        r(d.clone(), "/v1/webhook-endpoints/{whep}", None, Secret { ok: 204, scoped: true }, true),
        r(p.clone(), "/v1/webhook-endpoints/{whep}/rotate-secret", None, Secret { ok: 200, scoped: true }, false),
        r(g.clone(), "/v1/webhook-endpoints/{whep}/deliveries", None, Secret { ok: 200, scoped: true }, false),
        r(
            p.clone(),
            "/v1/webhook-endpoints/{whep}/deliveries/{delivery}/retry",
            None,
            Secret { ok: 200, scoped: true },
            false,
        ),
        r(g.clone(), "/v1/settings", None, Secret { ok: 200, scoped: false }, false),
        r(pa.clone(), "/v1/settings", Some(json!({"teams_in_tokens": true})), Secret { ok: 200, scoped: false }, false),
        r(p.clone(), "/v1/permissions", Some(json!({"slug": "p-{caller}"})), Secret { ok: 201, scoped: false }, false),
        r(g.clone(), "/v1/permissions", None, Secret { ok: 200, scoped: false }, false),
        r(d.clone(), "/v1/permissions/{perm}", None, Secret { ok: 204, scoped: true }, true),
        r(
            p.clone(),
            "/v1/roles",
            Some(json!({"slug": "r-{caller}", "name": "R", "organization_id": "{org}"})),
            Manager(201),
            false,
        ),
        r(g.clone(), "/v1/roles?organization_id={org}", None, Manager(200), false),
        r(g.clone(), "/v1/roles/{role}", None, Manager(200), false),
        r(pa.clone(), "/v1/roles/{role}", Some(json!({"name": "Renamed"})), Manager(200), false),
        r(d.clone(), "/v1/roles/{role}", None, Manager(204), true),
        r(
            p.clone(),
            "/v1/invitations",
            Some(json!({"email": "i-{caller}@example.com", "organization_id": "{org}"})),
            Manager(201),
            false,
        ),
        r(g.clone(), "/v1/invitations?organization_id={org}", None, Manager(200), false),
        r(g.clone(), "/v1/invitations/{inv}", None, Manager(200), false),
        r(p.clone(), "/v1/invitations/{inv}/revoke", None, Manager(200), true),
        r(p.clone(), "/v1/invitations/{inv}/resend", Some(json!({})), Manager(200), false),
        r(g.clone(), "/v1/invitations/by-code/{code}", None, Frontend, false),
        // A code nobody issued: a clear 404 once the caller is known.
        r(p.clone(), "/v1/invitations/accept", Some(json!({"code": "inv_bogus"})), SignedIn(404), false),
        r(p.clone(), "/v1/organizations/{org}/teams", Some(json!({"name": "T {caller}"})), Manager(201), false),
        r(g.clone(), "/v1/organizations/{org}/teams", None, Manager(200), false),
        r(g.clone(), "/v1/organizations/{org}/teams/{team}", None, Manager(200), false),
        r(pa.clone(), "/v1/organizations/{org}/teams/{team}", Some(json!({"name": "Renamed"})), Manager(200), false),
        r(d.clone(), "/v1/organizations/{org}/teams/{team}", None, Manager(204), true),
        r(
            p.clone(),
            "/v1/organizations/{org}/teams/{team}/members",
            Some(json!({"user_id": "{loner_member}"})),
            Manager(201),
            true,
        ),
        r(g.clone(), "/v1/organizations/{org}/teams/{team}/members", None, Manager(200), false),
        r(d.clone(), "/v1/organizations/{org}/teams/{team}/members/{user}", None, Manager(204), true),
        r(
            p.clone(),
            "/v1/organizations/{org}/domains",
            Some(json!({"domain": "d-{caller}.example"})),
            Manager(201),
            false,
        ),
        r(g.clone(), "/v1/organizations/{org}/domains", None, Manager(200), false),
        r(g.clone(), "/v1/organizations/{org}/domains/{dom}", None, Manager(200), false),
        r(pa.clone(), "/v1/organizations/{org}/domains/{dom}", Some(json!({"auto_join": true})), Manager(200), false),
        r(d.clone(), "/v1/organizations/{org}/domains/{dom}", None, Manager(204), true),
        r(g.clone(), "/v1/organizations/{org}/policy", None, Manager(200), false),
        r(
            p.clone(),
            "/v1/organizations/{org}/connections",
            Some(json!({"name": "IdP", "issuer": "{idp}", "client_id": "authio", "client_secret": "s"})),
            Manager(201),
            false,
        ),
        r(g.clone(), "/v1/organizations/{org}/connections", None, Manager(200), false),
        r(d.clone(), "/v1/organizations/{org}/connections/{conn}", None, Manager(204), true),
        r(
            p.clone(),
            "/v1/connections",
            Some(json!({"name": "Google", "issuer": "{idp}", "client_id": "authio", "client_secret": "s"})),
            Secret { ok: 201, scoped: false },
            false,
        ),
        r(g.clone(), "/v1/connections", None, Secret { ok: 200, scoped: false }, false),
        r(d.clone(), "/v1/connections/{pconn}", None, Secret { ok: 204, scoped: true }, true),
        r(g.clone(), "/v1/auth/sso/start", None, Open(400), false),
        r(g.clone(), "/v1/auth/sso/lookup?email=a%40example.com", None, Frontend, false),
        r(g.clone(), "/v1/auth/sso/callback", None, Open(400), false),
        // Public by nature: an OpenID Connect connection has no SAML metadata; a POST
        // without the form is a clear 400.
        r(g.clone(), "/v1/auth/saml/{conn}/metadata", None, Open(404), false),
        r(p.clone(), "/v1/auth/saml/acs", None, Open(400), false),
        r(p.clone(), "/v1/organizations/{org}/directories", Some(json!({"name": "Okta"})), Manager(201), false),
        r(g.clone(), "/v1/organizations/{org}/directories", None, Manager(200), false),
        r(g.clone(), "/v1/organizations/{org}/directories/{dir}", None, Manager(200), false),
        r(p.clone(), "/v1/organizations/{org}/directories/{dir}/rotate-token", None, Manager(200), false),
        r(g.clone(), "/v1/organizations/{org}/directories/{dir}/group-mappings", None, Manager(200), false),
        r(
            Method::PUT,
            "/v1/organizations/{org}/directories/{dir}/group-mappings",
            Some(json!({"mappings": [{"group": "Engineering", "role": "member"}]})),
            Manager(200),
            false,
        ),
        r(d.clone(), "/v1/organizations/{org}/directories/{dir}", None, Manager(204), true),
        r(Method::PUT, "/v1/organizations/{org}/policy", Some(json!({"require_passkey": false})), Manager(200), false),
        r(p.clone(), "/v1/sessions/step-up/passkey/start", None, SignedIn(200), false),
        r(
            p.clone(),
            "/v1/sessions/step-up/passkey/finish",
            Some(json!({"ceremony_id": "pkc_bogus", "credential": {}})),
            SignedIn(400),
            false,
        ),
        // The test's DNS server has no record: a clear 422 once the caller is known.
        r(p.clone(), "/v1/organizations/{org}/domains/{dom}/verify", None, Manager(422), false),
    ]
}

fn expected(class: Class, c: Caller) -> u16 {
    use Caller::*;
    match class {
        Class::Open(s) => s,
        Class::Frontend => 401,
        Class::ProjectUser(ok) => match c {
            Member | OrgAdminHere | OrgAdminOther => ok,
            _ => 401,
        },
        Class::Console { ok, scoped } => match c {
            ConsoleHere => ok,
            ConsoleOther => {
                if scoped {
                    404
                } else {
                    ok
                }
            }
            _ => 401,
        },
        Class::Secret { ok, scoped } => match c {
            SecretKeyHere => ok,
            SecretKeyOther => {
                if scoped {
                    404
                } else {
                    ok
                }
            }
            c if c.valid_user_token() => 403,
            _ => 401,
        },
        Class::Manager(ok) => match c {
            SecretKeyHere | OrgAdminHere => ok,
            SecretKeyOther | OrgAdminOther | OtherProjectToken => 404,
            Member => 403,
            _ => 401,
        },
        Class::OrgAdmin(ok) => match c {
            OrgAdminHere => ok,
            Member => 403,
            OrgAdminOther | OtherProjectToken => 404,
            _ => 401,
        },
        Class::OwnContext(ok) => match c {
            Member | OrgAdminHere => ok,
            OrgAdminOther | OtherProjectToken => 404,
            _ => 401,
        },
        Class::SignedIn(ok) => {
            if c.valid_user_token() {
                ok
            } else {
                401
            }
        }
        Class::SwitchIntoTarget => match c {
            Member | OrgAdminHere => 200,
            OrgAdminOther | OtherProjectToken => 403,
            _ => 401,
        },
    }
}

/// Two projects with everything a caller might reach.
struct World {
    tenant: String,
    key_id: String,
    user: String,
    loner: String,
    org: String,
    other_org: String,
    other_org_name: String,
    mem: String,
    /// The session of the member of `org`.
    session: String,
    /// A webhook endpoint of the project (disabled once it has deliveries) and one delivery.
    whep: String,
    delivery: String,
    /// A team of `org` with `user` in it, a member of `org` in no team, a permission, an
    /// org-level role of `org`, and a pending invitation to `org`.
    team: String,
    loner_member: String,
    perm: String,
    role: String,
    inv: String,
    /// A pending domain claim of `org`.
    dom: String,
    /// A SCIM directory of `org`.
    dir: String,
    /// A confidential OAuth client of the project.
    oauth_client: String,
    oauth_request: String,
    conn: String,
    pconn: String,
    idp: String,
    tokens: Vec<(Caller, Option<String>)>,
}

async fn expired_token(srv: &Server, valid: &str) -> String {
    use base64::Engine;
    use sqlx::Row;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(valid.split('.').nth(1).unwrap()).unwrap(),
    )
    .unwrap();
    let row = sqlx::query("SELECT kid, private_key FROM signing_keys ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&srv.db.pool)
        .await
        .unwrap();
    let (kid, private): (String, String) = (row.get(0), row.get(1));
    let der = base64::engine::general_purpose::STANDARD.decode(private).unwrap();
    let mut c = claims.clone();
    let now = jsonwebtoken::get_current_timestamp();
    c["iat"] = json!(now - 900);
    c["exp"] = json!(now - 600);
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    h.kid = Some(kid);
    jsonwebtoken::encode(&h, &c, &jsonwebtoken::EncodingKey::from_ed_der(&der)).unwrap()
}

async fn switched(srv: &Server, answer: &Value, org: &str) -> String {
    let (s, v) = srv
        .post("/v1/sessions/switch-org", answer["access_token"].as_str().unwrap(), json!({"organization_id": org}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

async fn world(srv: &Server, n: usize, target_inactive: bool, needs_delivery: bool) -> World {
    let (cs_a, tenant, sk_a) = srv.project(&format!("owner{n}@example.com"), "b2b").await;
    let (cs_b, tenant_b, sk_b) = srv.project(&format!("stranger{n}@example.com"), "b2b").await;
    let pk_a = srv.publishable_key(&cs_a, &tenant).await;
    let pk_b = srv.publishable_key(&cs_b, &tenant_b).await;
    let (_, keys) = srv.get(&format!("/v1/session/tenants/{tenant}/api-keys"), &cs_a).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    let (s, e) = srv
        .post("/v1/webhook-endpoints", &sk_a, json!({"url": "https://hooks.example.invalid/h", "events": ["*"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let whep = common::id(&e);
    let org = srv.org(&sk_a, "Acme").await;
    let other_org_name = format!("Globex{n}");
    let other_org = srv.org(&sk_a, &other_org_name).await;
    let admin = srv.user(&sk_a, "admin@example.com").await;
    let member = srv.user(&sk_a, "member@example.com").await;
    let admin_other = srv.user(&sk_a, "admin-other@example.com").await;
    let former = srv.user(&sk_a, "former@example.com").await;
    let user = srv.user(&sk_a, "target@example.com").await;
    let loner = srv.user(&sk_a, "loner@example.com").await;
    srv.membership(&sk_a, &admin, &org, "admin").await;
    srv.membership(&sk_a, &member, &org, "member").await;
    srv.membership(&sk_a, &admin_other, &other_org, "admin").await;
    let former_mem = srv.membership(&sk_a, &former, &org, "admin").await;
    let mem = srv.membership(&sk_a, &user, &org, "member").await;
    srv.membership(&sk_a, &user, &other_org, "member").await;
    let t_admin = switched(srv, &srv.sign_in(&sk_a, &pk_a, &admin).await, &org).await;
    let t_member = switched(srv, &srv.sign_in(&sk_a, &pk_a, &member).await, &org).await;
    let session = common::claims(&t_member)["sid"].as_str().unwrap().to_string();
    let t_admin_other = switched(srv, &srv.sign_in(&sk_a, &pk_a, &admin_other).await, &other_org).await;
    let t_former = switched(srv, &srv.sign_in(&sk_a, &pk_a, &former).await, &org).await;
    let (s, _) = srv.post(&format!("/v1/memberships/{former_mem}/deactivate"), &sk_a, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let loner_member = srv.user(&sk_a, "teamless@example.com").await;
    srv.membership(&sk_a, &loner_member, &org, "member").await;
    let (s, t) = srv.post(&format!("/v1/organizations/{org}/teams"), &sk_a, json!({"name": "Core"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let team = common::id(&t);
    let (s, v) =
        srv.post(&format!("/v1/organizations/{org}/teams/{team}/members"), &sk_a, json!({"user_id": user})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = srv.post("/v1/permissions", &sk_a, json!({"slug": "reports:read"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let role_body = json!({"slug": "auditor", "name": "Auditor", "organization_id": org});
    let (s, v) = srv.post("/v1/roles", &sk_a, role_body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let invitation = json!({"email": "invitee@example.com", "organization_id": org});
    let (s, v) = srv.post("/v1/invitations", &sk_a, invitation).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let inv = common::id(&v);
    let (s, v) = srv.post(&format!("/v1/organizations/{org}/domains"), &sk_a, json!({"domain": "acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dom = common::id(&v);
    let (s, v) = srv.post(&format!("/v1/organizations/{org}/directories"), &sk_a, json!({"name": "Okta"})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let dir = common::id(&v);
    let idp = common::discovery_stub().await;
    let body = json!({"name": "IdP", "issuer": idp, "client_id": "authio", "client_secret": "s"});
    let (s, v) = srv.post(&format!("/v1/organizations/{org}/connections"), &sk_a, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let conn = common::id(&v);
    let body = json!({"name": "Google", "issuer": idp, "client_id": "authio", "client_secret": "s"});
    let (s, v) = srv.post("/v1/connections", &sk_a, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pconn = common::id(&v);
    let body = json!({"name": "Web", "client_type": "confidential", "redirect_uris": ["https://app.example.com/cb"]});
    let (s, v) = srv.post("/v1/oauth-clients", &sk_a, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let oauth_client = common::id(&v);
    // A pending authorization request of that client, as the hosted pages hold it.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let params = [
        ("response_type", "code"),
        ("client_id", oauth_client.as_str()),
        ("redirect_uri", "https://app.example.com/cb"),
        ("scope", "openid"),
    ];
    let res =
        raw.get(url::Url::parse_with_params(&format!("{}/oauth2/authorize", srv.url), &params).unwrap()).send().await;
    let to = url::Url::parse(res.unwrap().headers()["location"].to_str().unwrap()).unwrap();
    let oauth_request = to.query_pairs().find(|(k, _)| k == "authorization").unwrap().1.to_string();
    let ub = srv.user(&sk_b, "b@example.com").await;
    let t_other_project = srv.sign_in(&sk_b, &pk_b, &ub).await["access_token"].as_str().unwrap().to_string();
    let t_expired = expired_token(srv, &t_admin).await;
    if target_inactive {
        let (s, _) = srv.post(&format!("/v1/memberships/{mem}/deactivate"), &sk_a, json!({})).await;
        assert_eq!(s, StatusCode::OK);
    }
    // Waiting for a delivery takes a dispatcher round: only for the route that needs one.
    let delivery = if needs_delivery { quiet_delivery(srv, &sk_a, &whep).await } else { "dlv_unused".to_string() };
    use Caller::*;
    World {
        tenant,
        key_id,
        user,
        loner,
        org,
        other_org,
        other_org_name,
        mem,
        session,
        whep,
        delivery,
        team,
        loner_member,
        perm: "reports:read".into(),
        role: "auditor".into(),
        inv,
        dom,
        dir,
        oauth_client,
        oauth_request,
        conn,
        pconn,
        idp,
        tokens: vec![
            (Anonymous, None),
            (ExpiredToken, Some(t_expired)),
            (OtherProjectToken, Some(t_other_project)),
            (Member, Some(t_member)),
            (OrgAdminHere, Some(t_admin)),
            (OrgAdminOther, Some(t_admin_other)),
            (FormerMember, Some(t_former)),
            (SecretKeyHere, Some(sk_a)),
            (SecretKeyOther, Some(sk_b)),
            (ConsoleHere, Some(cs_a)),
            (ConsoleOther, Some(cs_b)),
        ],
    }
}

impl World {
    fn subst(&self, s: &str, caller: Caller) -> String {
        s.replace("{tenant}", &self.tenant)
            .replace("{key}", &self.key_id)
            .replace("{user}", &self.user)
            .replace("{loner}", &self.loner)
            .replace("{org}", &self.org)
            .replace("{mem}", &self.mem)
            .replace("{session}", &self.session)
            .replace("{ctxorg}", &self.org)
            .replace("{whep}", &self.whep)
            .replace("{oauth_client}", &self.oauth_client)
            .replace("{oauth_request}", &self.oauth_request)
            .replace("{conn}", &self.conn)
            .replace("{pconn}", &self.pconn)
            .replace("{idp}", &self.idp)
            .replace("{delivery}", &self.delivery)
            .replace("{team}", &self.team)
            .replace("{loner_member}", &self.loner_member)
            .replace("{perm}", &self.perm)
            .replace("{role}", &self.role)
            .replace("{inv}", &self.inv)
            .replace("{dom}", &self.dom)
            .replace("{dir}", &self.dir)
            .replace("{code}", "inv_bogus")
            .replace("{caller}", &format!("{caller:?}").to_lowercase())
    }
    fn token(&self, c: Caller) -> Option<String> {
        self.tokens.iter().find(|(k, _)| *k == c).and_then(|(_, t)| t.clone())
    }
}

/// OpenAPI path templates use `{id}` and `{key_id}` (and no query).
fn template(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    path.replace("{tenant}", "{id}")
        .replace("{user}", "{id}")
        .replace("{org}", "{id}")
        .replace("{mem}", "{id}")
        .replace("{key}", "{key_id}")
        .replace("{whep}", "{id}")
        .replace("{oauth_client}", "{id}")
        .replace("{oauth_request}", "{request}")
        .replace("{conn}", "{connection_id}")
        .replace("{pconn}", "{id}")
        .replace("{delivery}", "{delivery_id}")
        .replace("{session}", "{session_id}")
        .replace("{ctxorg}", "{organization_id}")
        .replace("{team}", "{team_id}")
        .replace("{inv}", "{id}")
        .replace("{dom}", "{domain_id}")
        .replace("{dir}", "{directory_id}")
        .replace("{role}", "{slug}")
        .replace("{perm}", "{slug}")
        .replace("/members/{id}", "/members/{user_id}")
}

/// Disable the endpoint once it has a delivery, and wait until no delivery is in flight,
/// so a manual retry in the matrix never meets one being sent. Returns a delivery id.
async fn quiet_delivery(srv: &Server, sk: &str, whep: &str) -> String {
    for _ in 0..500 {
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY position LIMIT 1")
                .bind(whep)
                .fetch_optional(&srv.db.pool)
                .await
                .unwrap();
        if let Some(id) = id {
            let (s, _) = srv.patch(&format!("/v1/webhook-endpoints/{whep}"), sk, json!({"enabled": false})).await;
            assert_eq!(s, StatusCode::OK);
            for _ in 0..500 {
                let leased: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND lease_until IS NOT NULL",
                )
                .bind(whep)
                .fetch_one(&srv.db.pool)
                .await
                .unwrap();
                if leased == 0 {
                    return id;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            panic!("a webhook delivery stayed in flight");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the webhook endpoint got no delivery within 10 s");
}

async fn check(srv: &Server, w: &World, route: &Route, caller: Caller) {
    let path = w.subst(route.path, caller);
    let body = route.body.as_ref().map(|b| serde_json::from_str::<Value>(&w.subst(&b.to_string(), caller)).unwrap());
    let token = w.token(caller);
    let (status, v) = srv.call(route.method.clone(), &path, token.as_deref(), body).await;
    let want = expected(route.class, caller);
    assert_eq!(status.as_u16(), want, "{} {} as {caller:?}: {v}", route.method, route.path);
    if status.is_client_error() {
        // The OAuth endpoints answer RFC 6749's `{"error": "…"}`, or a page for the user.
        let oauth = route.path.starts_with("/oauth2/")
            && (v["error"].is_string() || v.as_str().is_some_and(|t| t.contains("<html")));
        assert!(
            oauth || !code(&v).is_empty(),
            "{} {} as {caller:?}: error without a code: {v}",
            route.method,
            route.path
        );
    }
    if want == 403 && matches!(route.class, Class::Secret { .. }) {
        assert_eq!(code(&v), "secret_key_required");
    }
    // Org admins never learn which other organizations a member belongs to.
    if caller == Caller::OrgAdminHere && !route.path.starts_with("/v1/me") {
        let text = v.to_string();
        assert!(
            !text.contains(&w.other_org) && !text.contains(&w.other_org_name),
            "{} {} told an org admin about another organization: {text}",
            route.method,
            route.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_matrix_covers_every_route_and_caller() {
    let (dns, _zone) = common::dns_server().await;
    let url = common::database_url(false).await;
    let srv = Server::start_with(&url, |c| {
        c.dns_resolver = Some(dns);
        c.secret_key = Some("5a".repeat(32));
        c.webhook_allow_private = true;
    })
    .await;
    let table = routes();
    let (_, doc) = srv.call(Method::GET, "/openapi.json", None, None).await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| format!("{} {p}", m.to_uppercase())))
        .collect();
    let covered: BTreeSet<String> = table.iter().map(|r| format!("{} {}", r.method, template(r.path))).collect();
    assert_eq!(documented, covered, "every documented route has rows in the matrix, and only those");

    let mut n = 0;
    let mut cells = 0;
    for route in &table {
        let ok = |c: Caller| (200..300).contains(&expected(route.class, c));
        // Callers that are refused never change anything: one world for all of them,
        // then the successful callers (each in a fresh world when the route is destructive).
        n += 1;
        let needs_delivery = route.path.contains("{delivery}");
        let w = world(&srv, n, route.target_inactive, needs_delivery).await;
        for c in CALLERS.iter().copied().filter(|c| !ok(*c)) {
            check(&srv, &w, route, c).await;
            cells += 1;
        }
        for c in CALLERS.iter().copied().filter(|c| ok(*c)) {
            if route.destructive {
                n += 1;
                let fresh = world(&srv, n, route.target_inactive, needs_delivery).await;
                check(&srv, &fresh, route, c).await;
            } else {
                check(&srv, &w, route, c).await;
            }
            cells += 1;
        }
    }
    assert_eq!(cells, table.len() * CALLERS.len());
}
