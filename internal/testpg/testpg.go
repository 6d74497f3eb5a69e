// Package testpg runs a real, throw-away PostgreSQL server for tests: its own
// initdb cluster in a temporary directory, reachable only through a Unix
// socket in that directory (no TCP port, so parallel test binaries never
// clash), one server per test binary and one fresh database per test.
//
//	var pg *testpg.Server
//
//	func TestMain(m *testing.M) { testpg.Main(m, &pg) }
//
//	func TestX(t *testing.T) {
//		dsn := pg.NewDatabase(t) // dropped when the test ends
//		…
//	}
package testpg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BinDirEnv names the environment variable that overrides where initdb and
// postgres are looked for.
const BinDirEnv = "TESTPG_BINDIR"

// Server is a running test PostgreSQL server.
type Server struct {
	dir     string // temporary root: socket, data/, server.log
	bin     string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postgres process has exited
	waitErr error         // set before exited is closed
	admin   *pgxpool.Pool
	seq     atomic.Int64
}

// Main starts a server, stores it in *srv, runs the tests, stops the server
// and exits with the tests' code. Use it as the whole of TestMain. Without
// PostgreSQL installed it fails the binary with a message saying so.
func Main(m *testing.M, srv **Server) {
	s, err := Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "testpg:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "testpg:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start creates a cluster in a new temporary directory and starts a server
// on it. initdb and postgres refuse to run as root: when the test runs as
// root they run as the "postgres" user the Debian package creates.
func Start(ctx context.Context) (*Server, error) {
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := tempDir()
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, exited: make(chan struct{})}
	if err := s.start(ctx, cred); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown %s to postgres: %w", s.dir, err)
		}
	}
	logf, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()

	data := filepath.Join(s.dir, "data")
	// ICU en-US as the default collation, like a production server's
	// linguistic default, so code that needs byte order must say so.
	// A server built without ICU gets plain C.
	var out []byte
	for _, locale := range [][]string{
		{"--locale=C.UTF-8", "--locale-provider=icu", "--icu-locale=en-US"},
		{"--locale=C"},
	} {
		_ = os.RemoveAll(data) // what a failed attempt left
		args := append([]string{"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
			"--no-sync", "--no-instructions"}, locale...)
		initdb := exec.CommandContext(ctx, filepath.Join(s.bin, "initdb"), args...)
		initdb.Dir = s.dir
		initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
		if out, err = initdb.CombinedOutput(); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}

	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"),
		"-D", data,
		"-k", s.dir,
		"-c", "listen_addresses=",
		// Durability is worthless here; speed is not.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=32MB",
		"-c", "max_connections=200",
		"-c", "log_min_messages=warning",
	)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Pdeathsig: if the test binary dies (a timeout panic, a kill), the
	// postmaster shuts down immediately instead of outliving it. Go sets it
	// after switching credentials, so the switch does not clear it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	cfg, err := pgxpool.ParseConfig(s.DSN("postgres"))
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	deadline := time.Now().Add(30 * time.Second)
	for {
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err == nil {
			if err = pool.Ping(ctx); err == nil {
				s.admin = pool
				return nil
			}
			pool.Close()
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited: %v\n%s", s.waitErr, s.log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 30s: %w\n%s", err, s.log())
		}
	}
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// Dir is the server's temporary directory (its socket directory).
func (s *Server) Dir() string { return s.dir }

// DSN is the URL of database db on this server.
func (s *Server) DSN(db string) string {
	q := url.Values{"host": {s.dir}, "sslmode": {"disable"}}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db, RawQuery: q.Encode()}).String()
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates an empty database for this test and returns its DSN;
// the database is dropped when the test ends.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	// The test name keeps the database recognisable; the sequence number
	// makes it unique. PostgreSQL names stop at 63 bytes.
	name := unsafeName.ReplaceAllString(strings.ToLower(tb.Name()), "_")
	seq := "_" + strconv.FormatInt(s.seq.Add(1), 10)
	name = "t_" + name[:min(len(name), 63-2-len(seq))] + seq
	ctx := context.Background()
	ident := pgx.Identifier{name}.Sanitize()
	// FILE_COPY copies the template's files (milliseconds with fsync off);
	// the default WAL_LOG strategy writes every page through the WAL.
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+ident+" STRATEGY = FILE_COPY"); err != nil {
		tb.Fatalf("testpg: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// FORCE ends connections the test left open.
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			tb.Errorf("testpg: drop database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// Stop shuts the server down (fast shutdown: SIGINT) and removes its
// directory.
func (s *Server) Stop() error {
	if s.admin != nil {
		s.admin.Close()
	}
	var errs []error
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			errs = append(errs, errors.New("postgres did not stop within 30s; killed"))
		}
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tempDir makes the server's directory. /dev/shm (memory) first: a test
// database is created by copying files and dropped by deleting them, which on
// a disk (here ext4 mounted with discard) costs ~100 ms a database, against a
// few ms in memory. A test cluster is small: ~40 MB plus ~8 MB a live database.
func tempDir() (string, error) {
	var fs syscall.Statfs_t
	if err := syscall.Statfs("/dev/shm", &fs); err == nil {
		sweepStale("/dev/shm")
		// A container's /dev/shm may be 64 MB: too small, use the disk.
		if fs.Bavail*uint64(fs.Bsize) >= 1<<30 {
			if dir, err := os.MkdirTemp("/dev/shm", "testpg-"); err == nil {
				return dir, nil
			}
		}
	}
	// The socket path must fit in sun_path (108 bytes): keep to /tmp when
	// TMPDIR is deep.
	base := os.TempDir()
	if len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "testpg-")
	if err != nil {
		return "", fmt.Errorf("temp dir: %w", err)
	}
	return dir, nil
}

// sweepStale removes the directories of test servers that are gone: a test
// binary killed outright leaves its directory (its server stops with it,
// see Pdeathsig), and in /dev/shm that is memory. Only testpg directories
// older than ten minutes whose postmaster is not running are touched.
func sweepStale(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "testpg-*"))
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil || !st.IsDir() || time.Since(st.ModTime()) < 10*time.Minute {
			continue
		}
		if pid := postmasterPID(d); pid > 0 && syscall.Kill(pid, 0) != syscall.ESRCH {
			continue // still running (or not ours to signal): leave it
		}
		_ = os.RemoveAll(d)
	}
}

// PID is the postmaster's process id (its backends are its children); 0
// when the server is not running. Benchmarks count the database's CPU
// with it.
func (s *Server) PID() int { return postmasterPID(s.dir) }

// postmasterPID reads the pid from a cluster's postmaster.pid; 0 if none.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// findBinDir finds the directory holding initdb and postgres. Debian keeps
// them off PATH in /usr/lib/postgresql/<major>/bin, the bindir that
// pg_config reports or its sibling for the same major version.
func findBinDir() (string, error) { return findBinDirIn("pg_config", "/usr/lib/postgresql") }

func findBinDirIn(pgConfig, libDir string) (string, error) {
	var cands []string
	if d := os.Getenv(BinDirEnv); d != "" {
		cands = append(cands, d)
	}
	if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
		cands = append(cands, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command(pgConfig, "--version").Output(); err == nil {
		// "PostgreSQL 15.18 (Debian …)" → 15
		if f := strings.Fields(string(out)); len(f) >= 2 {
			major, _, _ := strings.Cut(f[1], ".")
			cands = append(cands, filepath.Join(libDir, major, "bin"))
		}
	}
	installed, _ := filepath.Glob(filepath.Join(libDir, "*", "bin"))
	slices.SortFunc(installed, func(a, b string) int { return majorOf(b) - majorOf(a) }) // newest first
	cands = append(cands, installed...)
	for _, d := range cands {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found in %v; "+
		"install the server (Debian: apt-get install postgresql) or set %s", cands, BinDirEnv)
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// credential is who runs the server: nobody else (nil) unless we are root,
// whom initdb and postgres refuse; then the postgres user.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses root: no postgres user to run it as (%w)", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
