package download

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipsexport/ipsd/internal/blob"
)

// DefaultIdleTimeout is Handler.IdleTimeout when zero.
const DefaultIdleTimeout = 2 * time.Minute

// Handler serves GET and HEAD for RoutePrefix + "<jobHandle>.zip" and
// RoutePrefix + "<jobHandle>/<path>". It is mount-agnostic: it takes the
// part of the request path after the first "/scene7/export/", or the
// whole path when that is absent (as under http.StripPrefix).
type Handler struct {
	Jobs  Jobs
	Store blob.Store
	// Signer verifies signed links; its clock also decides job expiry.
	Signer Signer
	// Authorize checks HTTP Basic credentials; nil accepts signed links
	// only.
	Authorize Authorizer
	// IdleTimeout bounds how long one write to the client may block. The
	// response's write deadline is pushed out by it before each write, so
	// a long download is not cut off by the server's WriteTimeout while a
	// stalled client still is. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Zip tunes the zip download: how much it reads and compresses ahead
	// of the response, with how many workers.
	Zip ZipOptions
	// Log receives request failures; nil means slog.Default().
	Log *slog.Logger
}

// target is what a request path names.
type target struct {
	job  string
	path string // "" for the zip
	zip  bool
}

// parseTarget extracts the job handle and file path from u. It works on
// the escaped path so an encoded slash ("%2F") inside a segment is seen
// and refused rather than taken as a separator. Empty, "." and ".."
// segments, backslashes, NUL and invalid UTF-8 are refused.
func parseTarget(u *url.URL) (target, bool) {
	p := u.EscapedPath()
	rest, ok := "", false
	if i := strings.Index(p, RoutePrefix); i >= 0 {
		rest, ok = p[i+len(RoutePrefix):], true
	}
	if !ok {
		rest = strings.TrimPrefix(p, "/")
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil || d == "" || d == "." || d == ".." ||
			strings.ContainsAny(d, "/\\\x00") || !utf8.ValidString(d) {
			return target{}, false
		}
		segs[i] = d
	}
	if len(segs) == 1 {
		job, isZip := strings.CutSuffix(segs[0], ".zip")
		if !isZip || !validHandle(job) {
			return target{}, false
		}
		return target{job: job, zip: true}, true
	}
	if !validHandle(segs[0]) {
		return target{}, false
	}
	return target{job: segs[0], path: strings.Join(segs[1:], "/")}, true
}

// validHandle reports whether h is a possible job handle: 1–255 of
// [A-Za-z0-9|_.-], not "." or "..".
func validHandle(h string) bool {
	if h == "" || len(h) > 255 || h == "." || h == ".." {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '|', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// logName is a caller-chosen name as logged: at most 200 bytes of it.
func logName(s string) string {
	if len(s) <= 200 {
		return s
	}
	return strings.ToValidUTF8(s[:200], "") + "…"
}

func (h *Handler) log() *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return slog.Default()
}

func (h *Handler) idle() time.Duration {
	if h.IdleTimeout > 0 {
		return h.IdleTimeout
	}
	return DefaultIdleTimeout
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plain(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	t, ok := parseTarget(r.URL)
	if !ok {
		notFound(w)
		return
	}
	ctx := r.Context()
	log := h.log().With("job", t.job, "path", t.path, "zip", t.zip)

	// Authorisation, step 1: a signed link needs no lookup at all.
	user, pass, hasBasic := r.BasicAuth()
	hasBasic = hasBasic && h.Authorize != nil
	sigErr := h.Signer.Verify(t.job, t.path, r.URL.Query())
	signed := sigErr == nil
	if !signed && !hasBasic {
		switch {
		case errors.Is(sigErr, ErrUnsigned) && h.Authorize != nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="IPS Export", charset="UTF-8"`)
			plain(w, http.StatusUnauthorized, "authentication required")
		case errors.Is(sigErr, ErrExpired):
			plain(w, http.StatusForbidden, "download link expired")
		default:
			if errors.Is(sigErr, ErrNoKey) {
				log.Error("download: signed links are not configured", "err", sigErr)
			}
			plain(w, http.StatusForbidden, "invalid download link")
		}
		return
	}

	job, err := h.Jobs.Job(ctx, t.job)
	switch {
	case errors.Is(err, ErrNotFound):
		if !signed {
			// Same cost as for a job that exists (see Authorizer).
			h.Authorize(ctx, user, pass, r.RemoteAddr, "")
		}
		notFound(w)
		return
	case err != nil:
		log.Error("download: job lookup failed", "err", err)
		plain(w, http.StatusInternalServerError, "internal error")
		return
	}
	// Step 2: Basic credentials of a user who may see the company. A
	// stranger gets the same 404 as for a job that does not exist.
	if !signed && !h.Authorize(ctx, user, pass, r.RemoteAddr, job.CompanyHandle) {
		log.Info("download: refused", "user", logName(user))
		notFound(w)
		return
	}
	if !job.Expires.IsZero() && !h.Signer.now().Before(job.Expires) {
		plain(w, http.StatusGone, "the files of this job have expired")
		return
	}

	if t.zip {
		files, err := h.Jobs.Files(ctx, job.Handle)
		if err != nil {
			log.Error("download: listing files failed", "err", err)
			plain(w, http.StatusInternalServerError, "internal error")
			return
		}
		h.serveZip(w, r, log, job, files)
		return
	}
	f, err := h.Jobs.File(ctx, job.Handle, t.path)
	switch {
	case errors.Is(err, ErrNotFound):
		notFound(w)
	case err != nil:
		log.Error("download: file lookup failed", "err", err)
		plain(w, http.StatusInternalServerError, "internal error")
	default:
		h.serveFile(w, r, log, f)
	}
}

// serveFile streams one file, with Range support when the blob reader can
// seek.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, log *slog.Logger, f File) {
	rc, info, err := h.Store.Open(r.Context(), f.BlobKey)
	if errors.Is(err, blob.ErrNotFound) {
		log.Warn("download: listed file missing from storage", "key", f.BlobKey)
		plain(w, http.StatusGone, "the file is no longer available")
		return
	}
	if err != nil {
		log.Error("download: open failed", "key", f.BlobKey, "err", err)
		plain(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rc.Close()

	name := path.Base(f.Path)
	hd := w.Header()
	ctype := mime.TypeByExtension(strings.ToLower(path.Ext(name)))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Disposition", attachment(name))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private")
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: h.idle()}

	if rs, ok := rc.(io.ReadSeeker); ok {
		// ServeContent sets Content-Length and Last-Modified, and handles
		// Range, If-Range, conditional requests and HEAD.
		http.ServeContent(dw, r, name, info.Modified, rs)
		return
	}
	hd.Set("Accept-Ranges", "none")
	hd.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	if !info.Modified.IsZero() {
		hd.Set("Last-Modified", info.Modified.UTC().Format(http.TimeFormat))
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.CopyBuffer(dw, onlyReader{rc}, make([]byte, 64<<10)); err != nil {
		// The short body against Content-Length makes net/http drop the
		// connection, so the client sees the failure.
		log.Warn("download: file stream interrupted", "key", f.BlobKey, "err", err)
	}
}

// onlyReader hides a reader's WriteTo (*os.File has one), which would
// allocate its own 32 KiB buffer per file instead of using the one given.
type onlyReader struct{ io.Reader }

// serveZip streams the job's files as one zip.
func (h *Handler) serveZip(w http.ResponseWriter, r *http.Request, log *slog.Logger, job Job, files []File) {
	if len(files) == 0 {
		notFound(w)
		return
	}
	// Check the first file before promising 200: files swept from storage
	// ahead of the job's retention show as 410, not as a broken zip.
	if _, err := h.Store.Stat(r.Context(), files[0].BlobKey); err != nil {
		if errors.Is(err, blob.ErrNotFound) {
			log.Warn("download: listed file missing from storage", "key", files[0].BlobKey)
			plain(w, http.StatusGone, "the files of this job are no longer available")
			return
		}
		log.Error("download: stat failed", "key", files[0].BlobKey, "err", err)
		plain(w, http.StatusInternalServerError, "internal error")
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "application/zip")
	// "|" is not allowed in Windows file names.
	hd.Set("Content-Disposition", attachment(strings.ReplaceAll(job.Handle, "|", "_")+".zip"))
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: h.idle()}
	start := time.Now()
	if err := WriteZip(r.Context(), dw, h.Store, files, h.Zip); err != nil {
		log.Warn("download: zip stream aborted", "err", err, "sent", dw.n)
		// Abort the connection so the client sees a failed transfer, not
		// a complete-looking response holding a truncated archive.
		panic(http.ErrAbortHandler)
	}
	log.Info("download: zip sent", "files", len(files), "bytes", dw.n, "elapsed", time.Since(start))
}

// deadlineWriter pushes the write deadline out by idle before each write.
type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	n    int64
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	// ErrNotSupported (e.g. a test recorder) is fine: no deadline then.
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.idle))
	n, err := d.ResponseWriter.Write(p)
	d.n += int64(n)
	return n, err
}

// ReadFrom keeps the zero-copy path (sendfile) of the underlying writer
// for a file served with ServeContent, in chunks of a MiB so the deadline
// is pushed out between them.
func (d *deadlineWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := d.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{d}, src)
	}
	const chunk = 1 << 20
	inner, remain := src, int64(-1)
	lr, limited := src.(*io.LimitedReader)
	if limited {
		inner, remain = lr.R, lr.N
	}
	var total int64
	for remain != 0 {
		n := int64(chunk)
		if remain > 0 && remain < n {
			n = remain
		}
		_ = d.rc.SetWriteDeadline(time.Now().Add(d.idle))
		m, err := rf.ReadFrom(&io.LimitedReader{R: inner, N: n})
		total += m
		d.n += m
		if limited {
			remain -= m
			lr.N = remain
		}
		if err != nil || m < n {
			return total, err
		}
	}
	return total, nil
}

// Unwrap lets http.ResponseController reach the real writer.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// attachment is a Content-Disposition for downloading name; non-ASCII
// names are carried RFC 2231-encoded.
func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}

func notFound(w http.ResponseWriter) { plain(w, http.StatusNotFound, "not found") }

func plain(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}
