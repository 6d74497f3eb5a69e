package download

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"go.uber.org/goleak"

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

func TestWorthDeflating(t *testing.T) {
	tests := map[string]bool{
		"a.jpg": false, "a.JPEG": false, "a.png": false, "a.webp": false, "a.avif": false, "a.jp2": false,
		"a.gif": false, "v.mp4": false, "x.zip": false, "d.pdf": false,
		"a.tif": true, "a.tiff": true, "a.bmp": true, "a.psd": true, "a.svg": true, "noext": true, "dir.jpg/noext": true,
	}
	for name, want := range tests {
		assert.Equal(t, want, worthDeflating(name), name)
	}
}

// zipEntry is what a test expects of one entry of a written zip.
type zipEntry struct {
	name   string
	data   []byte
	method uint16
	// streamed: written before its size was known, with a data
	// descriptor (flag bit 3); else sizes and CRC in the local header.
	streamed bool
}

// checkZip decodes a zip with archive/zip and with Info-ZIP's `unzip -t`
// (which also checks every local header against the central directory)
// and compares each entry with want.
func checkZip(t *testing.T, zipBytes []byte, want []zipEntry) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	require.NoError(t, err)
	require.Len(t, zr.File, len(want))
	for i, f := range zr.File {
		w := want[i]
		assert.Equal(t, w.name, f.Name)
		assert.Equal(t, w.method, f.Method, "%s: method", f.Name)
		assert.Equal(t, w.streamed, f.Flags&0x8 != 0, "%s: data descriptor", f.Name)
		assert.Equal(t, uint64(len(w.data)), f.UncompressedSize64, f.Name)
		assert.Equal(t, fs.FileMode(0o644), f.Mode().Perm(), f.Name)
		assert.Equal(t, testNow.Unix(), f.Modified.Unix(), f.Name)
		rc, err := f.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err, f.Name)
		require.NoError(t, rc.Close(), f.Name) // checks the CRC-32
		assert.True(t, bytes.Equal(w.data, got), "%s: content differs", f.Name)
	}
	unzipTest(t, zipBytes)
	return zr
}

// unzipTest runs `unzip -tq` (Debian's unzip, a test dependency in the
// Makefile) on a zip.
func unzipTest(t *testing.T, zipBytes []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "t.zip")
	require.NoError(t, os.WriteFile(p, zipBytes, 0o644))
	out, err := exec.Command("unzip", "-tq", p).CombinedOutput()
	require.NoError(t, err, "unzip -t: %s", out)
	assert.Contains(t, string(out), "No errors detected", "unzip -t: %s", out)
}

func TestWriteZip(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	jpeg := incompressible(1, 300<<10)
	tiff := compressible(2, 300<<10)
	noisy := incompressible(3, 200<<10)
	put := func(key string, b []byte) {
		_, err := st.Put(ctx, key, bytes.NewReader(b))
		require.NoError(t, err)
	}
	put("exports/7/a.jpg", jpeg)
	put("exports/7/sub/b.tif", tiff)
	put("exports/7/evil", []byte("evil"))
	put("exports/7/empty.txt", nil)
	put("exports/7/noise.bmp", noisy)
	put("exports/7/ünï.txt", []byte("ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï"))
	files := []File{
		{Path: "a.jpg", BlobKey: "exports/7/a.jpg"},
		{Path: "sub/b.tif", BlobKey: "exports/7/sub/b.tif"},
		{Path: "../../etc/passwd", BlobKey: "exports/7/evil"},
		{Path: "/a.jpg", BlobKey: "exports/7/a.jpg"},
		{Path: "empty.txt", BlobKey: "exports/7/empty.txt"},
		{Path: "noise.bmp", BlobKey: "exports/7/noise.bmp"},
		{Path: "ünï.txt", BlobKey: "exports/7/ünï.txt"},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteZip(ctx, &buf, st, files, ZipOptions{}))
	zr := checkZip(t, buf.Bytes(), []zipEntry{
		{name: "a.jpg", data: jpeg, method: zip.Store},
		{name: "sub/b.tif", data: tiff, method: zip.Deflate},
		{name: "etc/passwd", data: []byte("evil"), method: zip.Store}, // deflate would grow it
		{name: "a (2).jpg", data: jpeg, method: zip.Store},
		{name: "empty.txt", data: nil, method: zip.Store},
		{name: "noise.bmp", data: noisy, method: zip.Store}, // deflate did not help
		{name: "ünï.txt", data: []byte("ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï ünï"), method: zip.Deflate},
	})
	// Stored: exactly the bytes. TIFF: compressed (this noisy ramp to ~53 %).
	assert.Equal(t, uint64(len(jpeg)), zr.File[0].CompressedSize64)
	assert.Less(t, zr.File[1].CompressedSize64, uint64(len(tiff)*3/4))
	assert.NotZero(t, zr.File[6].Flags&0x800, "UTF-8 name flag")
}

// Entries larger than a quarter of the read-ahead are streamed in pieces:
// deflated (at level 0 for a JPEG), with a data descriptor; the pieces of
// one entry are deflated in parallel and still form one deflate stream.
// Small entries around them keep their sizes in the local header.
func TestWriteZipLargeEntries(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	big := func(key string, b []byte) File {
		_, err := st.Put(ctx, key, bytes.NewReader(b))
		require.NoError(t, err)
		return File{Path: path.Base(key), BlobKey: key, Size: int64(len(b))}
	}
	jpeg := incompressible(4, 5<<20+12345)
	tiff := compressible(5, 7<<20+1)
	exact := compressible(6, pieceSize) // exactly one piece, whole
	small := incompressible(7, 1000)
	files := []File{
		big("x/small1.jpg", small),
		big("x/big.jpg", jpeg),
		big("x/big.tif", tiff),
		big("x/exact.tif", exact),
		big("x/small2.jpg", small),
	}
	for _, workers := range []int{1, 3} {
		t.Run(strconv.Itoa(workers)+" workers", func(t *testing.T) {
			var buf bytes.Buffer
			// The smallest read-ahead: entries over 1.25 MiB are streamed.
			require.NoError(t, WriteZip(ctx, &buf, st, files, ZipOptions{ReadAheadBytes: 1, Workers: workers}))
			zr := checkZip(t, buf.Bytes(), []zipEntry{
				{name: "small1.jpg", data: small, method: zip.Store},
				{name: "big.jpg", data: jpeg, method: zip.Deflate, streamed: true},
				{name: "big.tif", data: tiff, method: zip.Deflate, streamed: true},
				{name: "exact.tif", data: exact, method: zip.Deflate},
				{name: "small2.jpg", data: small, method: zip.Store},
			})
			// Level 0: the bytes plus 5 per 64 KiB block and per piece.
			assert.InDelta(t, float64(len(jpeg)), float64(zr.File[1].CompressedSize64), 1024)
			assert.Less(t, zr.File[2].CompressedSize64, uint64(len(tiff)*3/4))
		})
	}
}

// The size the store reports only decides how a file is read: a file
// longer than it says is still zipped whole, unless it was meant to be
// held whole and outgrows that, which ends the archive with an error.
func TestWriteZipWrongRecordedSize(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	data := compressible(8, 3<<20)
	_, err := st.Put(ctx, "k/a.tif", bytes.NewReader(data))
	require.NoError(t, err)
	files := []File{{Path: "a.tif", BlobKey: "k/a.tif"}}
	for _, tc := range []struct {
		recorded  int64
		readAhead int64
		want      *zipEntry
	}{
		{10, 0, &zipEntry{name: "a.tif", data: data, method: zip.Deflate}},
		{5 << 20, 0, &zipEntry{name: "a.tif", data: data, method: zip.Deflate}},
		{3 << 20, 1, &zipEntry{name: "a.tif", data: data, method: zip.Deflate, streamed: true}},
		{10, 1, nil},
	} {
		st.sizeLies = map[string]int64{"k/a.tif": tc.recorded}
		var buf bytes.Buffer
		err = WriteZip(ctx, &buf, st, files, ZipOptions{ReadAheadBytes: tc.readAhead})
		if tc.want == nil {
			require.ErrorContains(t, err, "larger than its recorded size")
			continue
		}
		require.NoError(t, err)
		checkZip(t, buf.Bytes(), []zipEntry{*tc.want})
	}
}

// The ZIP64 path: an entry of 4 GiB and more is streamed, with 8-byte
// sizes in its data descriptor and a ZIP64 record in the central
// directory; archive/zip and unzip read it back. It zips 4.1 GiB of zeros
// from a generated blob (20–45 s on 2 cores), so it is skipped with -short.
func TestWriteZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("zips 4.1 GiB")
	}
	const size = 4<<30 + 100<<20
	st := &zeroStore{size: size}
	var cw countingCRC
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := WriteZip(context.Background(), pw, st, []File{{Path: "huge.tif", BlobKey: "huge"}, {Path: "after.tif", BlobKey: "small"}}, ZipOptions{})
		pw.CloseWithError(err)
		done <- err
	}()
	p := filepath.Join(t.TempDir(), "big.zip")
	f, err := os.Create(p)
	require.NoError(t, err)
	_, err = io.Copy(io.MultiWriter(f, &cw), pr)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.NoError(t, f.Close())

	zr, err := zip.OpenReader(p)
	require.NoError(t, err)
	defer zr.Close()
	require.Len(t, zr.File, 2)
	huge := zr.File[0]
	assert.Equal(t, uint64(size), huge.UncompressedSize64)
	assert.Equal(t, uint32(0xffffffff), huge.UncompressedSize, "ZIP64 marker in the 32-bit field")
	rc, err := huge.Open()
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, rc)
	require.NoError(t, err)
	require.NoError(t, rc.Close()) // CRC checked
	assert.Equal(t, int64(size), n)
	out, err := exec.Command("unzip", "-tq", p).CombinedOutput()
	require.NoError(t, err, "unzip -t: %s", out)
}

// zeroStore serves "huge", size zero bytes, and "small", 10 bytes.
type zeroStore struct{ size int64 }

func (z *zeroStore) Open(_ context.Context, key string) (io.ReadCloser, blob.Info, error) {
	n := z.size
	if key == "small" {
		n = 10
	}
	return io.NopCloser(io.LimitReader(zeroReader{}, n)), blob.Info{Key: key, Size: n, Modified: testNow}, nil
}
func (z *zeroStore) Put(context.Context, string, io.Reader) (blob.Info, error) {
	return blob.Info{}, errors.New("read-only")
}
func (z *zeroStore) Stat(ctx context.Context, key string) (blob.Info, error) {
	_, info, err := z.Open(ctx, key)
	return info, err
}
func (z *zeroStore) Delete(context.Context, string) error       { return nil }
func (z *zeroStore) DeletePrefix(context.Context, string) error { return nil }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countingCRC struct{ n int64 }

func (c *countingCRC) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func TestWriteZipMissingBlob(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := newMemStore()
	files := putFiles(t, st, "9", 2, 1024, ".jpg")
	files = append(files, File{Path: "gone.jpg", BlobKey: "exports/9/gone.jpg"})
	err := WriteZip(context.Background(), io.Discard, st, files, ZipOptions{})
	require.ErrorIs(t, err, blob.ErrNotFound)
	assert.Contains(t, err.Error(), "gone.jpg")
}

func TestWriteZipCanceled(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := newMemStore()
	files := putFiles(t, st, "9", 2, 1024, ".jpg")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, WriteZip(ctx, io.Discard, st, files, ZipOptions{}), context.Canceled)
}

// failAfter is a response that fails once n bytes were written, like a
// client that went away.
type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errors.New("connection reset by peer")
	}
	f.n -= len(p)
	return len(p), nil
}

// A response that fails mid-stream ends the archive with its error, and
// WriteZip returns only after every reader and worker has stopped, with
// pieces read ahead of the failure in flight (goleak checks).
func TestWriteZipWriteFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	st := newMemStore()
	files := append(putFiles(t, st, "w", 40, 300<<10, ".tif"), putFiles(t, st, "w2", 3, 3<<20, ".tif")...)
	for _, at := range []int{0, 100, 2 << 20, 9 << 20} {
		err := WriteZip(context.Background(), &failAfter{n: at}, st, files, ZipOptions{ReadAheadBytes: 8 << 20, Workers: 2})
		require.ErrorContains(t, err, "connection reset by peer", "failing after %d bytes", at)
	}
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

// Memory of a zip stream is bounded by the read-ahead, not by the files'
// sizes, and per small file only a little is added (its bytes, read
// ahead, and the central-directory record archive/zip keeps until Close).
// The deflate state (~1 MiB per flate.Writer) is allocated once per
// worker, not once per file; full-size pieces reuse their buffers.
func TestWriteZipAllocations(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	opts := ZipOptions{Workers: 2}
	for _, ext := range []string{".jpg", ".tif"} {
		t.Run(ext, func(t *testing.T) {
			// Many files, so that a deflate worker more or less in one run
			// (scheduling decides how many start) is not read as per-file cost.
			small := putFiles(t, st, "small"+ext, 1000, 1<<10, ext)
			big := putFiles(t, st, "big"+ext, 40, 4<<20, ext) // streamed
			run := func(files []File) func() {
				return func() { require.NoError(t, WriteZip(ctx, io.Discard, st, files, opts)) }
			}
			b50, o50 := allocated(run(small[:50]))
			b1000, o1000 := allocated(run(small))
			bBig, oBig := allocated(run(big))
			perFileBytes := (float64(b1000) - float64(b50)) / 950
			perFileObjs := (float64(o1000) - float64(o50)) / 950
			t.Logf("%s: 50×1 KiB %d B / %d allocs; 1000×1 KiB %d B / %d allocs; 40×4 MiB %d B / %d allocs; per extra file %.0f B, %.1f allocs",
				ext, b50, o50, b1000, o1000, bBig, oBig, perFileBytes, perFileObjs)
			assert.Less(t, perFileBytes, 6144.0, "bytes per extra file")
			assert.Less(t, perFileObjs, 60.0, "allocations per extra file")
			// 160 MiB of content: allocations within the read-ahead.
			assert.Less(t, bBig, uint64(DefaultZipReadAhead+4<<20), "bytes of a large archive")
		})
	}
}

// BenchmarkZipStream zips 200 files of 256 KiB from a local blob store to
// io.Discard: "jpeg" is incompressible content (Stored), "tiff"
// compressible (deflated, pieces in parallel on GOMAXPROCS workers).
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
				if err := WriteZip(ctx, io.Discard, st, files, ZipOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
