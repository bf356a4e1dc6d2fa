//! The dashboard's session API: tenants, mode, API keys (console session `cs_…`).
use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::Errors;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Console, Json, Query, RequestContext};
use crate::views::{self, ApiKeyList, CreatedApiKey, Page, TenantList, TenantView};
use crate::AppState;
use authio_domain::ids::{ApiKeyId, OperatorId, TenantId};
use authio_domain::tenant::{Environment, Tenant, TenantCommand, TenantMode, TokenAlgorithm};
use authio_eventstore::{time_text, Changes, SqlArg};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModeParam {
    B2b,
    Flat,
    B2c,
}

impl From<ModeParam> for TenantMode {
    fn from(m: ModeParam) -> Self {
        match m {
            ModeParam::B2b => TenantMode::B2b,
            ModeParam::Flat => TenantMode::Flat,
            ModeParam::B2c => TenantMode::B2c,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    /// Default `b2b`.
    pub mode: Option<ModeParam>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: Option<String>,
    #[schema(pattern = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    pub slug: Option<String>,
    pub mode: Option<ModeParam>,
    /// The algorithm that signs the project's access tokens from now on (tokens issued
    /// before keep verifying).
    pub token_algorithm: Option<AlgorithmParam>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum AlgorithmParam {
    EdDSA,
    ES256,
}

impl From<AlgorithmParam> for TokenAlgorithm {
    fn from(a: AlgorithmParam) -> Self {
        match a {
            AlgorithmParam::EdDSA => TokenAlgorithm::EdDSA,
            AlgorithmParam::ES256 => TokenAlgorithm::ES256,
        }
    }
}

pub(crate) fn check_name(field: &str, name: &str) -> ApiResult<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 || n.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(field, format!("{field} must be 1 to 200 printable characters")));
    }
    Ok(n.to_string())
}

pub(crate) fn check_slug(slug: &str) -> ApiResult<String> {
    if authio_domain::is_valid_slug(slug) {
        Ok(slug.to_string())
    } else {
        Err(ApiError::invalid_field(
            "slug",
            "slug must be 1 to 63 of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}

/// The slug given, or one derived from the name (or the id when the name has no letters).
pub(crate) fn slug_or_derived(slug: Option<&str>, name: &str, id: &str) -> ApiResult<String> {
    match slug {
        Some(s) => check_slug(s),
        None => {
            let s = authio_domain::slugify(name);
            Ok(if s.is_empty() { id.replace('_', "-") } else { s })
        }
    }
}

/// A tenant the caller owns, or 404.
async fn owned(st: &AppState, console: &Console, id: &str) -> ApiResult<TenantView> {
    let row = sqlx::query(&format!("SELECT {} FROM tenants WHERE id = $1 AND owner_id = $2", views::TENANT_COLS))
        .bind(id)
        .bind(&console.operator_id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(views::tenant(&row)?)
}

/// Create a tenant; the caller becomes its owner and it becomes the session's active tenant.
#[utoipa::path(post, path = "/v1/session/tenants", tag = "tenants", request_body = CreateTenant,
    security(("console" = [])), responses((status = 201, body = TenantView), Errors))]
pub async fn create_tenant(
    State(st): State<AppState>,
    console: Console,
    ctx: RequestContext,
    Json(body): Json<CreateTenant>,
) -> ApiResult<(StatusCode, axum::Json<TenantView>)> {
    let name = check_name("name", &body.name)?;
    let tenant_id = new_id("proj_");
    let slug = slug_or_derived(body.slug.as_deref(), &name, &tenant_id)?;
    let mode = body.mode.map(TenantMode::from).unwrap_or_default();
    let meta = ctx.metadata(&console.actor());
    crate::execute!(st, &meta, {
        let mut t = st.db.load::<Tenant>(&tenant_id).await?;
        t.exec(TenantCommand::Create {
            tenant_id: TenantId::new(&tenant_id),
            name: name.clone(),
            slug: slug.clone(),
            mode,
            owner: OperatorId::new(&console.operator_id),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(t)?;
        c.side_write(
            "UPDATE console_sessions SET active_tenant_id = $1 WHERE session_id = $2",
            vec![SqlArg::Text(tenant_id.clone()), SqlArg::Text(console.session_id.clone())],
        );
        Ok(c)
    })?;
    Ok((StatusCode::CREATED, axum::Json(owned(&st, &console, &tenant_id).await?)))
}

/// The tenants the caller owns.
#[utoipa::path(get, path = "/v1/session/tenants/me", tag = "tenants", params(Page),
    security(("console" = [])), responses((status = 200, body = TenantList), Errors))]
pub async fn my_tenants(
    State(st): State<AppState>,
    console: Console,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<TenantList>> {
    let (data, next_cursor) = views::page_where(
        &st.db,
        views::TENANT_COLS,
        "tenants",
        ("owner_id", &console.operator_id),
        &page,
        views::tenant,
        |t| t.id.clone(),
    )
    .await?;
    Ok(axum::Json(TenantList { data, next_cursor }))
}

/// One tenant with its mode and organization count.
#[utoipa::path(get, path = "/v1/session/tenants/{id}", tag = "tenants", params(("id" = String, Path)),
    security(("console" = [])), responses((status = 200, body = TenantView), Errors))]
pub async fn get_tenant(
    State(st): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TenantView>> {
    Ok(axum::Json(owned(&st, &console, &id).await?))
}

/// Rename, re-slug or change the mode (owners only).
#[utoipa::path(patch, path = "/v1/session/tenants/{id}", tag = "tenants", params(("id" = String, Path)),
    request_body = UpdateTenant, security(("console" = [])), responses((status = 200, body = TenantView), Errors))]
pub async fn update_tenant(
    State(st): State<AppState>,
    console: Console,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<UpdateTenant>,
) -> ApiResult<axum::Json<TenantView>> {
    owned(&st, &console, &id).await?;
    let name = body.name.as_deref().map(|n| check_name("name", n)).transpose()?;
    let slug = body.slug.as_deref().map(check_slug).transpose()?;
    let meta = ctx.metadata(&console.actor());
    crate::execute!(st, &meta, {
        let mut t = st.db.load::<Tenant>(&id).await?;
        t.exec(TenantCommand::Update {
            by: OperatorId::new(&console.operator_id),
            name: name.clone(),
            slug: slug.clone(),
            mode: body.mode.map(TenantMode::from),
        })
        .await?;
        if let Some(algorithm) = body.token_algorithm {
            let by = OperatorId::new(&console.operator_id);
            t.exec(TenantCommand::SetTokenAlgorithm { by, algorithm: algorithm.into() }).await?;
        }
        let mut c = Changes::new();
        c.add(t)?;
        Ok(c)
    })?;
    if body.token_algorithm.is_some() {
        st.keys.forget_algorithm(&id);
    }
    Ok(axum::Json(owned(&st, &console, &id).await?))
}

/// Make this tenant the session's active tenant.
#[utoipa::path(post, path = "/v1/session/tenants/{id}/select", tag = "tenants", params(("id" = String, Path)),
    security(("console" = [])), responses((status = 200, body = TenantView), Errors))]
pub async fn select_tenant(
    State(st): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TenantView>> {
    let t = owned(&st, &console, &id).await?;
    sqlx::query("UPDATE console_sessions SET active_tenant_id = $1 WHERE session_id = $2")
        .bind(&id)
        .bind(&console.session_id)
        .execute(&st.db.pool)
        .await?;
    Ok(axum::Json(t))
}

#[derive(Serialize, ToSchema)]
pub struct OperatorView {
    pub id: String,
    pub email: String,
}

#[derive(Serialize, ToSchema)]
pub struct ChecklistItem {
    pub id: String,
    pub title: String,
    pub done: bool,
}

#[derive(Serialize, ToSchema)]
pub struct Home {
    pub operator: OperatorView,
    /// The session's active tenant, if one is selected.
    pub tenant: Option<TenantView>,
    pub checklist: Vec<ChecklistItem>,
}

fn item(id: &str, title: &str, done: bool) -> ChecklistItem {
    ChecklistItem { id: id.into(), title: title.into(), done }
}

/// The console's home: operator, active tenant and a checklist that follows the mode.
#[utoipa::path(get, path = "/v1/session/home", tag = "tenants",
    security(("console" = [])), responses((status = 200, body = Home), Errors))]
pub async fn home(State(st): State<AppState>, console: Console) -> ApiResult<axum::Json<Home>> {
    let email: Option<String> = sqlx::query_scalar("SELECT email FROM operators WHERE id = $1")
        .bind(&console.operator_id)
        .fetch_optional(&st.db.pool)
        .await?;
    let tenant = match &console.active_tenant_id {
        Some(id) => owned(&st, &console, id).await.ok(),
        None => None,
    };
    let checklist = match &tenant {
        None => vec![item("create_tenant", "Create a project", false)],
        Some(t) => match t.mode.as_str() {
            "b2b" => vec![
                item("create_organization", "Create an organization", t.organizations_count > 0),
                item("set_up_sso", "Set up SSO", false),
            ],
            "flat" => {
                let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE project_id = $1")
                    .bind(&t.id)
                    .fetch_one(&st.db.pool)
                    .await?;
                vec![item("invite_first_user", "Invite the first user", users > 0)]
            }
            _ => vec![
                item("add_social_provider", "Add a social provider", false),
                item("customize_branding", "Customize branding", false),
            ],
        },
    };
    Ok(axum::Json(Home {
        operator: OperatorView { id: console.operator_id.clone(), email: email.unwrap_or_default() },
        tenant,
        checklist,
    }))
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentParam {
    Test,
    Live,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub name: String,
    pub environment: EnvironmentParam,
}

/// Create a secret key (shown once) and its publishable key.
#[utoipa::path(post, path = "/v1/session/tenants/{id}/api-keys", tag = "api keys", params(("id" = String, Path)),
    request_body = CreateApiKey, security(("console" = [])), responses((status = 201, body = CreatedApiKey), Errors))]
pub async fn create_api_key(
    State(st): State<AppState>,
    console: Console,
    ctx: RequestContext,
    Path(id): Path<String>,
    Json(body): Json<CreateApiKey>,
) -> ApiResult<(StatusCode, axum::Json<CreatedApiKey>)> {
    owned(&st, &console, &id).await?;
    let name = check_name("name", &body.name)?;
    let environment = match body.environment {
        EnvironmentParam::Test => Environment::Test,
        EnvironmentParam::Live => Environment::Live,
    };
    let env = environment.as_str();
    let key_id = new_id("key_");
    let secret = new_secret(&format!("sk_{env}_"));
    let publishable_key = new_secret(&format!("pk_{env}_"));
    let last_four = secret[secret.len() - 4..].to_string();
    let now = Utc::now();
    let meta = ctx.metadata(&console.actor());
    crate::execute!(st, &meta, {
        let mut t = st.db.load::<Tenant>(&id).await?;
        t.exec(TenantCommand::CreateApiKey {
            by: OperatorId::new(&console.operator_id),
            key_id: ApiKeyId::new(&key_id),
            name: name.clone(),
            environment,
            secret_prefix: format!("sk_{env}_"),
            secret_last_four: last_four.clone(),
            publishable_key: publishable_key.clone(),
            at: now,
        })
        .await?;
        let mut c = Changes::new();
        c.add(t)?;
        c.side_write(
            "INSERT INTO api_key_secrets (secret_hash, key_id, tenant_id, environment) VALUES ($1, $2, $3, $4)",
            vec![
                SqlArg::Text(hash_secret(&secret)),
                SqlArg::Text(key_id.clone()),
                SqlArg::Text(id.clone()),
                SqlArg::Text(env.to_string()),
            ],
        );
        Ok(c)
    })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedApiKey {
            id: key_id,
            name,
            environment: env.to_string(),
            secret,
            publishable_key,
            created_at: time_text(now),
        }),
    ))
}

/// The tenant's keys, without secrets.
#[utoipa::path(get, path = "/v1/session/tenants/{id}/api-keys", tag = "api keys", params(("id" = String, Path), Page),
    security(("console" = [])), responses((status = 200, body = ApiKeyList), Errors))]
pub async fn list_api_keys(
    State(st): State<AppState>,
    console: Console,
    Path(id): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<axum::Json<ApiKeyList>> {
    owned(&st, &console, &id).await?;
    let (data, next_cursor) =
        views::page_where(&st.db, views::API_KEY_COLS, "api_keys", ("tenant_id", &id), &page, views::api_key, |k| {
            k.id.clone()
        })
        .await?;
    Ok(axum::Json(ApiKeyList { data, next_cursor }))
}

/// Revoke a key: it answers 401 from this moment on.
#[utoipa::path(delete, path = "/v1/session/tenants/{id}/api-keys/{key_id}", tag = "api keys",
    params(("id" = String, Path), ("key_id" = String, Path)),
    security(("console" = [])), responses((status = 204, description = "revoked"), Errors))]
pub async fn revoke_api_key(
    State(st): State<AppState>,
    console: Console,
    ctx: RequestContext,
    Path((id, key_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    owned(&st, &console, &id).await?;
    let meta = ctx.metadata(&console.actor());
    crate::execute!(st, &meta, {
        let mut t = st.db.load::<Tenant>(&id).await?;
        t.exec(TenantCommand::RevokeApiKey {
            by: OperatorId::new(&console.operator_id),
            key_id: ApiKeyId::new(&key_id),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(t)?;
        c.side_write("DELETE FROM api_key_secrets WHERE key_id = $1", vec![SqlArg::Text(key_id.clone())]);
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sign this console session out: its token answers 401 from this moment on
/// (`operator.console_session_closed`). Other console sessions of the operator stay.
#[utoipa::path(post, path = "/v1/session/sign-out", tag = "console sign-in",
    security(("console" = [])), responses((status = 204, description = "signed out"), Errors))]
pub async fn sign_out(State(st): State<AppState>, console: Console, ctx: RequestContext) -> ApiResult<StatusCode> {
    let meta = ctx.metadata(&console.actor());
    crate::execute!(st, &meta, {
        let mut op = st.db.load::<authio_domain::operator::Operator>(&console.operator_id).await?;
        op.exec(authio_domain::operator::OperatorCommand::CloseConsoleSession {
            session_id: console.session_id.clone(),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(op)?;
        c.side_write(
            "DELETE FROM console_sessions WHERE session_id = $1",
            vec![SqlArg::Text(console.session_id.clone())],
        );
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT)
}
