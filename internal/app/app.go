// Package app wires IPS Export together: store, file storage, service and
// HTTP server. `ipsd serve` and the integration tests build the same thing
// through it, so the tests exercise what ships.
package app

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/blobopen"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/httplimit"
	"github.com/ipsexport/ipsd/internal/iccprofile"
	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/metrics"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/render"
	"github.com/ipsexport/ipsd/internal/rendition"
	"github.com/ipsexport/ipsd/internal/server"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
	"github.com/ipsexport/ipsd/internal/upload"
	"github.com/ipsexport/ipsd/schemas"
	"github.com/ipsexport/ipsd/wsdl"
)

// Config selects the store and sets the limits.
type Config struct {
	DataDir     string // embedded database and local files
	DatabaseURL string // PostgreSQL; empty = SQLite under DataDir
	Logger      *slog.Logger
	// MaxRequestBytes bounds a SOAP request body (default 8 MiB).
	MaxRequestBytes int64
	// MaxExportAssets bounds an exportJob's assetHandleArray (default 10,000).
	MaxExportAssets int
	// MaxRequestItems bounds every other array of a request (default 10,000).
	MaxRequestItems int
	// MaxUploadBytes bounds one UploadFile file (0: 2 GiB; negative: none);
	// UploadJobTimeout ends an upload job idle that long (0: 30 minutes).
	MaxUploadBytes   int64
	UploadJobTimeout time.Duration
	// ZipReadAheadBytes bounds the memory one zip download holds for
	// entries read and compressed ahead of the response (0:
	// download.DefaultZipReadAhead).
	ZipReadAheadBytes int64
	ServerName        string
	// Limits of requests before they are answered (docs/security.md):
	// zero fields take DefaultRequestLimits'.
	RequestLimits RequestLimits
	// Logins limits failed logins (zero fields: service defaults).
	Logins service.LoginPolicy

	// Workers is how many export chunks this process works at once: 0
	// makes a front end only, negative means one per CPU.
	Workers int
	// ChunkSize, ChunkTimeout and RescueAfter tune the job engine (see
	// package jobs); zero means its defaults.
	ChunkSize    int
	ChunkTimeout time.Duration
	RescueAfter  time.Duration
	// Lease is how long a dead worker keeps its running chunks on
	// PostgreSQL (jobs.Config.Lease; zero means jobs.DefaultLease).
	Lease time.Duration
	// Retention is how long exports are kept (default 7 days).
	Retention time.Duration
	// MaxExportFileBytes bounds each exported file and MaxExportJobBytes
	// the files of one job together (0: jobs.DefaultMaxFileBytes,
	// DefaultMaxJobBytes; negative: none). OriginalGrace is how long the
	// file of a replaced or deleted asset is kept at least, and then until
	// no unfinished export needs it (0: catalog.DefaultGrace).
	MaxExportFileBytes, MaxExportJobBytes int64
	OriginalGrace                         time.Duration
	// RenditionCacheBytes bounds the rendition cache (docs/rendition-cache.md);
	// 0 or less: no cache (ipsd serve's flag defaults to
	// rendition.DefaultMaxBytes).
	RenditionCacheBytes int64
	// PublicURL is the base of links in mail ("https://ips.example.com");
	// default http://localhost:8080.
	PublicURL string
	// SigningKey signs download links; every process of one deployment
	// needs the same. Empty: read or create DataDir/signing.key.
	SigningKey []byte
	// SMTP sends job mail; nil writes it as .eml files under DataDir/mail.
	SMTP *notify.SMTPSender
	// Location is the time zone of execSchedule and of the Jobs page
	// (default the system's, by its IANA name: jobs.LocalZone).
	Location *time.Location
	// S3 stores files in an S3-compatible bucket instead of DataDir/files
	// (blobopen.ParseS3 makes it from the operator's settings).
	S3 *s3blob.Config
	// Render configures the renderer; the registered ICC profiles are
	// added (iccprofile: DataDir/icc, and the bucket's with S3).
	Render render.Config
	// WebSessionTTL is how long a sign-in to the Jobs page lasts (0: 12h).
	WebSessionTTL time.Duration
	// MetricsToken, when set, serves /metrics on the API address to
	// requests bearing it (and MetricsHandler requires it too); without
	// it the API address has no /metrics (docs/operations.md).
	MetricsToken string
}

// App is a running IPS Export.
type App struct {
	Store   store.Store
	Blob    blob.Store
	Service *service.Service
	Jobs    *jobs.Engine
	handler http.Handler
	// metrics is token-checked when a token is set; apiMetrics is it
	// with a token, nil without (not on the API address).
	metrics, apiMetrics http.Handler
	dataDir             string
}

// Open opens (and migrates) the store and builds the service and handler.
// Each part is built whole, after the parts it needs, in this order:
// store and files; metrics (its gauges read the store); the download
// signer, the renderer and job mail; the upload idle sweeper; the job
// engine (which runs the sweeper on its maintenance tick); the service;
// the upload servlet and downloads; the HTTP handler.
func Open(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.New("app: no data directory")
	}
	if cfg.Location == nil || cfg.Location == time.Local {
		cfg.Location = jobs.LocalZone(jobs.SystemZone{})
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	st, err := OpenStore(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, cfg, st, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// build makes every part over an open store.
func build(ctx context.Context, cfg Config, st store.Store, log *slog.Logger) (*App, error) {
	queueDB, err := readerDB(st)
	if err != nil {
		return nil, err
	}
	files, err := openFiles(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m := metrics.New(metrics.Gauges{JobStates: st.JobStateCounts, QueueDepth: jobs.QueueDepth(queueDB)}, log)
	// Without a token the API address serves no /metrics.
	metricsHandler, apiMetrics := m.Handler(), http.Handler(nil)
	if cfg.MetricsToken != "" {
		metricsHandler = metrics.RequireToken(cfg.MetricsToken, metricsHandler)
		apiMetrics = metricsHandler
	}
	signer, err := openSigner(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.MaxExportFileBytes == 0 {
		cfg.MaxExportFileBytes = jobs.DefaultMaxFileBytes
	}
	if cfg.Render.MaxOutputBytes == 0 {
		cfg.Render.MaxOutputBytes = max(cfg.MaxExportFileBytes, 0)
	}
	renderer, err := openRenderer(ctx, cfg, files, log)
	if err != nil {
		return nil, err
	}
	public := cfg.PublicURL
	if public == "" {
		public = "http://localhost:8080"
	}
	mailer := &jobs.Mailer{Store: st, Sender: openMailSender(cfg, log), Signer: signer, PublicURL: public, Log: log}
	if cfg.SMTP != nil {
		mailer.SendTimeout = cfg.SMTP.Timeout
	}
	sweeper, err := upload.NewSweeper(upload.Config{Store: st, JobTimeout: cfg.UploadJobTimeout, Mail: mailer.MailJob, Logger: log})
	if err != nil {
		return nil, err
	}
	originals := &catalog.Collector{Store: st, Blob: files, Grace: cmp.Or(cfg.OriginalGrace, catalog.DefaultGrace), Log: log}
	var cache export.Cache
	if c := rendition.New(rendition.Config{Blob: files, Index: st, MaxBytes: cfg.RenditionCacheBytes,
		RendererVersion: renderer.Version(), Logger: log}); c != nil {
		cache = c
	}
	engine, err := openEngine(ctx, st, jobs.Config{
		Store: st, Blob: files, Renderer: exportRenderer{renderer}, Cache: cache, Mail: mailer, Signer: signer, PublicURL: public,
		Workers: cfg.Workers, ChunkSize: cfg.ChunkSize, ChunkTimeout: cfg.ChunkTimeout,
		RescueAfter: cfg.RescueAfter, Lease: cfg.Lease, Retention: cfg.Retention, Location: cfg.Location, Logger: log,
		MaxFileBytes: cfg.MaxExportFileBytes, MaxJobBytes: cfg.MaxExportJobBytes,
		Observer: m,
		Sweep: func(ctx context.Context) error {
			_, err := sweeper.Sweep(ctx)
			_, cerr := originals.Sweep(ctx)
			return errors.Join(err, cerr)
		},
	})
	if err != nil {
		return nil, err
	}
	svc := service.New(st, log, service.Config{
		MaxExportHandles: cfg.MaxExportAssets, MaxRequestItems: cfg.MaxRequestItems, ServerName: cfg.ServerName, Jobs: engine,
		Logins: cfg.Logins,
	})
	limits := cfg.RequestLimits.withDefaults()
	budget := httplimit.NewBudget(limits.MaxBufferedBytes)
	uploads, err := upload.New(upload.Config{
		Service: svc, Store: st, Importer: &catalog.Importer{Store: st, Blob: files},
		MaxFileBytes: cfg.MaxUploadBytes, MaxPreAuthBytes: cfg.MaxRequestBytes, Budget: budget,
		JobTimeout: cfg.UploadJobTimeout, Logger: log, Mail: mailer.MailJob, Sweeper: sweeper,
	})
	if err != nil {
		return nil, err
	}
	downloads := &download.Handler{
		Jobs: jobs.Downloads{Store: st}, Store: files, Signer: signer, Log: log,
		Zip: download.ZipOptions{ReadAheadBytes: cfg.ZipReadAheadBytes},
		Authorize: func(ctx context.Context, user, password, remoteAddr, companyHandle string) bool {
			u, err := svc.Login(ctx, user, password, remoteAddr)
			if err != nil || companyHandle == "" {
				return false
			}
			_, err = svc.CompanyAccess(ctx, u, companyHandle)
			return err == nil
		},
	}
	pages, err := jobsPage(cfg, st, svc, engine, signer.Key, log)
	if err != nil {
		return nil, err
	}
	schemaSet := ipsapi.NewSchemas()
	h := server.New(server.Config{
		Dispatcher: svc,
		Project:    soap.Projector(schemaSet.Project),
		Observe: func(op string, faultCode int, elapsed time.Duration) {
			if !svc.Supports(op) {
				op = "" // counted as "unknown": a caller must not mint label values
			}
			m.ObserveRequest(op, faultCode, elapsed)
		},
		Metrics:            apiMetrics,
		Logger:             log,
		WSDL:               wsdl.Files,
		Schemas:            schemas.Files,
		DefaultWSDL:        ipsapi.Newest.WSDLFile,
		AddressPlaceholder: wsdl.AddressPlaceholder,
		MaxBodyBytes:       cfg.MaxRequestBytes,
		Budget:             budget,
		BodyPace:           limits.pace(),
		TrustedProxies:     limits.TrustedProxies,
		Ready:              ready(st, files),
		Routes: func(mux *http.ServeMux) {
			mux.Handle("GET "+download.RoutePrefix+"{rest...}", downloads)
			// A GET gets the IPS fault, not the mux's 405.
			mux.Handle("POST "+upload.Path, uploads)
			mux.Handle("GET "+upload.Path, uploads)
			pages.Routes(mux)
		},
	})
	return &App{Store: st, Blob: files, Service: svc, Jobs: engine, handler: h,
		metrics: metricsHandler, apiMetrics: apiMetrics, dataDir: cfg.DataDir}, nil
}

// ready reports whether the database and the file storage answer.
func ready(st store.Store, files blob.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return fmt.Errorf("database: %w", err)
		}
		if _, err := files.Stat(ctx, "readyz-probe"); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("storage: %w", err)
		}
		return nil
	}
}

// readerDB is the store's database for reading, River's tables included:
// on SQLite its read-only pool, so a scrape never waits for the writer.
func readerDB(st store.Store) (*sql.DB, error) {
	switch db := st.(type) {
	case *postgres.Store:
		return db.DB(), nil
	case *sqlite.Store:
		return db.ReaderDB(), nil
	}
	return nil, fmt.Errorf("no job queue for store %T", st)
}

// openFiles opens the file storage: the S3 bucket when configured, else
// DataDir/files (also any shared mount), as every command opens it.
func openFiles(ctx context.Context, cfg Config) (blob.Store, error) {
	return blobopen.Open(ctx, blobopen.Config{DataDir: cfg.DataDir, S3: cfg.S3})
}

// MinSigningKeyBytes is the shortest signing key taken: the key is all
// that stands between a guessed download link or Jobs-page sign-in and a
// company's files, so it must be at least as long as the HMAC-SHA256 output
// it keys (docs/operations.md, "The signing key").
const MinSigningKeyBytes = 32

// openSigner is the download link signer: the configured key, else
// DataDir/signing.key.
func openSigner(cfg Config) (download.Signer, error) {
	key := cfg.SigningKey
	if n := len(key); n > 0 && n < MinSigningKeyBytes {
		return download.Signer{}, fmt.Errorf("signing key: %d bytes, at least %d wanted (openssl rand -hex 32 makes one)", n, MinSigningKeyBytes)
	}
	if len(key) == 0 {
		var err error
		if key, err = signingKey(filepath.Join(cfg.DataDir, "signing.key")); err != nil {
			return download.Signer{}, err
		}
	}
	return download.Signer{Key: key}, nil
}

// openRenderer is the libvips renderer, with the registered ICC profiles
// (DataDir/icc, and the bucket's when files are in S3).
func openRenderer(ctx context.Context, cfg Config, files blob.Store, log *slog.Logger) (*render.Renderer, error) {
	rcfg := cfg.Render
	if rcfg.Logger == nil {
		rcfg.Logger = log
	}
	var shared blob.Store // registered profiles live in the bucket too
	if cfg.S3 != nil {
		shared = files
	}
	profiles, err := iccprofile.Load(ctx, cfg.DataDir, shared)
	if err != nil {
		return nil, err
	}
	if len(profiles) > 0 {
		rcfg.ICCProfiles = profiles
	}
	return render.New(rcfg)
}

// openMailSender is SMTP when configured, else .eml files under DataDir/mail.
func openMailSender(cfg Config, log *slog.Logger) notify.Sender {
	if cfg.SMTP != nil {
		if cfg.SMTP.Log == nil {
			cfg.SMTP.Log = log
		}
		return cfg.SMTP
	}
	return &notify.SpoolSender{Dir: filepath.Join(cfg.DataDir, "mail"), Log: log}
}

// openEngine builds the job engine on the store's database (whose River
// tables OpenStore has migrated).
func openEngine(ctx context.Context, st store.Store, jcfg jobs.Config) (*jobs.Engine, error) {
	var (
		engine *jobs.Engine
		err    error
	)
	switch db := st.(type) {
	case *postgres.Store:
		engine, err = jobs.NewPostgres(db.Pool(), db.DB(), jcfg)
	case *sqlite.Store:
		engine, err = jobs.NewSQLite(db.DB(), jcfg)
	default:
		err = fmt.Errorf("no job engine for store %T", st)
	}
	if err != nil {
		return nil, err
	}
	return engine, nil
}

// signingKey reads the download signing key, creating it on first use.
func signingKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= MinSigningKeyBytes {
		return b, nil
	}
	b := make([]byte, MinSigningKeyBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return b, nil
}

// Start starts this process's workers.
func (a *App) Start(ctx context.Context) error { return a.Jobs.Start(ctx) }

// OpenStore opens the configured store and brings every table to the
// current version, River's included (storeopen.Migrate: under an advisory
// lock on PostgreSQL, so processes may start together).
func OpenStore(ctx context.Context, databaseURL, dataDir string) (store.Store, error) {
	st, err := storeopen.Open(ctx, databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	if err := storeopen.Migrate(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Handler is the HTTP handler of every route.
func (a *App) Handler() http.Handler { return a.handler }

// MetricsHandler serves the metrics, requiring Config.MetricsToken when
// one is set: for a metrics address of its own (`--metrics-addr`).
func (a *App) MetricsHandler() http.Handler { return a.metrics }

// OpsHandler serves /healthz, /readyz and, under the API address's rule
// (only with Config.MetricsToken), /metrics: the HTTP face of a process
// that serves no API (`ipsd worker --addr`).
func (a *App) OpsHandler(log *slog.Logger) http.Handler {
	return server.Ops(server.Config{Ready: ready(a.Store, a.Blob), Metrics: a.apiMetrics, Logger: log})
}

// Close stops the workers (the asset in hand finishes; the rest go back
// to the queue) and releases the store.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.Jobs.Stop(ctx)
	return errors.Join(err, a.Store.Close())
}
