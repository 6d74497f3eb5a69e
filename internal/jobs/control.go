package jobs

// pauseJob, resumeJob, stopJob, executeJob and deleteJob, on jobs and on
// recurring schedules (docs/exports.md, "Job states"; docs/job-logs.md).

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipsexport/ipsd/internal/store"
)

// PauseJob holds a job after the asset in hand, or a job waiting for its
// execTime before it starts. A job whose state does not allow it is a
// *TransitionError.
func (e *Engine) PauseJob(ctx context.Context, j store.Job) error {
	_, err := e.states.Apply(ctx, j.Handle, EvPause)
	return err
}

// ResumeJob continues a paused job, or releases a held one: one whose
// execTime has passed while it was held runs now.
func (e *Engine) ResumeJob(ctx context.Context, j store.Job) error {
	to, err := e.states.Apply(ctx, j.Handle, EvResume)
	if err != nil {
		return err
	}
	if to == store.JobScheduled && j.ExecTime.After(e.cfg.Now()) {
		return nil // its chunks still wait for its execTime
	}
	// The chunks snoozed while it was paused or held take it up now.
	if err := e.wakeChunks(ctx, j.Handle); err != nil {
		e.log.Warn("resume: chunks wait for their next look", "job", j.Handle, "err", err)
	}
	// Every chunk may have ended while it was paused.
	return e.settle(ctx, j.Handle)
}

// StopJob ends a job after the asset in hand, keeping what is done; a job
// that has not started ends at once, its assets logged as cancelled.
func (e *Engine) StopJob(ctx context.Context, j store.Job) error {
	if _, err := e.states.Apply(ctx, j.Handle, EvStop); err != nil {
		return err
	}
	switch j.State {
	case store.JobScheduled, store.JobHeld, store.JobNew:
		return e.settle(ctx, j.Handle)
	}
	return nil
}

// ExecuteJob runs a job waiting for its execTime now.
func (e *Engine) ExecuteJob(ctx context.Context, j store.Job) error {
	if _, err := e.states.Apply(ctx, j.Handle, EvExecute); err != nil {
		return err
	}
	if err := e.wakeChunks(ctx, j.Handle); err != nil {
		return fmt.Errorf("execute job %s: %w", j.Handle, err)
	}
	e.log.Info("job executed before its time", "job", j.Handle, "execTime", j.ExecTime)
	return nil
}

// DeleteJob removes a job in any state, with its files and log. A job that
// has not ended is stopped first: it leaves every listing at once, its
// queued work is taken away, and it is removed as soon as no worker holds
// one of its assets (by the last chunk to let go, else by the maintenance
// tick), so that no file is written after its files are removed.
func (e *Engine) DeleteJob(ctx context.Context, j store.Job) error {
	if _, err := e.states.Apply(ctx, j.Handle, EvDelete); err != nil {
		return err
	}
	self := int64(0)
	if j.State.Ended() {
		// Every asset of an ended job is recorded, each file written
		// before it: a chunk River still shows running only returns.
		self = anyChunk
	}
	if _, err := e.reap(ctx, j, self); err != nil {
		// Not the caller's failure: the job is gone for every reader, and
		// the tick finishes its removal.
		e.log.Warn("delete job: removal deferred to the maintenance tick", "job", j.Handle, "err", err)
	}
	return nil
}

// anyChunk, as reap's self, removes the job whatever chunk River shows
// running.
const anyChunk int64 = -1

// reap removes a job being deleted unless a chunk other than self (a
// River job ID, 0 for none, anyChunk) still holds one of its assets; it
// reports whether the job is gone.
func (e *Engine) reap(ctx context.Context, j store.Job, self int64) (bool, error) {
	ctx = context.WithoutCancel(ctx)
	if err := e.dropQueuedChunks(ctx, j.Handle); err != nil {
		return false, err
	}
	if self != anyChunk {
		held, err := e.heldElsewhere(ctx, j.Handle, self)
		if err != nil || held {
			return false, err
		}
	}
	if err := e.cfg.Blob.DeletePrefix(ctx, exportPrefix(j.Handle)); err != nil {
		return false, fmt.Errorf("delete files of %s: %w", j.Handle, err)
	}
	if err := e.st.DeleteJob(ctx, j.CompanyHandle, j.Handle); err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("delete job %s: %w", j.Handle, err)
	}
	e.log.Info("job deleted", "job", j.Handle, "company", j.CompanyHandle)
	return true, nil
}

// reapDeleting finishes the removal of the jobs deleteJob left to it.
func (e *Engine) reapDeleting(ctx context.Context) error {
	cos, err := e.st.ListCompanies(ctx)
	if err != nil {
		return fmt.Errorf("jobs being deleted: %w", err)
	}
	var errs []error
	for _, co := range cos {
		js, err := e.st.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: []store.JobState{store.JobDeleting}})
		if err != nil {
			errs = append(errs, fmt.Errorf("jobs being deleted of %s: %w", co.Handle, err))
			continue
		}
		for _, j := range js {
			if _, err := e.reap(ctx, j, 0); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// PauseSchedule holds a recurring schedule: it does not fire until
// resumed.
func (e *Engine) PauseSchedule(ctx context.Context, s store.Schedule) error {
	_, err := e.states.ApplySchedule(ctx, s.Handle, EvPause)
	return err
}

// ResumeSchedule releases a held schedule. One whose time came while it
// was held fires once at the next tick, then keeps its schedule (the
// runs it missed are not made up one by one).
func (e *Engine) ResumeSchedule(ctx context.Context, s store.Schedule) error {
	_, err := e.states.ApplySchedule(ctx, s.Handle, EvResume)
	return err
}

// ExecuteSchedule makes a run of a recurring schedule now, held or not,
// leaving its next time as it is.
func (e *Engine) ExecuteSchedule(ctx context.Context, s store.Schedule) (store.Job, error) {
	now := e.cfg.Now()
	nj, x, err := e.prepareRun(ctx, s, now)
	if err != nil {
		return store.Job{}, err
	}
	var j store.Job
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		j, err = e.submitIn(ctx, tx, nj, x)
		return err
	})
	if err != nil {
		return store.Job{}, fmt.Errorf("execute schedule %s: %w", s.Handle, err)
	}
	e.log.Info("schedule executed", "schedule", s.Handle, "job", j.Handle)
	return j, nil
}

// DeleteSchedule removes a recurring schedule; the runs it made keep
// their logs.
func (e *Engine) DeleteSchedule(ctx context.Context, s store.Schedule) error {
	if err := e.st.DeleteSchedule(ctx, s.CompanyHandle, s.Handle); err != nil {
		return fmt.Errorf("delete schedule %s: %w", s.Handle, err)
	}
	return nil
}
