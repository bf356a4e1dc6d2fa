//! Access tokens: JWTs signed with keys kept outside the event stream (table
//! `signing_keys`), published at `/.well-known/jwks.json`. Each project chooses its
//! algorithm (`EdDSA`, the default, or `ES256` for verifiers without Ed25519); the
//! newest key of that algorithm signs, and every key that is not retired verifies, so a
//! rotation never breaks tokens in flight.
use crate::crypto::new_id;
use authio_domain::tenant::TokenAlgorithm;
use authio_eventstore::{time_text, Db};
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Access tokens live five minutes.
pub const ACCESS_TTL_SECS: u64 = 300;

/// `c` when it names a project, a user and a session, as an access token's claims do.
fn access_claims(c: Claims) -> Option<Claims> {
    (c.aud.starts_with("proj_") && c.sub.starts_with("user_") && c.sid.starts_with("sess_")).then_some(c)
}

/// The longest access token `verify` reads.
const ACCESS_MAX_LEN: usize = 4096;

/// The `typ` of an authorization request the provider signs for the hosted pages.
pub const REQUEST_TYP: &str = "oauth-authz-req+jwt";

/// How often keys are re-read from the database to pick up a rotation.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// The claims of an access token. Strictly typed: a string `exp` or a missing `aud`
/// fails to decode, and the token is refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub sid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act_org: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_role: Option<String>,
    /// The permissions of `org_role`, sorted (with `act_org`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
    /// The slugs of the user's teams in `act_org`, sorted, when the project puts them in
    /// tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    pub iat: u64,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub jti: String,
    /// The OAuth client a token of the OpenID Connect provider was issued to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Its granted scopes, space-separated (with `client_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    /// The public key as a JWK (without `kid` and `use`).
    public: Value,
    signer: Signer,
    decoding: DecodingKey,
}

/// The private key, parsed once when the keys are read (jsonwebtoken's `encode` parses
/// its PKCS#8 on every call, which for Ed25519 derives the public key again: a third of
/// a signature's cost).
enum Signer {
    Ed25519(Ed25519KeyPair),
    P256(EcdsaKeyPair),
}

impl SigningKey {
    /// A JWS compact serialization of `claims` under `header`, as `jsonwebtoken::encode`
    /// makes it: base64url (no padding) of the header's and the claims' JSON, joined by
    /// a dot, then a dot and the base64url of the signature over those two (Ed25519; for
    /// ES256 the fixed 64-byte `r ‖ s`, RFC 7518 §3.4).
    fn encode(&self, header: &Header, claims: &impl Serialize) -> Result<String, KeyError> {
        let mut out = String::new();
        b64_json(header, &mut out)?;
        out.push('.');
        b64_json(claims, &mut out)?;
        let signature = match &self.signer {
            Signer::Ed25519(k) => k.sign(out.as_bytes()).as_ref().to_vec(),
            Signer::P256(k) => k
                .sign(&aws_lc_rs::rand::SystemRandom::new(), out.as_bytes())
                .map_err(|e| KeyError::Material(e.to_string()))?
                .as_ref()
                .to_vec(),
        };
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }
}

/// Append the base64url (no padding) of `v`'s JSON to `out`.
fn b64_json(v: &impl Serialize, out: &mut String) -> Result<(), KeyError> {
    let json = serde_json::to_vec(v).map_err(|e| KeyError::Material(e.to_string()))?;
    URL_SAFE_NO_PAD.encode_string(json, out);
    Ok(())
}

/// What an access token of the OpenID Connect provider names besides its session: the
/// client it was issued to and the scopes granted (space-separated).
#[derive(Debug, Clone)]
pub struct ClientClaims {
    pub client_id: String,
    pub scope: String,
}

/// What an org context's access token says of the organization.
#[derive(Debug, Clone)]
pub struct OrgClaims {
    pub id: String,
    pub role: String,
    /// Sorted.
    pub permissions: Vec<String>,
    /// Sorted; `None` when the project keeps teams out of tokens.
    pub teams: Option<Vec<String>>,
}

#[derive(Clone)]
pub struct Keys {
    db: Db,
    pub issuer: String,
    keys: Arc<RwLock<Vec<Arc<SigningKey>>>>,
    last_reload: Arc<RwLock<Instant>>,
    /// Each project's algorithm as last read, and when (re-read after `RELOAD_EVERY`).
    algorithms: Arc<RwLock<HashMap<String, (TokenAlgorithm, Instant)>>>,
    issued: Arc<Issued>,
}

/// How many access tokens one generation of `Issued` holds (two are kept).
const ISSUED_GENERATION: usize = 8192;

/// The access tokens this process signed lately, by the SHA-256 of their text, with
/// their claims and the key that signed them. A client presents its token again within
/// seconds (the next request, the next switch): a token found here is, byte for byte,
/// one this process signed, so its signature is not checked again (verifying it, with
/// the base64 and JSON around it, took a quarter of a switch-org's server CPU: see
/// BENCHMARKS.md; ES256 costs more). Everything else
/// `verify` asks is still asked: the key not retired, the expiry. Two generations, the
/// older dropped when the newer fills: at most 2 × `ISSUED_GENERATION` entries (a few
/// hundred bytes each). A token signed by another process, or forgotten here, is
/// verified as before.
#[derive(Default)]
struct Issued {
    generations: std::sync::Mutex<[Generation; 2]>,
}

/// Tokens by their SHA-256: their claims, and the `kid` of the key that signed them.
type Generation = HashMap<[u8; 32], Arc<(Claims, String)>>;

impl Issued {
    fn digest(token: &str) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(token.as_bytes()).into()
    }

    fn remember(&self, token: &str, claims: &Claims, kid: &str) {
        let entry = Arc::new((claims.clone(), kid.to_string()));
        let Ok(mut g) = self.generations.lock() else { return };
        if g[0].len() >= ISSUED_GENERATION {
            g[1] = std::mem::take(&mut g[0]);
        }
        g[0].insert(Self::digest(token), entry);
    }

    fn recall(&self, token: &str) -> Option<Arc<(Claims, String)>> {
        let key = Self::digest(token);
        let g = self.generations.lock().ok()?;
        g[0].get(&key).or_else(|| g[1].get(&key)).cloned()
    }
}

fn jwt_algorithm(a: TokenAlgorithm) -> Algorithm {
    match a {
        TokenAlgorithm::EdDSA => Algorithm::EdDSA,
        TokenAlgorithm::ES256 => Algorithm::ES256,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("key material: {0}")]
    Material(String),
}

/// A new key pair: the PKCS#8 private key (base64) and the public point's coordinates
/// (base64url: `x`, and `y` for P-256).
fn generate(algorithm: TokenAlgorithm) -> Result<(String, String, Option<String>), KeyError> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let material = |e: aws_lc_rs::error::Unspecified| KeyError::Material(e.to_string());
    match algorithm {
        TokenAlgorithm::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(material)?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| KeyError::Material(e.to_string()))?;
            let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
            Ok((STANDARD.encode(pkcs8.as_ref()), x, None))
        }
        TokenAlgorithm::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(material)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|e| KeyError::Material(e.to_string()))?;
            // The uncompressed point: 0x04, then x and y, 32 bytes each.
            let point = pair.public_key().as_ref();
            if point.len() != 65 || point[0] != 4 {
                return Err(KeyError::Material("unexpected P-256 public key encoding".into()));
            }
            let (x, y) = (URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..65]));
            Ok((STANDARD.encode(pkcs8.as_ref()), x, Some(y)))
        }
    }
}

/// Add a new EdDSA signing key (it signs from now on; older keys keep verifying).
pub async fn rotate(db: &Db) -> Result<String, KeyError> {
    rotate_algorithm(db, TokenAlgorithm::EdDSA).await
}

/// Add a new signing key of `algorithm`: it signs that algorithm's tokens from now on.
pub async fn rotate_algorithm(db: &Db, algorithm: TokenAlgorithm) -> Result<String, KeyError> {
    let (private, x, y) = generate(algorithm)?;
    let kid = new_id("kid_");
    sqlx::query(
        "INSERT INTO signing_keys (kid, algorithm, private_key, public_x, public_y, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&kid)
    .bind(algorithm.as_str())
    .bind(private)
    .bind(x)
    .bind(y)
    .bind(time_text(chrono::Utc::now()))
    .execute(&db.pool)
    .await?;
    Ok(kid)
}

/// A signing key as `authio keys list` shows it.
pub struct KeyInfo {
    pub kid: String,
    pub algorithm: String,
    pub created_at: String,
    pub retired_at: Option<String>,
}

/// Every signing key, oldest first; the newest not retired is the one that signs.
pub async fn list(db: &Db) -> Result<Vec<KeyInfo>, KeyError> {
    let rows = sqlx::query("SELECT kid, algorithm, created_at, retired_at FROM signing_keys ORDER BY created_at, kid")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(KeyInfo {
                kid: r.try_get(0)?,
                algorithm: r.try_get(1)?,
                created_at: r.try_get(2)?,
                retired_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// Retire `kid`: it stops signing, verifying and appearing in the JWKS (servers notice
/// within `RELOAD_EVERY`), so every token it signed is refused from then on. The last
/// key that is not retired cannot be: rotate first.
pub async fn retire(db: &Db, kid: &str) -> Result<(), KeyError> {
    let keys = list(db).await?;
    let live = |alg: &str| keys.iter().filter(|k| k.retired_at.is_none() && k.algorithm == alg).count();
    match keys.iter().find(|k| k.kid == kid) {
        None => return Err(KeyError::Material(format!("no signing key {kid}"))),
        Some(k) if k.retired_at.is_some() => return Err(KeyError::Material(format!("{kid} is retired already"))),
        Some(k) if live(&k.algorithm) == 1 => {
            return Err(KeyError::Material(format!(
                "{kid} is the only {} key left; `authio keys rotate --algorithm {}` first",
                k.algorithm, k.algorithm
            )))
        }
        Some(_) => {}
    }
    sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE kid = $1 AND retired_at IS NULL")
        .bind(kid)
        .bind(time_text(chrono::Utc::now()))
        .execute(&db.pool)
        .await?;
    Ok(())
}

impl Keys {
    /// Load the keys, creating the first one when there is none.
    pub async fn load(db: Db, issuer: String) -> Result<Keys, KeyError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM signing_keys WHERE retired_at IS NULL AND algorithm = 'EdDSA'")
                .fetch_one(&db.pool)
                .await?;
        if count == 0 {
            rotate(&db).await?;
        }
        let keys = Keys {
            db,
            issuer,
            keys: Arc::new(RwLock::new(Vec::new())),
            last_reload: Arc::new(RwLock::new(Instant::now())),
            algorithms: Arc::default(),
            issued: Arc::default(),
        };
        keys.reload().await?;
        Ok(keys)
    }

    async fn reload(&self) -> Result<(), KeyError> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, private_key, public_x, public_y FROM signing_keys WHERE retired_at IS NULL \
             ORDER BY created_at, kid",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let kid: String = r.try_get(0)?;
            let algorithm: String = r.try_get(1)?;
            let private: String = r.try_get(2)?;
            let x: String = r.try_get(3)?;
            let y: Option<String> = r.try_get(4)?;
            // A key read before is the same key (a kid is never reused).
            if let Some(known) = self.find(&kid) {
                out.push(known);
                continue;
            }
            let der = STANDARD.decode(private).map_err(|e| KeyError::Material(e.to_string()))?;
            let material = |e: jsonwebtoken::errors::Error| KeyError::Material(e.to_string());
            let unparsed = |e: aws_lc_rs::error::KeyRejected| KeyError::Material(format!("signing key {kid}: {e}"));
            let key = match (TokenAlgorithm::parse(&algorithm), y) {
                (Some(TokenAlgorithm::EdDSA), _) => SigningKey {
                    algorithm: Algorithm::EdDSA,
                    public: json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "x": x}),
                    decoding: DecodingKey::from_ed_components(&x).map_err(material)?,
                    signer: Signer::Ed25519(Ed25519KeyPair::from_pkcs8(&der).map_err(unparsed)?),
                    kid,
                },
                (Some(TokenAlgorithm::ES256), Some(y)) => SigningKey {
                    algorithm: Algorithm::ES256,
                    public: json!({"kty": "EC", "crv": "P-256", "alg": "ES256", "x": x, "y": y}),
                    decoding: DecodingKey::from_ec_components(&x, &y).map_err(material)?,
                    signer: Signer::P256(
                        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).map_err(unparsed)?,
                    ),
                    kid,
                },
                _ => return Err(KeyError::Material(format!("signing key {kid}: unknown algorithm {algorithm}"))),
            };
            out.push(Arc::new(key));
        }
        if let Ok(mut k) = self.keys.write() {
            *k = out;
        }
        if let Ok(mut t) = self.last_reload.write() {
            *t = Instant::now();
        }
        Ok(())
    }

    /// The newest key of `algorithm`: the one that signs.
    fn current(&self, algorithm: Algorithm) -> Option<Arc<SigningKey>> {
        self.keys.read().ok().and_then(|k| k.iter().rev().find(|s| s.algorithm == algorithm).cloned())
    }

    /// Forget what this process read of `project`'s algorithm (it just changed it);
    /// other processes read it again within `RELOAD_EVERY`.
    pub fn forget_algorithm(&self, project: &str) {
        if let Ok(mut m) = self.algorithms.write() {
            m.remove(project);
        }
    }

    /// The algorithm of `project`'s tokens, read at most every `RELOAD_EVERY`.
    async fn algorithm_of(&self, project: &str) -> Result<TokenAlgorithm, KeyError> {
        if let Some((a, at)) = self.algorithms.read().ok().and_then(|m| m.get(project).copied()) {
            if at.elapsed() < RELOAD_EVERY {
                return Ok(a);
            }
        }
        let name: Option<String> = sqlx::query_scalar("SELECT token_algorithm FROM tenants WHERE id = $1")
            .bind(project)
            .fetch_optional(&self.db.pool)
            .await?;
        let a = name.as_deref().and_then(TokenAlgorithm::parse).unwrap_or_default();
        if let Ok(mut m) = self.algorithms.write() {
            m.insert(project.to_string(), (a, Instant::now()));
        }
        Ok(a)
    }

    /// The key that signs `algorithm`'s tokens; the first one of an algorithm is made on
    /// first use.
    async fn signer(&self, algorithm: TokenAlgorithm) -> Result<Arc<SigningKey>, KeyError> {
        let alg = jwt_algorithm(algorithm);
        if let Some(k) = self.current(alg) {
            return Ok(k);
        }
        self.reload().await?;
        if let Some(k) = self.current(alg) {
            return Ok(k);
        }
        rotate_algorithm(&self.db, algorithm).await?;
        self.reload().await?;
        self.current(alg).ok_or_else(|| KeyError::Material(format!("no {} signing key", algorithm.as_str())))
    }

    fn find(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.keys.read().ok().and_then(|k| k.iter().find(|s| s.kid == kid).cloned())
    }

    /// Keys may be added by another process (`authio keys rotate`): look again at most
    /// every `RELOAD_EVERY`.
    /// The first caller that finds the keys stale claims the reload (moves the time on
    /// before reading), so concurrent requests do not all read the table at once.
    async fn maybe_reload(&self) -> bool {
        let claimed = match self.last_reload.write() {
            Ok(mut t) if t.elapsed() > RELOAD_EVERY => {
                *t = Instant::now();
                true
            }
            Ok(_) => false,
            Err(_) => true,
        };
        claimed && self.reload().await.is_ok()
    }

    /// The key `kid`, as of a load at most `RELOAD_EVERY` old (a key retired by another
    /// process stops verifying within that).
    async fn find_or_reload(&self, kid: &str) -> Option<Arc<SigningKey>> {
        self.maybe_reload().await;
        self.find(kid)
    }

    /// Sign an access token; returns it and its claims.
    pub async fn issue(
        &self,
        project: &str,
        user: &str,
        session: &str,
        org: Option<OrgClaims>,
        client: Option<&ClientClaims>,
    ) -> Result<(String, Claims), KeyError> {
        self.maybe_reload().await;
        let key = self.signer(self.algorithm_of(project).await?).await?;
        let now = jsonwebtoken::get_current_timestamp();
        let (act_org, org_role, permissions, teams) = match org {
            Some(o) => (Some(o.id), Some(o.role), Some(o.permissions), o.teams),
            None => (None, None, None, None),
        };
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: project.to_string(),
            sub: user.to_string(),
            sid: session.to_string(),
            act_org,
            org_role,
            permissions,
            teams,
            iat: now,
            exp: now + ACCESS_TTL_SECS,
            nbf: None,
            jti: new_id("jti_"),
            client_id: client.map(|c| c.client_id.clone()),
            scope: client.map(|c| c.scope.clone()),
        };
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        header.typ = Some("JWT".into());
        let token = key.encode(&header, &claims)?;
        self.issued.remember(&token, &claims, &key.kid);
        Ok((token, claims))
    }

    /// Sign `claims` as a JWT whose header says `typ`, with the key of `project`'s
    /// algorithm (id tokens, `JWT`; authorization requests, `REQUEST_TYP`).
    pub async fn sign(&self, project: &str, typ: &str, claims: &Value) -> Result<String, KeyError> {
        self.maybe_reload().await;
        let key = self.signer(self.algorithm_of(project).await?).await?;
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        header.typ = Some(typ.into());
        key.encode(&header, claims)
    }

    /// The claims of a JWT of ours whose header says `typ`: one of our keys signed it
    /// (the algorithm the key's), `iss` is ours, `aud` is `audience`, and, when
    /// `check_exp`, it has not expired (no leeway). Anything else is `None`.
    pub async fn verify_signed(&self, token: &str, typ: &str, audience: &str, check_exp: bool) -> Option<Value> {
        let (key, mut v) = self.validation_for(token, 8192, |t| t == Some(typ)).await?;
        v.validate_exp = check_exp;
        v.set_audience(&[audience]);
        jsonwebtoken::decode::<Value>(token, &key.decoding, &v).ok().map(|d| d.claims)
    }

    /// The key a JWT of at most `max_len` characters names (one of ours, the algorithm
    /// EdDSA or ES256 *and* the key's) when its header's `typ` is as `typ_ok` wants, and
    /// the validation every token of ours starts from: no leeway, our `iss`, and `exp`,
    /// `iss`, `aud`, `sub` required.
    async fn validation_for(
        &self,
        token: &str,
        max_len: usize,
        typ_ok: impl Fn(Option<&str>) -> bool,
    ) -> Option<(Arc<SigningKey>, Validation)> {
        if token.len() > max_len {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        if !matches!(header.alg, Algorithm::EdDSA | Algorithm::ES256) || !typ_ok(header.typ.as_deref()) {
            return None;
        }
        let key = self.find_or_reload(header.kid.as_deref()?).await?;
        if key.algorithm != header.alg {
            return None;
        }
        let mut v = Validation::new(key.algorithm);
        v.leeway = 0;
        v.set_issuer(&[&self.issuer]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Some((key, v))
    }

    /// Verify an access token: the algorithm must be EdDSA or ES256 *and* the one of the
    /// key its `kid` names (one of ours), `iss`, `aud`, `sub` and `exp` are required,
    /// `exp`/`nbf` are checked with no leeway. Any failure is `None`; the caller answers 401.
    pub async fn verify(&self, token: &str) -> Option<Claims> {
        // Only an access token's header says `JWT` (or nothing); an authorization
        // request's says `REQUEST_TYP`, and an id token, typed `JWT` too, fails the
        // strict claims below (its `aud` is a client).
        if token.len() > ACCESS_MAX_LEN {
            return None;
        }
        if let Some(known) = self.issued.recall(token) {
            let (claims, kid) = &*known;
            // As `decode` checks them: the key still one of ours, `exp` not passed
            // (no leeway); `nbf` is never set on the tokens `issue` signs.
            self.find_or_reload(kid).await?;
            return (claims.exp >= jsonwebtoken::get_current_timestamp())
                .then(|| claims.clone())
                .and_then(access_claims);
        }
        let (key, mut v) = self.validation_for(token, ACCESS_MAX_LEN, |t| t.is_none_or(|t| t == "JWT")).await?;
        v.validate_nbf = true;
        v.validate_aud = false; // checked by the caller against the project it acts in
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &v).ok()?;
        access_claims(data.claims)
    }

    /// The JSON Web Key Set.
    pub async fn jwks(&self) -> Value {
        self.maybe_reload().await;
        let keys = self.keys.read().map(|k| k.clone()).unwrap_or_default();
        let jwk = |k: &SigningKey| {
            let mut j = k.public.clone();
            j["use"] = json!("sig");
            j["kid"] = json!(k.kid);
            j
        };
        json!({ "keys": keys.iter().map(|k| jwk(k)).collect::<Vec<_>>() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Option<OrgClaims> {
        Some(OrgClaims { id: "org_1".into(), role: "admin".into(), permissions: vec!["a:b".into()], teams: None })
    }

    /// A token this process signed is recalled with the claims a verification of its
    /// signature reads; the memo does not let through what `verify` refuses.
    #[tokio::test]
    async fn tokens_signed_here_are_recalled_as_their_signature_reads() {
        let db = authio_eventstore::testing::fresh_db(false).await;
        let keys = Keys::load(db.clone(), "http://localhost:1".into()).await.unwrap();
        let (token, claims) = keys.issue("proj_1", "user_1", "sess_1", org(), None).await.unwrap();
        // Another process (no memo) reads the same claims from the signature.
        let other = Keys::load(db.clone(), "http://localhost:1".into()).await.unwrap();
        assert!(other.issued.recall(&token).is_none());
        assert_eq!(other.verify(&token).await.as_ref(), Some(&claims));
        assert!(keys.issued.recall(&token).is_some());
        assert_eq!(keys.verify(&token).await.as_ref(), Some(&claims));

        // One character changed: not recalled, and its signature fails.
        let mut tampered = token.clone().into_bytes();
        let i = tampered.len() - 2;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(keys.verify(&tampered).await, None);

        // A remembered token past its expiry, or of a key that is no longer ours, is refused.
        let kid = keys.current(Algorithm::EdDSA).unwrap().kid.clone();
        let expired = Claims { exp: jsonwebtoken::get_current_timestamp() - 1, ..claims.clone() };
        keys.issued.remember("expired.token.here", &expired, &kid);
        assert_eq!(keys.verify("expired.token.here").await, None);
        keys.issued.remember("unknown.key.here", &claims, "kid_gone");
        assert_eq!(keys.verify("unknown.key.here").await, None);
        // Claims that are not an access token's are refused as `decode`'s are.
        let foreign = Claims { aud: "client_1".into(), ..claims.clone() };
        keys.issued.remember("foreign.aud.here", &foreign, &kid);
        assert_eq!(keys.verify("foreign.aud.here").await, None);
    }

    /// What `SigningKey::encode` makes is what jsonwebtoken makes and reads: the same
    /// bytes for Ed25519 (its signatures are deterministic), a valid ES256 token.
    #[tokio::test]
    async fn tokens_are_signed_as_jsonwebtoken_signs_them() {
        let db = authio_eventstore::testing::fresh_db(false).await;
        rotate_algorithm(&db, TokenAlgorithm::ES256).await.unwrap();
        let keys = Keys::load(db.clone(), "http://localhost:1".into()).await.unwrap();
        let claims =
            json!({"iss": "http://localhost:1", "aud": "proj_1", "sub": "user_1", "exp": 4102444800u64, "n": "é"});
        for alg in [Algorithm::EdDSA, Algorithm::ES256] {
            let key = keys.current(alg).unwrap();
            let private: String = sqlx::query_scalar("SELECT private_key FROM signing_keys WHERE kid = $1")
                .bind(&key.kid)
                .fetch_one(&db.pool)
                .await
                .unwrap();
            let der = STANDARD.decode(private).unwrap();
            let mut header = Header::new(alg);
            header.kid = Some(key.kid.clone());
            header.typ = Some("JWT".into());
            let ours = key.encode(&header, &claims).unwrap();
            if alg == Algorithm::EdDSA {
                let theirs = jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ed_der(&der));
                assert_eq!(ours, theirs.unwrap());
            }
            let mut v = Validation::new(alg);
            v.set_audience(&["proj_1"]);
            let read = jsonwebtoken::decode::<Value>(&ours, &key.decoding, &v).unwrap();
            assert_eq!(read.claims, claims);
            assert_eq!(read.header.kid.as_deref(), Some(key.kid.as_str()));
        }
    }

    /// Two generations: the oldest tokens are forgotten (and verified by signature again).
    #[tokio::test]
    async fn the_memo_is_bounded() {
        let db = authio_eventstore::testing::fresh_db(false).await;
        let keys = Keys::load(db, "http://localhost:1".into()).await.unwrap();
        let (first, claims) = keys.issue("proj_1", "user_1", "sess_1", None, None).await.unwrap();
        for i in 0..2 * ISSUED_GENERATION {
            keys.issued.remember(&format!("t{i}"), &claims, "kid");
        }
        let sizes = keys.issued.generations.lock().unwrap().each_ref().map(HashMap::len);
        assert_eq!(sizes, [1, ISSUED_GENERATION]);
        assert!(keys.issued.recall(&first).is_none());
        assert_eq!(keys.verify(&first).await, Some(claims));
    }
}
