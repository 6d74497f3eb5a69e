package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"iter"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
	"github.com/ipsexport/ipsd/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

var errInjected = errors.New("injected failure")

// The steps of a submit, and of a schedule's firing, after each of which a
// failure is injected.
const (
	afterAdvance = "schedule advance"
	afterJobRow  = "job row"
	afterAssets  = "assets"
	afterInsert  = "river insert"
	atCommit     = "commit"
)

// faultStore fails the transaction after the step fail names.
type faultStore struct {
	store.Store
	fail string
}

func (f *faultStore) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	return f.Store.InTx(ctx, func(tx store.Tx) error { return fn(faultTx{Tx: tx, f: f}) })
}

type faultTx struct {
	store.Tx
	f *faultStore
}

func (t faultTx) CreateJobFrom(ctx context.Context, nj store.NewJob, n int, assets iter.Seq[store.JobAsset]) (store.Job, error) {
	if t.f.fail == afterJobRow {
		// The job row is written, then the assets stop short: the store
		// fails the creation half-way.
		one := func(yield func(store.JobAsset) bool) {
			for a := range assets {
				yield(a)
				return
			}
		}
		return t.Tx.CreateJobFrom(ctx, nj, n, one)
	}
	j, err := t.Tx.CreateJobFrom(ctx, nj, n, assets)
	if err == nil && t.f.fail == afterAssets {
		return j, errInjected
	}
	return j, err
}

func (t faultTx) AdvanceSchedule(ctx context.Context, handle string, prev, next time.Time) (bool, error) {
	won, err := t.Tx.AdvanceSchedule(ctx, handle, prev, next)
	if err == nil && t.f.fail == afterAdvance {
		return won, errInjected
	}
	return won, err
}

// atomicEnv is an engine that only submits (no workers), on a real
// database, whose store and queue insert fail where told.
type atomicEnv struct {
	e      *Engine
	st     store.Store
	faults *faultStore
	db     *sql.DB
	co     store.Company
	assets []string
	cancel context.CancelFunc // of the submit in flight, for atCommit
}

func newAtomicEnv(t *testing.T, database string) *atomicEnv {
	ctx := context.Background()
	var (
		st  store.Store
		db  *sql.DB
		eng *Engine
	)
	cfg := Config{Workers: 0, ChunkSize: 2}
	switch database {
	case "sqlite":
		s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ipsd.db"))
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx))
		st, db = s, s.DB()
		cfg.Store = &faultStore{Store: s}
		eng, err = NewSQLite(s.DB(), cfg)
		require.NoError(t, err)
	case "postgres":
		s, err := postgres.Open(ctx, pg.NewDatabase(t))
		require.NoError(t, err)
		require.NoError(t, s.Migrate(ctx))
		st, db = s, s.DB()
		cfg.Store = &faultStore{Store: s}
		eng, err = NewPostgres(s.Pool(), s.DB(), cfg)
		require.NoError(t, err)
	}
	t.Cleanup(func() { st.Close() })
	require.NoError(t, storeopen.Migrate(ctx, st)) // River's tables too
	a := &atomicEnv{e: eng, st: st, faults: cfg.Store.(*faultStore), db: db}
	insert := eng.insert
	eng.insert = func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
		if err := insert(ctx, tx, params); err != nil {
			return err
		}
		switch a.faults.fail {
		case afterInsert:
			return errInjected
		case atCommit:
			// The context of the transaction ends before its commit: the
			// commit fails and the database rolls it back.
			a.cancel()
		}
		return nil
	}
	var err error
	a.co, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	root, err := st.EnsureFolder(ctx, a.co.Handle, "")
	require.NoError(t, err)
	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		as, err := st.CreateAsset(ctx, store.NewAsset{CompanyHandle: a.co.Handle, FolderHandle: root.Handle,
			Name: name, FileName: name, Type: "Image", Size: 1, StorageKey: "k/" + name})
		require.NoError(t, err)
		a.assets = append(a.assets, as.Handle)
	}
	return a
}

// counts are the jobs of the company and the queued chunks of them.
func (a *atomicEnv) counts(t *testing.T) (jobs int, chunks int) {
	t.Helper()
	js, err := a.st.ListJobs(context.Background(), store.JobQuery{CompanyHandle: a.co.Handle})
	require.NoError(t, err)
	require.NoError(t, a.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'ipsd_export_chunk'`).Scan(&chunks))
	return len(js), chunks
}

func (a *atomicEnv) submit(t *testing.T, fail string) (store.Job, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.cancel, a.faults.fail = cancel, fail
	defer func() { a.faults.fail = "" }()
	x, err := a.e.PrepareExport(ctx, a.co, ExportSpec{Fmt: "orig", EmailSetting: "None"}, a.assets, nil)
	require.NoError(t, err)
	return a.e.SubmitExport(ctx, store.NewJob{CompanyHandle: a.co.Handle, Name: "j", OriginalName: "j"}, x)
}

func (a *atomicEnv) fire(t *testing.T, fail string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.cancel, a.faults.fail = cancel, fail
	defer func() { a.faults.fail = "" }()
	return a.e.fireSchedules(ctx)
}

// TestSubmitIsAtomic: a failure between any two steps of a submit (job
// row, assets, River insert, commit) leaves neither a job without work nor
// work without a job; a failure between any two steps of a schedule's
// firing (advance, job row, assets, River insert, commit) leaves the
// schedule due, and the next tick makes the run.
func TestSubmitIsAtomic(t *testing.T) {
	for _, database := range []string{"sqlite", "postgres"} {
		t.Run(database, func(t *testing.T) {
			a := newAtomicEnv(t, database)
			for _, step := range []string{afterJobRow, afterAssets, afterInsert, atCommit} {
				_, err := a.submit(t, step)
				require.Error(t, err, step)
				jobs, chunks := a.counts(t)
				assert.Zero(t, jobs, "no job after a failure at %s", step)
				assert.Zero(t, chunks, "no queued work after a failure at %s", step)
			}
			j, err := a.submit(t, "")
			require.NoError(t, err)
			jobs, chunks := a.counts(t)
			assert.Equal(t, 1, jobs)
			assert.Equal(t, 2, chunks, "3 assets in chunks of 2")
			assert.Equal(t, store.JobNew, j.State)

			// A due schedule.
			ctx := context.Background()
			spec, err := json.Marshal(ScheduleSpec{Export: ExportSpec{Fmt: "orig", EmailSetting: "None"}, Handles: a.assets})
			require.NoError(t, err)
			due := time.Now().Add(-time.Minute).UTC().Truncate(time.Microsecond)
			sc, err := a.st.CreateSchedule(ctx, store.Schedule{CompanyHandle: a.co.Handle, Type: store.JobTypeExport,
				OriginalName: "nightly", Spec: spec, Cron: "0 0 0 * * ?", NextFire: due})
			require.NoError(t, err)
			for _, step := range []string{afterAdvance, afterJobRow, afterAssets, afterInsert, atCommit} {
				require.Error(t, a.fire(t, step), step)
				jobs, chunks := a.counts(t)
				assert.Equal(t, 1, jobs, "no run's job after a failure at %s", step)
				assert.Equal(t, 2, chunks, "no run's work after a failure at %s", step)
				scheds, err := a.st.Schedules(ctx, a.co.Handle)
				require.NoError(t, err)
				require.Len(t, scheds, 1)
				assert.True(t, scheds[0].NextFire.Equal(due), "the run is not lost: still due after a failure at %s", step)
			}
			require.NoError(t, a.fire(t, ""))
			jobs, chunks = a.counts(t)
			assert.Equal(t, 2, jobs, "the run is made")
			assert.Equal(t, 4, chunks)
			scheds, err := a.st.Schedules(ctx, a.co.Handle)
			require.NoError(t, err)
			require.Len(t, scheds, 1)
			assert.True(t, scheds[0].NextFire.After(time.Now()), "and the schedule moved on")
			runs, err := a.st.ListJobs(ctx, store.JobQuery{CompanyHandle: a.co.Handle, OriginalName: "nightly"})
			require.NoError(t, err)
			require.Len(t, runs, 1)
			assert.Equal(t, sc.Handle, runs[0].ScheduleHandle)
		})
	}
}
