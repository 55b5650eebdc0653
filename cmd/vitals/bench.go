package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
)

// benchEnd is the default end of bench's demo agency.
const benchEnd = "2026-06-30T00:00:00Z"

// bench: vitals bench — loads a demo agency into a fresh embedded store and
// measures ingestion, replay, memory, snapshots and queries.
func (a *App) bench(ctx context.Context, args []string) error {
	fs := a.newFlagSet("bench", "bench [flags]  (measures ingest, replay rate, live memory per account, snapshot, queries)")
	var d demoFlags
	d.register(fs, "")
	// A fixed end: the same agency every run, so runs compare.
	end := fs.Lookup("end")
	end.Usage, end.DefValue = "demo: the instant the history ends, RFC 3339 (fixed, so that every run builds the same agency)", benchEnd
	d.end = benchEnd
	dir := fs.String("data-dir", "", "where to build the store (default: a temp dir, removed afterwards); a dir that already holds events is reused as it is")
	batch := fs.Int("batch", 1000, "events per ingest request")
	memprofile := fs.String("memprofile", "", "write a heap profile of the live projections to this file")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	cfg, err := d.config(time.Now())
	if err != nil {
		return err
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "vitals-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	}
	out := a.Stdout
	fmt.Fprintf(out, "demo agency: %d accounts, %d managers, %d months, seed %d (ends %s)\n", cfg.Accounts, cfg.Managers, cfg.Months, cfg.Seed, cfg.End.Format(time.DateOnly))
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())

	store, err := bolt.Open(ctx, *dir, bolt.Options{})
	if err != nil {
		return err
	}
	defer store.Close()

	// 1. Ingest through the same path as POST /v1/events (decode, validate,
	// append), unless the data dir already holds the agency.
	now := cfg.End.Add(time.Minute)
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	if head > 0 {
		fmt.Fprintf(out, "ingest   skipped: %s already holds %d events\n", *dir, head)
	} else if err := a.benchIngest(ctx, store, cfg, now, *batch); err != nil {
		return err
	}
	st, err := store.Stats()
	if err != nil {
		return err
	}
	total := int(st.Head)
	fmt.Fprintf(out, "store    %9.1f MiB on disk, %.0f bytes/event\n", float64(st.SizeBytes)/(1<<20), float64(st.SizeBytes)/float64(total))

	// 2. Replay into fresh projections, as a rebuild does; memory is measured
	// while the projector is alive.
	scorer, err := newScorer("")
	if err != nil {
		return err
	}
	clock := func() time.Time { return now }
	base := heapInUse()
	snap := snapshotPath(*dir)
	if err := os.Remove(snap); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err // a reused dir: replay from zero, not from its snapshot
	}
	p, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clock, SnapshotPath: snap,
		SnapshotEvery: 1 << 62, SnapshotInterval: 1 << 62})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Run(runCtx) }()
	if err := p.WaitFor(ctx, st.Head); err != nil {
		return err
	}
	replayDur := time.Since(start)
	live := heapInUse() - base
	if *memprofile != "" {
		f, err := os.Create(*memprofile)
		if err != nil {
			return err
		}
		err = pprof.WriteHeapProfile(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--memprofile: %w", err)
		}
	}
	stats := p.Stats()
	fmt.Fprintf(out, "replay   %9d events in %8s  %9.0f events/s   (decode + apply + score, one goroutine)\n",
		stats.Replayed, replayDur.Round(time.Millisecond), float64(stats.Replayed)/replayDur.Seconds())
	fmt.Fprintf(out, "memory   %9.1f MiB live heap for %d accounts = %.1f KiB per account (after GC, facts pruned to the windows)\n",
		float64(live)/(1<<20), stats.Accounts, float64(live)/1024/float64(max(stats.Accounts, 1)))

	// 3. Queries, as of now.
	timeIt := func(name string, n int, fn func() error) error {
		t0 := time.Now()
		for range n {
			if err := fn(); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "query    %-28s %10s per call\n", name, (time.Since(t0) / time.Duration(n)).Round(time.Microsecond))
		return nil
	}
	var first string
	page, err := p.Accounts(ctx, projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil {
		return err
	}
	if len(page.Items) > 0 {
		first = page.Items[0].ID
	}
	for _, q := range []struct {
		name string
		n    int
		fn   func() error
	}{
		{"health (one account)", 200, func() error { _, err := p.Health(ctx, first, time.Time{}); return err }},
		{"at-risk list", 5, func() error { _, err := p.AtRisk(ctx, time.Time{}); return err }},
		{"portfolio", 5, func() error { _, err := p.Portfolio(ctx, time.Time{}); return err }},
		{"managers", 5, func() error { _, err := p.Capacity(ctx, time.Time{}); return err }},
		{"health history (365 days)", 5, func() error {
			_, _, err := p.History(ctx, first, now.AddDate(-1, 0, 0), now, 24*time.Hour)
			return err
		}},
	} {
		if err := timeIt(q.name, q.n, q.fn); err != nil {
			return err
		}
	}

	// 4. Snapshot on stop, then a restart from it.
	cancel()
	start = time.Now()
	if err := <-done; err != nil {
		return err
	}
	snapDur := time.Since(start)
	fi, err := os.Stat(snap)
	if err != nil {
		return err
	}
	start = time.Now()
	p2, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clock, SnapshotPath: snap})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "snapshot %9.1f MiB written in %s; restart from it in %s (resumes at position %d, replays 0 events)\n",
		float64(fi.Size())/(1<<20), snapDur.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), p2.Stats().StartPosition)
	runtime.KeepAlive(p)
	return nil
}

// heapInUse is the live heap after a full collection.
func heapInUse() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// benchIngest loads the demo agency into store through the ingester and
// reports the rate.
func (a *App) benchIngest(ctx context.Context, store *bolt.Store, cfg demo.Config, now time.Time, batch int) error {
	start, last := time.Now(), time.Now()
	rejected := 0
	total, err := ingestDemo(ctx, ingest.NewWithEncoding(store, ingest.EncodeCompact), cfg, now, batch, func(total int, rej []ingest.Result) {
		rejected += len(rej)
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			fmt.Fprintf(a.Stderr, "  ingested %d events…\n", total)
		}
	})
	if err != nil {
		return err
	}
	if rejected > 0 {
		return fmt.Errorf("bench: %d demo events rejected", rejected)
	}
	d := time.Since(start)
	fmt.Fprintf(a.Stdout, "ingest   %9d events in %8s  %9.0f events/s   (generate+encode+validate+append, batches of %d)\n",
		total, d.Round(time.Millisecond), float64(total)/d.Seconds(), batch)
	return nil
}
