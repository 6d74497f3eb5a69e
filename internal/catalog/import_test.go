package catalog

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
)

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(i)
	}
	img.Set(0, 0, color.NRGBA{R: 255, A: 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// newImporter is an Importer over a real SQLite store and a blob directory,
// with one company.
func newImporter(t *testing.T) (*Importer, store.Company, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ips.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	files := filepath.Join(dir, "blobs")
	b, err := blob.NewLocal(files)
	require.NoError(t, err)
	co, err := st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	return &Importer{Store: st, Blob: b, MaxFileBytes: 1 << 20}, co, files
}

// storedFiles lists the blob directory's regular files.
func storedFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	}))
	return out
}

func TestImportThenReplace(t *testing.T) {
	ctx := context.Background()
	im, co, root := newImporter(t)
	a, err := im.Import(ctx, File{CompanyHandle: co.Handle, FolderPath: "shoes", FileName: "Boot.png", Body: bytes.NewReader(pngOf(t, 40, 30))})
	require.NoError(t, err)
	assert.Equal(t, "Boot", a.Name)
	assert.Equal(t, "Image", a.Type)
	assert.Equal(t, [2]int{40, 30}, [2]int{a.Width, a.Height})
	assert.Equal(t, []string{a.StorageKey}, storedFiles(t, root))
	set, err := im.Store.CreateAsset(ctx, store.NewAsset{CompanyHandle: co.Handle, FolderHandle: a.FolderHandle,
		Name: "Boots", Type: "ImageSet", Members: []string{a.Handle}})
	require.NoError(t, err)

	v2 := pngOf(t, 80, 60)
	b, err := im.Replace(ctx, a.Handle, File{CompanyHandle: co.Handle, FileName: "boot.PNG", Body: bytes.NewReader(v2)})
	require.NoError(t, err)
	assert.Equal(t, a.Handle, b.Handle, "the handle stays")
	assert.Equal(t, "Boot", b.Name)
	assert.Equal(t, "boot.PNG", b.FileName)
	assert.Equal(t, [2]int{80, 60}, [2]int{b.Width, b.Height})
	assert.Equal(t, int64(len(v2)), b.Size)
	assert.NotEqual(t, a.SHA256, b.SHA256)
	assert.ElementsMatch(t, []string{a.StorageKey, b.StorageKey}, storedFiles(t, root),
		"the new file has a key of its own; the old one stays for the exports that captured it")
	collect(t, im)
	assert.Equal(t, []string{b.StorageKey}, storedFiles(t, root), "collected: the old file is gone")
	members, err := im.Store.SetMembers(ctx, co.Handle, set.Handle)
	require.NoError(t, err)
	assert.Equal(t, a.Handle, members[0].Handle)

	// A replacement the catalogue refuses leaves the asset and files as
	// they were; so does an empty or oversized file.
	for name, tc := range map[string]struct {
		handle string
		body   []byte
		want   error
	}{
		"a set":      {set.Handle, pngOf(t, 8, 8), nil},
		"unknown":    {strings.Replace(a.Handle, "|", "|9", 2), pngOf(t, 8, 8), store.ErrNotFound},
		"empty file": {a.Handle, nil, ErrEmptyFile},
		"too large":  {a.Handle, bytes.Repeat([]byte("x"), 2<<20), ErrTooLarge},
	} {
		_, err := im.Replace(ctx, tc.handle, File{CompanyHandle: co.Handle, FileName: "boot.png", Body: bytes.NewReader(tc.body)})
		require.Error(t, err, name)
		if tc.want != nil {
			assert.ErrorIs(t, err, tc.want, name)
		}
		assert.Equal(t, []string{b.StorageKey}, storedFiles(t, root), name)
	}
	got, err := im.Store.AssetsByHandles(ctx, co.Handle, []string{a.Handle})
	require.NoError(t, err)
	assert.Equal(t, b, got[0])
}

// SameName finds what an overwrite replaces: the same file name and
// extension, any case, in that folder only, never a set; Remove takes an
// asset and its file away.
func TestSameNameAndRemove(t *testing.T) {
	ctx := context.Background()
	im, co, root := newImporter(t)
	imp := func(folder, name string) store.Asset {
		a, err := im.Import(ctx, File{CompanyHandle: co.Handle, FolderPath: folder, FileName: name, Body: bytes.NewReader(pngOf(t, 4, 3))})
		require.NoError(t, err)
		return a
	}
	a := imp("shoes/red", "boot.png")
	b := imp("shoes/red/", "BOOT.png")
	imp("shoes", "boot.png")
	imp("shoes/red", "boot.jpg")
	_, err := im.Store.CreateAsset(ctx, store.NewAsset{CompanyHandle: co.Handle, FolderHandle: a.FolderHandle,
		Name: "boot", FileName: "boot.png", Type: "ImageSet", Members: []string{a.Handle}})
	require.NoError(t, err)

	got, err := im.SameName(ctx, co, "/shoes/red/", "Boot.PNG")
	require.NoError(t, err)
	var handles []string
	for _, x := range got {
		handles = append(handles, x.Handle)
	}
	assert.ElementsMatch(t, []string{a.Handle, b.Handle}, handles)
	none, err := im.SameName(ctx, co, "", "boot.png")
	require.NoError(t, err)
	assert.Empty(t, none, "the root holds no boot.png")

	require.NoError(t, im.Remove(ctx, co.Handle, b))
	require.NoError(t, im.Remove(ctx, co.Handle, b), "gone already: no error")
	assert.Contains(t, storedFiles(t, root), b.StorageKey, "kept until collected")
	collect(t, im)
	assert.NotContains(t, storedFiles(t, root), b.StorageKey)
	got, err = im.SameName(ctx, co, "shoes/red", "boot.png")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, a.Handle, got[0].Handle)
}

// collect runs a Collector without grace.
func collect(t *testing.T, im *Importer) {
	t.Helper()
	_, err := (&Collector{Store: im.Store, Blob: im.Blob}).Sweep(context.Background())
	require.NoError(t, err)
}

// The Collector removes released files once their grace has passed, and
// leaves those an unfinished export captured.
func TestCollectorGraceAndJobs(t *testing.T) {
	ctx := context.Background()
	im, co, root := newImporter(t)
	clock := time.Now()
	c := &Collector{Store: im.Store, Blob: im.Blob, Grace: time.Hour, Now: func() time.Time { return clock }}
	var as []store.Asset
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		a, err := im.Import(ctx, File{CompanyHandle: co.Handle, FileName: name, Body: bytes.NewReader(pngOf(t, 4, 3))})
		require.NoError(t, err)
		as = append(as, a)
	}
	// An export captured b and has not exported it yet.
	_, err := im.Store.CreateJob(ctx, store.NewJob{CompanyHandle: co.Handle, Type: store.JobTypeExport, State: store.JobNew},
		[]store.JobAsset{{AssetHandle: as[1].Handle, SourceKey: as[1].StorageKey, SourceSHA256: as[1].SHA256}})
	require.NoError(t, err)
	for _, a := range as[:2] {
		require.NoError(t, im.Remove(ctx, co.Handle, a))
	}

	n, err := c.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "within the grace")
	assert.Len(t, storedFiles(t, root), 3)

	clock = clock.Add(time.Hour + time.Second)
	n, err = c.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.ElementsMatch(t, []string{as[1].StorageKey, as[2].StorageKey}, storedFiles(t, root),
		"a is gone; b is captured by a pending export; c is an asset")
	n, err = c.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "forgotten once removed")
}

// Import and Replace refuse a file name longer than MaxFileNameBytes, as
// UploadFile does, before storing anything.
func TestFileNameLimit(t *testing.T) {
	ctx := context.Background()
	im, co, root := newImporter(t)
	ok := strings.Repeat("é", 118) + ".png" // 240 bytes
	a, err := im.Import(ctx, File{CompanyHandle: co.Handle, FileName: ok, Body: bytes.NewReader(pngOf(t, 4, 3))})
	require.NoError(t, err)
	assert.Equal(t, ok, a.FileName)

	long := "x" + ok
	_, err = im.Import(ctx, File{CompanyHandle: co.Handle, FileName: "dir/" + long, Body: bytes.NewReader(pngOf(t, 4, 3))})
	require.ErrorIs(t, err, ErrNameTooLong)
	assert.Contains(t, err.Error(), "241 bytes long; at most 240")
	_, err = im.Replace(ctx, a.Handle, File{CompanyHandle: co.Handle, FileName: long, Body: bytes.NewReader(pngOf(t, 4, 3))})
	require.ErrorIs(t, err, ErrNameTooLong)
	assert.Equal(t, []string{a.StorageKey}, storedFiles(t, root), "nothing stored")
	assert.NoError(t, CheckFileName(ok))
}
