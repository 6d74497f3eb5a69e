package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

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

// The job types submitJob knows, other than exportJob: each answers 30001.
var otherJobTypes = []string{"imageServingPublishJob", "imageRenderingPublishJob", "videoPublishJob",
	"serverDirectoryPublishJob", "metadataPublishJob", "uploadDirectoryJob", "uploadUrlsJob",
	"optimizeImagesJob", "ripPdfsJob", "reprocessAssetsJob", "createVideoSitemapJob", "automatedSetGenerationJob"}

func (s *Service) registerJobOps() {
	for op, h := range map[string]handler{
		"submitJob":        s.submitJob,
		"getActiveJobs":    s.getActiveJobs,
		"getScheduledJobs": s.getScheduledJobs,
		"getJobLogs":       s.getJobLogs,
		"getJobLogDetails": s.getJobLogDetails,
		"pauseJob":         s.pauseJob,
		"resumeJob":        s.resumeJob,
		"stopJob":          s.stopJob,
		"deleteJob":        s.deleteJob,
	} {
		s.ops[op] = h
	}
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
	if p.ExportJob == nil {
		for _, t := range otherJobTypes {
			if c.req.Present(t) {
				return nil, soap.Errorf(soap.CodeInvalidParameter, "%s: this server runs exportJob only", t)
			}
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
		const maxListed = 50
		more := ""
		if len(bad) > maxListed {
			more = fmt.Sprintf(" and %d more", len(bad)-maxListed)
			bad = bad[:maxListed]
		}
		return spec, nil, nil, soap.Errorf(soap.CodeInvalidParameter, "exportJob/assetHandleArray: %s%s", strings.Join(bad, ", "), more)
	}
	return spec, handles, byHandle, nil
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
		if errors.Is(err, store.ErrNotFound) {
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
				states = append(slices.Clone(states), store.JobScheduled)
			}
			if list, err = s.store.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: states}); err != nil {
				return nil, fmt.Errorf("getActiveJobs: %w", err)
			}
		}
		for _, j := range list {
			if !slices.Contains(store.ActiveJobStates, j.State) && !(p.IncludeWaitingJobs && j.State == store.JobScheduled) {
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

func (s *Service) activeJob(ctx context.Context, j store.Job) *ipsapi.ActiveJob {
	done := j.Succeeded + j.Errors
	progress := 0
	if j.Total > 0 {
		progress = done * 100 / j.Total
	}
	state, msg := string(j.State), fmt.Sprintf("%d of %d assets exported", done, j.Total)
	switch j.State {
	case store.JobPaused:
		state, msg = "WaitingClient", "Paused"
	case store.JobScheduled:
		state, msg = string(store.JobNew), "Scheduled"
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
			TaskType: "ExportTask", TaskState: taskState, NumProcessed: int32(done),
			NumPending: int32(j.Total - done), Progress: float64(progress) / 100, ProgressMessage: msg,
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
		Outcomes: []string{store.OutcomePending, store.OutcomeSuccess, store.OutcomeWarning, store.OutcomeError}})
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
	zone := s.jobs.Location().String()
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
				TimeZone: zone, TriggerState: "Normal", ExportJob: ej,
			})
		}
		waiting, err := s.store.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: []store.JobState{store.JobScheduled}})
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
				TriggerState: "Normal", ExportJob: echoExportJob(j.Spec, s.jobHandles(ctx, j.Handle)),
			})
		}
	}
	return &ipsapi.GetScheduledJobsReturn{JobArray: out}, nil
}

// Job log types (docs/exports.md, "Logs and counts").
func logTypes(jobType string) (begin, end, success, warning, failure string) {
	if jobType == store.JobTypeUpload {
		return "BeginUpload", "EndUpload", "UploadSuccess", "UploadWarning", "UploadError"
	}
	return "BeginExport", "EndExport", "ExportSuccess", "ExportWarning", "ExportError"
}

const logTypeArchive = "ExportArchive"

func (s *Service) jobLog(ctx context.Context, j store.Job) *ipsapi.JobLog {
	begin, end, _, _, _ := logTypes(j.Type)
	logType := begin
	if slices.Contains(store.EndedJobStates, j.State) {
		logType = end
	}
	return &ipsapi.JobLog{
		CompanyHandle: j.CompanyHandle, JobHandle: j.Handle, JobName: j.Name, OriginalJobName: j.OriginalName,
		SubmitUserEmail: s.userEmail(ctx, j.SubmitUserHandle), LogType: logType,
		StartDate: dateTime(j.Started), EndDate: dateTime(j.Ended), Description: j.Description,
		FileSuccessCount: int32(j.Succeeded), FileErrorCount: int32(j.Errors), FileWarningCount: int32(j.Warnings),
		TotalFileCount: int32(j.Total), TransferSuccessCount: int32(j.Succeeded), TransferErrorCount: int32(j.Errors),
		TransferWarningCount: int32(j.Warnings), FatalError: j.State == store.JobFailed,
	}
}

func (s *Service) getJobLogs(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetJobLogsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	cos, err := s.companiesFor(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	limit := int(p.NumRows)
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	desc, err := sortDescending(p.SortDirection, true)
	if err != nil {
		return nil, err
	}
	var all []store.Job
	for _, co := range cos {
		list, err := s.store.ListJobs(ctx, store.JobQuery{
			CompanyHandle: co.Handle, From: p.StartDate.ToGoTime(), To: p.EndDate.ToGoTime(), Descending: true,
		})
		if err != nil {
			return nil, fmt.Errorf("getJobLogs: %w", err)
		}
		for _, j := range list {
			if j.State == store.JobScheduled || (p.UserHandle != "" && j.SubmitUserHandle != p.UserHandle) {
				continue
			}
			all = append(all, j)
		}
	}
	key, err := jobSortKey(p.SortBy)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(a, b store.Job) int {
		r := key(a, b)
		if desc {
			r = -r
		}
		return r
	})
	if len(all) > limit {
		all = all[:limit]
	}
	out := &ipsapi.JobLogArray{}
	for _, j := range all {
		out.Items = append(out.Items, s.jobLog(ctx, j))
	}
	return &ipsapi.GetJobLogsReturn{JobLogArray: out}, nil
}

func sortDescending(dir string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(dir)) {
	case "":
		return def, nil
	case "ascending":
		return false, nil
	case "descending":
		return true, nil
	}
	return false, soap.Invalid("sortDirection", dir, "must be Ascending or Descending")
}

func jobSortKey(by string) (func(a, b store.Job) int, error) {
	cmpInt := func(f func(store.Job) int) func(a, b store.Job) int {
		return func(a, b store.Job) int { return f(a) - f(b) }
	}
	switch strings.ToLower(strings.TrimSpace(by)) {
	case "", "startdate":
		return func(a, b store.Job) int { return a.Submitted.Compare(b.Submitted) }, nil
	case "jobname":
		return func(a, b store.Job) int { return strings.Compare(a.Name, b.Name) }, nil
	case "logtype":
		return func(a, b store.Job) int { return strings.Compare(string(a.State), string(b.State)) }, nil
	case "filesuccesscount":
		return cmpInt(func(j store.Job) int { return j.Succeeded }), nil
	case "fileerrorcount":
		return cmpInt(func(j store.Job) int { return j.Errors }), nil
	case "filewarningcount":
		return cmpInt(func(j store.Job) int { return j.Warnings }), nil
	case "companyname":
		return func(a, b store.Job) int { return strings.Compare(a.CompanyHandle, b.CompanyHandle) }, nil
	case "userid", "email":
		return func(a, b store.Job) int { return strings.Compare(a.SubmitUserHandle, b.SubmitUserHandle) }, nil
	}
	return nil, soap.Invalid("sortBy", by, "must be a Job Log Sort Field (JobName, LogType, StartDate, CompanyName, UserId, Email, FileErrorCount, FileWarningCount, FileSuccessCount)")
}

func (s *Service) getJobLogDetails(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetJobLogDetailsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.JobHandle) == "" && strings.TrimSpace(p.OriginalName) == "" {
		return nil, soap.Missing("jobHandle or originalName")
	}
	var wanted []string // logTypeArray
	if p.LogTypeArray != nil {
		if wanted, err = s.stringList("logTypeArray", p.LogTypeArray); err != nil {
			return nil, err
		}
	}
	j, err := s.findJob(ctx, co, p.JobHandle, p.OriginalName)
	if err != nil {
		return nil, err
	}
	perPage := int(p.RecordsPerPage)
	if perPage <= 0 || perPage > 1000 {
		perPage = 1000
	}
	page := max(int(p.ResultsPage), 1)
	desc, err := sortDescending(p.SortDirection, false)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(strings.TrimSpace(p.SortBy)) {
	case "", "date", "logtype":
	default:
		return nil, soap.Invalid("sortBy", p.SortBy, "must be Date or LogType")
	}

	_, _, success, warning, failure := logTypes(j.Type)
	outcomeOf := map[string]string{success: store.OutcomeSuccess, warning: store.OutcomeWarning, failure: store.OutcomeError}
	var outcomes []string
	wantArchive := true
	if p.LogTypeArray != nil && len(p.LogTypeArray.Items) > 0 {
		// An array of blank items still filters (to nothing).
		wantArchive = false
		for _, t := range wanted {
			if o, ok := outcomeOf[t]; ok {
				outcomes = append(outcomes, o)
			}
			if t == logTypeArchive {
				wantArchive = true
			}
		}
		if len(outcomes) == 0 {
			outcomes = []string{"none"} // no asset rows match
		}
	}
	ended := slices.Contains(store.EndedJobStates, j.State)
	archive := wantArchive && ended && j.Type == store.JobTypeExport && j.Succeeded > 0 && !j.Purged
	rows, total, err := s.store.JobAssets(ctx, store.JobAssetQuery{
		JobHandle: j.Handle, Outcomes: outcomes, Descending: desc,
		Offset: (page - 1) * perPage, Limit: perPage,
	})
	if err != nil {
		return nil, fmt.Errorf("getJobLogDetails: %w", err)
	}
	base := c.req.BaseURL
	if base == "" {
		base = s.jobs.PublicURL()
	}
	details := &ipsapi.JobLogDetailArray{}
	archiveDetail := func() *ipsapi.JobLogDetail {
		return &ipsapi.JobLogDetail{
			LogMessage: fmt.Sprintf("Export archive of %d files, available until %s", j.Succeeded, j.Expires.UTC().Format(time.RFC3339)),
			LogType:    logTypeArchive, DateCreated: ipsapi.NewDateTime(j.Ended.UTC()),
			AssetName: s.jobs.ArchiveURL(base, j), AssetType: "Zip",
		}
	}
	// The archive row comes last in date order, first in reverse; it
	// counts in detailTotalRows.
	if archive && desc && page == 1 {
		details.Items = append(details.Items, archiveDetail())
	}
	for _, r := range rows {
		t := map[string]string{store.OutcomeSuccess: success, store.OutcomeWarning: warning, store.OutcomeError: failure}[r.Outcome]
		msg := r.Message
		if j.Type == store.JobTypeExport && r.Outcome != store.OutcomeError && r.OutputPath != "" {
			link := s.jobs.FileURL(base, j, r.OutputPath)
			if msg == "" {
				msg = "Exported " + r.OutputPath + ": " + link
			} else {
				msg = "Exported " + r.OutputPath + " with a warning: " + msg + ": " + link
			}
		}
		details.Items = append(details.Items, &ipsapi.JobLogDetail{
			LogMessage: msg, LogType: t, DateCreated: ipsapi.NewDateTime(r.Finished.UTC()),
			AssetName: r.AssetName, AssetType: r.AssetType, AssetHandle: r.AssetHandle,
		})
	}
	if archive && !desc && (page-1)*perPage+len(rows) >= total && len(details.Items) < perPage {
		details.Items = append(details.Items, archiveDetail())
	}
	if archive {
		total++
	}
	log := s.jobLog(ctx, j)
	log.DetailTotalRows = int32(total)
	log.DetailArray = details
	return &ipsapi.GetJobLogDetailsReturn{JobLogArray: &ipsapi.JobLogArray{Items: []*ipsapi.JobLog{log}}}, nil
}

// jobControl is pauseJob, resumeJob and stopJob: the job by handle,
// then the engine's transition; a job not in a state that allows it is
// 30001 naming its state.
func (s *Service) jobControl(ctx context.Context, c *call, op string, act func(context.Context, store.Job) error) (any, error) {
	// pauseJobParam, resumeJobParam and stopJobParam share one shape.
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
	j, err := s.findJob(ctx, co, p.JobHandle, "")
	if err != nil {
		return nil, err
	}
	if err := act(ctx, j); err != nil {
		var te *jobs.TransitionError
		if errors.As(err, &te) {
			return nil, soap.Errorf(soap.CodeInvalidParameter, "jobHandle %q: job is %s, %s does not apply", j.Handle, te.State, op)
		}
		return nil, fmt.Errorf("%s %s: %w", op, j.Handle, err)
	}
	return nil, nil
}

func (s *Service) pauseJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "pauseJob", s.jobs.PauseJob)
}

func (s *Service) resumeJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "resumeJob", s.jobs.ResumeJob)
}

func (s *Service) stopJob(ctx context.Context, c *call) (any, error) {
	return s.jobControl(ctx, c, "stopJob", s.jobs.StopJob)
}

// deleteJob removes a scheduled job (execTime or execSchedule) or the log
// and files of an ended one; a running job must be stopped first.
func (s *Service) deleteJob(ctx context.Context, c *call) (any, error) {
	var p ipsapi.DeleteJobParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	h := strings.TrimSpace(p.JobHandle)
	if h == "" {
		return nil, soap.Missing("jobHandle")
	}
	if err := s.store.DeleteSchedule(ctx, co.Handle, h); err == nil {
		return nil, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("deleteJob %s: %w", h, err)
	}
	j, err := s.findJob(ctx, co, h, "")
	if err != nil {
		return nil, err
	}
	if j.State != store.JobScheduled && !j.State.Ended() {
		return nil, soap.Errorf(soap.CodeInvalidParameter, "jobHandle %q: job is %s; stop it before deleting it", j.Handle, j.State)
	}
	if j.State == store.JobScheduled {
		// Take it out of the schedule first, so no worker starts it.
		if err := s.jobs.StopJob(ctx, j); err != nil {
			return nil, soap.Errorf(soap.CodeInvalidParameter, "jobHandle %q: job has started; stop it before deleting it", j.Handle)
		}
	}
	if err := s.jobs.DeleteJob(ctx, j); err != nil {
		return nil, fmt.Errorf("deleteJob: %w", err)
	}
	return nil, nil
}
