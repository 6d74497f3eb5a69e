-- IPS parity of job control and job logs (docs/job-logs.md):
--   jobs.cancelled   assets a stop left untouched (not errors);
--   jobs.updated     files that replaced an asset's file (fileUpdateCount);
--   jobs.announced   the job's start has been told, so asset mail may follow;
--   job_assets.replaced, job_assets.began  what a log row of the asset says;
--   schedules.state  Scheduled, or Held while paused;
--   job_assets_asset getAssetJobLogs' lookup by asset handle.

-- +goose Up
ALTER TABLE jobs ADD COLUMN cancelled integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN updated integer NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN announced boolean NOT NULL DEFAULT false;
ALTER TABLE job_assets ADD COLUMN replaced boolean NOT NULL DEFAULT false;
ALTER TABLE job_assets ADD COLUMN began timestamptz;
ALTER TABLE schedules ADD COLUMN state text NOT NULL DEFAULT 'Scheduled';
CREATE INDEX job_assets_asset ON job_assets (asset_handle);

-- +goose Down
DROP INDEX job_assets_asset;
ALTER TABLE schedules DROP COLUMN state;
ALTER TABLE job_assets DROP COLUMN began;
ALTER TABLE job_assets DROP COLUMN replaced;
ALTER TABLE jobs DROP COLUMN announced;
ALTER TABLE jobs DROP COLUMN updated;
ALTER TABLE jobs DROP COLUMN cancelled;
