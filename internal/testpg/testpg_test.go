package testpg_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestDatabasesAreIsolated(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := pg.NewDatabase(t), pg.NewDatabase(t)
	require.NotEqual(t, dsnA, dsnB)
	a, b := connect(t, dsnA), connect(t, dsnB)

	_, err := a.Exec(ctx, `CREATE TABLE only_in_a (x int)`)
	require.NoError(t, err)
	var n int
	require.NoError(t, b.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n))
	assert.Zero(t, n)
	require.NoError(t, a.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n))
	assert.Equal(t, 1, n)
}

func TestUnixSocketOnly(t *testing.T) {
	ctx := context.Background()
	conn := connect(t, pg.NewDatabase(t))
	var listen string
	require.NoError(t, conn.QueryRow(ctx, `SHOW listen_addresses`).Scan(&listen))
	assert.Empty(t, listen, "no TCP listener")
	assert.FileExists(t, filepath.Join(pg.Dir(), ".s.PGSQL.5432"))
	var fsync string
	require.NoError(t, conn.QueryRow(ctx, `SHOW fsync`).Scan(&fsync))
	assert.Equal(t, "off", fsync)
}

func TestDatabaseDroppedAfterTest(t *testing.T) {
	ctx := context.Background()
	var name string
	t.Run("inner", func(t *testing.T) {
		conn := connect(t, pg.NewDatabase(t))
		require.NoError(t, conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name))
	})
	admin := connect(t, pg.DSN("postgres"))
	var n int
	require.NoError(t, admin.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
	assert.Zero(t, n, "database %s dropped", name)
}

func TestLongTestNameStillUnique(t *testing.T) {
	long := "a_very_long_subtest_name_that_goes_well_past_the_sixty_three_byte_limit_of_identifiers"
	var dsns []string
	for range 2 {
		t.Run(long, func(t *testing.T) {
			dsn := pg.NewDatabase(t)
			connect(t, dsn)
			dsns = append(dsns, dsn)
		})
	}
	require.Len(t, dsns, 2)
	assert.NotEqual(t, dsns[0], dsns[1])
}

// A second server of its own: Stop must end it and remove its directory.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	s, err := testpg.Start(ctx)
	require.NoError(t, err)
	dir := s.Dir()
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))

	require.NoError(t, s.Stop())
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "directory removed")
	_, err = pgx.Connect(ctx, s.DSN("postgres"))
	assert.Error(t, err, "server gone")
}
