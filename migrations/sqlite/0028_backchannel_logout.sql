-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0): where a client takes
-- its notices (read model, from `oauth_client.backchannel_logout_changed`), and the
-- notices themselves: queued in the same commit as a session's revocation (one per
-- client holding a grant in it), sent and retried by the server, never rebuilt.
ALTER TABLE oauth_clients ADD COLUMN backchannel_logout_uri TEXT;

CREATE TABLE logout_notices (
    session_id      TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    uri             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);
CREATE INDEX logout_notices_due ON logout_notices (status, next_attempt_at);
