package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/store"
)

// Downloads is the download handler's view of export jobs.
type Downloads struct{ Store DownloadStore }

// DownloadStore is what downloads read: a job and the files it wrote.
type DownloadStore interface {
	JobByHandle(ctx context.Context, companyHandle, handle string) (store.Job, error)
	JobFiles(ctx context.Context, handle, path string) ([]store.JobFile, error)
}

var _ download.Jobs = Downloads{}

// Job finds a job of any company; the handler checks who may see it.
func (d Downloads) Job(ctx context.Context, handle string) (download.Job, error) {
	j, err := d.Store.JobByHandle(ctx, "", handle)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (j.Type != store.JobTypeExport || j.State == store.JobDeleting)) {
		return download.Job{}, fmt.Errorf("job %s: %w", handle, download.ErrNotFound)
	}
	if err != nil {
		return download.Job{}, fmt.Errorf("job %s: %w", handle, err)
	}
	exp := j.Expires
	if j.Purged && (exp.IsZero() || exp.After(time.Now())) {
		exp = time.Unix(1, 0) // removed early (deleteJob): gone
	}
	return download.Job{Handle: j.Handle, CompanyHandle: j.CompanyHandle, Expires: exp}, nil
}

// Files lists the files a job wrote, in job order.
func (d Downloads) Files(ctx context.Context, handle string) ([]download.File, error) {
	files, err := d.Store.JobFiles(ctx, handle, "")
	if err != nil {
		return nil, fmt.Errorf("files of %s: %w", handle, err)
	}
	out := make([]download.File, len(files))
	for i, f := range files {
		out[i] = download.File(f)
	}
	return out, nil
}

// File finds the file a job wrote at path.
func (d Downloads) File(ctx context.Context, handle, path string) (download.File, error) {
	files, err := d.Store.JobFiles(ctx, handle, path)
	if err != nil {
		return download.File{}, fmt.Errorf("file %q of %s: %w", path, handle, err)
	}
	if len(files) == 0 {
		return download.File{}, fmt.Errorf("file %q of %s: %w", path, handle, download.ErrNotFound)
	}
	return download.File(files[0]), nil
}
