-- The identity face (Keystone v3): named projects in domains, users with argon2id
-- password hashes, one role per user and project, and the user a token was issued to.
CREATE TABLE projects (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    domain     TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX projects_domain_name ON projects (domain, name);
CREATE TABLE users (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    enabled         INTEGER NOT NULL,
    default_project TEXT,
    created_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_domain_name ON users (domain, name);
CREATE TABLE role_assignments (
    user_id TEXT NOT NULL,
    project TEXT NOT NULL,
    role    TEXT NOT NULL,
    PRIMARY KEY (user_id, project)
);
ALTER TABLE tokens ADD COLUMN user_id TEXT;
CREATE INDEX tokens_user_id ON tokens (user_id);
