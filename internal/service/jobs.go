package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// DefaultSetTypes are the asset types an export refuses (docs/exports.md, "Validation"): every
// set, whatever its subtype.
func DefaultSetTypes() []string {
	return []string{"ImageSet", "RenderSet", "SpinSet", "AssetSet", "Catalog", "eCatalog",
		"MediaSet", "VideoSet", "MultiBitrateSet", "OfferSet"}
}

// jobTypesGiven names the job type elements of a submitJob, in the
// schema's order (an empty one counts as absent, as every empty element).
func jobTypesGiven(p *ipsapi.SubmitJobParam) []string {
	var out []string
	for _, t := range []struct {
		name  string
		given bool
	}{
		{"imageServingPublishJob", p.ImageServingPublishJob != nil},
		{"imageRenderingPublishJob", p.ImageRenderingPublishJob != nil},
		{"videoPublishJob", p.VideoPublishJob != nil},
		{"serverDirectoryPublishJob", p.ServerDirectoryPublishJob != nil},
		{"metadataPublishJob", p.MetadataPublishJob != nil},
		{"uploadDirectoryJob", p.UploadDirectoryJob != nil},
		{"uploadUrlsJob", p.UploadUrlsJob != nil},
		{"optimizeImagesJob", p.OptimizeImagesJob != nil},
		{"ripPdfsJob", p.RipPdfsJob != nil},
		{"reprocessAssetsJob", p.ReprocessAssetsJob != nil},
		{"createVideoSitemapJob", p.CreateVideoSitemapJob != nil},
		{"exportJob", p.ExportJob != nil},
		{"automatedSetGenerationJob", p.AutomatedSetGenerationJob != nil},
	} {
		if t.given {
			out = append(out, t.name)
		}
	}
	return out
}

func (s *Service) submitJob(ctx context.Context, c *call) (any, error) {
	var p ipsapi.SubmitJobParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	jobName := strings.TrimSpace(p.JobName)
	if jobName == "" {
		return nil, soap.Missing("jobName")
	}
	if given := jobTypesGiven(&p); len(given) > 1 {
		// "Choose only one type of job in the request" (r-submit-job.md).
		return nil, soap.Errorf(soap.CodeInvalidParameter,
			"submitJob takes one job type, got %d: %s", len(given), strings.Join(given, ", "))
	} else if p.ExportJob == nil {
		if len(given) == 1 {
			return nil, soap.Errorf(soap.CodeInvalidParameter, "%s: this server runs exportJob only", given[0])
		}
		return nil, soap.Missing("exportJob")
	}
	// All is decoded: the body's tokens need not outlive validation and
	// the job's creation, which for 10,000 handles hold memory enough.
	c.req.Release()
	notifyUser := c.user.Handle
	if h := strings.TrimSpace(p.UserHandle); h != "" {
		u, err := s.visibleUser(ctx, c, func() (store.User, error) { return s.store.UserByHandle(ctx, h) })
		if err != nil {
			return nil, soap.Invalid("userHandle", h, "no such user")
		}
		notifyUser = u.Handle
	}
	spec, handles, known, err := s.validateExport(ctx, co, p.ExportJob)
	if err != nil {
		return nil, err
	}
	locale := strings.TrimSpace(p.Locale)
	if locale == "" {
		locale = c.req.Locale()
	}
	if locale == "" {
		locale = "en-US"
	}
	execTime := p.ExecTime.ToGoTime()
	schedule := strings.TrimSpace(p.ExecSchedule)
	if schedule != "" && !execTime.IsZero() {
		return nil, soap.Errorf(soap.CodeInvalidParameter, "execTime and execSchedule: give one or the other")
	}
	if schedule != "" {
		if _, err := jobs.ParseSchedule(schedule); err != nil {
			return nil, soap.Invalid("execSchedule", schedule, err.Error())
		}
		sc, err := s.jobs.AddSchedule(ctx, store.Schedule{
			CompanyHandle: co.Handle, OriginalName: jobName, Description: p.Description, Locale: locale,
			SubmitUserHandle: c.user.Handle, NotifyUserHandle: notifyUser, Cron: schedule,
		}, jobs.ScheduleSpec{Export: spec, Handles: handles})
		if err != nil {
			return nil, fmt.Errorf("submitJob %s: %w", jobName, err)
		}
		return &ipsapi.SubmitJobReturn{JobHandle: sc.Handle}, nil
	}
	x, err := s.jobs.PrepareExport(ctx, co, spec, handles, known)
	if err != nil {
		return nil, fmt.Errorf("submitJob %s: %w", jobName, err)
	}
	now := s.jobs.Now()
	j, err := s.jobs.SubmitExport(ctx, store.NewJob{
		CompanyHandle: co.Handle, Name: jobs.JobName(jobName, now), OriginalName: jobName,
		Description: p.Description, Locale: locale, SubmitUserHandle: c.user.Handle,
		NotifyUserHandle: notifyUser, ExecTime: execTime,
	}, x)
	if err != nil {
		return nil, fmt.Errorf("submitJob %s: %w", jobName, err)
	}
	return &ipsapi.SubmitJobReturn{JobHandle: j.Handle}, nil
}

// validateExport checks an exportJob as docs/exports.md, "Validation", says, before anything is
// queued; each fault names the field or every offending handle. It
// returns the handles and the assets they name, looked up once.
func (s *Service) validateExport(ctx context.Context, co store.Company, x *ipsapi.ExportJob) (jobs.ExportSpec, []string, map[string]*store.Asset, error) {
	var handles []string
	if x.AssetHandleArray != nil {
		for _, h := range x.AssetHandleArray.Items {
			if h = strings.TrimSpace(h); h != "" {
				handles = append(handles, h)
			}
		}
	}
	if len(handles) == 0 {
		return jobs.ExportSpec{}, nil, nil, soap.Missing("exportJob/assetHandleArray")
	}
	if len(handles) > s.cfg.MaxExportHandles {
		return jobs.ExportSpec{}, nil, nil, soap.Errorf(soap.CodeInvalidParameter,
			"exportJob/assetHandleArray: %d handles, more than the %d allowed", len(handles), s.cfg.MaxExportHandles)
	}
	spec := jobs.ExportSpec{
		Fmt:          strings.ToLower(strings.TrimSpace(x.Fmt)),
		IsModifier:   strings.TrimSpace(x.Is_modifier),
		Macro:        strings.TrimSpace(x.Macro),
		EmailSetting: strings.TrimSpace(x.EmailSetting),
		ClientID:     x.ClientId,
	}
	switch spec.Fmt {
	case export.FormatOriginal, export.FormatConvert:
	case "":
		return spec, nil, nil, soap.Missing("exportJob/fmt")
	default:
		return spec, nil, nil, soap.Invalid("exportJob/fmt", x.Fmt, "must be orig or convert")
	}
	switch setting := spec.EmailSetting; {
	case setting == "":
		spec.EmailSetting = notify.SettingNone
	default:
		ok := false
		for _, v := range []string{notify.SettingAll, notify.SettingError, notify.SettingErrorAndWarning, notify.SettingJobCompletion, notify.SettingNone} {
			if strings.EqualFold(v, setting) {
				spec.EmailSetting, ok = v, true
			}
		}
		if !ok {
			return spec, nil, nil, soap.Invalid("exportJob/emailSetting", setting, "must be All, Error, ErrorAndWarning, JobCompletion or None")
		}
	}
	if spec.Fmt == export.FormatConvert {
		if spec.IsModifier == "" && spec.Macro == "" {
			return spec, nil, nil, soap.Missing("exportJob/is_modifier or exportJob/macro (fmt=convert)")
		}
		var err error
		if spec, err = s.resolveConversion(ctx, co, spec); err != nil {
			return spec, nil, nil, err
		}
	}
	byHandle, err := jobs.AssetsByHandle(ctx, s.store, co.Handle, handles)
	if err != nil {
		return spec, nil, nil, fmt.Errorf("submitJob: assets: %w", err)
	}
	var bad []string
	for _, h := range handles {
		a, ok := byHandle[h]
		switch {
		case !ok:
			bad = append(bad, h+" (no such asset)")
		case slices.Contains(s.cfg.SetTypes, a.Type):
			bad = append(bad, fmt.Sprintf("%s (%s is a set type; sets cannot be exported)", h, a.Type))
		}
	}
	if len(bad) > 0 {
		return spec, nil, nil, handlesFault("exportJob/assetHandleArray", bad)
	}
	return spec, handles, byHandle, nil
}

// handlesFault is the 30001 naming each handle of field at fault with its
// reason, the first 50 of them.
func handlesFault(field string, bad []string) *soap.Fault {
	const maxListed = 50
	more := ""
	if len(bad) > maxListed {
		more = fmt.Sprintf(" and %d more", len(bad)-maxListed)
		bad = bad[:maxListed]
	}
	return soap.Errorf(soap.CodeInvalidParameter, "%s: %s%s", field, strings.Join(bad, ", "), more)
}

// resolveConversion resolves is_modifier and the macro once, now, so a
// malformed conversion fails the submit rather than every asset, and the
// job renders what was resolved here (jobs.Conversion).
func (s *Service) resolveConversion(ctx context.Context, co store.Company, spec jobs.ExportSpec) (jobs.ExportSpec, error) {
	if spec.Macro != "" {
		name := strings.TrimSuffix(strings.TrimPrefix(spec.Macro, "$"), "$")
		if _, err := s.store.ImageFormatByName(ctx, co.Handle, name); errors.Is(err, store.ErrNotFound) {
			return spec, soap.Invalid("exportJob/macro", spec.Macro, "no image format of this company has this name")
		} else if err != nil {
			return spec, fmt.Errorf("submitJob: macro: %w", err)
		}
	}
	resolved, err := jobs.ResolveConversion(ctx, s.store, co.Handle, spec)
	if err != nil {
		var pe *modifier.ParseError
		if errors.As(err, &pe) {
			field := "exportJob/is_modifier"
			if pe.Macro != "" || pe.Pos > len(spec.IsModifier) {
				field = "exportJob/macro"
			}
			return spec, soap.Errorf(soap.CodeInvalidParameter, "%s: %s", field, pe.Error())
		}
		return spec, fmt.Errorf("submitJob: conversion: %w", err)
	}
	return resolved, nil
}

// findJob resolves a job of the company by handle or originalName (the
// newest of that name). Another company's job is not found, like an
// unknown one.
func (s *Service) findJob(ctx context.Context, co store.Company, handle, originalName string) (store.Job, error) {
	handle, originalName = strings.TrimSpace(handle), strings.TrimSpace(originalName)
	switch {
	case handle != "":
		j, err := s.store.JobByHandle(ctx, co.Handle, handle)
		if errors.Is(err, store.ErrNotFound) || (err == nil && j.State == store.JobDeleting) {
			return store.Job{}, soap.Invalid("jobHandle", handle, "no such job")
		}
		if err != nil {
			return store.Job{}, fmt.Errorf("job %s: %w", handle, err)
		}
		return j, nil
	case originalName != "":
		js, err := s.store.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, OriginalName: originalName, Descending: true, Limit: 1})
		if err != nil {
			return store.Job{}, fmt.Errorf("job %q: %w", originalName, err)
		}
		if len(js) == 0 {
			return store.Job{}, soap.Invalid("originalName", originalName, "no such job")
		}
		return js[0], nil
	}
	return store.Job{}, soap.Missing("jobHandle")
}

func (s *Service) userEmail(ctx context.Context, handle string) string {
	if u, err := s.store.UserByHandle(ctx, handle); err == nil {
		return u.Email
	}
	return ""
}

func (s *Service) getActiveJobs(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetActiveJobsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	cos, err := s.companiesFor(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	out := &ipsapi.ActiveJobArray{}
	for _, co := range cos {
		var list []store.Job
		if p.JobHandle != "" || p.OriginalName != "" {
			j, err := s.findJob(ctx, co, p.JobHandle, p.OriginalName)
			if err != nil {
				if len(cos) > 1 || isNotFoundFault(err) {
					continue
				}
				return nil, err
			}
			list = []store.Job{j}
		} else {
			states := store.ActiveJobStates
			if p.IncludeWaitingJobs {
				states = append(slices.Clone(states), store.WaitingJobStates...)
			}
			if list, err = s.store.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: states}); err != nil {
				return nil, fmt.Errorf("getActiveJobs: %w", err)
			}
		}
		for _, j := range list {
			if !slices.Contains(store.ActiveJobStates, j.State) && !(p.IncludeWaitingJobs && slices.Contains(store.WaitingJobStates, j.State)) {
				continue
			}
			out.Items = append(out.Items, s.activeJob(ctx, j))
		}
	}
	return &ipsapi.GetActiveJobsReturn{JobArray: out}, nil
}

func isNotFoundFault(err error) bool {
	f := soap.AsFault(err)
	return f != nil && f.Code == soap.CodeInvalidParameter
}

// companiesFor is the company named, or without one every company the
// caller may see.
func (s *Service) companiesFor(ctx context.Context, c *call, handle string) ([]store.Company, error) {
	if strings.TrimSpace(handle) != "" {
		co, err := s.company(ctx, c, handle)
		if err != nil {
			return nil, err
		}
		return []store.Company{co}, nil
	}
	if c.user.Role == store.RoleIpsAdmin {
		return s.store.ListCompanies(ctx)
	}
	return s.store.UserCompanies(ctx, c.user.Handle)
}

// Task types of ActiveJob/taskProgressArray: an upload reports the class
// a real IPS answer names for it; an export, a name of ours (IPS documents
// none).
const (
	taskExport = "ExportTask"
	taskUpload = "com.scene7.upload.UploadAsyncTaskMonitor"
)

func (s *Service) activeJob(ctx context.Context, j store.Job) *ipsapi.ActiveJob {
	done := j.Succeeded + j.Errors + j.Cancelled
	progress, pending, task := 0, j.Total-done, taskExport
	state := string(j.State)
	var msg string
	if j.Type == store.JobTypeUpload {
		// An open upload job does not know how many files are still to
		// come: it reports what arrived, and no progress until it ends.
		task, pending = taskUpload, 0
		msg = fmt.Sprintf("%d files uploaded (%d replacing a file), %d failed; waiting for more files", j.Succeeded, j.Updated, j.Errors)
	} else {
		if j.Total > 0 {
			progress = done * 100 / j.Total
		}
		msg = fmt.Sprintf("%d of %d assets exported", done, j.Total)
	}
	switch j.State {
	case store.JobPaused:
		state, msg = "WaitingClient", "Paused"
	case store.JobScheduled:
		state, msg = string(store.JobNew), "Scheduled"
	case store.JobHeld:
		state, msg = string(store.JobNew), "Scheduled, paused"
	case store.JobNew:
		msg = "Queued"
	}
	taskState := map[string]string{"New": "New", "Running": "Processing", "WaitingClient": "Processing", "Stopping": "Stopping"}[state]
	updated := j.Started
	if updated.IsZero() {
		updated = j.Submitted
	}
	start := j.Started
	if start.IsZero() {
		start = j.Submitted
	}
	trigger := j.ExecTime
	if trigger.IsZero() {
		trigger = j.Submitted
	}
	aj := &ipsapi.ActiveJob{
		CompanyHandle: j.CompanyHandle, JobHandle: j.Handle, Name: j.Name, OriginalName: j.OriginalName,
		Type_: j.Type, State: state, SubmitUserEmail: s.userEmail(ctx, j.SubmitUserHandle),
		Locale: j.Locale, Description: j.Description, ServerName: s.cfg.ServerName,
		StartDate: ipsapi.NewDateTime(start.UTC()), TriggerTime: ipsapi.NewDateTime(trigger.UTC()),
		TotalSize: int32(min(j.Total, math.MaxInt32)), Progress: int32(progress), ProgressMessage: msg,
		LastProgressUpdate: ipsapi.NewDateTime(updated.UTC()),
		TaskProgressArray: &ipsapi.TaskProgressArray{Items: []*ipsapi.TaskProgress{{
			TaskType: task, TaskState: taskState, NumProcessed: int32(done),
			NumPending: int32(max(pending, 0)), Progress: float64(progress) / 100, ProgressMessage: msg,
			LastProgressUpdate:    ipsapi.NewDateTime(updated.UTC()),
			TaskItemProgressArray: &ipsapi.TaskItemProgressArray{},
		}}},
	}
	if j.Type == store.JobTypeExport {
		aj.ExportJob = echoExportJob(j.Spec, s.jobHandles(ctx, j.Handle))
	}
	return aj
}

// jobHandles lists a job's asset handles in submitted order.
func (s *Service) jobHandles(ctx context.Context, jobHandle string) []string {
	rows, _, err := s.store.JobAssets(ctx, store.JobAssetQuery{JobHandle: jobHandle,
		Outcomes: []string{store.OutcomePending, store.OutcomeSuccess, store.OutcomeWarning, store.OutcomeError, store.OutcomeCancelled}})
	if err != nil {
		s.log.Warn("job asset handles", "job", jobHandle, "err", err)
		return nil
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.AssetHandle
	}
	return out
}

// echoExportJob rebuilds the submitted exportJob with defaults filled in.
func echoExportJob(b []byte, handles []string) *ipsapi.ExportJob {
	spec, err := jobs.DecodeExportSpec(b)
	if err != nil {
		return nil
	}
	return &ipsapi.ExportJob{
		AssetHandleArray: &ipsapi.HandleArray{Items: handles}, Fmt: spec.Fmt,
		Is_modifier: spec.IsModifier, Macro: spec.Macro, EmailSetting: spec.EmailSetting, ClientId: spec.ClientID,
	}
}

func (s *Service) getScheduledJobs(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetScheduledJobsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	cos, err := s.companiesFor(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	zone := s.jobs.Location().String() // an IANA name (jobs.LocalZone)
	out := &ipsapi.ScheduledJobArray{}
	match := func(handle, name string) bool {
		return (p.JobHandle == "" || p.JobHandle == handle) && (p.OriginalName == "" || p.OriginalName == name)
	}
	for _, co := range cos {
		scheds, err := s.store.Schedules(ctx, co.Handle)
		if err != nil {
			return nil, fmt.Errorf("getScheduledJobs: %w", err)
		}
		for _, sc := range scheds {
			if !match(sc.Handle, sc.OriginalName) {
				continue
			}
			var spec jobs.ScheduleSpec
			ej := (*ipsapi.ExportJob)(nil)
			if err := json.Unmarshal(sc.Spec, &spec); err == nil {
				ej = &ipsapi.ExportJob{AssetHandleArray: &ipsapi.HandleArray{Items: spec.Handles}, Fmt: spec.Export.Fmt,
					Is_modifier: spec.Export.IsModifier, Macro: spec.Export.Macro, EmailSetting: spec.Export.EmailSetting, ClientId: spec.Export.ClientID}
			}
			out.Items = append(out.Items, &ipsapi.ScheduledJob{
				CompanyHandle: co.Handle, JobHandle: sc.Handle, Name: sc.OriginalName, OriginalName: sc.OriginalName,
				Type_: sc.Type, SubmitUserEmail: s.userEmail(ctx, sc.SubmitUserHandle), Locale: sc.Locale,
				Description: sc.Description, ExecSchedule: sc.Cron, NextFireTime: dateTime(sc.NextFire),
				TimeZone: zone, TriggerState: triggerState(sc.State), ExportJob: ej,
			})
		}
		waiting, err := s.store.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: store.WaitingJobStates})
		if err != nil {
			return nil, fmt.Errorf("getScheduledJobs: %w", err)
		}
		for _, j := range waiting {
			if !match(j.Handle, j.OriginalName) {
				continue
			}
			out.Items = append(out.Items, &ipsapi.ScheduledJob{
				CompanyHandle: co.Handle, JobHandle: j.Handle, Name: j.Name, OriginalName: j.OriginalName,
				Type_: j.Type, SubmitUserEmail: s.userEmail(ctx, j.SubmitUserHandle), Locale: j.Locale,
				Description: j.Description, NextFireTime: dateTime(j.ExecTime), TimeZone: zone,
				TriggerState: triggerState(j.State), ExportJob: echoExportJob(j.Spec, s.jobHandles(ctx, j.Handle)),
			})
		}
	}
	return &ipsapi.GetScheduledJobsReturn{JobArray: out}, nil
}

// triggerState is ScheduledJob/triggerState (r-job-trigger-states.md): a
// held job or schedule is Paused, every other one Normal.
func triggerState(st store.JobState) string {
	if st == store.JobHeld {
		return "Paused"
	}
	return "Normal"
}

// target is what a job operation's jobHandle names: a recurring schedule,
// or a job.
type target struct {
	schedule *store.Schedule
	job      store.Job
}

// findTarget resolves a jobHandle of the company: a schedule's handle, or
// a job's. Another company's is not found, like an unknown one.
func (s *Service) findTarget(ctx context.Context, co store.Company, handle string) (target, error) {
	handle = strings.TrimSpace(handle)
	if handle == "" {
		return target{}, soap.Missing("jobHandle")
	}
	sc, err := s.store.ScheduleByHandle(ctx, co.Handle, handle)
	switch {
	case err == nil:
		return target{schedule: &sc}, nil
	case !errors.Is(err, store.ErrNotFound):
		return target{}, fmt.Errorf("schedule %s: %w", handle, err)
	}
	j, err := s.findJob(ctx, co, handle, "")
	if err != nil {
		return target{}, err
	}
	return target{job: j}, nil
}

// jobControl is pauseJob, resumeJob, stopJob, executeJob and deleteJob: the
// job or schedule by handle, then the engine's transition; one whose state
// does not allow it is 30001 naming its state.
func (s *Service) jobControl(ctx context.Context, c *call, op string,
	onJob func(context.Context, store.Job) error, onSchedule func(context.Context, store.Schedule) error) (any, error) {
	// The control operations' params share one shape.
	var p struct {
		CompanyHandle string `xml:"companyHandle"`
		JobHandle     string `xml:"jobHandle"`
	}
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	t, err := s.findTarget(ctx, co, p.JobHandle)
	if err != nil {
		return nil, err
	}
	handle := t.job.Handle
	if t.schedule != nil {
		handle = t.schedule.Handle
		err = onSchedule(ctx, *t.schedule)
	} else {
		err = onJob(ctx, t.job)
	}
	if err != nil {
		var te *jobs.TransitionError
		if errors.As(err, &te) {
			what := "job is " + string(te.State)
			if t.schedule != nil {
				what = "recurring job is " + scheduleStateName(te.State)
			}
			return nil, soap.Errorf(soap.CodeInvalidParameter, "jobHandle %q: %s, %s does not apply", handle, what, op)
		}
		return nil, fmt.Errorf("%s %s: %w", op, handle, err)
	}
	return nil, nil
}

// scheduleStateName names a schedule's state as getScheduledJobs does.
func scheduleStateName(st store.JobState) string {
	if st == store.JobHeld {
		return "Paused"
	}
	return "Scheduled"
}

// notForSchedules refuses an operation on a recurring schedule.
func notForSchedules(sc store.Schedule, ev jobs.Event) error {
	return &jobs.TransitionError{Job: sc.Handle, Event: ev, State: sc.State}
}

func (s *Service) pauseJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "pauseJob", s.jobs.PauseJob, s.jobs.PauseSchedule)
}

func (s *Service) resumeJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "resumeJob", s.jobs.ResumeJob, s.jobs.ResumeSchedule)
}

func (s *Service) stopJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "stopJob", s.jobs.StopJob, func(_ context.Context, sc store.Schedule) error {
		return notForSchedules(sc, jobs.EvStop)
	})
}

// executeJob runs a job waiting for its execTime now, or makes a run of a
// recurring schedule now (r-execute-job.md).
func (s *Service) executeJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "executeJob", s.jobs.ExecuteJob, func(ctx context.Context, sc store.Schedule) error {
		_, err := s.jobs.ExecuteSchedule(ctx, sc)
		return err
	})
}

// deleteJob removes a recurring schedule, or a job in any state with its
// log and files: one that runs is stopped first (r-delete-job.md).
func (s *Service) deleteJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "deleteJob", s.jobs.DeleteJob, s.jobs.DeleteSchedule)
}
