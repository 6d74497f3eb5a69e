package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/render"
	"github.com/ipsexport/ipsd/internal/rendition"
	"github.com/ipsexport/ipsd/internal/server"
	"github.com/ipsexport/ipsd/internal/service"
)

// engineFlags are the settings `serve` and `worker` share.
type engineFlags struct {
	workers      *int
	chunkSize    *int
	chunkTimeout *time.Duration
	rescueAfter  *time.Duration
	lease        *time.Duration
	retention    *time.Duration
	publicURL    *string
	signingKey   *string
	smtpAddr     *string
	smtpFrom     *string
	smtpUser     *string
	smtpPassword *string
	smtpTLS      *string
	timeZone     *string
	maxInPixels  *int64
	rasterDPI    *int
	rasterTime   *time.Duration
	maxOutSide   *int
	exportLimits exportLimitFlags
	metricsAddr  *string
	metricsToken *string
	log          *logFlags
	storage      *storageFlags
}

// addEngineFlags defines them; front is true for serve (a worker has no
// API address and must work exports).
func addEngineFlags(fs *flagSet, front bool) *engineFlags {
	workersHelp := "export chunks this process works at once (`N`; -1: one per CPU)"
	publicHelp := "base `URL` of download links in mail (default: http:// and --addr)"
	if front {
		workersHelp = "export chunks this process works at once (`N`; 0: a front end only, taking no exports; -1: one per CPU)"
	} else {
		publicHelp = "base `URL` of download links in mail: the front ends' public address (default http://localhost:8080)"
	}
	f := &engineFlags{
		workers:      fs.Int("workers", -1, workersHelp),
		chunkSize:    fs.Int("chunk-size", 0, "assets per queue job (`N`; 0: 8)"),
		chunkTimeout: fs.Duration("chunk-timeout", 0, "longest a queue job may run; the asset in hand then fails (0: 10m)"),
		rescueAfter:  fs.Duration("rescue-after", 0, "River's last resort: when a queue job left running by a dead worker is retried (export chunks on PostgreSQL are taken over after --lease); at least the chunk timeout (0: 1.5 × the chunk timeout)"),
		lease:        fs.Duration("lease", 0, "lease of a running export chunk on PostgreSQL: its worker renews it every third of this `DURATION`; another worker takes over a chunk not renewed for this long (0: 30s)"),
		retention:    fs.Duration("retention", 0, "how long exports are kept (0: 168h)"),
		publicURL:    fs.String("public-url", "", publicHelp),
		signingKey:   fs.String("signing-key", "", "`SECRET` of signed download links, the same on every process (default: generated into DATA/signing.key); prefer the variable"),
		smtpAddr:     fs.String("smtp-addr", "", "SMTP server `HOST:PORT` for job mail (default: .eml files under DATA/mail)"),
		smtpFrom:     fs.String("smtp-from", "ipsd@localhost", "sender `ADDRESS` of job mail"),
		smtpUser:     fs.String("smtp-user", "", "SMTP `USER` (AUTH PLAIN)"),
		smtpPassword: fs.String("smtp-password", "", "SMTP `PASSWORD`; prefer the variable"),
		smtpTLS:      fs.String("smtp-tls", "starttls", "SMTP TLS `MODE`: none, starttls or tls"),
		timeZone:     fs.String("time-zone", "Local", "time `ZONE` of execSchedule (IANA name)"),
		maxInPixels:  fs.Int64("max-input-pixels", 0, "largest source image in `PIXELS` (0: 100 megapixels)"),
		maxOutSide:   fs.Int("max-output-side", 0, "largest output width or height in `PIXELS` (0: 16384)"),
		rasterDPI:    fs.Int("rasterize-dpi", 0, "resolution in `DPI` PDF, Illustrator and PostScript sources are converted at (0: 150)"),
		rasterTime:   fs.Duration("rasterize-timeout", 0, "longest Ghostscript may take to rasterise one PostScript source (0: 1m)"),
		exportLimits: addExportLimitFlags(fs),
		metricsAddr:  fs.String("metrics-addr", "", "`HOST:PORT` serving /metrics alone (off unless set; keep it private)"),
		metricsToken: fs.String("metrics-token", "", "bearer `TOKEN` /metrics requires; with it, /metrics is served on --addr too; prefer the variable"),
		log:          addLogFlags(fs),
		storage:      addStorageFlags(fs),
	}
	// Every flag of serve and worker has its IPSD_* variable.
	fs.autoEnv = true
	return f
}

func (f *engineFlags) apply(path string, cfg *app.Config, addr string, log *slog.Logger) error {
	cfg.Logger = log
	cfg.Workers = *f.workers
	cfg.ChunkSize = *f.chunkSize
	cfg.ChunkTimeout = *f.chunkTimeout
	cfg.RescueAfter = *f.rescueAfter
	// River refuses a rescue delay shorter than the job timeout (a chunk
	// could be retried while its worker still runs it): say so in flags.
	if timeout := cmp.Or(cfg.ChunkTimeout, jobs.DefaultChunkTimeout); cfg.RescueAfter > 0 && cfg.RescueAfter < timeout {
		return usagef(path, "--rescue-after %s is shorter than the chunk timeout %s (--chunk-timeout); it must be at least as long",
			cfg.RescueAfter, timeout)
	}
	if *f.lease != 0 && *f.lease < time.Second {
		return usagef(path, "--lease %s: must be at least 1s (0: the default, 30s)", *f.lease)
	}
	cfg.Lease = *f.lease
	cfg.Retention = *f.retention
	cfg.PublicURL = *f.publicURL
	if cfg.PublicURL == "" && addr != "" {
		cfg.PublicURL = "http://" + addr
	}
	if *f.signingKey != "" {
		cfg.SigningKey = []byte(*f.signingKey)
	}
	if *f.smtpAddr != "" {
		mode, err := notify.ParseTLSMode(*f.smtpTLS)
		if err != nil {
			return usagef(path, "--smtp-tls: %v", err)
		}
		cfg.SMTP = &notify.SMTPSender{Addr: *f.smtpAddr, From: *f.smtpFrom, Username: *f.smtpUser,
			Password: *f.smtpPassword, TLS: mode, Log: log}
	}
	files, err := f.storage.config(path, cfg.DataDir)
	if err != nil {
		return err
	}
	cfg.S3 = files.S3
	loc, err := time.LoadLocation(*f.timeZone)
	if err != nil {
		return usagef(path, "--time-zone: %v", err)
	}
	cfg.Location = loc
	cfg.Render.MaxInputPixels = *f.maxInPixels
	cfg.Render.MaxOutputWidth = *f.maxOutSide
	cfg.Render.MaxOutputHeight = *f.maxOutSide
	if *f.rasterDPI < 0 || *f.rasterDPI > render.MaxRasterDPI {
		return usagef(path, "--rasterize-dpi %d: must be 1 to %d (0: the default)", *f.rasterDPI, render.MaxRasterDPI)
	}
	cfg.Render.RasterDPI = float64(*f.rasterDPI)
	cfg.Render.RasterTimeout = *f.rasterTime
	cfg.MetricsToken = *f.metricsToken
	return f.exportLimits.apply(path, cfg)
}

// exportLimitFlags bound what exports write and how long the files of
// replaced and deleted assets stay (docs/security.md).
type exportLimitFlags struct {
	fileBytes, jobBytes *int64
	originalGrace       *time.Duration
	renditionCache      *int64
}

func addExportLimitFlags(fs *flagSet) exportLimitFlags {
	return exportLimitFlags{
		fileBytes: fs.Int64("max-export-file-bytes", jobs.DefaultMaxFileBytes, "largest file an export writes, original or converted, in `BYTES`; a larger one fails its asset (-1: no bound)"),
		jobBytes:  fs.Int64("max-export-job-bytes", jobs.DefaultMaxJobBytes, "most `BYTES` the files of one export job may take together; past it the job's remaining assets fail (-1: no bound)"),
		originalGrace: fs.Duration("original-grace", catalog.DefaultGrace,
			"how long the file of a replaced or deleted asset is kept at least (then until no unfinished export needs it); at least 1m"),
		renditionCache: fs.Int64("rendition-cache-bytes", rendition.DefaultMaxBytes,
			"most `BYTES` the rendition cache keeps, least recently used evicted first; a convert export reuses a rendition of the same original and conversion (0: no cache)"),
	}
}

func (f exportLimitFlags) apply(path string, cfg *app.Config) error {
	if *f.fileBytes == 0 || *f.jobBytes == 0 {
		return usagef(path, "--max-export-file-bytes and --max-export-job-bytes must be above 0 (-1: no bound)")
	}
	// The grace must outlast the longest submit, which reads an asset's
	// key before it commits the job that holds on to it.
	if *f.originalGrace < time.Minute {
		return usagef(path, "--original-grace %s: must be at least 1m", *f.originalGrace)
	}
	if *f.renditionCache < 0 {
		return usagef(path, "--rendition-cache-bytes %d: must be 0 (no cache) or above", *f.renditionCache)
	}
	cfg.MaxExportFileBytes, cfg.MaxExportJobBytes, cfg.OriginalGrace = *f.fileBytes, *f.jobBytes, *f.originalGrace
	cfg.RenditionCacheBytes = *f.renditionCache
	return nil
}

// listenMetrics opens --metrics-addr, if set: before anything else starts,
// so that a busy port stops the process at once, saying which flag.
func (f *engineFlags) listenMetrics() (net.Listener, error) {
	if *f.metricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", *f.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s (IPSD_METRICS_ADDR): %w", *f.metricsAddr, err)
	}
	return ln, nil
}

func cmdServe(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	addr := fs.String("addr", "127.0.0.1:8080", "`HOST:PORT` of the API, downloads, UploadFile and health")
	tlsCert := fs.String("tls-cert", "", "TLS certificate `FILE` (PEM); without it plain HTTP, for use behind a proxy")
	tlsKey := fs.String("tls-key", "", "TLS key `FILE` (PEM)")
	maxBody := fs.Int64("max-request-bytes", 8<<20, "largest SOAP request body in `BYTES` (after gunzip), and most an UploadFile POST may send before its caller is authenticated")
	maxHandles := fs.Int("max-export-assets", 10_000, "largest assetHandleArray of an exportJob (`N`)")
	maxItems := fs.Int("max-request-items", 10_000, "largest array of any other request (getAssets, deleteAssets, nameArray, logTypeArray …) (`N`)")
	maxUpload := fs.Int64("max-upload-bytes", 0, "largest file of an UploadFile POST in `BYTES` (0: 2 GiB)")
	uploadTimeout := fs.Duration("upload-timeout", 0, "an upload job with no POST for this long ends (0: 30m)")
	sessionTTL := fs.Duration("web-session-ttl", 0, "how long a sign-in to the Jobs page lasts (0: 12h)")
	zipReadAhead := fs.Int64("zip-read-ahead-bytes", download.DefaultZipReadAhead, "memory in `BYTES` one zip download may hold for entries read and compressed ahead of the response (at least 5 MiB)")
	// Limits on requests before they are answered and on logins
	// (docs/security.md).
	defLimits, defLogins := app.DefaultRequestLimits(), service.DefaultLoginPolicy()
	maxBuffered := fs.Int64("max-buffered-bytes", defLimits.MaxBufferedBytes, "request `BYTES` all requests in flight may hold in memory together; past it, 503 (-1: no bound)")
	readHeaderTimeout := fs.Duration("read-header-timeout", 10*time.Second, "longest a client may take to send a request's headers")
	idleTimeout := fs.Duration("idle-timeout", 2*time.Minute, "longest a kept-alive connection may wait for its next request")
	bodyIdle := fs.Duration("body-idle-timeout", defLimits.BodyIdleTimeout, "longest a request body may send nothing (negative: no deadline)")
	bodyRate := fs.Int64("body-min-rate", defLimits.BodyMinRate, "slowest average rate, in `BYTES` per second, a request body may arrive at after its first --body-idle-timeout (-1: none)")
	trustedProxies := fs.String("trusted-proxies", "", "comma-separated `ADDRESSES` or CIDRs of reverse proxies whose X-Forwarded-For names the client (default: none)")
	loginFailures := fs.Int("login-failures", defLogins.Failures, "failed logins per account and client address per --login-window before that address waits (`N`)")
	loginAddrFailures := fs.Int("login-address-failures", defLogins.AddressFailures, "failed logins per client address (over accounts it has not logged in to) per --login-window (`N`)")
	loginAcctFailures := fs.Int("login-account-failures", defLogins.AccountFailures, "failed logins per account from addresses that never logged in to it, per --login-window, before such addresses are paced (`N`)")
	loginWindow := fs.Duration("login-window", defLogins.Window, "time over which the login failure budgets refill")
	ef := addEngineFlags(fs, true)
	if _, err := fs.parse(args, false); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve", "serve takes no arguments, got %q", fs.Arg(0))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("serve", "--tls-cert and --tls-key go together")
	}
	proxies, err := server.ParseTrustedProxies(*trustedProxies)
	if err != nil {
		return usagef("serve", "--trusted-proxies: %v", err)
	}
	log := ef.log.logger(c.stderr)
	cfg := app.Config{
		DataDir: c.g.dataDir, DatabaseURL: c.g.databaseURL,
		MaxRequestBytes: *maxBody, MaxExportAssets: *maxHandles, MaxRequestItems: *maxItems, ServerName: hostname(),
		MaxUploadBytes: *maxUpload, UploadJobTimeout: *uploadTimeout, WebSessionTTL: *sessionTTL,
		ZipReadAheadBytes: *zipReadAhead,
		RequestLimits: app.RequestLimits{
			MaxBufferedBytes: *maxBuffered, BodyIdleTimeout: *bodyIdle, BodyMinRate: *bodyRate,
			TrustedProxies: proxies,
		},
		Logins: service.LoginPolicy{
			Failures: *loginFailures, AddressFailures: *loginAddrFailures,
			AccountFailures: *loginAcctFailures, Window: *loginWindow,
		},
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("--addr %s: %w", *addr, err)
	}
	defer ln.Close()
	// Links in mail default to the address really listened on (port 0
	// picks one), with this host's name where that is every interface.
	if err := ef.apply("serve", &cfg, linkAddress(ln.Addr()), log); err != nil {
		return err
	}
	mln, err := ef.listenMetrics()
	if err != nil {
		return err
	}
	if mln != nil {
		defer mln.Close()
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Start(ctx); err != nil {
		return err
	}
	// No ReadTimeout or WriteTimeout: bodies are paced per read (see
	// --body-idle-timeout) and downloads per write, so a long transfer
	// that keeps moving is never cut.
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: *readHeaderTimeout,
		IdleTimeout:       *idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	servers := []served{{srv: srv, ln: ln, cert: *tlsCert, key: *tlsKey}}
	if mln != nil {
		servers = append(servers, served{srv: opsServer(a.MetricsHandler(), log), ln: mln})
		fmt.Fprintf(c.stdout, "metrics: http://%s/metrics\n", mln.Addr())
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s/scene7/services/IpsApiService", scheme, ln.Addr()), "workers", cfg.Workers)
	fmt.Fprintf(c.stdout, "IPS endpoint: %s://%s/scene7/services/IpsApiService\n", scheme, ln.Addr())
	fmt.Fprintf(c.stdout, "Jobs page: %s://%s/jobs\n", scheme, ln.Addr())
	return serveAll(ctx, log, servers)
}

// cmdWorker runs export workers beside the front ends (scale-out on
// PostgreSQL); --addr serves its health, readiness and metrics.
func cmdWorker(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	addr := fs.String("addr", "", "`HOST:PORT` serving /healthz, /readyz and (with --metrics-token) /metrics (off unless set)")
	fs.envAs("addr", "IPSD_WORKER_ADDR") // not the front end's IPSD_ADDR
	ef := addEngineFlags(fs, false)
	if _, err := fs.parse(args, false); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("worker", "worker takes no arguments, got %q", fs.Arg(0))
	}
	log := ef.log.logger(c.stderr)
	cfg := app.Config{DataDir: c.g.dataDir, DatabaseURL: c.g.databaseURL, ServerName: hostname()}
	if err := ef.apply("worker", &cfg, "", log); err != nil {
		return err
	}
	if cfg.Workers == 0 {
		return usagef("worker", "a worker needs --workers > 0 (or -1: one per CPU)")
	}
	var servers []served
	var ln net.Listener
	if *addr != "" {
		var err error
		if ln, err = net.Listen("tcp", *addr); err != nil {
			return fmt.Errorf("--addr %s (IPSD_WORKER_ADDR): %w", *addr, err)
		}
		defer ln.Close()
	}
	mln, err := ef.listenMetrics()
	if err != nil {
		return err
	}
	if mln != nil {
		defer mln.Close()
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Start(ctx); err != nil {
		return err
	}
	if ln != nil {
		servers = append(servers, served{srv: opsServer(a.OpsHandler(log), log), ln: ln})
		fmt.Fprintf(c.stdout, "worker health: http://%s/healthz\n", ln.Addr())
	}
	if mln != nil {
		servers = append(servers, served{srv: opsServer(a.MetricsHandler(), log), ln: mln})
		fmt.Fprintf(c.stdout, "metrics: http://%s/metrics\n", mln.Addr())
	}
	log.Info("worker started", "workers", cfg.Workers)
	fmt.Fprintln(c.stdout, "worker started")
	err = serveAll(ctx, log, servers)
	log.Info("worker stopping: the assets in hand finish, the rest go back to the queue")
	return err
}

// served is an HTTP server and what it listens on.
type served struct {
	srv       *http.Server
	ln        net.Listener
	cert, key string // TLS when set
}

// opsServer serves health or metrics: small answers, the API's timeouts.
func opsServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serveAll serves until ctx ends or a server fails, then shuts every
// server down, giving requests in flight 30 s.
func serveAll(ctx context.Context, log *slog.Logger, servers []served) error {
	errc := make(chan error, len(servers))
	for _, s := range servers {
		go func() {
			if s.cert != "" {
				errc <- s.srv.ServeTLS(s.ln, s.cert, s.key)
			} else {
				errc <- s.srv.Serve(s.ln)
			}
		}()
	}
	var err error
	select {
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		} else {
			err = fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range servers {
		if e := s.srv.Shutdown(shutdownCtx); e != nil && err == nil {
			err = fmt.Errorf("shutdown: %w", e)
		}
	}
	return err
}

// linkAddress is host:port of a listener as a link can name it: an
// unspecified address (0.0.0.0, ::) becomes this host's name.
func linkAddress(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return a.String()
	}
	return net.JoinHostPort(hostname(), strconv.Itoa(tcp.Port))
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "ipsd"
	}
	return h
}
