package soap

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/httplimit"
)

// Dispatcher runs one parsed operation and returns the payload of its
// <opReturn> (nil for void operations) or an error (a *Fault, or anything
// else, which becomes a 30000 fault).
type Dispatcher interface {
	Dispatch(ctx context.Context, req *Request) (any, error)
}

// Observer is told about every call (for metrics); may be nil.
type Observer func(operation string, faultCode int, elapsed time.Duration)

// Handler serves IPS calls over HTTP POST.
type Handler struct {
	Dispatcher Dispatcher
	Project    Projector
	Logger     *slog.Logger
	Observe    Observer
	// MaxBodyBytes bounds the request body, after gunzip.
	MaxBodyBytes int64
	// Budget is the server-wide allowance of request bytes in memory, which
	// every body is charged to while its call runs; nil is unbounded.
	Budget *httplimit.Budget
	Limits Limits
	// DefaultTransport answers requests that cannot be parsed: Bare on the
	// /scene7/api endpoint, SOAP otherwise.
	DefaultTransport Transport
	// BaseURL tells the scheme and host the client reached (behind a
	// proxy too), for Request.BaseURL; nil leaves it empty.
	BaseURL func(*http.Request) string
}

// DefaultMaxBodyBytes is large enough for a 10,000-handle submitJob.
const DefaultMaxBodyBytes = 8 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.writeFault(w, r, h.guessTransport(r), nil, Errorf(CodeInvalidXML, "method %s not allowed: IPS calls are HTTP POST", r.Method))
		return
	}
	var req *Request
	defer func() {
		if p := recover(); p != nil {
			log.Error("panic serving IPS call", "panic", p, "stack", string(debug.Stack()))
			t := h.guessTransport(r)
			if req != nil {
				t = req.Transport
			}
			h.writeFault(w, r, t, req, Errorf(CodeException, "internal server error"))
		}
	}()

	hold := h.Budget.Hold()
	defer hold.Release()
	body, err := h.readBody(r, hold)
	if err != nil {
		h.finish(w, r, log, start, h.guessTransport(r), nil, nil, AsFault(err))
		return
	}
	req, err = Parse(body, h.limits())
	if err != nil {
		h.finish(w, r, log, start, h.guessTransport(r), nil, nil, AsFault(err))
		return
	}
	req.BasicUser, req.BasicPassword, req.HasBasic = r.BasicAuth()
	req.AcceptLanguage = r.Header.Get("Accept-Language")
	req.RemoteAddr = r.RemoteAddr
	if h.BaseURL != nil {
		req.BaseURL = h.BaseURL(r)
	}

	payload, err := h.Dispatcher.Dispatch(r.Context(), req)
	if err != nil {
		var f *Fault
		if !errors.As(err, &f) {
			log.Error("IPS call failed", "op", req.Operation, "err", err)
		}
		h.finish(w, r, log, start, req.Transport, req, nil, AsFault(err))
		return
	}
	out, err := EncodeResponse(req.Transport, req.Namespace, req.Operation, payload, h.Project)
	if err != nil {
		log.Error("encode IPS response", "op", req.Operation, "err", err)
		h.finish(w, r, log, start, req.Transport, req, nil, Errorf(CodeException, "internal server error"))
		return
	}
	h.finish(w, r, log, start, req.Transport, req, out, nil)
}

func (h *Handler) limits() Limits {
	if h.Limits == (Limits{}) {
		return DefaultLimits()
	}
	return h.Limits
}

func (h *Handler) finish(w http.ResponseWriter, r *http.Request, log *slog.Logger, start time.Time, t Transport, req *Request, out []byte, f *Fault) {
	op, code := "", 0
	if req != nil {
		op = req.Operation
	}
	if f != nil {
		code = f.Code
		h.writeFault(w, r, t, req, f)
	} else {
		h.write(w, r, t, req, http.StatusOK, out)
	}
	elapsed := time.Since(start)
	if h.Observe != nil {
		h.Observe(op, code, elapsed)
	}
	// Names the caller chose are cut: a 256 KiB element name must not
	// become a 256 KiB log line.
	attrs := []any{"op", Shorten(op, MaxEchoBytes), "transport", t.String(), "ms", elapsed.Milliseconds()}
	if req != nil {
		if u, _, ok := req.Credentials(); ok {
			attrs = append(attrs, "user", Shorten(u, MaxEchoBytes))
		}
		if req.Auth.AppName != "" {
			attrs = append(attrs, "app", Shorten(req.Auth.AppName, MaxEchoBytes))
		}
	}
	if f != nil {
		attrs = append(attrs, "fault", f.Code, "reason", f.Reason)
	}
	log.Info("ips call", attrs...)
}

// readBody reads the body within the size limit, gunzipping it when the
// client says so, charging it to hold as it grows.
func (h *Handler) readBody(r *http.Request, hold *httplimit.Hold) ([]byte, error) {
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	src, f := DecodeBody(r, io.LimitReader(r.Body, limit+1))
	if f != nil {
		return nil, f
	}
	defer src.Close()
	body, err := httplimit.ReadAll(src, limit, hold)
	if err != nil {
		return nil, BodyFault(err, limit)
	}
	return body, nil
}

// BodyFault explains why a request body could not be read: over limit
// bytes (after gunzip), a busy server (503), a stalled or trickling
// client, or a body cut short. The UploadFile servlet answers with it too.
func BodyFault(err error, limit int64) *Fault {
	var slow *httplimit.SlowBodyError
	switch {
	case errors.Is(err, httplimit.ErrTooLarge):
		return Errorf(CodeInvalidXML, "request body exceeds the limit of %d bytes", limit)
	case errors.Is(err, httplimit.ErrBusy):
		return Busy()
	case errors.As(err, &slow):
		return Errorf(CodeInvalidXML, "%s; the request was not read", slow)
	}
	// Not the error's text: it names addresses (read tcp a->b: …).
	return Errorf(CodeInvalidXML, "request body could not be read: %s", readErrorKind(err))
}

// readErrorKind describes a body read error without the connection's
// addresses.
func readErrorKind(err error) string {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends before it is whole (truncated?)"
	case errors.As(err, &corrupt), errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader):
		return "invalid gzip data"
	}
	return "the connection failed while it was sent"
}

// guessTransport picks the answer shape when the body could not be parsed.
func (h *Handler) guessTransport(r *http.Request) Transport {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/soap+xml" {
		return SOAP12
	}
	if h.DefaultTransport != 0 {
		return h.DefaultTransport
	}
	return SOAP11
}

func (h *Handler) writeFault(w http.ResponseWriter, r *http.Request, t Transport, req *Request, f *Fault) {
	requested := 0
	var gzipResponse *bool
	if req != nil {
		requested, gzipResponse = req.Auth.FaultHTTPStatusCode, req.Auth.GzipResponse
	}
	WriteFault(w, r, t, f, requested, gzipResponse)
}

// WriteFault answers fault f in transport t, with the status f.Status
// gives for the client's faultHttpStatusCode (requested, 0 when none). A
// busy server's 503 says when to retry and closes the connection, so that
// the rest of the request's body is not read. The UploadFile servlet
// answers through it too.
func WriteFault(w http.ResponseWriter, r *http.Request, t Transport, f *Fault, requested int, gzipResponse *bool) {
	status := f.Status(requested)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(httplimit.RetryAfterSeconds))
		w.Header().Set("Connection", "close")
	}
	WriteResponse(w, r, t, status, EncodeFault(t, f), gzipResponse)
}

// DecodeBody returns wire, r's body as read, decoded as r's
// Content-Encoding declares it: gunzipped for gzip, as it is otherwise.
// The UploadFile servlet reads its bodies through it too. Close the result.
func DecodeBody(r *http.Request, wire io.Reader) (io.ReadCloser, *Fault) {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Content-Encoding")), "gzip") {
		return io.NopCloser(wire), nil
	}
	zr, err := gzip.NewReader(wire)
	if err != nil {
		return nil, Errorf(CodeInvalidXML, "request body is not valid gzip: %v", err)
	}
	return zr, nil
}

func (h *Handler) write(w http.ResponseWriter, r *http.Request, t Transport, req *Request, status int, body []byte) {
	var gzipResponse *bool
	if req != nil {
		gzipResponse = req.Auth.GzipResponse
	}
	WriteResponse(w, r, t, status, body, gzipResponse)
}

// WriteResponse writes an answer of transport t: body with status, gzipped
// as the authHeader's gzipResponse says (true forces gzip, false forbids
// it), else as the request's Accept-Encoding asks (docs/wire.md, "Compression"). The UploadFile
// servlet answers through it too.
func WriteResponse(w http.ResponseWriter, r *http.Request, t Transport, status int, body []byte, gzipResponse *bool) {
	hdr := w.Header()
	hdr.Set("Content-Type", ContentType(t))
	hdr.Add("Vary", "Accept-Encoding")
	gz := AcceptsGzip(r.Header.Values("Accept-Encoding"))
	if gzipResponse != nil {
		gz = *gzipResponse
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
		hdr.Set("Content-Encoding", "gzip")
	}
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// AcceptsGzip reads Accept-Encoding values: gzip (or x-gzip, or *) with a
// non-zero q.
func AcceptsGzip(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if f, err := strconv.ParseFloat(q, 64); err == nil && f == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}

// String helps when a Request shows up in test failures.
func (r *Request) String() string {
	return fmt.Sprintf("%s %s {%s}", r.Transport, r.Operation, r.Namespace)
}
