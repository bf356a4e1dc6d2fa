-- Aggregate snapshots: the state of a stream at a version, so loading an aggregate
-- replays only the events after it. A cache: deleting every row loses nothing (loads
-- then replay from the start); a snapshot that no longer decodes is ignored.
CREATE TABLE snapshots (
    aggregate_type TEXT NOT NULL,
    aggregate_id   TEXT NOT NULL,
    version        BIGINT NOT NULL,
    state          TEXT NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);
