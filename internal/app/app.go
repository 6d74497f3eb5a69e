// Package app wires IPS Export together: store, file storage, service and
// HTTP server. `ipsd serve` and the integration tests build the same thing
// through it, so the tests exercise what ships.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/server"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
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
	ServerName      string
}

// App is a running IPS Export.
type App struct {
	Store   store.Store
	Blob    blob.Store
	Service *service.Service
	handler http.Handler
}

// Open opens (and migrates) the store and builds the service and handler.
func Open(ctx context.Context, cfg Config) (*App, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.New("app: no data directory")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", cfg.DataDir, err)
	}
	st, err := OpenStore(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	files, err := blob.NewLocal(filepath.Join(cfg.DataDir, "files"))
	if err != nil {
		st.Close()
		return nil, err
	}
	svc := service.New(st, log, service.Config{MaxExportHandles: cfg.MaxExportAssets, ServerName: cfg.ServerName})
	schemaSet := ipsapi.NewSchemas()
	h := server.New(server.Config{
		Dispatcher:         svc,
		Project:            soap.Projector(schemaSet.Project),
		Logger:             log,
		WSDL:               wsdl.Files,
		Schemas:            schemas.Files,
		DefaultWSDL:        ipsapi.Newest.WSDLFile,
		AddressPlaceholder: wsdl.AddressPlaceholder,
		MaxBodyBytes:       cfg.MaxRequestBytes,
		Ready: func(ctx context.Context) error {
			if err := st.Ping(ctx); err != nil {
				return fmt.Errorf("database: %w", err)
			}
			if _, err := os.Stat(files.Root()); err != nil {
				return fmt.Errorf("storage: %w", err)
			}
			return nil
		},
	})
	return &App{Store: st, Blob: files, Service: svc, handler: h}, nil
}

// OpenStore opens and migrates the configured store.
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

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }
