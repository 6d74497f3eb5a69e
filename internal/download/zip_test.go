package download

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"runtime"
	"testing"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEntryName(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"a.jpg", "a.jpg"},
		{"folder/sub/a.jpg", "folder/sub/a.jpg"},
		{"/etc/passwd", "etc/passwd"},
		{"//a//b.jpg", "a/b.jpg"},
		{"../../a.jpg", "a.jpg"},
		{"a/../../b.jpg", "a/b.jpg"},
		{"./a/./b.jpg", "a/b.jpg"},
		{`folder\sub\a.jpg`, "folder/sub/a.jpg"},
		{`..\..\windows\a.jpg`, "windows/a.jpg"},
		{`C:\Windows\a.jpg`, "Windows/a.jpg"},
		{"C:/a.jpg", "a.jpg"},
		{"a/C:/b.jpg", "a/C:/b.jpg"},
		{"a\x00b.jpg", "ab.jpg"},
		{"a\r\nb.jpg", "ab.jpg"},
		{"ünï code/ファイル.png", "ünï code/ファイル.png"},
		{"dir/", "dir"},
		{"", "file-8"},
		{"../..", "file-8"},
		{"/", "file-8"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, EntryName(tc.in, 7))
		})
	}
}

func TestUniqueName(t *testing.T) {
	used := map[string]struct{}{}
	got := []string{}
	for _, n := range []string{"a.jpg", "a.jpg", "A.JPG", "b", "b", "d.x/c", "d.x/c", "a (2).jpg"} {
		got = append(got, uniqueName(used, n))
	}
	assert.Equal(t, []string{"a.jpg", "a (2).jpg", "A (3).JPG", "b", "b (2)", "d.x/c", "d.x/c (2)", "a (2) (2).jpg"}, got)
}

func TestCompressionLevel(t *testing.T) {
	tests := map[string]int{
		"a.jpg": 0, "a.JPEG": 0, "a.png": 0, "a.webp": 0, "a.avif": 0, "a.jp2": 0, "v.mp4": 0, "x.zip": 0, "d.pdf": 0,
		"a.tif": 1, "a.tiff": 1, "a.bmp": 1, "a.psd": 1, "a.svg": 1, "noext": 1, "dir.jpg/noext": 1,
	}
	for name, want := range tests {
		assert.Equal(t, want, compressionLevel(name), name)
	}
}

func TestWriteZip(t *testing.T) {
	ctx := context.Background()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	jpeg := incompressible(1, 300<<10)
	tiff := compressible(2, 300<<10)
	put := func(key string, b []byte) {
		_, err := st.Put(ctx, key, bytes.NewReader(b))
		require.NoError(t, err)
	}
	put("exports/7/a.jpg", jpeg)
	put("exports/7/sub/b.tif", tiff)
	put("exports/7/evil", []byte("evil"))
	put("exports/7/empty.txt", nil)
	files := []File{
		{Path: "a.jpg", BlobKey: "exports/7/a.jpg"},
		{Path: "sub/b.tif", BlobKey: "exports/7/sub/b.tif"},
		{Path: "../../etc/passwd", BlobKey: "exports/7/evil"},
		{Path: "/a.jpg", BlobKey: "exports/7/a.jpg"},
		{Path: "empty.txt", BlobKey: "exports/7/empty.txt"},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteZip(ctx, &buf, st, files))

	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	want := []struct {
		name string
		data []byte
	}{{"a.jpg", jpeg}, {"sub/b.tif", tiff}, {"etc/passwd", []byte("evil")}, {"a (2).jpg", jpeg}, {"empty.txt", nil}}
	require.Len(t, zr.File, len(want))
	for i, f := range zr.File {
		assert.Equal(t, want[i].name, f.Name)
		assert.Equal(t, zip.Deflate, f.Method, f.Name)
		assert.NotZero(t, f.Flags&0x8, "%s: streamed entries carry a data descriptor", f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.Equal(t, len(want[i].data), len(got), f.Name)
		assert.True(t, bytes.Equal(want[i].data, got), "%s: content differs", f.Name)
	}
	// JPEG: level 0, stored deflate blocks, 5 bytes per 64 KiB block.
	jpgEntry := zr.File[0]
	assert.InDelta(t, float64(len(jpeg)), float64(jpgEntry.CompressedSize64), 64)
	// TIFF: compressed (this noisy ramp to ~53 %).
	assert.Less(t, zr.File[1].CompressedSize64, uint64(len(tiff)*3/4))
}

func TestWriteZipMissingBlob(t *testing.T) {
	st := newMemStore()
	files := putFiles(t, st, "9", 2, 1024, ".jpg")
	files = append(files, File{Path: "gone.jpg", BlobKey: "exports/9/gone.jpg"})
	err := WriteZip(context.Background(), io.Discard, st, files)
	require.ErrorIs(t, err, blob.ErrNotFound)
	assert.Contains(t, err.Error(), "gone.jpg")
}

func TestWriteZipCanceled(t *testing.T) {
	st := newMemStore()
	files := putFiles(t, st, "9", 2, 1024, ".jpg")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, WriteZip(ctx, io.Discard, st, files), context.Canceled)
}

// allocated returns the bytes and objects f allocates (best of three, to
// shed background noise).
func allocated(f func()) (bytes, objects uint64) {
	bytes, objects = ^uint64(0), ^uint64(0)
	for range 3 {
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		f()
		runtime.ReadMemStats(&b)
		bytes = min(bytes, b.TotalAlloc-a.TotalAlloc)
		objects = min(objects, b.Mallocs-a.Mallocs)
	}
	return bytes, objects
}

// Memory of a zip stream does not grow with the files' sizes, and per file
// only a small constant is added (the central-directory record archive/zip
// keeps until Close, the store's reader, the entry's writers). In
// particular the deflate state (~1 MiB per flate.Writer) is allocated once
// per archive, not once per file.
func TestWriteZipAllocations(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	for _, ext := range []string{".jpg", ".tif"} {
		t.Run(ext, func(t *testing.T) {
			small := putFiles(t, st, "small"+ext, 200, 1<<10, ext)
			big := putFiles(t, st, "big"+ext, 200, 64<<10, ext)
			run := func(files []File) func() {
				return func() { require.NoError(t, WriteZip(ctx, io.Discard, st, files)) }
			}
			b50, o50 := allocated(run(small[:50]))
			b200, o200 := allocated(run(small))
			bBig, oBig := allocated(run(big))
			perFileBytes := (float64(b200) - float64(b50)) / 150
			perFileObjs := (float64(o200) - float64(o50)) / 150
			t.Logf("%s: 50×1 KiB %d B / %d allocs; 200×1 KiB %d B / %d allocs; 200×64 KiB %d B / %d allocs; per extra file %.0f B, %.1f allocs",
				ext, b50, o50, b200, o200, bBig, oBig, perFileBytes, perFileObjs)
			assert.Less(t, perFileBytes, 2048.0, "bytes per extra file")
			assert.Less(t, perFileObjs, 40.0, "allocations per extra file")
			// 12.5 MiB of content vs 200 KiB: same allocations.
			assert.InDelta(t, float64(b200), float64(bBig), 64<<10, "bytes independent of file size")
			assert.InDelta(t, float64(o200), float64(oBig), 100, "allocations independent of file size")
		})
	}
}

// BenchmarkZipStream zips 200 files of 256 KiB from a local blob store to
// io.Discard: "jpeg" is incompressible content (deflate level 0), "tiff"
// compressible (deflate BestSpeed).
func BenchmarkZipStream(b *testing.B) {
	for _, ext := range []string{".jpg", ".tif"} {
		name := map[string]string{".jpg": "jpeg", ".tif": "tiff"}[ext]
		b.Run(name, func(b *testing.B) {
			st, err := blob.NewLocal(b.TempDir())
			require.NoError(b, err)
			const n, size = 200, 256 << 10
			files := putFiles(b, st, "bench", n, size, ext)
			ctx := context.Background()
			b.SetBytes(n * size)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := WriteZip(ctx, io.Discard, st, files); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
