-- The change feed of the PostgreSQL schema (see crates/store/src/feed.rs). The tables exist
-- here too so that both schemas stay the same, but nothing writes them on SQLite: one
-- server owns a SQLite file and updates its read index from its own writes.
CREATE TABLE change_clock (
    id        INTEGER NOT NULL PRIMARY KEY,
    version   INTEGER NOT NULL,
    kept_from INTEGER NOT NULL,
    keep      INTEGER NOT NULL
);
INSERT INTO change_clock (id, version, kept_from, keep) VALUES (1, 0, 1, 100000);
CREATE TABLE changes (
    version  INTEGER NOT NULL,
    image_id TEXT,
    group_id TEXT
);
CREATE INDEX changes_by_version ON changes (version);
