// Package storeopen picks the store driver from the configuration and
// migrates the database it opens.
package storeopen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
)

// SQLiteFile is the embedded database's file name in the data directory.
const SQLiteFile = "ipsd.db"

// IsPostgres reports whether databaseURL selects PostgreSQL.
func IsPostgres(databaseURL string) bool {
	u := strings.ToLower(databaseURL)
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// Open opens PostgreSQL when databaseURL is a postgres:// or postgresql://
// URL, else SQLite at <dataDir>/ipsd.db (creating dataDir). It does not
// migrate.
func Open(ctx context.Context, databaseURL, dataDir string) (store.Store, error) {
	if IsPostgres(databaseURL) {
		return postgres.Open(ctx, databaseURL)
	}
	if databaseURL != "" {
		return nil, fmt.Errorf("database URL: want postgres:// or postgresql://, or none for SQLite in the data directory")
	}
	if dataDir == "" {
		return nil, fmt.Errorf("no database URL and no data directory")
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	return sqlite.Open(ctx, filepath.Join(dataDir, SQLiteFile))
}

// Migrate brings every table of the database to the current version: the
// catalogue's and job log's (goose, ours) and the job queue's (River's own
// migrations, which River ships as a library; the engine in package jobs
// only uses its tables). On PostgreSQL both run under one advisory lock
// (postgres.Store.MigrateWith), so processes that start together never
// race on them; on SQLite, which one process owns, a second run finds
// nothing to do. `ipsd migrate` calls it, and so does every process at
// start (docs/operations.md).
func Migrate(ctx context.Context, st store.Store) error {
	switch s := st.(type) {
	case *postgres.Store:
		return s.MigrateWith(ctx, riverUp(riverpgxv5.New(s.Pool())))
	case *sqlite.Store:
		if err := s.Migrate(ctx); err != nil {
			return err
		}
		return riverUp(riversqlite.New(s.DB()))(ctx)
	}
	return fmt.Errorf("migrate: no migrations for %T", st)
}

// riverUp applies River's pending migrations through drv.
func riverUp[TTx any](drv riverdriver.Driver[TTx]) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		m, err := rivermigrate.New(drv, nil)
		if err != nil {
			return fmt.Errorf("river migrator: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("river migrate: %w", err)
		}
		return nil
	}
}

// Where says which database databaseURL and dataDir select, without
// secrets, in a form two settings can be compared by: "PostgreSQL
// host=… port=… database=…" or "SQLite /abs/path/ipsd.db".
func Where(databaseURL, dataDir string) string {
	if IsPostgres(databaseURL) {
		cfg, err := pgconn.ParseConfig(databaseURL)
		if err != nil {
			return "PostgreSQL (invalid URL)"
		}
		return fmt.Sprintf("PostgreSQL host=%s port=%d database=%s", cfg.Host, cfg.Port, cfg.Database)
	}
	if databaseURL != "" {
		return "an unknown database URL"
	}
	p := filepath.Join(dataDir, SQLiteFile)
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	return "SQLite " + p
}
