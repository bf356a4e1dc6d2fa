-- The event store. One table for every stream, with optimistic concurrency per stream
-- (the primary key on aggregate_type, aggregate_id, sequence) and a global position.
-- `position` is stamped after commit by a single stamper in (txid, id) order, only for
-- transactions older than the oldest one still running, so a reader that follows
-- `position` never skips an event whose transaction commits late.
CREATE TABLE events (
    id             BIGSERIAL PRIMARY KEY,
    event_id       TEXT NOT NULL UNIQUE,
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    sequence       BIGINT NOT NULL CHECK (sequence >= 1),
    event_type     TEXT NOT NULL,
    event_version  TEXT NOT NULL,
    payload        TEXT NOT NULL,
    metadata       TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    txid           XID8 NOT NULL DEFAULT pg_current_xact_id(),
    position       BIGINT,
    UNIQUE (aggregate_type, aggregate_id, sequence)
);
CREATE UNIQUE INDEX events_position ON events (position) WHERE position IS NOT NULL;
CREATE INDEX events_unstamped ON events (txid, id) WHERE position IS NULL;

-- Read-model checkpoints: how far each projection has applied the event log.
CREATE TABLE projection_checkpoints (
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
