package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one `ipsd serve` process on a data directory.
type server struct {
	cmd       *exec.Cmd
	addr      string
	pprofAddr string // IPSD_PPROF_ADDR, when profiling
	metrics   string // --metrics-addr: /metrics is not served on --addr without a token
	log       *os.File
	done      chan error
	stopOnce  sync.Once
}

// ipsdEnv is the environment of every ipsd and libvips process: one
// libvips thread per image, so images in flight = workers.
func ipsdEnv() []string {
	env := os.Environ()
	return append(env, "VIPS_CONCURRENCY=1", "IPSD_SIGNING_KEY=bench-signing-key-0123456789abcdef")
}

// globalArgs are ipsd's flags before the command: the data directory and,
// for a run on PostgreSQL, the database.
func (b *bench) globalArgs(dataDir string) []string {
	args := []string{"--data", dataDir}
	if b.database != "" {
		args = append(args, "--database", b.database)
	}
	return args
}

// admin runs `ipsd --data DIR admin ARGS...` and returns its stdout.
func (b *bench) admin(dataDir string, args ...string) (string, error) {
	full := append(b.globalArgs(dataDir), "admin")
	full = append(full, args...)
	cmd := exec.Command(b.ipsd, full...)
	cmd.Env = ipsdEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ipsd admin %s: %w: %s", strings.Join(args[:min(2, len(args))], " "), err, bytes.TrimSpace(errb.Bytes()))
	}
	return out.String(), nil
}

// setupData makes a fresh data directory with one company and one user.
func (b *bench) setupData(dataDir string) (companyHandle string, err error) {
	if err := os.RemoveAll(dataDir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return "", err
	}
	out, err := b.admin(dataDir, "company", "add", benchCompany)
	if err != nil {
		return "", err
	}
	companyHandle = strings.TrimSpace(out)
	if _, err := b.admin(dataDir, "user", "add", "--email", benchUser, "--password", benchPassword,
		"--role", "IpsCompanyAdmin", "--company", benchCompany); err != nil {
		return "", err
	}
	return companyHandle, nil
}

// importFiles imports files into folder and returns their asset handles in
// order. Files go in batches of 500 per `ipsd admin asset import`.
func (b *bench) importFiles(dataDir, folder string, files []string) ([]string, error) {
	var handles []string
	for from := 0; from < len(files); from += 500 {
		batch := files[from:min(from+500, len(files))]
		args := append([]string{"asset", "import", "--company", benchCompany, "--folder", folder}, batch...)
		out, err := b.admin(dataDir, args...)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			h, _, _ := strings.Cut(sc.Text(), "\t")
			if h != "" {
				handles = append(handles, h)
			}
		}
	}
	if len(handles) != len(files) {
		return nil, fmt.Errorf("import into %s: %d handles for %d files", folder, len(handles), len(files))
	}
	return handles, nil
}

// startServer starts `ipsd serve --workers N` on a free loopback port and
// waits until it is ready.
func (b *bench) startServer(dataDir, logName string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	var pprofAddr string
	if b.cfg.profile {
		pport, err := freePort()
		if err != nil {
			return nil, err
		}
		pprofAddr = "127.0.0.1:" + strconv.Itoa(pport)
	}
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	metricsAddr := "127.0.0.1:" + strconv.Itoa(mport)
	logf, err := os.Create(filepath.Join(b.work, logName))
	if err != nil {
		return nil, err
	}
	// The rendition cache is off unless a target turns it on (cache.go):
	// rounds of one export must render every time.
	args := append(b.globalArgs(dataDir), "serve", "--addr", addr, "--metrics-addr", metricsAddr, "--workers", strconv.Itoa(b.cfg.workers),
		"--rendition-cache-bytes", "0")
	args = append(args, b.cfg.serveFlags...)
	args = append(args, extra...)
	cmd := exec.Command(b.ipsd, args...)
	cmd.Env = ipsdEnv()
	if pprofAddr != "" {
		cmd.Env = append(cmd.Env, "IPSD_PPROF_ADDR="+pprofAddr)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, addr: addr, pprofAddr: pprofAddr, metrics: "http://" + metricsAddr, log: logf, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-s.done:
			logf.Close()
			return nil, fmt.Errorf("ipsd serve exited at start (%v); see %s", err, logf.Name())
		default:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("ipsd serve not ready after 60 s; see %s", logf.Name())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) baseURL() string { return "http://" + s.addr }

// stop ends the server with SIGTERM (SIGKILL after 30 s).
func (s *server) stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		s.log.Close()
	})
}

// procStatus reads a field of /proc/<pid>/status in kB ("VmHWM", "VmRSS").
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			break
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, field)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// timed is a finished command: wall time, CPU time (its own and its
// waited-for children's) and stdout.
type timed struct {
	wall, cpu time.Duration
	out       []byte
}

// runTimed runs a command with the bench environment and times it.
func runTimed(ctx context.Context, dir string, name string, args ...string) (timed, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = ipsdEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	t := timed{wall: time.Since(start), out: out.Bytes()}
	if cmd.ProcessState != nil {
		t.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return t, fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(errb.Bytes()))
	}
	return t, nil
}

// goMem is what the server's /metrics says of the Go runtime's memory.
type goMem struct {
	heapInuse, heapSys, heapReleased, sys, rss float64 // bytes
}

// fromOS is what the Go runtime holds of the OS's memory: all it mapped
// minus the heap pages it gave back.
func (m goMem) fromOS() float64 { return m.sys - m.heapReleased }

// metricsClient asks for /metrics uncompressed: a gzip writer per scrape
// would itself be a megabyte of garbage in the server being measured.
var metricsClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func scrapeGoMem(base string) (goMem, error) {
	resp, err := metricsClient.Get(base + "/metrics")
	if err != nil {
		return goMem{}, err
	}
	defer resp.Body.Close()
	var m goMem
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			m.heapInuse = v
		case "go_memstats_heap_sys_bytes":
			m.heapSys = v
		case "go_memstats_heap_released_bytes":
			m.heapReleased = v
		case "go_memstats_sys_bytes":
			m.sys = v
		case "process_resident_memory_bytes":
			m.rss = v
		}
	}
	return m, sc.Err()
}

// memSampler follows a server's memory while an export runs.
type memSampler struct {
	stop chan struct{}
	done chan struct{}
	// peakGo is the sample with the most Go memory from the OS; peakRSS
	// the one with the largest RSS.
	peakGo, peakRSS goMem
}

func sampleMem(base string, every time.Duration) *memSampler {
	s := &memSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if m, err := scrapeGoMem(base); err == nil {
				if m.fromOS() > s.peakGo.fromOS() {
					s.peakGo = m
				}
				if m.rss > s.peakRSS.rss {
					s.peakRSS = m
				}
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *memSampler) finish() { close(s.stop); <-s.done }

// fetchProfile saves GET pprofAddr+path into WORK/profiles/name and
// returns its path.
func (b *bench) fetchProfile(s *server, path, name string) (string, error) {
	if s.pprofAddr == "" {
		return "", fmt.Errorf("profiling is off")
	}
	resp, err := http.Get("http://" + s.pprofAddr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	dir := filepath.Join(b.work, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, name)
	f, err := os.Create(out)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", err
	}
	return out, f.Close()
}

// pprofTop writes `go tool pprof -top` of a profile beside it (.txt) and
// returns that text.
func (b *bench) pprofTop(profile string, args ...string) (string, error) {
	full := append([]string{"tool", "pprof", "-top", "-nodecount=25"}, args...)
	full = append(full, b.ipsd, profile)
	out, err := exec.Command("go", full...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", profile, err, out)
	}
	txt := strings.TrimSuffix(profile, filepath.Ext(profile)) + ".txt"
	if err := os.WriteFile(txt, out, 0o644); err != nil {
		return "", err
	}
	return string(out), nil
}

// profileCPU profiles the server for secs seconds while during runs, writes
// the profile and its top to WORK/profiles, and says where; what names the
// work in those lines. A failure is logged: a profile is never a result.
func (b *bench) profileCPU(s *server, name, what string, secs int, during func() error) {
	f, err := b.cpuProfile(s, name, secs, during)
	if err != nil {
		b.logf("profile %s: %v", what, err)
		return
	}
	if _, err := b.pprofTop(f); err != nil {
		b.logf("%v", err)
		return
	}
	b.detail("profile: %s under the CPU profiler: %s (top in %s)", what, f, strings.TrimSuffix(f, ".pprof")+".txt")
}

// cpuProfile profiles the server for secs seconds while during runs.
func (b *bench) cpuProfile(s *server, name string, secs int, during func() error) (string, error) {
	type res struct {
		path string
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		p, err := b.fetchProfile(s, fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), name)
		ch <- res{p, err}
	}()
	time.Sleep(100 * time.Millisecond) // let the profile start first
	derr := during()
	r := <-ch
	if derr != nil {
		return "", derr
	}
	return r.path, r.err
}
