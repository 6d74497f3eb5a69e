package storeopen_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
	"github.com/ipsexport/ipsd/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

func TestIsPostgres(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://u@host/db":   true,
		"postgresql://u@host/db": true,
		"POSTGRES://u@host/db":   true,
		"":                       false,
		"sqlite:///x.db":         false,
		"/var/lib/ipsd":          false,
		"postgres:/nope":         false,
	} {
		assert.Equal(t, want, storeopen.IsPostgres(url), url)
	}
}

func TestOpenSQLiteInDataDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "data")
	st, err := storeopen.Open(ctx, "", dir)
	require.NoError(t, err)
	defer st.Close()
	assert.IsType(t, &sqlite.Store{}, st)
	assert.FileExists(t, filepath.Join(dir, "ipsd.db"))

	require.NoError(t, storeopen.Migrate(ctx, st))
	require.NoError(t, storeopen.Migrate(ctx, st), "again: nothing to do")
	_, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	var n int
	require.NoError(t, st.(*sqlite.Store).DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job`).Scan(&n),
		"River's tables are migrated with the catalogue")
}

// Processes started together on a fresh PostgreSQL (replicas, or `ipsd
// migrate` beside them) all migrate, River's tables included, without
// one failing on another's half-made tables.
func TestMigratePostgresConcurrently(t *testing.T) {
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	const n = 4
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		go func() {
			st, err := storeopen.Open(ctx, dsn, "")
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			<-start
			errs <- storeopen.Migrate(ctx, st)
		}()
	}
	close(start)
	for range n {
		require.NoError(t, <-errs)
	}
	st, err := storeopen.Open(ctx, dsn, "")
	require.NoError(t, err)
	defer st.Close()
	pool := st.(*postgres.Store).Pool()
	var jobs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&jobs))
	var versions int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_migration`).Scan(&versions))
	assert.Positive(t, versions, "River's migrations are recorded")
	_, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
}

func TestOpenPostgresURLGoesToPostgres(t *testing.T) {
	// No server behind it: the error shows which driver tried.
	_, err := storeopen.Open(context.Background(), "postgres://u@/db?host="+filepath.Join(t.TempDir(), "none")+"&connect_timeout=1", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "postgres")
}

func TestOpenRefusesOtherURLs(t *testing.T) {
	dir := t.TempDir()
	_, err := storeopen.Open(context.Background(), "mysql://u@host/db", dir)
	assert.Error(t, err, "a mistyped URL must not silently fall back to SQLite")
	_, err = os.Stat(filepath.Join(dir, "ipsd.db"))
	assert.True(t, os.IsNotExist(err))
	_, err = storeopen.Open(context.Background(), "", "")
	assert.Error(t, err)
}
