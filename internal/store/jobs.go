package store

import (
	"context"
	"database/sql"
	"iter"
	"time"
)

// Job types, as ActiveJob.type and JobLog.jobType name them.
const (
	JobTypeExport = "Export"
	JobTypeUpload = "Upload"
)

// JobState is the IPS view of a job's progress. The queue (River) knows
// nothing of it; pause and stop are requests the worker reads between
// assets. Which state may follow which is package jobs' transition table:
// the store only records a move it is told to make.
type JobState string

// Job states.
const (
	JobScheduled JobState = "Scheduled" // execTime in the future; not started
	// JobHeld is a scheduled job (or a recurring schedule) paused before
	// its time: it does not start until resumed.
	JobHeld      JobState = "Held"
	JobNew       JobState = "New" // queued
	JobRunning   JobState = "Running"
	JobPaused    JobState = "Paused"   // pauseJob: the worker holds after the asset in hand
	JobStopping  JobState = "Stopping" // stopJob: the worker ends after the asset in hand
	JobCompleted JobState = "Completed"
	JobStopped   JobState = "Stopped"
	JobFailed    JobState = "Failed" // the job itself failed (not one asset)
	// JobDeleting is a job deleteJob removes once no worker holds it: it is
	// gone for every reader (ListJobs leaves it out unless asked for it).
	JobDeleting JobState = "Deleting"
)

// JobStates lists every state.
var JobStates = []JobState{JobScheduled, JobHeld, JobNew, JobRunning, JobPaused, JobStopping, JobCompleted, JobStopped, JobFailed, JobDeleting}

// WaitingJobStates are the states of a job waiting for its execTime.
var WaitingJobStates = []JobState{JobScheduled, JobHeld}

// ActiveJobStates are the states of a job that has not ended.
var ActiveJobStates = []JobState{JobNew, JobRunning, JobPaused, JobStopping}

// EndedJobStates are the final states.
var EndedJobStates = []JobState{JobCompleted, JobStopped, JobFailed}

// Ended reports a final state.
func (s JobState) Ended() bool { return s == JobCompleted || s == JobStopped || s == JobFailed }

// StateNames turns states into the strings a query or the wire uses.
func StateNames(states []JobState) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}

// Outcomes of one asset of a job. "" is pending.
const (
	OutcomePending = ""
	OutcomeSuccess = "Success"
	OutcomeWarning = "Warning"
	OutcomeError   = "Error"
	// OutcomeCancelled: the job was stopped before the asset was taken up.
	OutcomeCancelled = "Cancelled"
)

// Job is one run of an IPS job: an export, or an upload through UploadFile.
type Job struct {
	Handle        string
	CompanyHandle string
	Type          string // JobTypeExport, JobTypeUpload
	// Name is OriginalName + "_" + the submit time (docs/wire.md, "Handles"); OriginalName
	// is the submitted jobName, not unique.
	Name         string
	OriginalName string
	Description  string
	Locale       string
	// SubmitUserHandle submitted the job; NotifyUserHandle is mailed
	// (submitJob's userHandle, else the submitter).
	SubmitUserHandle string
	NotifyUserHandle string
	State            JobState
	// Spec is the job type's own request, opaque to the store (JSON).
	Spec []byte
	// ScheduleHandle is set on a run of an execSchedule schedule.
	ScheduleHandle string
	// ExecTime is when the job was asked to run (zero: at once).
	ExecTime time.Time
	// Total is the number of assets; the counts are of finished assets.
	// Succeeded includes the ones with a warning, as IPS counts them, and
	// the ones that replaced an asset's file (Updated counts those);
	// Cancelled are the assets a stop left untouched. Succeeded + Errors +
	// Cancelled is the number finished.
	Total, Succeeded, Warnings, Errors, Cancelled, Updated int
	// Announced is set once the job's start has been told (its Started
	// mail sent or not needed), so that no asset's mail overtakes it.
	Announced bool
	// BytesWritten sums the sizes of the files the job wrote.
	BytesWritten int64
	Submitted    time.Time
	Started      time.Time // zero until it runs
	Ended        time.Time // zero until it ends
	// Expires is when the job's files are removed; Purged is set once
	// they are.
	Expires time.Time
	Purged  bool

	// BytesLimitReached is set once a file did not fit the job's output
	// limit (ReserveJobBytes): the job's remaining assets are not exported.
	BytesLimitReached bool

	// RenditionHits counts the assets exported from the rendition cache
	// rather than rendered (docs/rendition-cache.md).
	RenditionHits int
}

// NewJob is the input of CreateJob. State is JobNew or JobScheduled (or
// JobRunning for an upload, which runs as its files arrive).
type NewJob struct {
	CompanyHandle    string
	Type             string
	Name             string
	OriginalName     string
	Description      string
	Locale           string
	SubmitUserHandle string
	NotifyUserHandle string
	State            JobState
	Spec             []byte
	ScheduleHandle   string
	ExecTime         time.Time
	Expires          time.Time
}

// JobAsset is one asset of a job and, once finished, its log detail.
type JobAsset struct {
	JobHandle   string
	Seq         int // 0-based position in the job
	AssetHandle string
	AssetName   string
	AssetType   string
	FolderPath  string // the asset's folder path relative to the company root ("" = root, else ending in "/")
	FileName    string // the asset's original file name
	Outcome     string // Outcome*; "" while pending
	Message     string
	// Replaced: the file replaced an existing asset's file (an upload with
	// overwrite); it counts in the job's Updated.
	Replaced bool
	// OutputPath is the job-relative path of the file written ("shoes/a.jpg");
	// BlobKey where it is stored.
	OutputPath string
	BlobKey    string
	Size       int64
	SHA256     string
	// Began is when work on the asset began (zero when it never did: a
	// cancelled asset, or one that failed before any work).
	Began    time.Time
	Finished time.Time

	// SourceKey and SourceSHA256 are the original an export captured at
	// submit (the asset's StorageKey and SHA256 then): the worker reads
	// that version whatever happened to the asset since, and the blob
	// garbage keeps its file while the asset is pending. Empty for uploads
	// and for handles that named no asset.
	SourceKey    string
	SourceSHA256 string
	// Conversion is the asset's own resolved conversion, which the job
	// engine writes (JSON) when the asset's stored modifiers make it differ
	// from the job's; "" renders the job's.
	Conversion string

	// RenditionHit, given to FinishJobAsset, counts the asset in its job's
	// RenditionHits: its file was reused from the rendition cache. It is
	// not stored with the asset.
	RenditionHit bool
}

// JobFile is a file a job wrote: the download routes need nothing else, so
// listing 10,000 of them stays small.
type JobFile struct {
	Path    string // OutputPath
	BlobKey string
	Size    int64
}

// JobQuery selects jobs for getJobLogs / getActiveJobs.
type JobQuery struct {
	CompanyHandle string // required
	// States filters; empty = any but JobDeleting (a job being deleted is
	// gone for every reader).
	States       []JobState
	Types        []string // empty = any
	OriginalName string   // "" = any; exact
	From, To     time.Time
	Descending   bool // by Submitted
	Limit        int  // 0 = no limit
}

// JobAssetQuery pages the assets of a job.
type JobAssetQuery struct {
	JobHandle string
	// Outcomes filters; empty = all finished ones (pending assets are not
	// log details). Include OutcomePending to see pending ones.
	Outcomes   []string
	Descending bool // by Seq
	Offset     int
	Limit      int // 0 = no limit
}

// LogRowKind is one kind of the rows a job's assets give its log.
type LogRowKind string

// Log row kinds: an asset began, and each outcome (a success that replaced
// an asset's file is LogUpdated, not LogSuccess).
const (
	LogBegin     LogRowKind = "Begin"
	LogSuccess   LogRowKind = "Success"
	LogUpdated   LogRowKind = "Updated"
	LogWarning   LogRowKind = "Warning"
	LogError     LogRowKind = "Error"
	LogCancelled LogRowKind = "Cancelled"
)

// LogRowKinds lists every kind.
var LogRowKinds = []LogRowKind{LogBegin, LogSuccess, LogUpdated, LogWarning, LogError, LogCancelled}

// JobLogQuery pages the rows a job's assets give its log: one LogBegin row
// per asset with Began, one outcome row per finished asset.
type JobLogQuery struct {
	JobHandle string
	// Kinds filters; empty = every kind.
	Kinds []LogRowKind
	// ByKind orders by kind, in the order Kinds lists them (all of
	// LogRowKinds when Kinds is empty), then by time; else by time. Ties
	// go by Seq, then a Begin row before its outcome row.
	ByKind     bool
	Descending bool // the whole order reversed
	Offset     int
	Limit      int // 0 = no limit
}

// JobLogRow is one row of a job's log: an asset and the time of the row
// (Began for LogBegin, Finished otherwise).
type JobLogRow struct {
	Kind  LogRowKind
	Time  time.Time
	Asset JobAsset
}

// AssetJobLog is one job log row naming an asset: a finished job asset
// with the job it belongs to.
type AssetJobLog struct {
	Job   Job
	Asset JobAsset
}

// Schedule is a recurring job (submitJob with execSchedule): each time it
// fires it creates a job from Spec.
type Schedule struct {
	Handle           string
	CompanyHandle    string
	Type             string
	OriginalName     string
	Description      string
	Locale           string
	SubmitUserHandle string
	NotifyUserHandle string
	Spec             []byte
	Cron             string // as submitted
	// State is JobScheduled, or JobHeld while paused (it does not fire).
	State    JobState
	NextFire time.Time
	Created  time.Time
}

// Jobs is the job part of the store.
type Jobs interface {
	// CreateJob inserts a job and its assets (Seq is assigned 0..n-1)
	// atomically; Total is len(assets).
	CreateJob(ctx context.Context, j NewJob, assets []JobAsset) (Job, error)
	// CreateJobFrom is CreateJob for a job of n assets that assets yields
	// once, in order, as they are inserted: a 10,000-asset export never
	// holds all its job assets at once. Yielding other than n assets fails
	// the whole job. assets runs inside the store's transaction: it must
	// not call the store.
	CreateJobFrom(ctx context.Context, j NewJob, n int, assets iter.Seq[JobAsset]) (Job, error)
	// JobByHandle finds a job; companyHandle "" matches any company (for
	// workers). Another company's job is ErrNotFound.
	JobByHandle(ctx context.Context, companyHandle, handle string) (Job, error)
	ListJobs(ctx context.Context, q JobQuery) ([]Job, error)
	// SetJobState moves a job to state `to` if its state is one of from
	// (any when from is empty), and reports whether it did. Moving to
	// JobRunning sets Started if zero; moving to an ended state sets Ended.
	SetJobState(ctx context.Context, handle string, from []JobState, to JobState) (bool, error)
	// AddJobAssets appends assets to a running job (uploads), assigning
	// the next Seq values, and raises Total; it returns them with Seq set.
	AddJobAssets(ctx context.Context, handle string, assets []JobAsset) ([]JobAsset, error)
	// JobAssets pages a job's assets by Seq; total counts all that match.
	JobAssets(ctx context.Context, q JobAssetQuery) (assets []JobAsset, total int, err error)
	// JobLog pages the rows a job's assets give its log (JobLogQuery);
	// total counts all that match. ErrNotFound if the job is unknown.
	JobLog(ctx context.Context, q JobLogQuery) (rows []JobLogRow, total int, err error)
	// AssetJobLogs lists the finished job assets of a company's jobs
	// (JobDeleting ones left out) that name assetHandle, newest first, at
	// most limit (0 = no limit).
	AssetJobLogs(ctx context.Context, companyHandle, assetHandle string, limit int) ([]AssetJobLog, error)
	// MarkJobAnnounced sets a job's Announced.
	MarkJobAnnounced(ctx context.Context, handle string) error
	// JobFiles returns the files a job wrote (its Success and Warning
	// assets with a BlobKey) by Seq: all when path is "", else the one
	// whose OutputPath is path. ErrNotFound if the job is unknown.
	JobFiles(ctx context.Context, handle, path string) ([]JobFile, error)
	// PendingJobAssets returns the pending assets with from <= Seq < to.
	PendingJobAssets(ctx context.Context, handle string, from, to int) ([]JobAsset, error)
	// FinishJobAsset records the outcome of a pending asset (matched by
	// JobHandle and Seq), with its Message, output, Replaced, Began and
	// Finished, and adds it to the job's counts and BytesWritten,
	// atomically. It reports false, changing nothing, when the asset was
	// already finished: a retried worker never counts an asset twice.
	FinishJobAsset(ctx context.Context, a JobAsset) (bool, error)
	// ReserveJobBytes admits n more bytes of a job's files before they are
	// written, when the job's admitted bytes stay within limit, and reports
	// whether it did: one conditional update, so concurrent workers of one
	// job never admit more than limit together. A refusal sets the job's
	// BytesLimitReached, after which nothing more is admitted. A negative n
	// gives back bytes admitted for a file that was then not written
	// (always done). ErrNotFound if the job is unknown.
	ReserveJobBytes(ctx context.Context, handle string, n, limit int64) (bool, error)
	// DeleteJob removes a job and its assets; ErrNotFound if unknown.
	DeleteJob(ctx context.Context, companyHandle, handle string) error
	// JobStateCounts counts the jobs of every company by state.
	JobStateCounts(ctx context.Context) (map[string]int, error)
	// ExpiredJobs lists ended, unpurged jobs whose Expires is before t.
	ExpiredJobs(ctx context.Context, t time.Time, limit int) ([]Job, error)
	MarkJobPurged(ctx context.Context, handle string) error

	CreateSchedule(ctx context.Context, s Schedule) (Schedule, error)
	Schedules(ctx context.Context, companyHandle string) ([]Schedule, error) // ordered by NextFire
	DeleteSchedule(ctx context.Context, companyHandle, handle string) error  // ErrNotFound if unknown
	// DueSchedules lists the JobScheduled (not held) schedules of any
	// company with NextFire <= t.
	DueSchedules(ctx context.Context, t time.Time) ([]Schedule, error)
	// SetScheduleState moves a schedule to state to (JobScheduled or
	// JobHeld) if its state is one of from, and reports whether it did;
	// ErrNotFound if there is no such schedule.
	SetScheduleState(ctx context.Context, handle string, from []JobState, to JobState) (bool, error)
	// ScheduleByHandle finds a schedule; companyHandle "" matches any.
	ScheduleByHandle(ctx context.Context, companyHandle, handle string) (Schedule, error)
	// AdvanceSchedule moves NextFire from prev to next if it is still
	// prev and the schedule is not held, and reports whether it did: of
	// several processes firing the same schedule, exactly one wins, and
	// none fires a schedule held meanwhile.
	AdvanceSchedule(ctx context.Context, handle string, prev, next time.Time) (bool, error)

	// InTx runs fn in one write transaction: committed when fn returns
	// nil, rolled back otherwise. A submit writes its job, its assets and
	// its queued work through it; a schedule's tick advances the schedule
	// and submits its run through it.
	InTx(ctx context.Context, fn func(tx Tx) error) error
}

// Tx is the writes a submit makes together, in one transaction of the
// store's database. SQL is that transaction, for the queue's insert
// (River's InsertManyTx) to join; nothing but the job engine uses it.
type Tx interface {
	CreateJobFrom(ctx context.Context, j NewJob, n int, assets iter.Seq[JobAsset]) (Job, error)
	AdvanceSchedule(ctx context.Context, handle string, prev, next time.Time) (bool, error)
	DeleteSchedule(ctx context.Context, companyHandle, handle string) error
	SQL() *sql.Tx
}
