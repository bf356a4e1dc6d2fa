-- A project's allowed browser origins (tenant.allowed_origins_changed), a JSON array of
-- `scheme://host[:port]` strings: CORS on the end-user routes.
ALTER TABLE tenants ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
