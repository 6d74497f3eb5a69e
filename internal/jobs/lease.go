package jobs

// Leases of running export chunks on PostgreSQL (docs/operations.md, "When
// a worker dies").
//
// River retries a job whose worker died only after RescueStuckJobsAfter,
// which it requires to be at least the job timeout, and only from the
// leader's rescuer, every 30 s: with 10-minute chunks a dead worker's chunk
// waited 15 minutes. River v0.51 has no heartbeat, so we keep one: while a
// chunk's goroutine runs, its worker renews the chunk's attempted_at (the
// time River recorded when the worker took it) every third of the lease;
// every worker, as often, takes over the chunks whose attempted_at is older
// than the lease. A slow asset never loses its chunk: the renewals go on
// beside it, and only --chunk-timeout bounds it. River's own rescuer reads
// the same column, so it never takes a live chunk either.
//
// A takeover finalises the expired row ("cancelled", the reason in its
// errors) and queues a new row for the same assets in one transaction.
// River writes a job's outcome only while the row is running, so nothing
// the old holder might still write (if it was cut off, not dead) lands on
// the row another worker works. The old holder learns at its next renewal
// that the row is no longer its own, or, unable to renew, once its lease
// has run out, and stops after the asset in hand as at shutdown. The new
// holder exports only the chunk's pending assets, and FinishJobAsset
// records an asset once, whoever finishes it first.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// DefaultLease is how long a chunk whose worker stopped renewing it stays
// with that worker: renewed every 10 s, taken over 30 to 40 s after its
// worker died.
const DefaultLease = 30 * time.Second

// maxTakeovers bounds how often a chunk is taken over: a chunk whose workers
// keep dying (an asset that crashes the process) fails its pending assets
// at the last one instead of taking down every worker in turn.
const maxTakeovers = 5

// Metadata of a chunk row made by a takeover.
const (
	metaTakeovers   = "ipsd_takeovers"       // how many times the chunk was taken over
	metaTakenOverOf = "ipsd_taken_over_from" // the River job it continues
)

var (
	errLeaseLost    = errors.New("its lease was taken over by another worker")
	errLeaseExpired = errors.New("its lease ran out before it could be renewed")
)

// leaser holds the leases of the export chunks this process works and takes
// over the expired ones. It is River worker middleware: it wraps every
// chunk's Work.
type leaser struct {
	river.MiddlewareDefaults
	pool  *pgxpool.Pool
	lease time.Duration
	log   *slog.Logger
	// insertTx queues the new rows of a takeover (the River client's
	// InsertManyTx); abandon fails a chunk's pending assets.
	insertTx func(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	abandon  func(ctx context.Context, a chunkArgs, msg string)

	mu   sync.Mutex
	held map[int64]*holding // by River job ID

	halt func()
	done chan struct{}
}

// holding is a chunk this process works: the row is ours while its attempt
// and the last client in attempted_by are those River gave us.
type holding struct {
	attempt int
	by      string
	renewed time.Time // when the last renewal that held was sent (or the chunk began)
	cancel  context.CancelCauseFunc
}

// newLeaser makes the engine's leaser on PostgreSQL.
func (e *Engine) newLeaser(pool *pgxpool.Pool) *leaser {
	return &leaser{
		pool: pool, lease: e.cfg.Lease, log: e.log, held: map[int64]*holding{},
		abandon: func(ctx context.Context, a chunkArgs, msg string) {
			e.failPending(ctx, a.Job, a.From, a.To, msg)
			if err := e.settle(ctx, a.Job); err != nil {
				e.log.Error("settle job", "job", a.Job, "err", err)
			}
		},
	}
}

// every is how often leases are renewed and expired ones looked for.
func (l *leaser) every() time.Duration { return l.lease / 3 }

// Work holds the lease of an export chunk while it is worked: its context
// ends when the lease is lost, which the chunk treats as a shutdown.
func (l *leaser) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if job.Kind != (chunkArgs{}).Kind() || len(job.AttemptedBy) == 0 {
		return doInner(ctx)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := &holding{attempt: job.Attempt, by: job.AttemptedBy[len(job.AttemptedBy)-1], renewed: time.Now(), cancel: cancel}
	l.mu.Lock()
	l.held[job.ID] = h
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.held, job.ID)
		l.mu.Unlock()
	}()
	return doInner(ctx)
}

// start renews and takes over until stop; it looks for expired leases at
// once, so that a worker restarted after a crash takes up its own.
func (l *leaser) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.halt, l.done = cancel, make(chan struct{})
	go func() {
		defer close(l.done)
		tick := time.NewTicker(l.every())
		defer tick.Stop()
		for {
			if err := l.takeOver(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn("taking over expired export chunks", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			l.renew(ctx)
		}
	}()
}

// stop ends renewing; call it once no chunk runs.
func (l *leaser) stop() {
	if l.halt != nil {
		l.halt()
		<-l.done
	}
}

// renewSQL moves attempted_at on for each held chunk that is still ours.
const renewSQL = `UPDATE river_job AS j SET attempted_at = now()
FROM unnest($1::bigint[], $2::int[], $3::text[]) AS h(id, attempt, holder)
WHERE j.id = h.id AND j.state = 'running' AND j.attempt = h.attempt
	AND j.attempted_by[array_upper(j.attempted_by, 1)] = h.holder
RETURNING j.id`

// renew renews the leases of the chunks held for half a period or more,
// and stops those it finds lost.
func (l *leaser) renew(ctx context.Context) {
	sent := time.Now()
	var ids []int64
	var attempts []int32
	var holders []string
	l.mu.Lock()
	for id, h := range l.held {
		if sent.Sub(h.renewed) >= l.every()/2 {
			ids = append(ids, id)
			attempts = append(attempts, int32(h.attempt))
			holders = append(holders, h.by)
		}
	}
	l.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, l.every())
	defer cancel()
	renewed := map[int64]bool{}
	rows, err := l.pool.Query(rctx, renewSQL, ids, attempts, holders)
	if err == nil {
		for rows.Next() {
			var id int64
			if err = rows.Scan(&id); err != nil {
				break
			}
			renewed[id] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil && ctx.Err() != nil {
		return // stopping
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		h, ok := l.held[id]
		switch {
		case !ok: // ended meanwhile
		case err != nil:
			// Unable to tell: keep working until the lease has run out,
			// after which another worker may hold the chunk.
			if time.Since(h.renewed) >= l.lease {
				l.log.Warn("export chunk stopped: its lease could not be renewed", "river_job", id, "err", err)
				h.cancel(errLeaseExpired)
			}
		case renewed[id]:
			h.renewed = sent
		default:
			l.log.Warn("export chunk stopped: another worker took it over", "river_job", id)
			h.cancel(errLeaseLost)
		}
	}
	if err != nil {
		l.log.Warn("renewing export chunk leases", "err", err)
	}
}

// takeOverSQL finalises the running chunks whose lease ran out: cancelled
// when they go on as a new row, discarded at the last takeover.
const takeOverSQL = `WITH expired AS (
	SELECT id FROM river_job
	WHERE state = 'running' AND kind = $1 AND attempted_at < now() - make_interval(secs => $2)
	ORDER BY id LIMIT 100
	FOR UPDATE SKIP LOCKED
)
UPDATE river_job AS j SET
	state = CASE WHEN coalesce((j.metadata->>'` + metaTakeovers + `')::int, 0) + 1 >= $3
		THEN 'discarded'::river_job_state ELSE 'cancelled'::river_job_state END,
	finalized_at = now(),
	errors = array_append(j.errors, jsonb_build_object('at', now(), 'attempt', j.attempt, 'error', $4::text, 'trace', ''))
FROM expired WHERE j.id = expired.id
RETURNING j.id, j.args, j.attempt, j.max_attempts, coalesce((j.metadata->>'` + metaTakeovers + `')::int, 0),
	j.state = 'discarded', coalesce(j.attempted_by[array_upper(j.attempted_by, 1)], '')`

// expiredChunk is a chunk row finalised by a takeover.
type expiredChunk struct {
	id                   int64
	args                 chunkArgs
	attempt, maxAttempts int
	takeovers            int
	last                 bool
	holder               string
}

// takeOver hands the chunks whose lease ran out to the queue again, as new
// rows, or fails their pending assets after maxTakeovers.
func (l *leaser) takeOver(ctx context.Context) error {
	tx, err := l.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	msg := fmt.Sprintf("lease expired: its worker had not renewed it for %s; taken over", l.lease)
	rows, err := tx.Query(ctx, takeOverSQL, (chunkArgs{}).Kind(), l.lease.Seconds(), maxTakeovers, msg)
	if err != nil {
		return err
	}
	var expired []expiredChunk
	for rows.Next() {
		var c expiredChunk
		var args []byte
		if err := rows.Scan(&c.id, &args, &c.attempt, &c.maxAttempts, &c.takeovers, &c.last, &c.holder); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal(args, &c.args); err != nil {
			rows.Close()
			return fmt.Errorf("river job %d: %w", c.id, err)
		}
		expired = append(expired, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(expired) == 0 {
		return nil
	}
	var params []river.InsertManyParams
	for _, c := range expired {
		if c.last {
			continue
		}
		meta, _ := json.Marshal(map[string]any{metaTakeovers: c.takeovers + 1, metaTakenOverOf: c.id})
		params = append(params, river.InsertManyParams{Args: c.args, InsertOpts: &river.InsertOpts{
			Queue: queueExport, Metadata: meta,
			// The attempt that died is not held against the chunk; the
			// ones that failed before it are.
			MaxAttempts: max(c.maxAttempts-c.attempt+1, 1),
		}})
	}
	var inserted []*rivertype.JobInsertResult
	if len(params) > 0 {
		if inserted, err = l.insertTx(ctx, tx, params); err != nil {
			return fmt.Errorf("queue taken-over chunks: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	i := 0
	for _, c := range expired {
		a := c.args
		if c.last {
			l.log.Error("export chunk failed: its workers stopped without finishing it too often (does an asset crash the worker?)",
				"job", a.Job, "from", a.From, "to", a.To, "river_job", c.id, "takeovers", c.takeovers, "worker", c.holder)
			l.abandon(context.WithoutCancel(ctx), a, fmt.Sprintf("export failed: the workers exporting this chunk stopped %d times without finishing it", c.takeovers+1))
			continue
		}
		l.log.Warn("export chunk taken over: its worker stopped renewing its lease",
			"job", a.Job, "from", a.From, "to", a.To, "river_job", c.id, "new_river_job", inserted[i].Job.ID,
			"worker", c.holder, "lease", l.lease)
		i++
	}
	return nil
}
