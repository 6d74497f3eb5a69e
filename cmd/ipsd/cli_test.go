package main

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/render"
)

// helpFlags reads the flags section of a command's help: flag name → its
// description line.
func helpFlags(t *testing.T, help string) map[string]string {
	t.Helper()
	_, flags, ok := strings.Cut(help, "\nflags:\n")
	if !ok {
		return nil
	}
	flags, _, _ = strings.Cut(flags, "\n\n")
	out := map[string]string{}
	lines := strings.Split(flags, "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		name, _, _ := strings.Cut(strings.TrimPrefix(lines[i], "  --"), " ")
		require.True(t, strings.HasPrefix(lines[i], "  --"), "flag line %q", lines[i])
		out[name] = strings.TrimSpace(lines[i+1])
	}
	return out
}

// Every command and every group answers --help (and `ipsd help …`) on
// stdout with exit 0: the synopsis with its positional arguments, the
// one-line description, and for every flag of serve and worker its
// IPSD_* variable.
func TestHelpEverywhere(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"admin", "--help"}, {"admin", "asset", "--help"}, {"admin", "catalog", "-h"}} {
		code, out, errOut := ipsd(t, args...)
		assert.Equal(t, 0, code, "%v: %s", args, errOut)
		assert.Contains(t, out, "usage: ipsd [global flags] ", "%v", args)
		assert.Contains(t, out, "commands:", "%v", args)
	}
	for _, cmd := range commands {
		path := strings.Fields(cmd.path)
		for _, args := range [][]string{append(path, "--help"), append([]string{"help"}, path...)} {
			code, out, errOut := ipsd(t, args...)
			require.Equal(t, 0, code, "%v: %s", args, errOut)
			assert.True(t, strings.HasPrefix(out, "usage: ipsd [global flags] "+cmd.path+" "+cmd.args+"\n\n"+cmd.summary+"\n"), "%v:\n%s", args, out)
			assert.Contains(t, out, "--data DIR")
			assert.Contains(t, out, "env IPSD_DATABASE_URL")
			flags := helpFlags(t, out)
			if cmd.path == "serve" || cmd.path == "worker" {
				for name, desc := range flags {
					assert.Regexp(t, `env IPSD_[A-Z0-9_]+\)$`, desc, "%s --%s", cmd.path, name)
				}
			}
			if strings.Contains(cmd.args, "[storage flags]") || cmd.path == "serve" || cmd.path == "worker" {
				assert.Contains(t, flags["s3-endpoint"], "env IPSD_S3_ENDPOINT", cmd.path)
				assert.Contains(t, out, "IPSD_S3_SECRET_KEY", cmd.path)
			}
		}
	}
	assert.NotEmpty(t, commands)

	_, serve, _ := ipsd(t, "serve", "--help")
	_, worker, _ := ipsd(t, "worker", "--help")
	sf, wf := helpFlags(t, serve), helpFlags(t, worker)
	assert.Contains(t, sf["workers"], "0: a front end only")
	assert.NotContains(t, wf["workers"], "front end only", "--workers 0 is no worker")
	assert.Contains(t, sf["public-url"], "--addr")
	assert.NotContains(t, wf["public-url"], "--addr", "a worker's --addr is not where links point")
	assert.Contains(t, wf["addr"], "env IPSD_WORKER_ADDR")
	assert.Contains(t, sf["addr"], "env IPSD_ADDR")
	assert.Contains(t, sf["metrics-addr"], "env IPSD_METRICS_ADDR")
	assert.Contains(t, sf["log-level"], "env IPSD_LOG_LEVEL")
	assert.Contains(t, sf["zip-read-ahead-bytes"], "env IPSD_ZIP_READ_AHEAD_BYTES")
	_, imp, _ := ipsd(t, "admin", "asset", "import", "-h")
	assert.NotContains(t, helpFlags(t, imp)["company"], "env", "admin flags have no variables")
}

func TestUsageMistakes(t *testing.T) {
	for _, c := range []struct {
		args []string
		err  string
	}{
		{nil, "commands:"},
		{[]string{"nonsense"}, `unknown command "nonsense"`},
		{[]string{"admin"}, "ipsd admin needs a command"},
		{[]string{"admin", "asset"}, "ipsd admin asset needs a command"},
		{[]string{"admin", "asset", "export"}, `unknown admin asset command "export"`},
		{[]string{"serve", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"serve", "extra"}, "serve takes no arguments"},
		{[]string{"admin", "company", "add"}, "Run 'ipsd admin company add --help'"},
		{[]string{"--nope"}, "Run 'ipsd --help'"},
	} {
		code, out, errOut := ipsd(t, append([]string{"--data", t.TempDir()}, c.args...)...)
		assert.Equal(t, 2, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errOut, c.err, "%v", c.args)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, _ := ipsd(t, args...)
		require.Equal(t, 0, code)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		require.Len(t, lines, 4, out)
		assert.Regexp(t, `^ipsd \S+$`, lines[0])
		assert.Regexp(t, `^commit \S+`, lines[1])
		assert.Regexp(t, `^go1\.\d+`, lines[2])
		assert.Equal(t, "libvips "+render.VipsVersion(), lines[3])
	}
}

// IPSD_* variables are parsed as strictly as flags, the error naming the
// variable; a flag on the command line wins over its variable.
func TestEnvStrict(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		variable, value, cmd, want string
	}{
		{"IPSD_S3_INSECURE", "yes", "serve", `IPSD_S3_INSECURE="yes": want true or false (as --s3-insecure)`},
		{"IPSD_S3_INSECURE", "nein", "admin asset import", `IPSD_S3_INSECURE="nein": want true or false`},
		{"IPSD_WORKERS", "four", "worker", `IPSD_WORKERS="four": want a whole number (as --workers)`},
		{"IPSD_CHUNK_TIMEOUT", "10", "serve", `IPSD_CHUNK_TIMEOUT="10": want a duration`},
		{"IPSD_LEASE", "30", "worker", `IPSD_LEASE="30": want a duration`},
		{"IPSD_LEASE", "500ms", "worker", "--lease 500ms: must be at least 1s"},
		{"IPSD_LOG_LEVEL", "loud", "worker", `IPSD_LOG_LEVEL="loud"`},
		{"IPSD_MAX_EXPORT_JOB_BYTES", "lots", "serve", `IPSD_MAX_EXPORT_JOB_BYTES="lots"`},
		{"IPSD_MAX_EXPORT_FILE_BYTES", "0", "worker", "--max-export-file-bytes and --max-export-job-bytes must be above 0 (-1: no bound)"},
		{"IPSD_ORIGINAL_GRACE", "5s", "serve", "--original-grace 5s: must be at least 1m"},
		{"IPSD_S3_BUCKET", "orphan", "serve", "--s3-bucket set without --s3-endpoint"},
		{"IPSD_S3_ENDPOINT", "https://h/path", "admin icc add", "no path"},
	} {
		t.Run(c.variable+"/"+c.cmd, func(t *testing.T) {
			t.Setenv(c.variable, c.value)
			args := append([]string{"--data", data}, strings.Fields(c.cmd)...)
			if c.cmd == "admin asset import" {
				args = append(args, "--company", "X", "f.png")
			}
			if c.cmd == "admin icc add" {
				args = append(args, "p", "f.icc")
			}
			code, _, errOut := ipsd(t, args...)
			assert.Equal(t, 2, code, errOut)
			assert.Contains(t, errOut, c.want)
		})
	}
	// The command line wins: a good flag hides a bad variable.
	t.Setenv("IPSD_WORKERS", "four")
	code, _, errOut := ipsd(t, "--data", data, "worker", "--workers", "0")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "a worker needs --workers > 0", "the flag was used, the variable not parsed")
	// A global flag wins over IPSD_DATA, before or after the command.
	other := filepath.Join(t.TempDir(), "other")
	t.Setenv("IPSD_DATA", filepath.Join(t.TempDir(), "from-env"))
	code, _, errOut = ipsd(t, "admin", "company", "add", "--data", other, "Acme")
	require.Equal(t, 0, code, errOut)
	assert.FileExists(t, filepath.Join(other, "ipsd.db"))
}

// A signing key short enough to guess is refused before anything starts,
// by every command that signs.
func TestSigningKeyTooShort(t *testing.T) {
	data := t.TempDir()
	for _, cmd := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"worker"}} {
		t.Run(cmd[0], func(t *testing.T) {
			t.Setenv("IPSD_SIGNING_KEY", "0123456789abcdef") // 16 bytes
			code, _, errOut := ipsd(t, append([]string{"--data", data}, cmd...)...)
			assert.NotEqual(t, 0, code, errOut)
			assert.Contains(t, errOut, "signing key: 16 bytes, at least 32 wanted")
		})
	}
}

// River's periodic "Producer job counts" is a debug line; everything else
// keeps its level.
func TestLogLevels(t *testing.T) {
	for _, c := range []struct {
		level      slog.Level
		json       bool
		counts     bool // the producer line appears
		info, warn bool
	}{
		{slog.LevelInfo, false, false, true, true},
		{slog.LevelDebug, false, true, true, true},
		{slog.LevelDebug, true, true, true, true},
		{slog.LevelWarn, false, false, false, true},
	} {
		var b bytes.Buffer
		log := newLogger(&b, c.json, c.level).With("component", "river")
		log.Info("producer: Producer job counts", "queue", "export")
		log.Info("River client started")
		log.Warn("something to see")
		out := b.String()
		assert.Equal(t, c.counts, strings.Contains(out, "Producer job counts"), "%v %s", c.level, out)
		assert.Equal(t, c.info, strings.Contains(out, "River client started"), "%v", c.level)
		assert.Equal(t, c.warn, strings.Contains(out, "something to see"), "%v", c.level)
		if c.counts {
			line := out[:strings.Index(out, "\n")]
			assert.Regexp(t, `(level=DEBUG|"level":"DEBUG")`, line, "logged at debug")
			assert.Contains(t, line, "river", "attributes kept")
		}
	}
}
