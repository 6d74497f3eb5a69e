package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ipsexport/ipsd/internal/store"
)

// The blob garbage: originals no asset names any more (store.BlobGarbage).
// A key is released in the transaction that stops an asset naming it, so
// a crash never loses track of a file; its file is deleted later by the
// collector, once no unfinished job needs it.

var _ store.BlobGarbage = (*Catalog)(nil)

// releaseBlob puts key into the garbage in tx, unless it is empty or
// another asset still names it. A key released again restarts its grace.
func (c *Catalog) releaseBlob(ctx context.Context, tx *sql.Tx, key string) error {
	if key == "" {
		return nil
	}
	var n int
	if err := c.queryRow(ctx, tx, `SELECT COUNT(*) FROM assets WHERE storage_key = ?`, key).Scan(&n); err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	if n > 0 {
		return nil
	}
	_, err := c.exec(ctx, tx, `INSERT INTO blob_garbage (storage_key, released) VALUES (?, ?)
		ON CONFLICT (storage_key) DO UPDATE SET released = excluded.released`, key, c.d.TimeArg(now()))
	if err != nil {
		return fmt.Errorf("release %s: %w", key, err)
	}
	return nil
}

// CollectableBlobs lists keys released before t that no asset names and
// no pending asset of an export job that has not ended captured.
func (c *Catalog) CollectableBlobs(ctx context.Context, releasedBefore time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("collectable blobs: limit %d: want at least 1", limit)
	}
	ended, endedArg := c.d.InStrings("j.state", store.StateNames(store.EndedJobStates))
	rows, err := c.query(ctx, c.rdb, `SELECT g.storage_key FROM blob_garbage g
		WHERE g.released < ?
		AND NOT EXISTS (SELECT 1 FROM assets a WHERE a.storage_key = g.storage_key)
		AND NOT EXISTS (SELECT 1 FROM job_assets ja JOIN jobs j ON j.id = ja.job_id
			WHERE ja.source_key = g.storage_key AND ja.outcome = '' AND ja.source_key <> '' AND NOT `+ended+`)
		ORDER BY g.released, g.storage_key LIMIT ?`,
		c.d.TimeArg(ceil(releasedBefore)), endedArg, limit)
	if err != nil {
		return nil, fmt.Errorf("collectable blobs: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("collectable blobs: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("collectable blobs: %w", err)
	}
	return out, nil
}

// ForgetBlobs removes keys from the garbage.
func (c *Catalog) ForgetBlobs(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	cond, arg := c.d.InStrings("storage_key", keys)
	if _, err := c.exec(ctx, c.db, `DELETE FROM blob_garbage WHERE `+cond, arg); err != nil {
		return fmt.Errorf("forget blobs: %w", err)
	}
	return nil
}
