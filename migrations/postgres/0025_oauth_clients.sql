-- OAuth clients of the OpenID Connect provider (read model, rebuilt from the
-- `oauth_client.*` events). `redirect_uris` and `scopes` are JSON arrays of strings.
CREATE TABLE oauth_clients (
    id            TEXT COLLATE "C" PRIMARY KEY,
    project_id    TEXT COLLATE "C" NOT NULL,
    name          TEXT NOT NULL,
    client_type   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX oauth_clients_project ON oauth_clients (project_id, id);

-- Confidential clients' secrets, SHA-256 only, side-written in the same commit as the
-- client's events (never in an event, never rebuilt); a rotation replaces the row.
CREATE TABLE oauth_client_secrets (
    client_id   TEXT COLLATE "C" PRIMARY KEY,
    project_id  TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
