//! Crash repair and rebuilds: read models are derived data and always recoverable.
mod common;

use authio_domain::ids::{TenantId, UserId};
use authio_domain::reservation::{user_email_key, Reservation, ReservationCommand};
use authio_domain::user::{User, UserCommand};
use authio_eventstore::{Changes, Db, Metadata};
use common::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Commit a user's events straight to the store, as a server that crashed right after
/// its commit (before projecting) would leave them.
async fn commit_without_projecting(db: &Db, project: &str, user_id: &str, email: &str) {
    let mut c = Changes::new();
    let mut r = db.load::<Reservation>(&user_email_key(project, email)).await.unwrap();
    r.exec(ReservationCommand::Claim { owner: user_id.into() }).await.unwrap();
    c.add(r).unwrap();
    let mut u = db.load::<User>(user_id).await.unwrap();
    u.exec(UserCommand::Create {
        user_id: UserId::new(user_id),
        project_id: TenantId::new(project),
        email: email.into(),
        first_name: Some("Carol".into()),
        last_name: None,
        email_verified: true,
        at: chrono::Utc::now(),
    })
    .await
    .unwrap();
    c.add(u).unwrap();
    db.commit(c, &Metadata::new()).await.unwrap();
}

async fn crash_between_commit_and_projection_is_repaired_on_restart(postgres: bool) {
    let url = common::database_url(postgres).await;
    let (tid, sk);
    {
        let srv = Server::start_on(&url).await;
        (_, tid, sk) = srv.project("owner@example.com", "b2b").await;
    } // the server stops: its pipeline no longer runs
    let db = Db::connect(&url, 2).await.unwrap();
    let user_id = "user_01crashrepair0000000000000";
    commit_without_projecting(&db, &tid, user_id, "carol@example.com").await;
    let before: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1").bind(user_id).fetch_one(&db.pool).await.unwrap();
    assert_eq!(before, 0, "committed but not projected");

    let srv = Server::start_on(&url).await;
    let (s, u) = srv.get(&format!("/v1/users/{user_id}"), &sk).await;
    assert_eq!(s, StatusCode::OK, "the restart caught the read model up: {u}");
    assert_eq!(u["email"], "carol@example.com");
    assert_eq!(u["first_name"], "Carol");
    // And the email's reservation holds after the restart.
    let (s, e) = srv.post("/v1/users", &sk, json!({"email": "CAROL@example.com"})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(common::code(&e), "email_taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_repair_postgres() {
    crash_between_commit_and_projection_is_repaired_on_restart(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_repair_sqlite() {
    crash_between_commit_and_projection_is_repaired_on_restart(false).await;
}

/// Events for every read model (updates, deletions, revocations, org switches).
async fn populate(srv: &Server) {
    let (cs, tid, sk) = srv.project("owner@example.com", "b2b").await;
    let (_, k2) = srv
        .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "old", "environment": "live"}))
        .await;
    let (s, _) = srv.delete(&format!("/v1/session/tenants/{tid}/api-keys/{}", common::id(&k2)), &cs).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let alice = srv.user(&sk, "alice@example.com").await;
    let bob = srv.user(&sk, "bob@example.com").await;
    let (s, _) =
        srv.patch(&format!("/v1/users/{bob}"), &sk, json!({"first_name": "Bob", "email": "robert@example.com"})).await;
    assert_eq!(s, StatusCode::OK);
    let acme = srv.org(&sk, "Acme").await;
    let globex = srv.org(&sk, "Globex").await;
    let m = srv.membership(&sk, &alice, &acme, "admin").await;
    srv.membership(&sk, &bob, &acme, "member").await;
    srv.membership(&sk, &alice, &globex, "member").await;
    assert_eq!(srv.patch(&format!("/v1/memberships/{m}"), &sk, json!({"role": "member"})).await.0, StatusCode::OK);
    assert_eq!(srv.post(&format!("/v1/memberships/{m}/deactivate"), &sk, json!({})).await.0, StatusCode::OK);
    let (s, _) = srv.patch(&format!("/v1/organizations/{globex}"), &sk, json!({"domains": ["globex.com"]})).await;
    assert_eq!(s, StatusCode::OK);
    let pk = srv.publishable_key(&cs, &tid).await;
    let a = srv.sign_in(&sk, &pk, &alice).await;
    let (s, _) = srv
        .post("/v1/sessions/switch-org", a["access_token"].as_str().unwrap(), json!({"organization_id": globex}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let b = srv.sign_in(&sk, &pk, &alice).await;
    assert_eq!(
        srv.call(reqwest::Method::POST, "/v1/sessions/revoke", b["access_token"].as_str(), None).await.0,
        StatusCode::NO_CONTENT
    );
    // OAuth clients: one changed and rotated, one deleted.
    let uris = json!(["https://app.example.com/callback"]);
    let body = json!({"name": "Acme web", "client_type": "confidential", "redirect_uris": uris});
    let (s, client) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{client}");
    let client = common::id(&client);
    let (s, _) = srv.patch(&format!("/v1/oauth-clients/{client}"), &sk, json!({"scopes": ["openid", "email"]})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(srv.post(&format!("/v1/oauth-clients/{client}/rotate-secret"), &sk, json!({})).await.0, StatusCode::OK);
    let body = json!({"name": "SPA", "client_type": "public", "redirect_uris": ["http://localhost:3000/cb"]});
    let (s, spa) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{spa}");
    assert_eq!(srv.delete(&format!("/v1/oauth-clients/{}", common::id(&spa)), &sk).await.0, StatusCode::NO_CONTENT);
    // SSO connections: one kept, one deleted.
    let idp = common::discovery_stub().await;
    for keep in [true, false] {
        let body =
            json!({"name": "IdP", "issuer": idp, "client_id": "authio", "client_secret": "s", "jit_role": "member"});
        let (s, conn) = srv.post(&format!("/v1/organizations/{acme}/connections"), &sk, body).await;
        assert_eq!(s, StatusCode::CREATED, "{conn}");
        if !keep {
            let path = format!("/v1/organizations/{acme}/connections/{}", common::id(&conn));
            assert_eq!(srv.delete(&path, &sk).await.0, StatusCode::NO_CONTENT);
        }
    }
    // OAuth grants: one live, one revoked by its client.
    let body = json!({"name": "Grants", "client_type": "confidential", "redirect_uris": uris});
    let (s, oc) = srv.post("/v1/oauth-clients", &sk, body).await;
    assert_eq!(s, StatusCode::CREATED, "{oc}");
    let (oc, secret) = (common::id(&oc), oc["client_secret"].as_str().unwrap().to_string());
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for revoke in [false, true] {
        let params = [
            ("response_type", "code"),
            ("client_id", oc.as_str()),
            ("redirect_uri", "https://app.example.com/callback"),
            ("scope", "openid offline_access"),
        ];
        let url = url::Url::parse_with_params(&format!("{}/oauth2/authorize", srv.url), &params).unwrap();
        let res = raw.get(url).send().await.unwrap();
        let to = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
        let request = to.query_pairs().find(|(k, _)| k == "authorization").unwrap().1.to_string();
        let signed_in = srv.sign_in(&sk, &pk, &alice).await;
        let (s, pair) = srv
            .post(
                "/v1/sessions/switch-org",
                signed_in["access_token"].as_str().unwrap(),
                json!({"organization_id": globex}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{pair}");
        let access = pair["access_token"].as_str().unwrap();
        let (s, v) = srv.post("/v1/oauth2/authorizations", access, json!({"request": request})).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let back = url::Url::parse(v["redirect_to"].as_str().unwrap()).unwrap();
        let code = back.query_pairs().find(|(k, _)| k == "code").unwrap().1.to_string();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "https://app.example.com/callback"),
        ];
        let res = raw
            .post(format!("{}/oauth2/token", srv.url))
            .basic_auth(&oc, Some(&secret))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        if revoke {
            let form = [("token", t["refresh_token"].as_str().unwrap())];
            let res = raw
                .post(format!("{}/oauth2/revoke", srv.url))
                .basic_auth(&oc, Some(&secret))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK);
        }
    }
    let (s, hook) = srv
        .post("/v1/webhook-endpoints", &sk, json!({"url": "https://hooks.example.invalid/a", "events": ["user.*"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let hook = common::id(&hook);
    let (s, _) =
        srv.patch(&format!("/v1/webhook-endpoints/{hook}"), &sk, json!({"events": ["*"], "enabled": false})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, gone_hook) = srv
        .post("/v1/webhook-endpoints", &sk, json!({"url": "https://hooks.example.invalid/b", "events": ["*"]}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        srv.delete(&format!("/v1/webhook-endpoints/{}", common::id(&gone_hook)), &sk).await.0,
        StatusCode::NO_CONTENT
    );
    // Organization administration: settings, permissions, roles (a built-in one changed,
    // one deleted with its memberships moved), invitations, teams.
    let ok = |what: &str, (s, v): (StatusCode, serde_json::Value)| {
        assert!(s.is_success(), "{what}: {s} {v}");
        v
    };
    ok(
        "settings",
        srv.patch("/v1/settings", &sk, json!({"sign_up": "invitation_only", "teams_in_tokens": true})).await,
    );
    ok("permission", srv.post("/v1/permissions", &sk, json!({"slug": "reports:read", "name": "Read"})).await);
    ok("permission", srv.post("/v1/permissions", &sk, json!({"slug": "reports:delete"})).await);
    ok("unused permission", srv.delete("/v1/permissions/reports:delete", &sk).await);
    let role = json!({"slug": "analyst", "name": "Analyst", "permissions": ["reports:read"]});
    ok("role", srv.post("/v1/roles", &sk, role).await);
    ok("built-in", srv.patch("/v1/roles/member", &sk, json!({"permissions": ["reports:read"]})).await);
    let local = json!({"slug": "acme-ops", "name": "Ops", "organization_id": acme});
    ok("org role", srv.post("/v1/roles", &sk, local).await);
    ok("default", srv.patch("/v1/settings", &sk, json!({"default_role": "analyst"})).await);
    let carol = srv.user(&sk, "carol@example.com").await;
    let m_carol = srv.membership(&sk, &carol, &acme, "acme-ops").await;
    ok("move", srv.delete("/v1/roles/acme-ops?replacement=analyst", &sk).await);
    let (_, mc) = srv.get(&format!("/v1/memberships/{m_carol}"), &sk).await;
    assert_eq!(mc["role"], "analyst", "{mc}");
    let invite = |email: &str| json!({"email": email, "organization_id": acme});
    ok("invitation", srv.post("/v1/invitations", &sk, invite("dan@example.com")).await);
    let gone_inv = ok("invitation", srv.post("/v1/invitations", &sk, invite("eve@example.com")).await);
    ok("revoke", srv.post(&format!("/v1/invitations/{}/revoke", common::id(&gone_inv)), &sk, json!({})).await);
    let team = ok("team", srv.post(&format!("/v1/organizations/{acme}/teams"), &sk, json!({"name": "Core"})).await);
    let team = common::id(&team);
    let members = format!("/v1/organizations/{acme}/teams/{team}/members");
    ok("team member", srv.post(&members, &sk, json!({"user_id": carol, "role": "lead"})).await);
    ok("team member", srv.post(&members, &sk, json!({"user_id": bob})).await);
    ok("leaves", srv.delete(&format!("{members}/{bob}"), &sk).await);
    ok("rename", srv.patch(&format!("/v1/organizations/{acme}/teams/{team}"), &sk, json!({"name": "Core team"})).await);
    let dir =
        ok("directory", srv.post(&format!("/v1/organizations/{acme}/directories"), &sk, json!({"name": "Okta"})).await);
    let scim_user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "sam@acme.example",
        "externalId": "00u7", "active": true});
    let res = srv
        .http
        .post(format!("{}/scim/v2/{}/Users", srv.url, common::id(&dir)))
        .bearer_auth(dir["token"].as_str().unwrap())
        .header("content-type", "application/scim+json")
        .body(scim_user.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let sam: serde_json::Value = res.json().await.unwrap();
    let scim_group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{"value": sam["id"]}]});
    let res = srv
        .http
        .post(format!("{}/scim/v2/{}/Groups", srv.url, common::id(&dir)))
        .bearer_auth(dir["token"].as_str().unwrap())
        .header("content-type", "application/scim+json")
        .body(scim_group.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mappings = format!("/v1/organizations/{acme}/directories/{}/group-mappings", common::id(&dir));
    ok("mapping", srv.put(&mappings, &sk, json!({"mappings": [{"group": "engineering", "team_id": team}]})).await);
    let claim = ok(
        "domain",
        srv.post(&format!("/v1/organizations/{acme}/domains"), &sk, json!({"domain": "acme.example"})).await,
    );
    let one = format!("/v1/organizations/{acme}/domains/{}", common::id(&claim));
    ok("policy", srv.patch(&one, &sk, json!({"auto_join": true, "role": "member"})).await);
    let gone_claim = ok(
        "domain",
        srv.post(&format!("/v1/organizations/{acme}/domains"), &sk, json!({"domain": "old.example"})).await,
    );
    ok("unclaim", srv.delete(&format!("/v1/organizations/{acme}/domains/{}", common::id(&gone_claim)), &sk).await);

    // Deleting an organization deletes its memberships.
    let gone = srv.org(&sk, "Gone").await;
    srv.membership(&sk, &bob, &gone, "admin").await;
    assert_eq!(srv.delete(&format!("/v1/organizations/{gone}"), &sk).await.0, StatusCode::NO_CONTENT);
}

/// Every read-model table's columns, constraints and indexes, as text.
async fn schema(db: &Db) -> Vec<String> {
    let tables = authio_projections::TABLES.iter().map(|t| format!("'{t}'")).collect::<Vec<_>>().join(", ");
    let queries = match db.dialect {
        authio_eventstore::Dialect::Postgres => vec![
            format!(
                // The column's place among the table's columns (a dropped column keeps its
                // number in PostgreSQL, a rebuilt table numbers its columns afresh).
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || \
                 COALESCE(collation_name, '') || ' ' || \
                 (row_number() OVER (PARTITION BY table_name ORDER BY ordinal_position))::text \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name IN ({tables})"
            ),
            format!(
                "SELECT conrelid::regclass::text || ' ' || conname::text || ' ' || pg_get_constraintdef(oid) \
                 FROM pg_constraint WHERE conrelid::regclass::text IN ({tables})"
            ),
            format!(
                "SELECT indexname::text || ' ' || indexdef FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN ({tables})"
            ),
        ],
        authio_eventstore::Dialect::Sqlite => vec![
            format!(
                "SELECT m.name || '.' || p.name || ' ' || p.type || ' ' || p.\"notnull\" || ' ' || p.pk || ' ' || p.cid \
                 FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name IN ({tables})"
            ),
            format!(
                "SELECT name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name IN ({tables})"
            ),
        ],
    };
    let mut out = Vec::new();
    for q in queries {
        out.extend(sqlx::query_scalar::<_, String>(&q).fetch_all(&db.pool).await.expect("schema"));
    }
    out.sort();
    out
}

async fn rebuild_leaves_every_read_model_equal(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    populate(&srv).await;

    let live = srv.read_models().await;
    assert!(live.iter().all(|(_, rows)| !rows.is_empty()), "every table has rows: {live:?}");
    let shape = schema(&srv.db).await;
    assert!(shape.iter().any(|l| l.starts_with("users_project_email ")), "{shape:?}");
    srv.cli(&["projections", "rebuild"]).await;
    assert_eq!(live, srv.read_models().await, "rebuilt read models equal the live ones row for row");
    assert_eq!(shape, schema(&srv.db).await, "same columns, constraints and indexes after the swap");

    // A shadow left behind by an interrupted rebuild is replaced.
    sqlx::query("CREATE TABLE users__rebuild (leftover TEXT)").execute(&srv.db.pool).await.unwrap();
    for p in authio_projections::PROJECTIONS {
        srv.cli(&["projections", "rebuild", "--projection", p.name]).await;
        assert_eq!(live, srv.read_models().await, "rebuilding {} leaves the read models equal", p.name);
        assert_eq!(shape, schema(&srv.db).await, "rebuilding {} keeps the schema", p.name);
    }
    // The server kept running on the swapped tables: it still reads and writes them.
    let (_, _, sk) = srv.project("second@example.com", "b2c").await;
    let u = srv.user(&sk, "dora@example.com").await;
    let (s, body) = srv.get(&format!("/v1/users/{u}"), &sk).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["email"], "dora@example.com");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_equality_postgres() {
    rebuild_leaves_every_read_model_equal(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_equality_sqlite() {
    rebuild_leaves_every_read_model_equal(false).await;
}

/// Reads keep answering from the old table while a rebuild of `users` runs in another
/// process, and writes made meanwhile are in the swapped-in table.
async fn reads_keep_answering_during_a_rebuild(postgres: bool) {
    let srv = common::start_with_sso(postgres).await;
    populate(&srv).await;
    let (_, tid, sk) = srv.project("reads@example.com", "b2b").await;
    // Enough events for the replay to take a while: committed straight to the store,
    // then projected by the server's next command.
    for i in 0..600 {
        commit_without_projecting(&srv.db, &tid, &format!("user_01reads{i:020}"), &format!("user{i}@example.com"))
            .await;
    }
    srv.user(&sk, "last@example.com").await;
    let (_, list) = srv.get("/v1/users?limit=100", &sk).await;
    assert_eq!(list["data"].as_array().map_or(0, Vec::len), 100, "{list}");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
        .args(["projections", "rebuild", "--projection", "users"])
        .env("DATABASE_URL", &srv.database_url)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run authio");
    let (mut reads, mut reads_during_replay, mut writes) = (0, 0, 0);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        let (s, list) = srv.get("/v1/users?limit=100", &sk).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        let n = list["data"].as_array().map_or(0, Vec::len);
        assert_eq!(n, 100, "the list never shrinks during a rebuild: {list}");
        // Was that answered while the new table was being written?
        let q = if postgres {
            "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'users__rebuild'"
        } else {
            "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users__rebuild'"
        };
        let shadow: i64 = sqlx::query_scalar(q).fetch_one(&srv.db.pool).await.expect("shadow");
        reads_during_replay += shadow;
        reads += 1;
        if reads % 3 == 0 {
            srv.user(&sk, &format!("during{writes}@example.com")).await;
            writes += 1;
        }
    };
    let out = child.wait_with_output().await.expect("rebuild output");
    assert!(status.success(), "rebuild failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(reads_during_replay > 0, "{reads} reads, none while the new table was written");
    for i in 0..writes {
        let email = format!("during{i}@example.com");
        let (s, list) = srv.get(&format!("/v1/users?email={email}"), &sk).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["data"][0]["email"], email.as_str(), "a user written during the rebuild: {list}");
    }

    // Equal to a full rebuild from the log.
    let after = srv.read_models().await;
    srv.cli(&["projections", "rebuild"]).await;
    assert_eq!(after, srv.read_models().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_keeps_reads_answering_postgres() {
    reads_keep_answering_during_a_rebuild(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_keeps_reads_answering_sqlite() {
    reads_keep_answering_during_a_rebuild(false).await;
}

#[test]
fn rebuild_of_an_unknown_projection_fails_clearly() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authio"))
        .args(["projections", "rebuild", "--projection", "nope"])
        .env("DATABASE_URL", authio_eventstore::testing::fresh_sqlite_url())
        .output()
        .expect("run authio");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid value 'nope' for '--projection <NAME>'"), "{err}");
    assert!(err.contains("users") && err.contains("audit_events"), "lists the projections: {err}");
}

/// A rebuild while the live projector is behind (events committed, not yet projected):
/// the swap projects them into the live tables too, so no event is applied twice or lost.
async fn rebuild_while_the_projector_is_behind(postgres: bool) {
    let url = common::database_url(postgres).await;
    let tid;
    {
        let srv = Server::start_on(&url).await;
        (_, tid, _) = srv.project("owner@example.com", "b2b").await;
    }
    let db = Db::connect(&url, 2).await.unwrap();
    let user_id = "user_01behind000000000000000000";
    commit_without_projecting(&db, &tid, user_id, "erin@example.com").await;
    // PostgreSQL: position the commit first (the stamp waits for transactions that are
    // still running anywhere in the cluster, e.g. other tests').
    if postgres {
        let horizon = db.commit_horizon().await.unwrap();
        for _ in 0..500 {
            if db.stamp().await.unwrap() >= horizon {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let last = db.last_position().await.unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authio"))
        .args(["projections", "rebuild", "--projection", "sessions"])
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run authio");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cp: i64 = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'read_models'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(cp >= last, "the live read models stand at the end of the log: {cp} < {last}");
    let users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE id = $1").bind(user_id).fetch_one(&db.pool).await.unwrap();
    assert_eq!(users, 1, "projected into the live users table by the swap");

    let srv = Server::start_on(&url).await;
    let live = srv.read_models().await;
    srv.cli(&["projections", "rebuild"]).await;
    assert_eq!(live, srv.read_models().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_with_projector_behind_postgres() {
    rebuild_while_the_projector_is_behind(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_with_projector_behind_sqlite() {
    rebuild_while_the_projector_is_behind(false).await;
}
