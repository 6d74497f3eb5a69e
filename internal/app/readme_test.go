package app

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2non/bimg"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeAddr is the address the README's examples are written for, the
// one `make run` serves on; the tests replace it with the server's.
const readmeAddr = "127.0.0.1:8080"

// TestReadmeFirstTry is issue 16, point 5: a new user follows the README
// from `make run` to a downloaded export. The README's first blocks, marked
// <!-- first-try: NAME -->, are run as written and in their order against
// a fresh server started with the commands of the Makefile's run recipe, in
// a directory laid out like the clone (bin/ipsd, testdata/, and the data
// directory ./data the server makes) – only the address is replaced, the
// server listening on port 0. The ```sh blocks run one after the other in
// one bash, as in a terminal (`set -euo pipefail`: each command must
// succeed, and nothing may be written to stderr); the ```python block runs
// with Debian's python3 and zeep; the plain block after "make run" is what
// the server prints. What a block says it prints – the comment lines right
// under a line of code, `…` standing for any text – must be printed, in
// that order. The files and the catalogue are then checked from Go: the
// zip's WebP decoded (800 pixels wide, grey), the zeep export's originals
// byte for byte, the Jobs page signed in to with the demo login, the
// uploaded photo found in its folder.
func TestReadmeFirstTry(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	readme := string(b)
	blocks := readmeMarkedBlocks(readme, "first-try")
	var names []string
	for _, bl := range blocks {
		names = append(names, bl.name)
	}
	for _, want := range []string{"make run", "health", "company", "submit", "follow", "download", "mail", "zeep", "upload", "import"} {
		require.Contains(t, names, want, "README marks the %q block", want)
	}
	for _, h := range []string{"## The two commands", "## Export with curl", "## The Jobs page", "## Uploading assets"} {
		require.Contains(t, readme, "\n"+h+"\n")
	}

	// The clone: the binary where `make run` builds it, the shipped test
	// data, and the data directory made by the server.
	clone := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(clone, "bin"), 0o755))
	require.NoError(t, os.Symlink(ipsdBinary(t), filepath.Join(clone, "bin", "ipsd")))
	require.NoError(t, os.Symlink(filepath.Join(repoRoot(t), "testdata"), filepath.Join(clone, "testdata")))

	// `make run`: its recipe, with the Makefile's defaults but port 0.
	recipe := makeRecipe(t, "run")
	require.Len(t, recipe, 2, "make run seeds the demo, then serves")
	expand := strings.NewReplacer("./$(BIN)", "./bin/ipsd", "$(DATA)", "./data", "$(ADDR)", "127.0.0.1:0")
	seed := exec.Command("bash", "-c", expand.Replace(recipe[0]))
	seed.Dir, seed.Env = clone, procEnv()
	seeded, err := seed.Output()
	require.NoError(t, err, "make run: %s", recipe[0])
	serveLine := expand.Replace(recipe[1])
	require.Contains(t, serveLine, " serve --addr ")
	serve := exec.Command("bash", "-c", "exec "+serveLine)
	serve.Dir, serve.Env = clone, procEnv()
	srv := launchCmd(t, "make-run", serve, "make run: "+serveLine)
	require.NoError(t, srv.await(60*time.Second))
	addr := strings.TrimPrefix(srv.base, "http://")
	localize := strings.NewReplacer(readmeAddr, addr)

	term := newReadmeTerminal(t, clone)
	web := newWebClient(t, srv.base)
	for _, bl := range blocks {
		body := localize.Replace(bl.body)
		var out string
		switch {
		case bl.name == "make run":
			require.Contains(t, bl.body, readmeAddr)
			out = awaitPrinted(localize.Replace(readmeShown(bl)), func() string { return string(seeded) + serverStdout(srv) })
		case bl.lang == "sh":
			if bl.name == "mail" {
				// The mail is written just after the job has ended: a person
				// typing the next command is never this quick.
				awaitGlob(t, filepath.Join(clone, "data", "mail", "*.eml"), 30*time.Second)
			}
			out = term.run(bl.name, body)
		case bl.lang == "python":
			out = runReadmePython(t, clone, bl.name, body)
		default:
			t.Fatalf("README block %q: no way to run ```%s", bl.name, bl.lang)
		}
		assertPrints(t, bl.name, localize.Replace(readmeShown(bl)), out)

		switch bl.name {
		case "download":
			checkReadmeExport(t, filepath.Join(clone, "readme-export.zip"))
		case "zeep":
			checkReadmeOrigExport(t, filepath.Join(clone, "zeep-export.zip"))
			checkReadmeJobsPage(t, web)
		case "upload":
			checkReadmeUpload(t, srv.base)
		}
	}
}

// makeRecipe is the recipe of a Makefile target, one command a line.
func makeRecipe(t *testing.T, target string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	require.NoError(t, err)
	var recipe []string
	in := false
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(l, target+":"):
			in = true
		case in && strings.HasPrefix(l, "\t"):
			recipe = append(recipe, strings.TrimSpace(l))
		case in:
			return recipe
		}
	}
	require.True(t, in, "the Makefile has a %s target", target)
	return recipe
}

// serverStdout is what a started process has printed on stdout so far.
func serverStdout(p *ipsdProc) string {
	var out []string
	for _, l := range strings.Split(p.logText(), "\n") {
		if s, ok := strings.CutPrefix(l, "stdout: "); ok {
			out = append(out, s)
		}
	}
	return strings.Join(out, "\n")
}

func awaitGlob(t *testing.T, pattern string, limit time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(limit); ; time.Sleep(50 * time.Millisecond) {
		if found, _ := filepath.Glob(pattern); len(found) > 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "nothing matches %s after %s", pattern, limit)
	}
}

// readmeShown is what a README block says is printed: a plain block is
// output itself; in code, each comment line in a run of them right under a
// line of code (a comment after a blank line, or at the top, explains
// instead).
func readmeShown(bl readmeCodeBlock) string {
	if bl.lang == "" {
		return bl.body
	}
	var out []string
	underCode := false
	for _, l := range strings.Split(bl.body, "\n") {
		s := strings.TrimSpace(l)
		switch {
		case s == "":
			underCode = false
		case strings.HasPrefix(s, "#"):
			if underCode {
				out = append(out, strings.TrimSpace(strings.TrimPrefix(s, "#")))
			}
		default:
			underCode = true
		}
	}
	return strings.Join(out, "\n")
}

// assertPrints checks that got has what want shows (see printed).
func assertPrints(t *testing.T, block, want, got string) {
	t.Helper()
	if missing := printed(want, got); missing != "" {
		t.Fatalf("README block %q says it prints\n\t%s\nin this order:\n%s\nbut it printed:\n%s", block, missing, want, got)
	}
}

// printed is the first line of want that got lacks, or "" when each line
// of want matches a line of got, in order: lines trimmed, `…` matching any
// text, a run of blanks any run. A line that is only `…` stands for lines
// left out.
func printed(want, got string) (missing string) {
	lines := strings.Split(got, "\n")
	at := 0
	for _, w := range strings.Split(want, "\n") {
		if w = strings.TrimSpace(w); w == "" || w == "…" {
			continue
		}
		re := readmeLinePattern(w)
		for at < len(lines) && !re.MatchString(strings.TrimSpace(lines[at])) {
			at++
		}
		if at == len(lines) {
			return w
		}
		at++
	}
	return ""
}

// awaitPrinted returns output() once it has what want shows, or after 10 s:
// a server's lines after the one it was awaited by may still be on their
// way.
func awaitPrinted(want string, output func() string) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := output()
		if printed(want, got) == "" || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var blanks = regexp.MustCompile(`\s+`)

func readmeLinePattern(line string) *regexp.Regexp {
	parts := strings.Split(line, "…")
	for i, p := range parts {
		words := blanks.Split(p, -1)
		for j, w := range words {
			words[j] = regexp.QuoteMeta(w)
		}
		parts[i] = strings.Join(words, `\s+`)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// readmeTerminal is one bash that runs the README's shell blocks one after
// the other, its variables and working directory kept between them.
type readmeTerminal struct {
	t      *testing.T
	dir    string // for each block's stderr
	stdin  io.WriteCloser
	lines  chan string
	exited chan struct{}
	cmd    *exec.Cmd
	n      int
}

// readmeBlockLimit bounds one block: the export's poll loop has no end of
// its own.
const readmeBlockLimit = 2 * time.Minute

func newReadmeTerminal(t *testing.T, dir string) *readmeTerminal {
	t.Helper()
	rt := &readmeTerminal{t: t, dir: t.TempDir(), lines: make(chan string, 1024), exited: make(chan struct{})}
	rt.cmd = exec.Command("bash", "--noprofile", "--norc", "-s")
	rt.cmd.Dir = dir
	rt.cmd.Env = append(procEnv(), "LC_ALL=C.UTF-8")
	rt.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	rt.stdin, err = rt.cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := rt.cmd.StdoutPipe()
	require.NoError(t, err)
	rt.cmd.Stderr = os.Stderr // a block's own stderr goes to its file
	require.NoError(t, rt.cmd.Start())
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			rt.lines <- sc.Text()
		}
		_ = rt.cmd.Wait()
		close(rt.exited)
		close(rt.lines)
	}()
	_, err = io.WriteString(rt.stdin, "set -euo pipefail\n")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = rt.stdin.Close()
		select {
		case <-rt.exited:
		case <-time.After(5 * time.Second):
			_ = rt.cmd.Process.Kill()
		}
	})
	return rt
}

// run runs one block and returns what it printed on stdout; the test fails
// if a command fails, the block writes to stderr or takes too long.
func (rt *readmeTerminal) run(name, block string) string {
	rt.t.Helper()
	rt.n++
	errPath := filepath.Join(rt.dir, fmt.Sprintf("%d.stderr", rt.n))
	done := fmt.Sprintf("@@readme-block-%d-done", rt.n)
	_, err := fmt.Fprintf(rt.stdin, "{\n%s\n} 2>%q\necho %s\n", block, errPath, done)
	require.NoError(rt.t, err)
	var out []string
	timeout := time.After(readmeBlockLimit)
	for {
		select {
		case l, ok := <-rt.lines:
			if !ok {
				<-rt.exited
				stderr, _ := os.ReadFile(errPath)
				rt.t.Fatalf("README block %q failed (%v):\n%s\nit printed:\n%s\nand on stderr:\n%s", name, rt.cmd.ProcessState,
					block, strings.Join(out, "\n"), stderr)
			}
			if l != done {
				out = append(out, l)
				continue
			}
			stderr, err := os.ReadFile(errPath)
			require.NoError(rt.t, err)
			require.Empty(rt.t, string(stderr), "README block %q wrote to stderr", name)
			return strings.Join(out, "\n")
		case <-timeout:
			_ = rt.cmd.Process.Kill()
			rt.t.Fatalf("README block %q did not end within %s; it printed:\n%s", name, readmeBlockLimit, strings.Join(out, "\n"))
		}
	}
}

// runReadmePython saves a block as the README says (export.py) and runs it
// with Debian's python3, which has zeep (the first python3 on PATH may
// not).
func runReadmePython(t *testing.T, dir, name, block string) string {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "export.py"), []byte(block), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), readmeBlockLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", "export.py")
	cmd.Dir, cmd.Env = dir, procEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "README block %q:\n%s%s", name, stdout.String(), stderr.String())
	return stdout.String()
}

// checkReadmeExport checks the curl export's zip: the three demo images as
// the README says, black-and-white WebP 800 pixels wide (the macro's wid
// over is_modifier's, is_modifier's op_saturation=-100 applied).
func checkReadmeExport(t *testing.T, path string) {
	t.Helper()
	files, names := unzipFile(t, path)
	assert.Equal(t, []string{"sunrise.webp", "products/shoe.webp", "products/red/shoe.webp"}, names)
	// The demo's sources are 1600×1000, 800×800 and 1200×900.
	want := map[string][2]int{"sunrise.webp": {800, 500}, "products/shoe.webp": {800, 800}, "products/red/shoe.webp": {800, 600}}
	for name, size := range want {
		b := files[name]
		require.True(t, len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP", "%s is WebP", name)
		decoded, err := bimg.NewImage(b).Convert(bimg.PNG)
		require.NoError(t, err, name)
		img, err := png.Decode(bytes.NewReader(decoded))
		require.NoError(t, err, name)
		assert.Equal(t, size, [2]int{img.Bounds().Dx(), img.Bounds().Dy()}, name)
		assert.LessOrEqual(t, maxChroma(img), 3, "%s is grey", name)
	}
}

// unzipFile is a zip file's entries by name, and their names in order.
func unzipFile(t *testing.T, path string) (map[string][]byte, []string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	files, names, err := procUnzip(raw)
	require.NoError(t, err)
	return files, names
}

// maxChroma is the largest difference between two channels of a pixel.
func maxChroma(img image.Image) int {
	most := 0
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			lo, hi := min(cr, cg, cb)>>8, max(cr, cg, cb)>>8
			most = max(most, int(hi-lo))
		}
	}
	return most
}

// checkReadmeOrigExport checks the zeep example's zip: the demo's originals
// byte for byte.
func checkReadmeOrigExport(t *testing.T, path string) {
	t.Helper()
	files, names := unzipFile(t, path)
	var want []string
	for _, f := range demoImages() {
		name := strings.TrimPrefix(f.folder+"/"+f.name, "/")
		want = append(want, name)
		assert.Equal(t, sha256Hex(f.data), sha256Hex(files[name]), "%s byte for byte", name)
	}
	assert.Equal(t, want, names)
}

// checkReadmeJobsPage follows the README's Jobs page section: / leads to
// the sign-in form, the demo login signs in, and the two exports made so
// far are listed under Ended.
func checkReadmeJobsPage(t *testing.T, web *webClient) {
	t.Helper()
	status, hdr, _ := web.get("/")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/jobs", hdr.Get("Location"))
	status, hdr, _ = web.get("/jobs")
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/jobs/login", hdr.Get("Location"))
	status, said := web.signIn(DemoEmail, DemoPassword)
	require.Equal(t, http.StatusSeeOther, status, said)
	status, _, page := web.get("/jobs")
	require.Equal(t, http.StatusOK, status)
	i := strings.Index(page, `id="ended"`)
	require.GreaterOrEqual(t, i, 0, "the list has an Ended section")
	for _, job := range []string{"readme-export", "zeep-export"} {
		assert.Contains(t, page[i:], ">"+job+"<", "%s is under Ended", job)
	}
}

// checkReadmeUpload finds testdata/photo.png (480×320) where the README
// uploaded it.
func checkReadmeUpload(t *testing.T, base string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+soapPath, strings.NewReader(soapCall("",
		`<getAssetsByNameParam xmlns="`+ns14+`"><companyHandle>c|1</companyHandle><nameArray><items>photo</items></nameArray></getAssetsByNameParam>`)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.SetBasicAuth(DemoEmail, DemoPassword)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	for _, want := range []string{"<folder>Demo/incoming/</folder>", "<fileName>photo.png</fileName>", "<width>480</width>", "<height>320</height>"} {
		assert.Contains(t, string(b), want)
	}
}

// TestMakeRun runs `make run` itself, as the README's first command, with
// the DATA= and ADDR= it documents: it builds bin/ipsd, seeds the demo into
// DATA and serves on ADDR (port 0 here), printing what the README shows;
// /healthz and /readyz answer; Ctrl-C (SIGINT to the process group, as a
// terminal sends it) stops it.
func TestMakeRun(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "demo data")
	cmd := exec.Command("make", "--no-print-directory", "run", "DATA="+data, "ADDR=127.0.0.1:0")
	cmd.Dir = repoRoot(t)
	// Not the make that may run this test: its jobserver is not ours.
	for _, kv := range procEnv() {
		if name, _, _ := strings.Cut(kv, "="); name != "MAKEFLAGS" && name != "MFLAGS" && name != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := launchCmd(t, "make-run", cmd, "make run DATA="+data+" ADDR=127.0.0.1:0")
	t.Cleanup(func() { _ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }) // make and ipsd
	// The build is mostly cached (other tests build the same packages).
	require.NoError(t, p.await(5*time.Minute))

	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		resp, err := http.Get(p.base + path)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, want, string(b), path)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	require.NoError(t, err)
	blocks := readmeMarkedBlocks(string(b), "first-try")
	i := slices.IndexFunc(blocks, func(bl readmeCodeBlock) bool { return bl.name == "make run" })
	require.GreaterOrEqual(t, i, 0, "README shows what make run prints")
	shown := strings.ReplaceAll(readmeShown(blocks[i]), readmeAddr, strings.TrimPrefix(p.base, "http://"))
	assertPrints(t, "make run", shown, awaitPrinted(shown, func() string { return serverStdout(p) }))
	_, err = os.Stat(filepath.Join(data, "ipsd.db"))
	assert.NoError(t, err, "DATA= is the data directory")

	require.NoError(t, syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT))
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("make run did not stop within 30 s of Ctrl-C")
	}
	assert.Contains(t, p.logText(), `msg="shutting down"`, "ipsd shut down on Ctrl-C")
}
