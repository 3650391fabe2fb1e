-- Projects an image is shared with, and indexed copies of each image's plain tags and
-- extra properties (the JSON columns stay the record; these make the filters index-backed).
-- No write path set tags or properties before this migration, so there is nothing to copy.
CREATE TABLE image_members (
    image_id   TEXT    NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    member     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (image_id, member)
);
CREATE INDEX image_members_member ON image_members (member, status, image_id);

CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    tag      TEXT NOT NULL,
    PRIMARY KEY (tag, image_id)
);
CREATE INDEX image_tags_image ON image_tags (image_id);

CREATE TABLE image_properties (
    image_id TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (key, value, image_id)
);
CREATE INDEX image_properties_image ON image_properties (image_id);
