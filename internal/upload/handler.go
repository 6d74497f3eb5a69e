package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/httplimit"
	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Path is the route of the servlet (c-http-post.md).
const Path = "/scene7/UploadFile"

// DefaultMaxFileBytes bounds one uploaded file when Config.MaxFileBytes is 0.
const DefaultMaxFileBytes int64 = 2 << 30

// Authorizer is what the servlet needs of the service: *service.Service
// has both methods, which answer *soap.Fault errors.
type Authorizer interface {
	// Login checks an e-mail and password presented from remoteAddr
	// (10001 when wrong, or when the login limits hold it back).
	Login(ctx context.Context, email, password, remoteAddr string) (store.User, error)
	// CompanyAccess resolves a companyHandle the user may use (30002 when
	// empty, 20006 when unknown or not the user's).
	CompanyAccess(ctx context.Context, user store.User, companyHandle string) (store.Company, error)
}

// Config configures the servlet.
type Config struct {
	Service  Authorizer
	Store    store.Store
	Importer *catalog.Importer
	// MaxFileBytes bounds one file: 0 is DefaultMaxFileBytes, negative is
	// no bound (the Importer's own MaxFileBytes applies as well).
	MaxFileBytes int64
	// MaxPreAuthBytes bounds what a POST may send, after gunzip, before
	// its caller is authenticated (preamble, auth and uploadParams parts):
	// the SOAP endpoint's limit on a whole request. 0 is
	// soap.DefaultMaxBodyBytes.
	MaxPreAuthBytes int64
	// Budget is the server-wide allowance of request bytes held in memory,
	// charged with the auth and uploadParams parts; nil is unbounded.
	Budget *httplimit.Budget
	// JobTimeout ends a job that gets no POST for this long (Sweep);
	// 0 is DefaultJobTimeout (30 minutes, as the reference says).
	JobTimeout time.Duration
	Logger     *slog.Logger
	// Mail, when set, sends an upload job's mail for an event as the
	// job's emailSetting asks (the job engine's MailJob); j is the job as
	// the store has it then, with its counts.
	Mail func(ctx context.Context, j store.Job, emailSetting string, ev notify.Event, messages []string)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sweeper ends idle jobs; the job engine's maintenance tick runs it.
	// nil: New makes one from this Config.
	Sweeper *Sweeper
}

// Handler serves POST /scene7/UploadFile.
type Handler struct {
	cfg Config
	log *slog.Logger
	act *activity // the sweeper's: POSTs in progress keep a job alive
	// states moves upload jobs through the job engine's transition table.
	states  jobs.States
	sweeper *Sweeper
}

// New builds the servlet.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("upload: no Service")
	case cfg.Store == nil:
		return nil, errors.New("upload: no Store")
	case cfg.Importer == nil || cfg.Importer.Blob == nil || cfg.Importer.Store == nil:
		return nil, errors.New("upload: no Importer (with Store and Blob)")
	}
	if cfg.MaxFileBytes == 0 {
		cfg.MaxFileBytes = DefaultMaxFileBytes
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	sw := cfg.Sweeper
	if sw == nil {
		var err error
		if sw, err = NewSweeper(cfg); err != nil {
			return nil, err
		}
	}
	return &Handler{cfg: cfg, log: log, act: sw.act, states: jobs.States{Store: cfg.Store}, sweeper: sw}, nil
}

// Sweep ends the jobs idle past the job timeout (Sweeper.Sweep).
func (h *Handler) Sweep(ctx context.Context) (int, error) { return h.sweeper.Sweep(ctx) }

func (h *Handler) now() time.Time { return h.cfg.Now() }

func (h *Handler) maxFile() int64 { return max(h.cfg.MaxFileBytes, 0) }

// Roles that may upload: every role that may submit a job; an
// ImagePortalUser only views.
var uploadRoles = map[string]bool{
	store.RoleIpsAdmin: true, store.RoleIpsCompanyAdmin: true, store.RoleIpsUser: true,
	store.RoleWebServiceUser: true, store.RoleTrialSiteAdmin: true, store.RoleTrialSiteUser: true,
	store.RoleImagePortalAdmin: true, store.RoleImagePortalContrib: true, store.RoleImagePortalContribUser: true,
}

// post is one request.
type post struct {
	h   *Handler
	hr  *http.Request
	ctx context.Context

	body *tracker
	hold *httplimit.Hold // the budget the XML parts are charged to

	auth        *parsedAuth
	params      *parsedParams
	paramsFault *soap.Fault // reported after authentication, with its status code

	begun  bool
	authed bool // user is authenticated
	user   store.User
	co     store.Company
	dest   []string // destFolder's segments

	spec     Spec
	jobName  string // of a job to create
	job      store.Job
	jobReady bool
	created  bool // the job was created by this POST
	tracked  bool // h.act.begin was called for job
	over     bool // the job ended in this POST: forget its activity

	stored, refused, failed int
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	u := &post{h: h, hr: r, ctx: r.Context(), hold: h.cfg.Budget.Hold()}
	defer u.hold.Release()
	ret, fault := u.run()
	if fault != nil {
		u.abandon()
	}
	if u.tracked {
		h.act.end(u.job.Handle, h.now())
		if u.over {
			h.act.forget(u.job.Handle)
		}
	}
	if fault != nil {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
		}
		requested := 0
		var gzipResponse *bool
		if u.auth != nil {
			requested, gzipResponse = u.auth.FaultHTTPStatusCode, u.auth.GzipResponse
		}
		soap.WriteFault(w, r, soap.Bare, fault, requested, gzipResponse)
	} else {
		out, err := soap.EncodeResponse(soap.Bare, u.namespace(), "uploadPost", ret, nil)
		if err != nil { // cannot happen: a struct of one string
			fault = soap.Errorf(soap.CodeException, "internal server error")
			u.write(w, http.StatusInternalServerError, soap.EncodeFault(soap.Bare, fault))
		} else {
			u.write(w, http.StatusOK, out)
		}
	}
	attrs := []any{"ms", time.Since(start).Milliseconds(), "stored", u.stored, "refused", u.refused, "failed", u.failed}
	if u.body != nil {
		attrs = append(attrs, "bytes", u.body.read)
	}
	if u.user.Email != "" {
		attrs = append(attrs, "user", soap.Shorten(u.user.Email, soap.MaxEchoBytes))
	}
	if u.co.Handle != "" {
		attrs = append(attrs, "company", u.co.Handle)
	}
	if u.jobReady {
		attrs = append(attrs, "job", u.job.Handle)
	}
	if u.auth != nil && u.auth.AppName != "" {
		attrs = append(attrs, "app", soap.Shorten(u.auth.AppName, soap.MaxEchoBytes))
	}
	if fault != nil {
		attrs = append(attrs, "fault", fault.Code, "reason", fault.Reason)
	}
	h.log.Info("upload post", attrs...)
}

// run serves the request, turning a panic into a 30000 fault.
func (u *post) run() (ret *uploadPostReturn, fault *soap.Fault) {
	defer func() {
		if p := recover(); p != nil {
			u.h.log.Error("panic serving UploadFile", "panic", p, "stack", string(debug.Stack()))
			ret, fault = nil, soap.Errorf(soap.CodeException, "internal server error")
		}
	}()
	return u.serve()
}

func (u *post) serve() (*uploadPostReturn, *soap.Fault) {
	r := u.hr
	if r.Method != http.MethodPost {
		return nil, soap.Errorf(soap.CodeInvalidXML, "method %s not allowed: UploadFile takes an HTTP POST", r.Method)
	}
	ct := r.Header.Get("Content-Type")
	mt, mtParams, err := mime.ParseMediaType(ct)
	if err != nil || mt != "multipart/form-data" {
		return nil, soap.Errorf(soap.CodeInvalidXML,
			"Content-Type %q: UploadFile takes a multipart/form-data body with auth, uploadParams and file parts", ct)
	}
	boundary := mtParams["boundary"]
	if boundary == "" || len(boundary) > 70 {
		return nil, soap.Errorf(soap.CodeInvalidXML, "Content-Type %q: a multipart boundary of 1 to 70 characters is required", ct)
	}
	src, f := soap.DecodeBody(r, r.Body)
	if f != nil {
		return nil, f
	}
	defer src.Close()
	u.body = newTracker(src, boundary, u.h.cfg.MaxPreAuthBytes)
	mr := multipart.NewReader(u.body, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, u.framingFault(err)
		}
		name, filename, hasFilename := disposition(p.Header.Get("Content-Disposition"), p.Header.Get("Content-Type"))
		var f *soap.Fault
		switch {
		case name == "" && !hasFilename:
			f = soap.Errorf(soap.CodeInvalidXML, "a multipart part has no Content-Disposition form name")
		case name == "auth":
			f = u.readAuth(p)
		case name == "uploadParams" || name == "uploadPostParams" || name == "uploadPostParam":
			f = u.readParams(p)
		default:
			f = u.file(p, name, filename)
		}
		if f != nil {
			return nil, f
		}
	}
	if f := u.afterLast(); f != nil {
		return nil, f
	}
	if f := u.begin(); f != nil {
		return nil, f
	}
	if f := u.ensureJob(); f != nil {
		return nil, f
	}
	if u.params.EndJob {
		_, err := u.h.states.Apply(u.ctx, u.job.Handle, jobs.EvComplete)
		if err != nil && !jobs.IsTransitionError(err) {
			return nil, u.internal("end upload job", err)
		}
		u.over = true
		if err == nil {
			u.h.mail(u.ctx, u.job.Handle, u.spec.EmailSetting, notify.Completed, nil)
		}
	}
	return &uploadPostReturn{JobHandle: u.job.Handle}, nil
}

// abandon ends, as Failed, a job this POST created and then faulted: its
// client never learned the handle. (Its log keeps the files stored before
// the fault, and the file that failed.) A job continued by jobHandle stays
// running: the client may send the file again, or the job times out.
func (u *post) abandon() {
	if !u.created {
		return
	}
	ctx := context.WithoutCancel(u.ctx)
	if _, err := u.h.states.Apply(ctx, u.job.Handle, jobs.EvFail); err != nil && !jobs.IsTransitionError(err) {
		u.h.log.Error("upload: cannot end failed job", "job", u.job.Handle, "err", err)
	}
	u.over = true
}

func (u *post) internal(what string, err error) *soap.Fault {
	var f *soap.Fault
	if errors.As(err, &f) {
		return f
	}
	if u.ctx.Err() != nil {
		// The client went away; nobody reads this answer.
		return soap.Errorf(soap.CodeInvalidXML, "the request ended before it was read")
	}
	u.h.log.Error("upload: "+what, "err", err)
	return soap.Errorf(soap.CodeException, "internal server error")
}

// framingFault reports a multipart body that cannot be read on.
func (u *post) framingFault(err error) *soap.Fault {
	if f := u.bodyFault(); f != nil {
		return f
	}
	if u.body.truncated() || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return soap.Errorf(soap.CodeInvalidXML, "request body is truncated: the multipart body ends before its closing boundary")
	}
	return soap.Errorf(soap.CodeInvalidXML, "malformed multipart body: %s", strings.TrimPrefix(err.Error(), "multipart: "))
}

// bodyFault is the fault for a body that failed for a reason of its own
// rather than its framing: too much before authentication, a stalled or
// trickling client, a busy server; nil otherwise.
func (u *post) bodyFault() *soap.Fault {
	switch err := u.body.err; {
	case err == nil || err == io.EOF:
		return nil
	case errors.Is(err, errPreAuthLimit):
		return soap.Errorf(soap.CodeInvalidXML,
			"the request sends more than %d bytes before its caller is authenticated: send the auth part (or HTTP Basic) and uploadParams before the files",
			u.h.cfg.MaxPreAuthBytes)
	case errors.Is(err, httplimit.ErrSlowBody):
		return soap.BodyFault(err, 0)
	}
	return nil
}

// afterLast checks what follows the closing boundary. A client that writes
// "--boundary--" between parts (as the reference's example, typeset,
// seems to) would otherwise lose every file after it without a word.
func (u *post) afterLast() *soap.Fault {
	const maxEpilogue = 64 << 10
	n, _ := io.Copy(io.Discard, io.LimitReader(u.body, maxEpilogue+1))
	if f := u.bodyFault(); f != nil {
		return f
	}
	switch {
	case u.body.truncated():
		return soap.Errorf(soap.CodeInvalidXML, "request body is truncated")
	case u.body.closes > 1:
		return soap.Errorf(soap.CodeInvalidXML,
			"multipart body goes on after a closing boundary (--%s--): the parts after it are not read; only the last boundary may end in --",
			u.body.boundary)
	case n > maxEpilogue:
		return soap.Errorf(soap.CodeInvalidXML, "multipart body goes on for more than %d bytes after its closing boundary", maxEpilogue)
	}
	return nil
}

// readXMLPart reads an auth or uploadParams part into memory, bounded,
// charging it to the server's budget.
func (u *post) readXMLPart(p *multipart.Part, name string, limit int64) ([]byte, *soap.Fault) {
	data, err := httplimit.ReadAll(p, limit, u.hold)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, httplimit.ErrTooLarge):
		return nil, soap.Errorf(soap.CodeInvalidXML, "%s part is larger than %d bytes", name, limit)
	}
	if f := u.bodyFault(); f != nil {
		return nil, f
	}
	if u.body.truncated() || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, soap.Errorf(soap.CodeInvalidXML, "request body is truncated in the %s part", name)
	}
	return nil, soap.BodyFault(err, limit) // a busy server's 503, or a failed connection
}

func (u *post) readAuth(p *multipart.Part) *soap.Fault {
	switch {
	case u.auth != nil:
		return soap.Errorf(soap.CodeInvalidXML, "the auth part is given twice")
	case u.begun:
		return soap.Errorf(soap.CodeInvalidXML, "the auth part must come before the file parts")
	}
	data, f := u.readXMLPart(p, "auth", maxAuthPartBytes)
	if f != nil {
		return f
	}
	a, f := parseAuth(data, p.Header.Get("Content-Type"))
	if f != nil {
		return f
	}
	u.auth = &a
	// Check the password now: a wrong one is answered before anything
	// more of the body is read.
	if a.User != "" || a.Password != "" {
		return u.authenticate(a.User, a.Password)
	}
	return nil
}

// authenticate logs the caller in, once; the body may then go on past
// MaxPreAuthBytes.
func (u *post) authenticate(email, password string) *soap.Fault {
	if u.authed {
		return nil
	}
	user, err := u.h.cfg.Service.Login(u.ctx, email, password, u.hr.RemoteAddr)
	if err != nil {
		return u.internal("authenticate", err)
	}
	u.user, u.authed = user, true
	u.body.authenticated()
	return nil
}

func (u *post) readParams(p *multipart.Part) *soap.Fault {
	switch {
	case u.params != nil || u.paramsFault != nil:
		return soap.Errorf(soap.CodeInvalidXML, "the uploadParams part is given twice")
	case u.begun:
		return soap.Errorf(soap.CodeInvalidXML, "the uploadParams part must come before the file parts")
	}
	data, f := u.readXMLPart(p, "uploadParams", maxParamsPartBytes)
	if f != nil {
		return f
	}
	pp, f := parseParams(data, p.Header.Get("Content-Type"))
	if f != nil {
		// Said after authentication, so that the auth part's
		// faultHttpStatusCode applies even when it comes second.
		u.paramsFault = f
		return nil
	}
	u.params = &pp
	return nil
}

// credentials: the auth part, else an authHeader inside the uploadParams
// part, else HTTP Basic.
func (u *post) credentials() (email, password string, ok bool) {
	if a := u.auth; a != nil && (a.User != "" || a.Password != "") {
		return a.User, a.Password, true
	}
	if u.params != nil && u.params.Auth != nil && (u.params.Auth.User != "" || u.params.Auth.Password != "") {
		return u.params.Auth.User, u.params.Auth.Password, true
	}
	return u.hr.BasicAuth()
}

// begin authenticates the caller and resolves the company and the job,
// once, before the first file or at the end of a POST without files.
func (u *post) begin() *soap.Fault {
	if u.begun {
		return nil
	}
	email, password, ok := u.credentials()
	if !ok {
		if a := u.auth; a != nil && (a.SAMLResponse != "" || a.AccessToken != "") {
			return soap.AuthnFault(soap.CodeInvalidCredentials,
				"samlResponse and accessToken authentication are not supported by this server: send user and password")
		}
		return soap.AuthnFault(soap.CodeNoCredentials,
			"request could not be authenticated: no credentials (send an auth part holding an authHeader with user and password, before the file parts, or HTTP Basic)")
	}
	if f := u.authenticate(email, password); f != nil {
		return f
	}
	user := u.user
	if !uploadRoles[user.Role] {
		return soap.AuthzFault(soap.CodeNoOperationPermission, "User does not have permission to access operation 'UploadFile'")
	}
	if u.paramsFault != nil {
		return u.paramsFault
	}
	if u.params == nil {
		return soap.Errorf(soap.CodeMissingParameter,
			"missing required part uploadParams (an uploadPostParam document, before the file parts)")
	}
	p := u.params
	co, err := u.h.cfg.Service.CompanyAccess(u.ctx, user, p.CompanyHandle)
	if err != nil {
		return u.internal("company access", err)
	}
	u.co = co
	dest, f := segments("uploadParams/destFolder", strings.TrimSpace(p.DestFolder), true)
	if f != nil {
		return f
	}
	u.dest = dest
	if p.FileName != "" {
		if _, f := resolveTarget(co, dest, "uploadParams/fileName", p.FileName); f != nil {
			return f
		}
	}
	if handle := strings.TrimSpace(p.JobHandle); handle != "" {
		j, err := u.h.cfg.Store.JobByHandle(u.ctx, co.Handle, handle)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return soap.Invalid("jobHandle", handle, "no such upload job")
		case err != nil:
			return u.internal("job by handle", err)
		case j.Type != store.JobTypeUpload:
			return soap.Invalid("jobHandle", handle, "not an upload job")
		case j.State.Ended():
			return soap.Invalid("jobHandle", handle, fmt.Sprintf(
				"the upload job has ended (%s: endJob was sent, it was stopped, or no POST came for %s); start a new job with jobName",
				j.State, u.h.cfg.JobTimeout))
		case j.State != store.JobRunning:
			return soap.Invalid("jobHandle", handle, "the upload job is "+string(j.State)+" and takes no files now")
		}
		spec, err := DecodeSpec(j.Spec)
		if err != nil {
			u.h.log.Error("upload: unreadable job spec; overwrite taken as false", "job", j.Handle, "err", err)
		}
		u.job, u.spec, u.jobReady = j, spec, true
		u.h.act.begin(j.Handle, u.h.now())
		u.tracked = true
	} else {
		name := strings.TrimSpace(p.JobName)
		if name == "" {
			return soap.Missing("jobName or jobHandle")
		}
		spec, f := newSpec(*p)
		if f != nil {
			return f
		}
		spec.RemoteAddr = u.hr.RemoteAddr
		if u.auth != nil {
			spec.AppName = u.auth.AppName
		}
		u.spec, u.jobName = spec, name
	}
	u.begun = true
	return nil
}

// ensureJob creates the job of a POST that gave jobName, at its first file
// (or at its end): a POST refused before that creates nothing.
func (u *post) ensureJob() *soap.Fault {
	if u.jobReady {
		return nil
	}
	spec, err := json.Marshal(u.spec)
	if err != nil {
		return u.internal("encode job spec", err)
	}
	j, err := u.h.cfg.Store.CreateJob(u.ctx, store.NewJob{
		CompanyHandle: u.co.Handle, Type: store.JobTypeUpload,
		Name: jobName(u.jobName, u.h.now()), OriginalName: u.jobName,
		Description: strings.TrimSpace(u.params.Description), Locale: u.locale(),
		SubmitUserHandle: u.user.Handle, NotifyUserHandle: u.user.Handle,
		State: store.JobRunning, Spec: spec,
	}, nil)
	if err != nil {
		return u.internal("create upload job", err)
	}
	u.job, u.jobReady, u.created = j, true, true
	u.h.act.begin(j.Handle, u.h.now())
	u.tracked = true
	u.h.mail(u.ctx, j.Handle, u.spec.EmailSetting, notify.Started, nil)
	return nil
}

// locale: uploadParams' locale, the authHeader's, Accept-Language's first
// tag, else en-US (docs/exports.md, "Mail").
func (u *post) locale() string {
	if l := strings.TrimSpace(u.params.Locale); l != "" {
		return l
	}
	if u.auth != nil && u.auth.Locale != "" {
		return u.auth.Locale
	}
	tag, _, _ := strings.Cut(u.hr.Header.Get("Accept-Language"), ",")
	tag, _, _ = strings.Cut(tag, ";")
	if tag = strings.TrimSpace(tag); tag != "" && tag != "*" {
		return tag
	}
	return "en-US"
}

// file stores one file part as an asset and logs it in the job.
func (u *post) file(p *multipart.Part, name, filename string) *soap.Fault {
	if f := u.begin(); f != nil {
		return f
	}
	began := u.h.now() // the file's FileBegin row in the job log
	src, field := filename, fmt.Sprintf("filename of file part %q", name)
	if u.params.FileName != "" {
		src, field = u.params.FileName, "uploadParams/fileName"
	}
	if strings.TrimSpace(src) == "" {
		return soap.Errorf(soap.CodeMissingParameter,
			"missing required parameter: file part %q has no filename, and uploadParams has no fileName", name)
	}
	t, f := resolveTarget(u.co, u.dest, field, src)
	if f != nil {
		u.logFailure(target{File: src}, f)
		return f
	}

	fr := &fileReader{r: p, t: u.body, max: u.h.maxFile()}
	var first [1]byte
	n, err := io.ReadFull(fr, first[:])
	if n == 0 {
		if err == io.EOF {
			f = soap.Invalid(field, src, "the file is empty")
		} else {
			f = u.readFault(fr, err, name, src)
		}
		u.logFailure(t, f)
		return f
	}
	body := io.MultiReader(bytes.NewReader(first[:n]), fr)

	existing, err := u.existing(t)
	if err != nil {
		return u.internal("existing assets", err)
	}
	if len(existing) > 0 && !u.spec.Overwrite {
		// Not a fault: the job goes on, and its log says why this file
		// is not in the catalogue. NextPart skips the rest of it.
		if f := u.ensureJob(); f != nil {
			return f
		}
		msg := fmt.Sprintf("%s not uploaded: asset %s already has this name in this folder, and the job's overwrite option is false",
			t.Path(), existing[0].Handle)
		if err := u.record(store.JobAsset{AssetName: assetName(t.File), FolderPath: t.Folder, FileName: t.File},
			store.OutcomeError, msg); err != nil {
			return u.recordFault(err)
		}
		u.refused++
		return nil
	}
	if f := u.ensureJob(); f != nil {
		return f
	}
	file := catalog.File{CompanyHandle: u.co.Handle, FolderPath: t.Folder, FileName: t.File, CreatedBy: u.user.Handle, Body: body}
	var asset store.Asset
	if len(existing) > 0 {
		// Overwrite as IPS does: the asset keeps its handle, name, folder
		// and set memberships, and takes the new file.
		asset, err = u.h.cfg.Importer.Replace(u.ctx, existing[0].Handle, file)
	} else {
		asset, err = u.h.cfg.Importer.Import(u.ctx, file)
	}
	if err != nil {
		f := u.importFault(fr, err, field, name, src)
		u.logFailure(t, f)
		return f
	}

	outcome, msg := store.OutcomeSuccess, fmt.Sprintf("Uploaded %s (%s, %d bytes) as %s", t.Path(), asset.Type, asset.Size, asset.Handle)
	if len(existing) > 0 {
		msg += ", replacing its previous file"
	}
	if len(existing) > 1 {
		msg += " and removing " + handles(existing[1:]) + " of the same name"
	}
	if opts := u.spec.unappliedFor(asset.Type, asset.FileName); len(opts) > 0 {
		outcome = store.OutcomeWarning
		msg += "; stored as uploaded: this server does not apply " + strings.Join(opts, ", ")
	}
	ja := store.JobAsset{
		AssetHandle: asset.Handle, AssetName: asset.Name, AssetType: asset.Type,
		FolderPath: t.Folder, FileName: asset.FileName, Size: asset.Size, SHA256: asset.SHA256,
		Replaced: len(existing) > 0, Began: began, // fileUpdateCount counts replacements
	}
	if err := u.record(ja, outcome, msg); err != nil {
		// The job ended under us (timed out while this file came in) or
		// the store failed: take a new asset back rather than keep a file
		// no job log mentions. A replaced file stays replaced: the asset
		// is whole either way.
		if len(existing) == 0 {
			u.remove(asset)
		}
		return u.recordFault(err)
	}
	// Only now remove duplicates: a failed upload never costs them.
	for _, old := range existing[min(1, len(existing)):] {
		u.remove(old)
	}
	u.stored++
	return nil
}

// existing finds the assets the file would replace (catalog's SameName:
// same folder, same file name and extension, case-insensitively).
func (u *post) existing(t target) ([]store.Asset, error) {
	return u.h.cfg.Importer.SameName(u.ctx, u.co, t.Folder, t.File)
}

// remove deletes an asset; its file goes once no export needs it
// (catalog.Collector).
func (u *post) remove(a store.Asset) {
	if err := u.h.cfg.Importer.Remove(context.WithoutCancel(u.ctx), u.co.Handle, a); err != nil {
		u.h.log.Error("upload: cannot remove asset", "asset", a.Handle, "key", a.StorageKey, "err", err)
	}
}

// record adds a file to the job's log with its outcome.
func (u *post) record(ja store.JobAsset, outcome, msg string) error {
	ctx := context.WithoutCancel(u.ctx)
	ja.Outcome = store.OutcomePending
	added, err := u.h.cfg.Store.AddJobAssets(ctx, u.job.Handle, []store.JobAsset{ja})
	if err != nil {
		return err
	}
	if len(added) != 1 {
		return fmt.Errorf("add job asset: got %d assets back", len(added))
	}
	a := added[0]
	a.Outcome, a.Message, a.Finished = outcome, msg, u.h.now()
	a.Size, a.SHA256, a.Replaced, a.Began = ja.Size, ja.SHA256, ja.Replaced, ja.Began
	if _, err := u.h.cfg.Store.FinishJobAsset(ctx, a); err != nil {
		return err
	}
	switch outcome {
	case store.OutcomeError:
		u.h.mail(ctx, u.job.Handle, u.spec.EmailSetting, notify.AssetError, []string{a.AssetName + ": " + msg})
	case store.OutcomeWarning:
		u.h.mail(ctx, u.job.Handle, u.spec.EmailSetting, notify.AssetWarning, []string{a.AssetName + ": " + msg})
	}
	return nil
}

// mail sends an upload job's mail through the sweeper's Config.Mail.
func (h *Handler) mail(ctx context.Context, handle, emailSetting string, ev notify.Event, messages []string) {
	h.sweeper.mail(ctx, handle, emailSetting, ev, messages)
}

// recordFault answers a failure to write the job log: the job may have
// ended meanwhile.
func (u *post) recordFault(err error) *soap.Fault {
	j, jerr := u.h.cfg.Store.JobByHandle(context.WithoutCancel(u.ctx), u.co.Handle, u.job.Handle)
	if jerr == nil && j.State != store.JobRunning {
		return soap.Invalid("jobHandle", u.job.Handle, "the upload job ended while this POST was in progress ("+string(j.State)+")")
	}
	return u.internal("record job asset", err)
}

// logFailure puts a refused file in the job's log, when there is a job.
func (u *post) logFailure(t target, f *soap.Fault) {
	u.failed++
	if !u.jobReady {
		return
	}
	ja := store.JobAsset{AssetName: printable(assetName(t.File)), FolderPath: printable(t.Folder), FileName: printable(t.File)}
	if err := u.record(ja, store.OutcomeError, f.Reason); err != nil {
		u.h.log.Error("upload: cannot log failed file", "job", u.job.Handle, "err", err)
	}
}

// readFault explains why a file part could not be read.
func (u *post) readFault(fr *fileReader, err error, part, src string) *soap.Fault {
	switch {
	case fr.tooBig:
		return soap.Errorf(soap.CodeInvalidXML, "file part %q (%s) exceeds the size limit of %d bytes per file; it was not stored",
			part, src, u.h.maxFile())
	case errors.Is(u.body.err, httplimit.ErrSlowBody):
		return soap.Errorf(soap.CodeInvalidXML, "%s in file part %q (%s); the file was not stored", u.body.err, part, src)
	case fr.cutShort || u.body.truncated() || errors.Is(err, io.ErrUnexpectedEOF):
		return soap.Errorf(soap.CodeInvalidXML, "request body is truncated in file part %q (%s); the file was not stored", part, src)
	case u.ctx.Err() != nil:
		return soap.Errorf(soap.CodeInvalidXML, "the request ended during file part %q (%s); the file was not stored", part, src)
	}
	return soap.Errorf(soap.CodeInvalidXML, "file part %q (%s) cannot be read: %v", part, src, err)
}

// importFault explains why Importer.Import failed.
func (u *post) importFault(fr *fileReader, err error, field, part, src string) *soap.Fault {
	switch {
	case fr.tooBig || errors.Is(err, catalog.ErrTooLarge):
		limit := u.h.maxFile()
		if il := u.h.cfg.Importer.MaxFileBytes; il > 0 && (limit == 0 || il < limit) {
			limit = il
		}
		return soap.Errorf(soap.CodeInvalidXML, "file part %q (%s) exceeds the size limit of %d bytes per file; it was not stored",
			part, src, limit)
	case fr.cutShort || u.body.truncated() || u.ctx.Err() != nil:
		return u.readFault(fr, err, part, src)
	case errors.Is(err, catalog.ErrEmptyFile):
		return soap.Invalid(field, src, "the file is empty")
	}
	return u.internal("import "+src, err)
}

func assetName(file string) string { return strings.TrimSuffix(file, path.Ext(file)) }

func handles(as []store.Asset) string {
	hs := make([]string, len(as))
	for i, a := range as {
		hs[i] = a.Handle
	}
	return strings.Join(hs, ", ")
}

// printable makes a refused name safe to store and show.
func printable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// namespace is the answer's: the uploadParams document's when it is an
// IPS namespace, else the auth part's, else the newest.
func (u *post) namespace() string {
	if u.params != nil {
		if v, ok := ipsapi.VersionByNamespace(u.params.Namespace); ok {
			return v.Namespace
		}
	}
	if u.auth != nil {
		if v, ok := ipsapi.VersionByNamespace(u.auth.Namespace); ok {
			return v.Namespace
		}
	}
	return ipsapi.Newest.Namespace
}

// write sends a bare XML body, gzipped as the authHeader's gzipResponse or
// else Accept-Encoding asks (docs/wire.md, "Compression").
func (u *post) write(w http.ResponseWriter, status int, body []byte) {
	var gzipResponse *bool
	if u.auth != nil {
		gzipResponse = u.auth.GzipResponse
	}
	soap.WriteResponse(w, u.hr, soap.Bare, status, body, gzipResponse)
}
