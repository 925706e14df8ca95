-- The people surface: items carry a version (a stale resolve is refused, not applied), a claim
-- runs out (an agent who walked away does not hold an item for ever), and an item can be assigned
-- to a person or a group. Browser sessions live here so that any daemon behind a balancer knows
-- them.
ALTER TABLE exceptions ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE exceptions ADD COLUMN claim_until INTEGER;          -- unix ms; past it the claim is void
ALTER TABLE exceptions ADD COLUMN assignee TEXT;                -- a user name, or @group

ALTER TABLE users ADD COLUMN groups TEXT NOT NULL DEFAULT '';   -- comma-separated group names

CREATE TABLE sessions (
    hash       TEXT    PRIMARY KEY,                 -- hex SHA-256 of the cookie's value
    user_name  TEXT    NOT NULL REFERENCES users(name),
    csrf       TEXT    NOT NULL,                    -- the token every changing request must carry
    created_at TEXT    NOT NULL,
    expires    INTEGER NOT NULL                     -- unix ms
);
CREATE INDEX sessions_user ON sessions(user_name);
