-- The identity face (Keystone v3): named projects in domains, users with argon2id
-- password hashes, one role per user and project, and the user a token was issued to.
CREATE TABLE projects (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL,
    domain     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX projects_domain_name ON projects (domain, name);
CREATE TABLE users (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name            TEXT COLLATE "C" NOT NULL,
    domain          TEXT COLLATE "C" NOT NULL,
    password_hash   TEXT COLLATE "C" NOT NULL,
    enabled         BIGINT NOT NULL,
    default_project TEXT COLLATE "C",
    created_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_domain_name ON users (domain, name);
CREATE TABLE role_assignments (
    user_id TEXT COLLATE "C" NOT NULL,
    project TEXT COLLATE "C" NOT NULL,
    role    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, project)
);
ALTER TABLE tokens ADD COLUMN user_id TEXT COLLATE "C";
CREATE INDEX tokens_user_id ON tokens (user_id);
