package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
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
}

// errUsage marks an error that the usage text explains; Run exits 2.
var errUsage = errors.New("usage")

// Run runs the command line args (without the program name) and returns
// the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if a.Getenv == nil {
		a.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 {
		a.usage()
		return 2
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = a.serve(ctx, rest)
	case "emit":
		err = a.emit(ctx, rest)
	case "demo":
		err = a.demo(ctx, rest)
	case "rebuild":
		err = a.rebuild(ctx, rest)
	case "verify":
		err = a.verify(ctx, rest)
	case "keys":
		err = a.keys(ctx, rest)
	case "backup":
		err = a.backup(ctx, rest)
	case "bench":
		err = a.bench(ctx, rest)
	case "version", "--version", "-version":
		fmt.Fprintln(a.Stdout, "vitals", version)
	case "help", "-h", "--help", "-help":
		a.usage()
	default:
		fmt.Fprintf(a.Stderr, "vitals: unknown command %q\n\n", cmd)
		a.usage()
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(a.Stderr, "vitals: %v\n", err)
		return 1
	}
}

func (a *App) usage() {
	fmt.Fprint(a.Stderr, `Vitals — event-sourced account health for agencies.

Usage: vitals <command> [flags]

Commands:
  serve     run the server on the embedded store (HTTP API, metrics)
  emit      send CloudEvents (JSON lines or a JSON array) from a file or stdin
  demo      generate a deterministic synthetic agency (JSON lines, or --to a server)
  rebuild   replay every event into fresh projections (the server must be stopped)
  verify    check every stored event's checksum and the store file (the server must be stopped)
  keys      manage API keys: add, list, remove
  backup    copy a running server's event store to a file
  bench     measure ingest, replay rate, memory per account and queries on a demo agency
  version   print the version

Every flag can also be set as VITALS_<FLAG> in the environment (e.g. VITALS_DATA_DIR).
Run "vitals <command> -h" for the flags of a command.
`)
}

// newFlagSet returns a flag set that writes its usage to stderr.
func (a *App) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(a.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.Stderr, "Usage: vitals %s\n\nFlags (each also as VITALS_<FLAG>):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, then fills every flag not given on the command line
// from VITALS_<NAME> in the environment.
func (a *App) parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		env := EnvName(f.Name)
		if v := a.Getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s=%q: %w", env, v, e)
			}
		}
	})
	return err
}

// EnvName is the environment variable of a flag: VITALS_ and the name in
// upper case with dashes as underscores.
func EnvName(flagName string) string {
	return "VITALS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
