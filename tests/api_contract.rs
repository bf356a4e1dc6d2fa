//! The HTTP contract: error shapes and codes for bad input, pagination, idempotency,
//! membership rules over HTTP, and the OpenAPI document. Run on both databases.
mod common;

use common::{code, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;

async fn raw(srv: &Server, method: Method, path: &str, token: &str, ctype: &str, body: &str) -> (StatusCode, Value) {
    let res = srv
        .http
        .request(method, format!("{}{path}", srv.url))
        .bearer_auth(token)
        .header("content-type", ctype)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = res.status();
    (s, res.json().await.unwrap_or(Value::Null))
}

async fn bad_input_gets_clear_4xx(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let cases: Vec<(&str, &str, &str, StatusCode, &str)> = vec![
        ("/v1/users", "application/json", "{not json", StatusCode::BAD_REQUEST, "invalid_request"),
        ("/v1/users", "application/json", "[]", StatusCode::BAD_REQUEST, "invalid_request"),
        ("/v1/users", "application/json", "{}", StatusCode::BAD_REQUEST, "invalid_request"),
        ("/v1/users", "application/json", r#"{"email": 42}"#, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "/v1/users",
            "text/plain",
            r#"{"email": "a@b.co"}"#,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        ("/v1/users", "application/json", r#"{"email": "not-an-email"}"#, StatusCode::BAD_REQUEST, "invalid_request"),
        // Found by schemathesis: a 64-character domain label cannot be delivered to.
        (
            "/v1/users",
            "application/json",
            r#"{"email": "0@0.0000000000000000000000000000000000000000000000000000000000000000000000"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        ("/v1/organizations", "application/json", r#"{"name": ""}"#, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "/v1/organizations",
            "application/json",
            r#"{"name": "A", "slug": "Not A Slug"}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "/v1/organizations",
            "application/json",
            r#"{"name": "A", "domains": ["not a domain"]}"#,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        ("/v1/memberships", "application/json", r#"{"user_id": "user_x"}"#, StatusCode::BAD_REQUEST, "invalid_request"),
        (
            "/v1/memberships",
            "application/json",
            r#"{"user_id": "user_x", "organization_id": "org_y"}"#,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (path, ctype, body, status, want) in cases {
        let (s, v) = raw(&srv, Method::POST, path, &sk, ctype, body).await;
        assert_eq!((s, code(&v)), (status, want), "POST {path} {body}: {v}");
        assert!(v["error"]["message"].is_string());
    }
    let (_, v) = raw(&srv, Method::POST, "/v1/users", &sk, "application/json", r#"{"email": "nope"}"#).await;
    assert_eq!(v["error"]["details"]["field"], "email");
    let (s, v) = raw(
        &srv,
        Method::POST,
        "/v1/session/tenants",
        &cs,
        "application/json",
        r#"{"name": "X", "mode": "enterprise"}"#,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"));
    let (s, v) =
        raw(&srv, Method::PATCH, &format!("/v1/session/tenants/{tid}"), &cs, "application/json", r#"{"mode": 7}"#)
            .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"));
    for q in ["limit=0", "limit=101", "limit=-1", "limit=abc"] {
        let (s, v) = srv.get(&format!("/v1/users?{q}"), &sk).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{q}");
    }
    let (s, v) = srv.get("/v1/memberships?status=gone", &sk).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"));
    for path in ["/v1/organizations/%00", "/v1/users?email=a%00b", "/v1/users?after=%00"] {
        let (s, v) = srv.get(path, &sk).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{path}");
    }
    let (s, v) = raw(
        &srv,
        Method::POST,
        "/v1/memberships",
        &sk,
        "application/json",
        r#"{"user_id": "user_\u0000", "organization_id": "org_x"}"#,
    )
    .await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    for path in ["/v1/users/user_nope", "/v1/organizations/org_%C3%A9", "/v1/memberships/mem_x", "/v1/nowhere"] {
        let (s, v) = srv.get(path, &sk).await;
        assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let (s, v) = srv.call(Method::PUT, "/v1/users", Some(&sk), None).await;
    assert_eq!((s, code(&v)), (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"));
    let huge = format!(r#"{{"email": "{}@example.com"}}"#, "a".repeat(3 << 20));
    let (s, _) = raw(&srv, Method::POST, "/v1/users", &sk, "application/json", &huge).await;
    assert!(s == StatusCode::PAYLOAD_TOO_LARGE || s == StatusCode::BAD_REQUEST, "{s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_postgres() {
    bad_input_gets_clear_4xx(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_sqlite() {
    bad_input_gets_clear_4xx(false).await;
}

async fn membership_rules_over_http(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let alice = srv.user(&sk, "alice@example.com").await;
    let bob = srv.user(&sk, "bob@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let (s, e) = srv.post("/v1/organizations", &sk, json!({"name": "Other", "slug": "acme"})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "slug_taken"));
    let m = srv.membership(&sk, &alice, &acme, "admin").await;
    let (s, e) = srv.post("/v1/memberships", &sk, json!({"user_id": alice, "organization_id": acme})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "membership_exists"));
    let (s, e) =
        srv.post("/v1/memberships", &sk, json!({"user_id": bob, "organization_id": acme, "role": "owner"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"));
    let (s, e) = srv.patch(&format!("/v1/memberships/{m}"), &sk, json!({"role": "wizard"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"));
    let (s, e) = srv.post(&format!("/v1/memberships/{m}/reactivate"), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invalid_membership_transition"));
    let (s, v) = srv.post(&format!("/v1/memberships/{m}/deactivate"), &sk, json!({})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("inactive")));
    let (s, e) = srv.post(&format!("/v1/memberships/{m}/deactivate"), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invalid_membership_transition"));
    let (s, v) = srv.post(&format!("/v1/memberships/{m}/reactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((v["status"].as_str(), v["role"].as_str()), (Some("active"), Some("admin")), "role kept");
    // The project's backend may leave an organization without an admin.
    let (s, v) = srv.patch(&format!("/v1/memberships/{m}"), &sk, json!({"role": "member"})).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("member")));
    // Deleting a user removes their memberships.
    let m2 = srv.membership(&sk, &bob, &acme, "member").await;
    assert_eq!(srv.delete(&format!("/v1/users/{bob}"), &sk).await.0, StatusCode::NO_CONTENT);
    assert_eq!(srv.get(&format!("/v1/memberships/{m2}"), &sk).await.0, StatusCode::NOT_FOUND);
    assert_eq!(srv.get(&format!("/v1/users/{bob}"), &sk).await.0, StatusCode::NOT_FOUND);
    // The email is free again once its user is deleted.
    srv.user(&sk, "BOB@example.com").await;
    assert_eq!(srv.delete(&format!("/v1/memberships/{m}"), &sk).await.0, StatusCode::NO_CONTENT);
    assert_eq!(srv.get(&format!("/v1/memberships/{m}"), &sk).await.0, StatusCode::NOT_FOUND);
    // Organizations exist only in b2b mode.
    assert_eq!(srv.delete(&format!("/v1/organizations/{acme}"), &sk).await.0, StatusCode::NO_CONTENT);
    let (s, _) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"mode": "b2c"})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = srv.post("/v1/organizations", &sk, json!({"name": "Late"})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "organizations_disabled"));
    // A revoked key answers 401 at once.
    let (_, keys) = srv.get(&format!("/v1/session/tenants/{tid}/api-keys"), &cs).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    assert!(keys["data"][0].get("secret").is_none(), "secrets are never listed");
    assert_eq!(
        srv.delete(&format!("/v1/session/tenants/{tid}/api-keys/{key_id}"), &cs).await.0,
        StatusCode::NO_CONTENT
    );
    let (s, e) = srv.get("/v1/users", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_rules_postgres() {
    membership_rules_over_http(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_rules_sqlite() {
    membership_rules_over_http(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pagination_walks_every_item_once() {
    let srv = Server::start(false).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let mut want = BTreeSet::new();
    for i in 0..7 {
        want.insert(srv.user(&sk, &format!("p{i}@example.com")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/users?limit=3&after={c}"),
            None => "/v1/users?limit=3".to_string(),
        };
        let (s, page) = srv.get(&path, &sk).await;
        assert_eq!(s, StatusCode::OK);
        let items = page["data"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(items.iter().map(common::id));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), want);

    // A cursor no list gave out is refused, on every cursor list, naming the field.
    for path in ["/v1/users", "/v1/organizations", "/v1/memberships", "/v1/webhook-endpoints"] {
        for bad in ["garbage", "user_%27--", "USER_01ABC", "_x", "x_", &format!("user_{}", "a".repeat(80))] {
            let (s, e) = srv.get(&format!("{path}?after={bad}"), &sk).await;
            assert_eq!((s, common::code(&e)), (StatusCode::BAD_REQUEST, "invalid_cursor"), "{path} {bad}: {e}");
            assert_eq!(e["error"]["details"]["field"], "after");
        }
    }
}

/// Hostile bodies and tokens: each a stable 4xx, and nothing written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_is_refused_and_writes_nothing() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let events_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&srv.db.pool).await.unwrap();
    let send = |path: &'static str, body: Vec<u8>| {
        let req = srv
            .http
            .post(format!("{}{path}", srv.url))
            .bearer_auth(&sk)
            .header("content-type", "application/json")
            .body(body);
        async move {
            let res = req.send().await.unwrap();
            let s = res.status();
            (s, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // 10,000 levels of nesting: serde's recursion limit, a 400.
    let deep = format!(r#"{{"email": "a@example.com", "first_name": {}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    let (s, v) = send("/v1/users", deep.into_bytes()).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    // Bytes that are not UTF-8.
    let mut bad = br#"{"email": "a"#.to_vec();
    bad.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    bad.extend_from_slice(br#"@example.com"}"#);
    let (s, v) = send("/v1/users", bad).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    // Over a megabyte.
    let huge = format!(r#"{{"email": "a@example.com", "first_name": "{}"}}"#, "x".repeat(2 << 20));
    let (s, v) = send("/v1/users", huge.into_bytes()).await;
    assert_eq!((s, code(&v)), (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"), "{v}");
    // Not JSON at all, and JSON of the wrong kind.
    for body in ["email=a@example.com", "[]", "null", "\"a@example.com\""] {
        let (s, v) = send("/v1/users", body.as_bytes().to_vec()).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{body}: {v}");
    }
    // Tokens: unsigned (`alg: none`), a publishable key as a bearer, a secret key of
    // another shape, a JWT on a secret-key route.
    use base64::Engine;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"sub": "user_x", "aud": tid, "sid": "sess_x", "exp": 4_000_000_000u64, "iat": 1}))
    );
    for (path, token) in [("/v1/me", none.as_str()), ("/v1/users", pk.as_str()), ("/v1/users", "sk_test_forged")] {
        let (s, v) = srv.get(path, token).await;
        assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{path} {token}: {v}");
    }
    let events_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(events_after, events_before, "nothing was written");
}

/// A body with an unknown, missing or mistyped field is `400 invalid_request` naming it,
/// and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_errors_name_their_field() {
    let srv = Server::start(false).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    for (body, field) in [
        (serde_json::json!({"email": "a@example.com", "emial": "typo"}), "emial"),
        (serde_json::json!({"first_name": "A"}), "email"),
        (serde_json::json!({"email": 5}), "email"),
        (serde_json::json!({"email": "a@example.com", "email_verified": "yes"}), "email_verified"),
    ] {
        let (s, e) = srv.post("/v1/users", &sk, body.clone()).await;
        assert_eq!((s, common::code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{body}: {e}");
        assert_eq!(e["error"]["details"]["field"], field, "{body}: {e}");
    }
    let (s, e) = srv.post("/v1/organizations", &sk, serde_json::json!({"name": "Acme", "owner": "x"})).await;
    assert_eq!((s, &e["error"]["details"]["field"]), (StatusCode::BAD_REQUEST, &serde_json::json!("owner")), "{e}");
    let (_, users) = srv.get("/v1/users", &sk).await;
    assert_eq!(users["data"].as_array().unwrap().len(), 0, "nothing was written");
}

/// Introspection as RFC 7662 clients send it (form body, HTTP Basic client
/// credentials: the key id and the secret key), and a cacheable JWKS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_speaks_rfc_7662() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (_, keys) = srv.get(&format!("/v1/session/tenants/{tid}/api-keys"), &cs).await;
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_string();
    let u = srv.user(&sk, "i@example.com").await;
    let a = srv.sign_in(&sk, &pk, &u).await;
    let access = a["access_token"].as_str().unwrap().to_string();
    let form = |user: &str, pass: &str, body: String| {
        srv.http
            .post(format!("{}/v1/tokens/introspect", srv.url))
            .basic_auth(user, Some(pass))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let res = form(&key_id, &sk, format!("token={access}&token_type_hint=access_token")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!((v["active"].as_bool(), v["sub"].as_str()), (Some(true), Some(u.as_str())), "{v}");
    let v: Value = form(&key_id, &sk, "token=not.a.token".into()).await.unwrap().json().await.unwrap();
    assert_eq!(v, json!({"active": false}));
    // Wrong client credentials, a missing token.
    let res = form("key_other", &sk, format!("token={access}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = form(&key_id, "sk_test_wrong", format!("token={access}")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = form(&key_id, &sk, "token_type_hint=access_token".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"]["details"]["field"], "token");
    // JSON with the Bearer secret key, as before.
    let (s, v) = srv.post("/v1/tokens/introspect", &sk, json!({"token": access})).await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(true)));

    let res = srv.http.get(format!("{}/.well-known/jwks.json", srv.url)).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
}

/// Create a user with `X-Forwarded-For: xff`: the client address its event records.
async fn created_from(srv: &Server, sk: &str, email: &str, xff: &str) -> String {
    let res = srv
        .http
        .post(format!("{}/v1/users", srv.url))
        .bearer_auth(sk)
        .header("x-forwarded-for", xff)
        .json(&json!({"email": email}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let (_, events) = srv.get("/v1/events?types=user.created&limit=100", sk).await;
    let e = events["data"].as_array().unwrap().iter().find(|e| e["data"]["user_id"] == id.as_str()).cloned();
    e.unwrap()["metadata"]["client_ip"].as_str().unwrap().to_string()
}

/// The client address behind a trusted proxy, and the sign-in limit per project and
/// client address with an exact `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_address_and_sign_in_limits() {
    // Without trusted proxies, X-Forwarded-For is the client's word and is ignored.
    let srv = Server::start(false).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    assert_eq!(created_from(&srv, &sk, "a@example.com", "203.0.113.7").await, "127.0.0.1");

    let url = common::database_url(false).await;
    let srv = Server::start_with(&url, |c| c.trusted_proxies = Some("127.0.0.1, 10.0.0.0/8".into())).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    assert_eq!(created_from(&srv, &sk, "b@example.com", "6.6.6.6, 203.0.113.7, 10.0.0.5").await, "203.0.113.7");

    // 30 sign-in requests per project and client address, then 429 with Retry-After.
    let magic = |pk: String, ip: &'static str, n: usize| {
        srv.http
            .post(format!("{}/v1/auth/magic-links", srv.url))
            .header("authio-publishable-key", pk)
            .header("x-forwarded-for", ip)
            .json(&json!({"email": format!("user{n}@example.com")}))
            .send()
    };
    for n in 0..30 {
        assert_eq!(magic(pk.clone(), "198.51.100.1", n).await.unwrap().status(), StatusCode::ACCEPTED, "request {n}");
    }
    let res = magic(pk.clone(), "198.51.100.1", 30).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "one more each 30 s: {wait}");
    assert_eq!(magic(pk.clone(), "198.51.100.2", 31).await.unwrap().status(), StatusCode::ACCEPTED, "another address");
    let (cs_b, tid_b, _) = srv.project("other@example.com", "b2b").await;
    let pk_b = srv.publishable_key(&cs_b, &tid_b).await;
    assert_eq!(magic(pk_b, "198.51.100.1", 32).await.unwrap().status(), StatusCode::ACCEPTED, "another project");
}

/// RFC 6750's challenge on every 401, `Retry-After` on 429 and 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_conventions_on_errors() {
    let srv = Server::start(false).await;
    let (cs, tid, _) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    for (path, auth) in [("/v1/me", None), ("/v1/users", Some("sk_test_bogus")), ("/v1/me", Some("not.a.jwt"))] {
        let mut req = srv.http.get(format!("{}{path}", srv.url));
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let challenge = res.headers().get("www-authenticate").expect("a challenge").to_str().unwrap();
        assert!(challenge.starts_with("Bearer "), "{challenge}");
    }
    // The sign-in limit: 5 per email per 15 minutes, then 429 with Retry-After.
    let mut limited = None;
    for _ in 0..8 {
        let res = srv
            .http
            .post(format!("{}/v1/auth/magic-links", srv.url))
            .header("authio-publishable-key", &pk)
            .json(&serde_json::json!({"email": "limit@example.com"}))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(res);
            break;
        }
    }
    let res = limited.expect("the sixth sign-in request for one email is limited");
    let wait: u64 = res.headers().get("retry-after").expect("Retry-After").to_str().unwrap().parse().unwrap();
    assert!(wait > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_returns_the_first_answer_and_changes_once() {
    let srv = Server::start(false).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let send = |body: Value, key: &'static str| {
        srv.http
            .post(format!("{}/v1/users", srv.url))
            .bearer_auth(&sk)
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = send(json!({"email": "once@example.com"}), "k1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send(json!({"email": "once@example.com"}), "k1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers().get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    let (_, list) = srv.get("/v1/users?email=once@example.com", &sk).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "performed once");
    let other = send(json!({"email": "twice@example.com"}), "k1").await.unwrap();
    assert_eq!(other.status(), StatusCode::CONFLICT);
    assert_eq!(code(&other.json().await.unwrap()), "idempotency_key_reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_documents_every_error_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    for (code, status, _) in authio_api::error::ERROR_CODES {
        assert!(readme.contains(&format!("| `{code}` | {status} |")), "README lacks the row for {code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let srv = Server::start(false).await;
    let (s, v) = srv.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = srv.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ready")));
    let (s, doc) = srv.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["secret_key"].is_object());
}
