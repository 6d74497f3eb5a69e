package web

import (
	"context"
	"crypto/hmac"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Paths of the pages. Everything lives under /jobs, where the session
// cookie is scoped.
const (
	PathJobs    = "/jobs"
	PathSignIn  = "/jobs/login"
	PathSignOut = "/jobs/logout"
	pathStatic  = "/jobs/static/"
)

// maxFormBytes bounds a form body: the largest is a sign-in.
const maxFormBytes = 64 << 10

// securityPolicy allows only this site's own script and style, and no
// framing: the pages show signed download links.
const securityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// notice is the message a redirect after an operation may ask for, by
// name: a fixed set, so a link cannot put words on the page.
func notice(name string) string {
	switch name {
	case "pause":
		return "Pause requested: the job holds after the asset in hand."
	case "resume":
		return "Job resumed."
	case "stop":
		return "Stop requested: the job ends after the asset in hand, keeping what is done."
	case "delete":
		return "Job deleted."
	case "signout":
		return "You have signed out."
	}
	return ""
}

// Handler serves the Jobs page.
type Handler struct {
	cfg    Config
	keys   keys
	pages  map[string]*template.Template
	static http.Handler
	origin *http.CrossOriginProtection
	log    *slog.Logger
}

// New builds the pages; it fails without a key, authenticator or backend.
func New(cfg Config) (*Handler, error) {
	if len(cfg.Key) == 0 {
		return nil, errors.New("jobs page: no signing key")
	}
	if cfg.Auth == nil || cfg.Jobs == nil {
		return nil, errors.New("jobs page: no authenticator or backend")
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.DetailsPerPage <= 0 {
		cfg.DetailsPerPage = 100
	}
	if cfg.EndedPerPage <= 0 {
		cfg.EndedPerPage = 50
	}
	if cfg.RefreshEvery <= 0 {
		cfg.RefreshEvery = 2 * time.Second
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg, keys: deriveKeys(cfg.Key), pages: map[string]*template.Template{},
		origin: http.NewCrossOriginProtection(), log: cfg.Logger}
	funcs := template.FuncMap{
		"when":   h.when,
		"jobURL": jobURL,
	}
	for _, name := range []string{"login", "list", "job", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("jobs page: template %s: %w", name, err)
		}
		h.pages[name] = t
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("jobs page: static files: %w", err)
	}
	h.static = http.StripPrefix(pathStatic, http.FileServerFS(sub))
	h.origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.fail(w, r, http.StatusForbidden, "This form was sent from another site and was refused.")
	}))
	return h, nil
}

// Routes mounts the pages: / and /jobs… .
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathJobs, http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+PathJobs, h.signedIn(h.list))
	mux.HandleFunc("GET "+PathJobs+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, PathJobs, http.StatusSeeOther)
	})
	mux.HandleFunc("GET "+PathSignIn, h.signInForm)
	mux.Handle("POST "+PathSignIn, h.origin.Handler(http.HandlerFunc(h.signIn)))
	mux.Handle("POST "+PathSignOut, h.origin.Handler(h.post(h.signOut)))
	mux.Handle("GET "+pathStatic+"{name}", h.static)
	mux.HandleFunc("GET "+PathJobs+"/{job}", h.signedIn(h.job))
	mux.Handle("POST "+PathJobs+"/{job}/{action}", h.origin.Handler(h.post(h.control)))
}

// pageData is what every template gets; each page fills its part.
type pageData struct {
	Title          string
	User           *User
	CSRF           string
	Live           bool
	RefreshSeconds int
	Zone           string
	Notice, Error  string

	// sign-in
	Email string
	Next  string
	// list
	List        *JobList
	ShowCompany bool
	// job
	Job *JobPage
	// paging (the ended jobs of the list, the details of a job)
	Page, Pages      int
	PrevURL, NextURL string
	// error
	Status int
}

// signedInHandler is a page for a signed-in user.
type signedInHandler func(w http.ResponseWriter, r *http.Request, s session, u User)

// signedIn runs next for a signed-in user and sends anyone else to the
// sign-in form, coming back here after.
func (h *Handler) signedIn(next signedInHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, u, err := h.current(r)
		if err != nil {
			h.toSignIn(w, r, err)
			return
		}
		next(w, r, s, u)
	}
}

// current is the request's signed-in session and its user, checked
// against the user as stored now: a deleted user or a changed password
// ends the session.
func (h *Handler) current(r *http.Request) (session, User, error) {
	s, err := h.keys.readSession(r, h.cfg.Now())
	if err != nil {
		return session{}, User{}, err
	}
	if s.User == "" {
		return session{}, User{}, errNoSession
	}
	u, err := h.cfg.Jobs.User(r.Context(), s.User)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return session{}, User{}, errBadSession
		}
		return session{}, User{}, fmt.Errorf("session user %s: %w", s.User, err)
	}
	if !hmac.Equal(s.Stamp, h.keys.stampOf(u.CredentialStamp)) {
		return session{}, User{}, errBadSession
	}
	return s, u, nil
}

// toSignIn answers a request without a valid session: a redirect to the
// form, or a 500 page when the store failed.
func (h *Handler) toSignIn(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, errNoSession) && !errors.Is(err, errBadSession) && !errors.Is(err, errExpired) {
		h.internal(w, r, err)
		return
	}
	if errors.Is(err, errBadSession) || errors.Is(err, errExpired) {
		clearCookie(w, r)
	}
	target := PathSignIn
	if r.Method == http.MethodGet && r.URL.Path != PathJobs {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// post guards a form POST: signed in, a bounded body, and the session's
// CSRF token (the cross-origin check wraps it in Routes).
func (h *Handler) post(next signedInHandler) http.HandlerFunc {
	return h.signedIn(func(w http.ResponseWriter, r *http.Request, s session, u User) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			h.fail(w, r, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if !h.keys.checkCSRF(s, r.PostForm.Get(csrfField)) {
			h.fail(w, r, http.StatusForbidden, "This form has expired or did not come from this site. Reload the page and try again.")
			return
		}
		next(w, r, s, u)
	})
}

// safeNext is where to go after signing in: a path of these pages only,
// never another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		path.Clean(u.Path) != u.Path || (u.Path != PathJobs && !strings.HasPrefix(u.Path, PathJobs+"/")) ||
		u.Path == PathSignIn || u.Path == PathSignOut {
		return PathJobs
	}
	return u.RequestURI()
}

func (h *Handler) signInForm(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.current(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.renderSignIn(w, r, http.StatusOK, "", r.URL.Query().Get("next"), notice(r.URL.Query().Get("done")), "")
}

// renderSignIn shows the form with the CSRF token of the visitor's
// pre-sign-in session, making one when they have none.
func (h *Handler) renderSignIn(w http.ResponseWriter, r *http.Request, status int, email, next, note, problem string) {
	now := h.cfg.Now()
	s, err := h.keys.readSession(r, now)
	if err != nil || s.User != "" {
		if s, err = newSession("", nil, now.Add(preSignInTTL)); err != nil {
			h.internal(w, r, err)
			return
		}
		h.keys.setCookie(w, r, s, now)
	}
	h.render(w, r, status, "login", &pageData{
		Title: "Sign in", CSRF: h.keys.csrfToken(s), Email: email, Next: safeNext(next),
		Notice: note, Error: problem,
	})
}

func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	email, password, next := strings.TrimSpace(r.PostForm.Get("user")), r.PostForm.Get("password"), r.PostForm.Get("next")
	now := h.cfg.Now()
	pre, err := h.keys.readSession(r, now)
	if err != nil || pre.User != "" || !h.keys.checkCSRF(pre, r.PostForm.Get(csrfField)) {
		// Drop the stale cookie so that the form shown next gets a new one.
		r.Header.Del("Cookie")
		h.renderSignIn(w, r, http.StatusForbidden, email, next, "", "The sign-in form had expired. Please sign in again.")
		return
	}
	u, err := h.cfg.Auth.Authenticate(r.Context(), email, password, r.RemoteAddr)
	var refused *SignInError
	if errors.As(err, &refused) {
		h.log.Info("jobs page: sign-in refused", "user", email, "remote", r.RemoteAddr, "reason", refused.Reason)
		h.renderSignIn(w, r, http.StatusForbidden, email, next, "", refused.Reason)
		return
	}
	if err != nil {
		h.internal(w, r, fmt.Errorf("sign in %s: %w", email, err))
		return
	}
	// A new nonce: a token seen before sign-in is worthless after.
	s, err := newSession(u.Handle, h.keys.stampOf(u.CredentialStamp), now.Add(h.cfg.SessionTTL))
	if err != nil {
		h.internal(w, r, err)
		return
	}
	h.keys.setCookie(w, r, s, now)
	h.log.Info("jobs page: signed in", "user", u.Email, "remote", r.RemoteAddr)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

func (h *Handler) signOut(w http.ResponseWriter, r *http.Request, _ session, u User) {
	clearCookie(w, r)
	h.log.Info("jobs page: signed out", "user", u.Email)
	http.Redirect(w, r, PathSignIn+"?done=signout", http.StatusSeeOther)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, s session, u User) {
	page := pageNumber(r)
	per := h.cfg.EndedPerPage
	list, err := h.cfg.Jobs.Jobs(r.Context(), u, ListQuery{EndedOffset: (page - 1) * per, EndedLimit: per})
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	d := h.signedInData(s, u, "Jobs")
	d.List, d.ShowCompany = &list, list.Companies > 1
	d.Notice = notice(r.URL.Query().Get("done"))
	d.Live = len(list.Active) > 0
	d.Page = page
	if page > 1 {
		d.PrevURL = pageURL(PathJobs, page-1)
	}
	if list.MoreEnded {
		d.NextURL = pageURL(PathJobs, page+1)
	}
	h.render(w, r, http.StatusOK, "list", d)
}

func (h *Handler) job(w http.ResponseWriter, r *http.Request, s session, u User) {
	h.showJob(w, r, s, u, http.StatusOK, "")
}

// showJob renders a job's page, with problem shown when an operation was
// refused.
func (h *Handler) showJob(w http.ResponseWriter, r *http.Request, s session, u User, status int, problem string) {
	handle := r.PathValue("job")
	page := pageNumber(r)
	per := h.cfg.DetailsPerPage
	j, err := h.cfg.Jobs.Job(r.Context(), u, handle, (page-1)*per, per)
	if err != nil {
		h.backendError(w, r, err)
		return
	}
	d := h.signedInData(s, u, j.Name)
	d.Job = &j
	d.Live = j.Live()
	d.Error = problem
	if problem == "" {
		d.Notice = notice(r.URL.Query().Get("done"))
	}
	d.Page, d.Pages = page, max((j.TotalDetails+per-1)/per, 1)
	base := jobURL(j.Handle)
	if page > 1 {
		d.PrevURL = pageURL(base, page-1)
	}
	if page < d.Pages {
		d.NextURL = pageURL(base, page+1)
	}
	h.render(w, r, status, "job", d)
}

func (h *Handler) control(w http.ResponseWriter, r *http.Request, s session, u User) {
	handle, action := r.PathValue("job"), Action(r.PathValue("action"))
	switch action {
	case ActionPause, ActionResume, ActionStop, ActionDelete:
	default:
		h.fail(w, r, http.StatusNotFound, "No such page.")
		return
	}
	err := h.cfg.Jobs.Control(r.Context(), u, handle, action)
	var refused *ActionError
	switch {
	case errors.As(err, &refused):
		// The job's page as it is now, saying why nothing happened.
		r.URL.RawQuery = ""
		h.showJob(w, r, s, u, http.StatusConflict, refused.Reason)
		return
	case err != nil:
		h.backendError(w, r, err)
		return
	}
	h.log.Info("jobs page: job operation", "user", u.Email, "job", handle, "action", action)
	if action == ActionDelete {
		http.Redirect(w, r, PathJobs+"?done=delete", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, jobURL(handle)+"?done="+string(action), http.StatusSeeOther)
}

func (h *Handler) signedInData(s session, u User, title string) *pageData {
	return &pageData{Title: title, User: &u, CSRF: h.keys.csrfToken(s)}
}

// backendError answers a Backend error: 404 and 403 pages, else 500.
func (h *Handler) backendError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "No such job.")
	case errors.Is(err, ErrForbidden):
		h.fail(w, r, http.StatusForbidden, "Your role does not allow this.")
	case errors.Is(err, context.Canceled):
		// The browser went away.
	default:
		h.internal(w, r, err)
	}
}

func (h *Handler) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("jobs page", "path", r.URL.Path, "err", err)
	h.fail(w, r, http.StatusInternalServerError, "Something went wrong on the server; it has been logged. Try again in a moment.")
}

// fail renders the error page, signed in or not.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	d := &pageData{Title: http.StatusText(status), Error: msg, Status: status}
	if s, u, err := h.current(r); err == nil {
		d.User, d.CSRF = &u, h.keys.csrfToken(s)
	}
	h.render(w, r, status, "error", d)
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, d *pageData) {
	d.Zone = h.cfg.Location.String()
	if d.Zone == "Local" {
		d.Zone, _ = h.cfg.Now().In(h.cfg.Location).Zone()
	}
	d.RefreshSeconds = max(int(h.cfg.RefreshEvery.Round(time.Second)/time.Second), 1)
	var b strings.Builder
	if err := h.pages[page].ExecuteTemplate(&b, "layout", d); err != nil {
		h.log.Error("jobs page: render", "page", page, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", securityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(b.String()))
	}
}

// when formats a time in the configured zone; zero is blank.
func (h *Handler) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.cfg.Location).Format("2006-01-02 15:04:05")
}

// jobURL is a job's page; handles ("j|1|7") are percent-encoded.
func jobURL(handle string) string { return PathJobs + "/" + url.PathEscape(handle) }

func pageURL(base string, page int) string {
	if page <= 1 {
		return base
	}
	return base + "?page=" + strconv.Itoa(page)
}

// pageNumber is the ?page= of a request, from 1, bounded so that an
// offset cannot overflow.
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 1_000_000)
}
