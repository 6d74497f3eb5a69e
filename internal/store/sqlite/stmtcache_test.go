package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The connection keeps statements prepared by their text; a second query of
// the same text while the first one's rows are open must not reset the
// first one's cursor, and more distinct texts than the cache holds must
// still all run.
func TestPreparedStatementsReusedSafely(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "ipsd.db"))
	defer s.Close()
	db := s.DB()
	_, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER)`)
	require.NoError(t, err)
	for i := range 5 {
		_, err := db.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, i)
		require.NoError(t, err)
	}
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`

	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	outer, err := tx.QueryContext(ctx, q, 0)
	require.NoError(t, err)
	var got []int
	for outer.Next() {
		var n int
		require.NoError(t, outer.Scan(&n))
		// The same text again, while outer is open.
		inner, err := tx.QueryContext(ctx, q, n)
		require.NoError(t, err)
		count := 0
		for inner.Next() {
			count++
		}
		require.NoError(t, inner.Err())
		require.NoError(t, inner.Close())
		assert.Equal(t, 5-n, count)
		got = append(got, n)
	}
	require.NoError(t, outer.Err())
	require.NoError(t, outer.Close())
	require.NoError(t, tx.Commit())
	assert.Equal(t, []int{0, 1, 2, 3, 4}, got, "the outer cursor ran through undisturbed")

	// Many distinct texts (beyond the cache's size), then the first again.
	for i := range 600 {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*) + %d FROM t`, i)).Scan(&n))
		assert.Equal(t, 5+i, n)
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, q+` LIMIT 1`, 3).Scan(&n))
	assert.Equal(t, 3, n)

	// A failing statement leaves its prepared statement usable.
	_, err = db.ExecContext(ctx, `INSERT INTO t (n) VALUES (?)`, "x'")
	require.NoError(t, err, "SQLite stores any type")
	_, err = db.ExecContext(ctx, `INSERT INTO nosuch (n) VALUES (?)`, 1)
	require.Error(t, err)
}
