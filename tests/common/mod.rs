//! A real Authio server for end-to-end tests: the same `build` that `authio serve`
//! uses, on 127.0.0.1:0, over a fresh PostgreSQL database or SQLite file per test.
#![allow(dead_code)]

use authio_eventstore::testing::{fresh_postgres_url, fresh_sqlite_url};
use authio_eventstore::Db;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct Server {
    pub url: String,
    pub database_url: String,
    pub db: Db,
    pub bus: authio_projections::relay::Bus,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
    background: authio_api::Background,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn database_url(postgres: bool) -> String {
    if postgres {
        fresh_postgres_url().await
    } else {
        fresh_sqlite_url()
    }
}

impl Server {
    pub async fn start(postgres: bool) -> Server {
        let url = database_url(postgres).await;
        Server::start_on(&url).await
    }

    pub async fn start_on(database_url: &str) -> Server {
        Server::start_with(database_url, |_| {}).await
    }

    pub async fn start_with(database_url: &str, adjust: impl FnOnce(&mut authio_api::Config)) -> Server {
        let mut config = authio_api::Config::for_database(database_url);
        adjust(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        config.addr = addr;
        let (app, state, background) = authio_api::build(&config).await.expect("build app");
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .await
                .expect("serve");
        });
        Server {
            url: format!("http://{addr}"),
            database_url: database_url.to_string(),
            db: state.db,
            bus: state.bus,
            http: reqwest::Client::new(),
            task,
            background,
        }
    }

    /// Run the real `authio` binary against this server's database.
    /// Async, so the test's runtime keeps running this server meanwhile: the command may
    /// wait for a lock that the server's pipeline holds (the stamp's advisory lock).
    pub async fn cli(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_authio"))
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("run authio");
        assert!(out.status.success(), "authio {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf8").trim().to_string()
    }

    /// `authio audit replay --project P [ARGS]`: the entries, one JSON line each.
    pub async fn audit_replay(&self, project: &str, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["audit", "replay", "--project", project];
        all.extend_from_slice(args);
        self.cli(&all).await.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    }

    /// A console token from `authio operators token --email`.
    pub async fn console_token(&self, email: &str) -> String {
        let t = self.cli(&["operators", "token", "--email", email]).await;
        assert!(t.starts_with("cs_"), "unexpected token output {t:?}");
        t
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, token, None, body).await
    }

    /// A call with an optional publishable key header.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        publishable: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.url, path));
        if let Some(pk) = publishable {
            req = req.header("authio-publishable-key", pk);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, v)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }
    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// A publishable-key call (the project's frontend).
    pub async fn front(&self, path: &str, pk: &str, body: Value) -> (StatusCode, Value) {
        self.call_with(Method::POST, path, None, Some(pk), Some(body)).await
    }

    /// The publishable key of the tenant's first key.
    pub async fn publishable_key(&self, cs: &str, tid: &str) -> String {
        let (_, keys) = self.get(&format!("/v1/session/tenants/{tid}/api-keys"), cs).await;
        keys["data"][0]["publishable_key"].as_str().expect("publishable key").to_string()
    }

    /// Sign a user in through a sign-in token: the session answer.
    pub async fn sign_in(&self, sk: &str, pk: &str, user: &str) -> Value {
        let (s, t) = self.post("/v1/sign-in-tokens", sk, json!({"user_id": user})).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let (s, a) = self.front("/v1/auth/sign-in-tokens/verify", pk, json!({"token": t["token"]})).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        a
    }

    /// A console token, a tenant in `mode` and a test secret key: (console token, tenant id, secret key).
    pub async fn project(&self, owner_email: &str, mode: &str) -> (String, String, String) {
        let cs = self.console_token(owner_email).await;
        let (s, t) = self.post("/v1/session/tenants", &cs, json!({"name": "Project", "mode": mode})).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let tid = id(&t);
        let (s, k) = self
            .post(&format!("/v1/session/tenants/{tid}/api-keys"), &cs, json!({"name": "test", "environment": "test"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        let sk = k["secret"].as_str().expect("secret").to_string();
        (cs, tid, sk)
    }

    pub async fn user(&self, sk: &str, email: &str) -> String {
        let (s, u) = self.post("/v1/users", sk, json!({"email": email})).await;
        assert_eq!(s, StatusCode::CREATED, "{u}");
        id(&u)
    }

    pub async fn org(&self, sk: &str, name: &str) -> String {
        let (s, o) = self.post("/v1/organizations", sk, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{o}");
        id(&o)
    }

    pub async fn membership(&self, sk: &str, user: &str, org: &str, role: &str) -> String {
        let (s, m) =
            self.post("/v1/memberships", sk, json!({"user_id": user, "organization_id": org, "role": role})).await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        id(&m)
    }

    /// Every read-model table, row by row, as text (for equality checks).
    /// Every read model's rows, once the audit log (written after the commits) is
    /// complete.
    pub async fn read_models(&self) -> Vec<(String, Vec<String>)> {
        audit_caught_up(&self.db).await;
        let mut out = Vec::new();
        for t in authio_projections::TABLES {
            let cols: &str = match *t {
                "operators" => "id, email, created_at",
                "tenants" => "id, name, slug, mode, owner_id, CAST(organizations_count AS TEXT), redirect_urls, allowed_origins, token_algorithm, sign_up, CASE WHEN teams_in_tokens THEN 'true' ELSE 'false' END, default_role, created_at, updated_at",
                "api_keys" => "id, tenant_id, name, environment, secret_prefix, secret_last_four, publishable_key, created_at, COALESCE(revoked_at, '')",
                "users" => "id, project_id, email, email_normalized, COALESCE(first_name, ''), COALESCE(last_name, ''), CASE WHEN email_verified THEN 'true' ELSE 'false' END, created_at, updated_at, COALESCE(last_organization_id, '')",
                "sessions" => "id, project_id, user_id, method, COALESCE(active_organization_id, ''), status, COALESCE(stepped_up_at, ''), created_at, updated_at",
                "session_contexts" => "session_id, context, project_id, user_id, COALESCE(organization_id, ''), CAST(epoch AS TEXT), status, COALESCE(reason, ''), opened_at, updated_at",
                "organizations" => "id, project_id, name, slug, domains, COALESCE(allowed_methods, ''), CASE WHEN require_passkey THEN 'true' ELSE 'false' END, COALESCE(CAST(max_session_age AS TEXT), ''), created_at, updated_at",
                "memberships" => "id, project_id, organization_id, user_id, role, status, COALESCE(joined_at, ''), created_at, updated_at",
                "audit_events" => "CAST(position AS TEXT), COALESCE(project_id, ''), COALESCE(organization_id, ''), action, actor_type, COALESCE(actor_id, ''), targets",
                "stream_owners" => "aggregate_type || ':' || aggregate_id, project_id",
                "webhook_endpoints" => "id, project_id, url, events, CASE WHEN enabled THEN 'true' ELSE 'false' END, COALESCE(disabled_reason, ''), CAST(created_position AS TEXT), created_at, updated_at",
                "permissions" => "id, project_id, slug, COALESCE(name, ''), COALESCE(description, ''), created_at",
                "roles" => "id, project_id, slug, COALESCE(organization_id, ''), name, COALESCE(description, ''), permissions, created_at, updated_at",
                "invitations" => "id, project_id, COALESCE(organization_id, ''), email, COALESCE(role, ''), state, COALESCE(inviter_user_id, ''), expires_at, COALESCE(accepted_at, ''), COALESCE(accepted_user_id, ''), created_at, updated_at",
                "teams" => "id, project_id, organization_id, name, slug, CAST(members_count AS TEXT), created_at, updated_at",
                "team_members" => "id, team_id, organization_id, user_id, membership_id, COALESCE(role, ''), added_at",
                "organization_domains" => "id, project_id, organization_id, domain, challenge, state, CASE WHEN auto_join THEN 'true' ELSE 'false' END, COALESCE(role, ''), COALESCE(verified_at, ''), created_at, updated_at",
                "directories" => "id, project_id, organization_id, name, created_at, updated_at",
                "directory_users" => "id, directory_id, organization_id, user_id, COALESCE(external_id, ''), COALESCE(user_name, ''), COALESCE(display_name, ''), linked_at",
                "directory_groups" => "id, directory_id, organization_id, display_name, COALESCE(external_id, ''), created_at, updated_at",
                "directory_group_members" => "id, group_id, directory_id, user_id, added_at",
                "oauth_clients" => "id, project_id, name, client_type, redirect_uris, scopes, created_at, updated_at, COALESCE(backchannel_logout_uri, '')",
                "oauth_grants" => "family_id, code_id, client_id, project_id, session_id, user_id, COALESCE(organization_id, ''), scopes, auth_time, created_at, COALESCE(revoked_at, '')",
                "connections" => "id, project_id, organization_id, name, issuer, client_id, COALESCE(jit_role, ''), created_at, updated_at",
                other => panic!("unknown table {other}"),
            };
            let order = match *t {
                "audit_events" => "position",
                "stream_owners" => "aggregate_type, aggregate_id",
                "session_contexts" => "session_id, context",
                "oauth_grants" => "family_id",
                _ => "id",
            };
            let rows = sqlx::query(&format!("SELECT {cols} FROM {t} ORDER BY {order}"))
                .fetch_all(&self.db.pool)
                .await
                .expect("read model");
            let rows = rows
                .iter()
                .map(|r| {
                    use sqlx::Row;
                    (0..r.len()).map(|i| r.try_get::<String, _>(i).expect("text column")).collect::<Vec<_>>().join("|")
                })
                .collect();
            out.push((t.to_string(), rows));
        }
        out
    }
}

pub fn nats_url() -> String {
    std::env::var("AUTHIO_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_string())
}

/// Wait (bounded) until the relay has published everything the audit log holds.
/// Wait until the audit log holds every committed event (the pipeline writes it after
/// the commit; PostgreSQL stamps positions first).
pub async fn audit_caught_up(db: &Db) {
    for _ in 0..500 {
        let (unstamped, last, audited): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM events WHERE position IS NULL), \
             (SELECT COALESCE(MAX(position), 0) FROM events), (SELECT COALESCE(MAX(position), 0) FROM audit_events)",
        )
        .fetch_one(&db.pool)
        .await
        .expect("audit");
        if unstamped == 0 && audited >= last {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the audit log did not catch up within 10 s");
}

pub async fn relay_caught_up(db: &Db) {
    audit_caught_up(db).await;
    for _ in 0..500 {
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM audit_events")
            .fetch_one(&db.pool)
            .await
            .expect("audit");
        let cp: Option<i64> = sqlx::query_scalar("SELECT position FROM projection_checkpoints WHERE name = 'relay'")
            .fetch_optional(&db.pool)
            .await
            .expect("checkpoint");
        if cp.unwrap_or(0) >= last {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the relay did not catch up within 10 s");
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().unwrap_or_else(|| panic!("no id in {v}")).to_string()
}

pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Every message on the project's subjects of the events stream, in stream order, as
/// (envelope, subject, `Nats-Msg-Id`). A fresh ephemeral consumer reads from the start.
pub async fn jetstream_messages(nats_url: &str, tid: &str) -> Vec<(Value, String, Option<String>)> {
    use async_nats::jetstream;
    use futures::StreamExt;
    let js = jetstream::new(async_nats::connect(nats_url).await.expect("NATS is required for this test"));
    let stream = js.get_stream(authio_projections::relay::STREAM).await.expect("stream");
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            filter_subject: format!("authio.events.{tid}.>"),
            ack_policy: jetstream::consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut out = Vec::new();
    let mut msgs = consumer
        .fetch()
        .max_messages(100_000)
        .expires(std::time::Duration::from_secs(1))
        .messages()
        .await
        .expect("fetch");
    while let Some(Ok(m)) = msgs.next().await {
        let v: Value = serde_json::from_slice(&m.payload).expect("envelope");
        let id = m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string());
        out.push((v, m.subject.to_string(), id));
    }
    out
}

/// The claims of an access token (not verified: for reading what a test was given).
#[allow(dead_code)]
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A webhook receiver on loopback that answers 200: its URL, and how often each
/// `webhook-id` arrived.
pub async fn webhook_receiver() -> (String, std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, usize>>>)
{
    use axum::http::HeaderMap;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::<String, usize>::new()));
    let s2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let seen = s2.clone();
            async move {
                if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
                    *seen.lock().unwrap().entry(id.to_string()).or_default() += 1;
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// A stand-in identity provider that serves only its discovery document (its issuer is
/// its own base URL): enough to create an SSO connection and start a sign-in. The whole
/// flow against a real provider is scripts/sso-conformance (node oidc-provider).
pub async fn discovery_stub() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
    });
    let app = axum::Router::new().route(
        "/.well-known/openid-configuration",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { axum::Json(doc) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// The application's link to `/v1/auth/sso/start` through `connection` (the PKCE
/// challenge of RFC 7636's example verifier; `state` passed through when given).
pub fn sso_start_url(base: &str, pk: &str, connection: &str, redirect_url: &str, state: Option<&str>) -> url::Url {
    let mut params = vec![
        ("pk", pk),
        ("connection", connection),
        ("redirect_url", redirect_url),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
    ];
    params.extend(state.map(|s| ("state", s)));
    url::Url::parse_with_params(&format!("{base}/v1/auth/sso/start"), &params).unwrap()
}

/// A server with SSO on: `AUTHIO_SECRET_KEY` set, and private targets allowed (the
/// test's identity provider listens on loopback).
pub async fn start_with_sso(postgres: bool) -> Server {
    let url = database_url(postgres).await;
    Server::start_with(&url, |c| {
        c.secret_key = Some("5a".repeat(32));
        c.webhook_allow_private = true;
    })
    .await
}

/// TXT records by name (lower case, no trailing dot).
pub type Zone = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>>;

/// An authoritative DNS server on 127.0.0.1 (UDP) answering TXT queries from `zone`;
/// any other name is NXDOMAIN.
pub async fn dns_server() -> (String, Zone) {
    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::TXT;
    use hickory_resolver::proto::rr::{RData, Record, RecordType};
    let zone: Zone = Zone::default();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    let z = zone.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = socket.recv_from(&mut buf).await else { return };
            let Ok(query) = Message::from_vec(&buf[..n]) else { continue };
            let mut answer = Message::new();
            answer.set_id(query.id()).set_message_type(MessageType::Response).set_op_code(query.op_code());
            answer.set_authoritative(true).set_recursion_desired(query.recursion_desired());
            let mut found = false;
            for q in query.queries() {
                answer.add_query(q.clone());
                let name = q.name().to_ascii().trim_end_matches('.').to_lowercase();
                let values = z.lock().unwrap().get(&name).cloned();
                if let (Some(values), RecordType::TXT) = (values, q.query_type()) {
                    for v in values {
                        answer.add_answer(Record::from_rdata(q.name().clone(), 5, RData::TXT(TXT::new(vec![v]))));
                    }
                    found = true;
                }
            }
            if !found {
                answer.set_response_code(ResponseCode::NXDomain);
            }
            if let Ok(bytes) = answer.to_vec() {
                let _ = socket.send_to(&bytes, peer).await;
            }
        }
    });
    (addr, zone)
}

/// A fresh directory for a server's file outbox (`file://DIR`).
pub fn outbox() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("authio_outbox_{}", ulid::Ulid::new().to_string().to_lowercase()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every mail to `to` in the outbox `dir`, oldest first, with quoted-printable soft
/// breaks and `=3D` undone.
pub fn mails_to(dir: &std::path::Path, to: &str) -> Vec<String> {
    let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .map(|e| (e.metadata().unwrap().modified().unwrap(), std::fs::read_to_string(e.path()).unwrap()))
        .filter(|(_, m)| m.contains(&format!("To: {to}")))
        .collect();
    mails.sort();
    mails.into_iter().map(|(_, m)| m.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")).collect()
}

/// The token characters right after the first `marker` in `text`.
pub fn value_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker} in {text}")) + marker.len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

/// The value after `marker` (`token=`, `invitation_code=`) in the newest mail to `to`
/// that has one.
pub fn mailed(dir: &std::path::Path, to: &str, marker: &str) -> String {
    let mail = mails_to(dir, to)
        .into_iter()
        .rev()
        .find(|m| m.contains(marker))
        .unwrap_or_else(|| panic!("no mail with {marker} to {to} in {}", dir.display()));
    value_after(&mail, marker)
}

/// A SCIM call with the directory's token: (status, content type, body).
pub async fn scim(
    srv: &Server,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, String, Value) {
    let mut req = srv.http.request(method, format!("{}{path}", srv.url));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.header("content-type", "application/scim+json").body(b.to_string());
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let text = res.text().await.unwrap_or_default();
    (status, ct, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `s` percent-encoded for a query string.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
