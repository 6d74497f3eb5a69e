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
