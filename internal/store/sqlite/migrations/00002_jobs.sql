-- Jobs, their assets (the job log details), and recurring schedules. As in
-- the catalogue, timestamps are UTC text in a fixed-width layout; a NULL
-- timestamp is one the job does not have (yet): exec_time when it runs at
-- once, started, ended, expires. No table is named river_*: River's queue
-- lives in the same database.

-- +goose Up
-- submit_user and notify_user are user handles, kept as given.
-- schedule_id names the schedule a run came from; it is no foreign key,
-- since a run keeps its log when its schedule is deleted.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    original_name TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    submit_user   TEXT NOT NULL DEFAULT '',
    notify_user   TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    spec          BLOB NOT NULL DEFAULT x'',
    schedule_id   INTEGER,
    exec_time     TEXT,
    total         INTEGER NOT NULL DEFAULT 0,
    succeeded     INTEGER NOT NULL DEFAULT 0,
    warnings      INTEGER NOT NULL DEFAULT 0,
    errors        INTEGER NOT NULL DEFAULT 0,
    bytes_written INTEGER NOT NULL DEFAULT 0,
    submitted     TEXT NOT NULL,
    started       TEXT,
    ended         TEXT,
    expires       TEXT,
    purged        INTEGER NOT NULL DEFAULT 0 CHECK (purged IN (0, 1))
) STRICT;
CREATE INDEX jobs_company_submitted ON jobs (company_id, submitted);
CREATE INDEX jobs_company_original_name ON jobs (company_id, original_name);
CREATE INDEX jobs_expires ON jobs (expires) WHERE NOT purged AND expires IS NOT NULL;

-- One row per asset of a job, seq 0..total-1; outcome '' while pending,
-- then Success, Warning or Error with the rest of the log detail.
CREATE TABLE job_assets (
    job_id       INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    asset_handle TEXT NOT NULL DEFAULT '',
    asset_name   TEXT NOT NULL DEFAULT '',
    asset_type   TEXT NOT NULL DEFAULT '',
    folder_path  TEXT NOT NULL DEFAULT '',
    file_name    TEXT NOT NULL DEFAULT '',
    outcome      TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL DEFAULT '',
    output_path  TEXT NOT NULL DEFAULT '',
    blob_key     TEXT NOT NULL DEFAULT '',
    size         INTEGER NOT NULL DEFAULT 0,
    sha256       TEXT NOT NULL DEFAULT '',
    finished     TEXT,
    PRIMARY KEY (job_id, seq)
) STRICT;
-- The worker's lookups: the pending assets of a job in a range of seq.
CREATE INDEX job_assets_pending ON job_assets (job_id, seq) WHERE outcome = '';

CREATE TABLE schedules (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    company_id    INTEGER NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    type          TEXT NOT NULL,
    original_name TEXT NOT NULL DEFAULT '',
    description   TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL DEFAULT '',
    submit_user   TEXT NOT NULL DEFAULT '',
    notify_user   TEXT NOT NULL DEFAULT '',
    spec          BLOB NOT NULL DEFAULT x'',
    cron          TEXT NOT NULL,
    next_fire     TEXT NOT NULL,
    created       TEXT NOT NULL
) STRICT;
CREATE INDEX schedules_next_fire ON schedules (next_fire);
CREATE INDEX schedules_company_next_fire ON schedules (company_id, next_fire);

-- +goose Down
DROP TABLE schedules;
DROP TABLE job_assets;
DROP TABLE jobs;
