package app

// Process-level tests: real `ipsd` processes, built once per test binary,
// started, killed and restarted around running exports, as an operator's
// machine (or a crash) would do it.
//
//   - TestProcessCrashRecovery (SPEC issue 7.1): SIGKILL `ipsd serve` mid-export
//     on SQLite and on PostgreSQL, start it again on the same data, and the
//     job completes with exact counts, whole files and no duplicates.
//   - TestProcessGracefulShutdown: SIGTERM mid-export drains (the asset in
//     hand finishes, the rest of the chunk goes back to the queue); the job
//     is not failed and completes after a restart without waiting for River's
//     rescuer or a lease.
//   - TestProcessScaleOut (issue 8.3): one PostgreSQL, two front ends, three
//     workers on one shared data directory; a worker (the River leader) is
//     SIGKILLed mid-chunk and every job still completes exactly once.
//   - TestProcessRescueAfterShorterThanTimeout: River refuses such a config,
//     so ipsd does at start, naming the flags.
//   - TestProcessChunkTimeout: an asset that outlasts the chunk timeout fails.
//   - TestProcessScalingOutReadme (issue 18, process_scaleout_test.go): the
//     README's scale-out commands run as written on PostgreSQL and an S3
//     bucket; a worker SIGKILLed at the default lease, its work resumed.
//   - TestReadmeFirstTry and TestMakeRun (issue 16, readme_test.go): the
//     README's first examples run as written against the commands of
//     `make run`, and `make run` itself.
//   - TestSoak (IPSD_SOAK=1, `make soak`): concurrent clients for a bounded
//     time against one `ipsd serve`.
//
// Recovery after a SIGKILL: on SQLite the restarted process hands the
// orphaned chunk back at start. On PostgreSQL a running chunk carries a
// lease (internal/jobs/lease.go) that any worker takes over once it has run
// out: these tests give --lease 3s, so a dead worker's chunk runs again
// within about 4 s; TestProcessScalingOutReadme measures the default.
// River's own rescuer (--rescue-after) stays the last resort.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// ---------------------------------------------------------------------------
// The binary

var procBin struct {
	once sync.Once
	path string
	err  error
}

// ipsdBinary builds cmd/ipsd once per test binary into a fresh temporary
// directory and returns the executable's path. Directories that earlier test
// binaries left (there is no hook after the last test without touching
// TestMain) are swept when older than a day.
func ipsdBinary(t testing.TB) string {
	t.Helper()
	procBin.once.Do(func() {
		base := os.TempDir()
		procSweep(base, "ipsd-proctest-*", 24*time.Hour)
		dir, err := os.MkdirTemp(base, "ipsd-proctest-")
		if err != nil {
			procBin.err = err
			return
		}
		out := filepath.Join(dir, "ipsd")
		cmd := exec.Command("go", "build", "-o", out, "./cmd/ipsd")
		cmd.Dir = repoRoot(nil)
		if b, err := cmd.CombinedOutput(); err != nil {
			procBin.err = fmt.Errorf("go build ./cmd/ipsd: %v\n%s", err, b)
			return
		}
		procBin.path = out
	})
	if procBin.err != nil {
		t.Fatal(procBin.err)
	}
	return procBin.path
}

func procSweep(base, pattern string, age time.Duration) {
	dirs, _ := filepath.Glob(filepath.Join(base, pattern))
	for _, d := range dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() && time.Since(st.ModTime()) > age {
			_ = os.RemoveAll(d)
		}
	}
}

// procEnv is the environment of child processes: ours without IPSD_*, so a
// developer's settings do not leak into the test.
func procEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IPSD_") {
			env = append(env, kv)
		}
	}
	return env
}

// runIpsd runs a short ipsd command (admin …) and returns its stdout.
func runIpsd(t testing.TB, args ...string) string {
	t.Helper()
	return runIpsdEnv(t, nil, args...)
}

// runIpsdEnv is runIpsd with variables added to the environment.
func runIpsdEnv(t testing.TB, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(ipsdBinary(t), args...)
	cmd.Env = append(procEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipsd %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// ---------------------------------------------------------------------------
// A running process

// ipsdProc is a running `ipsd serve` or `ipsd worker`. Its stdout and
// stderr go to a log file, printed (the tail) when the test fails.
type ipsdProc struct {
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	logPath string
	ready   chan string // the serve URL, or "" for a worker
	exited  chan struct{}
	state   *os.ProcessState
	base    string // http://127.0.0.1:port of a serve
	health  string // http://127.0.0.1:port of a worker's --addr
}

// startIpsd starts ipsd with args and waits until it says it is serving
// (serve) or started (worker).
func startIpsd(t testing.TB, name string, args ...string) *ipsdProc {
	t.Helper()
	p := launchIpsd(t, name, nil, args...)
	if err := p.await(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return p
}

// launchIpsd starts ipsd with args and variables added to its environment,
// without waiting: await does.
func launchIpsd(t testing.TB, name string, env []string, args ...string) *ipsdProc {
	t.Helper()
	cmd := exec.Command(ipsdBinary(t), args...)
	cmd.Env = append(procEnv(), env...)
	return launchCmd(t, name, cmd, "ipsd "+strings.Join(args, " "))
}

// launchCmd starts cmd, which runs `ipsd serve` or `ipsd worker` (a shell
// that execs it, say), described as title in its log.
func launchCmd(t testing.TB, name string, cmd *exec.Cmd, title string) *ipsdProc {
	t.Helper()
	p := &ipsdProc{t: t, name: name, ready: make(chan string, 1), exited: make(chan struct{})}
	p.logPath = filepath.Join(t.TempDir(), name+".log")
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	fmt.Fprintf(f, "# %s\n", title)
	p.cmd = cmd
	p.cmd.Stderr = f
	// If the test binary dies, so do its servers.
	if p.cmd.SysProcAttr == nil {
		p.cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	p.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	stdout, err := p.cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintf(f, "stdout: %s\n", line) // O_APPEND: whole lines beside the child's stderr
			if sent {
				continue
			}
			if u, ok := strings.CutPrefix(line, "IPS endpoint: "); ok {
				p.ready <- strings.TrimSuffix(u, soapPath)
				sent = true
			} else if u, ok := strings.CutPrefix(line, "worker health: "); ok {
				p.health = strings.TrimSuffix(u, "/healthz") // before "worker started"
			} else if line == "worker started" {
				p.ready <- ""
				sent = true
			}
		}
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		f.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
			}
		}
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", p.name, p.logTail(40))
		}
	})
	return p
}

// await waits until the process says it is serving (serve) or started
// (worker); an error if it exits first or takes longer than limit.
func (p *ipsdProc) await(limit time.Duration) error {
	select {
	case u := <-p.ready:
		p.base = u
		return nil
	case <-p.exited:
		return fmt.Errorf("%s exited before it was ready (%v); its log follows", p.name, p.state)
	case <-time.After(limit):
		return fmt.Errorf("%s not ready after %s; its log follows", p.name, limit)
	}
}

func (p *ipsdProc) logText() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *ipsdProc) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(p.logText(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// kill SIGKILLs the process and waits for it to be gone.
func (p *ipsdProc) kill() {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.t.Fatalf("%s did not die after SIGKILL", p.name)
	}
}

// term sends SIGTERM and waits up to limit for the process to exit; it
// returns how long that took and the exit code (-1 if it did not exit).
func (p *ipsdProc) term(limit time.Duration) (time.Duration, int) {
	p.t.Helper()
	start := time.Now()
	require.NoError(p.t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.exited:
		return time.Since(start), p.state.ExitCode()
	case <-time.After(limit):
		return time.Since(start), -1
	}
}

func (p *ipsdProc) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// rssKB is the process's resident set size in KiB (0 if unknown).
func (p *ipsdProc) rssKB() int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

// ---------------------------------------------------------------------------
// Test data: generated images, imported with `ipsd admin`

// procAsset is one imported source image.
type procAsset struct {
	Handle string
	Folder string // folder path inside the company
	File   string // file name, e.g. p07.png
	Source []byte
	Code   int // the image's constant blue value, to tell renders apart
}

// procPNGs caches generated images by "w×h#i": the tests share them, and
// each is encoded once however many tests ask for it at the same time.
var procPNGs struct {
	sync.Mutex
	m map[string]func() []byte
}

// procCode is image i's blue value: within any 40 consecutive images they
// are 6 apart, so a render's mean blue says which source it came from.
func procCode(i int) int { return 10 + 6*(i%40) }

// procSourcePNG is a w×h opaque PNG: red across, green down, blue constant
// (procCode(i)), and i stamped in the first pixels so no two are the same
// bytes.
func procSourcePNG(w, h, i int) []byte {
	key := fmt.Sprintf("%dx%d#%d", w, h, i)
	procPNGs.Lock()
	if procPNGs.m == nil {
		procPNGs.m = map[string]func() []byte{}
	}
	gen, ok := procPNGs.m[key]
	if !ok {
		gen = sync.OnceValue(func() []byte { return encodeProcPNG(w, h, i) })
		procPNGs.m[key] = gen
	}
	procPNGs.Unlock()
	return gen()
}

// encodeProcPNG writes the PNG by hand, every row with the Sub filter, so
// the gradient deflates to almost nothing (image/png tries every filter on
// every row, which costs more; the tests make a few hundred images).
func encodeProcPNG(w, h, i int) []byte {
	// Filtered, every row is the same but for its first pixel's green
	// (the row's value): then red steps by the gradient, green and blue
	// by 0.
	stride := 1 + 3*w
	row := make([]byte, stride)
	row[0] = 1 // filter: Sub
	var prevR uint8
	for x := range w {
		r := uint8(x * 255 / w)
		row[1+3*x] = r - prevR
		prevR = r
	}
	row[3] = uint8(procCode(i))
	raw := make([]byte, h*stride)
	for y := range h {
		line := raw[y*stride : (y+1)*stride]
		copy(line, row)
		line[2] = uint8(y * 255 / h)
	}
	// i stamped in the first two pixels' red, so no two images are the
	// same bytes: (0,0) red = i&255, (1,0) red = i>>8.
	raw[1] = uint8(i)
	raw[4] = uint8(i>>8) - uint8(i)
	raw[7] = uint8(2*255/w) - uint8(i>>8)
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(raw)
	zw.Close()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 8, 2, 0, 0, 0)) // 8-bit RGB
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// procDeploy is one deployment's data: a data directory (and a PostgreSQL
// database, or SQLite in the data directory), company Acme with
// alice@acme.test, and imported images.
type procDeploy struct {
	data, dbURL string
	company     string
	assets      []procAsset
}

const procSigningKey = "process-test-signing-key-0123456789abcdef"

// global are the flags that select the store.
func (d *procDeploy) global() []string {
	g := []string{"--data", d.data}
	if d.dbURL != "" {
		g = append(g, "--database", d.dbURL)
	}
	return g
}

// args are the global flags, the command and its flags.
func (d *procDeploy) args(cmd string, flags ...string) []string {
	return append(append(d.global(), cmd), flags...)
}

// engine are the job-engine flags of these tests: small chunks, short
// timeouts and a short lease so a dead worker's chunk is taken over
// quickly (River refuses a rescue-after shorter than the chunk timeout; see
// TestProcessRescueAfterShorterThanTimeout).
func procEngine(workers int) []string {
	return []string{"--workers", strconv.Itoa(workers), "--chunk-size", "2",
		"--chunk-timeout", "5s", "--rescue-after", "5s", "--lease", "3s", "--signing-key", procSigningKey}
}

// serve starts `ipsd serve` on a free loopback port.
func (d *procDeploy) serve(t testing.TB, name string, workers int) *ipsdProc {
	t.Helper()
	return startIpsd(t, name, d.args("serve", append([]string{"--addr", "127.0.0.1:0"}, procEngine(workers)...)...)...)
}

// worker starts `ipsd worker`.
func (d *procDeploy) worker(t testing.TB, name string, workers int) *ipsdProc {
	t.Helper()
	return startIpsd(t, name, d.args("worker", procEngine(workers)...)...)
}

// newProcDeploy creates the company and user and imports n w×h images into
// folder with `ipsd admin`, as an operator would.
func newProcDeploy(t testing.TB, dbURL string, n, w, h int, folder string) *procDeploy {
	t.Helper()
	began := time.Now()
	d := &procDeploy{data: t.TempDir(), dbURL: dbURL}
	// The images first: they are made while another test builds ipsd.
	src := t.TempDir()
	files := make([]string, n)
	d.assets = make([]procAsset, n)
	for i := range n {
		name := fmt.Sprintf("p%03d.png", i)
		b := procSourcePNG(w, h, i)
		files[i] = filepath.Join(src, name)
		require.NoError(t, os.WriteFile(files[i], b, 0o644))
		d.assets[i] = procAsset{Folder: folder, File: name, Source: b, Code: procCode(i)}
	}
	made := time.Now()
	ipsdBinary(t)
	built := time.Now()
	defer func() {
		t.Logf("setup: %d images made in %s, ipsd built (or waited for) in %s, imported in %s", n,
			made.Sub(began).Round(time.Millisecond), built.Sub(made).Round(time.Millisecond), time.Since(built).Round(time.Millisecond))
	}()
	d.company = strings.TrimSpace(runIpsd(t, d.args("admin", "company", "add", "Acme")...))
	require.NotEmpty(t, d.company)
	runIpsd(t, d.args("admin", "user", "add", "--email", "alice@acme.test", "--password", password,
		"--role", store.RoleIpsUser, "--company", "Acme")...)
	// One import per 50 files keeps the command line short.
	for from := 0; from < n; from += 50 {
		to := min(from+50, n)
		out := runIpsd(t, d.args("admin", append([]string{"asset", "import", "--company", "Acme", "--folder", folder}, files[from:to]...)...)...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, to-from, out)
		for i, line := range lines {
			f := strings.Split(line, "\t")
			require.Len(t, f, 3, line)
			d.assets[from+i].Handle = f[0]
		}
	}
	return d
}

func (d *procDeploy) client(base string) *procClient {
	return &procClient{base: base, user: "alice@acme.test", company: d.company,
		hc: &http.Client{Timeout: 60 * time.Second}}
}

// ---------------------------------------------------------------------------
// A SOAP client that returns errors (usable from any goroutine)

type procClient struct {
	base, user, company string
	hc                  *http.Client
}

func (c *procClient) post(envelope string) (node, string, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+soapPath, strings.NewReader(envelope))
	if err != nil {
		return node{}, "", err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	resp, err := c.hc.Do(req)
	if err != nil {
		return node{}, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return node{}, "", err
	}
	raw := string(b)
	if resp.StatusCode != http.StatusOK {
		return node{}, raw, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	i, j := strings.Index(raw, "<soapenv:Body>"), strings.Index(raw, "</soapenv:Body>")
	if i < 0 || j < i {
		return node{}, raw, fmt.Errorf("no soapenv:Body in %s", raw)
	}
	var n node
	if err := procXMLDecode(raw[i+len("<soapenv:Body>"):j], &n); err != nil {
		return node{}, raw, err
	}
	return n, raw, nil
}

func (c *procClient) call(payload string) (node, string, error) {
	return c.post(soapCall(authU(c.user), payload))
}

func (c *procClient) submit(jobName string, handles []string, fields string) (string, error) {
	n, raw, err := c.post(exportEnvelope(c.user, c.company, jobName, handles, fields))
	if err != nil {
		return "", fmt.Errorf("submitJob %s: %w", jobName, err)
	}
	h := n.text("jobHandle")
	if h == "" {
		return "", fmt.Errorf("submitJob %s: no jobHandle in %s", jobName, raw)
	}
	return h, nil
}

// procLog is a JobLog's counts.
type procLog struct {
	Handle, LogType                  string
	Total, Success, Warnings, Errors int
	Fatal                            bool
	DetailRows                       int
}

func readProcLog(n node) procLog {
	i := func(name string) int { v, _ := strconv.Atoi(n.text(name)); return v }
	return procLog{
		Handle: n.text("jobHandle"), LogType: n.text("logType"),
		Total: i("totalFileCount"), Success: i("fileSuccessCount"), Warnings: i("fileWarningCount"),
		Errors: i("fileErrorCount"), Fatal: n.text("fatalError") == "true", DetailRows: i("detailTotalRows"),
	}
}

// jobLogs is getJobLogs: the company's jobs by handle.
func (c *procClient) jobLogs() (map[string]procLog, error) {
	n, _, err := c.call(`<getJobLogsParam xmlns="` + ns14 + `"><companyHandle>` + c.company + `</companyHandle><numRows>1000</numRows></getJobLogsParam>`)
	if err != nil {
		return nil, fmt.Errorf("getJobLogs: %w", err)
	}
	out := map[string]procLog{}
	for _, it := range n.at("jobLogArray", "items") {
		l := readProcLog(it)
		out[l.Handle] = l
	}
	return out, nil
}

// details is getJobLogDetails of a job, up to 1000 rows.
func (c *procClient) details(jobHandle string, perPage int) (node, procLog, error) {
	n, raw, err := c.call(`<getJobLogDetailsParam xmlns="` + ns14 + `"><companyHandle>` + c.company + `</companyHandle><jobHandle>` + jobHandle +
		`</jobHandle><recordsPerPage>` + strconv.Itoa(perPage) + `</recordsPerPage></getJobLogDetailsParam>`)
	if err != nil {
		return node{}, procLog{}, fmt.Errorf("getJobLogDetails %s: %w", jobHandle, err)
	}
	logs := n.at("jobLogArray", "items")
	if len(logs) != 1 {
		return node{}, procLog{}, fmt.Errorf("getJobLogDetails %s: %d job logs in %s", jobHandle, len(logs), raw)
	}
	return logs[0], readProcLog(logs[0]), nil
}

// follow polls getJobLogDetails until the job has ended (EndExport) and
// returns its log; the counts may never exceed the total on the way.
func (c *procClient) follow(jobHandle string, timeout time.Duration) (node, procLog, error) {
	deadline := time.Now().Add(timeout)
	var last procLog
	for {
		n, l, err := c.details(jobHandle, 1000)
		if err != nil {
			return node{}, l, err
		}
		if l.Success+l.Errors > l.Total {
			return n, l, fmt.Errorf("job %s over-counted: %d succeeded + %d failed > %d", jobHandle, l.Success, l.Errors, l.Total)
		}
		if l.LogType == "EndExport" {
			return n, l, nil
		}
		last = l
		if time.Now().After(deadline) {
			return n, l, fmt.Errorf("job %s did not end within %s: %+v", jobHandle, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get fetches rawURL (rebased on base when base is set), with Basic auth
// when basic is true.
func (c *procClient) get(rawURL, base string, basic bool) (int, []byte, error) {
	if base != "" {
		u, err := url.Parse(rawURL)
		if err != nil {
			return 0, nil, err
		}
		b, err := url.Parse(base)
		if err != nil {
			return 0, nil, err
		}
		u.Scheme, u.Host = b.Scheme, b.Host
		rawURL = u.String()
	}
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, nil, err
	}
	if basic {
		req.SetBasicAuth(c.user, password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ---------------------------------------------------------------------------
// What an export must produce

// procConv is an export's request and what each file must be.
type procConv struct {
	fields string
	ext    string // output extension; "" keeps the source's
	format string // "jpeg", "png"; "" = original bytes
	w, h   int
}

var (
	procOrig    = procConv{fields: `<fmt>orig</fmt><emailSetting>None</emailSetting>`}
	procToJPEG  = procConv{fields: `<fmt>convert</fmt><is_modifier>fmt=jpeg&amp;wid=600</is_modifier><emailSetting>None</emailSetting>`, ext: ".jpg", format: "jpeg", w: 600, h: 400}
	procSoakJPG = procConv{fields: `<fmt>convert</fmt><is_modifier>fmt=jpeg&amp;wid=300&amp;qlt=85</is_modifier><emailSetting>None</emailSetting>`, ext: ".jpg", format: "jpeg", w: 300, h: 200}
	procSoakPNG = procConv{fields: `<fmt>convert</fmt><is_modifier>fmt=png&amp;wid=150</is_modifier><emailSetting>None</emailSetting>`, ext: ".png", format: "png", w: 150, h: 100}
)

func (cv procConv) entry(a procAsset) string {
	name := a.File
	if cv.ext != "" {
		name = strings.TrimSuffix(name, filepath.Ext(name)) + cv.ext
	}
	if a.Folder == "" {
		return name
	}
	return a.Folder + "/" + name
}

// checkFile checks one exported file against its source.
func (cv procConv) checkFile(a procAsset, b []byte) error {
	if cv.format == "" {
		if !bytes.Equal(b, a.Source) {
			return fmt.Errorf("%s: %d bytes differ from the %d-byte original", cv.entry(a), len(b), len(a.Source))
		}
		return nil
	}
	var img image.Image
	var err error
	switch cv.format {
	case "jpeg":
		img, err = jpeg.Decode(bytes.NewReader(b))
	case "png":
		img, err = png.Decode(bytes.NewReader(b))
	default:
		return fmt.Errorf("no decoder for %s", cv.format)
	}
	if err != nil {
		return fmt.Errorf("%s: does not decode as %s (%d bytes): %w", cv.entry(a), cv.format, len(b), err)
	}
	if got := img.Bounds().Size(); got.X != cv.w || got.Y != cv.h {
		return fmt.Errorf("%s: %dx%d, want %dx%d", cv.entry(a), got.X, got.Y, cv.w, cv.h)
	}
	if blue := procMeanBlue(img); blue < float64(a.Code)-2.5 || blue > float64(a.Code)+2.5 {
		return fmt.Errorf("%s: mean blue %.1f, want %d: not the render of its source", cv.entry(a), blue, a.Code)
	}
	return nil
}

func procMeanBlue(img image.Image) float64 {
	r := img.Bounds()
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			_, _, b, _ := color.NRGBAModel.Convert(img.At(x, y)).RGBA()
			sum += float64(b >> 8)
			n++
		}
	}
	return sum / n
}

func procXMLDecode(s string, v any) error { return xml.NewDecoder(strings.NewReader(s)).Decode(v) }

func procZipReader(b []byte) (*zip.Reader, error) {
	return zip.NewReader(bytes.NewReader(b), int64(len(b)))
}

func procUnzip(b []byte) (map[string][]byte, []string, error) {
	zr, err := procZipReader(b)
	if err != nil {
		return nil, nil, err
	}
	out := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("zip entry %s: %w", f.Name, err)
		}
		names = append(names, f.Name)
		out[f.Name] = data
	}
	return out, names, nil
}

// procCheckOpts says how thoroughly procVerifyExport checks.
type procCheckOpts struct {
	zipBase   string // fetch the zip from this front end ("" = the link's own)
	fileLinks bool   // also fetch every file by its signed link
}

// procVerifyExport checks an ended job: counts exact, one success detail per
// submitted asset (none twice), one archive detail, and a zip holding
// exactly the expected files, each whole and true to its source.
func procVerifyExport(c *procClient, log node, want []procAsset, cv procConv, o procCheckOpts) error {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	l := readProcLog(log)
	n := len(want)
	if l.LogType != "EndExport" || l.Fatal {
		fail("job %s: logType %s, fatalError %v", l.Handle, l.LogType, l.Fatal)
	}
	if l.Total != n || l.Success+l.Errors != l.Total || l.Errors != 0 || l.Success != n {
		fail("job %s: counts total %d success %d errors %d, want total = success = %d, errors 0", l.Handle, l.Total, l.Success, l.Errors, n)
	}
	// Five rows about the job, one per asset, its end and the archive
	// (docs/job-logs.md, "Rows").
	if l.DetailRows != n+7 {
		fail("job %s: detailTotalRows %d, want %d (the job's rows, assets and the archive)", l.Handle, l.DetailRows, n+7)
	}
	byHandle := map[string]procAsset{}
	for _, a := range want {
		byHandle[a.Handle] = a
	}
	seen := map[string]int{}
	var zipURL string
	links := map[string]string{} // entry → signed file link
	for _, d := range log.at("detailArray", "items") {
		switch d.text("logType") {
		case "ExportArchive":
			if zipURL != "" {
				fail("job %s: two ExportArchive details", l.Handle)
			}
			zipURL = d.text("assetName")
		case "ExportSuccess":
			h := d.text("assetHandle")
			seen[h]++
			a, ok := byHandle[h]
			if !ok {
				fail("job %s: detail for asset %s, which was not submitted", l.Handle, h)
				continue
			}
			msg := d.text("logMessage")
			if i := strings.Index(msg, "http"); i >= 0 {
				links[cv.entry(a)] = msg[i:]
			} else {
				fail("job %s: detail of %s has no link: %q", l.Handle, h, msg)
			}
		case "BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount", "EndExport":
		default:
			fail("job %s: detail %s for %s: %s", l.Handle, d.text("logType"), d.text("assetName"), d.text("logMessage"))
		}
	}
	for h, k := range seen {
		if k > 1 {
			fail("job %s: asset %s appears %d times in getJobLogDetails", l.Handle, h, k)
		}
	}
	for _, a := range want {
		if seen[a.Handle] == 0 {
			fail("job %s: no detail for asset %s (%s)", l.Handle, a.Handle, a.File)
		}
	}
	if !strings.HasPrefix(zipURL, "http") {
		fail("job %s: no archive link", l.Handle)
		return errors.Join(errs...)
	}
	status, zb, err := c.get(zipURL, o.zipBase, false)
	if err != nil || status != http.StatusOK {
		fail("job %s: zip: HTTP %d, %v: %.200s", l.Handle, status, err, zb)
		return errors.Join(errs...)
	}
	files, names, err := procUnzip(zb)
	if err != nil {
		fail("job %s: zip: %v", l.Handle, err)
		return errors.Join(errs...)
	}
	if len(names) != len(files) {
		fail("job %s: zip has duplicate entries: %v", l.Handle, names)
	}
	wantNames := map[string]procAsset{}
	for _, a := range want {
		wantNames[cv.entry(a)] = a
	}
	for _, name := range names {
		if _, ok := wantNames[name]; !ok {
			fail("job %s: unexpected zip entry %q", l.Handle, name)
		}
		if strings.Contains(name, ".tmp") {
			fail("job %s: temporary file %q in the zip", l.Handle, name)
		}
	}
	for name, a := range wantNames {
		b, ok := files[name]
		if !ok {
			fail("job %s: zip lacks %s", l.Handle, name)
			continue
		}
		if err := cv.checkFile(a, b); err != nil {
			fail("job %s: zip: %v", l.Handle, err)
		}
		if o.fileLinks && links[name] != "" {
			status, fb, err := c.get(links[name], o.zipBase, false)
			switch {
			case err != nil || status != http.StatusOK:
				fail("job %s: file link %s: HTTP %d, %v", l.Handle, name, status, err)
			case !bytes.Equal(fb, b):
				fail("job %s: file link %s serves %d bytes, the zip holds %d", l.Handle, name, len(fb), len(b))
			}
		}
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------------------
// Looking behind the service: the store, River's table, the files

// procJobState reads a job's state and counts from the store while no
// ipsd holds it (SQLite) or alongside (PostgreSQL).
func procJobState(t testing.TB, d *procDeploy, jobHandle string) store.Job {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, d.dbURL, d.data)
	require.NoError(t, err)
	defer st.Close()
	j, err := st.JobByHandle(ctx, "", jobHandle)
	require.NoError(t, err)
	return j
}

// procQuery runs a query on the deployment's database (the store's own
// *sql.DB, SQLite or PostgreSQL) and hands each row's Scan to each.
func procQuery(t testing.TB, d *procDeploy, q string, each func(scan func(dest ...any) error) error) {
	t.Helper()
	ctx := context.Background()
	st, err := OpenStore(ctx, d.dbURL, d.data)
	require.NoError(t, err)
	defer st.Close()
	db, ok := st.(interface{ DB() *sql.DB })
	require.True(t, ok, "store %T has no DB()", st)
	rows, err := db.DB().QueryContext(ctx, q)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		require.NoError(t, each(rows.Scan))
	}
	require.NoError(t, rows.Err())
}

// procQueue counts the export chunks in River's table by state.
func procQueue(t testing.TB, d *procDeploy) map[string]int {
	t.Helper()
	out := map[string]int{}
	procQuery(t, d, `SELECT state, count(*) FROM river_job WHERE queue = 'export' GROUP BY state`, func(scan func(...any) error) error {
		var state string
		var n int
		err := scan(&state, &n)
		out[state] = n
		return err
	})
	return out
}

// procQueueOn is procQueue on an open PostgreSQL connection.
func procQueueOn(t testing.TB, conn *pgx.Conn) map[string]int {
	t.Helper()
	out := map[string]int{}
	rows, err := conn.Query(context.Background(), `SELECT state, count(*) FROM river_job WHERE queue = 'export' GROUP BY state`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		require.NoError(t, rows.Scan(&s, &n))
		out[s] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// procAwaitQueue waits until every export chunk in River's table is completed
// (want of them) and returns the last counts; rows a takeover finalised
// (a dead worker's, "cancelled": their chunks went on as new rows) are the
// only others allowed. A job can end before all its chunks are: a chunk
// whose assets were all done when its worker died, but whose completion
// River had not yet written (its completer batches), stays "running" until
// it is taken over, after the job has ended; the new row finds nothing to
// do.
func procAwaitQueue(t testing.TB, want int, timeout time.Duration, counts func() map[string]int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q := counts()
		others := len(q)
		if q["cancelled"] > 0 {
			others--
		}
		if others == 1 && q["completed"] == want {
			return q
		}
		if time.Now().After(deadline) {
			assert.Fail(t, "export chunks not all completed", "after %s: %v, want completed=%d, none discarded", timeout, q, want)
			return q
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// procExportFiles lists a job's files under the data directory, split
// into finished files and temporary ones (".tmp-…", what a killed Put
// leaves).
func procExportFiles(t testing.TB, d *procDeploy, jobHandle string) (files, temps []string) {
	t.Helper()
	root := filepath.Join(d.data, "files", "exports", jobHandle)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(e.Name(), ".tmp") {
			temps = append(temps, rel)
		} else {
			files = append(files, rel)
		}
		return nil
	})
	if !errors.Is(err, fs.ErrNotExist) {
		require.NoError(t, err)
	}
	sort.Strings(files)
	sort.Strings(temps)
	return files, temps
}

// procFileURL is the Basic-auth download path of one file of a job.
func procFileURL(base, jobHandle, rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return base + "/scene7/export/" + url.PathEscape(jobHandle) + "/" + strings.Join(segs, "/")
}

// procAwaitProgress polls getJobLogs until at least lo of the job's assets are
// done, and fails if the job got past hi first (too fast to interrupt).
func procAwaitProgress(t testing.TB, c *procClient, jobHandle string, lo, hi int) procLog {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		logs, err := c.jobLogs()
		require.NoError(t, err)
		l := logs[jobHandle]
		done := l.Success + l.Errors
		require.LessOrEqual(t, done, hi, "the export ran past %d of %d assets before it could be interrupted; make it slower", hi, l.Total)
		if done >= lo {
			return l
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s did not reach %d assets within 60s", jobHandle, lo)
	return procLog{}
}

func procHandles(as []procAsset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Handle
	}
	return out
}

// ---------------------------------------------------------------------------
// The tests

// TestProcessCrashRecovery is issue 7.1: `ipsd serve` SIGKILLed in the
// middle of an export, then started again on the same data.
func TestProcessCrashRecovery(t *testing.T) {
	t.Parallel()
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			d := newProcDeploy(t, db.url(t), 40, 1200, 800, "crash")
			srv := d.serve(t, "serve-1", 1)
			c := d.client(srv.base)
			job, err := c.submit("crash", procHandles(d.assets), procToJPEG.fields)
			require.NoError(t, err)
			submitted := time.Now()

			at := procAwaitProgress(t, c, job, 6, 30)
			srv.kill()
			t.Logf("SIGKILL after %s at %d/%d assets", time.Since(submitted).Round(time.Millisecond), at.Success+at.Errors, at.Total)

			// Behind the service: the job is still running (not failed),
			// its chunk in hand is orphaned "running" in River's table.
			j := procJobState(t, d, job)
			assert.Equal(t, store.JobRunning, j.State)
			assert.Less(t, j.Succeeded+j.Errors, j.Total)
			t.Logf("after the kill: %d/%d done, queue %v", j.Succeeded+j.Errors, j.Total, procQueue(t, d))
			_, temps := procExportFiles(t, d, job)
			t.Logf("temporary files left by the kill: %v", temps)

			srv2 := d.serve(t, "serve-2", 1)
			c2 := d.client(srv2.base)
			restarted := time.Now()
			log, l, err := c2.follow(job, 120*time.Second)
			require.NoError(t, err)
			t.Logf("after the restart the job ended in %s: %+v", time.Since(restarted).Round(time.Millisecond), l)
			require.NoError(t, procVerifyExport(c2, log, d.assets, procToJPEG, procCheckOpts{fileLinks: true}))

			// Nothing temporary is in the zip (checked above) or served,
			// and the finished files on disk are exactly the job's.
			files, temps := procExportFiles(t, d, job)
			var want []string
			for _, a := range d.assets {
				want = append(want, procToJPEG.entry(a))
			}
			sort.Strings(want)
			assert.Equal(t, want, files)
			for _, tmp := range temps {
				status, _, err := c2.get(procFileURL(srv2.base, job, tmp), "", true)
				require.NoError(t, err)
				assert.Equal(t, http.StatusNotFound, status, "temporary file %s must not be served", tmp)
			}
			if len(temps) > 0 {
				t.Logf("temporary files still on disk after completion (removed only with the export): %v", temps)
			}
			settled := time.Now()
			procAwaitQueue(t, 20, 60*time.Second, func() map[string]int { return procQueue(t, d) })
			t.Logf("every chunk completed %s after the job ended", time.Since(settled).Round(time.Millisecond))
			assert.Equal(t, 1, strings.Count(srv.logText()+srv2.logText(), `msg="job ended" job=`+job), "the job ended once")
			t.Logf("total %s", time.Since(began).Round(time.Millisecond))
		})
	}
}

// TestProcessGracefulShutdown: SIGTERM in the middle of an export drains
// and exits promptly; the job is not failed and completes after a restart
// without waiting for River's rescuer.
func TestProcessGracefulShutdown(t *testing.T) {
	t.Parallel()
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			d := newProcDeploy(t, db.url(t), 40, 1200, 800, "drain")
			srv := d.serve(t, "serve-1", 2)
			c := d.client(srv.base)
			job, err := c.submit("drain", procHandles(d.assets), procToJPEG.fields)
			require.NoError(t, err)
			at := procAwaitProgress(t, c, job, 6, 30)

			// serve's own limits are 30 s for the HTTP shutdown and 30 s
			// for the drain; the drain is one asset per worker.
			took, code := srv.term(60 * time.Second)
			require.NotEqual(t, -1, code, "ipsd serve did not exit within 60s of SIGTERM")
			t.Logf("SIGTERM at %d/%d assets: exited %d after %s", at.Success+at.Errors, at.Total, code, took.Round(time.Millisecond))
			assert.Equal(t, 0, code, "exit code after SIGTERM")
			assert.Less(t, took, 10*time.Second, "the drain finishes the asset in hand only")

			j := procJobState(t, d, job)
			assert.Equal(t, store.JobRunning, j.State, "the job is not failed (nor ended)")
			assert.Zero(t, j.Errors)
			assert.Less(t, j.Succeeded, j.Total, "assets were left for the restart")
			q := procQueue(t, d)
			assert.Zero(t, q["running"], "the drain handed every chunk back: %v", q)
			assert.Zero(t, q["retryable"]+q["discarded"], "no chunk spent an attempt: %v", q)
			_, temps := procExportFiles(t, d, job)
			assert.Empty(t, temps, "a drain leaves no temporary files")
			t.Logf("after the drain: %d/%d done, queue %v", j.Succeeded, j.Total, q)

			srv2 := d.serve(t, "serve-2", 2)
			c2 := d.client(srv2.base)
			restarted := time.Now()
			log, l, err := c2.follow(job, 60*time.Second)
			require.NoError(t, err)
			took = time.Since(restarted)
			t.Logf("after the restart the job ended in %s: %+v", took.Round(time.Millisecond), l)
			assert.Less(t, took, 10*time.Second, "handed-back chunks are taken up at once, not rescued")
			require.NoError(t, procVerifyExport(c2, log, d.assets, procToJPEG, procCheckOpts{fileLinks: true}))
			procAwaitQueue(t, 20, 10*time.Second, func() map[string]int { return procQueue(t, d) })
		})
	}
}

// procChunk is an export chunk a worker holds, and how many of its assets
// are still pending.
type procChunk struct {
	job      string
	from, to int
	pending  int
}

// TestProcessScaleOut is issue 8.3: one PostgreSQL, two front ends and
// three workers sharing one data directory; the River leader (a worker) is
// SIGKILLed in the middle of a chunk.
func TestProcessScaleOut(t *testing.T) {
	t.Parallel()
	const jobs, per = 10, 10
	dsn := pg.NewDatabase(t)
	d := newProcDeploy(t, dsn, jobs*per, 1200, 800, "scale")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })

	// The first worker becomes River's leader; it is the one killed, so
	// the test also covers leader failover.
	w0 := d.worker(t, "worker-0", 1)
	var leader string
	deadline := time.Now().Add(30 * time.Second)
	for leader == "" && time.Now().Before(deadline) {
		if err := conn.QueryRow(ctx, `SELECT leader_id FROM river_leader`).Scan(&leader); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			require.NoError(t, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotEmpty(t, leader, "worker-0 did not become River's leader")
	fe := [2]*ipsdProc{d.serve(t, "frontend-1", 0), d.serve(t, "frontend-2", 0)}
	workers := [3]*ipsdProc{w0, d.worker(t, "worker-1", 1), d.worker(t, "worker-2", 1)}
	clients := [2]*procClient{d.client(fe[0].base), d.client(fe[1].base)}

	// Pickup: a job submitted to an idle deployment is taken by a worker
	// within milliseconds (LISTEN/NOTIFY), not at the next 1 s poll.
	var pickups []time.Duration
	for i := range 3 {
		job, err := clients[i%2].submit(fmt.Sprintf("probe-%d", i), []string{d.assets[i].Handle}, procToJPEG.fields)
		require.NoError(t, err)
		log, _, err := clients[(i+1)%2].follow(job, 30*time.Second)
		require.NoError(t, err)
		require.NoError(t, procVerifyExport(clients[i%2], log, d.assets[i:i+1], procToJPEG, procCheckOpts{zipBase: fe[(i+1)%2].base}))
		var secs float64
		require.NoError(t, conn.QueryRow(ctx, `SELECT EXTRACT(EPOCH FROM attempted_at - created_at)::float8 FROM river_job WHERE args->>'job' = $1`, job).Scan(&secs))
		pickups = append(pickups, time.Duration(secs*float64(time.Second)))
	}
	t.Logf("pickup after submit (river_job attempted_at - created_at): %v", pickups)
	slices.Sort(pickups)
	assert.Less(t, pickups[1], 300*time.Millisecond, "median pickup: workers are notified, they do not wait for a poll")

	// The load: jobs alternating between the front ends.
	handles := make([]string, jobs)
	for i := range jobs {
		h, err := clients[i%2].submit(fmt.Sprintf("scale-%d", i), procHandles(d.assets[i*per:(i+1)*per]), procToJPEG.fields)
		require.NoError(t, err)
		handles[i] = h
	}
	submitted := time.Now()

	// Kill the leader in the middle of one of its chunks: one it holds
	// with assets still pending (a chunk River still shows running may be
	// done, its completion not yet written), so the jobs cannot end until
	// another worker takes it over.
	st, err := OpenStore(ctx, dsn, d.data)
	require.NoError(t, err)
	defer st.Close()
	deadline = time.Now().Add(60 * time.Second)
	var done int
	var held procChunk
	for {
		require.True(t, time.Now().Before(deadline), "worker-0 never held a chunk while the load ran")
		logs, err := clients[0].jobLogs()
		require.NoError(t, err)
		done = 0
		for _, h := range handles {
			done += logs[h].Success + logs[h].Errors
		}
		require.Less(t, done, jobs*per*3/4, "the load finished before worker-0 could be killed in a chunk")
		held = procChunk{}
		if done >= jobs*per/5 {
			err := conn.QueryRow(ctx, `SELECT args->>'job', (args->>'from')::int, (args->>'to')::int FROM river_job
				WHERE queue = 'export' AND state = 'running' AND attempted_by[array_upper(attempted_by, 1)] = $1 LIMIT 1`, leader).
				Scan(&held.job, &held.from, &held.to)
			if !errors.Is(err, pgx.ErrNoRows) {
				require.NoError(t, err)
				pending, err := st.PendingJobAssets(ctx, held.job, held.from, held.to)
				require.NoError(t, err)
				held.pending = len(pending)
			}
		}
		if held.pending > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	w0.kill()
	killed := time.Now()
	t.Logf("SIGKILL worker-0 (leader) %s after submit at %d/%d assets, holding %+v", killed.Sub(submitted).Round(time.Millisecond), done, jobs*per, held)

	// Every job ends, each followed on the front end that did not take it.
	logs := make([]node, jobs)
	var followWG sync.WaitGroup
	var followErrs [jobs]error
	for i := range jobs {
		followWG.Go(func() {
			logs[i], _, followErrs[i] = clients[(i+1)%2].follow(handles[i], 120*time.Second)
		})
	}
	followWG.Wait()
	for i := range jobs {
		require.NoError(t, followErrs[i], "job %d", i)
	}
	t.Logf("all %d jobs ended %s after the kill", jobs, time.Since(killed).Round(time.Millisecond))
	for i := range jobs {
		// The zip and files from the other front end than the one that
		// answered the details.
		err := procVerifyExport(clients[(i+1)%2], logs[i], d.assets[i*per:(i+1)*per], procToJPEG,
			procCheckOpts{zipBase: fe[i%2].base, fileLinks: true})
		assert.NoError(t, err, "job %d", i)
	}

	// Exactly once: one "job ended" across every worker's log per job,
	// every chunk completed (none discarded, none left).
	var allLogs strings.Builder
	for _, w := range workers {
		allLogs.WriteString(w.logText())
	}
	for i, h := range handles {
		assert.Equal(t, 1, strings.Count(allLogs.String(), `msg="job ended" job=`+h), "job %d ended once", i)
	}
	settled := time.Now()
	procAwaitQueue(t, 3+jobs*per/2, 60*time.Second, func() map[string]int { return procQueueOn(t, conn) })
	t.Logf("every chunk completed %s after the last job ended", time.Since(settled).Round(time.Millisecond))
	// The dead worker's chunks are taken over when their lease runs out
	// (or, should River's rescuer see them first, retried by it).
	var takenOver, rescued int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE errors::text LIKE '%lease expired%'),
		count(*) FILTER (WHERE errors::text LIKE '%Stuck job rescued%') FROM river_job`).Scan(&takenOver, &rescued))
	var newLeader string
	_ = conn.QueryRow(ctx, `SELECT leader_id FROM river_leader`).Scan(&newLeader)
	t.Logf("chunks taken over from the dead worker: %d, rescued by River: %d; leader now %s (was %s)", takenOver, rescued, newLeader, leader)
	assert.GreaterOrEqual(t, takenOver+rescued, 1, "worker-0 died holding a chunk")
	for _, p := range append(fe[:], workers[1:]...) {
		assert.True(t, p.alive(), "%s still running", p.name)
	}
}

// TestProcessRescueAfterShorterThanTimeout: River requires
// RescueStuckJobsAfter ≥ JobTimeout (river.NewClient fails otherwise: a
// chunk could be rescued while its worker still runs it), so ipsd refuses
// such flags at start, naming them; also --rescue-after alone below the
// default 10m chunk timeout.
func TestProcessRescueAfterShorterThanTimeout(t *testing.T) {
	t.Parallel()
	for _, flags := range [][]string{
		{"--chunk-timeout", "10s", "--rescue-after", "5s"},
		{"--rescue-after", "5m"},
	} {
		for _, cmdName := range []string{"worker", "serve"} {
			args := []string{"--data", t.TempDir(), cmdName, "--workers", "1"}
			if cmdName == "serve" {
				args = append(args, "--addr", "127.0.0.1:0")
			}
			args = append(args, flags...)
			cmd := exec.Command(ipsdBinary(t), args...)
			cmd.Env = procEnv()
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee, "ipsd %s started with %v:\n%s", cmdName, flags, out)
			assert.Equal(t, 2, ee.ExitCode(), "a usage error")
			assert.Contains(t, string(out), "--rescue-after", "the message names the flag")
			first, _, _ := strings.Cut(string(out), "\n")
			t.Logf("ipsd %s %v: %s", cmdName, flags, first)
		}
	}
}

// TestProcessChunkTimeout: a chunk that runs past --chunk-timeout is a
// failed attempt, not a shutdown; the asset that overran is recorded as an
// error at once, so the job ends with success + error = total.
func TestProcessChunkTimeout(t *testing.T) {
	t.Parallel()
	d := newProcDeploy(t, "", 1, 4000, 3000, "slow")
	srv := startIpsd(t, "serve", d.args("serve", "--addr", "127.0.0.1:0", "--workers", "1",
		"--chunk-timeout", "100ms", "--rescue-after", "100ms", "--signing-key", procSigningKey)...)
	c := d.client(srv.base)
	job, err := c.submit("slow", procHandles(d.assets), `<fmt>convert</fmt><is_modifier>fmt=tif&amp;op_blur=20</is_modifier><emailSetting>None</emailSetting>`)
	require.NoError(t, err)
	// The asset that outlasts the chunk timeout fails, once, and the job
	// ends: it is neither retried forever nor handed back as a shutdown.
	// The wait is generous: the blur runs to its end before the timeout is
	// seen, and on a loaded machine that takes tens of seconds.
	var j store.Job
	for deadline := time.Now().Add(150 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if j = procJobState(t, d, job); j.State == store.JobCompleted {
			break
		}
	}
	srv.kill()
	require.Equal(t, store.JobCompleted, j.State)
	assert.Equal(t, 1, j.Errors)
	assert.Equal(t, 0, j.Succeeded)
}

// ---------------------------------------------------------------------------
// Soak

func procEnvOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// TestSoak runs many concurrent clients against one `ipsd serve` on
// loopback for a bounded time, each submitting an export, following it,
// and checking every file; then checks that every job ended with exact
// counts. Off unless IPSD_SOAK=1 (`make soak`). Settings:
//
//	IPSD_SOAK_DURATION  how long clients submit (default 2m)
//	IPSD_SOAK_CLIENTS   concurrent clients (default 8)
//	IPSD_SOAK_DATABASE  sqlite or postgres (default sqlite)
//	IPSD_SOAK_WORKERS   --workers of the server (default 2)
func TestSoak(t *testing.T) {
	if os.Getenv("IPSD_SOAK") != "1" {
		t.Skip("soak test: set IPSD_SOAK=1 (make soak)")
	}
	dur, err := time.ParseDuration(procEnvOr("IPSD_SOAK_DURATION", "2m"))
	require.NoError(t, err, "IPSD_SOAK_DURATION")
	nClients, err := strconv.Atoi(procEnvOr("IPSD_SOAK_CLIENTS", "8"))
	require.NoError(t, err, "IPSD_SOAK_CLIENTS")
	workers, err := strconv.Atoi(procEnvOr("IPSD_SOAK_WORKERS", "2"))
	require.NoError(t, err, "IPSD_SOAK_WORKERS")
	var dsn string
	switch db := procEnvOr("IPSD_SOAK_DATABASE", "sqlite"); db {
	case "sqlite":
	case "postgres":
		dsn = pg.NewDatabase(t)
	default:
		t.Fatalf("IPSD_SOAK_DATABASE=%s: sqlite or postgres", db)
	}

	d := newProcDeploy(t, dsn, 40, 450, 300, "soak")
	srv := startIpsd(t, "serve", d.args("serve", "--addr", "127.0.0.1:0", "--workers", strconv.Itoa(workers),
		"--signing-key", procSigningKey)...)
	rss0 := srv.rssKB()
	t.Logf("soak: %d clients for %s on %s, %d workers", nClients, dur, procEnvOr("IPSD_SOAK_DATABASE", "sqlite"), workers)

	type result struct {
		job     string
		assets  int
		latency time.Duration
	}
	var (
		mu        sync.Mutex
		results   []result
		failures  atomic.Int64
		submitted = map[string]int{} // job → assets
	)
	convs := []procConv{procOrig, procSoakJPG, procSoakPNG}
	stop := time.Now().Add(dur)
	var wg sync.WaitGroup
	for ci := range nClients {
		wg.Go(func() {
			c := d.client(srv.base)
			rng := rand.New(rand.NewPCG(uint64(ci), uint64(time.Now().UnixNano())))
			for seq := 0; time.Now().Before(stop); seq++ {
				// A run of up to 12 consecutive images: their blue codes
				// differ, so renders cannot be mistaken for each other.
				n := 1 + rng.IntN(12)
				from := rng.IntN(len(d.assets) - n + 1)
				want := d.assets[from : from+n]
				cv := convs[rng.IntN(len(convs))]
				began := time.Now()
				job, err := c.submit(fmt.Sprintf("soak-%d-%d", ci, seq), procHandles(want), cv.fields)
				if err != nil {
					failures.Add(1)
					t.Errorf("client %d: %v", ci, err)
					continue
				}
				mu.Lock()
				submitted[job] = n
				mu.Unlock()
				log, _, err := c.follow(job, 5*time.Minute)
				if err == nil {
					err = procVerifyExport(c, log, want, cv, procCheckOpts{fileLinks: rng.IntN(4) == 0})
				}
				if err != nil {
					failures.Add(1)
					t.Errorf("client %d: job %s: %v", ci, job, err)
					continue
				}
				mu.Lock()
				results = append(results, result{job, n, time.Since(began)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.True(t, srv.alive(), "ipsd serve died during the soak")

	// Every job submitted ended with exact counts, and none is active.
	c := d.client(srv.base)
	for job, n := range submitted {
		_, l, err := c.details(job, 1)
		if assert.NoError(t, err) {
			assert.Equal(t, "EndExport", l.LogType, "job %s", job)
			assert.Equal(t, n, l.Total, "job %s totalFileCount", job)
			assert.Equal(t, l.Total, l.Success+l.Errors, "job %s success + error = total", job)
			assert.Zero(t, l.Errors, "job %s", job)
		}
	}
	active, _, err := c.call(`<getActiveJobsParam xmlns="` + ns14 + `"><companyHandle>` + d.company + `</companyHandle></getActiveJobsParam>`)
	require.NoError(t, err)
	assert.Empty(t, active.at("jobArray", "items"), "no job left active")

	var lat []time.Duration
	assets := 0
	for _, r := range results {
		lat = append(lat, r.latency)
		assets += r.assets
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(p*float64(len(lat))))]
	}
	t.Logf("soak: %d jobs (%d assets) verified, %d failed; job latency p50 %s p95 %s max %s; %.1f assets/s; RSS %d → %d KiB",
		len(results), assets, failures.Load(), pct(0.5).Round(time.Millisecond), pct(0.95).Round(time.Millisecond),
		pct(1).Round(time.Millisecond), float64(assets)/dur.Seconds(), rss0, srv.rssKB())
	assert.NotEmpty(t, results, "no job completed")
	took, code := srv.term(60 * time.Second)
	assert.Equal(t, 0, code, "exit after SIGTERM (took %s)", took)
}
