-- The rendition cache (docs/rendition-cache.md).
--
-- renditions indexes the rendered files kept in the blob store under
-- renditions/<key>, the key a hash of the original's bytes, the resolved
-- conversion and the renderer's version: size, SHA-256 and last use, for a total
-- size bound with least-recently-used eviction; warnings are the render's,
-- given again with each reuse (a JSON array of strings).
--
-- jobs.rendition_hits counts the assets of a job exported from the cache.

-- +goose Up
CREATE TABLE renditions (
    rendition_key text PRIMARY KEY,
    size      bigint NOT NULL CHECK (size >= 0),
    sha256    text NOT NULL,
    warnings  text NOT NULL DEFAULT '[]',
    last_used timestamptz NOT NULL
);
CREATE INDEX renditions_last_used ON renditions (last_used, rendition_key);

ALTER TABLE jobs ADD COLUMN rendition_hits integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE jobs DROP COLUMN rendition_hits;
DROP TABLE renditions;
