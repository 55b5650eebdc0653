package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/stores"
	"github.com/vitals-hq/vitals/projections"
)

// rebuild: vitals rebuild [--data-dir DIR] [--store URL] — replay the
// projections from position 0 and write a fresh snapshot into the data
// dir. The store is the embedded one (the server must not be running on
// the same data dir: it allows one process) or the KurrentDB that --store
// names (the server must be stopped, or it overwrites the snapshot).
func (a *App) rebuild(ctx context.Context, args []string) error {
	fs := a.newFlagSet("rebuild", "rebuild [flags]  (replays every event into fresh projections and writes a new snapshot)")
	dataDir := fs.String("data-dir", "./vitals-data", "directory of the embedded store and of the snapshot")
	storeURL := fs.String("store", "bolt", "event store: bolt (embedded, in --data-dir) or esdb://host:2113?tls=false (EventStoreDB/KurrentDB)")
	scoringConfig := fs.String("scoring-config", "", "YAML file with the scoring configuration (default: built-in)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if stores.IsEmbedded(*storeURL) {
		// Opening would create an empty store: there is nothing to rebuild.
		if _, err := os.Stat(*dataDir); err != nil {
			return fmt.Errorf("--data-dir %s: %w", *dataDir, err)
		}
	} else if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		return fmt.Errorf("--data-dir %s: %w", *dataDir, err)
	}
	scorer, err := newScorer(*scoringConfig)
	if err != nil {
		return err
	}
	store, err := openExisting(ctx, *storeURL, *dataDir, zerolog.Nop())
	if err != nil {
		return err
	}
	defer store.Close()
	snap := snapshotPath(*dataDir)
	if err := os.Remove(snap); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove old snapshot: %w", err)
	}
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stderr, "rebuilding projections from %d events\n", head)
	start := time.Now()
	stats, err := projections.Rebuild(ctx, projections.Config{
		Store: store, Scorer: scorer, SnapshotPath: snap, DedupeKeys: !eventstore.GuaranteesOf(store).DurableKeys,
	}, head,
		func(pos eventstore.Position) {
			fmt.Fprintf(a.Stderr, "  %d/%d events (%.0f%%), %.0f events/s\n", pos, head,
				100*float64(pos)/float64(max(head, 1)), float64(pos)/time.Since(start).Seconds())
		})
	if errors.Is(err, eventstore.ErrCorrupt) {
		return fmt.Errorf("%w; run \"vitals verify --data-dir %s\" to list every damaged record, then restore events.db from a backup made with \"vitals backup\"", err, *dataDir)
	}
	if err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(a.Stderr, "done: %d events replayed into %d accounts and %d managers in %s (%.0f events/s); snapshot at position %d\n",
		stats.Replayed, stats.Accounts, stats.Managers, took.Round(time.Millisecond), float64(stats.Replayed)/took.Seconds(), stats.Position)
	return nil
}
