-- 1 when the read models were updated in the event's own transaction (the server does
-- this for every event it can); 0 when the projection pipeline still has to apply it
-- (events whose read model needs the global position, and events written by a writer
-- that does not project).
ALTER TABLE events ADD COLUMN projected BIGINT NOT NULL DEFAULT 0;
