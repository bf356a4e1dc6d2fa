-- Organization administration: project settings, permissions and roles, invitations,
-- teams. Read models (rebuilt from events) except `invitation_codes`, a credential
-- table written beside the invitation's events (only hashes of codes).
ALTER TABLE tenants ADD COLUMN sign_up TEXT NOT NULL DEFAULT 'open';
ALTER TABLE tenants ADD COLUMN teams_in_tokens BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN default_role TEXT NOT NULL DEFAULT 'member';

-- id = `<project>:<slug>`. permissions: a JSON array of slugs, sorted. Built-in roles
-- have a row once changed.
CREATE TABLE permissions (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    slug        TEXT NOT NULL,
    name        TEXT,
    description TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX permissions_project ON permissions (project_id, slug);
CREATE TABLE roles (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    slug            TEXT NOT NULL,
    organization_id TEXT,
    name            TEXT NOT NULL,
    description     TEXT,
    permissions     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX roles_project ON roles (project_id, slug);

-- state: pending | accepted | revoked | expired.
CREATE TABLE invitations (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    organization_id  TEXT,
    email            TEXT NOT NULL,
    role             TEXT,
    state            TEXT NOT NULL,
    inviter_user_id  TEXT,
    expires_at       TEXT NOT NULL,
    accepted_at      TEXT,
    accepted_user_id TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX invitations_project ON invitations (project_id, id);
CREATE INDEX invitations_org ON invitations (organization_id, id);
CREATE INDEX invitations_due ON invitations (state, expires_at);
CREATE INDEX invitations_email ON invitations (project_id, email, state);

CREATE TABLE invitation_codes (
    code_hash     TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL UNIQUE,
    project_id    TEXT NOT NULL
);

CREATE TABLE teams (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    slug            TEXT NOT NULL,
    members_count   BIGINT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX teams_org ON teams (organization_id, id);
-- id = `<team>:<user>`.
CREATE TABLE team_members (
    id              TEXT PRIMARY KEY,
    team_id         TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    membership_id   TEXT NOT NULL,
    role            TEXT,
    added_at        TEXT NOT NULL
);
CREATE INDEX team_members_team ON team_members (team_id, user_id);
CREATE INDEX team_members_user ON team_members (organization_id, user_id);
