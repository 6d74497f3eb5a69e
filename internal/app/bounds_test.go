package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

// Issue 12, points 6 and 7: what an export may write, and originals that
// stay whole while exports read them (docs/security.md, "Export output"
// and "Originals").

// noisePNG is a w×h PNG of random pixels: it hardly compresses.
func noisePNG(t *testing.T, w, h int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// importAs stores body as an asset of Acme (the setup, not what is tested).
func (e *env) importAs(folder, name string, body []byte) store.Asset {
	e.t.Helper()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	a, err := im.Import(context.Background(), catalog.File{CompanyHandle: e.acme.Handle, FolderPath: folder, FileName: name, Body: bytes.NewReader(body)})
	require.NoError(e.t, err)
	return a
}

// jobRows is a job's finished assets, by Seq.
func (e *env) jobRows(job string) []store.JobAsset {
	e.t.Helper()
	rows, _, err := e.app.Store.JobAssets(context.Background(), store.JobAssetQuery{JobHandle: job})
	require.NoError(e.t, err)
	return rows
}

// readBlob reads key from the file storage.
func (e *env) readBlob(key string) ([]byte, error) {
	rc, _, err := e.app.Blob.Open(context.Background(), key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// exported reads every file a job wrote, by output path, from storage.
func (e *env) exported(job string) map[string][]byte {
	e.t.Helper()
	files, err := e.app.Store.JobFiles(context.Background(), job, "")
	require.NoError(e.t, err)
	out := map[string][]byte{}
	for _, f := range files {
		b, err := e.readBlob(f.BlobKey)
		require.NoError(e.t, err, f.BlobKey)
		out[f.Path] = b
	}
	return out
}

// exportedBytes sums what storage holds under a job's exports: what the
// job really wrote, whatever its log says.
func (e *env) exportedBytes(job string) int64 {
	e.t.Helper()
	infos, err := e.app.Blob.(blob.Lister).List(context.Background(), "exports/"+job)
	require.NoError(e.t, err)
	var n int64
	for _, i := range infos {
		n += i.Size
	}
	return n
}

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Point 6: wid=8192&hei=8192&fit=stretch,1&fmt=tif from a small JPEG
// (192 MiB of TIFF) fails its asset, before a byte is written, with a log
// detail that names the limit and the setting; a converted file or an
// original over the limit fails too, and the job goes on with the next
// asset.
func TestExportFileLimit(t *testing.T) {
	const limit = 1 << 20
	e := newEnv(t, "", func(c *Config) { c.MaxExportFileBytes = limit })
	jpg := gradientJPEG(t, 1600, 1200)
	t.Logf("source JPEG: %d bytes", len(jpg))
	photo := e.importAs("", "photo.jpg", jpg)
	noise := noisePNG(t, 700, 700, 1)
	require.Greater(t, len(noise), limit)
	big := e.importAs("", "noise.png", noise)
	hero := e.assets["/hero.png"]

	job := e.submit("huge-tif", []string{photo.Handle, hero.Handle},
		`<fmt>convert</fmt><is_modifier>wid=8192&amp;hei=8192&amp;fit=stretch,1&amp;fmt=tif</is_modifier>`)
	j := e.awaitEnd(job)
	assert.Equal(t, store.JobCompleted, j.State)
	assert.Equal(t, 2, j.Errors, "both 8192×8192 TIFFs are refused")
	assert.Zero(t, j.BytesWritten)
	assert.Zero(t, e.exportedBytes(job), "nothing reached storage")
	for _, r := range e.jobRows(job) {
		assert.Equal(t, store.OutcomeError, r.Outcome)
		assert.Contains(t, r.Message, "8192×8192 pixels × 3 bands × 1-byte samples is 201326592 bytes (192.0 MiB)")
		assert.Contains(t, r.Message, "above the limit of 1048576 bytes (1.0 MiB) per exported file")
		assert.Contains(t, r.Message, "--max-export-file-bytes, IPSD_MAX_EXPORT_FILE_BYTES")
	}
	// As a client reads the log.
	_, root, resp := e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><jobHandle>`+job+`</jobHandle></getJobLogDetailsParam>`)
	var errs []node
	for _, d := range root.at("jobLogArray", "items", "detailArray", "items") {
		if d.text("logType") == "ExportError" {
			errs = append(errs, d)
		}
	}
	require.Len(t, errs, 2, resp)
	assert.Contains(t, errs[0].text("logMessage"), "IPSD_MAX_EXPORT_FILE_BYTES")

	// A compressed file, whose size is known once encoded, and an original.
	for _, c := range []struct{ name, fields, want, heroName string }{
		{"png", `<fmt>convert</fmt><is_modifier>fmt=png</is_modifier>`, "the converted file is", "hero.png"},
		{"orig", `<fmt>orig</fmt>`, "the original is", "hero.png"},
	} {
		job := e.submit("big-"+c.name, []string{big.Handle, hero.Handle, photo.Handle}, c.fields)
		j := e.awaitEnd(job)
		assert.Equal(t, 1, j.Errors, c.name)
		assert.Equal(t, 2, j.Succeeded, c.name+": the job goes on with the next assets")
		rows := e.jobRows(job)
		require.Len(t, rows, 3)
		assert.Equal(t, store.OutcomeError, rows[0].Outcome)
		assert.Contains(t, rows[0].Message, c.want)
		assert.Contains(t, rows[0].Message, "above the limit of 1048576 bytes (1.0 MiB) per exported file; setting --max-export-file-bytes")
		files := e.exported(job)
		assert.Len(t, files, 2, c.name)
		assert.NotContains(t, files, "noise.png")
		assert.Equal(t, e.exportedBytes(job), j.BytesWritten, c.name+": nothing of the refused file is stored")
		if c.name == "orig" {
			assert.Equal(t, tinyPNG(t), files["hero.png"])
			assert.Equal(t, jpg, files["photo.jpg"])
		}
	}
}

// Point 6: a job's files together stay within --max-export-job-bytes,
// though its chunks run at once: the asset that would pass the total
// fails, and so does every asset after it, naming the limit and setting.
func TestExportJobLimit(t *testing.T) {
	const size, assets = 100_000, 10
	const limit = 3*size + size/2
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t), func(c *Config) { c.MaxExportJobBytes = limit; c.ChunkSize = 1; c.Workers = 2 })
			var hs []string
			for i := range assets {
				hs = append(hs, e.importAs("bulk", fmt.Sprintf("f%d.bin", i), randomBytes(size, uint64(i))).Handle)
			}
			job := e.submit("bulk", hs, `<fmt>orig</fmt>`)
			j := e.awaitEnd(job)
			assert.Equal(t, store.JobCompleted, j.State)
			assert.Equal(t, 3, j.Succeeded, "three files fit")
			assert.Equal(t, assets-3, j.Errors)
			assert.Equal(t, int64(3*size), j.BytesWritten)
			assert.Equal(t, int64(3*size), e.exportedBytes(job), "storage holds what the log says, within the limit")
			assert.True(t, j.BytesLimitReached)
			crossed, after := 0, 0
			for _, r := range e.jobRows(job) {
				if r.Outcome != store.OutcomeError {
					continue
				}
				assert.Contains(t, r.Message, "total limit of 350000 bytes (341.8 KiB); setting --max-export-job-bytes, IPSD_MAX_EXPORT_JOB_BYTES")
				switch {
				case strings.Contains(r.Message, "would take the job's files past"):
					crossed++
				case strings.HasPrefix(r.Message, "not exported: the job's files reached"):
					after++
				default:
					t.Errorf("unexpected message %q", r.Message)
				}
			}
			assert.GreaterOrEqual(t, crossed, 1, "the asset that did not fit")
			assert.Equal(t, assets-3, crossed+after)
			files := e.exported(job)
			assert.Len(t, files, 3)
			for name, b := range files {
				assert.Len(t, b, size, name)
			}
		})
	}
}

// overwriter replaces the files of assets through UploadFile (with
// overwrite, as a client re-uploading a folder does) until stopped,
// recording every version before it is sent.
type overwriter struct {
	e        *env
	names    []string // "race/r0.png" …
	mu       sync.Mutex
	versions map[string]map[string]bool // name → SHA-256 of each version
	posts    int
	err      error
}

func (o *overwriter) add(name string, b []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.versions[name] == nil {
		o.versions[name] = map[string]bool{}
	}
	o.versions[name][shaOf(b)] = true
}

func (o *overwriter) known(name string, b []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.versions[name][shaOf(b)]
}

// post sends one UploadFile POST with a new version of every file.
func (o *overwriter) post(seed uint64) error {
	var files [][2]string
	for i, name := range o.names {
		b := randomBytes(40_000+int(seed%7)*1000+i, seed*1000+uint64(i))
		o.add(name, b)
		files = append(files, [2]string{name, string(b)})
	}
	req := o.e.uploadRequest("alice@acme.test", password, o.e.uploadParams("overwrite"), files)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "jobHandle") {
		return fmt.Errorf("upload: %d %s", resp.StatusCode, body)
	}
	return nil
}

// Point 7: UploadFile with overwrite during a running export never costs
// the export an asset: each file it writes is one whole version of its
// asset's original, byte for byte, while released originals are being
// collected as fast as the maintenance tick can.
func TestOverwriteDuringExport(t *testing.T) {
	const assets = 12
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			iterations := 12
			if db.name == "postgres" {
				iterations = 8
			}
			e := newEnv(t, db.url(t), func(c *Config) {
				c.ChunkSize, c.Workers, c.OriginalGrace = 4, 2, 100*time.Millisecond
			})
			o := &overwriter{e: e, versions: map[string]map[string]bool{}}
			var hs []string
			for i := range assets {
				name := fmt.Sprintf("r%d.bin", i)
				b := randomBytes(40_000+i, uint64(i))
				o.names = append(o.names, "race/"+name)
				o.add("race/"+name, b)
				hs = append(hs, e.importAs("race", name, b).Handle)
			}
			ctx := context.Background()
			for it := range iterations {
				job := e.submit(fmt.Sprintf("race-%d", it), hs, `<fmt>orig</fmt>`)
				stop := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() { // overwrite every asset, again and again
					for seed := uint64(it*1000 + 1); ; seed++ {
						select {
						case <-stop:
							return
						default:
						}
						if err := o.post(seed); err != nil {
							o.mu.Lock()
							o.err = err
							o.mu.Unlock()
							return
						}
						o.mu.Lock()
						o.posts++
						o.mu.Unlock()
					}
				})
				wg.Go(func() { // collect released originals as soon as allowed
					for {
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
							_ = e.app.Jobs.Tick(ctx)
						}
					}
				})
				j := e.awaitEnd(job)
				close(stop)
				wg.Wait()
				require.NoError(t, o.err)
				for _, r := range e.jobRows(job) {
					assert.Equal(t, store.OutcomeSuccess, r.Outcome, "iteration %d, %s: %s", it, r.AssetName, r.Message)
				}
				require.Equal(t, assets, j.Succeeded, "iteration %d", it)
				files := e.exported(job)
				require.Len(t, files, assets)
				for name, b := range files {
					assert.True(t, o.known(name, b), "iteration %d: %s (%d bytes) is no version of its asset", it, name, len(b))
				}
			}
			t.Logf("%d exports of %d assets, %d UploadFile overwrites of all of them meanwhile", iterations, assets, o.posts)
			// Once no export needs them, only the current versions remain.
			require.NoError(t, e.app.Jobs.Tick(ctx))
			time.Sleep(150 * time.Millisecond)
			require.NoError(t, e.app.Jobs.Tick(ctx))
			current, err := e.app.Store.AssetsByHandles(ctx, e.acme.Handle, hs)
			require.NoError(t, err)
			infos, err := e.app.Blob.(blob.Lister).List(ctx, "originals")
			require.NoError(t, err)
			assert.Len(t, infos, len(e.assets)+1+assets, "the originals of the seeded assets (Globex's too) and the current versions")
			for _, a := range current {
				_, err := e.app.Blob.Stat(ctx, a.StorageKey)
				assert.NoError(t, err, a.Handle)
			}
		})
	}
}

// Point 7: deleteAsset and deleteAssets remove the original's bytes once
// the grace has passed, and not while a job that captured them still has
// to export them; that job exports them whole. The same holds with files
// in an S3 bucket, the job run by a worker process of its own.
func TestDeletedOriginalsRemoved(t *testing.T) {
	const grace = 200 * time.Millisecond
	gone := func(t *testing.T, e *env, key string) bool {
		_, err := e.app.Blob.Stat(context.Background(), key)
		if err != nil && !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("stat %s: %v", key, err)
		}
		return err != nil
	}
	tickAfterGrace := func(t *testing.T, e *env) {
		time.Sleep(grace + 50*time.Millisecond)
		require.NoError(t, e.app.Jobs.Tick(context.Background()))
	}
	deleteAsset := func(t *testing.T, e *env, h string) {
		status, _, resp := e.call("alice@acme.test", `<deleteAssetParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
			`</companyHandle><assetHandle>`+h+`</assetHandle></deleteAssetParam>`)
		require.Equal(t, 200, status, resp)
	}

	t.Run("sqlite", func(t *testing.T) {
		e := newEnv(t, "", func(c *Config) { c.OriginalGrace = grace })
		hero, boot, red := e.assets["/hero.png"], e.assets["shoes/boot.png"], e.assets["shoes/red/boot.png"]
		deleteAsset(t, e, hero.Handle)
		status, _, resp := e.call("alice@acme.test", `<deleteAssetsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
			`</companyHandle><assetHandleArray><items>`+boot.Handle+`</items><items>`+red.Handle+`</items></assetHandleArray></deleteAssetsParam>`)
		require.Equal(t, 200, status, resp)
		for _, a := range []store.Asset{hero, boot, red} {
			assert.False(t, gone(t, e, a.StorageKey), "%s: kept for the grace", a.FileName)
		}
		tickAfterGrace(t, e)
		for _, a := range []store.Asset{hero, boot, red} {
			assert.True(t, gone(t, e, a.StorageKey), "%s: removed after the grace", a.FileName)
		}
		_, err := e.app.Blob.Stat(context.Background(), e.globexAsset.StorageKey)
		assert.NoError(t, err, "another company's asset is untouched")

		// An asset UploadFile replaced loses its old file the same way.
		a := e.importAs("up", "x.bin", randomBytes(1000, 1))
		status, _, resp = e.do("127.0.0.1", e.uploadRequest("alice@acme.test", password, e.uploadParams("replace"),
			[][2]string{{"up/x.bin", string(randomBytes(1000, 2))}}))
		require.Equal(t, 200, status, resp)
		assert.False(t, gone(t, e, a.StorageKey))
		tickAfterGrace(t, e)
		assert.True(t, gone(t, e, a.StorageKey), "the replaced file")
	})

	t.Run("postgres+s3", func(t *testing.T) {
		srv := s3Server(t)
		s3cfg := srv.Config(srv.NewBucket(t))
		dbURL := pg.NewDatabase(t)
		// A front end that works no exports: the job waits for the worker.
		e := newEnv(t, dbURL, func(c *Config) { c.S3, c.Workers, c.OriginalGrace = &s3cfg, 0, grace })
		hero, boot := e.assets["/hero.png"], e.assets["shoes/boot.png"]
		job := e.submit("captured", []string{hero.Handle, boot.Handle}, `<fmt>orig</fmt>`)
		deleteAsset(t, e, hero.Handle)
		deleteAsset(t, e, boot.Handle)
		tickAfterGrace(t, e)
		assert.False(t, gone(t, e, hero.StorageKey), "the pending job still needs it")
		assert.False(t, gone(t, e, boot.StorageKey))

		w, err := Open(context.Background(), Config{DataDir: t.TempDir(), DatabaseURL: dbURL, S3: &s3cfg,
			Logger: slog.New(slog.DiscardHandler), Workers: 1, OriginalGrace: grace})
		require.NoError(t, err)
		require.NoError(t, w.Start(context.Background()))
		t.Cleanup(func() { w.Close() })
		j := e.awaitEnd(job)
		assert.Equal(t, 2, j.Succeeded, "the job exports the versions it captured")
		files := e.exported(job)
		assert.Equal(t, tinyPNG(t), files["hero.png"])
		assert.Equal(t, tinyPNG(t), files["shoes/boot.png"])

		tickAfterGrace(t, e)
		assert.True(t, gone(t, e, hero.StorageKey), "no job needs it any more")
		assert.True(t, gone(t, e, boot.StorageKey))
	})
}
