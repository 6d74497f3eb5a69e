// Package notify sends the e-mail of export jobs (docs/exports.md, "Mail"): which
// events of a job send mail under each emailSetting (Policy), the text of
// each mail in the job's locale (Compose), and two ways to deliver it
// (Sender): SMTP (SMTPSender) or, without a mail server, an RFC 5322 .eml
// file in a spool directory (SpoolSender).
//
// The job engine calls Notify at each event; Notify applies the policy,
// composes and sends.
package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Event is what happened to a job.
type Event int

// Job events. The zero Event is invalid.
const (
	// Started: the job began exporting.
	Started Event = iota + 1
	// AssetError: one asset failed to export.
	AssetError
	// AssetWarning: one asset exported with a warning.
	AssetWarning
	// Completed: the job ended (finished, or stopped with what was done
	// kept).
	Completed
)

// String returns the event's name.
func (e Event) String() string {
	switch e {
	case Started:
		return "Started"
	case AssetError:
		return "AssetError"
	case AssetWarning:
		return "AssetWarning"
	case Completed:
		return "Completed"
	}
	return fmt.Sprintf("Event(%d)", int(e))
}

// The emailSetting values of an ExportJob.
const (
	SettingAll             = "All"
	SettingError           = "Error"
	SettingErrorAndWarning = "ErrorAndWarning"
	SettingJobCompletion   = "JobCompletion"
	SettingNone            = "None"
)

// Policy reports whether a job with emailSetting sends mail for event e;
// hadErrors and hadWarnings tell whether any asset of the job has failed
// or warned so far (at Completed: at all).
//
//   - All: every event – start, each asset error and warning, completion.
//   - Error: once, at completion, when any asset failed. Not one mail per
//     failed asset: a job of 10,000 assets against a broken source would
//     otherwise send 10,000 mails; the completion mail carries the counts
//     and the failures' messages.
//   - ErrorAndWarning: once, at completion, when any asset failed or
//     warned (same reasoning).
//   - JobCompletion: once, at completion.
//   - None, "" (a missing emailSetting means None, docs/exports.md, "Mail") and anything
//     unknown: never.
//
// Setting names match case-insensitively.
func Policy(emailSetting string, e Event, hadErrors, hadWarnings bool) bool {
	switch s := strings.TrimSpace(emailSetting); {
	case strings.EqualFold(s, SettingAll):
		return e >= Started && e <= Completed
	case strings.EqualFold(s, SettingError):
		return e == Completed && hadErrors
	case strings.EqualFold(s, SettingErrorAndWarning):
		return e == Completed && (hadErrors || hadWarnings)
	case strings.EqualFold(s, SettingJobCompletion):
		return e == Completed
	}
	return false
}

// JobSummary is what a job mail tells.
type JobSummary struct {
	// Upload marks an upload job (UploadFile); otherwise an export.
	Upload      bool
	JobName     string
	JobHandle   string
	CompanyName string
	// Locale is the job's locale ("de-DE", "fr", "ja_JP", …); mail is in
	// its language where a translation exists, English otherwise.
	Locale string
	Event  Event
	// Counts so far (final at Completed). Succeeded includes the assets
	// with a warning, as in the job log, and the files that replaced an
	// asset's file (Updated counts those); Cancelled are the assets a stop
	// left untouched.
	Total, Succeeded, Warnings, Errors, Cancelled, Updated int
	// Reused counts the exported files taken from the rendition cache
	// instead of rendered again (docs/rendition-cache.md).
	Reused int
	// Stopped: at Completed, the job was stopped before its end.
	Stopped bool
	// ZipURL is the signed link to the job's zip; shown when not empty.
	ZipURL string
	// LinkExpires is when ZipURL stops working; shown when not zero.
	LinkExpires time.Time
	// Messages are the asset messages to show: the one asset's at
	// AssetError/AssetWarning, the failures and warnings at Completed.
	// At most MaxMessages are listed.
	Messages []string
}

// MaxMessages bounds the messages listed in one mail; the rest are
// counted.
const MaxMessages = 50

// Sender delivers a mail.
type Sender interface {
	Send(ctx context.Context, m Mail) error
}

// ErrNoRecipient is returned by Notify for a mail that is due but has no
// address to go to.
var ErrNoRecipient = errors.New("no recipient address")

// Notify sends the mail for sum.Event of a job to "to" when emailSetting
// asks for it (Policy, with the summary's counts), and reports whether a
// mail was sent.
func Notify(ctx context.Context, s Sender, emailSetting, to string, sum JobSummary) (bool, error) {
	if !Policy(emailSetting, sum.Event, sum.Errors > 0, sum.Warnings > 0) {
		return false, nil
	}
	if strings.TrimSpace(to) == "" {
		return false, fmt.Errorf("notify job %s (%s): %w", sum.JobHandle, sum.Event, ErrNoRecipient)
	}
	m, err := Compose(to, sum)
	if err != nil {
		return false, err
	}
	if err := s.Send(ctx, m); err != nil {
		return false, fmt.Errorf("notify job %s (%s): %w", sum.JobHandle, sum.Event, err)
	}
	return true, nil
}
