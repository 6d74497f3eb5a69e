package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/store"
)

// DefaultGrace is how long a released original stays before it may be
// removed: far longer than any submit takes between reading an asset and
// committing the job that captured its key.
const DefaultGrace = time.Hour

// collectBatch and collectMax bound one Sweep: keys looked up per query,
// files removed per sweep (the next sweep goes on).
const (
	collectBatch = 200
	collectMax   = 2000
)

// Collector removes the files of originals no asset names any more: the
// keys DeleteAsset and ReplaceAssetFile release into the store's blob
// garbage. A file is removed once it was released longer ago than Grace
// and no pending asset of an unfinished export captured it
// (store.BlobGarbage.CollectableBlobs), so an export always reads the
// version it captured and deleted content is gone soon after no job needs
// it (docs/security.md, "Originals"). The job engine's maintenance tick
// runs Sweep; several processes sweeping at once only delete the same
// files twice, which blob stores allow.
type Collector struct {
	Store store.BlobGarbage
	Blob  blob.Store
	// Grace is how long a released file is kept at least. It must outlast
	// the longest submit (from reading the assets to committing the job),
	// which the store cannot see; DefaultGrace is generous.
	Grace time.Duration
	Log   *slog.Logger
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Sweep removes the files that are due, at most a few thousand per call,
// and forgets their keys; it reports how many it removed. A file that
// cannot be removed keeps its key, to be tried again next time.
func (c *Collector) Sweep(ctx context.Context) (int, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	before := now().Add(-c.Grace)
	removed := 0
	for removed < collectMax {
		keys, err := c.Store.CollectableBlobs(ctx, before, collectBatch)
		if err != nil {
			return removed, fmt.Errorf("collect originals: %w", err)
		}
		var done []string
		var errs []error
		for _, k := range keys {
			if err := c.Blob.Delete(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("collect original %s: %w", k, err))
				continue
			}
			done = append(done, k)
		}
		if err := c.Store.ForgetBlobs(ctx, done); err != nil {
			errs = append(errs, fmt.Errorf("collect originals: %w", err))
		} else {
			removed += len(done)
		}
		if len(done) > 0 && c.Log != nil {
			c.Log.Info("released originals removed", "files", len(done))
		}
		if len(errs) > 0 || len(keys) < collectBatch {
			return removed, errors.Join(errs...)
		}
	}
	return removed, nil
}
