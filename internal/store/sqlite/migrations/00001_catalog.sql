-- The catalogue. Timestamps are UTC text in a fixed-width layout, so text
-- order is time order. *_key columns hold the case-folded name, computed by
-- the application (SQLite's own case folding is ASCII-only): they carry the
-- case-insensitive uniqueness and lookups. AUTOINCREMENT keeps ids (and so
-- handles) from ever being reused after a delete.

-- +goose Up
CREATE TABLE companies (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL,
    created  TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX companies_name_key ON companies (name_key);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL DEFAULT '',
    created       TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE memberships (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    created    TEXT NOT NULL,
    PRIMARY KEY (user_id, company_id)
) STRICT;
CREATE INDEX memberships_company ON memberships (company_id);

-- path is the full path from the company root, "Acme/shoes/"; compared in
-- byte order (BINARY), so a folder's subtree is one range of paths.
CREATE TABLE folders (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    parent_id  INTEGER REFERENCES folders (id) ON DELETE CASCADE,
    path       TEXT NOT NULL,
    created    TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX folders_company_path ON folders (company_id, path);
CREATE INDEX folders_parent ON folders (parent_id);

-- Set types (ImageSet, SpinSet, AssetSet, ...) have no file: empty
-- storage_key, size 0; their members are in set_members.
CREATE TABLE assets (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    folder_id     INTEGER NOT NULL REFERENCES folders (id),
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    file_name     TEXT NOT NULL DEFAULT '',
    file_name_key TEXT NOT NULL DEFAULT '',
    type          TEXT NOT NULL,
    sub_type      TEXT NOT NULL DEFAULT '',
    size          INTEGER NOT NULL DEFAULT 0,
    sha256        TEXT NOT NULL DEFAULT '',
    storage_key   TEXT NOT NULL DEFAULT '',
    width         INTEGER NOT NULL DEFAULT 0,
    height        INTEGER NOT NULL DEFAULT 0,
    created_by    TEXT NOT NULL DEFAULT '',
    created       TEXT NOT NULL,
    modified      TEXT NOT NULL
) STRICT;
CREATE INDEX assets_company_name ON assets (company_id, name_key);
CREATE INDEX assets_company_folder ON assets (company_id, folder_id);
CREATE INDEX assets_folder ON assets (folder_id);

CREATE TABLE set_members (
    set_id    INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    member_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (set_id, position)
) STRICT;
CREATE INDEX set_members_member ON set_members (member_id);

CREATE TABLE image_formats (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id   INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    url_modifier TEXT NOT NULL DEFAULT '',
    created      TEXT NOT NULL,
    modified     TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX image_formats_company_name ON image_formats (company_id, name_key);

-- +goose Down
DROP TABLE image_formats;
DROP TABLE set_members;
DROP TABLE assets;
DROP TABLE folders;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE companies;
