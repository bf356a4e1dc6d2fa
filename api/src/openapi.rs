//! The OpenAPI document, served at `/openapi.json`.
use crate::error::ErrorBody;
use crate::routes::{
    auth, connections, console, directories, domains, events, handoffs, invitations, oauth, oauth_clients,
    org_sessions, passkeys, policies, project, redirects, roles, system, teams, webhooks,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "console",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("cs_…")
                    .description(Some("A tenant owner's console session token"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "access_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("A signed-in user's access token"))
                    .build(),
            ),
        );
        c.add_security_scheme(
            "publishable_key",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::new("Authio-Publishable-Key"),
            )),
        );
        c.add_security_scheme(
            "secret_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk_test_… / sk_live_…")
                    .description(Some("A project's secret key"))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Authio", description = "Identity for B2B SaaS: one user, many organizations."),
    modifiers(&Security),
    paths(
        system::healthz, system::metrics, system::readyz, system::openapi,
        console::create_tenant, console::my_tenants, console::get_tenant, console::update_tenant,
        console::select_tenant, console::home, console::create_api_key, console::list_api_keys,
        console::revoke_api_key, console::sign_out,
        project::create_user, project::list_users, project::get_user, project::update_user,
        project::delete_user, project::user_memberships,
        project::create_organization, project::list_organizations, project::get_organization,
        project::update_organization, project::delete_organization,
        project::create_membership, project::list_memberships, project::get_membership,
        project::change_role, project::deactivate_membership, project::reactivate_membership,
        project::delete_membership, project::org_members,
        auth::jwks, auth::openid_configuration, auth::send_magic_link, auth::verify_magic_link,
        handoffs::project, handoffs::issue, handoffs::exchange,
        oauth_clients::register, oauth_clients::list, oauth_clients::get, oauth_clients::update,
        oauth_clients::rotate_secret, oauth_clients::delete,
        oauth::authorize, oauth::describe, oauth::grant, oauth::deny, oauth::token, oauth::userinfo,
        oauth::revoke, oauth::introspect, oauth::logout,
        connections::create, connections::list, connections::delete, connections::start, connections::callback,
        connections::lookup, connections::create_for_project, connections::list_for_project,
        connections::delete_for_project, connections::saml_metadata, connections::saml_acs,
        auth::create_sign_in_token, auth::verify_sign_in_token, auth::console_sign_in,
        auth::console_sign_in_verify, auth::switch_org, auth::refresh, auth::revoke, auth::me,
        auth::introspect, auth::current, auth::revoke_context, org_sessions::list, org_sessions::revoke,
        events::list_events, events::list_audit, events::org_audit, redirects::get, redirects::put, redirects::get_origins, redirects::put_origins,
        webhooks::create_endpoint, webhooks::list_endpoints, webhooks::get_endpoint, webhooks::update_endpoint,
        webhooks::delete_endpoint, webhooks::rotate_secret, webhooks::list_deliveries, webhooks::retry_delivery,
        passkeys::registration_start, passkeys::registration_finish, passkeys::authentication_start,
        passkeys::authentication_finish,
        roles::get_settings, roles::update_settings, roles::create_permission, roles::list_permissions,
        roles::delete_permission, roles::create_role, roles::list_roles, roles::get_role, roles::update_role,
        roles::delete_role,
        invitations::create, invitations::list, invitations::get, invitations::revoke, invitations::resend,
        invitations::by_code, invitations::accept,
        teams::create, teams::list, teams::get, teams::update, teams::delete, teams::add_member, teams::members,
        teams::remove_member,
        domains::add, domains::list, domains::get, domains::verify, domains::update, domains::remove,
        policies::get, policies::put, passkeys::step_up_start, passkeys::step_up_finish,
        directories::create, directories::list, directories::get, directories::rotate_token, directories::delete,
        directories::get_mappings, directories::put_mappings,
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
