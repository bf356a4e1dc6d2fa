-- A signing key can be retired (`authio keys retire`): it no longer signs, verifies or
-- appears in the JWKS.
ALTER TABLE signing_keys ADD COLUMN retired_at TEXT;
