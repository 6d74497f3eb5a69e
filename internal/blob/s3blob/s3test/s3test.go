// Package s3test runs a real, throw-away S3-compatible server for tests:
// versitygw (github.com/versity/versitygw, Apache-2.0) with its POSIX
// backend in a temporary directory, on a free loopback port, one server per
// test binary and one fresh bucket per test.
//
//	var s3srv *s3test.Server
//
//	func TestMain(m *testing.M) { s3test.Main(m, &s3srv) }
//
//	func TestX(t *testing.T) {
//		bucket := s3srv.NewBucket(t) // removed when the test ends
//		cfg := s3srv.Config(bucket)  // endpoint, region, credentials
//		…
//	}
//
// versitygw is built from source the first time (go install of Module at
// Version, outside this module: its dependencies never enter our go.mod)
// into os.UserCacheDir()/ipsd-test/versitygw-<Version>/, under a file lock so
// test binaries starting together build it once; later runs reuse it. Set
// BinaryEnv to use another binary.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ipsexport/ipsd/internal/blob/s3blob"
)

const (
	// Module and Version are what is built.
	Module  = "github.com/versity/versitygw"
	Version = "v1.8.0"
	// BinaryEnv names the environment variable that, when set, is the path
	// of a versitygw binary to run instead of the cached build.
	BinaryEnv = "S3TEST_VERSITYGW"

	// Region, AccessKey and SecretKey are the server's: its root account.
	Region    = "us-east-1"
	AccessKey = "s3test-access"
	SecretKey = "s3test-secret-key"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is host:port on the loopback interface (plain http).
	Endpoint string

	dir     string // temporary root: data/, meta/, server.log
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
	client  *minio.Client
	seq     atomic.Int64
}

// Main starts a server, stores it in *srv, runs the tests, stops the server
// and exits with the tests' code. Use it as the whole of TestMain.
func Main(m *testing.M, srv **Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	if err := s.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Start builds versitygw if it is not built yet and starts it on a new
// temporary directory.
func Start(ctx context.Context) (*Server, error) {
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "s3test-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	// A port found free may be taken before versitygw binds it: try again.
	for attempt := 1; ; attempt++ {
		s := &Server{dir: dir, exited: make(chan struct{})}
		err = s.start(ctx, bin)
		if err == nil {
			return s, nil
		}
		_ = s.stop()
		if attempt == 3 || ctx.Err() != nil || !strings.Contains(err.Error(), "address already in use") {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (s *Server) start(ctx context.Context, bin string) error {
	data := filepath.Join(s.dir, "data")
	if err := os.MkdirAll(data, 0o750); err != nil {
		return err
	}
	// The POSIX backend keeps metadata (ours: the SHA-256) in extended
	// attributes; where the file system has none (tmpfs on older kernels),
	// in a sidecar directory.
	backend := []string{"posix", data}
	if !xattrsWork(data) {
		meta := filepath.Join(s.dir, "meta")
		if err := os.MkdirAll(meta, 0o750); err != nil {
			return err
		}
		backend = []string{"posix", "--sidecar", meta, data}
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.Endpoint = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	logf, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	args := append([]string{
		"--port", s.Endpoint,
		"--access", AccessKey,
		"--secret", SecretKey,
		"--region", Region,
		"--quiet",
	}, backend...)
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// Only what we pass: no ROOT_ACCESS_KEY or VGW_* from the environment.
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.dir}
	// If the test binary dies (a timeout panic, a kill), so does the server.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	s.client, err = minio.New(s.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(AccessKey, SecretKey, ""),
		Region: Region,
	})
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err = s.client.ListBuckets(pctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("versitygw exited: %v\n%s", s.waitErr, s.log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("versitygw not ready after 30s: %w\n%s", err, s.log())
		}
	}
}

func (s *Server) log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return string(b)
}

// Client is a minio-go client for the server, as its root account.
func (s *Server) Client() *minio.Client { return s.client }

// Config is an s3blob configuration for bucket on this server.
func (s *Server) Config(bucket string) s3blob.Config {
	return s3blob.Config{
		Endpoint:  s.Endpoint,
		Region:    Region,
		Bucket:    bucket,
		AccessKey: AccessKey,
		SecretKey: SecretKey,
	}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// NewBucket creates an empty bucket for this test and returns its name; the
// bucket and all in it are removed when the test ends.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	// The test name keeps the bucket recognisable; the sequence number makes
	// it unique. Bucket names are 3 to 63 of [a-z0-9-].
	name := strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	seq := strconv.FormatInt(s.seq.Add(1), 10)
	name = "t" + seq + "-" + name
	name = strings.TrimRight(name[:min(len(name), 63)], "-")
	if err := s.client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{Region: Region}); err != nil {
		tb.Fatalf("s3test: make bucket %s: %v", name, err)
	}
	tb.Cleanup(func() {
		// A bucket is a directory of the POSIX backend: removing it is quicker
		// and surer than emptying it through S3 (objects, unfinished uploads).
		if err := os.RemoveAll(filepath.Join(s.dir, "data", name)); err != nil {
			tb.Errorf("s3test: remove bucket %s: %v", name, err)
		}
	})
	return name
}

// Stop shuts the server down and removes its directory.
func (s *Server) Stop() error {
	return errors.Join(s.stop(), os.RemoveAll(s.dir))
}

func (s *Server) stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("versitygw did not stop within 10s; killed")
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func xattrsWork(dir string) bool {
	p := filepath.Join(dir, ".s3test-xattr")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return false
	}
	defer os.Remove(p)
	return syscall.Setxattr(p, "user.s3test", []byte("1"), 0) == nil
}
