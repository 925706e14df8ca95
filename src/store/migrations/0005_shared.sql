-- Several daemons on one store (PostgreSQL). Blobs live in the database, so every daemon reads
-- every original (SQLite keeps them as files; the table stays empty there).
CREATE TABLE blobs (
    sha256 TEXT    PRIMARY KEY,
    size   INTEGER NOT NULL,
    bytes  BLOB    NOT NULL
);

-- One row per running daemon, beaten every few seconds: a lease whose owner stopped beating is
-- taken back by any other daemon at once instead of when the lease runs out.
CREATE TABLE daemons (
    id         TEXT    PRIMARY KEY,              -- host:pid:start, the lease owner name
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    started_at TEXT    NOT NULL,
    last_seen  INTEGER NOT NULL                  -- unix ms
);

-- Named leases on things only one daemon may do at a time (one poller per IMAP folder).
CREATE TABLE leases (
    name        TEXT    PRIMARY KEY,
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL                 -- unix ms
);
