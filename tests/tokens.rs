//! Crafted bad access tokens: every one is refused with `401 unauthenticated` on a
//! user route (`GET /v1/me`), an org-admin route (`GET /v1/organizations/{org}/members`)
//! and `POST /v1/sessions/switch-org`, and introspection says `{"active": false}`; never
//! a 500. The same corpus runs on SQLite and PostgreSQL.
//!
//! Tokens are built by hand (base64url `header.payload.signature`) and signed with
//! aws-lc-rs: with an attacker's own keys, with HMAC keyed by the published public key,
//! and — so that the claim checks themselves are exercised, not just the signature — with
//! the server's real signing key read from the test database.
mod common;

use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{code, Server};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Map, Value};
use sqlx::Row;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(part).unwrap_or_else(|e| panic!("base64url part {part:?}: {e}"))
}

/// A token's three parts: header JSON text, payload JSON text, signature (base64url).
fn parts(token: &str) -> (String, String, String) {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3, "a compact JWS: {token}");
    let text = |s: &str| String::from_utf8(unb64(s)).expect("utf8 JSON");
    (text(p[0]), text(p[1]), p[2].to_string())
}

/// `header.payload.signature` from JSON texts and an already encoded signature.
fn forge(header: &str, payload: &str, sig: &str) -> String {
    format!("{}.{}.{}", b64(header), b64(payload), sig)
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

enum Signer {
    Ed(Ed25519KeyPair),
    Es(EcdsaKeyPair),
    Hs(Vec<u8>),
}

impl Signer {
    fn ed_random() -> Signer {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("ed25519 key");
        Signer::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ed25519 key"))
    }

    fn es_random() -> Signer {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("p-256 key");
        Signer::Es(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("p-256 key"))
    }

    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        match self {
            Signer::Ed(k) => k.sign(msg).as_ref().to_vec(),
            Signer::Es(k) => k.sign(&aws_lc_rs::rand::SystemRandom::new(), msg).expect("ecdsa sign").as_ref().to_vec(),
            Signer::Hs(secret) => {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
                aws_lc_rs::hmac::sign(&key, msg).as_ref().to_vec()
            }
        }
    }

    /// A compact JWS over the exact header and payload texts given.
    fn token(&self, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let sig = self.sign(input.as_bytes());
        format!("{input}.{}", b64(sig))
    }

    fn ed_public(&self) -> String {
        match self {
            Signer::Ed(k) => b64(k.public_key().as_ref()),
            _ => panic!("not an Ed25519 key"),
        }
    }
}

/// The claims of `base` changed by `f`, as JSON text.
fn with(base: &Value, f: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut v = base.clone();
    f(v.as_object_mut().expect("claims object"));
    v.to_string()
}

/// `text` with `from` replaced once by `to`; the replacement must happen.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1)
}

struct Case {
    label: String,
    token: String,
    /// The organization named in the org-admin route's path.
    org: String,
}

/// A call with `Authorization: Bearer <token>` built from raw bytes (so non-ASCII tokens
/// reach the server as they are).
async fn send(srv: &Server, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut auth = b"Bearer ".to_vec();
    auth.extend_from_slice(token.as_bytes());
    let header = HeaderValue::from_bytes(&auth).expect("a sendable header value");
    let mut req = srv.http.request(method, format!("{}{}", srv.url, path)).header(AUTHORIZATION, header);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, v)
}

/// Every way the case must be refused; failures are collected, not panicked on.
async fn check(srv: &Server, sk: &str, case: &Case, failures: &mut Vec<String>) {
    let l = &case.label;
    let calls = [
        (Method::GET, "/v1/me".to_string(), None),
        (Method::GET, format!("/v1/organizations/{}/members", case.org), None),
        (Method::POST, "/v1/sessions/switch-org".to_string(), Some(json!({"organization_id": case.org}))),
    ];
    for (method, path, body) in calls {
        let (s, v) = send(srv, method.clone(), &path, &case.token, body).await;
        if (s, code(&v)) != (StatusCode::UNAUTHORIZED, "unauthenticated") {
            failures.push(format!("[{l}] {method} {path}: expected 401 unauthenticated, got {s} {v}"));
        }
    }
    let (s, v) = srv.post("/v1/tokens/introspect", sk, json!({"token": case.token})).await;
    if (s, &v) != (StatusCode::OK, &json!({"active": false})) {
        failures.push(format!("[{l}] POST /v1/tokens/introspect: expected 200 {{\"active\":false}}, got {s} {v}"));
    }
}

async fn bad_tokens(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let alice = srv.user(&sk, "alice@example.com").await;
    let bob = srv.user(&sk, "bob@example.com").await;
    let carol = srv.user(&sk, "carol@example.com").await;
    let dave = srv.user(&sk, "dave@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &alice, &acme, "admin").await;
    srv.membership(&sk, &bob, &acme, "member").await;
    srv.membership(&sk, &dave, &acme, "admin").await;
    srv.membership(&sk, &carol, &globex, "admin").await;

    // Genuine tokens: alice is Acme's admin, bob an Acme member.
    let a = srv.sign_in(&sk, &pk, &alice).await;
    assert_eq!(
        (a["active_organization"]["id"].as_str(), a["active_organization"]["role"].as_str()),
        (Some(acme.as_str()), Some("admin")),
        "{a}"
    );
    let ta = a["access_token"].as_str().expect("access token").to_string();
    let b = srv.sign_in(&sk, &pk, &bob).await;
    let tb = b["access_token"].as_str().expect("access token").to_string();
    let (h, p, sig) = parts(&ta);
    let (_, pb, sig_b) = parts(&tb);
    let header: Value = serde_json::from_str(&h).expect("header JSON");
    let claims: Value = serde_json::from_str(&p).expect("claims JSON");
    let kid = header["kid"].as_str().expect("kid").to_string();
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(claims["aud"], tid.as_str());
    assert_eq!(claims["sub"], alice.as_str());
    assert_eq!(claims["act_org"], acme.as_str());
    assert_eq!(claims["org_role"], "admin");

    // The published key.
    let (s, jwks) = srv.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let jwk = jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid.as_str()).expect("kid published");
    let x = jwk["x"].as_str().expect("x").to_string();
    let x_raw = unb64(&x);
    assert_eq!(x_raw.len(), 32);

    // The server's own signing key, straight from the test database: claim checks are
    // exercised beyond the signature. Re-signing the genuine token reproduces it exactly.
    let row = sqlx::query("SELECT kid, private_key FROM signing_keys").fetch_one(&srv.db.pool).await.expect("key");
    assert_eq!(row.try_get::<String, _>(0).expect("kid"), kid);
    let der = STANDARD.decode(row.try_get::<String, _>(1).expect("private key")).expect("base64 DER");
    let server = Signer::Ed(Ed25519KeyPair::from_pkcs8(&der).expect("server key"));
    assert_eq!(server.ed_public(), x, "the database key is the published one");
    assert_eq!(server.token(&h, &p), ta, "re-signing the genuine token reproduces it");
    let attacker = Signer::ed_random();
    let attacker_es = Signer::es_random();

    // Controls: the genuine tokens and a server-signed re-serialization work everywhere,
    // so every refusal below is the token's doing.
    let reserialized =
        server.token(&header.to_string(), &with(&claims, |c| drop(c.insert("jti".into(), json!("jti_control")))));
    for t in [&ta, &reserialized] {
        let (s, v) = srv.get("/v1/me", t).await;
        assert_eq!(s, StatusCode::OK, "control /v1/me: {v}");
        let (s, v) = srv.get(&format!("/v1/organizations/{acme}/members"), t).await;
        assert_eq!(s, StatusCode::OK, "control members: {v}");
        let (s, v) = srv.post("/v1/tokens/introspect", &sk, json!({"token": t})).await;
        assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(true)), "control introspect: {v}");
    }
    let (s, v) = srv.post("/v1/sessions/switch-org", &ta, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK, "control switch-org: {v}");
    let (s, v) = srv.get(&format!("/v1/organizations/{acme}/members"), &tb).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "forbidden"), "bob is a plain member: {v}");

    // A revoked session's genuine token.
    let revoked = srv.sign_in(&sk, &pk, &alice).await["access_token"].as_str().expect("token").to_string();
    let (s, v) = srv.call(Method::POST, "/v1/sessions/revoke", Some(&revoked), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // A deleted user's genuine token.
    let deleted = srv.sign_in(&sk, &pk, &dave).await["access_token"].as_str().expect("token").to_string();
    assert_eq!(srv.get("/v1/me", &deleted).await.0, StatusCode::OK);
    let (s, v) = srv.delete(&format!("/v1/users/{dave}"), &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    // Another project on the same server: its genuine token is valid there only.
    let (cs2, tid2, sk2) = srv.project("other@example.com", "b2b").await;
    let pk2 = srv.publishable_key(&cs2, &tid2).await;
    let erin = srv.user(&sk2, "erin@example.com").await;
    let initech = srv.org(&sk2, "Initech").await;
    srv.membership(&sk2, &erin, &initech, "admin").await;
    let t2 = srv.sign_in(&sk2, &pk2, &erin).await["access_token"].as_str().expect("token").to_string();
    let (s, v) = srv.get("/v1/me", &t2).await;
    assert_eq!(s, StatusCode::OK, "valid in its own project: {v}");
    let (s, v) = srv.post("/v1/tokens/introspect", &sk2, json!({"token": t2})).await;
    assert_eq!((s, v["active"].as_bool()), (StatusCode::OK, Some(true)), "its own project's key: {v}");
    let (s, v) = srv.post("/v1/tokens/introspect", &sk, json!({"token": t2})).await;
    assert_eq!(
        (s, &v),
        (StatusCode::OK, &json!({"active": false})),
        "[another project's token] introspect with the first project's key: {v}"
    );
    let (s, v) = srv.get(&format!("/v1/organizations/{acme}/members"), &t2).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, "not_found"),
        "[another project's token] the first project's org: {v}"
    );

    // The corpus.
    let mut cases: Vec<Case> = Vec::new();
    let mut add = |label: &str, token: String| cases.push(Case { label: label.to_string(), token, org: acme.clone() });
    let hdr = |f: &dyn Fn(&mut Map<String, Value>)| with(&header, f);
    let zeros = b64([0u8; 64]);

    // Structure.
    add("empty string", String::new());
    add("three empty parts ..", "..".into());
    add("garbage base64", "!!!!.@@@@.####".into());
    add("opaque non-JWT string", "not-a-token".into());
    add("two segments, signature dropped", format!("{}.{}", b64(&h), b64(&p)));
    add("extra fourth segment", format!("{ta}.{}", b64("x")));
    add("extra empty fourth segment", format!("{ta}."));
    let pad = with(&claims, |c| {
        c.insert("pad".into(), json!("x".repeat(9000)));
    });
    let huge = forge(&h, &pad, &sig);
    assert!(huge.len() > 8192);
    add("huge token (>8 KB)", huge);
    let huge_signed = server.token(&h, &pad);
    assert!(huge_signed.len() > 8192);
    add("huge token (>8 KB) signed by the server key", huge_signed);
    add("non-ASCII in the signature", format!("{}.{}.é{}", b64(&h), b64(&p), &sig[2..]));
    add("non-ASCII in the payload segment", format!("{}.ü{}.{sig}", b64(&h), b64(&p)));
    add("non-ASCII kid, attacker key", attacker.token(&hdr(&|m| drop(m.insert("kid".into(), json!("kïd_ñ✓")))), &p));
    add("header not JSON", forge("not json", &p, &sig));
    add("header JSON null", forge("null", &p, &sig));
    add("header JSON array", forge(&format!("[{h}]"), &p, &sig));
    add("payload not JSON", forge(&h, "hello", &sig));
    add("payload not JSON, server key", server.token(&h, "hello"));
    add("payload JSON array, server key", server.token(&h, &format!("[{p}]")));
    // Standard base64 (with `+`, `/`, `=`) only differs when a segment needs it.
    for (label, token) in [
        ("header in padded standard base64", format!("{}.{}.{sig}", STANDARD.encode(&h), b64(&p))),
        ("payload in padded standard base64", format!("{}.{}.{sig}", b64(&h), STANDARD.encode(&p))),
    ] {
        if token != ta {
            add(label, token);
        }
    }

    // Algorithms.
    let none = hdr(&|m| drop(m.insert("alg".into(), json!("none"))));
    add("alg none, empty signature", forge(&none, &p, ""));
    add("alg none, original signature", forge(&none, &p, &sig));
    add("alg None, empty signature", forge(&hdr(&|m| drop(m.insert("alg".into(), json!("None")))), &p, ""));
    add("alg NONE, empty signature", forge(&hdr(&|m| drop(m.insert("alg".into(), json!("NONE")))), &p, ""));
    add("alg missing, original signature", forge(&hdr(&|m| drop(m.remove("alg"))), &p, &sig));
    add("alg null, original signature", forge(&hdr(&|m| drop(m.insert("alg".into(), Value::Null))), &p, &sig));
    let hs256 = hdr(&|m| drop(m.insert("alg".into(), json!("HS256"))));
    add("HS256 keyed by the raw public key bytes", Signer::Hs(x_raw.clone()).token(&hs256, &p));
    add("HS256 keyed by the public key base64url (JWKS x)", Signer::Hs(x.as_bytes().to_vec()).token(&hs256, &p));
    add(
        "HS256 keyed by the public key, standard base64",
        Signer::Hs(STANDARD.encode(&x_raw).into_bytes()).token(&hs256, &p),
    );
    add("HS256 keyed by the JWK JSON", Signer::Hs(jwk.to_string().into_bytes()).token(&hs256, &p));
    add("HS256 header on the EdDSA signature", forge(&hs256, &p, &sig));
    for alg in ["RS256", "ES256", "PS256", "ES384", "Ed25519", "eddsa"] {
        let hx = hdr(&|m| drop(m.insert("alg".into(), json!(alg))));
        add(&format!("{alg} header on the EdDSA signature"), forge(&hx, &p, &sig));
    }
    let es256 = hdr(&|m| drop(m.insert("alg".into(), json!("ES256"))));
    add("ES256 signed by an attacker's P-256 key with the real kid", attacker_es.token(&es256, &p));
    let hs_server_key = Signer::Hs(der);
    add("HS256 keyed by the server's private key DER", hs_server_key.token(&hs256, &p));

    // Key ids.
    let wrong_kid = hdr(&|m| drop(m.insert("kid".into(), json!("kid_01attacker"))));
    add("wrong kid, original signature", forge(&wrong_kid, &p, &sig));
    add("wrong kid, attacker key", attacker.token(&wrong_kid, &p));
    let no_kid = hdr(&|m| drop(m.remove("kid")));
    add("missing kid, original signature", forge(&no_kid, &p, &sig));
    add("missing kid, attacker key", attacker.token(&no_kid, &p));
    add("missing kid, server key", server.token(&no_kid, &p));
    add(
        "kid SQL injection, attacker key",
        attacker.token(&hdr(&|m| drop(m.insert("kid".into(), json!("' OR '1'='1")))), &p),
    );
    add("kid empty, server key", server.token(&hdr(&|m| drop(m.insert("kid".into(), json!("")))), &p));
    add("kid null, server key", server.token(&hdr(&|m| drop(m.insert("kid".into(), Value::Null))), &p));
    add("kid a number, server key", server.token(&hdr(&|m| drop(m.insert("kid".into(), json!(1)))), &p));
    add(
        "kid an array of the real kid, server key",
        server.token(&hdr(&|m| drop(m.insert("kid".into(), json!([kid])))), &p),
    );
    add(
        "kid with different case, server key",
        server.token(&hdr(&|m| drop(m.insert("kid".into(), json!(kid.to_uppercase())))), &p),
    );
    add("EdDSA by an attacker's key with the real kid", attacker.token(&h, &p));
    let embedded = hdr(&|m| {
        m.insert("jwk".into(), json!({"kty": "OKP", "crv": "Ed25519", "x": attacker.ed_public()}));
    });
    add("attacker key embedded as jwk header, real kid", attacker.token(&embedded, &p));
    let embedded_no_kid = with(&serde_json::from_str(&embedded).expect("json"), |m| drop(m.remove("kid")));
    add("attacker key embedded as jwk header, no kid", attacker.token(&embedded_no_kid, &p));
    let jku = hdr(&|m| drop(m.insert("jku".into(), json!("https://evil.example/jwks.json"))));
    add("jku header to an attacker's key set, attacker key", attacker.token(&jku, &p));

    // Signatures.
    let head = format!("{}.{}", b64(&h), b64(&p));
    add("truncated signature (10 chars)", format!("{head}.{}", &sig[..sig.len() - 10]));
    add("truncated signature (1 char)", format!("{head}.{}", &sig[..sig.len() - 1]));
    add("signature of zeros", format!("{head}.{zeros}"));
    add("empty signature, alg EdDSA", format!("{head}."));
    add("signature of bob's genuine token", format!("{head}.{sig_b}"));
    let mut raw_sig = unb64(&sig);
    raw_sig[0] ^= 1;
    add("signature with one bit flipped", format!("{head}.{}", b64(&raw_sig)));
    let last = sig.chars().last().expect("last char");
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let idx = alphabet.find(last).expect("base64url char");
    // 64 bytes → 86 chars: the last char carries 2 bits; set one of its 4 unused bits.
    let noncanonical = alphabet.chars().nth(idx ^ 1).expect("char");
    add("signature with non-canonical trailing bits", format!("{head}.{}{noncanonical}", &sig[..sig.len() - 1]));
    add("signature in padded standard base64", format!("{head}.{}", STANDARD.encode(unb64(&sig))));
    add("signature doubled", format!("{head}.{}", b64([unb64(&sig), unb64(&sig)].concat())));
    add("signature over a different kid (header swapped)", format!("{}.{}.{sig}", b64(&wrong_kid), b64(&p)));

    // Payload altered, original signature kept (byte-for-byte edits of the signed text).
    let alt = |from: &str, to: &str| forge(&h, &replaced(&p, from, to), &sig);
    add(
        "act_org changed to Globex, original signature",
        alt(&format!("\"act_org\":\"{acme}\""), &format!("\"act_org\":\"{globex}\"")),
    );
    add("sub changed to bob, original signature", alt(&format!("\"sub\":\"{alice}\""), &format!("\"sub\":\"{bob}\"")));
    add("exp extended by a day, original signature", {
        let exp = claims["exp"].as_u64().expect("exp");
        alt(&format!("\"exp\":{exp}"), &format!("\"exp\":{}", exp + 86_400))
    });
    add(
        "aud changed to the second project, original signature",
        alt(&format!("\"aud\":\"{tid}\""), &format!("\"aud\":\"{tid2}\"")),
    );
    add(
        "org_role set to admin on bob's token, original signature",
        forge(&h, &replaced(&pb, "\"org_role\":\"member\"", "\"org_role\":\"admin\""), &sig_b),
    );
    add(
        "act_org changed to Globex, attacker key",
        attacker.token(&h, &with(&claims, |c| drop(c.insert("act_org".into(), json!(globex))))),
    );
    add("org_role admin on bob's claims, attacker key", {
        let cb: Value = serde_json::from_str(&pb).expect("claims");
        attacker.token(&h, &with(&cb, |c| drop(c.insert("org_role".into(), json!("admin")))))
    });

    // Claims: each mutation signed by an attacker's key (real kid) and by the server's key.
    let t = now();
    let sid_b = b["session_id"].as_str().expect("sid").to_string();
    let mutations: Vec<(&str, String)> = vec![
        ("wrong aud (another project id)", with(&claims, |c| drop(c.insert("aud".into(), json!(tid2))))),
        ("exp as a string", with(&claims, |c| drop(c.insert("exp".into(), json!(claims["exp"].to_string()))))),
        ("exp in the past", with(&claims, |c| drop(c.insert("exp".into(), json!(t - 120))))),
        ("exp long ago (0)", with(&claims, |c| drop(c.insert("exp".into(), json!(0))))),
        ("exp negative", with(&claims, |c| drop(c.insert("exp".into(), json!(-1))))),
        ("exp a float", with(&claims, |c| drop(c.insert("exp".into(), json!(t as f64 + 300.5))))),
        ("exp null", with(&claims, |c| drop(c.insert("exp".into(), Value::Null)))),
        (
            "exp beyond u64",
            format!("{{\"exp\":18446744073709551616,{}", &with(&claims, |c| drop(c.remove("exp")))[1..]),
        ),
        ("nbf in the future", with(&claims, |c| drop(c.insert("nbf".into(), json!(t + 600))))),
        ("nbf as a string", with(&claims, |c| drop(c.insert("nbf".into(), json!((t - 10).to_string()))))),
        ("missing exp", with(&claims, |c| drop(c.remove("exp")))),
        ("missing iss", with(&claims, |c| drop(c.remove("iss")))),
        ("wrong iss", with(&claims, |c| drop(c.insert("iss".into(), json!("https://evil.example"))))),
        ("iss as an array", with(&claims, |c| drop(c.insert("iss".into(), json!([claims["iss"]]))))),
        ("missing aud", with(&claims, |c| drop(c.remove("aud")))),
        ("aud as an array", with(&claims, |c| drop(c.insert("aud".into(), json!([tid]))))),
        ("missing sub", with(&claims, |c| drop(c.remove("sub")))),
        ("sub changed to bob (alice's sid)", with(&claims, |c| drop(c.insert("sub".into(), json!(bob))))),
        ("sub without the user_ prefix", with(&claims, |c| drop(c.insert("sub".into(), json!("admin"))))),
        ("missing sid", with(&claims, |c| drop(c.remove("sid")))),
        ("sid unknown", with(&claims, |c| drop(c.insert("sid".into(), json!("sess_00000000000000000000000000"))))),
        ("sid of bob's session (alice's sub)", with(&claims, |c| drop(c.insert("sid".into(), json!(sid_b))))),
        ("missing jti", with(&claims, |c| drop(c.remove("jti")))),
        ("iat as a string", with(&claims, |c| drop(c.insert("iat".into(), json!(claims["iat"].to_string()))))),
        ("unknown extra claim", with(&claims, |c| drop(c.insert("admin".into(), json!(true))))),
        (
            "duplicate sub key (alice then bob)",
            format!("{{\"sub\":\"{alice}\",{}", &with(&claims, |c| drop(c.insert("sub".into(), json!(bob))))[1..]),
        ),
        ("claims JSON null", "null".into()),
        ("claims empty object", "{}".into()),
    ];
    for (label, payload) in &mutations {
        add(&format!("{label}, attacker key"), attacker.token(&h, payload));
        add(&format!("{label}, server key"), server.token(&h, payload));
    }

    // Genuine tokens gone bad.
    add("genuine token, session revoked", revoked);
    add("genuine token, user deleted", deleted);

    // Act_org forgeries name their forged org in the org-admin route.
    for c in cases.iter_mut() {
        if c.label.starts_with("act_org changed to Globex") {
            c.org = globex.clone();
        }
    }
    assert!(cases.len() >= 25, "{} cases", cases.len());
    for c in &cases {
        assert!(c.token != ta && c.token != tb, "[{}] is a genuine token, not a crafted one", c.label);
    }

    let mut failures = Vec::new();
    for case in &cases {
        check(&srv, &sk, case, &mut failures).await;
    }
    assert!(failures.is_empty(), "{} of {} cases misbehaved:\n{}", failures.len(), cases.len(), failures.join("\n"));

    // The genuine token still works after the whole corpus (nothing was poisoned).
    let (s, v) = srv.get("/v1/me", &ta).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_sqlite() {
    bad_tokens(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_refused_postgres() {
    bad_tokens(true).await;
}

/// A project that chooses ES256: its tokens are signed with P-256 and verify with the
/// published JWKS alone; its earlier EdDSA tokens keep working; a header that names
/// another algorithm than its key's is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_projects_sign_with_p256() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let u = srv.user(&sk, "es@example.com").await;
    let before = srv.sign_in(&sk, &pk, &u).await["access_token"].as_str().unwrap().to_string();
    assert_eq!(jsonwebtoken::decode_header(&before).unwrap().alg, jsonwebtoken::Algorithm::EdDSA);

    let (s, t) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"token_algorithm": "ES256"})).await;
    assert_eq!((s, &t["token_algorithm"]), (StatusCode::OK, &json!("ES256")), "{t}");
    let (s, e) = srv.patch(&format!("/v1/session/tenants/{tid}"), &cs, json!({"token_algorithm": "HS256"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{e}");
    let (_, events) = srv.get("/v1/events?types=tenant.token_algorithm_changed", &sk).await;
    assert_eq!(events["data"][0]["data"], json!({"from": "EdDSA", "to": "ES256"}), "{events}");

    let token = srv.sign_in(&sk, &pk, &u).await["access_token"].as_str().unwrap().to_string();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    let (_, jwks) = srv.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == header.kid.as_deref().unwrap()).unwrap();
    assert_eq!((&jwk["kty"], &jwk["crv"], &jwk["alg"]), (&json!("EC"), &json!("P-256"), &json!("ES256")), "{jwk}");
    let key =
        jsonwebtoken::DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[&tid]);
    let claims = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("verifies with the JWKS").claims;
    assert_eq!(claims["sub"], u.as_str());
    assert_eq!(srv.get("/v1/me", &token).await.0, StatusCode::OK);
    assert_eq!(srv.get("/v1/me", &before).await.0, StatusCode::OK, "the EdDSA token of before still verifies");

    // The same token with its header naming EdDSA: refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    let mut h: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[0]).unwrap()).unwrap();
    h["alg"] = json!("EdDSA");
    parts[0] = URL_SAFE_NO_PAD.encode(h.to_string());
    assert_eq!(srv.get("/v1/me", &parts.join(".")).await.0, StatusCode::UNAUTHORIZED);

    // Each algorithm has its signing key; the only ES256 key cannot be retired.
    let listed = srv.cli(&["keys", "list"]).await;
    assert_eq!(listed.lines().filter(|l| l.ends_with("\tsigning")).count(), 2, "{listed}");
    let es_kid = header.kid.unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
        .args(["keys", "retire", "--kid", &es_kid, "--database-url", &srv.database_url])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only ES256 key"));
    let rotated = srv.cli(&["keys", "rotate", "--algorithm", "ES256"]).await;
    assert!(rotated.starts_with("kid_"));
}
