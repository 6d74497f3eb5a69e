package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

// started runs ipsd in the background until the test ends, and returns
// the value of the first stdout line that starts with prefix.
func started(t *testing.T, prefix string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errOut syncBuffer
	go func() {
		code := run(ctx, args, pw, &errOut)
		pw.Close()
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Errorf("ipsd %v did not stop", args)
		}
	})
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("ipsd %v ended without %q: %s", args, prefix, errOut.String())
			}
			if v, ok := strings.CutPrefix(line, prefix); ok {
				go func() {
					for range lines {
					}
				}()
				return v
			}
		case <-timeout:
			t.Fatalf("ipsd %v: no %q after 60s", args, prefix)
		}
	}
}

// syncBuffer is written by the server's log while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func httpGet(t *testing.T, url, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A worker's --addr serves health and readiness; its metrics follow the
// front end's rule (a token, or a metrics address of their own).
func TestWorkerAddr(t *testing.T) {
	data := t.TempDir()
	health := started(t, "worker health: ", "--data", data, "worker", "--workers", "1", "--addr", "127.0.0.1:0")
	base := strings.TrimSuffix(health, "/healthz")
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		code, body := httpGet(t, base+path, "")
		assert.Equal(t, 200, code, path)
		assert.Equal(t, want, body, path)
	}
	code, _ := httpGet(t, base+"/metrics", "")
	assert.Equal(t, 404, code, "no token: no metrics on --addr")

	t.Setenv("IPSD_METRICS_TOKEN", "tok-123")
	data2 := t.TempDir()
	health = started(t, "worker health: ", "--data", data2, "worker", "--workers", "1", "--addr", "127.0.0.1:0")
	base = strings.TrimSuffix(health, "/healthz")
	code, _ = httpGet(t, base+"/metrics", "")
	assert.Equal(t, 401, code)
	code, body := httpGet(t, base+"/metrics", "Bearer tok-123")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "ipsd_queue_depth")
}

// --metrics-addr serves /metrics alone; the API address does not; a busy
// metrics port stops serve at once, naming the flag.
func TestServeMetricsAddr(t *testing.T) {
	data := t.TempDir()
	metrics := started(t, "metrics: ", "--data", data, "serve", "--addr", "127.0.0.1:0", "--workers", "0", "--metrics-addr", "127.0.0.1:0")
	code, body := httpGet(t, metrics, "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "ipsd_queue_depth")
	api := started(t, "IPS endpoint: ", "--data", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--workers", "0")
	code, _ = httpGet(t, strings.TrimSuffix(api, "/scene7/services/IpsApiService")+"/metrics", "")
	assert.Equal(t, 404, code, "no token: /metrics is not on the API address")

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	began := time.Now()
	code, out, errOut := ipsd(t, "--data", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--metrics-addr", busy.Addr().String())
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "--metrics-addr "+busy.Addr().String())
	assert.Contains(t, errOut, "address already in use")
	t.Logf("busy metrics port refused in %s: %s", time.Since(began).Round(time.Millisecond), strings.TrimSpace(errOut))
}

// admin asset import run twice refuses the second file of the same name
// in the folder; with --overwrite the asset keeps its handle and takes the
// new file, as UploadFile with overwrite does.
func TestAssetImportOverwrite(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	v1, v2 := filepath.Join(dir, "a", "boot.png"), filepath.Join(dir, "b", "boot.png")
	require.NoError(t, os.MkdirAll(filepath.Dir(v1), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Dir(v2), 0o755))
	writePNG(t, v1)
	require.NoError(t, os.WriteFile(v2, append(mustRead(t, v1), 0), 0o644)) // other bytes, still a PNG
	mustRun(t, "--data", data, "admin", "company", "add", "Acme")
	out := mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "shoes", v1)
	first := strings.Split(out, "\t")[0]

	code, out, errOut := ipsd(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "shoes", v2)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "not imported: asset "+first+` has this name in folder "/shoes"`)
	assert.Contains(t, errOut, "--overwrite")
	// Another folder is another name.
	mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "other", v2)

	out = mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "/shoes/", "--overwrite", v2)
	assert.Equal(t, first, strings.Split(out, "\t")[0], "the asset keeps its handle")
	st, err := app.OpenStore(ctx, "", data)
	require.NoError(t, err)
	defer st.Close()
	co, err := st.CompanyByName(ctx, "Acme")
	require.NoError(t, err)
	as, err := st.AssetsByNames(ctx, co.Handle, []string{"boot"}, nil)
	require.NoError(t, err)
	require.Len(t, as, 2, "one in shoes, one in other: no duplicate")
	for _, a := range as {
		sum := sha256.Sum256(mustRead(t, v2))
		assert.Equal(t, hex.EncodeToString(sum[:]), a.SHA256, "%s holds the new file", a.FolderPath)
	}
	files, _ := filepath.Glob(filepath.Join(data, "files", "originals", "*", "*"))
	assert.Len(t, files, 3, "the replaced file stays for the exports that captured it")
	bl, err := blob.NewLocal(filepath.Join(data, "files"))
	require.NoError(t, err)
	_, err = (&catalog.Collector{Store: st, Blob: bl}).Sweep(ctx)
	require.NoError(t, err)
	files, _ = filepath.Glob(filepath.Join(data, "files", "originals", "*", "*"))
	assert.Len(t, files, 2, "released: the collector removes the replaced file")
}

// admin asset import applies UploadFile's limit on file names, so that
// every imported file can be exported under its name.
func TestAssetImportNameLimit(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	ok := filepath.Join(dir, strings.Repeat("é", 118)+".png") // 240 bytes
	long := filepath.Join(dir, "x"+filepath.Base(ok))
	writePNG(t, ok)
	writePNG(t, long)
	mustRun(t, "--data", data, "admin", "company", "add", "Acme")
	mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", ok)
	code, out, errOut := ipsd(t, "--data", data, "admin", "asset", "import", "--company", "Acme", long)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, long+" not imported: the file name is 241 bytes long; at most 240 are allowed")
	files, _ := filepath.Glob(filepath.Join(data, "files", "originals", "*", "*"))
	assert.Len(t, files, 1, "nothing stored")
}

// admin set add takes names as well as handles; a name several assets
// have is refused, listing them.
func TestSetAddByName(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	dir := t.TempDir()
	photo, shoe := filepath.Join(dir, "photo.png"), filepath.Join(dir, "shoe.png")
	writePNG(t, photo)
	writePNG(t, shoe)
	mustRun(t, "--data", data, "admin", "company", "add", "Acme")
	photoHandle := strings.Split(mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", photo), "\t")[0]
	mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "a", shoe)
	mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "b", shoe)

	out := mustRun(t, "--data", data, "admin", "set", "add", "--company", "Acme", "--type", "ImageSet", "--name", "look", "photo", photoHandle)
	set := strings.TrimSpace(out)
	st, err := app.OpenStore(context.Background(), "", data)
	require.NoError(t, err)
	co, err := st.CompanyByName(context.Background(), "Acme")
	require.NoError(t, err)
	members, err := st.SetMembers(context.Background(), co.Handle, set)
	st.Close()
	require.NoError(t, err)
	require.Len(t, members, 2)
	assert.Equal(t, photoHandle, members[0].Handle, "by name")
	assert.Equal(t, photoHandle, members[1].Handle, "by handle")

	code, _, errOut := ipsd(t, "--data", data, "admin", "set", "add", "--company", "Acme", "--type", "ImageSet", "--name", "x", "shoe")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `member "shoe" names 2 assets of Acme`)
	assert.Contains(t, errOut, "Acme/a/shoe.png")
	code, _, errOut = ipsd(t, "--data", data, "admin", "set", "add", "--company", "Acme", "--type", "ImageSet", "--name", "x", "nothing")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `"nothing" is neither the handle nor the name`)
}

// catalog copy refuses to copy a store into itself (the README's order:
// IPSD_DATABASE_URL exported first) and an empty source, and prints a
// summary when it copies.
func TestCatalogCopyRefusesAndSummarises(t *testing.T) {
	dsn := postgresURL(t)
	data := filepath.Join(t.TempDir(), "data")
	photo := filepath.Join(t.TempDir(), "photo.png")
	writePNG(t, photo)

	code, _, errOut := ipsd(t, "--data", data, "admin", "catalog", "copy", "--to-data", data)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "the destination is the source (SQLite ")

	code, _, errOut = ipsd(t, "--data", data, "admin", "catalog", "copy", "--to-database", dsn)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "holds no companies and no users: nothing to copy")

	mustRun(t, "--data", data, "admin", "company", "add", "Acme")
	mustRun(t, "--data", data, "admin", "user", "add", "--email", "a@acme.test", "--password", "pw-123456", "--company", "Acme")
	mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", "--folder", "f", photo)

	t.Setenv("IPSD_DATABASE_URL", dsn)
	code, _, errOut = ipsd(t, "--data", data, "admin", "catalog", "copy", "--to-database", dsn, "--to-data", t.TempDir())
	assert.Equal(t, 2, code, "PostgreSQL into itself")
	assert.Contains(t, errOut, "the destination is the source (PostgreSQL ")
	assert.Contains(t, errOut, "add --database ''")

	dst := t.TempDir()
	code, out, errOut := ipsd(t, "--data", data, "--database", "", "admin", "catalog", "copy", "--to-database", dsn, "--to-data", dst)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, 5, strings.Count(out, "\n"), "user, company, two folders, asset:\n%s", out)
	assert.Contains(t, errOut, "copied 1 users, 1 companies, 2 folders, 1 assets and 0 image formats from SQLite ")
	assert.Contains(t, errOut, " to PostgreSQL host=")
	assert.Contains(t, errOut, "into "+filepath.Join(dst, "files"))

	code, _, errOut = ipsd(t, "--data", data, "--database", "", "admin", "catalog", "copy", "--to-database", dsn)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "already has companies")
}

// With the S3 settings, every command puts files in the bucket: migrate
// creates it, import and icc add write there (nothing under DATA/files or
// DATA/icc), serve refuses a missing bucket, catalog copy lands files in
// it.
func TestStorageS3(t *testing.T) {
	srv := s3Server(t)
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	photo := filepath.Join(t.TempDir(), "photo.png")
	writePNG(t, photo)
	bucket := "cmd-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	t.Cleanup(func() { removeBucket(srv.Client(), bucket) })
	t.Setenv("IPSD_S3_ACCESS_KEY", "s3test-access")
	t.Setenv("IPSD_S3_SECRET_KEY", "s3test-secret-key")
	t.Setenv("IPSD_S3_ENDPOINT", "http://"+srv.Endpoint)
	t.Setenv("IPSD_S3_BUCKET", bucket)
	t.Setenv("IPSD_S3_REGION", "us-east-1")
	t.Setenv("IPSD_S3_PREFIX", "ipsd")

	code, _, errOut := ipsd(t, "--data", data, "serve", "--addr", "127.0.0.1:0")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "s3 bucket "+bucket+" at http://"+srv.Endpoint+": bucket does not exist: create it with `ipsd migrate`")

	out := mustRun(t, "--data", data, "migrate")
	assert.Equal(t, "created bucket s3://"+bucket+"/ipsd at http://"+srv.Endpoint+"\nmigrated\n", out)
	assert.Equal(t, "migrated\n", mustRun(t, "--data", data, "migrate"), "the second time it exists")

	mustRun(t, "--data", data, "admin", "company", "add", "Acme")
	out = mustRun(t, "--data", data, "admin", "asset", "import", "--company", "Acme", photo)
	assert.Regexp(t, `\tphoto\tImage\n$`, out)
	icc := filepath.Join(t.TempDir(), "p.icc")
	header := make([]byte, 128)
	copy(header[36:], "acsp")
	require.NoError(t, os.WriteFile(icc, header, 0o644))
	out = mustRun(t, "--data", data, "admin", "icc", "add", "press", icc)
	assert.Equal(t, "press\ticc/press.icc in s3://"+bucket+"/ipsd at http://"+srv.Endpoint+"\n", out)

	keys := listBucket(t, srv.Client(), bucket)
	assert.Contains(t, keys, "ipsd/icc/press.icc")
	originals := 0
	for _, k := range keys {
		if strings.HasPrefix(k, "ipsd/originals/") {
			originals++
		}
	}
	assert.Equal(t, 1, originals, "%v", keys)
	for _, local := range []string{filepath.Join(data, "files", "originals"), filepath.Join(data, "icc")} {
		_, err := os.Stat(local)
		assert.True(t, os.IsNotExist(err), "%s: nothing written locally", local)
	}

	// The store's files are in the bucket; an S3 setting typo stops an
	// import before it writes anything.
	t.Setenv("IPSD_S3_ENDPOINT", "")
	code, _, errOut = ipsd(t, "--data", data, "admin", "asset", "import", "--company", "Acme", photo)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--s3-bucket, --s3-prefix, --s3-region set without --s3-endpoint")

	// catalog copy from a local embedded store into PostgreSQL and S3.
	t.Setenv("IPSD_S3_ENDPOINT", "http://"+srv.Endpoint)
	t.Setenv("IPSD_S3_PREFIX", "copied")
	local := filepath.Join(t.TempDir(), "local")
	mustRun(t, "--data", local, "admin", "company", "add", "Acme")
	code, _, errOut = ipsd(t, "--data", local, "admin", "asset", "import", "--company", "Acme", "--s3-endpoint", "", "--s3-bucket", "", "--s3-prefix", "", "--s3-region", "", photo)
	require.Equal(t, 0, code, errOut)
	dsn := postgresURL(t)
	code, _, errOut = ipsd(t, "--data", local, "admin", "catalog", "copy", "--to-database", dsn, "--to-data", t.TempDir())
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, errOut, "into s3://"+bucket+"/copied at http://"+srv.Endpoint)
	st, err := app.OpenStore(ctx, dsn, t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	co, err := st.CompanyByName(ctx, "Acme")
	require.NoError(t, err)
	as, _, err := st.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true})
	require.NoError(t, err)
	require.Len(t, as, 1)
	assert.Contains(t, listBucket(t, srv.Client(), bucket), "copied/"+as[0].StorageKey)
}

func listBucket(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, o.Err)
		keys = append(keys, o.Key)
	}
	return keys
}

func removeBucket(c *minio.Client, bucket string) {
	ctx := context.Background()
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err == nil {
			_ = c.RemoveObject(ctx, bucket, o.Key, minio.RemoveObjectOptions{})
		}
	}
	_ = c.RemoveBucket(ctx, bucket)
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := ipsd(t, args...)
	require.Equal(t, 0, code, "ipsd %v: %s", args, errOut)
	return out
}
