package jobs

// The River rows of a job's chunks. River knows nothing of our jobs; a
// chunk names its job in its args ({"job": handle, …}), which both of
// River's databases can read (PostgreSQL's jsonb, SQLite's JSONB), so the
// chunks of one job are found by a predicate on args: to run a waiting job
// now (executeJob), and to take a deleted job's queued work away.

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// chunkKind is the River kind of export chunks.
var chunkKind = chunkArgs{}.Kind()

// ofJob is the predicate on a chunk's args that names its job.
const ofJob = `args ->> 'job' = @job`

// queuedChunkStates are the states of a chunk no worker holds.
var queuedChunkStates = []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending,
}

// chunkRows lists the River rows of job handle's chunks in the given
// states.
func (e *Engine) chunkRows(ctx context.Context, handle string, states ...rivertype.JobState) ([]*rivertype.JobRow, error) {
	params := river.NewJobListParams().Kinds(chunkKind).States(states...).
		Where(ofJob, river.NamedArgs{"job": handle}).First(1000)
	var out []*rivertype.JobRow
	for {
		res, err := e.q.JobList(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("chunks of job %s: %w", handle, err)
		}
		out = append(out, res.Jobs...)
		if len(res.Jobs) < 1000 {
			return out, nil
		}
		params = params.After(res.LastCursor)
	}
}

// wakeChunks makes the chunks of a job that wait (for its execTime, or
// snoozed while it was paused) available now.
func (e *Engine) wakeChunks(ctx context.Context, handle string) error {
	rows, err := e.chunkRows(ctx, handle, rivertype.JobStateScheduled, rivertype.JobStateRetryable)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if _, err := e.q.JobRetry(ctx, r.ID); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
			return fmt.Errorf("wake chunk %d of job %s: %w", r.ID, handle, err)
		}
	}
	return nil
}

// dropQueuedChunks removes the chunks of a job that no worker holds.
// River never deletes a running row; those end by themselves once they
// find the job gone (or being deleted).
func (e *Engine) dropQueuedChunks(ctx context.Context, handle string) error {
	params := river.NewJobDeleteManyParams().Kinds(chunkKind).States(queuedChunkStates...).
		Where(ofJob, river.NamedArgs{"job": handle}).First(10_000)
	for {
		res, err := e.q.JobDeleteMany(ctx, params)
		if err != nil {
			return fmt.Errorf("drop the queued chunks of job %s: %w", handle, err)
		}
		if len(res.Jobs) < 10_000 {
			return nil
		}
	}
}

// heldElsewhere reports whether a chunk of the job other than self (a
// River job ID; 0 for none) is running.
func (e *Engine) heldElsewhere(ctx context.Context, handle string, self int64) (bool, error) {
	rows, err := e.chunkRows(ctx, handle, rivertype.JobStateRunning)
	if err != nil {
		return false, err
	}
	for _, r := range rows {
		if r.ID != self {
			return true, nil
		}
	}
	return false, nil
}
