//! The application layer of teams: a team's slug is held by a reservation per
//! organization; a team member must be a member of the organization (the commit
//! requires it); a user leaving the organization leaves its teams in the same commit.
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use authio_domain::ids::{MembershipId, OrganizationId, TenantId, UserId};
use authio_domain::reservation::{team_slug_key, Reservation};
use authio_domain::team::{Team, TeamCommand};
use authio_eventstore::{Changes, Loaded, Metadata, SqlArg};
use chrono::Utc;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    pub slug: String,
    pub members_count: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberView {
    pub team_id: String,
    pub user_id: String,
    pub email: String,
    pub role: Option<String>,
    /// The member's membership status in the organization: `active`, `inactive` while
    /// deactivated, or `pending`.
    pub status: String,
    #[schema(format = DateTime)]
    pub added_at: String,
}

const TEAM_COLS: &str = "id, organization_id, name, slug, members_count, created_at, updated_at";

fn team(r: &AnyRow) -> Result<TeamView, sqlx::Error> {
    Ok(TeamView {
        id: r.try_get(0)?,
        organization_id: r.try_get(1)?,
        name: r.try_get(2)?,
        slug: r.try_get(3)?,
        members_count: r.try_get(4)?,
        created_at: r.try_get(5)?,
        updated_at: r.try_get(6)?,
    })
}

/// The slugs of `user`'s teams in `org`, sorted (for tokens).
pub async fn slugs_of(st: &AppState, org: &str, user: &str) -> ApiResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT t.slug FROM team_members tm JOIN teams t ON t.id = tm.team_id \
         WHERE tm.organization_id = $1 AND tm.user_id = $2 ORDER BY t.slug",
    )
    .bind(org)
    .bind(user)
    .fetch_all(&st.db.pool)
    .await?)
}

pub async fn get(st: &AppState, org: &str, id: &str) -> ApiResult<TeamView> {
    let row = sqlx::query(&format!("SELECT {TEAM_COLS} FROM teams WHERE id = $1 AND organization_id = $2"))
        .bind(id)
        .bind(org)
        .fetch_optional(&st.db.pool)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(team(&row)?)
}

pub async fn list(st: &AppState, org: &str, after: &str, limit: i64) -> ApiResult<Vec<TeamView>> {
    let rows = sqlx::query(&format!(
        "SELECT {TEAM_COLS} FROM teams WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(org)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    Ok(rows.iter().map(team).collect::<Result<_, _>>()?)
}

pub async fn members(st: &AppState, team_id: &str, after: &str, limit: i64) -> ApiResult<Vec<TeamMemberView>> {
    let rows = sqlx::query(
        "SELECT tm.team_id, tm.user_id, u.email, tm.role, COALESCE(m.status, 'inactive'), tm.added_at \
         FROM team_members tm JOIN users u ON u.id = tm.user_id LEFT JOIN memberships m ON m.id = tm.membership_id \
         WHERE tm.team_id = $1 AND tm.user_id > $2 ORDER BY tm.user_id LIMIT $3",
    )
    .bind(team_id)
    .bind(after)
    .bind(limit + 1)
    .fetch_all(&st.db.pool)
    .await?;
    let view = |r: &AnyRow| -> Result<TeamMemberView, sqlx::Error> {
        Ok(TeamMemberView {
            team_id: r.try_get(0)?,
            user_id: r.try_get(1)?,
            email: r.try_get(2)?,
            role: r.try_get(3)?,
            status: r.try_get(4)?,
            added_at: r.try_get(5)?,
        })
    };
    Ok(rows.iter().map(view).collect::<Result<_, _>>()?)
}

/// A team's slug, unique in its organization.
async fn claim_slug(st: &AppState, org: &str, slug: &str, owner: &str) -> ApiResult<Loaded<Reservation>> {
    crate::reservations::claim(&st.db, &team_slug_key(org, slug), owner, "team_exists", "the team slug").await
}

/// The team `id` of organization `org`, loaded (404 when it is another's or gone).
async fn load(st: &AppState, org: &str, id: &str) -> ApiResult<Loaded<Team>> {
    let t = st.db.load::<Team>(id).await?;
    if t.state.is_live() && t.state.organization_id.as_ref().is_some_and(|o| o.as_str() == org) {
        Ok(t)
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn create(
    st: &AppState,
    meta: &Metadata,
    project: &str,
    org: &str,
    name: &str,
    slug: &str,
) -> ApiResult<TeamView> {
    let id = crate::crypto::new_id("team_");
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        c.add(claim_slug(st, org, slug, &id).await?)?;
        let mut t = Loaded::<Team>::fresh(&id);
        t.exec(TeamCommand::Create {
            team_id: id.clone(),
            project_id: TenantId::new(project),
            organization_id: OrganizationId::new(org),
            name: name.into(),
            slug: slug.into(),
            at: Utc::now(),
        })
        .await?;
        c.add(t)?;
        c.require(
            "EXISTS (SELECT 1 FROM organizations WHERE id = $1)",
            vec![SqlArg::Text(org.into())],
            "organization_gone",
        );
        Ok(c)
    })
    .map_err(gone_is_not_found)?;
    get(st, org, &id).await
}

fn gone_is_not_found(e: ApiError) -> ApiError {
    if e.code == "organization_gone" {
        ApiError::not_found()
    } else {
        e
    }
}

pub async fn update(
    st: &AppState,
    meta: &Metadata,
    org: &str,
    id: &str,
    name: Option<String>,
    slug: Option<String>,
) -> ApiResult<TeamView> {
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        let mut t = load(st, org, id).await?;
        let new_slug = slug.clone().filter(|s| *s != t.state.slug);
        if let Some(s) = &new_slug {
            c.add(claim_slug(st, org, s, id).await?)?;
            c.add(crate::reservations::release(&st.db, &team_slug_key(org, &t.state.slug), id).await?)?;
        }
        t.exec(TeamCommand::Update { name: name.clone(), slug: new_slug, at: Utc::now() }).await?;
        c.add(t)?;
        Ok(c)
    })?;
    get(st, org, id).await
}

pub async fn delete(st: &AppState, meta: &Metadata, org: &str, id: &str) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut c = Changes::new();
        let mut t = load(st, org, id).await?;
        c.add(crate::reservations::release(&st.db, &team_slug_key(org, &t.state.slug), id).await?)?;
        t.exec(TeamCommand::Delete { at: Utc::now() }).await?;
        c.add(t)?;
        Ok(c)
    })?;
    Ok(())
}

pub async fn add_member(
    st: &AppState,
    meta: &Metadata,
    org: &str,
    id: &str,
    user: &str,
    role: Option<String>,
) -> ApiResult<TeamMemberView> {
    crate::execute!(st, meta, {
        let mut t = load(st, org, id).await?;
        let membership: Option<String> =
            sqlx::query_scalar("SELECT id FROM memberships WHERE organization_id = $1 AND user_id = $2")
                .bind(org)
                .bind(user)
                .fetch_optional(&st.db.pool)
                .await?;
        let Some(membership) = membership else {
            return Err(ApiError::conflict("not_an_org_member", "the user is not a member of this organization"));
        };
        t.exec(TeamCommand::AddMember {
            user_id: UserId::new(user),
            membership_id: MembershipId::new(&membership),
            role: role.clone(),
            at: Utc::now(),
        })
        .await?;
        let mut c = Changes::new();
        c.add(t)?;
        // The membership still there when the team takes the user in.
        c.require(
            "EXISTS (SELECT 1 FROM memberships WHERE id = $1)",
            vec![SqlArg::Text(membership)],
            "not_an_org_member",
        );
        Ok(c)
    })?;
    let found = members(st, id, "", 1000).await?;
    found.into_iter().find(|m| m.user_id == user).ok_or_else(ApiError::internal)
}

pub async fn remove_member(st: &AppState, meta: &Metadata, org: &str, id: &str, user: &str) -> ApiResult<()> {
    crate::execute!(st, meta, {
        let mut t = load(st, org, id).await?;
        t.exec(TeamCommand::RemoveMember { user_id: UserId::new(user), at: Utc::now() }).await?;
        let mut c = Changes::new();
        c.add(t)?;
        Ok(c)
    })?;
    Ok(())
}

/// `user` leaves every team of `org` they are in, in the commit `c` (their membership
/// is being deleted); `None`: every member leaves, and the teams are deleted (the
/// organization is).
pub async fn leave_teams(st: &AppState, c: &mut Changes, org: &str, user: Option<&str>) -> ApiResult<()> {
    let at = Utc::now();
    match user {
        Some(user) => {
            let teams: Vec<String> =
                sqlx::query_scalar("SELECT team_id FROM team_members WHERE organization_id = $1 AND user_id = $2")
                    .bind(org)
                    .bind(user)
                    .fetch_all(&st.db.pool)
                    .await?;
            for id in teams {
                let mut t = st.db.load::<Team>(&id).await?;
                t.exec(TeamCommand::Leave { user_id: UserId::new(user), at }).await?;
                c.add(t)?;
            }
        }
        None => {
            let teams: Vec<String> = sqlx::query_scalar("SELECT id FROM teams WHERE organization_id = $1")
                .bind(org)
                .fetch_all(&st.db.pool)
                .await?;
            for id in teams {
                let mut t = st.db.load::<Team>(&id).await?;
                if t.state.is_live() {
                    t.exec(TeamCommand::Delete { at }).await?;
                    c.add(t)?;
                }
            }
        }
    }
    Ok(())
}
