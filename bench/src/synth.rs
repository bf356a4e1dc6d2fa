//! The big synthetic data set, written straight into the `events` table with `COPY`
//! (the API would take hours): the same events, streams and metadata the API writes for
//! "create user", "create organization" and "add member", built with the domain's own
//! event types, positioned densely after the last stamped event.
//!
//! Shape for `--events N`: U = N/10 users (each `reservation.claimed` + `user.created`),
//! three large organizations of 10, U/10 and U members (the two large ones rounded up so
//! that one more member crosses a snapshot boundary: see `warm_up`), and organizations of
//! 20 members
//! (three events to create: `tenant.organization_added`, `reservation.claimed`,
//! `organization.created`, then one `membership.created` each) until N is reached. The
//! memberships are written in a shuffled order, so each organization's stream is spread
//! over the whole table as it would be after months of traffic.
//!
//! For switch-org cost growth it adds, per size in `SWITCH_SIZES`, one user per worker
//! holding that many memberships (in distinct 20-member organizations).
use crate::ops::Tenant;
use crate::Res;
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::organization::{MembershipStatus, OrganizationEvent};
use authio_domain::reservation::{organization_slug_key, user_email_key, ReservationEvent};
use authio_domain::tenant::TenantEvent;
use authio_domain::user::UserEvent;
use authio_eventstore::{copy_text_escape, snapshot_interval, time_text};
use chrono::{DateTime, Utc};
use cqrs_es::DomainEvent;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use sqlx::Connection;
use std::collections::BTreeMap;
use std::time::Instant;

const SMALL_ORG: usize = 20;
/// Memberships of the users of the switch-org growth rows.
pub const SWITCH_SIZES: [usize; 3] = [1, 100, 1000];
const FLUSH_BYTES: usize = 4 << 20;

/// A switch-org growth user: its id and its organizations.
pub type SwitchUser = (String, Vec<String>);

/// What was written.
pub struct Synth {
    pub events: i64,
    pub first_position: i64,
    pub last_position: i64,
    pub users: usize,
    /// (members, organization id) of the three large organizations, smallest first.
    pub big_orgs: Vec<(usize, String)>,
    pub small_orgs: usize,
    pub memberships: usize,
    /// Per size of `SWITCH_SIZES` (capped at the number of small organizations): one
    /// (user id, organization ids) per worker.
    pub switch_users: Vec<(usize, Vec<SwitchUser>)>,
    pub secs: f64,
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// Rows for `COPY events (…) FROM STDIN`, in position order.
struct Writer {
    buf: Vec<u8>,
    position: i64,
    count: i64,
    base: DateTime<Utc>,
    meta: BTreeMap<&'static str, String>,
}

impl Writer {
    /// A new command: a new request id in the metadata (events of one command share it).
    fn command(&mut self) -> String {
        self.meta.insert("request_id", new_id("req_"));
        serde_json::to_string(&self.meta).unwrap_or_else(|_| "{}".into())
    }

    /// The time of the next event: one microsecond apart.
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::microseconds(self.count)
    }

    fn push<E: Serialize + DomainEvent>(
        &mut self,
        aggregate_type: &str,
        aggregate_id: &str,
        seq: i64,
        e: &E,
        meta: &str,
    ) {
        self.position += 1;
        let mut v = serde_json::to_value(e).unwrap_or_default();
        let data = v.get_mut("data").map(serde_json::Value::take).unwrap_or_default();
        let recorded = time_text(self.now());
        self.count += 1;
        let fields = [
            new_id("evt_"),
            aggregate_type.to_string(),
            aggregate_id.to_string(),
            seq.to_string(),
            e.event_type(),
            e.event_version(),
            data.to_string(),
            meta.to_string(),
            recorded,
            self.position.to_string(),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.buf.push(b'\t');
            }
            copy_text_escape(&mut self.buf, f);
        }
        self.buf.push(b'\n');
    }
}

/// `members` rounded up so that the organization's stream (created + members) ends one
/// event before a snapshot boundary (`snapshot_interval`): the first member added over
/// the API then writes a snapshot, as a stream grown through the API would have had all
/// along.
fn round_for_snapshot(members: usize) -> usize {
    let mut rounded = members;
    // The interval grows with the stream: round again until it no longer moves.
    loop {
        let version = 1 + rounded;
        let every = snapshot_interval(version as i64 + 1) as usize;
        let next = rounded + (every - 1 - version % every) % every;
        if next == rounded {
            return rounded;
        }
        rounded = next;
    }
}

/// Members added over the API to an organization of `members` synthetic members until
/// the stream gets its first snapshot (the commit that crosses a multiple of
/// `snapshot_interval` writes one).
pub fn warm_up(members: usize) -> usize {
    let version = 1 + members;
    let every = snapshot_interval(version as i64 + 1) as usize;
    every - version % every
}

/// Wait (at most 60 s) until organization `org` has a snapshot of at least `version`;
/// returns how long that took.
pub async fn wait_for_snapshot(url: &str, org: &str, version: i64) -> Res<std::time::Duration> {
    let started = Instant::now();
    let mut conn = crate::infra::connect(url).await?;
    loop {
        let at: Option<i64> = sqlx::query_scalar(
            "SELECT version FROM snapshots WHERE aggregate_type = 'organization' AND aggregate_id = $1",
        )
        .bind(org)
        .fetch_optional(&mut conn)
        .await
        .map_err(|e| format!("reading snapshots: {e}"))?;
        if at.is_some_and(|v| v >= version) {
            return Ok(started.elapsed());
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return Err(format!("no snapshot of {org} at version {version} after 60 s (found {at:?})"));
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Write about `target` events for tenant `t` into the database at `url` (no server may
/// be running on it), in one transaction with the checkpoints of the read models, the
/// relay and the webhook fan-out moved past them (the read models get them from
/// `authio projections rebuild`; the relay is measured separately).
pub async fn generate(url: &str, t: &Tenant, target: usize, workers: usize, tag: &str) -> Res<Synth> {
    let started = Instant::now();
    // The largest organization has every user: both are rounded up together.
    let users = round_for_snapshot((target / 10).max(100));
    let big = [10usize.min(users), round_for_snapshot((users / 10).max(1)), users];
    let fixed = 2 * users + 3 * big.len() + big.iter().sum::<usize>();
    let small_orgs = target.saturating_sub(fixed).div_ceil(3 + SMALL_ORG);
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);

    let mut conn = crate::infra::connect(url).await?;
    let db = |e: sqlx::Error| format!("synthetic data: {e}");
    let mut tx = conn.begin().await.map_err(db)?;
    let base_position: i64 =
        sqlx::query_scalar("SELECT COALESCE(MAX(position), 0) FROM events").fetch_one(&mut *tx).await.map_err(db)?;
    let mut tenant_seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(sequence), 0) FROM events WHERE aggregate_type = 'tenant' AND aggregate_id = $1",
    )
    .bind(&t.id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db)?;
    let mut copy = tx
        .copy_in_raw(
            "COPY events (event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, payload, \
             metadata, recorded_at, position) FROM STDIN",
        )
        .await
        .map_err(db)?;

    let mut meta = BTreeMap::new();
    meta.insert("actor_type", "api_key".to_string());
    meta.insert("actor_id", t.key_id.clone());
    meta.insert("client_ip", "127.0.0.1".to_string());
    meta.insert("user_agent", "authio-bench (synthetic)".to_string());
    let mut w = Writer {
        buf: Vec::with_capacity(FLUSH_BYTES + (1 << 16)),
        position: base_position,
        count: 0,
        base: Utc::now(),
        meta,
    };
    let project = TenantId::new(&t.id);

    // Users: the email reservation, then the user (as `POST /v1/users` commits them).
    let switch_users = SWITCH_SIZES.len() * workers;
    let mut user_ids = Vec::with_capacity(users + switch_users);
    for i in 0..users + switch_users {
        let meta = w.command();
        let uid = new_id("user_");
        let email = if i < users {
            format!("syn{i}-{tag}@example.com")
        } else {
            format!("switch{}-{tag}@example.com", i - users)
        };
        let claim = ReservationEvent::Claimed { owner: uid.clone() };
        w.push("reservation", &user_email_key(&t.id, &email), 1, &claim, &meta);
        let created = UserEvent::Created {
            user_id: UserId::new(&uid),
            project_id: project.clone(),
            email,
            first_name: Some("Synthetic".into()),
            last_name: Some(format!("User {i}")),
            email_verified: false,
            created_at: w.now(),
        };
        w.push("user", &uid, 1, &created, &meta);
        user_ids.push(uid);
        if w.buf.len() > FLUSH_BYTES {
            copy.send(std::mem::take(&mut w.buf)).await.map_err(db)?;
        }
    }

    // Organizations: the tenant's list, the slug reservation, the organization.
    let n_orgs = big.len() + small_orgs;
    let mut org_ids = Vec::with_capacity(n_orgs);
    for i in 0..n_orgs {
        let meta = w.command();
        let oid = new_id("org_");
        let (name, slug) = match big.get(i) {
            Some(size) => (format!("Big {size} {tag}"), format!("big-{size}-{tag}")),
            None => (format!("Synthetic {i} {tag}"), format!("syn-{i}-{tag}")),
        };
        tenant_seq += 1;
        let added = TenantEvent::OrganizationAdded { organization_id: OrganizationId::new(&oid) };
        w.push("tenant", &t.id, tenant_seq, &added, &meta);
        let claim = ReservationEvent::Claimed { owner: oid.clone() };
        w.push("reservation", &organization_slug_key(&t.id, &slug), 1, &claim, &meta);
        let created = OrganizationEvent::Created {
            organization_id: OrganizationId::new(&oid),
            project_id: project.clone(),
            name,
            slug,
            domains: Vec::new(),
            created_at: w.now(),
        };
        w.push("organization", &oid, 1, &created, &meta);
        org_ids.push(oid);
        if w.buf.len() > FLUSH_BYTES {
            copy.send(std::mem::take(&mut w.buf)).await.map_err(db)?;
        }
    }

    // Memberships, shuffled across organizations; the first one of each is its admin.
    let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(fixed + small_orgs * SMALL_ORG);
    for (o, size) in big.iter().enumerate() {
        pairs.extend((0..*size).map(|u| (o as u32, u as u32)));
    }
    for o in big.len()..n_orgs {
        let start = rng.gen_range(0..users);
        pairs.extend((0..SMALL_ORG.min(users)).map(|k| (o as u32, ((start + k) % users) as u32)));
    }
    // The switch-org users: user `users + k·workers + j` (size k, worker j) joins
    // `size` consecutive small organizations from a random one.
    let mut switch = Vec::new();
    for (k, &size) in SWITCH_SIZES.iter().enumerate() {
        let size = size.min(small_orgs);
        let mut of_size = Vec::new();
        for j in 0..workers {
            let u = users + k * workers + j;
            let start = rng.gen_range(0..small_orgs.max(1));
            let orgs: Vec<usize> = (0..size).map(|i| big.len() + (start + i) % small_orgs).collect();
            pairs.extend(orgs.iter().map(|&o| (o as u32, u as u32)));
            of_size.push((u, orgs));
        }
        switch.push((size, of_size));
    }
    pairs.shuffle(&mut rng);
    let mut seq = vec![1i64; n_orgs];
    for &(o, u) in &pairs {
        let (o, u) = (o as usize, u as usize);
        let meta = w.command();
        seq[o] += 1;
        let ev = OrganizationEvent::MembershipCreated {
            membership_id: MembershipId::new(new_id("mem_")),
            organization_id: OrganizationId::new(&org_ids[o]),
            user_id: UserId::new(&user_ids[u]),
            role: if seq[o] == 2 { "admin" } else { "member" }.into(),
            status: MembershipStatus::Active,
            created_at: w.now(),
        };
        w.push("organization", &org_ids[o], seq[o], &ev, &meta);
        if w.buf.len() > FLUSH_BYTES {
            copy.send(std::mem::take(&mut w.buf)).await.map_err(db)?;
        }
    }
    if !w.buf.is_empty() {
        copy.send(std::mem::take(&mut w.buf)).await.map_err(db)?;
    }
    let copied = copy.finish().await.map_err(db)?;
    let last = w.position;
    for name in ["read_models", "relay", "webhooks"] {
        sqlx::query(
            "INSERT INTO projection_checkpoints (name, position) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET position = excluded.position",
        )
        .bind(name)
        .bind(last)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    sqlx::query("ANALYZE events").execute(&mut conn).await.map_err(db)?;
    let _ = conn.close().await;
    Ok(Synth {
        events: copied as i64,
        first_position: base_position + 1,
        last_position: last,
        users,
        big_orgs: big.iter().zip(&org_ids).map(|(s, o)| (*s, o.clone())).collect(),
        small_orgs,
        memberships: pairs.len(),
        switch_users: switch
            .into_iter()
            .map(|(size, v)| {
                let v = v
                    .into_iter()
                    .map(|(u, orgs)| (user_ids[u].clone(), orgs.iter().map(|&o| org_ids[o].clone()).collect()))
                    .collect();
                (size, v)
            })
            .collect(),
        secs: started.elapsed().as_secs_f64(),
    })
}
