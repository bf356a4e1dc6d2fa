-- Sessions (issue: sign-in and user-scoped sessions).

-- Signing keys for access tokens: outside the event stream, never in an event.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_x    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Refresh tokens, stored hashed. state: live | spent (rotated by a refresh) |
-- superseded (replaced by a switch, revoked with the session).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    state      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id, state);

-- Single-use tokens (magic links, console sign-in links, sign-in tokens), stored hashed
-- and bound to their purpose.
CREATE TABLE one_time_tokens (
    token_hash   TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    project_id   TEXT,
    subject      TEXT NOT NULL,
    redirect_url TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);

-- Read model: sessions.
CREATE TABLE sessions (
    id                     TEXT PRIMARY KEY,
    project_id             TEXT NOT NULL,
    user_id                TEXT NOT NULL,
    method                 TEXT NOT NULL,
    active_organization_id TEXT,
    status                 TEXT NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id, id);

-- The organization a user was last active in (chosen again at sign-in).
ALTER TABLE users ADD COLUMN last_organization_id TEXT;
