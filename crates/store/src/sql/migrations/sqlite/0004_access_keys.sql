-- Access keys (secrets sealed with the master key) and expiring tokens.
CREATE TABLE access_keys (
    ak            TEXT    NOT NULL PRIMARY KEY,
    sealed_secret TEXT    NOT NULL,
    project       TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    label         TEXT
);
ALTER TABLE tokens ADD COLUMN expires_at INTEGER;
