-- An audit entry keeps what the audit log filters on or derives from its event (project,
-- organization, action, actor, targets). The event's id, time, data and metadata are
-- read from the event itself, joined on its position (`ENVELOPE_FROM` in
-- projections/src/audit.rs): events never change, and copying them doubled the log's size.
ALTER TABLE audit_events
    DROP COLUMN event_id,
    DROP COLUMN occurred_at,
    DROP COLUMN request_id,
    DROP COLUMN client_ip,
    DROP COLUMN user_agent,
    DROP COLUMN data,
    DROP COLUMN metadata;
