package iccprofile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/iccprofile"
)

// profile is a minimal ICC header: 128 bytes, "acsp" at 36, tag marks
// which registration it came from.
func profile(tag byte) []byte {
	b := make([]byte, 128)
	copy(b[36:], "acsp")
	b[100] = tag
	return b
}

func TestLocal(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	where, err := iccprofile.Add(ctx, data, nil, "press", profile(1))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(data, "icc", "press.icc"), where)
	_, err = iccprofile.Add(ctx, data, nil, "press", profile(2))
	require.NoError(t, err, "a name is registered again by replacing")

	got, err := iccprofile.Load(ctx, data, nil)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"press": where}, got)
	b, err := os.ReadFile(where)
	require.NoError(t, err)
	assert.Equal(t, profile(2), b)

	empty, err := iccprofile.Load(ctx, t.TempDir(), nil)
	require.NoError(t, err)
	assert.Empty(t, empty, "no DATA/icc: no profiles")
}

// With shared storage, a profile goes there (icc/NAME.icc), not into
// DATA/icc; another machine's Load finds it and copies it to a file
// libvips can read; a shared profile wins over a local one of its name.
func TestShared(t *testing.T) {
	ctx := t.Context()
	shared, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	admin := t.TempDir()
	where, err := iccprofile.Add(ctx, admin, shared, "fogra", profile(3))
	require.NoError(t, err)
	assert.Equal(t, "icc/fogra.icc", where)
	_, err = os.Stat(filepath.Join(admin, "icc"))
	assert.True(t, os.IsNotExist(err), "nothing written on the admin's machine")
	_, err = shared.Put(ctx, "icc/sub/nested.icc", strings.NewReader(string(profile(9))))
	require.NoError(t, err)
	_, err = shared.Put(ctx, "icc/readme.txt", strings.NewReader("not a profile"))
	require.NoError(t, err)

	worker := t.TempDir()
	_, err = iccprofile.Add(ctx, worker, nil, "fogra", profile(4))
	require.NoError(t, err)
	_, err = iccprofile.Add(ctx, worker, nil, "mine", profile(5))
	require.NoError(t, err)
	got, err := iccprofile.Load(ctx, worker, shared)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{
		"fogra": filepath.Join(worker, "icc", "shared", "fogra.icc"),
		"mine":  filepath.Join(worker, "icc", "mine.icc"),
	}, got)
	b, err := os.ReadFile(got["fogra"])
	require.NoError(t, err)
	assert.Equal(t, profile(3), b, "the shared one")

	_, err = shared.Put(ctx, "icc/broken.icc", strings.NewReader("no header"))
	require.NoError(t, err)
	_, err = iccprofile.Load(ctx, worker, shared)
	assert.ErrorContains(t, err, "broken", "a bad shared profile stops the start, naming it")
}

func TestRefused(t *testing.T) {
	ctx := t.Context()
	data := t.TempDir()
	for _, name := range []string{"", ".", "..", "a/b", "a b", "ä", strings.Repeat("x", 101)} {
		_, err := iccprofile.Add(ctx, data, nil, name, profile(1))
		assert.Error(t, err, "%q", name)
	}
	_, err := iccprofile.Add(ctx, data, nil, "png", []byte("\x89PNG\r\n\x1a\n"+strings.Repeat("x", 200)))
	assert.ErrorContains(t, err, "not an ICC profile")
	_, err = os.Stat(filepath.Join(data, "icc"))
	assert.True(t, os.IsNotExist(err))
}
