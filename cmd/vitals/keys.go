package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/vitals-hq/vitals/auth"
)

// keysPath is the keys file: --keys-file, else keys.json in the data dir.
func keysPath(keysFile, dataDir string) string {
	if keysFile != "" {
		return keysFile
	}
	return filepath.Join(dataDir, "keys.json")
}

// keysAction is one "vitals keys <name>" subcommand.
type keysAction struct {
	name, synopsis string
	// needsName and needsScopes say which of --name and --scopes it takes.
	needsName, needsScopes bool
}

// keysActions is the subcommand table of "vitals keys".
func keysActions() []keysAction {
	return []keysAction{
		{name: "add", synopsis: "keys add --name NAME --scopes ingest,read,admin [flags]  (creates a key and prints it once)", needsName: true, needsScopes: true},
		{name: "list", synopsis: "keys list [flags]  (lists the keys: name, scopes, hash prefix, created)"},
		{name: "remove", synopsis: "keys remove --name NAME [flags]  (removes a key)", needsName: true},
	}
}

// keysUsage writes the usage of "vitals keys" to w.
func keysUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: vitals keys <action> [flags]\n\nActions:\n")
	for _, k := range keysActions() {
		fmt.Fprintf(w, "  vitals %s\n", k.synopsis)
	}
	fmt.Fprint(w, "\nRun \"vitals keys <action> -h\" for the flags of an action.\n")
}

// keys: vitals keys add|list|remove
func (a *App) keys(_ context.Context, args []string) error {
	if len(args) == 0 {
		keysUsage(a.Stderr)
		return errUsage
	}
	if isHelp(args[0]) {
		keysUsage(a.Stdout)
		return flag.ErrHelp
	}
	var act *keysAction
	for _, k := range keysActions() {
		if k.name == args[0] {
			act = &k
		}
	}
	if act == nil {
		fmt.Fprintf(a.Stderr, "vitals keys: unknown action %q\n\n", args[0])
		keysUsage(a.Stderr)
		return errUsage
	}
	fs := a.newFlagSet("keys "+act.name, act.synopsis)
	keysFile := fs.String("keys-file", "", "keys file (default: keys.json in --data-dir)")
	dataDir := fs.String("data-dir", "./vitals-data", "data directory holding keys.json")
	var name, scopes string
	if act.needsName {
		fs.StringVar(&name, "name", "", "key name (letters, digits, . _ -)")
	}
	if act.needsScopes {
		fs.StringVar(&scopes, "scopes", "", "comma-separated scopes: ingest, read, admin")
	}
	if err := a.parse(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q (see vitals keys %s -h)", act.name, fs.Arg(0), act.name)
	}
	path := keysPath(*keysFile, *dataDir)
	var ring auth.Keyring
	if err := ring.LoadFile(path); err != nil {
		return err
	}
	switch act.name {
	case "add":
		sc, err := auth.ParseScopes(scopes)
		if err != nil {
			return fmt.Errorf("--scopes: %w", err)
		}
		token, err := ring.Create(name, sc, time.Now())
		if err != nil {
			return err
		}
		if err := ring.SaveFile(path); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, token)
		fmt.Fprintf(a.Stderr, "key %q (%v) added to %s; the key above is shown only once: store it now\n", name, sc, path)
		fmt.Fprintln(a.Stderr, "a running server using this keys file applies it within a few seconds (or at once on SIGHUP)")
	case "list":
		for _, k := range ring.Keys() {
			fmt.Fprintf(a.Stdout, "%s\t%v\tsha256:%s…\t%s\n", k.Name, k.Scopes, k.SHA256[:12], k.Created.Format(time.RFC3339))
		}
	case "remove":
		if err := ring.Remove(name); err != nil {
			return err
		}
		if err := ring.SaveFile(path); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "key %q removed from %s; a running server using this keys file drops it within a few seconds (or at once on SIGHUP)\n", name, path)
	}
	return nil
}
