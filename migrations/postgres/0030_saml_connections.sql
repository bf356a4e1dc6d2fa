-- SAML 2.0 connections: the protocol, and a SAML connection's identity provider
-- metadata (read model, from `connection.created`).
ALTER TABLE connections ADD COLUMN protocol TEXT NOT NULL DEFAULT 'oidc';
ALTER TABLE connections ADD COLUMN saml_metadata TEXT;

-- The replay cache: every assertion accepted at the ACS, kept until it would expire
-- anyway (pruned by the session housekeeping). Not an event: a guard, like a spent token.
CREATE TABLE saml_assertions (
    connection_id TEXT COLLATE "C" NOT NULL,
    assertion_id  TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX saml_assertions_expiry ON saml_assertions (expires_at);
