//! Directory groups: unique display names in any letter case, members only the
//! directory's users, an unlinked user leaves its groups, and the mappings' precedence.
use authio_domain::directory::{Directory, DirectoryCommand as C, DirectoryError, DirectoryEvent as E, GroupMapping};
use authio_domain::ids::{OrganizationId, TenantId, UserId};
use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;
use cqrs_es::Aggregate;

const DIR: &str = "dir_1";

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

fn org() -> OrganizationId {
    OrganizationId::new("org_1")
}

fn created() -> E {
    E::Created {
        directory_id: DIR.into(),
        project_id: TenantId::new("proj_1"),
        organization_id: org(),
        name: "Okta".into(),
        created_at: at(),
    }
}

fn linked(user: &str) -> E {
    E::UserLinked {
        directory_id: DIR.into(),
        organization_id: org(),
        user_id: UserId::new(user),
        external_id: None,
        user_name: None,
        display_name: None,
        linked_at: at(),
    }
}

fn group(id: &str, name: &str) -> E {
    E::GroupCreated {
        directory_id: DIR.into(),
        organization_id: org(),
        group_id: id.into(),
        display_name: name.into(),
        external_id: None,
        created_at: at(),
    }
}

fn added(group: &str, user: &str) -> E {
    E::GroupMemberAdded {
        directory_id: DIR.into(),
        organization_id: org(),
        group_id: group.into(),
        user_id: UserId::new(user),
        added_at: at(),
    }
}

fn removed(group: &str, user: &str) -> E {
    E::GroupMemberRemoved {
        directory_id: DIR.into(),
        organization_id: org(),
        group_id: group.into(),
        user_id: UserId::new(user),
        removed_at: at(),
    }
}

fn create_group(id: &str, name: &str, members: &[&str]) -> C {
    C::CreateGroup {
        group_id: id.into(),
        display_name: name.into(),
        external_id: None,
        members: members.iter().map(|m| UserId::new(*m)).collect(),
        at: at(),
    }
}

fn state(events: Vec<E>) -> Directory {
    let mut d = Directory::default();
    for e in events {
        d.apply(e);
    }
    d
}

#[tokio::test]
async fn a_group_is_created_with_its_members() {
    TestFramework::<Directory>::with(())
        .given(vec![created(), linked("user_a")])
        .when_async(create_group("g1", " Eng ", &["user_a"]))
        .await
        .then_expect_events(vec![group("g1", "Eng"), added("g1", "user_a")]);
}

#[tokio::test]
async fn display_names_are_unique_in_any_letter_case() {
    TestFramework::<Directory>::with(())
        .given(vec![created(), group("g1", "Eng")])
        .when_async(create_group("g2", "ENG", &[]))
        .await
        .then_expect_error(DirectoryError::GroupNameTaken("ENG".into()));
}

#[tokio::test]
async fn members_are_users_of_the_directory() {
    TestFramework::<Directory>::with(())
        .given(vec![created(), linked("user_a")])
        .when_async(create_group("g1", "Eng", &["user_a", "user_b"]))
        .await
        .then_expect_error(DirectoryError::UnknownMember("user_b".into()));
}

#[tokio::test]
async fn replacing_members_removes_then_adds() {
    TestFramework::<Directory>::with(())
        .given(vec![created(), linked("user_a"), linked("user_b"), group("g1", "Eng"), added("g1", "user_a")])
        .when_async(C::ChangeGroup {
            group_id: "g1".into(),
            display_name: None,
            external_id: None,
            members: Some(vec![UserId::new("user_b")]),
            at: at(),
        })
        .await
        .then_expect_events(vec![removed("g1", "user_a"), added("g1", "user_b")]);
}

#[tokio::test]
async fn an_unlinked_user_leaves_its_groups() {
    TestFramework::<Directory>::with(())
        .given(vec![created(), linked("user_a"), group("g1", "Eng"), added("g1", "user_a")])
        .when_async(C::Unlink { user_id: UserId::new("user_a"), at: at() })
        .await
        .then_expect_events(vec![
            removed("g1", "user_a"),
            E::UserUnlinked {
                directory_id: DIR.into(),
                organization_id: org(),
                user_id: UserId::new("user_a"),
                unlinked_at: at(),
            },
        ]);
}

#[tokio::test]
async fn a_mapping_needs_a_role_or_a_team_and_names_a_group_once() {
    let m = |g: &str, role: Option<&str>| GroupMapping { group: g.into(), role: role.map(Into::into), team_id: None };
    for bad in
        [vec![m("Eng", None)], vec![m("Eng", Some("admin")), m("eng", Some("member"))], vec![m(" ", Some("admin"))]]
    {
        TestFramework::<Directory>::with(())
            .given(vec![created()])
            .when_async(C::SetMappings { mappings: bad, at: at() })
            .await
            .then_expect_error(DirectoryError::InvalidMappings);
    }
}

#[test]
fn the_first_role_mapping_holding_the_user_wins() {
    let m = |g: &str, role: &str| GroupMapping { group: g.into(), role: Some(role.into()), team_id: None };
    let mut d = state(vec![
        created(),
        linked("user_a"),
        linked("user_b"),
        group("g1", "Admins"),
        group("g2", "Staff"),
        added("g1", "user_a"),
        added("g2", "user_a"),
        added("g2", "user_b"),
    ]);
    d.mappings = vec![m("staff", "member"), m("ADMINS", "admin")];
    assert_eq!(d.mapped_role(&UserId::new("user_a")), Some("member"));
    d.mappings.reverse();
    assert_eq!(d.mapped_role(&UserId::new("user_a")), Some("admin"));
    assert_eq!(d.mapped_role(&UserId::new("user_b")), Some("member"));
    assert_eq!(d.mapped_role(&UserId::new("user_c")), None);
    d.mappings = vec![GroupMapping { group: "Staff".into(), role: None, team_id: Some("team_1".into()) }];
    assert!(!d.maps_roles());
    assert_eq!(d.mapped_teams(&UserId::new("user_b")), vec![("team_1", true)]);
    assert_eq!(d.mapped_teams(&UserId::new("user_c")), vec![("team_1", false)]);
}
