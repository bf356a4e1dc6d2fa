//! SCIM 2.0 directories (issue 18, part 4): an identity provider provisions users into
//! one organization with the directory's bearer token; a provisioned user is the
//! project's one user for that email; `active:false` (Okta's and Entra's PATCH shapes)
//! deactivates the membership and cuts that organization's context in the same request;
//! DELETE removes the membership, never the user's other organizations. On PostgreSQL
//! and SQLite.
mod common;

use common::{code, scim, urlencode, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn okta_user(email: &str, external: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "Ada Lovelace",
        "externalId": external,
        "active": true,
    })
}

async fn scenario(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;

    // A directory for Acme: its base URL and token, shown once.
    let (s, dir) = srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await;
    assert_eq!(s, StatusCode::CREATED, "{dir}");
    let token = dir["token"].as_str().expect("token shown at creation").to_string();
    let id = dir["id"].as_str().unwrap().to_string();
    assert!(dir["base_url"].as_str().unwrap().ends_with(&format!("/scim/v2/{id}")), "{dir}");
    let (_, again) = srv.get(&format!("/v1/organizations/{acme}/directories/{id}"), &sk).await;
    assert!(again.get("token").is_none(), "the token is shown once: {again}");
    let base = format!("/scim/v2/{id}");

    // Discovery.
    let (s, ct, spc) = scim(&srv, Some(&token), Method::GET, &format!("{base}/ServiceProviderConfig"), None).await;
    assert_eq!((s, ct.as_str()), (StatusCode::OK, "application/scim+json"), "{spc}");
    assert_eq!(spc["patch"]["supported"], true);
    let (s, _, rt) = scim(&srv, Some(&token), Method::GET, &format!("{base}/ResourceTypes"), None).await;
    assert_eq!((s, &rt["Resources"][0]["endpoint"]), (StatusCode::OK, &json!("/Users")), "{rt}");
    let (s, _, sc) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Schemas"), None).await;
    assert_eq!(s, StatusCode::OK, "{sc}");

    // Ada already uses the app in Globex; Acme's IdP provisions her: linked, not duplicated.
    let ada = srv.user(&sk, "ada@acme.example").await;
    srv.membership(&sk, &ada, &globex, "member").await;
    let (s, _, created) =
        scim(&srv, Some(&token), Method::POST, &format!("{base}/Users"), Some(okta_user("Ada@Acme.example", "00u1")))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    assert_eq!(created["id"], json!(ada), "the project's one user for that email: {created}");
    assert_eq!((&created["userName"], &created["active"]), (&json!("ada@acme.example"), &json!(true)), "{created}");
    assert_eq!(
        (&created["externalId"], &created["displayName"]),
        (&json!("00u1"), &json!("Ada Lovelace")),
        "{created}"
    );
    let (s, _, e) =
        scim(&srv, Some(&token), Method::POST, &format!("{base}/Users"), Some(okta_user("ada@acme.example", "00u1")))
            .await;
    assert_eq!((s, &e["scimType"]), (StatusCode::CONFLICT, &json!("uniqueness")), "{e}");
    // A new user is created, verified (the IdP vouches for the address).
    let (s, _, bob) =
        scim(&srv, Some(&token), Method::POST, &format!("{base}/Users"), Some(okta_user("bob@acme.example", "00u2")))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{bob}");
    let bob_id = bob["id"].as_str().unwrap().to_string();
    let (_, u) = srv.get(&format!("/v1/users/{bob_id}"), &sk).await;
    assert_eq!(u["email_verified"], true, "{u}");

    // Filters and pages.
    let q = |f: &str| format!("{base}/Users?filter={}", urlencode(f));
    let (s, _, l) = scim(&srv, Some(&token), Method::GET, &q("userName eq \"ADA@acme.example\""), None).await;
    assert_eq!((s, &l["totalResults"]), (StatusCode::OK, &json!(1)), "{l}");
    assert_eq!(l["Resources"][0]["id"], json!(ada));
    let (_, _, l) =
        scim(&srv, Some(&token), Method::GET, &q("externalId eq \"00u2\" or externalId eq \"00u1\""), None).await;
    assert_eq!(l["totalResults"], 2, "{l}");
    let (_, _, l) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Users?startIndex=2&count=1"), None).await;
    assert_eq!((&l["totalResults"], &l["itemsPerPage"], &l["startIndex"]), (&json!(2), &json!(1), &json!(2)), "{l}");
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "externalId eq \"00u2\"", "attributes": ["userName"]});
    let (s, _, l) = scim(&srv, Some(&token), Method::POST, &format!("{base}/Users/.search"), Some(search)).await;
    assert_eq!(
        (s, &l["totalResults"], &l["Resources"][0]["userName"]),
        (StatusCode::OK, &json!(1), &json!("bob@acme.example")),
        "{l}"
    );
    let (_, _, l) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Users?attributes=userName"), None).await;
    let keys: Vec<&String> = l["Resources"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 3, "id, schemas and userName only: {l}");
    let (_, _, one) =
        scim(&srv, Some(&token), Method::GET, &format!("{base}/Users/{ada}?excludedAttributes=name,emails"), None)
            .await;
    assert!(one.get("name").is_none() && one.get("emails").is_none() && one["userName"].is_string(), "{one}");
    let (s, _, e) = scim(&srv, Some(&token), Method::GET, &q("userName co \"ada\""), None).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidFilter")), "{e}");

    // Ada works in Acme (a context of her session) and in Globex (another).
    let session = srv.sign_in(&sk, &pk, &ada).await;
    let access = session["access_token"].as_str().unwrap().to_string();
    let (s, in_acme) = srv.post("/v1/sessions/switch-org", &access, json!({"organization_id": acme})).await;
    assert_eq!(s, StatusCode::OK, "{in_acme}");
    let (s, in_globex) = srv.post("/v1/sessions/switch-org", &access, json!({"organization_id": globex})).await;
    assert_eq!(s, StatusCode::OK, "{in_globex}");

    // Okta deactivates her: the Acme context is cut within the request, Globex's lives on.
    let okta = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (s, _, p) = scim(&srv, Some(&token), Method::PATCH, &format!("{base}/Users/{ada}"), Some(okta)).await;
    assert_eq!((s, &p["active"]), (StatusCode::OK, &json!(false)), "{p}");
    let refresh = |t: &Value| json!({"refresh_token": t["refresh_token"]});
    let (s, e) = srv.call(Method::POST, "/v1/sessions/refresh", None, Some(refresh(&in_acme))).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"), "{e}");
    let (s, g) = srv.call(Method::POST, "/v1/sessions/refresh", None, Some(refresh(&in_globex))).await;
    assert_eq!((s, &g["active_organization"]["id"]), (StatusCode::OK, &json!(globex)), "{g}");
    let (s, i) = srv.post("/v1/tokens/introspect", &sk, json!({"token": in_acme["access_token"]})).await;
    assert_eq!((s, &i["active"]), (StatusCode::OK, &json!(false)), "{i}");

    // Entra reactivates her, with its own shape (capitalized op, string booleans), and
    // renames her.
    let entra = json!({"schemas": [PATCH_OP], "Operations": [
        {"op": "Replace", "path": "active", "value": "True"},
        {"op": "Replace", "path": "name.familyName", "value": "King"},
        {"op": "Replace", "path": "displayName", "value": "Ada King"},
    ]});
    let (s, _, p) = scim(&srv, Some(&token), Method::PATCH, &format!("{base}/Users/{ada}"), Some(entra)).await;
    assert_eq!((s, &p["active"], &p["name"]["familyName"]), (StatusCode::OK, &json!(true), &json!("King")), "{p}");
    assert_eq!(p["displayName"], "Ada King", "{p}");
    let (_, _, l) = scim(
        &srv,
        Some(&token),
        Method::GET,
        &format!("{base}/Users?filter={}", urlencode("displayName eq \"Ada King\"")),
        None,
    )
    .await;
    assert_eq!(l["totalResults"], 1, "{l}");
    let drop_name = json!({"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": "displayName"}]});
    let (s, _, p) = scim(&srv, Some(&token), Method::PATCH, &format!("{base}/Users/{ada}"), Some(drop_name)).await;
    assert!(s == StatusCode::OK && p.get("displayName").is_none(), "removed: {p}");
    // userName is the email: not changed here.
    let rename =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "userName", "value": "x@y.example"}]});
    let (s, _, e) = scim(&srv, Some(&token), Method::PATCH, &format!("{base}/Users/{ada}"), Some(rename)).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("mutability")), "{e}");
    // PUT replaces.
    let mut put = okta_user("ada@acme.example", "00u9");
    put["active"] = json!(true);
    let (s, _, p) = scim(&srv, Some(&token), Method::PUT, &format!("{base}/Users/{ada}"), Some(put)).await;
    assert_eq!((s, &p["externalId"]), (StatusCode::OK, &json!("00u9")), "{p}");

    // DELETE deprovisions from Acme only: the user and her Globex membership stay.
    let (s, _, _) = scim(&srv, Some(&token), Method::DELETE, &format!("{base}/Users/{ada}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, ms) = srv.get(&format!("/v1/users/{ada}/memberships"), &sk).await;
    let orgs: Vec<&str> =
        ms["data"].as_array().unwrap().iter().map(|m| m["organization_id"].as_str().unwrap()).collect();
    assert_eq!(orgs, vec![globex.as_str()], "{ms}");
    let (s, _, e) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Users/{ada}"), None).await;
    assert_eq!(
        (s, &e["schemas"][0]),
        (StatusCode::NOT_FOUND, &json!("urn:ietf:params:scim:api:messages:2.0:Error")),
        "{e}"
    );

    // The directory is the actor of its changes.
    let (s, audit) = srv.get("/v1/audit-events?limit=100", &sk).await;
    assert_eq!(s, StatusCode::OK);
    let by_directory = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"]["type"] == "directory" && e["actor"]["id"] == json!(id))
        .count();
    assert!(by_directory >= 5, "the directory's changes are its own: {audit}");

    // Strangers: no token, a wrong token, another directory's token, a rotated token.
    let (s, _, e) = scim(&srv, None, Method::GET, &format!("{base}/Users"), None).await;
    assert_eq!((s, &e["status"]), (StatusCode::UNAUTHORIZED, &json!("401")), "{e}");
    let (s, _, _) = scim(&srv, Some("scim_bogus"), Method::GET, &format!("{base}/Users"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, other) = srv.post(&format!("/v1/organizations/{globex}/directories"), &sk, json!({"name": "Entra"})).await;
    let other_token = other["token"].as_str().unwrap();
    let (s, _, _) = scim(&srv, Some(other_token), Method::GET, &format!("{base}/Users"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "another directory's token");
    let (s, rotated) =
        srv.post(&format!("/v1/organizations/{acme}/directories/{id}/rotate-token"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let (s, _, _) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Users"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "the old token stops at once");
    let new_token = rotated["token"].as_str().unwrap();
    let (s, _, l) = scim(&srv, Some(new_token), Method::GET, &format!("{base}/Users"), None).await;
    assert_eq!((s, &l["totalResults"]), (StatusCode::OK, &json!(1)), "{l}");
    // Bad input is a SCIM 400, never a 500.
    let (s, _, e) =
        scim(&srv, Some(new_token), Method::POST, &format!("{base}/Users"), Some(json!({"userName": 5}))).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidValue")), "{e}");
    let (s, _, e) =
        scim(&srv, Some(new_token), Method::PATCH, &format!("{base}/Users/{bob_id}"), Some(json!({}))).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidSyntax")), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_users_sqlite() {
    scenario(false).await;
}

/// Directories are managed by the backend and by the organization's own admins only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_are_org_admins_own() {
    let srv = Server::start(false).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let (_, _, sk_other) = srv.project("stranger@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (admin, member) = (srv.user(&sk, "admin@example.com").await, srv.user(&sk, "member@example.com").await);
    srv.membership(&sk, &admin, &acme, "admin").await;
    srv.membership(&sk, &member, &acme, "member").await;
    let token = |a: Value| a["access_token"].as_str().unwrap().to_string();
    let a = token(srv.sign_in(&sk, &pk, &admin).await);
    let m = token(srv.sign_in(&sk, &pk, &member).await);
    let (s, d) = srv.post(&format!("/v1/organizations/{acme}/directories"), &a, json!({"name": "Okta"})).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let (s, e) = srv.post(&format!("/v1/organizations/{globex}/directories"), &a, json!({"name": "x"})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, e) = srv.get(&format!("/v1/organizations/{acme}/directories"), &m).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");
    let (s, e) = srv.get(&format!("/v1/organizations/{acme}/directories"), &sk_other).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, _) = srv.call(Method::GET, &format!("/v1/organizations/{acme}/directories"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// An identity provider provisions in parallel (Okta and Entra send several requests at
/// once): 24 concurrent creates in one directory all answer 201, on both stores.
async fn parallel_provisioning(postgres: bool) {
    const N: usize = 24;
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let (_, dir) = srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await;
    let token = dir["token"].as_str().unwrap().to_string();
    let base = format!("/scim/v2/{}", dir["id"].as_str().unwrap());
    let calls = (0..N).map(|i| {
        let body = okta_user(&format!("user{i}@acme.example"), &format!("00u{i}"));
        let (srv, token, base) = (&srv, token.clone(), base.clone());
        async move { scim(srv, Some(&token), Method::POST, &format!("{base}/Users"), Some(body)).await }
    });
    let answers = futures::future::join_all(calls).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(s, _, _)| *s).collect();
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{answers:?}");
    let (_, _, l) = scim(&srv, Some(&token), Method::GET, &format!("{base}/Users?count=100"), None).await;
    assert_eq!(l["totalResults"], N, "{l}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_provisioning_postgres() {
    parallel_provisioning(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_provisioning_sqlite() {
    parallel_provisioning(false).await;
}
