-- imagehub schema v1 (PostgreSQL). Mirrors migrations/sqlite/0001_initial.sql column for
-- column (a test compares the two). Times are UTC epoch milliseconds. Text columns use
-- the "C" collation so ordering and keyset comparisons are bytewise, as on SQLite.
CREATE TABLE images (
    id                  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    owner               TEXT COLLATE "C" NOT NULL,
    workspace_id        TEXT COLLATE "C" NOT NULL,
    group_id            TEXT COLLATE "C" NOT NULL,
    kind                TEXT COLLATE "C" NOT NULL,
    name                TEXT COLLATE "C",
    namespace           TEXT COLLATE "C",
    tag                 TEXT COLLATE "C",
    registry_path       TEXT COLLATE "C",
    digest              TEXT COLLATE "C",
    arch                TEXT COLLATE "C",
    origin              TEXT COLLATE "C",
    service_type        TEXT COLLATE "C",
    dev_services        TEXT COLLATE "C" NOT NULL,
    resource_categories TEXT COLLATE "C" NOT NULL,
    accelerator_type    TEXT COLLATE "C",
    image_type          TEXT COLLATE "C",
    status              TEXT COLLATE "C" NOT NULL,
    status_message      TEXT COLLATE "C",
    size                BIGINT,
    virtual_size        BIGINT,
    visibility          TEXT COLLATE "C" NOT NULL,
    protected           BOOLEAN NOT NULL,
    os_hidden           BOOLEAN NOT NULL,
    container_format    TEXT COLLATE "C",
    disk_format         TEXT COLLATE "C",
    min_ram             BIGINT NOT NULL,
    min_disk            BIGINT NOT NULL,
    checksum            TEXT COLLATE "C",
    os_hash_algo        TEXT COLLATE "C",
    os_hash_value       TEXT COLLATE "C",
    tags                TEXT COLLATE "C" NOT NULL,
    kv_tags             TEXT COLLATE "C" NOT NULL,
    properties          TEXT COLLATE "C" NOT NULL,
    description         TEXT COLLATE "C",
    flavor_type         TEXT COLLATE "C",
    uploaded_by         TEXT COLLATE "C",
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);

CREATE UNIQUE INDEX images_registry_key ON images (owner, namespace, name, tag) WHERE kind = 'dedicated';
CREATE INDEX images_kind_created ON images (kind, created_at, id);
CREATE INDEX images_owner_created ON images (owner, created_at, id);
CREATE INDEX images_visibility_created ON images (visibility, created_at, id);
CREATE INDEX images_name ON images (name);
CREATE INDEX images_namespace_name ON images (namespace, name);
CREATE INDEX images_group ON images (group_id);

CREATE TABLE image_groups (
    group_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    read_me    TEXT COLLATE "C",
    kv_tags    TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    project    TEXT COLLATE "C" NOT NULL,
    role       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    label      TEXT COLLATE "C"
);

CREATE TABLE settings (
    key   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
