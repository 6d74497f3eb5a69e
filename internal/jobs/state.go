package jobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ipsexport/ipsd/internal/store"
)

// Event is something that moves a job from one state to another. Export and
// upload jobs, and recurring schedules, share the events and the table
// below; nothing else changes a job's state (docs/exports.md, "Job
// states").
type Event string

// Events.
const (
	// EvStart: a worker takes up a queued job (export), or a job is created
	// running (upload).
	EvStart Event = "start"
	// EvPause and EvResume: pauseJob and resumeJob. A job waiting for its
	// execTime (or a schedule) is held and released; a queued or running
	// one paused and resumed.
	EvPause  Event = "pause"
	EvResume Event = "resume"
	// EvExecute: executeJob, a job waiting for its execTime runs now.
	EvExecute Event = "execute"
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
	// EvDelete: deleteJob; the job is removed, with its files and log,
	// once no worker holds it (it stops first).
	EvDelete Event = "delete"
)

// Short names for the table.
const (
	scheduled = store.JobScheduled
	held      = store.JobHeld
	queued    = store.JobNew
	running   = store.JobRunning
	paused    = store.JobPaused
	stopping  = store.JobStopping
	completed = store.JobCompleted
	stopped   = store.JobStopped
	failed    = store.JobFailed
	deleting  = store.JobDeleting
)

// transitions is the one table of legal moves: for each event, the state
// it leads to from each state it applies in.
var transitions = map[Event]map[store.JobState]store.JobState{
	EvStart:    {scheduled: running, queued: running},
	EvPause:    {scheduled: held, queued: paused, running: paused},
	EvResume:   {held: scheduled, paused: running},
	EvExecute:  {scheduled: queued, held: queued},
	EvStop:     {scheduled: stopping, held: stopping, queued: stopping, running: stopping, paused: stopping},
	EvHalt:     {stopping: stopped},
	EvComplete: {running: completed},
	EvExpire:   {running: completed, paused: completed},
	EvFail:     {running: failed},
	EvDelete: {scheduled: deleting, held: deleting, queued: deleting, running: deleting, paused: deleting,
		stopping: deleting, completed: deleting, stopped: deleting, failed: deleting},
}

// Events lists every event.
func Events() []Event { return slices.Sorted(maps.Keys(transitions)) }

// Next is the state ev leads to from state, or ok false when the table
// does not allow ev there.
func Next(state store.JobState, ev Event) (next store.JobState, ok bool) {
	next, ok = transitions[ev][state]
	return next, ok
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

// ScheduleStateStore is what moving a recurring schedule needs.
type ScheduleStateStore interface {
	SetScheduleState(ctx context.Context, handle string, from []store.JobState, to store.JobState) (bool, error)
	ScheduleByHandle(ctx context.Context, companyHandle, handle string) (store.Schedule, error)
}

// States applies events to jobs through the transition table. Each move is
// one conditional update, so of two processes applying events to one job
// at once exactly one wins; the other gets a *TransitionError naming the
// state it lost to.
type States struct {
	Store StateStore
	// Schedules moves recurring schedules; nil refuses them.
	Schedules ScheduleStateStore
}

// byTarget groups an event's source states by the state they lead to.
func byTarget(moves map[store.JobState]store.JobState) map[store.JobState][]store.JobState {
	out := map[store.JobState][]store.JobState{}
	for from, to := range moves {
		out[to] = append(out[to], from)
	}
	for to := range out {
		slices.Sort(out[to])
	}
	return out
}

// maxRaces bounds how often Apply rereads a job whose state moved under
// it; each retry means another event won, and states only move forward.
const maxRaces = 8

// Apply moves job handle by ev. It returns the new state, a
// *TransitionError when the job's state does not allow ev, or the store's
// error (store.ErrNotFound for an unknown job).
func (s States) Apply(ctx context.Context, handle string, ev Event) (store.JobState, error) {
	moves, ok := transitions[ev]
	if !ok {
		return "", fmt.Errorf("job %s: unknown event %q", handle, ev)
	}
	targets := byTarget(moves)
	if len(targets) == 1 {
		// One target: one conditional update, no read first.
		for to, from := range targets {
			moved, err := s.Store.SetJobState(ctx, handle, from, to)
			if err != nil {
				return "", fmt.Errorf("job %s: %s: %w", handle, ev, err)
			}
			if moved {
				return to, nil
			}
		}
	}
	for range maxRaces {
		j, err := s.Store.JobByHandle(ctx, "", handle)
		if err != nil {
			return "", fmt.Errorf("job %s: %s: %w", handle, ev, err)
		}
		to, ok := moves[j.State]
		if !ok {
			return "", &TransitionError{Job: handle, Event: ev, State: j.State}
		}
		moved, err := s.Store.SetJobState(ctx, handle, []store.JobState{j.State}, to)
		if err != nil {
			return "", fmt.Errorf("job %s: %s: %w", handle, ev, err)
		}
		if moved {
			return to, nil
		}
	}
	return "", fmt.Errorf("job %s: %s: its state kept changing", handle, ev)
}

// ApplySchedule moves a recurring schedule by ev: only the moves between
// Scheduled and Held (pause and resume) apply to a schedule.
func (s States) ApplySchedule(ctx context.Context, handle string, ev Event) (store.JobState, error) {
	moves, ok := transitions[ev]
	if !ok {
		return "", fmt.Errorf("schedule %s: unknown event %q", handle, ev)
	}
	if s.Schedules == nil {
		return "", fmt.Errorf("schedule %s: %s: no schedule store", handle, ev)
	}
	for range maxRaces {
		sc, err := s.Schedules.ScheduleByHandle(ctx, "", handle)
		if err != nil {
			return "", fmt.Errorf("schedule %s: %s: %w", handle, ev, err)
		}
		to, ok := moves[sc.State]
		if !ok || (to != scheduled && to != held) {
			return "", &TransitionError{Job: handle, Event: ev, State: sc.State}
		}
		moved, err := s.Schedules.SetScheduleState(ctx, handle, []store.JobState{sc.State}, to)
		if err != nil {
			return "", fmt.Errorf("schedule %s: %s: %w", handle, ev, err)
		}
		if moved {
			return to, nil
		}
	}
	return "", fmt.Errorf("schedule %s: %s: its state kept changing", handle, ev)
}

// IsTransitionError reports an event refused by the table.
func IsTransitionError(err error) bool {
	var te *TransitionError
	return errors.As(err, &te)
}
