package main

// The command line's machinery: the command table, help, and flags that
// take their default from an IPSD_* variable. Every setting of serve and
// worker is a flag and a variable (IPSD_ and the flag's name in capitals,
// '-' as '_', unless named otherwise); the variable is read after the
// command line, only for a flag the command line did not set, and parsed
// as strictly as the flag: IPSD_S3_INSECURE=yes is an error naming the
// variable, not a silent true or false.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// command is one runnable command of the table.
type command struct {
	path    string // "admin asset import"
	args    string // what follows the path in a synopsis
	summary string // one line, for lists and help
	// detail is printed under the summary in the command's help.
	detail string
	run    func(ctx context.Context, c *cli, args []string) error
}

// cli is one run of the program: the globals and where output goes.
type cli struct {
	g      globals
	cmd    *command // the command being run
	stdout io.Writer
	stderr io.Writer
}

// usageError is a command-line mistake: exit code 2, with a pointer to
// the command's help.
type usageError struct {
	path string // the command ("" for ipsd itself)
	msg  string
}

func (e *usageError) Error() string { return e.msg }

func usagef(path, format string, args ...any) error {
	return &usageError{path: path, msg: fmt.Sprintf(format, args...)}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// flagSet is a command's flags: a flag.FlagSet that knows the command it
// belongs to and the IPSD_* variable of each flag.
type flagSet struct {
	*flag.FlagSet
	cmd *command
	c   *cli
	// env maps a flag to its variable, applied when the flag is not on
	// the command line; autoEnv gives every flag (but the globals) its
	// derived variable.
	env     map[string]string
	autoEnv bool
	// envOnly are settings with a variable and no flag (secrets), listed
	// in the help.
	envOnly [][2]string
}

// newFlags makes the flag set of the command being run. The globals are
// defined again, with the values the root parsed as defaults, so they may
// come before or after the command.
func (c *cli) newFlags() *flagSet {
	cmd := c.cmd
	fs := &flagSet{FlagSet: flag.NewFlagSet("ipsd "+cmd.path, flag.ContinueOnError), cmd: cmd, c: c, env: map[string]string{}}
	fs.SetOutput(c.stderr)
	fs.Usage = func() {} // parse prints help itself, to stdout when asked
	c.g.register(fs.FlagSet, false)
	return fs
}

// bindEnv gives flags their variables: IPSD_NAME by default.
func (fs *flagSet) bindEnv(names ...string) {
	for _, n := range names {
		fs.env[n] = envName(n)
	}
}

// envAs gives a flag a variable of another name than the derived one.
func (fs *flagSet) envAs(name, variable string) { fs.env[name] = variable }

// note records a setting that is a variable only.
func (fs *flagSet) note(variable, text string) {
	fs.envOnly = append(fs.envOnly, [2]string{variable, text})
}

// envName is a flag's derived variable: --chunk-size → IPSD_CHUNK_SIZE.
func envName(flagName string) string {
	return "IPSD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// variable is the IPSD_* variable of flag name, or "".
func (fs *flagSet) variable(name string) string {
	if v, ok := fs.env[name]; ok {
		return v
	}
	if fs.autoEnv && !isGlobal(name) {
		return envName(name)
	}
	return ""
}

// parse parses args (flags anywhere among the positional arguments when
// interspersed), then fills the flags the command line left unset from
// their variables. It answers --help itself: the command's help on
// stdout, and flag.ErrHelp (exit 0).
func (fs *flagSet) parse(args []string, interspersed bool) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.printHelp(fs.c.stdout)
				return nil, flag.ErrHelp
			}
			// The flag package has printed what was wrong.
			return nil, &usageError{path: fs.cmd.path, msg: ""}
		}
		args = fs.Args()
		if !interspersed || len(args) == 0 {
			pos = append(pos, args...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := fs.variable(f.Name)
		if name == "" || set[f.Name] {
			return
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %s (as --%s)", name, v, valueError(f, err), f.Name))
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, usagef(fs.cmd.path, "%v", err)
	}
	return pos, nil
}

// valueError says what a flag's value should have been: the flag package
// answers "parse error" for every number, boolean and duration.
func valueError(f *flag.Flag, err error) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return "want true or false"
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch g.Get().(type) {
		case int, int64, uint, uint64:
			return "want a whole number"
		case time.Duration:
			return "want a duration such as 90s, 10m or 2h"
		}
	}
	return err.Error()
}

// printHelp writes the command's help: synopsis, what it does, its flags
// with their variables and defaults, the variables without a flag, and
// the globals.
func (fs *flagSet) printHelp(w io.Writer) {
	fmt.Fprintf(w, "usage: ipsd [global flags] %s %s\n\n%s\n", fs.cmd.path, fs.cmd.args, fs.cmd.summary)
	if fs.cmd.detail != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(fs.cmd.detail))
	}
	var own []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if !isGlobal(f.Name) {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "\nflags:\n")
		for _, f := range own {
			printFlag(w, f, f.DefValue, fs.variable(f.Name))
		}
	}
	if len(fs.envOnly) > 0 {
		fmt.Fprintf(w, "\nenvironment only (secrets stay off the command line):\n")
		for _, e := range fs.envOnly {
			fmt.Fprintf(w, "  %s\n    \t%s\n", e[0], e[1])
		}
	}
	printGlobals(w)
}

// printFlag writes one flag the way the flag package does, with its
// variable.
func printFlag(w io.Writer, f *flag.Flag, def, variable string) {
	typ, usage := flag.UnquoteUsage(f)
	line := "  --" + f.Name
	if typ != "" {
		line += " " + typ
	}
	var notes []string
	if def != "" && def != "0" && def != "false" && def != "0s" {
		notes = append(notes, "default "+def)
	}
	if variable != "" {
		notes = append(notes, "env "+variable)
	}
	if len(notes) > 0 {
		usage += " (" + strings.Join(notes, "; ") + ")"
	}
	fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
}

// printGlobals lists the flags every command takes.
func printGlobals(w io.Writer) {
	fs := flag.NewFlagSet("globals", flag.ContinueOnError)
	var g globals
	g.register(fs, false)
	fmt.Fprintf(w, "\nglobal flags (before or after the command):\n")
	fs.VisitAll(func(f *flag.Flag) { printFlag(w, f, f.DefValue, globalEnv[f.Name]) })
}

// dispatch finds the command args name and runs it. A group ("admin",
// "admin asset") given alone or with --help lists its commands.
func (c *cli) dispatch(ctx context.Context, args []string) error {
	var best *command
	for i := range commands {
		cmd := &commands[i]
		words := strings.Fields(cmd.path)
		if len(words) <= len(args) && slices.Equal(words, args[:len(words)]) && (best == nil || len(words) > len(strings.Fields(best.path))) {
			best = cmd
		}
	}
	if best != nil {
		c.cmd = best
		return best.run(ctx, c, args[len(strings.Fields(best.path)):])
	}
	// The longest group the words name.
	group := ""
	for n := len(args); n > 0; n-- {
		if g := strings.Join(args[:n], " "); isGroup(g) {
			group = g
			break
		}
	}
	rest := args[len(strings.Fields(group)):]
	if group != "" && len(rest) > 0 && isHelp(rest[0]) {
		printGroup(c.stdout, group)
		return flag.ErrHelp
	}
	if group != "" && len(rest) == 0 {
		return usagef(group, "%s needs a command", "ipsd "+group)
	}
	if group == "" {
		return usagef("", "unknown command %q", args[0])
	}
	return usagef(group, "unknown %s command %q", group, rest[0])
}

// isGroup reports whether g is a proper prefix of some command's path.
func isGroup(g string) bool {
	for _, cmd := range commands {
		if strings.HasPrefix(cmd.path, g+" ") {
			return true
		}
	}
	return false
}

// printGroup lists the commands under group ("" for all).
func printGroup(w io.Writer, group string) {
	prefix := ""
	if group != "" {
		prefix = group + " "
		fmt.Fprintf(w, "usage: ipsd [global flags] %s COMMAND [flags] [ARGS]\n\ncommands:\n", group)
	} else {
		fmt.Fprintf(w, "usage: ipsd [global flags] COMMAND [flags] [ARGS]\n\n%s\n\ncommands:\n", rootSummary)
	}
	width := 0
	for _, cmd := range commands {
		if strings.HasPrefix(cmd.path, prefix) {
			width = max(width, len(cmd.path))
		}
	}
	for _, cmd := range commands {
		if strings.HasPrefix(cmd.path, prefix) {
			fmt.Fprintf(w, "  %-*s  %s\n", width, cmd.path, cmd.summary)
		}
	}
	fmt.Fprintf(w, "\nRun 'ipsd %sCOMMAND --help' for a command's arguments, flags and IPSD_* variables.\n", prefix)
	if group == "" {
		printGlobals(w)
		fmt.Fprintf(w, "  --version\n    \tprint the version and exit\n")
	}
}

// printUsageHint tells, after a mistake, where the help is.
func printUsageHint(w io.Writer, e *usageError) {
	if e.msg != "" {
		fmt.Fprintf(w, "ipsd: %s\n", e.msg)
	}
	for _, cmd := range commands {
		if cmd.path == e.path {
			fmt.Fprintf(w, "usage: ipsd [global flags] %s %s\n", cmd.path, cmd.args)
		}
	}
	if e.path == "" {
		fmt.Fprintf(w, "Run 'ipsd --help' for the commands.\n")
		return
	}
	fmt.Fprintf(w, "Run 'ipsd %s --help' for more.\n", e.path)
}
