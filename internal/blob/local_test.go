package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	l, err := NewLocal(t.TempDir())
	require.NoError(t, err)
	data := strings.Repeat("pixels", 10000)
	info, err := l.Put(ctx, "c1/ab/file.jpg", strings.NewReader(data))
	require.NoError(t, err)
	sum := sha256.Sum256([]byte(data))
	assert.Equal(t, hex.EncodeToString(sum[:]), info.SHA256)
	assert.Equal(t, int64(len(data)), info.Size)

	rc, st, err := l.Open(ctx, "c1/ab/file.jpg")
	require.NoError(t, err)
	got, _ := io.ReadAll(rc)
	rc.Close()
	assert.Equal(t, data, string(got))
	assert.Equal(t, int64(len(data)), st.Size)

	require.NoError(t, l.Delete(ctx, "c1/ab/file.jpg"))
	_, _, err = l.Open(ctx, "c1/ab/file.jpg")
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, l.Delete(ctx, "c1/ab/file.jpg"))
}

func TestLocalFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := NewLocal(dir)
	require.NoError(t, err)
	_, err = l.Put(ctx, "x/y.bin", iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(strings.Repeat("a", 100)))))
	require.Error(t, err)
	entries, _ := os.ReadDir(filepath.Join(dir, "x"))
	assert.Empty(t, entries, "no temp file or partial file is left")
}

func TestLocalRejectsEscapingKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := NewLocal(filepath.Join(dir, "root"))
	require.NoError(t, err)
	for _, k := range []string{"../x", "/etc/passwd", "a/../../x", "a//b", "a/./b", "", "a\x00b", `a\b`, "."} {
		_, err := l.Put(ctx, k, strings.NewReader("x"))
		assert.Error(t, err, k)
	}
	// A symlink inside the root pointing outside is not served.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "root", "link")))
	_, _, err = l.Open(ctx, "link")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestLocalDeletePrefix(t *testing.T) {
	ctx := context.Background()
	l, err := NewLocal(t.TempDir())
	require.NoError(t, err)
	for _, k := range []string{"exports/j1/a.jpg", "exports/j1/sub/b.jpg", "exports/j2/c.jpg"} {
		_, err := l.Put(ctx, k, strings.NewReader(k))
		require.NoError(t, err)
	}
	require.NoError(t, l.DeletePrefix(ctx, "exports/j1/"))
	_, err = l.Stat(ctx, "exports/j1/a.jpg")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = l.Stat(ctx, "exports/j2/c.jpg")
	assert.NoError(t, err)
}
