//! Tenant: mode changes (all nine `from → to` pairs), organizations, API keys, names.
mod common;

use authio_domain::ids::{ApiKeyId, OrganizationId};
use authio_domain::tenant::{Environment, Tenant, TenantCommand, TenantError, TenantEvent, TenantMode};
use common::{at, operator_id, other_operator_id, tenant_id};
use cqrs_es::test::{AggregateTestExecutor, TestFramework};
use TenantMode::{B2b, B2c, Flat};

// ---- builders -------------------------------------------------------------------

fn given(events: Vec<TenantEvent>) -> AggregateTestExecutor<Tenant> {
    TestFramework::<Tenant>::with(()).given(events)
}

fn created(mode: TenantMode) -> TenantEvent {
    TenantEvent::Created {
        tenant_id: tenant_id(),
        name: "Acme Cloud".into(),
        slug: "acme-cloud".into(),
        mode,
        owner: operator_id(),
        created_at: at(),
    }
}

fn org(n: u32) -> OrganizationId {
    OrganizationId::new(format!("org_{n}"))
}

fn org_added(n: u32) -> TenantEvent {
    TenantEvent::OrganizationAdded { organization_id: org(n) }
}

fn org_removed(n: u32) -> TenantEvent {
    TenantEvent::OrganizationRemoved { organization_id: org(n) }
}

fn mode_changed(from: TenantMode, to: TenantMode) -> TenantEvent {
    TenantEvent::ModeChanged { from, to }
}

fn key(n: u32) -> ApiKeyId {
    ApiKeyId::new(format!("key_{n}"))
}

fn key_created(n: u32) -> TenantEvent {
    TenantEvent::ApiKeyCreated {
        key_id: key(n),
        name: "Backend".into(),
        environment: Environment::Test,
        secret_prefix: "sk_test_".into(),
        secret_last_four: "a1b2".into(),
        publishable_key: format!("pk_test_{n}"),
        created_at: at(),
    }
}

fn key_revoked(n: u32) -> TenantEvent {
    TenantEvent::ApiKeyRevoked { key_id: key(n), revoked_at: at() }
}

/// The owner asks for `to`.
fn change_mode(to: TenantMode) -> TenantCommand {
    TenantCommand::Update { by: operator_id(), name: None, slug: None, mode: Some(to) }
}

fn rename(name: &str) -> TenantCommand {
    TenantCommand::Update { by: operator_id(), name: Some(name.into()), slug: None, mode: None }
}

fn create(name: &str, mode: TenantMode) -> TenantCommand {
    TenantCommand::Create {
        tenant_id: tenant_id(),
        name: name.into(),
        slug: "acme-cloud".into(),
        mode,
        owner: operator_id(),
        at: at(),
    }
}

fn create_key(n: u32, name: &str) -> TenantCommand {
    TenantCommand::CreateApiKey {
        by: operator_id(),
        key_id: key(n),
        name: name.into(),
        environment: Environment::Test,
        secret_prefix: "sk_test_".into(),
        secret_last_four: "a1b2".into(),
        publishable_key: format!("pk_test_{n}"),
        at: at(),
    }
}

fn revoke_key(n: u32) -> TenantCommand {
    TenantCommand::RevokeApiKey { by: operator_id(), key_id: key(n), at: at() }
}

// ---- creation and names ---------------------------------------------------------

#[tokio::test]
async fn create_tenant_emits_created() {
    TestFramework::<Tenant>::with(())
        .given_no_previous_events()
        .when_async(create("Acme Cloud", B2b))
        .await
        .then_expect_events(vec![created(B2b)]);
}

#[tokio::test]
async fn create_tenant_in_any_mode() {
    for mode in TenantMode::ALL {
        given(vec![]).when_async(create("Acme Cloud", mode)).await.then_expect_events(vec![created(mode)]);
    }
}

#[tokio::test]
async fn create_existing_tenant_is_rejected() {
    given(vec![created(B2b)]).when_async(create("Acme Cloud", B2b)).await.then_expect_error(TenantError::AlreadyExists);
}

#[tokio::test]
async fn create_tenant_with_blank_name_is_rejected() {
    for name in ["", "   ", "\t\n"] {
        given(vec![]).when_async(create(name, B2b)).await.then_expect_error(TenantError::InvalidName);
    }
}

#[tokio::test]
async fn tenant_name_is_limited_to_200_characters_not_bytes() {
    let longest = "é".repeat(200);
    let result = given(vec![]).when_async(create(&longest, B2b)).await.inspect_result();
    assert!(result.is_ok(), "200 characters (400 bytes) are allowed: {result:?}");

    given(vec![]).when_async(create(&"a".repeat(201), B2b)).await.then_expect_error(TenantError::InvalidName);
}

#[tokio::test]
async fn rename_emits_updated() {
    given(vec![created(B2b)])
        .when_async(rename("Acme Cloud EU"))
        .await
        .then_expect_events(vec![TenantEvent::Updated { name: Some("Acme Cloud EU".into()), slug: None }]);
}

#[tokio::test]
async fn rename_to_blank_name_is_rejected() {
    given(vec![created(B2b)]).when_async(rename("  ")).await.then_expect_error(TenantError::InvalidName);
}

#[tokio::test]
async fn rename_by_non_owner_is_rejected() {
    given(vec![created(B2b)])
        .when_async(TenantCommand::Update {
            by: other_operator_id(),
            name: Some("Mine now".into()),
            slug: None,
            mode: None,
        })
        .await
        .then_expect_error(TenantError::NotOwner);
}

#[tokio::test]
async fn update_of_unknown_tenant_is_not_found() {
    given(vec![]).when_async(change_mode(Flat)).await.then_expect_error(TenantError::NotFound);
}

// ---- mode: from b2b -------------------------------------------------------------

#[tokio::test]
async fn b2b_to_b2b_emits_no_event() {
    given(vec![created(B2b)]).when_async(change_mode(B2b)).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn b2b_to_b2b_with_organizations_emits_no_event() {
    given(vec![created(B2b), org_added(1)]).when_async(change_mode(B2b)).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn b2b_to_flat_without_organizations_is_allowed() {
    given(vec![created(B2b)]).when_async(change_mode(Flat)).await.then_expect_events(vec![mode_changed(B2b, Flat)]);
}

#[tokio::test]
async fn b2b_to_flat_with_an_organization_is_rejected() {
    given(vec![created(B2b), org_added(1)])
        .when_async(change_mode(Flat))
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}

#[tokio::test]
async fn b2b_to_flat_while_one_of_two_organizations_remains_is_rejected() {
    given(vec![created(B2b), org_added(1), org_added(2), org_removed(1)])
        .when_async(change_mode(Flat))
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}

#[tokio::test]
async fn b2b_to_flat_after_the_last_organization_is_removed_is_allowed() {
    given(vec![created(B2b), org_added(1), org_added(2), org_removed(2), org_removed(1)])
        .when_async(change_mode(Flat))
        .await
        .then_expect_events(vec![mode_changed(B2b, Flat)]);
}

#[tokio::test]
async fn b2b_to_b2c_without_organizations_is_allowed() {
    given(vec![created(B2b)]).when_async(change_mode(B2c)).await.then_expect_events(vec![mode_changed(B2b, B2c)]);
}

#[tokio::test]
async fn b2b_to_b2c_with_an_organization_is_rejected() {
    given(vec![created(B2b), org_added(1)])
        .when_async(change_mode(B2c))
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}

#[tokio::test]
async fn b2b_to_b2c_while_one_of_two_organizations_remains_is_rejected() {
    given(vec![created(B2b), org_added(1), org_added(2), org_removed(2)])
        .when_async(change_mode(B2c))
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}

#[tokio::test]
async fn b2b_to_b2c_after_the_last_organization_is_removed_is_allowed() {
    given(vec![created(B2b), org_added(1), org_removed(1)])
        .when_async(change_mode(B2c))
        .await
        .then_expect_events(vec![mode_changed(B2b, B2c)]);
}

// ---- mode: from flat ------------------------------------------------------------

#[tokio::test]
async fn flat_to_flat_emits_no_event() {
    given(vec![created(Flat)]).when_async(change_mode(Flat)).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn flat_to_b2c_is_allowed() {
    given(vec![created(Flat)]).when_async(change_mode(B2c)).await.then_expect_events(vec![mode_changed(Flat, B2c)]);
}

#[tokio::test]
async fn flat_to_b2b_is_allowed() {
    given(vec![created(Flat)]).when_async(change_mode(B2b)).await.then_expect_events(vec![mode_changed(Flat, B2b)]);
}

/// A tenant that once had organizations, emptied them and left b2b may come back.
#[tokio::test]
async fn flat_to_b2b_after_leaving_b2b_is_allowed() {
    given(vec![created(B2b), org_added(1), org_removed(1), mode_changed(B2b, Flat)])
        .when_async(change_mode(B2b))
        .await
        .then_expect_events(vec![mode_changed(Flat, B2b)]);
}

// ---- mode: from b2c -------------------------------------------------------------

#[tokio::test]
async fn b2c_to_b2c_emits_no_event() {
    given(vec![created(B2c)]).when_async(change_mode(B2c)).await.then_expect_events(vec![]);
}

#[tokio::test]
async fn b2c_to_flat_is_allowed() {
    given(vec![created(B2c)]).when_async(change_mode(Flat)).await.then_expect_events(vec![mode_changed(B2c, Flat)]);
}

#[tokio::test]
async fn b2c_to_b2b_is_allowed() {
    given(vec![created(B2c)]).when_async(change_mode(B2b)).await.then_expect_events(vec![mode_changed(B2c, B2b)]);
}

#[tokio::test]
async fn b2c_to_b2b_after_leaving_b2b_is_allowed() {
    given(vec![created(B2b), org_added(1), org_removed(1), mode_changed(B2b, B2c)])
        .when_async(change_mode(B2b))
        .await
        .then_expect_events(vec![mode_changed(B2c, B2b)]);
}

/// The mode events chain: each `from` is the previous `to`.
#[tokio::test]
async fn mode_changed_records_the_current_mode_as_from() {
    given(vec![created(B2b), mode_changed(B2b, Flat), mode_changed(Flat, B2c)])
        .when_async(change_mode(Flat))
        .await
        .then_expect_events(vec![mode_changed(B2c, Flat)]);
}

// ---- mode: who may change it ----------------------------------------------------

#[tokio::test]
async fn mode_change_by_non_owner_is_rejected() {
    for (from, to) in [(B2b, Flat), (Flat, B2c), (B2c, B2b), (Flat, Flat)] {
        given(vec![created(from)])
            .when_async(TenantCommand::Update { by: other_operator_id(), name: None, slug: None, mode: Some(to) })
            .await
            .then_expect_error(TenantError::NotOwner);
    }
}

/// A non-owner learns nothing about the tenant's organizations.
#[tokio::test]
async fn non_owner_is_rejected_before_the_organization_rule() {
    given(vec![created(B2b), org_added(1)])
        .when_async(TenantCommand::Update { by: other_operator_id(), name: None, slug: None, mode: Some(Flat) })
        .await
        .then_expect_error(TenantError::NotOwner);
}

// ---- mode together with a rename ------------------------------------------------

#[tokio::test]
async fn rename_with_mode_change_emits_both_events() {
    given(vec![created(B2b)])
        .when_async(TenantCommand::Update {
            by: operator_id(),
            name: Some("Acme Flat".into()),
            slug: Some("acme-flat".into()),
            mode: Some(Flat),
        })
        .await
        .then_expect_events(vec![
            TenantEvent::Updated { name: Some("Acme Flat".into()), slug: Some("acme-flat".into()) },
            mode_changed(B2b, Flat),
        ]);
}

#[tokio::test]
async fn rejected_mode_change_also_drops_the_rename() {
    given(vec![created(B2b), org_added(1)])
        .when_async(TenantCommand::Update {
            by: operator_id(),
            name: Some("Acme Flat".into()),
            slug: None,
            mode: Some(Flat),
        })
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}

#[tokio::test]
async fn rename_with_unchanged_mode_emits_only_updated() {
    given(vec![created(B2c)])
        .when_async(TenantCommand::Update {
            by: operator_id(),
            name: Some("Acme Consumer".into()),
            slug: None,
            mode: Some(B2c),
        })
        .await
        .then_expect_events(vec![TenantEvent::Updated { name: Some("Acme Consumer".into()), slug: None }]);
}

// ---- organizations --------------------------------------------------------------

#[tokio::test]
async fn add_organization_in_b2b_is_counted() {
    given(vec![created(B2b)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_events(vec![org_added(1)]);
}

#[tokio::test]
async fn add_organization_in_flat_is_rejected() {
    given(vec![created(Flat)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_error(TenantError::OrganizationsDisabled);
}

#[tokio::test]
async fn add_organization_in_b2c_is_rejected() {
    given(vec![created(B2c)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_error(TenantError::OrganizationsDisabled);
}

#[tokio::test]
async fn add_organization_after_leaving_b2b_is_rejected() {
    given(vec![created(B2b), mode_changed(B2b, Flat)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_error(TenantError::OrganizationsDisabled);
}

#[tokio::test]
async fn add_organization_after_returning_to_b2b_is_allowed() {
    given(vec![created(Flat), mode_changed(Flat, B2b)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_events(vec![org_added(1)]);
}

#[tokio::test]
async fn add_organization_to_unknown_tenant_is_not_found() {
    given(vec![])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_error(TenantError::NotFound);
}

#[tokio::test]
async fn remove_organization_emits_removed() {
    given(vec![created(B2b), org_added(1)])
        .when_async(TenantCommand::RemoveOrganization { organization_id: org(1) })
        .await
        .then_expect_events(vec![org_removed(1)]);
}

#[tokio::test]
async fn remove_organization_from_unknown_tenant_is_not_found() {
    given(vec![])
        .when_async(TenantCommand::RemoveOrganization { organization_id: org(1) })
        .await
        .then_expect_error(TenantError::NotFound);
}

// ---- API keys -------------------------------------------------------------------

#[tokio::test]
async fn create_api_key_emits_created() {
    given(vec![created(B2b)]).when_async(create_key(1, "Backend")).await.then_expect_events(vec![key_created(1)]);
}

#[tokio::test]
async fn create_api_key_by_non_owner_is_rejected() {
    given(vec![created(B2b)])
        .when_async(TenantCommand::CreateApiKey {
            by: other_operator_id(),
            key_id: key(1),
            name: "Backend".into(),
            environment: Environment::Live,
            secret_prefix: "sk_live_".into(),
            secret_last_four: "a1b2".into(),
            publishable_key: "pk_live_1".into(),
            at: at(),
        })
        .await
        .then_expect_error(TenantError::NotOwner);
}

#[tokio::test]
async fn create_api_key_with_blank_name_is_rejected() {
    given(vec![created(B2b)]).when_async(create_key(1, " ")).await.then_expect_error(TenantError::InvalidName);
}

#[tokio::test]
async fn create_api_key_with_overlong_name_is_rejected() {
    given(vec![created(B2b)])
        .when_async(create_key(1, &"k".repeat(201)))
        .await
        .then_expect_error(TenantError::InvalidName);
}

#[tokio::test]
async fn create_api_key_on_unknown_tenant_is_not_found() {
    given(vec![]).when_async(create_key(1, "Backend")).await.then_expect_error(TenantError::NotFound);
}

#[tokio::test]
async fn revoke_api_key_emits_revoked() {
    given(vec![created(B2b), key_created(1)]).when_async(revoke_key(1)).await.then_expect_events(vec![key_revoked(1)]);
}

#[tokio::test]
async fn revoke_unknown_api_key_is_not_found() {
    given(vec![created(B2b), key_created(1)])
        .when_async(revoke_key(2))
        .await
        .then_expect_error(TenantError::ApiKeyNotFound);
}

#[tokio::test]
async fn revoke_already_revoked_api_key_is_not_found() {
    given(vec![created(B2b), key_created(1), key_revoked(1)])
        .when_async(revoke_key(1))
        .await
        .then_expect_error(TenantError::ApiKeyNotFound);
}

#[tokio::test]
async fn revoking_one_key_leaves_the_others_usable() {
    given(vec![created(B2b), key_created(1), key_created(2), key_revoked(1)])
        .when_async(revoke_key(2))
        .await
        .then_expect_events(vec![key_revoked(2)]);
}

#[tokio::test]
async fn revoke_api_key_by_non_owner_is_rejected() {
    given(vec![created(B2b), key_created(1)])
        .when_async(TenantCommand::RevokeApiKey { by: other_operator_id(), key_id: key(1), at: at() })
        .await
        .then_expect_error(TenantError::NotOwner);
}

// ---- error codes ----------------------------------------------------------------

#[test]
fn tenant_error_codes_are_stable() {
    let cases = [
        (TenantError::AlreadyExists, "tenant_exists"),
        (TenantError::NotFound, "not_found"),
        (TenantError::NotOwner, "not_owner"),
        (TenantError::TenantHasOrganizations, "tenant_has_organizations"),
        (TenantError::OrganizationsDisabled, "organizations_disabled"),
        (TenantError::ApiKeyNotFound, "not_found"),
        (TenantError::InvalidName, "invalid_request"),
    ];
    for (error, code) in cases {
        assert_eq!(error.code(), code, "{error:?}");
    }
}

#[test]
fn tenant_modes_parse_from_their_names() {
    for mode in TenantMode::ALL {
        assert_eq!(TenantMode::parse(mode.as_str()), Some(mode));
        assert_eq!(serde_json::to_value(mode).unwrap(), serde_json::Value::String(mode.as_str().into()));
    }
    assert_eq!(TenantMode::default(), B2b, "b2b is the default mode");
    assert_eq!(TenantMode::parse("B2B"), None);
}

#[tokio::test]
async fn adding_an_organization_twice_counts_it_once() {
    given(vec![created(B2b), org_added(1)])
        .when_async(TenantCommand::AddOrganization { organization_id: org(1) })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn removing_an_organization_never_added_changes_nothing() {
    given(vec![created(B2b), org_added(1)])
        .when_async(TenantCommand::RemoveOrganization { organization_id: org(2) })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn a_removal_of_an_unknown_organization_cannot_unlock_flat_mode() {
    given(vec![created(B2b), org_added(1), org_removed(2)])
        .when_async(change_mode(Flat))
        .await
        .then_expect_error(TenantError::TenantHasOrganizations);
}
