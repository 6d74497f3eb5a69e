package upload

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Spec is an upload job's store.Job.Spec (JSON): the UploadPostJob options
// of the POST that started the job. They hold for the whole job: "if there
// is an existing job, uploadParams is ignored and the existing job upload
// parameters are used" (c-http-post.md).
type Spec struct {
	Overwrite            bool   `json:"overwrite"`
	ReadyForPublish      bool   `json:"readyForPublish"`
	PreservePublishState bool   `json:"preservePublishState"`
	CreateMask           bool   `json:"createMask"`
	PreserveCrop         bool   `json:"preserveCrop"`
	EmailSetting         string `json:"emailSetting"`
	XMPKeywords          string `json:"xmpKeywords,omitempty"`
	PostHTTPURL          string `json:"postHttpUrl,omitempty"`
	// Unapplied names the processing options given that this server does
	// not perform (createMask, manualCropOptions, photoshopOptions, …);
	// each file they would have applied to gets a warning naming them.
	Unapplied []string `json:"unapplied,omitempty"`
	// RemoteAddr and AppName describe the client that started the job.
	RemoteAddr string `json:"remoteAddr,omitempty"`
	AppName    string `json:"appName,omitempty"`
}

// DecodeSpec reads an upload job's Spec (for getActiveJobs' uploadPostJob).
func DecodeSpec(b []byte) (Spec, error) {
	var s Spec
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Spec{}, fmt.Errorf("upload job spec: %w", err)
	}
	return s, nil
}

// Email settings (string-constants r-email-settings.md), as submitJob takes them.
var emailSettings = []string{"All", "Error", "ErrorAndWarning", "JobCompletion", "None"}

// newSpec validates the UploadPostJob of a job's first POST. overwrite
// decides what happens to existing assets and has no safe default, so it
// is required, as the reference marks it; the other "required" flags only
// steer processing this server does not do, and default to false.
func newSpec(p parsedParams) (Spec, *soap.Fault) {
	j := p.UploadParams
	if j == nil {
		return Spec{}, soap.Missing("uploadParams/uploadParams (the UploadPostJob options, required on the POST that starts a job)")
	}
	if j.Overwrite == nil {
		return Spec{}, soap.Missing("uploadParams/overwrite")
	}
	s := Spec{
		Overwrite: *j.Overwrite, ReadyForPublish: deref(j.ReadyForPublish),
		PreservePublishState: deref(j.PreservePublishState), CreateMask: deref(j.CreateMask),
		PreserveCrop: j.PreserveCrop == nil || *j.PreserveCrop,
		XMPKeywords:  strings.TrimSpace(j.XMPKeywords), PostHTTPURL: strings.TrimSpace(j.PostHTTPURL),
	}
	switch setting := strings.TrimSpace(j.EmailSetting); setting {
	case "":
		s.EmailSetting = "None"
	default:
		i := slices.IndexFunc(emailSettings, func(v string) bool { return strings.EqualFold(v, setting) })
		if i < 0 {
			return Spec{}, soap.Invalid("uploadParams/emailSetting", setting, "must be All, Error, ErrorAndWarning, JobCompletion or None")
		}
		s.EmailSetting = emailSettings[i]
	}
	if s.CreateMask {
		s.Unapplied = append(s.Unapplied, "createMask")
	}
	if c := j.ManualCropOptions; c != nil && (c.Left != 0 || c.Right != 0 || c.Top != 0 || c.Bottom != 0) {
		s.Unapplied = append(s.Unapplied, "manualCropOptions")
	}
	if s.XMPKeywords != "" {
		s.Unapplied = append(s.Unapplied, "xmpKeywords")
	}
	for _, o := range j.Other {
		name := o.XMLName.Local
		if _, known := unappliedOptions[name]; known && !slices.Contains(s.Unapplied, name) {
			s.Unapplied = append(s.Unapplied, name)
		}
	}
	return s, nil
}

func deref(b *bool) bool { return b != nil && *b }

func isImage(assetType, _ string) bool { return assetType == "Image" }
func anyFile(string, string) bool      { return true }
func ofType(t string) func(string, string) bool {
	return func(assetType, _ string) bool { return assetType == t }
}

// unappliedOptions are the UploadPostJob processing options, each with the
// files it concerns. IPS would crop, mask, rasterise, extract or tag; this
// server stores each file as uploaded, so a file an option concerns gets
// an UploadWarning naming it (as an export names an IS command it does not
// render), and counts as uploaded.
var unappliedOptions = map[string]func(assetType, fileName string) bool{
	"createMask":                 isImage,
	"manualCropOptions":          isImage,
	"autoColorCropOptions":       isImage,
	"autoTransparentCropOptions": isImage,
	"knockoutBackground":         isImage,
	"knockoutBackgroundOptions":  isImage,
	"unsharpMaskOptions":         isImage,
	"colorManagementOptions":     isImage,
	"photoshopOptions": func(_, name string) bool {
		ext := strings.ToLower(path.Ext(name))
		return ext == ".psd" || ext == ".psb"
	},
	"pdfOptions":             ofType("Pdf"),
	"illustratorOptions":     ofType("Illustrator"),
	"IllustratorOptions":     ofType("Illustrator"), // as the reference page spells it
	"postScriptOptions":      ofType("PostScript"),
	"inDesignOptions":        ofType("InDesign"),
	"mediaOptions":           ofType("Video"),
	"unCompressOptions":      ofType("Zip"),
	"autoSetCreationOptions": anyFile,
	"projectHandleArray":     anyFile,
	"xmpKeywords":            anyFile,
}

// unappliedFor lists the options of spec that concern a file.
func (s Spec) unappliedFor(assetType, fileName string) []string {
	var out []string
	for _, o := range s.Unapplied {
		if applies, ok := unappliedOptions[o]; ok && applies(assetType, fileName) {
			out = append(out, o)
		}
	}
	return out
}

// jobName is the job's Name: jobName + "_" + the submit time (docs/wire.md, "Handles"), in
// the layout export jobs use.
func jobName(original string, t time.Time) string {
	return original + "_" + t.UTC().Format("20060102T150405.000Z")
}

// ---- idle timeout ----

// DefaultJobTimeout is how long an upload job waits for its next POST:
// "the job times out if no additional POST requests are received within
// 30 minutes" (c-http-post.md).
const DefaultJobTimeout = 30 * time.Minute

// DefaultSweepInterval is how often RunSweeper looks for idle jobs.
const DefaultSweepInterval = time.Minute

// activity remembers, in this process, the last POST of each job and the
// POSTs in progress, so that a POST without files counts as activity and a
// long file in transfer keeps its job alive. The store's timestamps (the
// job's start, its files' finish times) cover what other processes did.
type activity struct {
	mu       sync.Mutex
	last     map[string]time.Time
	inflight map[string]int
}

func newActivity() *activity {
	return &activity{last: map[string]time.Time{}, inflight: map[string]int{}}
}

func (a *activity) begin(handle string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inflight[handle]++
	a.last[handle] = now
}

func (a *activity) end(handle string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight[handle]--; a.inflight[handle] <= 0 {
		delete(a.inflight, handle)
	}
	a.last[handle] = now
}

func (a *activity) forget(handle string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.inflight[handle] == 0 {
		delete(a.last, handle)
	}
}

// prune drops what it remembers of jobs idle since before t.
func (a *activity) prune(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for h, last := range a.last {
		if a.inflight[h] == 0 && last.Before(t) {
			delete(a.last, h)
		}
	}
}

func (a *activity) get(handle string) (last time.Time, busy bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last[handle], a.inflight[handle] > 0
}

// Sweeper ends upload jobs that got no POST for the job timeout. It is
// made before the job engine, whose maintenance tick runs Sweep, and
// before the servlet, which tells it of the POSTs it serves (New takes it
// in Config.Sweeper).
type Sweeper struct {
	// cfg holds the sweeper's part of the servlet's Config: Store,
	// JobTimeout, Mail, Now and Logger.
	cfg    Config
	log    *slog.Logger
	act    *activity
	states jobs.States
}

// NewSweeper makes the sweeper of the servlet configured by cfg, of which
// it uses Store, JobTimeout, Mail, Now and Logger.
func NewSweeper(cfg Config) (*Sweeper, error) {
	if cfg.Store == nil {
		return nil, errors.New("upload sweeper: no Store")
	}
	cfg = cfg.withDefaults()
	return &Sweeper{cfg: cfg, log: cfg.Logger, act: newActivity(), states: jobs.States{Store: cfg.Store}}, nil
}

// withDefaults fills the settings the servlet and its sweeper share.
func (cfg Config) withDefaults() Config {
	if cfg.MaxPreAuthBytes <= 0 {
		cfg.MaxPreAuthBytes = soap.DefaultMaxBodyBytes
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

func (h *Sweeper) now() time.Time { return h.cfg.Now() }

// mail hands an event of an upload job to Config.Mail, with the job as
// it is now, when the job's emailSetting may send mail for it.
func (h *Sweeper) mail(ctx context.Context, handle, emailSetting string, ev notify.Event, messages []string) {
	if h.cfg.Mail == nil || !notify.Policy(emailSetting, ev, true, true) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	j, err := h.cfg.Store.JobByHandle(ctx, "", handle)
	if err != nil {
		h.log.Warn("upload job mail: job", "job", handle, "err", err)
		return
	}
	h.cfg.Mail(ctx, j, emailSetting, ev, messages)
}

// Sweep ends the upload jobs that have waited longer than the job timeout
// for their next POST: every company's Running (or Paused) jobs of type
// Upload whose last activity (the job's start, its last finished file, the
// last POST this process saw) is older than the timeout, and that have no
// POST in progress here, move to Completed. An upload job that stopJob
// left Stopping moves to Stopped (no worker runs uploads). It returns how
// many jobs it ended. Call it periodically (RunSweeper does, every minute).
func (h *Sweeper) Sweep(ctx context.Context) (int, error) {
	cos, err := h.cfg.Store.ListCompanies(ctx)
	if err != nil {
		return 0, fmt.Errorf("upload sweep: %w", err)
	}
	now := h.now()
	// Jobs ended elsewhere (endJob on another process) are forgotten here
	// once they would have timed out anyway.
	defer h.act.prune(now.Add(-2 * h.cfg.JobTimeout))
	ended := 0
	var errs []error
	for _, co := range cos {
		js, err := h.cfg.Store.ListJobs(ctx, store.JobQuery{
			CompanyHandle: co.Handle, Types: []string{store.JobTypeUpload},
			States: []store.JobState{store.JobRunning, store.JobPaused, store.JobStopping},
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("upload sweep %s: %w", co.Handle, err))
			continue
		}
		for _, j := range js {
			ok, err := h.sweepJob(ctx, j, now)
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				ended++
			}
		}
	}
	return ended, errors.Join(errs...)
}

func (h *Sweeper) sweepJob(ctx context.Context, j store.Job, now time.Time) (bool, error) {
	if j.State == store.JobStopping {
		// stopJob asked an upload job to stop: no worker runs uploads, so
		// it stops here, keeping what was uploaded.
		return h.end(ctx, j, jobs.EvHalt)
	}
	mem, busy := h.act.get(j.Handle)
	if busy {
		return false, nil
	}
	last := latest(j.Submitted, j.Started, mem)
	if last.IsZero() || now.Sub(last) < h.cfg.JobTimeout {
		return false, nil
	}
	// Only then look at the files: the last one finished may be newer.
	done, _, err := h.cfg.Store.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Descending: true, Limit: 1})
	if err != nil {
		return false, fmt.Errorf("upload sweep %s: %w", j.Handle, err)
	}
	if len(done) > 0 {
		last = latest(last, done[0].Finished)
	}
	if now.Sub(last) < h.cfg.JobTimeout {
		return false, nil
	}
	ok, err := h.end(ctx, j, jobs.EvExpire)
	if ok {
		h.act.forget(j.Handle)
		h.log.Info("upload job timed out", "job", j.Handle, "company", j.CompanyHandle,
			"idle", now.Sub(last).Round(time.Second).String(), "files", j.Total)
	}
	return ok, err
}

// end applies the sweep's event to j and mails its end; a job that moved
// on meanwhile (endJob elsewhere) is left alone.
func (h *Sweeper) end(ctx context.Context, j store.Job, ev jobs.Event) (bool, error) {
	_, err := h.states.Apply(ctx, j.Handle, ev)
	if jobs.IsTransitionError(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("upload sweep %s: %w", j.Handle, err)
	}
	h.mailEnded(ctx, j)
	return true, nil
}

// mailEnded sends the completion mail of a job the sweep ended.
func (h *Sweeper) mailEnded(ctx context.Context, j store.Job) {
	spec, err := DecodeSpec(j.Spec)
	if err != nil {
		h.log.Warn("upload job mail: unreadable job spec", "job", j.Handle, "err", err)
		return
	}
	h.mail(ctx, j.Handle, spec.EmailSetting, notify.Completed, nil)
}

func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// RunSweeper calls Sweep every interval (DefaultSweepInterval when 0)
// until ctx ends.
func (h *Sweeper) RunSweeper(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := h.Sweep(ctx); err != nil && ctx.Err() == nil {
				h.log.Error("upload sweep failed", "err", err)
			}
		}
	}
}
