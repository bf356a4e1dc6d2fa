//! Invitations (docs/org-admin.md): created and mailed with a code, read by code on the
//! accept page, accepted by a signed-in user with the invited (verified) email, or by a
//! new user through a magic link even while sign-up is closed; revoked, resent, expired
//! by the sweep; org admins reach their organization's only. Every scenario runs on
//! PostgreSQL and on SQLite.
mod common;

use chrono::{DateTime, Duration, Utc};
use common::{claims, code, id, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

async fn start(postgres: bool) -> (Server, PathBuf) {
    let url = common::database_url(postgres).await;
    let dir = common::outbox();
    let mail = format!("file://{}", dir.display());
    let srv = Server::start_with(&url, |c| c.mail_url = Some(mail)).await;
    (srv, dir)
}

/// The newest invitation mail to `to`: its text and the code of its link.
fn invitation_mail(dir: &Path, to: &str) -> (String, String) {
    let mail = common::mails_to(dir, to)
        .into_iter()
        .rev()
        .find(|m| m.contains("invitation_code="))
        .unwrap_or_else(|| panic!("no invitation mail to {to} in {}", dir.display()));
    let code = common::value_after(&mail, "invitation_code=");
    assert!(code.starts_with("inv_") && code.len() > 10, "{code}");
    (mail, code)
}

/// The newest magic-link token mailed to `to`.
fn magic_token(dir: &Path, to: &str) -> String {
    let mail = common::mails_to(dir, to)
        .into_iter()
        .rev()
        .find(|m| m.contains("token=ml_"))
        .unwrap_or_else(|| panic!("no magic link to {to} in {}", dir.display()));
    common::value_after(&mail, "token=")
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key} in {v}")).to_string()
}

fn time(v: &Value, key: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&text(v, key)).unwrap_or_else(|e| panic!("{key} in {v}: {e}")).with_timezone(&Utc)
}

/// A user whose email is verified.
async fn verified_user(srv: &Server, sk: &str, email: &str) -> String {
    let (s, u) = srv.post("/v1/users", sk, json!({"email": email, "email_verified": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    id(&u)
}

/// A signed-in user's access token (no organization chosen by the test).
async fn access_token(srv: &Server, sk: &str, pk: &str, user: &str) -> String {
    text(&srv.sign_in(sk, pk, user).await, "access_token")
}

/// A signed-in user's access token in `org`.
async fn org_token(srv: &Server, sk: &str, pk: &str, user: &str, org: &str) -> String {
    let signed_in = access_token(srv, sk, pk, user).await;
    let (s, v) = srv.post("/v1/sessions/switch-org", &signed_in, json!({"organization_id": org})).await;
    assert_eq!(s, StatusCode::OK, "switch into {org}: {v}");
    text(&v, "access_token")
}

async fn invite(srv: &Server, token: &str, body: Value) -> Value {
    let (s, v) = srv.post("/v1/invitations", token, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}: {v}");
    assert_eq!(v["state"], "pending", "{v}");
    v
}

async fn accept(srv: &Server, access: &str, code: &str) -> (StatusCode, Value) {
    srv.post("/v1/invitations/accept", access, json!({"code": code})).await
}

async fn by_code(srv: &Server, pk: &str, code: &str) -> (StatusCode, Value) {
    srv.call_with(Method::GET, &format!("/v1/invitations/by-code/{code}"), None, Some(pk), None).await
}

async fn invitation(srv: &Server, sk: &str, inv: &str) -> Value {
    let (s, v) = srv.get(&format!("/v1/invitations/{inv}"), sk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The ids of a list answer's items.
fn ids(list: &Value) -> BTreeSet<String> {
    list["data"].as_array().unwrap_or_else(|| panic!("no data in {list}")).iter().map(id).collect()
}

fn set(items: &[&String]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The project's events of `types`, oldest first.
async fn events(srv: &Server, sk: &str, types: &str) -> Vec<Value> {
    let (s, v) = srv.get(&format!("/v1/events?types={types}&limit=100"), sk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"].as_array().unwrap().clone()
}

// 1. Created and mailed, read by code, accepted once: the member switches in.
async fn lifecycle(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let urls = json!({"redirect_urls": ["https://app.example.com/accept"]});
    let (s, v) = srv.call(Method::PUT, "/v1/redirect-urls", Some(&sk), Some(urls)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (s, a) = srv.post("/v1/users", &sk, json!({"email": "alice@example.com", "first_name": "Alice"})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let alice = id(&a);
    srv.membership(&sk, &alice, &acme, "admin").await;
    srv.membership(&sk, &alice, &globex, "member").await;
    let bob = verified_user(&srv, &sk, "bob@example.com").await;

    let body =
        json!({"email": "bob@example.com", "organization_id": acme, "redirect_url": "https://evil.example.net/x"});
    let (s, e) = srv.post("/v1/invitations", &sk, body).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "redirect_not_allowed"), "{e}");

    let inv = invite(
        &srv,
        &sk,
        json!({"email": "bob@example.com", "organization_id": acme, "role": "admin", "inviter_user_id": alice,
               "redirect_url": "https://app.example.com/accept"}),
    )
    .await;
    let inv_id = id(&inv);
    assert_eq!(
        (&inv["email"], &inv["organization_id"], &inv["role"]),
        (&json!("bob@example.com"), &json!(acme), &json!("admin")),
        "{inv}"
    );
    assert_eq!(inv["inviter_user_id"], alice.as_str(), "{inv}");
    assert!(inv["accepted_at"].is_null() && inv["accepted_user_id"].is_null(), "{inv}");
    let ttl = (time(&inv, "expires_at") - time(&inv, "created_at")).num_seconds();
    assert!((604_795..=604_805).contains(&ttl), "seven days by default: {ttl} s in {inv}");

    // The mail carries the link and the code; only a hash of the code is kept.
    let (mail, inv_code) = invitation_mail(&dir, "bob@example.com");
    assert!(mail.contains(&format!("https://app.example.com/accept?invitation_code={inv_code}")), "{mail}");
    assert!(mail.matches(inv_code.as_str()).count() >= 2, "the link and the code itself: {mail}");
    let got = invitation(&srv, &sk, &inv_id).await;
    assert!(!got.to_string().contains(&inv_code), "{got}");
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM events").fetch_all(&srv.db.pool).await.unwrap();
    assert!(payloads.iter().all(|p| !p.contains(&inv_code)), "no code in any event");

    // The accept page: this invitation, its organization and inviter, no other org.
    let (s, view) = by_code(&srv, &pk, &inv_code).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["email"], "bob@example.com", "{view}");
    assert_eq!(view["organization"], json!({"id": acme, "name": "Acme", "slug": "acme"}), "{view}");
    assert_eq!(view["role"], "admin", "{view}");
    assert_eq!(view["inviter"]["email"], "alice@example.com", "{view}");
    assert_eq!(view["state"], "pending", "{view}");
    assert_eq!(time(&view, "expires_at"), time(&inv, "expires_at"), "{view}");
    let shown = view.to_string();
    assert!(!shown.contains(&globex) && !shown.contains("Globex") && !shown.contains("globex"), "{shown}");
    let path = format!("/v1/invitations/by-code/{inv_code}");
    let (s, e) = srv.call(Method::GET, &path, None, None).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "no publishable key: {e}");

    // Bob accepts: an active admin membership in Acme, and a switch into it.
    let bob_token = access_token(&srv, &sk, &pk, &bob).await;
    let (s, done) = accept(&srv, &bob_token, &inv_code).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["invitation"]["id"], inv_id.as_str(), "{done}");
    assert_eq!(done["invitation"]["state"], "accepted", "{done}");
    assert_eq!(done["invitation"]["accepted_user_id"], bob.as_str(), "{done}");
    assert!(done["invitation"]["accepted_at"].is_string(), "{done}");
    let m = &done["membership"];
    assert_eq!((&m["user_id"], &m["organization_id"]), (&json!(bob), &json!(acme)), "{done}");
    assert_eq!((&m["role"], &m["status"]), (&json!("admin"), &json!("active")), "{done}");
    let (s, stored) = srv.get(&format!("/v1/memberships/{}", id(m)), &sk).await;
    assert_eq!(
        (s, &stored["role"], &stored["status"]),
        (StatusCode::OK, &json!("admin"), &json!("active")),
        "{stored}"
    );
    let (s, sw) = srv.post("/v1/sessions/switch-org", &bob_token, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK, "{sw}");
    let c = claims(&text(&sw, "access_token"));
    assert_eq!((c["act_org"].as_str(), c["org_role"].as_str()), (Some(acme.as_str()), Some("admin")), "{c}");

    // Once only.
    let (s, e) = accept(&srv, &bob_token, &inv_code).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invitation_accepted"), "{e}");
    let (s, view) = by_code(&srv, &pk, &inv_code).await;
    assert_eq!((s, &view["state"]), (StatusCode::OK, &json!("accepted")), "{view}");
    let got = invitation(&srv, &sk, &inv_id).await;
    assert_eq!((&got["state"], &got["accepted_user_id"]), (&json!("accepted"), &json!(bob)), "{got}");

    let seen: Vec<(String, bool)> = events(&srv, &sk, "invitation.*")
        .await
        .iter()
        .map(|e| (text(e, "type"), e.to_string().contains(&inv_id)))
        .collect();
    assert_eq!(
        seen,
        vec![("invitation.created".to_string(), true), ("invitation.accepted".to_string(), true)],
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_pg() {
    lifecycle(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_sqlite() {
    lifecycle(false).await;
}

// 2. Refusals when accepting; revoke and resend.
async fn refusals_revoke_and_resend(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let carol = verified_user(&srv, &sk, "carol@example.com").await;
    let dave = verified_user(&srv, &sk, "dave@example.com").await;
    let erin = srv.user(&sk, "erin@example.com").await;
    let carol_token = access_token(&srv, &sk, &pk, &carol).await;
    let dave_token = access_token(&srv, &sk, &pk, &dave).await;

    // Without a redirect URL the link points at this server; the role is the default.
    let inv = invite(&srv, &sk, json!({"email": "carol@example.com", "organization_id": acme})).await;
    assert_eq!(inv["role"], "member", "the default role: {inv}");
    let (mail, first_code) = invitation_mail(&dir, "carol@example.com");
    assert!(mail.contains(&format!("/invitations/accept?invitation_code={first_code}")), "{mail}");

    let (s, e) = accept(&srv, &dave_token, &first_code).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "invitation_email_mismatch"), "{e}");
    let (s, e) = accept(&srv, &dave_token, &format!("inv_{}", "0".repeat(64))).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "invitation_invalid"), "{e}");
    let (s, e) = srv.call(Method::POST, "/v1/invitations/accept", None, Some(json!({"code": first_code}))).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{e}");

    // Revoked: refused for good; revoking or resending it again is a conflict.
    let (s, r) = srv.post(&format!("/v1/invitations/{}/revoke", id(&inv)), &sk, json!({})).await;
    assert_eq!((s, &r["state"]), (StatusCode::OK, &json!("revoked")), "{r}");
    let (s, e) = accept(&srv, &carol_token, &first_code).await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, "invitation_revoked"), "{e}");
    for action in ["revoke", "resend"] {
        let (s, e) = srv.post(&format!("/v1/invitations/{}/{action}", id(&inv)), &sk, json!({})).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invitation_not_pending"), "{action}: {e}");
    }

    // Resent: a new code and expiry; the old code is unknown from then on.
    let again = invite(&srv, &sk, json!({"email": "carol@example.com", "organization_id": acme})).await;
    let (_, old_code) = invitation_mail(&dir, "carol@example.com");
    assert_ne!(old_code, first_code);
    let (s, resent) =
        srv.post(&format!("/v1/invitations/{}/resend", id(&again)), &sk, json!({"expires_in": 3600})).await;
    assert_eq!((s, &resent["state"]), (StatusCode::OK, &json!("pending")), "{resent}");
    let left = (time(&resent, "expires_at") - Utc::now()).num_seconds();
    assert!((3_570..=3_601).contains(&left), "a new expiry of an hour: {left} s in {resent}");
    let (_, new_code) = invitation_mail(&dir, "carol@example.com");
    assert_ne!(new_code, old_code, "a new code is mailed");
    let (s, e) = accept(&srv, &carol_token, &old_code).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "invitation_invalid"), "{e}");
    let (s, e) = by_code(&srv, &pk, &old_code).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    let (s, done) = accept(&srv, &carol_token, &new_code).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["membership"]["role"], "member", "{done}");
    let types: Vec<String> = events(&srv, &sk, "invitation.*").await.iter().map(|e| text(e, "type")).collect();
    assert!(types.contains(&"invitation.revoked".into()) && types.contains(&"invitation.resent".into()), "{types:?}");

    // An unverified email may not accept until it is verified.
    invite(&srv, &sk, json!({"email": "erin@example.com", "organization_id": acme})).await;
    let (_, erin_code) = invitation_mail(&dir, "erin@example.com");
    let erin_token = access_token(&srv, &sk, &pk, &erin).await;
    let (s, e) = accept(&srv, &erin_token, &erin_code).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "email_not_verified"), "{e}");
    let (s, u) = srv.patch(&format!("/v1/users/{erin}"), &sk, json!({"email_verified": true})).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let (s, done) = accept(&srv, &erin_token, &erin_code).await;
    assert_eq!(s, StatusCode::OK, "{done}");

    // expires_in is bounded: 60 s to 30 days.
    for bad in [59, 2_592_001] {
        let body = json!({"email": "frank@example.com", "organization_id": acme, "expires_in": bad});
        let (s, e) = srv.post("/v1/invitations", &sk, body).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "expires_in {bad}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_revoke_and_resend_pg() {
    refusals_revoke_and_resend(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_revoke_and_resend_sqlite() {
    refusals_revoke_and_resend(false).await;
}

// 3. The sweep expires pending invitations past their expiry, and only those.
async fn expiry(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let frank = verified_user(&srv, &sk, "frank@example.com").await;
    let short =
        invite(&srv, &sk, json!({"email": "frank@example.com", "organization_id": acme, "expires_in": 60})).await;
    let (_, short_code) = invitation_mail(&dir, "frank@example.com");
    let week = invite(&srv, &sk, json!({"email": "grace@example.com", "organization_id": acme})).await;
    let month =
        invite(&srv, &sk, json!({"email": "heidi@example.com", "organization_id": acme, "expires_in": 2_592_000}))
            .await;
    let revoked =
        invite(&srv, &sk, json!({"email": "ivan@example.com", "organization_id": acme, "expires_in": 60})).await;
    let (s, r) = srv.post(&format!("/v1/invitations/{}/revoke", id(&revoked)), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    let n = authio_api::invitations::sweep_expired(&srv.db, Utc::now()).await.expect("sweep");
    assert_eq!(n, 0, "nothing is due yet");
    let later = Utc::now() + Duration::days(8);
    let n = authio_api::invitations::sweep_expired(&srv.db, later).await.expect("sweep");
    assert_eq!(n, 2, "the one-minute and the one-week invitations");
    let n = authio_api::invitations::sweep_expired(&srv.db, later).await.expect("sweep");
    assert_eq!(n, 0, "a second sweep finds nothing more");

    for (inv, state) in [(&short, "expired"), (&week, "expired"), (&month, "pending"), (&revoked, "revoked")] {
        let got = invitation(&srv, &sk, &id(inv)).await;
        assert_eq!(got["state"], state, "{got}");
    }
    let frank_token = access_token(&srv, &sk, &pk, &frank).await;
    let (s, e) = accept(&srv, &frank_token, &short_code).await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, "invitation_expired"), "{e}");
    let (s, view) = by_code(&srv, &pk, &short_code).await;
    assert_eq!((s, &view["state"]), (StatusCode::OK, &json!("expired")), "{view}");
    let (s, e) = srv.post(&format!("/v1/invitations/{}/resend", id(&short)), &sk, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invitation_not_pending"), "{e}");

    let expired = events(&srv, &sk, "invitation.expired").await;
    assert_eq!(expired.len(), 2, "{expired:?}");
    for inv in [&short, &week] {
        assert!(expired.iter().any(|e| e.to_string().contains(&id(inv))), "{expired:?}");
    }
    let (s, audit) = srv.get("/v1/audit-events?action=invitation.expired", &sk).await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    assert_eq!(audit["data"].as_array().unwrap().len(), 2, "{audit}");
    // No longer pending: Frank may be invited again.
    invite(&srv, &sk, json!({"email": "frank@example.com", "organization_id": acme})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_pg() {
    expiry(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_sqlite() {
    expiry(false).await;
}

async fn magic_verify(
    srv: &Server,
    dir: &Path,
    pk: &str,
    email: &str,
    invitation: Option<&str>,
) -> (StatusCode, Value) {
    let (s, v) = srv.front("/v1/auth/magic-links", pk, json!({"email": email})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let mut body = json!({"token": magic_token(dir, email)});
    if let Some(code) = invitation {
        body["invitation_code"] = json!(code);
    }
    srv.front("/v1/auth/magic-links/verify", pk, body).await
}

// 4. Closed sign-up: only an invitation lets a new user in, straight into the org.
async fn closed_sign_up(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    srv.user(&sk, "old@example.com").await;
    let (s, settings) = srv.get("/v1/settings", &sk).await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    assert_eq!(settings["sign_up"], "open", "{settings}");
    let (s, settings) = srv.patch("/v1/settings", &sk, json!({"sign_up": "invitation_only"})).await;
    assert_eq!(s, StatusCode::OK, "{settings}");
    assert_eq!(settings["sign_up"], "invitation_only", "{settings}");
    assert_eq!(srv.get("/v1/settings", &sk).await.1["sign_up"], "invitation_only");

    let (s, e) = magic_verify(&srv, &dir, &pk, "newbie@example.com", None).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "sign_up_closed"), "{e}");
    let (_, users) = srv.get("/v1/users?email=newbie@example.com", &sk).await;
    assert_eq!(users["data"], json!([]), "nobody was signed up: {users}");
    // Existing users still sign in.
    let (s, a) = magic_verify(&srv, &dir, &pk, "old@example.com", None).await;
    assert_eq!(s, StatusCode::OK, "{a}");

    let inv = invite(&srv, &sk, json!({"email": "newbie@example.com", "organization_id": acme})).await;
    let (_, inv_code) = invitation_mail(&dir, "newbie@example.com");
    let (s, session) = magic_verify(&srv, &dir, &pk, "newbie@example.com", Some(&inv_code)).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], "newbie@example.com", "{session}");
    assert_eq!(session["active_organization"]["id"], acme.as_str(), "the session opens in the org: {session}");
    assert_eq!(session["active_organization"]["role"], "member", "{session}");
    assert_eq!(claims(&text(&session, "access_token"))["act_org"], acme.as_str());
    let newbie = text(&session["user"], "id");
    let got = invitation(&srv, &sk, &id(&inv)).await;
    assert_eq!((&got["state"], &got["accepted_user_id"]), (&json!("accepted"), &json!(newbie)), "{got}");
    let (_, u) = srv.get(&format!("/v1/users/{newbie}"), &sk).await;
    assert_eq!(u["email_verified"], true, "{u}");

    // A project invitation (no organization) signs up without joining any.
    let solo = invite(&srv, &sk, json!({"email": "solo@example.com"})).await;
    assert!(solo["organization_id"].is_null() && solo["role"].is_null(), "{solo}");
    let (_, solo_code) = invitation_mail(&dir, "solo@example.com");
    let (s, view) = by_code(&srv, &pk, &solo_code).await;
    assert_eq!((s, &view["organization"]), (StatusCode::OK, &Value::Null), "{view}");
    let (s, session) = magic_verify(&srv, &dir, &pk, "solo@example.com", Some(&solo_code)).await;
    assert_eq!(s, StatusCode::OK, "{session}");
    assert!(session["active_organization"].is_null(), "{session}");
    assert_eq!(invitation(&srv, &sk, &id(&solo)).await["state"], "accepted");

    // Open again: sign-up without an invitation works.
    let (s, settings) = srv.patch("/v1/settings", &sk, json!({"sign_up": "open"})).await;
    assert_eq!((s, &settings["sign_up"]), (StatusCode::OK, &json!("open")), "{settings}");
    let (s, a) = magic_verify(&srv, &dir, &pk, "walkin@example.com", None).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let types: Vec<String> =
        events(&srv, &sk, "tenant.settings_changed").await.iter().map(|e| text(e, "type")).collect();
    assert_eq!(types.len(), 2, "{types:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_sign_up_pg() {
    closed_sign_up(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_sign_up_sqlite() {
    closed_sign_up(false).await;
}

// 5. Accepting joins that org only; conflicts; a deactivated membership comes back.
async fn memberships_through_invitations(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let initech = srv.org(&sk, "Initech").await;
    let judy = verified_user(&srv, &sk, "judy@example.com").await;
    let judy_token = access_token(&srv, &sk, &pk, &judy).await;

    invite(&srv, &sk, json!({"email": "judy@example.com", "organization_id": acme})).await;
    let (_, acme_code) = invitation_mail(&dir, "judy@example.com");
    let to_globex =
        invite(&srv, &sk, json!({"email": "judy@example.com", "organization_id": globex, "role": "admin"})).await;
    let (_, globex_code) = invitation_mail(&dir, "judy@example.com");
    let (s, e) = srv.post("/v1/invitations", &sk, json!({"email": "judy@example.com", "organization_id": acme})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "invitation_exists"), "{e}");

    let (s, done) = accept(&srv, &judy_token, &acme_code).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(invitation(&srv, &sk, &id(&to_globex)).await["state"], "pending", "Globex's stays pending");
    let (_, mine) = srv.get(&format!("/v1/memberships?user_id={judy}"), &sk).await;
    let orgs: Vec<&str> =
        mine["data"].as_array().unwrap().iter().map(|m| m["organization_id"].as_str().unwrap()).collect();
    assert_eq!(orgs, vec![acme.as_str()], "only Acme was joined: {mine}");
    let (s, e) = srv.post("/v1/invitations", &sk, json!({"email": "judy@example.com", "organization_id": acme})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "already_member"), "{e}");

    // Made a member of Globex meanwhile: the pending invitation meets an active member.
    srv.membership(&sk, &judy, &globex, "member").await;
    let (s, e) = accept(&srv, &judy_token, &globex_code).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "already_member"), "{e}");

    // A deactivated membership is reactivated by an invitation, with the invited role.
    let old = srv.membership(&sk, &judy, &initech, "member").await;
    let (s, m) = srv.post(&format!("/v1/memberships/{old}/deactivate"), &sk, json!({})).await;
    assert_eq!((s, &m["status"]), (StatusCode::OK, &json!("inactive")), "{m}");
    invite(&srv, &sk, json!({"email": "judy@example.com", "organization_id": initech, "role": "admin"})).await;
    let (_, initech_code) = invitation_mail(&dir, "judy@example.com");
    let (s, done) = accept(&srv, &judy_token, &initech_code).await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["membership"]["id"], old.as_str(), "the same membership: {done}");
    let (_, m) = srv.get(&format!("/v1/memberships/{old}"), &sk).await;
    assert_eq!((&m["status"], &m["role"]), (&json!("active"), &json!("admin")), "{m}");
    let (s, sw) = srv.post("/v1/sessions/switch-org", &judy_token, json!({"organization_id": initech})).await;
    assert_eq!(s, StatusCode::OK, "{sw}");
    assert_eq!(claims(&text(&sw, "access_token"))["org_role"], "admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_through_invitations_pg() {
    memberships_through_invitations(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memberships_through_invitations_sqlite() {
    memberships_through_invitations(false).await;
}

// 6. Org admins invite into their organization only; members, strangers and other
// projects are refused.
async fn who_may_invite(postgres: bool) {
    let (srv, dir) = start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (cs2, tid2, sk2) = srv.project("stranger@example.com", "b2b").await;
    let pk2 = srv.publishable_key(&cs2, &tid2).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (admin, member, admin_g) = (
        srv.user(&sk, "admin@example.com").await,
        srv.user(&sk, "member@example.com").await,
        srv.user(&sk, "admin-g@example.com").await,
    );
    srv.membership(&sk, &admin, &acme, "admin").await;
    srv.membership(&sk, &member, &acme, "member").await;
    srv.membership(&sk, &admin_g, &globex, "admin").await;
    let ta = org_token(&srv, &sk, &pk, &admin, &acme).await;
    let tm = org_token(&srv, &sk, &pk, &member, &acme).await;
    let tg = org_token(&srv, &sk, &pk, &admin_g, &globex).await;

    // The admin's invitations are to Acme, from the admin.
    let one = invite(&srv, &ta, json!({"email": "new1@example.com"})).await;
    assert_eq!((&one["organization_id"], &one["inviter_user_id"]), (&json!(acme), &json!(admin)), "{one}");
    let (_, one_code) = invitation_mail(&dir, "new1@example.com");
    let two = invite(&srv, &ta, json!({"email": "new2@example.com", "organization_id": acme, "role": "member"})).await;
    assert_eq!(two["inviter_user_id"], admin.as_str(), "{two}");
    let (s, e) = srv.post("/v1/invitations", &ta, json!({"email": "x@example.com", "organization_id": globex})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let theirs = invite(&srv, &sk, json!({"email": "new3@example.com", "organization_id": globex})).await;

    let (s, list) = srv.get("/v1/invitations", &ta).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(ids(&list), set(&[&id(&one), &id(&two)]), "{list}");
    assert!(!list.to_string().contains(&globex), "{list}");
    let (s, list) = srv.get(&format!("/v1/invitations?organization_id={acme}"), &ta).await;
    assert_eq!((s, ids(&list)), (StatusCode::OK, set(&[&id(&one), &id(&two)])), "{list}");
    let (s, e) = srv.get(&format!("/v1/invitations?organization_id={globex}"), &ta).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let other = format!("/v1/invitations/{}", id(&theirs));
    let (s, e) = srv.get(&other, &ta).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    for action in ["revoke", "resend"] {
        let (s, e) = srv.post(&format!("{other}/{action}"), &ta, json!({})).await;
        assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{action}: {e}");
    }
    let (s, e) = srv.get(&format!("/v1/invitations/{}", id(&one)), &tg).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "Globex's admin: {e}");
    let (s, got) = srv.get(&format!("/v1/invitations/{}", id(&one)), &ta).await;
    assert_eq!((s, id(&got)), (StatusCode::OK, id(&one)), "{got}");
    let (s, r) = srv.post(&format!("/v1/invitations/{}/revoke", id(&two)), &ta, json!({})).await;
    assert_eq!((s, &r["state"]), (StatusCode::OK, &json!("revoked")), "{r}");

    // A plain member: 403.
    let (s, e) = srv.post("/v1/invitations", &tm, json!({"email": "y@example.com"})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");
    let (s, e) = srv.get("/v1/invitations", &tm).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");

    // No credential: 401.
    let body = json!({"email": "z@example.com", "organization_id": acme});
    for (method, path, body) in [
        (Method::POST, "/v1/invitations".to_string(), Some(body)),
        (Method::GET, "/v1/invitations".to_string(), None),
        (Method::GET, format!("/v1/invitations/{}", id(&one)), None),
        (Method::POST, format!("/v1/invitations/{}/revoke", id(&one)), Some(json!({}))),
    ] {
        let (s, e) = srv.call(method.clone(), &path, None, body).await;
        assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{method} {path}: {e}");
    }

    // Another project knows nothing of these.
    let mine = format!("/v1/invitations/{}", id(&one));
    let (s, e) = srv.get(&mine, &sk2).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, e) = srv.post(&format!("{mine}/revoke"), &sk2, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, list) = srv.get("/v1/invitations", &sk2).await;
    assert_eq!((s, &list["data"]), (StatusCode::OK, &json!([])), "{list}");
    let (s, e) = srv.post("/v1/invitations", &sk2, json!({"email": "w@example.com", "organization_id": acme})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, e) = by_code(&srv, &pk2, &one_code).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another project's accept page: {e}");
    assert_eq!(invitation(&srv, &sk, &id(&one)).await["state"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_invite_pg() {
    who_may_invite(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_invite_sqlite() {
    who_may_invite(false).await;
}

/// Every id of `path`, one page of `limit=1` at a time.
async fn paged(srv: &Server, sk: &str, path: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..20 {
        let url = match &after {
            Some(c) => format!("{path}{sep}limit=1&after={c}"),
            None => format!("{path}{sep}limit=1"),
        };
        let (s, page) = srv.get(&url, sk).await;
        assert_eq!(s, StatusCode::OK, "{url}: {page}");
        let data = page["data"].as_array().unwrap();
        assert!(data.len() <= 1, "{page}");
        all.extend(data.iter().map(id));
        match page["next_cursor"].as_str() {
            Some(c) => after = Some(c.to_string()),
            None => return all,
        }
    }
    panic!("paging did not end: {all:?}");
}

// 7. Filters and cursor pages.
async fn list_filters_and_pages(postgres: bool) {
    let (srv, _dir) = start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let a = id(&invite(&srv, &sk, json!({"email": "a@example.com", "organization_id": acme})).await);
    let b = id(&invite(&srv, &sk, json!({"email": "b@example.com", "organization_id": acme})).await);
    let c = id(&invite(&srv, &sk, json!({"email": "c@example.com", "organization_id": acme})).await);
    let d = id(&invite(&srv, &sk, json!({"email": "d@example.com", "organization_id": globex})).await);
    let (s, r) = srv.post(&format!("/v1/invitations/{b}/revoke"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{r}");

    for (query, want) in [
        (String::new(), set(&[&a, &b, &c, &d])),
        ("state=revoked".to_string(), set(&[&b])),
        (format!("state=pending&organization_id={acme}"), set(&[&a, &c])),
        ("email=c@example.com".to_string(), set(&[&c])),
        (format!("organization_id={globex}"), set(&[&d])),
    ] {
        let (s, list) = srv.get(&format!("/v1/invitations?{query}"), &sk).await;
        assert_eq!(s, StatusCode::OK, "{query}: {list}");
        assert_eq!(ids(&list), want, "{query}: {list}");
    }
    let (s, e) = srv.get("/v1/invitations?state=bogus", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{e}");

    let every = paged(&srv, &sk, "/v1/invitations").await;
    assert_eq!(every.len(), 4, "each exactly once: {every:?}");
    assert_eq!(every.iter().cloned().collect::<BTreeSet<_>>(), set(&[&a, &b, &c, &d]));
    let pending = paged(&srv, &sk, "/v1/invitations?state=pending").await;
    assert_eq!(pending.iter().cloned().collect::<BTreeSet<_>>(), set(&[&a, &c, &d]), "{pending:?}");
    assert_eq!(pending.len(), 3, "{pending:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages_pg() {
    list_filters_and_pages(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_pages_sqlite() {
    list_filters_and_pages(false).await;
}

// 8. One pending invitation per email and organization, however many ask at once.
async fn concurrent_invitations(postgres: bool) {
    let (srv, _dir) = start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let body = json!({"email": "dup@example.com", "organization_id": acme});
    let answers = futures::future::join_all((0..8).map(|_| srv.post("/v1/invitations", &sk, body.clone()))).await;
    let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == StatusCode::CREATED).map(|(_, v)| v).collect();
    assert_eq!(created.len(), 1, "exactly one is created: {answers:?}");
    for (s, v) in answers.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!((*s, code(v)), (StatusCode::CONFLICT, "invitation_exists"), "{v}");
        assert_eq!(v["error"]["details"]["id"], created[0]["id"], "{v}");
    }
    // Revoked, the email can be invited again.
    let (s, _) = srv.post(&format!("/v1/invitations/{}/revoke", id(created[0])), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = srv.post("/v1/invitations", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invitations_pg() {
    concurrent_invitations(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invitations_sqlite() {
    concurrent_invitations(false).await;
}
