// Command ipsd is IPS Export: a self-hosted replacement for the Scene7 IPS
// export API. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: ipsd [--data DIR | --database URL] COMMAND [ARGS]

commands:
  serve   [--addr 127.0.0.1:8080] [--tls-cert F --tls-key F] [--workers N] ...
  worker  [--workers N] ...   export workers only (scale-out on PostgreSQL)
  migrate apply database migrations
  admin   company add NAME
          user add --email E --password P --role ROLE [--company NAME]...
          asset import --company NAME [--folder PATH] FILE...
          set add --company NAME --type TYPE [--subtype S] --name N MEMBER_HANDLE...
          format set --company NAME NAME URLMODIFIER
          icc add NAME FILE  register an ICC profile for icc=NAME
          catalog copy --to-database URL [--to-data DIR]  move the catalogue to PostgreSQL
          demo [--if-new]   seed a demo company, user and images

serve and worker take --help for the job engine, mail and limit settings.

The store is the embedded SQLite database under --data (default ./data,
env IPSD_DATA) unless --database (env IPSD_DATABASE_URL) names PostgreSQL.
`

// globals are the flags every command takes.
type globals struct {
	dataDir     string
	databaseURL string
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.dataDir, "data", envOr("IPSD_DATA", "./data"), "data directory (embedded database, files)")
	fs.StringVar(&g.databaseURL, "database", os.Getenv("IPSD_DATABASE_URL"), "PostgreSQL URL (postgres://…); empty = embedded SQLite")
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// errUsage marks a command-line mistake: usage is printed, exit code 2.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g globals
	fs := flag.NewFlagSet("ipsd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	g.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch rest[0] {
	case "serve":
		err = cmdServe(ctx, &g, rest[1:], stdout, stderr, true)
	case "worker":
		err = cmdWorker(ctx, &g, rest[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, &g, rest[1:], stdout, stderr)
	case "admin":
		err = cmdAdmin(ctx, &g, rest[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "ipsd: unknown command %q\n\n%s", rest[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "ipsd: %v\n\n%s", err, usage)
		return 2
	case errors.Is(err, flag.ErrHelp):
		return 0
	default:
		fmt.Fprintf(stderr, "ipsd: %v\n", err)
		return 1
	}
}

// subFlags makes a flag set for a subcommand that also takes the globals.
func subFlags(name string, g *globals, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// Re-register with the values already parsed as defaults, so globals may
	// come before or after the subcommand.
	fs.StringVar(&g.dataDir, "data", g.dataDir, "data directory")
	fs.StringVar(&g.databaseURL, "database", g.databaseURL, "PostgreSQL URL")
	return fs
}

// parseInterspersed parses flags wherever they appear among positional args.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
