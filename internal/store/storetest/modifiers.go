package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// testURLModifiers: an asset's urlModifier and urlPostApplyModifier are
// stored, replaced together, read by every lookup, kept from CreateAsset
// (a catalogue copy) and bump Modified; other companies' assets are not
// found.
func testURLModifiers(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	other := mkCompany(t, s, "Other")
	f := mkFolder(t, s, co, "shoes")
	a := mkAsset(t, s, f, "boot")
	assert.Empty(t, a.URLModifier)
	assert.Empty(t, a.URLPostApplyModifier)

	time.Sleep(2 * time.Millisecond) // Modified moves on
	set, err := s.SetURLModifiers(ctx, co.Handle, a.Handle, "wid=100&qlt=90", "fmt=png&bgc=ff0000")
	require.NoError(t, err)
	assert.Equal(t, "wid=100&qlt=90", set.URLModifier)
	assert.Equal(t, "fmt=png&bgc=ff0000", set.URLPostApplyModifier)
	assert.True(t, set.Modified.After(a.Modified), "Modified bumped")
	assert.Equal(t, a.Created, set.Created)

	got, err := s.AssetsByHandles(ctx, co.Handle, []string{a.Handle})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, set, got[0], "read back as set")
	byName, err := s.AssetsByNames(ctx, co.Handle, []string{"boot"}, nil)
	require.NoError(t, err)
	require.Len(t, byName, 1)
	assert.Equal(t, "fmt=png&bgc=ff0000", byName[0].URLPostApplyModifier)
	found, _, err := s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true})
	require.NoError(t, err)
	require.Len(t, found, 1)
	assert.Equal(t, "wid=100&qlt=90", found[0].URLModifier)

	// Both replaced: "" clears one.
	set, err = s.SetURLModifiers(ctx, co.Handle, a.Handle, "", "fmt=tif")
	require.NoError(t, err)
	assert.Empty(t, set.URLModifier)
	assert.Equal(t, "fmt=tif", set.URLPostApplyModifier)

	// A file replaced keeps them.
	_, after, err := s.ReplaceAssetFile(ctx, co.Handle, a.Handle, store.AssetFile{FileName: "boot.png", Type: "Image", StorageKey: "originals/boot2", Width: 1, Height: 1})
	require.NoError(t, err)
	assert.Equal(t, "fmt=tif", after.URLPostApplyModifier)

	// CreateAsset keeps the ones given.
	b := mkAsset(t, s, f, "copied", func(na *store.NewAsset) { na.URLModifier, na.URLPostApplyModifier = "hei=5", "op_invert=1" })
	assert.Equal(t, "hei=5", b.URLModifier)
	got, err = s.AssetsByHandles(ctx, co.Handle, []string{b.Handle})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "hei=5", got[0].URLModifier)
	assert.Equal(t, "op_invert=1", got[0].URLPostApplyModifier)

	for _, c := range []struct{ co, handle string }{
		{other.Handle, a.Handle}, {co.Handle, "a|999|1"}, {co.Handle, "nonsense"}, {"c|999999", a.Handle},
	} {
		_, err := s.SetURLModifiers(ctx, c.co, c.handle, "wid=1", "")
		assert.True(t, errors.Is(err, store.ErrNotFound), "%s in %s: %v", c.handle, c.co, err)
	}
}

// testCompanyDefaults: a company's default request attributes start empty,
// are replaced whole, and belong to that company only.
func testCompanyDefaults(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	other := mkCompany(t, s, "Other")
	d, err := s.CompanyDefaults(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, store.CompanyDefaults{}, d)

	want := store.CompanyDefaults{
		JpegQuality: "85,1", BkgColor: "FF0000", ResMode: "bilin",
		IccProfileRgb: "AdobeRGB", IccProfileCmyk: "CoatedFogra39", DefaultPix: "800,600",
	}
	require.NoError(t, s.SetCompanyDefaults(ctx, co.Handle, want))
	d, err = s.CompanyDefaults(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, want, d)
	d, err = s.CompanyDefaults(ctx, other.Handle)
	require.NoError(t, err)
	assert.Equal(t, store.CompanyDefaults{}, d, "another company's are its own")

	// Replaced whole.
	require.NoError(t, s.SetCompanyDefaults(ctx, co.Handle, store.CompanyDefaults{JpegQuality: "70"}))
	d, err = s.CompanyDefaults(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, store.CompanyDefaults{JpegQuality: "70"}, d)

	// The company itself is unchanged.
	got, err := s.CompanyByHandle(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, co, got)

	for _, h := range []string{"c|999999", "nonsense", ""} {
		_, err := s.CompanyDefaults(ctx, h)
		assert.True(t, errors.Is(err, store.ErrNotFound), "%q: %v", h, err)
		err = s.SetCompanyDefaults(ctx, h, want)
		assert.True(t, errors.Is(err, store.ErrNotFound), "%q: %v", h, err)
	}
}

// testJobAssetConversion: a job asset's own conversion is kept as given and
// read back by every reader of job assets.
func testJobAssetConversion(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	as := jobAssets(3)
	as[1].Conversion = `{"modifier":"fmt=png","format":"png","ext":".png"}`
	nj := newJob(co, "conv")
	j, err := s.CreateJob(ctx, nj, as)
	require.NoError(t, err)
	pending, err := s.PendingJobAssets(ctx, j.Handle, 0, 3)
	require.NoError(t, err)
	require.Len(t, pending, 3)
	assert.Empty(t, pending[0].Conversion)
	assert.Equal(t, as[1].Conversion, pending[1].Conversion)
	assert.Empty(t, pending[2].Conversion)
}
