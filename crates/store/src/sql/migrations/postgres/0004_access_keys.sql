-- Access keys (secrets sealed with the master key) and expiring tokens.
CREATE TABLE access_keys (
    ak            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    sealed_secret TEXT COLLATE "C" NOT NULL,
    project       TEXT COLLATE "C" NOT NULL,
    role          TEXT COLLATE "C" NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    label         TEXT COLLATE "C"
);
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
