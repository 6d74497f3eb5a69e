package rendition_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/render"
	"github.com/ipsexport/ipsd/internal/rendition"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

// s3 is started by the first test that needs it.
var s3 struct {
	once sync.Once
	srv  *s3test.Server
	err  error
}

// counting is the real libvips renderer, counting its renders.
type counting struct {
	r *render.Renderer
	n atomic.Int64
}

func (c *counting) Render(ctx context.Context, src []byte, req *modifier.Request) (export.Rendered, error) {
	c.n.Add(1)
	out, err := c.r.Render(ctx, src, req)
	if err != nil {
		return export.Rendered{}, err
	}
	return export.Rendered{Data: out.Data, Warnings: out.Warnings}, nil
}

var (
	rendererOnce sync.Once
	theRenderer  *render.Renderer
)

func newRenderer(t *testing.T) *counting {
	t.Helper()
	rendererOnce.Do(func() {
		r, err := render.New(render.Config{})
		require.NoError(t, err)
		theRenderer = r
	})
	return &counting{r: theRenderer}
}

// rig is what one worker process has: a store, the shared blob store, a
// renderer, a cache and an exporter.
type rig struct {
	st    store.Store
	blob  blob.Store
	rend  *counting
	cache *rendition.Cache
	x     *export.Exporter
}

// clock hands out times one second apart, so that last uses never tie.
type clock struct{ n atomic.Int64 }

func (c *clock) now() time.Time {
	return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(c.n.Add(1)) * time.Second)
}

func newRig(t *testing.T, st store.Store, b blob.Store, maxBytes int64, now func() time.Time) *rig {
	t.Helper()
	rend := newRenderer(t)
	c := rendition.New(rendition.Config{Blob: b, Index: st, MaxBytes: maxBytes, RendererVersion: theRenderer.Version(), Now: now})
	require.NotNil(t, c)
	return &rig{st: st, blob: b, rend: rend, cache: c, x: &export.Exporter{Blob: b, Renderer: rend, Cache: c}}
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ipsd.db"))
	require.NoError(t, err)
	require.NoError(t, s.Migrate(t.Context()))
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t *testing.T, dsn string) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(context.Background()))
	t.Cleanup(func() { s.Close() })
	return s
}

func localBlob(t *testing.T) blob.Store {
	t.Helper()
	b, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	return b
}

func s3Blob(t *testing.T) blob.Store {
	t.Helper()
	s3.once.Do(func() { s3.srv, s3.err = s3test.Start(context.Background()) })
	require.NoError(t, s3.err)
	b, err := s3blob.New(t.Context(), s3.srv.Config(s3.srv.NewBucket(t)))
	require.NoError(t, err)
	return b
}

// backends are the databases and blob stores the cache is tested on.
var backends = []struct {
	name string
	open func(t *testing.T) (store.Store, blob.Store)
}{
	{"sqlite+local", func(t *testing.T) (store.Store, blob.Store) { return openSQLite(t), localBlob(t) }},
	{"postgres+local", func(t *testing.T) (store.Store, blob.Store) { return openPostgres(t, pg.NewDatabase(t)), localBlob(t) }},
	{"postgres+s3", func(t *testing.T) (store.Store, blob.Store) { return openPostgres(t, pg.NewDatabase(t)), s3Blob(t) }},
}

// photo is a w×h PNG whose colours depend on seed.
func photo(t *testing.T, w, h, seed int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*255/w + seed*37), uint8(y*255/h + seed*11), uint8(seed * 53), 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// original stores data as an asset's original and returns the asset.
func original(t *testing.T, b blob.Store, handle string, data []byte) store.Asset {
	t.Helper()
	info, err := b.Put(t.Context(), "originals/"+handle+fmt.Sprint(time.Now().UnixNano()), bytes.NewReader(data))
	require.NoError(t, err)
	return store.Asset{Handle: handle, Name: handle, Type: "Image", FileName: handle + ".png", StorageKey: info.Key, SHA256: info.SHA256}
}

func request(t *testing.T, mod string) *modifier.Request {
	t.Helper()
	req, err := modifier.Parse(mod, nil)
	require.NoError(t, err)
	return req
}

var outputs atomic.Int64

// exportOne exports a as req asks and returns the result and the file.
func (r *rig) exportOne(t *testing.T, a store.Asset, req *modifier.Request, budget export.Budget) (export.Result, []byte) {
	t.Helper()
	key := fmt.Sprintf("exports/j/%d.jpg", outputs.Add(1))
	res := r.x.Export(t.Context(), export.Task{Asset: a, Key: key, Request: req, Budget: budget})
	r.cache.Wait() // as a chunk does before its last asset is recorded
	if res.Err != nil {
		return res, nil
	}
	rc, _, err := r.blob.Open(t.Context(), res.Key)
	require.NoError(t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(t, err)
	return res, data
}

func decodeJPEG(t *testing.T, b []byte) image.Rectangle {
	t.Helper()
	img, err := jpeg.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	return img.Bounds()
}

// The second export of the same original and conversion reuses the
// first's rendition: no render, the same bytes, the same warnings.
func TestHitMiss(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			st, b := be.open(t)
			r := newRig(t, st, b, 1<<30, nil)
			a := original(t, b, "hero", photo(t, 320, 200, 1))
			req := request(t, "fmt=jpeg&wid=160&blendMode=multiply")

			first, f1 := r.exportOne(t, a, req, nil)
			require.NoError(t, first.Err)
			assert.Equal(t, export.CacheMiss, first.Cache)
			assert.NotEmpty(t, first.Warnings, "blendMode= is warned")
			assert.Equal(t, int64(1), r.rend.n.Load())

			second, f2 := r.exportOne(t, a, req, nil)
			require.NoError(t, second.Err)
			assert.Equal(t, export.CacheHit, second.Cache)
			assert.Equal(t, int64(1), r.rend.n.Load(), "no second render")
			assert.Equal(t, f1, f2, "byte-identical")
			assert.Equal(t, first.SHA256, second.SHA256)
			assert.Equal(t, first.Warnings, second.Warnings)
			assert.Equal(t, image.Rect(0, 0, 160, 100), decodeJPEG(t, f2))

			// The same conversion spelled otherwise is the same rendition;
			// its request's warnings are its own (their positions).
			respelled := request(t, "blendMode=multiply&wid=160&fmt=jpeg")
			third, f4 := r.exportOne(t, a, respelled, nil)
			require.NoError(t, third.Err)
			assert.Equal(t, export.CacheHit, third.Cache)
			assert.Equal(t, f1, f4)
			require.NotEmpty(t, respelled.Warnings)
			assert.Equal(t, respelled.Warnings[0].String(), third.Warnings[0])
			assert.NotEqual(t, first.Warnings[0], third.Warnings[0], "another position")
			assert.Len(t, third.Warnings, len(first.Warnings))

			// Another conversion of the same original is another rendition.
			other, f3 := r.exportOne(t, a, request(t, "fmt=jpeg&wid=80"), nil)
			require.NoError(t, other.Err)
			assert.Equal(t, export.CacheMiss, other.Cache)
			assert.Equal(t, image.Rect(0, 0, 80, 50), decodeJPEG(t, f3))

			// The file is in the blob store under renditions/.
			key := r.cache.Key(a.SHA256, req)
			info, err := b.Stat(t.Context(), rendition.Prefix+key)
			require.NoError(t, err)
			assert.Equal(t, int64(len(f1)), info.Size)
		})
	}
}

// A key depends on the source's bytes, the conversion and the renderer's
// version; an unknown source hash is not cached.
func TestKey(t *testing.T) {
	st, b := openSQLite(t), localBlob(t)
	sha := "ab" + string(bytes.Repeat([]byte("0"), 62))
	req := request(t, "fmt=jpeg&wid=100")
	c1 := rendition.New(rendition.Config{Blob: b, Index: st, MaxBytes: 1, RendererVersion: "v1"})
	c2 := rendition.New(rendition.Config{Blob: b, Index: st, MaxBytes: 1, RendererVersion: "v2"})
	k := c1.Key(sha, req)
	assert.Len(t, k, 64)
	assert.Equal(t, k, c1.Key(sha, request(t, "wid=100&fmt=jpeg")), "the canonical form is keyed")
	assert.NotEqual(t, k, c2.Key(sha, req), "another renderer version")
	withDefault := request(t, "wid=100&fmt=jpeg")
	require.NoError(t, withDefault.ApplyDefaults(modifier.Defaults{JpegQuality: "55"}))
	assert.NotEqual(t, k, c1.Key(sha, withDefault), "a company default applied")
	assert.NotEqual(t, k, c1.Key("cd"+sha[2:], req), "another source")
	assert.NotEqual(t, k, c1.Key(sha, request(t, "fmt=png&wid=100")), "another conversion")
	assert.Empty(t, c1.Key("", req))
	assert.Nil(t, rendition.New(rendition.Config{Blob: b, Index: st, MaxBytes: 0}), "0 disables")
	var none *rendition.Cache
	assert.Empty(t, none.Key(sha, req))
}

// The bound holds: past it the least recently used renditions go, index
// row and file; the one used since stays.
func TestEvictLRU(t *testing.T) {
	for _, be := range backends[:2] {
		t.Run(be.name, func(t *testing.T) {
			st, b := be.open(t)
			var clk clock
			// Uncompressed TIFFs of one size: every rendition is as large.
			req := request(t, "fmt=tif&wid=64&hei=64&fit=stretch")
			probe := newRig(t, st, b, 1<<30, clk.now)
			assets := map[string]store.Asset{}
			for i, h := range []string{"a", "b", "c", "d"} {
				assets[h] = original(t, b, h, photo(t, 128, 128, i+1))
			}
			res, _ := probe.exportOne(t, assets["a"], req, nil)
			require.NoError(t, res.Err)
			size := res.Size
			require.NoError(t, st.RemoveRendition(t.Context(), probe.cache.Key(assets["a"].SHA256, req)))

			r := newRig(t, st, b, 3*size+size/2, clk.now)
			for _, h := range []string{"a", "b", "c"} {
				res, _ := r.exportOne(t, assets[h], req, nil)
				require.NoError(t, res.Err)
				require.Equal(t, size, res.Size, "renditions of one size")
				assert.Equal(t, export.CacheMiss, res.Cache, h)
			}
			res, _ = r.exportOne(t, assets["a"], req, nil)
			assert.Equal(t, export.CacheHit, res.Cache, "a is used again: now the most recent")
			res, _ = r.exportOne(t, assets["d"], req, nil)
			assert.Equal(t, export.CacheMiss, res.Cache)

			cached := func(h string) bool {
				key := r.cache.Key(assets[h].SHA256, req)
				_, statErr := b.Stat(t.Context(), rendition.Prefix+key)
				n, err := st.RenditionBytes(t.Context())
				require.NoError(t, err)
				assert.LessOrEqual(t, n, 3*size+size/2, "within the bound")
				return statErr == nil
			}
			assert.False(t, cached("b"), "b, the least recently used, is evicted")
			for _, h := range []string{"a", "c", "d"} {
				assert.True(t, cached(h), h)
			}
			renders := r.rend.n.Load()
			res, _ = r.exportOne(t, assets["b"], req, nil)
			assert.Equal(t, export.CacheMiss, res.Cache, "an evicted rendition is rendered again")
			assert.Equal(t, renders+1, r.rend.n.Load())
			assert.False(t, cached("c"), "then c is the least recently used")
			for _, h := range []string{"a", "b", "d"} {
				assert.True(t, cached(h), h)
			}
		})
	}
}

// Overwriting an original gives it other bytes, so another key: the next
// export renders the new bytes; the old rendition is not reused for it.
func TestOverwriteInvalidates(t *testing.T) {
	for _, be := range backends[:2] {
		t.Run(be.name, func(t *testing.T) {
			st, b := be.open(t)
			r := newRig(t, st, b, 1<<30, nil)
			req := request(t, "fmt=jpeg&wid=100")
			v1 := original(t, b, "boot", photo(t, 200, 100, 1))
			res1, f1 := r.exportOne(t, v1, req, nil)
			require.NoError(t, res1.Err)
			res, _ := r.exportOne(t, v1, req, nil)
			require.Equal(t, export.CacheHit, res.Cache)

			// An upload with overwrite: a new storage key and SHA-256, the
			// asset's handle unchanged.
			v2 := original(t, b, "boot", photo(t, 200, 100, 9))
			res2, f2 := r.exportOne(t, v2, req, nil)
			require.NoError(t, res2.Err)
			assert.Equal(t, export.CacheMiss, res2.Cache)
			assert.NotEqual(t, f1, f2)
			assert.Equal(t, image.Rect(0, 0, 100, 50), decodeJPEG(t, f2))
			res, f := r.exportOne(t, v2, req, nil)
			assert.Equal(t, export.CacheHit, res.Cache)
			assert.Equal(t, f2, f)
		})
	}
}

// A rendition whose file is not what its index row says (tampered with,
// truncated) is not used: the asset is rendered, the entry replaced.
func TestDamagedRendition(t *testing.T) {
	st, b := openSQLite(t), localBlob(t)
	r := newRig(t, st, b, 1<<30, nil)
	req := request(t, "fmt=jpeg&wid=100")
	a := original(t, b, "hero", photo(t, 200, 100, 3))
	_, f1 := r.exportOne(t, a, req, nil)
	key := rendition.Prefix + r.cache.Key(a.SHA256, req)
	for _, bad := range [][]byte{[]byte("not the rendition"), f1[:len(f1)/2], append(bytes.Clone(f1), 'x')} {
		_, err := b.Put(t.Context(), key, bytes.NewReader(bad))
		require.NoError(t, err)
		res, f := r.exportOne(t, a, req, nil)
		require.NoError(t, res.Err)
		assert.Equal(t, export.CacheMiss, res.Cache)
		assert.Equal(t, f1, f)
		res, f = r.exportOne(t, a, req, nil)
		assert.Equal(t, export.CacheHit, res.Cache, "the entry is whole again")
		assert.Equal(t, f1, f)
	}
	// A file gone from under its row: rendered, and put back.
	require.NoError(t, b.Delete(t.Context(), key))
	res, f := r.exportOne(t, a, req, nil)
	assert.Equal(t, export.CacheMiss, res.Cache)
	assert.Equal(t, f1, f)
	_, err := b.Stat(t.Context(), key)
	assert.NoError(t, err)
}

// budget is a job's output bound.
type budget struct {
	mu          sync.Mutex
	left, taken int64
}

func (b *budget) Admit(_ context.Context, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.left {
		return &export.LimitError{Limit: export.ErrJobFull, Msg: "job full"}
	}
	b.left -= n
	b.taken += n
	return nil
}

func (b *budget) Return(_ context.Context, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.left += n
	b.taken -= n
}

// A reused rendition counts against the export limits as a rendered one.
func TestLimits(t *testing.T) {
	st, b := openSQLite(t), localBlob(t)
	r := newRig(t, st, b, 1<<30, nil)
	req := request(t, "fmt=jpeg&wid=100")
	a := original(t, b, "hero", photo(t, 200, 100, 4))
	bud := &budget{left: 1 << 30}
	res, _ := r.exportOne(t, a, req, bud)
	require.NoError(t, res.Err)
	res, _ = r.exportOne(t, a, req, bud)
	require.Equal(t, export.CacheHit, res.Cache)
	assert.Equal(t, 2*res.Size, bud.taken, "the reused file is admitted too")

	small := &budget{left: res.Size - 1}
	res2, _ := r.exportOne(t, a, req, small)
	assert.ErrorIs(t, res2.Err, export.ErrJobFull)
	assert.Zero(t, small.taken)

	r.x.MaxFileBytes = res.Size - 1
	res3, _ := r.exportOne(t, a, req, nil)
	assert.ErrorIs(t, res3.Err, export.ErrFileTooLarge)
	assert.Equal(t, int64(1), r.rend.n.Load(), "refused without a render")
}

// Workers of two processes on one PostgreSQL database and one blob store
// export the same assets at once, with the bound small enough that they
// evict each other's renditions all along: every export succeeds and
// every file of one asset is byte-identical.
func TestConcurrentWorkers(t *testing.T) {
	for _, blobs := range []string{"local", "s3"} {
		t.Run(blobs, func(t *testing.T) {
			dsn := pg.NewDatabase(t)
			st1, st2 := openPostgres(t, dsn), openPostgres(t, dsn)
			var b blob.Store
			if blobs == "local" {
				b = localBlob(t)
			} else {
				b = s3Blob(t)
			}
			req := request(t, "fmt=jpeg&wid=120")
			assets := []store.Asset{original(t, b, "a", photo(t, 240, 160, 1)), original(t, b, "b", photo(t, 240, 160, 2)),
				original(t, b, "c", photo(t, 240, 160, 3))}
			probe := newRig(t, st1, b, 1<<30, nil)
			p, _ := probe.exportOne(t, assets[0], req, nil)
			require.NoError(t, p.Err)
			require.NoError(t, st1.RemoveRendition(t.Context(), probe.cache.Key(assets[0].SHA256, req)))
			// Room for about one and a half renditions.
			bound := p.Size * 3 / 2
			rigs := []*rig{newRig(t, st1, b, bound, nil), newRig(t, st2, b, bound, nil)}

			const workers, rounds = 4, 6
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				files = map[string][][]byte{}
				hits  atomic.Int64
			)
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rigs[w%2]
					for i := range rounds {
						a := assets[(w+i)%len(assets)]
						res, f := r.exportOne(t, a, req, nil)
						if !assert.NoError(t, res.Err) {
							return
						}
						if res.Cache == export.CacheHit {
							hits.Add(1)
						}
						mu.Lock()
						files[a.Handle] = append(files[a.Handle], f)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			for h, fs := range files {
				for _, f := range fs[1:] {
					assert.Equal(t, fs[0], f, "asset %s: every file byte-identical", h)
				}
				decodeJPEG(t, fs[0])
			}
			n, err := st1.RenditionBytes(t.Context())
			require.NoError(t, err)
			assert.LessOrEqual(t, n, 2*p.Size, "about the bound (a row added while another evicts may stay over it until the next put)")
			t.Logf("%d hits of %d exports", hits.Load(), workers*rounds)

			// Both processes share one cache: what one rendered the other reuses.
			a := original(t, b, "shared", photo(t, 100, 100, 7))
			big := []*rig{newRig(t, st1, b, 1<<30, nil), newRig(t, st2, b, 1<<30, nil)}
			res1, f1 := big[0].exportOne(t, a, req, nil)
			res2, f2 := big[1].exportOne(t, a, req, nil)
			assert.Equal(t, export.CacheMiss, res1.Cache)
			assert.Equal(t, export.CacheHit, res2.Cache)
			assert.Equal(t, f1, f2)
		})
	}
}

// evictingBlob is a blob store in which another process evicts a rendition
// (its index row, then its file, which is not there yet) just before this
// one writes the file.
type evictingBlob struct {
	blob.Store
	st store.Store
}

func (e evictingBlob) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if k, ok := strings.CutPrefix(key, rendition.Prefix); ok {
		if err := e.st.RemoveRendition(ctx, k); err != nil {
			return blob.Info{}, err
		}
		if err := e.Store.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return blob.Info{}, err
		}
	}
	return e.Store.Put(ctx, key, r)
}

// A rendition evicted while its file was being written leaves no file that
// no index row accounts for (nothing would ever evict it); one kept after
// that is kept whole.
func TestEvictedWhileWritten(t *testing.T) {
	for _, be := range backends[:2] {
		t.Run(be.name, func(t *testing.T) {
			st, b := be.open(t)
			var clk clock
			data := photo(t, 64, 48, 1)
			key := strings.Repeat("ab", 32)

			racing := rendition.New(rendition.Config{Blob: evictingBlob{Store: b, st: st}, Index: st, MaxBytes: 1 << 30, Now: clk.now})
			racing.Put(t.Context(), key, data, nil)
			racing.Wait()
			_, err := b.Stat(t.Context(), rendition.Prefix+key)
			assert.ErrorIs(t, err, blob.ErrNotFound, "the file whose row was evicted is taken back out")
			n, err := st.RenditionBytes(t.Context())
			require.NoError(t, err)
			assert.Zero(t, n)

			quiet := rendition.New(rendition.Config{Blob: b, Index: st, MaxBytes: 1 << 30, Now: clk.now})
			quiet.Put(t.Context(), key, data, nil)
			quiet.Wait()
			rc, r, ok := quiet.Get(t.Context(), key)
			require.True(t, ok, "kept whole")
			got, err := io.ReadAll(rc)
			require.NoError(t, rc.Close())
			require.NoError(t, err)
			assert.Equal(t, data, got)
			assert.Equal(t, int64(len(data)), r.Size)
		})
	}
}
