package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ipsexport/ipsd/internal/store"
)

// The rendition cache's index (store.RenditionIndex,
// docs/rendition-cache.md).

var _ store.RenditionIndex = (*Catalog)(nil)

// evictBatch is how many least recently used entries one pass of
// EvictRenditions reads before removing them.
const evictBatch = 500

// UseRendition marks key used at t and returns its entry. A key not
// there, the common case of a first export, costs one read on the read
// connections, not a write.
func (c *Catalog) UseRendition(ctx context.Context, key string, t time.Time) (store.Rendition, bool, error) {
	var one int
	err := c.queryRow(ctx, c.rdb, `SELECT 1 FROM renditions WHERE rendition_key = ?`, key).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Rendition{}, false, nil
	}
	if err != nil {
		return store.Rendition{}, false, fmt.Errorf("use rendition %s: %w", key, err)
	}
	r := store.Rendition{Key: key}
	var warnings string
	used := at(t)
	if used.IsZero() {
		used = now()
	}
	err = c.queryRow(ctx, c.db, `UPDATE renditions SET last_used = ? WHERE rendition_key = ?
		RETURNING size, sha256, warnings, last_used`, c.d.TimeArg(used), key).Scan(&r.Size, &r.SHA256, &warnings, Time{&r.LastUsed})
	if errors.Is(err, sql.ErrNoRows) {
		return store.Rendition{}, false, nil // evicted meanwhile
	}
	if err != nil {
		return store.Rendition{}, false, fmt.Errorf("use rendition %s: %w", key, err)
	}
	if err := json.Unmarshal([]byte(warnings), &r.Warnings); err != nil {
		return store.Rendition{}, false, fmt.Errorf("use rendition %s: warnings: %w", key, err)
	}
	return r, true, nil
}

// AddRendition records r, replacing an entry of the same key.
func (c *Catalog) AddRendition(ctx context.Context, r store.Rendition) error {
	if r.Key == "" {
		return errors.New("add rendition: empty key")
	}
	if r.Size < 0 {
		return fmt.Errorf("add rendition %s: negative size %d", r.Key, r.Size)
	}
	used := at(r.LastUsed)
	if used.IsZero() {
		used = now()
	}
	warnings := r.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	w, err := json.Marshal(warnings)
	if err != nil {
		return fmt.Errorf("add rendition %s: %w", r.Key, err)
	}
	_, err = c.exec(ctx, c.db, `INSERT INTO renditions (rendition_key, size, sha256, warnings, last_used) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (rendition_key) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256,
		warnings = excluded.warnings, last_used = excluded.last_used`, r.Key, r.Size, r.SHA256, string(w), c.d.TimeArg(used))
	if err != nil {
		return fmt.Errorf("add rendition %s: %w", r.Key, err)
	}
	return nil
}

// RemoveRendition forgets key.
func (c *Catalog) RemoveRendition(ctx context.Context, key string) error {
	if _, err := c.exec(ctx, c.db, `DELETE FROM renditions WHERE rendition_key = ?`, key); err != nil {
		return fmt.Errorf("remove rendition %s: %w", key, err)
	}
	return nil
}

// RenditionBytes is the total size of the entries.
func (c *Catalog) RenditionBytes(ctx context.Context) (int64, error) {
	return c.renditionBytes(ctx, c.rdb)
}

func (c *Catalog) renditionBytes(ctx context.Context, q querier) (int64, error) {
	var n int64
	if err := c.queryRow(ctx, q, `SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM renditions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("rendition bytes: %w", err)
	}
	return n, nil
}

// EvictRenditions removes the least recently used entries until the rest
// total at most maxBytes. Each entry is removed only while its last use
// is still the one read: an entry another process used meanwhile stays,
// and of two processes evicting at once each removes a row once.
func (c *Catalog) EvictRenditions(ctx context.Context, maxBytes int64) ([]string, error) {
	if maxBytes < 0 {
		maxBytes = 0
	}
	var removed []string
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		removed = removed[:0]
		total, err := c.renditionBytes(ctx, tx)
		if err != nil {
			return err
		}
		type entry struct {
			key  string
			size int64
			used any // as the driver returned it, compared as stored
		}
		after := ""
		var afterUsed any
		for total > maxBytes {
			q, args := `SELECT rendition_key, size, last_used FROM renditions`, []any{}
			if afterUsed != nil {
				q += ` WHERE last_used > ? OR (last_used = ? AND rendition_key > ?)`
				args = append(args, afterUsed, afterUsed, after)
			}
			rows, err := c.query(ctx, tx, q+` ORDER BY last_used, rendition_key LIMIT ?`, append(args, evictBatch)...)
			if err != nil {
				return err
			}
			var batch []entry
			for rows.Next() {
				var e entry
				if err := rows.Scan(&e.key, &e.size, &e.used); err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, e)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(batch) == 0 {
				break
			}
			for _, e := range batch {
				if total <= maxBytes {
					break
				}
				res, err := c.exec(ctx, tx, `DELETE FROM renditions WHERE rendition_key = ? AND last_used = ?`, e.key, e.used)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n > 0 {
					removed = append(removed, e.key)
					total -= e.size
				}
			}
			last := batch[len(batch)-1]
			after, afterUsed = last.key, last.used
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evict renditions: %w", err)
	}
	return removed, nil
}
