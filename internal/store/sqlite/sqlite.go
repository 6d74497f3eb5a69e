// Package sqlite is the embedded store: one SQLite file in the data
// directory, on the pure-Go modernc.org/sqlite driver.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path/filepath"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	*sqlstore.Catalog
	*sqlstore.Jobs
	db     *sql.DB // the one writer connection, shared with River
	reader *sql.DB // read-only connections
}

// readers is the size of the read-only pool: under WAL, readers run beside
// the writer and each other.
const readers = 4

var _ store.Store = (*Store)(nil)

// Open opens (creating it if need be) the database file at path. It does
// not migrate: call Migrate.
func Open(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	// Every pragma is per connection, so it goes in the DSN, which the
	// driver applies to each new connection. busy_timeout waits out another
	// process (an `ipsd admin` next to `ipsd serve`); _txlock=immediate takes
	// the write lock at BEGIN, so a transaction never fails half-way on a
	// lock upgrade that busy_timeout cannot wait out.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)") // durable enough under WAL, much faster
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	wc, err := newCachingConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	db := sql.OpenDB(wc)
	// One connection, as River's riversqlite driver asks ("set the maximum
	// pool size to one connection like dbPool.SetMaxOpenConns(1)"): SQLite
	// allows one writer, and River, which shares this *sql.DB, otherwise
	// meets SQLITE_BUSY under its concurrent work. Everything here then
	// queues on database/sql's pool instead of on SQLite locks. The price:
	// never issue a query on the DB while holding rows or a transaction of
	// it, or it waits forever.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	// Plain reads go to a pool of their own: with the single writer
	// connection busy in a long transaction (a 10,000-asset submit),
	// another company's getFolders would otherwise wait for it. WAL lets
	// readers see the last commit without waiting for the writer.
	rq := url.Values{}
	rq.Add("_pragma", "busy_timeout(10000)")
	rq.Add("_pragma", "foreign_keys(1)")
	rq.Add("_pragma", "query_only(1)")
	rc, err := newCachingConnector("file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + rq.Encode())
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", abs, err)
	}
	reader := sql.OpenDB(rc)
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	jobs := sqlstore.NewJobs(db, reader, dialect{})
	jobs.GroupCommits() // one writer: concurrent submits share a commit
	return &Store{Catalog: sqlstore.New(db, reader, dialect{}), Jobs: jobs, db: db, reader: reader}, nil
}

// DB is the database, for River's riversqlite driver.
func (s *Store) DB() *sql.DB { return s.db }

// ReaderDB is the pool of read-only connections plain reads use.
func (s *Store) ReaderDB() *sql.DB { return s.reader }

// Ping checks the database.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() error { return errors.Join(s.reader.Close(), s.db.Close()) }

// Migrate applies the pending schema migrations.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
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
		return 0, fmt.Errorf("sqlite schema version: %w", err)
	}
	return v, nil
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	return p, nil
}

type dialect struct{}

func (dialect) Rebind(q string) string { return q }

func (dialect) Contains(haystack, needle string) string {
	return "instr(" + haystack + ", " + needle + ") > 0"
}

// Lists travel as one JSON argument, unpacked by json_each, so their length
// is not bound by SQLite's limit on variables.
func (dialect) InInts(col string, vals []int64) (string, any) {
	b, _ := json.Marshal(vals)
	return col + " IN (SELECT value FROM json_each(?))", string(b)
}

func (dialect) InStrings(col string, vals []string) (string, any) {
	b, _ := json.Marshal(vals)
	return col + " IN (SELECT value FROM json_each(?))", string(b)
}

func (dialect) TimeArg(t time.Time) any { return t.UTC().Format(sqlstore.TextTimeLayout) }

func (dialect) NoLimit() string { return "LIMIT -1" }

// ForUpdate is empty: with _txlock=immediate every transaction holds the
// database's write lock from BEGIN, so it reads and writes alone.
func (dialect) ForUpdate() string { return "" }

func (dialect) IsUniqueViolation(err error) bool {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
