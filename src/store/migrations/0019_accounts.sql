-- Accounts an admin can look after: a token runs out and has a label to tell it by (a token is
-- named by the first 12 hex digits of its hash, which tell nothing of the token); a session
-- remembers the address it was started from; a user's password change is dated.
ALTER TABLE tokens ADD COLUMN expires INTEGER;                  -- unix ms; NULL: never
ALTER TABLE tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_changed TEXT;
