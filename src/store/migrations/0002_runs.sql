-- Bot runs and their journal. A run is itself the queue entry the runner claims with a lease; each
-- step attempt is a `run_steps` row written before the step acts and updated after, so a run
-- resumes after a crash at the first step not recorded as done. The journal is also the run's
-- state: done steps' outputs, the variables `set` steps set, and the cookie jar are read back
-- from it, so each journal write is one statement.

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    bot           TEXT    NOT NULL,
    bot_version   TEXT    NOT NULL,              -- hash of the bot file the run started with
    concurrency   INTEGER NOT NULL DEFAULT 1,    -- the bot's limit of runs at once
    document_id   INTEGER REFERENCES documents(id),
    trigger       TEXT    NOT NULL,              -- document | schedule | manual
    -- one run per (document, bot) and per (bot, scheduled minute), even if routing repeats
    dedupe_key    TEXT    UNIQUE,
    state         TEXT    NOT NULL DEFAULT 'queued', -- queued | running | succeeded | failed | escalated | skipped | ended
    error         TEXT,
    failed_step   TEXT,                          -- path of the step that failed or escalated
    -- journal rows up to these ids no longer count: done steps (an agent restarted the run) and
    -- failed attempts (an agent retried the step)
    done_mark     INTEGER NOT NULL DEFAULT 0,
    attempts_mark INTEGER NOT NULL DEFAULT 0,
    run_after     INTEGER NOT NULL,              -- unix ms
    lease_owner   TEXT,
    lease_until   INTEGER,
    created_at    TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX runs_ready ON runs(state, run_after);
CREATE INDEX runs_bot ON runs(bot, state);
CREATE INDEX runs_document ON runs(document_id);

CREATE TABLE run_steps (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES runs(id),
    path        TEXT    NOT NULL,                -- 1, 3.1 (inside if), 4[2].1 (foreach item 2)
    step_id     TEXT,
    kind        TEXT    NOT NULL,
    line        INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    state       TEXT    NOT NULL,                -- started | done | failed | skipped
    request     TEXT,                            -- JSON summary, secrets masked
    response    TEXT,                            -- JSON summary, secrets masked
    output      TEXT,                            -- JSON: what later steps read as steps.<id>
    cookies     TEXT,                            -- JSON: the run's cookie jar after this step
    error       TEXT,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER
);
CREATE INDEX run_steps_run ON run_steps(run_id, path);

-- Every bot version ever loaded, so a run resumed after a restart runs on the version it started
-- with even when the file has changed since.
CREATE TABLE bot_versions (
    bot        TEXT NOT NULL,
    version    TEXT NOT NULL,
    file       TEXT NOT NULL,
    source     BLOB NOT NULL,
    first_seen TEXT NOT NULL,
    PRIMARY KEY (bot, version)
);

-- Exceptions may now come from runs (business: an `escalate` step; system: a step that failed
-- after its retries), which need not have a document.
CREATE TABLE exceptions_new (
    id          INTEGER PRIMARY KEY,
    document_id INTEGER REFERENCES documents(id),
    run_id      INTEGER REFERENCES runs(id),
    kind        TEXT    NOT NULL,               -- unreadable | unrecognised | ambiguous | incomplete | business | system
    reason      TEXT    NOT NULL,
    detail      TEXT,                           -- JSON: step, last request and response (masked)
    state       TEXT    NOT NULL DEFAULT 'open',
    claimed_by  TEXT,
    resolved_by TEXT,
    resolution  TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
INSERT INTO exceptions_new (id, document_id, kind, reason, state, claimed_by, resolved_by, resolution, created_at, updated_at)
    SELECT id, document_id, kind, reason, state, claimed_by, resolved_by, resolution, created_at, updated_at FROM exceptions;
DROP TABLE exceptions;
ALTER TABLE exceptions_new RENAME TO exceptions;
CREATE INDEX exceptions_state ON exceptions(state, kind);
CREATE INDEX exceptions_document ON exceptions(document_id);
CREATE INDEX exceptions_run ON exceptions(run_id);

ALTER TABLE audit ADD COLUMN run_id INTEGER;
