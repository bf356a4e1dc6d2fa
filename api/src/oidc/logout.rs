//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): when a session ends,
//! every OAuth client holding a grant in it that registered a `backchannel_logout_uri`
//! gets a logout token (a JWT of `typ` `logout+jwt` naming the session and the user)
//! POSTed there, so it can end its own session for the user.
//!
//! Nothing is lost: the notices are queued in `logout_notices` by the revocation's own
//! commit (`sessions::supersede_refresh_tokens`, `QUEUE`), and a sender in every server
//! process claims due ones (moving their next attempt past a lease first, so two
//! processes never send one at once), sends, and records the outcome: `sent`, or a
//! retry on the schedule, or `failed` when the schedule is spent. A process that dies
//! mid-send leaves the notice to be sent again after the lease: at least once, and
//! ending an ended session again is harmless to a client.
use crate::crypto::new_id;
use crate::AppState;
use authio_eventstore::time_text;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::Row;

/// The revocation's side write: `$1` the session, `$2` now. One notice per client (a
/// session ends once; `ON CONFLICT` keeps a second revocation from queueing again).
pub const QUEUE: &str = "INSERT INTO logout_notices (session_id, client_id, project_id, user_id, uri, status, \
     attempts, next_attempt_at, created_at, updated_at) \
     SELECT g.session_id, g.client_id, MIN(g.project_id), MIN(g.user_id), MIN(c.backchannel_logout_uri), 'pending', \
     0, $2, $2, $2 FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id \
     WHERE g.session_id = $1 AND c.backchannel_logout_uri IS NOT NULL GROUP BY g.session_id, g.client_id \
     ON CONFLICT (session_id, client_id) DO NOTHING";

/// The delays before retries 1, 2, …; after the last, the notice is `failed`.
const RETRIES: [i64; 5] = [5, 30, 300, 1800, 7200];
/// How long a claimed notice is the claimer's.
const LEASE_SECONDS: i64 = 60;
const BATCH: i64 = 20;
/// The event a logout token carries (its `events` claim).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

struct Notice {
    session: String,
    client: String,
    project: String,
    user: String,
    uri: String,
    attempts: i64,
}

/// Claim, send and record the due notices; how many were sent.
pub async fn send_due(st: &AppState) -> Result<usize, sqlx::Error> {
    let now = Utc::now();
    let rows = sqlx::query(
        "SELECT session_id, client_id, project_id, user_id, uri, attempts, next_attempt_at FROM logout_notices \
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(time_text(now))
    .bind(BATCH)
    .fetch_all(&st.db.pool)
    .await?;
    let mut sent = 0;
    for r in rows {
        let n = Notice {
            session: r.try_get(0)?,
            client: r.try_get(1)?,
            project: r.try_get(2)?,
            user: r.try_get(3)?,
            uri: r.try_get(4)?,
            attempts: r.try_get(5)?,
        };
        let due: String = r.try_get(6)?;
        // The claim: this process's only if the row is as read.
        let claimed = sqlx::query(
            "UPDATE logout_notices SET next_attempt_at = $4, updated_at = $5 \
             WHERE session_id = $1 AND client_id = $2 AND next_attempt_at = $3 AND status = 'pending'",
        )
        .bind(&n.session)
        .bind(&n.client)
        .bind(&due)
        .bind(time_text(now + Duration::seconds(LEASE_SECONDS)))
        .bind(time_text(now))
        .execute(&st.db.pool)
        .await?
        .rows_affected();
        if claimed != 1 {
            continue;
        }
        let outcome = send(st, &n).await;
        if outcome.is_ok() {
            sent += 1;
        }
        record(st, &n, outcome, Utc::now()).await?;
    }
    Ok(sent)
}

async fn send(st: &AppState, n: &Notice) -> Result<(), String> {
    let now = Utc::now().timestamp();
    let claims = json!({
        "iss": st.keys.issuer,
        "aud": n.client,
        "sub": n.user,
        "sid": n.session,
        "iat": now,
        "exp": now + 120,
        "jti": new_id("jti_"),
        "events": { EVENT: {} },
    });
    let token = st.keys.sign(&n.project, "logout+jwt", &claims).await.map_err(|e| e.to_string())?;
    let (url, client) = crate::connections::client_for(st, &n.uri, "the back-channel logout URI").await?;
    let res = client
        .post(url)
        .header("cache-control", "no-store")
        .form(&[("logout_token", token.as_str())])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().is_success() {
        Ok(())
    } else {
        Err(format!("answered {}", res.status().as_u16()))
    }
}

async fn record(st: &AppState, n: &Notice, outcome: Result<(), String>, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let attempts = n.attempts + 1;
    let (status, next, error) = match outcome {
        Ok(()) => ("sent", at, None),
        Err(e) => match RETRIES.get(n.attempts as usize) {
            Some(delay) => ("pending", at + Duration::seconds(*delay), Some(e)),
            None => ("failed", at, Some(e)),
        },
    };
    if let Some(e) = &error {
        tracing::warn!(
            client = n.client,
            session = n.session,
            attempts,
            error = e,
            "back-channel logout not delivered"
        );
    }
    sqlx::query(
        "UPDATE logout_notices SET status = $3, attempts = $4, next_attempt_at = $5, last_error = $6, updated_at = $7 \
         WHERE session_id = $1 AND client_id = $2",
    )
    .bind(&n.session)
    .bind(&n.client)
    .bind(status)
    .bind(attempts)
    .bind(time_text(next))
    .bind(error)
    .bind(time_text(at))
    .execute(&st.db.pool)
    .await?;
    Ok(())
}

/// Send due notices every `every` (and at once after start).
pub fn spawn(st: AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = send_due(&st).await {
                tracing::warn!(error = %e, "back-channel logout sender: retried next interval");
            }
        }
    })
}
