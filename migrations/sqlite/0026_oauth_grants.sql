-- OAuth grants of the OpenID Connect provider (read model, rebuilt from the
-- `oauth.code_redeemed` and `oauth.grant_revoked` events): the token family a client
-- got for an authorization code, so a refresh or a revocation finds its client, scopes
-- and sign-in time. `scopes` is a JSON array of strings.
CREATE TABLE oauth_grants (
    family_id       TEXT PRIMARY KEY,
    code_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    session_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    organization_id TEXT,
    scopes          TEXT NOT NULL,
    auth_time       TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    revoked_at      TEXT
);
CREATE INDEX oauth_grants_client ON oauth_grants (client_id, family_id);
