-- Domains organizations claim (read model). state: pending | verified | failed.
CREATE TABLE organization_domains (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    domain          TEXT NOT NULL,
    challenge       TEXT NOT NULL,
    state           TEXT NOT NULL,
    auto_join       BOOLEAN NOT NULL,
    role            TEXT,
    verified_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX organization_domains_org ON organization_domains (organization_id, id);
CREATE INDEX organization_domains_domain ON organization_domains (project_id, domain, state);
