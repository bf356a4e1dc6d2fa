-- SSO connections (read model, rebuilt from the `connection.*` events): an
-- organization's own OpenID Connect identity provider.
CREATE TABLE connections (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    jit_role        TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX connections_organization ON connections (organization_id, id);

-- Their client secrets, sealed with AUTHIO_SECRET_KEY (AES-256-GCM), side-written in
-- the same commit as the connection's creation (never in an event, never rebuilt).
CREATE TABLE connection_secrets (
    connection_id TEXT PRIMARY KEY,
    project_id    TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
