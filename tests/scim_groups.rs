//! SCIM Groups (issue 18, part 4) and the directory's group mappings: groups in Okta's and
//! Entra's shapes, unique display names, members only the directory's users; a mapping
//! gives its group's members a role (the first mapping holding the user wins, the
//! project's default role otherwise) and a team, in the same request as the change.
//! The user's other organizations are never touched. On PostgreSQL and SQLite.
mod common;

use common::{code, scim, urlencode, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

/// The user's role in `org`, as the backend sees it.
async fn role_in(srv: &Server, sk: &str, user: &str, org: &str) -> Option<String> {
    let (s, ms) = srv.get(&format!("/v1/users/{user}/memberships"), sk).await;
    assert_eq!(s, StatusCode::OK, "{ms}");
    ms["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["organization_id"] == json!(org))
        .map(|m| m["role"].as_str().unwrap().to_string())
}

/// The team's members' user ids, sorted.
async fn team_members(srv: &Server, sk: &str, org: &str, team: &str) -> Vec<String> {
    let (s, l) = srv.get(&format!("/v1/organizations/{org}/teams/{team}/members"), sk).await;
    assert_eq!(s, StatusCode::OK, "{l}");
    let mut ids: Vec<String> =
        l["data"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids
}

async fn scenario(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (s, r) = srv.post("/v1/roles", &sk, json!({"slug": "engineer", "name": "Engineer", "permissions": []})).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, team) = srv.post(&format!("/v1/organizations/{acme}/teams"), &sk, json!({"name": "Platform"})).await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let team = team["id"].as_str().unwrap().to_string();
    let (_, dir) = srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await;
    let (dir_id, token) = (dir["id"].as_str().unwrap().to_string(), dir["token"].as_str().unwrap().to_string());
    let base = format!("/scim/v2/{dir_id}");
    let call = |m: Method, path: String, body: Option<Value>| {
        let (srv, token) = (&srv, token.clone());
        async move { scim(srv, Some(&token), m, &path, body).await }
    };

    // Discovery lists Groups.
    let (_, _, rt) = call(Method::GET, format!("{base}/ResourceTypes/Group"), None).await;
    assert_eq!(rt["endpoint"], "/Groups", "{rt}");
    let (s, _, sc) = call(Method::GET, format!("{base}/Schemas/{GROUP}"), None).await;
    assert_eq!((s, &sc["id"]), (StatusCode::OK, &json!(GROUP)), "{sc}");

    // Three provisioned users; Ada also works in Globex.
    let mut ids = Vec::new();
    for email in ["ada@acme.example", "bob@acme.example", "carol@acme.example"] {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email});
        let (s, _, u) = call(Method::POST, format!("{base}/Users"), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    let (ada, bob, carol) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    srv.membership(&sk, &ada, &globex, "member").await;
    let outsider = srv.user(&sk, "outsider@example.com").await;

    // Mappings may precede their groups; bad ones are refused with a stable code.
    let mappings = format!("/v1/organizations/{acme}/directories/{dir_id}/group-mappings");
    let (s, e) = srv.put(&mappings, &sk, json!({"mappings": [{"group": "X", "role": "nope"}]})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let (_, other_team) = srv.post(&format!("/v1/organizations/{globex}/teams"), &sk, json!({"name": "G"})).await;
    let body = json!({"mappings": [{"group": "X", "team_id": other_team["id"]}]});
    let (s, e) = srv.put(&mappings, &sk, body).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_team"), "another organization's team: {e}");
    let (s, e) = srv.put(&mappings, &sk, json!({"mappings": [{"group": "X"}]})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "neither role nor team: {e}");
    let wanted = json!({"mappings": [
        {"group": "Admins", "role": "admin"},
        {"group": "Engineering", "role": "engineer", "team_id": team},
    ]});
    let (s, m) = srv.put(&mappings, &sk, wanted.clone()).await;
    assert_eq!((s, &m), (StatusCode::OK, &wanted), "{m}");
    let (_, m) = srv.get(&mappings, &sk).await;
    assert_eq!(m, wanted);

    // Okta creates Engineering with Ada and Bob: engineers, in the Platform team.
    let eng = json!({"schemas": [GROUP], "displayName": "Engineering", "externalId": "00g1",
        "members": [{"value": ada}, {"value": bob}]});
    let (s, _, g) = call(Method::POST, format!("{base}/Groups"), Some(eng)).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let eng_id = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["members"].as_array().unwrap().len(), 2, "{g}");
    assert_eq!(role_in(&srv, &sk, &ada, &acme).await.as_deref(), Some("engineer"));
    assert_eq!(role_in(&srv, &sk, &bob, &acme).await.as_deref(), Some("engineer"));
    assert_eq!(role_in(&srv, &sk, &carol, &acme).await.as_deref(), Some("member"));
    let mut both = vec![ada.clone(), bob.clone()];
    both.sort();
    assert_eq!(team_members(&srv, &sk, &acme, &team).await, both);

    // Display names are unique in any letter case; members are the directory's users.
    let dup = json!({"schemas": [GROUP], "displayName": "ENGINEERING"});
    let (s, _, e) = call(Method::POST, format!("{base}/Groups"), Some(dup)).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::CONFLICT, &json!("uniqueness")), "{e}");
    let stranger = json!({"schemas": [GROUP], "displayName": "Other", "members": [{"value": outsider}]});
    let (s, _, e) = call(Method::POST, format!("{base}/Groups"), Some(stranger)).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidValue")), "{e}");
    let (s, _, e) = call(Method::POST, format!("{base}/Groups"), Some(json!({"schemas": [GROUP]}))).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidValue")), "{e}");

    // Admins, then Okta adds Ada: the first mapping holding her wins.
    let (s, _, g) =
        call(Method::POST, format!("{base}/Groups"), Some(json!({"schemas": [GROUP], "displayName": "Admins"}))).await;
    assert_eq!(s, StatusCode::CREATED, "{g}");
    let admins = g["id"].as_str().unwrap().to_string();
    let okta_add = patch(json!([{"op": "add", "path": "members", "value": [{"value": ada, "display": "Ada"}]}]));
    let (s, _, g) = call(Method::PATCH, format!("{base}/Groups/{admins}"), Some(okta_add)).await;
    assert_eq!((s, g["members"][0]["value"].as_str()), (StatusCode::OK, Some(ada.as_str())), "{g}");
    assert_eq!(role_in(&srv, &sk, &ada, &acme).await.as_deref(), Some("admin"));
    // Entra removes her by value: back to engineer.
    let entra_remove = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": ada}]}]));
    let (s, _, _) = call(Method::PATCH, format!("{base}/Groups/{admins}"), Some(entra_remove)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(role_in(&srv, &sk, &ada, &acme).await.as_deref(), Some("engineer"));
    // Okta removes Bob by a filter path: the default role, and out of the team.
    let filter_path = format!("members[value eq \"{bob}\"]");
    let okta_remove = patch(json!([{"op": "remove", "path": filter_path}]));
    let (s, _, g) = call(Method::PATCH, format!("{base}/Groups/{eng_id}"), Some(okta_remove)).await;
    assert_eq!((s, g["members"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{g}");
    assert_eq!(role_in(&srv, &sk, &bob, &acme).await.as_deref(), Some("member"));
    assert_eq!(team_members(&srv, &sk, &acme, &team).await, vec![ada.clone()]);
    // Okta renames with a path-less replace: no mapping names "Eng", so Ada loses both.
    let rename = patch(json!([{"op": "replace", "value": {"id": eng_id, "displayName": "Eng"}}]));
    let (s, _, g) = call(Method::PATCH, format!("{base}/Groups/{eng_id}"), Some(rename)).await;
    assert_eq!((s, &g["displayName"]), (StatusCode::OK, &json!("Eng")), "{g}");
    assert_eq!(role_in(&srv, &sk, &ada, &acme).await.as_deref(), Some("member"));
    assert!(team_members(&srv, &sk, &acme, &team).await.is_empty());
    // Entra's PUT-like replace: the name back and Ada and Carol as the members.
    let put = json!({"schemas": [GROUP], "displayName": "Engineering", "members": [{"value": ada}, {"value": carol}]});
    let (s, _, g) = call(Method::PUT, format!("{base}/Groups/{eng_id}"), Some(put)).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert!(g.get("externalId").is_none(), "PUT replaces: {g}");
    assert_eq!(role_in(&srv, &sk, &carol, &acme).await.as_deref(), Some("engineer"));
    let entra_name = patch(json!([{"op": "Replace", "path": "displayName", "value": "Engineering"}]));
    let (s, _, _) = call(Method::PATCH, format!("{base}/Groups/{eng_id}"), Some(entra_name)).await;
    assert_eq!(s, StatusCode::OK);

    // Reads: filters, members.value, excludedAttributes, pages.
    let q = |f: &str| format!("{base}/Groups?filter={}", urlencode(f));
    let (_, _, l) = call(Method::GET, q("displayName eq \"Engineering\""), None).await;
    assert_eq!((&l["totalResults"], &l["Resources"][0]["id"]), (&json!(1), &json!(eng_id)), "{l}");
    let (_, _, l) = call(Method::GET, q(&format!("id eq \"{eng_id}\" and members.value eq \"{carol}\"")), None).await;
    assert_eq!(l["totalResults"], 1, "{l}");
    let (_, _, l) = call(Method::GET, q(&format!("members.value eq \"{bob}\"")), None).await;
    assert_eq!(l["totalResults"], 0, "{l}");
    let (_, _, one) = call(Method::GET, format!("{base}/Groups/{eng_id}?excludedAttributes=members"), None).await;
    assert!(one.get("members").is_none() && one["displayName"] == "Engineering", "{one}");
    let (_, _, l) = call(Method::GET, format!("{base}/Groups?startIndex=2&count=1"), None).await;
    assert_eq!((&l["totalResults"], &l["itemsPerPage"]), (&json!(2), &json!(1)), "{l}");
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "displayName eq \"Admins\"", "excludedAttributes": ["members"]});
    let (s, _, l) = call(Method::POST, format!("{base}/Groups/.search"), Some(search.clone())).await;
    assert_eq!((s, &l["Resources"][0]["id"]), (StatusCode::OK, &json!(admins)), "{l}");
    assert!(l["Resources"][0].get("members").is_none(), "{l}");
    let (s, _, e) = call(Method::POST, format!("{base}/.search"), Some(search)).await;
    assert_eq!((s, &e["status"]), (StatusCode::NOT_IMPLEMENTED, &json!("501")), "one type at a time: {e}");
    let (s, _, e) = call(Method::GET, q("displayName co \"x\""), None).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("invalidFilter")), "{e}");
    let bad = patch(json!([{"op": "remove", "path": "displayName"}]));
    let (s, _, e) = call(Method::PATCH, format!("{base}/Groups/{eng_id}"), Some(bad)).await;
    assert_eq!((s, &e["scimType"]), (StatusCode::BAD_REQUEST, &json!("mutability")), "{e}");

    // Deprovisioning Carol takes her out of the group.
    let (s, _, _) = call(Method::DELETE, format!("{base}/Users/{carol}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, _, g) = call(Method::GET, format!("{base}/Groups/{eng_id}"), None).await;
    assert_eq!(
        g["members"],
        json!([{"value": ada, 
        "$ref": format!("{}{base}/Users/{ada}", srv.url)}]),
        "{g}"
    );

    // Deleting the group: its members go back to the default role and leave the team.
    let (s, _, _) = call(Method::DELETE, format!("{base}/Groups/{eng_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(Method::GET, format!("{base}/Groups/{eng_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(role_in(&srv, &sk, &ada, &acme).await.as_deref(), Some("member"));
    assert!(team_members(&srv, &sk, &acme, &team).await.is_empty());
    // Ada's Globex membership was never touched.
    assert_eq!(role_in(&srv, &sk, &ada, &globex).await.as_deref(), Some("member"));

    // Every change is the directory's, in the audit log.
    let mut actions: Vec<(String, String)> = Vec::new();
    let mut page = "/v1/audit-events?limit=100".to_string();
    loop {
        let (s, audit) = srv.get(&page, &sk).await;
        assert_eq!(s, StatusCode::OK, "{audit}");
        for e in audit["data"].as_array().unwrap() {
            actions.push((e["type"].as_str().unwrap().into(), e["actor"]["type"].as_str().unwrap().into()));
        }
        match audit["next_cursor"].as_str() {
            Some(c) => page = format!("/v1/audit-events?limit=100&after={c}"),
            None => break,
        }
    }
    let has = |action: &str, actor: &str| actions.iter().any(|(a, b)| a == action && b == actor);
    for action in [
        "directory.group_created",
        "directory.group_updated",
        "directory.group_member_added",
        "directory.group_member_removed",
        "directory.group_deleted",
    ] {
        assert!(has(action, "directory"), "{action} by the directory: {actions:?}");
    }
    assert!(has("directory.group_mappings_changed", "api_key"), "{actions:?}");
    assert!(has("membership.role_changed", "directory"), "{actions:?}");
    assert!(has("team.member_added", "directory"), "{actions:?}");

    // Strangers: no token, another directory's token, a group of another directory.
    let (s, _, _) = scim(&srv, None, Method::GET, &format!("{base}/Groups"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, other) = srv.post(&format!("/v1/organizations/{globex}/directories"), &sk, json!({"name": "Entra"})).await;
    let other_token = other["token"].as_str().unwrap();
    let (s, _, _) = scim(&srv, Some(other_token), Method::GET, &format!("{base}/Groups/{admins}"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "another directory's token");
    let other_base = format!("/scim/v2/{}", other["id"].as_str().unwrap());
    let (s, _, _) = scim(&srv, Some(other_token), Method::GET, &format!("{other_base}/Groups/{admins}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "another directory's group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_groups_postgres() {
    scenario(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_groups_sqlite() {
    scenario(false).await;
}

/// Group mappings are the backend's and the organization's own admins' to manage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_mappings_are_org_admins_own() {
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
    // Signed in to Acme; a member of Globex too.
    srv.membership(&sk, &admin, &globex, "member").await;
    let (_, d) = srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await;
    let (_, gd) = srv.post(&format!("/v1/organizations/{globex}/directories"), &sk, json!({"name": "Okta"})).await;
    let path = |org: &str, dir: &Value| {
        format!("/v1/organizations/{org}/directories/{}/group-mappings", dir["id"].as_str().unwrap())
    };
    let body = json!({"mappings": [{"group": "Admins", "role": "admin"}]});
    let (s, v) = srv.put(&path(&acme, &d), &a, body.clone()).await;
    assert_eq!((s, &v), (StatusCode::OK, &body), "the org admin manages their own");
    let (s, e) = srv.put(&path(&acme, &d), &m, body.clone()).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "a member: {e}");
    let (s, e) = srv.get(&path(&globex, &gd), &a).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "another org, where they are a member: {e}");
    let (s, e) = srv.get(&path(&globex, &d), &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "the directory under the wrong org: {e}");
    let (s, e) = srv.get(&path(&acme, &d), &sk_other).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "another project: {e}");
    let (s, _) = srv.call(Method::GET, &path(&acme, &d), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
