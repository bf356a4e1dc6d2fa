-- A provisioned user's SCIM userName, when the identity provider's is not the email.
ALTER TABLE directory_users ADD COLUMN user_name TEXT;
