//! SAML 2.0 connections (issue 20, part 2): an organization imports its identity
//! provider's metadata; a sign-in starts with an AuthnRequest (HTTP-Redirect) and ends at
//! the assertion consumer service (HTTP-POST) with a handoff code for the application.
//! The identity provider here is samael's (authio_saml::testing: a fresh RSA key, xmlsec
//! signatures), every refusal one broken part of a good response. Every scenario runs on
//! PostgreSQL and on SQLite. A real independent IdP (pysaml2) is scripts/saml-conformance.
mod common;

use authio_saml::testing::{read_request, TestIdp};
use authio_saml::Sp;
use common::{code, id, Server};
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const APP: &str = "http://localhost:5173/cb";

fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

struct World {
    srv: Server,
    zone: common::Zone,
    sk: String,
    pk: String,
    acme: String,
    raw: reqwest::Client,
}

impl World {
    async fn new(postgres: bool) -> World {
        let (dns, zone) = common::dns_server().await;
        let url = common::database_url(postgres).await;
        let srv = Server::start_with(&url, |c| {
            c.secret_key = Some("5a".repeat(32));
            c.dns_resolver = Some(dns);
        })
        .await;
        let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
        let pk = srv.publishable_key(&cs, &tid).await;
        let acme = srv.org(&sk, "Acme").await;
        let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        World { srv, zone, sk, pk, acme, raw }
    }

    /// `org` verifies `domain` (its TXT record published in the test zone).
    async fn verify_domain(&self, org: &str, domain: &str) {
        let (s, d) =
            self.srv.post(&format!("/v1/organizations/{org}/domains"), &self.sk, json!({"domain": domain})).await;
        assert_eq!(s, StatusCode::CREATED, "{d}");
        let value = d["verification"]["value"].as_str().unwrap().to_string();
        self.zone.lock().unwrap().insert(format!("_authio-challenge.{domain}"), vec![value]);
        let path = format!("/v1/organizations/{org}/domains/{}/verify", id(&d));
        let (s, v) = self.srv.post(&path, &self.sk, json!({})).await;
        assert_eq!((s, &v["state"]), (StatusCode::OK, &json!("verified")), "{v}");
    }

    /// Start a sign-in through `conn`: the AuthnRequest's id and the RelayState.
    async fn start(&self, conn: &str, idp: &TestIdp) -> (String, String) {
        let url = common::sso_start_url(&self.srv.url, &self.pk, conn, APP, Some("app-1"));
        let res = self.raw.get(url).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let to = res.headers()[header::LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with(&format!("{}?SAMLRequest=", idp.sso_url)), "{to}");
        read_request(&to).expect("an AuthnRequest")
    }

    /// POST to the ACS: the status and where the browser goes (or the JSON error).
    async fn post_acs(&self, response: &str, relay: &str) -> (StatusCode, HashMap<String, String>, Value) {
        let res = self
            .raw
            .post(format!("{}/v1/auth/saml/acs", self.srv.url))
            .form(&[("SAMLResponse", response), ("RelayState", relay)])
            .send()
            .await
            .unwrap();
        let status = res.status();
        if status == StatusCode::SEE_OTHER {
            let to = res.headers()[header::LOCATION].to_str().unwrap().to_string();
            assert!(to.starts_with(APP), "{to}");
            (status, query_of(&to), Value::Null)
        } else {
            (status, HashMap::new(), res.json().await.unwrap_or(Value::Null))
        }
    }

    /// The session a handoff code gives the application.
    async fn exchange(&self, code_value: &str) -> Value {
        let body = json!({"code": code_value, "code_verifier": VERIFIER});
        let (s, v) = self.srv.front("/v1/auth/handoffs/exchange", &self.pk, body).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }
}

fn sp_of(conn: &Value) -> (String, String) {
    (conn["client_id"].as_str().unwrap().to_string(), conn["saml"]["acs_url"].as_str().unwrap().to_string())
}

async fn a_saml_connection_signs_the_organizations_users_in(postgres: bool) {
    let w = World::new(postgres).await;
    let idp = TestIdp::new("https://idp.acme.example/metadata", "https://idp.acme.example/sso");
    let path = format!("/v1/organizations/{}/connections", w.acme);

    // Metadata that cannot be used is refused with what is wrong.
    for (bad, why) in [
        ("<nope/>".to_string(), "entityID"),
        (format!("<!DOCTYPE x>{}", idp.metadata()), "DOCTYPE"),
        (idp.metadata().replace("HTTP-Redirect", "HTTP-Artifact"), "HTTP-Redirect"),
    ] {
        let body = json!({"name": "Acme SAML", "protocol": "saml", "metadata_xml": bad, "jit_role": "member"});
        let (s, v) = w.srv.post(&path, &w.sk, body).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_saml_metadata"), "{v}");
        assert!(v.to_string().contains(why), "{v}");
    }
    let body = json!({"name": "Acme SAML", "protocol": "saml", "metadata_xml": idp.metadata(), "client_secret": "x"});
    let (s, v) = w.srv.post(&path, &w.sk, body).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let (s, v) = w.srv.post("/v1/connections", &w.sk, json!({"name": "x", "protocol": "saml"})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the project's own connections are OpenID Connect: {v}");

    let body = json!({"name": "Acme SAML", "protocol": "saml", "metadata_xml": idp.metadata(), "jit_role": "member"});
    let (s, conn) = w.srv.post(&path, &w.sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let conn_id = id(&conn);
    assert_eq!(conn["protocol"], "saml");
    assert_eq!(conn["issuer"], idp.entity_id.as_str());
    assert_eq!(conn["client_id"], format!("{}/v1/auth/saml/{conn_id}", w.srv.url));
    assert_eq!(conn["saml"]["acs_url"], format!("{}/v1/auth/saml/acs", w.srv.url));
    let (entity_id, acs_url) = sp_of(&conn);
    let sp = Sp { entity_id: &entity_id, acs_url: &acs_url };

    // The service provider's metadata is public, for the identity provider.
    let res = w.raw.get(conn["saml"]["metadata_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/samlmetadata+xml");
    let xml = res.text().await.unwrap();
    assert!(xml.contains(&format!(r#"entityID="{entity_id}""#)) && xml.contains(&acs_url), "{xml}");

    // Acme has verified acme.example; Ada is a user of the project already (another
    // organization's member), not of Acme.
    w.verify_domain(&w.acme, "acme.example").await;
    let (s, ada) = w.srv.post("/v1/users", &w.sk, json!({"email": "ada@acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{ada}");
    let ada = id(&ada);

    // The good response: linked to Ada by email, a member of Acme just in time, a session
    // in Acme for the application.
    let (request_id, relay) = w.start(&conn_id, &idp).await;
    // SAML bindings 3.4.3: a RelayState of at most 80 bytes. It names the start's sealed
    // state, kept server-side; nothing of the application's travels in it.
    assert!(relay.len() <= 80 && relay.starts_with("rs_"), "{relay}");
    assert!(!relay.contains("app-1"), "{relay}");
    let kept: String = sqlx::query_scalar("SELECT sealed_state FROM saml_relay_states WHERE relay_state = $1")
        .bind(&relay)
        .fetch_one(&w.srv.db.pool)
        .await
        .unwrap();
    assert!(!kept.contains("app-1") && !kept.contains("localhost"), "sealed: {kept}");
    let good = idp.respond(&idp.claims(sp, &request_id, "Ada@Acme.example"));
    let (s, back, v) = w.post_acs(&good, &relay).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{v}");
    assert_eq!(back.get("state").map(String::as_str), Some("app-1"), "{back:?}");
    let hc = back.get("code").unwrap_or_else(|| panic!("a handoff code: {back:?}"));
    let session = w.exchange(hc).await;
    assert_eq!(session["user"]["id"], ada.as_str(), "{session}");
    assert_eq!(session["active_organization"]["id"], w.acme.as_str(), "{session}");
    assert_eq!(session["active_organization"]["role"], "member", "{session}");

    // The same response again: the replay cache refuses it.
    let (s, back, _) = w.post_acs(&good, &relay).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(back["error"], "sso_failed", "{back:?}");
    assert!(back["error_description"].contains("replayed"), "{back:?}");

    // A new address of the verified domain: the user is created, and joins.
    let (request_id, relay) = w.start(&conn_id, &idp).await;
    let (s, back, _) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, "grace@acme.example")), &relay).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let grace = w.exchange(&back["code"]).await;
    assert_eq!(grace["user"]["email"], "grace@acme.example", "{grace}");

    // Acme's identity provider cannot vouch for an address outside Acme's verified
    // domains, for an existing user (the takeover) or a new one.
    let (s, eve) = w.srv.post("/v1/users", &w.sk, json!({"email": "victim@other.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{eve}");
    for email in ["victim@other.example", "new@other.example"] {
        let (request_id, relay) = w.start(&conn_id, &idp).await;
        let (s, back, _) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, email)), &relay).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(back["error"], "sso_failed", "{email}: {back:?}");
        assert!(back["error_description"].contains("verified"), "{back:?}");
    }
    let (_, members) = w.srv.get(&format!("/v1/memberships?organization_id={}", w.acme), &w.sk).await;
    let emails = members.to_string();
    assert!(!emails.contains("victim@other.example") && !emails.contains("new@other.example"), "{members}");

    // Each broken part of a good response is refused, back at the application.
    let (request_id, relay) = w.start(&conn_id, &idp).await;
    let good = idp.claims(sp, &request_id, "ada@acme.example");
    let mut broken = Vec::new();
    let mut c = good.clone();
    c.signed = false;
    broken.push(("unsigned", c));
    let mut c = good.clone();
    c.sha1 = true;
    broken.push(("SHA-1", c));
    let mut c = good.clone();
    c.audience = "https://another-sp.example".into();
    broken.push(("audience", c));
    let mut c = good.clone();
    c.recipient = "https://another-sp.example/acs".into();
    c.destination = c.recipient.clone();
    broken.push(("recipient", c));
    let mut c = good.clone();
    c.request_id = "_another_request".into();
    broken.push(("InResponseTo", c));
    let mut c = good.clone();
    c.not_on_or_after = chrono::Utc::now() - chrono::Duration::minutes(10);
    broken.push(("expired", c));
    for (what, c) in &broken {
        let (s, back, _) = w.post_acs(&idp.respond(c), &relay).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{what}");
        assert_eq!(back["error"], "sso_failed", "{what}: {back:?}");
    }
    let other_key = TestIdp::new(&idp.entity_id, &idp.sso_url);
    let (s, back, _) = w.post_acs(&other_key.respond(&good), &relay).await;
    assert_eq!((s, back["error"].as_str()), (StatusCode::SEE_OTHER, "sso_failed"), "another key");

    // A RelayState that does not open, or none: 400, nowhere to send the browser.
    let mut tampered = relay.clone();
    tampered.replace_range(10..11, if &tampered[10..11] == "A" { "B" } else { "A" });
    for state in [tampered.as_str(), "nonsense", ""] {
        let (s, _, v) = w.post_acs(&idp.respond(&good), state).await;
        assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_sso_state"), "{v}");
    }
    // Not a form: 400.
    let res = w.raw.post(format!("{}/v1/auth/saml/acs", w.srv.url)).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // The audit log shows the connection and the sign-ins' memberships and sessions.
    common::audit_caught_up(&w.srv.db).await;
    let (_, log) = w.srv.get("/v1/audit-events?limit=100", &w.sk).await;
    let types: Vec<&str> = log["data"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    for t in ["connection.created", "membership.created", "session.created", "session.handoff_issued"] {
        assert!(types.contains(&t), "{t} in {types:?}");
    }

    // Deleted: its metadata and its sign-ins are gone.
    assert_eq!(w.srv.delete(&format!("{path}/{conn_id}"), &w.sk).await.0, StatusCode::NO_CONTENT);
    let res = w.raw.get(conn["saml"]["metadata_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let (s, back, _) = w.post_acs(&idp.respond(&good), &relay).await;
    assert_eq!((s, back["error"].as_str()), (StatusCode::SEE_OTHER, "sso_failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saml_connection_signs_the_organizations_users_in_postgres() {
    a_saml_connection_signs_the_organizations_users_in(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saml_connection_signs_the_organizations_users_in_sqlite() {
    a_saml_connection_signs_the_organizations_users_in(false).await;
}

async fn saml_connections_keep_to_their_organization(postgres: bool) {
    let w = World::new(postgres).await;
    let idp = TestIdp::new("https://idp.acme.example/metadata", "https://idp.acme.example/sso");
    let globex = w.srv.org(&w.sk, "Globex").await;
    w.verify_domain(&w.acme, "acme.example").await;
    w.verify_domain(&globex, "globex.example").await;
    // Acme's connection has no jit_role: only Acme's active members sign in.
    let body = json!({"name": "Acme SAML", "protocol": "saml", "metadata_xml": idp.metadata()});
    let (s, conn) = w.srv.post(&format!("/v1/organizations/{}/connections", w.acme), &w.sk, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{conn}");
    let conn_id = id(&conn);
    let (entity_id, acs_url) = sp_of(&conn);
    let sp = Sp { entity_id: &entity_id, acs_url: &acs_url };

    let (request_id, relay) = w.start(&conn_id, &idp).await;
    let (s, back, _) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, "bob@acme.example")), &relay).await;
    assert_eq!((s, back["error"].as_str()), (StatusCode::SEE_OTHER, "sso_failed"), "not a member, no jit_role");
    assert!(back["error_description"].contains("not a member"), "{back:?}");
    // A Globex address is Globex's to vouch for, not Acme's.
    let (request_id, relay) = w.start(&conn_id, &idp).await;
    let (s, back, _) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, "zed@globex.example")), &relay).await;
    assert_eq!((s, back["error"].as_str()), (StatusCode::SEE_OTHER, "sso_failed"));

    // Another project cannot see, start or delete Acme's connection.
    let (cs2, tid2, sk2) = w.srv.project("other@example.com", "b2b").await;
    let pk2 = w.srv.publishable_key(&cs2, &tid2).await;
    let (s, _) = w.srv.get(&format!("/v1/organizations/{}/connections", w.acme), &sk2).await;
    assert!(matches!(s, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{s}");
    let url = common::sso_start_url(&w.srv.url, &pk2, &conn_id, APP, None);
    assert_eq!(w.raw.get(url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    let (s, _) = w.srv.delete(&format!("/v1/organizations/{}/connections/{conn_id}", w.acme), &sk2).await;
    assert!(matches!(s, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN), "{s}");
    // Unauthenticated: no creation.
    let (s, _) =
        w.srv.call(reqwest::Method::POST, &format!("/v1/organizations/{}/connections", w.acme), None, Some(body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The replay cache forgets assertions once they expired (session housekeeping).
    let (request_id, relay) = w.start(&conn_id, &idp).await;
    let (s, ada) = w.srv.post("/v1/users", &w.sk, json!({"email": "ada@acme.example"})).await;
    assert_eq!(s, StatusCode::CREATED, "{ada}");
    let (s, m) = w
        .srv
        .post("/v1/memberships", &w.sk, json!({"user_id": id(&ada), "organization_id": w.acme, "role": "member"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    let (s, back, _) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, "ada@acme.example")), &relay).await;
    assert!(s == StatusCode::SEE_OTHER && back.contains_key("code"), "a member signs in: {back:?}");
    let cached: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM saml_assertions").fetch_one(&w.srv.db.pool).await.unwrap();
    assert_eq!(cached, 3, "every verified assertion is spent, the refused ones too");
    let starts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM saml_relay_states").fetch_one(&w.srv.db.pool).await.unwrap();
    assert!(starts >= 1, "{starts}");
    let p = authio_api::sessions::prune(&w.srv.db, chrono::Utc::now(), chrono::Duration::days(7)).await.unwrap();
    assert_eq!((p.saml_assertions, p.saml_relay_states), (0, 0), "none has expired yet");
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let p = authio_api::sessions::prune(&w.srv.db, later, chrono::Duration::days(7)).await.unwrap();
    assert_eq!((p.saml_assertions, p.saml_relay_states), (3, starts as u64));
    // A start whose state was pruned (or expired) cannot finish: 400, as a made-up one.
    let (s, _, v) = w.post_acs(&idp.respond(&idp.claims(sp, &request_id, "ada@acme.example")), &relay).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_sso_state"), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saml_connections_keep_to_their_organization_postgres() {
    saml_connections_keep_to_their_organization(true).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn saml_connections_keep_to_their_organization_sqlite() {
    saml_connections_keep_to_their_organization(false).await;
}
