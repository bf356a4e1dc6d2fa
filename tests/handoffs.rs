//! Handoffs from the hosted pages to the application: a signed-in session's context is
//! handed over by a one-time, PKCE-bound code (`POST /v1/auth/handoffs`, then
//! `/v1/auth/handoffs/exchange`). The code gives a token family of its own in the same
//! session and organization; it is single use (a second use revokes the session),
//! short-lived, bound to its verifier and project; redirect URLs follow the publishable
//! key's environment; the project's brand is readable with the key. Every scenario runs
//! on PostgreSQL and on SQLite.
mod common;

use common::{claims, code, Server};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const APP: &str = "http://localhost:5173/callback";

struct World {
    srv: Server,
    cs: String,
    tid: String,
    sk: String,
    pk: String,
    user: String,
    acme: String,
    globex: String,
}

async fn world(postgres: bool) -> World {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let user = srv.user(&sk, "ada@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &user, &acme, "member").await;
    srv.membership(&sk, &user, &globex, "admin").await;
    World { srv, cs, tid, sk, pk, user, acme, globex }
}

impl World {
    /// The hosted page's pair: signed in and switched into `org`.
    async fn hosted_pair(&self, org: &str) -> Value {
        let signed_in = self.srv.sign_in(&self.sk, &self.pk, &self.user).await;
        let access = signed_in["access_token"].as_str().unwrap();
        let (s, pair) = self.srv.post("/v1/sessions/switch-org", access, json!({"organization_id": org})).await;
        assert_eq!(s, StatusCode::OK, "{pair}");
        pair
    }

    async fn issue(&self, access: &str, pk: &str, body: Value) -> (StatusCode, Value) {
        self.srv.call_with(Method::POST, "/v1/auth/handoffs", Some(access), Some(pk), Some(body)).await
    }

    async fn code_for(&self, pair: &Value) -> String {
        let access = pair["access_token"].as_str().unwrap();
        let body = json!({"redirect_url": APP, "code_challenge": CHALLENGE, "code_challenge_method": "S256"});
        let (s, v) = self.issue(access, &self.pk, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let c = v["code"].as_str().unwrap().to_string();
        assert!(c.starts_with("hc_hoff_"), "{c}");
        c
    }

    async fn exchange(&self, pk: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
        self.srv.front("/v1/auth/handoffs/exchange", pk, json!({"code": code, "code_verifier": verifier})).await
    }
}

async fn refresh(srv: &Server, token: &Value) -> (StatusCode, Value) {
    srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": token}))).await
}

async fn the_application_gets_its_own_family_in_the_chosen_organization(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.globex).await;
    let code_value = w.code_for(&hosted).await;
    let (s, app) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{app}");
    assert_eq!(app["session_id"], hosted["session_id"], "the same session");
    assert_eq!(app["active_organization"]["id"], w.globex.as_str());
    assert_eq!(app["active_organization"]["role"], "admin");
    assert_eq!(app["memberships"].as_array().map(Vec::len), Some(2));
    let c = claims(app["access_token"].as_str().unwrap());
    assert_eq!(c["act_org"], w.globex.as_str());
    assert_eq!(c["sub"], w.user.as_str());
    assert_ne!(app["refresh_token"], hosted["refresh_token"], "a family of its own");

    // Both families refresh on their own, in Globex.
    let (s, r) = refresh(&w.srv, &app["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["active_organization"]["id"], w.globex.as_str());
    let (s, r) = refresh(&w.srv, &hosted["refresh_token"]).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    // A code for the "no organization" context of a fresh sign-in.
    let signed_in = w.srv.sign_in(&w.sk, &w.pk, &w.user).await;
    let code_value = w.code_for(&signed_in).await;
    let (s, app) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{app}");
    assert_eq!(app["session_id"], signed_in["session_id"]);
    assert_eq!(app["active_organization"], signed_in["active_organization"]);

    // Issue and redemption are audited, with the user as actor and the organization.
    common::audit_caught_up(&w.srv.db).await;
    let (s, log) = w.srv.get("/v1/audit-events?limit=100", &w.sk).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let entries = log["data"].as_array().unwrap();
    let of = |kind: &str| entries.iter().filter(|e| e["type"] == kind).collect::<Vec<_>>();
    assert_eq!(of("session.handoff_issued").len(), 2, "{log}");
    let redeemed = of("session.handoff_redeemed");
    assert_eq!(redeemed.len(), 2, "{log}");
    assert!(redeemed.iter().any(|e| e["organization_id"] == w.globex.as_str()), "{log}");
    assert!(redeemed.iter().all(|e| e["actor"]["id"] == w.user.as_str()), "{log}");
    let text = log.to_string();
    assert!(!text.contains(&code_value), "the code itself is never recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_application_gets_its_own_family_in_the_chosen_organization_postgres() {
    the_application_gets_its_own_family_in_the_chosen_organization(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_application_gets_its_own_family_in_the_chosen_organization_sqlite() {
    the_application_gets_its_own_family_in_the_chosen_organization(false).await;
}

async fn a_code_is_single_use_and_its_reuse_revokes_the_session(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.acme).await;
    let code_value = w.code_for(&hosted).await;
    let (s, app) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{app}");
    let (s, again) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!((s, code(&again)), (StatusCode::BAD_REQUEST, "invalid_handoff"), "{again}");
    // Whoever replayed it may hold the tokens: the session is over, every family of it.
    for pair in [&app, &hosted] {
        let (s, r) = refresh(&w.srv, &pair["refresh_token"]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{r}");
        let (s, _) = w.srv.get("/v1/me", pair["access_token"].as_str().unwrap()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    common::audit_caught_up(&w.srv.db).await;
    let (_, log) = w.srv.get("/v1/audit-events?limit=100", &w.sk).await;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(actions.contains(&"session.handoff_reused"), "{actions:?}");
    assert!(actions.contains(&"session.revoked"), "{actions:?}");

    // Concurrent redemptions of one code: exactly one wins.
    let hosted = w.hosted_pair(&w.acme).await;
    let code_value = w.code_for(&hosted).await;
    let tries = join_all((0..8).map(|_| w.exchange(&w.pk, &code_value, VERIFIER))).await;
    let won = tries.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(won, 1, "{tries:?}");
    assert!(tries.iter().all(|(s, v)| *s == StatusCode::OK || code(v) == "invalid_handoff"), "{tries:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_is_single_use_and_its_reuse_revokes_the_session_postgres() {
    a_code_is_single_use_and_its_reuse_revokes_the_session(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_is_single_use_and_its_reuse_revokes_the_session_sqlite() {
    a_code_is_single_use_and_its_reuse_revokes_the_session(false).await;
}

async fn wrong_verifier_project_or_code_are_refused(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.acme).await;
    let code_value = w.code_for(&hosted).await;
    // Another project's key, with the right code and verifier.
    let (ocs, otid, _) = w.srv.project("other@example.com", "b2b").await;
    let other_pk = w.srv.publishable_key(&ocs, &otid).await;
    let (s, v) = w.exchange(&other_pk, &code_value, VERIFIER).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_handoff"), "{v}");
    // A wrong verifier (well formed).
    let wrong = "x".repeat(43);
    let (s, v) = w.exchange(&w.pk, &code_value, &wrong).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_handoff"), "{v}");
    // A malformed verifier names the field.
    let (s, v) = w.exchange(&w.pk, &code_value, "short").await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    assert_eq!(v["error"]["details"]["field"], "code_verifier", "{v}");
    // A made-up code, and one whose secret was changed (its last digit, to another one).
    let last = if code_value.ends_with('0') { '1' } else { '0' };
    let changed = format!("{}{last}", &code_value[..code_value.len() - 1]);
    for bogus in ["hc_bogus", "hc_hoff_nope.00", &changed] {
        let (s, v) = w.exchange(&w.pk, bogus, VERIFIER).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_handoff"), "{bogus}: {v}");
    }
    // None of that spent it: the right key and verifier still redeem it.
    let (s, v) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Without a key: 401.
    let body = json!({"code": code_value, "code_verifier": VERIFIER});
    let (s, v) = w.srv.call(Method::POST, "/v1/auth/handoffs/exchange", None, Some(body)).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_verifier_project_or_code_are_refused_postgres() {
    wrong_verifier_project_or_code_are_refused(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_verifier_project_or_code_are_refused_sqlite() {
    wrong_verifier_project_or_code_are_refused(false).await;
}

async fn issuing_needs_the_users_token_and_its_projects_key(postgres: bool) {
    let w = world(postgres).await;
    let hosted = w.hosted_pair(&w.acme).await;
    let access = hosted["access_token"].as_str().unwrap();
    let good = json!({"redirect_url": APP, "code_challenge": CHALLENGE, "code_challenge_method": "S256"});
    // Unauthenticated: no token, or no key.
    let (s, v) = w.srv.call_with(Method::POST, "/v1/auth/handoffs", None, Some(&w.pk), Some(good.clone())).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    let (s, v) = w.srv.call(Method::POST, "/v1/auth/handoffs", Some(access), Some(good.clone())).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    // Another project's key with this project's token.
    let (ocs, otid, _) = w.srv.project("other@example.com", "b2b").await;
    let other_pk = w.srv.publishable_key(&ocs, &otid).await;
    let (s, v) = w.issue(access, &other_pk, good.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    // Bad challenges and methods name their field.
    for (body, field) in [
        (
            json!({"redirect_url": APP, "code_challenge": CHALLENGE, "code_challenge_method": "plain"}),
            "code_challenge_method",
        ),
        (json!({"redirect_url": APP, "code_challenge": "abc", "code_challenge_method": "S256"}), "code_challenge"),
    ] {
        let (s, v) = w.issue(access, &w.pk, body).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
        assert_eq!(v["error"]["details"]["field"], field, "{v}");
    }
    // Redirects: a test key allows loopback, not a stranger's site; a registered URL is
    // allowed. A live key allows only registered URLs.
    let evil = json!({"redirect_url": "https://evil.example.net/cb", "code_challenge": CHALLENGE, "code_challenge_method": "S256"});
    let (s, v) = w.issue(access, &w.pk, evil.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{v}");
    let (s, v) = w.srv.put("/v1/redirect-urls", &w.sk, json!({"redirect_urls": ["https://app.example.com"]})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let listed = json!({"redirect_url": "https://app.example.com/cb", "code_challenge": CHALLENGE, "code_challenge_method": "S256"});
    let (s, v) = w.issue(access, &w.pk, listed.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, k) = w
        .srv
        .post(&format!("/v1/session/tenants/{}/api-keys", w.tid), &w.cs, json!({"name": "live", "environment": "live"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let live_pk = k["publishable_key"].as_str().unwrap().to_string();
    let (s, v) = w.issue(access, &live_pk, good.clone()).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{v}");
    let (s, v) = w.issue(access, &live_pk, listed).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Authio's own hosted pages take magic links back (any key), never a handoff code.
    let own = format!("{}/hosted/invitation?pk={live_pk}", w.srv.url);
    let own = json!({"redirect_url": own, "code_challenge": CHALLENGE, "code_challenge_method": "S256"});
    let (s, v) = w.issue(access, &live_pk, own).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{v}");

    // A context that was closed (another tab signed out of Acme) hands nothing over.
    let (s, _) = w.srv.post(&format!("/v1/sessions/contexts/{}/revoke", w.acme), access, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = w.issue(access, &w.pk, good).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuing_needs_the_users_token_and_its_projects_key_postgres() {
    issuing_needs_the_users_token_and_its_projects_key(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issuing_needs_the_users_token_and_its_projects_key_sqlite() {
    issuing_needs_the_users_token_and_its_projects_key(false).await;
}

async fn a_code_follows_its_organization(postgres: bool) {
    let w = world(postgres).await;
    // Deactivated in Acme after the code was issued: the code gives nothing in Acme.
    let hosted = w.hosted_pair(&w.acme).await;
    let code_value = w.code_for(&hosted).await;
    let (_, ms) = w.srv.get(&format!("/v1/users/{}/memberships", w.user), &w.sk).await;
    let acme_membership = ms["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organization_id"] == w.acme.as_str())
        .and_then(|m| m["id"].as_str())
        .unwrap()
        .to_string();
    let (s, v) = w.srv.post(&format!("/v1/memberships/{acme_membership}/deactivate"), &w.sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(code(&v), "not_a_member", "{v}");
    // Globex is untouched.
    let hosted = w.hosted_pair(&w.globex).await;
    let code_value = w.code_for(&hosted).await;
    let (s, v) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["active_organization"]["id"], w.globex.as_str());
    // A signed-out session's code gives nothing.
    let code_value = w.code_for(&hosted).await;
    let (s, _) = w.srv.post("/v1/sessions/revoke", hosted["access_token"].as_str().unwrap(), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = w.exchange(&w.pk, &code_value, VERIFIER).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_handoff"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_follows_its_organization_postgres() {
    a_code_follows_its_organization(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_follows_its_organization_sqlite() {
    a_code_follows_its_organization(false).await;
}

async fn the_project_brand_and_hosted_links(postgres: bool) {
    let w = world(postgres).await;
    let (s, v) = w.srv.call_with(Method::GET, "/v1/auth/project", None, Some(&w.pk), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"id": w.tid, "name": "Project", "environment": "test", "mode": "b2b"}));
    let (s, v) = w.srv.call(Method::GET, "/v1/auth/project", None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    let (s, v) = w.srv.call_with(Method::GET, "/v1/auth/project", None, Some("pk_test_nope"), None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");
    // A magic link may come back to Authio's own hosted pages whatever the key; another
    // path of Authio's origin is not a hosted page.
    let (s, k) = w
        .srv
        .post(&format!("/v1/session/tenants/{}/api-keys", w.tid), &w.cs, json!({"name": "live", "environment": "live"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let live_pk = k["publishable_key"].as_str().unwrap().to_string();
    let hosted = format!("{}/hosted/magic-link?pk={live_pk}", w.srv.url);
    let (s, v) = w
        .srv
        .front("/v1/auth/magic-links", &live_pk, json!({"email": "ada@example.com", "redirect_url": hosted}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let elsewhere = format!("{}/v1/me", w.srv.url);
    let (s, v) = w
        .srv
        .front("/v1/auth/magic-links", &live_pk, json!({"email": "ada@example.com", "redirect_url": elsewhere}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_project_brand_and_hosted_links_postgres() {
    the_project_brand_and_hosted_links(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_project_brand_and_hosted_links_sqlite() {
    the_project_brand_and_hosted_links(false).await;
}
