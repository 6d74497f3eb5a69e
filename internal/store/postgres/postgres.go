// Package postgres is the scale-out store, on PostgreSQL through pgx v5.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL store. The catalogue and the jobs run on
// database/sql over the pgx pool (one pool, one set of connections), so they
// share their code with the SQLite driver; River's riverpgxv5 driver takes
// Pool directly.
type Store struct {
	*sqlstore.Catalog
	*sqlstore.Jobs
	pool *pgxpool.Pool
	db   *sql.DB
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at databaseURL (postgres://…). It does not
// migrate: call Migrate.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// The parse error quotes the URL, password included: keep it out.
		return nil, errors.New("postgres: invalid database URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres %s: %w", redact(cfg), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	return &Store{Catalog: sqlstore.New(db, db, dialect{}), Jobs: sqlstore.NewJobs(db, db, dialect{}), pool: pool, db: db}, nil
}

func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("host=%s port=%d database=%s user=%s", c.Host, c.Port, c.Database, c.User)
}

// Pool is the connection pool, for River's riverpgxv5 driver.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// DB is the pool seen through database/sql.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// Close closes the pool.
func (s *Store) Close() error {
	err := s.db.Close()
	s.pool.Close()
	return err
}

// MigrateLockTimeout bounds the wait for another process's migration.
const MigrateLockTimeout = 5 * time.Minute

// Migrate applies the pending schema migrations (MigrateWith, nothing
// more).
func (s *Store) Migrate(ctx context.Context) error { return s.MigrateWith(ctx) }

// MigrateWith applies the pending schema migrations, then runs each of
// more (the job queue's migrations), all under one session advisory lock
// taken with pg_advisory_lock on a connection of its own: processes that
// start together (replicas, `ipsd migrate` beside them) take turns, and
// the later ones find nothing to do. The lock is goose's (lock.DefaultLockID),
// so an older ipsd migrating through goose's own locker takes turns too.
// The connection is closed at the end, which releases the lock whatever
// happened; a wait longer than MigrateLockTimeout is an error.
func (s *Store) MigrateWith(ctx context.Context, more ...func(context.Context) error) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("migrate postgres: lock connection: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	lockCtx, cancel := context.WithTimeout(ctx, MigrateLockTimeout)
	_, err = conn.Exec(lockCtx, "SELECT pg_advisory_lock($1)", lock.DefaultLockID)
	cancel()
	if err != nil {
		return fmt.Errorf("migrate postgres: waiting for the migration lock (another process is migrating; session advisory lock %d): %w", lock.DefaultLockID, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	for _, m := range more {
		if err := m(ctx); err != nil {
			return err
		}
	}
	return nil
}

// MigrationVersion returns the schema version the database is at.
func (s *Store) MigrationVersion(ctx context.Context) (int64, error) {
	p, err := s.provider()
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("postgres schema version: %w", err)
	}
	return v, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, s.db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("postgres migrations: %w", err)
	}
	return p, nil
}

type dialect struct{}

// Rebind numbers the ? placeholders; the catalogue's SQL has no other "?".
func (dialect) Rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (dialect) Contains(haystack, needle string) string {
	return "strpos(" + haystack + ", " + needle + ") > 0"
}

// Lists travel as one array argument, so their length is not bound by the
// protocol's 65535 parameters.
func (dialect) InInts(col string, vals []int64) (string, any) {
	return col + " = ANY(?::bigint[])", vals
}

func (dialect) InStrings(col string, vals []string) (string, any) {
	return col + " = ANY(?::text[])", vals
}

func (dialect) TimeArg(t time.Time) any { return t.UTC() }

func (dialect) NoLimit() string { return "" }

func (dialect) ForUpdate() string { return "FOR UPDATE" }

func (dialect) IsUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
