// Package download serves the exported files of IPS export jobs (docs/wire.md, "Endpoints"
// "downloads"): one file at GET /scene7/export/<jobHandle>/<path> and all
// of a job's files, zipped on the fly, at GET /scene7/export/<jobHandle>.zip.
//
// Exported files live in blob storage (the export worker puts them under
// exports/<jobID>/<relative path>); the caller tells this package, through
// the Jobs interface, which files a job has and where they are. Nothing is
// ever served from a path derived from the URL: the URL only selects one of
// the files the job lists.
//
// A request is authorised by either
//   - a signed, expiring link (Signer): HMAC over job handle, path and
//     expiry, carried in the query, needing no credentials (the AEM export
//     client downloads the zip bare); or
//   - HTTP Basic credentials of a user who may see the job's company
//     (Authorizer).
//
// Everything a caller who is not allowed asks about a job gets the same
// 404, whether the job exists or not; a request with neither credentials
// nor a signature gets 401 with a Basic challenge; a bad or expired
// signature (checked before the job is looked up, so it reveals nothing)
// gets 403. A job whose retention has passed gets 410 Gone, but only for a
// caller who may see it.
package download

import (
	"context"
	"errors"
	"time"
)

// RoutePrefix is the URL path under which downloads are served. Mount the
// handler as "GET /scene7/export/{rest...}" (GET patterns match HEAD too).
const RoutePrefix = "/scene7/export/"

// ErrNotFound is what Jobs returns for a job handle it does not know.
var ErrNotFound = errors.New("job not found")

// Jobs gives the handler what it needs to know about jobs. The caller
// implements it over the store.
type Jobs interface {
	// Job finds a job by handle; an error wrapping ErrNotFound if unknown.
	Job(ctx context.Context, jobHandle string) (Job, error)
	// Files lists the job's exported files in order: relative path (the
	// name inside the zip and in the URL) and blob key.
	Files(ctx context.Context, jobHandle string) ([]File, error)
	// File finds the job's exported file at a relative path; an error
	// wrapping ErrNotFound if it wrote none there.
	File(ctx context.Context, jobHandle, path string) (File, error)
}

// Job is what the handler needs of a job.
type Job struct {
	Handle        string
	CompanyHandle string
	// Expires is when the job's files are removed (retention); zero
	// means never.
	Expires time.Time
}

// File is one exported file of a job.
type File struct {
	// Path is the job-relative, slash-separated path, e.g.
	// "folder/a.jpg": the URL path after the job handle, and the name
	// inside the zip (sanitised, see EntryName).
	Path string
	// BlobKey is where the bytes are in blob storage.
	BlobKey string
	// Size in bytes, as recorded when the file was exported.
	Size int64
}

// Authorizer reports whether user, authenticated by password from
// remoteAddr (the request's client address, which failed logins are
// limited by), may see the jobs of companyHandle. The handler also calls it
// with companyHandle "" for a job that does not exist, so that checking a
// password costs the same whether the job exists or not; it must answer
// false then.
type Authorizer func(ctx context.Context, user, password, remoteAddr, companyHandle string) bool
