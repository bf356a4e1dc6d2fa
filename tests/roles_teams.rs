//! Roles and permissions, settings and teams (docs/org-admin.md): project-wide and
//! org-level roles, what access tokens carry, the last-admin rule, teams and their
//! members, and who may touch what. Every scenario runs on PostgreSQL and on SQLite;
//! the webhook check on PostgreSQL.
mod common;

use common::{claims, code, id, Server};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key} in {v}")).to_string()
}

/// A JSON array of strings.
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")).to_string())
        .collect()
}

/// `key` of every item of a list answer.
fn column(list: &Value, key: &str) -> Vec<String> {
    list["data"].as_array().unwrap_or_else(|| panic!("no data in {list}")).iter().map(|x| text(x, key)).collect()
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v
}

async fn permission(srv: &Server, sk: &str, slug: &str) {
    let (s, p) = srv.post("/v1/permissions", sk, json!({"slug": slug, "name": slug})).await;
    assert_eq!(s, StatusCode::CREATED, "{slug}: {p}");
}

async fn role(srv: &Server, token: &str, body: Value) -> Value {
    let (s, r) = srv.post("/v1/roles", token, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{body}: {r}");
    r
}

/// Signed in and switched into `org`: the switch answer (access and refresh token).
async fn in_org(srv: &Server, sk: &str, pk: &str, user: &str, org: &str) -> Value {
    let a = srv.sign_in(sk, pk, user).await;
    let (s, v) = srv.post("/v1/sessions/switch-org", &text(&a, "access_token"), json!({"organization_id": org})).await;
    assert_eq!(s, StatusCode::OK, "switch into {org}: {v}");
    v
}

async fn refresh(srv: &Server, pair: &Value) -> Value {
    let body = json!({"refresh_token": pair["refresh_token"]});
    let (s, v) = srv.call(Method::POST, "/v1/sessions/refresh", None, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn patch_settings(srv: &Server, sk: &str, body: Value) -> Value {
    let (s, v) = srv.patch("/v1/settings", sk, body.clone()).await;
    assert_eq!(s, StatusCode::OK, "{body}: {v}");
    v
}

/// The project's events of `types`, oldest first.
async fn events(srv: &Server, sk: &str, types: &str) -> Vec<Value> {
    let (s, v) = srv.get(&format!("/v1/events?types={types}&limit=100"), sk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["data"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| text(e, "type")).collect()
}

// 1. Permissions and project-wide roles, deletion rules, the default role.
async fn permissions_and_roles(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (_, _, sk) = srv.project("owner@example.com", "b2b").await;
    let body = json!({"slug": "reports:read", "name": "Read reports", "description": "Every report"});
    let (s, p) = srv.post("/v1/permissions", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    assert_eq!(
        (&p["slug"], &p["name"], &p["description"]),
        (&json!("reports:read"), &json!("Read reports"), &json!("Every report"))
    );
    assert!(p["created_at"].is_string(), "{p}");
    for slug in ["reports:delete", "billing.manage", "audit_log-view", "9lives"] {
        permission(&srv, &sk, slug).await;
    }
    let (s, e) = srv.post("/v1/permissions", &sk, json!({"slug": "reports:read"})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "permission_exists"), "{e}");
    for bad in [String::new(), "Reports:read".into(), ":read".into(), "a b".into(), "x".repeat(101)] {
        let (s, e) = srv.post("/v1/permissions", &sk, json!({"slug": bad})).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "invalid_request"), "{bad:?}: {e}");
    }
    let (s, list) = srv.get("/v1/permissions", &sk).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let want = ["9lives", "audit_log-view", "billing.manage", "reports:delete", "reports:read"];
    assert_eq!(column(&list, "slug"), want, "sorted by slug: {list}");
    assert!(list["next_cursor"].is_null(), "{list}");

    // Roles: permissions sorted, unknown ones refused, slugs unique (built-ins too).
    let analyst = role(
        &srv,
        &sk,
        json!({"slug": "analyst", "name": "Analyst", "permissions": ["reports:read", "reports:delete"]}),
    )
    .await;
    assert_eq!(analyst["permissions"], json!(["reports:delete", "reports:read"]), "{analyst}");
    assert_eq!((&analyst["built_in"], &analyst["default"]), (&json!(false), &json!(false)), "{analyst}");
    assert!(analyst["organization_id"].is_null(), "{analyst}");
    let body = json!({"slug": "ghost", "name": "Ghost", "permissions": ["reports:read", "nope:nope"]});
    let (s, e) = srv.post("/v1/roles", &sk, body).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_permission"), "{e}");
    for slug in ["analyst", "admin", "member"] {
        let (s, e) = srv.post("/v1/roles", &sk, json!({"slug": slug, "name": "Again"})).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_exists"), "{slug}: {e}");
    }
    let (s, roles) = srv.get("/v1/roles", &sk).await;
    assert_eq!(s, StatusCode::OK, "{roles}");
    let slugs = column(&roles, "slug");
    assert_eq!(&slugs[..2], ["admin", "member"], "built-ins first: {roles}");
    assert!(slugs.contains(&"analyst".to_string()), "{roles}");
    assert_eq!((&roles["data"][0]["built_in"], &roles["data"][1]["default"]), (&json!(true), &json!(true)), "{roles}");
    let (s, got) = srv.get("/v1/roles/analyst", &sk).await;
    assert_eq!((s, &got["permissions"]), (StatusCode::OK, &analyst["permissions"]), "{got}");

    // Permissions in use stay; free ones go.
    let (s, e) = srv.delete("/v1/permissions/reports:read", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "permission_in_use"), "{e}");
    assert_eq!(srv.delete("/v1/permissions/audit_log-view", &sk).await.0, StatusCode::NO_CONTENT);
    let (s, r) = srv.patch("/v1/roles/analyst", &sk, json!({"permissions": ["reports:read"]})).await;
    assert_eq!((s, &r["permissions"]), (StatusCode::OK, &json!(["reports:read"])), "{r}");
    assert_eq!(srv.delete("/v1/permissions/reports:delete", &sk).await.0, StatusCode::NO_CONTENT);
    let (_, list) = srv.get("/v1/permissions", &sk).await;
    assert_eq!(column(&list, "slug"), ["9lives", "billing.manage", "reports:read"], "{list}");
    // Built-in roles: their permissions change, they are never deleted.
    let (s, r) =
        srv.patch("/v1/roles/member", &sk, json!({"description": "Everyone", "permissions": ["9lives"]})).await;
    assert_eq!((s, &r["permissions"], &r["built_in"]), (StatusCode::OK, &json!(["9lives"]), &json!(true)), "{r}");
    let (s, e) = srv.delete("/v1/roles/admin", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_built_in"), "{e}");

    // Memberships hold defined roles only; a role in use moves to a replacement.
    let acme = srv.org(&sk, "Acme").await;
    let (u1, u2, u3, u4) = (
        srv.user(&sk, "u1@example.com").await,
        srv.user(&sk, "u2@example.com").await,
        srv.user(&sk, "u3@example.com").await,
        srv.user(&sk, "u4@example.com").await,
    );
    srv.membership(&sk, &u3, &acme, "admin").await;
    let m1 = srv.membership(&sk, &u1, &acme, "analyst").await;
    let m2 = srv.membership(&sk, &u2, &acme, "analyst").await;
    let body = json!({"user_id": u4, "organization_id": acme, "role": "nope"});
    let (s, e) = srv.post("/v1/memberships", &sk, body).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let (s, e) = srv.patch(&format!("/v1/memberships/{m1}"), &sk, json!({"role": "nope"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let (s, e) = srv.delete("/v1/roles/analyst", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_in_use"), "{e}");
    assert_eq!(e["error"]["details"]["memberships"], 2, "{e}");
    let (s, v) = srv.delete("/v1/roles/analyst?replacement=member", &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    for m in [&m1, &m2] {
        let (s, got) = srv.get(&format!("/v1/memberships/{m}"), &sk).await;
        assert_eq!((s, &got["role"]), (StatusCode::OK, &json!("member")), "{got}");
    }
    let (s, e) = srv.get("/v1/roles/analyst", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let moved = events(&srv, &sk, "membership.role_changed").await;
    assert_eq!(moved.len(), 2, "one event per moved membership: {moved:?}");
    let seen = types(&events(&srv, &sk, "role.*").await);
    for t in ["role.created", "role.updated", "role.deleted"] {
        assert!(seen.contains(&t.to_string()), "{t} in {seen:?}");
    }

    // The default role: project-wide only; memberships without a role get it.
    let settings = srv.get("/v1/settings", &sk).await.1;
    assert_eq!(settings, json!({"sign_up": "open", "default_role": "member", "teams_in_tokens": false}));
    let viewer = role(&srv, &sk, json!({"slug": "viewer", "name": "Viewer"})).await;
    assert_eq!(viewer["permissions"], json!([]), "{viewer}");
    let (s, e) = srv.patch("/v1/settings", &sk, json!({"default_role": "nope"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let settings = patch_settings(&srv, &sk, json!({"default_role": "viewer"})).await;
    assert_eq!(settings["default_role"], "viewer", "{settings}");
    assert_eq!(srv.get("/v1/roles/viewer", &sk).await.1["default"], true);
    assert_eq!(srv.get("/v1/roles/member", &sk).await.1["default"], false);
    let (s, m) = srv.post("/v1/memberships", &sk, json!({"user_id": u4, "organization_id": acme})).await;
    assert_eq!((s, &m["role"]), (StatusCode::CREATED, &json!("viewer")), "{m}");
    let (s, e) = srv.delete("/v1/roles/viewer", &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_is_default"), "{e}");
    assert_eq!(types(&events(&srv, &sk, "role.default_changed").await), ["role.default_changed"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_and_roles_pg() {
    permissions_and_roles(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_and_roles_sqlite() {
    permissions_and_roles(false).await;
}

// 2. The last active admin stays, whoever asks.
async fn last_admin(postgres: bool) {
    // Org admins (end users) cannot take away their organization's last active admin;
    // the project's backend can (deprovisioning, SCIM included, must always work).
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let (ann, ben, cat) = (
        srv.user(&sk, "ann@example.com").await,
        srv.user(&sk, "ben@example.com").await,
        srv.user(&sk, "cat@example.com").await,
    );
    let m_ann = srv.membership(&sk, &ann, &acme, "admin").await;
    srv.membership(&sk, &ben, &acme, "member").await;
    let ta = text(&in_org(&srv, &sk, &pk, &ann, &acme).await, "access_token");
    let refused = |what: &'static str, (s, e): (StatusCode, Value)| {
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "last_admin"), "{what}: {e}");
    };
    refused("self-demote", srv.patch(&format!("/v1/memberships/{m_ann}"), &ta, json!({"role": "member"})).await);
    refused("self-deactivate", srv.post(&format!("/v1/memberships/{m_ann}/deactivate"), &ta, json!({})).await);
    refused("self-delete", srv.delete(&format!("/v1/memberships/{m_ann}"), &ta).await);

    // An inactive admin does not count.
    let m_cat = srv.membership(&sk, &cat, &acme, "admin").await;
    let (s, m) = srv.post(&format!("/v1/memberships/{m_cat}/deactivate"), &ta, json!({})).await;
    assert_eq!(s, StatusCode::OK, "another admin remains: {m}");
    refused("self-demote", srv.patch(&format!("/v1/memberships/{m_ann}"), &ta, json!({"role": "member"})).await);
    let (s, m) = srv.post(&format!("/v1/memberships/{m_cat}/reactivate"), &ta, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    // Two active admins: one may go.
    let (s, m) = srv.patch(&format!("/v1/memberships/{m_cat}"), &ta, json!({"role": "member"})).await;
    assert_eq!((s, &m["role"]), (StatusCode::OK, &json!("member")), "two admins, one may go: {m}");
    refused("self-delete", srv.delete(&format!("/v1/memberships/{m_ann}"), &ta).await);
    let (_, m) = srv.get(&format!("/v1/memberships/{m_ann}"), &sk).await;
    assert_eq!((&m["role"], &m["status"]), (&json!("admin"), &json!("active")), "{m}");

    // The backend may demote the last admin.
    let (s, m) = srv.patch(&format!("/v1/memberships/{m_ann}"), &sk, json!({"role": "member"})).await;
    assert_eq!((s, &m["role"]), (StatusCode::OK, &json!("member")), "{m}");
    // Deleting the organization takes everyone with it.
    assert_eq!(srv.delete(&format!("/v1/organizations/{acme}"), &sk).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_admin_pg() {
    last_admin(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_admin_sqlite() {
    last_admin(false).await;
}

/// `/v1/me`'s permissions, at the top or under the active organization.
fn me_permissions(me: &Value) -> Value {
    let inside = &me["active_organization"]["permissions"];
    if inside.is_array() {
        inside.clone()
    } else {
        me["permissions"].clone()
    }
}

/// The claims of a pair's access token, with introspection and `/v1/me` agreeing on
/// the permissions (and introspection on the teams).
async fn checked_claims(srv: &Server, sk: &str, pair: &Value) -> Value {
    let token = text(pair, "access_token");
    let c = claims(&token);
    let (s, i) = srv.post("/v1/tokens/introspect", sk, json!({"token": token})).await;
    assert_eq!(s, StatusCode::OK, "{i}");
    assert_eq!((&i["active"], &i["org_role"]), (&json!(true), &c["org_role"]), "{i}");
    assert_eq!(i["permissions"], c["permissions"], "introspection: {i}");
    if c.get("teams").is_some() {
        assert_eq!(i["teams"], c["teams"], "introspection: {i}");
    }
    let (s, me) = srv.get("/v1/me", &token).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me_permissions(&me), c["permissions"], "/v1/me: {me}");
    c
}

// 3. Access tokens carry the role's permissions (and teams), sorted, and stay small.
async fn tokens_carry_permissions(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    for slug in ["reports:read", "reports:write", "reports:delete"] {
        permission(&srv, &sk, slug).await;
    }
    role(&srv, &sk, json!({"slug": "analyst", "name": "Analyst", "permissions": ["reports:read"]})).await;
    let ana = srv.user(&sk, "ana@example.com").await;
    srv.membership(&sk, &ana, &acme, "analyst").await;
    let pair = in_org(&srv, &sk, &pk, &ana, &acme).await;
    let c = checked_claims(&srv, &sk, &pair).await;
    assert_eq!((&c["org_role"], &c["permissions"]), (&json!("analyst"), &json!(["reports:read"])), "{c}");
    assert!(c.get("teams").is_none(), "teams only when teams_in_tokens is on: {c}");

    // A change reaches the token at its next refresh.
    let body = json!({"permissions": ["reports:write", "reports:delete", "reports:read"]});
    let (s, r) = srv.patch("/v1/roles/analyst", &sk, body).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let next = refresh(&srv, &pair).await;
    let c = checked_claims(&srv, &sk, &next).await;
    assert_eq!(c["permissions"], json!(["reports:delete", "reports:read", "reports:write"]), "{c}");

    // Fifty permissions and ten teams still make a small token.
    let perms: Vec<String> = (0..50).map(|i| format!("res{i:02}:write")).collect();
    for p in perms.iter().rev() {
        permission(&srv, &sk, p).await;
    }
    let given: Vec<&String> = perms.iter().skip(1).step_by(2).chain(perms.iter().step_by(2)).collect();
    let big = role(&srv, &sk, json!({"slug": "operator", "name": "Operator", "permissions": given})).await;
    assert_eq!(strings(&big["permissions"]), perms, "{big}");
    let settings = patch_settings(&srv, &sk, json!({"teams_in_tokens": true})).await;
    assert_eq!(settings["teams_in_tokens"], true, "{settings}");
    let ops = srv.user(&sk, "ops@example.com").await;
    srv.membership(&sk, &ops, &acme, "operator").await;
    let mut teams = Vec::new();
    for letter in ["j", "i", "h", "g", "f", "e", "d", "c", "b", "a"] {
        let (s, t) =
            srv.post(&format!("/v1/organizations/{acme}/teams"), &sk, json!({"name": format!("Squad {letter}")})).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        assert_eq!(t["slug"], format!("squad-{letter}"), "{t}");
        let (s, m) =
            srv.post(&format!("/v1/organizations/{acme}/teams/{}/members", id(&t)), &sk, json!({"user_id": ops})).await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        teams.push((text(&t, "slug"), id(&t)));
    }
    let slugs: Vec<String> = teams.iter().map(|(s, _)| s.clone()).collect();
    let pair = in_org(&srv, &sk, &pk, &ops, &acme).await;
    let token = text(&pair, "access_token");
    assert!(token.len() < 2048, "the access token is {} bytes", token.len());
    let c = checked_claims(&srv, &sk, &pair).await;
    assert_eq!(c["org_role"], "operator", "{c}");
    assert_eq!(strings(&c["permissions"]), perms, "sorted: {c}");
    assert_eq!(strings(&c["teams"]), sorted(&slugs), "sorted: {c}");

    // Leaving a team shows at the next refresh.
    let (slug, team) = &teams[0];
    let (s, v) = srv.delete(&format!("/v1/organizations/{acme}/teams/{team}/members/{ops}"), &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let c = checked_claims(&srv, &sk, &refresh(&srv, &pair).await).await;
    let left: Vec<String> = sorted(&slugs).into_iter().filter(|s| s != slug).collect();
    assert_eq!(strings(&c["teams"]), left, "{c}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_carry_permissions_pg() {
    tokens_carry_permissions(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_carry_permissions_sqlite() {
    tokens_carry_permissions(false).await;
}

/// The role slugs a list answers, in its order.
async fn listed(srv: &Server, path: &str, token: &str) -> Vec<String> {
    let (s, v) = srv.get(path, token).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    column(&v, "slug")
}

// 4. Org-level roles: seen and given in their organization only; org admins manage
// their organization's, the backend everything.
async fn org_level_roles(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    permission(&srv, &sk, "reports:read").await;
    let (admin_a, member_a, admin_g, ua, ub) = (
        srv.user(&sk, "admin-a@example.com").await,
        srv.user(&sk, "member-a@example.com").await,
        srv.user(&sk, "admin-g@example.com").await,
        srv.user(&sk, "ua@example.com").await,
        srv.user(&sk, "ub@example.com").await,
    );
    srv.membership(&sk, &admin_a, &acme, "admin").await;
    let m_member = srv.membership(&sk, &member_a, &acme, "member").await;
    srv.membership(&sk, &admin_g, &globex, "admin").await;

    let body =
        json!({"slug": "acme-auditor", "name": "Auditor", "permissions": ["reports:read"], "organization_id": acme});
    let auditor = role(&srv, &sk, body).await;
    assert_eq!(auditor["organization_id"], acme.as_str(), "{auditor}");
    srv.membership(&sk, &ua, &acme, "acme-auditor").await;
    let body = json!({"user_id": ub, "organization_id": globex, "role": "acme-auditor"});
    let (s, e) = srv.post("/v1/memberships", &sk, body).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let m_b = srv.membership(&sk, &ub, &globex, "member").await;
    let (s, e) = srv.patch(&format!("/v1/memberships/{m_b}"), &sk, json!({"role": "acme-auditor"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "{e}");
    let in_globex = listed(&srv, &format!("/v1/roles?organization_id={globex}"), &sk).await;
    assert_eq!(in_globex, ["admin", "member"], "nothing of Acme's");
    let in_acme = listed(&srv, &format!("/v1/roles?organization_id={acme}"), &sk).await;
    assert_eq!(in_acme, ["admin", "member", "acme-auditor"]);
    assert!(listed(&srv, "/v1/roles", &sk).await.contains(&"acme-auditor".to_string()));
    let (s, e) = srv.patch("/v1/settings", &sk, json!({"default_role": "acme-auditor"})).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "unknown_role"), "the default is project-wide: {e}");
    for body in [
        json!({"slug": "acme-auditor", "name": "X"}),
        json!({"slug": "acme-auditor", "name": "X", "organization_id": globex}),
    ] {
        let (s, e) = srv.post("/v1/roles", &sk, body).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_exists"), "{e}");
    }
    role(&srv, &sk, json!({"slug": "globex-only", "name": "G", "organization_id": globex})).await;

    // Tokens: Acme's admin and member, Globex's admin.
    let ta = text(&in_org(&srv, &sk, &pk, &admin_a, &acme).await, "access_token");
    let tm = text(&in_org(&srv, &sk, &pk, &member_a, &acme).await, "access_token");
    let tg = text(&in_org(&srv, &sk, &pk, &admin_g, &globex).await, "access_token");

    // A member: 403; no credential: 401.
    let (s, e) = srv.post("/v1/roles", &tm, json!({"slug": "m-role", "name": "M", "organization_id": acme})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");
    let (s, e) = srv.get("/v1/roles", &tm).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "{e}");
    for (method, path) in [(Method::GET, "/v1/roles"), (Method::GET, "/v1/permissions"), (Method::GET, "/v1/settings")]
    {
        let (s, e) = srv.call(method, path, None, None).await;
        assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{path}: {e}");
    }

    // Acme's admin: Acme's roles only, never project-wide ones or settings.
    let lead = role(&srv, &ta, json!({"slug": "acme-lead", "name": "Lead", "organization_id": acme})).await;
    assert_eq!((&lead["organization_id"], &lead["built_in"]), (&json!(acme), &json!(false)), "{lead}");
    let (s, e) = srv.post("/v1/roles", &ta, json!({"slug": "everywhere", "name": "E"})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "secret_key_required"), "{e}");
    let (s, e) = srv.post("/v1/roles", &ta, json!({"slug": "theirs", "name": "T", "organization_id": globex})).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    assert_eq!(listed(&srv, "/v1/roles", &ta).await, ["admin", "member", "acme-auditor", "acme-lead"]);
    let (s, e) = srv.get(&format!("/v1/roles?organization_id={globex}"), &ta).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    for (method, body) in [(Method::GET, None), (Method::PATCH, Some(json!({"name": "Mine"}))), (Method::DELETE, None)]
    {
        let (s, e) = srv.call(method.clone(), "/v1/roles/globex-only", Some(&ta), body).await;
        assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{method}: {e}");
    }
    let (s, e) = srv.get("/v1/roles/acme-lead", &tg).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "Globex's admin: {e}");
    let (s, e) = srv.patch("/v1/roles/member", &ta, json!({"permissions": ["reports:read"]})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "secret_key_required"), "{e}");
    let (s, e) = srv.post("/v1/permissions", &ta, json!({"slug": "acme:x"})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "secret_key_required"), "{e}");
    for (method, body) in [(Method::GET, None), (Method::PATCH, Some(json!({"sign_up": "invitation_only"})))] {
        let (s, e) = srv.call(method.clone(), "/v1/settings", Some(&ta), body).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "secret_key_required"), "{method} settings: {e}");
    }
    let (s, r) =
        srv.patch("/v1/roles/acme-lead", &ta, json!({"name": "Team lead", "permissions": ["reports:read"]})).await;
    assert_eq!(
        (s, &r["name"], &r["permissions"]),
        (StatusCode::OK, &json!("Team lead"), &json!(["reports:read"])),
        "{r}"
    );
    let (s, m) = srv.patch(&format!("/v1/memberships/{m_member}"), &ta, json!({"role": "acme-lead"})).await;
    assert_eq!((s, &m["role"]), (StatusCode::OK, &json!("acme-lead")), "{m}");
    let (s, e) = srv.delete("/v1/roles/acme-lead", &ta).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "role_in_use"), "{e}");
    let (s, v) = srv.delete("/v1/roles/acme-lead?replacement=member", &ta).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(srv.get(&format!("/v1/memberships/{m_member}"), &sk).await.1["role"], "member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_level_roles_pg() {
    org_level_roles(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_level_roles_sqlite() {
    org_level_roles(false).await;
}

/// A team's members as (user id, status).
async fn team_members(srv: &Server, token: &str, org: &str, team: &str) -> Vec<(String, String)> {
    let (s, v) = srv.get(&format!("/v1/organizations/{org}/teams/{team}/members"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut out: Vec<(String, String)> = column(&v, "user_id").into_iter().zip(column(&v, "status")).collect();
    out.sort();
    out
}

// 5. Teams: slugs, members and their membership status, who may see them.
async fn teams(postgres: bool) {
    let srv = Server::start(postgres).await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let (admin_a, m1, m2, outsider, admin_g) = (
        srv.user(&sk, "admin-a@example.com").await,
        srv.user(&sk, "m1@example.com").await,
        srv.user(&sk, "m2@example.com").await,
        srv.user(&sk, "outsider@example.com").await,
        srv.user(&sk, "admin-g@example.com").await,
    );
    srv.membership(&sk, &admin_a, &acme, "admin").await;
    let mem1 = srv.membership(&sk, &m1, &acme, "member").await;
    let mem2 = srv.membership(&sk, &m2, &acme, "member").await;
    srv.membership(&sk, &outsider, &globex, "member").await;
    srv.membership(&sk, &admin_g, &globex, "admin").await;
    let teams_of = |org: &str| format!("/v1/organizations/{org}/teams");

    let (s, team) = srv.post(&teams_of(&acme), &sk, json!({"name": "Platform Engineering"})).await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    assert_eq!((&team["slug"], &team["organization_id"]), (&json!("platform-engineering"), &json!(acme)), "{team}");
    assert_eq!((&team["name"], &team["members_count"]), (&json!("Platform Engineering"), &json!(0)), "{team}");
    let tid_a = id(&team);
    let one = format!("{}/{tid_a}", teams_of(&acme));
    for body in [json!({"name": "Other", "slug": "platform-engineering"}), json!({"name": "Platform  engineering"})] {
        let (s, e) = srv.post(&teams_of(&acme), &sk, body).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "team_exists"), "{e}");
    }
    let (s, g) = srv.post(&teams_of(&globex), &sk, json!({"name": "Platform Engineering"})).await;
    assert_eq!((s, &g["slug"]), (StatusCode::CREATED, &json!("platform-engineering")), "unique per org: {g}");
    let (s, t) = srv.patch(&one, &sk, json!({"name": "Platform"})).await;
    assert_eq!(
        (s, &t["name"], &t["slug"]),
        (StatusCode::OK, &json!("Platform"), &json!("platform-engineering")),
        "{t}"
    );
    let (s, list) = srv.get(&teams_of(&acme), &sk).await;
    assert_eq!((s, column(&list, "id")), (StatusCode::OK, vec![tid_a.clone()]), "{list}");

    // Members: organization members only, once each.
    let (s, tm) = srv.post(&format!("{one}/members"), &sk, json!({"user_id": m1})).await;
    assert_eq!(s, StatusCode::CREATED, "{tm}");
    assert_eq!(
        (&tm["team_id"], &tm["user_id"], &tm["email"]),
        (&json!(tid_a), &json!(m1), &json!("m1@example.com")),
        "{tm}"
    );
    assert_eq!(tm["status"], "active", "{tm}");
    assert!(tm["added_at"].is_string(), "{tm}");
    let (s, e) = srv.post(&format!("{one}/members"), &sk, json!({"user_id": m1})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "team_member_exists"), "{e}");
    let (s, e) = srv.post(&format!("{one}/members"), &sk, json!({"user_id": outsider})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "not_an_org_member"), "{e}");
    let (s, tm) = srv.post(&format!("{one}/members"), &sk, json!({"user_id": m2})).await;
    assert_eq!(s, StatusCode::CREATED, "{tm}");
    assert_eq!(srv.get(&one, &sk).await.1["members_count"], 2);
    let active = |u: &str| (u.to_string(), "active".to_string());
    assert_eq!(team_members(&srv, &sk, &acme, &tid_a).await, sorted_pairs(vec![active(&m1), active(&m2)]));

    // Who may: Acme's admin yes, Globex's admin 404, a member 403, nobody 401.
    let ta = text(&in_org(&srv, &sk, &pk, &admin_a, &acme).await, "access_token");
    let tg = text(&in_org(&srv, &sk, &pk, &admin_g, &globex).await, "access_token");
    let tm = text(&in_org(&srv, &sk, &pk, &m1, &acme).await, "access_token");
    let (s, design) = srv.post(&teams_of(&acme), &ta, json!({"name": "Design"})).await;
    assert_eq!((s, &design["slug"]), (StatusCode::CREATED, &json!("design")), "{design}");
    let (s, list) = srv.get(&teams_of(&acme), &ta).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(sorted(&column(&list, "slug")), ["design", "platform-engineering"], "{list}");
    assert_eq!(team_members(&srv, &ta, &acme, &tid_a).await.len(), 2);
    let (s, e) = srv.get(&teams_of(&globex), &ta).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    for (method, path, body) in [
        (Method::GET, teams_of(&acme), None),
        (Method::POST, teams_of(&acme), Some(json!({"name": "Sneaky"}))),
        (Method::GET, one.clone(), None),
        (Method::GET, format!("{one}/members"), None),
        (Method::POST, format!("{one}/members"), Some(json!({"user_id": admin_g}))),
    ] {
        let (s, e) = srv.call(method.clone(), &path, Some(&tg), body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "Globex's admin: {method} {path}: {e}");
        let (s, e) = srv.call(method.clone(), &path, Some(&tm), body.clone()).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"), "a member: {method} {path}: {e}");
        let (s, e) = srv.call(method.clone(), &path, None, body).await;
        assert_eq!((s, code(&e)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "nobody: {method} {path}: {e}");
    }

    // A deactivated member is listed inactive, active again once reactivated.
    let (s, m) = srv.post(&format!("/v1/memberships/{mem1}/deactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let inactive = (m1.clone(), "inactive".to_string());
    assert_eq!(team_members(&srv, &sk, &acme, &tid_a).await, sorted_pairs(vec![inactive, active(&m2)]));
    let (s, m) = srv.post(&format!("/v1/memberships/{mem1}/reactivate"), &sk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{m}");
    assert_eq!(team_members(&srv, &sk, &acme, &tid_a).await, sorted_pairs(vec![active(&m1), active(&m2)]));
    // Leaving the organization leaves its teams.
    let (s, v) = srv.delete(&format!("/v1/memberships/{mem2}"), &sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    assert_eq!(team_members(&srv, &sk, &acme, &tid_a).await, vec![active(&m1)]);
    let removed = events(&srv, &sk, "team.member_removed").await;
    assert!(removed.iter().any(|e| e.to_string().contains(&m2)), "{removed:?}");
    // The admin removes the last member; the backend deletes the team.
    let (s, v) = srv.delete(&format!("{one}/members/{m1}"), &ta).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let left = team_members(&srv, &sk, &acme, &tid_a).await;
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(srv.delete(&one, &sk).await.0, StatusCode::NO_CONTENT);
    let (s, e) = srv.get(&one, &sk).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let seen = types(&events(&srv, &sk, "team.*").await);
    for t in ["team.created", "team.updated", "team.deleted", "team.member_added", "team.member_removed"] {
        assert!(seen.contains(&t.to_string()), "{t} in {seen:?}");
    }
}

fn sorted_pairs(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_pg() {
    teams(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_sqlite() {
    teams(false).await;
}

// 6. Webhooks: each of the new events reaches a subscribed endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_events_reach_webhooks_pg() {
    let url = common::database_url(true).await;
    let dir = std::env::temp_dir().join(format!("authio_outbox_{}", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::create_dir_all(&dir).unwrap();
    let mail = format!("file://{}", dir.display());
    let srv = Server::start_with(&url, |c| {
        c.mail_url = Some(mail);
        c.webhook_allow_private = true;
    })
    .await;
    let (hook_url, delivered) = common::webhook_receiver().await;
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    let body = json!({"url": hook_url, "events": ["invitation.*", "role.*", "team.*"]});
    let (s, ep) = srv.post("/v1/webhook-endpoints", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{ep}");

    let acme = srv.org(&sk, "Acme").await;
    let (s, u) = srv.post("/v1/users", &sk, json!({"email": "joe@example.com", "email_verified": true})).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let joe = id(&u);
    let (s, inv) = srv.post("/v1/invitations", &sk, json!({"email": "joe@example.com", "organization_id": acme})).await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let access = text(&srv.sign_in(&sk, &pk, &joe).await, "access_token");
    let (s, done) = srv
        .post(
            "/v1/invitations/accept",
            &access,
            json!({"code": common::mailed(&dir, "joe@example.com", "invitation_code=")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    role(&srv, &sk, json!({"slug": "analyst", "name": "Analyst"})).await;
    let (s, team) = srv.post(&format!("/v1/organizations/{acme}/teams"), &sk, json!({"name": "Core"})).await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let (s, m) =
        srv.post(&format!("/v1/organizations/{acme}/teams/{}/members", id(&team)), &sk, json!({"user_id": joe})).await;
    assert_eq!(s, StatusCode::CREATED, "{m}");

    let all = events(&srv, &sk, "invitation.*,role.*,team.*").await;
    let wanted = ["invitation.created", "invitation.accepted", "role.created", "team.created", "team.member_added"];
    let ids: Vec<(String, String)> = wanted
        .iter()
        .map(|t| {
            let e = all.iter().find(|e| e["type"] == *t).unwrap_or_else(|| panic!("no {t} in {all:?}"));
            (t.to_string(), id(e))
        })
        .collect();
    for _ in 0..750 {
        let seen = delivered.lock().unwrap().clone();
        if ids.iter().all(|(_, i)| seen.contains_key(i)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let seen = delivered.lock().unwrap().clone();
    let missing: Vec<&String> = ids.iter().filter(|(_, i)| !seen.contains_key(i)).map(|(t, _)| t).collect();
    panic!("not delivered within 15 s: {missing:?} (delivered {seen:?})");
}
