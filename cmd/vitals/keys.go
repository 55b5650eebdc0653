package main

import (
	"context"
	"fmt"
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

// keys: vitals keys add|list|remove
func (a *App) keys(_ context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(a.Stderr, "Usage: vitals keys add --name NAME --scopes ingest,read,admin | list | remove --name NAME  [--keys-file F | --data-dir D]")
		return errUsage
	}
	fs := a.newFlagSet("keys "+args[0], "keys "+args[0]+" [flags]")
	keysFile := fs.String("keys-file", "", "keys file (default: keys.json in --data-dir)")
	dataDir := fs.String("data-dir", "./vitals-data", "data directory holding keys.json")
	name := fs.String("name", "", "key name (letters, digits, . _ -)")
	scopes := fs.String("scopes", "", "comma-separated scopes: ingest, read, admin")
	if err := a.parse(fs, args[1:]); err != nil {
		return err
	}
	path := keysPath(*keysFile, *dataDir)
	var ring auth.Keyring
	if err := ring.LoadFile(path); err != nil {
		return err
	}
	switch args[0] {
	case "add":
		sc, err := auth.ParseScopes(*scopes)
		if err != nil {
			return fmt.Errorf("--scopes: %w", err)
		}
		token, err := ring.Create(*name, sc, time.Now())
		if err != nil {
			return err
		}
		if err := ring.SaveFile(path); err != nil {
			return err
		}
		fmt.Fprintln(a.Stdout, token)
		fmt.Fprintf(a.Stderr, "key %q (%v) added to %s; the key above is shown only once: store it now\n", *name, sc, path)
		fmt.Fprintln(a.Stderr, "a running server using this keys file applies it within a few seconds (or at once on SIGHUP)")
	case "list":
		for _, k := range ring.Keys() {
			fmt.Fprintf(a.Stdout, "%s\t%v\tsha256:%s…\t%s\n", k.Name, k.Scopes, k.SHA256[:12], k.Created.Format(time.RFC3339))
		}
	case "remove":
		if err := ring.Remove(*name); err != nil {
			return err
		}
		if err := ring.SaveFile(path); err != nil {
			return err
		}
		fmt.Fprintf(a.Stderr, "key %q removed from %s; a running server using this keys file drops it within a few seconds (or at once on SIGHUP)\n", *name, path)
	default:
		return fmt.Errorf("keys: unknown action %q: use add, list or remove", args[0])
	}
	return nil
}
