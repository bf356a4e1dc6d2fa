-- The displayName an identity provider gave a user it provisioned.
ALTER TABLE directory_users ADD COLUMN display_name TEXT;
