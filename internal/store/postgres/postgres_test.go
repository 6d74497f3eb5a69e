package postgres_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
	"github.com/ipsexport/ipsd/internal/store/storetest"
	"github.com/ipsexport/ipsd/internal/testpg"
)

var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

func open(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pg.NewDatabase(t))
	require.NoError(t, err)
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := open(t)
		require.NoError(t, s.Migrate(context.Background()))
		return s
	})
}

func TestOpenDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	v, err := s.MigrationVersion(ctx)
	require.NoError(t, err)
	assert.Zero(t, v)
	_, err = s.ListCompanies(ctx)
	assert.Error(t, err, "no tables before Migrate")
}

func TestMigrateIdempotentAndConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pg.NewDatabase(t)
	// Several processes migrating at once (workers starting together) take
	// turns on the advisory lock: what runs after the schema (River's
	// migrations) runs in one of them at a time, holding the lock.
	var inside, most atomic.Int32
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			s, err := postgres.Open(ctx, dsn)
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			errs <- s.MigrateWith(ctx, func(ctx context.Context) error {
				n := inside.Add(1)
				defer inside.Add(-1)
				if n > most.Load() {
					most.Store(n)
				}
				var held bool
				if err := s.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
					AND ((classid::bigint << 32) | objid::bigint) = $1)`, lock.DefaultLockID).Scan(&held); err != nil {
					return err
				}
				if !held {
					return errors.New("the migration lock is not held")
				}
				time.Sleep(50 * time.Millisecond)
				return nil
			})
		}()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}
	assert.Equal(t, int32(1), most.Load(), "one migrator at a time")
	s, err := postgres.Open(ctx, dsn)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	v, err := s.MigrationVersion(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, v, int64(1))
	require.NoError(t, s.Pool().Ping(ctx))
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := postgres.Open(ctx, "postgres://user:s3cret@[::1")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret", "no password in errors")
	_, err = postgres.Open(ctx, pg.DSN("no_such_database"))
	assert.Error(t, err)
}
