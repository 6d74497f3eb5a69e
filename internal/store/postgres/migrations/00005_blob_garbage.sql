-- Originals no asset names any more, and what a job holds on to.
--
-- An asset's original is never overwritten: each version of its file has a
-- storage key of its own. A key an upload with overwrite replaced, or whose
-- asset was deleted, is released into blob_garbage; the maintenance tick
-- deletes its file once it was released longer ago than the grace and no
-- unfinished job still names it (docs/security.md, "Originals").
--
-- job_assets.source_key and source_sha256 are the original an export job
-- captured at submit: the worker reads exactly that version.
--
-- jobs.bytes_reserved counts the bytes a job's files were admitted with
-- before they were written (the job's output limit); bytes_limit_reached
-- is set once a file did not fit.

-- +goose Up
CREATE TABLE blob_garbage (
    storage_key text PRIMARY KEY,
    released    timestamptz NOT NULL
);
CREATE INDEX blob_garbage_released ON blob_garbage (released);

ALTER TABLE job_assets ADD COLUMN source_key text NOT NULL DEFAULT '';
ALTER TABLE job_assets ADD COLUMN source_sha256 text NOT NULL DEFAULT '';
CREATE INDEX job_assets_source_key ON job_assets (source_key) WHERE outcome = '' AND source_key <> '';
CREATE INDEX assets_storage_key ON assets (storage_key) WHERE storage_key <> '';

ALTER TABLE jobs ADD COLUMN bytes_reserved bigint NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN bytes_limit_reached boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE jobs DROP COLUMN bytes_limit_reached;
ALTER TABLE jobs DROP COLUMN bytes_reserved;
DROP INDEX assets_storage_key;
DROP INDEX job_assets_source_key;
ALTER TABLE job_assets DROP COLUMN source_sha256;
ALTER TABLE job_assets DROP COLUMN source_key;
DROP TABLE blob_garbage;
