package jobs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// TestTransitionTable pins every legal move and refuses all the others.
func TestTransitionTable(t *testing.T) {
	legal := map[store.JobState]map[Event]store.JobState{
		store.JobScheduled: {EvStart: store.JobRunning, EvStop: store.JobStopping},
		store.JobNew:       {EvStart: store.JobRunning, EvPause: store.JobPaused, EvStop: store.JobStopping},
		store.JobRunning: {EvPause: store.JobPaused, EvStop: store.JobStopping, EvComplete: store.JobCompleted,
			EvExpire: store.JobCompleted, EvFail: store.JobFailed},
		store.JobPaused:   {EvResume: store.JobRunning, EvStop: store.JobStopping, EvExpire: store.JobCompleted},
		store.JobStopping: {EvHalt: store.JobStopped},
	}
	events := []Event{EvStart, EvPause, EvResume, EvStop, EvHalt, EvComplete, EvExpire, EvFail}
	for _, from := range store.JobStates {
		for _, ev := range events {
			want, ok := legal[from][ev]
			got, gotOK := Next(from, ev)
			assert.Equal(t, ok, gotOK, "%s from %s", ev, from)
			assert.Equal(t, want, got, "%s from %s", ev, from)
		}
	}
	for _, s := range store.EndedJobStates {
		assert.Empty(t, legal[s], "%s is final", s)
	}
}

// fakeStates is a store of one job, as SetJobState and JobByHandle see it.
type fakeStates struct{ state store.JobState }

func (f *fakeStates) SetJobState(_ context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if handle != "j|1|1" {
		return false, store.ErrNotFound
	}
	for _, s := range from {
		if s == f.state {
			f.state = to
			return true, nil
		}
	}
	return false, nil
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
}
