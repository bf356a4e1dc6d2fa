-- SSO connections may belong to the project (social sign-in) rather than to one of its
-- organizations: `organization_id` NULL (SQLite rebuilds the table to drop NOT NULL).
CREATE TABLE connections_new (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT,
    name            TEXT NOT NULL,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    jit_role        TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
INSERT INTO connections_new SELECT id, project_id, organization_id, name, issuer, client_id, jit_role, created_at,
    updated_at FROM connections;
DROP TABLE connections;
ALTER TABLE connections_new RENAME TO connections;
CREATE INDEX connections_organization ON connections (organization_id, id);
CREATE INDEX connections_project ON connections (project_id, id);
