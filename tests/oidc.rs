//! The OpenID Connect provider (issue 20): the authorization code flow through the hosted
//! pages' APIs, the token endpoint (codes, refresh), id tokens, userinfo, revocation,
//! introspection, discovery and RP-initiated logout, and their refusals, each a clear
//! OAuth error. Every scenario runs on PostgreSQL and on SQLite. Stock clients
//! (openid-client, authlib) check the same flow from outside: scripts/oidc-conformance.
mod common;

use common::{claims, code, id, Server};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const APP: &str = "https://app.example.com/callback";
const SPA: &str = "http://localhost:5173/cb";

struct World {
    srv: Server,
    sk: String,
    pk: String,
    user: String,
    acme: String,
    globex: String,
    /// A confidential client and its secret.
    web: (String, String),
    /// A public client.
    spa: String,
    /// Follows no redirects.
    raw: reqwest::Client,
}

async fn world(postgres: bool) -> World {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let user = srv.user(&sk, "ada@example.com").await;
    let (s, v) =
        srv.patch(&format!("/v1/users/{user}"), &sk, json!({"first_name": "Ada", "last_name": "Lovelace"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &user, &acme, "member").await;
    srv.membership(&sk, &user, &globex, "admin").await;
    let body = json!({"name": "Acme web", "client_type": "confidential", "redirect_uris": [APP]});
    let (s, web) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{web}");
    let web = (id(&web), web["client_secret"].as_str().unwrap().to_string());
    let body = json!({"name": "SPA", "client_type": "public", "redirect_uris": [SPA], "scopes": ["openid", "email"]});
    let (s, spa) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{spa}");
    let spa = id(&spa);
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    World { srv, sk, pk, user, acme, globex, web, spa, raw }
}

/// The query of a URL as a map.
fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

impl World {
    /// `GET /oauth2/authorize` with `params`: the status and the `Location`, if any.
    async fn authorize(&self, params: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
        let url = url::Url::parse_with_params(&format!("{}/oauth2/authorize", self.srv.url), params).unwrap();
        let res = self.raw.get(url).send().await.unwrap();
        let status = res.status();
        let location = res.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
        (status, location, res.text().await.unwrap())
    }

    fn web_request(&self, scope: &str) -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", self.web.0.clone()),
            ("redirect_uri", APP.into()),
            ("scope", scope.into()),
            ("state", "st-123".into()),
            ("nonce", "n-456".into()),
            ("code_challenge", CHALLENGE.into()),
            ("code_challenge_method", "S256".into()),
        ]
    }

    /// The hosted page's `authorization` for a request that must be valid.
    async fn request(&self, params: &[(&str, String)]) -> String {
        let p: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (s, location, body) = self.authorize(&p).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let location = location.unwrap();
        assert!(location.starts_with(&format!("{}/hosted/sign-in?", self.srv.url)), "{location}");
        let q = query_of(&location);
        assert_eq!(q.get("pk"), Some(&self.pk), "{location}");
        q["authorization"].clone()
    }

    /// The hosted page's pair: signed in and switched into `org`.
    async fn hosted_pair(&self, org: &str) -> Value {
        let signed_in = self.srv.sign_in(&self.sk, &self.pk, &self.user).await;
        let access = signed_in["access_token"].as_str().unwrap();
        let (s, pair) = self.srv.post("/v1/sessions/switch-org", access, json!({"organization_id": org})).await;
        assert_eq!(s, StatusCode::OK, "{pair}");
        pair
    }

    /// The code the hosted page gets for `request` in `pair`'s context.
    async fn code_for(&self, pair: &Value, request: &str) -> HashMap<String, String> {
        let access = pair["access_token"].as_str().unwrap();
        let (s, v) = self.srv.post("/v1/oauth2/authorizations", access, json!({"request": request})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        query_of(v["redirect_to"].as_str().unwrap())
    }

    /// A form POST to a protocol endpoint, with HTTP Basic when `basic` is given.
    async fn form(
        &self,
        path: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = self.raw.post(format!("{}{path}", self.srv.url)).form(form);
        if let Some((u, p)) = basic {
            req = req.basic_auth(u, Some(p));
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let challenge = res.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_string());
        if status == StatusCode::OK {
            assert_eq!(res.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap()), Some("no-store"));
        }
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), challenge)
    }

    async fn web_token(&self, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let (s, v, _) = self.form("/oauth2/token", Some((&self.web.0, &self.web.1)), form).await;
        (s, v)
    }

    async fn exchange_web(&self, code_value: &str) -> (StatusCode, Value) {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code_value),
            ("redirect_uri", APP),
            ("code_verifier", VERIFIER),
        ];
        self.web_token(&form).await
    }

    async fn refresh_web(&self, token: &str) -> (StatusCode, Value) {
        self.web_token(&[("grant_type", "refresh_token"), ("refresh_token", token)]).await
    }

    async fn userinfo(&self, token: &str) -> (StatusCode, Value, Option<String>) {
        let res = self.raw.get(format!("{}/oauth2/userinfo", self.srv.url)).bearer_auth(token).send().await.unwrap();
        let status = res.status();
        let challenge = res.headers().get(header::WWW_AUTHENTICATE).map(|v| v.to_str().unwrap().to_string());
        (status, res.json().await.unwrap(), challenge)
    }
}

fn error(v: &Value) -> &str {
    v["error"].as_str().unwrap_or_default()
}

async fn a_confidential_client_signs_a_user_in_to_an_organization(postgres: bool) {
    let w = world(postgres).await;

    // Discovery says where everything is.
    let (s, d) = w.srv.call(reqwest::Method::GET, "/.well-known/openid-configuration", None, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let issuer = w.srv.url.clone();
    assert_eq!(d["issuer"], issuer.as_str());
    assert_eq!(d["authorization_endpoint"], format!("{issuer}/oauth2/authorize"));
    assert_eq!(d["token_endpoint"], format!("{issuer}/oauth2/token"));
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);

    // The request goes to the hosted pages, which learn the client and the scopes.
    let mut params = w.web_request("openid email profile offline_access organization");
    params.push(("organization", w.globex.clone()));
    params.push(("login_hint", "ada@example.com".into()));
    let request = w.request(&params).await;
    let (s, shown) = w.srv.call(reqwest::Method::GET, &format!("/v1/oauth2/requests/{request}"), None, None).await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert_eq!(shown["client_id"], w.web.0.as_str());
    assert_eq!(shown["client_name"], "Acme web");
    assert_eq!(shown["organization"], w.globex.as_str());
    assert_eq!(shown["login_hint"], "ada@example.com");
    assert_eq!(shown["redirect_uri"], APP);

    // Signed in and in Globex, the page gets the code on the redirect, with state and iss.
    let hosted = w.hosted_pair(&w.globex).await;
    let back = w.code_for(&hosted, &request).await;
    assert_eq!(back["state"], "st-123");
    assert_eq!(back["iss"], issuer);
    let code_value = back["code"].clone();
    assert!(code_value.starts_with("oac_"), "{code_value}");

    // The client redeems it: tokens of its own in Globex, and an id token for it.
    let (s, t) = w.exchange_web(&code_value).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "openid email profile offline_access organization");
    let at = claims(t["access_token"].as_str().unwrap());
    assert_eq!(at["act_org"], w.globex.as_str());
    assert_eq!(at["sid"], hosted["session_id"]);
    let idt = claims(t["id_token"].as_str().unwrap());
    assert_eq!(idt["iss"], issuer.as_str());
    assert_eq!(idt["aud"], w.web.0.as_str());
    assert_eq!(idt["sub"], w.user.as_str());
    assert_eq!(idt["nonce"], "n-456");
    assert_eq!(idt["sid"], hosted["session_id"]);
    assert_eq!(idt["email"], "ada@example.com");
    assert_eq!(idt["email_verified"], false, "created through the API, never proven by mail");
    assert_eq!(idt["name"], "Ada Lovelace");
    assert_eq!(idt["org_id"], w.globex.as_str());
    assert_eq!(idt["org_role"], "admin");
    assert!(idt["permissions"].is_array(), "{idt}");
    assert!(idt["auth_time"].as_i64().unwrap() <= idt["iat"].as_i64().unwrap());
    let refresh_token = t["refresh_token"].as_str().expect("offline_access gives a refresh token").to_string();
    assert_ne!(refresh_token, hosted["refresh_token"].as_str().unwrap(), "a family of the client's own");

    // userinfo says the same of the access token's user and organization.
    let (s, info, _) = w.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["sub"], w.user.as_str());
    assert_eq!(info["email"], "ada@example.com");
    assert_eq!(info["org_id"], w.globex.as_str());
    assert_eq!(info["org_role"], "admin");

    // A refresh stays in Globex, whatever the hosted page does meanwhile.
    let (s, _) = w
        .srv
        .post("/v1/sessions/switch-org", hosted["access_token"].as_str().unwrap(), json!({"organization_id": w.acme}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, r) = w.refresh_web(&refresh_token).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let idt2 = claims(r["id_token"].as_str().unwrap());
    assert_eq!(idt2["org_id"], w.globex.as_str());
    assert!(idt2.get("nonce").is_none(), "no nonce after a refresh: {idt2}");
    assert_eq!(idt2["auth_time"], idt["auth_time"]);
    let refreshed = r["refresh_token"].as_str().unwrap().to_string();

    // Introspection, for the client: the access token and its own refresh token.
    let basic = Some((w.web.0.as_str(), w.web.1.as_str()));
    let (s, v, _) = w.form("/oauth2/introspect", basic, &[("token", r["access_token"].as_str().unwrap())]).await;
    assert_eq!((s, &v["active"], &v["org_id"]), (StatusCode::OK, &json!(true), &json!(w.globex)), "{v}");
    assert_eq!((&v["token_type"], &v["client_id"]), (&json!("Bearer"), &json!(w.web.0)), "{v}");
    let (s, v, _) = w.form("/oauth2/introspect", basic, &[("token", &refreshed)]).await;
    assert_eq!((s, &v["active"], &v["client_id"]), (StatusCode::OK, &json!(true), &json!(w.web.0)), "{v}");
    assert_eq!((&v["token_type"], &v["scope"]), (&json!("refresh_token"), &json!(t["scope"])), "{v}");
    let (s, v, _) = w.form("/oauth2/introspect", basic, &[("token", &refresh_token)]).await;
    assert_eq!((s, &v["active"]), (StatusCode::OK, &json!(false)), "a spent token is not active: {v}");
    // Tokens not issued to this client are not its business: the hosted page's own.
    let (s, v, _) = w.form("/oauth2/introspect", basic, &[("token", hosted["access_token"].as_str().unwrap())]).await;
    assert_eq!((s, &v), (StatusCode::OK, &json!({"active": false})), "{v}");
    // A public client cannot introspect at all (RFC 7662 §2.1).
    let (s, v, _) = w
        .form("/oauth2/introspect", None, &[("token", r["access_token"].as_str().unwrap()), ("client_id", &w.spa)])
        .await;
    assert_eq!((s, error(&v)), (StatusCode::UNAUTHORIZED, "invalid_client"), "{v}");

    // Revocation ends the grant: its refresh token is dead, the hosted page's is not.
    let (s, v, _) = w.form("/oauth2/revoke", basic, &[("token", &refreshed)]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Every step is audited, with the client as a target; the code is never recorded.
    common::audit_caught_up(&w.srv.db).await;
    let (s, log) = w.srv.get("/v1/audit-events?limit=100", &w.sk).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let entries = log["data"].as_array().unwrap();
    for kind in ["oauth.code_issued", "oauth.code_redeemed", "oauth.grant_revoked"] {
        let e = entries.iter().find(|e| e["type"] == kind).unwrap_or_else(|| panic!("{kind} in {log}"));
        assert_eq!(e["organization_id"], w.globex.as_str(), "{e}");
        assert_eq!(e["actor"]["id"], w.user.as_str(), "{e}");
    }
    assert!(!log.to_string().contains(&code_value), "the code itself is never recorded");

    // The revoked grant's refresh token is dead; the hosted page's family is not.
    let (s, v) = w.refresh_web(&refreshed).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v) = w
        .srv
        .call(
            reqwest::Method::POST,
            "/v1/sessions/refresh",
            None,
            Some(json!({"refresh_token": hosted["refresh_token"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Revoking again, or an unknown token, is answered the same.
    let (s, _, _) = w.form("/oauth2/revoke", basic, &[("token", &refreshed)]).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = w.form("/oauth2/revoke", basic, &[("token", "nonsense")]).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confidential_client_signs_a_user_in_to_an_organization_postgres() {
    a_confidential_client_signs_a_user_in_to_an_organization(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_confidential_client_signs_a_user_in_to_an_organization_sqlite() {
    a_confidential_client_signs_a_user_in_to_an_organization(false).await;
}

async fn a_public_client_must_prove_its_pkce_verifier(postgres: bool) {
    let w = world(postgres).await;
    let base = |challenge: bool| {
        let mut p = vec![
            ("response_type", "code".to_string()),
            ("client_id", w.spa.clone()),
            ("redirect_uri", SPA.into()),
            ("scope", "openid email".into()),
            ("state", "s1".into()),
        ];
        if challenge {
            p.push(("code_challenge", CHALLENGE.into()));
            p.push(("code_challenge_method", "S256".into()));
        }
        p
    };
    // Without PKCE the client is sent back with invalid_request, state and iss.
    let p: Vec<(&str, String)> = base(false);
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location, _) = w.authorize(&p).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let q = query_of(&location.unwrap());
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("invalid_request", "s1"), "{q:?}");
    assert_eq!(q["iss"], w.srv.url);
    // `plain` is refused too.
    let mut p = base(true);
    p.retain(|(k, _)| *k != "code_challenge_method");
    p.push(("code_challenge_method", "plain".into()));
    let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (_, location, _) = w.authorize(&p).await;
    assert_eq!(query_of(&location.unwrap())["error"], "invalid_request");

    let hosted = w.hosted_pair(&w.acme).await;
    let request = w.request(&base(true)).await;
    let code_value = w.code_for(&hosted, &request).await["code"].clone();
    let token = |verifier: Option<&'static str>| {
        let mut f = vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code_value.clone()),
            ("redirect_uri", SPA.to_string()),
            ("client_id", w.spa.clone()),
        ];
        if let Some(v) = verifier {
            f.push(("code_verifier", v.to_string()));
        }
        f
    };
    let send = |f: Vec<(&'static str, String)>| {
        let w = &w;
        async move {
            let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            w.form("/oauth2/token", None, &f).await
        }
    };
    // A missing or wrong verifier spends nothing; the right one redeems.
    let (s, v, _) = send(token(None)).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let (s, v, _) = send(token(Some("wrong-verifier-wrong-verifier-wrong-verifier-0"))).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, t, _) = send(token(Some(VERIFIER))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert!(t.get("refresh_token").is_none(), "no offline_access, no refresh token: {t}");
    let idt = claims(t["id_token"].as_str().unwrap());
    assert_eq!(idt["aud"], w.spa.as_str());
    assert_eq!(idt["org_id"], w.acme.as_str());
    assert!(idt.get("name").is_none(), "no profile scope: {idt}");
    // userinfo answers within the granted scopes.
    let (s, info, _) = w.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "{info}");
    assert_eq!(info["email"], "ada@example.com");
    assert!(info.get("name").is_none(), "no profile scope: {info}");
    // A public client presenting a secret is refused.
    let f = [("grant_type", "authorization_code"), ("code", "x"), ("client_id", &w.spa), ("client_secret", "s")];
    let (s, v, _) = w.form("/oauth2/token", None, &f).await;
    assert_eq!((s, error(&v)), (StatusCode::UNAUTHORIZED, "invalid_client"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_public_client_must_prove_its_pkce_verifier_postgres() {
    a_public_client_must_prove_its_pkce_verifier(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_public_client_must_prove_its_pkce_verifier_sqlite() {
    a_public_client_must_prove_its_pkce_verifier(false).await;
}

async fn codes_are_single_use_and_bound_to_their_client(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.acme).await;
    let request = w.request(&w.web_request("openid offline_access")).await;
    let code_value = w.code_for(&hosted, &request).await["code"].clone();

    // Another client (even of the same project) cannot redeem it; nothing is spent.
    let body = json!({"name": "Other", "client_type": "confidential", "redirect_uris": [APP]});
    let (_, other) = w.srv.post("/v1/oauth-clients", &w.sk, body).await;
    let (other_id, other_secret) = (id(&other), other["client_secret"].as_str().unwrap().to_string());
    let form = [
        ("grant_type", "authorization_code"),
        ("code", &code_value),
        ("redirect_uri", APP),
        ("code_verifier", VERIFIER),
    ];
    let (s, v, _) = w.form("/oauth2/token", Some((&other_id, &other_secret)), &form).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    // Nor at another redirect URI, nor with a wrong secret (401 with a Basic challenge).
    let f = [
        ("grant_type", "authorization_code"),
        ("code", &code_value),
        ("redirect_uri", "https://app.example.com/other"),
        ("code_verifier", VERIFIER),
    ];
    let (s, v) = w.web_token(&f).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v, challenge) = w.form("/oauth2/token", Some((&w.web.0, "ocs_wrong")), &form).await;
    assert_eq!((s, error(&v)), (StatusCode::UNAUTHORIZED, "invalid_client"), "{v}");
    assert!(challenge.is_some_and(|c| c.starts_with("Basic")));
    // The client redeems it once, with client_secret_post.
    let mut post = form.to_vec();
    post.push(("client_id", &w.web.0));
    post.push(("client_secret", &w.web.1));
    let (s, t, _) = w.form("/oauth2/token", None, &post).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    // Presented again: invalid_grant, and what it issued is revoked with the session.
    let (s, v) = w.exchange_web(&code_value).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v) = w.refresh_web(t["refresh_token"].as_str().unwrap()).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v, challenge) = w.userinfo(t["access_token"].as_str().unwrap()).await;
    assert_eq!((s, error(&v)), (StatusCode::UNAUTHORIZED, "invalid_token"), "{v}");
    assert!(challenge.is_some_and(|c| c.starts_with("Bearer error=\"invalid_token\"")));
    common::audit_caught_up(&w.srv.db).await;
    let (_, log) = w.srv.get("/v1/audit-events?limit=100", &w.sk).await;
    assert!(log["data"].as_array().unwrap().iter().any(|e| e["type"] == "oauth.code_reused"), "{log}");

    // A forged code, a malformed one, an unknown grant type: clear errors.
    let forged = format!("{}.{}", code_value.split('.').next().unwrap(), "0".repeat(64));
    let (s, v) = w.exchange_web(&forged).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v) = w.exchange_web("garbage").await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "invalid_grant"), "{v}");
    let (s, v) = w.web_token(&[("grant_type", "password")]).await;
    assert_eq!((s, error(&v)), (StatusCode::BAD_REQUEST, "unsupported_grant_type"), "{v}");
    let (s, v, _) = w.form("/oauth2/token", None, &[("grant_type", "authorization_code")]).await;
    assert_eq!((s, error(&v)), (StatusCode::UNAUTHORIZED, "invalid_client"), "{v}");
    let res = w.raw.post(format!("{}/oauth2/token", w.srv.url)).json(&json!({"grant_type": "x"})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(error(&v), "invalid_request", "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_are_single_use_and_bound_to_their_client_postgres() {
    codes_are_single_use_and_bound_to_their_client(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_are_single_use_and_bound_to_their_client_sqlite() {
    codes_are_single_use_and_bound_to_their_client(false).await;
}

async fn bad_requests_never_redirect_anywhere_unregistered(postgres: bool) {
    let w = world(postgres).await;
    // An unknown client or redirect URI: an error page, no Location.
    for params in [
        vec![("response_type", "code"), ("client_id", "oc_nope"), ("redirect_uri", APP), ("scope", "openid")],
        vec![
            ("response_type", "code"),
            ("client_id", w.web.0.as_str()),
            ("redirect_uri", "https://evil.example/cb"),
            ("scope", "openid"),
        ],
        vec![("response_type", "code"), ("client_id", w.web.0.as_str()), ("scope", "openid")],
        vec![("client_id", w.web.0.as_str()), ("client_id", w.spa.as_str()), ("redirect_uri", APP)],
    ] {
        let (s, location, body) = w.authorize(&params).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{params:?}");
        assert!(location.is_none(), "{params:?}");
        assert!(body.contains("<html"), "{body}");
    }
    // The rest goes back to the client with an error it can read.
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("response_type", "token"), ("scope", "openid")], "unsupported_response_type"),
        (vec![("response_type", "code"), ("scope", "email")], "invalid_scope"),
        (vec![("response_type", "code"), ("scope", "openid admin")], "invalid_scope"),
        (vec![("response_type", "code"), ("scope", "openid"), ("prompt", "none")], "login_required"),
        (vec![("response_type", "code"), ("scope", "openid"), ("request", "x")], "request_not_supported"),
        (vec![("response_type", "code"), ("scope", "openid"), ("organization", "acme")], "invalid_request"),
    ];
    for (mut extra, expected) in cases {
        extra.extend([("client_id", w.web.0.as_str()), ("redirect_uri", APP), ("state", "zz")]);
        let (s, location, body) = w.authorize(&extra).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{extra:?}: {body}");
        let location = location.unwrap();
        assert!(location.starts_with(APP), "{location}");
        let q = query_of(&location);
        assert_eq!((q["error"].as_str(), q["state"].as_str()), (expected, "zz"), "{extra:?}");
    }

    // A tampered or foreign request is refused by the hosted pages' routes.
    let request = w.request(&w.web_request("openid")).await;
    let mut tampered = request.clone();
    tampered.insert(tampered.len() - 3, 'A');
    tampered.remove(tampered.len() - 3);
    let tampered = if tampered == request { format!("{request}x") } else { tampered };
    let (s, v) = w.srv.call(reqwest::Method::GET, &format!("/v1/oauth2/requests/{tampered}"), None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_authorization_request"), "{v}");
    let hosted = w.hosted_pair(&w.acme).await;
    let access = hosted["access_token"].as_str().unwrap();
    let (s, v) = w.srv.post("/v1/oauth2/authorizations", access, json!({"request": tampered})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_authorization_request"), "{v}");
    // Unauthenticated: 401. Another project's user: 401, nothing issued.
    let (s, v) =
        w.srv.call(reqwest::Method::POST, "/v1/oauth2/authorizations", None, Some(json!({"request": request}))).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    let (cs2, tid2, sk2) = w.srv.project("other@example.com", "b2b").await;
    let pk2 = w.srv.publishable_key(&cs2, &tid2).await;
    let stranger = w.srv.user(&sk2, "eve@example.com").await;
    let eve = w.srv.sign_in(&sk2, &pk2, &stranger).await;
    let (s, v) = w
        .srv
        .post("/v1/oauth2/authorizations", eve["access_token"].as_str().unwrap(), json!({"request": request}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    // A request for Globex cannot be granted from the Acme context.
    let mut p = w.web_request("openid");
    p.push(("organization", w.globex.clone()));
    let for_globex = w.request(&p).await;
    let (s, v) = w.srv.post("/v1/oauth2/authorizations", access, json!({"request": for_globex})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "organization_mismatch"), "{v}");
    // Declining sends the user back with access_denied.
    let (s, v) = w
        .srv
        .call(reqwest::Method::POST, "/v1/oauth2/authorizations/deny", None, Some(json!({"request": request})))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let q = query_of(v["redirect_to"].as_str().unwrap());
    assert_eq!((q["error"].as_str(), q["iss"].as_str()), ("access_denied", w.srv.url.as_str()));
    // A client deleted meanwhile: its pending requests die with it.
    assert_eq!(w.srv.delete(&format!("/v1/oauth-clients/{}", w.web.0), &w.sk).await.0, StatusCode::NO_CONTENT);
    let (s, v) = w.srv.post("/v1/oauth2/authorizations", access, json!({"request": request})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_authorization_request"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_never_redirect_anywhere_unregistered_postgres() {
    bad_requests_never_redirect_anywhere_unregistered(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_never_redirect_anywhere_unregistered_sqlite() {
    bad_requests_never_redirect_anywhere_unregistered(false).await;
}

async fn logout_ends_the_session_an_id_token_names(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.acme).await;
    let request = w.request(&w.web_request("openid offline_access")).await;
    let code_value = w.code_for(&hosted, &request).await["code"].clone();
    let (s, t) = w.exchange_web(&code_value).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let id_token = t["id_token"].as_str().unwrap();

    // A post-logout URI the client did not register: a page, and nothing ends.
    let url = url::Url::parse_with_params(
        &format!("{}/oauth2/logout", w.srv.url),
        &[("id_token_hint", id_token), ("post_logout_redirect_uri", "https://evil.example/")],
    )
    .unwrap();
    let res = w.raw.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // A forged hint ends nothing either.
    let mut parts: Vec<&str> = id_token.split('.').collect();
    let forged_sig = "A".repeat(parts[2].len());
    parts[2] = &forged_sig;
    let forged = parts.join(".");
    let url =
        url::Url::parse_with_params(&format!("{}/oauth2/logout", w.srv.url), &[("id_token_hint", forged.as_str())])
            .unwrap();
    assert_eq!(w.raw.get(url).send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    let (s, _) = w.refresh_web(t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK, "still signed in");

    let url = url::Url::parse_with_params(
        &format!("{}/oauth2/logout", w.srv.url),
        &[("id_token_hint", id_token), ("post_logout_redirect_uri", APP), ("state", "bye")],
    )
    .unwrap();
    let res = w.raw.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let location = res.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert_eq!(query_of(&location)["state"], "bye");
    // The whole session ended: the hosted page's family too.
    let (s, v) = w
        .srv
        .call(
            reqwest::Method::POST,
            "/v1/sessions/refresh",
            None,
            Some(json!({"refresh_token": hosted["refresh_token"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_ends_the_session_an_id_token_names_postgres() {
    logout_ends_the_session_an_id_token_names(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_ends_the_session_an_id_token_names_sqlite() {
    logout_ends_the_session_an_id_token_names(false).await;
}

async fn a_browser_only_client_calls_the_token_endpoint_from_its_origin(postgres: bool) {
    let w = world(postgres).await;
    let token_url = format!("{}/oauth2/token", w.srv.url);
    // The preflight: the SPA's origin (of its redirect URI) is allowed; another is not.
    for (origin, allowed) in [("http://localhost:5173", true), ("https://evil.example", false)] {
        let res = w
            .raw
            .request(reqwest::Method::OPTIONS, &token_url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        let echoed = res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(echoed.as_deref() == Some(origin), allowed, "{origin}: {echoed:?}");
    }
    // A registered client's origin through its redirect URI, not only loopback.
    let body = json!({"name": "Web SPA", "client_type": "public", "redirect_uris": ["https://spa.example.com/cb"], "scopes": ["openid"]});
    let (s, spa) = w.srv.post("/v1/oauth-clients", &w.sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{spa}");
    let res = w
        .raw
        .request(reqwest::Method::OPTIONS, &token_url)
        .header("origin", "https://spa.example.com")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("access-control-allow-origin").unwrap(), "https://spa.example.com");
    // The request itself: from another client's origin the client is refused.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", "x"),
        ("redirect_uri", SPA),
        ("client_id", &w.spa),
        ("code_verifier", VERIFIER),
    ];
    let res = w.raw.post(&token_url).header("origin", "https://spa.example.com").form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(error(&v), "unauthorized_client", "{v}");
    let res = w.raw.post(&token_url).header("origin", "http://localhost:5173").form(&form).send().await.unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(error(&v), "invalid_grant", "its own origin gets as far as the code: {v}");
    // The authorization endpoint and introspection are never open to browsers.
    let res = w
        .raw
        .request(reqwest::Method::OPTIONS, format!("{}/oauth2/introspect", w.srv.url))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_only_client_calls_the_token_endpoint_from_its_origin_postgres() {
    a_browser_only_client_calls_the_token_endpoint_from_its_origin(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_browser_only_client_calls_the_token_endpoint_from_its_origin_sqlite() {
    a_browser_only_client_calls_the_token_endpoint_from_its_origin(false).await;
}

/// A back-channel logout receiver on loopback: the logout tokens it was sent, and a
/// switch that makes it answer 503 (to prove the sender retries).
async fn logout_receiver(
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (g, d) = (got.clone(), down.clone());
    let app = axum::Router::new().route(
        "/logout",
        axum::routing::post(move |body: String| {
            let (got, down) = (g.clone(), d.clone());
            async move {
                if down.load(std::sync::atomic::Ordering::SeqCst) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let token = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "logout_token")
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default();
                got.lock().unwrap().push(token);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/logout", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got, down)
}

async fn a_revoked_session_is_announced_on_the_back_channel(postgres: bool) {
    let url = common::database_url(postgres).await;
    let srv = Server::start_with(&url, |c| c.webhook_allow_private = true).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let user = srv.user(&sk, "ada@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    srv.membership(&sk, &user, &acme, "member").await;
    let (receiver, got, down) = logout_receiver().await;
    // The URI is checked, set at registration, and can be changed and removed.
    let body = json!({"name": "Web", "client_type": "confidential", "redirect_uris": [APP], "backchannel_logout_uri": "ftp://x"});
    let (s, v) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let body = json!({"name": "Web", "client_type": "confidential", "redirect_uris": [APP], "backchannel_logout_uri": receiver});
    let (s, web) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{web}");
    assert_eq!(web["backchannel_logout_uri"], receiver.as_str());
    let (client, secret) = (id(&web), web["client_secret"].as_str().unwrap().to_string());
    // A second client without a URI gets nothing.
    let body = json!({"name": "Quiet", "client_type": "confidential", "redirect_uris": [APP]});
    let (_, quiet) = srv.post("/v1/oauth-clients", &sk, body).await;
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // The user signs in to both clients in one session (the hosted page's).
    let signed_in = srv.sign_in(&sk, &pk, &user).await;
    let (s, pair) = srv
        .post("/v1/sessions/switch-org", signed_in["access_token"].as_str().unwrap(), json!({"organization_id": acme}))
        .await;
    assert_eq!(s, StatusCode::OK, "{pair}");
    for (cid, csecret) in
        [(client.clone(), secret.clone()), (id(&quiet), quiet["client_secret"].as_str().unwrap().to_string())]
    {
        let params =
            [("response_type", "code"), ("client_id", cid.as_str()), ("redirect_uri", APP), ("scope", "openid")];
        let res = raw
            .get(url::Url::parse_with_params(&format!("{}/oauth2/authorize", srv.url), &params).unwrap())
            .send()
            .await
            .unwrap();
        let request = query_of(res.headers()[header::LOCATION].to_str().unwrap())["authorization"].clone();
        let (s, v) = srv
            .post("/v1/oauth2/authorizations", pair["access_token"].as_str().unwrap(), json!({"request": request}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let code_value = query_of(v["redirect_to"].as_str().unwrap())["code"].clone();
        let form = [("grant_type", "authorization_code"), ("code", code_value.as_str()), ("redirect_uri", APP)];
        let res = raw
            .post(format!("{}/oauth2/token", srv.url))
            .basic_auth(&cid, Some(&csecret))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    // The receiver is down when the session ends: the notice waits, queued by the revocation itself.
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let (s, _) = srv.call(reqwest::Method::POST, "/v1/sessions/revoke", pair["access_token"].as_str(), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let queued: Vec<(String, String)> =
        sqlx::query_as("SELECT client_id, status FROM logout_notices WHERE session_id = $1")
            .bind(pair["session_id"].as_str().unwrap())
            .fetch_all(&srv.db.pool)
            .await
            .unwrap();
    assert_eq!(queued.len(), 1, "one notice, for the client that takes them: {queued:?}");
    assert_eq!(queued[0].0, client);
    // Up again: the retry (5 s later) delivers it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let attempts: i64 = sqlx::query_scalar("SELECT attempts FROM logout_notices WHERE client_id = $1")
            .bind(&client)
            .fetch_one(&srv.db.pool)
            .await
            .unwrap();
        if attempts >= 1 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the sender never tried");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    down.store(false, std::sync::atomic::Ordering::SeqCst);
    while got.lock().unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the retry never came");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let token = got.lock().unwrap()[0].clone();
    let header: Value = {
        use base64::Engine;
        let h = token.split('.').next().unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
    };
    assert_eq!(header["typ"], "logout+jwt");
    let c = claims(&token);
    assert_eq!(c["aud"], client.as_str());
    assert_eq!(c["sid"], pair["session_id"]);
    assert_eq!(c["sub"], user.as_str());
    assert_eq!(c["iss"], srv.url.as_str());
    assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object(), "{c}");
    assert!(c.get("nonce").is_none(), "a logout token carries no nonce: {c}");
    // The receiver holds the token before its answer reaches the sender, which only then
    // marks the notice sent: wait for that (reading it at once raced the sender's commit).
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM logout_notices WHERE client_id = $1")
            .bind(&client)
            .fetch_one(&srv.db.pool)
            .await
            .unwrap();
        if status == "sent" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "delivered, but the notice stays {status}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(got.lock().unwrap().len(), 1, "delivered once");
    // Housekeeping drops sent notices after the retention, like spent tokens.
    let day = chrono::Duration::hours(24);
    let kept = authio_api::sessions::prune(&srv.db, chrono::Utc::now(), day).await.unwrap();
    assert_eq!(kept.notices, 0, "not before the retention");
    let later = chrono::Utc::now() + chrono::Duration::hours(25);
    assert_eq!(authio_api::sessions::prune(&srv.db, later, day).await.unwrap().notices, 1);
    let (_, d) = srv.call(reqwest::Method::GET, "/.well-known/openid-configuration", None, None).await;
    assert_eq!(d["backchannel_logout_supported"], true);
    // Removing the URI records it.
    let (s, v) = srv.patch(&format!("/v1/oauth-clients/{client}"), &sk, json!({"backchannel_logout_uri": ""})).await;
    assert_eq!((s, &v["backchannel_logout_uri"]), (StatusCode::OK, &Value::Null), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_session_is_announced_on_the_back_channel_postgres() {
    a_revoked_session_is_announced_on_the_back_channel(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_session_is_announced_on_the_back_channel_sqlite() {
    a_revoked_session_is_announced_on_the_back_channel(false).await;
}
