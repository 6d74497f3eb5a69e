package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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

// TestReadsDoNotWaitForTheWriter: while a transaction holds the one writer
// connection, plain reads are answered from the read-only pool, with the
// last committed state; the transaction's own writes show once it commits.
func TestReadsDoNotWaitForTheWriter(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "ipsd.db"))
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	co, err := s.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	err = s.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, `INSERT INTO companies (name, name_key, created) VALUES ('Globex', 'globex', '2030-01-01T00:00:00.000000Z')`); err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		cos, err := s.ListCompanies(rctx) // would wait forever on the writer's one connection
		require.NoError(t, err)
		assert.Equal(t, []string{co.Name}, names(cos), "the last commit, not the open transaction")
		return nil
	})
	require.NoError(t, err)
	cos, err := s.ListCompanies(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"Acme", "Globex"}, names(cos))

	// The read-only pool refuses writes.
	_, err = s.ReaderDB().ExecContext(ctx, `DELETE FROM companies`)
	assert.Error(t, err)
}

func names(cos []store.Company) []string {
	var out []string
	for _, c := range cos {
		out = append(out, c.Name)
	}
	return out
}
