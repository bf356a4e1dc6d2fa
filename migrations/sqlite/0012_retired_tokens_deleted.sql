-- Refresh tokens retired by a switch, a sign-out or a revocation are deleted rather
-- than kept as `superseded` (0003): such a token, presented again, gets the answer an
-- unknown one gets either way, and deleting the row costs PostgreSQL less than writing
-- a new version of it. The state is now live | spent.
DELETE FROM refresh_tokens WHERE state = 'superseded';
