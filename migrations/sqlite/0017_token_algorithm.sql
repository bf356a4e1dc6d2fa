-- The algorithm that signs a project's access tokens (tenant.token_algorithm_changed),
-- and the y coordinate of an ES256 (P-256) signing key's public point.
ALTER TABLE tenants ADD COLUMN token_algorithm TEXT NOT NULL DEFAULT 'EdDSA';
ALTER TABLE signing_keys ADD COLUMN public_y TEXT;
