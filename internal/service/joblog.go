package service

// Reading job logs: getJobLogs, getJobLogDetails and getAssetJobLogs, with
// the rows, types, dates and messages docs/job-logs.md sets out.

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Job log types (r-job-log-types.md; docs/job-logs.md, "Log types"). The
// reference names no export types: ours follow its Upload ones.
const (
	logBeginExport     = "BeginExport"
	logEndExport       = "EndExport"
	logExportSuccess   = "ExportSuccess"
	logExportWarning   = "ExportWarning"
	logExportError     = "ExportError"
	logExportArchive   = "ExportArchive"
	logBeginUpload     = "BeginUpload"
	logEndUpload       = "EndUpload"
	logUploadSuccess   = "UploadSuccess"
	logUploadWarning   = "UploadWarning"
	logUploadError     = "UploadError"
	logFileBegin       = "FileBegin"
	logFileCancel      = "FileCancel"
	logFileUpdated     = "FileUpdated"
	logOriginalJobName = "OriginalJobName"
	logJobClient       = "JobClient"
	logJobType         = "JobType"
	logTotalFileCount  = "TotalFileCount"
)

// jobLogTypes are the log types of a job of type jobType: its begin and
// end types, and the type of each kind of asset row.
type jobLogTypes struct {
	begin, end string
	rows       map[store.LogRowKind]string
	// fileBegin: the job has a row where each file begins (uploads: a file
	// arrives; an export writes one row per asset, docs/job-logs.md).
	fileBegin bool
}

func logTypesOf(jobType string) jobLogTypes {
	if jobType == store.JobTypeUpload {
		return jobLogTypes{begin: logBeginUpload, end: logEndUpload, fileBegin: true, rows: map[store.LogRowKind]string{
			store.LogBegin: logFileBegin, store.LogSuccess: logUploadSuccess, store.LogUpdated: logFileUpdated,
			store.LogWarning: logUploadWarning, store.LogError: logUploadError, store.LogCancelled: logFileCancel,
		}}
	}
	return jobLogTypes{begin: logBeginExport, end: logEndExport, rows: map[store.LogRowKind]string{
		store.LogSuccess: logExportSuccess, store.LogUpdated: logExportSuccess,
		store.LogWarning: logExportWarning, store.LogError: logExportError, store.LogCancelled: logFileCancel,
	}}
}

// kinds are the asset row kinds the job writes, by their log type.
func (t jobLogTypes) kinds() []store.LogRowKind {
	var out []store.LogRowKind
	for _, k := range store.LogRowKinds {
		if _, ok := t.rows[k]; ok && (k != store.LogBegin || t.fileBegin) {
			out = append(out, k)
		}
	}
	return out
}

// jobStart is when a job began, or was submitted when it never began: the
// startDate of every job log (docs/job-logs.md, "Rows").
func jobStart(j store.Job) time.Time {
	if j.Started.IsZero() {
		return j.Submitted
	}
	return j.Started
}

// jobLogType is JobLog/logType: the job's begin type until it ends, its
// end type after (docs/job-logs.md, "Log types"): the reference's
// examples show BeginUpload on a log with no endDate, a job that has not
// ended.
func jobLogType(j store.Job) string {
	t := logTypesOf(j.Type)
	if j.State.Ended() {
		return t.end
	}
	return t.begin
}

func (s *Service) jobLog(ctx context.Context, j store.Job) *ipsapi.JobLog {
	return &ipsapi.JobLog{
		CompanyHandle: j.CompanyHandle, JobHandle: j.Handle, JobName: j.Name, OriginalJobName: j.OriginalName,
		SubmitUserEmail: s.userEmail(ctx, j.SubmitUserHandle), LogType: jobLogType(j),
		StartDate: dateTime(jobStart(j)), EndDate: dateTime(j.Ended), Description: j.Description,
		// Updates are counted apart from successes (IPS 4.0 change log).
		FileSuccessCount: int32(j.Succeeded - j.Updated), FileErrorCount: int32(j.Errors), FileWarningCount: int32(j.Warnings),
		FileUpdateCount: int32(j.Updated), TotalFileCount: int32(j.Total),
		TransferSuccessCount: int32(j.Succeeded), TransferErrorCount: int32(j.Errors),
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
	by, err := jobSortField(p.SortBy)
	if err != nil {
		return nil, err
	}
	var all []loggedJob
	emails := map[string]string{} // submitter handle → e-mail, each looked up once
	for _, co := range cos {
		list, err := s.store.ListJobs(ctx, store.JobQuery{
			CompanyHandle: co.Handle, From: p.StartDate.ToGoTime(), To: p.EndDate.ToGoTime(), Descending: true,
		})
		if err != nil {
			return nil, fmt.Errorf("getJobLogs: %w", err)
		}
		for _, j := range list {
			if slices.Contains(store.WaitingJobStates, j.State) || (p.UserHandle != "" && j.SubmitUserHandle != p.UserHandle) {
				continue
			}
			email, ok := emails[j.SubmitUserHandle]
			if !ok {
				email = s.userEmail(ctx, j.SubmitUserHandle)
				emails[j.SubmitUserHandle] = email
			}
			all = append(all, loggedJob{job: j, company: co.Name, email: email})
		}
	}
	slices.SortStableFunc(all, func(a, b loggedJob) int {
		r := by(a, b)
		if desc {
			r = -r
		}
		return r
	})
	if len(all) > limit {
		all = all[:limit]
	}
	out := &ipsapi.JobLogArray{}
	for _, l := range all {
		out.Items = append(out.Items, s.jobLog(ctx, l.job))
	}
	return &ipsapi.GetJobLogsReturn{JobLogArray: out}, nil
}

// loggedJob is a job with what getJobLogs may sort it by.
type loggedJob struct {
	job     store.Job
	company string // the company's name
	email   string // the submitter's
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

// jobSortField orders getJobLogs by a Job Log Sort Field
// (r-job-log-sort-fields.md), each by what it names as the answer shows
// it; ties go by start date.
func jobSortField(by string) (func(a, b loggedJob) int, error) {
	byStart := func(a, b loggedJob) int { return jobStart(a.job).Compare(jobStart(b.job)) }
	then := func(f func(a, b loggedJob) int) func(a, b loggedJob) int {
		return func(a, b loggedJob) int { return cmp.Or(f(a, b), byStart(a, b)) }
	}
	text := func(f func(loggedJob) string) func(a, b loggedJob) int {
		return then(func(a, b loggedJob) int { return strings.Compare(strings.ToLower(f(a)), strings.ToLower(f(b))) })
	}
	count := func(f func(store.Job) int) func(a, b loggedJob) int {
		return then(func(a, b loggedJob) int { return cmp.Compare(f(a.job), f(b.job)) })
	}
	switch strings.ToLower(strings.TrimSpace(by)) {
	case "", "startdate":
		return byStart, nil
	case "jobname":
		return text(func(l loggedJob) string { return l.job.Name }), nil
	case "logtype":
		return text(func(l loggedJob) string { return jobLogType(l.job) }), nil
	case "filesuccesscount":
		return count(func(j store.Job) int { return j.Succeeded - j.Updated }), nil
	case "fileerrorcount":
		return count(func(j store.Job) int { return j.Errors }), nil
	case "filewarningcount":
		return count(func(j store.Job) int { return j.Warnings }), nil
	case "companyname":
		return text(func(l loggedJob) string { return l.company }), nil
	case "userid", "email":
		// A user's id is their login, the e-mail (submitUserEmail).
		return text(func(l loggedJob) string { return l.email }), nil
	}
	return nil, soap.Invalid("sortBy", by, "must be a Job Log Sort Field (JobName, LogType, StartDate, CompanyName, UserId, Email, FileErrorCount, FileWarningCount, FileSuccessCount)")
}

// logRow is one JobLogDetail.
type logRow struct {
	typ, msg                string
	at                      time.Time
	name, assetType, handle string
}

func (r logRow) detail() *ipsapi.JobLogDetail {
	return &ipsapi.JobLogDetail{LogMessage: r.msg, LogType: r.typ, DateCreated: ipsapi.NewDateTime(r.at.UTC()),
		AssetName: r.name, AssetType: r.assetType, AssetHandle: r.handle}
}

// segment is a run of rows of one log, in ascending order: a few fixed
// rows, or asset rows the store pages.
type segment struct {
	typ   string // the log type of its rows (one of them for mixed asset rows)
	fixed []logRow
	// assets pages asset rows when fixed is nil: rows [offset,
	// offset+limit) in the given direction and the segment's length;
	// limit 0 counts only.
	assets func(offset, limit int, desc bool) ([]logRow, int, error)
}

func (g segment) page(offset, limit int, desc bool) ([]logRow, int, error) {
	if g.assets != nil {
		return g.assets(offset, limit, desc)
	}
	rows := slices.Clone(g.fixed)
	if desc {
		slices.Reverse(rows)
	}
	n := len(rows)
	return rows[min(offset, n):min(offset+limit, n)], n, nil
}

// pageSegments is rows [offset, offset+limit) of the segments read one
// after the other (each reversed, and in reverse order, when desc), and
// the number of rows of them all.
func pageSegments(segs []segment, offset, limit int, desc bool) ([]logRow, int, error) {
	if desc {
		segs = slices.Clone(segs)
		slices.Reverse(segs)
	}
	var out []logRow
	total := 0
	for _, g := range segs {
		want := limit - len(out)
		if want <= 0 {
			_, n, err := g.page(0, 0, desc)
			if err != nil {
				return nil, 0, err
			}
			total += n
			continue
		}
		rows, n, err := g.page(offset, want, desc)
		if err != nil {
			return nil, 0, err
		}
		total += n
		out = append(out, rows...)
		offset = max(offset-n, 0)
	}
	return out, total, nil
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
	filtered := p.LogTypeArray != nil && len(p.LogTypeArray.Items) > 0
	if p.LogTypeArray != nil {
		if wanted, err = s.stringList("logTypeArray", p.LogTypeArray); err != nil {
			return nil, err
		}
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
	byType := false
	switch strings.ToLower(strings.TrimSpace(p.SortBy)) {
	case "", "date":
	case "logtype":
		byType = true
	default:
		return nil, soap.Invalid("sortBy", p.SortBy, "must be Date or LogType")
	}
	j, err := s.findJob(ctx, co, p.JobHandle, p.OriginalName)
	if err != nil {
		return nil, err
	}
	base := c.req.BaseURL
	if base == "" {
		base = s.jobs.PublicURL()
	}
	want := func(typ string) bool { return !filtered || slices.Contains(wanted, typ) }
	segs := s.logSegments(ctx, j, base, want, byType)
	rows, total, err := pageSegments(segs, (page-1)*perPage, perPage, desc)
	if err != nil {
		return nil, fmt.Errorf("getJobLogDetails %s: %w", j.Handle, err)
	}
	details := &ipsapi.JobLogDetailArray{}
	for _, r := range rows {
		details.Items = append(details.Items, r.detail())
	}
	log := s.jobLog(ctx, j)
	log.DetailTotalRows = int32(total)
	log.DetailArray = details
	return &ipsapi.GetJobLogDetailsReturn{JobLogArray: &ipsapi.JobLogArray{Items: []*ipsapi.JobLog{log}}}, nil
}

// logSegments are a job's log rows (docs/job-logs.md, "Rows"): the job's
// begin and who and what it is, at its start; one row per asset (and, for
// an upload, one more where each file began); its end, and an export's
// archive, once it ended. Only the types want accepts are kept; byType
// orders them by log type, then date, else by date.
func (s *Service) logSegments(ctx context.Context, j store.Job, base string, want func(string) bool, byType bool) []segment {
	types := logTypesOf(j.Type)
	msg := func(key string, d notify.LogData) string { return s.msgs.LogMessage(j.Locale, key, d) }
	start := jobStart(j)
	head := []logRow{
		{typ: types.begin, at: start, msg: msg(strings.ToLower("begin-"+j.Type), notify.LogData{})},
		{typ: logOriginalJobName, at: start, msg: j.OriginalName},
		{typ: logJobClient, at: start, msg: s.cfg.ServerName},
		{typ: logJobType, at: start, msg: j.Type},
		{typ: logTotalFileCount, at: start, msg: strconv.Itoa(j.Total)},
	}
	var tail []logRow
	if j.State.Ended() {
		tail = append(tail, logRow{typ: types.end, at: j.Ended, msg: msg(strings.ToLower("end-"+j.Type), notify.LogData{
			Total: j.Total, Succeeded: j.Succeeded, Warnings: j.Warnings, Errors: j.Errors,
			Cancelled: j.Cancelled, Updated: j.Updated, Reused: j.RenditionHits})})
		if j.Type == store.JobTypeExport && j.Succeeded > 0 && !j.Purged {
			// Its assetName is the zip's link: what AEM's export client
			// waits for (docs/clients.md, "AEM's export client").
			tail = append(tail, logRow{typ: logExportArchive, at: j.Ended,
				msg:  msg("archive", notify.LogData{Count: j.Succeeded, Until: j.Expires.UTC().Format(time.RFC3339)}),
				name: s.jobs.ArchiveURL(base, j), assetType: "Zip"})
		}
	}
	assets := func(kinds []store.LogRowKind, byKind bool) func(offset, limit int, desc bool) ([]logRow, int, error) {
		return func(offset, limit int, desc bool) ([]logRow, int, error) {
			q := store.JobLogQuery{JobHandle: j.Handle, Kinds: kinds, ByKind: byKind, Descending: desc, Offset: offset, Limit: limit}
			if limit == 0 {
				q.Offset, q.Limit = 0, 1 // the count comes with any row
			}
			got, n, err := s.store.JobLog(ctx, q)
			if err != nil || limit == 0 {
				return nil, n, err
			}
			out := make([]logRow, len(got))
			for i, r := range got {
				out[i] = s.assetRow(j, types, base, r)
			}
			return out, n, nil
		}
	}
	var segs []segment
	fixed := func(rows []logRow) {
		for _, r := range rows {
			if want(r.typ) {
				segs = append(segs, segment{typ: r.typ, fixed: []logRow{r}})
			}
		}
	}
	var kinds []store.LogRowKind
	for _, k := range types.kinds() {
		if want(types.rows[k]) {
			kinds = append(kinds, k)
		}
	}
	if !byType {
		fixed(head)
		if len(kinds) > 0 {
			segs = append(segs, segment{typ: "", assets: assets(kinds, false)})
		}
		fixed(tail)
		return segs
	}
	fixed(head)
	fixed(tail)
	// Kinds of one log type (an export's updated and plain successes) are
	// one segment; the store orders within it by date.
	byTyp := map[string][]store.LogRowKind{}
	for _, k := range kinds {
		byTyp[types.rows[k]] = append(byTyp[types.rows[k]], k)
	}
	for typ, ks := range byTyp {
		segs = append(segs, segment{typ: typ, assets: assets(ks, false)})
	}
	slices.SortStableFunc(segs, func(a, b segment) int { return strings.Compare(a.typ, b.typ) })
	// Fixed rows of one type (none today) keep their date order.
	return segs
}

// assetRow is the log row of one asset row of the store, its message in
// the job's language.
func (s *Service) assetRow(j store.Job, types jobLogTypes, base string, r store.JobLogRow) logRow {
	a := r.Asset
	row := logRow{typ: types.rows[r.Kind], at: r.Time, name: a.AssetName, assetType: a.AssetType, handle: a.AssetHandle}
	d := notify.LogData{Message: a.Message, Type: a.AssetType, Handle: a.AssetHandle, Size: a.Size,
		Path: a.FolderPath + a.FileName}
	upload := j.Type == store.JobTypeUpload
	if !upload {
		d.Path = a.OutputPath
		if a.OutputPath != "" && !j.Purged && (r.Kind == store.LogSuccess || r.Kind == store.LogUpdated || r.Kind == store.LogWarning) {
			d.Link = s.jobs.FileURL(base, j, a.OutputPath)
		}
	}
	var key string
	switch r.Kind {
	case store.LogBegin:
		key = "file-begin-upload"
	case store.LogSuccess:
		key = map[bool]string{true: "upload-success", false: "export-success"}[upload]
	case store.LogUpdated:
		key = map[bool]string{true: "upload-updated", false: "export-success"}[upload]
	case store.LogWarning:
		key = map[bool]string{true: "upload-warning", false: "export-warning"}[upload]
	case store.LogError:
		key = map[bool]string{true: "upload-error", false: "export-error"}[upload]
	case store.LogCancelled:
		key = "file-cancel"
	}
	row.msg = s.msgs.LogMessage(j.Locale, key, d)
	return row
}

// maxAssetJobLogs bounds getAssetJobLogs' answer: the newest entries of an
// asset exported every night for years.
const maxAssetJobLogs = 1000

// getAssetJobLogs lists the job log entries that name an asset, newest
// first (r-get-asset-job-logs.md): what a client reconciles an export or an
// upload by.
func (s *Service) getAssetJobLogs(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetAssetJobLogsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	h := strings.TrimSpace(p.AssetHandle)
	if h == "" {
		return nil, soap.Missing("assetHandle")
	}
	entries, err := s.store.AssetJobLogs(ctx, co.Handle, h, maxAssetJobLogs)
	if err != nil {
		return nil, fmt.Errorf("getAssetJobLogs %s: %w", h, err)
	}
	if len(entries) == 0 {
		// A deleted asset keeps its log; an asset never seen is unknown.
		found, err := s.store.AssetsByHandles(ctx, co.Handle, []string{h})
		if err != nil {
			return nil, fmt.Errorf("getAssetJobLogs %s: %w", h, err)
		}
		if len(found) == 0 {
			return nil, soap.Invalid("assetHandle", h, "no such asset")
		}
	}
	base := c.req.BaseURL
	if base == "" {
		base = s.jobs.PublicURL()
	}
	emails := map[string]string{}
	out := &ipsapi.AssetJobLogArray{}
	for _, e := range entries {
		types := logTypesOf(e.Job.Type)
		kind := store.LogRowKind(e.Asset.Outcome)
		if kind == store.LogSuccess && e.Asset.Replaced {
			kind = store.LogUpdated
		}
		row := s.assetRow(e.Job, types, base, store.JobLogRow{Kind: kind, Time: e.Asset.Finished, Asset: e.Asset})
		email, ok := emails[e.Job.SubmitUserHandle]
		if !ok {
			email = s.userEmail(ctx, e.Job.SubmitUserHandle)
			emails[e.Job.SubmitUserHandle] = email
		}
		out.Items = append(out.Items, &ipsapi.AssetJobLog{
			JobHandle: e.Job.Handle, JobName: e.Job.Name, LogMessage: row.msg, LogType: row.typ,
			SubmitUserEmail: email, LogDate: ipsapi.NewDateTime(row.at.UTC()),
		})
	}
	return &ipsapi.GetAssetJobLogsReturn{JobLogArray: out}, nil
}
