//! Organization lifecycle: create, update, delete (cascading to memberships), and the
//! removal of a deleted user's membership.
mod common;

use authio_domain::organization::{
    Authority, MembershipStatus, OrganizationCommand, OrganizationError, OrganizationEvent, ADMIN,
};
use common::org::*;
use common::{at, org_id, tenant_id};
use MembershipStatus::{Active, Inactive, Pending};

fn create(name: &str) -> OrganizationCommand {
    OrganizationCommand::Create {
        organization_id: org_id(),
        project_id: tenant_id(),
        name: name.into(),
        slug: "globex".into(),
        domains: vec![],
        at: at(),
    }
}

fn rename(name: &str) -> OrganizationCommand {
    OrganizationCommand::Update { name: Some(name.into()), slug: None, domains: None, at: at() }
}

fn renamed(name: &str) -> OrganizationEvent {
    OrganizationEvent::Updated { name: Some(name.into()), slug: None, domains: None, updated_at: at() }
}

// ---- create and update ----------------------------------------------------------

#[tokio::test]
async fn create_organization_emits_created() {
    given(vec![]).when_async(create("Globex")).await.then_expect_events(vec![org_created()]);
}

#[tokio::test]
async fn create_existing_organization_is_rejected() {
    given(vec![org_created()]).when_async(create("Globex")).await.then_expect_error(OrganizationError::AlreadyExists);
}

/// A deleted organization's id is never reused.
#[tokio::test]
async fn create_over_a_deleted_organization_is_rejected() {
    given(vec![org_created(), org_deleted()])
        .when_async(create("Globex"))
        .await
        .then_expect_error(OrganizationError::AlreadyExists);
}

#[tokio::test]
async fn create_organization_with_invalid_name_is_rejected() {
    for name in ["".to_string(), "  ".to_string(), "g".repeat(201)] {
        let result = given(vec![]).when_async(create(&name)).await.inspect_result();
        assert_eq!(result, Err(OrganizationError::InvalidName), "name {name:?}");
    }
}

#[tokio::test]
async fn update_organization_emits_updated() {
    given_org(vec![])
        .when_async(OrganizationCommand::Update {
            name: Some("Globex Corporation".into()),
            slug: Some("globex-corp".into()),
            domains: Some(vec!["globex.example".into()]),
            at: at(),
        })
        .await
        .then_expect_events(vec![OrganizationEvent::Updated {
            name: Some("Globex Corporation".into()),
            slug: Some("globex-corp".into()),
            domains: Some(vec!["globex.example".into()]),
            updated_at: at(),
        }]);
}

#[tokio::test]
async fn rename_organization_emits_updated() {
    given_org(vec![])
        .when_async(rename("Globex Corporation"))
        .await
        .then_expect_events(vec![renamed("Globex Corporation")]);
}

#[tokio::test]
async fn rename_organization_to_blank_name_is_rejected() {
    given_org(vec![]).when_async(rename(" ")).await.then_expect_error(OrganizationError::InvalidName);
}

#[tokio::test]
async fn update_unknown_organization_is_not_found() {
    given(vec![]).when_async(rename("Globex")).await.then_expect_error(OrganizationError::NotFound);
}

#[tokio::test]
async fn update_deleted_organization_is_not_found() {
    given_org(vec![org_deleted()]).when_async(rename("Globex")).await.then_expect_error(OrganizationError::NotFound);
}

// ---- delete ---------------------------------------------------------------------

#[tokio::test]
async fn delete_empty_organization_emits_deleted() {
    given_org(vec![]).when_async(delete_org()).await.then_expect_events(vec![org_deleted()]);
}

/// Every membership, whatever its status or role, is deleted first, then the
/// organization; the last-admin rule does not stand in the way.
#[tokio::test]
async fn delete_organization_deletes_each_membership_then_the_organization() {
    let mut history = vec![joined("ada", ADMIN, Active), joined("bob", "member", Pending)];
    history.extend(member_in("cy", "member", Inactive));
    given_org(history).when_async(delete_org()).await.then_expect_events(vec![
        membership_deleted("ada"),
        membership_deleted("bob"),
        membership_deleted("cy"),
        org_deleted(),
    ]);
}

#[tokio::test]
async fn delete_organization_skips_memberships_already_deleted() {
    given_org(vec![joined("ada", ADMIN, Active), joined("bob", "member", Active), membership_deleted("bob")])
        .when_async(delete_org())
        .await
        .then_expect_events(vec![membership_deleted("ada"), org_deleted()]);
}

#[tokio::test]
async fn delete_deleted_organization_is_not_found() {
    given_org(vec![org_deleted()]).when_async(delete_org()).await.then_expect_error(OrganizationError::NotFound);
}

#[tokio::test]
async fn delete_unknown_organization_is_not_found() {
    given(vec![]).when_async(delete_org()).await.then_expect_error(OrganizationError::NotFound);
}

// ---- remove a deleted user ------------------------------------------------------

#[tokio::test]
async fn remove_user_deletes_only_that_users_membership() {
    given_org(vec![joined("ada", ADMIN, Active), joined("bob", "member", Active), joined("cy", "member", Pending)])
        .when_async(remove_user("bob"))
        .await
        .then_expect_events(vec![membership_deleted("bob")]);
}

#[tokio::test]
async fn remove_user_deletes_membership_in_any_status() {
    for status in MembershipStatus::ALL {
        let mut history = vec![joined("ada", ADMIN, Active)];
        history.extend(member_in("bob", "member", status));
        given_org(history).when_async(remove_user("bob")).await.then_expect_events(vec![membership_deleted("bob")]);
    }
}

/// A deleted user leaves, even as the last active admin: the cascade is the system's.
#[tokio::test]
async fn remove_user_deletes_the_last_active_admin() {
    given_org(vec![joined("ada", ADMIN, Active), joined("bob", "member", Active)])
        .when_async(remove_user("ada"))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

#[tokio::test]
async fn remove_user_without_membership_emits_nothing() {
    given_org(vec![joined("ada", ADMIN, Active)]).when_async(remove_user("bob")).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn remove_user_from_deleted_organization_emits_nothing() {
    given_org(vec![joined("ada", ADMIN, Active), membership_deleted("ada"), org_deleted()])
        .when_async(remove_user("ada"))
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn removed_user_can_no_longer_be_managed() {
    given_org(vec![joined("ada", ADMIN, Active), joined("bob", "member", Active), membership_deleted("bob")])
        .when_async(deactivate("bob", Authority::Project))
        .await
        .then_expect_error(OrganizationError::MembershipNotFound);
}

// ---- the state as a snapshot ------------------------------------------------------

/// A snapshot carries the memberships only; reading it rebuilds the indexes the rules
/// use (a member by user, the active admins), so the rules decide as on the replayed
/// state.
#[tokio::test]
async fn a_snapshot_rebuilds_the_indexes() {
    use authio_domain::ids::{MembershipId, UserId};
    use authio_domain::organization::Organization;
    use cqrs_es::{event_sink::EventSink, Aggregate};
    async fn decide(state: &mut Organization, command: OrganizationCommand) -> Result<(), OrganizationError> {
        state.handle(command, &(), &EventSink::default()).await
    }
    let mut o = Organization::default();
    o.apply(org_created());
    for (m, u, role, status) in [
        ("mem_a", "user_a", ADMIN, Active),
        ("mem_b", "user_b", "member", Active),
        ("mem_c", "user_c", ADMIN, Inactive),
    ] {
        o.apply(OrganizationEvent::MembershipCreated {
            membership_id: MembershipId::new(m),
            organization_id: org_id(),
            user_id: UserId::new(u),
            role: role.into(),
            status,
            created_at: at(),
        });
    }
    let json = serde_json::to_string(&o).unwrap();
    assert!(!json.contains("by_user") && !json.contains("active_admins"), "derived indexes are not stored: {json}");
    for state in [o.clone(), serde_json::from_str::<Organization>(&json).unwrap()] {
        assert_eq!(state.membership_of(&UserId::new("user_b")).map(|(id, _)| id.as_str()), Some("mem_b"));
        let again = OrganizationCommand::AddMembership {
            membership_id: MembershipId::new("mem_d"),
            user_id: UserId::new("user_b"),
            role: "member".into(),
            status: Active,
            at: at(),
        };
        assert_eq!(decide(&mut state.clone(), again).await, Err(OrganizationError::MembershipExists));
        // mem_a is the only active admin (mem_c is an inactive one).
        let demote = OrganizationCommand::ChangeRole {
            membership_id: MembershipId::new("mem_a"),
            role: "member".into(),
            authority: Authority::OrgAdmin,
            at: at(),
        };
        assert_eq!(decide(&mut state.clone(), demote).await, Err(OrganizationError::LastAdmin));
        let demote_other = OrganizationCommand::ChangeRole {
            membership_id: MembershipId::new("mem_b"),
            role: ADMIN.into(),
            authority: Authority::OrgAdmin,
            at: at(),
        };
        assert_eq!(decide(&mut state.clone(), demote_other).await, Ok(()));
    }
}
