package store

import (
	"strings"

	"golang.org/x/text/cases"
)

// EmailKey is the key a user is found by: the e-mail without surrounding
// space, Unicode case-folded (so "ALICE@x", "alice@x" and "alice@\u017F…"
// with a long s for an s are one user). Both drivers store and look users
// up by it, computed here rather than in SQL so that SQLite (whose lower()
// knows only ASCII) and PostgreSQL agree; the login limits key accounts by
// it too, so that no spelling of an address gets a budget of its own.
func EmailKey(email string) string {
	// A Caser is not safe for concurrent use, hence one per call.
	return cases.Fold().String(strings.TrimSpace(email))
}
