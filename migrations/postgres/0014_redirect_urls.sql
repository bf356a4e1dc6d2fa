-- A project's allowed redirect URLs (tenant.redirect_urls_changed), a JSON array of
-- strings: origins (`scheme://host[:port]`, any path) and exact URLs.
ALTER TABLE tenants ADD COLUMN redirect_urls TEXT NOT NULL DEFAULT '[]';
