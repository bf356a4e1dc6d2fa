//! Builders for organization and membership tests. Members are named by a short
//! word: `"ada"` is membership `mem_ada` of user `user_ada`.
use super::{at, org_id, tenant_id};
use authio_domain::ids::{MembershipId, UserId};
use authio_domain::organization::{Authority, MembershipStatus, Organization, OrganizationCommand, OrganizationEvent};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};

pub fn mem(name: &str) -> MembershipId {
    MembershipId::new(format!("mem_{name}"))
}

pub fn user(name: &str) -> UserId {
    UserId::new(format!("user_{name}"))
}

/// An executor over an existing organization followed by `events`.
pub fn given_org(events: Vec<OrganizationEvent>) -> AggregateTestExecutor<Organization> {
    let mut history = vec![org_created()];
    history.extend(events);
    TestFramework::<Organization>::with(()).given(history)
}

/// An executor over exactly `events` (no organization unless they create one).
pub fn given(events: Vec<OrganizationEvent>) -> AggregateTestExecutor<Organization> {
    TestFramework::<Organization>::with(()).given(events)
}

// ---- events ---------------------------------------------------------------------

pub fn org_created() -> OrganizationEvent {
    OrganizationEvent::Created {
        organization_id: org_id(),
        project_id: tenant_id(),
        name: "Globex".into(),
        slug: "globex".into(),
        domains: vec![],
        created_at: at(),
    }
}

pub fn org_deleted() -> OrganizationEvent {
    OrganizationEvent::Deleted { deleted_at: at() }
}

pub fn joined(name: &str, role: &str, status: MembershipStatus) -> OrganizationEvent {
    OrganizationEvent::MembershipCreated {
        membership_id: mem(name),
        organization_id: org_id(),
        user_id: user(name),
        role: role.into(),
        status,
        created_at: at(),
    }
}

/// The events that bring `name`'s membership to `status` with `role`.
pub fn member_in(name: &str, role: &str, status: MembershipStatus) -> Vec<OrganizationEvent> {
    match status {
        MembershipStatus::Pending | MembershipStatus::Active => vec![joined(name, role, status)],
        MembershipStatus::Inactive => vec![joined(name, role, MembershipStatus::Active), deactivated(name)],
    }
}

pub fn role_changed(name: &str, from: &str, to: &str) -> OrganizationEvent {
    OrganizationEvent::MembershipRoleChanged {
        membership_id: mem(name),
        user_id: user(name),
        from: from.into(),
        to: to.into(),
        changed_at: at(),
    }
}

pub fn deactivated(name: &str) -> OrganizationEvent {
    OrganizationEvent::MembershipDeactivated { membership_id: mem(name), user_id: user(name), deactivated_at: at() }
}

pub fn reactivated(name: &str, role: &str) -> OrganizationEvent {
    OrganizationEvent::MembershipReactivated {
        membership_id: mem(name),
        user_id: user(name),
        role: role.into(),
        reactivated_at: at(),
    }
}

pub fn membership_deleted(name: &str) -> OrganizationEvent {
    OrganizationEvent::MembershipDeleted { membership_id: mem(name), user_id: user(name), deleted_at: at() }
}

// ---- commands -------------------------------------------------------------------

pub fn add(name: &str, role: &str, status: MembershipStatus) -> OrganizationCommand {
    OrganizationCommand::AddMembership {
        membership_id: mem(name),
        user_id: user(name),
        role: role.into(),
        status,
        at: at(),
    }
}

pub fn change_role(name: &str, role: &str, authority: Authority) -> OrganizationCommand {
    OrganizationCommand::ChangeRole { membership_id: mem(name), role: role.into(), authority, at: at() }
}

pub fn deactivate(name: &str, authority: Authority) -> OrganizationCommand {
    OrganizationCommand::Deactivate { membership_id: mem(name), authority, at: at() }
}

pub fn reactivate(name: &str) -> OrganizationCommand {
    OrganizationCommand::Reactivate { membership_id: mem(name), at: at() }
}

pub fn delete_membership(name: &str, authority: Authority) -> OrganizationCommand {
    OrganizationCommand::DeleteMembership { membership_id: mem(name), authority, at: at() }
}

pub fn remove_user(name: &str) -> OrganizationCommand {
    OrganizationCommand::RemoveUser { user_id: user(name), at: at() }
}

pub fn delete_org() -> OrganizationCommand {
    OrganizationCommand::Delete { at: at() }
}
