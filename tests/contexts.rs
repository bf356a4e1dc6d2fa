//! Organization contexts inside one session (issue 15): one sign-in holds a context per
//! organization, each with its own refresh-token family, so tabs in different
//! organizations keep refreshing side by side; deactivation, closing and admin
//! revocation cut one context, reuse and sign-out the whole session; housekeeping keeps
//! only live rows. Every scenario runs on PostgreSQL and on SQLite.
mod common;

use authio_api::sessions::{prune, Pruned};
use chrono::{Duration, Utc};
use common::{claims, code, Server};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A string field of a JSON answer.
fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key} in {v}")).to_string()
}

async fn refresh(srv: &Server, token: &str) -> (StatusCode, Value) {
    srv.call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": token}))).await
}

async fn switch(srv: &Server, access: &str, org: &str) -> (StatusCode, Value) {
    srv.post("/v1/sessions/switch-org", access, json!({"organization_id": org})).await
}

async fn introspect(srv: &Server, sk: &str, token: &str) -> Value {
    let (s, v) = srv.post("/v1/tokens/introspect", sk, json!({"token": token})).await;
    assert_eq!(s, StatusCode::OK, "introspect: {v}");
    v
}

/// The pair is a pair of session `sid` in organization `org`: the answer says so and so
/// does the new access token.
#[track_caller]
fn in_org(pair: &Value, org: &str, sid: &str) {
    assert_eq!(pair["active_organization"]["id"], org, "{pair}");
    assert_eq!(pair["session_id"], sid, "{pair}");
    let c = claims(pair["access_token"].as_str().unwrap_or_else(|| panic!("no access token in {pair}")));
    assert_eq!(c["act_org"], org, "{c}");
    assert_eq!(c["sid"], sid, "{c}");
    assert!(pair["refresh_token"].is_string(), "{pair}");
}

/// A refresh that must succeed, in `org`: the new pair.
async fn refreshed(srv: &Server, pair: &Value, org: &str) -> Value {
    let (s, v) = refresh(srv, &text(pair, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "refresh in {org}: {v}");
    in_org(&v, org, &text(pair, "session_id"));
    v
}

/// The organization ids of the session's live contexts, as `GET /v1/sessions/current`
/// lists them (with `access`); the whole answer too.
async fn current(srv: &Server, access: &str) -> (Vec<String>, Value) {
    let (s, v) = srv.get("/v1/sessions/current", access).await;
    assert_eq!(s, StatusCode::OK, "current: {v}");
    let orgs = v["contexts"]
        .as_array()
        .unwrap_or_else(|| panic!("no contexts in {v}"))
        .iter()
        .filter_map(|c| c["organization"]["id"].as_str().map(str::to_string))
        .collect();
    (orgs, v)
}

/// One user, member of Acme and admin of Globex, signed in (no organization: two are
/// active and none was chosen before), then switched into Acme (pair `a`) and, with
/// Acme's access token, into Globex (pair `g`).
struct World {
    srv: Server,
    sk: String,
    pk: String,
    user: String,
    acme: String,
    globex: String,
    globex_membership: String,
    sid: String,
    signed_in: Value,
    a: Value,
    g: Value,
}

async fn two_contexts(postgres: bool) -> World {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let user = srv.user(&sk, "u@example.com").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    srv.membership(&sk, &user, &acme, "member").await;
    let globex_membership = srv.membership(&sk, &user, &globex, "admin").await;
    let signed_in = srv.sign_in(&sk, &pk, &user).await;
    assert!(signed_in["active_organization"].is_null(), "{signed_in}");
    let sid = text(&signed_in, "session_id");
    let (s, a) = switch(&srv, &text(&signed_in, "access_token"), &acme).await;
    assert_eq!(s, StatusCode::OK, "switch into Acme: {a}");
    in_org(&a, &acme, &sid);
    let (s, g) = switch(&srv, &text(&a, "access_token"), &globex).await;
    assert_eq!(s, StatusCode::OK, "switch into Globex: {g}");
    in_org(&g, &globex, &sid);
    World { srv, sk, pk, user, acme, globex, globex_membership, sid, signed_in, a, g }
}

// 1. Two tabs, two organizations, one session: both keep refreshing in their own org.
async fn two_contexts_live_at_once(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    for (pair, org, role) in [(&w.a, &w.acme, "member"), (&w.g, &w.globex, "admin")] {
        assert_eq!(pair["active_organization"]["role"], role, "{pair}");
        assert_eq!(claims(&text(pair, "access_token"))["org_role"], role);
        let orgs: Vec<&str> = pair["memberships"]
            .as_array()
            .unwrap_or_else(|| panic!("memberships by default: {pair}"))
            .iter()
            .map(|m| m["organization"]["id"].as_str().unwrap())
            .collect();
        assert!(orgs.contains(&w.acme.as_str()) && orgs.contains(&w.globex.as_str()), "{org}: {pair}");
    }
    // Refresh each context's newest token, interleaved, three rounds: each stays in its org.
    let (mut a, mut g) = (w.a.clone(), w.g.clone());
    for _ in 0..3 {
        a = refreshed(srv, &a, &w.acme).await;
        assert_eq!(a["active_organization"]["role"], "member", "{a}");
        assert!(a["memberships"].is_array(), "{a}");
        g = refreshed(srv, &g, &w.globex).await;
        assert_eq!(g["active_organization"]["role"], "admin", "{g}");
    }
    // Both contexts are listed, whichever context's access token asks.
    for access in [text(&a, "access_token"), text(&g, "access_token")] {
        let (orgs, cur) = current(srv, &access).await;
        assert_eq!(cur["session_id"], w.sid.as_str(), "{cur}");
        assert!(orgs.contains(&w.acme) && orgs.contains(&w.globex), "{cur}");
        let ctx = |org: &str| {
            cur["contexts"].as_array().unwrap().iter().find(|c| c["organization"]["id"] == org).unwrap().clone()
        };
        assert_eq!(ctx(&w.acme)["organization"]["name"], "Acme", "{cur}");
        assert_eq!(ctx(&w.acme)["organization"]["role"], "member", "{cur}");
        assert_eq!(ctx(&w.globex)["organization"]["name"], "Globex", "{cur}");
        assert_eq!(ctx(&w.globex)["organization"]["role"], "admin", "{cur}");
        for c in cur["contexts"].as_array().unwrap() {
            assert!(c["created_at"].is_string(), "{cur}");
        }
    }
    // `?include=` (empty): the answers leave out the memberships.
    let (s, x) = srv
        .post("/v1/sessions/switch-org?include=", &text(&a, "access_token"), json!({"organization_id": w.globex}))
        .await;
    assert_eq!(s, StatusCode::OK, "{x}");
    in_org(&x, &w.globex, &w.sid);
    assert!(x.get("memberships").is_none(), "{x}");
    let (s, y) = srv
        .call(Method::POST, "/v1/sessions/refresh?include=", None, Some(json!({"refresh_token": x["refresh_token"]})))
        .await;
    assert_eq!(s, StatusCode::OK, "{y}");
    in_org(&y, &w.globex, &w.sid);
    assert!(y.get("memberships").is_none(), "{y}");
    // A second switch into Globex (another tab) leaves the first Globex family alive, and
    // Acme's too.
    g = refreshed(srv, &g, &w.globex).await;
    a = refreshed(srv, &a, &w.acme).await;
    assert_eq!(text(&a, "session_id"), text(&g, "session_id"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_contexts_live_at_once_postgres() {
    two_contexts_live_at_once(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_contexts_live_at_once_sqlite() {
    two_contexts_live_at_once(false).await;
}

/// The answers that are not 200, for an assert message.
fn failures(answers: &[(StatusCode, Value)], targets: &[String]) -> Vec<String> {
    answers
        .iter()
        .zip(targets)
        .enumerate()
        .filter(|(_, ((s, _), _))| *s != StatusCode::OK)
        .map(|(i, ((s, v), org))| format!("#{i} ({org}): {s} {v}"))
        .collect()
}

// 2. Concurrent switches and refreshes on one session all succeed; only concurrent use
// of one refresh token has a single winner.
async fn contention_is_not_an_error(postgres: bool) {
    const SWITCHES: usize = 32;
    const SAME_TOKEN: usize = 16;
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let user = srv.user(&sk, "u@example.com").await;
    let mut orgs = Vec::new();
    for name in ["Acme", "Globex", "Initech", "Umbrella"] {
        let org = srv.org(&sk, name).await;
        srv.membership(&sk, &user, &org, "member").await;
        orgs.push(org);
    }
    let signed_in = srv.sign_in(&sk, &pk, &user).await;
    let sid = text(&signed_in, "session_id");
    let (s, first) = switch(&srv, &text(&signed_in, "access_token"), &orgs[0]).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let access = text(&first, "access_token");

    let targets: Vec<String> = (0..SWITCHES).map(|i| orgs[i % orgs.len()].clone()).collect();
    let switched = join_all(targets.iter().map(|org| switch(&srv, &access, org))).await;
    let failed = failures(&switched, &targets);
    assert!(failed.is_empty(), "{} of {SWITCHES} concurrent switches failed: {failed:#?}", failed.len());
    for ((_, v), org) in switched.iter().zip(&targets) {
        in_org(v, org, &sid);
    }

    let refreshed = join_all(switched.iter().map(|(_, v)| refresh(&srv, v["refresh_token"].as_str().unwrap()))).await;
    let failed = failures(&refreshed, &targets);
    assert!(failed.is_empty(), "{} of {SWITCHES} concurrent refreshes failed: {failed:#?}", failed.len());
    for ((_, v), org) in refreshed.iter().zip(&targets) {
        in_org(v, org, &sid);
    }

    let fresh = text(&refreshed[SWITCHES - 1].1, "refresh_token");
    let race = join_all((0..SAME_TOKEN).map(|_| refresh(&srv, &fresh))).await;
    let winners: Vec<&Value> = race.iter().filter(|(s, _)| *s == StatusCode::OK).map(|(_, v)| v).collect();
    assert_eq!(winners.len(), 1, "exactly one of {SAME_TOKEN} refreshes of one token wins: {race:#?}");
    for (s, v) in race.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!((*s, code(v)), (StatusCode::UNAUTHORIZED, "refresh_token_reused"), "{v}");
    }
    // The reuse revoked the whole session: the winner's pair and every other context.
    let (s, v) = srv.get("/v1/me", &text(winners[0], "access_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, v) = srv.get("/v1/me", &text(&refreshed[0].1, "access_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, v) = refresh(&srv, &text(&refreshed[0].1, "refresh_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contention_is_not_an_error_postgres() {
    contention_is_not_an_error(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn contention_is_not_an_error_sqlite() {
    contention_is_not_an_error(false).await;
}

// 3. Deactivating a membership kills that organization's context only.
async fn deactivation_cuts_only_that_organization(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    let (s, m) = srv.post(&format!("/v1/memberships/{}/deactivate", w.globex_membership), &w.sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["status"], "inactive", "{m}");

    let (s, e) = refresh(srv, &text(&w.g, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"), "Globex refresh after deactivation: {e}");
    let gi = introspect(srv, &w.sk, &text(&w.g, "access_token")).await;
    assert_eq!(gi["active"], false, "{gi}");
    let ai = introspect(srv, &w.sk, &text(&w.a, "access_token")).await;
    assert_eq!(ai["active"], true, "{ai}");
    assert_eq!(ai["act_org"], w.acme.as_str(), "{ai}");
    let (s, v) = srv.get("/v1/me", &text(&w.g, "access_token")).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{v}");

    let a = refreshed(srv, &w.a, &w.acme).await;
    let (orgs, cur) = current(srv, &text(&a, "access_token")).await;
    assert!(orgs.contains(&w.acme), "{cur}");
    assert!(!orgs.contains(&w.globex), "{cur}");
    // No way back in while the membership is inactive.
    let (s, e) = switch(srv, &text(&a, "access_token"), &w.globex).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"), "{e}");

    let (s, m) = srv.post(&format!("/v1/memberships/{}/reactivate", w.globex_membership), &w.sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(m["status"], "active", "{m}");
    let (s, g2) = switch(srv, &text(&a, "access_token"), &w.globex).await;
    assert_eq!(s, StatusCode::OK, "switch back into Globex: {g2}");
    in_org(&g2, &w.globex, &w.sid);
    let g3 = refreshed(srv, &g2, &w.globex).await;
    assert_eq!(g3["active_organization"]["role"], "admin", "{g3}");
    // The context was opened anew: the tokens from before the cut stay dead.
    let (s, e) = refresh(srv, &text(&w.g, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "pre-cut Globex token: {e}");
    let (orgs, cur) = current(srv, &text(&g3, "access_token")).await;
    assert!(orgs.contains(&w.acme) && orgs.contains(&w.globex), "{cur}");
    refreshed(srv, &a, &w.acme).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deactivation_cuts_only_that_organization_postgres() {
    deactivation_cuts_only_that_organization(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deactivation_cuts_only_that_organization_sqlite() {
    deactivation_cuts_only_that_organization(false).await;
}

// 4. Reuse of a spent token in one context revokes every context of the session.
async fn reuse_in_one_context_revokes_the_whole_session(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    let a2 = refreshed(srv, &w.a, &w.acme).await;
    let (s, e) = refresh(srv, &text(&w.a, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "refresh_token_reused"), "{e}");

    let (s, e) = refresh(srv, &text(&w.g, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "Globex after reuse in Acme: {e}");
    let (s, e) = srv.get("/v1/me", &text(&w.g, "access_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{e}");
    let (s, e) = refresh(srv, &text(&a2, "refresh_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "Acme's newest token: {e}");
    let (s, e) = srv.get("/v1/me", &text(&a2, "access_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{e}");
    let (s, e) = refresh(srv, &text(&w.signed_in, "refresh_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the sign-in's context: {e}");
    let ii = introspect(srv, &w.sk, &text(&w.g, "access_token")).await;
    assert_eq!(ii["active"], false, "{ii}");

    let events = srv.db.read_stream("session", &w.sid).await.unwrap();
    let revoked = events.iter().find(|e| e.event_type == "session.revoked").expect("session.revoked");
    assert_eq!(revoked.data["reason"], "refresh_token_reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reuse_in_one_context_revokes_the_whole_session_postgres() {
    reuse_in_one_context_revokes_the_whole_session(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reuse_in_one_context_revokes_the_whole_session_sqlite() {
    reuse_in_one_context_revokes_the_whole_session(false).await;
}

// 5. Closing one context leaves the others; signing out ends them all.
async fn closing_one_context_leaves_the_others(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    let close_acme = format!("/v1/sessions/contexts/{}/revoke", w.acme);
    let (s, v) = srv.post(&close_acme, &text(&w.g, "access_token"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    let (s, e) = refresh(srv, &text(&w.a, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "closed Acme context: {e}");
    let (s, e) = srv.get("/v1/me", &text(&w.a, "access_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{e}");
    let g2 = refreshed(srv, &w.g, &w.globex).await;
    let (s, e) = srv.post(&close_acme, &text(&g2, "access_token"), json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "closing it again: {e}");
    let (orgs, cur) = current(srv, &text(&g2, "access_token")).await;
    assert!(!orgs.contains(&w.acme) && orgs.contains(&w.globex), "{cur}");

    // Reopened (a switch back in), Acme's context takes only tokens issued since: the
    // access token of before the close stays dead. `iat` is in whole seconds, so the
    // reopening waits for the clock to pass the old token's second (bounded).
    let old_iat = common::claims(&text(&w.a, "access_token"))["iat"].as_i64().unwrap();
    for _ in 0..40 {
        if chrono::Utc::now().timestamp() > old_iat {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, back) = switch(srv, &text(&g2, "access_token"), &w.acme).await;
    assert_eq!(s, StatusCode::OK, "{back}");
    let (s, e) = srv.get("/v1/me", &text(&w.a, "access_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "a closed context's token: {e}");
    assert_eq!(srv.get("/v1/me", &text(&back, "access_token")).await.0, StatusCode::OK);

    let (s, v) = srv.post("/v1/sessions/revoke", &text(&g2, "access_token"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, e) = refresh(srv, &text(&g2, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "after sign-out: {e}");
    let (s, e) = srv.get("/v1/me", &text(&g2, "access_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{e}");
    let (s, e) = refresh(srv, &text(&w.signed_in, "refresh_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the sign-in's context after sign-out: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_one_context_leaves_the_others_postgres() {
    closing_one_context_leaves_the_others(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn closing_one_context_leaves_the_others_sqlite() {
    closing_one_context_leaves_the_others(false).await;
}

// 6. An organization's admin sees and ends only their organization's context.
async fn org_admin_sees_only_their_org_context(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    let admin = srv.user(&w.sk, "admin@example.com").await;
    srv.membership(&w.sk, &admin, &w.acme, "admin").await;
    let signed_in = srv.sign_in(&w.sk, &w.pk, &admin).await;
    let admin_sid = text(&signed_in, "session_id");
    let (s, adm) = switch(srv, &text(&signed_in, "access_token"), &w.acme).await;
    assert_eq!(s, StatusCode::OK, "{adm}");
    in_org(&adm, &w.acme, &admin_sid);
    let admin_access = text(&adm, "access_token");

    let list_acme = format!("/v1/organizations/{}/sessions", w.acme);
    let (s, list) = srv.get(&list_acme, &admin_access).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let data = list["data"].as_array().unwrap_or_else(|| panic!("no data in {list}"));
    let mut sids: Vec<&str> = data.iter().map(|x| x["session_id"].as_str().unwrap()).collect();
    sids.sort();
    let mut expected = vec![w.sid.as_str(), admin_sid.as_str()];
    expected.sort();
    assert_eq!(sids, expected, "{list}");
    assert!(list["next_cursor"].is_null(), "{list}");
    let theirs = data.iter().find(|x| x["session_id"] == w.sid.as_str()).unwrap();
    assert_eq!(theirs["user_id"], w.user.as_str(), "{list}");
    assert_eq!(theirs["email"], "u@example.com", "{list}");
    assert_eq!(theirs["role"], "member", "their role in Acme, not Globex's: {list}");
    assert!(theirs["created_at"].is_string(), "{list}");
    assert!(!list.to_string().contains(&w.globex), "nothing of Globex: {list}");

    let (s, e) = srv.get(&format!("/v1/organizations/{}/sessions", w.globex), &admin_access).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let revoke_in_globex = format!("/v1/organizations/{}/sessions/{}/revoke", w.globex, w.sid);
    let (s, e) = srv.post(&revoke_in_globex, &admin_access, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    // A plain member of Acme (the first user, in Acme) may not list it.
    let (s, e) = srv.get(&list_acme, &text(&w.a, "access_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");

    let revoke = format!("/v1/organizations/{}/sessions/{}/revoke", w.acme, w.sid);
    let (s, v) = srv.post(&revoke, &admin_access, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, e) = refresh(srv, &text(&w.a, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "Acme after the admin's revoke: {e}");
    refreshed(srv, &w.g, &w.globex).await;
    let (s, e) = srv.post(&revoke, &admin_access, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "revoking it again: {e}");
    let (s, list) = srv.get(&list_acme, &admin_access).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let sids: Vec<&str> = list["data"].as_array().unwrap().iter().map(|x| x["session_id"].as_str().unwrap()).collect();
    assert_eq!(sids, vec![admin_sid.as_str()], "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn org_admin_sees_only_their_org_context_postgres() {
    org_admin_sees_only_their_org_context(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn org_admin_sees_only_their_org_context_sqlite() {
    org_admin_sees_only_their_org_context(false).await;
}

/// Refresh tokens that are live in an open context (at their epoch) of an active session.
const LIVE_TOKENS: &str = "SELECT COUNT(*) FROM refresh_tokens t WHERE t.state = 'live' AND EXISTS \
     (SELECT 1 FROM session_contexts c JOIN sessions s ON s.id = c.session_id WHERE c.session_id = t.session_id \
     AND c.context = t.context AND c.epoch = t.epoch AND c.status = 'open' AND s.status = 'active')";

/// Open contexts of active sessions.
const LIVE_CONTEXTS: &str = "SELECT COUNT(*) FROM session_contexts c JOIN sessions s ON s.id = c.session_id \
     WHERE c.status = 'open' AND s.status = 'active'";

async fn count(srv: &Server, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&srv.db.pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"))
}

// 7. Housekeeping removes spent tokens and dead contexts, and only those.
async fn pruning_keeps_only_live_rows(postgres: bool) {
    let w = two_contexts(postgres).await;
    let srv = &w.srv;
    // Spent tokens in both contexts.
    let mut a = w.a.clone();
    for _ in 0..3 {
        a = refreshed(srv, &a, &w.acme).await;
    }
    let mut g = w.g.clone();
    for _ in 0..2 {
        g = refreshed(srv, &g, &w.globex).await;
    }
    // A closed context (with a spent token of its own).
    let initech = srv.org(&w.sk, "Initech").await;
    srv.membership(&w.sk, &w.user, &initech, "member").await;
    let (s, i) = switch(srv, &text(&a, "access_token"), &initech).await;
    assert_eq!(s, StatusCode::OK, "{i}");
    let i = refreshed(srv, &i, &initech).await;
    let (s, v) =
        srv.post(&format!("/v1/sessions/contexts/{initech}/revoke"), &text(&i, "access_token"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    // A context cut by a deactivation (its tokens stay until pruned).
    let umbrella = srv.org(&w.sk, "Umbrella").await;
    let um = srv.membership(&w.sk, &w.user, &umbrella, "member").await;
    let (s, u) = switch(srv, &text(&a, "access_token"), &umbrella).await;
    assert_eq!(s, StatusCode::OK, "{u}");
    let u = refreshed(srv, &u, &umbrella).await;
    let (s, v) = srv.post(&format!("/v1/memberships/{um}/deactivate"), &w.sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A revoked session: another sign-in, its tokens used, then signed out.
    let other = srv.sign_in(&w.sk, &w.pk, &w.user).await;
    let other_sid = text(&other, "session_id");
    let (s, o) = switch(srv, &text(&other, "access_token"), &w.acme).await;
    assert_eq!(s, StatusCode::OK, "{o}");
    let mut o = refreshed(srv, &o, &w.acme).await;
    o = refreshed(srv, &o, &w.acme).await;
    let (s, v) = srv.post("/v1/sessions/revoke", &text(&o, "access_token"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");

    let tokens = count(srv, "SELECT COUNT(*) FROM refresh_tokens").await;
    let live_tokens = count(srv, LIVE_TOKENS).await;
    let contexts = count(srv, "SELECT COUNT(*) FROM session_contexts").await;
    let live_contexts = count(srv, LIVE_CONTEXTS).await;
    let spent = count(srv, "SELECT COUNT(*) FROM refresh_tokens WHERE state = 'spent'").await;
    // 3 + 2 + 1 + 1 + 2 refreshes, each spending one token.
    assert_eq!(spent, 9, "spent tokens before pruning");
    // Live: the sign-in's no-organization context, Acme and Globex (of the first session).
    assert_eq!(live_contexts, 3, "live contexts before pruning");
    assert_eq!(live_tokens, 3, "live tokens before pruning");
    assert!(contexts >= live_contexts + 3, "closed, cut and revoked-session contexts: {contexts}");
    assert!(tokens > live_tokens + spent, "the cut context's live token stays until pruned: {tokens}");

    // With the retention period not over, nothing goes.
    let p = prune(&srv.db, Utc::now(), Duration::hours(24)).await.expect("prune");
    assert_eq!(p, Pruned::default(), "nothing is old enough yet");
    assert_eq!(count(srv, "SELECT COUNT(*) FROM refresh_tokens").await, tokens);
    // A minute later with no retention, everything dead is past it.
    let p = prune(&srv.db, Utc::now() + Duration::minutes(1), Duration::zero()).await.expect("prune");
    assert_eq!(
        p,
        Pruned {
            tokens: (tokens - live_tokens) as u64,
            contexts: (contexts - live_contexts) as u64,
            notices: 0,
            saml_assertions: 0,
            saml_relay_states: 0
        }
    );

    let not_live = "SELECT COUNT(*) FROM refresh_tokens t WHERE t.state <> 'live' OR NOT EXISTS \
         (SELECT 1 FROM session_contexts c JOIN sessions s ON s.id = c.session_id WHERE c.session_id = t.session_id \
         AND c.context = t.context AND c.epoch = t.epoch AND c.status = 'open' AND s.status = 'active')";
    assert_eq!(count(srv, not_live).await, 0, "every remaining token is live in an open context of an active session");
    let not_open = "SELECT COUNT(*) FROM session_contexts c WHERE c.status <> 'open' OR NOT EXISTS \
         (SELECT 1 FROM sessions s WHERE s.id = c.session_id AND s.status = 'active')";
    assert_eq!(count(srv, not_open).await, 0, "every remaining context is open, in an active session");
    assert_eq!(count(srv, "SELECT COUNT(*) FROM refresh_tokens").await, live_tokens);
    assert_eq!(count(srv, "SELECT COUNT(*) FROM session_contexts").await, live_contexts);
    let revoked_rows = sqlx::query_scalar::<_, i64>(
        "SELECT (SELECT COUNT(*) FROM refresh_tokens WHERE session_id = $1) \
         + (SELECT COUNT(*) FROM session_contexts WHERE session_id = $1)",
    )
    .bind(&other_sid)
    .fetch_one(&srv.db.pool)
    .await
    .unwrap();
    assert_eq!(revoked_rows, 0, "nothing of the revoked session is left");

    // A pruned spent token is now unknown: refused, without revoking the session.
    let (s, e) = refresh(srv, &text(&w.a, "refresh_token")).await;
    assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "a pruned spent token: {e}");
    let (s, e) = refresh(srv, &text(&u, "refresh_token")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the cut context's pruned token: {e}");
    // The live tokens still refresh.
    refreshed(srv, &a, &w.acme).await;
    refreshed(srv, &g, &w.globex).await;
    let (s, v) = refresh(srv, &text(&w.signed_in, "refresh_token")).await;
    assert_eq!(s, StatusCode::OK, "the sign-in's context: {v}");
    assert!(v["active_organization"].is_null(), "{v}");
    let (orgs, cur) = current(srv, &text(&v, "access_token")).await;
    assert_eq!(orgs.len(), 2, "{cur}");
    assert!(orgs.contains(&w.acme) && orgs.contains(&w.globex), "{cur}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pruning_keeps_only_live_rows_postgres() {
    pruning_keeps_only_live_rows(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pruning_keeps_only_live_rows_sqlite() {
    pruning_keeps_only_live_rows(false).await;
}
