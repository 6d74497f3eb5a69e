package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// ---- jobs ----

func jobHandleRe(co store.Company) *regexp.Regexp {
	return regexp.MustCompile(`^j\|` + companyIDOf(co) + `\|[1-9][0-9]*$`)
}

func scheduleHandleRe(co store.Company) *regexp.Regexp {
	return regexp.MustCompile(`^s\|` + companyIDOf(co) + `\|[1-9][0-9]*$`)
}

// urlSafe is what a job handle may be made of (docs/wire.md, "Handles").
var urlSafe = regexp.MustCompile(`^[A-Za-z0-9|_.-]+$`)

func companyIDOf(co store.Company) string { return strings.TrimPrefix(co.Handle, "c|") }

// forge rewrites the company part of a "x|<company>|<id>" handle.
func forge(handle string, co store.Company) string {
	kind, _, _ := strings.Cut(handle, "|")
	return kind + "|" + companyIDOf(co) + "|" + handle[strings.LastIndex(handle, "|")+1:]
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// micro is t as a store keeps it: UTC, to the microsecond.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func newJob(co store.Company, name string) store.NewJob {
	return store.NewJob{
		CompanyHandle: co.Handle, Type: store.JobTypeExport,
		Name: name + "_2026-01-02T03:04:05", OriginalName: name,
		Locale: "en-US", SubmitUserHandle: "u|1", NotifyUserHandle: "u|1",
		State: store.JobNew, Spec: []byte(`{"fmt":"jpeg"}`),
	}
}

// jobAssets makes n pending assets, named asset<i>.
func jobAssets(n int) []store.JobAsset {
	out := make([]store.JobAsset, n)
	for i := range out {
		out[i] = store.JobAsset{
			AssetHandle: fmt.Sprintf("a|1|%d", 100+i), AssetName: fmt.Sprintf("asset%d", i),
			AssetType: "Image", FolderPath: "shoes/", FileName: fmt.Sprintf("asset%d.jpg", i),
		}
	}
	return out
}

func mkJob(t *testing.T, s store.Store, nj store.NewJob, assets int) store.Job {
	t.Helper()
	j, err := s.CreateJob(context.Background(), nj, jobAssets(assets))
	require.NoError(t, err)
	return j
}

func getJob(t *testing.T, s store.Store, handle string) store.Job {
	t.Helper()
	j, err := s.JobByHandle(context.Background(), "", handle)
	require.NoError(t, err)
	return j
}

func seqs(as []store.JobAsset) []int {
	out := []int{}
	for _, a := range as {
		out = append(out, a.Seq)
	}
	return out
}

func jobHandles(js []store.Job) []string {
	out := []string{}
	for _, j := range js {
		out = append(out, j.Handle)
	}
	return out
}

// counts are a job's counters, compared as one.
type counts struct {
	Total, Succeeded, Warnings, Errors int
	Bytes                              int64
}

func countsOf(j store.Job) counts {
	return counts{j.Total, j.Succeeded, j.Warnings, j.Errors, j.BytesWritten}
}

func finish(seq int, outcome string, size int64) func(h string) store.JobAsset {
	return func(h string) store.JobAsset {
		return store.JobAsset{JobHandle: h, Seq: seq, Outcome: outcome, Size: size,
			Message: outcome + " " + fmt.Sprint(seq), OutputPath: fmt.Sprintf("shoes/asset%d.jpg", seq),
			BlobKey: fmt.Sprintf("exports/%d", seq), SHA256: strings.Repeat("cd", 32)}
	}
}

func testJobCreateAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	berlin := time.FixedZone("CET", 3600)
	nj := newJob(co, "nightly")
	nj.Description, nj.NotifyUserHandle = "Nightly export", "u|2"
	nj.ExecTime = time.Date(2031, 5, 6, 7, 8, 9, 123456789, berlin)
	nj.Expires = time.Date(2031, 5, 13, 7, 8, 9, 999999999, berlin)
	in := jobAssets(3)
	in[1].Seq, in[1].JobHandle = 42, "j|9|9" // the store's to assign
	before := time.Now().Add(-time.Second)
	j, err := s.CreateJob(ctx, nj, in)
	require.NoError(t, err)
	after := time.Now().Add(time.Second)

	assert.Regexp(t, jobHandleRe(co), j.Handle)
	assert.Regexp(t, urlSafe, j.Handle)
	want := store.Job{
		Handle: j.Handle, CompanyHandle: co.Handle, Type: store.JobTypeExport,
		Name: nj.Name, OriginalName: "nightly", Description: "Nightly export", Locale: "en-US",
		SubmitUserHandle: "u|1", NotifyUserHandle: "u|2", State: store.JobNew,
		Spec: []byte(`{"fmt":"jpeg"}`), Total: 3, Submitted: j.Submitted,
		ExecTime: micro(nj.ExecTime), Expires: micro(nj.Expires),
	}
	assert.Equal(t, want, j)
	assert.True(t, j.Submitted.After(before) && j.Submitted.Before(after), "submitted %v is now", j.Submitted)

	for _, co := range []string{co.Handle, ""} {
		got, err := s.JobByHandle(ctx, co, j.Handle)
		require.NoError(t, err, "company %q", co)
		assert.Equal(t, j, got, "company %q", co)
	}

	got, total, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Outcomes: []string{store.OutcomePending}})
	require.NoError(t, err)
	assert.Equal(t, 3, total)
	wantAssets := jobAssets(3)
	for i := range wantAssets {
		wantAssets[i].JobHandle, wantAssets[i].Seq = j.Handle, i
	}
	assert.Equal(t, wantAssets, got)
	got, total, err = s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle})
	require.NoError(t, err)
	assert.Empty(t, got, "no finished assets yet")
	assert.Zero(t, total)

	// Variants: an upload starts Running (and so has started), without
	// assets, without a spec.
	up := newJob(co, "upload")
	up.Type, up.State, up.Spec = store.JobTypeUpload, store.JobRunning, nil
	u := mkJob(t, s, up, 0)
	assert.Equal(t, u.Submitted, u.Started, "created running")
	assert.Zero(t, u.Total)
	assert.Nil(t, u.Spec)
	assert.Equal(t, u, getJob(t, s, u.Handle))
	sch := newJob(co, "later")
	sch.State, sch.Spec = store.JobScheduled, []byte{}
	l := mkJob(t, s, sch, 1)
	assert.True(t, l.Started.IsZero())
	assert.Nil(t, l.Spec, "an empty spec is nil")
	assert.Equal(t, l, getJob(t, s, l.Handle))
	assert.NotEqual(t, u.Handle, l.Handle)
}

func testJobCreateErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	theirSchedule := mkSchedule(t, s, other, "theirs", time.Now().Add(time.Hour))
	finished := jobAssets(3)
	finished[2].Outcome = store.OutcomeSuccess
	for _, tc := range []struct {
		name     string
		mod      func(*store.NewJob)
		assets   []store.JobAsset
		notFound bool
	}{
		{"unknown company", func(nj *store.NewJob) { nj.CompanyHandle = "c|999999" }, nil, true},
		{"malformed company", func(nj *store.NewJob) { nj.CompanyHandle = "x" }, nil, true},
		{"no type", func(nj *store.NewJob) { nj.Type = "" }, nil, false},
		{"no state", func(nj *store.NewJob) { nj.State = "" }, nil, false},
		{"ended state", func(nj *store.NewJob) { nj.State = store.JobCompleted }, nil, false},
		{"unknown state", func(nj *store.NewJob) { nj.State = "Bogus" }, nil, false},
		{"asset with an outcome", func(*store.NewJob) {}, finished, false},
		{"foreign schedule", func(nj *store.NewJob) { nj.ScheduleHandle = theirSchedule.Handle }, nil, true},
		{"malformed schedule", func(nj *store.NewJob) { nj.ScheduleHandle = "s|1" }, nil, true},
		{"exec time out of range", func(nj *store.NewJob) { nj.ExecTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, nil, false},
	} {
		nj := newJob(co, "bad")
		tc.mod(&nj)
		_, err := s.CreateJob(ctx, nj, tc.assets)
		if tc.notFound {
			assert.ErrorIs(t, err, store.ErrNotFound, tc.name)
		} else {
			assert.Error(t, err, tc.name)
		}
	}
	jobs, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Empty(t, jobs, "nothing created")
}

func testJobNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	theirs := mkJob(t, s, newJob(other, "theirs"), 2)
	sched := mkSchedule(t, s, other, "s", time.Now())
	cid := companyIDOf(other)

	bad := append(slices.Clone(malformed), forge(theirs.Handle, acme), "j|"+cid+"|999999", "j|"+cid,
		"a"+strings.TrimPrefix(theirs.Handle, "j"), strings.TrimPrefix(theirs.Handle, "j|"),
		strings.ToUpper(theirs.Handle), sched.Handle, theirs.Handle+"|1")
	for _, h := range bad {
		_, err := s.JobByHandle(ctx, "", h)
		assert.ErrorIs(t, err, store.ErrNotFound, "JobByHandle %q", h)
		_, err = s.SetJobState(ctx, h, nil, store.JobRunning)
		assert.ErrorIs(t, err, store.ErrNotFound, "SetJobState %q", h)
		_, err = s.AddJobAssets(ctx, h, jobAssets(1))
		assert.ErrorIs(t, err, store.ErrNotFound, "AddJobAssets %q", h)
		_, _, err = s.JobAssets(ctx, store.JobAssetQuery{JobHandle: h, Outcomes: []string{store.OutcomePending}})
		assert.ErrorIs(t, err, store.ErrNotFound, "JobAssets %q", h)
		_, err = s.PendingJobAssets(ctx, h, 0, 10)
		assert.ErrorIs(t, err, store.ErrNotFound, "PendingJobAssets %q", h)
		_, err = s.FinishJobAsset(ctx, finish(0, store.OutcomeSuccess, 1)(h))
		assert.ErrorIs(t, err, store.ErrNotFound, "FinishJobAsset %q", h)
		assert.ErrorIs(t, s.MarkJobPurged(ctx, h), store.ErrNotFound, "MarkJobPurged %q", h)
		assert.ErrorIs(t, s.DeleteJob(ctx, other.Handle, h), store.ErrNotFound, "DeleteJob %q", h)
	}
	// Another company's job, by its own handle.
	for _, co := range append(slices.Clone(malformed[1:]), acme.Handle, "c|999999") {
		_, err := s.JobByHandle(ctx, co, theirs.Handle)
		assert.ErrorIs(t, err, store.ErrNotFound, "company %q", co)
		assert.ErrorIs(t, s.DeleteJob(ctx, co, theirs.Handle), store.ErrNotFound, "delete as %q", co)
	}
	mine, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: acme.Handle})
	require.NoError(t, err)
	assert.Empty(t, mine)
	_, err = s.ListJobs(ctx, store.JobQuery{CompanyHandle: "c|999999"})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListJobs(ctx, store.JobQuery{})
	assert.ErrorIs(t, err, store.ErrNotFound, "the company is required")

	// An unknown seq of a real job.
	for _, seq := range []int{2, 99, -1} {
		_, err = s.FinishJobAsset(ctx, finish(seq, store.OutcomeSuccess, 1)(theirs.Handle))
		assert.ErrorIs(t, err, store.ErrNotFound, "seq %d", seq)
	}

	// All of it left theirs untouched.
	got := getJob(t, s, theirs.Handle)
	assert.Equal(t, theirs, got)
	pending, err := s.PendingJobAssets(ctx, theirs.Handle, 0, 10)
	require.NoError(t, err)
	assert.Len(t, pending, 2)
}

func testListJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	mkJob(t, s, newJob(other, "daily"), 1) // never listed

	type spec struct {
		name, typ string
		state     store.JobState
	}
	specs := []spec{
		{"daily", store.JobTypeExport, store.JobCompleted},
		{"daily", store.JobTypeExport, store.JobRunning},
		{"upload", store.JobTypeUpload, store.JobRunning},
		{"Daily", store.JobTypeExport, store.JobNew},
		{"weekly", store.JobTypeExport, store.JobFailed},
		{"daily", store.JobTypeExport, store.JobNew},
	}
	var jobs []store.Job
	for _, sp := range specs {
		nj := newJob(co, sp.name)
		nj.Type = sp.typ
		j := mkJob(t, s, nj, 0)
		if sp.state != store.JobNew {
			ok, err := s.SetJobState(ctx, j.Handle, nil, sp.state)
			require.NoError(t, err)
			require.True(t, ok)
		}
		jobs = append(jobs, j)
	}
	// Jobs are listed by Submitted, then in the order they were made
	// (which is also Submitted's, unless the clock stepped back).
	ordered := func(idx []int) []string {
		slices.SortStableFunc(idx, func(a, b int) int { return jobs[a].Submitted.Compare(jobs[b].Submitted) })
		out := []string{}
		for _, i := range idx {
			out = append(out, jobs[i].Handle)
		}
		return out
	}
	byIndex := func(idx ...int) []string { return ordered(idx) }
	reversed := func(h []string) []string { slices.Reverse(h); return h }
	inRange := func(from, to time.Time) []string {
		var idx []int
		for i, j := range jobs {
			if !j.Submitted.Before(from) && !j.Submitted.After(to) {
				idx = append(idx, i)
			}
		}
		return ordered(idx)
	}
	third := jobs[2].Submitted
	earliest, latest := third, third
	for _, j := range jobs {
		earliest, latest = minTime(earliest, j.Submitted), maxTime(latest, j.Submitted)
	}
	for _, tc := range []struct {
		name string
		q    store.JobQuery
		want []string
	}{
		{"all", store.JobQuery{}, byIndex(0, 1, 2, 3, 4, 5)},
		{"descending", store.JobQuery{Descending: true}, reversed(byIndex(0, 1, 2, 3, 4, 5))},
		{"limit", store.JobQuery{Limit: 2}, byIndex(0, 1, 2, 3, 4, 5)[:2]},
		{"limit descending", store.JobQuery{Limit: 2, Descending: true}, reversed(byIndex(0, 1, 2, 3, 4, 5))[:2]},
		{"active", store.JobQuery{States: store.ActiveJobStates}, byIndex(1, 2, 3, 5)},
		{"ended", store.JobQuery{States: store.EndedJobStates}, byIndex(0, 4)},
		{"one state", store.JobQuery{States: []store.JobState{store.JobNew}}, byIndex(3, 5)},
		{"unknown state", store.JobQuery{States: []store.JobState{"Bogus"}}, byIndex()},
		{"type", store.JobQuery{Types: []string{store.JobTypeUpload}}, byIndex(2)},
		{"types", store.JobQuery{Types: []string{store.JobTypeUpload, store.JobTypeExport}}, byIndex(0, 1, 2, 3, 4, 5)},
		{"original name, exact", store.JobQuery{OriginalName: "daily"}, byIndex(0, 1, 5)},
		{"original name, other case", store.JobQuery{OriginalName: "DAILY"}, byIndex()},
		{"original name and state", store.JobQuery{OriginalName: "daily", States: []store.JobState{store.JobNew, store.JobRunning}}, byIndex(1, 5)},
		{"original name, newest", store.JobQuery{OriginalName: "daily", Descending: true, Limit: 1}, reversed(byIndex(0, 1, 5))[:1]},
		{"from", store.JobQuery{From: third}, inRange(third, latest)},
		{"to", store.JobQuery{To: third}, inRange(earliest, third)},
		{"from to", store.JobQuery{From: third, To: third}, inRange(third, third)},
		{"from after", store.JobQuery{From: latest.Add(time.Microsecond)}, byIndex()},
		{"to before", store.JobQuery{To: earliest.Add(-time.Microsecond)}, byIndex()},
		{"from just after, below the microsecond", store.JobQuery{From: latest.Add(time.Nanosecond)}, byIndex()},
		{"to just before, below the microsecond", store.JobQuery{To: earliest.Add(-time.Nanosecond)}, byIndex()},
		{"from a nanosecond before", store.JobQuery{From: third.Add(-time.Nanosecond), To: third}, inRange(third, third)},
		{"to a nanosecond after", store.JobQuery{From: third, To: third.Add(time.Nanosecond)}, inRange(third, third)},
		{"bounds far out", store.JobQuery{From: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), To: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}, byIndex(0, 1, 2, 3, 4, 5)},
	} {
		tc.q.CompanyHandle = co.Handle
		got, err := s.ListJobs(ctx, tc.q)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, jobHandles(got), tc.name)
	}
	// What is listed is the whole job.
	got, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, getJob(t, s, jobs[0].Handle), got[0])
}

func testSetJobState(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "job"), 1)
	var started time.Time
	for _, tc := range []struct {
		from        []store.JobState
		to          store.JobState
		changed     bool
		state       store.JobState
		started     bool // Started set
		sameStarted bool // and unchanged since it was
		ended       bool
	}{
		{[]store.JobState{store.JobRunning}, store.JobPaused, false, store.JobNew, false, false, false},
		{[]store.JobState{store.JobNew}, store.JobRunning, true, store.JobRunning, true, false, false},
		{[]store.JobState{store.JobNew}, store.JobRunning, false, store.JobRunning, true, true, false},
		{[]store.JobState{store.JobRunning}, store.JobPaused, true, store.JobPaused, true, true, false},
		{[]store.JobState{store.JobPaused}, store.JobRunning, true, store.JobRunning, true, true, false},
		{store.ActiveJobStates, store.JobStopping, true, store.JobStopping, true, true, false},
		{[]store.JobState{store.JobStopping}, store.JobStopped, true, store.JobStopped, true, true, true},
		{store.ActiveJobStates, store.JobRunning, false, store.JobStopped, true, true, true},
	} {
		name := fmt.Sprintf("%v -> %s", tc.from, tc.to)
		ok, err := s.SetJobState(ctx, j.Handle, tc.from, tc.to)
		require.NoError(t, err, name)
		assert.Equal(t, tc.changed, ok, name)
		got := getJob(t, s, j.Handle)
		assert.Equal(t, tc.state, got.State, name)
		assert.Equal(t, tc.started, !got.Started.IsZero(), "%s: started %v", name, got.Started)
		if tc.sameStarted {
			assert.Equal(t, started, got.Started, "%s: Started stays the first start", name)
		}
		started = got.Started
		assert.Equal(t, tc.ended, !got.Ended.IsZero(), "%s: ended %v", name, got.Ended)
		if tc.ended {
			assert.False(t, got.Ended.Before(got.Started), name)
		}
	}

	// Every ended state sets Ended; a job that never ran has no Started.
	for _, to := range store.EndedJobStates {
		j := mkJob(t, s, newJob(co, "x"), 0)
		ok, err := s.SetJobState(ctx, j.Handle, nil, to)
		require.NoError(t, err)
		assert.True(t, ok)
		got := getJob(t, s, j.Handle)
		assert.Equal(t, to, got.State)
		assert.False(t, got.Ended.IsZero(), to)
		assert.True(t, got.Started.IsZero(), to)
		assert.Equal(t, j.Submitted, got.Submitted)
	}

	_, err := s.SetJobState(ctx, j.Handle, nil, "Bogus")
	assert.Error(t, err)
	assert.Equal(t, store.JobStopped, getJob(t, s, j.Handle).State, "unknown state refused")

	// Workers racing to claim a job: exactly one does.
	claim := mkJob(t, s, newJob(co, "claim"), 1)
	const workers = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  int
		errs []error
	)
	for range workers {
		wg.Go(func() {
			ok, err := s.SetJobState(ctx, claim.Handle, []store.JobState{store.JobNew}, store.JobRunning)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				won++
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	assert.Equal(t, 1, won)
}

func testAddJobAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	nj := newJob(co, "upload")
	nj.Type, nj.State = store.JobTypeUpload, store.JobRunning
	j := mkJob(t, s, nj, 0)

	in := jobAssets(5)
	in[0].Seq, in[0].JobHandle = 7, "j|9|9" // the store's to assign
	added, err := s.AddJobAssets(ctx, j.Handle, in[:2])
	require.NoError(t, err)
	assert.Equal(t, []int{0, 1}, seqs(added))
	for i, a := range added {
		assert.Equal(t, j.Handle, a.JobHandle)
		assert.Equal(t, in[i].AssetName, a.AssetName)
	}
	added, err = s.AddJobAssets(ctx, j.Handle, in[2:])
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 4}, seqs(added))
	assert.Equal(t, 5, getJob(t, s, j.Handle).Total)

	added, err = s.AddJobAssets(ctx, j.Handle, nil)
	require.NoError(t, err)
	assert.Empty(t, added)
	bad := jobAssets(2)
	bad[1].Outcome = store.OutcomeError
	_, err = s.AddJobAssets(ctx, j.Handle, bad)
	assert.Error(t, err, "assets are added pending")

	got, total, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Outcomes: []string{store.OutcomePending}})
	require.NoError(t, err)
	assert.Equal(t, 5, total)
	want := jobAssets(5)
	for i := range want {
		want[i].JobHandle, want[i].Seq = j.Handle, i
	}
	assert.Equal(t, want, got)
	assert.Equal(t, 5, getJob(t, s, j.Handle).Total, "refused adds changed nothing")

	// An ended job takes no more assets.
	ok, err := s.SetJobState(ctx, j.Handle, nil, store.JobCompleted)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.AddJobAssets(ctx, j.Handle, jobAssets(1))
	assert.Error(t, err)
	assert.Equal(t, 5, getJob(t, s, j.Handle).Total)
}

func testAddJobAssetsConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	nj := newJob(co, "upload")
	nj.Type, nj.State = store.JobTypeUpload, store.JobRunning
	j := mkJob(t, s, nj, 0)
	const workers, calls, each = 6, 4, 3
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  = map[int]string{} // seq → asset name
		errs []error
	)
	for w := range workers {
		wg.Go(func() {
			for c := range calls {
				in := jobAssets(each)
				for i := range in {
					in[i].AssetName = fmt.Sprintf("w%d_c%d_%d", w, c, i)
				}
				added, err := s.AddJobAssets(ctx, j.Handle, in)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				}
				for i, a := range added {
					if prev, dup := got[a.Seq]; dup {
						errs = append(errs, fmt.Errorf("seq %d given to %s and %s", a.Seq, prev, a.AssetName))
					}
					got[a.Seq] = a.AssetName
					if i > 0 && a.Seq != added[i-1].Seq+1 {
						errs = append(errs, fmt.Errorf("one call's seqs not consecutive: %v", seqs(added)))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	const n = workers * calls * each
	assert.Len(t, got, n)
	assert.Equal(t, n, getJob(t, s, j.Handle).Total)
	stored, err := s.PendingJobAssets(ctx, j.Handle, 0, n+10)
	require.NoError(t, err)
	require.Len(t, stored, n)
	for i, a := range stored {
		assert.Equal(t, i, a.Seq)
		assert.Equal(t, got[i], a.AssetName, "seq %d is the asset it was returned with", i)
	}
}

func testManyJobAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	// More assets than one statement inserts (a driver may batch them).
	const created, added = 1201, 501
	j := mkJob(t, s, newJob(co, "big"), created)
	assert.Equal(t, created, j.Total)
	more := jobAssets(created + added)[created:]
	got, err := s.AddJobAssets(ctx, j.Handle, more)
	require.NoError(t, err)
	require.Len(t, got, added)
	assert.Equal(t, created, got[0].Seq)
	assert.Equal(t, created+added-1, got[added-1].Seq)
	assert.Equal(t, created+added, getJob(t, s, j.Handle).Total)

	all, err := s.PendingJobAssets(ctx, j.Handle, 0, created+added)
	require.NoError(t, err)
	require.Len(t, all, created+added)
	for i, a := range all {
		if a.Seq != i || a.AssetName != fmt.Sprintf("asset%d", i) {
			t.Fatalf("asset %d is seq %d, %s", i, a.Seq, a.AssetName)
		}
	}
	page, total, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle,
		Outcomes: []string{store.OutcomePending}, Descending: true, Limit: 3})
	require.NoError(t, err)
	assert.Equal(t, created+added, total)
	assert.Equal(t, []int{created + added - 1, created + added - 2, created + added - 3}, seqs(page))
}

// mkLoggedJob makes a job of ten assets and finishes some:
// 0 Success, 1 Warning, 2 Error, 3 Success, 5 Error, 7 Warning; 4, 6, 8
// and 9 stay pending.
func mkLoggedJob(t *testing.T, s store.Store, co store.Company) store.Job {
	t.Helper()
	j := mkJob(t, s, newJob(co, "logged"), 10)
	for _, f := range []func(string) store.JobAsset{
		finish(0, store.OutcomeSuccess, 10), finish(1, store.OutcomeWarning, 20), finish(2, store.OutcomeError, 0),
		finish(3, store.OutcomeSuccess, 30), finish(5, store.OutcomeError, 0), finish(7, store.OutcomeWarning, 40),
	} {
		ok, err := s.FinishJobAsset(context.Background(), f(j.Handle))
		require.NoError(t, err)
		require.True(t, ok)
	}
	return j
}

func testJobAssetsPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkLoggedJob(t, s, co)
	pending, ok, warn, fail := store.OutcomePending, store.OutcomeSuccess, store.OutcomeWarning, store.OutcomeError
	for _, tc := range []struct {
		name  string
		q     store.JobAssetQuery
		want  []int
		total int
	}{
		{"finished", store.JobAssetQuery{}, []int{0, 1, 2, 3, 5, 7}, 6},
		{"descending", store.JobAssetQuery{Descending: true}, []int{7, 5, 3, 2, 1, 0}, 6},
		{"errors", store.JobAssetQuery{Outcomes: []string{fail}}, []int{2, 5}, 2},
		{"warnings, descending", store.JobAssetQuery{Outcomes: []string{warn}, Descending: true}, []int{7, 1}, 2},
		{"success and warning", store.JobAssetQuery{Outcomes: []string{ok, warn}}, []int{0, 1, 3, 7}, 4},
		{"pending", store.JobAssetQuery{Outcomes: []string{pending}}, []int{4, 6, 8, 9}, 4},
		{"pending and success", store.JobAssetQuery{Outcomes: []string{pending, ok}}, []int{0, 3, 4, 6, 8, 9}, 6},
		{"all", store.JobAssetQuery{Outcomes: []string{pending, ok, warn, fail}}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10},
		{"first page", store.JobAssetQuery{Limit: 2}, []int{0, 1}, 6},
		{"second page", store.JobAssetQuery{Offset: 2, Limit: 2}, []int{2, 3}, 6},
		{"last page, short", store.JobAssetQuery{Offset: 4, Limit: 10}, []int{5, 7}, 6},
		{"past the end", store.JobAssetQuery{Offset: 6, Limit: 2}, []int{}, 6},
		{"far past the end", store.JobAssetQuery{Offset: 100}, []int{}, 6},
		{"offset without limit", store.JobAssetQuery{Offset: 3}, []int{3, 5, 7}, 6},
		{"descending page", store.JobAssetQuery{Descending: true, Offset: 1, Limit: 2}, []int{5, 3}, 6},
		{"pending past the end", store.JobAssetQuery{Outcomes: []string{pending}, Offset: 10}, []int{}, 4},
		{"negative offset", store.JobAssetQuery{Offset: -5, Limit: 1}, []int{0}, 6},
		{"unknown outcome", store.JobAssetQuery{Outcomes: []string{"Bogus"}}, []int{}, 0},
	} {
		tc.q.JobHandle = j.Handle
		got, total, err := s.JobAssets(ctx, tc.q)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, seqs(got), tc.name)
		assert.Equal(t, tc.total, total, tc.name)
	}

	// A finished asset is its log detail.
	got, _, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Outcomes: []string{warn}, Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	want := finish(1, warn, 20)(j.Handle)
	src := jobAssets(2)[1]
	want.AssetHandle, want.AssetName, want.AssetType, want.FolderPath, want.FileName =
		src.AssetHandle, src.AssetName, src.AssetType, src.FolderPath, src.FileName
	want.Finished = got[0].Finished
	assert.Equal(t, want, got[0])
	assert.False(t, got[0].Finished.IsZero(), "finished now, when not given")
}

func testPendingJobAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkLoggedJob(t, s, co)
	mkLoggedJob(t, s, co) // another job's pending assets are not this one's
	for _, tc := range []struct {
		from, to int
		want     []int
	}{
		{0, 10, []int{4, 6, 8, 9}},
		{0, 1000, []int{4, 6, 8, 9}},
		{5, 9, []int{6, 8}},
		{4, 5, []int{4}},
		{4, 4, []int{}},
		{0, 4, []int{}},
		{9, 10, []int{9}},
		{8, 2, []int{}},
		{-10, 5, []int{4}},
	} {
		got, err := s.PendingJobAssets(ctx, j.Handle, tc.from, tc.to)
		require.NoError(t, err, "[%d, %d)", tc.from, tc.to)
		assert.Equal(t, tc.want, seqs(got), "[%d, %d)", tc.from, tc.to)
		for _, a := range got {
			assert.Equal(t, j.Handle, a.JobHandle)
			assert.Equal(t, fmt.Sprintf("asset%d", a.Seq), a.AssetName)
			assert.Empty(t, a.Outcome)
		}
	}
}

func testFinishJobAsset(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "job"), 4)
	for _, tc := range []struct {
		name    string
		a       func(string) store.JobAsset
		changed bool
		want    counts
	}{
		{"success", finish(0, store.OutcomeSuccess, 100), true, counts{4, 1, 0, 0, 100}},
		{"success again", finish(0, store.OutcomeSuccess, 100), false, counts{4, 1, 0, 0, 100}},
		{"again as an error", finish(0, store.OutcomeError, 7), false, counts{4, 1, 0, 0, 100}},
		{"warning counts as a success too", finish(1, store.OutcomeWarning, 50), true, counts{4, 2, 1, 0, 150}},
		{"warning again", finish(1, store.OutcomeWarning, 50), false, counts{4, 2, 1, 0, 150}},
		{"error", finish(2, store.OutcomeError, 0), true, counts{4, 2, 1, 1, 150}},
		{"error with bytes", finish(3, store.OutcomeError, 5), true, counts{4, 2, 1, 2, 155}},
		{"error again as a success", finish(3, store.OutcomeSuccess, 5), false, counts{4, 2, 1, 2, 155}},
	} {
		ok, err := s.FinishJobAsset(ctx, tc.a(j.Handle))
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.changed, ok, tc.name)
		assert.Equal(t, tc.want, countsOf(getJob(t, s, j.Handle)), tc.name)
	}
	// The first outcome stays: a retry changes nothing.
	got, _, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle})
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, []string{store.OutcomeSuccess, store.OutcomeWarning, store.OutcomeError, store.OutcomeError},
		[]string{got[0].Outcome, got[1].Outcome, got[2].Outcome, got[3].Outcome})
	assert.Equal(t, int64(100), got[0].Size)
	assert.Equal(t, "Success 0", got[0].Message)

	j2 := mkJob(t, s, newJob(co, "invalid"), 2)
	for _, tc := range []struct {
		name string
		a    store.JobAsset
	}{
		{"pending is no outcome", store.JobAsset{JobHandle: j2.Handle, Seq: 0, Outcome: store.OutcomePending}},
		{"unknown outcome", store.JobAsset{JobHandle: j2.Handle, Seq: 0, Outcome: "Bogus"}},
		{"negative size", store.JobAsset{JobHandle: j2.Handle, Seq: 0, Outcome: store.OutcomeSuccess, Size: -1}},
		{"finished out of range", store.JobAsset{JobHandle: j2.Handle, Seq: 0, Outcome: store.OutcomeSuccess, Finished: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		_, err := s.FinishJobAsset(ctx, tc.a)
		assert.Error(t, err, tc.name)
	}
	assert.Equal(t, counts{Total: 2}, countsOf(getJob(t, s, j2.Handle)), "refused finishes count nothing")
	pending, err := s.PendingJobAssets(ctx, j2.Handle, 0, 2)
	require.NoError(t, err)
	assert.Len(t, pending, 2)

	// Finished as given, to the microsecond.
	when := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("X", -7*3600))
	a := finish(1, store.OutcomeSuccess, 1)(j2.Handle)
	a.Finished = when
	ok, err := s.FinishJobAsset(ctx, a)
	require.NoError(t, err)
	require.True(t, ok)
	got, _, err = s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j2.Handle})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, micro(when), got[0].Finished)
}

func testCreateJobFrom(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	const n = 1234 // several insert batches
	j, err := s.CreateJobFrom(ctx, newJob(co, "streamed"), n, slices.Values(jobAssets(n)))
	require.NoError(t, err)
	assert.Equal(t, n, j.Total)
	assert.Equal(t, n, getJob(t, s, j.Handle).Total)
	got, err := s.PendingJobAssets(ctx, j.Handle, 0, n)
	require.NoError(t, err)
	require.Len(t, got, n)
	for i, a := range got {
		require.Equal(t, i, a.Seq)
		require.Equal(t, fmt.Sprintf("asset%d", i), a.AssetName)
	}

	// A count that does not match, or an asset with an outcome, creates
	// nothing at all.
	before, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	bad := jobAssets(3)
	bad[2].Outcome = store.OutcomeSuccess
	for name, tc := range map[string]struct {
		n      int
		assets []store.JobAsset
	}{
		"fewer than announced": {5, jobAssets(4)},
		"more than announced":  {3, jobAssets(4)},
		"negative count":       {-1, nil},
		"finished asset":       {3, bad},
	} {
		_, err := s.CreateJobFrom(ctx, newJob(co, "bad"), tc.n, slices.Values(tc.assets))
		assert.Error(t, err, name)
	}
	after, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Equal(t, jobHandles(before), jobHandles(after))
}

func testJobFiles(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	j := mkJob(t, s, newJob(co, "files"), 5)
	for _, f := range []func(string) store.JobAsset{
		finish(3, store.OutcomeWarning, 30), finish(0, store.OutcomeSuccess, 10), finish(1, store.OutcomeError, 0),
	} {
		_, err := s.FinishJobAsset(ctx, f(j.Handle))
		require.NoError(t, err)
	}
	// A success without a stored file (nothing to download) is left out.
	noBlob := finish(4, store.OutcomeSuccess, 0)(j.Handle)
	noBlob.BlobKey = ""
	_, err := s.FinishJobAsset(ctx, noBlob)
	require.NoError(t, err)

	got, err := s.JobFiles(ctx, j.Handle, "")
	require.NoError(t, err)
	assert.Equal(t, []store.JobFile{
		{Path: "shoes/asset0.jpg", BlobKey: "exports/0", Size: 10},
		{Path: "shoes/asset3.jpg", BlobKey: "exports/3", Size: 30},
	}, got, "successes and warnings by seq; errors and pending left out")

	got, err = s.JobFiles(ctx, j.Handle, "shoes/asset3.jpg")
	require.NoError(t, err)
	assert.Equal(t, []store.JobFile{{Path: "shoes/asset3.jpg", BlobKey: "exports/3", Size: 30}}, got)
	for _, p := range []string{"shoes/asset1.jpg", "shoes/asset2.jpg", "SHOES/asset3.jpg", "asset3.jpg"} {
		got, err = s.JobFiles(ctx, j.Handle, p)
		require.NoError(t, err, p)
		assert.Empty(t, got, "%s: an error, a pending asset or another spelling is no file", p)
	}

	empty := mkJob(t, s, newJob(co, "empty"), 2)
	got, err = s.JobFiles(ctx, empty.Handle, "")
	require.NoError(t, err)
	assert.Empty(t, got)

	other := mkCompany(t, s, "Other")
	foreign := mkJob(t, s, newJob(other, "theirs"), 1)
	_, err = s.FinishJobAsset(ctx, finish(0, store.OutcomeSuccess, 1)(foreign.Handle))
	require.NoError(t, err)
	for _, h := range []string{"j|" + companyIDOf(co) + "|999999", "bogus", forge(foreign.Handle, co)} {
		_, err = s.JobFiles(ctx, h, "")
		assert.ErrorIs(t, err, store.ErrNotFound, h)
	}
}

func testFinishJobAssetConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	const assets, workers = 40, 8
	j := mkJob(t, s, newJob(co, "busy"), assets)
	outcome := func(seq int) string {
		return []string{store.OutcomeSuccess, store.OutcomeWarning, store.OutcomeError}[seq%3]
	}
	var want counts
	want.Total = assets
	for seq := range assets {
		switch outcome(seq) {
		case store.OutcomeSuccess:
			want.Succeeded++
		case store.OutcomeWarning:
			want.Succeeded++
			want.Warnings++
		case store.OutcomeError:
			want.Errors++
		}
		want.Bytes += int64(seq + 1)
	}
	// Each asset is finished by two workers at once (a retried worker
	// racing the first): one of them records it.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins = map[int]int{}
		errs []error
	)
	for w := range workers {
		wg.Go(func() {
			for seq := w % (workers / 2); seq < assets; seq += workers / 2 {
				ok, err := s.FinishJobAsset(ctx, finish(seq, outcome(seq), int64(seq+1))(j.Handle))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					wins[seq]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	assert.Len(t, wins, assets)
	for seq, n := range wins {
		assert.Equal(t, 1, n, "seq %d recorded once", seq)
	}
	assert.Equal(t, want, countsOf(getJob(t, s, j.Handle)))
	pending, err := s.PendingJobAssets(ctx, j.Handle, 0, assets)
	require.NoError(t, err)
	assert.Empty(t, pending)
}

func testDeleteJob(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	gone, kept := mkLoggedJob(t, s, co), mkJob(t, s, newJob(co, "kept"), 3)

	require.NoError(t, s.DeleteJob(ctx, co.Handle, gone.Handle))
	_, err := s.JobByHandle(ctx, co.Handle, gone.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.JobAssets(ctx, store.JobAssetQuery{JobHandle: gone.Handle})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.PendingJobAssets(ctx, gone.Handle, 0, 10)
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteJob(ctx, co.Handle, gone.Handle), store.ErrNotFound, "twice")

	assert.Equal(t, kept, getJob(t, s, kept.Handle))
	pending, err := s.PendingJobAssets(ctx, kept.Handle, 0, 10)
	require.NoError(t, err)
	assert.Len(t, pending, 3)
	list, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Equal(t, []string{kept.Handle}, jobHandles(list))

	// Its assets went with it (checked in the tables where the driver
	// shows its database).
	if d, ok := s.(interface{ DB() *sql.DB }); ok {
		var n int
		require.NoError(t, d.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM job_assets`).Scan(&n))
		assert.Equal(t, 3, n, "only the kept job's assets are left")
	}

	// A new job never gets a deleted job's handle.
	again := mkJob(t, s, newJob(co, "logged"), 0)
	assert.NotEqual(t, gone.Handle, again.Handle)
}

func testExpiredJobs(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(co store.Company, state store.JobState, expires time.Time, purged bool) store.Job {
		t.Helper()
		nj := newJob(co, "x")
		nj.Expires = expires
		j := mkJob(t, s, nj, 0)
		if state != store.JobNew {
			ok, err := s.SetJobState(ctx, j.Handle, nil, state)
			require.NoError(t, err)
			require.True(t, ok)
		}
		if purged {
			require.NoError(t, s.MarkJobPurged(ctx, j.Handle))
		}
		return j
	}
	var (
		failed2h    = mk(acme, store.JobFailed, t0.Add(-2*time.Hour), false)
		completed1h = mk(acme, store.JobCompleted, t0.Add(-time.Hour), false)
		theirs30m   = mk(other, store.JobCompleted, t0.Add(-30*time.Minute), false)
		stopped1us  = mk(acme, store.JobStopped, t0.Add(-time.Microsecond), false)
		atT0        = mk(acme, store.JobCompleted, t0, false)
	)
	mk(acme, store.JobCompleted, t0.Add(time.Hour), false)    // not yet
	mk(acme, store.JobRunning, t0.Add(-3*time.Hour), false)   // not ended
	mk(acme, store.JobNew, t0.Add(-3*time.Hour), false)       // not ended
	mk(acme, store.JobStopping, t0.Add(-3*time.Hour), false)  // not ended
	mk(acme, store.JobCompleted, time.Time{}, false)          // never expires
	mk(acme, store.JobCompleted, t0.Add(-5*time.Hour), true)  // purged
	mk(other, store.JobFailed, t0.Add(-4*time.Hour), true)    // purged
	mk(acme, store.JobScheduled, t0.Add(-4*time.Hour), false) // not ended
	for _, tc := range []struct {
		name  string
		t     time.Time
		limit int
		want  []store.Job
	}{
		{"before t0", t0, 0, []store.Job{failed2h, completed1h, theirs30m, stopped1us}},
		{"limit", t0, 2, []store.Job{failed2h, completed1h}},
		{"just after t0", t0.Add(time.Nanosecond), 0, []store.Job{failed2h, completed1h, theirs30m, stopped1us, atT0}},
		{"just before t0", t0.Add(-time.Nanosecond), 0, []store.Job{failed2h, completed1h, theirs30m, stopped1us}},
		{"a microsecond before t0", t0.Add(-time.Microsecond), 0, []store.Job{failed2h, completed1h, theirs30m}},
		{"long ago", t0.Add(-10 * time.Hour), 0, nil},
	} {
		got, err := s.ExpiredJobs(ctx, tc.t, tc.limit)
		require.NoError(t, err, tc.name)
		assert.Equal(t, jobHandles(tc.want), jobHandles(got), tc.name)
	}

	require.NoError(t, s.MarkJobPurged(ctx, completed1h.Handle))
	require.NoError(t, s.MarkJobPurged(ctx, completed1h.Handle), "twice is fine")
	got := getJob(t, s, completed1h.Handle)
	assert.True(t, got.Purged)
	assert.Equal(t, store.JobCompleted, got.State)
	assert.False(t, getJob(t, s, failed2h.Handle).Purged)
	expired, err := s.ExpiredJobs(ctx, t0, 0)
	require.NoError(t, err)
	assert.Equal(t, jobHandles([]store.Job{failed2h, theirs30m, stopped1us}), jobHandles(expired))
	assert.Equal(t, getJob(t, s, failed2h.Handle), expired[0], "the whole job")
}

func testJobTimestamps(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	for _, tc := range []struct {
		name string
		t    time.Time
	}{
		{"nanoseconds, east", time.Date(2031, 2, 3, 4, 5, 6, 999999999, time.FixedZone("E", 5*3600+1800))},
		{"nanoseconds, west", time.Date(2031, 2, 3, 4, 5, 6, 1001, time.FixedZone("W", -8*3600))},
		{"whole second", time.Date(2040, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"local", time.Now()},
		{"far future", time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"long ago", time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{"before the epoch", time.Date(1969, 7, 20, 20, 17, 40, 123456789, time.UTC)},
	} {
		nj := newJob(co, tc.name)
		nj.ExecTime, nj.Expires = tc.t, tc.t
		j := mkJob(t, s, nj, 1)
		got := getJob(t, s, j.Handle)
		assert.Equal(t, j, got, tc.name)
		assert.Equal(t, micro(tc.t), got.ExecTime, tc.name)
		assert.Equal(t, micro(tc.t), got.Expires, tc.name)
		assert.Equal(t, time.UTC, got.ExecTime.Location(), tc.name)

		a := finish(0, store.OutcomeSuccess, 1)(j.Handle)
		a.Finished = tc.t
		_, err := s.FinishJobAsset(ctx, a)
		require.NoError(t, err, tc.name)
		assets, _, err := s.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle})
		require.NoError(t, err)
		require.Len(t, assets, 1)
		assert.Equal(t, micro(tc.t), assets[0].Finished, tc.name)

		sc, err := s.CreateSchedule(ctx, newSchedule(co, tc.name, tc.t))
		require.NoError(t, err, tc.name)
		assert.Equal(t, micro(tc.t), sc.NextFire, tc.name)
		list, err := s.Schedules(ctx, co.Handle)
		require.NoError(t, err)
		i := slices.IndexFunc(list, func(x store.Schedule) bool { return x.Handle == sc.Handle })
		require.GreaterOrEqual(t, i, 0)
		assert.Equal(t, sc, list[i], tc.name)
	}

	// Timestamps the store sets: UTC, now, read back as returned.
	before := time.Now().Add(-time.Second)
	j := mkJob(t, s, newJob(co, "now"), 0)
	for _, to := range []store.JobState{store.JobRunning, store.JobCompleted} {
		ok, err := s.SetJobState(ctx, j.Handle, nil, to)
		require.NoError(t, err)
		require.True(t, ok)
	}
	after := time.Now().Add(time.Second)
	got := getJob(t, s, j.Handle)
	assert.Equal(t, j.Submitted, got.Submitted)
	assert.True(t, got.ExecTime.IsZero() && got.Expires.IsZero(), "zero stays zero")
	for name, ts := range map[string]time.Time{"submitted": got.Submitted, "started": got.Started, "ended": got.Ended} {
		assert.Equal(t, time.UTC, ts.Location(), name)
		assert.True(t, ts.After(before) && ts.Before(after), "%s: %v is now", name, ts)
		assert.Equal(t, micro(ts), ts, name)
	}
	assert.False(t, got.Started.Before(got.Submitted))
	assert.False(t, got.Ended.Before(got.Started))

	// Out of what both databases store: refused, not mangled.
	nj := newJob(co, "far")
	nj.Expires = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := s.CreateJob(ctx, nj, nil)
	assert.Error(t, err)
	_, err = s.CreateSchedule(ctx, newSchedule(co, "far", time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)))
	assert.Error(t, err)
}

// ---- schedules ----

func newSchedule(co store.Company, name string, next time.Time) store.Schedule {
	return store.Schedule{
		CompanyHandle: co.Handle, Type: store.JobTypeExport, OriginalName: name,
		Description: "every night", Locale: "de-DE", SubmitUserHandle: "u|1", NotifyUserHandle: "u|2",
		Spec: []byte(`{"fmt":"png"}`), Cron: "00 00 00 * *", NextFire: next,
	}
}

func mkSchedule(t *testing.T, s store.Store, co store.Company, name string, next time.Time) store.Schedule {
	t.Helper()
	sc, err := s.CreateSchedule(context.Background(), newSchedule(co, name, next))
	require.NoError(t, err)
	return sc
}

func scheduleNames(ss []store.Schedule) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.OriginalName)
	}
	return out
}

func testSchedules(t *testing.T, s store.Store) {
	ctx := context.Background()
	co, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	in := newSchedule(co, "nightly", t0.Add(2*time.Hour+500*time.Nanosecond))
	in.Handle, in.Created = "s|9|9", time.Unix(0, 0) // the store's to set
	before := time.Now().Add(-time.Second)
	nightly, err := s.CreateSchedule(ctx, in)
	require.NoError(t, err)
	after := time.Now().Add(time.Second)
	assert.Regexp(t, scheduleHandleRe(co), nightly.Handle)
	assert.Regexp(t, urlSafe, nightly.Handle)
	assert.Equal(t, store.Schedule{
		Handle: nightly.Handle, CompanyHandle: co.Handle, Type: store.JobTypeExport, OriginalName: "nightly",
		Description: "every night", Locale: "de-DE", SubmitUserHandle: "u|1", NotifyUserHandle: "u|2",
		Spec: []byte(`{"fmt":"png"}`), Cron: "00 00 00 * *", State: store.JobScheduled, NextFire: t0.Add(2 * time.Hour), Created: nightly.Created,
	}, nightly)
	assert.True(t, nightly.Created.After(before) && nightly.Created.Before(after))

	early := mkSchedule(t, s, co, "early", t0.Add(time.Hour))
	late := mkSchedule(t, s, co, "late", t0.Add(3*time.Hour))
	theirs := mkSchedule(t, s, other, "theirs", t0)

	list, err := s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Schedule{early, nightly, late}, list, "by NextFire, this company's only")
	list, err = s.Schedules(ctx, other.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Schedule{theirs}, list)
	_, err = s.Schedules(ctx, "c|999999")
	assert.ErrorIs(t, err, store.ErrNotFound)

	// A run of a schedule names it, and keeps it when it is deleted.
	nj := newJob(co, "nightly")
	nj.ScheduleHandle = nightly.Handle
	run := mkJob(t, s, nj, 1)
	assert.Equal(t, nightly.Handle, run.ScheduleHandle)
	assert.Equal(t, run, getJob(t, s, run.Handle))

	require.NoError(t, s.DeleteSchedule(ctx, co.Handle, nightly.Handle))
	assert.ErrorIs(t, s.DeleteSchedule(ctx, co.Handle, nightly.Handle), store.ErrNotFound, "twice")
	assert.Equal(t, nightly.Handle, getJob(t, s, run.Handle).ScheduleHandle)
	list, err = s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Schedule{early, late}, list)

	// Another company's schedule is not found.
	assert.ErrorIs(t, s.DeleteSchedule(ctx, co.Handle, theirs.Handle), store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteSchedule(ctx, co.Handle, forge(theirs.Handle, co)), store.ErrNotFound)
	for _, h := range append(slices.Clone(malformed), run.Handle, "s|"+companyIDOf(co)+"|999999") {
		assert.ErrorIs(t, s.DeleteSchedule(ctx, co.Handle, h), store.ErrNotFound, "%q", h)
		_, err := s.AdvanceSchedule(ctx, h, t0, t0.Add(time.Hour))
		assert.ErrorIs(t, err, store.ErrNotFound, "advance %q", h)
	}
	_, err = s.AdvanceSchedule(ctx, forge(theirs.Handle, co), theirs.NextFire, t0.Add(time.Hour))
	assert.ErrorIs(t, err, store.ErrNotFound, "forged")
	list, err = s.Schedules(ctx, other.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Schedule{theirs}, list, "untouched")

	for _, tc := range []struct {
		name     string
		mod      func(*store.Schedule)
		notFound bool
	}{
		{"unknown company", func(sc *store.Schedule) { sc.CompanyHandle = "c|999999" }, true},
		{"malformed company", func(sc *store.Schedule) { sc.CompanyHandle = "x" }, true},
		{"no type", func(sc *store.Schedule) { sc.Type = "" }, false},
		{"no cron", func(sc *store.Schedule) { sc.Cron = "" }, false},
		{"no next fire", func(sc *store.Schedule) { sc.NextFire = time.Time{} }, false},
	} {
		sc := newSchedule(co, "bad", t0)
		tc.mod(&sc)
		_, err := s.CreateSchedule(ctx, sc)
		if tc.notFound {
			assert.ErrorIs(t, err, store.ErrNotFound, tc.name)
		} else {
			assert.Error(t, err, tc.name)
		}
	}
	list, err = s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, list, 2, "nothing created")
}

func testDueSchedules(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	mkSchedule(t, s, acme, "a+1h", t0.Add(time.Hour))
	mkSchedule(t, s, other, "o-1h", t0.Add(-time.Hour))
	mkSchedule(t, s, acme, "a0", t0)
	mkSchedule(t, s, other, "o+1us", t0.Add(time.Microsecond))
	mkSchedule(t, s, acme, "a-1us", t0.Add(-time.Microsecond))
	for _, tc := range []struct {
		name string
		t    time.Time
		want []string
	}{
		{"at t0, inclusive", t0, []string{"o-1h", "a-1us", "a0"}},
		{"below the microsecond", t0.Add(999 * time.Nanosecond), []string{"o-1h", "a-1us", "a0"}},
		{"a microsecond on", t0.Add(time.Microsecond), []string{"o-1h", "a-1us", "a0", "o+1us"}},
		{"just before t0", t0.Add(-time.Nanosecond), []string{"o-1h", "a-1us"}},
		{"all", t0.Add(24 * time.Hour), []string{"o-1h", "a-1us", "a0", "o+1us", "a+1h"}},
		{"none", t0.Add(-2 * time.Hour), []string{}},
		{"another zone", t0.In(time.FixedZone("E", 3600)), []string{"o-1h", "a-1us", "a0"}},
	} {
		got, err := s.DueSchedules(ctx, tc.t)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.want, scheduleNames(got), tc.name)
	}
}

func testAdvanceSchedule(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := mkSchedule(t, s, co, "nightly", t0.Add(123456*time.Nanosecond))
	day := 24 * time.Hour
	for _, tc := range []struct {
		name       string
		prev, next time.Time
		changed    bool
		now        time.Time // NextFire after
	}{
		{"from its NextFire", sc.NextFire, t0.Add(day), true, t0.Add(day)},
		{"from the old one again", sc.NextFire, t0.Add(2 * day), false, t0.Add(day)},
		{"from another", t0, t0.Add(2 * day), false, t0.Add(day)},
		{"from it below the microsecond", t0.Add(day + 999), t0.Add(2*day + 1500), true, t0.Add(2*day + time.Microsecond)},
		{"from it in another zone", t0.Add(2*day + time.Microsecond).In(time.FixedZone("W", -3600)), t0.Add(3 * day), true, t0.Add(3 * day)},
		{"to itself", t0.Add(3 * day), t0.Add(3 * day), true, t0.Add(3 * day)},
	} {
		ok, err := s.AdvanceSchedule(ctx, sc.Handle, tc.prev, tc.next)
		require.NoError(t, err, tc.name)
		assert.Equal(t, tc.changed, ok, tc.name)
		list, err := s.Schedules(ctx, co.Handle)
		require.NoError(t, err)
		require.Len(t, list, 1)
		assert.Equal(t, tc.now, list[0].NextFire, tc.name)
	}
	_, err := s.AdvanceSchedule(ctx, sc.Handle, t0.Add(3*day), time.Time{})
	assert.Error(t, err, "a schedule always has a next fire")

	// Several processes fire the same schedule at once: one advances it.
	prev := t0.Add(3 * day)
	const racers = 8
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner = -1
		wins   int
		errs   []error
	)
	for r := range racers {
		wg.Go(func() {
			ok, err := s.AdvanceSchedule(ctx, sc.Handle, prev, prev.Add(time.Duration(r+1)*time.Minute))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				wins++
				winner = r
			}
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	require.Equal(t, 1, wins)
	due, err := s.DueSchedules(ctx, t0.Add(10*day))
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, prev.Add(time.Duration(winner+1)*time.Minute), due[0].NextFire, "the winner's next")
}

// testInTxConcurrent: transactions run at the same time (on SQLite, which
// commits them in groups) each commit or leave nothing on their own: a
// failing one takes none of the others with it, each sees what the ones
// before it wrote (of several advancing one schedule, exactly one wins),
// and a successful one's writes are all there once InTx has returned.
func testInTxConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sched := mkSchedule(t, s, co, "once", t0)
	boom := errors.New("boom")
	const n = 60
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.InTx(ctx, func(tx store.Tx) error {
				switch i % 4 {
				case 0: // fails after writing
					if _, err := tx.CreateJobFrom(ctx, newJob(co, fmt.Sprintf("fail-%d", i)), 2, slices.Values(jobAssets(2))); err != nil {
						return err
					}
					return boom
				case 1: // a write of its own fails
					_, err := tx.CreateJobFrom(ctx, newJob(co, fmt.Sprintf("short-%d", i)), 5, slices.Values(jobAssets(4)))
					return err
				case 2: // races for the schedule
					won, err := tx.AdvanceSchedule(ctx, sched.Handle, t0, t0.Add(time.Hour))
					if err != nil {
						return err
					}
					if !won {
						return boom
					}
					_, err = tx.CreateJobFrom(ctx, newJob(co, fmt.Sprintf("won-%d", i)), 1, slices.Values(jobAssets(1)))
					return err
				}
				_, err := tx.CreateJobFrom(ctx, newJob(co, fmt.Sprintf("ok-%d", i)), 3, slices.Values(jobAssets(3)))
				return err
			})
		})
	}
	wg.Wait()
	var want []string
	won := 0
	for i, err := range errs {
		switch i % 4 {
		case 0:
			assert.ErrorIs(t, err, boom, "%d", i)
		case 1:
			assert.Error(t, err, "%d", i)
		case 2:
			if err == nil {
				won++
				want = append(want, fmt.Sprintf("won-%d", i))
			} else {
				assert.ErrorIs(t, err, boom, "%d", i)
			}
		default:
			require.NoError(t, err, "%d", i)
			want = append(want, fmt.Sprintf("ok-%d", i))
		}
	}
	assert.Equal(t, 1, won, "exactly one advances the schedule")
	js, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	var got []string
	for _, j := range js {
		got = append(got, j.OriginalName)
		pending, err := s.PendingJobAssets(ctx, j.Handle, 0, 10)
		require.NoError(t, err)
		assert.Len(t, pending, j.Total, j.Name)
	}
	assert.ElementsMatch(t, want, got)
	scheds, err := s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	require.Len(t, scheds, 1)
	assert.True(t, scheds[0].NextFire.Equal(t0.Add(time.Hour)))
}

// testInTx: what a transaction writes (a job and its assets, a schedule's
// advance or deletion, and rows written on its SQL transaction) commits
// together when fn succeeds and leaves nothing when it fails.
func testInTx(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	advance := mkSchedule(t, s, co, "advance", t0)
	remove := mkSchedule(t, s, co, "remove", t0)
	boom := errors.New("boom")

	write := func(tx store.Tx) (store.Job, error) {
		won, err := tx.AdvanceSchedule(ctx, advance.Handle, t0, t0.Add(time.Hour))
		if err != nil || !won {
			return store.Job{}, fmt.Errorf("advance: %v %w", won, err)
		}
		if err := tx.DeleteSchedule(ctx, co.Handle, remove.Handle); err != nil {
			return store.Job{}, err
		}
		// The SQL transaction is the one the store writes on: what the
		// store wrote so far is visible on it.
		var n int
		if err := tx.SQL().QueryRowContext(ctx, "SELECT COUNT(*) FROM schedules").Scan(&n); err != nil {
			return store.Job{}, err
		}
		if n != 1 {
			return store.Job{}, fmt.Errorf("%d schedules seen on the SQL transaction, want 1", n)
		}
		return tx.CreateJobFrom(ctx, newJob(co, "in-tx"), 3, slices.Values(jobAssets(3)))
	}

	// A failure after every write rolls every write back.
	err := s.InTx(ctx, func(tx store.Tx) error {
		if _, err := write(tx); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	js, err := s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Empty(t, js, "no job")
	scheds, err := s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{"advance", "remove"}, scheduleNames(scheds))
	for _, sc := range scheds {
		assert.True(t, sc.NextFire.Equal(t0), "%s not advanced", sc.OriginalName)
	}

	// A failed write inside fails the transaction too.
	err = s.InTx(ctx, func(tx store.Tx) error {
		if _, err := write(tx); err != nil {
			return err
		}
		_, err := tx.CreateJobFrom(ctx, newJob(co, "short"), 5, slices.Values(jobAssets(4)))
		return err
	})
	require.Error(t, err)
	js, err = s.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(t, err)
	assert.Empty(t, js, "no job")

	// Success commits all of it.
	var j store.Job
	require.NoError(t, s.InTx(ctx, func(tx store.Tx) error {
		var err error
		j, err = write(tx)
		return err
	}))
	assert.Equal(t, 3, getJob(t, s, j.Handle).Total)
	pending, err := s.PendingJobAssets(ctx, j.Handle, 0, 3)
	require.NoError(t, err)
	assert.Len(t, pending, 3)
	scheds, err = s.Schedules(ctx, co.Handle)
	require.NoError(t, err)
	require.Equal(t, []string{"advance"}, scheduleNames(scheds))
	assert.True(t, scheds[0].NextFire.Equal(t0.Add(time.Hour)))
}
