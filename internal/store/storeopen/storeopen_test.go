package storeopen_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store/sqlite"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
)

func TestIsPostgres(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://u@host/db":   true,
		"postgresql://u@host/db": true,
		"POSTGRES://u@host/db":   true,
		"":                       false,
		"sqlite:///x.db":         false,
		"/var/lib/ipsd":          false,
		"postgres:/nope":         false,
	} {
		assert.Equal(t, want, storeopen.IsPostgres(url), url)
	}
}

func TestOpenSQLiteInDataDir(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "new", "data")
	st, err := storeopen.Open(ctx, "", dir)
	require.NoError(t, err)
	defer st.Close()
	assert.IsType(t, &sqlite.Store{}, st)
	assert.FileExists(t, filepath.Join(dir, "ipsd.db"))

	require.NoError(t, storeopen.Migrate(ctx, st))
	_, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
}

func TestOpenPostgresURLGoesToPostgres(t *testing.T) {
	// No server behind it: the error shows which driver tried.
	_, err := storeopen.Open(context.Background(), "postgres://u@/db?host="+filepath.Join(t.TempDir(), "none")+"&connect_timeout=1", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "postgres")
}

func TestOpenRefusesOtherURLs(t *testing.T) {
	dir := t.TempDir()
	_, err := storeopen.Open(context.Background(), "mysql://u@host/db", dir)
	assert.Error(t, err, "a mistyped URL must not silently fall back to SQLite")
	_, err = os.Stat(filepath.Join(dir, "ipsd.db"))
	assert.True(t, os.IsNotExist(err))
	_, err = storeopen.Open(context.Background(), "", "")
	assert.Error(t, err)
}
