// Package jobs runs IPS jobs on River (riverqueue/river): an export is
// split into River jobs of a few assets each ("chunks"), so a crashed or
// timed-out chunk is rescued and retried quickly and redoes at most a few
// assets. The IPS view of a job (state, counts, log details) lives in our
// store; River only carries the work. Pause and stop are our own state,
// read by the worker between assets, because River pauses queues, not
// jobs. Recurring schedules (execSchedule) live in our tables too, fired by
// a River periodic tick, since River's periodic jobs live in the leader's
// memory.
//
// The engine knows nothing of XML: the service validates requests and
// hands it store records.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/store"
)

// Defaults. ChunkSize is measured (see the README's performance section):
// below about 4 assets per chunk the queue's own cost shows; above a few
// dozen a rescued chunk redoes too much.
const (
	DefaultChunkSize    = 8
	DefaultChunkTimeout = 10 * time.Minute
	DefaultRetention    = 7 * 24 * time.Hour
	queueExport         = "export"
	queueMaintenance    = "maintenance"
	pausePoll           = time.Second
	tickInterval        = 5 * time.Second
)

// ExportSpec is the stored request of an export job (store.Job.Spec).
type ExportSpec struct {
	Fmt          string `json:"fmt"`
	IsModifier   string `json:"is_modifier,omitempty"`
	Macro        string `json:"macro,omitempty"`
	EmailSetting string `json:"emailSetting,omitempty"`
	ClientID     string `json:"clientId,omitempty"`
	// Conversion is fmt=convert resolved at submit; a schedule's spec has
	// none (each run resolves its own).
	Conversion *Conversion `json:"conversion,omitempty"`
}

// DecodeExportSpec reads a job's Spec.
func DecodeExportSpec(b []byte) (ExportSpec, error) {
	var s ExportSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("export spec: %w", err)
	}
	return s, nil
}

// Config configures an Engine.
type Config struct {
	Store    Store
	Blob     blob.Store
	Renderer export.Renderer
	// Cache, when set, is the rendition cache conversions reuse
	// (docs/rendition-cache.md).
	Cache export.Cache
	// Mail sends job mail; nil sends none.
	Mail *Mailer
	// Signer signs download links; PublicURL ("https://host") is the base
	// of links the engine hands out without a request to take it from.
	Signer    download.Signer
	PublicURL string
	// Workers is the number of chunks worked at once by this process; 0
	// makes a front end that only enqueues.
	Workers      int
	ChunkSize    int
	ChunkTimeout time.Duration
	// RescueAfter is how long a job may stay running (its worker gone)
	// before River's own rescuer retries it; default 1.5 × ChunkTimeout.
	// On PostgreSQL export chunks are taken over sooner, by Lease.
	RescueAfter time.Duration
	// Lease is how long a running chunk stays with a worker that stopped
	// renewing it before another worker takes it over (PostgreSQL; see
	// lease.go); default DefaultLease.
	Lease time.Duration
	// Retention is how long exported files are kept.
	Retention time.Duration
	// MaxFileBytes bounds each exported file and MaxJobBytes the files of
	// one job together (limits.go); 0 means the default, negative none.
	MaxFileBytes, MaxJobBytes int64
	// Location is the time zone of execSchedule; nil or Local is the
	// system's zone by its IANA name (LocalZone).
	Location *time.Location
	// PollInterval is how often idle workers look for work where the
	// database cannot notify them (SQLite). Default 200 ms.
	PollInterval time.Duration
	// Sweep, if set, runs on every maintenance tick (the UploadFile job
	// idle timeout, upload.Sweeper).
	Sweep func(ctx context.Context) error
	// Observer is told of finished assets, renders and ended jobs (for
	// metrics); nil tells no one.
	Observer Observer
	Logger   *slog.Logger
	Now      func() time.Time
}

// Observer watches the engine's work.
type Observer interface {
	AssetDone(outcome string, bytes int64)
	Rendered(d time.Duration)
	// RenditionCache tells a conversion's use of the rendition cache:
	// export.CacheHit or export.CacheMiss.
	RenditionCache(outcome string)
	JobEnded(state string)
}

type noObserver struct{}

func (noObserver) AssetDone(string, int64) {}
func (noObserver) Rendered(time.Duration)  {}
func (noObserver) JobEnded(string)         {}
func (noObserver) RenditionCache(string)   {}

// queue is what the engine needs of a River client, whatever its driver:
// running it, and the rows of a job's chunks (chunks.go).
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	JobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	JobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	JobDeleteMany(ctx context.Context, params *river.JobDeleteManyParams) (*river.JobDeleteManyResult, error)
}

// insertTx inserts River jobs in the store's own transaction, so that a
// job and its queued work commit together (docs/exports.md, "Submit").
type insertTx func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error

// Engine submits and runs jobs.
type Engine struct {
	cfg      Config
	st       Store
	work     WorkStore // what the worker's code may use of st
	states   States
	exporter *export.Exporter
	log      *slog.Logger
	q        queue
	insert   insertTx
	orphans  func(ctx context.Context) error // nil where other processes may be working
	lease    *leaser                         // nil on SQLite
	started  bool
	// draining is set while stopping: chunks hand their remaining assets
	// back to the queue after the asset in hand.
	draining atomic.Bool
}

// NewSQLite makes an engine whose River tables live in the embedded
// database (the store's own *sql.DB, which holds one connection).
func NewSQLite(db *sql.DB, cfg Config) (*Engine, error) {
	e := newEngine(cfg)
	drv := riversqlite.New(db)
	if e.cfg.PollInterval == 0 {
		e.cfg.PollInterval = 200 * time.Millisecond
	}
	c, err := river.NewClient(drv, e.riverConfig(true))
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	e.q = c
	e.insert = func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
		_, err := c.InsertManyFastTx(ctx, tx, params)
		return err
	}
	// One process owns an SQLite database, so at start a chunk still
	// marked running was cut off by a crash: hand it back at once rather
	// than after River's rescue delay.
	e.orphans = func(ctx context.Context) error {
		_, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
		return err
	}
	return e, nil
}

// NewPostgres makes an engine on PostgreSQL, where workers are woken by
// LISTEN/NOTIFY. pool is the store's pgx pool, db the same pool seen
// through database/sql (the store's own): workers run on pool; submits
// insert their work on db's transactions, the store's, through River's
// database/sql driver.
func NewPostgres(pool *pgxpool.Pool, db *sql.DB, cfg Config) (*Engine, error) {
	e := newEngine(cfg)
	drv := riverpgxv5.New(pool)
	if e.cfg.PollInterval == 0 {
		e.cfg.PollInterval = time.Second
	}
	e.lease = e.newLeaser(pool)
	c, err := river.NewClient(drv, e.riverConfig(false))
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	e.q = c
	// An insert-only client: no workers, no leader, the same insert
	// defaults as the working client.
	ins, err := river.NewClient(riverdatabasesql.New(db), e.insertConfig())
	if err != nil {
		return nil, fmt.Errorf("river insert client: %w", err)
	}
	e.lease.insertTx = c.InsertManyTx
	e.insert = func(ctx context.Context, tx *sql.Tx, params []river.InsertManyParams) error {
		_, err := ins.InsertManyFastTx(ctx, tx, params)
		return err
	}
	return e, nil
}

func newEngine(cfg Config) *Engine {
	if cfg.ChunkSize <= 0 {
		cfg.ChunkSize = DefaultChunkSize
	}
	if cfg.ChunkTimeout <= 0 {
		cfg.ChunkTimeout = DefaultChunkTimeout
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = cfg.ChunkTimeout * 3 / 2
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxFileBytes == 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	if cfg.MaxJobBytes == 0 {
		cfg.MaxJobBytes = DefaultMaxJobBytes
	}
	if cfg.Location == nil || cfg.Location == time.Local || cfg.Location.String() == "Local" {
		cfg.Location = LocalZone(SystemZone{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	if cfg.Workers < 0 {
		cfg.Workers = runtime.NumCPU()
	}
	return &Engine{
		cfg:      cfg,
		st:       cfg.Store,
		work:     cfg.Store,
		states:   States{Store: cfg.Store, Schedules: cfg.Store},
		exporter: &export.Exporter{Blob: cfg.Blob, Renderer: cfg.Renderer, MaxFileBytes: cfg.MaxFileBytes, Cache: cfg.Cache},
		log:      cfg.Logger,
	}
}

// maxAttempts is how often River runs a chunk before it gives up on it.
const maxAttempts = 5

// insertConfig is the configuration of a client that only inserts.
func (e *Engine) insertConfig() *river.Config {
	return &river.Config{Logger: e.log.With("component", "river"), MaxAttempts: maxAttempts}
}

func (e *Engine) riverConfig(pollOnly bool) *river.Config {
	rc := &river.Config{
		Logger:               e.log.With("component", "river"),
		JobTimeout:           e.cfg.ChunkTimeout,
		RescueStuckJobsAfter: e.cfg.RescueAfter,
		// River's default 100 ms cooldown made 500 tiny jobs on 2 workers
		// take 25 s (docs/rendering.md, "Measured on this machine"); our
		// chunks are longer, but pickup after submit should be prompt.
		FetchCooldown:     5 * time.Millisecond,
		FetchPollInterval: e.cfg.PollInterval,
		PollOnly:          pollOnly,
		MaxAttempts:       maxAttempts,
	}
	if e.cfg.Workers > 0 {
		workers := river.NewWorkers()
		river.AddWorker(workers, &chunkWorker{e: e})
		river.AddWorker(workers, &tickWorker{e: e})
		rc.Workers = workers
		if e.lease != nil {
			rc.Middleware = []rivertype.Middleware{e.lease}
		}
		rc.Queues = map[string]river.QueueConfig{
			queueExport:      {MaxWorkers: e.cfg.Workers},
			queueMaintenance: {MaxWorkers: 1},
		}
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(
			river.PeriodicInterval(tickInterval),
			func() (river.JobArgs, *river.InsertOpts) { return tickArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "ipsd_tick"},
		)}
	}
	return rc
}

// queueDepthSQL counts export chunks not yet taken, in River's own table.
const queueDepthSQL = `SELECT count(*) FROM river_job WHERE queue = 'export' AND state IN ('available', 'retryable', 'scheduled')`

// QueueDepth reads the number of export chunks waiting to be worked from
// db, the store's database (River's tables live there): a gauge that needs
// no engine.
func QueueDepth(db *sql.DB) func(ctx context.Context) (int, error) {
	return func(ctx context.Context) (n int, err error) {
		if err := db.QueryRowContext(ctx, queueDepthSQL).Scan(&n); err != nil {
			return 0, fmt.Errorf("queue depth: %w", err)
		}
		return n, nil
	}
}

// Start starts working (when Workers > 0). Inserting works without it.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Workers == 0 {
		return nil
	}
	if e.orphans != nil {
		if err := e.orphans(ctx); err != nil {
			return fmt.Errorf("start job engine: orphaned chunks: %w", err)
		}
	}
	if err := e.q.Start(ctx); err != nil {
		return fmt.Errorf("start job engine: %w", err)
	}
	if e.lease != nil {
		e.lease.start()
	}
	e.started = true
	return nil
}

// Stop lets the chunks in hand finish their current asset and hands the
// rest back to the queue: a chunk that sees its context cancelled snoozes
// without counting an attempt, so another worker (or this one after a
// restart) takes it up where it stood.
func (e *Engine) Stop(ctx context.Context) error {
	if !e.started {
		return nil
	}
	e.started = false
	if e.lease != nil {
		defer e.lease.stop() // the chunks finishing their asset keep their leases
	}
	e.draining.Store(true)
	defer e.draining.Store(false)
	if e.cfg.Cache != nil {
		// Renditions still being kept finish before the store closes
		// (docs/rendition-cache.md); each is one file and one row.
		defer e.cfg.Cache.Wait()
	}
	if err := e.q.Stop(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return e.q.StopAndCancel(context.WithoutCancel(ctx))
		}
		return fmt.Errorf("stop job engine: %w", err)
	}
	return nil
}

// Now is the engine's clock.
func (e *Engine) Now() time.Time { return e.cfg.Now() }

// Retention is how long exports are kept.
func (e *Engine) Retention() time.Duration { return e.cfg.Retention }

// Location is the time zone of schedules: a zone with an IANA name, never
// Go's "Local".
func (e *Engine) Location() *time.Location { return e.cfg.Location }

// SubmitExport records an export job and its assets and queues its
// chunks, to run at nj.ExecTime when that is in the future: the job, its
// assets and its queued work are written in one transaction, so no job is
// ever left without work, nor work without its job.
func (e *Engine) SubmitExport(ctx context.Context, nj store.NewJob, x *Export) (store.Job, error) {
	var j store.Job
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		j, err = e.submitIn(ctx, tx, nj, x)
		return err
	})
	if err != nil {
		return store.Job{}, err
	}
	e.log.Info("job submitted", "job", j.Handle, "company", j.CompanyHandle, "assets", j.Total, "state", j.State)
	return j, nil
}

// submitIn writes an export job, its assets and its chunks in tx.
func (e *Engine) submitIn(ctx context.Context, tx store.Tx, nj store.NewJob, x *Export) (store.Job, error) {
	b, err := json.Marshal(x.Spec)
	if err != nil {
		return store.Job{}, fmt.Errorf("submit: %w", err)
	}
	nj.Type = store.JobTypeExport
	nj.Spec = b
	now := e.cfg.Now()
	var at time.Time // zero: available at once (a ScheduledAt of "now" would wait for River's scheduler)
	nj.State = store.JobNew
	if nj.ExecTime.After(now) {
		nj.State = store.JobScheduled
		at = nj.ExecTime
	}
	if nj.Expires.IsZero() {
		start := now
		if !at.IsZero() {
			start = at
		}
		nj.Expires = start.Add(e.cfg.Retention)
	}
	j, err := tx.CreateJobFrom(ctx, nj, x.Len(), x.assets())
	if err != nil {
		return store.Job{}, fmt.Errorf("submit %s: %w", nj.OriginalName, err)
	}
	var params []river.InsertManyParams
	for from := 0; from < j.Total; from += e.cfg.ChunkSize {
		params = append(params, river.InsertManyParams{
			Args:       chunkArgs{Job: j.Handle, From: from, To: min(from+e.cfg.ChunkSize, j.Total)},
			InsertOpts: &river.InsertOpts{Queue: queueExport, ScheduledAt: at},
		})
	}
	if err := e.insert(ctx, tx.SQL(), params); err != nil {
		return store.Job{}, fmt.Errorf("queue job %s: %w", j.Handle, err)
	}
	return j, nil
}

func exportPrefix(jobHandle string) string { return "exports/" + jobHandle + "/" }

// ArchiveURL is the signed link to the zip of a job's files, valid until
// the job expires.
func (e *Engine) ArchiveURL(base string, j store.Job) string {
	return e.cfg.Signer.URL(base, j.Handle, "", j.Expires)
}

// FileURL is the signed link to one file of a job.
func (e *Engine) FileURL(base string, j store.Job, path string) string {
	return e.cfg.Signer.URL(base, j.Handle, path, j.Expires)
}

// PublicURL is the configured base of links.
func (e *Engine) PublicURL() string { return e.cfg.PublicURL }
