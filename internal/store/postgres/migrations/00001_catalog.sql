-- The catalogue. *_key columns hold the case-folded name, computed by the
-- application so both drivers fold alike: they carry the case-insensitive
-- uniqueness and lookups. Columns that are sorted or range-compared use
-- COLLATE "C" (byte order), whatever the database's default collation:
-- folder listings rely on a folder's subtree being one range of paths, and
-- both drivers must sort alike.

-- +goose Up
CREATE TABLE companies (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name     text NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    created  timestamptz NOT NULL
);
CREATE UNIQUE INDEX companies_name_key ON companies (name_key);

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    email_key     text COLLATE "C" NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    role          text NOT NULL,
    password_hash text NOT NULL DEFAULT '',
    created       timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE memberships (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    company_id bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    created    timestamptz NOT NULL,
    PRIMARY KEY (user_id, company_id)
);
CREATE INDEX memberships_company ON memberships (company_id);

-- path is the full path from the company root, "Acme/shoes/".
CREATE TABLE folders (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    parent_id  bigint REFERENCES folders (id) ON DELETE CASCADE,
    path       text COLLATE "C" NOT NULL,
    created    timestamptz NOT NULL
);
CREATE UNIQUE INDEX folders_company_path ON folders (company_id, path);
CREATE INDEX folders_parent ON folders (parent_id);

-- Set types (ImageSet, SpinSet, AssetSet, ...) have no file: empty
-- storage_key, size 0; their members are in set_members.
CREATE TABLE assets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id    bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    folder_id     bigint NOT NULL REFERENCES folders (id),
    name          text COLLATE "C" NOT NULL,
    name_key      text COLLATE "C" NOT NULL,
    file_name     text NOT NULL DEFAULT '',
    file_name_key text COLLATE "C" NOT NULL DEFAULT '',
    type          text COLLATE "C" NOT NULL,
    sub_type      text COLLATE "C" NOT NULL DEFAULT '',
    size          bigint NOT NULL DEFAULT 0,
    sha256        text NOT NULL DEFAULT '',
    storage_key   text NOT NULL DEFAULT '',
    width         integer NOT NULL DEFAULT 0,
    height        integer NOT NULL DEFAULT 0,
    created_by    text NOT NULL DEFAULT '',
    created       timestamptz NOT NULL,
    modified      timestamptz NOT NULL
);
CREATE INDEX assets_company_name ON assets (company_id, name_key);
CREATE INDEX assets_company_folder ON assets (company_id, folder_id);
CREATE INDEX assets_folder ON assets (folder_id);

CREATE TABLE set_members (
    set_id    bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position  integer NOT NULL,
    member_id bigint NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (set_id, position)
);
CREATE INDEX set_members_member ON set_members (member_id);

CREATE TABLE image_formats (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id   bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    name         text NOT NULL,
    name_key     text COLLATE "C" NOT NULL,
    url_modifier text NOT NULL DEFAULT '',
    created      timestamptz NOT NULL,
    modified     timestamptz NOT NULL
);
CREATE UNIQUE INDEX image_formats_company_name ON image_formats (company_id, name_key);

-- +goose Down
DROP TABLE image_formats;
DROP TABLE set_members;
DROP TABLE assets;
DROP TABLE folders;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE companies;
