-- Jobs, their assets (the job log details), and recurring schedules. A NULL
-- timestamp is one the job does not have (yet): exec_time when it runs at
-- once, started, ended, expires. No table is named river_*: River's queue
-- lives in the same database.

-- +goose Up
-- submit_user and notify_user are user handles, kept as given.
-- schedule_id names the schedule a run came from; it is no foreign key,
-- since a run keeps its log when its schedule is deleted.
CREATE TABLE jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id    bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    type          text NOT NULL,
    name          text NOT NULL DEFAULT '',
    original_name text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    locale        text NOT NULL DEFAULT '',
    submit_user   text NOT NULL DEFAULT '',
    notify_user   text NOT NULL DEFAULT '',
    state         text NOT NULL,
    spec          bytea NOT NULL DEFAULT '\x',
    schedule_id   bigint,
    exec_time     timestamptz,
    total         integer NOT NULL DEFAULT 0,
    succeeded     integer NOT NULL DEFAULT 0,
    warnings      integer NOT NULL DEFAULT 0,
    errors        integer NOT NULL DEFAULT 0,
    bytes_written bigint NOT NULL DEFAULT 0,
    submitted     timestamptz NOT NULL,
    started       timestamptz,
    ended         timestamptz,
    expires       timestamptz,
    purged        boolean NOT NULL DEFAULT false
);
CREATE INDEX jobs_company_submitted ON jobs (company_id, submitted);
CREATE INDEX jobs_company_original_name ON jobs (company_id, original_name);
CREATE INDEX jobs_expires ON jobs (expires) WHERE NOT purged AND expires IS NOT NULL;

-- One row per asset of a job, seq 0..total-1; outcome '' while pending,
-- then Success, Warning or Error with the rest of the log detail.
CREATE TABLE job_assets (
    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq          integer NOT NULL,
    asset_handle text NOT NULL DEFAULT '',
    asset_name   text NOT NULL DEFAULT '',
    asset_type   text NOT NULL DEFAULT '',
    folder_path  text NOT NULL DEFAULT '',
    file_name    text NOT NULL DEFAULT '',
    outcome      text NOT NULL DEFAULT '',
    message      text NOT NULL DEFAULT '',
    output_path  text NOT NULL DEFAULT '',
    blob_key     text NOT NULL DEFAULT '',
    size         bigint NOT NULL DEFAULT 0,
    sha256       text NOT NULL DEFAULT '',
    finished     timestamptz,
    PRIMARY KEY (job_id, seq)
);
-- The worker's lookups: the pending assets of a job in a range of seq.
CREATE INDEX job_assets_pending ON job_assets (job_id, seq) WHERE outcome = '';

CREATE TABLE schedules (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    company_id    bigint NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    type          text NOT NULL,
    original_name text NOT NULL DEFAULT '',
    description   text NOT NULL DEFAULT '',
    locale        text NOT NULL DEFAULT '',
    submit_user   text NOT NULL DEFAULT '',
    notify_user   text NOT NULL DEFAULT '',
    spec          bytea NOT NULL DEFAULT '\x',
    cron          text NOT NULL,
    next_fire     timestamptz NOT NULL,
    created       timestamptz NOT NULL
);
CREATE INDEX schedules_next_fire ON schedules (next_fire);
CREATE INDEX schedules_company_next_fire ON schedules (company_id, next_fire);

-- +goose Down
DROP TABLE schedules;
DROP TABLE job_assets;
DROP TABLE jobs;
