-- Webhook endpoints (read model, rebuilt from the `webhook_endpoint.*` events).
-- `created_position`: the position of the endpoint's creation event; only later events
-- are delivered to it.
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    project_id       TEXT NOT NULL,
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,
    enabled          BOOLEAN NOT NULL,
    disabled_reason  TEXT,
    created_position BIGINT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_project ON webhook_endpoints (project_id, id);

-- Signing secrets, side-written in the same commit as the endpoint's events (never in
-- an event). Stored as-is: HMAC signing needs the plaintext, so protect the database.
-- After a rotation the previous secret also signs until `previous_expires_at`.
CREATE TABLE webhook_secrets (
    endpoint_id         TEXT PRIMARY KEY,
    secret              TEXT NOT NULL,
    previous_secret     TEXT,
    previous_expires_at TEXT,
    updated_at          TEXT NOT NULL
);

-- One delivery per (endpoint, event). `lease_until`: a sender holds it in flight.
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    endpoint_id      TEXT NOT NULL,
    project_id       TEXT NOT NULL,
    position         BIGINT NOT NULL,
    event_id         TEXT NOT NULL,
    event_type       TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_status_code BIGINT,
    last_error       TEXT,
    lease_until      TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (endpoint_id, position)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- Every try of a delivery.
CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    status_code BIGINT,
    error       TEXT,
    latency_ms  BIGINT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
