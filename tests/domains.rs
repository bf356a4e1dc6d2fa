//! Verified domains (issue 18, part 1 and 2): a claim answers the TXT record to publish;
//! verification asks a DNS server of the test's own (a small authoritative server built
//! on hickory-proto, on 127.0.0.1, never the internet); one organization per project
//! holds a domain; a re-check that no longer finds the record records the loss; a
//! verified domain with automatic membership makes users of that domain members at
//! sign-in, once. On PostgreSQL and SQLite.
mod common;

use common::{code, dns_server, Server};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::path::Path;

async fn magic_sign_in(srv: &Server, pk: &str, dir: &Path, email: &str) -> Value {
    let (s, v) = srv.front("/v1/auth/magic-links", pk, json!({"email": email})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = common::mailed(dir, &email.to_lowercase(), "token=");
    let (s, v) = srv.front("/v1/auth/magic-links/verify", pk, json!({"token": token})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn scenario(postgres: bool) {
    let (dns, zone) = dns_server().await;
    let url = common::database_url(postgres).await;
    let dir = common::outbox();
    let mail = format!("file://{}", dir.display());
    let srv = Server::start_with(&url, |c| {
        c.dns_resolver = Some(dns.clone());
        c.mail_url = Some(mail);
    })
    .await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let domains = |org: &str| format!("/v1/organizations/{org}/domains");

    // Claims: a public mail domain is refused; a bad name is 400; a claim answers the record.
    let (s, e) = srv.post(&domains(&acme), &sk, json!({"domain": "gmail.com"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "public_mail_domain"), "{e}");
    let (s, e) = srv.post(&domains(&acme), &sk, json!({"domain": "not a domain"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{e}");
    let (s, d) = srv.post(&domains(&acme), &sk, json!({"domain": "Acme.Example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!((&d["domain"], &d["state"]), (&json!("acme.example"), &json!("pending")), "{d}");
    assert_eq!(d["verification"]["type"], "TXT");
    assert_eq!(d["verification"]["name"], "_authio-challenge.acme.example");
    let value = d["verification"]["value"].as_str().unwrap().to_string();
    assert!(value.starts_with("authio-verify="), "{d}");
    let d_acme = common::id(&d);
    let (s, e) = srv.post(&domains(&acme), &sk, json!({"domain": "acme.example"})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "domain_exists"), "{e}");

    // Not published yet: 422 with what was seen; another record is not enough.
    let verify = |org: &str, id: &str| format!("/v1/organizations/{org}/domains/{id}/verify");
    let (s, e) = srv.post(&verify(&acme, &d_acme), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "domain_verification_failed"), "{e}");
    assert_eq!(e["error"]["details"]["seen"], json!([]), "{e}");
    zone.lock().unwrap().insert("_authio-challenge.acme.example".into(), vec!["v=spf1 -all".into()]);
    let (s, e) = srv.post(&verify(&acme, &d_acme), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::UNPROCESSABLE_ENTITY, "domain_verification_failed"), "{e}");
    assert_eq!(e["error"]["details"]["seen"], json!(["v=spf1 -all"]), "{e}");
    // Published: verified.
    zone.lock().unwrap().insert("_authio-challenge.acme.example".into(), vec!["v=spf1 -all".into(), value.clone()]);
    let (s, v) = srv.post(&verify(&acme, &d_acme), &sk, json!({})).await;
    assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("verified")), "{v}");
    assert!(v["verified_at"].is_string(), "{v}");

    // One organization per domain: Globex may claim it, but not verify it while Acme holds it.
    let (s, g) = srv.post(&domains(&globex), &sk, json!({"domain": "acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let d_globex = common::id(&g);
    let globex_value = g["verification"]["value"].as_str().unwrap().to_string();
    zone.lock().unwrap().get_mut("_authio-challenge.acme.example").unwrap().push(globex_value);
    let (s, e) = srv.post(&verify(&globex, &d_globex), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "domain_taken"), "{e}");

    // Automatic membership: on, with a role; a user of the domain joins at sign-in, once.
    let one = format!("/v1/organizations/{acme}/domains/{d_acme}");
    let (s, p) = srv.patch(&one, &sk, json!({"auto_join": true, "role": "nope"})).await;
    assert_eq!((s, code(&p)), (StatusCode::BAD_REQUEST, "unknown_role"), "{p}");
    let (s, p) = srv.patch(&one, &sk, json!({"auto_join": true, "role": "admin"})).await;
    assert_eq!((s, &p["auto_join"], &p["role"]), (StatusCode::OK, &json!(true), &json!("admin")), "{p}");
    let session = magic_sign_in(&srv, &pk, &dir, "ada@ACME.example").await;
    assert_eq!(session["active_organization"]["id"], json!(acme), "{session}");
    assert_eq!(session["active_organization"]["role"], "admin", "{session}");
    let ada = session["user"]["id"].as_str().unwrap().to_string();
    let (_, ms) = srv.get(&format!("/v1/users/{ada}/memberships"), &sk).await;
    assert_eq!(ms["data"].as_array().unwrap().len(), 1, "only the domain's organization: {ms}");
    // Deactivated, she stays deactivated when she signs in again.
    let m = ms["data"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = srv.post(&format!("/v1/memberships/{m}/deactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let again = magic_sign_in(&srv, &pk, &dir, "ada@acme.example").await;
    assert!(again["active_organization"].is_null(), "{again}");
    let (_, m2) = srv.get(&format!("/v1/memberships/{m}"), &sk).await;
    assert_eq!(m2["status"], "inactive", "{m2}");
    // Another domain's user does not join.
    let bob = magic_sign_in(&srv, &pk, &dir, "bob@other.example").await;
    assert!(bob["active_organization"].is_null(), "{bob}");

    // The record disappears: the re-check records the loss and frees the domain.
    zone.lock().unwrap().remove("_authio-challenge.acme.example");
    let dns_client = authio_api::domains::Dns::new(Some(&dns)).unwrap();
    assert_eq!(authio_api::domains::recheck(&srv.db, &dns_client).await.unwrap(), 1);
    assert_eq!(authio_api::domains::recheck(&srv.db, &dns_client).await.unwrap(), 0, "once");
    let (_, lost) = srv.get(&one, &sk).await;
    assert_eq!(lost["state"], "failed", "{lost}");
    // A user of the domain no longer joins.
    let cy = magic_sign_in(&srv, &pk, &dir, "cy@acme.example").await;
    assert!(cy["active_organization"].is_null(), "{cy}");
    // Globex can verify it now.
    let globex_value = g["verification"]["value"].as_str().unwrap().to_string();
    zone.lock().unwrap().insert("_authio-challenge.acme.example".into(), vec![globex_value]);
    let (s, v) = srv.post(&verify(&globex, &d_globex), &sk, json!({})).await;
    assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("verified")), "{v}");

    // Events, in the audit log of the organization they concern.
    let (s, events) = srv.get("/v1/events?limit=100", &sk).await;
    assert_eq!(s, StatusCode::OK);
    let types: Vec<&str> = events["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    for t in ["domain.added", "domain.verified", "domain.policy_changed", "domain.verification_failed"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }

    // The domain's organization (Globex now) allows passkeys only: its users cannot sign
    // in by magic link, whichever organization they would sign in to; others can.
    let passkeys_only = json!({"allowed_methods": ["passkey"]});
    let (s, _) = srv
        .call(reqwest::Method::PUT, &format!("/v1/organizations/{globex}/policy"), Some(&sk), Some(passkeys_only))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "dan@acme.example"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let token = common::mailed(&dir, "dan@acme.example", "token=");
    let (s, e) = srv.front("/v1/auth/magic-links/verify", &pk, json!({"token": token})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "sign_in_method_not_allowed"), "{e}");
    magic_sign_in(&srv, &pk, &dir, "eve@other.example").await;
    let (s, _) =
        srv.call(reqwest::Method::PUT, &format!("/v1/organizations/{globex}/policy"), Some(&sk), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK);

    // Removal frees a verified domain; the list is the organization's own.
    let (s, _) = srv.delete(&format!("/v1/organizations/{globex}/domains/{d_globex}"), &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, list) = srv.get(&domains(&globex), &sk).await;
    assert_eq!((s, list["data"].as_array().unwrap().len()), (StatusCode::OK, 0), "{list}");
    let (_, list) = srv.get(&domains(&acme), &sk).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_sqlite() {
    scenario(false).await;
}

/// Org admins manage their own organization's domains only; members and strangers get
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn domains_are_org_admins_own() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (_, _, sk_other) = srv.project("stranger@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (admin, member) = (srv.user(&sk, "admin@example.com").await, srv.user(&sk, "member@example.com").await);
    srv.membership(&sk, &admin, &acme, "admin").await;
    srv.membership(&sk, &member, &acme, "member").await;
    let switched = |answer: Value| answer["access_token"].as_str().unwrap().to_string();
    let a = switched(srv.sign_in(&sk, &pk, &admin).await);
    let m = switched(srv.sign_in(&sk, &pk, &member).await);
    let (s, d) = srv.post(&format!("/v1/organizations/{acme}/domains"), &a, json!({"domain": "acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (s, e) = srv.post(&format!("/v1/organizations/{globex}/domains"), &a, json!({"domain": "x.example"})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, e) = srv.get(&format!("/v1/organizations/{acme}/domains"), &m).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");
    let (s, e) = srv.get(&format!("/v1/organizations/{acme}/domains"), &sk_other).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, _) = srv.call(reqwest::Method::GET, &format!("/v1/organizations/{acme}/domains"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
