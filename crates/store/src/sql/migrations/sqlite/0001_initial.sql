-- imagehub schema v1 (SQLite). Times are UTC epoch milliseconds.
CREATE TABLE images (
    id                  TEXT    NOT NULL PRIMARY KEY,
    owner               TEXT    NOT NULL,
    workspace_id        TEXT    NOT NULL,
    group_id            TEXT    NOT NULL,
    kind                TEXT    NOT NULL,
    name                TEXT,
    namespace           TEXT,
    tag                 TEXT,
    registry_path       TEXT,
    digest              TEXT,
    arch                TEXT,
    origin              TEXT,
    service_type        TEXT,
    dev_services        TEXT    NOT NULL,  -- JSON array of catalog words
    resource_categories TEXT    NOT NULL,  -- JSON array of catalog words
    accelerator_type    TEXT,
    image_type          TEXT,
    status              TEXT    NOT NULL,
    status_message      TEXT,
    size                INTEGER,
    virtual_size        INTEGER,
    visibility          TEXT    NOT NULL,
    protected           INTEGER NOT NULL,
    os_hidden           INTEGER NOT NULL,
    container_format    TEXT,
    disk_format         TEXT,
    min_ram             INTEGER NOT NULL,
    min_disk            INTEGER NOT NULL,
    checksum            TEXT,
    os_hash_algo        TEXT,
    os_hash_value       TEXT,
    tags                TEXT    NOT NULL,  -- JSON array (a set)
    kv_tags             TEXT    NOT NULL,  -- JSON array of {key, value}
    properties          TEXT    NOT NULL,  -- JSON object of strings
    description         TEXT,
    flavor_type         TEXT,
    uploaded_by         TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- One namespace/name:tag per project among dedicated (registered) images.
CREATE UNIQUE INDEX images_registry_key ON images (owner, namespace, name, tag) WHERE kind = 'dedicated';
-- List shapes: each visibility branch and each `type` reaches its rows in creation order.
CREATE INDEX images_kind_created ON images (kind, created_at, id);
CREATE INDEX images_owner_created ON images (owner, created_at, id);
CREATE INDEX images_visibility_created ON images (visibility, created_at, id);
CREATE INDEX images_name ON images (name);
CREATE INDEX images_namespace_name ON images (namespace, name);
CREATE INDEX images_group ON images (group_id);

-- What a group carries beyond its images (ModelArts UpdateImageGroup).
CREATE TABLE image_groups (
    group_id   TEXT    NOT NULL PRIMARY KEY,
    read_me    TEXT,
    kv_tags    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE tokens (
    hash       TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the token value
    project    TEXT    NOT NULL,
    role       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    label      TEXT
);

CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
