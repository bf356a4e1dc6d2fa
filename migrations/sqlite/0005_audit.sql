-- The audit log: one entry per event (read model, rebuilt from the events).
CREATE TABLE audit_events (
    position        BIGINT PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    project_id      TEXT,
    organization_id TEXT,
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    targets         TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    request_id      TEXT,
    client_ip       TEXT,
    user_agent      TEXT,
    data            TEXT NOT NULL,
    metadata        TEXT NOT NULL
);
CREATE INDEX audit_events_project ON audit_events (project_id, position);
CREATE INDEX audit_events_organization ON audit_events (organization_id, position);

-- Which project each stream belongs to (filled from the streams' creation events).
CREATE TABLE stream_owners (
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    project_id     TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
