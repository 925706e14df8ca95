-- The intake spine: documents, their pages, the exception queue, an audit trail, and the job
-- table that every stage claims work from with a lease.

CREATE TABLE documents (
    id            INTEGER PRIMARY KEY,
    source        TEXT    NOT NULL,            -- e.g. folder:/srv/inbox
    original_name TEXT    NOT NULL,            -- file name as received (lossy UTF-8)
    original_path TEXT    NOT NULL,
    -- identifies one file instance (path, inode, mtime, size): a file re-found after a crash
    -- between commit and removal from the inbox is recognised and not taken twice.
    intake_key    TEXT    UNIQUE,
    sha256        TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    media_type    TEXT,
    status        TEXT    NOT NULL,            -- received | extracted | recognised | exception | duplicate
    doctype       TEXT,
    doctype_version TEXT,
    fields        TEXT    NOT NULL DEFAULT '{}', -- JSON object of normalised values
    problems      TEXT    NOT NULL DEFAULT '{}', -- JSON object: field -> why it is missing/invalid
    text          TEXT,
    pages         INTEGER,
    ocr           INTEGER NOT NULL DEFAULT 0,
    duplicate_of  INTEGER REFERENCES documents(id),
    received_at   TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX documents_sha256 ON documents(sha256);
CREATE INDEX documents_status ON documents(status);

CREATE TABLE pages (
    document_id INTEGER NOT NULL REFERENCES documents(id),
    number      INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    ocr         INTEGER NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    words       TEXT    NOT NULL,               -- JSON array of OCR word boxes
    PRIMARY KEY (document_id, number)
);

CREATE TABLE exceptions (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    kind        TEXT    NOT NULL,               -- unreadable | unrecognised | ambiguous | incomplete
    reason      TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open', -- open | claimed | resolved | rejected
    claimed_by  TEXT,
    resolved_by TEXT,
    resolution  TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX exceptions_state ON exceptions(state, kind);
CREATE INDEX exceptions_document ON exceptions(document_id);

CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    document_id  INTEGER,
    exception_id INTEGER,
    actor        TEXT    NOT NULL,              -- clerk, or the agent's name
    action       TEXT    NOT NULL,
    detail       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_document ON audit(document_id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    stage       TEXT    NOT NULL,               -- extract | classify
    state       TEXT    NOT NULL DEFAULT 'queued', -- queued | running | done | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,               -- unix ms
    lease_owner TEXT,
    lease_until INTEGER,                        -- unix ms
    last_error  TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE INDEX jobs_document ON jobs(document_id);
