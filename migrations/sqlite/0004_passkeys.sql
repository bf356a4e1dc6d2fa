-- Passkeys (WebAuthn). Key material, counters and challenges live only in these
-- tables, never in an event: the event stream records `user.passkey_registered` with
-- the credential id and time alone.

-- Registered credentials. The credential id is the primary key, so a credential
-- belongs to one user of one project only; the row is written in the same commit as
-- the user's `user.passkey_registered` event.
CREATE TABLE passkey_credentials (
    credential_id TEXT PRIMARY KEY,   -- base64url (no padding) of the raw credential id
    project_id    TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    user_handle   TEXT NOT NULL,      -- base64url WebAuthn user handle (64 random bytes)
    public_key    TEXT NOT NULL,      -- base64url webauthn_rp StaticState: the COSE public key and static extension outputs
    sign_count    INTEGER NOT NULL,     -- the authenticator's signature counter, last seen
    dynamic_state TEXT NOT NULL,      -- base64url webauthn_rp DynamicState (counter, user verified, backup, attachment)
    transports    INTEGER NOT NULL,     -- webauthn_rp AuthTransports bit set
    created_at    TEXT NOT NULL,
    last_used_at  TEXT
);
CREATE INDEX passkey_credentials_user ON passkey_credentials (user_id);

-- Ceremonies in flight: the server half of a WebAuthn registration or authentication
-- (challenge, options, expiry). Bound to a project (and a user for registration),
-- deleted when finished (used once), and expired after five minutes.
CREATE TABLE passkey_ceremonies (
    id         TEXT PRIMARY KEY,      -- pkc_…
    kind       TEXT NOT NULL,         -- registration | authentication
    project_id TEXT NOT NULL,
    user_id    TEXT,                  -- registration only
    state      TEXT NOT NULL,         -- base64url webauthn_rp server state
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX passkey_ceremonies_expiry ON passkey_ceremonies (expires_at);
