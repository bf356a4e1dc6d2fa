-- Read models: built from events by the projections crate; can be dropped and rebuilt
-- (`authio projections rebuild`). Timestamps are RFC 3339 UTC text.
CREATE TABLE operators (
    id         TEXT PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE tenants (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    slug                TEXT NOT NULL,
    mode                TEXT NOT NULL,
    owner_id            TEXT NOT NULL,
    organizations_count BIGINT NOT NULL,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE INDEX tenants_owner ON tenants (owner_id, id);
CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL,
    name             TEXT NOT NULL,
    environment      TEXT NOT NULL,
    secret_prefix    TEXT NOT NULL,
    secret_last_four TEXT NOT NULL,
    publishable_key  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    revoked_at       TEXT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);
CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    email            TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    first_name       TEXT,
    last_name        TEXT,
    email_verified   BOOLEAN NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX users_project ON users (project_id, id);
CREATE INDEX users_project_email ON users (project_id, email_normalized);
CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    name       TEXT NOT NULL,
    slug       TEXT NOT NULL,
    domains    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX organizations_project ON organizations (project_id, id);
CREATE INDEX organizations_project_slug ON organizations (project_id, slug);
CREATE TABLE memberships (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    role            TEXT NOT NULL,
    status          TEXT NOT NULL,
    joined_at       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX memberships_org ON memberships (organization_id, id);
CREATE INDEX memberships_user ON memberships (user_id, id);
CREATE INDEX memberships_project ON memberships (project_id, id);

-- Credentials and request bookkeeping: not events, never rebuilt. Written in the same
-- transaction as the events that describe them. Only hashes of secrets are stored.
CREATE TABLE api_key_secrets (
    secret_hash TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    environment TEXT NOT NULL
);
CREATE TABLE console_sessions (
    token_hash       TEXT PRIMARY KEY,
    session_id       TEXT NOT NULL UNIQUE,
    operator_id      TEXT NOT NULL,
    active_tenant_id TEXT,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL
);
CREATE TABLE idempotency_keys (
    scope        TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
