// Package sqlstore is the catalogue and the jobs shared by the SQLite and
// PostgreSQL drivers: one implementation of the store semantics over
// database/sql, with the few SQL differences behind Dialect. Keeping the
// semantics in one place means the drivers cannot drift apart; the
// conformance suite checks both.
package sqlstore

import (
	"database/sql"
	"fmt"
	"time"
)

// Dialect is what differs between the databases.
type Dialect interface {
	// Rebind turns the ? placeholders of q into the database's own.
	Rebind(q string) string
	// Contains is a condition true when needle (an SQL expression, usually
	// a placeholder) is a substring of haystack.
	Contains(haystack, needle string) string
	// InInts and InStrings return the condition "col is one of vals" with
	// the single argument it takes, so lists of any length need no
	// placeholder expansion.
	InInts(col string, vals []int64) (cond string, arg any)
	InStrings(col string, vals []string) (cond string, arg any)
	// TimeArg encodes a timestamp argument.
	TimeArg(t time.Time) any
	// NoLimit is the clause before OFFSET when a query has no limit.
	NoLimit() string
	// IsUniqueViolation reports whether err is a unique constraint error.
	IsUniqueViolation(err error) bool
	// ForUpdate is the clause that ends a SELECT to lock the rows it reads
	// until the transaction ends, or "" where a transaction already holds
	// the whole database.
	ForUpdate() string
}

// Time is a sql.Scanner for timestamps as either driver returns them:
// time.Time (PostgreSQL) or the text TimeArg wrote (SQLite).
type Time struct{ T *time.Time }

// TextTimeLayout is how SQLite stores timestamps: UTC with fixed-width
// microseconds, so text order is time order.
const TextTimeLayout = "2006-01-02T15:04:05.000000Z"

// Scan implements sql.Scanner.
func (s Time) Scan(v any) error {
	switch x := v.(type) {
	case time.Time:
		*s.T = x.UTC()
		return nil
	case string:
		return s.parse(x)
	case []byte:
		return s.parse(string(x))
	}
	return fmt.Errorf("scan time: unsupported type %T", v)
}

func (s Time) parse(v string) error {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("scan time %q: %w", v, err)
	}
	*s.T = t.UTC()
	return nil
}

// NullTime is a Time whose NULL is the zero time: the timestamps a row may
// not have yet (a job's Started, Ended).
type NullTime struct{ T *time.Time }

// Scan implements sql.Scanner.
func (s NullTime) Scan(v any) error {
	if v == nil {
		*s.T = time.Time{}
		return nil
	}
	return Time(s).Scan(v)
}

var (
	_ sql.Scanner = Time{}
	_ sql.Scanner = NullTime{}
)
