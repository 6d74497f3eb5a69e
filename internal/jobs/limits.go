package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipsexport/ipsd/internal/export"
)

// Export output bounds (docs/security.md, "Export output"): each file is
// at most Config.MaxFileBytes, and a job's files together at most
// Config.MaxJobBytes. The job log names the setting an asset ran into, so
// whoever reads it knows what an operator would change.
const (
	DefaultMaxFileBytes = 2 << 30   // the default --max-upload-bytes: every uploadable original exports
	DefaultMaxJobBytes  = 100 << 30 // far above a normal job, far below a full disk

	fileLimitSetting = "setting --max-export-file-bytes, IPSD_MAX_EXPORT_FILE_BYTES"
	jobLimitSetting  = "setting --max-export-job-bytes, IPSD_MAX_EXPORT_JOB_BYTES"
)

// budget admits the files of one job against its total: each file's
// bytes are reserved in the job's row before they are written, in one
// conditional update, so chunks of the job working at once on any number
// of processes never write more than the limit together.
type budget struct {
	st    WorkStore
	job   string
	limit int64
}

// budget is the job's, or nil when jobs are not bounded.
func (e *Engine) budget(job string) export.Budget {
	if e.cfg.MaxJobBytes <= 0 {
		return nil
	}
	return budget{st: e.work, job: job, limit: e.cfg.MaxJobBytes}
}

func (b budget) Admit(ctx context.Context, n int64) error {
	ok, err := b.st.ReserveJobBytes(context.WithoutCancel(ctx), b.job, n, b.limit)
	if err != nil {
		return fmt.Errorf("job output limit: %w", err)
	}
	if !ok {
		return &export.LimitError{Limit: export.ErrJobFull,
			Msg: "it would take the job's files past their total limit of " + export.ByteSize(b.limit)}
	}
	return nil
}

func (b budget) Return(ctx context.Context, n int64) {
	// A failure only leaves the job counting bytes it did not write.
	_, _ = b.st.ReserveJobBytes(context.WithoutCancel(ctx), b.job, -n, b.limit)
}

// limitMessage is an asset's log message for a failed export: the error,
// and the setting behind it when it is an output limit.
func limitMessage(err error) string {
	switch {
	case errors.Is(err, export.ErrFileTooLarge):
		return err.Error() + "; " + fileLimitSetting
	case errors.Is(err, export.ErrJobFull):
		return err.Error() + "; " + jobLimitSetting
	}
	return err.Error()
}

// jobFullMessage is the log message of the assets a job no longer exports
// once its files reached their total.
func (e *Engine) jobFullMessage() string {
	return fmt.Sprintf("not exported: the job's files reached their total limit of %s; %s",
		export.ByteSize(e.cfg.MaxJobBytes), jobLimitSetting)
}
