package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// farFuture is a release bound every released key is before.
var farFuture = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)

func collectable(t *testing.T, s store.Store, before time.Time) []string {
	t.Helper()
	keys, err := s.CollectableBlobs(context.Background(), before, 1000)
	require.NoError(t, err)
	return keys
}

// Deleting an asset or replacing its file releases the old key, in the
// same call; a key another asset still names is not released.
func testBlobGarbageRelease(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	f := mkFolder(t, s, co, "shoes")
	start := time.Now()
	boot := mkAsset(t, s, f, "Boot")
	shoe := mkAsset(t, s, f, "Shoe")
	twin := mkAsset(t, s, f, "Twin", func(na *store.NewAsset) { na.StorageKey = shoe.StorageKey })
	set := mkAsset(t, s, f, "Boots", func(na *store.NewAsset) {
		na.Type, na.FileName, na.StorageKey, na.Members = "ImageSet", "", "", []string{boot.Handle}
	})
	assert.Empty(t, collectable(t, s, farFuture), "nothing released yet")

	require.NoError(t, s.DeleteAsset(ctx, co.Handle, boot.Handle))
	assert.Equal(t, []string{boot.StorageKey}, collectable(t, s, farFuture))
	assert.Empty(t, collectable(t, s, start.Add(-time.Minute)), "released after the bound: kept")

	require.NoError(t, s.DeleteAsset(ctx, co.Handle, set.Handle))
	require.NoError(t, s.DeleteAsset(ctx, co.Handle, twin.Handle))
	assert.Equal(t, []string{boot.StorageKey}, collectable(t, s, farFuture),
		"a set has no file; a key another asset names is not released")

	_, _, err := s.ReplaceAssetFile(ctx, co.Handle, shoe.Handle, store.AssetFile{
		FileName: "shoe.jpg", Type: "Image", Size: 10, SHA256: "ef", StorageKey: "originals/shoe-2"})
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{boot.StorageKey, shoe.StorageKey}, collectable(t, s, farFuture))
	_, _, err = s.ReplaceAssetFile(ctx, co.Handle, shoe.Handle, store.AssetFile{
		FileName: "shoe.jpg", Type: "Image", Size: 10, SHA256: "ef", StorageKey: "originals/shoe-2"})
	require.NoError(t, err)
	assert.NotContains(t, collectable(t, s, farFuture), "originals/shoe-2", "a file replaced by itself stays")

	// A failed delete releases nothing.
	err = s.DeleteAsset(ctx, co.Handle, shoe.Handle+"9")
	assert.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
	assert.Len(t, collectable(t, s, farFuture), 2)

	// A key an asset names again is not collected, though released.
	mkAsset(t, s, f, "Again", func(na *store.NewAsset) { na.StorageKey = boot.StorageKey })
	assert.Equal(t, []string{shoe.StorageKey}, collectable(t, s, farFuture))

	require.NoError(t, s.ForgetBlobs(ctx, []string{shoe.StorageKey, "never/released"}))
	assert.Empty(t, collectable(t, s, farFuture))
	require.NoError(t, s.ForgetBlobs(ctx, nil))
}

// A key a pending asset of an unfinished export captured is kept until
// that asset is finished or its job has ended.
func testBlobGarbageJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	f := mkFolder(t, s, co, "")
	a, b := mkAsset(t, s, f, "A"), mkAsset(t, s, f, "B")
	capture := func(as ...store.Asset) []store.JobAsset {
		out := jobAssets(len(as))
		for i, x := range as {
			out[i].AssetHandle, out[i].SourceKey, out[i].SourceSHA256 = x.Handle, x.StorageKey, x.SHA256
		}
		return out
	}
	running, err := s.CreateJob(ctx, newJob(co, "running"), capture(a, b))
	require.NoError(t, err)
	stopped, err := s.CreateJob(ctx, newJob(co, "stopped"), capture(b))
	require.NoError(t, err)

	pending, err := s.PendingJobAssets(ctx, running.Handle, 0, 2)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	assert.Equal(t, []string{a.StorageKey, b.StorageKey}, []string{pending[0].SourceKey, pending[1].SourceKey}, "the captured keys are kept")
	assert.Equal(t, a.SHA256, pending[0].SourceSHA256)

	require.NoError(t, s.DeleteAsset(ctx, co.Handle, a.Handle))
	require.NoError(t, s.DeleteAsset(ctx, co.Handle, b.Handle))
	assert.Empty(t, collectable(t, s, farFuture), "both captured by pending assets")

	ok, err := s.FinishJobAsset(ctx, store.JobAsset{JobHandle: running.Handle, Seq: 0, Outcome: store.OutcomeSuccess})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{a.StorageKey}, collectable(t, s, farFuture), "a's asset is finished")

	ok, err = s.FinishJobAsset(ctx, store.JobAsset{JobHandle: running.Handle, Seq: 1, Outcome: store.OutcomeError})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []string{a.StorageKey}, collectable(t, s, farFuture), "b is still pending in the other job")

	_, err = s.SetJobState(ctx, stopped.Handle, nil, store.JobStopped)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{a.StorageKey, b.StorageKey}, collectable(t, s, farFuture),
		"a job that ended needs nothing, pending or not")

	keys, err := s.CollectableBlobs(ctx, farFuture, 1)
	require.NoError(t, err)
	assert.Len(t, keys, 1, "limit")
	_, err = s.CollectableBlobs(ctx, farFuture, 0)
	assert.Error(t, err)

	// Job assets without a captured key (uploads) hold nothing.
	up := newJob(co, "upload")
	up.Type, up.State = store.JobTypeUpload, store.JobRunning
	_, err = s.CreateJob(ctx, up, jobAssets(2))
	require.NoError(t, err)
	assert.Len(t, collectable(t, s, farFuture), 2)
}

// ReserveJobBytes admits bytes within a job's limit, refuses what does
// not fit and then everything, takes bytes back, and never admits more
// than the limit under concurrent callers.
func testReserveJobBytes(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "bounded"), 3)
	reserve := func(n, limit int64) bool {
		t.Helper()
		ok, err := s.ReserveJobBytes(ctx, j.Handle, n, limit)
		require.NoError(t, err)
		return ok
	}
	assert.True(t, reserve(600, 1000))
	assert.True(t, reserve(400, 1000), "exactly the limit fits")
	assert.False(t, getJob(t, s, j.Handle).BytesLimitReached)
	assert.True(t, reserve(-400, 1000), "given back")
	assert.True(t, reserve(300, 1000))
	assert.False(t, reserve(101, 1000), "past the limit")
	got := getJob(t, s, j.Handle)
	assert.True(t, got.BytesLimitReached)
	assert.Zero(t, got.BytesWritten, "admitted is not written")
	assert.False(t, reserve(1, 1000), "nothing more once reached, though it would fit")
	assert.False(t, reserve(0, 1000))
	assert.True(t, reserve(-300, 1000), "giving back still works")

	_, err := s.ReserveJobBytes(ctx, "j|"+companyIDOf(co)+"|999999", 1, 1000)
	assert.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
	_, err = s.ReserveJobBytes(ctx, "nonsense", 1, 1000)
	assert.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
	other := mkCompany(t, s, "Other")
	_, err = s.ReserveJobBytes(ctx, forge(j.Handle, other), 1, 1000)
	assert.True(t, errors.Is(err, store.ErrNotFound), "another company's job: %v", err)

	// Concurrent workers of one job: exactly limit/size files fit.
	k := mkJob(t, s, newJob(co, "raced"), 1)
	const size, limit, callers = 100, 1050, 24
	var (
		wg       sync.WaitGroup
		admitted atomic.Int64
		mu       sync.Mutex
		errs     []error
	)
	for range callers {
		wg.Go(func() {
			ok, err := s.ReserveJobBytes(ctx, k.Handle, size, limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				admitted.Add(size)
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	assert.Equal(t, int64(1000), admitted.Load(), fmt.Sprintf("%d callers of %d bytes within %d", callers, size, limit))
	assert.True(t, getJob(t, s, k.Handle).BytesLimitReached)
}
