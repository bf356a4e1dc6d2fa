//! The route table.
use crate::error::ApiError;
use crate::AppState;
use axum::routing::{get, post};
use axum::Router;

pub mod auth;
pub mod connections;
pub mod console;
pub mod directories;
pub mod domains;
pub mod events;
pub mod handoffs;
pub mod invitations;
pub mod oauth;
pub mod oauth_clients;
pub mod org_sessions;
pub mod passkeys;
pub mod policies;
pub mod project;
pub mod redirects;
pub mod roles;
pub mod system;
pub mod teams;
pub mod webhooks;

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        .route("/v1/session/tenants", post(console::create_tenant))
        .route("/v1/session/tenants/me", get(console::my_tenants))
        .route("/v1/session/tenants/{id}", get(console::get_tenant).patch(console::update_tenant))
        .route("/v1/session/tenants/{id}/select", post(console::select_tenant))
        .route("/v1/session/home", get(console::home))
        .route("/v1/session/tenants/{id}/api-keys", post(console::create_api_key).get(console::list_api_keys))
        .route("/v1/session/tenants/{id}/api-keys/{key_id}", axum::routing::delete(console::revoke_api_key))
        .route("/v1/users", post(project::create_user).get(project::list_users))
        .route("/v1/users/{id}", get(project::get_user).patch(project::update_user).delete(project::delete_user))
        .route("/v1/users/{id}/memberships", get(project::user_memberships))
        .route("/v1/organizations", post(project::create_organization).get(project::list_organizations))
        .route(
            "/v1/organizations/{id}",
            get(project::get_organization).patch(project::update_organization).delete(project::delete_organization),
        )
        .route("/v1/memberships", post(project::create_membership).get(project::list_memberships))
        .route(
            "/v1/memberships/{id}",
            get(project::get_membership).patch(project::change_role).delete(project::delete_membership),
        )
        .route("/v1/organizations/{id}/members", get(project::org_members))
        .route("/v1/organizations/{id}/sessions", get(org_sessions::list))
        .route("/v1/organizations/{id}/sessions/{session_id}/revoke", post(org_sessions::revoke))
        .route("/v1/organizations/{id}/audit-events", get(events::org_audit))
        .route("/v1/audit-events", get(events::list_audit))
        .route("/v1/events", get(events::list_events))
        .route("/v1/redirect-urls", get(redirects::get).put(redirects::put))
        .route("/v1/allowed-origins", get(redirects::get_origins).put(redirects::put_origins))
        .route("/v1/webhook-endpoints", post(webhooks::create_endpoint).get(webhooks::list_endpoints))
        .route(
            "/v1/webhook-endpoints/{id}",
            get(webhooks::get_endpoint).patch(webhooks::update_endpoint).delete(webhooks::delete_endpoint),
        )
        .route("/v1/webhook-endpoints/{id}/rotate-secret", post(webhooks::rotate_secret))
        .route("/v1/webhook-endpoints/{id}/deliveries", get(webhooks::list_deliveries))
        .route("/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", post(webhooks::retry_delivery))
        .route("/v1/settings", get(roles::get_settings).patch(roles::update_settings))
        .route("/v1/permissions", post(roles::create_permission).get(roles::list_permissions))
        .route("/v1/permissions/{slug}", axum::routing::delete(roles::delete_permission))
        .route("/v1/roles", post(roles::create_role).get(roles::list_roles))
        .route("/v1/roles/{slug}", get(roles::get_role).patch(roles::update_role).delete(roles::delete_role))
        .route("/v1/invitations", post(invitations::create).get(invitations::list))
        .route("/v1/invitations/accept", post(invitations::accept))
        .route("/v1/invitations/by-code/{code}", get(invitations::by_code))
        .route("/v1/invitations/{id}", get(invitations::get))
        .route("/v1/invitations/{id}/revoke", post(invitations::revoke))
        .route("/v1/invitations/{id}/resend", post(invitations::resend))
        .route("/v1/organizations/{id}/policy", get(policies::get).put(policies::put))
        .route("/v1/organizations/{id}/directories", post(directories::create).get(directories::list))
        .route("/v1/organizations/{id}/directories/{directory_id}", get(directories::get).delete(directories::delete))
        .route("/v1/organizations/{id}/directories/{directory_id}/rotate-token", post(directories::rotate_token))
        .route(
            "/v1/organizations/{id}/directories/{directory_id}/group-mappings",
            get(directories::get_mappings).put(directories::put_mappings),
        )
        .route("/v1/sessions/step-up/passkey/start", post(passkeys::step_up_start))
        .route("/v1/sessions/step-up/passkey/finish", post(passkeys::step_up_finish))
        .route("/v1/organizations/{id}/domains", post(domains::add).get(domains::list))
        .route(
            "/v1/organizations/{id}/domains/{domain_id}",
            get(domains::get).patch(domains::update).delete(domains::remove),
        )
        .route("/v1/organizations/{id}/domains/{domain_id}/verify", post(domains::verify))
        .route("/v1/organizations/{id}/teams", post(teams::create).get(teams::list))
        .route("/v1/organizations/{id}/teams/{team_id}", get(teams::get).patch(teams::update).delete(teams::delete))
        .route("/v1/organizations/{id}/teams/{team_id}/members", post(teams::add_member).get(teams::members))
        .route("/v1/organizations/{id}/teams/{team_id}/members/{user_id}", axum::routing::delete(teams::remove_member))
        .route("/v1/memberships/{id}/deactivate", post(project::deactivate_membership))
        .route("/v1/memberships/{id}/reactivate", post(project::reactivate_membership))
        .route("/.well-known/jwks.json", get(auth::jwks))
        .route("/.well-known/openid-configuration", get(auth::openid_configuration))
        .route("/v1/sign-in-tokens", post(auth::create_sign_in_token))
        .route("/v1/session/sign-in", post(auth::console_sign_in))
        .route("/v1/session/sign-in/verify", post(auth::console_sign_in_verify))
        .route("/v1/session/sign-out", post(console::sign_out))
        .route("/v1/tokens/introspect", post(auth::introspect))
        .route("/v1/oauth-clients", post(oauth_clients::register).get(oauth_clients::list))
        .route(
            "/v1/oauth-clients/{id}",
            get(oauth_clients::get).patch(oauth_clients::update).delete(oauth_clients::delete),
        )
        .route("/v1/oauth-clients/{id}/rotate-secret", post(oauth_clients::rotate_secret))
        .route("/oauth2/authorize", get(oauth::authorize).post(oauth::authorize))
        .route("/oauth2/token", post(oauth::token))
        .route("/oauth2/userinfo", get(oauth::userinfo).post(oauth::userinfo))
        .route("/oauth2/revoke", post(oauth::revoke))
        .route("/oauth2/introspect", post(oauth::introspect))
        .route("/oauth2/logout", get(oauth::logout).post(oauth::logout))
        .route("/v1/oauth2/requests/{request}", get(oauth::describe))
        .route("/v1/oauth2/authorizations", post(oauth::grant))
        .route("/v1/oauth2/authorizations/deny", post(oauth::deny))
        .route("/v1/organizations/{id}/connections", post(connections::create).get(connections::list))
        .route("/v1/organizations/{id}/connections/{connection_id}", axum::routing::delete(connections::delete))
        .route("/v1/connections", post(connections::create_for_project).get(connections::list_for_project))
        .route("/v1/connections/{id}", axum::routing::delete(connections::delete_for_project))
        .route("/v1/auth/sso/start", get(connections::start))
        .route("/v1/auth/sso/lookup", get(connections::lookup))
        .route("/v1/auth/sso/callback", get(connections::callback))
        .route("/v1/auth/saml/acs", post(connections::saml_acs))
        .route("/v1/auth/saml/{connection_id}/metadata", get(connections::saml_metadata))
        .route("/v1/auth/project", get(handoffs::project))
        .route("/v1/auth/handoffs", post(handoffs::issue))
        .route("/v1/auth/handoffs/exchange", post(handoffs::exchange))
        .route("/v1/auth/magic-links", post(auth::send_magic_link))
        .route("/v1/auth/magic-links/verify", post(auth::verify_magic_link))
        .route("/v1/auth/sign-in-tokens/verify", post(auth::verify_sign_in_token))
        .route("/v1/auth/passkeys/registration/start", post(passkeys::registration_start))
        .route("/v1/auth/passkeys/registration/finish", post(passkeys::registration_finish))
        .route("/v1/auth/passkeys/authentication/start", post(passkeys::authentication_start))
        .route("/v1/auth/passkeys/authentication/finish", post(passkeys::authentication_finish))
        .route("/v1/sessions/switch-org", post(auth::switch_org))
        .route("/v1/sessions/refresh", post(auth::refresh))
        .route("/v1/sessions/revoke", post(auth::revoke))
        .route("/v1/sessions/current", get(auth::current))
        .route("/v1/sessions/contexts/{organization_id}/revoke", post(auth::revoke_context))
        .route("/v1/me", get(auth::me))
        .merge(crate::scim::routes())
        .merge(crate::pages::routes())
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept this method",
            )
        })
        .with_state(state)
}
