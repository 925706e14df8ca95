-- Mail intake: every message clerk looked at, keyed by where it was found (a Maildir file name, or
-- an IMAP UIDVALIDITY/UID), so a restart neither takes a message twice nor misses one; Message-ID
-- and the raw message's hash recognise the same message found again under another key.

CREATE TABLE mail_messages (
    id          INTEGER PRIMARY KEY,
    account     TEXT    NOT NULL,
    folder      TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    message_id  TEXT,
    sha256      TEXT    NOT NULL,               -- the raw message, kept in the blob store
    from_addr   TEXT    NOT NULL DEFAULT '',
    to_addr     TEXT    NOT NULL DEFAULT '',
    subject     TEXT    NOT NULL DEFAULT '',
    date        TEXT,
    rule        TEXT,                           -- the rule that matched; NULL: none did
    -- taken: documents stored, action not yet applied | done | unmatched | exception | duplicate
    state       TEXT    NOT NULL,
    documents   INTEGER NOT NULL DEFAULT 0,
    received_at TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    UNIQUE (account, folder, key)
);
CREATE INDEX mail_messages_identity ON mail_messages(account, message_id, sha256);

-- Each account's health, written by the daemon, read by `clerk mail status`.
CREATE TABLE mail_accounts (
    name       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,                   -- maildir | imap
    health     TEXT NOT NULL,                   -- ok | error
    detail     TEXT NOT NULL DEFAULT '',
    checked_at TEXT NOT NULL
);

ALTER TABLE documents ADD COLUMN mail_id INTEGER REFERENCES mail_messages(id);
-- A mail rule's document type: the document is validated as that type instead of matched.
ALTER TABLE documents ADD COLUMN doctype_hint TEXT;

-- Where each IMAP folder was read up to: its UIDVALIDITY and the highest UID taken. A changed
-- UIDVALIDITY means the server renumbered the folder: it is read again from the start, and
-- messages already taken are recognised by Message-ID and content.
CREATE TABLE mail_folders (
    account     TEXT    NOT NULL,
    folder      TEXT    NOT NULL,
    uidvalidity INTEGER NOT NULL,
    last_uid    INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
);
