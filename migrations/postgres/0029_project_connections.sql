-- SSO connections may belong to the project (social sign-in) rather than to one of its
-- organizations: `organization_id` NULL.
ALTER TABLE connections ALTER COLUMN organization_id DROP NOT NULL;
CREATE INDEX connections_project ON connections (project_id, id);
