package storetest

// Conformance of what job control and job logs need beyond the basics
// (docs/job-logs.md): cancelled and replaced assets, a schedule's state,
// jobs being deleted, a job's log rows and an asset's log entries.

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

func testFinishJobAssetKinds(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "job"), 5)
	began := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)
	fin := func(seq int, outcome string, replaced bool) store.JobAsset {
		a := finish(seq, outcome, 10)(j.Handle)
		a.Replaced, a.Began, a.Finished = replaced, began, began.Add(time.Second)
		return a
	}
	for _, tc := range []struct {
		a                                             store.JobAsset
		succeeded, warnings, errs, cancelled, updated int
	}{
		{fin(0, store.OutcomeSuccess, true), 1, 0, 0, 0, 1},
		{fin(1, store.OutcomeWarning, true), 2, 1, 0, 0, 2},
		{fin(2, store.OutcomeSuccess, false), 3, 1, 0, 0, 2},
		{fin(3, store.OutcomeCancelled, false), 3, 1, 0, 1, 2},
		{fin(3, store.OutcomeError, false), 3, 1, 0, 1, 2}, // already finished
	} {
		_, err := s.FinishJobAsset(ctx, tc.a)
		require.NoError(t, err)
		got := getJob(t, s, j.Handle)
		assert.Equal(t, []int{tc.succeeded, tc.warnings, tc.errs, tc.cancelled, tc.updated},
			[]int{got.Succeeded, got.Warnings, got.Errors, got.Cancelled, got.Updated}, "seq %d %s", tc.a.Seq, tc.a.Outcome)
	}
	for _, o := range []string{store.OutcomeError, store.OutcomeCancelled} {
		_, err := s.FinishJobAsset(ctx, fin(4, o, true))
		assert.Error(t, err, "a %s asset replaced no file", o)
	}
	rows, _, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle})
	require.NoError(t, err)
	require.Len(t, rows, 4)
	assert.Equal(t, []bool{true, true, false, false}, []bool{rows[0].Replaced, rows[1].Replaced, rows[2].Replaced, rows[3].Replaced})
	assert.Equal(t, micro(began), rows[0].Began)
	assert.Equal(t, micro(began.Add(time.Second)), rows[0].Finished)

	// Began is optional: zero stays zero.
	a := finish(4, store.OutcomeError, 0)(j.Handle)
	_, err = s.FinishJobAsset(ctx, a)
	require.NoError(t, err)
	rows, _, err = s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Offset: 4})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.True(t, rows[0].Began.IsZero())
}

func testDeletingJobHidden(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	kept := mkJob(t, s, newJob(co, "kept"), 1)
	gone := mkJob(t, s, newJob(co, "gone"), 1)
	ok, err := s.SetJobState(ctx, gone.Handle, nil, store.JobDeleting)
	require.NoError(t, err)
	require.True(t, ok)

	all, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Equal(t, []string{kept.Handle}, jobHandles(all), "a job being deleted is left out")
	named, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, OriginalName: "gone"})
	require.NoError(t, err)
	assert.Empty(t, named)
	asked, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: []store.JobState{store.JobDeleting}})
	require.NoError(t, err)
	assert.Equal(t, []string{gone.Handle}, jobHandles(asked), "unless asked for")
	got := getJob(t, s, gone.Handle)
	assert.Equal(t, store.JobDeleting, got.State, "its worker still finds it")
}

func testMarkJobAnnounced(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "job"), 1)
	assert.False(t, j.Announced)
	require.NoError(t, s.MarkJobAnnounced(ctx, j.Handle))
	assert.True(t, getJob(t, s, j.Handle).Announced)
	require.NoError(t, s.MarkJobAnnounced(ctx, j.Handle), "twice")
	for _, h := range append(slices.Clone(malformed), "j|"+companyIDOf(co)+"|999999") {
		assert.ErrorIs(t, s.MarkJobAnnounced(ctx, h), store.ErrNotFound, "%q", h)
	}
}

func testScheduleState(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	a := mkSchedule(t, s, co, "a", t0)
	b := mkSchedule(t, s, co, "b", t0)
	assert.Equal(t, store.JobScheduled, a.State)

	ok, err := s.SetScheduleState(ctx, a.Handle, []store.JobState{store.JobScheduled}, store.JobHeld)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = s.SetScheduleState(ctx, a.Handle, []store.JobState{store.JobScheduled}, store.JobHeld)
	require.NoError(t, err)
	assert.False(t, ok, "already held")
	got, err := s.ScheduleByHandle(ctx, co.Handle, a.Handle)
	require.NoError(t, err)
	assert.Equal(t, store.JobHeld, got.State)

	due, err := s.DueSchedules(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"b"}, scheduleNames(due), "a held schedule does not fire")
	list, err := s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, scheduleNames(list), "but is listed")
	ok, err = s.AdvanceSchedule(ctx, a.Handle, a.NextFire, t0.Add(time.Hour))
	require.NoError(t, err)
	assert.False(t, ok, "nor is moved on by a tick that read it before it was held")

	ok, err = s.SetScheduleState(ctx, a.Handle, []store.JobState{store.JobHeld}, store.JobScheduled)
	require.NoError(t, err)
	assert.True(t, ok)
	due, err = s.DueSchedules(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, scheduleNames(due))

	_, err = s.SetScheduleState(ctx, b.Handle, nil, store.JobRunning)
	assert.Error(t, err, "a schedule is Scheduled or Held")
	in := newSchedule(co, "held", t0)
	in.State = store.JobHeld
	held, err := s.CreateSchedule(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, store.JobHeld, held.State)
	in.State = store.JobNew
	_, err = s.CreateSchedule(ctx, in)
	assert.Error(t, err)

	_, err = s.ScheduleByHandle(ctx, other.Handle, a.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound, "another company's")
	_, err = s.ScheduleByHandle(ctx, "", a.Handle)
	assert.NoError(t, err, "any company")
	for _, h := range append(slices.Clone(malformed), "s|"+companyIDOf(co)+"|999999") {
		_, err := s.SetScheduleState(ctx, h, nil, store.JobHeld)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
		_, err = s.ScheduleByHandle(ctx, "", h)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
}

// loggedJob makes a job of 6 assets finished out of seq order: 0 success
// (began t+1, finished t+5), 1 replaced (t+2, t+3), 2 warning (t+4, t+6),
// 3 error without a start (t+7), 4 cancelled (t+8), 5 pending.
func loggedJob(t *testing.T, s store.Store, co store.Company, t0 time.Time) store.Job {
	t.Helper()
	j := mkJob(t, s, newJob(co, "logged"), 6)
	at := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	for _, f := range []struct {
		seq       int
		outcome   string
		replaced  bool
		began     time.Time
		finishedS int
	}{
		{0, store.OutcomeSuccess, false, at(1), 5},
		{1, store.OutcomeSuccess, true, at(2), 3},
		{2, store.OutcomeWarning, false, at(4), 6},
		{3, store.OutcomeError, false, time.Time{}, 7},
		{4, store.OutcomeCancelled, false, time.Time{}, 8},
	} {
		a := finish(f.seq, f.outcome, 1)(j.Handle)
		a.Replaced, a.Began, a.Finished = f.replaced, f.began, at(f.finishedS)
		_, err := s.FinishJobAsset(context.Background(), a)
		require.NoError(t, err)
	}
	return j
}

// rowKeys names log rows "<kind><seq>".
func rowKeys(rows []store.JobLogRow) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%s%d", r.Kind, r.Asset.Seq))
	}
	return out
}

func testJobLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	j := loggedJob(t, s, co, t0)
	byDate := []string{"Begin0", "Begin1", "Updated1", "Begin2", "Success0", "Warning2", "Error3", "Cancelled4"}
	for _, tc := range []struct {
		name string
		q    store.JobLogQuery
		want []string
	}{
		{"by date", store.JobLogQuery{}, byDate},
		{"by date, reversed", store.JobLogQuery{Descending: true}, reversed(byDate)},
		{"kinds", store.JobLogQuery{Kinds: []store.LogRowKind{store.LogUpdated, store.LogError}}, []string{"Updated1", "Error3"}},
		{"success is not an update", store.JobLogQuery{Kinds: []store.LogRowKind{store.LogSuccess}}, []string{"Success0"}},
		{"by kind, in the order given", store.JobLogQuery{ByKind: true, Kinds: []store.LogRowKind{
			store.LogCancelled, store.LogWarning, store.LogBegin, store.LogSuccess}},
			[]string{"Cancelled4", "Warning2", "Begin0", "Begin1", "Begin2", "Success0"}},
		{"by kind, reversed", store.JobLogQuery{ByKind: true, Descending: true, Kinds: []store.LogRowKind{store.LogBegin, store.LogError}},
			[]string{"Error3", "Begin2", "Begin1", "Begin0"}},
		{"by kind, every kind", store.JobLogQuery{ByKind: true},
			[]string{"Begin0", "Begin1", "Begin2", "Success0", "Updated1", "Warning2", "Error3", "Cancelled4"}},
	} {
		tc.q.JobHandle = j.Handle
		rows, total, err := s.JobLog(ctx, tc.q)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, rowKeys(rows), tc.name)
		assert.Equal(t, len(tc.want), total, tc.name)
	}
	rows, _, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: j.Handle, Kinds: []store.LogRowKind{store.LogBegin, store.LogUpdated}})
	require.NoError(t, err)
	require.Equal(t, []string{"Begin0", "Begin1", "Updated1", "Begin2"}, rowKeys(rows))
	assert.Equal(t, micro(t0.Add(time.Second)), rows[0].Time, "a Begin row's time is Began")
	assert.Equal(t, micro(t0.Add(3*time.Second)), rows[2].Time, "an outcome row's, Finished")
	assert.Equal(t, "asset1", rows[2].Asset.AssetName)
	assert.True(t, rows[2].Asset.Replaced)
	assert.Equal(t, j.Handle, rows[2].Asset.JobHandle)

	// Ties go by seq, then Begin before the outcome.
	tie := mkJob(t, s, newJob(co, "tie"), 2)
	for seq := range 2 {
		a := finish(1-seq, store.OutcomeSuccess, 1)(tie.Handle)
		a.Began, a.Finished = t0, t0
		_, err := s.FinishJobAsset(ctx, a)
		require.NoError(t, err)
	}
	rows, _, err = s.JobLog(ctx, store.JobLogQuery{JobHandle: tie.Handle})
	require.NoError(t, err)
	assert.Equal(t, []string{"Begin0", "Success0", "Begin1", "Success1"}, rowKeys(rows))

	empty := mkJob(t, s, newJob(co, "empty"), 3)
	rows, total, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: empty.Handle})
	require.NoError(t, err)
	assert.Empty(t, rows)
	assert.Zero(t, total)
	_, _, err = s.JobLog(ctx, store.JobLogQuery{JobHandle: j.Handle, Kinds: []store.LogRowKind{"Bogus"}})
	assert.Error(t, err)
	for _, h := range append(slices.Clone(malformed), "j|"+companyIDOf(co)+"|999999", forge(j.Handle, other)) {
		_, _, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: h})
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func testJobLogPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	j := loggedJob(t, s, co, t0)
	all, total, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: j.Handle})
	require.NoError(t, err)
	require.Equal(t, 8, total)
	var paged []store.JobLogRow
	for off := 0; off < 10; off += 3 {
		rows, n, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: j.Handle, Offset: off, Limit: 3})
		require.NoError(t, err)
		assert.Equal(t, 8, n, "total counts every row, at offset %d", off)
		paged = append(paged, rows...)
	}
	assert.Equal(t, rowKeys(all), rowKeys(paged))
	rows, n, err := s.JobLog(ctx, store.JobLogQuery{JobHandle: j.Handle, Offset: 100, Limit: 3})
	require.NoError(t, err)
	assert.Empty(t, rows)
	assert.Equal(t, 8, n, "past the end")
}

func testAssetJobLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mk := func(c store.Company, name string, handles ...string) store.Job {
		assets := jobAssets(len(handles))
		for i, h := range handles {
			assets[i].AssetHandle = h
		}
		j, err := s.CreateJob(ctx, newJob(c, name), assets)
		require.NoError(t, err)
		return j
	}
	fin := func(j store.Job, seq int, outcome string, at time.Time) {
		a := finish(seq, outcome, 1)(j.Handle)
		a.Finished = at
		_, err := s.FinishJobAsset(ctx, a)
		require.NoError(t, err)
	}
	const hero = "a|1|7"
	first := mk(co, "first", hero, "a|1|8")
	second := mk(co, "second", "a|1|9", hero, hero)
	pending := mk(co, "pending", hero)
	gone := mk(co, "gone", hero)
	theirs := mk(other, "theirs", hero)
	fin(first, 0, store.OutcomeSuccess, t0.Add(time.Hour))
	fin(first, 1, store.OutcomeSuccess, t0.Add(time.Hour))
	fin(second, 1, store.OutcomeError, t0.Add(2*time.Hour))
	fin(second, 2, store.OutcomeWarning, t0.Add(3*time.Hour))
	fin(gone, 0, store.OutcomeSuccess, t0.Add(4*time.Hour))
	fin(theirs, 0, store.OutcomeSuccess, t0.Add(5*time.Hour))
	_, err := s.SetJobState(ctx, gone.Handle, nil, store.JobDeleting)
	require.NoError(t, err)
	_ = pending

	got, err := s.AssetJobLogs(ctx, co.Handle, hero, 0)
	require.NoError(t, err)
	var keys []string
	for _, l := range got {
		keys = append(keys, fmt.Sprintf("%s#%d %s", l.Job.OriginalName, l.Asset.Seq, l.Asset.Outcome))
		assert.Equal(t, hero, l.Asset.AssetHandle)
		assert.Equal(t, l.Job.Handle, l.Asset.JobHandle)
		assert.Equal(t, co.Handle, l.Job.CompanyHandle)
	}
	assert.Equal(t, []string{"second#2 Warning", "second#1 Error", "first#0 Success"}, keys,
		"finished ones, newest first; not pending, not being deleted, not another company's")
	assert.Equal(t, "u|1", got[0].Job.SubmitUserHandle)
	assert.Equal(t, micro(t0.Add(3*time.Hour)), got[0].Asset.Finished)

	got, err = s.AssetJobLogs(ctx, co.Handle, hero, 1)
	require.NoError(t, err)
	assert.Len(t, got, 1, "limit")
	got, err = s.AssetJobLogs(ctx, co.Handle, "a|1|404", 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.AssetJobLogs(ctx, "c|999999", hero, 0)
	assert.ErrorIs(t, err, store.ErrNotFound)
}
