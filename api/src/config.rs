//! Configuration from the environment (and flags), validated at start-up.
use clap::Args;
use std::net::SocketAddr;

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "AUTHIO_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// `postgres://…` for PostgreSQL; unset: a SQLite file under ./authio-data/.
    #[arg(long, env = "DATABASE_URL", default_value = authio_eventstore::DEFAULT_SQLITE_URL, hide_env_values = true)]
    pub database_url: String,
    /// Maximum database connections. Requests beyond it wait for a connection in the
    /// server, which costs PostgreSQL less than more backends competing for its cores:
    /// on the 2-core benchmark machine 8 served switch-org with less CPU per request and
    /// a lower p99 than 16 or 32 (BENCHMARKS.md). Raise it for a PostgreSQL with more cores.
    #[arg(long, env = "AUTHIO_DB_POOL", default_value_t = 8)]
    pub db_pool: u32,
    /// NATS with JetStream for the event fan-out; unset: an in-process bus.
    #[arg(long, env = "NATS_URL")]
    pub nats_url: Option<String>,
    /// The `iss` of access tokens; default `http://<AUTHIO_ADDR>`.
    #[arg(long, env = "AUTHIO_ISSUER")]
    pub issuer: Option<String>,
    /// `smtps://[user:pass@]host[:port]`, `smtp://[user:pass@]host[:port]` (STARTTLS
    /// required), `smtp://host[:port]?tls=none` (no TLS), `file://DIR` (one file per
    /// message); unset: the log.
    #[arg(long, env = "AUTHIO_MAIL_URL")]
    pub mail_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed (comma-separated addresses or CIDR
    /// networks); unset: the peer address is the client's.
    #[arg(long, env = "AUTHIO_TRUSTED_PROXIES")]
    pub trusted_proxies: Option<String>,
    /// A PEM file of extra CA certificates trusted for the SMTP server's certificate.
    #[arg(long, env = "AUTHIO_MAIL_CA_FILE")]
    pub mail_ca_file: Option<std::path::PathBuf>,
    /// The sender of outgoing mail.
    #[arg(long, env = "AUTHIO_MAIL_FROM", default_value = "Authio <no-reply@authio.localhost>")]
    pub mail_from: String,
    /// Log format: `text` or `json`.
    #[arg(long, env = "AUTHIO_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// The WebAuthn relying-party id: the domain passkeys are bound to.
    #[arg(long, env = "AUTHIO_WEBAUTHN_RP_ID", default_value = "localhost")]
    pub webauthn_rp_id: String,
    /// The origin(s) browsers report in passkey ceremonies (`scheme://host[:port]`,
    /// comma-separated when several); each host must be the RP id or a subdomain of it.
    #[arg(long, env = "AUTHIO_WEBAUTHN_ORIGIN", default_value = "http://localhost:8080")]
    pub webauthn_origin: String,
    /// Allow webhook endpoints on private, loopback and link-local addresses (tests,
    /// development). Off: such targets are refused at creation and at delivery.
    #[arg(long, env = "AUTHIO_WEBHOOK_ALLOW_PRIVATE", default_value = "false",
        value_parser = clap::builder::BoolishValueParser::new())]
    pub webhook_allow_private: bool,
    /// The delays before each webhook retry, comma-separated (`ms`, `s`, `m`, `h`, `d`).
    #[arg(long, env = "AUTHIO_WEBHOOK_RETRY_SCHEDULE", default_value = crate::webhooks::DEFAULT_SCHEDULE)]
    pub webhook_retry_schedule: String,
    /// A PEM file of extra CA certificates trusted for `https://` webhook endpoints (besides
    /// the bundled Mozilla roots), e.g. a private CA.
    #[arg(long, env = "AUTHIO_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<std::path::PathBuf>,
    /// How long a sender reserves the deliveries it claimed (a sender that dies mid-send
    /// leaves them to another once this runs out). Longer than a batch takes to send.
    #[arg(long, env = "AUTHIO_WEBHOOK_LEASE", default_value = "5m")]
    pub webhook_lease: String,
    /// An endpoint whose deliveries have failed for this long, with no success, is disabled.
    #[arg(long, env = "AUTHIO_WEBHOOK_DISABLE_AFTER", default_value = "72h")]
    pub webhook_disable_after: String,
    /// With NATS: the durable JetStream consumer (on `AUTHIO_EVENTS`) the webhook fan-out
    /// consumes; every process of one deployment shares it.
    #[arg(long, env = "AUTHIO_WEBHOOK_CONSUMER", default_value = crate::webhooks::DEFAULT_CONSUMER)]
    pub webhook_consumer: String,
    /// How often session housekeeping prunes the read models (`s`, `m`, `h`, `d`).
    #[arg(long, env = "AUTHIO_SESSION_PRUNE_INTERVAL", default_value = "5m")]
    pub session_prune_interval: String,
    /// The DNS server domain verification asks (`ip:port`); unset: the system's resolvers.
    #[arg(long, env = "AUTHIO_DNS_RESOLVER")]
    pub dns_resolver: Option<String>,
    /// How often verified domains are checked again (`s`, `m`, `h`, `d`).
    #[arg(long, env = "AUTHIO_DOMAIN_RECHECK_INTERVAL", default_value = "1h")]
    pub domain_recheck_interval: String,
    /// How often pending invitations past their expiry are recorded as expired.
    #[arg(long, env = "AUTHIO_INVITATION_SWEEP_INTERVAL", default_value = "60s")]
    pub invitation_sweep_interval: String,
    /// How long a spent refresh token is kept after its use, so presenting it again is
    /// caught as reuse (and revokes the session); after that it is pruned and refused as
    /// unknown. Tokens of a closed context are kept as long.
    #[arg(long, env = "AUTHIO_SPENT_TOKEN_RETENTION", default_value = "24h")]
    pub spent_token_retention: String,
    /// SSO sign-ins one client address may start per project: a burst of this many,
    /// refilled evenly over 15 minutes (a SAML start keeps its state in the database
    /// until it expires); over it `429 rate_limited`. 0: no limit.
    #[arg(long, env = "AUTHIO_SSO_START_LIMIT", default_value_t = 300)]
    pub sso_start_limit: u32,
    /// 64 hex digits (32 bytes): the key that encrypts SSO connections' client secrets at
    /// rest and the SSO sign-in state (AES-256-GCM). Unset: SSO connections are off.
    #[arg(long, env = "AUTHIO_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

impl Config {
    /// A configuration for tests and embedding: the given database, any free port.
    pub fn for_database(database_url: &str) -> Self {
        Config {
            addr: "127.0.0.1:0".parse().expect("literal address"),
            database_url: database_url.to_string(),
            db_pool: 8,
            issuer: None,
            nats_url: None,
            mail_url: None,
            mail_ca_file: None,
            trusted_proxies: None,
            mail_from: "Authio <no-reply@authio.localhost>".into(),
            log_format: "text".into(),
            webauthn_rp_id: "localhost".into(),
            webauthn_origin: "http://localhost:8080".into(),
            webhook_allow_private: false,
            webhook_retry_schedule: crate::webhooks::DEFAULT_SCHEDULE.into(),
            webhook_disable_after: "72h".into(),
            webhook_lease: "5m".into(),
            webhook_ca_file: None,
            webhook_consumer: crate::webhooks::DEFAULT_CONSUMER.into(),
            session_prune_interval: "5m".into(),
            invitation_sweep_interval: "60s".into(),
            dns_resolver: None,
            domain_recheck_interval: "1h".into(),
            spent_token_retention: "24h".into(),
            sso_start_limit: 300,
            secret_key: None,
        }
    }
}

/// The database options shared by the commands that only need the database.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    #[arg(long, env = "DATABASE_URL", default_value = authio_eventstore::DEFAULT_SQLITE_URL, hide_env_values = true)]
    pub database_url: String,
}
