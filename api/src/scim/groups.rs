//! SCIM Groups (RFC 7643 §4.2) and what they mean in the organization: the directory's
//! group mappings give roles and teams. A group is named by its display name in the
//! mappings, so an administrator may map `Engineering` before the identity provider
//! pushes it.
//!
//! Rules, applied in the same commit as the change that calls for them:
//! - When any mapping gives a role, the directory sets the roles of its users: the role of
//!   the first role mapping (in the list's order) whose group holds the user, else the
//!   project's default role. Without role mappings, roles are left as they are. A mapping
//!   whose role has since been deleted is passed over.
//! - A mapping with a team makes the team's members exactly the group's members among the
//!   directory's users (a user in several groups mapped to one team is in it once); users
//!   the directory did not provision are never removed from it.
//! - Users whose membership in the organization is gone are passed over.
use super::{filter, Body, Caller, ScimError, ScimResult};
use crate::crypto::new_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::directory::{Directory, DirectoryCommand, GroupMapping};
use authio_domain::ids::UserId;
use authio_domain::organization::{Authority, Organization, OrganizationCommand};
use authio_domain::team::{Team, TeamCommand};
use authio_eventstore::{Changes, Loaded, Metadata};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

// ---------------------------------------------------------------- mappings

/// Bring the roles and teams of `users` to what the directory's groups and mappings say
/// (the module docs), in `c`. `d` is the directory as it will be after the commit.
pub async fn apply_mappings(
    st: &AppState,
    c: &mut Changes,
    d: &Directory,
    project: &str,
    org: &str,
    users: &BTreeSet<UserId>,
) -> ApiResult<()> {
    if users.is_empty() || d.mappings.is_empty() {
        return Ok(());
    }
    let at = Utc::now();
    // The memberships (and their ids, for teams) come from the organization's state, read once.
    let mut o = st.db.load::<Organization>(org).await?;
    if !o.state.is_live() {
        return Ok(());
    }
    if d.maps_roles() {
        let cat = crate::roles::catalog(st, project).await?;
        let default = cat.state.default_role().to_string();
        for user in users {
            let Some((membership, m)) = o.state.membership_of(user).map(|(id, m)| (id.clone(), m.clone())) else {
                continue;
            };
            let role = d.mapped_role(user).unwrap_or(&default).to_string();
            if role == m.role || !cat.state.usable_in(&role, org) {
                continue;
            }
            crate::roles::require_usable(c, &cat, &role, org)?;
            o.exec(OrganizationCommand::ChangeRole {
                membership_id: membership,
                role,
                authority: Authority::Project,
                at,
            })
            .await?;
        }
    }
    let mut teams: BTreeMap<String, Loaded<Team>> = BTreeMap::new();
    for user in users {
        let membership = o.state.membership_of(user).map(|(id, _)| id.clone());
        for (team, inside) in d.mapped_teams(user) {
            if !teams.contains_key(team) {
                teams.insert(team.to_string(), st.db.load::<Team>(team).await?);
            }
            let Some(t) = teams.get_mut(team) else { continue };
            if !t.state.is_live() || t.state.organization_id.as_ref().is_none_or(|o| o.as_str() != org) {
                continue;
            }
            let holds = t.state.members.contains_key(user);
            match (&membership, inside, holds) {
                (Some(m), true, false) => {
                    let cmd =
                        TeamCommand::AddMember { user_id: user.clone(), membership_id: m.clone(), role: None, at };
                    t.exec(cmd).await?;
                }
                (_, false, true) => t.exec(TeamCommand::RemoveMember { user_id: user.clone(), at }).await?,
                _ => {}
            }
        }
    }
    c.add(o)?;
    for (_, t) in teams {
        c.add(t)?;
    }
    Ok(())
}

/// A directory's group mappings, in precedence order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// At most 100; each names a group (by display name, in any letter case) once and
    /// gives a `role`, a `team_id` or both.
    pub mappings: Vec<MappingView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingView {
    /// The group's display name.
    pub group: String,
    /// A role slug the organization may give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// A team of the organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

fn view(mappings: &[GroupMapping]) -> Mappings {
    Mappings {
        mappings: mappings
            .iter()
            .map(|m| MappingView { group: m.group.clone(), role: m.role.clone(), team_id: m.team_id.clone() })
            .collect(),
    }
}

pub async fn mappings(st: &AppState, org: &str, directory: &str) -> ApiResult<Mappings> {
    let d = super::load_directory(st, org, directory).await?;
    Ok(view(&d.state.mappings))
}

/// Replace the mappings and apply them to every user of the directory, in one commit.
pub async fn set_mappings(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: &str,
    directory: &str,
    wanted: Mappings,
) -> ApiResult<Mappings> {
    let wanted: Vec<GroupMapping> = wanted
        .mappings
        .into_iter()
        .map(|m| GroupMapping { group: m.group, role: m.role, team_id: m.team_id })
        .collect();
    let mut after = Vec::new();
    let _turn = st.db.stream_turn::<Organization>(org).await;
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        let mut d = super::load_directory(st, org, directory).await?;
        let cat = crate::roles::catalog(st, project).await?;
        for (i, m) in wanted.iter().enumerate() {
            if let Some(role) = &m.role {
                crate::roles::require_usable(&mut c, &cat, role, org)
                    .map_err(|e| e.with_field(&format!("mappings[{i}].role")))?;
            }
            if let Some(team) = &m.team_id {
                let t = st.db.load::<Team>(team).await?;
                if !t.state.is_live() || t.state.organization_id.as_ref().is_none_or(|o| o.as_str() != org) {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "unknown_team",
                        "no such team in this organization",
                    )
                    .with_field(&format!("mappings[{i}].team_id")));
                }
                c.expect_unchanged(&t);
            }
        }
        d.exec(DirectoryCommand::SetMappings { mappings: wanted.clone(), at: Utc::now() }).await?;
        let users: BTreeSet<UserId> = d.state.users.keys().cloned().collect();
        apply_mappings(st, &mut c, &d.state, project, org, &users).await?;
        after = d.state.mappings.clone();
        c.add(d)?;
        Ok(c)
    })?;
    Ok(view(&after))
}

// ---------------------------------------------------------------- groups

struct ScimGroup {
    id: String,
    display_name: String,
    external_id: Option<String>,
    created: String,
    modified: String,
    /// The members' user ids.
    members: Vec<String>,
}

impl ScimGroup {
    fn json(&self, base: &str) -> Value {
        let members: Vec<Value> =
            self.members.iter().map(|id| json!({"value": id, "$ref": format!("{base}/Users/{id}")})).collect();
        let mut v = json!({
            "schemas": [GROUP_SCHEMA],
            "id": self.id,
            "displayName": self.display_name,
            "members": members,
            "meta": {
                "resourceType": "Group",
                "created": self.created,
                "lastModified": self.modified,
                "location": format!("{base}/Groups/{}", self.id),
            },
        });
        if let Some(x) = &self.external_id {
            v["externalId"] = json!(x);
        }
        v
    }
    fn values(&self, attr: &filter::Attr) -> Vec<String> {
        use filter::Attr;
        match attr {
            Attr::DisplayName => vec![self.display_name.clone()],
            Attr::ExternalId => self.external_id.clone().into_iter().collect(),
            Attr::Id => vec![self.id.clone()],
            Attr::MemberValue => self.members.clone(),
            Attr::UserName | Attr::EmailValue => vec![],
        }
    }
}

/// The directory's groups (`only`: the one with this id), with their members.
async fn read_groups(st: &AppState, directory: &str, only: Option<&str>) -> ScimResult<Vec<ScimGroup>> {
    let one = if only.is_some() { " AND id = $2" } else { "" };
    let rows = sqlx::query(&format!(
        "SELECT id, display_name, external_id, created_at, updated_at FROM directory_groups \
         WHERE directory_id = $1{one} ORDER BY id"
    ))
    .bind(directory)
    .bind(only.unwrap_or_default())
    .fetch_all(&st.db.pool)
    .await?;
    let one = if only.is_some() { " AND m.group_id = $2" } else { "" };
    let member_rows = sqlx::query(&format!(
        "SELECT m.group_id, m.user_id FROM directory_group_members m \
         WHERE m.directory_id = $1{one} ORDER BY m.group_id, m.user_id"
    ))
    .bind(directory)
    .bind(only.unwrap_or_default())
    .fetch_all(&st.db.pool)
    .await?;
    let mut members: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &member_rows {
        members.entry(r.try_get(0)?).or_default().push(r.try_get(1)?);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: String = r.try_get(0)?;
        out.push(ScimGroup {
            members: members.remove(&id).unwrap_or_default(),
            id,
            display_name: r.try_get(1)?,
            external_id: r.try_get(2)?,
            created: r.try_get(3)?,
            modified: r.try_get(4)?,
        });
    }
    Ok(out)
}

async fn one_group(st: &AppState, caller: &Caller, id: &str) -> ScimResult<ScimGroup> {
    read_groups(st, &caller.directory, Some(id)).await?.pop().ok_or_else(ScimError::not_found)
}

pub(super) async fn list_groups(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<super::ListParams>,
) -> ScimResult<Response> {
    group_page(&st, &caller, p).await
}

/// `POST /Groups/.search`: the query in a SearchRequest body.
pub(super) async fn search_groups(
    State(st): State<AppState>,
    caller: Caller,
    Body(body): Body,
) -> ScimResult<Response> {
    group_page(&st, &caller, super::ListParams::of_search(&body)?).await
}

async fn group_page(st: &AppState, caller: &Caller, p: super::ListParams) -> ScimResult<Response> {
    let (filter, start, count) = p.paging()?;
    let groups = read_groups(st, &caller.directory, None).await?;
    let matched: Vec<&ScimGroup> =
        groups.iter().filter(|g| filter.as_ref().is_none_or(|f| f.matches(&|a| g.values(a)))).collect();
    let (only, without) = (p.attributes.as_deref(), p.excluded_attributes.as_deref());
    let page: Vec<Value> = matched
        .iter()
        .skip(start - 1)
        .take(count)
        .map(|g| super::select(g.json(&caller.base), only, without))
        .collect();
    Ok(super::list_response(matched.len(), start, page))
}

pub(super) async fn get_group(
    State(st): State<AppState>,
    caller: Caller,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<super::Selection>,
) -> ScimResult<Response> {
    let g = one_group(&st, &caller, &id).await?;
    let v = super::select(g.json(&caller.base), q.attributes.as_deref(), q.excluded_attributes.as_deref());
    Ok(super::scim_json(StatusCode::OK, &v))
}

/// The attributes of a Group body this service keeps.
struct GroupInput {
    display_name: String,
    external_id: Option<String>,
    members: Vec<UserId>,
}

fn group_input(body: &Value) -> ScimResult<GroupInput> {
    let display_name = super::text_field(body, &["displayName"])?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ScimError::bad("invalidValue", "displayName is required"))?;
    let members = match super::attribute(body, "members") {
        None | Some(Value::Null) => Vec::new(),
        v => super::patch::member_values(v).map_err(|e| ScimError::bad(e.scim_type, e.detail))?,
    };
    let members = members.into_iter().map(UserId::new).collect();
    Ok(GroupInput { display_name, external_id: super::text_field(body, &["externalId"])?, members })
}

/// Commit a change to the directory's groups, then bring the affected users' roles and
/// teams in line (in the same commit). `change` decides on the loaded directory: the
/// command and the users it touches, or `None` when the group it names is not there (404).
async fn commit_group_change<F>(st: &AppState, caller: &Caller, meta: &Metadata, change: F) -> ScimResult<()>
where
    F: Fn(&Directory) -> Option<(DirectoryCommand, BTreeSet<UserId>)>,
{
    let _turn = st.db.stream_turn::<Organization>(&caller.organization).await;
    crate::execute!(st, meta, {
        let mut d = st.db.load::<Directory>(&caller.directory).await?;
        let (cmd, mut touched) = change(&d.state).ok_or_else(ApiError::not_found)?;
        d.exec(cmd).await?;
        touched.retain(|u| d.state.users.contains_key(u));
        let mut c = Changes::new();
        apply_mappings(st, &mut c, &d.state, &caller.project, &caller.organization, &touched).await?;
        c.add(d)?;
        Ok(c)
    })?;
    Ok(())
}

fn members_of(d: &Directory, group: &str) -> BTreeSet<UserId> {
    d.groups.get(group).map(|g| g.members.iter().cloned().collect()).unwrap_or_default()
}

pub(super) async fn create_group(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Body(body): Body,
) -> ScimResult<Response> {
    let input = group_input(&body)?;
    let id = new_id("dgrp_");
    let meta = caller.meta(&ctx);
    commit_group_change(&st, &caller, &meta, |_| {
        let cmd = DirectoryCommand::CreateGroup {
            group_id: id.clone(),
            display_name: input.display_name.clone(),
            external_id: input.external_id.clone(),
            members: input.members.clone(),
            at: Utc::now(),
        };
        Some((cmd, input.members.iter().cloned().collect()))
    })
    .await?;
    let g = one_group(&st, &caller, &id).await?;
    let mut r = super::scim_json(StatusCode::CREATED, &g.json(&caller.base));
    if let Ok(v) = HeaderValue::from_str(&format!("{}/Groups/{id}", caller.base)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

pub(super) async fn replace_group(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
    Body(body): Body,
) -> ScimResult<Response> {
    let input = group_input(&body)?;
    let meta = caller.meta(&ctx);
    commit_group_change(&st, &caller, &meta, |d| {
        if !d.groups.contains_key(&id) {
            return None;
        }
        let mut touched = members_of(d, &id);
        touched.extend(input.members.iter().cloned());
        let cmd = DirectoryCommand::ChangeGroup {
            group_id: id.clone(),
            display_name: Some(input.display_name.clone()),
            external_id: Some(input.external_id.clone()),
            members: Some(input.members.clone()),
            at: Utc::now(),
        };
        Some((cmd, touched))
    })
    .await?;
    let g = one_group(&st, &caller, &id).await?;
    Ok(super::scim_json(StatusCode::OK, &g.json(&caller.base)))
}

pub(super) async fn patch_group(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<super::Selection>,
    Body(body): Body,
) -> ScimResult<Response> {
    let changes = super::patch::group_changes(&body).map_err(|e| ScimError::bad(e.scim_type, e.detail))?;
    let meta = caller.meta(&ctx);
    commit_group_change(&st, &caller, &meta, |d| {
        let g = d.groups.get(&id)?;
        let (mut name, mut external, mut members) = (None, None, g.members.clone());
        let before = members.clone();
        for ch in &changes {
            use super::patch::GroupChange as G;
            match ch {
                G::DisplayName(n) => name = Some(n.clone()),
                G::ExternalId(x) => external = Some(x.clone()),
                G::AddMembers(m) => members.extend(m.iter().map(UserId::new)),
                G::RemoveMembers(m) => m.iter().for_each(|u| {
                    members.remove(&UserId::new(u));
                }),
                G::SetMembers(m) => members = m.iter().map(UserId::new).collect(),
            }
        }
        let touched: BTreeSet<UserId> = before.iter().chain(members.iter()).cloned().collect();
        let cmd = DirectoryCommand::ChangeGroup {
            group_id: id.clone(),
            display_name: name,
            external_id: external,
            members: Some(members.into_iter().collect()),
            at: Utc::now(),
        };
        Some((cmd, touched))
    })
    .await?;
    let g = one_group(&st, &caller, &id).await?;
    let v = super::select(g.json(&caller.base), q.attributes.as_deref(), q.excluded_attributes.as_deref());
    Ok(super::scim_json(StatusCode::OK, &v))
}

pub(super) async fn delete_group(
    State(st): State<AppState>,
    caller: Caller,
    ctx: crate::extract::RequestContext,
    Path((_, id)): Path<(String, String)>,
) -> ScimResult<Response> {
    let meta = caller.meta(&ctx);
    commit_group_change(&st, &caller, &meta, |d| {
        if !d.groups.contains_key(&id) {
            return None;
        }
        Some((DirectoryCommand::DeleteGroup { group_id: id.clone(), at: Utc::now() }, members_of(d, &id)))
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------- discovery

pub fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "schema": GROUP_SCHEMA,
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
    })
}

pub fn group_schema(base: &str) -> Value {
    let attr = |name: &str, required: bool, unique: &str, case_exact: bool| {
        json!({
            "name": name, "type": "string", "multiValued": false, "required": required, "caseExact": case_exact,
            "mutability": "readWrite", "returned": "default", "uniqueness": unique,
        })
    };
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA,
        "name": "Group",
        "description": "A group of the directory's users; its mappings give roles and teams",
        "attributes": [
            attr("displayName", true, "server", false),
            attr("externalId", false, "none", true),
            {
                "name": "members", "type": "complex", "multiValued": true, "required": false,
                "mutability": "readWrite", "returned": "default",
                "subAttributes": [
                    {"name": "value", "type": "string", "multiValued": false, "required": false, "caseExact": true,
                     "mutability": "immutable", "returned": "default", "uniqueness": "none"},
                    {"name": "$ref", "type": "reference", "referenceTypes": ["User"], "multiValued": false,
                     "required": false, "caseExact": true, "mutability": "immutable", "returned": "default",
                     "uniqueness": "none"},
                ],
            },
        ],
        "meta": { "resourceType": "Schema", "location": format!("{base}/Schemas/{GROUP_SCHEMA}") },
    })
}
