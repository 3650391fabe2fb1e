-- Tokens get a lifecycle: a public id (the first 16 hex digits of the hash, shown by
-- `imagehub token list` and used by `token revoke`), a revocation time, the access key
-- that issued them (an SCNet login), and when they were last used.
ALTER TABLE tokens ADD COLUMN id TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE tokens ADD COLUMN issued_by TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
UPDATE tokens SET id = substr(hash, 1, 16);
CREATE UNIQUE INDEX tokens_id ON tokens (id);
CREATE INDEX tokens_issued_by ON tokens (issued_by);
