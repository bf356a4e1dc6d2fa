-- SCIM directories (read models) and their bearer tokens (a credential table written
-- beside the directory's events: only the hash).
CREATE TABLE directories (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX directories_org ON directories (organization_id, id);
-- id = `<directory>:<user>`.
CREATE TABLE directory_users (
    id              TEXT PRIMARY KEY,
    directory_id    TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    external_id     TEXT,
    linked_at       TEXT NOT NULL
);
CREATE INDEX directory_users_directory ON directory_users (directory_id, user_id);
CREATE TABLE directory_tokens (
    token_hash   TEXT PRIMARY KEY,
    directory_id TEXT NOT NULL UNIQUE,
    project_id   TEXT NOT NULL
);
