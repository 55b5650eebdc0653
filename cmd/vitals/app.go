package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// App is one run of the vitals command. Tests build one with their own
// streams and environment and call Run.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (os.Getenv in main).
	Getenv func(string) string
	// OnListen, when set, is called with the server's address once it
	// listens (tests use it with --addr 127.0.0.1:0).
	OnListen func(net.Addr)
	// Hangup, when set, replaces SIGHUP as what makes serve reload its
	// keys file (tests send on it).
	Hangup <-chan os.Signal
}

// defaultServer is the server URL of the commands that talk to one.
const defaultServer = "http://127.0.0.1:8080"

// errUsage marks an error that the usage text explains; Run exits 2.
var errUsage = errors.New("usage")

// command is one "vitals <name>" command.
type command struct {
	name, summary string
	run           func(a *App, ctx context.Context, args []string) error
}

// commands is the command table: Run dispatches on it, "vitals help" lists
// it, and the tests check that every entry answers -h and --help.
func commands() []command {
	return []command{
		{"serve", "run the server on the embedded store (HTTP API, metrics)", (*App).serve},
		{"emit", "send CloudEvents (JSON lines or a JSON array) from a file or stdin to a server", (*App).emit},
		{"demo", "generate a deterministic synthetic agency (JSON lines, or --server URL to post it)", (*App).demo},
		{"rebuild", "replay every event into fresh projections (the server must be stopped)", (*App).rebuild},
		{"verify", "check every stored event's checksum and the store file (the server must be stopped)", (*App).verify},
		{"keys", "manage API keys: add, list, remove", (*App).keys},
		{"backup", "copy a running server's event store to a file", (*App).backup},
		{"notify", "derived events: tail the feed of a server, print the webhook signing secret", (*App).notifyCmd},
		{"backtest", "how well the health score predicted churn, per scoring configuration; fit the weights (--fit)", (*App).backtestCmd},
		{"bench", "measure ingest, replay rate, memory per account and queries on a demo agency", (*App).bench},
		{"version", "print the version", (*App).version},
		{"help", "list the commands, or show one command's flags: vitals help <command>", (*App).help},
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "--help", "-help", "help":
		return true
	}
	return false
}

// Run runs the command line args (without the program name) and returns
// the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if a.Getenv == nil {
		a.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		a.usage(a.Stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch {
	case cmd == "--version" || cmd == "-version":
		cmd = "version"
	case isHelp(cmd):
		cmd = "help"
	}
	var run func(*App, context.Context, []string) error
	for _, c := range commands() {
		if c.name == cmd {
			run = c.run
		}
	}
	if run == nil {
		fmt.Fprintf(a.Stderr, "vitals: unknown command %q\n\n", cmd)
		a.usage(a.Stderr)
		return 2
	}
	err := run(a, ctx, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		if err != errUsage { // a mistake worded beside the usage text
			fmt.Fprintf(a.Stderr, "vitals: %s\n", strings.TrimPrefix(err.Error(), errUsage.Error()+": "))
		}
		return 2
	default:
		fmt.Fprintf(a.Stderr, "vitals: %v\n", err)
		return 1
	}
}

// usage writes the list of commands to w.
func (a *App) usage(w io.Writer) {
	fmt.Fprint(w, "Vitals — event-sourced account health for agencies.\n\nUsage: vitals <command> [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every flag can also be set as VITALS_<FLAG> in the environment (e.g. VITALS_DATA_DIR).
Run "vitals <command> -h" for the flags of a command.
`)
}

// help: vitals help [command] — the command list on stdout, or the usage
// of one command.
func (a *App) help(ctx context.Context, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		a.usage(a.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(a, ctx, []string{"-h"})
		}
	}
	fmt.Fprintf(a.Stderr, "vitals help: unknown command %q\n\n", args[0])
	a.usage(a.Stderr)
	return errUsage
}

// version: vitals version
func (a *App) version(_ context.Context, args []string) error {
	fs := a.newFlagSet("version", "version  (prints the version)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout, "vitals", version)
	return nil
}

// newFlagSet returns a flag set whose usage names the command; hidden
// aliases (see alias) are left out of it.
func (a *App) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: vitals %s\n", synopsis)
		visible := flag.NewFlagSet(name, flag.ContinueOnError)
		visible.SetOutput(w)
		fs.VisitAll(func(f *flag.Flag) {
			if _, ok := f.Value.(aliasValue); !ok {
				visible.Var(f.Value, f.Name, f.Usage)
				visible.Lookup(f.Name).DefValue = f.DefValue
			}
		})
		if hasFlags(visible) {
			fmt.Fprint(w, "\nFlags (each also as VITALS_<FLAG>):\n")
			visible.PrintDefaults()
		}
	}
	return fs
}

// hasFlags reports whether fs defines any flag.
func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// aliasValue is a hidden second name of a flag: setting it sets the
// target, and usage texts leave it out.
type aliasValue struct{ target *flag.Flag }

func (v aliasValue) String() string {
	if v.target == nil {
		return ""
	}
	return v.target.Value.String()
}

func (v aliasValue) Set(s string) error { return v.target.Value.Set(s) }

// alias defines the hidden flag name as another name of the flag target,
// which must already be defined. The environment variable of the alias
// is read only when neither flag nor the target's variable is given.
func alias(fs *flag.FlagSet, name, target string) {
	fs.Var(aliasValue{target: fs.Lookup(target)}, name, "alias of --"+target)
}

// parse parses args, then fills every flag not given on the command line
// from VITALS_<NAME> in the environment. A usage text asked for with -h
// goes to stdout; one that explains a mistake goes to stderr.
func (a *App) parse(fs *flag.FlagSet, args []string) error {
	var out bytes.Buffer
	fs.SetOutput(&out)
	err := fs.Parse(args)
	fs.SetOutput(a.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		_, _ = out.WriteTo(a.Stdout)
		return err
	}
	_, _ = out.WriteTo(a.Stderr)
	if err != nil {
		return errUsage
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if al, ok := f.Value.(aliasValue); ok {
			set[al.target.Name] = true
		}
	})
	fill := func(f *flag.Flag) error {
		al, isAlias := f.Value.(aliasValue)
		if set[f.Name] || (isAlias && set[al.target.Name]) {
			return nil
		}
		env := EnvName(f.Name)
		v := a.Getenv(env)
		if v == "" {
			return nil
		}
		if e := fs.Set(f.Name, v); e != nil {
			return fmt.Errorf("%s=%q: %w", env, v, e)
		}
		set[f.Name] = true
		if isAlias {
			set[al.target.Name] = true
		}
		return nil
	}
	// Real flags first, so that a flag's own variable wins over its alias's.
	for _, aliases := range []bool{false, true} {
		fs.VisitAll(func(f *flag.Flag) {
			if _, isAlias := f.Value.(aliasValue); isAlias == aliases && err == nil {
				err = fill(f)
			}
		})
	}
	return err
}

// EnvName is the environment variable of a flag: VITALS_ and the name in
// upper case with dashes as underscores.
func EnvName(flagName string) string {
	return "VITALS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
