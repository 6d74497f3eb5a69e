package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	"github.com/pressly/goose/v3/lock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
	"github.com/ipsexport/ipsd/internal/store"
)

// TestProcessStartTogether: two front ends and two workers started in the
// same instant on a fresh PostgreSQL database, with no `ipsd migrate`
// before, all come up – they migrate the catalogue and River's tables in
// turn under the advisory lock – and each answers /readyz (the workers on
// their --addr). So that "the same instant" does not depend on how fast
// four processes happen to start on a busy machine, the test holds the
// migration lock while they start, sees all four wait for it, and lets
// them go at once. Each runs on a data directory of its own, as on its own
// machine: only the database and the S3 bucket (versitygw) are shared, set
// through IPSD_* variables. The operator then imports assets with the CLI
// into the bucket, and an orig and a convert export submitted on one front
// end are followed and downloaded from the other: the originals come back
// byte for byte, the renders decode to what was asked.
func TestProcessStartTogether(t *testing.T) {
	t.Parallel()
	srv := s3Server(t)
	bucket := srv.NewBucket(t)
	dsn := pg.NewDatabase(t)
	env := []string{
		"IPSD_DATABASE_URL=" + dsn,
		"IPSD_S3_ENDPOINT=http://" + srv.Endpoint,
		"IPSD_S3_BUCKET=" + bucket,
		"IPSD_S3_REGION=" + s3test.Region,
		"IPSD_S3_ACCESS_KEY=" + s3test.AccessKey,
		"IPSD_S3_SECRET_KEY=" + s3test.SecretKey,
		"IPSD_SIGNING_KEY=" + procSigningKey,
		"IPSD_CHUNK_SIZE=2",
	}
	// The sources are made while ipsd builds (or another test does).
	const n = 4
	src := t.TempDir()
	assets := make([]procAsset, n)
	files := make([]string, n)
	for i := range n {
		assets[i] = procAsset{Folder: "together", File: fmt.Sprintf("t%02d.png", i), Source: procSourcePNG(1200, 800, i), Code: procCode(i)}
		files[i] = filepath.Join(src, assets[i].File)
		require.NoError(t, os.WriteFile(files[i], assets[i].Source, 0o644))
	}
	ipsdBinary(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock.DefaultLockID)
	require.NoError(t, err)

	procs := []*ipsdProc{
		launchIpsd(t, "frontend-1", env, "--data", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--workers", "0"),
		launchIpsd(t, "frontend-2", env, "--data", t.TempDir(), "serve", "--addr", "127.0.0.1:0", "--workers", "0"),
		launchIpsd(t, "worker-1", env, "--data", t.TempDir(), "worker", "--workers", "1", "--addr", "127.0.0.1:0"),
		launchIpsd(t, "worker-2", env, "--data", t.TempDir(), "worker", "--workers", "1", "--addr", "127.0.0.1:0"),
	}
	launched := time.Now()
	waiting := 0
	for deadline := time.Now().Add(60 * time.Second); waiting < len(procs) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
			AND ((classid::bigint << 32) | objid::bigint) = $1`, lock.DefaultLockID).Scan(&waiting))
	}
	require.Equal(t, len(procs), waiting, "every process waits for the migration lock")
	t.Logf("all %d processes waiting for the migration lock %s after launch; released", waiting, time.Since(launched).Round(time.Millisecond))
	_, err = conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lock.DefaultLockID)
	require.NoError(t, err)
	released := time.Now()
	for _, p := range procs {
		if err := p.await(90 * time.Second); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("2 front ends and 2 workers on a fresh database: all up %s after the lock was released", time.Since(released).Round(time.Millisecond))
	fe, workers := procs[:2], procs[2:]
	for _, p := range procs {
		url := p.base
		if url == "" {
			url = p.health
		}
		require.NotEmpty(t, url, "%s has an address", p.name)
		resp, err := http.Get(url + "/readyz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s /readyz", p.name)
	}
	var riverVersions int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM river_migration`).Scan(&riverVersions))
	assert.Positive(t, riverVersions, "River's tables are migrated")

	// The operator imports with the CLI, on yet another data directory:
	// the files land in the bucket.
	admin := t.TempDir()
	company := strings.TrimSpace(runIpsdEnv(t, env, "--data", admin, "admin", "company", "add", "Acme"))
	runIpsdEnv(t, env, "--data", admin, "admin", "user", "add", "--email", "alice@acme.test", "--password", password,
		"--role", store.RoleIpsUser, "--company", "Acme")
	out := runIpsdEnv(t, env, append([]string{"--data", admin, "admin", "asset", "import", "--company", "Acme", "--folder", "together"}, files...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, n, out)
	for i, line := range lines {
		assets[i].Handle = strings.Split(line, "\t")[0]
	}
	originals := 0
	for o := range srv.Client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: "originals/", Recursive: true}) {
		require.NoError(t, o.Err)
		originals++
	}
	assert.Equal(t, n, originals, "the originals are in the bucket")
	_, err = os.Stat(filepath.Join(admin, "files", "originals"))
	assert.True(t, os.IsNotExist(err), "and not on the admin's disk")

	d := &procDeploy{dbURL: dsn, company: company, assets: assets}
	clients := [2]*procClient{d.client(fe[0].base), d.client(fe[1].base)}
	for _, cv := range []procConv{procOrig, procToJPEG} {
		job, err := clients[0].submit("together-"+cv.format, procHandles(assets), cv.fields)
		require.NoError(t, err)
		log, _, err := clients[1].follow(job, 60*time.Second)
		require.NoError(t, err)
		assert.NoError(t, procVerifyExport(clients[1], log, assets, cv, procCheckOpts{zipBase: fe[1].base, fileLinks: true}), "fmt %q", cv.format)
	}
	for _, p := range procs {
		assert.True(t, p.alive(), "%s still running", p.name)
		assert.NotContains(t, p.logText(), "duplicate key", p.name)
	}
	for _, w := range workers {
		assert.NotContains(t, w.logText(), "Producer job counts", "%s: River's job counts are debug lines", w.name)
	}
}
