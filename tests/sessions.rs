//! Sign-in and user-scoped sessions: the marquee scenario on PostgreSQL and SQLite,
//! plus single-use races, refresh reuse detection and key rotation.
mod common;

use common::{code, Server};
use futures::future::join_all;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

async fn start(postgres: bool) -> (Server, PathBuf) {
    let url = common::database_url(postgres).await;
    let dir = common::outbox();
    let mail = format!("file://{}", dir.display());
    let srv = Server::start_with(&url, |c| c.mail_url = Some(mail)).await;
    (srv, dir)
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verify with nothing but the published JWKS, as a resource server would.
async fn verify_with_jwks(srv: &Server, token: &str, project: &str) -> Value {
    let (_, jwks) = srv.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    let kid = header.kid.expect("kid");
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).expect("kid published");
    let key = DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::EdDSA);
    v.set_audience(&[project]);
    let (_, cfg) = srv.call(Method::GET, "/.well-known/openid-configuration", None, None).await;
    v.set_issuer(&[cfg["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(token, &key, &v).expect("verifies against the JWKS").claims
}

async fn magic_sign_in(srv: &Server, dir: &Path, pk: &str, email: &str) -> Value {
    let (s, v) = srv.front("/v1/auth/magic-links", pk, json!({"email": email})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let token = common::mailed(dir, email, "token=");
    let (s, a) = srv.front("/v1/auth/magic-links/verify", pk, json!({"token": token})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    a
}

async fn scenario(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let alice = srv.user(&sk, "alice@example.com").await;
    let bob = srv.user(&sk, "bob@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &alice, &acme, "admin").await;
    let alice_globex = srv.membership(&sk, &alice, &globex, "member").await;
    srv.membership(&sk, &bob, &acme, "member").await;

    // Magic link from the file outbox; two memberships, none used before: no active org.
    let s1 = magic_sign_in(&srv, &dir, &pk, "alice@example.com").await;
    assert_eq!(s1["user"]["id"], alice.as_str());
    assert!(s1["active_organization"].is_null(), "{s1}");
    assert_eq!(s1["memberships"].as_array().unwrap().len(), 2);
    let t1 = s1["access_token"].as_str().unwrap().to_string();
    assert!(claims(&t1).get("act_org").is_none());

    // switch-org to Acme: act_org Acme, org_role admin.
    let fused = srv.db.fused_commits();
    let (s, a) = srv.post("/v1/sessions/switch-org", &t1, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    // On PostgreSQL the switch (event, session and user rows, refresh tokens) commits as
    // one statement.
    assert_eq!(srv.db.fused_commits(), fused + postgres as u64);
    let ta = a["access_token"].as_str().unwrap().to_string();
    let ca = claims(&ta);
    assert_eq!((ca["act_org"].as_str(), ca["org_role"].as_str()), (Some(acme.as_str()), Some("admin")));
    assert_eq!(a["active_organization"]["role"], "admin");

    // switch-org to Globex: same sub and sid, act_org Globex; the event is stored.
    let (s, g) = srv.post("/v1/sessions/switch-org", &ta, json!({"organization_id": globex})).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    let tg = g["access_token"].as_str().unwrap().to_string();
    let cg = claims(&tg);
    assert_eq!(cg["sub"], ca["sub"]);
    assert_eq!(cg["sid"], ca["sid"]);
    assert_eq!(cg["act_org"], globex.as_str());
    assert_eq!(cg["org_role"], "member");
    let sid = cg["sid"].as_str().unwrap().to_string();
    let entered: Vec<Value> = sqlx::query_scalar::<_, String>(
        "SELECT payload FROM events WHERE event_type = 'session.org_switched' ORDER BY id",
    )
    .fetch_all(&srv.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|p| serde_json::from_str(p).unwrap())
    .filter(|p: &Value| p["session_id"] == sid.as_str())
    .collect();
    assert_eq!(entered.len(), 2);
    assert_eq!((&entered[0]["from"], &entered[0]["to"]), (&Value::Null, &json!(acme)));
    assert_eq!((&entered[1]["from"], &entered[1]["to"]), (&json!(acme), &json!(globex)));

    // The switches retired nothing: the sign-in's no-organization context, Acme's and
    // Globex's are all live in one session, and each token refreshes into its own.
    let states: Vec<String> = sqlx::query_scalar("SELECT state FROM refresh_tokens WHERE session_id = $1")
        .bind(&sid)
        .fetch_all(&srv.db.pool)
        .await
        .unwrap();
    assert_eq!(states, ["live", "live", "live"], "one live token per context");
    let mut refreshed = Vec::new();
    for (pair, org) in [(&s1, None), (&a, Some(&acme)), (&g, Some(&globex))] {
        let (s, r) = srv
            .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": pair["refresh_token"]})))
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["active_organization"]["id"].as_str(), org.map(String::as_str), "{r}");
        assert_eq!(r["session_id"], sid.as_str());
        assert_eq!(claims(r["access_token"].as_str().unwrap())["act_org"].as_str(), org.map(String::as_str));
        refreshed.push(r);
    }
    let (s, current) = srv.get("/v1/sessions/current", &tg).await;
    assert_eq!(s, StatusCode::OK, "{current}");
    assert_eq!(current["session_id"], sid.as_str());
    let orgs: Vec<Value> = current["contexts"].as_array().unwrap().iter().map(|c| c["organization"].clone()).collect();
    assert_eq!(orgs.len(), 3, "{current}");
    assert!(orgs[0].is_null(), "the sign-in's context first: {current}");
    assert_eq!((&orgs[1]["id"], &orgs[1]["name"], &orgs[1]["role"]), (&json!(acme), &json!("Acme"), &json!("admin")));
    assert_eq!((&orgs[2]["id"], &orgs[2]["role"]), (&json!(globex), &json!("member")));
    assert!(
        current["contexts"][2]["last_refreshed_at"].as_str().unwrap()
            >= current["contexts"][2]["created_at"].as_str().unwrap()
    );
    let tg = refreshed[2]["access_token"].as_str().unwrap().to_string();
    let g = refreshed[2].clone();
    assert_eq!(srv.get("/v1/me", &tg).await.0, StatusCode::OK);

    // The token verifies against the published key set.
    let verified = verify_with_jwks(&srv, &tg, &tid).await;
    assert_eq!(verified["act_org"], globex.as_str());

    // Sign out; sign in again: she lands in Globex, her last active organization.
    assert_eq!(srv.call(Method::POST, "/v1/sessions/revoke", Some(&tg), None).await.0, StatusCode::NO_CONTENT);
    let (s, _) = srv.get("/v1/me", &tg).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked session's token stops");
    let (s, e) =
        srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": g["refresh_token"]}))).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "refresh stops at sign-out");
    let s2 = magic_sign_in(&srv, &dir, &pk, "alice@example.com").await;
    assert_eq!(s2["active_organization"]["id"], globex.as_str());
    let t2 = s2["access_token"].as_str().unwrap().to_string();
    // A second device, also landing in Globex: its tokens stay bound to Globex.
    let device = magic_sign_in(&srv, &dir, &pk, "alice@example.com").await;
    assert_eq!(device["active_organization"]["id"], globex.as_str());

    // Back in Acme as its admin: the members of Acme, and nothing about Globex.
    let (s, a2) = srv.post("/v1/sessions/switch-org", &t2, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK);
    let ta2 = a2["access_token"].as_str().unwrap().to_string();
    let (s, members) = srv.get(&format!("/v1/organizations/{acme}/members"), &ta2).await;
    assert_eq!(s, StatusCode::OK, "{members}");
    let mut emails: Vec<&str> =
        members["data"].as_array().unwrap().iter().map(|m| m["user"]["email"].as_str().unwrap()).collect();
    emails.sort();
    assert_eq!(emails, vec!["alice@example.com", "bob@example.com"]);
    let text = members.to_string();
    assert!(!text.contains(&globex) && !text.contains("Globex") && !text.contains("globex"), "{text}");
    let (s, e) = srv.get(&format!("/v1/organizations/{globex}/members"), &ta2).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"));

    // The project deactivates alice's Globex membership.
    let (s, _) = srv.post(&format!("/v1/memberships/{alice_globex}/deactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let sessions = [claims(&ta2)["sid"].clone(), device["session_id"].clone()];
    let stream_lengths = async || {
        let mut n = Vec::new();
        for sid in &sessions {
            n.push(srv.db.read_stream("session", sid.as_str().unwrap()).await.unwrap().len());
        }
        n
    };
    let before = stream_lengths().await;
    let (s, e) = srv.post("/v1/sessions/switch-org", &ta2, json!({"organization_id": globex})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"));
    let (s, e) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": device["refresh_token"]})))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"), "refresh bound to Globex fails");
    // Both were refused whole: no event, and the refresh token was not spent (presented
    // again it is refused the same way, not taken for reuse).
    assert_eq!(stream_lengths().await, before);
    let (s, e) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": device["refresh_token"]})))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"));
    let (s, i) = srv.post("/v1/tokens/introspect", &sk, json!({"token": device["access_token"]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(i["active"], false);
    let (_, i) = srv.post("/v1/tokens/introspect", &sk, json!({"token": ta2})).await;
    assert_eq!((i["active"].as_bool(), i["act_org"].as_str()), (Some(true), Some(acme.as_str())));
    let (s, a3) = srv.post("/v1/sessions/switch-org", &ta2, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK, "Acme still works: {a3}");
    let (s, me) = srv.get("/v1/me", a3["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["active_organization"]["id"], acme.as_str());
    // The deactivation cut the device's Globex context, with an event.
    let device_sid = device["session_id"].as_str().unwrap();
    let cut = srv.db.read_stream("session_context", &format!("{device_sid}/{globex}")).await.unwrap();
    assert_eq!(cut.last().unwrap().event_type, "session.context_cut");
    assert_eq!(cut.last().unwrap().data["reason"], "membership_deactivated");

    // Reactivated, she switches back into Globex (the context reopens, a new epoch); the
    // tokens of before the cut stay dead.
    let (s, _) = srv.post(&format!("/v1/memberships/{alice_globex}/reactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, back) = srv
        .post("/v1/sessions/switch-org", device["access_token"].as_str().unwrap(), json!({"organization_id": globex}))
        .await;
    assert_eq!((s, code(&back)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "the cut context's token is dead");
    let (s, back) = srv.post("/v1/sessions/switch-org", &ta2, json!({"organization_id": globex})).await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["active_organization"]["id"], globex.as_str());
    let (s, e) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": device["refresh_token"]})))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_sqlite() {
    scenario(false).await;
}

const N: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_magic_link_token_creates_exactly_one_session() {
    let (srv, dir) = start(true).await;
    let (cs, tid, _) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (s, _) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "race@example.com"})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let token = common::mailed(&dir, "race@example.com", "token=");
    let results =
        join_all((0..N).map(|_| srv.front("/v1/auth/magic-links/verify", &pk, json!({"token": token})))).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    assert!(results
        .iter()
        .all(|(s, v)| *s == StatusCode::OK || (*s == StatusCode::UNAUTHORIZED && code(v) == "invalid_token")));
    let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions").fetch_one(&srv.db.pool).await.unwrap();
    assert_eq!(sessions, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_refreshes_of_one_token_give_one_success_and_revoke_on_reuse() {
    let srv = Server::start(true).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let u = srv.user(&sk, "u@example.com").await;
    let a = srv.sign_in(&sk, &pk, &u).await;
    let rt = a["refresh_token"].clone();
    let results = join_all(
        (0..N).map(|_| srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": rt})))),
    )
    .await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{results:?}");
    for (s, v) in &results {
        assert!(
            *s == StatusCode::OK || (*s == StatusCode::UNAUTHORIZED && code(v) == "refresh_token_reused"),
            "{s} {v}"
        );
    }
    // The reuse revoked the whole session: even the winner's new token is dead.
    let winner = results.iter().find(|(s, _)| *s == StatusCode::OK).unwrap().1.clone();
    let (s, _) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": winner["refresh_token"]})))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = srv.get("/v1/me", winner["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let sid = a["session_id"].as_str().unwrap();
    let events = srv.db.read_stream("session", sid).await.unwrap();
    let revoked = events.iter().find(|e| e.event_type == "session.revoked").expect("revoked");
    assert_eq!(revoked.data["reason"], "refresh_token_reused");
}

async fn refresh_rotation(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let u = srv.user(&sk, "u@example.com").await;
    let org = srv.org(&sk, "Solo").await;
    srv.membership(&sk, &u, &org, "member").await;
    let a = srv.sign_in(&sk, &pk, &u).await;
    assert_eq!(a["active_organization"]["id"], org.as_str(), "the only active membership is chosen");
    let fused = srv.db.fused_commits();
    let (s, b) =
        srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": a["refresh_token"]}))).await;
    assert_eq!(s, StatusCode::OK);
    // On PostgreSQL the refresh (event, spent token and its successor) is one statement.
    assert_eq!(srv.db.fused_commits(), fused + postgres as u64);
    assert_ne!(a["refresh_token"], b["refresh_token"]);
    assert_eq!(claims(b["access_token"].as_str().unwrap())["sid"], a["session_id"]);
    let (s, c) =
        srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": b["refresh_token"]}))).await;
    assert_eq!(s, StatusCode::OK);
    let c = tokens_that_name_their_family(&srv, c, postgres, (&sk, &pk, &u)).await;
    // Deleting the user stops refresh at once.
    assert_eq!(srv.delete(&format!("/v1/users/{u}"), &sk).await.0, StatusCode::NO_CONTENT);
    let (s, _) =
        srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": c["refresh_token"]}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = srv.get("/v1/me", c["access_token"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A refresh token names its family, and a refresh of one goes straight to its commit;
/// a made-up token naming the family and an expired one are refused as before, and one
/// from before families (naming its session, with no family in its row) moves into a
/// context of its own. Returns the pair to go on with.
async fn tokens_that_name_their_family(srv: &Server, pair: Value, postgres: bool, who: (&str, &str, &str)) -> Value {
    let rt = pair["refresh_token"].as_str().unwrap();
    let family = rt.strip_prefix("rt_").unwrap().split_once('.').unwrap().0.to_string();
    assert!(family.starts_with("fam_"), "{rt}");
    let refresh = |token: String| async move {
        srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": token}))).await
    };
    let live = || async {
        let (s, v) = srv.get("/v1/me", pair["access_token"].as_str().unwrap()).await;
        assert_eq!(s, StatusCode::OK, "the session is still live: {v}");
    };
    // Made up, naming the real family (and the form of a real token): refused, and
    // nothing else happens.
    let forged = format!("rt_{family}.{}", "ab".repeat(32));
    let (s, e) = refresh(forged).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    live().await;
    // Expired: refused as before, not taken for reuse.
    sqlx::query("UPDATE refresh_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE token_hash = $1")
        .bind(authio_api::crypto::hash_secret(rt))
        .execute(&srv.db.pool)
        .await
        .unwrap();
    let (s, e) = refresh(rt.to_string()).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "expired");
    live().await;
    // A token of the form before families, live in the same session: it refreshes into
    // the session's organization, and the new one names a family.
    let sid = pair["session_id"].as_str().unwrap();
    let old_form = format!("rt_{sid}.{}", "cd".repeat(32));
    sqlx::query(
        "INSERT INTO refresh_tokens (token_hash, session_id, project_id, user_id, state, created_at, expires_at) \
         SELECT $1, session_id, project_id, user_id, 'live', created_at, '2100-01-01T00:00:00.000000Z' \
         FROM refresh_tokens WHERE token_hash = $2",
    )
    .bind(authio_api::crypto::hash_secret(&old_form))
    .bind(authio_api::crypto::hash_secret(rt))
    .execute(&srv.db.pool)
    .await
    .unwrap();
    let (s, next) = refresh(old_form.clone()).await;
    assert_eq!(s, StatusCode::OK, "{next}");
    assert_eq!(next["active_organization"], pair["active_organization"]);
    assert!(next["refresh_token"].as_str().unwrap().starts_with("rt_fam_"));
    let (s, e) = refresh(old_form).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "refresh_token_reused"), "spent like any other");
    // Reuse revoked the session: sign in again to go on.
    let fresh = srv.sign_in(who.0, who.1, who.2).await;
    let fused = srv.db.fused_commits();
    // The token of the new form refreshes in one commit (reuse of a spent one is
    // `parallel_refreshes_of_one_token_give_one_success_and_revoke_on_reuse`).
    let (s, last) = refresh(fresh["refresh_token"].as_str().unwrap().to_string()).await;
    assert_eq!(s, StatusCode::OK, "{last}");
    assert_eq!(srv.db.fused_commits(), fused + postgres as u64);
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_postgres() {
    refresh_rotation(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotation_sqlite() {
    refresh_rotation(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_tokens_are_single_use_audited_and_project_bound() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (cs2, tid2, _) = srv.project("other@example.com", "b2b").await;
    let pk2 = srv.publishable_key(&cs2, &tid2).await;
    let u = srv.user(&sk, "u@example.com").await;
    let (s, t) = srv.post("/v1/sign-in-tokens", &sk, json!({"user_id": u})).await;
    assert_eq!(s, StatusCode::CREATED);
    assert!(t["expires_at"].is_string());
    let (s, e) = srv.front("/v1/auth/sign-in-tokens/verify", &pk2, json!({"token": t["token"]})).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "invalid_token"), "another project's frontend");
    let (s, _) = srv.front("/v1/auth/sign-in-tokens/verify", &pk, json!({"token": t["token"]})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = srv.front("/v1/auth/sign-in-tokens/verify", &pk, json!({"token": t["token"]})).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "invalid_token"), "single use");
    // A magic-link endpoint does not take a sign-in token (bound to its purpose).
    let (_, t2) = srv.post("/v1/sign-in-tokens", &sk, json!({"user_id": u})).await;
    let (s, _) = srv.front("/v1/auth/magic-links/verify", &pk, json!({"token": t2["token"]})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = srv.post("/v1/sign-in-tokens", &sk, json!({"user_id": "user_nobody"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let events = srv.db.read_stream("user", &u).await.unwrap();
    let issued = events.iter().filter(|e| e.event_type == "user.sign_in_token_issued").count();
    assert_eq!(issued, 2, "audited");
    assert!(events.iter().all(|e| !e.data.to_string().contains(t["token"].as_str().unwrap())), "no token in events");
    // Expired tokens are refused (checked at use).
    let (_, t3) = srv.post("/v1/sign-in-tokens", &sk, json!({"user_id": u})).await;
    sqlx::query("UPDATE one_time_tokens SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE used_at IS NULL")
        .execute(&srv.db.pool)
        .await
        .unwrap();
    let (s, _) = srv.front("/v1/auth/sign-in-tokens/verify", &pk, json!({"token": t3["token"]})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn magic_links_answer_alike_and_are_rate_limited() {
    let (srv, dir) = start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    srv.user(&sk, "known@example.com").await;
    let (s1, v1) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "known@example.com"})).await;
    let (s2, v2) = srv.front("/v1/auth/magic-links", &pk, json!({"email": "unknown@example.com"})).await;
    assert_eq!((s1, &v1), (s2, &v2), "known and unknown emails answer alike");
    assert_eq!(s1, StatusCode::ACCEPTED);
    // First sign-in of an unknown address signs the user up.
    let token = common::mailed(&dir, "unknown@example.com", "token=");
    let (s, a) = srv.front("/v1/auth/magic-links/verify", &pk, json!({"token": token})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(a["user"]["email"], "unknown@example.com");
    // Per-email limit.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(srv.front("/v1/auth/magic-links", &pk, json!({"email": "spam@example.com"})).await);
    }
    assert_eq!(statuses.iter().filter(|(s, _)| *s == StatusCode::ACCEPTED).count(), 5);
    let (s, v) = statuses.last().unwrap();
    assert_eq!((*s, code(v)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    // An address mail cannot be sent to is bad input, not an outage (found by schemathesis).
    let label = "0".repeat(64);
    let (s, v) = srv.front("/v1/auth/magic-links", &pk, json!({"email": format!("0@0.{label}")})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"));
    // No publishable key, or a bad one: 401.
    let (s, _) = srv.call(Method::POST, "/v1/auth/magic-links", None, Some(json!({"email": "a@example.com"}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = srv.front("/v1/auth/magic-links", "pk_test_nope", json!({"email": "a@example.com"})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_sign_in_to_the_console_by_email_link() {
    let (srv, dir) = start(false).await;
    let (s, _) = srv.call(Method::POST, "/v1/session/sign-in", None, Some(json!({"email": "op@example.com"}))).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let token = common::mailed(&dir, "op@example.com", "token=");
    let (s, v) = srv.call(Method::POST, "/v1/session/sign-in/verify", None, Some(json!({"token": token}))).await;
    assert_eq!(s, StatusCode::OK);
    let cs = v["token"].as_str().unwrap().to_string();
    assert!(cs.starts_with("cs_"));
    let (s, t) = srv.post("/v1/session/tenants", &cs, json!({"name": "Mine"})).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let (s, _) = srv.call(Method::POST, "/v1/session/sign-in/verify", None, Some(json!({"token": token}))).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "single use");
    let mail = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .find(|m| m.contains("op@example.com"))
        .expect("the sign-in mail");
    assert!(mail.contains("/dashboard/?token="), "the link opens the dashboard: {mail}");

    // Sign-out ends this console session only: its token answers 401 from then on.
    let other = srv.console_token("op@example.com").await;
    let (s, _) = srv.post("/v1/session/sign-out", &cs, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = srv.get("/v1/session/home", &cs).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "signed out");
    let (s, _) = srv.post("/v1/session/sign-out", &cs, json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "once");
    let (s, _) = srv.get("/v1/session/tenants/me", &other).await;
    assert_eq!(s, StatusCode::OK, "the operator's other session stays");
    let (s, _) = srv.call(Method::POST, "/v1/session/sign-out", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_old_tokens_valid() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let u = srv.user(&sk, "u@example.com").await;
    let old = srv.sign_in(&sk, &pk, &u).await;
    let old_token = old["access_token"].as_str().unwrap().to_string();
    let new_kid = srv.cli(&["keys", "rotate"]).await;
    assert!(new_kid.starts_with("kid_"));
    // A token signed by the old key still verifies.
    let (s, _) = srv.get("/v1/me", &old_token).await;
    assert_eq!(s, StatusCode::OK);
    // Wait out the key cache, then new tokens carry the new kid; both keys are published.
    tokio::time::sleep(authio_api::tokens::RELOAD_EVERY + std::time::Duration::from_millis(100)).await;
    let fresh = srv.sign_in(&sk, &pk, &u).await;
    let fresh_token = fresh["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(fresh_token).unwrap();
    let (_, jwks) = srv.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    let (s, _) = srv.get("/v1/me", fresh_token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
}
