//! The application layer of organization domains: claim, verify by a DNS TXT record,
//! re-check, policy, removal, and automatic membership at sign-in. A verified domain is
//! held by a reservation per project (one organization at a time); losing the record or
//! removing the domain gives it up.
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::domains::{DomainCommand, DomainState, OrgDomain};
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::organization::{MembershipStatus, Organization, OrganizationCommand};
use authio_domain::reservation::verified_domain_key;
use authio_eventstore::{Changes, Db, Loaded, Metadata};
use chrono::Utc;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::TokioResolver;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use std::sync::Arc;
use utoipa::ToSchema;

/// The name under the domain where the challenge is published.
pub const CHALLENGE_LABEL: &str = "_authio-challenge";

/// Resolves TXT records: the system's resolvers, or one address (`AUTHIO_DNS_RESOLVER`,
/// `ip:port`). Nothing is cached, so a re-check sees the record as it is now.
#[derive(Clone)]
pub struct Dns(Arc<TokioResolver>);

impl Dns {
    pub fn new(address: Option<&str>) -> anyhow::Result<Dns> {
        let mut opts = ResolverOpts::default();
        opts.cache_size = 0;
        opts.attempts = 2;
        opts.timeout = std::time::Duration::from_secs(2);
        let builder = match address {
            Some(a) => {
                let addr: std::net::SocketAddr =
                    a.parse().map_err(|_| anyhow::anyhow!("AUTHIO_DNS_RESOLVER must be ip:port, got {a:?}"))?;
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(addr, Protocol::Tcp));
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            }
            None => TokioResolver::builder_tokio()?,
        };
        Ok(Dns(Arc::new(builder.with_options(opts).build())))
    }

    /// The TXT values at `name`: `Ok(values)` (empty when the name or the record does not
    /// exist), `Err` when no answer came (timeout, server failure).
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, String> {
        match self.0.txt_lookup(format!("{name}.")).await {
            Ok(found) => Ok(found
                .iter()
                .map(|t| t.txt_data().iter().map(|part| String::from_utf8_lossy(part).to_string()).collect())
                .collect()),
            Err(e) if e.is_nx_domain() || e.is_no_records_found() => Ok(Vec::new()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Challenge {
    /// Always `TXT`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `_authio-challenge.<domain>`.
    pub name: String,
    /// `authio-verify=…`.
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DomainView {
    pub id: String,
    pub organization_id: String,
    pub domain: String,
    /// `pending`, `verified`, or `failed` (a re-check no longer found the record).
    pub state: String,
    /// The record to publish.
    pub verification: Challenge,
    /// Users signing in with a verified email of this domain become members.
    pub auto_join: bool,
    /// The role they get (the project's default role when null).
    pub role: Option<String>,
    #[schema(format = DateTime)]
    pub verified_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

const COLS: &str =
    "id, organization_id, domain, state, challenge, CASE WHEN auto_join THEN 1 ELSE 0 END, role, verified_at, created_at, updated_at";

fn view(r: &AnyRow) -> Result<DomainView, sqlx::Error> {
    let domain: String = r.try_get(2)?;
    Ok(DomainView {
        id: r.try_get(0)?,
        organization_id: r.try_get(1)?,
        verification: Challenge {
            kind: "TXT".into(),
            name: format!("{CHALLENGE_LABEL}.{domain}"),
            value: r.try_get(4)?,
        },
        domain,
        state: r.try_get(3)?,
        auto_join: r.try_get::<i64, _>(5)? != 0,
        role: r.try_get(6)?,
        verified_at: r.try_get(7)?,
        created_at: r.try_get(8)?,
        updated_at: r.try_get(9)?,
    })
}

pub async fn get(st: &AppState, org: &str, id: &str) -> ApiResult<DomainView> {
    let row = sqlx::query(&format!("SELECT {COLS} FROM organization_domains WHERE id = $1 AND organization_id = $2"))
        .bind(id)
        .bind(org)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(view(&row)?)
}

pub async fn list(st: &AppState, org: &str, after: &str, limit: i64) -> ApiResult<Vec<DomainView>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLS} FROM organization_domains WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(org)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows.iter().map(view).collect::<Result<_, _>>()?)
}

/// A host name of at least two labels, lower-cased; else `400`.
pub fn check_domain(domain: &str) -> ApiResult<String> {
    let d = domain.trim().trim_end_matches('.').to_lowercase();
    if authio_domain::is_host_name(&d) {
        Ok(d)
    } else {
        Err(ApiError::invalid_field("domain", "domain must be a host name such as acme.com"))
    }
}

async fn load(st: &AppState, org: &str, id: &str) -> ApiResult<Loaded<OrgDomain>> {
    let d = st.db.load::<OrgDomain>(id).await?;
    if d.state.is_live() && d.state.organization_id.as_ref().is_some_and(|o| o.as_str() == org) {
        Ok(d)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn add(st: &AppState, meta: &Metadata, project: &str, org: &str, domain: &str) -> ApiResult<DomainView> {
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM organization_domains WHERE organization_id = $1 AND domain = $2")
            .bind(org)
            .bind(domain)
            .fetch_optional(&st.db.pool)
            .await?;
    if let Some(id) = taken {
        return Err(ApiError::conflict("domain_exists", "the organization has claimed this domain already")
            .with_details(serde_json::json!({ "id": id })));
    }
    let id = crate::crypto::new_id("dom_");
    let challenge = format!("authio-verify={}", &crate::crypto::new_secret("")[..32]);
    crate::execute!(st, meta, {
        let mut d = Loaded::<OrgDomain>::fresh(&id);
        d.exec(DomainCommand::Add {
            domain_id: id.clone(),
            project_id: TenantId::new(project),
            organization_id: OrganizationId::new(org),
            domain: domain.to_string(),
            challenge: challenge.clone(),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(d)?;
        Ok(c)
    })?;
    get(st, org, &id).await
}

/// Look the challenge up and mark the domain verified, or answer
/// `422 domain_verification_failed` with what DNS said.
pub async fn verify(st: &AppState, meta: &Metadata, project: &str, org: &str, id: &str) -> ApiResult<DomainView> {
    let d = load(st, org, id).await?;
    let name = format!("{CHALLENGE_LABEL}.{}", d.state.domain);
    let seen = st.dns.txt(&name).await.map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the DNS lookup of {name} got no answer ({e}); retry later"),
        )
    })?;
    if !seen.iter().any(|v| v == &d.state.challenge) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "domain_verification_failed",
            format!("no TXT record {name} with the value {:?} was found", d.state.challenge),
        )
        .with_details(serde_json::json!({ "name": name, "expected": d.state.challenge, "seen": seen })));
    }
    crate::execute!(st, meta, {
        let mut d = load(st, org, id).await?;
        let mut c = Changes::new();
        let key = verified_domain_key(project, &d.state.domain);
        let what = "the domain (verified by another organization of the project)";
        c.add(crate::reservations::claim(&st.db, &key, id, "domain_taken", what).await?)?;
        d.exec(DomainCommand::Verify { at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    get(st, org, id).await
}

pub async fn set_policy(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: &str,
    id: &str,
    auto_join: Option<bool>,
    role: Option<Option<String>>,
) -> ApiResult<DomainView> {
    crate::execute!(st, meta, {
        let mut d = load(st, org, id).await?;
        let mut c = Changes::new();
        if let Some(Some(r)) = &role {
            let cat = crate::roles::catalog(st, project).await?;
            crate::roles::require_usable(&mut c, &cat, r, org)?;
        }
        d.exec(DomainCommand::SetPolicy { auto_join, role: role.clone(), at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    get(st, org, id).await
}

/// Give up the reservation of a verified domain, in `c`.
async fn release(db: &Db, c: &mut Changes, project: &str, d: &OrgDomain) -> ApiResult<()> {
    if d.state == DomainState::Verified {
        c.add(crate::reservations::release(db, &verified_domain_key(project, &d.domain), &d.id).await?)?;
    }
    Ok(())
}

pub async fn remove(st: &AppState, meta: &Metadata, project: &str, org: &str, id: &str) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut d = load(st, org, id).await?;
        let mut c = Changes::new();
        release(&st.db, &mut c, project, &d.state).await?;
        d.exec(DomainCommand::Remove { at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    Ok(())
}

/// Re-check every verified domain; one whose record is gone (a definite answer without
/// it, not a failed lookup) records `domain.verification_failed` and gives the domain
/// up. Returns how many were lost.
pub async fn recheck(db: &Db, dns: &Dns) -> Result<u64, authio_eventstore::StoreError> {
    let rows = sqlx::query("SELECT id, project_id FROM organization_domains WHERE state = 'verified' ORDER BY id")
        .fetch_all(&db.pool)
        .await?;
    let mut meta = Metadata::new();
    meta.insert("actor_type".into(), authio_domain::Actor::System.kind().into());
    let mut lost = 0;
    for r in rows {
        let (id, project): (String, String) = (r.try_get(0)?, r.try_get(1)?);
        let mut d = db.load::<OrgDomain>(&id).await?;
        if !d.state.is_live() || d.state.state != DomainState::Verified {
            continue;
        }
        let Ok(seen) = dns.txt(&format!("{CHALLENGE_LABEL}.{}", d.state.domain)).await else { continue };
        if seen.iter().any(|v| v == &d.state.challenge) {
            continue;
        }
        let mut c = Changes::new();
        if release(db, &mut c, &project, &d.state).await.is_err() {
            continue;
        }
        d.exec(DomainCommand::LoseVerification { seen, at: Utc::now() })
            .await
            .map_err(|e| authio_eventstore::StoreError::Corrupt(e.to_string()))?;
        c.add(d)?;
        match db.commit_with(c, &meta, Some(&authio_projections::Inline)).await {
            Ok(_) => lost += 1,
            Err(authio_eventstore::StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(lost)
}

pub fn spawn_rechecker(db: Db, dns: Dns, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        loop {
            tick.tick().await;
            match recheck(&db, &dns).await {
                Ok(0) => {}
                Ok(n) => tracing::warn!(lost = n, "verified domains lost their DNS record"),
                Err(e) => tracing::warn!(error = %e, "domain re-check failed; retried next interval"),
            }
        }
    })
}

/// Automatic membership at sign-in: for a user whose email (proven by this sign-in) is
/// of a verified domain with `auto_join`, an active membership in that organization,
/// once: a user who has any membership there (a deactivated one included) is left as
/// they are.
pub async fn join_by_domain(st: &AppState, project: &str, user: &str, email: &str, meta: &Metadata) -> ApiResult<()> {
    let Some((_, host)) = email.rsplit_once('@') else { return Ok(()) };
    let rows = sqlx::query(
        "SELECT d.organization_id, d.role FROM organization_domains d WHERE d.project_id = $1 AND d.domain = $2 \
         AND d.state = 'verified' AND d.auto_join \
         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.organization_id = d.organization_id AND m.user_id = $3)",
    )
    .bind(project)
    .bind(host.to_lowercase())
    .bind(user)
    .fetch_all(&st.db.pool)
    .await?;
    for r in rows {
        let (org, role): (String, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
        // A policy that cannot be applied (its role was deleted) does not stop the sign-in.
        if let Err(e) = join(st, project, user, &org, role, meta).await {
            tracing::warn!(code = e.code, organization = org, "automatic membership by domain not applied");
        }
    }
    Ok(())
}

/// An active membership of `user` in `org` with `role` (the project's default role when
/// none), unless they have one there already (a deactivated one included): automatic
/// membership by domain, and an SSO connection's just-in-time membership.
pub async fn join(
    st: &AppState,
    project: &str,
    user: &str,
    org: &str,
    role: Option<String>,
    meta: &Metadata,
) -> ApiResult<()> {
    let membership = crate::crypto::new_id("mem_");
    crate::execute!(st, meta, {
        let mut o = st.db.load::<Organization>(org).await?;
        let mut c = Changes::new();
        if !o.state.is_live() || o.state.membership_of(&UserId::new(user)).is_some() {
            return Ok(c);
        }
        let cat = crate::roles::catalog(st, project).await?;
        let role = role.clone().unwrap_or_else(|| cat.state.default_role().to_string());
        crate::roles::require_usable(&mut c, &cat, &role, org)?;
        o.exec(OrganizationCommand::AddMembership {
            membership_id: MembershipId::new(&membership),
            user_id: UserId::new(user),
            role,
            status: MembershipStatus::Active,
            at: Utc::now(),
        })
        .await?;
        c.add(o)?;
        Ok(c)
    })?;
    Ok(())
}

/// The organization that holds `email`'s domain verified in `project`, if any: a sign-in
/// with that address is held to its policy whichever organization it is for.
pub async fn owner_of_address(st: &AppState, project: &str, email: &str) -> ApiResult<Option<String>> {
    let Some((_, host)) = email.rsplit_once('@') else { return Ok(None) };
    Ok(sqlx::query_scalar(
        "SELECT organization_id FROM organization_domains WHERE project_id = $1 AND domain = $2 AND state = 'verified'",
    )
    .bind(project)
    .bind(host.to_lowercase())
    .fetch_optional(&st.db.pool)
    .await?)
}
