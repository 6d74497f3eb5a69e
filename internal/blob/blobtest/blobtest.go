// Package blobtest is the conformance suite every blob.Store passes: the
// behaviour the rest of IPS Export relies on, written once and run against
// each implementation (blob.Local, s3blob).
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
)

// LargeSize is the size of the body the Large test streams through Put and
// Open. A store passes only if a Put of it allocates less than LargeSize
// bytes, so a store that buffers in parts (S3) must be configured with parts
// well below it: 5 MiB parts allocate about 3 parts' worth.
const LargeSize = 32 << 20

// Run runs the suite. newStore must return a fresh, empty store for the test
// it is given (cleaning up with t.Cleanup as needed). Subtests run in
// parallel, so newStore must be safe to call concurrently; the one that
// measures allocations (Large) runs first, alone, so the caller must not run
// other tests in parallel with Run.
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("Large", func(t *testing.T) { testLarge(t, newStore(t)) })
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"PutOpenStat", testPutOpenStat},
		{"Empty", testEmpty},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"Replace", testReplace},
		{"FailedPut/ReaderError", testFailedPutReader},
		{"FailedPut/ReaderErrorLate", testFailedPutReaderLate},
		{"FailedPut/Cancelled", testFailedPutCancelled},
		{"FailedPut/CancelledMidway", testFailedPutCancelledMidway},
		{"Keys", testKeys},
		{"EscapingKeys", testEscapingKeys},
		{"DeletePrefix", testDeletePrefix},
		{"DeletePrefix/NoSlash", testDeletePrefixNoSlash},
		{"DeletePrefix/Missing", testDeletePrefixMissing},
		{"ConcurrentReplace", testConcurrentReplace},
		{"List", testList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func put(t *testing.T, s blob.Store, key, data string) blob.Info {
	t.Helper()
	info, err := s.Put(ctx(t), key, strings.NewReader(data))
	require.NoError(t, err, "put %s", key)
	return info
}

// read opens key and returns its bytes and the Info Open gave.
func read(t *testing.T, s blob.Store, key string) ([]byte, blob.Info) {
	t.Helper()
	rc, info, err := s.Open(ctx(t), key)
	require.NoError(t, err, "open %s", key)
	defer func() { assert.NoError(t, rc.Close()) }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err, "read %s", key)
	return b, info
}

func assertNotFound(t *testing.T, s blob.Store, key string) {
	t.Helper()
	_, err := s.Stat(ctx(t), key)
	assert.ErrorIs(t, err, blob.ErrNotFound, "stat %s", key)
	rc, _, err := s.Open(ctx(t), key)
	assert.ErrorIs(t, err, blob.ErrNotFound, "open %s", key)
	if rc != nil {
		rc.Close()
		t.Errorf("open %s: a reader along with the error", key)
	}
}

// checkInfo checks an Info from Stat or Open against what Put returned. A
// store may leave SHA256 empty outside Put (Local does); if it fills it, it
// must be the digest Put computed.
func checkInfo(t *testing.T, what string, got, put blob.Info) {
	t.Helper()
	assert.Equal(t, put.Key, got.Key, what+": Key")
	assert.Equal(t, put.Size, got.Size, what+": Size")
	if got.SHA256 != "" {
		assert.Equal(t, put.SHA256, got.SHA256, what+": SHA256")
	}
	checkModified(t, what, got.Modified)
}

func checkModified(t *testing.T, what string, m time.Time) {
	t.Helper()
	// Server clocks and one-second resolution (S3's Last-Modified): a wide
	// window, but a zero or nonsense time fails.
	if assert.False(t, m.IsZero(), what+": Modified is zero") {
		assert.WithinDuration(t, time.Now(), m, time.Hour, what+": Modified")
	}
}

func testPutOpenStat(t *testing.T, s blob.Store) {
	data := strings.Repeat("pixels", 10000)
	info := put(t, s, "c1/ab/file.jpg", data)
	assert.Equal(t, "c1/ab/file.jpg", info.Key)
	assert.Equal(t, int64(len(data)), info.Size)
	assert.Equal(t, hexSum([]byte(data)), info.SHA256)
	checkModified(t, "put", info.Modified)

	got, oi := read(t, s, "c1/ab/file.jpg")
	assert.Equal(t, data, string(got))
	checkInfo(t, "open", oi, info)

	st, err := s.Stat(ctx(t), "c1/ab/file.jpg")
	require.NoError(t, err)
	checkInfo(t, "stat", st, info)

	// A "directory" is not a file.
	assertNotFound(t, s, "c1/ab")
	assertNotFound(t, s, "c1")
}

func testEmpty(t *testing.T, s blob.Store) {
	info := put(t, s, "empty", "")
	assert.Equal(t, int64(0), info.Size)
	assert.Equal(t, hexSum(nil), info.SHA256)
	got, oi := read(t, s, "empty")
	assert.Empty(t, got)
	checkInfo(t, "open", oi, info)
}

func testNotFound(t *testing.T, s blob.Store) {
	assertNotFound(t, s, "nothing/here.jpg")
	put(t, s, "dir/file", "x")
	assertNotFound(t, s, "dir/fil")
	assertNotFound(t, s, "dir/file/below")
	// Wrapped or not, errors.Is finds it; the message names the key.
	_, err := s.Stat(ctx(t), "nothing/here.jpg")
	require.Error(t, err)
}

func testDelete(t *testing.T, s blob.Store) {
	put(t, s, "d/one", "1")
	put(t, s, "d/two", "2")
	require.NoError(t, s.Delete(ctx(t), "d/one"))
	assertNotFound(t, s, "d/one")
	got, _ := read(t, s, "d/two")
	assert.Equal(t, "2", string(got), "a sibling survives")
	// A missing key is not an error.
	require.NoError(t, s.Delete(ctx(t), "d/one"))
	require.NoError(t, s.Delete(ctx(t), "never/was"))
}

func testReplace(t *testing.T, s blob.Store) {
	put(t, s, "r/key", "old content, longer than the new")
	info := put(t, s, "r/key", "new")
	assert.Equal(t, int64(3), info.Size)
	assert.Equal(t, hexSum([]byte("new")), info.SHA256)
	got, oi := read(t, s, "r/key")
	assert.Equal(t, "new", string(got))
	checkInfo(t, "open", oi, info)
	st, err := s.Stat(ctx(t), "r/key")
	require.NoError(t, err)
	checkInfo(t, "stat", st, info)
}

// failingReader yields n generated bytes, then err.
type failingReader struct {
	gen *genReader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.gen.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

var errBroken = errors.New("source broke")

// checkFailedPut runs a Put that must fail with body, for a new key and for
// an existing one, and checks that the first leaves nothing and the second
// leaves the old content.
func checkFailedPut(t *testing.T, s blob.Store, mk func() (context.Context, io.Reader), wantErr error) {
	t.Helper()
	c, r := mk()
	_, err := s.Put(c, "f/new.bin", r)
	require.Error(t, err, "put of a failing body")
	if wantErr != nil {
		assert.ErrorIs(t, err, wantErr)
	}
	assertNotFound(t, s, "f/new.bin")

	old := put(t, s, "f/old.bin", "the old content")
	c, r = mk()
	_, err = s.Put(c, "f/old.bin", r)
	require.Error(t, err, "put of a failing body over an existing key")
	got, oi := read(t, s, "f/old.bin")
	assert.Equal(t, "the old content", string(got), "old content intact")
	checkInfo(t, "open after failed replace", oi, old)
}

func testFailedPutReader(t *testing.T, s blob.Store) {
	checkFailedPut(t, s, func() (context.Context, io.Reader) {
		return ctx(t), &failingReader{gen: newGen(1000), err: errBroken}
	}, errBroken)
}

// testFailedPutReaderLate fails after most of a large body: a store that
// uploads in parts has sent some when the source breaks.
func testFailedPutReaderLate(t *testing.T, s blob.Store) {
	checkFailedPut(t, s, func() (context.Context, io.Reader) {
		return ctx(t), &failingReader{gen: newGen(LargeSize / 2), err: errBroken}
	}, errBroken)
}

func testFailedPutCancelled(t *testing.T, s blob.Store) {
	checkFailedPut(t, s, func() (context.Context, io.Reader) {
		c, cancel := context.WithCancel(ctx(t))
		cancel()
		return c, strings.NewReader("never stored")
	}, context.Canceled)
}

// cancelAfter yields generated bytes and cancels its context once n have
// been read; it keeps yielding after that, so only the store's own check of
// the context stops the Put.
type cancelAfter struct {
	gen    *genReader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.gen.Read(p)
	if c.gen.off >= c.n {
		c.cancel()
	}
	return n, err
}

func testFailedPutCancelledMidway(t *testing.T, s blob.Store) {
	checkFailedPut(t, s, func() (context.Context, io.Reader) {
		c, cancel := context.WithCancel(ctx(t))
		t.Cleanup(cancel)
		return c, &cancelAfter{gen: newGen(LargeSize / 2), n: LargeSize / 4, cancel: cancel}
	}, context.Canceled)
}

// genReader generates size pseudo-random bytes (incompressible, like image
// data) without holding them, and hashes what it has handed out.
type genReader struct {
	size, off int64
	state     uint64
	h         hashWriter
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newGen(size int64) *genReader {
	return &genReader{size: size, state: 0x9E3779B97F4A7C15 ^ uint64(size), h: sha256.New()}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.size-g.off)]
	for i := range p {
		// xorshift64
		g.state ^= g.state << 13
		g.state ^= g.state >> 7
		g.state ^= g.state << 17
		p[i] = byte(g.state >> 32)
	}
	g.off += int64(len(p))
	g.h.Write(p)
	return len(p), nil
}

func (g *genReader) sum() string { return hex.EncodeToString(g.h.Sum(nil)) }

// testLarge streams LargeSize bytes in and out. The body is generated as it
// is read, so the only copy a store could keep is its own: the Put must
// allocate less than the body's size.
func testLarge(t *testing.T, s blob.Store) {
	gen := newGen(LargeSize)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	info, err := s.Put(ctx(t), "big/body.bin", gen)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Equal(t, int64(LargeSize), gen.off, "the whole body was read")
	assert.Equal(t, int64(LargeSize), info.Size)
	assert.Equal(t, gen.sum(), info.SHA256)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("put of %d MiB allocated %.1f MiB", LargeSize>>20, float64(alloc)/(1<<20))
	assert.Less(t, alloc, uint64(LargeSize), "Put buffers the whole body (allocated %d bytes)", alloc)

	st, err := s.Stat(ctx(t), "big/body.bin")
	require.NoError(t, err)
	checkInfo(t, "stat", st, info)

	rc, oi, err := s.Open(ctx(t), "big/body.bin")
	require.NoError(t, err)
	defer rc.Close()
	checkInfo(t, "open", oi, info)
	h := sha256.New()
	n, err := io.Copy(h, rc)
	require.NoError(t, err)
	assert.Equal(t, int64(LargeSize), n)
	assert.Equal(t, info.SHA256, hex.EncodeToString(h.Sum(nil)), "read back the same bytes")
}

// Keys with spaces, unicode, URL-special characters and deep folders.
var oddKeys = []string{
	"with space/file name.jpg",
	"unicode/café/日本語 ファイル.tif",
	"deep/a/b/c/d/e/f/g/h.bin",
	"special/plus+sign & amp=eq;semi,comma@at.png",
	"special/100% done?#frag.jpg",
	"special/'quote\"double'.jpg",
	"dots/..hidden/file..name.",
	"dots/.dotfile",
	"tab\tand~tilde/x",
}

func testKeys(t *testing.T, s blob.Store) {
	infos := map[string]blob.Info{}
	for _, k := range oddKeys {
		infos[k] = put(t, s, k, "content of "+k)
	}
	for _, k := range oddKeys {
		got, oi := read(t, s, k)
		assert.Equal(t, "content of "+k, string(got), k)
		checkInfo(t, "open "+k, oi, infos[k])
		st, err := s.Stat(ctx(t), k)
		if assert.NoError(t, err, k) {
			checkInfo(t, "stat "+k, st, infos[k])
		}
	}
	require.NoError(t, s.DeletePrefix(ctx(t), "special/"))
	assertNotFound(t, s, "special/100% done?#frag.jpg")
	for _, k := range oddKeys {
		if !strings.HasPrefix(k, "special/") {
			require.NoError(t, s.Delete(ctx(t), k))
		}
		assertNotFound(t, s, k)
	}
}

// Keys that are not clean relative paths: a store refuses them all (see
// blob.CleanKey), whatever the method.
var badKeys = []string{
	"", ".", "..", "../x", "../../etc/passwd", "/abs", "/etc/passwd",
	"a/../../b", "a/../b", "./a", "a/./b", "a//b", "a/", `a\b`, `..\x`, "a\x00b",
}

func testEscapingKeys(t *testing.T, s blob.Store) {
	put(t, s, "b", "inside")
	put(t, s, "a/kept", "inside")
	for _, k := range badKeys {
		_, err := s.Put(ctx(t), k, strings.NewReader("escaped"))
		assert.Error(t, err, "put %q", k)
		_, err = s.Stat(ctx(t), k)
		assert.Error(t, err, "stat %q", k)
		rc, _, err := s.Open(ctx(t), k)
		if !assert.Error(t, err, "open %q", k) {
			rc.Close()
		}
		assert.Error(t, s.Delete(ctx(t), k), "delete %q", k)
	}
	for _, p := range []string{"", "/", "../", "..", "/abs/", "a/../../", "a//", `a\`} {
		assert.Error(t, s.DeletePrefix(ctx(t), p), "delete prefix %q", p)
	}
	// Nothing was replaced or removed through a refused key.
	for _, k := range []string{"b", "a/kept"} {
		got, _ := read(t, s, k)
		assert.Equal(t, "inside", string(got), k)
	}
	assertNotFound(t, s, "x")
	assertNotFound(t, s, "abs")
}

func testDeletePrefix(t *testing.T, s blob.Store) {
	gone := []string{"a/1", "a/sub/2", "a/sub/deeper/3"}
	kept := []string{"ab", "abc/4", "b/a/5", "x/a/6"}
	for _, k := range append(append([]string{}, gone...), kept...) {
		put(t, s, k, k)
	}
	require.NoError(t, s.DeletePrefix(ctx(t), "a/"))
	for _, k := range gone {
		assertNotFound(t, s, k)
	}
	for _, k := range kept {
		got, _ := read(t, s, k)
		assert.Equal(t, k, string(got), "%s survives DeletePrefix(a/)", k)
	}
	// The directory can be filled again.
	put(t, s, "a/again", "again")
	got, _ := read(t, s, "a/again")
	assert.Equal(t, "again", string(got))
}

// testDeletePrefixNoSlash: a prefix names a directory with or without the
// trailing slash; never a partial name.
func testDeletePrefixNoSlash(t *testing.T, s blob.Store) {
	for _, k := range []string{"exports/j1/a.jpg", "exports/j1/sub/b.jpg", "exports/j10/c.jpg", "exports/j1x"} {
		put(t, s, k, k)
	}
	require.NoError(t, s.DeletePrefix(ctx(t), "exports/j1"))
	assertNotFound(t, s, "exports/j1/a.jpg")
	assertNotFound(t, s, "exports/j1/sub/b.jpg")
	for _, k := range []string{"exports/j10/c.jpg", "exports/j1x"} {
		_, err := s.Stat(ctx(t), k)
		assert.NoError(t, err, "%s survives DeletePrefix(exports/j1)", k)
	}
}

func testDeletePrefixMissing(t *testing.T, s blob.Store) {
	require.NoError(t, s.DeletePrefix(ctx(t), "never/"))
	require.NoError(t, s.DeletePrefix(ctx(t), "never/deeper"))
	put(t, s, "k/v", "v")
	require.NoError(t, s.DeletePrefix(ctx(t), "k/v/"))
	got, _ := read(t, s, "k/v")
	assert.Equal(t, "v", string(got), "a file is not a directory")
}

// testList: a Lister lists the keys under a directory, deep ones too, in
// key order, with their sizes; never a sibling whose name only starts
// with the prefix.
func testList(t *testing.T, s blob.Store) {
	l, ok := s.(blob.Lister)
	if !ok {
		t.Skipf("%T does not list", s)
	}
	for _, k := range []string{"icc/b.icc", "icc/a.icc", "icc/sub/c.icc", "icc/b.icc.x", "iccx", "iccy/d", "other/e"} {
		put(t, s, k, "data of "+k)
	}
	got, err := l.List(ctx(t), "icc")
	require.NoError(t, err)
	var keys []string
	for _, in := range got {
		keys = append(keys, in.Key)
		assert.Equal(t, int64(len("data of "+in.Key)), in.Size, in.Key)
		checkModified(t, in.Key, in.Modified)
	}
	assert.Equal(t, []string{"icc/a.icc", "icc/b.icc", "icc/b.icc.x", "icc/sub/c.icc"}, keys)
	again, err := l.List(ctx(t), "icc/")
	require.NoError(t, err)
	assert.Equal(t, got, again, "with or without the trailing slash")
	none, err := l.List(ctx(t), "never")
	require.NoError(t, err)
	assert.Empty(t, none)
	file, err := l.List(ctx(t), "other/e")
	require.NoError(t, err)
	assert.Empty(t, file, "a file is not a directory")
	_, err = l.List(ctx(t), "../up")
	assert.Error(t, err)
}

// testConcurrentReplace replaces a key over and over while readers read it:
// every read sees one whole version, never a mix or a truncation.
func testConcurrentReplace(t *testing.T, s blob.Store) {
	versions := make([]string, 4)
	for i := range versions {
		versions[i] = strings.Repeat(fmt.Sprintf("v%d", i), 2000*(i+1))
	}
	put(t, s, "hot/key", versions[0])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rc, info, err := s.Open(ctx(t), "hot/key")
				if !assert.NoError(t, err) {
					return
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if !assert.NoError(t, err) {
					return
				}
				ok := false
				for _, v := range versions {
					ok = ok || bytes.Equal(b, []byte(v))
				}
				if !assert.True(t, ok, "read %d bytes that are no whole version", len(b)) {
					return
				}
				assert.Equal(t, int64(len(b)), info.Size, "Open's Info describes what was read")
			}
		})
	}
	for i := range 40 {
		v := versions[(i+1)%len(versions)]
		info, err := s.Put(ctx(t), "hot/key", strings.NewReader(v))
		if !assert.NoError(t, err) {
			break
		}
		assert.Equal(t, hexSum([]byte(v)), info.SHA256)
	}
	close(stop)
	wg.Wait()
}
