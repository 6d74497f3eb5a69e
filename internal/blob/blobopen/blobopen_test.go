package blobopen_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/blobopen"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
)

var srv *s3test.Server

func TestMain(m *testing.M) { s3test.Main(m, &srv) }

func TestParseS3(t *testing.T) {
	keys := func(s blobopen.Settings) blobopen.Settings { s.AccessKey, s.SecretKey = "ak", "sk"; return s }
	for _, c := range []struct {
		name   string
		in     blobopen.Settings
		host   string
		secure bool
		err    string // "" = no error; "-" = nil config, no error
	}{
		{"none", blobopen.Settings{}, "", false, "-"},
		{"bucket without endpoint", blobopen.Settings{Bucket: "b"}, "", false, "--s3-bucket set without --s3-endpoint"},
		{"region without endpoint", blobopen.Settings{Region: "eu"}, "", false, "--s3-region set without"},
		{"host", keys(blobopen.Settings{Endpoint: "s3.example.com", Bucket: "b"}), "s3.example.com", true, ""},
		{"host insecure", keys(blobopen.Settings{Endpoint: "127.0.0.1:9000", Bucket: "b", Insecure: true}), "127.0.0.1:9000", false, ""},
		{"http URL", keys(blobopen.Settings{Endpoint: "http://127.0.0.1:9000", Bucket: "b"}), "127.0.0.1:9000", false, ""},
		{"http URL slash", keys(blobopen.Settings{Endpoint: "http://127.0.0.1:9000/", Bucket: "b"}), "127.0.0.1:9000", false, ""},
		{"https URL", keys(blobopen.Settings{Endpoint: "https://s3.example.com", Bucket: "b"}), "s3.example.com", true, ""},
		{"http URL insecure", keys(blobopen.Settings{Endpoint: "http://h:1", Bucket: "b", Insecure: true}), "h:1", false, ""},
		{"https URL insecure", keys(blobopen.Settings{Endpoint: "https://h", Bucket: "b", Insecure: true}), "", false, "choose one"},
		{"ftp", keys(blobopen.Settings{Endpoint: "ftp://h", Bucket: "b"}), "", false, "http or https"},
		{"path", keys(blobopen.Settings{Endpoint: "https://h/bucket", Bucket: "b"}), "", false, "no path"},
		{"path without scheme", keys(blobopen.Settings{Endpoint: "h/bucket", Bucket: "b"}), "", false, "host[:port]"},
		{"user in URL", keys(blobopen.Settings{Endpoint: "https://ak:sk@h", Bucket: "b"}), "", false, "not the URL"},
		{"no bucket", keys(blobopen.Settings{Endpoint: "h"}), "", false, "needs --s3-bucket"},
		{"one key", blobopen.Settings{Endpoint: "h", Bucket: "b", AccessKey: "ak"}, "", false, "go together"},
		{"anonymous", blobopen.Settings{Endpoint: "h", Bucket: "b"}, "h", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := blobopen.ParseS3(c.in)
			switch c.err {
			case "-":
				require.NoError(t, err)
				assert.Nil(t, cfg)
			case "":
				require.NoError(t, err)
				require.NotNil(t, cfg)
				assert.Equal(t, c.host, cfg.Endpoint)
				assert.Equal(t, c.secure, cfg.UseSSL)
				assert.Equal(t, c.in.Bucket, cfg.Bucket)
				assert.Equal(t, c.in.AccessKey, cfg.AccessKey)
			default:
				assert.ErrorContains(t, err, c.err)
			}
		})
	}
}

func TestOpenLocal(t *testing.T) {
	dir := t.TempDir()
	cfg := blobopen.Config{DataDir: dir}
	st, err := blobopen.Open(t.Context(), cfg)
	require.NoError(t, err)
	require.IsType(t, &blob.Local{}, st)
	assert.Equal(t, filepath.Join(dir, "files"), st.(*blob.Local).Root())
	assert.Equal(t, filepath.Join(dir, "files"), cfg.String())
	created, err := blobopen.EnsureBucket(t.Context(), cfg)
	require.NoError(t, err)
	assert.False(t, created)
	_, err = blobopen.Open(t.Context(), blobopen.Config{})
	assert.Error(t, err)
}

// A missing bucket is refused with the way to create it; EnsureBucket
// creates it, and Open then works on it.
func TestOpenS3(t *testing.T) {
	ctx := t.Context()
	s3cfg := srv.Config("blobopen-made")
	t.Cleanup(func() { _ = srv.Client().RemoveBucket(context.Background(), s3cfg.Bucket) })
	cfg := blobopen.Config{S3: &s3cfg}
	assert.Equal(t, "s3://blobopen-made at http://"+srv.Endpoint, cfg.String())
	_, err := blobopen.Open(ctx, cfg)
	require.ErrorIs(t, err, s3blob.ErrNoBucket)
	assert.ErrorContains(t, err, "ipsd migrate")

	created, err := blobopen.EnsureBucket(ctx, cfg)
	require.NoError(t, err)
	assert.True(t, created)
	st, err := blobopen.Open(ctx, cfg)
	require.NoError(t, err)
	_, err = st.Put(ctx, "k", strings.NewReader("v"))
	require.NoError(t, err)
	created, err = blobopen.EnsureBucket(ctx, cfg)
	require.NoError(t, err)
	assert.False(t, created)
}

// An endpoint nobody answers on fails within its timeout, saying what to
// check.
func TestOpenS3Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close() // refused from now on
	s3cfg, err := blobopen.ParseS3(blobopen.Settings{Endpoint: "http://" + addr, Bucket: "b-unreachable", Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	_, err = blobopen.Open(t.Context(), blobopen.Config{S3: s3cfg})
	require.Error(t, err)
	assert.ErrorContains(t, err, "check --s3-endpoint")
	assert.ErrorContains(t, err, "http://"+addr)
	_, err = blobopen.EnsureBucket(t.Context(), blobopen.Config{S3: s3cfg})
	assert.Error(t, err)
}
