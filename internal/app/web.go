package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/web"
)

// jobsPage builds the Jobs page over the service, store and engine.
func jobsPage(cfg Config, st store.Store, svc *service.Service, engine webEngine, key []byte, log *slog.Logger) (*web.Handler, error) {
	b := webBackend{st: st, svc: svc, engine: engine}
	return web.New(web.Config{
		Auth: b, Jobs: b, Key: key, SessionTTL: cfg.WebSessionTTL,
		Location: cfg.Location, Logger: log,
	})
}

// webBackend adapts the service, store and job engine to package web: the
// service's login (with its failed-login limits), its role table and
// company rules; the engine's job operations and signed links. It is the
// only part of the Jobs page that knows them.
type webBackend struct {
	st     store.Store
	svc    *service.Service
	engine webEngine
}

// webEngine is what the page needs of the job engine (*jobs.Engine): its
// operations, with their state rules, and its signed links.
type webEngine interface {
	PauseJob(ctx context.Context, j store.Job) error
	ResumeJob(ctx context.Context, j store.Job) error
	StopJob(ctx context.Context, j store.Job) error
	DeleteJob(ctx context.Context, j store.Job) error
	ArchiveURL(base string, j store.Job) string
	FileURL(base string, j store.Job, path string) string
}

// The IPS operations whose roles decide what the page shows and does.
const (
	opListJobs     = "getJobLogs"
	opListSchedule = "getScheduledJobs"
	opJobDetails   = "getJobLogDetails"
)

// actionOp is the IPS operation of a button; "" for none.
func actionOp(a web.Action) string {
	switch a {
	case web.ActionPause:
		return "pauseJob"
	case web.ActionResume:
		return "resumeJob"
	case web.ActionStop:
		return "stopJob"
	case web.ActionDelete:
		return "deleteJob"
	}
	return ""
}

func (b webBackend) Authenticate(ctx context.Context, email, password, remoteAddr string) (web.User, error) {
	u, err := b.svc.Login(ctx, email, password, remoteAddr)
	var f *soap.Fault
	if errors.As(err, &f) && f.Kind == soap.AuthenticationFault {
		return web.User{}, &web.SignInError{Reason: f.Reason}
	}
	if err != nil {
		return web.User{}, err
	}
	return webUser(u), nil
}

func (b webBackend) User(ctx context.Context, handle string) (web.User, error) {
	u, err := b.st.UserByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) {
		return web.User{}, fmt.Errorf("user %s: %w", handle, web.ErrNotFound)
	}
	if err != nil {
		return web.User{}, fmt.Errorf("user %s: %w", handle, err)
	}
	return webUser(u), nil
}

func webUser(u store.User) web.User {
	name := u.FirstName
	if u.LastName != "" {
		name += " " + u.LastName
	}
	return web.User{Handle: u.Handle, Email: u.Email, Name: name, Role: u.Role, CredentialStamp: u.PasswordHash}
}

// storeUser is what the service's company rules read of a user.
func storeUser(u web.User) store.User { return store.User{Handle: u.Handle, Role: u.Role} }

// companies are those the user may see: every one for an IpsAdmin, else
// their memberships (as the job operations without a companyHandle).
func (b webBackend) companies(ctx context.Context, u web.User) ([]store.Company, error) {
	if u.Role == store.RoleIpsAdmin {
		return b.st.ListCompanies(ctx)
	}
	return b.st.UserCompanies(ctx, u.Handle)
}

func (b webBackend) Jobs(ctx context.Context, u web.User, q web.ListQuery) (web.JobList, error) {
	if !b.svc.Allows(opListJobs, u.Role) {
		return web.JobList{}, web.ErrForbidden
	}
	cos, err := b.companies(ctx, u)
	if err != nil {
		return web.JobList{}, fmt.Errorf("jobs page: companies: %w", err)
	}
	out := web.JobList{Companies: len(cos), ScheduledHidden: !b.svc.Allows(opListSchedule, u.Role)}
	var ended []web.Job
	for _, co := range cos {
		list := func(states []store.JobState, limit int) ([]store.Job, error) {
			js, err := b.st.ListJobs(ctx, store.JobQuery{CompanyHandle: co.Handle, States: states, Descending: true, Limit: limit})
			if err != nil {
				return nil, fmt.Errorf("jobs page: jobs of %s: %w", co.Handle, err)
			}
			return js, nil
		}
		active, err := list(store.ActiveJobStates, 0)
		if err != nil {
			return web.JobList{}, err
		}
		for _, j := range active {
			out.Active = append(out.Active, b.webJob(u, co, j))
		}
		// Each company's newest up to the end of the page asked for, and
		// one more to tell whether there is a next page.
		done, err := list(store.EndedJobStates, q.EndedOffset+q.EndedLimit+1)
		if err != nil {
			return web.JobList{}, err
		}
		for _, j := range done {
			ended = append(ended, b.webJob(u, co, j))
		}
		if out.ScheduledHidden {
			continue
		}
		waiting, err := list(store.WaitingJobStates, 0)
		if err != nil {
			return web.JobList{}, err
		}
		for _, j := range waiting {
			out.Scheduled = append(out.Scheduled, b.webJob(u, co, j))
		}
		scheds, err := b.st.Schedules(ctx, co.Handle)
		if err != nil {
			return web.JobList{}, fmt.Errorf("jobs page: schedules of %s: %w", co.Handle, err)
		}
		for _, s := range scheds {
			out.Scheduled = append(out.Scheduled, web.Job{
				Handle: s.Handle, CompanyName: co.Name, Name: s.OriginalName, RunName: s.OriginalName,
				Type: s.Type, State: string(s.State), Recurring: s.Cron, NextRun: s.NextFire,
				Submitted: s.Created, Actions: web.Actions{Delete: b.svc.Allows(actionOp(web.ActionDelete), u.Role)},
			})
		}
	}
	for _, l := range [][]web.Job{out.Active, out.Scheduled, ended} {
		slices.SortStableFunc(l, newestFirst)
	}
	from, to := min(q.EndedOffset, len(ended)), min(q.EndedOffset+q.EndedLimit, len(ended))
	out.Ended, out.MoreEnded = ended[from:to], len(ended) > to
	return out, nil
}

func newestFirst(a, b web.Job) int {
	return cmp.Or(b.Submitted.Compare(a.Submitted), cmp.Compare(b.Handle, a.Handle))
}

// visibleJob finds a job of a company the user may see; any other is not
// found, exactly like one that does not exist.
func (b webBackend) visibleJob(ctx context.Context, u web.User, handle string) (store.Job, store.Company, error) {
	j, err := b.st.JobByHandle(ctx, "", handle)
	if errors.Is(err, store.ErrNotFound) || (err == nil && j.State == store.JobDeleting) {
		return store.Job{}, store.Company{}, fmt.Errorf("job %s: %w", handle, web.ErrNotFound)
	}
	if err != nil {
		return store.Job{}, store.Company{}, fmt.Errorf("job %s: %w", handle, err)
	}
	co, err := b.svc.CompanyAccess(ctx, storeUser(u), j.CompanyHandle)
	var f *soap.Fault
	if errors.As(err, &f) {
		return store.Job{}, store.Company{}, fmt.Errorf("job %s: %w", handle, web.ErrNotFound)
	}
	if err != nil {
		return store.Job{}, store.Company{}, fmt.Errorf("job %s: %w", handle, err)
	}
	return j, co, nil
}

func (b webBackend) Job(ctx context.Context, u web.User, handle string, offset, limit int) (web.JobPage, error) {
	if !b.svc.Allows(opJobDetails, u.Role) {
		return web.JobPage{}, web.ErrForbidden
	}
	j, co, err := b.visibleJob(ctx, u, handle)
	if err != nil {
		return web.JobPage{}, err
	}
	rows, total, err := b.st.JobAssets(ctx, store.JobAssetQuery{JobHandle: j.Handle, Offset: offset, Limit: limit})
	if err != nil {
		return web.JobPage{}, fmt.Errorf("jobs page: log of %s: %w", j.Handle, err)
	}
	p := web.JobPage{Job: b.webJob(u, co, j), Description: j.Description, TotalDetails: total}
	if sub, err := b.st.UserByHandle(ctx, j.SubmitUserHandle); err == nil {
		p.SubmittedBy = sub.Email
	}
	for _, r := range rows {
		d := web.Detail{Time: r.Finished, Outcome: r.Outcome, AssetName: r.AssetName, AssetType: r.AssetType,
			Message: r.Message, Path: r.OutputPath}
		if j.Type == store.JobTypeExport && r.Outcome != store.OutcomeError && r.OutputPath != "" && !j.Purged {
			d.FileURL = b.engine.FileURL("", j, r.OutputPath)
		}
		p.Details = append(p.Details, d)
	}
	return p, nil
}

// webJob is a job as the list shows it, with the operations the user may
// apply to it now. Links are relative to the host the page was reached at.
func (b webBackend) webJob(u web.User, co store.Company, j store.Job) web.Job {
	ended := j.State.Ended()
	wj := web.Job{
		Handle: j.Handle, CompanyName: co.Name, Name: j.OriginalName, RunName: j.Name, Type: j.Type, State: string(j.State),
		Total: j.Total, Succeeded: j.Succeeded, Warnings: j.Warnings, Errors: j.Errors, Cancelled: j.Cancelled, Reused: j.RenditionHits,
		Submitted: j.Submitted, Started: j.Started, Ended: j.Ended, Expires: j.Expires, Purged: j.Purged,
	}
	if slices.Contains(store.WaitingJobStates, j.State) {
		wj.NextRun = j.ExecTime
	}
	if ended && j.Type == store.JobTypeExport && j.Succeeded > 0 && !j.Purged {
		wj.ArchiveURL = b.engine.ArchiveURL("", j)
	}
	may := func(a web.Action) bool { return applies(a, j.State) && b.svc.Allows(actionOp(a), u.Role) }
	wj.Actions = web.Actions{Pause: may(web.ActionPause), Resume: may(web.ActionResume),
		Stop: may(web.ActionStop), Delete: may(web.ActionDelete)}
	return wj
}

// applies tells which buttons a job in a state gets, from the job
// engine's transition table (an operation that no longer applies when
// pressed is refused there), so that a Completed job shows no Pause
// button.
func applies(a web.Action, state store.JobState) bool {
	var ev jobs.Event
	switch a {
	case web.ActionPause:
		ev = jobs.EvPause
	case web.ActionResume:
		ev = jobs.EvResume
	case web.ActionStop:
		ev = jobs.EvStop
	case web.ActionDelete:
		ev = jobs.EvDelete
	default:
		return false
	}
	_, ok := jobs.Next(state, ev)
	return ok
}

func (b webBackend) Control(ctx context.Context, u web.User, handle string, a web.Action) error {
	op := actionOp(a)
	if op == "" {
		return fmt.Errorf("%s: %w", a, web.ErrNotFound)
	}
	if !b.svc.Allows(op, u.Role) {
		return fmt.Errorf("%s %s: %w", op, handle, web.ErrForbidden)
	}
	j, _, err := b.visibleJob(ctx, u, handle)
	if errors.Is(err, web.ErrNotFound) && a == web.ActionDelete {
		return b.deleteSchedule(ctx, u, handle)
	}
	if err != nil {
		return err
	}
	var act func(context.Context, store.Job) error
	switch a {
	case web.ActionPause:
		act = b.engine.PauseJob
	case web.ActionResume:
		act = b.engine.ResumeJob
	case web.ActionStop:
		act = b.engine.StopJob
	case web.ActionDelete:
		return b.deleteJob(ctx, j)
	}
	if err := act(ctx, j); err != nil {
		var te *jobs.TransitionError
		if errors.As(err, &te) {
			return &web.ActionError{Reason: fmt.Sprintf("The job is %s: %s does not apply.", te.State, a)}
		}
		return fmt.Errorf("%s %s: %w", op, j.Handle, err)
	}
	return nil
}

// deleteJob removes a job in any state, as deleteJob does: one that
// runs is stopped, then removed.
func (b webBackend) deleteJob(ctx context.Context, j store.Job) error {
	if err := b.engine.DeleteJob(ctx, j); err != nil {
		var te *jobs.TransitionError
		if errors.As(err, &te) {
			return &web.ActionError{Reason: fmt.Sprintf("The job is %s: it cannot be deleted.", te.State)}
		}
		return fmt.Errorf("deleteJob %s: %w", j.Handle, err)
	}
	return nil
}

// deleteSchedule removes a recurring schedule of a company the user may
// see.
func (b webBackend) deleteSchedule(ctx context.Context, u web.User, handle string) error {
	cos, err := b.companies(ctx, u)
	if err != nil {
		return fmt.Errorf("deleteJob %s: %w", handle, err)
	}
	for _, co := range cos {
		err := b.st.DeleteSchedule(ctx, co.Handle, handle)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("deleteJob %s: %w", handle, err)
		}
	}
	return fmt.Errorf("job %s: %w", handle, web.ErrNotFound)
}
