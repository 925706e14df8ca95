-- Originals kept in PostgreSQL in pieces, so no file is ever one value (PostgreSQL refuses a value
-- over 1 GB, and a daemon would have to hold it whole in memory). A blob's row in `blobs` is
-- written in the same transaction as its last chunk: a row means every chunk is there. Rows
-- written before this migration keep their bytes in `blobs.bytes` and have no chunks.
CREATE TABLE blob_chunks (
    sha256 TEXT    NOT NULL,
    n      INTEGER NOT NULL,                     -- 0, 1, 2 … in file order
    bytes  BLOB    NOT NULL,
    PRIMARY KEY (sha256, n)
);
