//! Webhook endpoints of a project (secret key): create, list, read, change, delete,
//! rotate the signing secret, read the delivery log and retry a delivery. Secrets are
//! shown at creation and rotation only.
use crate::crypto::new_id;
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query, RequestContext, SecretKey};
use crate::views::{self, Page};
use crate::webhooks::{check_url, new_secret, UrlProblem};
use crate::AppState;
use authio_domain::ids::{TenantId, WebhookEndpointId};
use authio_domain::webhook::{DisableReason, WebhookCommand, WebhookEndpoint};
use authio_eventstore::{time_text, Changes, Db, Loaded, SqlArg};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

/// A delivery's status, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// How long the previous secret keeps signing after a rotation.
const OVERLAP: chrono::Duration = chrono::Duration::hours(24);

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    /// `whep_…`
    pub id: String,
    pub url: String,
    /// Event types, `prefix.*` or `*`.
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it is disabled: `manual` or `failing`; `null` when enabled.
    pub disabled_reason: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookEndpoint {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    /// `whsec_…`: shown now and at rotation only. The HMAC key is its base64 part, decoded.
    pub secret: String,
    pub enabled: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedSecret {
    /// The new `whsec_…` secret; shown once.
    pub secret: String,
    /// Until then deliveries also carry a signature made with the previous secret.
    #[schema(format = DateTime)]
    pub previous_secret_expires_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointList {
    pub data: Vec<WebhookEndpointView>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first try.
    #[serde(rename = "try")]
    pub attempt: i64,
    /// The receiver's HTTP status; `null` when no answer came (see `error`).
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub latency_ms: i64,
    pub at: String,
}

/// One event's delivery to one endpoint, with every try.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `whdl_…`
    pub id: String,
    /// The event id, also sent as `webhook-id`.
    pub event_id: String,
    pub event_type: String,
    pub position: i64,
    /// `pending`, `delivered` or `failed`.
    #[schema(value_type = DeliveryStatus)]
    pub status: String,
    /// How many tries were made.
    #[serde(rename = "try")]
    pub tries: i64,
    /// The last try's HTTP status.
    pub status_code: Option<i64>,
    /// The last try's latency.
    pub latency_ms: Option<i64>,
    pub last_error: Option<String>,
    /// When the next try is due (pending deliveries only).
    #[schema(format = DateTime)]
    pub next_retry_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub attempts: Vec<AttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub data: Vec<DeliveryView>,
    /// Pass as `after` for older deliveries; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    /// An absolute `http(s)` URL, at most 2048 characters, on a public address.
    #[schema(max_length = 2048)]
    pub url: String,
    /// Event types (`session.org_switched`), families (`membership.*`) or `*`; 1 to 50.
    pub events: Vec<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

const ENDPOINT_COLS: &str =
    "id, url, events, CASE WHEN enabled THEN 1 ELSE 0 END, disabled_reason, created_at, updated_at";

fn endpoint(r: &AnyRow) -> Result<WebhookEndpointView, sqlx::Error> {
    let events: String = r.try_get(2)?;
    Ok(WebhookEndpointView {
        id: r.try_get(0)?,
        url: r.try_get(1)?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        enabled: r.try_get::<i64, _>(3)? != 0,
        disabled_reason: r.try_get(4)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

fn check_target(st: &AppState, url: &str) -> ApiResult<String> {
    match check_url(url, st.webhooks.allow_private) {
        Ok(u) => Ok(u.to_string()),
        Err(UrlProblem::Invalid) => {
            Err(ApiError::invalid_field("url", "url must be an absolute http(s) URL of at most 2048 characters"))
        }
        Err(UrlProblem::NotAllowed) => {
            let e = ApiError::new(
                StatusCode::BAD_REQUEST,
                "webhook_url_not_allowed",
                "the url points at a private, loopback or link-local address",
            )
            .with_field("url");
            Err(e)
        }
    }
}

fn check_filters(events: &[String]) -> ApiResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for e in events {
        let e = e.trim().to_string();
        if !out.contains(&e) {
            out.push(e);
        }
    }
    authio_domain::webhook::ensure_filters(&out).map_err(|_| {
        ApiError::invalid_field("events", "events are 1 to 50 event types, families like `membership.*`, or `*`")
    })?;
    Ok(out)
}

async fn load_endpoint(db: &Db, id: &str, project: &str) -> ApiResult<Loaded<WebhookEndpoint>> {
    let e = db.load::<WebhookEndpoint>(id).await?;
    if e.state.is_live() && e.state.project_id.as_ref().map(TenantId::as_str) == Some(project) {
        Ok(e)
    } else {
        Err(ApiError::not_found())
    }
}

async fn view(st: &AppState, id: &str, project: &str) -> ApiResult<WebhookEndpointView> {
    views::one(&st.db, ENDPOINT_COLS, "webhook_endpoints", id, project, endpoint).await
}

/// Subscribe a URL to the project's events. The answer holds the signing secret, shown
/// this once.
#[utoipa::path(post, path = "/v1/webhook-endpoints", tag = "webhooks", request_body = CreateWebhookEndpoint,
    security(("secret_key" = [])), responses((status = 201, body = CreatedWebhookEndpoint),
    (status = 400, description = "`invalid_request`, `webhook_url_not_allowed`", body = crate::error::ErrorBody), Errors))]
pub async fn create_endpoint(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Json(body): Json<CreateWebhookEndpoint>,
) -> ApiResult<(StatusCode, axum::Json<CreatedWebhookEndpoint>)> {
    let url = check_target(&st, &body.url)?;
    let events = check_filters(&body.events)?;
    let enabled = body.enabled.unwrap_or(true);
    let id = new_id("whep_");
    let secret = new_secret();
    let meta = ctx.metadata(&key.actor());
    let now = Utc::now();
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut e = st.db.load::<WebhookEndpoint>(&id).await?;
        e.exec(WebhookCommand::Create {
            endpoint_id: WebhookEndpointId::new(&id),
            project_id: TenantId::new(&key.project_id),
            url: url.clone(),
            events: events.clone(),
            enabled,
            at: now,
        })
        .await?;
        c.add(e)?;
        c.side_write(
            "INSERT INTO webhook_secrets (endpoint_id, secret, updated_at) VALUES ($1, $2, $3)",
            vec![SqlArg::Text(id.clone()), SqlArg::Text(secret.clone()), SqlArg::Text(time_text(now))],
        );
        Ok(c)
    })?;
    // The answer is the endpoint as committed (the read model shows the same values), not
    // read back: the commit's wait for the read models is bounded (10 s), and they may
    // still lag behind it (the pipeline is behind, or a long transaction elsewhere in the
    // cluster holds the stamp back).
    let created = CreatedWebhookEndpoint { id, url, events, secret, enabled, created_at: time_text(now) };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

/// The project's webhook endpoints.
#[utoipa::path(get, path = "/v1/webhook-endpoints", tag = "webhooks", params(Page),
    security(("secret_key" = [])), responses((status = 200, body = WebhookEndpointList), Errors))]
pub async fn list_endpoints(
    State(st): State<AppState>,
    key: SecretKey,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<WebhookEndpointList>> {
    let (data, next_cursor) = views::page_where(
        &st.db,
        ENDPOINT_COLS,
        "webhook_endpoints",
        ("project_id", &key.project_id),
        &page,
        endpoint,
        |e| e.id.clone(),
    )
    .await?;
    Ok(axum::Json(WebhookEndpointList { data, next_cursor }))
}

#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 200, body = WebhookEndpointView), Errors))]
pub async fn get_endpoint(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<WebhookEndpointView>> {
    Ok(axum::Json(view(&st, &id, &key.project_id).await?))
}

/// Change the URL, the filters, or turn deliveries off (`enabled: false`) and on.
#[utoipa::path(patch, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = UpdateWebhookEndpoint, security(("secret_key" = [])),
    responses((status = 200, body = WebhookEndpointView), Errors))]
pub async fn update_endpoint(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<UpdateWebhookEndpoint>,
) -> ApiResult<axum::Json<WebhookEndpointView>> {
    let url = body.url.as_deref().map(|u| check_target(&st, u)).transpose()?;
    let events = body.events.as_deref().map(check_filters).transpose()?;
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut e = load_endpoint(&st.db, &id, &key.project_id).await?;
        let at = Utc::now();
        e.exec(WebhookCommand::Update { url: url.clone(), events: events.clone(), at }).await?;
        match body.enabled {
            Some(true) => e.exec(WebhookCommand::Enable { at }).await?,
            Some(false) => e.exec(WebhookCommand::Disable { reason: DisableReason::Manual, at }).await?,
            None => {}
        }
        c.add(e)?;
        Ok(c)
    })?;
    Ok(axum::Json(view(&st, &id, &key.project_id).await?))
}

/// Delete an endpoint, its secret and its delivery log.
#[utoipa::path(delete, path = "/v1/webhook-endpoints/{id}", tag = "webhooks", params(("id" = String, Path)),
    security(("secret_key" = [])), responses((status = 204, description = "deleted"), Errors))]
pub async fn delete_endpoint(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&key.actor());
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut e = load_endpoint(&st.db, &id, &key.project_id).await?;
        e.exec(WebhookCommand::Delete { at: Utc::now() }).await?;
        c.add(e)?;
        c.side_write("DELETE FROM webhook_secrets WHERE endpoint_id = $1", vec![SqlArg::Text(id.clone())]);
        c.side_write(
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)",
            vec![SqlArg::Text(id.clone())],
        );
        c.side_write("DELETE FROM webhook_deliveries WHERE endpoint_id = $1", vec![SqlArg::Text(id.clone())]);
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new signing secret, shown once. For 24 h deliveries carry two signatures (new and
/// previous secret), so receivers can switch without losing a delivery.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path)), security(("secret_key" = [])),
    responses((status = 200, body = RotatedSecret), Errors))]
pub async fn rotate_secret(
    State(st): State<AppState>,
    key: SecretKey,
    ctx: RequestContext,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<RotatedSecret>> {
    let secret = new_secret();
    let meta = ctx.metadata(&key.actor());
    let now = Utc::now();
    let expires = now + OVERLAP;
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut e = load_endpoint(&st.db, &id, &key.project_id).await?;
        e.exec(WebhookCommand::RotateSecret { previous_expires_at: expires, at: now }).await?;
        c.add(e)?;
        c.side_write_exactly_one(
            "UPDATE webhook_secrets SET previous_secret = secret, previous_expires_at = $2, secret = $3, \
             updated_at = $4 WHERE endpoint_id = $1",
            vec![
                SqlArg::Text(id.clone()),
                SqlArg::Text(time_text(expires)),
                SqlArg::Text(secret.clone()),
                SqlArg::Text(time_text(now)),
            ],
            "concurrent_modification",
        );
        Ok(c)
    })?;
    Ok(axum::Json(RotatedSecret { secret, previous_secret_expires_at: time_text(expires) }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `failed`.
    pub status: Option<String>,
    /// Deliveries older than this position (the previous page's `next_cursor`).
    pub after: Option<String>,
    /// 1..=100, default 20.
    pub limit: Option<i64>,
}

const DELIVERY_COLS: &str = "id, event_id, event_type, position, status, attempts, last_status_code, last_error, \
     CASE WHEN status = 'pending' THEN next_attempt_at END, created_at, updated_at";

fn delivery(r: &AnyRow) -> Result<DeliveryView, sqlx::Error> {
    Ok(DeliveryView {
        id: r.try_get(0)?,
        event_id: r.try_get(1)?,
        event_type: r.try_get(2)?,
        position: r.try_get(3)?,
        status: r.try_get(4)?,
        tries: r.try_get(5)?,
        status_code: r.try_get(6)?,
        latency_ms: None,
        last_error: r.try_get(7)?,
        next_retry_at: r.try_get(8)?,
        created_at: r.try_get(9)?,
        updated_at: r.try_get(10)?,
        attempts: Vec::new(),
    })
}

/// Fill in each delivery's tries (oldest first) and the last try's latency.
async fn with_attempts(db: &Db, endpoint_id: &str, mut list: Vec<DeliveryView>) -> ApiResult<Vec<DeliveryView>> {
    let (Some(lo), Some(hi)) = (list.iter().map(|d| d.position).min(), list.iter().map(|d| d.position).max()) else {
        return Ok(list);
    };
    let rows = sqlx::query(
        "SELECT a.delivery_id, a.attempt, a.status_code, a.error, a.latency_ms, a.at FROM webhook_attempts a \
         JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.endpoint_id = $1 AND d.position >= $2 AND d.position <= $3 ORDER BY a.delivery_id, a.attempt",
    )
    .bind(endpoint_id)
    .bind(lo)
    .bind(hi)
    .fetch_all(&db.pool)
    .await?;
    for r in rows {
        let delivery_id: String = r.try_get(0)?;
        if let Some(d) = list.iter_mut().find(|d| d.id == delivery_id) {
            d.attempts.push(AttemptView {
                attempt: r.try_get(1)?,
                status_code: r.try_get(2)?,
                error: r.try_get(3)?,
                latency_ms: r.try_get(4)?,
                at: r.try_get(5)?,
            });
        }
    }
    for d in &mut list {
        d.latency_ms = d.attempts.last().map(|a| a.latency_ms);
    }
    Ok(list)
}

/// The endpoint's deliveries, newest first, each with its tries: event id, try number,
/// status code or error, latency, and when the next retry is due.
#[utoipa::path(get, path = "/v1/webhook-endpoints/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryQuery), security(("secret_key" = [])),
    responses((status = 200, body = DeliveryList), Errors))]
pub async fn list_deliveries(
    State(st): State<AppState>,
    key: SecretKey,
    Path(id): Path<String>,
    Query(q): Query<DeliveryQuery>,
) -> ApiResult<axum::Json<DeliveryList>> {
    view(&st, &id, &key.project_id).await?;
    let limit = Page { limit: q.limit, after: None }.limit()?;
    let before = match q.after.as_deref() {
        None | Some("") => i64::MAX,
        Some(a) => a
            .parse::<i64>()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| ApiError::invalid_field("after", "after must be a position (a non-negative integer)"))?,
    };
    if let Some(s) = q.status.as_deref() {
        if !matches!(s, "pending" | "delivered" | "failed") {
            return Err(ApiError::invalid_field("status", "status is pending, delivered or failed"));
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE endpoint_id = $1 AND position < $2 \
         AND ($3 IS NULL OR status = $3) ORDER BY position DESC LIMIT $4"
    ))
    .bind(&id)
    .bind(before)
    .bind(q.status.as_deref())
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    let items = rows.iter().map(delivery).collect::<Result<Vec<_>, _>>()?;
    let (data, next_cursor) = views::paginate(items, limit, |d: &DeliveryView| d.position.to_string());
    let data = with_attempts(&st.db, &id, data).await?;
    Ok(axum::Json(DeliveryList { data, next_cursor }))
}

/// Send a delivery again now (pending, due at once), whatever its status.
#[utoipa::path(post, path = "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", tag = "webhooks",
    params(("id" = String, Path), ("delivery_id" = String, Path)), security(("secret_key" = [])),
    responses((status = 200, body = DeliveryView), Errors))]
pub async fn retry_delivery(
    State(st): State<AppState>,
    key: SecretKey,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<axum::Json<DeliveryView>> {
    view(&st, &id, &key.project_id).await?;
    let now = time_text(Utc::now());
    let done = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, lease_until = NULL, updated_at = $3 \
         WHERE id = $1 AND endpoint_id = $2 AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(&delivery_id)
    .bind(&id)
    .bind(&now)
    .execute(&st.db.pool)
    .await?;
    let row =
        sqlx::query(&format!("SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2"))
            .bind(&delivery_id)
            .bind(&id)
            .fetch_optional(&st.db.pool)
            .await?
            .ok_or_else(ApiError::not_found)?;
    if done.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "delivery_in_flight",
            "the delivery is being sent right now; try again shortly",
        ));
    }
    st.webhooks.kick.notify_one();
    let list = with_attempts(&st.db, &id, vec![delivery(&row)?]).await?;
    list.into_iter().next().map(axum::Json).ok_or_else(ApiError::internal)
}
