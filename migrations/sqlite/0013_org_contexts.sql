-- Organization contexts inside a session (issue: concurrent organization sessions).

-- Read model: a session's contexts, at most one per organization ('' for none). `epoch`
-- counts the context's openings: tokens carry the epoch they were issued in, so those of
-- a context that was closed and opened again stay dead. status: open | closed | cut.
CREATE TABLE session_contexts (
    session_id      TEXT NOT NULL,
    context         TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    organization_id TEXT,
    epoch           BIGINT NOT NULL,
    status          TEXT NOT NULL,
    reason          TEXT,
    opened_at       TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (session_id, context)
);
CREATE INDEX session_contexts_org ON session_contexts (organization_id, status, session_id);
CREATE INDEX session_contexts_user ON session_contexts (user_id, organization_id);

-- The sessions live before contexts keep their one organization as an open context of
-- epoch 0, so their access tokens stay good until they expire. Their refresh tokens name
-- no family: the first refresh of one opens the context anew with a family of its own.
INSERT INTO session_contexts (session_id, context, project_id, user_id, organization_id, epoch, status, opened_at,
    updated_at)
SELECT id, COALESCE(active_organization_id, ''), project_id, user_id, active_organization_id, 0, 'open', created_at,
    updated_at
FROM sessions WHERE status = 'active';

-- Each refresh token belongs to a family (one stream), in one context at one epoch;
-- a spent one records when, for pruning.
ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT;
ALTER TABLE refresh_tokens ADD COLUMN context TEXT;
ALTER TABLE refresh_tokens ADD COLUMN epoch BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN spent_at TEXT;
DROP INDEX refresh_tokens_session;
CREATE INDEX refresh_tokens_context ON refresh_tokens (session_id, context, created_at);
