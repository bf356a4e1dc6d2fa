-- SAML's RelayState may carry at most 80 bytes (SAML bindings 3.4.3), too few for the
-- sealed sign-in state: a SAML start keeps that sealed state here under a short random
-- key, the RelayState, until it expires (ten minutes; pruned by the session
-- housekeeping). Not an event: sign-in plumbing, like the replay cache.
CREATE TABLE saml_relay_states (
    relay_state  TEXT PRIMARY KEY,
    sealed_state TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX saml_relay_states_expiry ON saml_relay_states (expires_at);
