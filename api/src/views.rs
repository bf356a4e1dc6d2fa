//! Response bodies and the read-model queries behind them.
use crate::error::{ApiError, ApiResult};
use authio_eventstore::Db;
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct TenantView {
    pub id: String,
    pub name: String,
    pub slug: String,
    /// `b2b`, `flat` or `b2c`.
    #[schema(value_type = crate::routes::console::ModeParam)]
    pub mode: String,
    pub organizations_count: i64,
    /// The algorithm that signs the project's access tokens: `EdDSA` or `ES256`.
    #[schema(value_type = crate::routes::console::AlgorithmParam)]
    pub token_algorithm: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// `test` or `live`.
    #[schema(value_type = crate::routes::console::EnvironmentParam)]
    pub environment: String,
    /// The secret's prefix (`sk_test_` or `sk_live_`); the secret itself is never shown again.
    pub secret_prefix: String,
    pub secret_last_four: String,
    pub publishable_key: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    #[schema(value_type = crate::routes::console::EnvironmentParam)]
    pub environment: String,
    /// Shown once; only its hash is stored.
    pub secret: String,
    pub publishable_key: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email_verified: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
pub struct OrganizationView {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub domains: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, PartialEq)]
pub struct MembershipView {
    pub id: String,
    pub user_id: String,
    pub organization_id: String,
    pub role: String,
    /// `pending`, `active` or `inactive`.
    #[schema(value_type = MembershipStatus)]
    pub status: String,
    #[schema(format = DateTime)]
    pub joined_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

macro_rules! list_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `after` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
list_type!(TenantList, TenantView);
list_type!(ApiKeyList, ApiKeyView);
list_type!(UserList, UserView);
list_type!(OrganizationList, OrganizationView);
list_type!(MembershipList, MembershipView);

/// A membership's status, for the OpenAPI document (the views carry it as text).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(rename_all = "snake_case")]
pub enum MembershipStatus {
    Pending,
    Active,
    Inactive,
}

/// `?limit=` (1..=100, default 20) and `?after=<cursor>`.
#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct Page {
    pub limit: Option<i64>,
    pub after: Option<String>,
}

/// `limit` (1..=100, default 20).
pub fn check_limit(limit: Option<i64>) -> ApiResult<i64> {
    match limit {
        None => Ok(20),
        Some(l) if (1..=100).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::invalid_field("limit", "limit must be between 1 and 100")),
    }
}

impl Page {
    pub fn limit(&self) -> ApiResult<i64> {
        check_limit(self.limit)
    }
    /// The cursor: empty for the first page, else an id as a page's `next_cursor` gives
    /// it (`<prefix>_<lowercase letters and digits>`, at most 64 bytes); anything else is
    /// `400 invalid_cursor`.
    pub fn after(&self) -> ApiResult<&str> {
        let after = self.after.as_deref().unwrap_or("");
        if after.is_empty() || is_id_cursor(after) {
            Ok(after)
        } else {
            let e = ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "after must be a next_cursor of this list",
            )
            .with_field("after");
            Err(e)
        }
    }
}

/// Whether `c` has the form of an id: `<prefix>_<suffix>`, both lowercase ASCII letters
/// and digits (the suffix may hold more `_`), at most 64 bytes.
fn is_id_cursor(c: &str) -> bool {
    let Some((prefix, rest)) = c.split_once('_') else { return false };
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    c.len() <= 64 && word(prefix) && word(rest)
}

/// Cut a `limit + 1` fetch into a page and its cursor.
pub fn paginate<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> String) -> (Vec<T>, Option<String>) {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        let cursor = rows.last().map(id);
        (rows, cursor)
    } else {
        (rows, None)
    }
}

pub const TENANT_COLS: &str = "id, name, slug, mode, organizations_count, created_at, updated_at, token_algorithm";
pub fn tenant(r: &AnyRow) -> Result<TenantView, sqlx::Error> {
    Ok(TenantView {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        slug: r.try_get(2)?,
        mode: r.try_get(3)?,
        organizations_count: r.try_get(4)?,
        token_algorithm: r.try_get(7)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

pub const API_KEY_COLS: &str =
    "id, name, environment, secret_prefix, secret_last_four, publishable_key, created_at, revoked_at";
pub fn api_key(r: &AnyRow) -> Result<ApiKeyView, sqlx::Error> {
    Ok(ApiKeyView {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        environment: r.try_get(2)?,
        secret_prefix: r.try_get(3)?,
        secret_last_four: r.try_get(4)?,
        publishable_key: r.try_get(5)?,
        created_at: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}

pub const USER_COLS: &str = "id, email, first_name, last_name, \
    CASE WHEN email_verified THEN 1 ELSE 0 END, created_at, updated_at";
pub fn user(r: &AnyRow) -> Result<UserView, sqlx::Error> {
    Ok(UserView {
        id: r.try_get(0)?,
        email: r.try_get(1)?,
        first_name: r.try_get(2)?,
        last_name: r.try_get(3)?,
        email_verified: r.try_get::<i64, _>(4)? != 0,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

pub const ORG_COLS: &str = "id, name, slug, domains, created_at, updated_at";
pub fn organization(r: &AnyRow) -> Result<OrganizationView, sqlx::Error> {
    let domains: String = r.try_get(3)?;
    Ok(OrganizationView {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        slug: r.try_get(2)?,
        domains: serde_json::from_str(&domains).unwrap_or_default(),
        created_at: r.try_get(4)?,
        updated_at: r.try_get(5)?,
    })
}

pub const MEMBERSHIP_COLS: &str = "id, user_id, organization_id, role, status, joined_at, created_at, updated_at";
pub fn membership(r: &AnyRow) -> Result<MembershipView, sqlx::Error> {
    Ok(MembershipView {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        organization_id: r.try_get(2)?,
        role: r.try_get(3)?,
        status: r.try_get(4)?,
        joined_at: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

/// One page of the rows of `table` whose `column` equals `value` (`filter`), in id
/// order, and the cursor of the next page.
pub async fn page_where<T>(
    db: &Db,
    cols: &str,
    table: &str,
    (column, value): (&str, &str),
    page: &Page,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
    id: fn(&T) -> String,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let limit = page.limit()?;
    let rows = sqlx::query(&format!("SELECT {cols} FROM {table} WHERE {column} = $1 AND id > $2 ORDER BY id LIMIT $3"))
        .bind(value)
        .bind(page.after()?)
        .bind(limit + 1)
        .fetch_all(&db.pool)
        .await?;
    let items = rows.iter().map(map).collect::<Result<Vec<_>, _>>()?;
    Ok(paginate(items, limit, id))
}

/// Fetch one row of `table` by id within a project, or 404.
pub async fn one<T>(
    db: &Db,
    cols: &str,
    table: &str,
    id: &str,
    project_id: &str,
    map: fn(&AnyRow) -> Result<T, sqlx::Error>,
) -> ApiResult<T> {
    let row = sqlx::query(&format!("SELECT {cols} FROM {table} WHERE id = $1 AND project_id = $2"))
        .bind(id)
        .bind(project_id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(map(&row)?)
}
