// Package web serves the Jobs page: the browser view of IPS jobs that
// Dynamic Media Classic users follow and download their exports on. It is
// server-rendered (html/template, embedded), with one small script that
// refreshes a page while a job runs; without JavaScript a <noscript> meta
// refresh does the same.
//
// The package knows nothing of SOAP, XML or the store: it asks an
// Authenticator to check a password (the API's own login path, with its
// failed-login limits) and a Backend for jobs, and the caller adapts the
// service and job engine to them.
//
// Security, in short (docs/jobs-page.md has the why):
//   - sessions are stateless, HMAC-signed cookies keyed from the
//     deployment's signing key, so any front end of a scaled-out
//     deployment accepts a session another one issued; a session carries a
//     keyed digest of the user's credential stamp, so a password change
//     ends every session of that user;
//   - every POST carries a per-session CSRF token and passes
//     http.CrossOriginProtection;
//   - another company's job is answered exactly as an unknown one (404).
package web

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Errors a Backend returns; wrap them with context.
var (
	// ErrNotFound: no such job or user, or one the user may not see.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the user's role does not allow the operation.
	ErrForbidden = errors.New("not allowed for this role")
)

// ActionError refuses a job operation that does not apply to the job in
// its state ("job is Completed; pause does not apply").
type ActionError struct{ Reason string }

func (e *ActionError) Error() string { return e.Reason }

// SignInError refuses a sign-in: wrong user or password, or too many
// failed attempts. Reason is shown to the user.
type SignInError struct{ Reason string }

func (e *SignInError) Error() string { return e.Reason }

// User is a signed-in user.
type User struct {
	Handle string
	Email  string
	Name   string
	Role   string
	// CredentialStamp changes whenever the user's password does (the
	// stored password hash will do). Sessions carry a keyed digest of it
	// and end when it changes; it is never sent to the browser.
	CredentialStamp string
}

// Authenticator checks a sign-in the way the API checks its requests:
// same accounts, same failed-login limits, counted against the client's
// address ("host:port"). A refused sign-in is a *SignInError.
type Authenticator interface {
	Authenticate(ctx context.Context, email, password, remoteAddr string) (User, error)
}

// Action is a job operation offered by a button.
type Action string

// The job operations, as IPS names them without "Job".
const (
	ActionPause  Action = "pause"
	ActionResume Action = "resume"
	ActionStop   Action = "stop"
	ActionDelete Action = "delete"
)

// Actions are the operations a user may apply to a job now: allowed by
// their role and applicable in the job's state.
type Actions struct {
	Pause, Resume, Stop, Delete bool
}

// Any reports whether any operation is offered.
func (a Actions) Any() bool { return a.Pause || a.Resume || a.Stop || a.Delete }

// Job is one row of the list.
type Job struct {
	Handle      string
	CompanyName string
	// Name is the submitted job name; RunName the unique run name
	// (name_timestamp).
	Name    string
	RunName string
	Type    string // Export, Upload
	State   string // Scheduled, Held, New, Running, Paused, Stopping, Completed, Stopped, Failed
	// Recurring is the cron expression of a recurring schedule (then
	// NextRun is when it fires next and the row has no job page).
	Recurring string
	NextRun   time.Time
	Total     int
	Succeeded int // including those with a warning
	Warnings  int
	Errors    int
	// Cancelled are the assets a stop left untouched: neither exported
	// nor failed.
	Cancelled int
	// Reused are the exported files taken from the rendition cache
	// instead of rendered again.
	Reused    int
	Submitted time.Time
	Started   time.Time
	Ended     time.Time
	// Expires is when the job's files are removed; Purged once they are.
	Expires time.Time
	Purged  bool
	// ArchiveURL downloads every exported file as a zip; "" when there
	// is none (not an export, nothing exported yet, or removed).
	ArchiveURL string
	Actions    Actions
}

// Done is the number of assets finished.
func (j Job) Done() int { return j.Succeeded + j.Errors + j.Cancelled }

// Progress is the percentage of assets finished.
func (j Job) Progress() int {
	if j.Total <= 0 {
		return 0
	}
	return min(j.Done()*100/j.Total, 100)
}

// Live reports whether the job may still change by itself, so its page
// refreshes.
func (j Job) Live() bool {
	switch j.State {
	case "New", "Running", "Paused", "Stopping":
		return true
	}
	return false
}

// IsEnded reports whether the job is over.
func (j Job) IsEnded() bool {
	switch j.State {
	case "Completed", "Stopped", "Failed":
		return true
	}
	return false
}

// ListQuery pages the ended jobs; the active and scheduled ones are few
// and listed whole.
type ListQuery struct {
	EndedOffset int
	EndedLimit  int
}

// JobList is what the list shows, each part newest first.
type JobList struct {
	Active    []Job
	Scheduled []Job
	// ScheduledHidden: the user's role may not see scheduled jobs.
	ScheduledHidden bool
	Ended           []Job
	// MoreEnded: there are ended jobs after this page.
	MoreEnded bool
	// Companies is the number of companies the user sees (a company
	// column appears when it is more than one).
	Companies int
}

// Detail is one log detail of a job: an asset's outcome.
type Detail struct {
	Time      time.Time
	Outcome   string // Success, Warning, Error, Cancelled
	AssetName string
	AssetType string
	Message   string
	// Path is the exported file's job-relative path and FileURL its
	// download link; both "" when no file was written.
	Path    string
	FileURL string
}

// JobPage is one job with a page of its log details.
type JobPage struct {
	Job
	Description string
	SubmittedBy string // e-mail
	Details     []Detail
	// TotalDetails counts every detail, of all pages.
	TotalDetails int
}

// Backend is what the pages need of jobs. Every method takes the signed-in
// user and answers only within the companies they may see: another
// company's job is ErrNotFound.
type Backend interface {
	// User finds a signed-in user again (ErrNotFound once deleted).
	User(ctx context.Context, handle string) (User, error)
	// Jobs lists the jobs of every company the user may see.
	Jobs(ctx context.Context, u User, q ListQuery) (JobList, error)
	// Job returns a job and limit of its log details from offset.
	Job(ctx context.Context, u User, handle string, offset, limit int) (JobPage, error)
	// Control applies an operation: ErrForbidden when the role does not
	// allow it, ErrNotFound, or an *ActionError when the job's state does
	// not.
	Control(ctx context.Context, u User, handle string, a Action) error
}

// Config configures the pages.
type Config struct {
	Auth Authenticator
	Jobs Backend
	// Key is the deployment's secret (the download signing key); the
	// session and CSRF keys are derived from it, so every front end of a
	// deployment accepts the others' sessions.
	Key []byte
	// SessionTTL is how long a sign-in lasts (default 12 hours).
	SessionTTL time.Duration
	// DetailsPerPage pages a job's log details (default 100); EndedPerPage
	// the ended jobs of the list (default 50).
	DetailsPerPage int
	EndedPerPage   int
	// RefreshEvery is how often a page with a running job refreshes
	// (default 2 s).
	RefreshEvery time.Duration
	// Location is the time zone times are shown in (default Local).
	Location *time.Location
	Logger   *slog.Logger
	Now      func() time.Time
}

// DefaultSessionTTL is how long a sign-in lasts unless configured.
const DefaultSessionTTL = 12 * time.Hour
