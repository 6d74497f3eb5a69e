package jobs

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/store"
)

// submitAt makes an export of assets waiting for execTime at.
func (env *workerEnv) submitAt(t *testing.T, at time.Time, assets ...store.Asset) store.Job {
	ctx := context.Background()
	var handles []string
	for _, a := range assets {
		handles = append(handles, a.Handle)
	}
	x, err := env.e.PrepareExport(ctx, env.co, ExportSpec{Fmt: export.FormatOriginal, EmailSetting: notify.SettingNone}, handles, nil)
	require.NoError(t, err)
	j, err := env.e.SubmitExport(ctx, store.NewJob{CompanyHandle: env.co.Handle, Name: "w_1", OriginalName: "w",
		SubmitUserHandle: env.user.Handle, Locale: "en-US", ExecTime: at}, x)
	require.NoError(t, err)
	return j
}

// chunkStates counts the queue's chunk rows of a job by state.
func (env *workerEnv) chunkStates(t *testing.T, handle string) map[string]int {
	rows, err := env.st.DB().QueryContext(context.Background(),
		`SELECT state, COUNT(*) FROM river_job WHERE kind = ? AND args ->> 'job' = ? GROUP BY state`, chunkKind, handle)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

func TestExecuteJobRunsAWaitingJobNow(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 4, 4))
	b := env.importFile(t, "b.png", solidPNG(t, 4, 4))
	c := env.importFile(t, "c.png", solidPNG(t, 4, 4))
	j := env.submitAt(t, time.Now().Add(24*time.Hour), a, b, c)
	other := env.submitAt(t, time.Now().Add(24*time.Hour), a)
	assert.Equal(t, store.JobScheduled, j.State)
	assert.Equal(t, map[string]int{"scheduled": 2}, env.chunkStates(t, j.Handle), "3 assets in chunks of 2, waiting")

	require.NoError(t, env.e.ExecuteJob(ctx, j))
	assert.Equal(t, store.JobNew, env.job(t, j.Handle).State, "queued now")
	assert.Equal(t, map[string]int{"available": 2}, env.chunkStates(t, j.Handle), "its chunks run now")
	assert.Equal(t, map[string]int{"scheduled": 1}, env.chunkStates(t, other.Handle), "another job's wait on")

	var te *TransitionError
	require.ErrorAs(t, env.e.ExecuteJob(ctx, env.job(t, j.Handle)), &te, "only a waiting job is executed")
	assert.Equal(t, store.JobNew, te.State)
}

func TestHeldJobWaitsAndResumes(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 4, 4))
	future := env.submitAt(t, time.Now().Add(time.Hour), a)
	require.NoError(t, env.e.PauseJob(ctx, future))
	assert.Equal(t, store.JobHeld, env.job(t, future.Handle).State)
	require.NoError(t, env.e.ResumeJob(ctx, env.job(t, future.Handle)))
	assert.Equal(t, store.JobScheduled, env.job(t, future.Handle).State)
	assert.Equal(t, map[string]int{"scheduled": 1}, env.chunkStates(t, future.Handle), "still waits for its time")

	// A job whose time passed while it was held does not start; resumed,
	// it runs.
	past := env.submitAt(t, time.Now().Add(time.Hour), a)
	require.NoError(t, env.e.PauseJob(ctx, past))
	res := env.work(t, past, 0, 1)
	assert.Equal(t, river.EventKindJobSnoozed, res.EventKind, "its time came: it waits")
	assert.Equal(t, store.JobHeld, env.job(t, past.Handle).State)
	got := env.job(t, past.Handle)
	got.ExecTime = time.Now().Add(-time.Minute) // as it is when resumed late
	require.NoError(t, env.e.ResumeJob(ctx, got))
	assert.Equal(t, map[string]int{"available": 1}, env.chunkStates(t, past.Handle), "woken at once")
	res = env.work(t, past, 0, 1)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind)
	assert.Equal(t, store.JobCompleted, env.job(t, past.Handle).State)
}

func TestDeleteJobTakesItsWorkAway(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 4, 4))
	b := env.importFile(t, "b.png", solidPNG(t, 4, 4))

	waiting := env.submitAt(t, time.Now().Add(time.Hour), a, b, a)
	require.Equal(t, 2, env.chunkStates(t, waiting.Handle)["scheduled"])
	require.NoError(t, env.e.DeleteJob(ctx, waiting))
	_, err := env.st.JobByHandle(ctx, "", waiting.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound, "gone at once: no worker held it")
	assert.Empty(t, env.chunkStates(t, waiting.Handle), "no chunk of it is left to run")

	// An ended job goes with its files.
	done := env.submit(t, "", a)
	env.work(t, done, 0, 1)
	require.Equal(t, store.JobCompleted, env.job(t, done.Handle).State)
	require.NoError(t, env.e.DeleteJob(ctx, env.job(t, done.Handle)))
	_, err = env.st.JobByHandle(ctx, "", done.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = os.Stat(env.filesDir + "/exports/" + done.Handle)
	assert.True(t, errors.Is(err, os.ErrNotExist), "its files are removed: %v", err)

	// A job a worker holds is hidden at once and removed by the worker
	// that lets go of it last.
	held := env.submit(t, "", a, b)
	_, err = env.e.states.Apply(ctx, held.Handle, EvDelete)
	require.NoError(t, err)
	list, err := env.st.ListJobs(ctx, store.JobQuery{CompanyHandle: env.co.Handle})
	require.NoError(t, err)
	for _, j := range list {
		assert.NotEqual(t, held.Handle, j.Handle, "a job being deleted is in no listing")
	}
	res := env.work(t, held, 0, 2)
	assert.Equal(t, river.EventKindJobCompleted, res.EventKind)
	_, err = env.st.JobByHandle(ctx, "", held.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound, "the chunk that found it being deleted removed it")

	// Deleting one twice is refused by the table.
	var te *TransitionError
	again := env.submit(t, "", a)
	_, err = env.e.states.Apply(ctx, again.Handle, EvDelete)
	require.NoError(t, err)
	require.ErrorAs(t, env.e.DeleteJob(ctx, env.job(t, again.Handle)), &te)
	assert.Equal(t, store.JobDeleting, te.State)
	require.NoError(t, env.e.Tick(ctx))
	_, err = env.st.JobByHandle(ctx, "", again.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound, "the tick removes what no worker holds")
}

func TestSchedulePauseResumeExecute(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	a := env.importFile(t, "a.png", solidPNG(t, 4, 4))
	now := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	env.e.cfg.Now = func() time.Time { return now }
	env.e.cfg.Location = time.UTC
	sc, err := env.e.AddSchedule(ctx, store.Schedule{CompanyHandle: env.co.Handle, OriginalName: "hourly",
		SubmitUserHandle: env.user.Handle, Cron: "0 0 * * * ?"},
		ScheduleSpec{Export: ExportSpec{Fmt: export.FormatOriginal}, Handles: []string{a.Handle}})
	require.NoError(t, err)
	runs := func() int {
		js, err := env.st.ListJobs(ctx, store.JobQuery{CompanyHandle: env.co.Handle})
		require.NoError(t, err)
		return len(js)
	}

	require.NoError(t, env.e.PauseSchedule(ctx, sc))
	now = now.Add(3 * time.Hour)
	require.NoError(t, env.e.Tick(ctx))
	assert.Zero(t, runs(), "a held schedule does not fire")

	require.NoError(t, env.e.ResumeSchedule(ctx, sc))
	require.NoError(t, env.e.Tick(ctx))
	assert.Equal(t, 1, runs(), "released after its time: it fires once, not once per missed hour")
	got, err := env.st.ScheduleByHandle(ctx, "", sc.Handle)
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Hour), got.NextFire, "then keeps its schedule")

	run, err := env.e.ExecuteSchedule(ctx, got)
	require.NoError(t, err)
	assert.Equal(t, 2, runs())
	assert.Equal(t, sc.Handle, run.ScheduleHandle)
	assert.Equal(t, store.JobNew, run.State, "a run made now")
	got2, err := env.st.ScheduleByHandle(ctx, "", sc.Handle)
	require.NoError(t, err)
	assert.Equal(t, got.NextFire, got2.NextFire, "its next time is left as it was")

	var te *TransitionError
	require.ErrorAs(t, env.e.ResumeSchedule(ctx, got2), &te, "a schedule not held cannot be resumed")
	require.NoError(t, env.e.DeleteSchedule(ctx, got2))
	_, err = env.st.ScheduleByHandle(ctx, "", sc.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func TestLocalZone(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tz       *string
		link     string
		timezone string
		want     string
	}{
		{"TZ", ptr("Europe/Paris"), "/usr/share/zoneinfo/Asia/Tokyo", "America/New_York", "Europe/Paris"},
		{"TZ with a colon", ptr(":America/Chicago"), "", "", "America/Chicago"},
		{"TZ as a path", ptr("/usr/share/zoneinfo/Europe/Berlin"), "", "", "Europe/Berlin"},
		{"TZ empty is UTC", ptr(""), "/usr/share/zoneinfo/Asia/Tokyo", "", "UTC"},
		{"TZ unknown, then the link", ptr("Mars/Olympus"), "/usr/share/zoneinfo/Asia/Tokyo", "", "Asia/Tokyo"},
		{"the link", nil, "../usr/share/zoneinfo/Asia/Tokyo", "America/New_York", "Asia/Tokyo"},
		{"a posix link", nil, "/usr/share/zoneinfo/posix/Europe/Rome", "", "Europe/Rome"},
		{"/etc/timezone when no link", nil, "", "America/New_York\n", "America/New_York"},
		{"nothing: UTC", nil, "", "", "UTC"},
		{"nothing that loads: UTC", nil, "/somewhere/else", "Not/AZone", "UTC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := LocalZone(fakeZone{tz: tc.tz, link: tc.link, timezone: tc.timezone})
			assert.Equal(t, tc.want, loc.String())
			assert.NotEqual(t, "Local", loc.String())
		})
	}
	assert.NotEqual(t, "Local", LocalZone(SystemZone{}).String(), "this machine's zone has a name")
}

func ptr(s string) *string { return &s }

type fakeZone struct {
	tz             *string
	link, timezone string
}

func (f fakeZone) Getenv(key string) (string, bool) {
	if key != "TZ" || f.tz == nil {
		return "", false
	}
	return *f.tz, true
}

func (f fakeZone) Readlink(name string) (string, error) {
	if name != "/etc/localtime" || f.link == "" {
		return "", os.ErrNotExist
	}
	return f.link, nil
}

func (f fakeZone) ReadFile(name string) ([]byte, error) {
	if name != "/etc/timezone" || f.timezone == "" {
		return nil, os.ErrNotExist
	}
	return []byte(f.timezone), nil
}
