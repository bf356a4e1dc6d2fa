//! The Authio HTTP API and its composition root: `build(config)` gives the router and
//! starts the background pipeline; `main.rs` and the tests share it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod connections;
pub mod cors;
pub mod crypto;
pub mod domains;
pub mod error;
pub mod extract;
pub mod handoffs;
mod idempotency;
pub mod invitations;
pub mod mail;
pub mod oauth_clients;
pub mod observe;
pub mod oidc;
pub mod openapi;
pub mod pages;
pub mod passkeys;
pub mod pipeline;
pub mod policies;
pub mod ratelimit;
pub mod redirects;
pub mod reservations;
pub mod roles;
pub(crate) mod routes;
pub mod scim;
pub mod sessions;
pub mod sso;
pub mod teams;
pub mod tls;
pub mod tokens;
pub mod views;
pub mod webhooks;

use authio_eventstore::{Changes, Db, Metadata, StoreError};
use axum::Router;
pub use config::Config;
use error::ApiResult;
use pipeline::Pipeline;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub pipeline: Pipeline,
    pub keys: tokens::Keys,
    pub mailer: mail::Mailer,
    pub mail_from: String,
    /// Where the relay publishes events (JetStream, or the in-process bus).
    pub bus: authio_projections::relay::Bus,
    /// Sign-in requests per email address.
    pub email_limit: ratelimit::RateLimiter,
    /// Sign-in requests per client address.
    pub ip_limit: ratelimit::RateLimiter,
    /// SSO starts per project and client address (`None`: no limit).
    pub sso_limit: Option<ratelimit::RateLimiter>,
    /// Proxies whose `X-Forwarded-For` names the client (`AUTHIO_TRUSTED_PROXIES`).
    pub trusted_proxies: std::sync::Arc<Vec<ratelimit::Net>>,
    /// The WebAuthn relying party (RP id and allowed origins) for passkeys.
    pub passkeys: std::sync::Arc<passkeys::RelyingParty>,
    /// Webhook settings the routes need, and the sender's wake-up.
    pub webhooks: webhooks::Webhooks,
    /// Domain verification's resolver.
    pub dns: domains::Dns,
    /// `AUTHIO_SECRET_KEY`'s cipher (SSO connections); none when unset.
    pub sealer: Option<std::sync::Arc<crypto::Sealer>>,
}

/// The request id, set by middleware, echoed as `x-request-id`.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl AppState {
    /// Commit one attempt of a command. `Ok(Some(rows))`: committed and the read models
    /// include it; the rows of its `read`, if any. `Ok(None)`: lost an
    /// optimistic-concurrency race (after a short jittered pause); the caller decides
    /// again with fresh state.
    pub async fn commit_attempt(
        &self,
        changes: Changes,
        meta: &Metadata,
        attempt: u64,
    ) -> ApiResult<Option<Vec<sqlx::any::AnyRow>>> {
        if changes.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let started = std::time::Instant::now();
        let committed = self.db.commit_with(changes, meta, Some(&authio_projections::Inline)).await;
        let outcome = match &committed {
            Ok(_) => "ok",
            Err(StoreError::Conflict) => "conflict",
            Err(_) => "error",
        };
        metrics::histogram!("authio_commit_duration_seconds", "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        match committed {
            Ok(done) => {
                if !done.projected {
                    self.pipeline.wait(done.ticket).await;
                }
                // Otherwise the read models are current already; the audit log, the events
                // API and webhooks follow with the pipeline's next pass (every 100 ms, 25
                // ms under load, or at once for a reader that needs it: `Pipeline::sync`),
                // in batches.
                Ok(Some(done.rows))
            }
            Err(StoreError::Conflict) => {
                let jitter = rand::random::<u64>() % (5 * (attempt + 1));
                tokio::time::sleep(Duration::from_millis(jitter)).await;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Run a command: the block loads what it needs and returns the `Changes`; they are
/// committed atomically. A lost race is retried with fresh state a few times, then
/// answered `409 concurrent_modification`. Evaluates to `ApiResult<Vec<AnyRow>>` (the
/// rows of the commit's `read`, if any) once the read models include the change.
#[macro_export]
macro_rules! execute {
    ($st:expr, $meta:expr, $body:block) => {{
        let mut result: $crate::error::ApiResult<Vec<sqlx::any::AnyRow>> = Err($crate::error::ApiError::concurrent());
        for attempt in 0..5u64 {
            let decided: $crate::error::ApiResult<authio_eventstore::Changes> = async { $body }.await;
            match decided {
                Ok(changes) => match $st.commit_attempt(changes, $meta, attempt).await {
                    Ok(Some(rows)) => {
                        result = Ok(rows);
                        break;
                    }
                    Ok(None) => continue,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                },
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        result
    }};
}

/// Connect, migrate, start the pipeline (catching up the read models), and build the
/// router. The returned task keeps the read models current.
/// The background tasks of a server (read-model pipeline, relay); aborted on drop.
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

/// A server's state and the parts its background work needs.
struct Parts {
    state: AppState,
    /// The read-model pipeline.
    pipeline: tokio::task::JoinHandle<()>,
    relay_kick: std::sync::Arc<tokio::sync::Notify>,
    webhook_kick: std::sync::Arc<tokio::sync::Notify>,
    webhook_send_kick: std::sync::Arc<tokio::sync::Notify>,
    webhook_settings: webhooks::Settings,
}

async fn parts(config: &Config) -> anyhow::Result<Parts> {
    // The metrics recorder, before anything records.
    observe::prometheus();
    let db = Db::connect(&config.database_url, config.db_pool).await?;
    db.migrate().await?;
    let relay_kick = std::sync::Arc::new(tokio::sync::Notify::new());
    let webhook_settings = webhooks::Settings::from_config(config).map_err(|e| anyhow::anyhow!(e))?;
    let webhook_kick = std::sync::Arc::new(tokio::sync::Notify::new());
    let webhook_send_kick = std::sync::Arc::new(tokio::sync::Notify::new());
    let (pipeline, task) = Pipeline::start(db.clone(), vec![relay_kick.clone(), webhook_kick.clone()]).await?;
    let bus = match &config.nats_url {
        Some(url) => authio_projections::relay::Bus::nats(url).await?,
        None => authio_projections::relay::Bus::local(),
    };
    let issuer = config.issuer.clone().unwrap_or_else(|| format!("http://{}", config.addr));
    let keys = tokens::Keys::load(db.clone(), issuer).await?;
    let mailer = mail::Mailer::from_url(config.mail_url.as_deref(), config.mail_ca_file.as_deref())?;
    let passkeys = passkeys::RelyingParty::new(&config.webauthn_rp_id, &config.webauthn_origin)
        .map_err(|e| anyhow::anyhow!("invalid passkey configuration: {e}"))?;
    let window = Duration::from_secs(15 * 60);
    let state = AppState {
        db,
        pipeline,
        keys,
        mailer,
        mail_from: config.mail_from.clone(),
        bus,
        email_limit: ratelimit::RateLimiter::new(5, window),
        ip_limit: ratelimit::RateLimiter::new(30, window),
        sso_limit: (config.sso_start_limit > 0).then(|| ratelimit::RateLimiter::new(config.sso_start_limit, window)),
        trusted_proxies: std::sync::Arc::new(
            ratelimit::parse_proxies(config.trusted_proxies.as_deref().unwrap_or(""))
                .map_err(|e| anyhow::anyhow!("AUTHIO_TRUSTED_PROXIES: {e}"))?,
        ),
        passkeys: std::sync::Arc::new(passkeys),
        webhooks: webhooks::Webhooks { allow_private: webhook_settings.allow_private, kick: webhook_send_kick.clone() },
        dns: domains::Dns::new(config.dns_resolver.as_deref())?,
        sealer: match &config.secret_key {
            Some(k) => Some(std::sync::Arc::new(crypto::Sealer::from_hex(k).map_err(|e| anyhow::anyhow!(e))?)),
            None => None,
        },
    };
    Ok(Parts { state, pipeline: task, relay_kick, webhook_kick, webhook_send_kick, webhook_settings })
}

/// The state of a server for a CLI command that runs the application layer: the
/// database and the read-model pipeline, and nothing else of a server's background work
/// (no relay, webhook sender, sweeper or pruner: a short command must not move the
/// relay's checkpoint or send deliveries).
pub async fn command_state(config: &Config) -> anyhow::Result<(AppState, Background)> {
    let p = parts(config).await?;
    Ok((p.state, Background(vec![p.pipeline])))
}

pub async fn build(config: &Config) -> anyhow::Result<(Router, AppState, Background)> {
    let Parts { state, pipeline: task, relay_kick, webhook_kick, webhook_send_kick, webhook_settings } =
        parts(config).await?;
    let relay = tokio::spawn(authio_projections::relay::run(state.db.clone(), state.bus.clone(), relay_kick));
    let prune_every = webhooks::parse_duration(&config.session_prune_interval)
        .map_err(|e| anyhow::anyhow!("AUTHIO_SESSION_PRUNE_INTERVAL: {e}"))?;
    let retention = webhooks::parse_duration(&config.spent_token_retention)
        .map_err(|e| anyhow::anyhow!("AUTHIO_SPENT_TOKEN_RETENTION: {e}"))?;
    if prune_every.is_zero() {
        anyhow::bail!("AUTHIO_SESSION_PRUNE_INTERVAL must be more than zero");
    }
    let retention = chrono::Duration::from_std(retention)
        .map_err(|_| anyhow::anyhow!("AUTHIO_SPENT_TOKEN_RETENTION is too long"))?;
    let pruner = sessions::spawn_pruner(state.db.clone(), prune_every, retention);
    let sweep_every = webhooks::parse_duration(&config.invitation_sweep_interval)
        .map_err(|e| anyhow::anyhow!("AUTHIO_INVITATION_SWEEP_INTERVAL: {e}"))?;
    if sweep_every.is_zero() {
        anyhow::bail!("AUTHIO_INVITATION_SWEEP_INTERVAL must be more than zero");
    }
    let sweeper = invitations::spawn_sweeper(state.db.clone(), sweep_every);
    let recheck_every = webhooks::parse_duration(&config.domain_recheck_interval)
        .map_err(|e| anyhow::anyhow!("AUTHIO_DOMAIN_RECHECK_INTERVAL: {e}"))?;
    if recheck_every.is_zero() {
        anyhow::bail!("AUTHIO_DOMAIN_RECHECK_INTERVAL must be more than zero");
    }
    let rechecker = domains::spawn_rechecker(state.db.clone(), state.dns.clone(), recheck_every);
    // Back-channel logout notices: a small indexed queue, looked at every second.
    let logouts = oidc::logout::spawn(state.clone(), Duration::from_secs(1));
    let mut tasks = vec![task, relay, pruner, sweeper, rechecker, logouts];
    tasks.extend(webhooks::spawn(
        state.db.clone(),
        webhook_settings,
        state.pipeline.clone(),
        &state.bus,
        webhook_kick,
        webhook_send_kick,
    ));
    Ok((router(state.clone()), state, Background(tasks)))
}

pub fn router(state: AppState) -> Router {
    routes::routes(state.clone())
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .layer(cors::layer(state.db.clone()))
        .layer(axum::middleware::from_fn(observe::layer))
}

/// Serve until ctrl-c / SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    // The issuer names the address actually bound (port 0 included).
    let mut config = config;
    config.addr = listener.local_addr()?;
    let (app, _state, _task) = build(&config).await?;
    tracing::info!(addr = %listener.local_addr()?, "authio listening");
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
