//! Passkeys end to end, on SQLite and PostgreSQL: a real server, and passkey-rs
//! (1Password) as the software authenticator and WebAuthn client in place of a
//! browser. Registration for a signed-in user, sign-in with a discoverable credential,
//! and the ways a ceremony must fail: replays, reused or foreign ceremonies, wrong
//! origin or RP id, unknown credentials, counters that go backwards, a credential id
//! claimed twice, and missing caller credentials.
mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{code, Server};
use passkey::authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck, UserValidationMethod,
};
use passkey::client::{Client, DefaultClientData};
use passkey::crypto::rust_crypto::RustCryptoBackend;
use passkey::types::ctap2::make_credential::{Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity};
use passkey::types::ctap2::{Aaguid, Ctap2Error, StatusCode as CtapStatus};
use passkey::types::webauthn::{
    AuthenticatedPublicKeyCredential, CreatedPublicKeyCredential, CredentialCreationOptions, CredentialRequestOptions,
    PublicKeyCredentialDescriptor,
};
use passkey::types::Passkey;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use url::Url;

const ORIGIN: &str = "http://localhost:8080";

// ---- the software authenticator ------------------------------------------------------

/// The user is always present and verified (a device with a PIN or biometrics).
struct Present;

#[async_trait::async_trait]
impl UserValidationMethod for Present {
    type PasskeyItem = Passkey;
    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck { presence, verification })
    }
    fn is_presence_enabled(&self) -> bool {
        true
    }
    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// One passkey, shared with the test so it can be inspected, cloned or rolled back.
#[derive(Clone, Default)]
struct Store(Arc<Mutex<Option<Passkey>>>);

impl Store {
    fn get(&self) -> Option<Passkey> {
        self.0.lock().expect("store lock").clone()
    }
    fn set(&self, p: Option<Passkey>) {
        *self.0.lock().expect("store lock") = p;
    }
}

#[async_trait::async_trait]
impl CredentialStore for Store {
    type PasskeyItem = Passkey;
    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        _rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, CtapStatus> {
        let found = match (self.get(), ids) {
            (Some(p), Some(ids)) => ids.iter().any(|d| d.id == p.credential_id).then_some(p),
            (p, None) => p,
            (None, Some(_)) => None,
        };
        found.map(|p| vec![p]).ok_or(Ctap2Error::NoCredentials.into())
    }
    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), CtapStatus> {
        self.set(Some(cred));
        Ok(())
    }
    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), CtapStatus> {
        self.set(Some(cred.clone()));
        Ok(())
    }
    async fn get_info(&self) -> StoreInfo {
        StoreInfo { discoverability: DiscoverabilitySupport::ForcedDiscoverable }
    }
}

/// A device holding one passkey, with a signature counter.
#[derive(Clone, Default)]
struct Device {
    store: Store,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Device {
    fn authenticator(&self) -> Authenticator<Store, Present, RustCryptoBackend> {
        let mut a = Authenticator::new(Aaguid::new_empty(), self.store.clone(), Present, RustCryptoBackend);
        a.set_make_credentials_with_signature_counter(true);
        a
    }

    /// `navigator.credentials.create()` from `origin` with the server's options, as
    /// `PublicKeyCredential.toJSON()`. `rp_id` overrides the options' RP id.
    async fn create(&self, origin: &str, options: &Value, rp_id: Option<&str>) -> Value {
        let mut options = options.clone();
        if let Some(rp) = rp_id {
            options["rp"]["id"] = json!(rp);
        }
        let request: CredentialCreationOptions =
            serde_json::from_value(json!({ "publicKey": options })).expect("the server's creation options parse");
        let origin = Url::parse(origin).expect("origin");
        let mut client = Client::new(self.authenticator()).allows_insecure_localhost(true);
        let c = client.register(&origin, request, DefaultClientData).await.expect("the authenticator registers");
        registration_json(&c)
    }

    /// `navigator.credentials.get()` from `origin` with the server's options.
    async fn get(&self, origin: &str, options: &Value, rp_id: Option<&str>) -> Value {
        let mut options = options.clone();
        if let Some(rp) = rp_id {
            options["rpId"] = json!(rp);
        }
        let request: CredentialRequestOptions =
            serde_json::from_value(json!({ "publicKey": options })).expect("the server's request options parse");
        let origin = Url::parse(origin).expect("origin");
        let mut client = Client::new(self.authenticator()).allows_insecure_localhost(true);
        let c = client.authenticate(&origin, request, DefaultClientData).await.expect("the authenticator signs");
        assertion_json(&c)
    }

    fn set_counter(&self, counter: u32) {
        let mut p = self.store.get().expect("a passkey");
        p.counter = Some(counter);
        self.store.set(Some(p));
    }
}

fn registration_json(c: &CreatedPublicKeyCredential) -> Value {
    json!({
        "id": b64(&c.raw_id),
        "rawId": b64(&c.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&c.response.client_data_json),
            "authenticatorData": b64(&c.response.authenticator_data),
            "attestationObject": b64(&c.response.attestation_object),
            "publicKey": c.response.public_key.as_ref().map(|k| b64(k)),
            "publicKeyAlgorithm": c.response.public_key_algorithm,
            "transports": c.response.transports,
        },
        "authenticatorAttachment": c.authenticator_attachment,
        "clientExtensionResults": {},
    })
}

fn assertion_json(c: &AuthenticatedPublicKeyCredential) -> Value {
    json!({
        "id": b64(&c.raw_id),
        "rawId": b64(&c.raw_id),
        "type": "public-key",
        "response": {
            "clientDataJSON": b64(&c.response.client_data_json),
            "authenticatorData": b64(&c.response.authenticator_data),
            "signature": b64(&c.response.signature),
            "userHandle": c.response.user_handle.as_ref().map(|h| b64(h)),
        },
        "authenticatorAttachment": c.authenticator_attachment,
        "clientExtensionResults": {},
    })
}

// ---- calls ---------------------------------------------------------------------------

const REG_START: &str = "/v1/auth/passkeys/registration/start";
const REG_FINISH: &str = "/v1/auth/passkeys/registration/finish";
const AUTH_START: &str = "/v1/auth/passkeys/authentication/start";
const AUTH_FINISH: &str = "/v1/auth/passkeys/authentication/finish";

/// A project's publishable key (its frontend) and test secret key (its backend).
struct Project {
    pk: String,
    sk: String,
}

async fn project(srv: &Server, owner: &str) -> Project {
    let (cs, tid, sk) = srv.project(owner, "b2b").await;
    let pk = srv.publishable_key(&cs, &tid).await;
    Project { pk, sk }
}

/// A new user of the project, signed in: (user id, access token).
async fn signed_in(srv: &Server, p: &Project, email: &str) -> (String, String) {
    let user = srv.user(&p.sk, email).await;
    let a = srv.sign_in(&p.sk, &p.pk, &user).await;
    (user, a["access_token"].as_str().expect("access token").to_string())
}

async fn registration_start(srv: &Server, token: &str) -> (String, Value) {
    let (s, v) = srv.call(Method::POST, REG_START, Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (v["ceremony_id"].as_str().expect("ceremony id").to_string(), v["options"].clone())
}

async fn registration_finish(srv: &Server, token: &str, ceremony: &str, credential: Value) -> (StatusCode, Value) {
    srv.post(REG_FINISH, token, json!({ "ceremony_id": ceremony, "credential": credential })).await
}

async fn authentication_start(srv: &Server, pk: &str) -> (String, Value) {
    let (s, v) = srv.front(AUTH_START, pk, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (v["ceremony_id"].as_str().expect("ceremony id").to_string(), v["options"].clone())
}

async fn authentication_finish(srv: &Server, pk: &str, ceremony: &str, credential: &Value) -> (StatusCode, Value) {
    srv.front(AUTH_FINISH, pk, json!({ "ceremony_id": ceremony, "credential": credential })).await
}

/// Register a new passkey on `device` for the signed-in user; returns the passkey.
async fn register(srv: &Server, token: &str, device: &Device) -> Value {
    let (ceremony, options) = registration_start(srv, token).await;
    let credential = device.create(ORIGIN, &options, None).await;
    let (s, v) = registration_finish(srv, token, &ceremony, credential).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

/// A fresh assertion from `device` for a new ceremony: (ceremony id, credential).
async fn assertion(srv: &Server, pk: &str, device: &Device) -> (String, Value) {
    let (ceremony, options) = authentication_start(srv, pk).await;
    (ceremony.clone(), device.get(ORIGIN, &options, None).await)
}

/// Sign in with `device`: the session answer.
async fn sign_in(srv: &Server, pk: &str, device: &Device) -> Value {
    let (ceremony, credential) = assertion(srv, pk, device).await;
    let (s, v) = authentication_finish(srv, pk, &ceremony, &credential).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn refused(got: (StatusCode, Value), want: (StatusCode, &str), what: &str) {
    assert_eq!((got.0, code(&got.1)), want, "{what}: {}", got.1);
}

const UNAUTHORIZED_CEREMONY: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "invalid_ceremony");
const UNAUTHORIZED_PASSKEY: (StatusCode, &str) = (StatusCode::UNAUTHORIZED, "passkey_invalid");

// ---- scenarios -----------------------------------------------------------------------

async fn register_then_sign_in_with_a_discoverable_credential(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let (alice, token) = signed_in(&srv, &p, "alice@example.com").await;
    let org = srv.org(&p.sk, "Acme").await;
    srv.membership(&p.sk, &alice, &org, "admin").await;

    let (ceremony, options) = registration_start(&srv, &token).await;
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required", "discoverable credentials");
    assert_eq!(options["excludeCredentials"], json!([]));
    let device = Device::default();
    let credential = device.create(ORIGIN, &options, None).await;
    let (s, passkey) = registration_finish(&srv, &token, &ceremony, credential).await;
    assert_eq!(s, StatusCode::CREATED, "{passkey}");
    let id = passkey["id"].as_str().expect("credential id").to_string();
    let raw = device.store.get().expect("the device keeps the passkey").credential_id;
    assert_eq!(id, b64(&raw), "the passkey's id is its credential id, base64url");
    assert_eq!(passkey["user_id"], alice.as_str());
    assert!(passkey["created_at"].is_string());

    // The event records the credential id and time only; key material stays in its table.
    let events = srv.db.read_stream("user", &alice).await.expect("user stream");
    let registered: Vec<_> = events.iter().filter(|e| e.event_type == "user.passkey_registered").collect();
    assert_eq!(registered.len(), 1);
    let data = registered[0].data.as_object().expect("event data");
    let mut keys: Vec<&str> = data.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, vec!["created_at", "credential_id"]);
    assert_eq!(data["credential_id"], id.as_str());

    // A second registration excludes the first passkey.
    let (_, options) = registration_start(&srv, &token).await;
    assert_eq!(options["excludeCredentials"][0]["id"], id.as_str());

    // Sign in with no user id at all: the discoverable credential names the user.
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["allowCredentials"], json!([]));
    let credential = device.get(ORIGIN, &options, None).await;
    let (s, answer) = authentication_finish(&srv, &p.pk, &ceremony, &credential).await;
    assert_eq!(s, StatusCode::OK, "{answer}");
    assert_eq!(answer["user"]["id"], alice.as_str());
    assert_eq!(answer["user"]["email"], "alice@example.com");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["active_organization"]["id"], org.as_str(), "the only active membership");
    let (s, me) = srv.get("/v1/me", answer["access_token"].as_str().expect("access token")).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["user"]["id"], alice.as_str());
    let method: String = sqlx::query_scalar("SELECT method FROM sessions WHERE id = $1")
        .bind(answer["session_id"].as_str().expect("session id"))
        .fetch_one(&srv.db.pool)
        .await
        .expect("session row");
    assert_eq!(method, "passkey");

    // The counter moved with each use and is kept in the credential table.
    let again = sign_in(&srv, &p.pk, &device).await;
    assert_eq!(again["user"]["id"], alice.as_str());
    let count: i64 = sqlx::query_scalar("SELECT sign_count FROM passkey_credentials WHERE credential_id = $1")
        .bind(&id)
        .fetch_one(&srv.db.pool)
        .await
        .expect("credential row");
    assert_eq!(count, 2);

    // Bad input is a clear 400, never a 500.
    let (s, v) = authentication_finish(&srv, &p.pk, "pkc_nope", &json!({"id": "x"})).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    assert_eq!(v["error"]["details"]["field"], "credential");
    let (s, v) = registration_finish(&srv, &token, "pkc_nope", json!("not an object")).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
}

async fn replays_and_reused_ceremonies_are_refused(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let (_, token) = signed_in(&srv, &p, "alice@example.com").await;
    let device = Device::default();
    register(&srv, &token, &device).await;

    // The same authentication response finished twice: the ceremony was used.
    let (ceremony, credential) = assertion(&srv, &p.pk, &device).await;
    let (s, v) = authentication_finish(&srv, &p.pk, &ceremony, &credential).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_CEREMONY, "replay");

    // An old assertion presented to a new ceremony: its challenge does not match.
    let (fresh, _) = authentication_start(&srv, &p.pk).await;
    refused(
        authentication_finish(&srv, &p.pk, &fresh, &credential).await,
        UNAUTHORIZED_PASSKEY,
        "an old assertion for a new ceremony",
    );
    // A failed finish uses the ceremony up too.
    let (_, options) = authentication_start(&srv, &p.pk).await;
    let good_for_other = device.get(ORIGIN, &options, None).await;
    refused(
        authentication_finish(&srv, &p.pk, &fresh, &good_for_other).await,
        UNAUTHORIZED_CEREMONY,
        "a ceremony that already failed",
    );

    // A reused ceremony id with a new, genuine assertion over the same challenge.
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    let first = device.get(ORIGIN, &options, None).await;
    let (s, v) = authentication_finish(&srv, &p.pk, &ceremony, &first).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = device.get(ORIGIN, &options, None).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &second).await, UNAUTHORIZED_CEREMONY, "reused ceremony id");

    // Registration ceremonies are single-use too.
    let other = Device::default();
    let (ceremony, options) = registration_start(&srv, &token).await;
    let credential = other.create(ORIGIN, &options, None).await;
    let (s, v) = registration_finish(&srv, &token, &ceremony, credential.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    refused(
        registration_finish(&srv, &token, &ceremony, credential).await,
        UNAUTHORIZED_CEREMONY,
        "registration replay",
    );
    let third = Device::default();
    let credential = third.create(ORIGIN, &options, None).await;
    refused(
        registration_finish(&srv, &token, &ceremony, credential).await,
        UNAUTHORIZED_CEREMONY,
        "reused registration ceremony id",
    );

    // Expired ceremonies are refused.
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    let credential = device.get(ORIGIN, &options, None).await;
    sqlx::query("UPDATE passkey_ceremonies SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id = $1")
        .bind(&ceremony)
        .execute(&srv.db.pool)
        .await
        .expect("expire the ceremony");
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_CEREMONY, "expired");
}

async fn a_counter_that_does_not_increase_is_refused(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let (_, token) = signed_in(&srv, &p, "alice@example.com").await;
    let device = Device::default();
    register(&srv, &token, &device).await;
    sign_in(&srv, &p.pk, &device).await;
    sign_in(&srv, &p.pk, &device).await;
    assert_eq!(device.store.get().and_then(|p| p.counter), Some(2));

    // A clone of the key that is behind: its counter goes backwards (1 after 2).
    device.set_counter(0);
    let (ceremony, credential) = assertion(&srv, &p.pk, &device).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "counter back");
    // ... or stands still (2 after 2).
    device.set_counter(1);
    let (ceremony, credential) = assertion(&srv, &p.pk, &device).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "counter equal");
    // The refusals did not lower the stored counter: 3 is accepted.
    let answer = sign_in(&srv, &p.pk, &device).await;
    assert!(answer["access_token"].is_string());
}

async fn wrong_origin_and_unknown_credentials_are_refused(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let (_, token) = signed_in(&srv, &p, "alice@example.com").await;

    // Registration from another origin (another port of the same host).
    let device = Device::default();
    let (ceremony, options) = registration_start(&srv, &token).await;
    let credential = device.create("http://localhost:9999", &options, None).await;
    refused(registration_finish(&srv, &token, &ceremony, credential).await, UNAUTHORIZED_PASSKEY, "wrong origin");

    let device = Device::default();
    register(&srv, &token, &device).await;
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    let credential = device.get("http://localhost:9999", &options, None).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "wrong origin");

    // A credential the server never registered: created for a ceremony never finished.
    let stranger = Device::default();
    let (_, options) = registration_start(&srv, &token).await;
    stranger.create(ORIGIN, &options, None).await;
    let (ceremony, credential) = assertion(&srv, &p.pk, &stranger).await;
    refused(
        authentication_finish(&srv, &p.pk, &ceremony, &credential).await,
        UNAUTHORIZED_PASSKEY,
        "unknown credential",
    );

    // A genuine assertion whose signature was tampered with.
    let (ceremony, mut credential) = assertion(&srv, &p.pk, &device).await;
    let mut signature =
        URL_SAFE_NO_PAD.decode(credential["response"]["signature"].as_str().expect("signature")).expect("base64url");
    let last = signature.len() - 1;
    signature[last] ^= 1;
    credential["response"]["signature"] = json!(b64(&signature));
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "bad signature");

    // After all that the genuine device still signs in.
    sign_in(&srv, &p.pk, &device).await;
}

async fn a_wrong_rp_id_is_refused(postgres: bool) {
    let url = common::database_url(postgres).await;
    let srv = Server::start_with(&url, |c| {
        c.webauthn_rp_id = "example.com".into();
        c.webauthn_origin = "https://example.com,https://login.example.com".into();
    })
    .await;
    let p = project(&srv, "owner@example.com").await;
    let (_, token) = signed_in(&srv, &p, "alice@example.com").await;

    // An allowed origin, but the authenticator scoped the credential to another RP id.
    let device = Device::default();
    let (ceremony, options) = registration_start(&srv, &token).await;
    assert_eq!(options["rp"]["id"], "example.com");
    let credential = device.create("https://login.example.com", &options, Some("login.example.com")).await;
    refused(registration_finish(&srv, &token, &ceremony, credential).await, UNAUTHORIZED_PASSKEY, "wrong RP id");

    let device = Device::default();
    let (ceremony, options) = registration_start(&srv, &token).await;
    let credential = device.create("https://example.com", &options, None).await;
    let (s, v) = registration_finish(&srv, &token, &ceremony, credential).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    let credential = device.get("https://login.example.com", &options, Some("login.example.com")).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "wrong RP id");
    // The second allowed origin with the right RP id works.
    let (ceremony, options) = authentication_start(&srv, &p.pk).await;
    let credential = device.get("https://login.example.com", &options, None).await;
    let (s, v) = authentication_finish(&srv, &p.pk, &ceremony, &credential).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Replace every occurrence of `from` in the base64url field at `path` with `to`.
fn swap_bytes(v: &mut Value, path: &[&str], from: &[u8], to: &[u8]) {
    let mut field = &mut *v;
    for p in path {
        field = &mut field[*p];
    }
    let mut bytes = URL_SAFE_NO_PAD.decode(field.as_str().expect("base64url field")).expect("base64url");
    let at = bytes.windows(from.len()).position(|w| w == from).expect("the credential id is in the field");
    bytes[at..at + from.len()].copy_from_slice(to);
    *field = json!(b64(&bytes));
}

async fn a_credential_id_belongs_to_one_user(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let (_, alice_token) = signed_in(&srv, &p, "alice@example.com").await;
    let (bob, bob_token) = signed_in(&srv, &p, "bob@example.com").await;
    let device = Device::default();
    let passkey = register(&srv, &alice_token, &device).await;
    let alice_id = device.store.get().expect("passkey").credential_id.to_vec();

    // Bob's client claims Alice's credential id ("none" attestation is not signed, so a
    // client can say anything here; the server must refuse the second owner).
    for (token, who) in [(&bob_token, "another user"), (&alice_token, "the same user")] {
        let forged = Device::default();
        let (ceremony, options) = registration_start(&srv, token).await;
        let mut credential = forged.create(ORIGIN, &options, None).await;
        let own = forged.store.get().expect("passkey").credential_id.to_vec();
        assert_eq!(own.len(), alice_id.len());
        swap_bytes(&mut credential, &["response", "attestationObject"], &own, &alice_id);
        swap_bytes(&mut credential, &["response", "authenticatorData"], &own, &alice_id);
        credential["id"] = json!(b64(&alice_id));
        credential["rawId"] = json!(b64(&alice_id));
        let got = registration_finish(&srv, token, &ceremony, credential).await;
        refused(got, (StatusCode::CONFLICT, "passkey_exists"), who);
    }
    let owner: String = sqlx::query_scalar("SELECT user_id FROM passkey_credentials WHERE credential_id = $1")
        .bind(passkey["id"].as_str().expect("id"))
        .fetch_one(&srv.db.pool)
        .await
        .expect("credential row");
    assert_ne!(owner, bob);
    let events = srv.db.read_stream("user", &bob).await.expect("bob's stream");
    assert!(events.iter().all(|e| e.event_type != "user.passkey_registered"), "nothing recorded for Bob");
    // Alice's passkey still signs Alice in.
    let answer = sign_in(&srv, &p.pk, &device).await;
    assert_eq!(answer["user"]["email"], "alice@example.com");
}

async fn callers_users_and_projects_are_checked(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let other = project(&srv, "stranger@example.com").await;
    let (_, alice_token) = signed_in(&srv, &p, "alice@example.com").await;
    let (_, bob_token) = signed_in(&srv, &p, "bob@example.com").await;
    let (_, carol_token) = signed_in(&srv, &other, "carol@example.com").await;

    // No access JWT on registration; a publishable key is no substitute.
    let (s, v) = srv.call(Method::POST, REG_START, None, None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = srv.front(REG_START, &p.pk, json!({})).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = srv.call(Method::POST, REG_START, Some(&p.sk), None).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"), "a secret key is not a user");
    let (ceremony, options) = registration_start(&srv, &alice_token).await;
    let device = Device::default();
    let credential = device.create(ORIGIN, &options, None).await;
    let (s, v) = srv
        .call(Method::POST, REG_FINISH, None, Some(json!({"ceremony_id": ceremony, "credential": credential})))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    // Another user (same project) or another project's user cannot finish Alice's ceremony.
    refused(
        registration_finish(&srv, &bob_token, &ceremony, credential.clone()).await,
        UNAUTHORIZED_CEREMONY,
        "another user's registration ceremony",
    );
    refused(
        registration_finish(&srv, &carol_token, &ceremony, credential.clone()).await,
        UNAUTHORIZED_CEREMONY,
        "another project's registration ceremony",
    );
    // Those refusals did not use Alice's ceremony up.
    let (s, v) = registration_finish(&srv, &alice_token, &ceremony, credential).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // No publishable key on authentication; an access token is no substitute.
    let (s, v) = srv.call(Method::POST, AUTH_START, None, Some(json!({}))).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = srv.call(Method::POST, AUTH_START, Some(&alice_token), Some(json!({}))).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (s, v) = srv.front(AUTH_START, "pk_test_unknown", json!({})).await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let (ceremony, credential) = assertion(&srv, &p.pk, &device).await;
    let (s, v) = srv
        .call(Method::POST, AUTH_FINISH, None, Some(json!({"ceremony_id": ceremony, "credential": credential})))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    // A ceremony of another project is refused (and not used up by the attempt).
    refused(
        authentication_finish(&srv, &other.pk, &ceremony, &credential).await,
        UNAUTHORIZED_CEREMONY,
        "another project's ceremony",
    );
    // A passkey of this project does not sign in to another project.
    let (theirs, credential_there) = assertion(&srv, &other.pk, &device).await;
    refused(
        authentication_finish(&srv, &other.pk, &theirs, &credential_there).await,
        UNAUTHORIZED_PASSKEY,
        "this project's passkey in another project",
    );
    let (s, v) = authentication_finish(&srv, &p.pk, &ceremony, &credential).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A registration ceremony is not an authentication ceremony.
    let (registration, _) = registration_start(&srv, &alice_token).await;
    let (_, options) = authentication_start(&srv, &p.pk).await;
    let credential = device.get(ORIGIN, &options, None).await;
    refused(
        authentication_finish(&srv, &p.pk, &registration, &credential).await,
        UNAUTHORIZED_CEREMONY,
        "a registration ceremony used for sign-in",
    );

    // A deleted user's passkey signs no one in.
    let dave = srv.user(&p.sk, "dave@example.com").await;
    let dave_token = srv.sign_in(&p.sk, &p.pk, &dave).await["access_token"].as_str().expect("token").to_string();
    let daves = Device::default();
    register(&srv, &dave_token, &daves).await;
    let (s, _) = srv.delete(&format!("/v1/users/{dave}"), &p.sk).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (ceremony, credential) = assertion(&srv, &p.pk, &daves).await;
    refused(authentication_finish(&srv, &p.pk, &ceremony, &credential).await, UNAUTHORIZED_PASSKEY, "deleted user");
}

macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(false).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(true).await;
                }
            )+
        }
    };
}

on_both_databases!(
    register_then_sign_in_with_a_discoverable_credential,
    replays_and_reused_ceremonies_are_refused,
    a_counter_that_does_not_increase_is_refused,
    wrong_origin_and_unknown_credentials_are_refused,
    a_wrong_rp_id_is_refused,
    a_credential_id_belongs_to_one_user,
    callers_users_and_projects_are_checked,
);

// ---- organization policies and step-up (issue 18, part 3) --------------------------

async fn switch(srv: &Server, token: &str, org: &str) -> (StatusCode, Value) {
    srv.post("/v1/sessions/switch-org", token, json!({"organization_id": org})).await
}

/// Step up in the session of `token` with `device`: the ceremony is started and finished
/// with the access token.
async fn step_up(srv: &Server, token: &str, device: &Device) -> (StatusCode, Value) {
    let (s, start) = srv.call(Method::POST, "/v1/sessions/step-up/passkey/start", Some(token), None).await;
    assert_eq!(s, StatusCode::OK, "{start}");
    let credential = device.get(ORIGIN, &start["options"], None).await;
    let body = json!({"ceremony_id": start["ceremony_id"], "credential": credential});
    srv.post("/v1/sessions/step-up/passkey/finish", token, body).await
}

async fn policies_and_step_up(postgres: bool) {
    let srv = Server::start(postgres).await;
    let p = project(&srv, "owner@example.com").await;
    let acme = srv.org(&p.sk, "Acme").await;
    let vault = srv.org(&p.sk, "Vault").await;
    let ada = srv.user(&p.sk, "ada@example.com").await;
    let bob = srv.user(&p.sk, "bob@example.com").await;
    srv.membership(&p.sk, &ada, &acme, "member").await;
    srv.membership(&p.sk, &ada, &vault, "member").await;
    srv.membership(&p.sk, &bob, &acme, "admin").await;
    let policy = |org: &str| format!("/v1/organizations/{org}/policy");

    // Vault requires a passkey and a session at most an hour old.
    let (s, v) =
        srv.call(Method::PUT, &policy(&vault), Some(&p.sk), Some(json!({"allowed_methods": ["password"]}))).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "invalid_request"), "{v}");
    let strict = json!({"require_passkey": true, "max_session_age_seconds": 3600});
    let (s, v) = srv.call(Method::PUT, &policy(&vault), Some(&p.sk), Some(strict)).await;
    assert_eq!((s, &v["require_passkey"]), (StatusCode::OK, &json!(true)), "{v}");
    let (_, v) = srv.get(&policy(&vault), &p.sk).await;
    assert_eq!(v["max_session_age_seconds"], 3600, "{v}");

    // Ada signed in without a passkey: Acme yes, Vault asks for a step-up.
    let session = srv.sign_in(&p.sk, &p.pk, &ada).await;
    let token = session["access_token"].as_str().unwrap().to_string();
    let (s, in_acme) = switch(&srv, &token, &acme).await;
    assert_eq!(s, StatusCode::OK, "{in_acme}");
    let (s, e) = switch(&srv, &token, &vault).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "step_up_required"), "{e}");
    assert_eq!(e["error"]["details"]["require_passkey"], true, "{e}");
    assert_eq!(e["error"]["details"]["organization_id"], json!(vault), "{e}");
    // A stranger to Vault learns nothing of its policy.
    let bob_token = srv.sign_in(&p.sk, &p.pk, &bob).await["access_token"].as_str().unwrap().to_string();
    let (s, e) = switch(&srv, &bob_token, &vault).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "not_a_member"), "{e}");

    // She registers a passkey, steps up in this session, and the switch goes through;
    // her Acme context was never touched.
    let device = Device::default();
    register(&srv, &token, &device).await;
    let other = Device::default();
    register(&srv, &bob_token, &other).await;
    let (s, e) = step_up(&srv, &token, &other).await;
    assert_eq!((s, code(&e)), UNAUTHORIZED_PASSKEY, "another user's passkey: {e}");
    let (s, up) = step_up(&srv, &token, &device).await;
    assert_eq!((s, &up["method"]), (StatusCode::OK, &json!("passkey")), "{up}");
    assert_eq!(up["session_id"], session["session_id"], "{up}");
    let (s, in_vault) = switch(&srv, &token, &vault).await;
    assert_eq!(s, StatusCode::OK, "{in_vault}");
    assert_eq!(in_vault["session_id"], session["session_id"], "same session");
    let (s, again) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": in_acme["refresh_token"]})))
        .await;
    assert_eq!((s, &again["active_organization"]["id"]), (StatusCode::OK, &json!(acme)), "{again}");

    // A policy change holds from the next refresh: Acme now takes magic links only.
    let (s, _) =
        srv.call(Method::PUT, &policy(&acme), Some(&p.sk), Some(json!({"allowed_methods": ["magic_link"]}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, e) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": again["refresh_token"]})))
        .await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "step_up_required"), "{e}");
    // Vault's context refreshes on.
    let (s, v) = srv
        .call(Method::POST, "/v1/sessions/refresh", None, Some(json!({"refresh_token": in_vault["refresh_token"]})))
        .await;
    assert_eq!((s, &v["active_organization"]["id"]), (StatusCode::OK, &json!(vault)), "{v}");

    // Signed in with the passkey itself, Vault needs no step-up; a new sign-in without
    // one does not open in Vault.
    let by_passkey = sign_in(&srv, &p.pk, &device).await;
    let (s, v) = switch(&srv, by_passkey["access_token"].as_str().unwrap(), &vault).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sqlx::query("UPDATE users SET last_organization_id = $1 WHERE id = $2")
        .bind(&vault)
        .bind(&ada)
        .execute(&srv.db.pool)
        .await
        .unwrap();
    let plain = srv.sign_in(&p.sk, &p.pk, &ada).await;
    assert!(plain["active_organization"].is_null(), "{plain}");

    // The policy is the organization's admins' to manage: Bob (Acme's admin) may, a
    // member may not, nobody else sees Vault's. (Acme's policy cleared first: any method.)
    let (s, v) = srv.call(Method::PUT, &policy(&acme), Some(&p.sk), Some(json!({}))).await;
    assert_eq!((s, &v["allowed_methods"]), (StatusCode::OK, &Value::Null), "{v}");
    let bob_acme = switch(&srv, &bob_token, &acme).await.1["access_token"].as_str().unwrap().to_string();
    let (s, v) = srv.get(&policy(&acme), &bob_acme).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, e) = srv.get(&policy(&vault), &bob_acme).await;
    assert_eq!((s, code(&e)), (StatusCode::NOT_FOUND, "not_found"), "{e}");
    let (s, _) = srv.call(Method::GET, &policy(&acme), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let events: Vec<String> = sqlx::query_scalar("SELECT event_type FROM events ORDER BY position")
        .fetch_all(&srv.db.pool)
        .await
        .unwrap_or_default();
    assert!(events.iter().any(|e| e == "organization.policy_changed"), "{events:?}");
    assert!(events.iter().any(|e| e == "session.stepped_up"), "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_and_step_up_postgres() {
    policies_and_step_up(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_and_step_up_sqlite() {
    policies_and_step_up(false).await;
}
