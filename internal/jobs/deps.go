package jobs

import (
	"context"
	"time"

	"github.com/ipsexport/ipsd/internal/store"
)

// Store is what the engine needs of the store; store.Store is one. Each
// part of the engine sees only its own slice of it.
type Store interface {
	WorkStore
	SubmitStore
	ScheduleStore
	RetentionStore
	ScheduleStateStore
}

// WorkStore is the worker's view of the store: a chunk's job and pending
// assets, the assets they export, their outcomes, and the recipient of the
// job's mail.
type WorkStore interface {
	StateStore
	AssetsByHandles(ctx context.Context, companyHandle string, handles []string) ([]store.Asset, error)
	Catalogue // only for a job stored without its resolved conversion
	PendingJobAssets(ctx context.Context, handle string, from, to int) ([]store.JobAsset, error)
	FinishJobAsset(ctx context.Context, a store.JobAsset) (bool, error)
	ReserveJobBytes(ctx context.Context, handle string, n, limit int64) (bool, error)
	MarkJobAnnounced(ctx context.Context, handle string) error
	JobAssets(ctx context.Context, q store.JobAssetQuery) ([]store.JobAsset, int, error)
	JobFiles(ctx context.Context, handle, path string) ([]store.JobFile, error)
	UserByHandle(ctx context.Context, handle string) (store.User, error)
	CompanyByHandle(ctx context.Context, handle string) (store.Company, error)
}

// SubmitStore is what a submit needs: the assets and image formats it
// reads first, the transaction it writes in; and the removal of a job and
// a schedule.
type SubmitStore interface {
	AssetLookup
	Catalogue
	InTx(ctx context.Context, fn func(tx store.Tx) error) error
	DeleteJob(ctx context.Context, companyHandle, handle string) error
	DeleteSchedule(ctx context.Context, companyHandle, handle string) error
}

// ScheduleStore is what recurring exports need.
type ScheduleStore interface {
	CreateSchedule(ctx context.Context, s store.Schedule) (store.Schedule, error)
	DueSchedules(ctx context.Context, t time.Time) ([]store.Schedule, error)
	CompanyByHandle(ctx context.Context, handle string) (store.Company, error)
}

// RetentionStore is what removing expired exports, and the jobs deleteJob
// left to the tick, needs.
type RetentionStore interface {
	ExpiredJobs(ctx context.Context, t time.Time, limit int) ([]store.Job, error)
	MarkJobPurged(ctx context.Context, handle string) error
	ListCompanies(ctx context.Context) ([]store.Company, error)
	ListJobs(ctx context.Context, q store.JobQuery) ([]store.Job, error)
}
