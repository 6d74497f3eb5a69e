package blob_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/blobtest"
)

func TestLocalConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		l, err := blob.NewLocal(t.TempDir())
		require.NoError(t, err)
		return l
	})
}

// The suite checks that a failed Put leaves no key; here, that it leaves no
// temporary file in the directory either.
func TestLocalFailedPutLeavesNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := blob.NewLocal(dir)
	require.NoError(t, err)
	_, err = l.Put(ctx, "x/y.bin", iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(strings.Repeat("a", 100)))))
	require.Error(t, err)
	entries, _ := os.ReadDir(filepath.Join(dir, "x"))
	assert.Empty(t, entries, "no temp file or partial file is left")
}

func TestLocalEscapes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := blob.NewLocal(filepath.Join(dir, "root"))
	require.NoError(t, err)
	for _, k := range []string{"../x", "/x", "a/../../x", "../root2/x"} {
		_, err := l.Put(ctx, k, strings.NewReader("x"))
		assert.Error(t, err, k)
	}
	entries, _ := os.ReadDir(dir)
	require.Len(t, entries, 1, "nothing written beside the root")
	// A symlink inside the root pointing outside is not served.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret"), []byte("s"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "root", "link")))
	_, _, err = l.Open(ctx, "link")
	assert.ErrorIs(t, err, blob.ErrNotFound)
	_, err = l.Stat(ctx, "link")
	assert.ErrorIs(t, err, blob.ErrNotFound)
}

// A name at the file system's limit is stored: the temporary file beside
// it has a short name of its own.
func TestLocalLongName(t *testing.T) {
	ctx := context.Background()
	l, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	key := "exports/j/" + strings.Repeat("é", 125) + ".jpg" // 254 bytes
	_, err = l.Put(ctx, key, strings.NewReader("data"))
	require.NoError(t, err)
	rc, info, err := l.Open(ctx, key)
	require.NoError(t, err)
	rc.Close()
	assert.EqualValues(t, 4, info.Size)
}

// Errors name keys, never the server's directories: they reach job logs.
func TestLocalErrorsNameKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l, err := blob.NewLocal(dir)
	require.NoError(t, err)
	// A file where a directory must go (holds as root too, unlike modes).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports"), nil, 0o644))
	_, err = l.Put(ctx, "exports/j/a.png", strings.NewReader("x"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exports/j/a.png")
	assert.NotContains(t, err.Error(), dir)

	_, err = l.Put(ctx, "x/"+strings.Repeat("n", 300), strings.NewReader("x"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), dir)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "d", "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "d", "sub", "f"), nil, 0o644))
	err = l.Delete(ctx, "d")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), dir)
}
