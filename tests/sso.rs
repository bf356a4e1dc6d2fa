//! SSO connections (issue 20, part 2): an organization's own OpenID Connect identity
//! provider is connected (its discovery document read at creation, the client secret
//! sealed with AUTHIO_SECRET_KEY and never shown), listed, deleted; a sign-in starts at
//! the provider with PKCE, a nonce and a sealed state, and a callback with a state that
//! does not open is refused. Every scenario runs on PostgreSQL and on SQLite. The whole
//! sign-in against a real provider (node oidc-provider) is scripts/sso-conformance.
mod common;

use common::{code, id, Server};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

async fn connections_are_managed_and_a_sign_in_starts_at_the_provider(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    let idp = common::discovery_stub().await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let path = format!("/v1/organizations/{acme}/connections");

    // The provider's discovery document must answer, for its own issuer.
    let body = json!({"name": "Acme IdP", "issuer": "http://127.0.0.1:9/nothing", "client_id": "authio", "client_secret": "s3cret"});
    let (s, v) = srv.post(&path, &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "connection_discovery_failed"), "{v}");
    let body = json!({"name": "Acme IdP", "issuer": idp, "client_id": "authio", "client_secret": "s3cret", "jit_role": "nonexistent"});
    let (s, v) = srv.post(&path, &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "unknown_role"), "{v}");
    let body = json!({"name": "Acme IdP", "issuer": idp, "client_id": "authio", "client_secret": "s3cret", "jit_role": "member"});
    let (s, created) = srv.post(&path, &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let conn = id(&created);
    assert!(conn.starts_with("conn_"), "{conn}");
    assert_eq!((created["issuer"].as_str(), created["jit_role"].as_str()), (Some(idp.as_str()), Some("member")));

    // The secret is never shown, and is stored sealed, not in clear.
    let (s, list) = srv.get(&path, &sk).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert!(!list.to_string().contains("s3cret"), "{list}");
    let sealed: String = sqlx::query_scalar("SELECT sealed_secret FROM connection_secrets WHERE connection_id = $1")
        .bind(&conn)
        .fetch_one(&srv.db.pool)
        .await
        .unwrap();
    assert!(!sealed.contains("s3cret") && sealed.len() > 40, "{sealed}");
    common::audit_caught_up(&srv.db).await;
    let (_, log) = srv.get("/v1/audit-events?limit=100", &sk).await;
    assert!(!log.to_string().contains("s3cret"));
    let created_entry = log["data"].as_array().unwrap().iter().find(|e| e["type"] == "connection.created").cloned();
    assert_eq!(created_entry.expect("audited")["organization_id"], acme.as_str());

    // The start goes to the provider: code flow, Authio's callback, PKCE, a nonce, a state.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let start = |conn: &str, redirect: &str| common::sso_start_url(&srv.url, &pk, conn, redirect, Some("app-1"));
    let res = raw.get(start(&conn, "http://localhost:5173/cb")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{idp}/authorize?")), "{to}");
    let q = query_of(&to);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "authio");
    assert_eq!(q["redirect_uri"], format!("{}/v1/auth/sso/callback", srv.url));
    assert_eq!(q["code_challenge_method"], "S256");
    assert_ne!(q["code_challenge"], CHALLENGE, "Authio's own verifier at the provider, not the app's");
    assert!(q["nonce"].len() >= 43 && !q["state"].contains("app-1"), "{q:?}");

    // The provider's refusal goes back to the application with error=sso_failed.
    let url = url::Url::parse_with_params(
        &format!("{}/v1/auth/sso/callback", srv.url),
        &[("state", q["state"].as_str()), ("error", "access_denied")],
    )
    .unwrap();
    let res = raw.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = query_of(res.headers()[header::LOCATION].to_str().unwrap());
    assert_eq!((back["error"].as_str(), back["state"].as_str()), ("sso_failed", "app-1"), "{back:?}");
    // A code whose exchange fails (the stand-in has no token endpoint): sso_failed too.
    let url = url::Url::parse_with_params(
        &format!("{}/v1/auth/sso/callback", srv.url),
        &[("state", q["state"].as_str()), ("code", "abc")],
    )
    .unwrap();
    let res = raw.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(query_of(res.headers()[header::LOCATION].to_str().unwrap())["error"], "sso_failed");
    // A state that does not open: 400, no redirect.
    let mut tampered = q["state"].clone();
    tampered.replace_range(10..11, if &tampered[10..11] == "A" { "B" } else { "A" });
    for state in [tampered.as_str(), "nonsense", ""] {
        let url = url::Url::parse_with_params(
            &format!("{}/v1/auth/sso/callback", srv.url),
            &[("state", state), ("code", "abc")],
        )
        .unwrap();
        let res = raw.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        let v: Value = res.json().await.unwrap();
        assert_eq!(code(&v), "invalid_sso_state", "{v}");
    }

    // Starts that cannot go anywhere: an unregistered redirect, another project's key, a bad challenge.
    let res = raw.get(start(&conn, "https://evil.example/cb")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (cs2, tid2, _) = srv.project("other@example.com", "b2b").await;
    let pk2 = srv.publishable_key(&cs2, &tid2).await;
    let url = common::sso_start_url(&srv.url, &pk2, &conn, "http://localhost:5173/cb", None);
    assert_eq!(raw.get(url).send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // A live key allows no unregistered URL, loopback or not, and of Authio's own hosted
    // pages only the SSO return page (which redeems a code only with the verifier it
    // kept itself): an OAuth authorization's, an invitation's sign-in come back there.
    let (s, live) = srv
        .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "live", "environment": "live"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{live}");
    let live_pk = live["publishable_key"].as_str().unwrap();
    assert!(live_pk.starts_with("pk_live_"), "{live}");
    let hosted_sso = format!("{}/hosted/sso?pk={live_pk}&authorization=abc.def", srv.url);
    let res = raw.get(common::sso_start_url(&srv.url, live_pk, &conn, &hosted_sso, Some("k"))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()[header::LOCATION].to_str().unwrap().starts_with(&format!("{idp}/authorize?")));
    for refused in [
        format!("{}/hosted/sign-in?pk={live_pk}", srv.url),
        format!("{}/hosted/sso/other", srv.url),
        "http://localhost:5173/cb".to_string(),
    ] {
        let res = raw.get(common::sso_start_url(&srv.url, live_pk, &conn, &refused, None)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{refused}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(code(&v), "redirect_not_allowed", "{refused}: {v}");
    }

    // Deleted: gone from the list, its secret gone with it, its sign-ins refused.
    assert_eq!(srv.delete(&format!("{path}/{conn}"), &sk).await.0, StatusCode::NO_CONTENT);
    let (_, list) = srv.get(&path, &sk).await;
    assert_eq!(list["data"], json!([]));
    let left: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM connection_secrets").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(left, 0);
    assert_eq!(raw.get(start(&conn, "http://localhost:5173/cb")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_are_managed_and_a_sign_in_starts_at_the_provider_postgres() {
    connections_are_managed_and_a_sign_in_starts_at_the_provider(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_are_managed_and_a_sign_in_starts_at_the_provider_sqlite() {
    connections_are_managed_and_a_sign_in_starts_at_the_provider(false).await;
}

async fn without_a_secret_key_connections_are_off(postgres: bool) {
    let srv = Server::start(postgres).await;
    let idp = common::discovery_stub().await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let body = json!({"name": "Acme IdP", "issuer": idp, "client_id": "authio", "client_secret": "s3cret"});
    let (s, v) = srv.post(&format!("/v1/organizations/{acme}/connections"), &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "encryption_key_missing"), "{v}");
    let (s, v) = srv.call(reqwest::Method::GET, "/v1/auth/sso/callback?state=x&code=y", None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "encryption_key_missing"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_secret_key_connections_are_off_postgres() {
    without_a_secret_key_connections_are_off(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_secret_key_connections_are_off_sqlite() {
    without_a_secret_key_connections_are_off(false).await;
}

async fn an_organization_can_require_its_connection_for_its_domain(postgres: bool) {
    let (dns, zone) = common::dns_server().await;
    let url = common::database_url(postgres).await;
    let srv = Server::start_with(&url, |c| {
        c.secret_key = Some("5a".repeat(32));
        c.webhook_allow_private = true;
        c.dns_resolver = Some(dns);
    })
    .await;
    let idp = common::discovery_stub().await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    // Acme verifies acme.example and connects its IdP.
    let (s, d) = srv.post(&format!("/v1/organizations/{acme}/domains"), &sk, json!({"domain": "acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let value = d["verification"]["value"].as_str().unwrap().to_string();
    zone.lock().unwrap().insert("_authio-challenge.acme.example".into(), vec![value]);
    let (s, v) = srv.post(&format!("/v1/organizations/{acme}/domains/{}/verify", id(&d)), &sk, json!({})).await;
    assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("verified")), "{v}");
    let body = json!({"name": "Acme IdP", "issuer": idp, "client_id": "authio", "client_secret": "s3cret"});
    let (s, conn) = srv.post(&format!("/v1/organizations/{acme}/connections"), &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let conn = id(&conn);

    // Home-realm discovery: the domain's users may use SSO; nobody else's domain has it.
    let lookup = |email: &str| {
        let path = format!("/v1/auth/sso/lookup?email={}", common::urlencode(email));
        let (srv, pk) = (&srv, &pk);
        async move { srv.call_with(reqwest::Method::GET, &path, None, Some(pk), None).await }
    };
    let (s, v) = lookup("ada@acme.example").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({"organization_id": acme, "connection_id": conn, "required": false}));
    let (s, v) = lookup("bob@other.example").await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{v}");
    let (s, _) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "ada@acme.example"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "magic links still allowed");

    // The policy admits only SSO: magic links for the domain are refused with the way in.
    let (s, v) = srv
        .call(
            reqwest::Method::PUT,
            &format!("/v1/organizations/{acme}/policy"),
            Some(&sk),
            Some(json!({"allowed_methods": ["sso"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = lookup("ada@acme.example").await;
    assert_eq!((s, &v["required"]), (StatusCode::OK, &json!(true)), "{v}");
    let (s, v) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "ada@acme.example"})).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "sso_required"), "{v}");
    assert_eq!(v["error"]["details"]["connection_id"], conn.as_str(), "{v}");
    let (s, _) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "bob@other.example"})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "other domains are not affected");
    // Without the publishable key, no lookup.
    let (s, _) = srv.call(reqwest::Method::GET, "/v1/auth/sso/lookup?email=ada%40acme.example", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_organization_can_require_its_connection_for_its_domain_postgres() {
    an_organization_can_require_its_connection_for_its_domain(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_organization_can_require_its_connection_for_its_domain_sqlite() {
    an_organization_can_require_its_connection_for_its_domain(false).await;
}

async fn a_project_connects_a_provider_for_social_sign_in(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    let idp = common::discovery_stub().await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    // The project's own connection: no organization, and so no jit_role.
    let body = json!({"name": "Google", "issuer": idp, "client_id": "authio", "client_secret": "s3cret"});
    let (s, created) = srv.post("/v1/connections", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["organization_id"], Value::Null);
    let conn = id(&created);
    let body =
        json!({"name": "Google", "issuer": idp, "client_id": "authio", "client_secret": "s", "jit_role": "member"});
    let (s, v) = srv.post("/v1/connections", &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    // Listed with the project's, not with an organization's; another project sees none.
    let (_, list) = srv.get("/v1/connections", &sk).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    let acme = srv.org(&sk, "Acme").await;
    let (_, org_list) = srv.get(&format!("/v1/organizations/{acme}/connections"), &sk).await;
    assert_eq!(org_list["data"], json!([]));
    let (_, _, sk2) = srv.project("other@example.com", "b2b").await;
    let (_, other) = srv.get("/v1/connections", &sk2).await;
    assert_eq!(other["data"], json!([]));
    assert_eq!(srv.delete(&format!("/v1/connections/{conn}"), &sk2).await.0, StatusCode::NOT_FOUND);
    // Its sign-in starts at the provider like an organization's.
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = common::sso_start_url(&srv.url, &pk, &conn, "http://localhost:5173/cb", None);
    let res = raw.get(url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.headers()[header::LOCATION].to_str().unwrap().starts_with(&format!("{idp}/authorize?")));
    assert_eq!(srv.delete(&format!("/v1/connections/{conn}"), &sk).await.0, StatusCode::NO_CONTENT);
    let (_, list) = srv.get("/v1/connections", &sk).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_connects_a_provider_for_social_sign_in_postgres() {
    a_project_connects_a_provider_for_social_sign_in(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_project_connects_a_provider_for_social_sign_in_sqlite() {
    a_project_connects_a_provider_for_social_sign_in(false).await;
}

/// What the GitHub stand-in checks and answers: the PKCE challenge of the sign-in under
/// way, and the account's email addresses.
#[derive(Default)]
struct GithubStub {
    challenge: String,
    emails: Value,
}

/// A stand-in for GitHub (Enterprise Server paths: `/login/oauth/access_token`,
/// `/api/v3/user/emails`), which cannot run locally: it redeems the code `gh-code` for
/// the client `Iv1.authio` with its secret and the verifier of the recorded challenge,
/// as GitHub does (a refusal is a 200 with `error`), and answers the emails to its token
/// only (with a User-Agent, which GitHub requires).
async fn github_stub(stub: std::sync::Arc<std::sync::Mutex<GithubStub>>) -> String {
    use axum::routing::{get, post};
    use base64::Engine;
    use sha2::Digest;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (s1, s2) = (stub.clone(), stub);
    let app = axum::Router::new()
        .route(
            "/login/oauth/access_token",
            post(move |headers: axum::http::HeaderMap, body: String| {
                let stub = s1.clone();
                async move {
                    let f: HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(sha2::Sha256::digest(verifier.as_bytes()));
                    let ok = headers.get("accept").is_some_and(|v| v == "application/json")
                        && f.get("client_id").map(String::as_str) == Some("Iv1.authio")
                        && f.get("client_secret").map(String::as_str) == Some("gh-secret")
                        && f.get("code").map(String::as_str) == Some("gh-code")
                        && challenge == stub.lock().unwrap().challenge;
                    axum::Json(if ok {
                        json!({"access_token": "gho_stand_in", "token_type": "bearer", "scope": "read:user,user:email"})
                    } else {
                        json!({"error": "bad_verification_code"})
                    })
                }
            }),
        )
        .route(
            "/api/v3/user/emails",
            get(move |headers: axum::http::HeaderMap| {
                let stub = s2.clone();
                async move {
                    let authorized = headers.get("authorization").is_some_and(|v| v == "Bearer gho_stand_in")
                        && headers.contains_key("user-agent");
                    if !authorized {
                        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "Bad credentials"})));
                    }
                    (StatusCode::OK, axum::Json(stub.lock().unwrap().emails.clone()))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

async fn github_signs_users_in_by_their_verified_primary_email(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    let stub = std::sync::Arc::new(std::sync::Mutex::new(GithubStub::default()));
    let github = github_stub(stub.clone()).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;

    // GitHub is social sign-in: the project's, never an organization's.
    let body = json!({"name": "GitHub", "protocol": "github", "client_id": "Iv1.authio", "client_secret": "gh-secret"});
    let (s, v) = srv.post(&format!("/v1/organizations/{acme}/connections"), &sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let (s, v) = srv
        .post(
            "/v1/connections",
            &sk,
            json!({"name": "x", "protocol": "gitlab", "client_id": "a", "client_secret": "b"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    // github.com by default; here a GitHub Enterprise Server address (the stand-in).
    let body = json!({"name": "GitHub", "protocol": "github", "issuer": github, "client_id": "Iv1.authio", "client_secret": "gh-secret"});
    let (s, conn) = srv.post("/v1/connections", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    assert_eq!((conn["protocol"].as_str(), conn["issuer"].as_str()), (Some("github"), Some(github.as_str())));
    assert!(!conn.to_string().contains("gh-secret"), "{conn}");
    let conn = id(&conn);

    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let sign_in = |code_value: &'static str| {
        let (raw, srv, pk, conn, stub, github) = (&raw, &srv, &pk, &conn, &stub, &github);
        async move {
            let url = common::sso_start_url(&srv.url, pk, conn, "http://localhost:5173/cb", Some("app-1"));
            let res = raw.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            let to = res.headers()[header::LOCATION].to_str().unwrap().to_string();
            assert!(to.starts_with(&format!("{github}/login/oauth/authorize?")), "{to}");
            let q = query_of(&to);
            assert_eq!((q["client_id"].as_str(), q["scope"].as_str()), ("Iv1.authio", "read:user user:email"));
            assert_eq!(q["redirect_uri"], format!("{}/v1/auth/sso/callback", srv.url));
            assert_eq!(q["code_challenge_method"], "S256");
            stub.lock().unwrap().challenge = q["code_challenge"].clone();
            let url = url::Url::parse_with_params(
                &format!("{}/v1/auth/sso/callback", srv.url),
                &[("state", q["state"].as_str()), ("code", code_value)],
            )
            .unwrap();
            let res = raw.get(url).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            query_of(res.headers()[header::LOCATION].to_str().unwrap())
        }
    };

    // The primary address must be verified at GitHub; others do not count.
    stub.lock().unwrap().emails = json!([
        {"email": "octo@users.noreply.github.com", "primary": false, "verified": true, "visibility": null},
        {"email": "Octo@Example.com", "primary": true, "verified": false, "visibility": "public"},
    ]);
    let back = sign_in("gh-code").await;
    assert_eq!(back["error"], "sso_failed", "{back:?}");
    assert!(back["error_description"].contains("verified primary"), "{back:?}");
    // A code GitHub refuses.
    stub.lock().unwrap().emails[1]["verified"] = json!(true);
    let back = sign_in("stale-code").await;
    assert_eq!(back["error"], "sso_failed", "{back:?}");
    assert!(back["error_description"].contains("bad_verification_code"), "{back:?}");
    // Verified: a new user of the project, signed up and in (no organization).
    let back = sign_in("gh-code").await;
    assert_eq!(back.get("state").map(String::as_str), Some("app-1"), "{back:?}");
    let body = json!({"code": back["code"], "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"});
    let (s, session) = srv.front("/v1/auth/handoffs/exchange", &pk, body).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], "octo@example.com", "{session}");
    assert!(session["active_organization"].is_null(), "{session}");
    // Again: the same user, linked by the email.
    let back = sign_in("gh-code").await;
    let body = json!({"code": back["code"], "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"});
    let (_, again) = srv.front("/v1/auth/handoffs/exchange", &pk, body).await;
    assert_eq!(again["user"]["id"], session["user"]["id"], "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_signs_users_in_by_their_verified_primary_email_postgres() {
    github_signs_users_in_by_their_verified_primary_email(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn github_signs_users_in_by_their_verified_primary_email_sqlite() {
    github_signs_users_in_by_their_verified_primary_email(false).await;
}

async fn a_multi_tenant_provider_is_accepted_by_its_issuer_template(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    // Microsoft Entra ID's `common` endpoint: the document names a template issuer.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": format!("{base}/{{tenantid}}/v2.0"),
        "authorization_endpoint": format!("{base}/common/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/common/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/common/discovery/v2.0/keys"),
    });
    let app = axum::Router::new().route(
        "/{tenant}/v2.0/.well-known/openid-configuration",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let body = |issuer: String| json!({"name": "Microsoft", "issuer": issuer, "client_id": "a", "client_secret": "b"});
    let (s, v) = srv.post("/v1/connections", &sk, body(format!("{base}/common/v2.0"))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // The template differs from the configured issuer in its tenant segment only.
    let (s, v) = srv.post("/v1/connections", &sk, body(format!("{base}/a/b/v2.0"))).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "connection_discovery_failed"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_multi_tenant_provider_is_accepted_by_its_issuer_template_postgres() {
    a_multi_tenant_provider_is_accepted_by_its_issuer_template(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_multi_tenant_provider_is_accepted_by_its_issuer_template_sqlite() {
    a_multi_tenant_provider_is_accepted_by_its_issuer_template(false).await;
}

/// SSO starts are limited per project and client address (`AUTHIO_SSO_START_LIMIT`, here
/// 3): the fourth is `429 rate_limited` with `Retry-After` (refused before anything is
/// kept); another project's starts from the same address are counted apart; an
/// `X-Forwarded-For` from a peer that is no trusted proxy changes nothing.
async fn sso_starts_are_limited_per_client_address(postgres: bool) {
    let url = common::database_url(postgres).await;
    let srv = common::Server::start_with(&url, |c| {
        c.secret_key = Some("5a".repeat(32));
        c.webhook_allow_private = true;
        c.sso_start_limit = 3;
    })
    .await;
    let idp = common::discovery_stub().await;
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut projects = Vec::new();
    for owner in ["owner@example.com", "other@example.com"] {
        let (cs, tid, sk) = srv.project(owner, "b2b").await;
        let pk = srv.publishable_key(&cs, &tid).await;
        let body = json!({"name": "Google", "issuer": idp, "client_id": "authio", "client_secret": "s3cret"});
        let (s, created) = srv.post("/v1/connections", &sk, body).await;
        assert_eq!(s, StatusCode::CREATED, "{created}");
        projects.push((pk, id(&created)));
    }
    let start = |i: usize, forwarded: &str| {
        let (pk, conn) = &projects[i];
        let url = common::sso_start_url(&srv.url, pk, conn, "http://localhost:5173/cb", None);
        raw.get(url).header("x-forwarded-for", forwarded).send()
    };
    for n in 0..3 {
        assert_eq!(start(0, &format!("203.0.113.{n}")).await.unwrap().status(), StatusCode::SEE_OTHER);
    }
    let res = start(0, "198.51.100.7").await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(code(&body), "rate_limited", "{body}");
    // The other project's bucket is its own.
    assert_eq!(start(1, "203.0.113.1").await.unwrap().status(), StatusCode::SEE_OTHER);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sso_starts_are_limited_per_client_address_postgres() {
    sso_starts_are_limited_per_client_address(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sso_starts_are_limited_per_client_address_sqlite() {
    sso_starts_are_limited_per_client_address(false).await;
}
