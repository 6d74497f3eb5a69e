package app

import (
	"bytes"
	"context"
	"image"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

func withRenditionCache(c *Config) { c.RenditionCacheBytes = 1 << 30 }

// endMessage is the EndExport row's message of a job log.
func endMessage(t *testing.T, root node) string {
	t.Helper()
	for _, d := range root.at("jobLogArray", "items", "detailArray", "items") {
		if d.text("logType") == "EndExport" {
			return d.text("logMessage")
		}
	}
	t.Fatal("no EndExport row")
	return ""
}

// The same convert export twice: the second reuses the first's renditions
// (the metrics' hits, the job log's count), and its files are the first's,
// byte for byte.
func TestRenditionCacheReexport(t *testing.T) {
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t), withMetricsToken, withRenditionCache)
			im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
			a, err := im.Import(t.Context(), catalog.File{CompanyHandle: e.acme.Handle, FolderPath: "photos", FileName: "shoe.png",
				Body: bytes.NewReader(gradientPNG(t, 300, 200))})
			require.NoError(t, err)
			handles := []string{a.Handle, e.assets["/hero.png"].Handle}
			fields := `<fmt>convert</fmt><is_modifier>wid=150&amp;fmt=png</is_modifier><emailSetting>None</emailSetting>`
			before := e.scrape()

			e.submit("nightly", handles, fields)
			zip1, root1 := e.awaitArchive("nightly")
			mid := e.scrape()
			assert.Equal(t, 2.0, mid[`ipsd_rendition_cache_total{result="miss"}`]-before[`ipsd_rendition_cache_total{result="miss"}`])
			assert.Equal(t, 0.0, mid[`ipsd_rendition_cache_total{result="hit"}`]-before[`ipsd_rendition_cache_total{result="hit"}`])
			assert.NotContains(t, endMessage(t, root1), "rendition cache", "nothing reused: nothing said")

			e.submit("nightly-2", handles, fields)
			zip2, root2 := e.awaitArchive("nightly-2")
			after := e.scrape()
			assert.Equal(t, 2.0, after[`ipsd_rendition_cache_total{result="hit"}`]-mid[`ipsd_rendition_cache_total{result="hit"}`])
			assert.Equal(t, 0.0, after[`ipsd_rendition_cache_total{result="miss"}`]-mid[`ipsd_rendition_cache_total{result="miss"}`])
			assert.Equal(t, 2.0, after[`ipsd_render_seconds_count`]-before[`ipsd_render_seconds_count`], "two renders in all")
			assert.Contains(t, endMessage(t, root2), "2 reused from the rendition cache")
			log := root2.at("jobLogArray", "items")[0]
			assert.Equal(t, "2", log.text("fileSuccessCount"))
			j := e.awaitEnd(log.text("jobHandle"))
			assert.Equal(t, 2, j.RenditionHits)

			_, b1 := fetch(t, zip1, "")
			_, b2 := fetch(t, zip2, "")
			f1, f2 := unzip(t, b1), unzip(t, b2)
			require.Len(t, f2, 2)
			assert.Equal(t, f1, f2, "byte-identical")
			assert.Equal(t, image.Rect(0, 0, 150, 100), decodePNG(t, f2["photos/shoe.png"]).Bounds())

			// Replacing the original makes it another rendition.
			_, _, err = e.app.Store.ReplaceAssetFile(t.Context(), e.acme.Handle, a.Handle, assetFile(t, e, gradientPNG(t, 200, 200)))
			require.NoError(t, err)
			e.submit("nightly-3", handles, fields)
			zip3, root3 := e.awaitArchive("nightly-3")
			assert.Contains(t, endMessage(t, root3), "1 reused from the rendition cache", "only hero.png")
			_, b3 := fetch(t, zip3, "")
			f3 := unzip(t, b3)
			assert.Equal(t, image.Rect(0, 0, 150, 150), decodePNG(t, f3["photos/shoe.png"]).Bounds())
			assert.Equal(t, f1["hero.png"], f3["hero.png"])
		})
	}
}

// assetFile stores data as a new original in e's blob store.
func assetFile(t *testing.T, e *env, data []byte) store.AssetFile {
	t.Helper()
	info, err := e.app.Blob.Put(t.Context(), "originals/replaced-"+t.Name(), bytes.NewReader(data))
	require.NoError(t, err)
	return store.AssetFile{StorageKey: info.Key, SHA256: info.SHA256, Size: info.Size, FileName: "shoe.png", Type: "Image"}
}

// Two processes on one PostgreSQL database and one data directory work one
// export of the same asset many times over: every asset succeeds, every
// file is byte-identical, and each chunk's second asset at least reuses
// the rendition its first kept.
func TestRenditionCacheTwoProcesses(t *testing.T) {
	dsn := pg.NewDatabase(t)
	e := newEnv(t, dsn, withRenditionCache, func(c *Config) { c.ChunkSize = 2 })
	other, err := Open(context.Background(), Config{DataDir: e.app.dataDir, DatabaseURL: dsn, Workers: 2, ChunkSize: 2,
		RenditionCacheBytes: 1 << 30, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	require.NoError(t, other.Start(context.Background()))
	t.Cleanup(func() { other.Close() })

	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	a, err := im.Import(t.Context(), catalog.File{CompanyHandle: e.acme.Handle, FileName: "shoe.png",
		Body: bytes.NewReader(gradientPNG(t, 400, 300))})
	require.NoError(t, err)
	const copies = 12
	handles := slices.Repeat([]string{a.Handle}, copies)
	e.submit("many", handles, `<fmt>convert</fmt><is_modifier>wid=200&amp;fmt=png</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, root := e.awaitArchive("many")
	log := root.at("jobLogArray", "items")[0]
	assert.Equal(t, "12", log.text("fileSuccessCount"))
	j := e.awaitEnd(log.text("jobHandle"))
	assert.GreaterOrEqual(t, j.RenditionHits, copies/2)
	t.Logf("%d of %d reused", j.RenditionHits, copies)
	_, b := fetch(t, zipURL, "")
	files := unzip(t, b)
	require.Len(t, files, copies)
	var first []byte
	for name, f := range files {
		require.True(t, strings.HasSuffix(name, ".png"), name)
		if first == nil {
			first = f
			assert.Equal(t, image.Rect(0, 0, 200, 150), decodePNG(t, f).Bounds())
		}
		assert.Equal(t, first, f, name)
	}
}
