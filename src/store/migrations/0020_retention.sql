-- Retention (issue 23): an original past `[retention] originals` is removed and the row says
-- when; the record (text, fields, pages) stays. A blob is removed once no row that keeps its
-- original names it. `seen` is when intake last found a blob already stored: a blob seen lately
-- is not removed, so a file arriving again while its twin's original is removed keeps its own.
ALTER TABLE documents ADD COLUMN original_removed TEXT;
ALTER TABLE mail_messages ADD COLUMN original_removed TEXT;
ALTER TABLE blobs ADD COLUMN seen INTEGER;                          -- unix ms
-- What the last retention pass removed, and since when in all (one row).
CREATE TABLE retention (
    id         INTEGER PRIMARY KEY,
    last_pass  TEXT    NOT NULL,
    originals  INTEGER NOT NULL DEFAULT 0,
    documents  INTEGER NOT NULL DEFAULT 0,
    audit      INTEGER NOT NULL DEFAULT 0,
    total_originals INTEGER NOT NULL DEFAULT 0,
    total_documents INTEGER NOT NULL DEFAULT 0,
    total_audit     INTEGER NOT NULL DEFAULT 0
);
