package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ipsexport/ipsd/internal/store"
)

// Event is something that moves a job from one state to another. Export and
// upload jobs share the events and the table below; nothing else changes a
// job's state (docs/exports.md, "Job states").
type Event string

// Events.
const (
	// EvStart: a worker takes up a queued job (export), or a job is created
	// running (upload).
	EvStart Event = "start"
	// EvPause and EvResume: pauseJob and resumeJob.
	EvPause  Event = "pause"
	EvResume Event = "resume"
	// EvStop: stopJob; the job ends after the asset in hand.
	EvStop Event = "stop"
	// EvHalt: a stopping job has let go of its last asset.
	EvHalt Event = "halt"
	// EvComplete: every asset is done (export), or endJob (upload).
	EvComplete Event = "complete"
	// EvExpire: an upload job got no POST for its idle timeout.
	EvExpire Event = "expire"
	// EvFail: the job itself failed (an upload whose first POST faulted).
	EvFail Event = "fail"
)

// transition is one row of the table: the states an event applies in and
// the state it leads to.
type transition struct {
	from []store.JobState
	to   store.JobState
}

// transitions is the one table of legal moves.
var transitions = map[Event]transition{
	EvStart:    {from: []store.JobState{store.JobScheduled, store.JobNew}, to: store.JobRunning},
	EvPause:    {from: []store.JobState{store.JobNew, store.JobRunning}, to: store.JobPaused},
	EvResume:   {from: []store.JobState{store.JobPaused}, to: store.JobRunning},
	EvStop:     {from: []store.JobState{store.JobScheduled, store.JobNew, store.JobRunning, store.JobPaused}, to: store.JobStopping},
	EvHalt:     {from: []store.JobState{store.JobStopping}, to: store.JobStopped},
	EvComplete: {from: []store.JobState{store.JobRunning}, to: store.JobCompleted},
	EvExpire:   {from: []store.JobState{store.JobRunning, store.JobPaused}, to: store.JobCompleted},
	EvFail:     {from: []store.JobState{store.JobRunning}, to: store.JobFailed},
}

// Next is the state ev leads to from state, or ok false when the table
// does not allow ev there.
func Next(state store.JobState, ev Event) (next store.JobState, ok bool) {
	t, known := transitions[ev]
	if !known || !slices.Contains(t.from, state) {
		return "", false
	}
	return t.to, true
}

// TransitionError is an event the job's state does not allow: the one
// place an illegal transition is refused.
type TransitionError struct {
	Job   string
	Event Event
	State store.JobState // the job's state when the event came
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("job %s is %s: %s does not apply", e.Job, e.State, e.Event)
}

// StateStore is what moving a job needs of the store.
type StateStore interface {
	SetJobState(ctx context.Context, handle string, from []store.JobState, to store.JobState) (bool, error)
	JobByHandle(ctx context.Context, companyHandle, handle string) (store.Job, error)
}

// States applies events to jobs through the transition table. The move is
// one conditional update, so of two processes applying events to one job
// at once exactly one wins; the other gets a *TransitionError naming the
// state it lost to.
type States struct{ Store StateStore }

// Apply moves job handle by ev. It returns the new state, a
// *TransitionError when the job's state does not allow ev, or the store's
// error (store.ErrNotFound for an unknown job).
func (s States) Apply(ctx context.Context, handle string, ev Event) (store.JobState, error) {
	t, ok := transitions[ev]
	if !ok {
		return "", fmt.Errorf("job %s: unknown event %q", handle, ev)
	}
	moved, err := s.Store.SetJobState(ctx, handle, t.from, t.to)
	if err != nil {
		return "", fmt.Errorf("job %s: %s: %w", handle, ev, err)
	}
	if moved {
		return t.to, nil
	}
	j, err := s.Store.JobByHandle(ctx, "", handle)
	if err != nil {
		return "", fmt.Errorf("job %s: %s: %w", handle, ev, err)
	}
	return "", &TransitionError{Job: handle, Event: ev, State: j.State}
}

// IsTransitionError reports an event refused by the table.
func IsTransitionError(err error) bool {
	var te *TransitionError
	return errors.As(err, &te)
}
