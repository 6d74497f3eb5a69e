package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"path/filepath"
	"sync"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
)

// goRenderer converts with the standard library's codecs: it decodes the
// source and writes it in the requested format, PNG or JPEG. Sources Go
// cannot decode are export.ErrNotConvertible; other formats an error. It
// stands in for libvips, which this cgo-free package does not link.
type goRenderer struct {
	mu       sync.Mutex
	requests []*modifier.Request
	// during, when set, runs inside the n-th render (from 1): what another
	// process does while an asset is being converted.
	during func(n int)
}

func (r *goRenderer) Render(_ context.Context, src []byte, req *modifier.Request) (export.Rendered, error) {
	r.mu.Lock()
	r.requests = append(r.requests, req)
	n, during := len(r.requests), r.during
	r.mu.Unlock()
	if during != nil {
		during(n)
	}
	img, _, err := image.Decode(bytes.NewReader(src))
	if err != nil {
		return export.Rendered{}, fmt.Errorf("%w: %v", export.ErrNotConvertible, err)
	}
	var out bytes.Buffer
	switch req.Format() {
	case "png":
		err = png.Encode(&out, img)
	case "jpeg":
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 80})
	default:
		return export.Rendered{}, fmt.Errorf("render: fmt=%s is not written here", req.Format())
	}
	return export.Rendered{Data: out.Bytes(), Warnings: req.Warnings}, err
}

// mailbox keeps the mail sent.
type mailbox struct {
	mu   sync.Mutex
	sent []notify.Mail
}

func (m *mailbox) Send(_ context.Context, mail notify.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

func (m *mailbox) subjects() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, s := range m.sent {
		out = append(out, s.Subject)
	}
	return out
}

type workerEnv struct {
	st       *sqlite.Store
	files    blob.Store
	e        *Engine
	renderer *goRenderer
	mail     *mailbox
	co       store.Company
	user     store.User
	w        *rivertest.Worker[chunkArgs, *sql.Tx]
	riverDB  *sql.DB
	filesDir string
}

func newWorkerEnv(t *testing.T) *workerEnv {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "ipsd.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	files, err := blob.NewLocal(filepath.Join(dir, "files"))
	require.NoError(t, err)
	env := &workerEnv{st: st, files: files, renderer: &goRenderer{}, mail: &mailbox{}, filesDir: filepath.Join(dir, "files")}
	env.e, err = NewSQLite(st.DB(), Config{
		Store: st, Blob: files, Renderer: env.renderer, Workers: 0, ChunkSize: 2,
		Mail:      &Mailer{Store: st, Sender: env.mail, PublicURL: "http://ips.test"},
		PublicURL: "http://ips.test",
	})
	require.NoError(t, err)
	require.NoError(t, storeopen.Migrate(ctx, st)) // River's tables too

	// River's own tables for rivertest, in a database of their own: the
	// store's single SQLite connection stays free for the worker.
	env.riverDB, err = sql.Open("sqlite", filepath.Join(dir, "river.db"))
	require.NoError(t, err)
	env.riverDB.SetMaxOpenConns(1)
	t.Cleanup(func() { env.riverDB.Close() })
	drv := riversqlite.New(env.riverDB)
	m, err := rivermigrate.New(drv, nil)
	require.NoError(t, err)
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(t, err)
	env.w = rivertest.NewWorker(t, drv, &river.Config{MaxAttempts: maxAttempts}, river.Worker[chunkArgs](&chunkWorker{e: env.e}))

	env.co, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	env.user, err = st.CreateUser(ctx, store.NewUser{Email: "alice@acme.test", Role: store.RoleIpsUser, PasswordHash: "x"})
	require.NoError(t, err)
	return env
}

func solidPNG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func (env *workerEnv) importFile(t *testing.T, name string, body []byte) store.Asset {
	im := &catalog.Importer{Store: env.st, Blob: env.files}
	a, err := im.Import(context.Background(), catalog.File{CompanyHandle: env.co.Handle, FileName: name, Body: bytes.NewReader(body)})
	require.NoError(t, err)
	return a
}

// submit makes an export of assets with the given is_modifier (fmt=orig
// when empty), mailing everything.
func (env *workerEnv) submit(t *testing.T, isModifier string, assets ...store.Asset) store.Job {
	ctx := context.Background()
	spec := ExportSpec{Fmt: export.FormatOriginal, EmailSetting: notify.SettingAll}
	if isModifier != "" {
		spec.Fmt, spec.IsModifier = export.FormatConvert, isModifier
		var err error
		spec, err = ResolveConversion(ctx, env.st, env.co.Handle, spec)
		require.NoError(t, err)
	}
	var handles []string
	for _, a := range assets {
		handles = append(handles, a.Handle)
	}
	x, err := env.e.PrepareExport(ctx, env.co, spec, handles, nil)
	require.NoError(t, err)
	j, err := env.e.SubmitExport(ctx, store.NewJob{CompanyHandle: env.co.Handle, Name: "x_1", OriginalName: "x",
		SubmitUserHandle: env.user.Handle, Locale: "en-US"}, x)
	require.NoError(t, err)
	return j
}

// work runs one chunk through River's test worker.
func (env *workerEnv) work(t *testing.T, j store.Job, from, to int) *rivertest.WorkResult {
	ctx := context.Background()
	tx, err := env.riverDB.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	res, err := env.w.Work(ctx, t, tx, chunkArgs{Job: j.Handle, From: from, To: to}, nil)
	require.NoError(t, err)
	return res
}

func (env *workerEnv) job(t *testing.T, handle string) store.Job {
	j, err := env.st.JobByHandle(context.Background(), "", handle)
	require.NoError(t, err)
	return j
}

func (env *workerEnv) logged(t *testing.T, j store.Job) []store.JobAsset {
	rows, _, err := env.st.JobAssets(context.Background(), store.JobAssetQuery{JobHandle: j.Handle})
	require.NoError(t, err)
	return rows
}

func (env *workerEnv) output(t *testing.T, j store.Job, path string) []byte {
	files, err := env.st.JobFiles(context.Background(), j.Handle, path)
	require.NoError(t, err)
	require.Len(t, files, 1, path)
	r, _, err := env.files.Open(context.Background(), files[0].BlobKey)
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b
}

func TestChunkWorkerConverts(t *testing.T) {
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 8, 6))
	b := env.importFile(t, "b.png", solidPNG(t, 4, 4))
	text := env.importFile(t, "notes.png", []byte("not an image at all"))
	j := env.submit(t, "fmt=jpeg&qlt=70", a, b, text)

	res := env.work(t, j, 0, 2)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind)
	got := env.job(t, j.Handle)
	assert.Equal(t, store.JobRunning, got.State, "one chunk of two done")
	assert.Equal(t, 2, got.Succeeded)
	for _, name := range []string{"a.jpg", "b.jpg"} {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(env.output(t, j, name)))
		require.NoError(t, err, name)
		assert.Equal(t, "jpeg", format, name)
		assert.Positive(t, cfg.Width, name)
	}
	require.NotEmpty(t, env.renderer.requests)
	assert.Equal(t, "jpeg", env.renderer.requests[0].Format(), "rendered from the stored conversion")

	res = env.work(t, j, 2, 3)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind)
	got = env.job(t, j.Handle)
	assert.Equal(t, store.JobCompleted, got.State)
	assert.Equal(t, []int{3, 1, 0}, []int{got.Succeeded, got.Warnings, got.Errors})
	rows := env.logged(t, j)
	require.Len(t, rows, 3)
	assert.Equal(t, store.OutcomeWarning, rows[2].Outcome)
	assert.Contains(t, rows[2].Message, "exported as original")
	assert.Equal(t, []byte("not an image at all"), env.output(t, j, "notes.png"), "the original, under its own extension")
	subjects := env.mail.subjects()
	require.Len(t, subjects, 3, "started, the warning, completed: %v", subjects)
}

func TestChunkWorkerFailsAnAssetNotTheJob(t *testing.T) {
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 8, 6))
	j := env.submit(t, "fmt=gif", a)
	res := env.work(t, j, 0, 1)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind, "the chunk ends; the asset's failure is logged")
	got := env.job(t, j.Handle)
	assert.Equal(t, store.JobCompleted, got.State)
	assert.Equal(t, 1, got.Errors)
	rows := env.logged(t, j)
	require.Len(t, rows, 1)
	assert.Equal(t, store.OutcomeError, rows[0].Outcome)
	assert.Contains(t, rows[0].Message, "fmt=gif is not written here")
}

func TestChunkWorkerPauseAndStop(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 8, 6))
	b := env.importFile(t, "b.png", solidPNG(t, 8, 6))

	paused := env.submit(t, "", a, b)
	require.NoError(t, env.e.PauseJob(ctx, paused))
	res := env.work(t, paused, 0, 2)
	assert.Equal(t, river.EventKindJobSnoozed, res.EventKind, "a paused job's chunk waits")
	assert.Zero(t, env.job(t, paused.Handle).Succeeded)
	require.NoError(t, env.e.ResumeJob(ctx, env.job(t, paused.Handle)))
	res = env.work(t, paused, 0, 2)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind)
	assert.Equal(t, store.JobCompleted, env.job(t, paused.Handle).State)
	assert.Equal(t, solidPNG(t, 8, 6), env.output(t, paused, "a.png"), "fmt=orig: byte for byte")

	stopped := env.submit(t, "", a, b)
	require.NoError(t, env.e.StopJob(ctx, stopped))
	got := env.job(t, stopped.Handle)
	assert.Equal(t, store.JobStopped, got.State, "a job that has not started stops at once")
	assert.Equal(t, []int{0, 2}, []int{got.Errors, got.Cancelled}, "its assets cancelled, not failed")
	for _, r := range env.logged(t, stopped) {
		assert.Equal(t, store.OutcomeCancelled, r.Outcome)
		assert.True(t, r.Began.IsZero(), "never begun")
	}
	res = env.work(t, stopped, 0, 2)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind, "its chunk finds nothing to do")
	assert.Equal(t, 2, env.job(t, stopped.Handle).Cancelled, "nothing counted twice")

	var te *TransitionError
	require.ErrorAs(t, env.e.PauseJob(ctx, got), &te, "a stopped job cannot be paused")
	assert.Equal(t, store.JobStopped, te.State)
}

// A stop recorded while a worker writes an asset (from another process's
// settle) wins: the worker's file is removed, so the job's folder holds
// no file of a cancelled asset. A file another worker recorded at the same
// key is kept.
func TestStopWhileAnAssetIsWritten(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 8, 6))
	b := env.importFile(t, "b.png", solidPNG(t, 4, 4))
	j := env.submit(t, "fmt=png", a, b)
	env.renderer.during = func(n int) {
		switch n {
		case 1: // the job is stopped and settled elsewhere
			won, err := env.st.FinishJobAsset(ctx, store.JobAsset{JobHandle: j.Handle, Seq: 0, Outcome: store.OutcomeCancelled})
			require.NoError(t, err)
			require.True(t, won)
		case 2: // a worker whose lease ran out wrote b.png and recorded it
			key := exportPrefix(j.Handle) + "b.png"
			png := solidPNG(t, 4, 4)
			_, err := env.files.Put(ctx, key, bytes.NewReader(png))
			require.NoError(t, err)
			won, err := env.st.FinishJobAsset(ctx, store.JobAsset{JobHandle: j.Handle, Seq: 1, Outcome: store.OutcomeSuccess,
				BlobKey: key, OutputPath: "b.png", Size: int64(len(png))})
			require.NoError(t, err)
			require.True(t, won)
		}
	}
	env.work(t, j, 0, 2)

	rows := env.logged(t, j)
	require.Len(t, rows, 2)
	assert.Equal(t, []string{store.OutcomeCancelled, store.OutcomeSuccess}, []string{rows[0].Outcome, rows[1].Outcome})
	_, err := env.files.Stat(ctx, exportPrefix(j.Handle)+"a.png")
	assert.ErrorIs(t, err, blob.ErrNotFound, "the cancelled asset's file is removed")
	files, err := env.st.JobFiles(ctx, j.Handle, "")
	require.NoError(t, err)
	require.Len(t, files, 1)
	img, format, err := image.Decode(bytes.NewReader(env.output(t, j, "b.png")))
	require.NoError(t, err, "the recorded file stays")
	assert.Equal(t, "png", format)
	assert.Equal(t, image.Rect(0, 0, 4, 4), img.Bounds())
}
