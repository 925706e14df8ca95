-- Legacy systems found down (issue 25). A bot step that cannot connect to its system marks the
-- system (its scheme, host and port) down here and gives its run back to the queue to wait for
-- it, without spending an attempt. One waiting run at a time probes the system, on a backoff
-- that grows to the bot's max_backoff; the probe that gets through deletes the row and wakes
-- every run waiting for the system, in every daemon sharing the store.
CREATE TABLE targets (
    target      TEXT    PRIMARY KEY,          -- http://erp.example:8080
    down_since  INTEGER NOT NULL,             -- unix ms, the first failure seen
    error       TEXT    NOT NULL,             -- the last failure's reason: "connection refused"
    probes      INTEGER NOT NULL DEFAULT 0,   -- failed probes since down_since (the backoff's exponent)
    next_probe  INTEGER NOT NULL,             -- unix ms: no run tries the system before this
    checked_at  INTEGER NOT NULL              -- unix ms of the last failure
);
-- The system a queued run waits for, and since when it has waited (its bot's retry.while_down
-- bounds the wait).
ALTER TABLE runs ADD COLUMN waiting_for TEXT;
ALTER TABLE runs ADD COLUMN waiting_since INTEGER;
CREATE INDEX runs_waiting_for ON runs(waiting_for);
