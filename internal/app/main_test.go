package app

import (
	"testing"

	"github.com/ipsexport/ipsd/internal/testpg"
)

// pg is a real PostgreSQL server for this package's tests (testpg: its own
// initdb cluster in a temp directory, on a socket).
var pg *testpg.Server

func TestMain(m *testing.M) { testpg.Main(m, &pg) }

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
