package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t, filepath.Join(t.TempDir(), "ipsd.db"))
		require.NoError(t, s.Migrate(context.Background()))
		return s
	})
}

func TestOpenConfiguresDatabase(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "dir with space?#", "..", "ipsd.db"))
	defer s.Close()
	db := s.DB()
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"busy_timeout": "10000",
	} {
		var got string
		require.NoError(t, db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got), pragma)
		assert.Equal(t, want, got, pragma)
	}
	assert.Equal(t, 1, db.Stats().MaxOpenConnections, "one connection, as riversqlite wants")
}

func TestOpenDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "ipsd.db"))
	defer s.Close()
	v, err := s.MigrationVersion(ctx)
	require.NoError(t, err)
	assert.Zero(t, v)
	_, err = s.ListCompanies(ctx)
	assert.Error(t, err, "no tables before Migrate")
}

func TestMigrateIdempotentAndPersistent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ipsd.db")
	s := open(t, path)
	require.NoError(t, s.Migrate(ctx))
	require.NoError(t, s.Migrate(ctx), "again: nothing to do")
	v, err := s.MigrationVersion(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, v, int64(1))
	co, err := s.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = open(t, path)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	got, err := s.CompanyByName(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, co, got)
}
