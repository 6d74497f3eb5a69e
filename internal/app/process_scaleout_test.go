package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
)

// resumeBound is how soon a dead worker's chunks must run again at the
// default settings (issue 18: within 60 s), plus slack for a loaded
// two-core test machine. The default lease makes it 30 to 40 s.
const resumeBound = 60*time.Second + 15*time.Second

// TestProcessScalingOutReadme is issue 18, points 5 and 6. The README's
// "Scaling out on PostgreSQL" is run as written – its shell blocks, found
// by their HTML comments, through bash with the ipsd under test on PATH –
// replacing only the addresses, paths and bucket name (the table below;
// each must still be in the README). One after the other: the secrets,
// `ipsd migrate` (which creates the bucket), two front ends and two
// workers, each on a data directory of its own as on its own machine, the
// catalogue and the imported photos, the health and metrics checks. Then an
// orig and a convert export are submitted on one front end and followed and
// downloaded from the other through the links it answers (the host the
// client reached): originals byte for byte, renders decoded. A worker is
// SIGKILLed in the middle of a chunk, at the default lease, and the test
// reports how long until another worker works that chunk again, and checks
// that the job still ends with exact counts; what stayed on each machine's
// data directory is checked too.
func TestProcessScalingOutReadme(t *testing.T) {
	t.Parallel()
	section := readmeSection(t, "## Scaling out on PostgreSQL")
	blocks := map[string]string{}
	for _, name := range []string{"secrets", "environment", "start", "catalogue", "watch"} {
		blocks[name] = readmeBlock(t, section, name)
	}

	// The deployment's outside parts, and what the operator brings.
	srv := s3Server(t)
	dsn := pg.NewDatabase(t)
	bucket := fmt.Sprintf("ipsd-readme-%d", time.Now().UnixNano()) // not there yet: migrate makes it
	etc, photos := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(etc, "s3-access-key"), []byte(s3test.AccessKey+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(etc, "s3-secret-key"), []byte(s3test.SecretKey+"\n"), 0o600))
	const n = 48
	assets := make([]procAsset, n)
	for i := range n {
		assets[i] = procAsset{Folder: "products", File: fmt.Sprintf("p%03d.png", i), Source: procSourcePNG(1200, 800, i), Code: procCode(i)}
		require.NoError(t, os.WriteFile(filepath.Join(photos, assets[i].File), assets[i].Source, 0o644))
	}
	sh := &readmeShell{t: t, bin: filepath.Dir(ipsdBinary(t)), env: blocks["environment"], replace: [][2]string{
		{"postgres://ipsd:secret@db.internal:5432/ipsd?sslmode=require", dsn},
		{"https://s3.eu-west-1.amazonaws.com", "http://" + srv.Endpoint},
		{"ipsd-files", bucket},
		{"/etc/ipsd", etc},
		{"/srv/photos", photos},
		{"0.0.0.0:8080", "127.0.0.1:0"},
		{"0.0.0.0:9091", "127.0.0.1:0"},
	}}
	for _, r := range sh.replace {
		require.Contains(t, section, r[0], "the README no longer has what the test replaces")
	}
	ctx := context.Background()
	exists, err := srv.Client().BucketExists(ctx, bucket)
	require.NoError(t, err)
	require.False(t, exists)

	// 1. The secrets.
	for _, line := range shellLines(blocks["secrets"]) {
		sh.run(line, t.TempDir())
	}
	key, err := os.ReadFile(filepath.Join(etc, "signing-key"))
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{64}\n$`, string(key), "openssl rand -hex 32: 64 hex characters")

	// 3. Start, one after the other; each process a machine of its own.
	start := shellLines(blocks["start"])
	require.Len(t, start, 3)
	require.True(t, strings.HasPrefix(start[0], "ipsd migrate"))
	out := sh.run(start[0], t.TempDir())
	assert.Contains(t, out, "created bucket")
	exists, err = srv.Client().BucketExists(ctx, bucket)
	require.NoError(t, err)
	assert.True(t, exists, "ipsd migrate created the bucket")
	var fe, workers []*ipsdProc
	datas := map[string]string{}
	for i, line := range []string{start[1], start[1], start[2], start[2]} {
		name := fmt.Sprintf("frontend-%d", i+1)
		if i >= 2 {
			name = fmt.Sprintf("worker-%d", i-1)
		}
		datas[name] = t.TempDir()
		p := sh.start(name, line, datas[name])
		require.NoError(t, p.await(90*time.Second))
		if i < 2 {
			fe = append(fe, p)
		} else {
			workers = append(workers, p)
			require.NotEmpty(t, p.health, "%s serves --addr", name)
		}
	}

	// 4. The catalogue, from yet another machine.
	datas["admin"] = t.TempDir()
	var company, importOut string
	for _, line := range shellLines(blocks["catalogue"]) {
		out := sh.run(line, datas["admin"])
		switch {
		case strings.Contains(line, "company add"):
			company = strings.TrimSpace(out)
		case strings.Contains(line, "asset import"):
			importOut = out
		}
	}
	require.NotEmpty(t, company)
	byName := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(importOut), "\n") {
		f := strings.Split(line, "\t")
		require.Len(t, f, 3, line)
		byName[f[1]] = f[0]
	}
	for i := range assets {
		assets[i].Handle = byName[strings.TrimSuffix(assets[i].File, ".png")]
		require.NotEmpty(t, assets[i].Handle, "%s imported", assets[i].File)
	}

	// Watching: readiness of a front end and a worker, the worker's metrics.
	sh.replace = append(sh.replace,
		[2]string{"fe1.internal:8080", strings.TrimPrefix(fe[0].base, "http://")},
		[2]string{"worker1.internal:9091", strings.TrimPrefix(workers[0].health, "http://")})
	watch := shellLines(blocks["watch"])
	require.Len(t, watch, 3)
	assert.Equal(t, "ready", strings.TrimSpace(sh.run(watch[0], t.TempDir())))
	assert.Equal(t, "ready", strings.TrimSpace(sh.run(watch[1], t.TempDir())))
	assert.Regexp(t, `(?m)^ipsd_queue_depth \d+$`, sh.run(watch[2], t.TempDir()))

	// Exports: submitted on one front end, followed and downloaded from the
	// other through the links it answers.
	d := &procDeploy{dbURL: dsn, company: company, assets: assets}
	submitter, follower := d.client(fe[0].base), d.client(fe[1].base)
	submitter.user, follower.user = "alice@example.com", "alice@example.com"
	mailed := procOrig
	mailed.fields = `<fmt>orig</fmt><emailSetting>JobCompletion</emailSetting>`
	origJob, err := submitter.submit("readme-orig", procHandles(assets), mailed.fields)
	require.NoError(t, err)
	log, _, err := follower.follow(origJob, 120*time.Second)
	require.NoError(t, err)
	assert.NoError(t, procVerifyExport(follower, log, assets, mailed, procCheckOpts{fileLinks: true}))
	assertLinksOn(t, log, fe[1].base)

	// The convert export, and a worker SIGKILLed in the middle of a chunk.
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	st, err := OpenStore(ctx, dsn, t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	clients := map[string]*ipsdProc{}
	for _, w := range workers {
		m := regexp.MustCompile(`client_id=(\S+)`).FindStringSubmatch(w.logText())
		require.NotNil(t, m, "%s logs its River client", w.name)
		clients[m[1]] = w
	}
	job, err := submitter.submit("readme-convert", procHandles(assets), procToJPEG.fields)
	require.NoError(t, err)
	submitted := time.Now()
	var victim *ipsdProc
	var held []procChunk
	var heldIDs []int64
	for deadline := time.Now().Add(120 * time.Second); victim == nil; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "no worker was seen in the middle of a chunk")
		rows, err := conn.Query(ctx, `SELECT id, (args->>'from')::int, (args->>'to')::int, attempted_by[array_upper(attempted_by, 1)]
			FROM river_job WHERE args->>'job' = $1 AND state = 'running'`, job)
		require.NoError(t, err)
		type running struct {
			id       int64
			from, to int
			by       string
		}
		var rs []running
		for rows.Next() {
			var r running
			require.NoError(t, rows.Scan(&r.id, &r.from, &r.to, &r.by))
			rs = append(rs, r)
		}
		require.NoError(t, rows.Err())
		for _, r := range rs {
			pending, err := st.PendingJobAssets(ctx, job, r.from, r.to)
			require.NoError(t, err)
			// In the middle: some of its assets done, some to do.
			if victim == nil && len(pending) >= 2 && len(pending) < r.to-r.from && clients[r.by] != nil {
				victim = clients[r.by]
			}
			if victim != nil && clients[r.by] == victim && len(pending) > 0 {
				held = append(held, procChunk{job: job, from: r.from, to: r.to, pending: len(pending)})
				heldIDs = append(heldIDs, r.id)
			}
		}
		if victim == nil {
			logs, err := submitter.jobLogs()
			require.NoError(t, err)
			require.Less(t, logs[job].Success+logs[job].Errors, n, "the export ended before a worker could be killed in a chunk")
		}
	}
	victim.kill()
	killed := time.Now()
	j := procJobState(t, d, job)
	t.Logf("SIGKILL %s %s after submit at %d/%d assets, holding %+v", victim.name, killed.Sub(submitted).Round(time.Millisecond),
		j.Succeeded+j.Errors, j.Total, held)

	// Resumption: each chunk the dead worker held with assets pending is
	// worked again by the other worker (a new River job continuing it).
	var resumed time.Time
	for deadline := killed.Add(2 * resumeBound); ; time.Sleep(100 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the dead worker's chunks were not taken over within %s", 2*resumeBound)
		var waiting int
		var last *time.Time
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE n.attempted_at IS NULL), max(n.attempted_at)
			FROM unnest($1::bigint[]) AS o(id) LEFT JOIN river_job n ON n.metadata->>'ipsd_taken_over_from' = o.id::text`, heldIDs).
			Scan(&waiting, &last))
		if waiting == 0 && last != nil {
			resumed = *last
			break
		}
	}
	took := resumed.Sub(killed)
	t.Logf("the dead worker's %d chunk(s) worked again %s after the SIGKILL (default --lease %s; bound %s: 60 s and slack)",
		len(held), took.Round(time.Millisecond), "30s", resumeBound)
	assert.LessOrEqual(t, took, resumeBound, "a dead worker's work resumes within 60 s (issue 18)")

	log, l, err := follower.follow(job, 180*time.Second)
	require.NoError(t, err)
	t.Logf("the job ended %s after the SIGKILL: %+v", time.Since(killed).Round(time.Millisecond), l)
	assert.NoError(t, procVerifyExport(follower, log, assets, procToJPEG, procCheckOpts{fileLinks: true}))
	assertLinksOn(t, log, fe[1].base)
	q := procAwaitQueue(t, 2*n/8, 60*time.Second, func() map[string]int { return procQueueOn(t, conn) })
	assert.GreaterOrEqual(t, q["cancelled"], len(held), "each chunk the dead worker held with assets pending was taken over")

	// What stayed on each machine: no SQLite file, no files, no generated
	// key; the completion mail in the spool of the worker that ended the
	// orig job, its link on --public-url.
	var mails []string
	for name, dir := range datas {
		for _, absent := range []string{"ipsd.db", "files", "signing.key"} {
			_, err := os.Stat(filepath.Join(dir, absent))
			assert.True(t, errors.Is(err, os.ErrNotExist), "%s's data directory has no %s", name, absent)
		}
		found, _ := filepath.Glob(filepath.Join(dir, "mail", "*.eml"))
		mails = append(mails, found...)
	}
	require.Len(t, mails, 1, "one completion mail")
	b, err := os.ReadFile(mails[0])
	require.NoError(t, err)
	body := strings.NewReplacer("=\r\n", "", "=\n", "").Replace(string(b))
	assert.Contains(t, body, "https://ips.example.com/scene7/export/"+url.PathEscape(origJob), "mail links start with --public-url")

	for _, p := range append(fe, workers...) {
		if p != victim {
			assert.True(t, p.alive(), "%s still running", p.name)
		}
	}
}

// assertLinksOn checks that every link in a job log points at base: the
// front end the client asked.
func assertLinksOn(t *testing.T, log node, base string) {
	t.Helper()
	links := 0
	for _, d := range log.at("detailArray", "items") {
		text := d.text("assetName") + " " + d.text("logMessage")
		for _, u := range regexp.MustCompile(`https?://[^\s<"]+`).FindAllString(text, -1) {
			links++
			assert.True(t, strings.HasPrefix(u, base+"/"), "link %s is on %s", u, base)
		}
	}
	assert.Positive(t, links)
}

// readmeSection is the README's section under heading, up to the next one.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	s := string(b)
	i := strings.Index(s, "\n"+heading+"\n")
	require.GreaterOrEqual(t, i, 0, "README has %q", heading)
	s = s[i+1:]
	if j := strings.Index(s[len(heading):], "\n## "); j >= 0 {
		s = s[:len(heading)+j]
	}
	return s
}

// readmeBlock is the ```sh block that follows <!-- scaling-out: name -->.
func readmeBlock(t *testing.T, section, name string) string {
	t.Helper()
	for _, b := range readmeMarkedBlocks(section, "scaling-out") {
		if b.name == name && b.lang == "sh" {
			return b.body
		}
	}
	t.Fatalf("README marks no sh block %q", name)
	return ""
}

// readmeCodeBlock is a fenced block of the README that an HTML comment
// <!-- kind: name --> on the line before marks for a test.
type readmeCodeBlock struct {
	name, lang, body string
}

var readmeMarker = regexp.MustCompile("(?m)^<!-- ([a-z-]+): ([^>]*?) -->\n```([a-z]*)\n")

// readmeMarkedBlocks are the blocks of text marked <!-- kind: … -->, in
// their order.
func readmeMarkedBlocks(text, kind string) []readmeCodeBlock {
	var out []readmeCodeBlock
	for _, m := range readmeMarker.FindAllStringSubmatchIndex(text, -1) {
		if text[m[2]:m[3]] != kind {
			continue
		}
		body := text[m[1]:]
		if j := strings.Index(body, "```"); j >= 0 {
			body = body[:j]
		}
		out = append(out, readmeCodeBlock{name: text[m[4]:m[5]], lang: text[m[6]:m[7]], body: body})
	}
	return out
}

// shellLines are a block's commands, one a line.
func shellLines(block string) []string {
	var out []string
	for _, l := range strings.Split(block, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// readmeShell runs README lines with bash: the environment block first, the
// ipsd under test first on PATH, the replacements made, and IPSD_DATA one
// machine's.
type readmeShell struct {
	t       *testing.T
	bin     string
	env     string
	replace [][2]string
}

func (sh *readmeShell) command(script, data string) *exec.Cmd {
	r := make([]string, 0, 2*len(sh.replace)+2)
	for _, p := range sh.replace {
		r = append(r, p[0], p[1])
	}
	r = append(r, "/var/lib/ipsd", data)
	script = strings.NewReplacer(r...).Replace("set -euo pipefail\n" + sh.env + script)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(procEnv(), "PATH="+sh.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "ALICE_PASSWORD="+password)
	return cmd
}

// run runs a line to its end and returns its stdout; it must succeed.
func (sh *readmeShell) run(line, data string) string {
	sh.t.Helper()
	cmd := sh.command(line+"\n", data)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		sh.t.Fatalf("README: %s: %v\n%s%s", line, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// start runs `ipsd serve` or `ipsd worker` from a line (bash execs it, so
// a kill reaches ipsd); await waits for it.
func (sh *readmeShell) start(name, line, data string) *ipsdProc {
	sh.t.Helper()
	cmd := sh.command("exec "+line+"\n", data)
	return launchCmd(sh.t, name, cmd, "README: "+line)
}
