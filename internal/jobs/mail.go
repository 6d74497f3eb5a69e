package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/store"
)

// MailStore is what job mail reads: the recipient, the company's name and
// the job's problems.
type MailStore interface {
	UserByHandle(ctx context.Context, handle string) (store.User, error)
	CompanyByHandle(ctx context.Context, handle string) (store.Company, error)
	JobAssets(ctx context.Context, q store.JobAssetQuery) ([]store.JobAsset, int, error)
}

// Mailer sends the mail of export and upload jobs. The engine and the
// upload servlet share one; a nil *Mailer sends nothing.
type Mailer struct {
	Store  MailStore
	Sender notify.Sender
	// Signer signs the zip link of a completed export; PublicURL
	// ("https://host") is the base of links in mail.
	Signer    download.Signer
	PublicURL string
	// SendTimeout bounds one Send (the SMTP sender's timeout); zero is
	// notify.DefaultSMTPTimeout.
	SendTimeout time.Duration
	Log         *slog.Logger
}

// sendTimeout is how long one mail may take to send.
func (m *Mailer) sendTimeout() time.Duration {
	if m == nil || m.SendTimeout <= 0 {
		return notify.DefaultSMTPTimeout
	}
	return m.SendTimeout
}

// MailJob sends job j's mail for ev when emailSetting asks for it, to the
// job's notify user (else its submitter), in the job's locale; at
// Completed it lists the job's failures and warnings and, for an export
// that wrote files, links its zip. A mail that cannot be sent is logged,
// never fails the job.
func (m *Mailer) MailJob(ctx context.Context, j store.Job, emailSetting string, ev notify.Event, messages []string) {
	if m == nil || m.Sender == nil || !notify.Policy(emailSetting, ev, j.Errors > 0, j.Warnings > 0) {
		return
	}
	log := m.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx = context.WithoutCancel(ctx)
	to := j.NotifyUserHandle
	if to == "" {
		to = j.SubmitUserHandle
	}
	u, err := m.Store.UserByHandle(ctx, to)
	if err != nil {
		log.Warn("job mail: no recipient", "job", j.Handle, "user", to, "err", err)
		return
	}
	co, err := m.Store.CompanyByHandle(ctx, j.CompanyHandle)
	if err != nil {
		log.Warn("job mail: company", "job", j.Handle, "err", err)
		return
	}
	sum := notify.JobSummary{
		Upload:  j.Type == store.JobTypeUpload,
		JobName: j.OriginalName, JobHandle: j.Handle, CompanyName: co.Name, Locale: j.Locale,
		Event: ev, Total: j.Total, Succeeded: j.Succeeded, Warnings: j.Warnings, Errors: j.Errors,
		Cancelled: j.Cancelled, Updated: j.Updated, Reused: j.RenditionHits, Stopped: j.State == store.JobStopped,
		Messages: messages,
	}
	if ev == notify.Completed {
		if j.Succeeded > 0 && j.Type == store.JobTypeExport {
			sum.ZipURL = m.Signer.URL(m.PublicURL, j.Handle, "", j.Expires)
			sum.LinkExpires = j.Expires
		}
		sum.Messages = m.problemMessages(ctx, j.Handle)
	}
	if _, err := notify.Notify(ctx, m.Sender, emailSetting, u.Email, sum); err != nil {
		log.Warn("job mail not sent", "job", j.Handle, "event", ev.String(), "err", err)
	}
}

func (m *Mailer) problemMessages(ctx context.Context, handle string) []string {
	rows, _, err := m.Store.JobAssets(ctx, store.JobAssetQuery{
		JobHandle: handle, Outcomes: []string{store.OutcomeError, store.OutcomeWarning}, Limit: notify.MaxMessages,
	})
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.AssetName+": "+r.Message)
	}
	return out
}
