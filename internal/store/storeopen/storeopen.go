// Package storeopen picks the store driver from the configuration.
package storeopen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

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

// Migrate applies pending schema migrations to a store Open returned.
func Migrate(ctx context.Context, st store.Store) error {
	m, ok := st.(interface{ Migrate(context.Context) error })
	if !ok {
		return fmt.Errorf("migrate: %T has no migrations", st)
	}
	return m.Migrate(ctx)
}
