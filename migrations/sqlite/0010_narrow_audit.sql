-- An audit entry keeps what the audit log filters on or derives from its event (project,
-- organization, action, actor, targets). The event's id, time, data and metadata are
-- read from the event itself, joined on its position (`ENVELOPE_FROM` in
-- projections/src/audit.rs): events never change, and copying them doubled the log's size.
-- (SQLite cannot drop a UNIQUE column: the table is made anew.)
CREATE TABLE audit_events_narrow (
    position        BIGINT PRIMARY KEY,
    project_id      TEXT,
    organization_id TEXT,
    action          TEXT NOT NULL,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT,
    targets         TEXT NOT NULL
);
INSERT INTO audit_events_narrow (position, project_id, organization_id, action, actor_type, actor_id, targets)
    SELECT position, project_id, organization_id, action, actor_type, actor_id, targets FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_narrow RENAME TO audit_events;
CREATE INDEX audit_events_project ON audit_events (project_id, position);
CREATE INDEX audit_events_organization ON audit_events (organization_id, position);
