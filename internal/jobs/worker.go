package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/store"
)

// chunkArgs is one River job: assets From ≤ Seq < To of an export.
type chunkArgs struct {
	Job  string `json:"job"`
	From int    `json:"from"`
	To   int    `json:"to"`
}

func (chunkArgs) Kind() string { return "ipsd_export_chunk" }

type chunkWorker struct {
	river.WorkerDefaults[chunkArgs]
	e *Engine
}

// errPaused, errStopping and errDeleting interrupt a chunk between assets.
var (
	errPaused   = errors.New("job paused")
	errStopping = errors.New("job stopping")
	errDeleting = errors.New("job being deleted")
	errDraining = errors.New("worker shutting down")
	errJobFull  = errors.New("job output limit reached")
)

func (w *chunkWorker) Work(ctx context.Context, rj *river.Job[chunkArgs]) (err error) {
	e, a := w.e, rj.Args
	defer func() {
		// A panic in one asset must not take the process down; River
		// retries the chunk, which redoes only unfinished assets.
		if p := recover(); p != nil {
			e.log.Error("export chunk panicked", "job", a.Job, "panic", p, "stack", stack())
			err = fmt.Errorf("export chunk %s [%d,%d): panic: %v", a.Job, a.From, a.To, p)
		}
		if err != nil && !cancelled(ctx) && rj.Attempt >= rj.MaxAttempts {
			// The last attempt: record the chunk's remaining assets as
			// failed so the job can end with true counts.
			e.failPending(context.WithoutCancel(ctx), a.Job, a.From, a.To, "export failed: "+err.Error())
			if serr := e.settle(context.WithoutCancel(ctx), a.Job); serr != nil {
				e.log.Error("settle job", "job", a.Job, "err", serr)
			}
		}
	}()
	err = e.runChunk(ctx, a, rj.ID)
	switch {
	case errors.Is(err, errPaused):
		return river.JobSnooze(pausePoll)
	case cancelled(ctx), errors.Is(err, errDraining):
		// Shutting down: hand the chunk back without spending an attempt;
		// its finished assets stay finished.
		return river.JobSnooze(0)
	case ctx.Err() != nil:
		// The chunk timed out: a failed attempt, retried later; the asset
		// that overran is already recorded as failed (exportOne).
		return fmt.Errorf("export chunk %s [%d,%d): timed out after %s", a.Job, a.From, a.To, e.cfg.ChunkTimeout)
	}
	return err
}

// cancelled reports a context ended by shutdown, as opposed to one whose
// deadline (the chunk timeout) passed.
func cancelled(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

func (w *chunkWorker) Timeout(*river.Job[chunkArgs]) time.Duration { return w.e.cfg.ChunkTimeout }

// runChunk exports the pending assets of chunk a; self is its River job.
func (e *Engine) runChunk(ctx context.Context, a chunkArgs, self int64) error {
	j, err := e.work.JobByHandle(ctx, "", a.Job)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted
	}
	if err != nil {
		return fmt.Errorf("export chunk %s: %w", a.Job, err)
	}
	switch j.State {
	case store.JobCompleted, store.JobStopped, store.JobFailed:
		return nil
	case store.JobDeleting:
		return e.letGo(ctx, j, self)
	case store.JobPaused, store.JobHeld:
		return errPaused
	case store.JobStopping:
		return e.settle(ctx, j.Handle)
	case store.JobScheduled, store.JobNew:
		// Of several chunks starting at once, one moves the job; the
		// others find it moved on (running, or paused or stopped meanwhile,
		// which the checks between assets see).
		_, err := e.states.Apply(ctx, j.Handle, EvStart)
		switch {
		case err == nil:
			j.State = store.JobRunning
			e.announce(ctx, j)
		case !IsTransitionError(err):
			return fmt.Errorf("start job %s: %w", j.Handle, err)
		}
	}
	spec, err := DecodeExportSpec(j.Spec)
	if err != nil {
		e.failPending(ctx, j.Handle, a.From, a.To, err.Error())
		return e.settle(ctx, j.Handle)
	}
	if j.BytesLimitReached {
		e.failPending(ctx, j.Handle, a.From, a.To, e.jobFullMessage())
		return e.settle(ctx, j.Handle)
	}
	pending, err := e.work.PendingJobAssets(ctx, j.Handle, a.From, a.To)
	if err != nil {
		return fmt.Errorf("export chunk %s: %w", j.Handle, err)
	}
	if len(pending) == 0 {
		return e.settle(ctx, j.Handle)
	}
	req, err := e.conversion(ctx, j, spec)
	if err != nil {
		e.failPending(ctx, j.Handle, a.From, a.To, "conversion: "+err.Error())
		return e.settle(ctx, j.Handle)
	}
	handles := make([]string, len(pending))
	for i, p := range pending {
		handles[i] = p.AssetHandle
	}
	found, err := e.work.AssetsByHandles(ctx, j.CompanyHandle, handles)
	if err != nil {
		return fmt.Errorf("export chunk %s: assets: %w", j.Handle, err)
	}
	byHandle := make(map[string]store.Asset, len(found))
	for _, as := range found {
		byHandle[as.Handle] = as
	}
	for i, ja := range pending {
		if i > 0 {
			if e.draining.Load() {
				return errDraining
			}
			if err := e.checkControl(ctx, j.Handle); err != nil {
				switch {
				case errors.Is(err, errDeleting):
					return e.letGo(ctx, j, self)
				case errors.Is(err, errJobFull):
					e.failPending(ctx, j.Handle, a.From, a.To, e.jobFullMessage())
					return e.settle(ctx, j.Handle)
				case errors.Is(err, errStopping):
					return e.settle(ctx, j.Handle)
				}
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		e.exportOne(ctx, j, ja, byHandle, req, i == len(pending)-1)
	}
	if cur, err := e.work.JobByHandle(ctx, "", j.Handle); err == nil && cur.State == store.JobDeleting {
		return e.letGo(ctx, cur, self)
	}
	return e.settle(ctx, j.Handle)
}

// letGo is a chunk leaving a job being deleted: the last to let go
// removes it (docs/job-logs.md, "Deleting a job").
func (e *Engine) letGo(ctx context.Context, j store.Job, self int64) error {
	if _, err := e.reap(ctx, j, self); err != nil {
		e.log.Warn("deleted job: removal left to the maintenance tick", "job", j.Handle, "err", err)
	}
	return nil
}

// conversion is the request a job renders: the one resolved at submit
// (nil for fmt=orig). A job with none stored (queued by an earlier
// version, or a scheduled run whose conversion no longer parsed when it
// fired) resolves it now, and fails its assets with the reason if it
// still does not parse.
func (e *Engine) conversion(ctx context.Context, j store.Job, spec ExportSpec) (*modifier.Request, error) {
	if spec.Fmt != export.FormatConvert {
		return nil, nil
	}
	if spec.Conversion == nil {
		var err error
		if spec, err = ResolveConversion(ctx, e.work, j.CompanyHandle, spec); err != nil {
			return nil, err
		}
	}
	return spec.Conversion.Request()
}

// assetRequest is the request of a job asset with a conversion of its own.
func assetRequest(ja store.JobAsset) (*modifier.Request, error) {
	var c Conversion
	if err := json.Unmarshal([]byte(ja.Conversion), &c); err != nil {
		return nil, fmt.Errorf("conversion of %s: %w", ja.AssetHandle, err)
	}
	return c.Request()
}

// checkControl reads pause and stop requests between assets.
func (e *Engine) checkControl(ctx context.Context, handle string) error {
	j, err := e.work.JobByHandle(ctx, "", handle)
	if errors.Is(err, store.ErrNotFound) {
		return errStopping
	}
	if err != nil {
		return fmt.Errorf("job %s: %w", handle, err)
	}
	switch j.State {
	case store.JobPaused:
		return errPaused
	case store.JobDeleting:
		return errDeleting
	case store.JobStopping, store.JobStopped, store.JobCompleted, store.JobFailed:
		return errStopping
	}
	if j.BytesLimitReached {
		return errJobFull
	}
	return nil
}

// exportOne exports one asset and records its outcome. The last asset of
// a chunk is recorded once the renditions the chunk kept are stored, so
// that a job ends with every rendition it rendered in the cache
// (docs/rendition-cache.md).
func (e *Engine) exportOne(ctx context.Context, j store.Job, ja store.JobAsset, assets map[string]store.Asset, req *modifier.Request, last bool) {
	as, ok := source(ja, assets)
	if !ok {
		if last {
			e.renditionsKept(req)
		}
		e.finish(ctx, j, ja, store.OutcomeError, "asset "+ja.AssetHandle+" no longer exists")
		return
	}
	if req != nil && ja.Conversion != "" {
		// The asset's stored modifiers gave it a conversion of its own.
		var err error
		if req, err = assetRequest(ja); err != nil {
			e.finish(ctx, j, ja, store.OutcomeError, err.Error())
			return
		}
	}
	began := time.Now()
	ja.Began = e.cfg.Now()
	res := e.exporter.Export(ctx, export.Task{Asset: as, Key: exportPrefix(j.Handle) + ja.OutputPath, Request: req,
		Budget: e.budget(j.Handle)})
	if req != nil && res.Err == nil && !res.Original && res.Cache != export.CacheHit {
		e.cfg.Observer.Rendered(time.Since(began))
	}
	if res.Cache != "" {
		e.cfg.Observer.RenditionCache(res.Cache)
	}
	ja.RenditionHit = res.Cache == export.CacheHit && res.Err == nil
	if last {
		e.renditionsKept(req)
	}
	if res.Err != nil {
		if cancelled(ctx) {
			return // shutting down: the asset stays pending and is redone
		}
		if ctx.Err() != nil {
			// This asset alone outlasted the chunk timeout: retrying it
			// would only time out again.
			res.Err = fmt.Errorf("export took longer than the chunk timeout (%s): %w", e.cfg.ChunkTimeout, res.Err)
		}
		e.log.Warn("asset export failed", "job", j.Handle, "asset", as.Handle, "err", res.Err)
		e.finish(ctx, j, ja, store.OutcomeError, limitMessage(res.Err))
		return
	}
	ja.BlobKey = res.Key
	ja.OutputPath = strings.TrimPrefix(res.Key, exportPrefix(j.Handle))
	ja.Size = res.Size
	ja.SHA256 = res.SHA256
	if len(res.Warnings) > 0 {
		e.finish(ctx, j, ja, store.OutcomeWarning, strings.Join(res.Warnings, "; "))
		return
	}
	e.finish(ctx, j, ja, store.OutcomeSuccess, "")
}

// renditionsKept waits for the renditions this process is keeping in the
// background, when the job converts.
func (e *Engine) renditionsKept(req *modifier.Request) {
	if req != nil && e.cfg.Cache != nil {
		e.cfg.Cache.Wait()
	}
}

// source is the asset a job asset exports: the version of its original
// the job captured at submit, even if the asset was replaced or deleted
// since (docs/exports.md, "Which version"). A job asset without a captured
// key (queued by an earlier version) reads the catalogue's current one.
func source(ja store.JobAsset, assets map[string]store.Asset) (store.Asset, bool) {
	as, ok := assets[ja.AssetHandle]
	if ja.SourceKey == "" {
		return as, ok
	}
	if !ok {
		as = store.Asset{Handle: ja.AssetHandle, Name: ja.AssetName}
	}
	as.StorageKey, as.SHA256 = ja.SourceKey, ja.SourceSHA256
	as.Type, as.FileName = ja.AssetType, ja.FileName
	return as, true
}

// finish records an asset's outcome. Its mail, when it has one, is sent
// first: the job's completion, which the last outcome recorded may bring
// about in another chunk at once, then always follows it (docs/exports.md,
// "Mail"). A chunk cut off between the two sends the mail again when it
// is retried: mail is sent at least once, in order.
func (e *Engine) finish(ctx context.Context, j store.Job, ja store.JobAsset, outcome, msg string) {
	ja.Outcome, ja.Message, ja.Finished = outcome, msg, e.cfg.Now()
	switch outcome {
	case store.OutcomeError:
		e.assetMail(ctx, j, notify.AssetError, ja.AssetName+": "+msg)
	case store.OutcomeWarning:
		e.assetMail(ctx, j, notify.AssetWarning, ja.AssetName+": "+msg)
	}
	won, err := e.work.FinishJobAsset(context.WithoutCancel(ctx), ja)
	if err != nil {
		e.log.Error("record asset outcome", "job", j.Handle, "seq", ja.Seq, "err", err)
		return
	}
	if won {
		e.cfg.Observer.AssetDone(outcome, ja.Size)
		return
	}
	if ja.BlobKey != "" {
		e.discardUnrecorded(ctx, j, ja)
	}
}

// discardUnrecorded removes the file of an asset whose outcome another
// worker recorded first. That is a stop cancelling the asset while this
// worker wrote it (or a retried chunk that wrote it twice): when no
// recorded file of the job is at this key, nothing will ever list or serve
// it, and the job's files and its log must agree (docs/job-logs.md).
func (e *Engine) discardUnrecorded(ctx context.Context, j store.Job, ja store.JobAsset) {
	ctx = context.WithoutCancel(ctx)
	if !strings.HasPrefix(ja.BlobKey, exportPrefix(j.Handle)) {
		return // not the job's own file (never the case today): not ours to remove
	}
	files, err := e.work.JobFiles(ctx, j.Handle, ja.OutputPath)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("files of a job", "job", j.Handle, "err", err)
		return
	}
	for _, f := range files {
		if f.BlobKey == ja.BlobKey {
			return // recorded by the worker that won: the same file
		}
	}
	if err := e.cfg.Blob.Delete(ctx, ja.BlobKey); err != nil && !errors.Is(err, blob.ErrNotFound) {
		e.log.Error("remove a file its job does not list", "job", j.Handle, "seq", ja.Seq, "err", err)
		return
	}
	e.log.Info("asset finished after its job recorded it otherwise: file removed", "job", j.Handle, "seq", ja.Seq)
}

// failPending records every pending asset in [from, to) as failed.
func (e *Engine) failPending(ctx context.Context, handle string, from, to int, msg string) {
	e.finishPending(ctx, handle, from, to, store.OutcomeError, msg)
}

// finishPending records every pending asset in [from, to) with outcome.
func (e *Engine) finishPending(ctx context.Context, handle string, from, to int, outcome, msg string) {
	pending, err := e.work.PendingJobAssets(ctx, handle, from, to)
	if err != nil {
		e.log.Error("pending assets", "job", handle, "err", err)
		return
	}
	j, err := e.work.JobByHandle(ctx, "", handle)
	if err != nil {
		return
	}
	for _, ja := range pending {
		e.finish(ctx, j, ja, outcome, msg)
	}
}

// settle ends a job whose assets are all done, or that is stopping. Of
// several workers settling at once, the state transition picks one, which
// sends the completion mail.
func (e *Engine) settle(ctx context.Context, handle string) error {
	ctx = context.WithoutCancel(ctx)
	j, err := e.work.JobByHandle(ctx, "", handle)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("settle %s: %w", handle, err)
	}
	var ev Event
	switch {
	case j.State == store.JobStopping:
		// What no worker took up is cancelled, not failed (docs/job-logs.md).
		e.finishPending(ctx, handle, 0, math.MaxInt32, store.OutcomeCancelled, "")
		ev = EvHalt
	case j.State == store.JobRunning && j.Succeeded+j.Errors+j.Cancelled >= j.Total:
		ev = EvComplete
	default:
		return nil
	}
	_, err = e.states.Apply(ctx, handle, ev)
	if err != nil && !IsTransitionError(err) {
		return fmt.Errorf("settle %s: %w", handle, err)
	}
	if err == nil {
		j, err = e.work.JobByHandle(ctx, "", handle)
		if err != nil {
			return fmt.Errorf("settle %s: %w", handle, err)
		}
		e.cfg.Observer.JobEnded(string(j.State))
		e.log.Info("job ended", "job", handle, "state", j.State, "total", j.Total,
			"succeeded", j.Succeeded, "warnings", j.Warnings, "errors", j.Errors)
		e.mail(ctx, j, notify.Completed, nil)
	}
	return nil
}

// mail sends an export job's mail for ev when its emailSetting asks for
// it. A mail that cannot be sent is logged, never fails the job.
func (e *Engine) mail(ctx context.Context, j store.Job, ev notify.Event, messages []string) {
	if j.Type != store.JobTypeExport {
		return
	}
	spec, err := DecodeExportSpec(j.Spec)
	if err != nil {
		return
	}
	e.cfg.Mail.MailJob(ctx, j, spec.EmailSetting, ev, messages)
}

// announce tells of a job's start: the winner of its start sends the
// Started mail when due, then marks the job announced, so that an asset's
// mail, which another chunk may send at once, waits for it
// (assetMail): the start's mail is always the first.
func (e *Engine) announce(ctx context.Context, j store.Job) {
	spec, err := DecodeExportSpec(j.Spec)
	if err != nil || !notify.Policy(spec.EmailSetting, notify.AssetError, true, true) {
		return // no asset mail will follow: nothing to order
	}
	e.mail(ctx, j, notify.Started, nil)
	if err := e.work.MarkJobAnnounced(context.WithoutCancel(ctx), j.Handle); err != nil {
		e.log.Warn("job start: not marked announced", "job", j.Handle, "err", err)
	}
}

// assetMail sends an asset's mail once the job's start has been told.
// The winner of the start marks it right after its mail is sent, which
// the mail's own timeout bounds; should that worker have died in
// between, the wait ends at that bound and the job is marked here.
func (e *Engine) assetMail(ctx context.Context, j store.Job, ev notify.Event, msg string) {
	spec, err := DecodeExportSpec(j.Spec)
	if err != nil || j.Type != store.JobTypeExport || !notify.Policy(spec.EmailSetting, ev, true, true) {
		return
	}
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(e.cfg.Mail.sendTimeout())
	for !j.Announced {
		if time.Now().After(deadline) {
			e.log.Warn("job start never announced: asset mail sent all the same", "job", j.Handle)
			_ = e.work.MarkJobAnnounced(ctx, j.Handle)
			break
		}
		time.Sleep(announcePoll)
		cur, err := e.work.JobByHandle(ctx, "", j.Handle)
		if err != nil {
			return
		}
		j.Announced = cur.Announced
	}
	e.mail(ctx, j, ev, []string{msg})
}

// announcePoll is how often an asset's mail looks whether the job's start
// has been told.
const announcePoll = 20 * time.Millisecond
