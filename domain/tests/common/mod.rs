//! Shared fixed values for the domain tests: ids, one timestamp, and one sample of
//! every event variant (the same values the golden fixtures hold).
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use authio_domain::ids::{ApiKeyId, MembershipId, OperatorId, OrganizationId, SessionId, TenantId, UserId};
use authio_domain::operator::OperatorEvent;
use authio_domain::organization::{MembershipStatus, OrganizationEvent};
use authio_domain::reservation::ReservationEvent;
use authio_domain::session::SessionEvent;
use authio_domain::tenant::{Environment, TenantEvent, TenantMode};
use authio_domain::user::UserEvent;
use authio_domain::webhook::{DisableReason, WebhookEvent};
use chrono::{DateTime, Utc};

/// The one instant every test and fixture uses.
pub const AT: &str = "2026-05-13T13:42:53Z";

pub fn at() -> DateTime<Utc> {
    AT.parse().expect("fixed timestamp parses")
}

pub const OPERATOR: &str = "op_01JV2Q7Z6X4N8M3K5P9R0S1T2A";
pub const OTHER_OPERATOR: &str = "op_01JV2Q7Z6X4N8M3K5P9R0S1T2B";
pub const TENANT: &str = "proj_01JV2Q7Z6X4N8M3K5P9R0S1T2C";
pub const ORG: &str = "org_01JV2Q7Z6X4N8M3K5P9R0S1T2D";
pub const USER: &str = "user_01JV2Q7Z6X4N8M3K5P9R0S1T2E";
pub const MEMBERSHIP: &str = "mem_01JV2Q7Z6X4N8M3K5P9R0S1T2F";
pub const API_KEY: &str = "key_01JV2Q7Z6X4N8M3K5P9R0S1T2G";
pub const CONSOLE_SESSION: &str = "cs_01JV2Q7Z6X4N8M3K5P9R0S1T2H";
pub const OTHER_ORG: &str = "org_01JV2Q7Z6X4N8M3K5P9R0S1T2K";
pub const SESSION: &str = "sess_01JV2Q7Z6X4N8M3K5P9R0S1T2M";
/// The id of a sign-in token (never the token itself).
pub const SIGN_IN_TOKEN: &str = "sit_01JV2Q7Z6X4N8M3K5P9R0S1T2N";
/// When the sample sign-in token expires: [`AT`] plus fifteen minutes.
pub const SIGN_IN_TOKEN_EXPIRES: &str = "2026-05-13T13:57:53Z";

/// A passkey's credential id (base64url of 16 bytes); never any key material.
pub const PASSKEY_CREDENTIAL: &str = "q83vEjRWeJCrze8SNFZ4kA";

pub fn sign_in_token_expires_at() -> DateTime<Utc> {
    SIGN_IN_TOKEN_EXPIRES.parse().expect("fixed timestamp parses")
}

pub fn operator_id() -> OperatorId {
    OperatorId::new(OPERATOR)
}
pub fn other_operator_id() -> OperatorId {
    OperatorId::new(OTHER_OPERATOR)
}
pub fn tenant_id() -> TenantId {
    TenantId::new(TENANT)
}
pub fn org_id() -> OrganizationId {
    OrganizationId::new(ORG)
}
pub fn user_id() -> UserId {
    UserId::new(USER)
}
pub fn membership_id() -> MembershipId {
    MembershipId::new(MEMBERSHIP)
}
pub fn api_key_id() -> ApiKeyId {
    ApiKeyId::new(API_KEY)
}
pub fn other_org_id() -> OrganizationId {
    OrganizationId::new(OTHER_ORG)
}
pub fn session_id() -> SessionId {
    SessionId::new(SESSION)
}

/// One sample of every tenant event variant, in declaration order.
pub fn tenant_events() -> Vec<TenantEvent> {
    vec![
        TenantEvent::Created {
            tenant_id: tenant_id(),
            name: "Acme Cloud".into(),
            slug: "acme-cloud".into(),
            mode: TenantMode::B2b,
            owner: operator_id(),
            created_at: at(),
        },
        TenantEvent::Updated { name: Some("Acme Cloud EU".into()), slug: Some("acme-cloud-eu".into()) },
        TenantEvent::ModeChanged { from: TenantMode::B2b, to: TenantMode::Flat },
        TenantEvent::OrganizationAdded { organization_id: org_id() },
        TenantEvent::OrganizationRemoved { organization_id: org_id() },
        TenantEvent::ApiKeyCreated {
            key_id: api_key_id(),
            name: "Production backend".into(),
            environment: Environment::Live,
            secret_prefix: "sk_live_".into(),
            secret_last_four: "9f3a".into(),
            publishable_key: "pk_live_01JV2Q7Z6X4N8M3K5P9R0S1T2J".into(),
            created_at: at(),
        },
        TenantEvent::ApiKeyRevoked { key_id: api_key_id(), revoked_at: at() },
        TenantEvent::RedirectUrlsChanged {
            from: vec![],
            to: vec!["https://app.acme.example".into(), "https://acme.example/auth/callback".into()],
            changed_at: at(),
        },
        TenantEvent::AllowedOriginsChanged {
            from: vec![],
            to: vec!["https://app.acme.example".into()],
            changed_at: at(),
        },
        TenantEvent::TokenAlgorithmChanged {
            from: authio_domain::tenant::TokenAlgorithm::EdDSA,
            to: authio_domain::tenant::TokenAlgorithm::ES256,
        },
        TenantEvent::SettingsChanged {
            sign_up: Some(authio_domain::tenant::SignUp::InvitationOnly),
            teams_in_tokens: Some(true),
            changed_at: at(),
        },
    ]
}

/// One sample of every user event variant. `user.updated` clears the last name
/// (`Some(None)`, stored as `null`), which must survive a round trip.
pub fn user_events() -> Vec<UserEvent> {
    vec![
        UserEvent::Created {
            user_id: user_id(),
            project_id: tenant_id(),
            email: "Ada.Lovelace@example.com".into(),
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            email_verified: false,
            created_at: at(),
        },
        UserEvent::Updated {
            email: Some("ada@example.org".into()),
            first_name: Some(Some("Augusta Ada".into())),
            last_name: Some(None),
            email_verified: Some(true),
            updated_at: at(),
        },
        UserEvent::Deleted { deleted_at: at() },
        UserEvent::SignInTokenIssued {
            token_id: SIGN_IN_TOKEN.into(),
            expires_at: sign_in_token_expires_at(),
            issued_at: at(),
        },
        UserEvent::PasskeyRegistered { credential_id: PASSKEY_CREDENTIAL.into(), created_at: at() },
    ]
}

/// One sample of every organization (and membership) event variant.
pub fn organization_events() -> Vec<OrganizationEvent> {
    vec![
        OrganizationEvent::Created {
            organization_id: org_id(),
            project_id: tenant_id(),
            name: "Globex".into(),
            slug: "globex".into(),
            domains: vec!["globex.example".into()],
            created_at: at(),
        },
        OrganizationEvent::Updated {
            name: Some("Globex Corporation".into()),
            slug: Some("globex-corp".into()),
            domains: Some(vec!["globex.example".into(), "globex.test".into()]),
            updated_at: at(),
        },
        OrganizationEvent::Deleted { deleted_at: at() },
        OrganizationEvent::MembershipCreated {
            membership_id: membership_id(),
            organization_id: org_id(),
            user_id: user_id(),
            role: "member".into(),
            status: MembershipStatus::Pending,
            created_at: at(),
        },
        OrganizationEvent::MembershipRoleChanged {
            membership_id: membership_id(),
            user_id: user_id(),
            from: "member".into(),
            to: "admin".into(),
            changed_at: at(),
        },
        OrganizationEvent::MembershipDeactivated {
            membership_id: membership_id(),
            user_id: user_id(),
            deactivated_at: at(),
        },
        OrganizationEvent::MembershipReactivated {
            membership_id: membership_id(),
            user_id: user_id(),
            role: "admin".into(),
            reactivated_at: at(),
        },
        OrganizationEvent::MembershipDeleted { membership_id: membership_id(), user_id: user_id(), deleted_at: at() },
        OrganizationEvent::MembershipActivated {
            membership_id: membership_id(),
            user_id: user_id(),
            role: "member".into(),
            activated_at: at(),
        },
        OrganizationEvent::PolicyChanged {
            allowed_methods: Some(vec!["passkey".into()]),
            require_passkey: true,
            max_session_age_seconds: Some(43_200),
            changed_at: at(),
        },
    ]
}

pub const INVITATION: &str = "inv_01JV2Q7Z6X4N8M3K5P9R0S1T2P";
pub const TEAM: &str = "team_01JV2Q7Z6X4N8M3K5P9R0S1T2Q";

/// One sample of every role-catalog event variant, in declaration order.
pub fn role_events() -> Vec<authio_domain::roles::RoleEvent> {
    use authio_domain::roles::RoleEvent as E;
    let perms: std::collections::BTreeSet<String> = ["reports:delete".to_string(), "reports:read".to_string()].into();
    vec![
        E::PermissionCreated {
            project_id: tenant_id(),
            slug: "reports:delete".into(),
            name: Some("Delete reports".into()),
            description: None,
            created_at: at(),
        },
        E::PermissionDeleted { project_id: tenant_id(), slug: "reports:delete".into(), deleted_at: at() },
        E::RoleCreated {
            project_id: tenant_id(),
            slug: "analyst".into(),
            name: "Analyst".into(),
            description: Some("Reads and prunes reports".into()),
            permissions: perms.clone(),
            organization_id: None,
            created_at: at(),
        },
        E::RoleUpdated {
            project_id: tenant_id(),
            slug: "auditor".into(),
            name: "Auditor".into(),
            description: None,
            permissions: perms,
            organization_id: Some(org_id()),
            updated_at: at(),
        },
        E::RoleDeleted { project_id: tenant_id(), slug: "analyst".into(), organization_id: None, deleted_at: at() },
        E::DefaultChanged { project_id: tenant_id(), from: "member".into(), to: "analyst".into(), changed_at: at() },
    ]
}

/// One sample of every invitation event variant, in declaration order.
pub fn invitation_events() -> Vec<authio_domain::invitation::InvitationEvent> {
    use authio_domain::invitation::InvitationEvent as E;
    vec![
        E::Created {
            invitation_id: INVITATION.into(),
            project_id: tenant_id(),
            organization_id: Some(org_id()),
            email: "ada@acme.example".into(),
            role: Some("member".into()),
            inviter_user_id: Some(user_id()),
            expires_at: sign_in_token_expires_at(),
            created_at: at(),
        },
        E::Resent {
            invitation_id: INVITATION.into(),
            organization_id: Some(org_id()),
            expires_at: sign_in_token_expires_at(),
            resent_at: at(),
        },
        E::Accepted {
            invitation_id: INVITATION.into(),
            organization_id: Some(org_id()),
            user_id: user_id(),
            membership_id: Some(membership_id()),
            accepted_at: at(),
        },
        E::Revoked { invitation_id: INVITATION.into(), organization_id: None, revoked_at: at() },
        E::Expired { invitation_id: INVITATION.into(), organization_id: Some(org_id()), expired_at: at() },
    ]
}

/// One sample of every team event variant, in declaration order.
pub fn team_events() -> Vec<authio_domain::team::TeamEvent> {
    use authio_domain::team::TeamEvent as E;
    vec![
        E::Created {
            team_id: TEAM.into(),
            project_id: tenant_id(),
            organization_id: org_id(),
            name: "Platform".into(),
            slug: "platform".into(),
            created_at: at(),
        },
        E::Updated {
            team_id: TEAM.into(),
            organization_id: org_id(),
            name: Some("Platform team".into()),
            slug: None,
            updated_at: at(),
        },
        E::Deleted { team_id: TEAM.into(), organization_id: org_id(), deleted_at: at() },
        E::MemberAdded {
            team_id: TEAM.into(),
            organization_id: org_id(),
            user_id: user_id(),
            membership_id: membership_id(),
            role: Some("lead".into()),
            added_at: at(),
        },
        E::MemberRemoved { team_id: TEAM.into(), organization_id: org_id(), user_id: user_id(), removed_at: at() },
    ]
}

/// One sample of every operator event variant.
pub fn operator_events() -> Vec<OperatorEvent> {
    vec![
        OperatorEvent::Created { operator_id: operator_id(), email: "owner@acme.example".into(), created_at: at() },
        OperatorEvent::ConsoleSessionOpened {
            session_id: CONSOLE_SESSION.into(),
            method: "email_link".into(),
            opened_at: at(),
        },
        OperatorEvent::ConsoleSessionClosed { session_id: CONSOLE_SESSION.into(), closed_at: at() },
    ]
}

/// One sample of every reservation event variant.
pub fn reservation_events() -> Vec<ReservationEvent> {
    vec![ReservationEvent::Claimed { owner: USER.into() }, ReservationEvent::Released { owner: USER.into() }]
}

/// One sample of every session event variant. The switch is the first one of the
/// session (`from` is `null`), which must survive a round trip.
pub fn session_events() -> Vec<SessionEvent> {
    vec![
        SessionEvent::Created {
            session_id: session_id(),
            project_id: tenant_id(),
            user_id: user_id(),
            method: "magic_link".into(),
            active_organization: None,
            created_at: at(),
        },
        SessionEvent::OrganizationSwitched { user_id: user_id(), from: None, to: org_id(), switched_at: at() },
        SessionEvent::Refreshed { generation: 1, refreshed_at: at() },
        SessionEvent::Revoked { user_id: user_id(), reason: "sign_out".into(), revoked_at: at() },
        SessionEvent::SteppedUp { user_id: user_id(), method: "passkey".into(), stepped_up_at: at() },
    ]
}

/// A token family (`fam_…`).
pub const FAMILY: &str = "fam_01JV2Q7Z6X4N8M3K5P9R0S1T2Q";

/// One sample of every organization-context event variant, in declaration order.
pub fn context_events() -> Vec<authio_domain::context::ContextEvent> {
    use authio_domain::context::ContextEvent;
    vec![
        ContextEvent::Opened {
            session_id: session_id(),
            project_id: tenant_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            epoch: 1,
            opened_at: at(),
        },
        ContextEvent::Closed {
            session_id: session_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            reason: "signed_out".into(),
            closed_at: at(),
        },
        ContextEvent::Cut {
            session_id: session_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            reason: "membership_deactivated".into(),
            cut_at: at(),
        },
    ]
}

/// One sample of every token-family event variant, in declaration order. None carries
/// a token.
pub fn family_events() -> Vec<authio_domain::context::FamilyEvent> {
    use authio_domain::context::FamilyEvent;
    vec![
        FamilyEvent::Issued {
            family_id: FAMILY.into(),
            session_id: session_id(),
            project_id: tenant_id(),
            user_id: user_id(),
            organization_id: None,
            epoch: 1,
            issued_at: at(),
        },
        FamilyEvent::Switched {
            family_id: FAMILY.into(),
            session_id: session_id(),
            project_id: tenant_id(),
            user_id: user_id(),
            from: Some(other_org_id()),
            to: org_id(),
            epoch: 1,
            switched_at: at(),
        },
        FamilyEvent::Refreshed {
            session_id: session_id(),
            organization_id: Some(org_id()),
            generation: 1,
            refreshed_at: at(),
        },
    ]
}

/// A handoff (`hoff_…`).
pub const HANDOFF: &str = "hoff_01JV2Q7Z6X4N8M3K5P9R0S1T2H";

/// One sample of every handoff event variant, in declaration order. None carries the
/// code (only its hash).
pub fn handoff_events() -> Vec<authio_domain::handoff::HandoffEvent> {
    use authio_domain::handoff::HandoffEvent;
    vec![
        HandoffEvent::Issued {
            handoff_id: HANDOFF.into(),
            session_id: session_id(),
            project_id: tenant_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            code_hash: "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b".into(),
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into(),
            redirect_url: "https://app.example.com/callback".into(),
            expires_at: at() + chrono::Duration::seconds(120),
            issued_at: at(),
        },
        HandoffEvent::Redeemed {
            handoff_id: HANDOFF.into(),
            session_id: session_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            family_id: FAMILY.into(),
            redeemed_at: at(),
        },
        HandoffEvent::Reused {
            handoff_id: HANDOFF.into(),
            session_id: session_id(),
            user_id: user_id(),
            organization_id: Some(org_id()),
            reused_at: at(),
        },
    ]
}

/// An authorization code (`oac_…`).
pub const AUTH_CODE: &str = "oac_01JV2Q7Z6X4N8M3K5P9R0S1T2A";

/// One sample of every authorization-code event variant, in declaration order. None
/// carries the code (only its hash).
pub fn code_events() -> Vec<authio_domain::authorization_code::CodeEvent> {
    use authio_domain::authorization_code::{CodeEvent, CodeGrant};
    let ids = || (OAUTH_CLIENT.to_string(), session_id(), user_id(), Some(org_id()));
    let (client_id, session_id, user_id, organization_id) = ids();
    vec![
        CodeEvent::Issued {
            code_id: AUTH_CODE.into(),
            grant: Box::new(CodeGrant {
                client_id,
                project_id: tenant_id(),
                session_id,
                user_id,
                organization_id,
                code_hash: "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b".into(),
                code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
                redirect_uri: "https://app.example.com/callback".into(),
                scopes: vec!["openid".into(), "email".into(), "offline_access".into()],
                nonce: Some("n-0S6_WzA2Mj".into()),
                auth_time: at(),
            }),
            expires_at: at() + chrono::Duration::seconds(60),
            issued_at: at(),
        },
        {
            let (client_id, session_id, user_id, organization_id) = ids();
            CodeEvent::Redeemed {
                code_id: AUTH_CODE.into(),
                client_id,
                project_id: tenant_id(),
                session_id,
                user_id,
                organization_id,
                family_id: FAMILY.into(),
                scopes: vec!["openid".into(), "email".into(), "offline_access".into()],
                nonce: Some("n-0S6_WzA2Mj".into()),
                auth_time: at(),
                redeemed_at: at(),
            }
        },
        {
            let (client_id, session_id, user_id, organization_id) = ids();
            CodeEvent::Reused {
                code_id: AUTH_CODE.into(),
                client_id,
                session_id,
                user_id,
                organization_id,
                reused_at: at(),
            }
        },
        {
            let (client_id, session_id, user_id, organization_id) = ids();
            CodeEvent::Revoked {
                code_id: AUTH_CODE.into(),
                client_id,
                session_id,
                user_id,
                organization_id,
                family_id: FAMILY.into(),
                revoked_at: at(),
            }
        },
    ]
}

/// An SSO connection (`conn_…`).
pub const CONNECTION: &str = "conn_01jv2q7z6x4n8m3k5p9r0s1t2k";

/// One sample of every connection event variant, in declaration order. None carries the
/// client secret.
pub fn connection_events() -> Vec<authio_domain::connection::ConnectionEvent> {
    use authio_domain::connection::{ConnectionEvent, ConnectionSpec};
    vec![
        ConnectionEvent::Created {
            spec: Box::new(ConnectionSpec {
                connection_id: CONNECTION.into(),
                project_id: tenant_id(),
                organization_id: Some(org_id()),
                name: "Acme Okta".into(),
                issuer: "https://acme.okta.example".into(),
                client_id: "0oa1b2c3".into(),
                jit_role: Some("member".into()),
                protocol: Default::default(),
                saml_metadata: None,
            }),
            created_at: at(),
        },
        ConnectionEvent::Deleted {
            connection_id: CONNECTION.into(),
            organization_id: Some(org_id()),
            deleted_at: at(),
        },
    ]
}

/// An OAuth client (`oc_…`).
pub const OAUTH_CLIENT: &str = "oc_01jv2q7z6x4n8m3k5p9r0s1t2c";

/// One sample of every OAuth-client event variant, in declaration order. None carries
/// the secret.
pub fn oauth_client_events() -> Vec<authio_domain::oauth_client::OAuthClientEvent> {
    use authio_domain::oauth_client::{ClientType, OAuthClientEvent};
    vec![
        OAuthClientEvent::Registered {
            client_id: OAUTH_CLIENT.into(),
            project_id: tenant_id(),
            name: "Acme web".into(),
            client_type: ClientType::Confidential,
            redirect_uris: vec!["https://app.example.com/callback".into()],
            scopes: vec!["openid".into(), "email".into()],
            registered_at: at(),
        },
        OAuthClientEvent::Updated {
            client_id: OAUTH_CLIENT.into(),
            name: Some("Acme".into()),
            redirect_uris: None,
            scopes: Some(vec!["openid".into()]),
            updated_at: at(),
        },
        OAuthClientEvent::SecretRotated { client_id: OAUTH_CLIENT.into(), rotated_at: at() },
        OAuthClientEvent::Deleted { client_id: OAUTH_CLIENT.into(), deleted_at: at() },
        OAuthClientEvent::BackchannelLogoutChanged {
            client_id: OAUTH_CLIENT.into(),
            backchannel_logout_uri: Some("https://app.example.com/backchannel-logout".into()),
            changed_at: at(),
        },
    ]
}

/// A webhook endpoint (`whep_…`).
pub const WEBHOOK_ENDPOINT: &str = "whep_01JV2Q7Z6X4N8M3K5P9R0S1T2P";
/// When the previous secret of the sample rotation stops being sent: [`AT`] plus 24 h.
pub const PREVIOUS_SECRET_EXPIRES: &str = "2026-05-14T13:42:53Z";

pub fn webhook_endpoint_id() -> authio_domain::ids::WebhookEndpointId {
    authio_domain::ids::WebhookEndpointId::new(WEBHOOK_ENDPOINT)
}

pub fn previous_secret_expires_at() -> DateTime<Utc> {
    PREVIOUS_SECRET_EXPIRES.parse().expect("fixed timestamp parses")
}

/// One sample of every webhook endpoint event variant, in declaration order. None
/// carries a secret.
pub fn webhook_events() -> Vec<WebhookEvent> {
    vec![
        WebhookEvent::Created {
            endpoint_id: webhook_endpoint_id(),
            project_id: tenant_id(),
            url: "https://hooks.acme.example/authio".into(),
            events: vec!["membership.*".into(), "session.org_switched".into()],
            enabled: true,
            created_at: at(),
        },
        WebhookEvent::Updated {
            url: Some("https://hooks.acme.example/v2/authio".into()),
            events: Some(vec!["*".into()]),
            updated_at: at(),
        },
        WebhookEvent::SecretRotated { previous_expires_at: previous_secret_expires_at(), rotated_at: at() },
        WebhookEvent::Disabled { reason: DisableReason::Failing, disabled_at: at() },
        WebhookEvent::Enabled { enabled_at: at() },
        WebhookEvent::Deleted { deleted_at: at() },
    ]
}

pub mod org;

pub const DOMAIN: &str = "dom_01JV2Q7Z6X4N8M3K5P9R0S1T2R";

/// One sample of every organization-domain event variant, in declaration order.
pub fn domain_events() -> Vec<authio_domain::domains::DomainEvent> {
    use authio_domain::domains::DomainEvent as E;
    vec![
        E::Added {
            domain_id: DOMAIN.into(),
            project_id: tenant_id(),
            organization_id: org_id(),
            domain: "acme.example".into(),
            challenge: "authio-verify=5f1c0a9e2b7d4c3a8e6f1b2d3c4a5e6f".into(),
            added_at: at(),
        },
        E::Verified {
            domain_id: DOMAIN.into(),
            organization_id: org_id(),
            domain: "acme.example".into(),
            verified_at: at(),
        },
        E::VerificationFailed {
            domain_id: DOMAIN.into(),
            organization_id: org_id(),
            domain: "acme.example".into(),
            seen: vec!["v=spf1 -all".into()],
            failed_at: at(),
        },
        E::PolicyChanged {
            domain_id: DOMAIN.into(),
            organization_id: org_id(),
            auto_join: true,
            role: Some("member".into()),
            changed_at: at(),
        },
        E::Removed {
            domain_id: DOMAIN.into(),
            organization_id: org_id(),
            domain: "acme.example".into(),
            removed_at: at(),
        },
    ]
}

pub const DIRECTORY: &str = "dir_01JV2Q7Z6X4N8M3K5P9R0S1T2S";

/// One sample of every directory event variant, in declaration order.
pub fn directory_events() -> Vec<authio_domain::directory::DirectoryEvent> {
    use authio_domain::directory::DirectoryEvent as E;
    vec![
        E::Created {
            directory_id: DIRECTORY.into(),
            project_id: tenant_id(),
            organization_id: org_id(),
            name: "Okta".into(),
            created_at: at(),
        },
        E::TokenRotated { directory_id: DIRECTORY.into(), organization_id: org_id(), rotated_at: at() },
        E::Deleted { directory_id: DIRECTORY.into(), organization_id: org_id(), deleted_at: at() },
        E::UserLinked {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            user_id: user_id(),
            external_id: Some("00u1a2b3c4".into()),
            user_name: None,
            display_name: None,
            linked_at: at(),
        },
        E::UserUnlinked {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            user_id: user_id(),
            unlinked_at: at(),
        },
        E::GroupCreated {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            group_id: GROUP.into(),
            display_name: "Engineering".into(),
            external_id: Some("00g1a2b3c4".into()),
            created_at: at(),
        },
        E::GroupUpdated {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            group_id: GROUP.into(),
            display_name: "Platform Engineering".into(),
            external_id: None,
            updated_at: at(),
        },
        E::GroupDeleted {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            group_id: GROUP.into(),
            deleted_at: at(),
        },
        E::GroupMemberAdded {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            group_id: GROUP.into(),
            user_id: user_id(),
            added_at: at(),
        },
        E::GroupMemberRemoved {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            group_id: GROUP.into(),
            user_id: user_id(),
            removed_at: at(),
        },
        E::GroupMappingsChanged {
            directory_id: DIRECTORY.into(),
            organization_id: org_id(),
            mappings: vec![authio_domain::directory::GroupMapping {
                group: "Engineering".into(),
                role: Some("admin".into()),
                team_id: Some("team_01JV2Q7Z6X4N8M3K5P9R0S1T2T".into()),
            }],
            changed_at: at(),
        },
    ]
}

pub const GROUP: &str = "dgrp_01JV2Q7Z6X4N8M3K5P9R0S1T2G";
