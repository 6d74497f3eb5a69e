package testpg

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSweepStale(t *testing.T) {
	base := t.TempDir()
	old := time.Now().Add(-time.Hour)
	mk := func(name, pid string, mtime time.Time) string {
		d := filepath.Join(base, name)
		require.NoError(t, os.MkdirAll(filepath.Join(d, "data"), 0o700))
		if pid != "" {
			require.NoError(t, os.WriteFile(filepath.Join(d, "data", "postmaster.pid"), []byte(pid+"\n/x\n"), 0o600))
		}
		require.NoError(t, os.Chtimes(d, mtime, mtime))
		return d
	}
	dead := mk("testpg-dead", "", old)
	deadPID := mk("testpg-deadpid", "2147483646", old)
	live := mk("testpg-live", strconv.Itoa(os.Getpid()), old)
	young := mk("testpg-young", "", time.Now())
	other := mk("something-else", "", old)

	sweepStale(base)
	assert.NoDirExists(t, dead)
	assert.NoDirExists(t, deadPID)
	assert.DirExists(t, live, "its postmaster runs")
	assert.DirExists(t, young, "may be starting right now")
	assert.DirExists(t, other, "not ours")
}

func TestFindBinDir(t *testing.T) {
	d, err := findBinDir()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(d, "initdb"))
	assert.FileExists(t, filepath.Join(d, "postgres"))

	t.Setenv(BinDirEnv, t.TempDir()) // empty: skipped, the real one still found
	d2, err := findBinDir()
	require.NoError(t, err)
	assert.Equal(t, d, d2)
}

func TestFindBinDirNotInstalled(t *testing.T) {
	t.Setenv(BinDirEnv, "")
	_, err := findBinDirIn("no-such-pg_config", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "PostgreSQL server binaries (initdb, postgres) not found")
	assert.Contains(t, err.Error(), "apt-get install postgresql")
}
