package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/eventstore/stores"
)

// verify: vitals verify [--data-dir DIR] — check every record of the
// embedded store (checksums, fields, indexes) and the file's structure.
// The server must not be running on the same data dir (the store allows
// one process). It exits 0 with a summary, or 1 naming the damaged
// positions.
func (a *App) verify(ctx context.Context, args []string) error {
	fs := a.newFlagSet("verify", "verify [flags]  (checks every stored event and the store file; the server must be stopped)")
	dataDir := fs.String("data-dir", "./vitals-data", "directory of the embedded store")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	path := filepath.Join(*dataDir, bolt.FileName)
	if _, err := os.Stat(path); err != nil {
		// Open would create an empty store: there is nothing to verify.
		return fmt.Errorf("--data-dir %s: no event store: %w", *dataDir, err)
	}
	opened, err := openExisting(ctx, "bolt", *dataDir, zerolog.Nop())
	if err != nil {
		return err
	}
	defer opened.Close()
	store := opened.(*bolt.Store) // verify reads the embedded store's file

	start := time.Now()
	last := start
	rep, err := store.Verify(ctx, func(r bolt.VerifyReport) {
		if time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(a.Stderr, "  %d/%d records checked (%.0f%%), %d damaged so far\n",
			r.Records, r.Head, 100*float64(r.Records)/float64(max(r.Head, 1)), len(r.Corrupt))
	})
	var ce *eventstore.CorruptError
	switch {
	case errors.As(err, &ce):
		return fmt.Errorf("%s: %d of %d records damaged, at position%s %s (first: %s); restore events.db from a backup made with \"vitals backup\" (docs/operations.md)",
			path, len(ce.Positions), rep.Records, plural(len(ce.Positions)), eventstore.FormatPositions(ce.Positions, 100), ce.Reason)
	case err != nil:
		return err
	}
	fmt.Fprintf(a.Stdout, "ok: %d records (positions 1 to %d) verified in %s; %d legacy records (format 1) carry no checksum\n",
		rep.Records, rep.Head, time.Since(start).Round(time.Millisecond), rep.Legacy)
	return nil
}

// openExisting opens the store url names (stores.Open; the embedded store
// in dataDir by default) for a command that must not run next to the
// server, with a hint when the server holds the embedded store.
func openExisting(ctx context.Context, url, dataDir string, log zerolog.Logger) (eventstore.Store, error) {
	store, err := stores.Open(ctx, url, stores.Options{DataDir: dataDir, Logger: log})
	switch {
	case errors.Is(err, stores.ErrUnknown):
		return nil, fmt.Errorf("--store: %w", err)
	case errors.Is(err, bolt.ErrLocked):
		return nil, fmt.Errorf("%w (is vitals serve running on it? stop it first)", err)
	case err != nil:
		return nil, err
	}
	return store, nil
}

// plural is "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
