-- The change feed that keeps every node's read index current (see crates/store/src/feed.rs).
-- A write transaction takes the next clock version as its last step (the row lock is held
-- until commit, so versions become visible in order, without gaps) and lists the images
-- and groups it touched under that version. `keep` versions of changes are kept;
-- `kept_from` is the oldest version whose changes are all still there.
CREATE TABLE change_clock (
    id        BIGINT NOT NULL PRIMARY KEY,
    version   BIGINT NOT NULL,
    kept_from BIGINT NOT NULL,
    keep      BIGINT NOT NULL
);
INSERT INTO change_clock (id, version, kept_from, keep) VALUES (1, 0, 1, 100000);
CREATE TABLE changes (
    version  BIGINT NOT NULL,
    image_id TEXT COLLATE "C",
    group_id TEXT COLLATE "C"
);
CREATE INDEX changes_by_version ON changes (version);
