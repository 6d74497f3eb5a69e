package s3test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Binary returns the path of a versitygw binary: BinaryEnv's if set, else
// the cached build, building it first if there is none. The build is
//
//	GOBIN=<tmp> GOWORK=off go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// run in a temporary directory beside the cache (outside any module, so
// nothing touches our go.mod), the binary then moved into place: a build
// that is killed leaves no half-written binary. A file lock makes other test
// binaries wait for a build under way instead of starting their own.
func Binary(ctx context.Context) (string, error) {
	if p := os.Getenv(BinaryEnv); p != "" {
		if !isExec(p) {
			return "", fmt.Errorf("%s=%s: not an executable file", BinaryEnv, p)
		}
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("versitygw cache: %w", err)
	}
	base := filepath.Join(cache, "ipsd-test")
	bin := filepath.Join(base, "versitygw-"+Version, "versitygw")
	if isExec(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("versitygw cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(base, "versitygw-"+Version+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExec(bin) { // built while we waited
		return bin, nil
	}
	if err := build(ctx, base, bin); err != nil {
		return "", err
	}
	return bin, nil
}

func build(ctx context.Context, base, bin string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("building versitygw needs the go command: %w", err)
	}
	tmp, err := os.MkdirTemp(base, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	pkg := Module + "/cmd/versitygw@" + Version
	fmt.Fprintf(os.Stderr, "s3test: building %s into %s (once; this takes a few minutes)\n", pkg, filepath.Dir(bin))
	start := time.Now()
	cmd := exec.CommandContext(ctx, goTool, "install", pkg)
	cmd.Dir = tmp
	cmd.Env = append(buildEnv(os.Environ()), "GOBIN="+tmp, "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go install %s: %w\n%s", pkg, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil {
		return fmt.Errorf("versitygw build: %w", err)
	}
	fmt.Fprintf(os.Stderr, "s3test: built %s in %s\n", bin, time.Since(start).Round(time.Second))
	return nil
}

// buildEnv is env without what would make go install build something other
// than a plain binary for this machine: a -mod flag (meaningless outside a
// module), a cross-compilation target, the test's own GOBIN or GOWORK.
func buildEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "GOBIN", "GOWORK", "GOOS", "GOARCH", "GOFLAGS":
			if k == "GOFLAGS" {
				var keep []string
				for _, f := range strings.Fields(v) {
					if !strings.HasPrefix(f, "-mod=") {
						keep = append(keep, f)
					}
				}
				out = append(out, "GOFLAGS="+strings.Join(keep, " "))
			}
			continue
		}
		out = append(out, kv)
	}
	return out
}

// lockFile takes an exclusive lock on path, waiting for it as long as ctx
// allows; unlock releases it. The lock file stays: removing it would let two
// waiters lock two different files.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the versitygw build (lock %s): %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}
