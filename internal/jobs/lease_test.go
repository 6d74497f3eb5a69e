package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
	"github.com/ipsexport/ipsd/internal/testpg"
)

// TestLeasePostgres: export chunks on PostgreSQL carry a lease (lease.go).
// One server for the subtests, a database each.
func TestLeasePostgres(t *testing.T) {
	srv, err := testpg.Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })

	// What a SIGKILLed worker leaves: a chunk "running" under a River
	// client that no longer exists, one asset already finished. A live
	// worker takes it over once the lease has run out, not before, and
	// exports only what was pending.
	t.Run("DeadWorker", func(t *testing.T) {
		t.Parallel()
		f := newLeaseFixture(t, srv, 6)
		const lease = 2 * time.Second
		front := f.engine(t, 0, lease)
		job := f.submit(t, front, 6, 3) // two chunks: [0,3) and [3,6)
		dead := f.killedIn(t, job, 0, 0, 0)
		f.finishOne(t, job, 0)
		f.work(t, lease)
		j := f.awaitEnd(t, job, 30*time.Second)
		assert.Equal(t, store.JobCompleted, j.State)
		assert.Equal(t, 6, j.Succeeded)
		assert.Zero(t, j.Errors)
		puts := f.files.counts()
		assert.Zero(t, puts[f.key(job, 0)], "the asset finished before the worker died is not exported again")
		for i := 1; i < 6; i++ {
			assert.Equal(t, 1, puts[f.key(job, i)], "asset %d exported once", i)
		}

		var state, errs string
		var attempted, next time.Time
		var takenFrom int64
		f.row(t, `SELECT o.state, o.errors::text, o.attempted_at, n.created_at, (n.metadata->>'ipsd_taken_over_from')::bigint
			FROM river_job o JOIN river_job n ON n.metadata->>'ipsd_taken_over_from' = o.id::text WHERE o.id = $1`, []any{dead},
			&state, &errs, &attempted, &next, &takenFrom)
		assert.Equal(t, "cancelled", state, "the dead worker's row is finalised")
		assert.Contains(t, errs, "lease expired")
		assert.Equal(t, dead, takenFrom)
		assert.GreaterOrEqual(t, next.Sub(attempted), lease, "not taken over before the lease ran out")
		t.Logf("taken over %s after the dead worker's last renewal (lease %s, looked for every %s)", next.Sub(attempted).Round(time.Millisecond), lease, lease/3)
		f.awaitChunks(t, job, map[string]int{"completed": 2, "cancelled": 1})
	})

	// A chunk whose workers keep dying (an asset that crashes the
	// process) is not handed on forever: at the last takeover its pending
	// assets fail and the job ends with true counts.
	t.Run("DeadTooOften", func(t *testing.T) {
		t.Parallel()
		f := newLeaseFixture(t, srv, 3)
		const lease = time.Second
		front := f.engine(t, 0, lease)
		job := f.submit(t, front, 3, 3)
		f.killedIn(t, job, 0, maxTakeovers-1, time.Hour)
		f.finishOne(t, job, 1)
		f.work(t, lease)
		j := f.awaitEnd(t, job, 30*time.Second)
		assert.Equal(t, store.JobCompleted, j.State)
		assert.Equal(t, 1, j.Succeeded)
		assert.Equal(t, 2, j.Errors)
		assets, _, err := f.st.JobAssets(context.Background(), store.JobAssetQuery{JobHandle: job.Handle, Outcomes: []string{store.OutcomeError}, Limit: 10})
		require.NoError(t, err)
		for _, a := range assets {
			assert.Contains(t, a.Message, fmt.Sprintf("stopped %d times", maxTakeovers))
		}
		assert.Empty(t, f.files.counts(), "nothing exported")
		f.awaitChunks(t, job, map[string]int{"discarded": 1})
	})

	// A live worker whose asset takes several leases keeps its chunk: its
	// renewals go on beside the render, and no other worker takes it.
	t.Run("SlowLiveChunk", func(t *testing.T) {
		t.Parallel()
		f := newLeaseFixture(t, srv, 2)
		const lease, slow = 3 * time.Second, 8 * time.Second
		front := f.engine(t, 0, lease)
		job := f.submit(t, front, 2, 8)
		first := f.key(job, 0)
		entered := make(chan struct{})
		f.files.hook(func(ctx context.Context, key string, n int) error {
			if key != first || n > 1 {
				return nil
			}
			close(entered)
			select {
			case <-time.After(slow):
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		f.work(t, lease)
		<-entered
		f.work(t, lease) // idle, looking for expired leases

		// While the asset is written, the chunk's heartbeat stays young.
		id := f.chunkID(t, job, 0)
		var oldest time.Duration
		for end := time.Now().Add(slow - lease/2); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			var age float64
			f.row(t, `SELECT EXTRACT(EPOCH FROM now() - attempted_at)::float8 FROM river_job WHERE id = $1`, []any{id}, &age)
			oldest = max(oldest, time.Duration(age*float64(time.Second)))
		}
		t.Logf("an asset taking %s under a %s lease: oldest heartbeat seen %s", slow, lease, oldest.Round(time.Millisecond))

		j := f.awaitEnd(t, job, 30*time.Second)
		assert.Equal(t, store.JobCompleted, j.State)
		assert.Equal(t, 2, j.Succeeded)
		f.awaitChunks(t, job, map[string]int{"completed": 1})
		var renewedAfter float64
		f.row(t, `SELECT EXTRACT(EPOCH FROM attempted_at - created_at)::float8 FROM river_job WHERE id = $1`, []any{id}, &renewedAfter)
		assert.Greater(t, renewedAfter, (slow - lease).Seconds(), "the lease was renewed while the asset was written")
		assert.Equal(t, map[string]int{first: 1, f.key(job, 1): 1}, f.files.counts())
		assert.False(t, strings.Contains(f.logs.String(), "taken over"), "no chunk was taken over")
	})

	// A worker cut off from the database (here: one that does not renew)
	// loses its chunk to another once the lease has run out; when it next
	// reaches the database it finds the chunk no longer its own and stops,
	// and what River then writes for it lands on the finalised row, not
	// on the one the other worker works. The asset it had finished is not
	// exported again.
	t.Run("CutOffWorker", func(t *testing.T) {
		t.Parallel()
		f := newLeaseFixture(t, srv, 3)
		const lease = 3 * time.Second
		front := f.engine(t, 0, lease)
		job := f.submit(t, front, 3, 8)
		blocked := f.key(job, 1)
		entered := make(chan struct{})
		stopped := make(chan error, 1)
		f.files.hook(func(ctx context.Context, key string, n int) error {
			if key != blocked || n > 1 {
				return nil
			}
			close(entered)
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			return context.Cause(ctx)
		})
		// A never renews by itself within the test (a lease of an hour is
		// renewed every 20 minutes): as if cut off.
		a := f.engine(t, 1, time.Hour)
		require.NoError(t, a.Start(context.Background()))
		<-entered
		id := f.chunkID(t, job, 0)
		f.work(t, lease)

		j := f.awaitEnd(t, job, 30*time.Second)
		assert.Equal(t, store.JobCompleted, j.State)
		assert.Equal(t, 3, j.Succeeded)
		assert.Zero(t, j.Errors)

		// A comes back: its next renewal finds the row taken over.
		a.lease.mu.Lock()
		require.Len(t, a.lease.held, 1, "A still works its chunk")
		for _, h := range a.lease.held {
			h.renewed = time.Time{} // due for renewal
		}
		a.lease.mu.Unlock()
		a.lease.renew(context.Background())
		select {
		case cause := <-stopped:
			assert.ErrorIs(t, cause, errLeaseLost)
		case <-time.After(10 * time.Second):
			t.Fatal("A did not stop after losing its lease")
		}
		require.NoError(t, a.Stop(context.Background()))

		var state string
		f.row(t, `SELECT state FROM river_job WHERE id = $1`, []any{id}, &state)
		assert.Equal(t, "cancelled", state, "A's late outcome did not touch the taken-over row")
		puts := f.files.counts()
		assert.Equal(t, 1, puts[f.key(job, 0)], "the asset A finished is not exported again")
		assert.Equal(t, 2, puts[blocked], "A's interrupted write, then B's")
		assert.Equal(t, 1, puts[f.key(job, 2)])
		j = f.job(t, job)
		assert.Equal(t, 3, j.Succeeded, "counts unchanged by A")
		f.awaitChunks(t, job, map[string]int{"completed": 1, "cancelled": 1})
		assert.Contains(t, f.logs.String(), "another worker took it over")
	})
}

// TestLeaseNotOnSQLite: one process owns an SQLite database and hands its
// orphans back at start; it has no leases.
func TestLeaseNotOnSQLite(t *testing.T) {
	st, err := storeopen.Open(context.Background(), "", t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	db, ok := st.(interface{ DB() *sql.DB })
	require.True(t, ok)
	e, err := NewSQLite(db.DB(), Config{Store: st, Workers: 1})
	require.NoError(t, err)
	assert.Nil(t, e.lease)
	assert.NotNil(t, e.orphans)
}

// leaseFixture is a PostgreSQL database with company Acme, a user and n
// small PNG assets in a local file store whose writes the test can hold.
type leaseFixture struct {
	st      store.Store
	pool    *pgxpool.Pool
	files   *heldBlob
	company store.Company
	user    string
	assets  []store.Asset
	logs    *syncBuffer
}

func newLeaseFixture(t *testing.T, srv *testpg.Server, n int) *leaseFixture {
	t.Helper()
	ctx := context.Background()
	st, err := storeopen.Open(ctx, srv.NewDatabase(t), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, storeopen.Migrate(ctx, st))
	local, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	f := &leaseFixture{st: st, pool: st.(*postgres.Store).Pool(), files: &heldBlob{Store: local}, logs: &syncBuffer{}}
	f.company, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	u, err := st.CreateUser(ctx, store.NewUser{Email: "alice@acme.test", Role: store.RoleIpsUser, PasswordHash: "$2a$10$x"})
	require.NoError(t, err)
	f.user = u.Handle
	im := &catalog.Importer{Store: st, Blob: local}
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 4, 4))
		img.Pix[0] = uint8(i)
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, img))
		a, err := im.Import(ctx, catalog.File{CompanyHandle: f.company.Handle, FolderPath: "lease", FileName: fmt.Sprintf("a%d.png", i), CreatedBy: u.Handle, Body: &b})
		require.NoError(t, err)
		f.assets = append(f.assets, a)
	}
	return f
}

// engine is a job engine on the fixture's database: workers 0 only
// queues.
func (f *leaseFixture) engine(t *testing.T, workers int, lease time.Duration) *Engine {
	t.Helper()
	e, err := NewPostgres(f.pool, f.st.(*postgres.Store).DB(), Config{
		Store: f.st, Blob: f.files, Workers: workers, Lease: lease,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
	})
	require.NoError(t, err)
	return e
}

// submit queues an orig export of the first n assets in chunks of size.
func (f *leaseFixture) submit(t *testing.T, e *Engine, n, size int) store.Job {
	t.Helper()
	ctx := context.Background()
	e.cfg.ChunkSize = size
	spec := ExportSpec{Fmt: export.FormatOriginal}
	handles := make([]string, n)
	for i := range n {
		handles[i] = f.assets[i].Handle
	}
	x, err := e.PrepareExport(ctx, f.company, spec, handles, nil)
	require.NoError(t, err)
	j, err := e.SubmitExport(ctx, store.NewJob{CompanyHandle: f.company.Handle, Name: "lease", OriginalName: "lease",
		SubmitUserHandle: f.user}, x)
	require.NoError(t, err)
	return j
}

// key is where asset i of job is exported.
func (f *leaseFixture) key(j store.Job, i int) string {
	return exportPrefix(j.Handle) + "lease/" + f.assets[i].FileName
}

// killedIn leaves the chunk of job starting at from as a SIGKILLed worker
// does: running under a River client that is gone, its last renewal ago,
// after takeovers earlier ones; the job running. It returns the chunk's
// River job.
func (f *leaseFixture) killedIn(t *testing.T, j store.Job, from, takeovers int, ago time.Duration) int64 {
	t.Helper()
	id := f.chunkID(t, j, from)
	f.exec(t, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() - make_interval(secs => $2),
		attempted_by = ARRAY['killed-worker'], metadata = jsonb_build_object('ipsd_takeovers', $3::int) WHERE id = $1`,
		id, ago.Seconds(), takeovers)
	ok, err := f.st.SetJobState(context.Background(), j.Handle, []store.JobState{store.JobNew}, store.JobRunning)
	require.NoError(t, err)
	require.True(t, ok)
	return id
}

// work starts a worker with one slot, stopped when the test ends.
func (f *leaseFixture) work(t *testing.T, lease time.Duration) *Engine {
	t.Helper()
	e := f.engine(t, 1, lease)
	require.NoError(t, e.Start(context.Background()))
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

// finishOne records asset seq of job as exported, as a worker would have.
func (f *leaseFixture) finishOne(t *testing.T, j store.Job, seq int) {
	t.Helper()
	pending, err := f.st.PendingJobAssets(context.Background(), j.Handle, seq, seq+1)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	ja := pending[0]
	ja.Outcome, ja.Finished, ja.BlobKey = store.OutcomeSuccess, time.Now(), f.key(j, seq)
	won, err := f.st.FinishJobAsset(context.Background(), ja)
	require.NoError(t, err)
	require.True(t, won)
}

func (f *leaseFixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	_, err := f.pool.Exec(context.Background(), q, args...)
	require.NoError(t, err)
}

func (f *leaseFixture) row(t *testing.T, q string, args []any, dest ...any) {
	t.Helper()
	require.NoError(t, f.pool.QueryRow(context.Background(), q, args...).Scan(dest...))
}

// chunkID is the River job of the chunk of job starting at from.
func (f *leaseFixture) chunkID(t *testing.T, j store.Job, from int) int64 {
	t.Helper()
	var id int64
	f.row(t, `SELECT id FROM river_job WHERE args->>'job' = $1 AND (args->>'from')::int = $2 ORDER BY id LIMIT 1`, []any{j.Handle, from}, &id)
	return id
}

func (f *leaseFixture) job(t *testing.T, j store.Job) store.Job {
	t.Helper()
	got, err := f.st.JobByHandle(context.Background(), "", j.Handle)
	require.NoError(t, err)
	return got
}

// awaitEnd waits for the job to end.
func (f *leaseFixture) awaitEnd(t *testing.T, j store.Job, limit time.Duration) store.Job {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		got := f.job(t, j)
		switch got.State {
		case store.JobCompleted, store.JobFailed, store.JobStopped:
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("job did not end within %s: %+v\nlogs:\n%s", limit, got, f.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awaitChunks waits until the job's River rows are in exactly these states
// (River writes a finished chunk's state in batches, a moment later).
func (f *leaseFixture) awaitChunks(t *testing.T, j store.Job, want map[string]int) {
	t.Helper()
	var got map[string]int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got = map[string]int{}
		rows, err := f.pool.Query(context.Background(), `SELECT state, count(*) FROM river_job WHERE args->>'job' = $1 GROUP BY state`, j.Handle)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			var n int
			require.NoError(t, rows.Scan(&s, &n))
			got[s] = n
		}
		require.NoError(t, rows.Err())
		if assert.ObjectsAreEqual(want, got) {
			return
		}
	}
	assert.Equal(t, want, got, "the job's River rows by state")
}

// heldBlob is a file store whose Put of an export the test can hold (a
// slow render, a write cut off) and count.
type heldBlob struct {
	blob.Store
	mu     sync.Mutex
	puts   map[string]int
	before func(ctx context.Context, key string, n int) error // n: the how-manieth Put of key
}

func (b *heldBlob) hook(f func(ctx context.Context, key string, n int) error) {
	b.mu.Lock()
	b.before = f
	b.mu.Unlock()
}

func (b *heldBlob) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	if strings.HasPrefix(key, "exports/") {
		b.mu.Lock()
		if b.puts == nil {
			b.puts = map[string]int{}
		}
		b.puts[key]++
		n, before := b.puts[key], b.before
		b.mu.Unlock()
		if before != nil {
			if err := before(ctx, key, n); err != nil {
				return blob.Info{}, err
			}
		}
	}
	return b.Store.Put(ctx, key, r)
}

func (b *heldBlob) counts() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]int{}
	for k, n := range b.puts {
		out[k] = n
	}
	return out
}

// syncBuffer collects log lines from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
