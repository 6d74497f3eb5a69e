package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// The rendition cache's index: an entry is found and touched by use,
// replaced by a second add, forgotten on request.
func testRenditionIndex(t *testing.T, s store.Store) {
	ctx := context.Background()
	_, ok, err := s.UseRendition(ctx, "nope", time.Time{})
	require.NoError(t, err)
	assert.False(t, ok, "an unknown key is no entry")

	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: "a", Size: 100, LastUsed: t0}))
	require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: "b", Size: 50, SHA256: "ab12", Warnings: []string{"qlt ignored", "ünïcode"}, LastUsed: t0}))
	n, err := s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(150), n)

	t1 := t0.Add(time.Minute)
	r, ok, err := s.UseRendition(ctx, "b", t1)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, store.Rendition{Key: "b", Size: 50, SHA256: "ab12", Warnings: []string{"qlt ignored", "ünïcode"}, LastUsed: t1}, r)
	r, ok, err = s.UseRendition(ctx, "a", time.Time{})
	require.NoError(t, err)
	require.True(t, ok)
	assert.Empty(t, r.Warnings)
	assert.WithinDuration(t, time.Now(), r.LastUsed, time.Hour, "a zero time is now")

	// Adding again replaces.
	require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: "a", Size: 70, LastUsed: t1}))
	n, err = s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(120), n)

	require.NoError(t, s.RemoveRendition(ctx, "a"))
	require.NoError(t, s.RemoveRendition(ctx, "a"), "an unknown key is no error")
	_, ok, err = s.UseRendition(ctx, "a", t1)
	require.NoError(t, err)
	assert.False(t, ok)
	n, err = s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(50), n)

	assert.Error(t, s.AddRendition(ctx, store.Rendition{Key: "", Size: 1}))
	assert.Error(t, s.AddRendition(ctx, store.Rendition{Key: "neg", Size: -1}))
}

// Eviction removes the least recently used entries first, just enough of
// them, and returns their keys; a use moves an entry to the back.
func testRenditionEvict(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 10 {
		require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: fmt.Sprintf("k%d", i), Size: 10,
			LastUsed: t0.Add(time.Duration(i) * time.Second)}))
	}
	// k0 and k1 become the most recent.
	for _, k := range []string{"k0", "k1"} {
		_, ok, err := s.UseRendition(ctx, k, t0.Add(time.Hour))
		require.NoError(t, err)
		require.True(t, ok)
	}
	gone, err := s.EvictRenditions(ctx, 100)
	require.NoError(t, err)
	assert.Empty(t, gone, "within the bound: nothing to evict")

	gone, err = s.EvictRenditions(ctx, 75)
	require.NoError(t, err)
	assert.Equal(t, []string{"k2", "k3", "k4"}, gone)
	n, err := s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(70), n)

	// Equal last uses go in key order.
	for _, k := range []string{"k7", "k5", "k6"} {
		_, _, err := s.UseRendition(ctx, k, t0.Add(2*time.Hour))
		require.NoError(t, err)
	}
	gone, err = s.EvictRenditions(ctx, 30)
	require.NoError(t, err)
	assert.Equal(t, []string{"k8", "k9", "k0", "k1"}, gone)

	gone, err = s.EvictRenditions(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"k5", "k6", "k7"}, gone)
	n, err = s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
}

// Many entries: eviction reads them in batches and still goes in order.
func testRenditionEvictMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const entries = 1200
	for i := range entries {
		require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: fmt.Sprintf("k%04d", i), Size: 1,
			LastUsed: t0.Add(time.Duration(i) * time.Millisecond)}))
	}
	gone, err := s.EvictRenditions(ctx, 100)
	require.NoError(t, err)
	require.Len(t, gone, entries-100)
	assert.True(t, slices.IsSorted(gone))
	assert.Equal(t, "k1099", gone[len(gone)-1])
}

// Processes evicting at once each remove an entry at most once: together
// they return every key once, and what is left is within the bound.
func testRenditionEvictConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	const entries = 60
	for i := range entries {
		require.NoError(t, s.AddRendition(ctx, store.Rendition{Key: fmt.Sprintf("k%02d", i), Size: 10,
			LastUsed: t0.Add(time.Duration(i) * time.Second)}))
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []string
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gone, err := s.EvictRenditions(ctx, 200)
			assert.NoError(t, err)
			mu.Lock()
			all = append(all, gone...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	slices.Sort(all)
	assert.Equal(t, len(all), len(slices.Compact(slices.Clone(all))), "no key removed twice")
	assert.GreaterOrEqual(t, len(all), entries-20)
	n, err := s.RenditionBytes(ctx)
	require.NoError(t, err)
	assert.LessOrEqual(t, n, int64(200))
	assert.Equal(t, int64(entries*10-len(all)*10), n)
}

// A job counts the assets its FinishJobAsset said were reused.
func testRenditionHits(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "job"), 3)
	for seq, hit := range []bool{true, false, true} {
		a := finish(seq, store.OutcomeSuccess, 10)(j.Handle)
		a.RenditionHit = hit
		ok, err := s.FinishJobAsset(ctx, a)
		require.NoError(t, err)
		require.True(t, ok)
	}
	a := finish(0, store.OutcomeSuccess, 10)(j.Handle)
	a.RenditionHit = true
	ok, err := s.FinishJobAsset(ctx, a)
	require.NoError(t, err)
	require.False(t, ok)
	assert.Equal(t, 2, getJob(t, s, j.Handle).RenditionHits, "a retry counts nothing")
}
