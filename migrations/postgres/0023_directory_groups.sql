-- SCIM groups a directory's identity provider pushed, and their members (read models).
CREATE TABLE directory_groups (
    id              TEXT PRIMARY KEY,
    directory_id    TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    external_id     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX directory_groups_directory ON directory_groups (directory_id, id);
-- id = `<group>:<user>`.
CREATE TABLE directory_group_members (
    id           TEXT PRIMARY KEY,
    group_id     TEXT NOT NULL,
    directory_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    added_at     TEXT NOT NULL
);
CREATE INDEX directory_group_members_group ON directory_group_members (group_id, user_id);
CREATE INDEX directory_group_members_user ON directory_group_members (directory_id, user_id);
