// Command ipsd is IPS Export: a self-hosted replacement for the Scene7 IPS
// export API. See README.md and docs/operations.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/ipsexport/ipsd/internal/render"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const rootSummary = `IPS Export: the Scene7 IPS export API, self-hosted.

The store is the embedded SQLite database under --data unless --database
names PostgreSQL; files live in DATA/files unless the --s3-* settings name
a bucket (docs/operations.md).`

// commands is every command ipsd runs; groups ("admin", "admin asset")
// are the prefixes of their paths.
var commands = []command{
	{path: "serve", args: "[flags]", run: cmdServe,
		summary: "Serve the IPS API, UploadFile, downloads and health; work exports unless --workers 0."},
	{path: "worker", args: "[flags]", run: cmdWorker,
		summary: "Work exports only, beside front ends on the same PostgreSQL; --addr serves health, readiness and metrics."},
	{path: "migrate", args: "[storage flags]", run: cmdMigrate,
		summary: "Bring every table (River's queue included) to the current version and create the S3 bucket when missing.",
		detail: `Runs under a PostgreSQL advisory lock, so it may run beside starting
processes; serve and worker migrate at start the same way. A second run finds
nothing to do.`},
	{path: "version", args: "", run: cmdVersion,
		summary: "Print the version, the commit it was built from and the libvips version."},
	{path: "admin company add", args: "NAME", run: adminCompanyAdd,
		summary: "Add a company; prints its handle."},
	{path: "admin company show", args: "NAME", run: adminCompanyShow,
		summary: "Print a company's handle and its Image Serving defaults, attribute and value (- for the server's own)."},
	{path: "admin company set-defaults", args: "--company NAME [--jpeg-quality Q[,C]] [--background COLOR] [--resample MODE] [--icc-rgb NAME] [--icc-cmyk NAME] [--default-pix W,H]", run: adminCompanySetDefaults,
		summary: "Set a company's Image Serving defaults, which convert exports use where their commands leave them open; prints them.",
		detail: `Each is the catalogue attribute of the same name (JpegQuality, BkgColor,
ResMode, IccProfileRgb, IccProfileCmyk, DefaultPix) and is checked as the
command it is the default of; a flag not given keeps its value, an empty one
("") restores the server's. A job takes the defaults of the moment it is
submitted: a change does not alter a job already submitted.`},
	{path: "admin user add", args: "--email E --password P [--role ROLE] [--company NAME]...", run: adminUserAdd,
		summary: "Add a user, a member of each --company; prints its handle."},
	{path: "admin asset import", args: "--company NAME [--folder PATH] [--overwrite] [storage flags] FILE...", run: adminAssetImport,
		summary: "Import files as assets into the configured file storage; prints handle, name and type of each.",
		detail: `A file whose name and extension an asset of the folder already has is
refused, unless --overwrite: then that asset keeps its handle and takes the new
file (others of the same name are removed), as UploadFile with overwrite does.`},
	{path: "admin set add", args: "--company NAME --type TYPE [--subtype S] [--folder PATH] --name N MEMBER...", run: adminSetAdd,
		summary: "Add a set of assets, each MEMBER a handle or an asset name; prints its handle."},
	{path: "admin format set", args: "--company NAME NAME URLMODIFIER", run: adminFormatSet,
		summary: "Add or change an image format (a named preset, used as a macro); prints its handle."},
	{path: "admin icc add", args: "[storage flags] NAME FILE", run: adminICCAdd,
		summary: "Register an ICC profile for icc=NAME: in the S3 bucket when one is set, else in DATA/icc.",
		detail: `With S3, every process that renders loads the bucket's profiles at start;
without, the profile is on this machine only. Restart serve and worker to use it.`},
	{path: "admin catalog copy", args: "--to-database URL [--to-data DIR] [storage flags]", run: adminCatalogCopy,
		summary: "Copy the whole catalogue and its files into an empty store (the embedded default to PostgreSQL and S3).",
		detail: `The source is the store of the global --data and --database (its files in
DATA/files); the destination is --to-database (PostgreSQL, or SQLite under
--to-data) with its files in the storage the storage flags name (the bucket, or
DIR/files). Prints kind, old handle and new handle per object on stdout and a
summary on stderr. Refuses a destination that is the source or holds a
catalogue, and a source with nothing in it.`},
	{path: "admin demo", args: "[--if-new] [storage flags]", run: cmdDemo,
		summary: "Seed the demo company, user and images (`make run` does, once)."},
}

// globals are the flags every command takes.
type globals struct {
	dataDir     string
	databaseURL string
}

// globalEnv names the globals' variables; the root applies them.
var globalEnv = map[string]string{"data": "IPSD_DATA", "database": "IPSD_DATABASE_URL"}

func isGlobal(name string) bool { _, ok := globalEnv[name]; return ok }

// register defines the globals on fs: with their own defaults at the
// root (fresh), or with the values the root parsed (in a command).
func (g *globals) register(fs *flag.FlagSet, fresh bool) {
	data, database := g.dataDir, g.databaseURL
	if fresh || data == "" {
		data = "./data"
	}
	if fresh {
		database = ""
	}
	fs.StringVar(&g.dataDir, "data", data, "`DIR` of the embedded database, local files, signing key, mail spool and ICC profiles")
	fs.StringVar(&g.databaseURL, "database", database, "PostgreSQL `URL` (postgres://…); empty: the embedded SQLite under --data")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet("ipsd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	c.g.register(fs, true)
	version := fs.Bool("version", false, "print the version and exit")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printGroup(stdout, "")
		return 0
	case err != nil:
		printUsageHint(stderr, &usageError{})
		return 2
	case *version:
		fmt.Fprint(stdout, versionText())
		return 0
	}
	// The globals' variables, where the command line did not set them.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, variable := range globalEnv {
		if v := os.Getenv(variable); v != "" && !set[name] {
			_ = fs.Set(name, v) // strings: cannot fail
		}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printGroup(stderr, "")
		return 2
	}
	if rest[0] == "help" { // ipsd help [COMMAND...]
		return help(ctx, c, rest[1:])
	}
	return exitCode(stderr, c.dispatch(ctx, rest))
}

// help answers `ipsd help [COMMAND...]` as `ipsd COMMAND --help`.
func help(ctx context.Context, c *cli, words []string) int {
	if len(words) == 0 {
		printGroup(c.stdout, "")
		return 0
	}
	return exitCode(c.stderr, c.dispatch(ctx, append(words, "--help")))
}

func exitCode(stderr io.Writer, err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		printUsageHint(stderr, ue)
		return 2
	default:
		fmt.Fprintf(stderr, "ipsd: %v\n", err)
		return 1
	}
}

func cmdVersion(_ context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	if _, err := fs.parse(args, false); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version", "version takes no arguments")
	}
	fmt.Fprint(c.stdout, versionText())
	return nil
}

// buildCommit is the commit `make build` passes (-X main.buildCommit),
// used where Go could not stamp the build with it.
var buildCommit string

// versionText is what `ipsd version` prints: the module version Go
// stamped, the VCS commit and time (with "+modified" for a dirty tree),
// the Go version and the libvips version linked.
func versionText() string {
	version, commit, when, modified := "(unknown)", "unknown", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if commit == "unknown" && buildCommit != "" {
		commit = buildCommit
	} else if modified {
		commit += "+modified"
	}
	if when != "" {
		commit += " (" + when + ")"
	}
	return fmt.Sprintf("ipsd %s\ncommit %s\n%s %s/%s\nlibvips %s\n",
		version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH, render.VipsVersion())
}
