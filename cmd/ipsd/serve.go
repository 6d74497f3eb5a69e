package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/notify"
)

// engineFlags are the settings `serve` and `worker` share.
type engineFlags struct {
	workers      *int
	chunkSize    *int
	chunkTimeout *time.Duration
	rescueAfter  *time.Duration
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
	maxOutSide   *int
	logJSON      *bool
	s3Endpoint   *string
	s3Bucket     *string
	s3Prefix     *string
	s3Region     *string
	s3Insecure   *bool
}

func addEngineFlags(fs *flag.FlagSet, defaultWorkers int) *engineFlags {
	return &engineFlags{
		workers:      fs.Int("workers", envInt("IPSD_WORKERS", defaultWorkers), "export chunks worked at once by this process (0: front end only; -1: one per CPU)"),
		chunkSize:    fs.Int("chunk-size", envInt("IPSD_CHUNK_SIZE", 0), "assets per queue job (0: default 8)"),
		chunkTimeout: fs.Duration("chunk-timeout", envDuration("IPSD_CHUNK_TIMEOUT", 0), "longest a queue job may run (0: default 10m)"),
		rescueAfter:  fs.Duration("rescue-after", envDuration("IPSD_RESCUE_AFTER", 0), "when a queue job whose worker died is retried (0: 1.5 × chunk timeout)"),
		retention:    fs.Duration("retention", envDuration("IPSD_RETENTION", 0), "how long exports are kept (0: default 168h)"),
		publicURL:    fs.String("public-url", os.Getenv("IPSD_PUBLIC_URL"), "base URL of download links in mail (default http://<addr>)"),
		signingKey:   fs.String("signing-key", os.Getenv("IPSD_SIGNING_KEY"), "secret for signed download links, the same on every process (default: generated into DATA/signing.key)"),
		smtpAddr:     fs.String("smtp-addr", os.Getenv("IPSD_SMTP_ADDR"), "SMTP server host:port for job mail (default: write .eml files under DATA/mail)"),
		smtpFrom:     fs.String("smtp-from", envOr("IPSD_SMTP_FROM", "ipsd@localhost"), "sender of job mail"),
		smtpUser:     fs.String("smtp-user", os.Getenv("IPSD_SMTP_USER"), "SMTP user (AUTH PLAIN)"),
		smtpPassword: fs.String("smtp-password", os.Getenv("IPSD_SMTP_PASSWORD"), "SMTP password (prefer the environment variable)"),
		smtpTLS:      fs.String("smtp-tls", envOr("IPSD_SMTP_TLS", "starttls"), "SMTP TLS: none, starttls or tls"),
		timeZone:     fs.String("time-zone", envOr("IPSD_TIME_ZONE", "Local"), "time zone of execSchedule"),
		maxInPixels:  fs.Int64("max-input-pixels", int64(envInt("IPSD_MAX_INPUT_PIXELS", 0)), "largest source image in pixels (0: 100 megapixels)"),
		maxOutSide:   fs.Int("max-output-side", envInt("IPSD_MAX_OUTPUT_SIDE", 0), "largest output width or height (0: 16384)"),
		logJSON:      fs.Bool("log-json", false, "log as JSON lines"),
		s3Endpoint:   fs.String("s3-endpoint", os.Getenv("IPSD_S3_ENDPOINT"), "S3-compatible endpoint host:port for files (default: DATA/files); keys from IPSD_S3_ACCESS_KEY and IPSD_S3_SECRET_KEY"),
		s3Bucket:     fs.String("s3-bucket", os.Getenv("IPSD_S3_BUCKET"), "S3 bucket (must exist)"),
		s3Prefix:     fs.String("s3-prefix", os.Getenv("IPSD_S3_PREFIX"), "folder inside the bucket"),
		s3Region:     fs.String("s3-region", os.Getenv("IPSD_S3_REGION"), "S3 region (default: asked of the server)"),
		s3Insecure:   fs.Bool("s3-insecure", os.Getenv("IPSD_S3_INSECURE") != "", "plain HTTP to the S3 endpoint"),
	}
}

func (f *engineFlags) apply(cfg *app.Config, addr string, log *slog.Logger) error {
	cfg.Logger = log
	cfg.Workers = *f.workers
	cfg.ChunkSize = *f.chunkSize
	cfg.ChunkTimeout = *f.chunkTimeout
	cfg.RescueAfter = *f.rescueAfter
	// River refuses a rescue delay shorter than the job timeout (a chunk
	// could be retried while its worker still runs it): say so in flags.
	if timeout := cmp.Or(cfg.ChunkTimeout, jobs.DefaultChunkTimeout); cfg.RescueAfter > 0 && cfg.RescueAfter < timeout {
		return fmt.Errorf("%w: --rescue-after %s is shorter than the chunk timeout %s (--chunk-timeout); it must be at least as long",
			errUsage, cfg.RescueAfter, timeout)
	}
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
			return fmt.Errorf("%w: --smtp-tls: %v", errUsage, err)
		}
		cfg.SMTP = &notify.SMTPSender{Addr: *f.smtpAddr, From: *f.smtpFrom, Username: *f.smtpUser,
			Password: *f.smtpPassword, TLS: mode, Log: log}
	}
	if *f.s3Endpoint != "" {
		if *f.s3Bucket == "" {
			return fmt.Errorf("%w: --s3-endpoint needs --s3-bucket", errUsage)
		}
		cfg.S3 = &s3blob.Config{
			Endpoint: *f.s3Endpoint, Bucket: *f.s3Bucket, Prefix: *f.s3Prefix, Region: *f.s3Region,
			AccessKey: os.Getenv("IPSD_S3_ACCESS_KEY"), SecretKey: os.Getenv("IPSD_S3_SECRET_KEY"),
			UseSSL: !*f.s3Insecure,
		}
	}
	loc, err := time.LoadLocation(*f.timeZone)
	if err != nil {
		return fmt.Errorf("%w: --time-zone: %v", errUsage, err)
	}
	cfg.Location = loc
	cfg.Render.MaxInputPixels = *f.maxInPixels
	cfg.Render.MaxOutputWidth = *f.maxOutSide
	cfg.Render.MaxOutputHeight = *f.maxOutSide
	return nil
}

func cmdServe(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer, _ bool) error {
	fs := subFlags("serve", g, stderr)
	addr := fs.String("addr", envOr("IPSD_ADDR", "127.0.0.1:8080"), "listen address")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); without it plain HTTP, for use behind a proxy")
	tlsKey := fs.String("tls-key", "", "TLS key file (PEM)")
	maxBody := fs.Int64("max-request-bytes", 8<<20, "largest SOAP request body accepted")
	maxHandles := fs.Int("max-export-assets", 10_000, "largest assetHandleArray of an exportJob")
	maxItems := fs.Int("max-request-items", envInt("IPSD_MAX_REQUEST_ITEMS", 10_000), "largest array of any other request (getAssets, deleteAssets, nameArray, logTypeArray …)")
	maxUpload := fs.Int64("max-upload-bytes", int64(envInt("IPSD_MAX_UPLOAD_BYTES", 0)), "largest file of an UploadFile POST (0: 2 GiB)")
	uploadTimeout := fs.Duration("upload-timeout", envDuration("IPSD_UPLOAD_TIMEOUT", 0), "an upload job with no POST for this long ends (0: 30m)")
	ef := addEngineFlags(fs, -1)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	log := newLogger(stderr, *ef.logJSON)
	cfg := app.Config{
		DataDir: g.dataDir, DatabaseURL: g.databaseURL,
		MaxRequestBytes: *maxBody, MaxExportAssets: *maxHandles, MaxRequestItems: *maxItems, ServerName: hostname(),
		MaxUploadBytes: *maxUpload, UploadJobTimeout: *uploadTimeout,
	}
	if err := ef.apply(&cfg, *addr, log); err != nil {
		return err
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	if err := a.Start(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s/scene7/services/IpsApiService", scheme, ln.Addr()), "workers", cfg.Workers)
	fmt.Fprintf(stdout, "IPS endpoint: %s://%s/scene7/services/IpsApiService\n", scheme, ln.Addr())

	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// cmdWorker runs export workers only, no HTTP: scale-out on PostgreSQL.
func cmdWorker(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("worker", g, stderr)
	ef := addEngineFlags(fs, -1)
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(stderr, *ef.logJSON)
	cfg := app.Config{DataDir: g.dataDir, DatabaseURL: g.databaseURL, ServerName: hostname()}
	if err := ef.apply(&cfg, "", log); err != nil {
		return err
	}
	if cfg.Workers == 0 {
		return fmt.Errorf("%w: a worker needs --workers > 0 (or -1)", errUsage)
	}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Start(ctx); err != nil {
		return err
	}
	log.Info("worker started", "workers", cfg.Workers)
	fmt.Fprintln(stdout, "worker started")
	<-ctx.Done()
	log.Info("worker stopping: the assets in hand finish, the rest go back to the queue")
	return nil
}

func envInt(key string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func envDuration(key string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(key)); err == nil {
		return v
	}
	return def
}

func newLogger(w io.Writer, json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "ipsd"
	}
	return h
}
