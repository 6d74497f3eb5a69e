package app

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
	"github.com/ipsexport/ipsd/internal/testpg"
)

// pg is a real PostgreSQL server for this package's tests (testpg: its own
// initdb cluster in a temp directory, on a socket).
var pg *testpg.Server

// s3 is a real S3-compatible server (versitygw), started by the first
// test that needs it.
var s3 struct {
	once sync.Once
	srv  *s3test.Server
	err  error
}

func s3Server(t *testing.T) *s3test.Server {
	t.Helper()
	s3.once.Do(func() { s3.srv, s3.err = s3test.Start(context.Background()) })
	if s3.err != nil {
		t.Fatalf("s3 server: %v", s3.err)
	}
	return s3.srv
}

func TestMain(m *testing.M) {
	var err error
	if pg, err = testpg.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "testpg:", err)
		os.Exit(1)
	}
	code := m.Run()
	if s3.srv != nil {
		_ = s3.srv.Stop()
	}
	if err := pg.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "testpg:", err)
		code = 1
	}
	os.Exit(code)
}

// testDatabase is one store the end-to-end tests run against.
type testDatabase struct {
	name string
	url  func(t *testing.T) string
}

// testDatabases are the embedded SQLite default and PostgreSQL: the job
// engine runs on River's driver for each, so each is tested.
func testDatabases(t *testing.T) []testDatabase {
	return []testDatabase{
		{"sqlite", func(*testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return pg.NewDatabase(t) }},
	}
}
