//! SCIM 2.0 (RFC 7643/7644): an organization's identity provider provisions its users
//! through a directory, at `/scim/v2/{directory_id}`, with the directory's bearer token.
//! A provisioned user is the project's one user for that email (created or linked,
//! never duplicated), with a membership in the directory's organization: `active:false`
//! deactivates that membership (and cuts the user's contexts there in the same commit),
//! DELETE removes it; the user and their other organizations are never touched. Every
//! change is recorded with the directory as its actor. A directory's writes take the
//! turn of its organization's stream in this process (`Db::stream_turn`), as the REST
//! membership commands do: an identity provider provisions in parallel, and its writes
//! append to the organization's stream and the directory's.
//!
//! Users (create, read, filter `eq` with `and`/`or`, pages, replace, PATCH in Okta's and
//! Entra's shapes, delete), Groups (the same, and their mappings to roles and teams:
//! `groups`) and the discovery documents.
pub mod filter;
pub mod groups;
pub mod patch;

use crate::crypto::{hash_secret, new_id, new_secret};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::directory::{Directory, DirectoryCommand, LinkedUser};
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::organization::{Authority, MembershipStatus, Organization, OrganizationCommand};
use authio_domain::reservation::{user_email_key, Reservation, ReservationCommand};
use authio_domain::user::{User, UserCommand};
use authio_domain::Actor;
use authio_eventstore::{Changes, Loaded, Metadata, SqlArg};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const CONTENT_TYPE: &str = "application/scim+json";
/// At most this many resources a page (`count`).
const MAX_COUNT: usize = 200;

// ---------------------------------------------------------------- errors

/// A SCIM error answer (RFC 7644 §3.12), as `application/scim+json`.
#[derive(Debug)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }
    fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }
    fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, None, "no such resource")
    }
}

/// Every API error has a SCIM answer: its status, a `scimType` where RFC 7644 has one.
impl From<ApiError> for ScimError {
    fn from(e: ApiError) -> Self {
        let scim_type = match e.code {
            "email_taken" | "membership_exists" | "already_member" | "group_name_taken" => Some("uniqueness"),
            "invalid_request" | "unknown_role" | "unknown_group_member" => Some("invalidValue"),
            _ => None,
        };
        let status = if e.code == "membership_exists" { StatusCode::CONFLICT } else { e.status };
        ScimError::new(status, scim_type, e.message)
    }
}

impl From<sqlx::Error> for ScimError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::from(e).into()
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body =
            json!({ "schemas": [ERROR_SCHEMA], "status": self.status.as_u16().to_string(), "detail": self.detail });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        scim_json(self.status, &body)
    }
}

fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

type ScimResult<T> = Result<T, ScimError>;

// ---------------------------------------------------------------- directories (REST)

#[derive(Debug, Serialize, ToSchema)]
pub struct DirectoryView {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    /// The SCIM base URL to give the identity provider.
    pub base_url: String,
    /// The bearer token, shown once (at creation and rotation), stored hashed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn token_write(c: &mut Changes, directory: &str, project: &str) -> String {
    let token = new_secret("scim_");
    // One statement: the directory's row is replaced in place (a rotation).
    c.side_write(
        "INSERT INTO directory_tokens (token_hash, directory_id, project_id) VALUES ($1, $2, $3) \
         ON CONFLICT (directory_id) DO UPDATE SET token_hash = excluded.token_hash",
        vec![SqlArg::Text(hash_secret(&token)), SqlArg::Text(directory.into()), SqlArg::Text(project.into())],
    );
    token
}

pub async fn directory(st: &AppState, org: &str, id: &str) -> ApiResult<DirectoryView> {
    let row = sqlx::query(
        "SELECT id, organization_id, name, created_at, updated_at FROM directories WHERE id = $1 AND organization_id = $2",
    )
    .bind(id)
    .bind(org)
    .fetch_optional(&st.db.pool)
    .await?
    .ok_or_else(ApiError::not_found)?;
    let id: String = row.try_get(0)?;
    Ok(DirectoryView {
        base_url: format!("{}/scim/v2/{id}", st.keys.issuer),
        id,
        organization_id: row.try_get(1)?,
        name: row.try_get(2)?,
        token: None,
        created_at: row.try_get(3)?,
        updated_at: row.try_get(4)?,
    })
}

pub async fn directories(st: &AppState, org: &str) -> ApiResult<Vec<DirectoryView>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM directories WHERE organization_id = $1 ORDER BY id")
        .bind(org)
        .fetch_all(&st.db.pool)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(directory(st, org, &id).await?);
    }
    Ok(out)
}

pub async fn create_directory(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: &str,
    name: &str,
) -> ApiResult<DirectoryView> {
    let id = new_id("dir_");
    let mut token = String::new();
    crate::execute!(st, meta, {
        let mut d = Loaded::<Directory>::fresh(&id);
        d.exec(DirectoryCommand::Create {
            directory_id: id.clone(),
            project_id: TenantId::new(project),
            organization_id: OrganizationId::new(org),
            name: name.to_string(),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(d)?;
        token = token_write(&mut c, &id, project);
        Ok(c)
    })?;
    let mut view = directory(st, org, &id).await?;
    view.token = Some(token);
    Ok(view)
}

async fn load_directory(st: &AppState, org: &str, id: &str) -> ApiResult<Loaded<Directory>> {
    let d = st.db.load::<Directory>(id).await?;
    if d.state.is_live() && d.state.organization_id.as_ref().is_some_and(|o| o.as_str() == org) {
        Ok(d)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn rotate_token(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: &str,
    id: &str,
) -> ApiResult<DirectoryView> {
    let mut token = String::new();
    crate::execute!(st, meta, {
        let mut d = load_directory(st, org, id).await?;
        d.exec(DirectoryCommand::RotateToken { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(d)?;
        token = token_write(&mut c, id, project);
        Ok(c)
    })?;
    let mut view = directory(st, org, id).await?;
    view.token = Some(token);
    Ok(view)
}

/// Delete a directory: its token stops working; the users it provisioned keep their
/// memberships (deprovision them first to remove those).
pub async fn delete_directory(st: &AppState, meta: &Metadata, org: &str, id: &str) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut d = load_directory(st, org, id).await?;
        d.exec(DirectoryCommand::Delete { at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(d)?;
        c.side_write("DELETE FROM directory_tokens WHERE directory_id = $1", vec![SqlArg::Text(id.into())]);
        Ok(c)
    })?;
    Ok(())
}

// ---------------------------------------------------------------- the SCIM caller

/// The directory a SCIM request acts for: its bearer token, which must be the token of
/// the directory its path names.
pub struct Caller {
    pub directory: String,
    pub project: String,
    pub organization: String,
    base: String,
}

impl Caller {
    /// The request's metadata with the directory as its actor.
    fn meta(&self, ctx: &crate::extract::RequestContext) -> Metadata {
        ctx.metadata(&Actor::Directory(self.directory.clone()))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ScimError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ScimError> {
        let unauthorized =
            || ScimError::new(StatusCode::UNAUTHORIZED, None, "a valid directory bearer token is required");
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| t.len() <= 128)
            .ok_or_else(unauthorized)?;
        let path = parts.uri.path();
        let named = path.strip_prefix("/scim/v2/").and_then(|r| r.split('/').next()).unwrap_or_default();
        let row = sqlx::query(
            "SELECT t.directory_id, t.project_id, d.organization_id FROM directory_tokens t \
             JOIN directories d ON d.id = t.directory_id WHERE t.token_hash = $1",
        )
        .bind(hash_secret(token))
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(unauthorized)?;
        let directory: String = row.try_get(0)?;
        if directory != named {
            return Err(unauthorized());
        }
        Ok(Caller {
            base: format!("{}/scim/v2/{directory}", st.keys.issuer),
            directory,
            project: row.try_get(1)?,
            organization: row.try_get(2)?,
        })
    }
}

/// A SCIM body: JSON, as `application/scim+json` or `application/json`, at most 64 KiB.
struct Body(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = ScimError;
    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ScimError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ScimError::bad("invalidSyntax", "the body could not be read"))?;
        if bytes.len() > 64 * 1024 {
            return Err(ScimError::new(StatusCode::PAYLOAD_TOO_LARGE, None, "the body is too large"));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ScimError::bad("invalidSyntax", format!("the body is not JSON: {e}")))
    }
}

// ---------------------------------------------------------------- users

/// A provisioned user as the directory sees them.
struct ScimUser {
    id: String,
    external_id: Option<String>,
    /// The identity provider's `userName` when it is not the email.
    user_name: Option<String>,
    /// The `displayName` the identity provider gave.
    display: Option<String>,
    email: String,
    given: Option<String>,
    family: Option<String>,
    active: bool,
    created: String,
    modified: String,
}

impl ScimUser {
    fn json(&self, base: &str) -> Value {
        let mut v = json!({
            "schemas": [USER_SCHEMA],
            "id": self.id,
            "userName": self.user_name(),
            "name": { "givenName": self.given, "familyName": self.family },
            "emails": [{ "value": self.email, "primary": true, "type": "work" }],
            "active": self.active,
            "meta": {
                "resourceType": "User",
                "created": self.created,
                "lastModified": self.modified,
                "location": format!("{base}/Users/{}", self.id),
            },
        });
        if let Some(d) = &self.display {
            v["displayName"] = json!(d);
        }
        if self.given.is_none() && self.family.is_none() {
            if let Some(o) = v.as_object_mut() {
                o.remove("name");
            }
        }
        if let Some(x) = &self.external_id {
            v["externalId"] = json!(x);
        }
        v
    }
    fn user_name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.email)
    }
    fn values(&self, attr: &filter::Attr) -> Vec<String> {
        use filter::Attr;
        match attr {
            Attr::UserName => vec![self.user_name().to_string()],
            Attr::EmailValue => vec![self.email.clone()],
            Attr::ExternalId => self.external_id.clone().into_iter().collect(),
            Attr::Id => vec![self.id.clone()],
            Attr::MemberValue => vec![],
            Attr::DisplayName => self.display.clone().into_iter().collect(),
        }
    }
}

const USER_SQL: &str = "SELECT u.id, du.external_id, u.email, u.first_name, u.last_name, \
     CASE WHEN m.status = 'active' THEN 1 ELSE 0 END, du.linked_at, u.updated_at, du.user_name, du.display_name \
     FROM directory_users du JOIN users u ON u.id = du.user_id \
     LEFT JOIN memberships m ON m.user_id = du.user_id AND m.organization_id = du.organization_id \
     WHERE du.directory_id = $1";

fn scim_user(r: &sqlx::any::AnyRow) -> Result<ScimUser, sqlx::Error> {
    Ok(ScimUser {
        id: r.try_get(0)?,
        external_id: r.try_get(1)?,
        email: r.try_get(2)?,
        given: r.try_get(3)?,
        family: r.try_get(4)?,
        active: r.try_get::<i64, _>(5)? != 0,
        created: r.try_get(6)?,
        modified: r.try_get(7)?,
        user_name: r.try_get(8)?,
        display: r.try_get(9)?,
    })
}

async fn one_user(st: &AppState, caller: &Caller, id: &str) -> ScimResult<ScimUser> {
    let row = sqlx::query(&format!("{USER_SQL} AND du.user_id = $2"))
        .bind(&caller.directory)
        .bind(id)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ScimError::not_found)?;
    Ok(scim_user(&row)?)
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9): a resource with only the named
/// attributes, or without them. Names are case-insensitive, with an optional schema URN
/// prefix and one sub-attribute level (`name.givenName`); `id` and `schemas` always stay.
fn select(mut v: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |list: &str| -> Vec<(String, Option<String>)> {
        list.split(',')
            .map(|a| a.trim().rsplit(':').next().unwrap_or_default().to_ascii_lowercase())
            .filter(|a| !a.is_empty())
            .map(|a| match a.split_once('.') {
                Some((top, sub)) => (top.to_string(), Some(sub.to_string())),
                None => (a, None),
            })
            .collect()
    };
    let Some(obj) = v.as_object_mut() else { return v };
    let always = |k: &str| k == "id" || k == "schemas";
    if let Some(list) = attributes.map(names).filter(|l| !l.is_empty()) {
        obj.retain(|k, val| {
            let k = k.to_ascii_lowercase();
            if always(&k) {
                return true;
            }
            let subs: Vec<&String> = list.iter().filter(|(t, _)| *t == k).filter_map(|(_, s)| s.as_ref()).collect();
            let whole = list.iter().any(|(t, s)| *t == k && s.is_none());
            if !whole && !subs.is_empty() {
                if let Some(o) = val.as_object_mut() {
                    o.retain(|sk, _| subs.iter().any(|s| s.eq_ignore_ascii_case(sk)));
                }
            }
            whole || !subs.is_empty()
        });
    }
    if let Some(list) = excluded.map(names) {
        obj.retain(|k, val| {
            let k = k.to_ascii_lowercase();
            if always(&k) {
                return true;
            }
            for (t, sub) in &list {
                if *t == k {
                    match (sub, val.as_object_mut()) {
                        (None, _) => return false,
                        (Some(sub), Some(o)) => o.retain(|sk, _| !sk.eq_ignore_ascii_case(sub)),
                        _ => {}
                    }
                }
            }
            true
        });
    }
    v
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    filter: Option<String>,
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
    #[serde(rename = "startIndex")]
    start_index: Option<String>,
    count: Option<String>,
}

async fn list_users(State(st): State<AppState>, caller: Caller, Query(p): Query<ListParams>) -> ScimResult<Response> {
    list_page(&st, &caller, p).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the query in a SearchRequest body.
async fn search_users(State(st): State<AppState>, caller: Caller, Body(body): Body) -> ScimResult<Response> {
    list_page(&st, &caller, ListParams::of_search(&body)?).await
}

/// `POST /.search` across resource types: not offered (search `/Users` or `/Groups`).
async fn search_everything(_: Caller) -> ScimResult<Response> {
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "searching several resource types at once is not supported; POST /Users/.search or /Groups/.search",
    ))
}

impl ListParams {
    /// The query of a SearchRequest body (RFC 7644 §3.4.3).
    fn of_search(body: &Value) -> ScimResult<ListParams> {
        let text = |key: &str| -> ScimResult<Option<String>> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(Value::Array(a)) => Ok(Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","))),
                Some(_) => Err(ScimError::bad("invalidValue", format!("{key} has the wrong type"))),
            }
        };
        Ok(ListParams {
            filter: text("filter")?,
            attributes: text("attributes")?,
            excluded_attributes: text("excludedAttributes")?,
            start_index: text("startIndex")?,
            count: text("count")?,
        })
    }
}

impl ListParams {
    /// The filter, the first index (1-based) and the page size.
    fn paging(&self) -> ScimResult<(Option<filter::Filter>, usize, usize)> {
        let filter = self
            .filter
            .as_deref()
            .map(filter::parse)
            .transpose()
            .map_err(|e| ScimError::bad("invalidFilter", e.to_string()))?;
        let number = |v: &Option<String>, default: usize, name: &str| -> ScimResult<usize> {
            match v {
                None => Ok(default),
                Some(s) => s
                    .trim()
                    .parse::<i64>()
                    .map(|n| n.max(0) as usize)
                    .map_err(|_| ScimError::bad("invalidValue", format!("{name} must be a whole number"))),
            }
        };
        let start = number(&self.start_index, 1, "startIndex")?.max(1);
        let count = number(&self.count, 100, "count")?.min(MAX_COUNT);
        Ok((filter, start, count))
    }
}

/// A ListResponse: one page of `total` matching resources, from `start`.
fn list_response(total: usize, start: usize, page: Vec<Value>) -> Response {
    let body = json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    });
    scim_json(StatusCode::OK, &body)
}

async fn list_page(st: &AppState, caller: &Caller, p: ListParams) -> ScimResult<Response> {
    let (filter, start, count) = p.paging()?;
    let rows = sqlx::query(&format!("{USER_SQL} ORDER BY u.id")).bind(&caller.directory).fetch_all(&st.db.pool).await?;
    let users = rows.iter().map(scim_user).collect::<Result<Vec<_>, _>>()?;
    let matched: Vec<&ScimUser> =
        users.iter().filter(|u| filter.as_ref().is_none_or(|f| f.matches(&|a| u.values(a)))).collect();
    let (only, without) = (p.attributes.as_deref(), p.excluded_attributes.as_deref());
    let page: Vec<Value> =
        matched.iter().skip(start - 1).take(count).map(|u| select(u.json(&caller.base), only, without)).collect();
    Ok(list_response(matched.len(), start, page))
}

#[derive(Debug, Deserialize)]
pub struct Selection {
    attributes: Option<String>,
    #[serde(rename = "excludedAttributes")]
    excluded_attributes: Option<String>,
}

async fn get_user(
    State(st): State<AppState>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Selection>,
) -> ScimResult<Response> {
    let u = one_user(&st, &caller, &id).await?;
    let v = select(u.json(&caller.base), q.attributes.as_deref(), q.excluded_attributes.as_deref());
    Ok(scim_json(StatusCode::OK, &v))
}

/// The attributes of a User body this service keeps.
struct UserInput {
    /// Normalized: the user's identity in the project.
    email: String,
    /// The `userName` when it is not the email.
    user_name: Option<String>,
    given: Option<String>,
    family: Option<String>,
    display: Option<String>,
    external_id: Option<String>,
    active: bool,
}

fn text_field(v: &Value, path: &[&str]) -> ScimResult<Option<String>> {
    let mut cur = v;
    for p in path {
        let Some(next) = attribute(cur, p) else { return Ok(None) };
        cur = next;
    }
    match cur {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= 254 && !s.chars().any(char::is_control) => Ok(Some(s.clone())),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("{} must be a string of at most 254 characters", path.join(".")),
        )),
    }
}

/// An attribute of a resource by name, in any letter case.
fn attribute<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The user's email: `userName` when it is one, else the address `emails` names
/// (`patch::chosen_email`).
fn email_of(body: &Value, user_name: &str) -> ScimResult<Option<String>> {
    if authio_domain::is_valid_email(user_name) {
        return Ok(Some(user_name.to_string()));
    }
    let chosen = match attribute(body, "emails") {
        Some(emails) => patch::chosen_email(emails).map_err(|e| ScimError::bad(e.scim_type, e.detail))?,
        None => None,
    };
    Ok(chosen.filter(|v| authio_domain::is_valid_email(v)))
}

fn user_input(body: &Value) -> ScimResult<UserInput> {
    let user_name = text_field(body, &["userName"])?
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "userName is required"))?;
    let email = email_of(body, &user_name)?
        .ok_or_else(|| ScimError::bad("invalidValue", "an email address is required: as userName, or in emails"))?;
    let active = match attribute(body, "active") {
        None | Some(Value::Null) => true,
        Some(v) => {
            patch::parse_bool(v).ok_or_else(|| ScimError::bad("invalidValue", "active must be true or false"))?
        }
    };
    let email = authio_domain::normalize_email(&email);
    Ok(UserInput {
        user_name: (authio_domain::normalize_email(&user_name) != email).then_some(user_name),
        email,
        given: text_field(body, &["name", "givenName"])?,
        family: text_field(body, &["name", "familyName"])?,
        display: text_field(body, &["displayName"])?,
        external_id: text_field(body, &["externalId"])?,
        active,
    })
}

/// Bring the user's membership in the directory's organization to `active` (creating it
/// if there is none), in `c`; `cut` the user's contexts there when it stops being active.
async fn set_membership(
    st: &AppState,
    c: &mut Changes,
    caller: &Caller,
    user: &str,
    active: bool,
    new_membership: &str,
) -> ApiResult<()> {
    let mut o = st.db.load::<Organization>(&caller.organization).await?;
    if !o.state.is_live() {
        return Err(ApiError::not_found());
    }
    let at = Utc::now();
    let current = o.state.membership_of(&UserId::new(user)).map(|(id, m)| (id.clone(), m.status));
    match current {
        None => {
            let cat = crate::roles::catalog(st, &caller.project).await?;
            let role = cat.state.default_role().to_string();
            crate::roles::require_usable(c, &cat, &role, &caller.organization)?;
            o.exec(OrganizationCommand::AddMembership {
                membership_id: MembershipId::new(new_membership),
                user_id: UserId::new(user),
                role,
                status: MembershipStatus::Active,
                at,
            })
            .await?;
            if !active {
                let membership_id = MembershipId::new(new_membership);
                o.exec(OrganizationCommand::Deactivate { membership_id, authority: Authority::Project, at }).await?;
            }
        }
        Some((id, status)) => match (status, active) {
            (MembershipStatus::Active, false) => {
                o.exec(OrganizationCommand::Deactivate { membership_id: id, authority: Authority::Project, at })
                    .await?;
                crate::sessions::cut_contexts(st, c, &caller.organization, Some(user), "membership_deactivated")
                    .await?;
            }
            (MembershipStatus::Inactive, true) => {
                o.exec(OrganizationCommand::Reactivate { membership_id: id, at }).await?;
            }
            (MembershipStatus::Pending, true) => {
                let role = o.state.memberships.get(&id).map(|m| m.role.clone()).unwrap_or_default();
                o.exec(OrganizationCommand::JoinByInvitation {
                    membership_id: id,
                    user_id: UserId::new(user),
                    role,
                    at,
                })
                .await?;
            }
            _ => {}
        },
    }
    c.add(o)?;
    Ok(())
}

/// The user's names, in `c`, when they differ.
async fn set_names(
    st: &AppState,
    c: &mut Changes,
    user: &str,
    given: Option<String>,
    family: Option<String>,
) -> ApiResult<()> {
    let mut u = st.db.load::<User>(user).await?;
    let row = sqlx::query("SELECT first_name, last_name FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&st.db.pool)
        .await?;
    let (first, last): (Option<String>, Option<String>) = match row {
        Some(r) => (r.try_get(0)?, r.try_get(1)?),
        None => (None, None),
    };
    if first != given || last != family {
        u.exec(UserCommand::Update {
            email: None,
            first_name: Some(given),
            last_name: Some(family),
            email_verified: None,
            at: Utc::now(),
        })
        .await?;
        c.add(u)?;
    }
    Ok(())
}

async fn create_user(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Body(body): Body,
) -> ScimResult<Response> {
    let input = user_input(&body)?;
    let meta = caller.meta(&ctx);
    let _turn = st.db.stream_turn::<Organization>(&caller.organization).await;
    let new_user = new_id("user_");
    let new_membership = new_id("mem_");
    let mut user_id = String::new();
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut r = st.db.load::<Reservation>(&user_email_key(&caller.project, &input.email)).await?;
        let d = st.db.load::<Directory>(&caller.directory).await?;
        user_id = match r.state.owner.clone() {
            // The project's one user for this email: linked, not duplicated.
            Some(owner) => {
                if d.state.users.contains_key(&UserId::new(&owner)) {
                    return Err(ApiError::conflict("email_taken", "this directory has provisioned this user already"));
                }
                set_names(&st, &mut c, &owner, input.given.clone(), input.family.clone()).await?;
                owner
            }
            None => {
                r.exec(ReservationCommand::Claim { owner: new_user.clone() })
                    .await
                    .map_err(|_| ApiError::concurrent())?;
                c.add(r)?;
                let mut u = Loaded::<User>::fresh(&new_user);
                u.exec(UserCommand::Create {
                    user_id: UserId::new(&new_user),
                    project_id: TenantId::new(&caller.project),
                    email: input.email.clone(),
                    first_name: input.given.clone(),
                    last_name: input.family.clone(),
                    // The organization's identity provider vouches for the address.
                    email_verified: true,
                    at: Utc::now(),
                })
                .await?;
                c.add(u)?;
                new_user.clone()
            }
        };
        set_membership(&st, &mut c, &caller, &user_id, input.active, &new_membership).await?;
        let mut d = d;
        let link = LinkedUser {
            external_id: input.external_id.clone(),
            user_name: input.user_name.clone(),
            display_name: input.display.clone(),
        };
        d.exec(DirectoryCommand::Link { user_id: UserId::new(&user_id), link, at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    let u = one_user(&st, &caller, &user_id).await?;
    let mut r = scim_json(StatusCode::CREATED, &u.json(&caller.base));
    if let Ok(v) = HeaderValue::from_str(&format!("{}/Users/{}", caller.base, u.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// Apply the changes to a provisioned user: names, `externalId`, `active`. `userName`
/// must stay the user's email (`mutability` otherwise).
async fn change_user(
    st: &AppState,
    caller: &Caller,
    meta: &Metadata,
    id: &str,
    changes: Vec<patch::Change>,
) -> ScimResult<Response> {
    let _turn = st.db.stream_turn::<Organization>(&caller.organization).await;
    let current = one_user(st, caller, id).await?;
    let (mut given, mut family, mut external, mut active, mut user_name, mut display) = (
        current.given.clone(),
        current.family.clone(),
        current.external_id.clone(),
        current.active,
        current.user_name.clone(),
        current.display.clone(),
    );
    let changes_email =
        |v: &str| authio_domain::is_valid_email(v) && authio_domain::normalize_email(v) != current.email;
    for ch in changes {
        use patch::Change as C;
        match ch {
            C::Active(a) => active = a,
            C::GivenName(v) => given = v,
            C::FamilyName(v) => family = v,
            C::ExternalId(v) => external = v,
            C::UserName(v) | C::PrimaryEmail(Some(v)) if changes_email(&v) => {
                return Err(ScimError::bad("mutability", "the user's email cannot be changed through SCIM"));
            }
            C::UserName(v) => {
                user_name = (authio_domain::normalize_email(&v) != current.email).then_some(v);
            }
            C::DisplayName(v) => display = v,
            C::PrimaryEmail(_) | C::Formatted(_) => {}
        }
    }
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        set_names(st, &mut c, id, given.clone(), family.clone()).await?;
        set_membership(st, &mut c, caller, id, active, &new_id("mem_")).await?;
        let mut d = st.db.load::<Directory>(&caller.directory).await?;
        let link =
            LinkedUser { external_id: external.clone(), user_name: user_name.clone(), display_name: display.clone() };
        d.exec(DirectoryCommand::Link { user_id: UserId::new(id), link, at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    let u = one_user(st, caller, id).await?;
    Ok(scim_json(StatusCode::OK, &u.json(&caller.base)))
}

async fn replace_user(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body,
) -> ScimResult<Response> {
    let input = user_input(&body)?;
    use patch::Change as C;
    let changes = vec![
        C::UserName(input.user_name.unwrap_or(input.email)),
        C::GivenName(input.given),
        C::FamilyName(input.family),
        C::DisplayName(input.display),
        C::ExternalId(input.external_id),
        C::Active(input.active),
    ];
    change_user(&st, &caller, &caller.meta(&ctx), &id, changes).await
}

async fn patch_user(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body,
) -> ScimResult<Response> {
    let changes = patch::user_changes(&body).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
    change_user(&st, &caller, &caller.meta(&ctx), &id, changes).await
}

/// Deprovision: the user's membership in the organization goes (and their contexts
/// there with it); the user and their other organizations stay.
async fn delete_user(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
) -> ScimResult<Response> {
    let _turn = st.db.stream_turn::<Organization>(&caller.organization).await;
    one_user(&st, &caller, &id).await?;
    let meta = caller.meta(&ctx);
    crate::execute!(st, &meta, {
        let mut c = Changes::new();
        let mut o = st.db.load::<Organization>(&caller.organization).await?;
        if let Some((m, _)) = o.state.membership_of(&UserId::new(&id)).map(|(m, x)| (m.clone(), x.clone())) {
            o.exec(OrganizationCommand::DeleteMembership {
                membership_id: m,
                authority: Authority::Project,
                at: Utc::now(),
            })
            .await?;
            c.add(o)?;
            crate::sessions::cut_contexts(&st, &mut c, &caller.organization, Some(&id), "membership_removed").await?;
            crate::teams::leave_teams(&st, &mut c, &caller.organization, Some(&id)).await?;
        }
        let mut d = st.db.load::<Directory>(&caller.directory).await?;
        d.exec(DirectoryCommand::Unlink { user_id: UserId::new(&id), at: Utc::now() }).await?;
        c.add(d)?;
        Ok(c)
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- discovery

async fn service_provider_config(caller: Caller) -> ScimResult<Response> {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_COUNT },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Directory bearer token",
            "description": "The directory's token, as created or rotated through the Authio API",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", caller.base) },
    });
    Ok(scim_json(StatusCode::OK, &body))
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "schema": USER_SCHEMA,
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
    })
}

/// A ListResponse holding all of `resources`.
fn one_page(resources: Vec<Value>) -> Response {
    list_response(resources.len(), 1, resources)
}

async fn resource_types(caller: Caller) -> ScimResult<Response> {
    Ok(one_page(vec![user_resource_type(&caller.base), groups::group_resource_type(&caller.base)]))
}

fn user_schema(base: &str) -> Value {
    let attr = |name: &str, kind: &str, required: bool, unique: &str, case_exact: bool| {
        json!({
            "name": name, "type": kind, "multiValued": false, "required": required, "caseExact": case_exact,
            "mutability": "readWrite", "returned": "default", "uniqueness": unique,
        })
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA,
        "name": "User",
        "description": "A user of the project, provisioned into the directory's organization",
        "attributes": [
            attr("userName", "string", true, "server", false),
            attr("externalId", "string", false, "none", true),
            attr("displayName", "string", false, "none", false),
            attr("active", "boolean", false, "none", false),
            {
                "name": "name", "type": "complex", "multiValued": false, "required": false,
                "mutability": "readWrite", "returned": "default",
                "subAttributes": [
                    attr("givenName", "string", false, "none", false),
                    attr("familyName", "string", false, "none", false),
                ],
            },
            {
                // Required: a user is one identity per email (a `userName` that is an
                // address counts as one, so `emails` may be left out then).
                "name": "emails", "type": "complex", "multiValued": true, "required": true,
                "mutability": "readWrite", "returned": "default",
                "subAttributes": [
                    attr("value", "string", true, "none", false),
                    attr("type", "string", false, "none", false),
                    attr("primary", "boolean", false, "none", false),
                ],
            },
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{USER_SCHEMA}") },
    })
}

async fn schemas(caller: Caller) -> ScimResult<Response> {
    Ok(one_page(vec![user_schema(&caller.base), groups::group_schema(&caller.base)]))
}

async fn resource_type(caller: Caller, Path((_, id)): Path<(String, String)>) -> ScimResult<Response> {
    match id.as_str() {
        "User" => Ok(scim_json(StatusCode::OK, &user_resource_type(&caller.base))),
        "Group" => Ok(scim_json(StatusCode::OK, &groups::group_resource_type(&caller.base))),
        _ => Err(ScimError::not_found()),
    }
}

async fn schema(caller: Caller, Path((_, id)): Path<(String, String)>) -> ScimResult<Response> {
    match id.as_str() {
        USER_SCHEMA => Ok(scim_json(StatusCode::OK, &user_schema(&caller.base))),
        groups::GROUP_SCHEMA => Ok(scim_json(StatusCode::OK, &groups::group_schema(&caller.base))),
        _ => Err(ScimError::not_found()),
    }
}

/// Anything else under a directory's base URL: a SCIM 404 (401 without its token).
async fn no_such_endpoint(_: Caller) -> ScimResult<Response> {
    Err(ScimError::not_found())
}

/// The SCIM routes, under `/scim/v2/{directory_id}`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/scim/v2/{directory}/Users", get(list_users).post(create_user))
        .route("/scim/v2/{directory}/Users/.search", axum::routing::post(search_users))
        .route("/scim/v2/{directory}/Users/{id}", get(get_user).put(replace_user).patch(patch_user).delete(delete_user))
        .route("/scim/v2/{directory}/.search", axum::routing::post(search_everything))
        .route("/scim/v2/{directory}/Groups", get(groups::list_groups).post(groups::create_group))
        .route("/scim/v2/{directory}/Groups/.search", axum::routing::post(groups::search_groups))
        .route(
            "/scim/v2/{directory}/Groups/{id}",
            get(groups::get_group).put(groups::replace_group).patch(groups::patch_group).delete(groups::delete_group),
        )
        .route("/scim/v2/{directory}/ServiceProviderConfig", get(service_provider_config))
        .route("/scim/v2/{directory}/ResourceTypes", get(resource_types))
        .route("/scim/v2/{directory}/ResourceTypes/{id}", get(resource_type))
        .route("/scim/v2/{directory}/Schemas", get(schemas))
        .route("/scim/v2/{directory}/Schemas/{id}", get(schema))
        .route("/scim/v2/{directory}/{*rest}", axum::routing::any(no_such_endpoint))
}

#[cfg(test)]
mod tests {
    use super::select;
    use serde_json::json;

    #[test]
    fn attributes_and_excluded_attributes() {
        let user = json!({"schemas": ["s"], "id": "u1", "userName": "a@x.example", "displayName": "A",
            "name": {"givenName": "A", "familyName": "B"}, "active": true});
        let only = select(user.clone(), Some("userName, name.familyName"), None);
        assert_eq!(only, json!({"schemas": ["s"], "id": "u1", "userName": "a@x.example", "name": {"familyName": "B"}}));
        let urn = select(user.clone(), Some("urn:ietf:params:scim:schemas:core:2.0:User:active"), None);
        assert_eq!(urn, json!({"schemas": ["s"], "id": "u1", "active": true}));
        let without = select(user.clone(), None, Some("DISPLAYNAME,name.givenName,id"));
        assert_eq!(
            without,
            json!({"schemas": ["s"], "id": "u1", "userName": "a@x.example", "name": {"familyName": "B"}, "active": true})
        );
        assert_eq!(select(user.clone(), Some(""), Some("")), user, "empty lists select nothing away");
    }
}
