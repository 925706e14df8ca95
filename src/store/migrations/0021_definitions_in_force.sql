-- The definition files a daemon has in force (its last good set: a file being edited with
-- mistakes keeps its previous version there), written at each load, so that commands check
-- an agent's answer against the types the daemon uses, not against the files on disk.
CREATE TABLE definitions_in_force (
    file      TEXT    PRIMARY KEY,
    version   TEXT    NOT NULL,
    source    BLOB    NOT NULL,
    loaded_at TEXT    NOT NULL
);
