package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/store"
)

// Jobs implements store.Jobs over database/sql.
//
// Locking: a transaction that writes a job's assets first locks the job's
// row (Dialect.ForUpdate), then touches the assets, so writers of one job
// take turns and always lock in the same order (DeleteJob's cascade too:
// the job row, then its assets); they never deadlock. On SQLite every
// transaction holds the database alone, which gives the same.
type Jobs struct {
	base
	group *groupCommit // nil: each InTx its own transaction
}

// NewJobs returns the Jobs that write on db and read on rdb (which may be
// db), both holding the migrated schema.
func NewJobs(db, rdb *sql.DB, d Dialect) *Jobs { return &Jobs{base: base{db: db, rdb: rdb, d: d}} }

// GroupCommits makes InTx run transactions that arrive while another is
// being written together, in one database transaction (see groupCommit):
// for a database with a single writer connection.
func (j *Jobs) GroupCommits() { j.group = newGroupCommit(j.db) }

var _ store.Jobs = (*Jobs)(nil)

// newJobStates are the states a job may be created in.
var newJobStates = []store.JobState{store.JobNew, store.JobScheduled, store.JobRunning}

// ---- timestamps ----

// Both databases keep microseconds, and the SQLite text layout has four
// digits of year. Timestamps the caller gives are stored as at() makes
// them, and returned so, so that what a method returns equals what is read
// back; query bounds are rounded the way that keeps the comparison exact.

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// at is t as stored: UTC, truncated to the microsecond; zero stays zero.
func at(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// checkTime refuses a timestamp the databases cannot both store.
func checkTime(what string, t time.Time) error {
	if u := at(t); !t.IsZero() && (u.Before(minTime) || u.After(maxTime)) {
		return fmt.Errorf("%s %v: out of range (years 1 to 9999)", what, t)
	}
	return nil
}

// floor is the latest stored timestamp not after t: for "column <= t".
func floor(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t.UTC().Truncate(time.Microsecond)
}

// ceil is the earliest stored timestamp not before t: for "column >= t"
// and "column < t".
func ceil(t time.Time) time.Time {
	f := floor(t)
	if f.Before(t) && f.Before(maxTime) {
		f = f.Add(time.Microsecond)
	}
	return f
}

// nullTime is the argument of a timestamp that may be zero (NULL).
func (j *Jobs) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return j.d.TimeArg(t)
}

// specArg is Spec as stored (never NULL); spec is Spec as returned: nil
// when empty, whether it was given nil or empty.
func specArg(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func spec(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// ---- jobs ----

const jobCols = `id, company_id, type, name, original_name, description, locale, submit_user, notify_user,
	state, spec, schedule_id, exec_time, total, succeeded, warnings, errors, cancelled, updated, bytes_written,
	submitted, started, ended, expires, purged, announced, bytes_limit_reached, rendition_hits`

// scanJob scans jobCols, then extra.
func scanJob(sc interface{ Scan(...any) error }, extra ...any) (store.Job, error) {
	var (
		id, cid int64
		sched   sql.NullInt64
		j       store.Job
	)
	dest := []any{&id, &cid, &j.Type, &j.Name, &j.OriginalName, &j.Description, &j.Locale,
		&j.SubmitUserHandle, &j.NotifyUserHandle, &j.State, &j.Spec, &sched, NullTime{&j.ExecTime},
		&j.Total, &j.Succeeded, &j.Warnings, &j.Errors, &j.Cancelled, &j.Updated, &j.BytesWritten,
		Time{&j.Submitted}, NullTime{&j.Started}, NullTime{&j.Ended}, NullTime{&j.Expires}, &j.Purged, &j.Announced,
		&j.BytesLimitReached, &j.RenditionHits}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return store.Job{}, err
	}
	j.Handle, j.CompanyHandle = jobHandle(cid, id), companyHandle(cid)
	if sched.Valid {
		j.ScheduleHandle = scheduleHandle(cid, sched.Int64)
	}
	j.Spec = spec(j.Spec)
	return j, nil
}

func (j *Jobs) jobs(ctx context.Context, query string, args ...any) ([]store.Job, error) {
	rows, err := j.query(ctx, j.rdb, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Job{}
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, job)
	}
	return out, rows.Err()
}

// jobExists is nil when the job exists, else ErrNotFound.
func (j *Jobs) jobExists(ctx context.Context, q querier, cid, id int64) error {
	var n int
	if err := j.queryRow(ctx, q, `SELECT COUNT(*) FROM jobs WHERE id = ? AND company_id = ?`, id, cid).Scan(&n); err != nil {
		return fmt.Errorf("job %q: %w", jobHandle(cid, id), err)
	}
	if n == 0 {
		return notFound("job", jobHandle(cid, id))
	}
	return nil
}

// lockJob locks a job's row for the rest of tx and returns its total and
// state; ErrNotFound if there is no such job.
func (j *Jobs) lockJob(ctx context.Context, tx *sql.Tx, cid, id int64) (total int, state store.JobState, err error) {
	err = j.queryRow(ctx, tx, `SELECT total, state FROM jobs WHERE id = ? AND company_id = ? `+j.d.ForUpdate(),
		id, cid).Scan(&total, &state)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", notFound("job", jobHandle(cid, id))
	}
	if err != nil {
		return 0, "", fmt.Errorf("job %q: %w", jobHandle(cid, id), err)
	}
	return total, state, nil
}

// checkPendingAsset refuses an asset given with an outcome: assets are
// added pending, and only FinishJobAsset records an outcome, so the job's
// counts are always those of its finished assets.
func checkPendingAsset(i int, a store.JobAsset) error {
	if a.Outcome != store.OutcomePending {
		return fmt.Errorf("asset %d (%s): outcome %q: assets are added pending; FinishJobAsset records outcomes",
			i, a.AssetHandle, a.Outcome)
	}
	if err := checkTime("asset finished", a.Finished); err != nil {
		return fmt.Errorf("asset %d (%s): %w", i, a.AssetHandle, err)
	}
	return nil
}

const jobAssetInsertCols = `job_id, seq, asset_handle, asset_name, asset_type, folder_path, file_name,
	message, output_path, blob_key, size, sha256, finished, source_key, source_sha256, conversion`

// jobAssetParams is the parameters of one row of jobAssetInsertCols.
const jobAssetParams = 16

// jobAssetBatch is the rows of one INSERT: 16 parameters a row keeps it
// far below both databases' limits on parameters (SQLite 32766, PostgreSQL
// 65535), and a job of 10,000 assets takes 20 statements, not 10,000.
const jobAssetBatch = 500

// insertJobAssets inserts assets as seq first, first+1, …, each checked
// to be pending.
func (j *Jobs) insertJobAssets(ctx context.Context, tx *sql.Tx, jobID int64, first int, assets []store.JobAsset) error {
	_, err := j.insertJobAssetSeq(ctx, tx, jobID, first, slices.Values(assets))
	return err
}

// insertJobAssetSeq inserts what assets yields as seq first, first+1, …,
// checking each is pending, jobAssetBatch rows per statement; it returns
// how many it inserted.
func (j *Jobs) insertJobAssetSeq(ctx context.Context, tx *sql.Tx, jobID int64, first int, assets iter.Seq[store.JobAsset]) (int, error) {
	row := "(?" + strings.Repeat(", ?", jobAssetParams-1) + ")"
	var (
		b     strings.Builder
		args  []any
		seq   = first
		start = first
	)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		if _, err := j.exec(ctx, tx, b.String(), args...); err != nil {
			return fmt.Errorf("assets %d to %d: %w", start, seq-1, err)
		}
		b.Reset()
		args, start = args[:0], seq
		return nil
	}
	for a := range assets {
		if err := checkPendingAsset(seq-first, a); err != nil {
			return 0, err
		}
		if len(args) == 0 {
			b.WriteString(`INSERT INTO job_assets (` + jobAssetInsertCols + `) VALUES ` + row)
		} else {
			b.WriteString(", " + row)
		}
		args = append(args, jobID, seq, a.AssetHandle, a.AssetName, a.AssetType, a.FolderPath, a.FileName,
			a.Message, a.OutputPath, a.BlobKey, a.Size, a.SHA256, j.nullTime(at(a.Finished)), a.SourceKey, a.SourceSHA256, a.Conversion)
		seq++
		if len(args) == jobAssetParams*jobAssetBatch {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return seq - first, nil
}

// CreateJob inserts a job and its assets, pending, as seq 0..n-1, in one
// transaction. A job created Running (an upload) has started.
func (j *Jobs) CreateJob(ctx context.Context, nj store.NewJob, assets []store.JobAsset) (store.Job, error) {
	return j.CreateJobFrom(ctx, nj, len(assets), slices.Values(assets))
}

// CreateJobFrom is CreateJob with the assets yielded one at a time.
func (j *Jobs) CreateJobFrom(ctx context.Context, nj store.NewJob, n int, assets iter.Seq[store.JobAsset]) (job store.Job, err error) {
	err = j.inTx(ctx, func(tx *sql.Tx) error {
		job, err = j.createJob(ctx, tx, nj, n, assets)
		return err
	})
	return job, err
}

// createJob inserts a job and its assets in tx.
func (j *Jobs) createJob(ctx context.Context, tx *sql.Tx, nj store.NewJob, n int, assets iter.Seq[store.JobAsset]) (store.Job, error) {
	if nj.Type == "" {
		return store.Job{}, fmt.Errorf("create job %q: empty type", nj.Name)
	}
	if !slices.Contains(newJobStates, nj.State) {
		return store.Job{}, fmt.Errorf("create job %q: state %q: want one of %v", nj.Name, nj.State, newJobStates)
	}
	if err := errors.Join(checkTime("exec time", nj.ExecTime), checkTime("expires", nj.Expires)); err != nil {
		return store.Job{}, fmt.Errorf("create job %q: %w", nj.Name, err)
	}
	if n < 0 {
		return store.Job{}, fmt.Errorf("create job %q: %d assets", nj.Name, n)
	}
	cid, ok := parseCompany(nj.CompanyHandle)
	if !ok {
		return store.Job{}, fmt.Errorf("create job %q: %w", nj.Name, notFound("company", nj.CompanyHandle))
	}
	var sched sql.NullInt64
	if nj.ScheduleHandle != "" {
		// Only the shape and company are checked: the schedule may have
		// been deleted while this run of it was being created.
		scid, sid, ok := parseSchedule(nj.ScheduleHandle)
		if !ok || scid != cid {
			return store.Job{}, fmt.Errorf("create job %q: %w", nj.Name, notFound("schedule", nj.ScheduleHandle))
		}
		sched = sql.NullInt64{Int64: sid, Valid: true}
	}
	t := now()
	job := store.Job{
		CompanyHandle: companyHandle(cid), Type: nj.Type, Name: nj.Name, OriginalName: nj.OriginalName,
		Description: nj.Description, Locale: nj.Locale,
		SubmitUserHandle: nj.SubmitUserHandle, NotifyUserHandle: nj.NotifyUserHandle,
		State: nj.State, Spec: spec(bytes.Clone(nj.Spec)), ExecTime: at(nj.ExecTime),
		Total: n, Submitted: t, Expires: at(nj.Expires),
	}
	if sched.Valid {
		job.ScheduleHandle = scheduleHandle(cid, sched.Int64)
	}
	if job.State == store.JobRunning {
		job.Started = t
	}
	err := func() error {
		if _, _, err := j.companyID(ctx, tx, nj.CompanyHandle); err != nil {
			return err
		}
		var id int64
		err := j.queryRow(ctx, tx, `INSERT INTO jobs (company_id, type, name, original_name, description, locale,
			submit_user, notify_user, state, spec, schedule_id, exec_time, total, submitted, started, expires)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			cid, job.Type, job.Name, job.OriginalName, job.Description, job.Locale,
			job.SubmitUserHandle, job.NotifyUserHandle, string(job.State), specArg(job.Spec), sched, j.nullTime(job.ExecTime),
			job.Total, j.d.TimeArg(t), j.nullTime(job.Started), j.nullTime(job.Expires)).Scan(&id)
		if err != nil {
			return err
		}
		job.Handle = jobHandle(cid, id)
		got, err := j.insertJobAssetSeq(ctx, tx, id, 0, assets)
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d assets announced, %d given", n, got)
		}
		return nil
	}()
	if err != nil {
		return store.Job{}, fmt.Errorf("create job %q: %w", nj.Name, err)
	}
	return job, nil
}

// JobByHandle finds a job; companyHandle "" is any company.
func (j *Jobs) JobByHandle(ctx context.Context, companyHandle, handle string) (store.Job, error) {
	cid, id, ok := parseJob(handle)
	if !ok {
		return store.Job{}, notFound("job", handle)
	}
	if companyHandle != "" {
		if c, ok := parseCompany(companyHandle); !ok || c != cid {
			return store.Job{}, notFound("job", handle)
		}
	}
	job, err := scanJob(j.queryRow(ctx, j.rdb, `SELECT `+jobCols+` FROM jobs WHERE id = ? AND company_id = ?`, id, cid))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, notFound("job", handle)
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("job %q: %w", handle, err)
	}
	return job, nil
}

// ListJobs lists a company's jobs by Submitted (then creation order); From
// and To are both inclusive.
func (j *Jobs) ListJobs(ctx context.Context, q store.JobQuery) ([]store.Job, error) {
	cid, _, err := j.companyID(ctx, j.rdb, q.CompanyHandle)
	if err != nil {
		return nil, err
	}
	where, args := ` WHERE company_id = ?`, []any{cid}
	if len(q.States) > 0 {
		cond, arg := j.d.InStrings("state", store.StateNames(q.States))
		where += ` AND ` + cond
		args = append(args, arg)
	} else {
		where += ` AND state <> ?`
		args = append(args, string(store.JobDeleting))
	}
	if len(q.Types) > 0 {
		cond, arg := j.d.InStrings("type", q.Types)
		where += ` AND ` + cond
		args = append(args, arg)
	}
	if q.OriginalName != "" {
		where += ` AND original_name = ?`
		args = append(args, q.OriginalName)
	}
	if !q.From.IsZero() {
		where += ` AND submitted >= ?`
		args = append(args, j.d.TimeArg(ceil(q.From)))
	}
	if !q.To.IsZero() {
		where += ` AND submitted <= ?`
		args = append(args, j.d.TimeArg(floor(q.To)))
	}
	dir := ` ASC`
	if q.Descending {
		dir = ` DESC`
	}
	order := ` ORDER BY submitted` + dir + `, id` + dir
	if q.Limit > 0 {
		order += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	out, err := j.jobs(ctx, `SELECT `+jobCols+` FROM jobs`+where+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs of %q: %w", q.CompanyHandle, err)
	}
	return out, nil
}

// SetJobState moves a job to state to when its state is one of from (any
// when from is empty). Moving to Running sets Started unless set; moving
// to an ended state sets Ended.
func (j *Jobs) SetJobState(ctx context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if !slices.Contains(store.JobStates, to) {
		return false, fmt.Errorf("set state of job %q: unknown state %q", handle, to)
	}
	cid, id, ok := parseJob(handle)
	if !ok {
		return false, notFound("job", handle)
	}
	set, args := `state = ?`, []any{string(to)}
	switch {
	case to == store.JobRunning:
		set += `, started = COALESCE(started, ?)`
		args = append(args, j.d.TimeArg(now()))
	case to.Ended():
		set += `, ended = ?`
		args = append(args, j.d.TimeArg(now()))
	}
	where := ` WHERE id = ? AND company_id = ?`
	args = append(args, id, cid)
	if len(from) > 0 {
		cond, arg := j.d.InStrings("state", store.StateNames(from))
		where += ` AND ` + cond
		args = append(args, arg)
	}
	res, err := j.exec(ctx, j.db, `UPDATE jobs SET `+set+where, args...)
	if err != nil {
		return false, fmt.Errorf("set state of job %q: %w", handle, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set state of job %q: %w", handle, err)
	}
	if n > 0 {
		return true, nil
	}
	return false, j.jobExists(ctx, j.db, cid, id)
}

// AddJobAssets appends pending assets to a job that has not ended. The job
// row is locked while its total is read and raised, so concurrent callers
// get distinct Seq values.
func (j *Jobs) AddJobAssets(ctx context.Context, handle string, assets []store.JobAsset) ([]store.JobAsset, error) {
	cid, id, ok := parseJob(handle)
	if !ok {
		return nil, notFound("job", handle)
	}
	out := make([]store.JobAsset, len(assets))
	err := j.inTx(ctx, func(tx *sql.Tx) error {
		total, state, err := j.lockJob(ctx, tx, cid, id)
		if err != nil {
			return err
		}
		if state.Ended() {
			return fmt.Errorf("job %q has ended (%s)", handle, state)
		}
		if len(assets) == 0 {
			return nil
		}
		if err := j.insertJobAssets(ctx, tx, id, total, assets); err != nil {
			return err
		}
		if _, err := j.exec(ctx, tx, `UPDATE jobs SET total = total + ? WHERE id = ?`, len(assets), id); err != nil {
			return err
		}
		for i, a := range assets {
			a.JobHandle, a.Seq, a.Finished = jobHandle(cid, id), total+i, at(a.Finished)
			out[i] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add assets to job %q: %w", handle, err)
	}
	return out, nil
}

const jobAssetCols = `ja.seq, ja.asset_handle, ja.asset_name, ja.asset_type, ja.folder_path, ja.file_name,
	ja.outcome, ja.message, ja.replaced, ja.output_path, ja.blob_key, ja.size, ja.sha256, ja.began, ja.finished,
	ja.source_key, ja.source_sha256, ja.conversion`

// jobAssetFrom joins the job so that its company is checked against the
// handle's.
const jobAssetFrom = ` FROM job_assets ja JOIN jobs j ON j.id = ja.job_id WHERE ja.job_id = ? AND j.company_id = ?`

// jobAssetDest is where jobAssetCols scan to.
func jobAssetDest(a *store.JobAsset) []any {
	return []any{&a.Seq, &a.AssetHandle, &a.AssetName, &a.AssetType, &a.FolderPath, &a.FileName,
		&a.Outcome, &a.Message, &a.Replaced, &a.OutputPath, &a.BlobKey, &a.Size, &a.SHA256, NullTime{&a.Began}, NullTime{&a.Finished},
		&a.SourceKey, &a.SourceSHA256, &a.Conversion}
}

func scanJobAsset(sc interface{ Scan(...any) error }, jobHandle string, extra ...any) (store.JobAsset, error) {
	a := store.JobAsset{JobHandle: jobHandle}
	if err := sc.Scan(append(jobAssetDest(&a), extra...)...); err != nil {
		return store.JobAsset{}, err
	}
	return a, nil
}

// JobAssets pages a job's assets by Seq; without Outcomes, the finished
// ones. total counts every asset that matches.
func (j *Jobs) JobAssets(ctx context.Context, q store.JobAssetQuery) ([]store.JobAsset, int, error) {
	cid, id, ok := parseJob(q.JobHandle)
	if !ok {
		return nil, 0, notFound("job", q.JobHandle)
	}
	h := jobHandle(cid, id)
	where, args := jobAssetFrom, []any{id, cid}
	if len(q.Outcomes) > 0 {
		cond, arg := j.d.InStrings("ja.outcome", q.Outcomes)
		where += ` AND ` + cond
		args = append(args, arg)
	} else {
		where += ` AND ja.outcome <> ''`
	}
	order := ` ORDER BY ja.seq ASC`
	if q.Descending {
		order = ` ORDER BY ja.seq DESC`
	}
	offset := max(q.Offset, 0)
	page := ` ` + j.d.NoLimit() + ` OFFSET ?`
	pageArgs := []any{offset}
	if q.Limit > 0 {
		page, pageArgs = ` LIMIT ? OFFSET ?`, []any{q.Limit, offset}
	}
	rows, err := j.query(ctx, j.rdb, `SELECT `+jobAssetCols+`, COUNT(*) OVER ()`+where+order+page,
		append(slices.Clone(args), pageArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("assets of job %q: %w", q.JobHandle, err)
	}
	defer rows.Close()
	out, total := []store.JobAsset{}, 0
	for rows.Next() {
		a, err := scanJobAsset(rows, h, &total)
		if err != nil {
			return nil, 0, fmt.Errorf("assets of job %q: %w", q.JobHandle, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("assets of job %q: %w", q.JobHandle, err)
	}
	rows.Close()
	if len(out) == 0 {
		// No row to carry the count, and maybe no job.
		if err := j.jobExists(ctx, j.rdb, cid, id); err != nil {
			return nil, 0, err
		}
		if offset > 0 {
			if err := j.queryRow(ctx, j.rdb, `SELECT COUNT(*)`+where, args...).Scan(&total); err != nil {
				return nil, 0, fmt.Errorf("assets of job %q: count: %w", q.JobHandle, err)
			}
		}
	}
	return out, total, nil
}

// logRowCols are the columns of a job asset in the log rows' subquery.
const logRowCols = `ja.seq AS seq, ja.asset_handle AS asset_handle, ja.asset_name AS asset_name, ja.asset_type AS asset_type,
	ja.folder_path AS folder_path, ja.file_name AS file_name, ja.outcome AS outcome, ja.message AS message,
	ja.replaced AS replaced, ja.output_path AS output_path, ja.blob_key AS blob_key, ja.size AS size,
	ja.sha256 AS sha256, ja.began AS began, ja.finished AS finished`

// JobLog pages the rows a job's assets give its log: a Begin row per asset
// that began, an outcome row per finished one, ordered as q asks.
func (j *Jobs) JobLog(ctx context.Context, q store.JobLogQuery) ([]store.JobLogRow, int, error) {
	cid, id, ok := parseJob(q.JobHandle)
	if !ok {
		return nil, 0, notFound("job", q.JobHandle)
	}
	h := jobHandle(cid, id)
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = store.LogRowKinds
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		if !slices.Contains(store.LogRowKinds, k) {
			return nil, 0, fmt.Errorf("log of job %q: unknown row kind %q", q.JobHandle, k)
		}
		names[i] = string(k)
	}
	// Each asset gives up to two rows: the union of its Begin row and its
	// outcome row, a success that replaced a file being an Updated row.
	// The Begin branch is read only when Begin rows are asked for.
	outcomes := `SELECT CASE WHEN ja.outcome = 'Success' AND ja.replaced THEN 'Updated' ELSE ja.outcome END AS kind,
		ja.finished AS t, ` + logRowCols + jobAssetFrom + ` AND ja.outcome <> ''`
	inner, args := outcomes, []any{id, cid}
	if slices.Contains(kinds, store.LogBegin) {
		inner = `SELECT 'Begin' AS kind, ja.began AS t, ` + logRowCols + jobAssetFrom + ` AND ja.began IS NOT NULL
		UNION ALL ` + outcomes
		args = append(args, id, cid)
	}
	from := ` FROM (` + inner + `) r`
	cond, arg := j.d.InStrings("r.kind", names)
	where := ` WHERE ` + cond
	args = append(args, arg)

	dir := ` ASC`
	if q.Descending {
		dir = ` DESC`
	}
	var order strings.Builder
	var orderArgs []any
	order.WriteString(` ORDER BY `)
	if q.ByKind {
		order.WriteString(`CASE r.kind`)
		for i, k := range names {
			order.WriteString(` WHEN ? THEN ` + strconv.Itoa(i))
			orderArgs = append(orderArgs, k)
		}
		order.WriteString(` END` + dir + `, `)
	}
	order.WriteString(`r.t` + dir + `, r.seq` + dir + `, CASE WHEN r.kind = 'Begin' THEN 0 ELSE 1 END` + dir)
	offset := max(q.Offset, 0)
	page, pageArgs := ` `+j.d.NoLimit()+` OFFSET ?`, []any{offset}
	if q.Limit > 0 {
		page, pageArgs = ` LIMIT ? OFFSET ?`, []any{q.Limit, offset}
	}
	cols := `r.kind, r.t, r.seq, r.asset_handle, r.asset_name, r.asset_type, r.folder_path, r.file_name,
		r.outcome, r.message, r.replaced, r.output_path, r.blob_key, r.size, r.sha256, r.began, r.finished`
	all := append(append(slices.Clone(args), orderArgs...), pageArgs...)
	rows, err := j.query(ctx, j.rdb, `SELECT `+cols+`, COUNT(*) OVER ()`+from+where+order.String()+page, all...)
	if err != nil {
		return nil, 0, fmt.Errorf("log of job %q: %w", q.JobHandle, err)
	}
	defer rows.Close()
	out, total := []store.JobLogRow{}, 0
	for rows.Next() {
		var r store.JobLogRow
		r.Asset.JobHandle = h
		a := &r.Asset
		if err := rows.Scan(&r.Kind, NullTime{&r.Time}, &a.Seq, &a.AssetHandle, &a.AssetName, &a.AssetType, &a.FolderPath,
			&a.FileName, &a.Outcome, &a.Message, &a.Replaced, &a.OutputPath, &a.BlobKey, &a.Size, &a.SHA256,
			NullTime{&a.Began}, NullTime{&a.Finished}, &total); err != nil {
			return nil, 0, fmt.Errorf("log of job %q: %w", q.JobHandle, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("log of job %q: %w", q.JobHandle, err)
	}
	rows.Close()
	if len(out) == 0 {
		if err := j.jobExists(ctx, j.rdb, cid, id); err != nil {
			return nil, 0, err
		}
		if offset > 0 {
			if err := j.queryRow(ctx, j.rdb, `SELECT COUNT(*)`+from+where, args...).Scan(&total); err != nil {
				return nil, 0, fmt.Errorf("log of job %q: count: %w", q.JobHandle, err)
			}
		}
	}
	return out, total, nil
}

// AssetJobLogs lists the finished assets of a company's jobs that name an
// asset, newest first.
func (j *Jobs) AssetJobLogs(ctx context.Context, coHandle, assetHandle string, limit int) ([]store.AssetJobLog, error) {
	cid, _, err := j.companyID(ctx, j.rdb, coHandle)
	if err != nil {
		return nil, err
	}
	var jcols []string
	for _, c := range strings.Split(jobCols, ",") {
		jcols = append(jcols, "j."+strings.TrimSpace(c))
	}
	query := `SELECT ` + strings.Join(jcols, ", ") + `, ` + jobAssetCols + `
		FROM job_assets ja JOIN jobs j ON j.id = ja.job_id
		WHERE ja.asset_handle = ? AND j.company_id = ? AND ja.outcome <> '' AND j.state <> ?
		ORDER BY ja.finished DESC, j.id DESC, ja.seq DESC`
	args := []any{assetHandle, cid, string(store.JobDeleting)}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := j.query(ctx, j.rdb, query, args...)
	if err != nil {
		return nil, fmt.Errorf("job logs of asset %q: %w", assetHandle, err)
	}
	defer rows.Close()
	out := []store.AssetJobLog{}
	for rows.Next() {
		var a store.JobAsset
		job, err := scanJob(rows, jobAssetDest(&a)...)
		if err != nil {
			return nil, fmt.Errorf("job logs of asset %q: %w", assetHandle, err)
		}
		a.JobHandle = job.Handle
		out = append(out, store.AssetJobLog{Job: job, Asset: a})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job logs of asset %q: %w", assetHandle, err)
	}
	return out, nil
}

// JobFiles returns the files a job wrote, by Seq; path "" = all, else the
// one at that output path.
func (j *Jobs) JobFiles(ctx context.Context, handle, path string) ([]store.JobFile, error) {
	cid, id, ok := parseJob(handle)
	if !ok {
		return nil, notFound("job", handle)
	}
	where, args := jobAssetFrom+` AND ja.outcome IN (?, ?) AND ja.blob_key <> ''`, []any{id, cid, store.OutcomeSuccess, store.OutcomeWarning}
	if path != "" {
		where += ` AND ja.output_path = ?`
		args = append(args, path)
	}
	rows, err := j.query(ctx, j.rdb, `SELECT ja.output_path, ja.blob_key, ja.size`+where+` ORDER BY ja.seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("files of job %q: %w", handle, err)
	}
	defer rows.Close()
	out := []store.JobFile{}
	for rows.Next() {
		var f store.JobFile
		if err := rows.Scan(&f.Path, &f.BlobKey, &f.Size); err != nil {
			return nil, fmt.Errorf("files of job %q: %w", handle, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("files of job %q: %w", handle, err)
	}
	rows.Close()
	if len(out) == 0 {
		if err := j.jobExists(ctx, j.rdb, cid, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PendingJobAssets returns the pending assets with from <= Seq < to, by Seq.
func (j *Jobs) PendingJobAssets(ctx context.Context, handle string, from, to int) ([]store.JobAsset, error) {
	cid, id, ok := parseJob(handle)
	if !ok {
		return nil, notFound("job", handle)
	}
	h := jobHandle(cid, id)
	rows, err := j.query(ctx, j.rdb, `SELECT `+jobAssetCols+jobAssetFrom+
		` AND ja.outcome = '' AND ja.seq >= ? AND ja.seq < ? ORDER BY ja.seq`, id, cid, from, to)
	if err != nil {
		return nil, fmt.Errorf("pending assets of job %q: %w", handle, err)
	}
	defer rows.Close()
	out := []store.JobAsset{}
	for rows.Next() {
		a, err := scanJobAsset(rows, h)
		if err != nil {
			return nil, fmt.Errorf("pending assets of job %q: %w", handle, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending assets of job %q: %w", handle, err)
	}
	rows.Close()
	if len(out) == 0 {
		if err := j.jobExists(ctx, j.rdb, cid, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FinishJobAsset records the outcome of a pending asset and counts it in
// its job, in one transaction. The asset's row is only updated while
// pending (outcome = ”), so a retry finds it finished and counts nothing.
// Finished defaults to now; Size adds to BytesWritten whatever the outcome.
func (j *Jobs) FinishJobAsset(ctx context.Context, a store.JobAsset) (bool, error) {
	key := a.JobHandle + "#" + strconv.Itoa(a.Seq)
	var succeeded, warnings, errs, cancelled, updated int
	switch a.Outcome {
	case store.OutcomeSuccess:
		succeeded = 1
	case store.OutcomeWarning:
		succeeded, warnings = 1, 1 // IPS counts a warning as a success too
	case store.OutcomeError:
		errs = 1
	case store.OutcomeCancelled:
		cancelled = 1
	default:
		return false, fmt.Errorf("finish job asset %s: outcome %q: want Success, Warning, Error or Cancelled", key, a.Outcome)
	}
	if a.Replaced {
		if succeeded == 0 {
			return false, fmt.Errorf("finish job asset %s: a %s asset replaced no file", key, a.Outcome)
		}
		updated = 1
	}
	if a.Size < 0 {
		return false, fmt.Errorf("finish job asset %s: negative size %d", key, a.Size)
	}
	if err := errors.Join(checkTime("finished", a.Finished), checkTime("began", a.Began)); err != nil {
		return false, fmt.Errorf("finish job asset %s: %w", key, err)
	}
	cid, id, ok := parseJob(a.JobHandle)
	if !ok {
		return false, notFound("job", a.JobHandle)
	}
	finished := at(a.Finished)
	if finished.IsZero() {
		finished = now()
	}
	hits := 0
	if a.RenditionHit {
		hits = 1
	}
	changed := false
	err := j.inTx(ctx, func(tx *sql.Tx) error {
		if _, _, err := j.lockJob(ctx, tx, cid, id); err != nil {
			return err
		}
		res, err := j.exec(ctx, tx, `UPDATE job_assets SET outcome = ?, message = ?, replaced = ?, output_path = ?, blob_key = ?,
			size = ?, sha256 = ?, began = ?, finished = ? WHERE job_id = ? AND seq = ? AND outcome = ''`,
			a.Outcome, a.Message, a.Replaced, a.OutputPath, a.BlobKey, a.Size, a.SHA256, j.nullTime(at(a.Began)), j.d.TimeArg(finished), id, a.Seq)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			var k int
			if err := j.queryRow(ctx, tx, `SELECT COUNT(*) FROM job_assets WHERE job_id = ? AND seq = ?`, id, a.Seq).Scan(&k); err != nil {
				return err
			}
			if k == 0 {
				return notFound("job asset", key)
			}
			return nil // already finished: nothing to count
		}
		_, err = j.exec(ctx, tx, `UPDATE jobs SET succeeded = succeeded + ?, warnings = warnings + ?,
			errors = errors + ?, cancelled = cancelled + ?, updated = updated + ?, bytes_written = bytes_written + ?,
			rendition_hits = rendition_hits + ? WHERE id = ?`,
			succeeded, warnings, errs, cancelled, updated, a.Size, hits, id)
		changed = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("finish job asset %s: %w", key, err)
	}
	return changed, nil
}

// ReserveJobBytes admits n bytes of a job's files within limit in one
// conditional UPDATE: the database serialises concurrent reservations of
// one job on its row, so together they never pass the limit. A refusal
// marks the job's limit reached; n < 0 gives bytes back.
func (j *Jobs) ReserveJobBytes(ctx context.Context, handle string, n, limit int64) (bool, error) {
	cid, id, ok := parseJob(handle)
	if !ok {
		return false, notFound("job", handle)
	}
	var (
		res sql.Result
		err error
	)
	if n < 0 {
		res, err = j.exec(ctx, j.db, `UPDATE jobs SET bytes_reserved = bytes_reserved + ? WHERE id = ? AND company_id = ?`, n, id, cid)
	} else {
		res, err = j.exec(ctx, j.db, `UPDATE jobs SET bytes_reserved = bytes_reserved + ?
			WHERE id = ? AND company_id = ? AND NOT bytes_limit_reached AND bytes_reserved + ? <= ?`, n, id, cid, n, limit)
	}
	if err != nil {
		return false, fmt.Errorf("reserve bytes of job %q: %w", handle, err)
	}
	k, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reserve bytes of job %q: %w", handle, err)
	}
	if k > 0 {
		return true, nil
	}
	res, err = j.exec(ctx, j.db, `UPDATE jobs SET bytes_limit_reached = TRUE WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return false, fmt.Errorf("reserve bytes of job %q: %w", handle, err)
	}
	return false, affected(res, "job", handle)
}

// DeleteJob deletes a job; its assets go with it.
func (j *Jobs) DeleteJob(ctx context.Context, companyHandle, handle string) error {
	cid, id, ok := parseJob(handle)
	if !ok {
		return notFound("job", handle)
	}
	if c, ok := parseCompany(companyHandle); !ok || c != cid {
		return notFound("job", handle)
	}
	res, err := j.exec(ctx, j.db, `DELETE FROM jobs WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return fmt.Errorf("delete job %q: %w", handle, err)
	}
	return affected(res, "job", handle)
}

// ExpiredJobs lists ended, unpurged jobs of any company whose Expires is
// before t, soonest expired first; limit 0 is no limit.
func (j *Jobs) ExpiredJobs(ctx context.Context, t time.Time, limit int) ([]store.Job, error) {
	cond, arg := j.d.InStrings("state", store.StateNames(store.EndedJobStates))
	query := `SELECT ` + jobCols + ` FROM jobs WHERE NOT purged AND expires IS NOT NULL AND expires < ? AND ` + cond +
		` ORDER BY expires, id`
	args := []any{j.d.TimeArg(ceil(t)), arg}
	if limit > 0 {
		query += ` LIMIT ?`
		args = append(args, limit)
	}
	out, err := j.jobs(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("expired jobs: %w", err)
	}
	return out, nil
}

// JobStateCounts counts every company's jobs by state.
func (j *Jobs) JobStateCounts(ctx context.Context) (map[string]int, error) {
	rows, err := j.rdb.QueryContext(ctx, `SELECT state, COUNT(*) FROM jobs GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("job state counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("job state counts: %w", err)
		}
		out[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job state counts: %w", err)
	}
	return out, nil
}

// MarkJobPurged records that a job's files are removed.
func (j *Jobs) MarkJobPurged(ctx context.Context, handle string) error {
	cid, id, ok := parseJob(handle)
	if !ok {
		return notFound("job", handle)
	}
	res, err := j.exec(ctx, j.db, `UPDATE jobs SET purged = TRUE WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return fmt.Errorf("mark job %q purged: %w", handle, err)
	}
	return affected(res, "job", handle)
}

// MarkJobAnnounced records that a job's start has been told.
func (j *Jobs) MarkJobAnnounced(ctx context.Context, handle string) error {
	cid, id, ok := parseJob(handle)
	if !ok {
		return notFound("job", handle)
	}
	res, err := j.exec(ctx, j.db, `UPDATE jobs SET announced = TRUE WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return fmt.Errorf("mark job %q announced: %w", handle, err)
	}
	return affected(res, "job", handle)
}

// ---- schedules ----

const scheduleCols = `id, company_id, type, original_name, description, locale, submit_user, notify_user,
	spec, cron, state, next_fire, created`

func scanSchedule(sc interface{ Scan(...any) error }) (store.Schedule, error) {
	var (
		id, cid int64
		s       store.Schedule
	)
	if err := sc.Scan(&id, &cid, &s.Type, &s.OriginalName, &s.Description, &s.Locale,
		&s.SubmitUserHandle, &s.NotifyUserHandle, &s.Spec, &s.Cron, &s.State, Time{&s.NextFire}, Time{&s.Created}); err != nil {
		return store.Schedule{}, err
	}
	s.Handle, s.CompanyHandle, s.Spec = scheduleHandle(cid, id), companyHandle(cid), spec(s.Spec)
	return s, nil
}

func (j *Jobs) schedules(ctx context.Context, query string, args ...any) ([]store.Schedule, error) {
	rows, err := j.query(ctx, j.rdb, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Schedule{}
	for rows.Next() {
		s, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// CreateSchedule records a recurring job; Handle and Created are the
// store's. A schedule always has a NextFire: one that will not fire again
// is deleted.
func (j *Jobs) CreateSchedule(ctx context.Context, s store.Schedule) (store.Schedule, error) {
	if s.Type == "" {
		return store.Schedule{}, fmt.Errorf("create schedule %q: empty type", s.OriginalName)
	}
	if s.Cron == "" {
		return store.Schedule{}, fmt.Errorf("create schedule %q: empty cron", s.OriginalName)
	}
	if s.NextFire.IsZero() {
		return store.Schedule{}, fmt.Errorf("create schedule %q: no next fire time", s.OriginalName)
	}
	if err := checkTime("next fire", s.NextFire); err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule %q: %w", s.OriginalName, err)
	}
	switch s.State {
	case "":
		s.State = store.JobScheduled
	case store.JobScheduled, store.JobHeld:
	default:
		return store.Schedule{}, fmt.Errorf("create schedule %q: state %q: want Scheduled or Held", s.OriginalName, s.State)
	}
	cid, _, err := j.companyID(ctx, j.db, s.CompanyHandle)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule %q: %w", s.OriginalName, err)
	}
	s.CompanyHandle, s.Spec, s.NextFire, s.Created = companyHandle(cid), spec(bytes.Clone(s.Spec)), at(s.NextFire), now()
	var id int64
	err = j.queryRow(ctx, j.db, `INSERT INTO schedules (company_id, type, original_name, description, locale,
		submit_user, notify_user, spec, cron, state, next_fire, created)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		cid, s.Type, s.OriginalName, s.Description, s.Locale, s.SubmitUserHandle, s.NotifyUserHandle,
		specArg(s.Spec), s.Cron, string(s.State), j.d.TimeArg(s.NextFire), j.d.TimeArg(s.Created)).Scan(&id)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("create schedule %q: %w", s.OriginalName, err)
	}
	s.Handle = scheduleHandle(cid, id)
	return s, nil
}

// Schedules lists a company's schedules by NextFire.
func (j *Jobs) Schedules(ctx context.Context, companyHandle string) ([]store.Schedule, error) {
	cid, _, err := j.companyID(ctx, j.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	out, err := j.schedules(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE company_id = ? ORDER BY next_fire, id`, cid)
	if err != nil {
		return nil, fmt.Errorf("schedules of %q: %w", companyHandle, err)
	}
	return out, nil
}

// DeleteSchedule deletes a schedule; the jobs it made keep their logs.
func (j *Jobs) DeleteSchedule(ctx context.Context, companyHandle, handle string) error {
	return j.deleteSchedule(ctx, j.db, companyHandle, handle)
}

func (j *Jobs) deleteSchedule(ctx context.Context, q querier, companyHandle, handle string) error {
	cid, id, ok := parseSchedule(handle)
	if !ok {
		return notFound("schedule", handle)
	}
	if c, ok := parseCompany(companyHandle); !ok || c != cid {
		return notFound("schedule", handle)
	}
	res, err := j.exec(ctx, q, `DELETE FROM schedules WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return fmt.Errorf("delete schedule %q: %w", handle, err)
	}
	return affected(res, "schedule", handle)
}

// DueSchedules lists the schedules of every company with NextFire <= t,
// soonest first.
func (j *Jobs) DueSchedules(ctx context.Context, t time.Time) ([]store.Schedule, error) {
	out, err := j.schedules(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE next_fire <= ? AND state = ? ORDER BY next_fire, id`,
		j.d.TimeArg(floor(t)), string(store.JobScheduled))
	if err != nil {
		return nil, fmt.Errorf("due schedules: %w", err)
	}
	return out, nil
}

// ScheduleByHandle finds a schedule; companyHandle "" is any company.
func (j *Jobs) ScheduleByHandle(ctx context.Context, companyHandle, handle string) (store.Schedule, error) {
	cid, id, ok := parseSchedule(handle)
	if !ok {
		return store.Schedule{}, notFound("schedule", handle)
	}
	if companyHandle != "" {
		if c, ok := parseCompany(companyHandle); !ok || c != cid {
			return store.Schedule{}, notFound("schedule", handle)
		}
	}
	out, err := j.schedules(ctx, `SELECT `+scheduleCols+` FROM schedules WHERE id = ? AND company_id = ?`, id, cid)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("schedule %q: %w", handle, err)
	}
	if len(out) == 0 {
		return store.Schedule{}, notFound("schedule", handle)
	}
	return out[0], nil
}

// SetScheduleState moves a schedule to state to when its state is one of
// from, in one conditional UPDATE.
func (j *Jobs) SetScheduleState(ctx context.Context, handle string, from []store.JobState, to store.JobState) (bool, error) {
	if to != store.JobScheduled && to != store.JobHeld {
		return false, fmt.Errorf("set state of schedule %q: state %q: want Scheduled or Held", handle, to)
	}
	cid, id, ok := parseSchedule(handle)
	if !ok {
		return false, notFound("schedule", handle)
	}
	where, args := ` WHERE id = ? AND company_id = ?`, []any{string(to), id, cid}
	if len(from) > 0 {
		cond, arg := j.d.InStrings("state", store.StateNames(from))
		where += ` AND ` + cond
		args = append(args, arg)
	}
	res, err := j.exec(ctx, j.db, `UPDATE schedules SET state = ?`+where, args...)
	if err != nil {
		return false, fmt.Errorf("set state of schedule %q: %w", handle, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set state of schedule %q: %w", handle, err)
	}
	if n > 0 {
		return true, nil
	}
	if _, err := j.ScheduleByHandle(ctx, "", handle); err != nil {
		return false, err
	}
	return false, nil
}

// AdvanceSchedule moves NextFire from prev to next in one conditional
// UPDATE: of concurrent callers with the same prev, exactly one matches.
// prev is compared as stored (to the microsecond).
func (j *Jobs) AdvanceSchedule(ctx context.Context, handle string, prev, next time.Time) (bool, error) {
	return j.advanceSchedule(ctx, j.db, handle, prev, next)
}

func (j *Jobs) advanceSchedule(ctx context.Context, q querier, handle string, prev, next time.Time) (bool, error) {
	if next.IsZero() {
		return false, fmt.Errorf("advance schedule %q: no next fire time", handle)
	}
	if err := errors.Join(checkTime("previous fire", prev), checkTime("next fire", next)); err != nil {
		return false, fmt.Errorf("advance schedule %q: %w", handle, err)
	}
	cid, id, ok := parseSchedule(handle)
	if !ok {
		return false, notFound("schedule", handle)
	}
	res, err := j.exec(ctx, q, `UPDATE schedules SET next_fire = ? WHERE id = ? AND company_id = ? AND next_fire = ? AND state = ?`,
		j.d.TimeArg(at(next)), id, cid, j.d.TimeArg(at(prev)), string(store.JobScheduled))
	if err != nil {
		return false, fmt.Errorf("advance schedule %q: %w", handle, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("advance schedule %q: %w", handle, err)
	}
	if n > 0 {
		return true, nil
	}
	var k int
	if err := j.queryRow(ctx, q, `SELECT COUNT(*) FROM schedules WHERE id = ? AND company_id = ?`, id, cid).Scan(&k); err != nil {
		return false, fmt.Errorf("advance schedule %q: %w", handle, err)
	}
	if k == 0 {
		return false, notFound("schedule", handle)
	}
	return false, nil
}

// ---- transactions ----

// InTx runs fn in one transaction, committed when fn returns nil and
// rolled back otherwise; what fn writes through tx, and what it writes on
// tx.SQL() (the queue's work), commit together or not at all. On SQLite
// the transaction holds the one writer connection: fn may read through
// the store (the read-only pool answers, with the last commit) but must
// not write outside tx.
func (j *Jobs) InTx(ctx context.Context, fn func(tx store.Tx) error) error {
	if j.group != nil {
		return j.group.do(ctx, func(tx *sql.Tx) error { return fn(jobsTx{j: j, tx: tx}) })
	}
	return j.inTx(ctx, func(tx *sql.Tx) error { return fn(jobsTx{j: j, tx: tx}) })
}

// jobsTx is store.Tx on a database transaction.
type jobsTx struct {
	j  *Jobs
	tx *sql.Tx
}

func (t jobsTx) SQL() *sql.Tx { return t.tx }

func (t jobsTx) CreateJobFrom(ctx context.Context, nj store.NewJob, n int, assets iter.Seq[store.JobAsset]) (store.Job, error) {
	return t.j.createJob(ctx, t.tx, nj, n, assets)
}

func (t jobsTx) AdvanceSchedule(ctx context.Context, handle string, prev, next time.Time) (bool, error) {
	return t.j.advanceSchedule(ctx, t.tx, handle, prev, next)
}

func (t jobsTx) DeleteSchedule(ctx context.Context, companyHandle, handle string) error {
	return t.j.deleteSchedule(ctx, t.tx, companyHandle, handle)
}
