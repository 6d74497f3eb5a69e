// Package server is the HTTP face of IPS Export: the SOAP and bare-XML
// endpoints, the WSDL documents, health and metrics. Other routes (upload,
// downloads) are mounted by the caller through Config.Routes.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/httplimit"
	"github.com/ipsexport/ipsd/internal/soap"
)

// Config wires the server.
type Config struct {
	Dispatcher soap.Dispatcher
	Project    soap.Projector
	Observe    soap.Observer
	Logger     *slog.Logger
	// WSDL holds IpsApi.wsdl and IpsApi-<version>.wsdl; Schemas the XSDs
	// they import.
	WSDL    fs.FS
	Schemas fs.FS
	// DefaultWSDL is served for "…/IpsApiService?wsdl".
	DefaultWSDL string
	// AddressPlaceholder is the soap:address in the stored WSDLs, replaced
	// by the URL the client reached.
	AddressPlaceholder string
	MaxBodyBytes       int64
	Limits             soap.Limits
	// Budget is the server-wide allowance of request bytes held in memory
	// (SOAP bodies; the upload servlet shares it); nil is unbounded.
	Budget *httplimit.Budget
	// BodyPace is how fast every route's request bodies must arrive; a
	// zero Idle sets no deadline.
	BodyPace httplimit.Pace
	// TrustedProxies are the peers whose X-Forwarded-For is believed: a
	// request from one of them is taken to come from the client the
	// header names, for the login limits and logs. Empty: the peer is
	// the client.
	TrustedProxies []netip.Prefix
	// Ready reports whether the database and storage are reachable.
	Ready func(ctx context.Context) error
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Routes adds more routes (upload, downloads) to the mux.
	Routes func(mux *http.ServeMux)
}

// New returns the server's handler.
func New(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	soapH := &soap.Handler{
		Dispatcher: cfg.Dispatcher, Project: cfg.Project, Logger: log, Observe: cfg.Observe,
		MaxBodyBytes: cfg.MaxBodyBytes, Budget: cfg.Budget, Limits: cfg.Limits, DefaultTransport: soap.SOAP11,
		BaseURL: baseURL,
	}
	bareH := *soapH
	bareH.DefaultTransport = soap.Bare
	docs := &documents{cfg: cfg}

	mux := http.NewServeMux()
	mux.Handle("/scene7/services/IpsApiService", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if asksWSDL(r) {
				docs.serve(w, r, cfg.DefaultWSDL)
				return
			}
		}
		soapH.ServeHTTP(w, r)
	}))
	mux.Handle("/scene7/api/IpsApiService", &bareH)
	// .NET clients omit /webservice/ (docs/clients.md, "WSDL paths"): serve both.
	mux.HandleFunc("GET /scene7/webservice/{file}", func(w http.ResponseWriter, r *http.Request) {
		docs.serve(w, r, r.PathValue("file"))
	})
	mux.HandleFunc("GET /scene7/{file}", func(w http.ResponseWriter, r *http.Request) {
		docs.serve(w, r, r.PathValue("file"))
	})
	addOps(mux, cfg, log)
	if cfg.Routes != nil {
		cfg.Routes(mux)
	}
	return recoverer(log, clientAddress(cfg.TrustedProxies, cfg.BodyPace.Wrap(mux)))
}

// asksWSDL reports a "?wsdl" query in any letter case (?WSDL, ?Wsdl):
// .NET and Java tools ask for it in capitals.
func asksWSDL(r *http.Request) bool {
	for k := range r.URL.Query() {
		if strings.EqualFold(k, "wsdl") {
			return true
		}
	}
	return false
}

// Ops returns the handler of the operations routes alone – /healthz,
// /readyz and, when cfg.Metrics is set, /metrics – for a process that
// serves no API (`ipsd worker --addr`). Only Ready, Metrics and Logger of
// cfg are used.
func Ops(cfg Config) http.Handler {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	addOps(mux, cfg, log)
	return recoverer(log, mux)
}

// addOps adds /healthz (the process answers), /readyz (cfg.Ready: the
// database and storage answer) and /metrics.
func addOps(mux *http.ServeMux, cfg Config, log *slog.Logger) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			if err := cfg.Ready(ctx); err != nil {
				log.Warn("not ready", "err", err)
				http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if cfg.Metrics != nil {
		mux.Handle("GET /metrics", cfg.Metrics)
	}
}

// recoverer keeps a panic in any route from killing the connection with a
// bare 500 page and no log.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("panic", "path", r.URL.Path, "panic", p)
				http.Error(w, "internal server error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type documents struct {
	cfg Config
}

var schemaLocation = regexp.MustCompile(`schemaLocation="([^"/]+\.xsd)"`)

func (d *documents) serve(w http.ResponseWriter, r *http.Request, name string) {
	name = path.Base(name)
	var (
		data []byte
		err  error
	)
	switch {
	case strings.HasSuffix(name, ".wsdl") && d.cfg.WSDL != nil:
		data, err = fs.ReadFile(d.cfg.WSDL, name)
	case strings.HasSuffix(name, ".xsd") && d.cfg.Schemas != nil:
		data, err = fs.ReadFile(d.cfg.Schemas, name)
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	base := baseURL(r)
	if strings.HasSuffix(name, ".wsdl") {
		service := base + "/scene7/services/IpsApiService"
		// IPS's WSDL servlet lets a debugging proxy rewrite the address.
		if s := r.URL.Query().Get("serviceUrl"); s != "" {
			if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
				service = strings.TrimSuffix(s, "/")
				if u.Path == "" || u.Path == "/" {
					service += "/scene7/services/IpsApiService"
				}
			}
		}
		if d.cfg.AddressPlaceholder != "" {
			data = []byte(strings.ReplaceAll(string(data), d.cfg.AddressPlaceholder, xmlAttrEscape(service)))
		}
	}
	// Absolute schema locations, so the WSDL works from any URL it is
	// served at (…/IpsApiService?wsdl included).
	data = schemaLocation.ReplaceAll(data, []byte(`schemaLocation="`+xmlAttrEscape(base)+`/scene7/webservice/$1"`))
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(data)
}

// baseURL is the scheme and host the client reached, through a proxy too.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := firstValue(r.Header.Get("X-Forwarded-Proto")); p == "http" || p == "https" {
		scheme = p
	}
	host := r.Host
	if h := firstValue(r.Header.Get("X-Forwarded-Host")); h != "" && validHost(h) {
		host = h
	}
	return scheme + "://" + host
}

func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

func validHost(h string) bool {
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]_", c)) {
			return false
		}
	}
	return true
}

func xmlAttrEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(s)
}
