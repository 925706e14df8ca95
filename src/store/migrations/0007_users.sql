-- People and scripts that use clerk's HTTP API and web pages. Passwords are kept as argon2id
-- hashes (PHC strings); API tokens as the SHA-256 of the token, which is shown once.
CREATE TABLE users (
    name       TEXT    PRIMARY KEY,
    role       TEXT    NOT NULL,                -- agent | ops | admin
    password   TEXT    NOT NULL,                -- argon2id PHC string
    disabled   INTEGER NOT NULL DEFAULT 0,
    created_at TEXT    NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT    PRIMARY KEY,             -- hex SHA-256 of the token
    user_name  TEXT    NOT NULL REFERENCES users(name),
    created_at TEXT    NOT NULL,
    last_used  TEXT
);
CREATE INDEX tokens_user ON tokens(user_name);
