package service

import (
	"context"
	"time"

	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/store"
)

// Store is what the operations read and write: the catalogue a user may
// see and the job log. store.Store is one; the tests use the embedded
// SQLite store.
type Store interface {
	Directory
	Assets
	ImageFormats
	JobLog
}

// Directory is users, companies and who belongs where.
type Directory interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByHandle(ctx context.Context, handle string) (store.User, error)
	CompanyByHandle(ctx context.Context, handle string) (store.Company, error)
	CompanyByName(ctx context.Context, name string) (store.Company, error)
	ListCompanies(ctx context.Context) ([]store.Company, error)
	CompanyDefaults(ctx context.Context, companyHandle string) (store.CompanyDefaults, error)
	UserCompanies(ctx context.Context, userHandle string) ([]store.Company, error)
	IsMember(ctx context.Context, userHandle, companyHandle string) (bool, error)
}

// Assets is the catalogue's folders and assets.
type Assets interface {
	AssetsByHandles(ctx context.Context, companyHandle string, handles []string) ([]store.Asset, error)
	jobs.AssetLookup // what a submit and getOriginalFilePaths read of each asset
	AssetsByNames(ctx context.Context, companyHandle string, names, types []string) ([]store.Asset, error)
	SearchAssets(ctx context.Context, q store.AssetQuery) ([]store.Asset, int, error)
	DeleteAsset(ctx context.Context, companyHandle, handle string) error
	SetURLModifiers(ctx context.Context, companyHandle, handle, urlModifier, urlPostApplyModifier string) (store.Asset, error)
	FolderByPath(ctx context.Context, companyHandle, fullPath string) (store.Folder, error)
	ListFolders(ctx context.Context, companyHandle string) ([]store.Folder, error)
}

// ImageFormats is a company's named presets (macros).
type ImageFormats interface {
	ImageFormats(ctx context.Context, companyHandle string) ([]store.ImageFormat, error)
	ImageFormatByName(ctx context.Context, companyHandle, name string) (store.ImageFormat, error)
	SaveImageFormat(ctx context.Context, f store.ImageFormat) (store.ImageFormat, error)
	DeleteImageFormat(ctx context.Context, companyHandle, handle string) error
}

// JobLog is what the job operations read of jobs and schedules; every
// change to a job goes through the engine.
type JobLog interface {
	JobByHandle(ctx context.Context, companyHandle, handle string) (store.Job, error)
	ListJobs(ctx context.Context, q store.JobQuery) ([]store.Job, error)
	JobAssets(ctx context.Context, q store.JobAssetQuery) ([]store.JobAsset, int, error)
	JobLog(ctx context.Context, q store.JobLogQuery) ([]store.JobLogRow, int, error)
	AssetJobLogs(ctx context.Context, companyHandle, assetHandle string, limit int) ([]store.AssetJobLog, error)
	Schedules(ctx context.Context, companyHandle string) ([]store.Schedule, error)
	ScheduleByHandle(ctx context.Context, companyHandle, handle string) (store.Schedule, error)
}

// JobEngine is the service's view of the job engine (*jobs.Engine).
type JobEngine interface {
	Submitter
	Controller
	Links
}

// Submitter makes export jobs and schedules.
type Submitter interface {
	// PrepareExport names the outputs of a validated export whose
	// conversion is resolved; SubmitExport writes it, with its work, at once.
	PrepareExport(ctx context.Context, co store.Company, spec jobs.ExportSpec, handles []string, known map[string]*store.Asset) (*jobs.Export, error)
	SubmitExport(ctx context.Context, nj store.NewJob, x *jobs.Export) (store.Job, error)
	AddSchedule(ctx context.Context, s store.Schedule, spec jobs.ScheduleSpec) (store.Schedule, error)
	// Now is the clock of job names; Location the time zone of schedules.
	Now() time.Time
	Location() *time.Location
}

// Controller moves jobs and recurring schedules: one whose state does not
// allow the move is a *jobs.TransitionError.
type Controller interface {
	PauseJob(ctx context.Context, j store.Job) error
	ResumeJob(ctx context.Context, j store.Job) error
	StopJob(ctx context.Context, j store.Job) error
	ExecuteJob(ctx context.Context, j store.Job) error
	DeleteJob(ctx context.Context, j store.Job) error
	PauseSchedule(ctx context.Context, sc store.Schedule) error
	ResumeSchedule(ctx context.Context, sc store.Schedule) error
	ExecuteSchedule(ctx context.Context, sc store.Schedule) (store.Job, error)
	DeleteSchedule(ctx context.Context, sc store.Schedule) error
}

// Links signs download links of a job's files.
type Links interface {
	ArchiveURL(base string, j store.Job) string
	FileURL(base string, j store.Job, path string) string
	PublicURL() string
}
