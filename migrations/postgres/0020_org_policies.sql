-- Organization sign-in policies (organization.policy_changed) and sessions' step-ups
-- (session.stepped_up). allowed_methods: a JSON array of method names, NULL for any.
ALTER TABLE organizations ADD COLUMN allowed_methods TEXT;
ALTER TABLE organizations ADD COLUMN require_passkey BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE organizations ADD COLUMN max_session_age BIGINT;
ALTER TABLE sessions ADD COLUMN stepped_up_at TEXT;
