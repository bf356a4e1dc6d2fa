//! Membership status machine, roles, one membership per user, and the last-admin rule.
//!
//! `pending → active` (accepted or added directly), `active → inactive` (deactivate),
//! `inactive → active` (reactivate, role kept). `pending` can be neither deactivated
//! nor reactivated, only deleted; any membership can be deleted.
mod common;

use authio_domain::organization::{
    Authority, MembershipStatus, OrganizationCommand, OrganizationError, OrganizationEvent, ADMIN, BUILT_IN_ROLES,
};
use common::at;
use common::org::*;
use Authority::{OrgAdmin, Project};
use MembershipStatus::{Active, Inactive, Pending};

/// Bob is an active admin (so the last-admin rule stays out of the way); Ada is a
/// member in `status`.
fn ada_in(status: MembershipStatus) -> Vec<OrganizationEvent> {
    let mut events = vec![joined("bob", ADMIN, Active)];
    events.extend(member_in("ada", "member", status));
    events
}

// ---- create × status ------------------------------------------------------------

#[tokio::test]
async fn add_active_membership_emits_created() {
    given_org(vec![])
        .when_async(add("ada", "member", Active))
        .await
        .then_expect_events(vec![joined("ada", "member", Active)]);
}

#[tokio::test]
async fn add_pending_membership_emits_created() {
    given_org(vec![])
        .when_async(add("ada", "member", Pending))
        .await
        .then_expect_events(vec![joined("ada", "member", Pending)]);
}

#[tokio::test]
async fn add_inactive_membership_is_rejected() {
    given_org(vec![])
        .when_async(add("ada", "member", Inactive))
        .await
        .then_expect_error(OrganizationError::InvalidMembershipTransition);
}

#[tokio::test]
async fn add_membership_for_user_with_pending_membership_is_rejected() {
    given_org(ada_in(Pending))
        .when_async(add_again("ada"))
        .await
        .then_expect_error(OrganizationError::MembershipExists);
}

#[tokio::test]
async fn add_membership_for_user_with_active_membership_is_rejected() {
    given_org(ada_in(Active)).when_async(add_again("ada")).await.then_expect_error(OrganizationError::MembershipExists);
}

#[tokio::test]
async fn add_membership_for_user_with_inactive_membership_is_rejected() {
    given_org(ada_in(Inactive))
        .when_async(add_again("ada"))
        .await
        .then_expect_error(OrganizationError::MembershipExists);
}

/// The same user under a fresh membership id, with another role.
fn add_again(name: &str) -> OrganizationCommand {
    OrganizationCommand::AddMembership {
        membership_id: mem(&format!("{name}2")),
        user_id: user(name),
        role: ADMIN.into(),
        status: Active,
        at: at(),
    }
}

#[tokio::test]
async fn reusing_a_membership_id_for_another_user_is_rejected() {
    given_org(ada_in(Active))
        .when_async(OrganizationCommand::AddMembership {
            membership_id: mem("ada"),
            user_id: user("cy"),
            role: "member".into(),
            status: Active,
            at: at(),
        })
        .await
        .then_expect_error(OrganizationError::MembershipExists);
}

#[tokio::test]
async fn user_may_join_again_after_the_membership_is_deleted() {
    let mut history = ada_in(Active);
    history.push(membership_deleted("ada"));
    given_org(history)
        .when_async(add("ada", "member", Pending))
        .await
        .then_expect_events(vec![joined("ada", "member", Pending)]);
}

#[tokio::test]
async fn add_membership_to_deleted_organization_is_not_found() {
    given_org(vec![org_deleted()])
        .when_async(add("ada", "member", Active))
        .await
        .then_expect_error(OrganizationError::NotFound);
}

#[tokio::test]
async fn add_membership_to_unknown_organization_is_not_found() {
    given(vec![]).when_async(add("ada", "member", Active)).await.then_expect_error(OrganizationError::NotFound);
}

// ---- deactivate × status --------------------------------------------------------

#[tokio::test]
async fn deactivate_pending_membership_is_rejected() {
    given_org(ada_in(Pending))
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::InvalidMembershipTransition);
}

#[tokio::test]
async fn deactivate_active_membership_emits_deactivated() {
    given_org(ada_in(Active))
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_events(vec![deactivated("ada")]);
}

#[tokio::test]
async fn deactivate_inactive_membership_is_rejected() {
    given_org(ada_in(Inactive))
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::InvalidMembershipTransition);
}

// ---- reactivate × status --------------------------------------------------------

#[tokio::test]
async fn reactivate_pending_membership_is_rejected() {
    given_org(ada_in(Pending))
        .when_async(reactivate("ada"))
        .await
        .then_expect_error(OrganizationError::InvalidMembershipTransition);
}

#[tokio::test]
async fn reactivate_active_membership_is_rejected() {
    given_org(ada_in(Active))
        .when_async(reactivate("ada"))
        .await
        .then_expect_error(OrganizationError::InvalidMembershipTransition);
}

#[tokio::test]
async fn reactivate_inactive_membership_emits_reactivated_with_its_role() {
    given_org(ada_in(Inactive))
        .when_async(reactivate("ada"))
        .await
        .then_expect_events(vec![reactivated("ada", "member")]);
}

// ---- delete × status ------------------------------------------------------------

#[tokio::test]
async fn delete_pending_membership_emits_deleted() {
    given_org(ada_in(Pending))
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

#[tokio::test]
async fn delete_active_membership_emits_deleted() {
    given_org(ada_in(Active))
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

#[tokio::test]
async fn delete_inactive_membership_emits_deleted() {
    given_org(ada_in(Inactive))
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

// ---- change role × status -------------------------------------------------------

#[tokio::test]
async fn change_role_of_pending_membership_emits_role_changed() {
    given_org(ada_in(Pending))
        .when_async(change_role("ada", ADMIN, OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("ada", "member", ADMIN)]);
}

#[tokio::test]
async fn change_role_of_active_membership_emits_role_changed() {
    given_org(ada_in(Active))
        .when_async(change_role("ada", ADMIN, OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("ada", "member", ADMIN)]);
}

#[tokio::test]
async fn change_role_of_inactive_membership_emits_role_changed() {
    given_org(ada_in(Inactive))
        .when_async(change_role("ada", ADMIN, OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("ada", "member", ADMIN)]);
}

#[tokio::test]
async fn change_role_to_the_current_role_emits_nothing() {
    for status in MembershipStatus::ALL {
        given_org(ada_in(status)).when_async(change_role("ada", "member", OrgAdmin)).await.then_expect_events(vec![]);
    }
}

/// Status changes never touch the role: after every transition the recorded role is
/// still the one the membership had.
#[tokio::test]
async fn role_changed_records_the_current_role_as_from() {
    given_org(vec![
        joined("bob", ADMIN, Active),
        joined("ada", "member", Active),
        role_changed("ada", "member", ADMIN),
        deactivated("ada"),
        reactivated("ada", ADMIN),
    ])
    .when_async(change_role("ada", "member", OrgAdmin))
    .await
    .then_expect_events(vec![role_changed("ada", ADMIN, "member")]);
}

// ---- unknown or deleted memberships ---------------------------------------------

#[tokio::test]
async fn actions_on_unknown_membership_are_not_found() {
    for command in [
        change_role("cy", "member", OrgAdmin),
        deactivate("cy", OrgAdmin),
        reactivate("cy"),
        delete_membership("cy", OrgAdmin),
    ] {
        let result = given_org(ada_in(Active)).when_async(command.clone()).await.inspect_result();
        assert_eq!(result, Err(OrganizationError::MembershipNotFound), "{command:?}");
    }
}

#[tokio::test]
async fn actions_on_deleted_membership_are_not_found() {
    let mut history = ada_in(Active);
    history.push(membership_deleted("ada"));
    for command in [
        change_role("ada", ADMIN, Project),
        deactivate("ada", Project),
        reactivate("ada"),
        delete_membership("ada", Project),
    ] {
        let result = given_org(history.clone()).when_async(command.clone()).await.inspect_result();
        assert_eq!(result, Err(OrganizationError::MembershipNotFound), "{command:?}");
    }
}

#[tokio::test]
async fn actions_in_deleted_organization_are_not_found() {
    let mut history = ada_in(Active);
    history.push(membership_deleted("ada"));
    history.push(membership_deleted("bob"));
    history.push(org_deleted());
    for command in [
        change_role("ada", ADMIN, Project),
        deactivate("ada", Project),
        reactivate("ada"),
        delete_membership("ada", Project),
    ] {
        let result = given_org(history.clone()).when_async(command.clone()).await.inspect_result();
        assert_eq!(result, Err(OrganizationError::NotFound), "{command:?}");
    }
}

// ---- role kept across deactivate / reactivate -----------------------------------

#[tokio::test]
async fn reactivate_restores_the_admin_role() {
    given_org(vec![joined("bob", ADMIN, Active), joined("ada", ADMIN, Active), deactivated("ada")])
        .when_async(reactivate("ada"))
        .await
        .then_expect_events(vec![reactivated("ada", ADMIN)]);
}

#[tokio::test]
async fn reactivate_restores_the_role_changed_while_inactive() {
    let mut history = ada_in(Inactive);
    history.push(role_changed("ada", "member", ADMIN));
    given_org(history).when_async(reactivate("ada")).await.then_expect_events(vec![reactivated("ada", ADMIN)]);
}

#[tokio::test]
async fn reactivated_membership_can_be_deactivated_again() {
    let mut history = ada_in(Inactive);
    history.push(reactivated("ada", "member"));
    given_org(history).when_async(deactivate("ada", OrgAdmin)).await.then_expect_events(vec![deactivated("ada")]);
}

// ---- roles ----------------------------------------------------------------------

#[test]
fn built_in_roles_are_admin_and_member() {
    assert_eq!(BUILT_IN_ROLES, ["admin", "member"]);
    assert_eq!(ADMIN, "admin");
}

#[tokio::test]
async fn built_in_roles_can_be_assigned_on_join() {
    for role in BUILT_IN_ROLES {
        given_org(vec![])
            .when_async(add("ada", role, Active))
            .await
            .then_expect_events(vec![joined("ada", role, Active)]);
    }
}

// Whether a role exists is the project's role catalog's to say (`roles::RoleCatalog`,
// checked by the application before the organization decides).

// ---- last active admin (org admin authority) ------------------------------------

/// Ada is the only admin and active; Bob is an active member.
fn ada_sole_active_admin() -> Vec<OrganizationEvent> {
    vec![joined("ada", ADMIN, Active), joined("bob", "member", Active)]
}

/// Ada and Cy are both active admins.
fn two_active_admins() -> Vec<OrganizationEvent> {
    vec![joined("ada", ADMIN, Active), joined("bob", "member", Active), joined("cy", ADMIN, Active)]
}

#[tokio::test]
async fn org_admin_demoting_the_last_active_admin_is_rejected() {
    given_org(ada_sole_active_admin())
        .when_async(change_role("ada", "member", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn org_admin_deactivating_the_last_active_admin_is_rejected() {
    given_org(ada_sole_active_admin())
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn org_admin_deleting_the_last_active_admin_is_rejected() {
    given_org(ada_sole_active_admin())
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn org_admin_may_demote_an_admin_while_another_active_admin_exists() {
    given_org(two_active_admins())
        .when_async(change_role("ada", "member", OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("ada", ADMIN, "member")]);
}

#[tokio::test]
async fn org_admin_may_deactivate_an_admin_while_another_active_admin_exists() {
    given_org(two_active_admins())
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_events(vec![deactivated("ada")]);
}

#[tokio::test]
async fn org_admin_may_delete_an_admin_while_another_active_admin_exists() {
    given_org(two_active_admins())
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

#[tokio::test]
async fn project_may_demote_the_last_active_admin() {
    given_org(ada_sole_active_admin())
        .when_async(change_role("ada", "member", Project))
        .await
        .then_expect_events(vec![role_changed("ada", ADMIN, "member")]);
}

#[tokio::test]
async fn project_may_deactivate_the_last_active_admin() {
    given_org(ada_sole_active_admin())
        .when_async(deactivate("ada", Project))
        .await
        .then_expect_events(vec![deactivated("ada")]);
}

#[tokio::test]
async fn project_may_delete_the_last_active_admin() {
    given_org(ada_sole_active_admin())
        .when_async(delete_membership("ada", Project))
        .await
        .then_expect_events(vec![membership_deleted("ada")]);
}

/// Cy is an admin but inactive: Ada is still the last *active* admin.
fn ada_active_admin_cy_inactive_admin() -> Vec<OrganizationEvent> {
    let mut events = vec![joined("ada", ADMIN, Active)];
    events.extend(member_in("cy", ADMIN, Inactive));
    events
}

#[tokio::test]
async fn inactive_admin_does_not_count_when_demoting() {
    given_org(ada_active_admin_cy_inactive_admin())
        .when_async(change_role("ada", "member", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn inactive_admin_does_not_count_when_deactivating() {
    given_org(ada_active_admin_cy_inactive_admin())
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn inactive_admin_does_not_count_when_deleting() {
    given_org(ada_active_admin_cy_inactive_admin())
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn pending_admin_does_not_count_as_active_admin() {
    given_org(vec![joined("ada", ADMIN, Active), joined("cy", ADMIN, Pending)])
        .when_async(deactivate("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn demoted_admin_no_longer_counts_as_admin() {
    let mut history = two_active_admins();
    history.push(role_changed("cy", ADMIN, "member"));
    given_org(history)
        .when_async(delete_membership("ada", OrgAdmin))
        .await
        .then_expect_error(OrganizationError::LastAdmin);
}

#[tokio::test]
async fn reactivated_admin_counts_again() {
    let mut history = ada_active_admin_cy_inactive_admin();
    history.push(reactivated("cy", ADMIN));
    given_org(history).when_async(deactivate("ada", OrgAdmin)).await.then_expect_events(vec![deactivated("ada")]);
}

/// The rule protects active admins only: an inactive or pending admin, or a member,
/// may be removed even when it leaves a single active admin (or none).
#[tokio::test]
async fn org_admin_may_remove_an_admin_who_is_not_active() {
    given_org(ada_active_admin_cy_inactive_admin())
        .when_async(delete_membership("cy", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("cy")]);
    given_org(ada_active_admin_cy_inactive_admin())
        .when_async(change_role("cy", "member", OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("cy", ADMIN, "member")]);
    given_org(vec![joined("cy", ADMIN, Pending)])
        .when_async(delete_membership("cy", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("cy")]);
}

#[tokio::test]
async fn org_admin_may_remove_a_member_beside_the_last_admin() {
    given_org(ada_sole_active_admin())
        .when_async(deactivate("bob", OrgAdmin))
        .await
        .then_expect_events(vec![deactivated("bob")]);
    given_org(ada_sole_active_admin())
        .when_async(delete_membership("bob", OrgAdmin))
        .await
        .then_expect_events(vec![membership_deleted("bob")]);
}

#[tokio::test]
async fn promoting_to_admin_is_always_allowed() {
    given_org(ada_sole_active_admin())
        .when_async(change_role("bob", ADMIN, OrgAdmin))
        .await
        .then_expect_events(vec![role_changed("bob", "member", ADMIN)]);
}

/// Re-asserting the last admin's own role is a no-op, not a demotion.
#[tokio::test]
async fn last_admin_keeping_the_admin_role_emits_nothing() {
    given_org(ada_sole_active_admin()).when_async(change_role("ada", ADMIN, OrgAdmin)).await.then_expect_events(vec![]);
}

// ---- statuses and codes ---------------------------------------------------------

#[test]
fn membership_statuses_parse_from_their_names() {
    for status in MembershipStatus::ALL {
        assert_eq!(MembershipStatus::parse(status.as_str()), Some(status));
        assert_eq!(serde_json::to_value(status).unwrap(), serde_json::Value::String(status.as_str().into()));
    }
    assert_eq!(MembershipStatus::parse("deleted"), None);
}

#[test]
fn organization_error_codes_are_stable() {
    let cases = [
        (OrganizationError::AlreadyExists, "organization_exists"),
        (OrganizationError::NotFound, "not_found"),
        (OrganizationError::MembershipNotFound, "not_found"),
        (OrganizationError::MembershipExists, "membership_exists"),
        (OrganizationError::UnknownRole, "unknown_role"),
        (OrganizationError::InvalidMembershipTransition, "invalid_membership_transition"),
        (OrganizationError::LastAdmin, "last_admin"),
        (OrganizationError::InvalidName, "invalid_request"),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error:?}");
    }
}
