package jobs

import (
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// TestTransitionTable pins every legal move and refuses all the others.
func TestTransitionTable(t *testing.T) {
	del := store.JobDeleting
	legal := map[store.JobState]map[Event]store.JobState{
		store.JobScheduled: {EvStart: store.JobRunning, EvPause: store.JobHeld, EvExecute: store.JobNew,
			EvStop: store.JobStopping, EvDelete: del},
		store.JobHeld: {EvResume: store.JobScheduled, EvExecute: store.JobNew, EvStop: store.JobStopping, EvDelete: del},
		store.JobNew:  {EvStart: store.JobRunning, EvPause: store.JobPaused, EvStop: store.JobStopping, EvDelete: del},
		store.JobRunning: {EvPause: store.JobPaused, EvStop: store.JobStopping, EvComplete: store.JobCompleted,
			EvExpire: store.JobCompleted, EvFail: store.JobFailed, EvDelete: del},
		store.JobPaused:    {EvResume: store.JobRunning, EvStop: store.JobStopping, EvExpire: store.JobCompleted, EvDelete: del},
		store.JobStopping:  {EvHalt: store.JobStopped, EvDelete: del},
		store.JobCompleted: {EvDelete: del},
		store.JobStopped:   {EvDelete: del},
		store.JobFailed:    {EvDelete: del},
	}
	events := []Event{EvStart, EvPause, EvResume, EvExecute, EvStop, EvHalt, EvComplete, EvExpire, EvFail, EvDelete}
	assert.ElementsMatch(t, events, Events(), "every event is pinned here")
	for _, from := range store.JobStates {
		for _, ev := range events {
			want, ok := legal[from][ev]
			got, gotOK := Next(from, ev)
			assert.Equal(t, ok, gotOK, "%s from %s", ev, from)
			assert.Equal(t, want, got, "%s from %s", ev, from)
		}
	}
	for _, s := range store.EndedJobStates {
		assert.Equal(t, map[Event]store.JobState{EvDelete: del}, legal[s], "%s is final: it can only go", s)
	}
	assert.Empty(t, legal[del], "a job being deleted only goes")
}

// fakeStates is a store of one job, as SetJobState and JobByHandle see it.
type fakeStates struct{ state store.JobState }

func (f *fakeStates) SetJobState(_ context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if handle != "j|1|1" {
		return false, store.ErrNotFound
	}
	return moveIf(&f.state, from, to), nil
}

// moveIf is a conditional update of one state.
func moveIf(cur *store.JobState, from []store.JobState, to store.JobState) bool {
	if !slices.Contains(from, *cur) {
		return false
	}
	*cur = to
	return true
}

func (f *fakeStates) JobByHandle(_ context.Context, _, handle string) (store.Job, error) {
	if handle != "j|1|1" {
		return store.Job{}, store.ErrNotFound
	}
	return store.Job{Handle: handle, State: f.state}, nil
}

func TestStatesApply(t *testing.T) {
	ctx := context.Background()
	f := &fakeStates{state: store.JobNew}
	s := States{Store: f}

	to, err := s.Apply(ctx, "j|1|1", EvPause)
	require.NoError(t, err)
	assert.Equal(t, store.JobPaused, to)

	_, err = s.Apply(ctx, "j|1|1", EvStart)
	var te *TransitionError
	require.ErrorAs(t, err, &te, "a paused job is not started")
	assert.Equal(t, store.JobPaused, te.State)
	assert.Equal(t, EvStart, te.Event)
	assert.Equal(t, store.JobPaused, f.state, "nothing moved")

	_, err = s.Apply(ctx, "j|9|9", EvStop)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.False(t, IsTransitionError(err))

	_, err = s.Apply(ctx, "j|1|1", Event("explode"))
	assert.Error(t, err)

	// An event whose target depends on the state: a waiting job is held,
	// a queued one paused.
	f.state = store.JobScheduled
	to, err = s.Apply(ctx, "j|1|1", EvPause)
	require.NoError(t, err)
	assert.Equal(t, store.JobHeld, to)
	to, err = s.Apply(ctx, "j|1|1", EvResume)
	require.NoError(t, err)
	assert.Equal(t, store.JobScheduled, to)
	_, err = s.ApplySchedule(ctx, "s|1|1", EvPause)
	assert.Error(t, err, "no schedule store")
}

// racyStates moves the job on between the read and the update once.
type racyStates struct {
	fakeStates
	raced bool
}

func (f *racyStates) SetJobState(ctx context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if !f.raced {
		f.raced = true
		f.state = store.JobRunning // a worker started it meanwhile
		return false, nil
	}
	return f.fakeStates.SetJobState(ctx, handle, from, to)
}

func TestStatesApplyRace(t *testing.T) {
	f := &racyStates{fakeStates: fakeStates{state: store.JobNew}}
	to, err := States{Store: f}.Apply(context.Background(), "j|1|1", EvPause)
	require.NoError(t, err)
	assert.Equal(t, store.JobPaused, to, "paused from the state it lost to")
}

// fakeSchedules is a store of one schedule.
type fakeSchedules struct{ state store.JobState }

func (f *fakeSchedules) SetScheduleState(_ context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if handle != "s|1|1" {
		return false, store.ErrNotFound
	}
	return moveIf(&f.state, from, to), nil
}

func (f *fakeSchedules) ScheduleByHandle(_ context.Context, _, handle string) (store.Schedule, error) {
	if handle != "s|1|1" {
		return store.Schedule{}, store.ErrNotFound
	}
	return store.Schedule{Handle: handle, State: f.state}, nil
}

func TestStatesApplySchedule(t *testing.T) {
	ctx := context.Background()
	f := &fakeSchedules{state: store.JobScheduled}
	s := States{Store: &fakeStates{}, Schedules: f}
	to, err := s.ApplySchedule(ctx, "s|1|1", EvPause)
	require.NoError(t, err)
	assert.Equal(t, store.JobHeld, to)
	_, err = s.ApplySchedule(ctx, "s|1|1", EvPause)
	var te *TransitionError
	require.ErrorAs(t, err, &te, "held twice")
	assert.Equal(t, store.JobHeld, te.State)
	for _, ev := range []Event{EvStop, EvExecute, EvStart, EvDelete} {
		_, err = s.ApplySchedule(ctx, "s|1|1", ev)
		assert.True(t, IsTransitionError(err), "%s does not move a schedule", ev)
	}
	to, err = s.ApplySchedule(ctx, "s|1|1", EvResume)
	require.NoError(t, err)
	assert.Equal(t, store.JobScheduled, to)
	_, err = s.ApplySchedule(ctx, "s|9|9", EvPause)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
