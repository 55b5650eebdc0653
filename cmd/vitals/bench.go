package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/eventstore/stores"
	"github.com/vitals-hq/vitals/projections"
)

// benchEndDefault is how bench -h names the default end of its demo
// agency: the start of the current UTC day.
const benchEndDefault = "today, 00:00 UTC"

// bench: vitals bench — generates a demo agency, drives the real server
// over loopback with it at several concurrencies beside an fsync baseline,
// then measures the store, replay, memory, snapshot, the append→visible lag
// at a steady rate and the query latencies (BENCHMARKS.md).
func (a *App) bench(ctx context.Context, args []string) error {
	fs := a.newFlagSet("bench", "bench [flags]  (measures HTTP ingest, replay rate, live memory per account, snapshot, lag, queries)")
	var d demoFlags
	d.register(fs, "")
	// The agency ends at the start of today: the server runs on the wall
	// clock, so it sees a current agency, as in production, and every run
	// of a day builds the same agency.
	end := fs.Lookup("end")
	end.Usage, end.DefValue = "demo: the instant the history ends, RFC 3339 (the same all day, so that runs of a day build the same agency; an earlier end makes the agency as old, to the server, as that instant is)", benchEndDefault
	d.end = time.Now().UTC().Truncate(24 * time.Hour).Format(time.RFC3339)
	dir := fs.String("data-dir", "", "where to build the store (default: a temp dir, removed afterwards); a dir that already holds events is reused as it is")
	storeURL := fs.String("store", "bolt", "event store: bolt (embedded: a fresh store per ingest run, in --data-dir) or esdb://host:2113?tls=false (EventStoreDB/KurrentDB: one ingest run, at the first --concurrency, into an empty database; one that holds events is measured as it is)")
	batch := fs.Int("batch", 1000, "events per ingest request")
	conc := fs.String("concurrency", "1,8,32", "HTTP ingest runs: concurrent clients of each run, comma-separated (each run fills a fresh store)")
	lagRate := fs.Float64("lag-rate", 10000, "events/s sent while measuring the append→visible lag")
	lagFor := fs.Duration("lag-duration", 5*time.Second, "how long the lag is measured")
	lagQueries := fs.Float64("lag-queries", 20, "queries/s asked while the lag is measured (at-risk, health, portfolio, accounts, managers, account, upsell in turn; 0 for none)")
	queries := fs.Int("queries", 200, "calls per query endpoint (fewer once an endpoint has taken --query-time, but at least one)")
	queryTime := fs.Duration("query-time", 10*time.Second, "time after which an endpoint gets no more calls")
	load := fs.String("load", "http", "how the store is filled: http (timed HTTP ingest at each --concurrency, beside an fsync baseline) or direct (the demo agency appended through the ingester without HTTP: the fast way to build a large agency; no ingest figures)")
	asJSON := fs.Bool("json", false, "write the results as one JSON object on stdout (the report goes to stderr)")
	memprofile := fs.String("memprofile", "", "write a heap profile of the live projections to this file")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the HTTP ingest runs (server and clients, one process), or of the direct load, to this file")
	replayProfile := fs.String("replay-cpuprofile", "", "write a CPU profile of the replay to this file")
	lagProfile := fs.String("lag-cpuprofile", "", "write a CPU profile of the lag run (server, senders and queries, one process) to this file")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	levels, err := parseConcurrency(*conc)
	if err != nil {
		return err
	}
	if *batch <= 0 || *lagRate <= 0 || *lagFor <= 0 || *queries <= 0 || *queryTime <= 0 {
		return fmt.Errorf("%w: --batch, --lag-rate, --lag-duration, --queries and --query-time must be positive", errUsage)
	}
	if *lagQueries < 0 {
		return fmt.Errorf("%w: --lag-queries must be 0 or more, got %g", errUsage, *lagQueries)
	}
	if *load != "http" && *load != "direct" {
		return fmt.Errorf("%w: --load: want http or direct, got %q", errUsage, *load)
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
	if *asJSON {
		out = a.Stderr
	}
	fmt.Fprintf(out, "demo agency: %d accounts, %d managers, %d months, seed %d (ends %s)\n", cfg.Accounts, cfg.Managers, cfg.Months, cfg.Seed, cfg.End.Format(time.DateOnly))
	fmt.Fprintf(out, "machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	var rep benchReport

	// 1. Fill the store: HTTP ingest at each concurrency, each into a
	// fresh store (the last one into the data dir, which the rest of the
	// run uses), or --load direct; unless the data dir already holds
	// events.
	head, err := storeHead(ctx, *storeURL, *dir)
	if err != nil {
		return err
	}
	var be *benchEvents
	switch {
	case head > 0:
		fmt.Fprintf(out, "ingest   skipped: the store already holds events (head %d)\n", head)
		be, err = generateBenchIDs(ctx, cfg)
		rep.Build.Load = "existing"
	case *load == "direct":
		fmt.Fprintf(a.Stderr, "  generating the agency and appending it to the store through the ingester (no HTTP)…\n")
		stopProfile, perr := startCPUProfile(*cpuprofile)
		if perr != nil {
			return perr
		}
		be, rep.Build, err = benchLoadDirect(ctx, a.Stderr, cfg, *storeURL, *dir)
		if perr := stopProfile(); err == nil {
			err = perr
		}
		if err == nil {
			fmt.Fprintf(out, "build    %9d events in %s  %9.0f events/s   (--load direct: generated, parsed and appended through the ingester, %d a commit; no HTTP)\n",
				be.events, time.Duration(rep.Build.Seconds*float64(time.Second)).Round(time.Millisecond), rep.Build.EventsPerS, directBatch)
		}
	default:
		be, err = generateBenchEvents(ctx, cfg)
		if err != nil {
			return err
		}
		if !stores.IsEmbedded(*storeURL) && len(levels) > 1 {
			fmt.Fprintf(out, "ingest   one run, at %d clients: a shared store cannot be emptied between runs\n", levels[0])
			levels = levels[:1]
		}
		stopProfile, perr := startCPUProfile(*cpuprofile)
		if perr != nil {
			return perr
		}
		err = a.benchIngestHTTP(ctx, out, be, *storeURL, *dir, levels, *batch, &rep.Ingest, &rep.Build)
		if perr := stopProfile(); err == nil {
			err = perr
		}
	}
	if err != nil {
		return err
	}
	rep.Events, rep.Accounts = be.events, len(be.accounts)
	be.release()

	// 2. The store, replay, memory and snapshot, in this process.
	stopProfile, err := startCPUProfile(*replayProfile)
	if err != nil {
		return err
	}
	err = a.benchReplay(ctx, out, *storeURL, *dir, cfg.End.Add(time.Minute), *memprofile, &rep)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}

	// 3. The server again: lag at a steady rate while queries run, then
	// the queries one at a time.
	start := time.Now()
	srv, err := startBenchServer(ctx, *storeURL, *dir, 8)
	if err != nil {
		return err
	}
	if err = srv.waitReady(ctx); err == nil {
		rep.ServeReadySeconds = time.Since(start).Seconds()
		fmt.Fprintf(out, "serve    ready in %s   (started on the store and the snapshot, /readyz 200 and a portfolio answered)\n", time.Since(start).Round(time.Millisecond))
		start = time.Now()
		err = srv.waitCheckpoints(ctx, out)
		rep.CheckpointsReadySeconds = time.Since(start).Seconds()
		if err == nil {
			fmt.Fprintf(out, "checkpoints ready in %s   (built from the log in the background, before the lag and query runs)\n", time.Since(start).Round(time.Millisecond))
		}
	}
	if err == nil {
		err = a.benchServed(ctx, out, srv, be, cfg.End, benchLagOptions{rate: *lagRate, d: *lagFor, qrate: *lagQueries, cpuprofile: *lagProfile}, *queries, *queryTime, &rep)
	}
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return nil
}

// benchServed measures on the running server: the lag while queries run,
// then each query alone.
func (a *App) benchServed(ctx context.Context, out io.Writer, srv *benchServer, be *benchEvents, end time.Time,
	lo benchLagOptions, queries int, queryTime time.Duration, rep *benchReport) error {
	fmt.Fprintf(a.Stderr, "  lag: %.0f events/s for %s while %.0f queries/s run…\n", lo.rate, lo.d, lo.qrate)
	stopProfile, err := startCPUProfile(lo.cpuprofile)
	if err != nil {
		return err
	}
	lag, err := benchLagRun(ctx, srv, be, lo.rate, lo.d, lo.qrate)
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	rep.Lag = lag
	fmt.Fprintf(out, "lag      at %.0f events/s: p50 %.1f ms, p99 %.1f ms over %d batches (%d POSTs answered busy and sent again)   (POST a batch → a query with ?min_position= answers), while %.1f queries/s ran (%d skipped: %d in flight)\n",
		lag.Rate, lag.P50ms, lag.P99ms, lag.Batches, lag.Busy, lag.QueryRate, lag.QueriesSkipped, lagQueryInFlight)
	fmt.Fprintf(out, "         the run took %.1f s of wall time and %.0f µs of CPU per event sent (server, senders and queries)\n", lag.Seconds, lag.CPUMicrosPerEvent)
	for _, name := range sortedNames(lag.Queries) {
		q := lag.Queries[name]
		fmt.Fprintf(out, "  under load %-20s p50 %9.0f µs   p99 %9.0f µs   (%d calls)\n", name, q.P50us, q.P99us, q.Calls)
	}
	past, err := benchPastInstant(ctx, srv, end)
	if err != nil {
		return err
	}
	rep.PastAt = past
	fmt.Fprintf(a.Stderr, "  queries, one at a time (the *_past ones as of %s, before the retention horizon)…\n", past.Format(time.RFC3339))
	rep.Queries, err = benchQueries(ctx, srv, benchQueryList(be, past, time.Now), queries, queryTime)
	if err != nil {
		return err
	}
	for _, name := range sortedNames(rep.Queries) {
		q := rep.Queries[name]
		fmt.Fprintf(out, "query    %-20s p50 %9.0f µs   p99 %9.0f µs   (over HTTP, %d calls)\n", name, q.P50us, q.P99us, q.Calls)
	}
	return nil
}

// benchLagOptions are the flags of the lag run.
type benchLagOptions struct {
	rate       float64       // events/s
	d          time.Duration // how long
	qrate      float64       // queries/s meanwhile
	cpuprofile string        // "" for none
}

// startCPUProfile starts a CPU profile into path ("" for none).
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}

// parseConcurrency reads --concurrency.
func parseConcurrency(s string) ([]int, error) {
	var levels []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 || n > 1024 {
			return nil, fmt.Errorf("%w: --concurrency: want positive client counts separated by commas, got %q", errUsage, s)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// storeHead is the head of the store url names (the embedded one in dir:
// 0 when there is none).
func storeHead(ctx context.Context, url, dir string) (eventstore.Position, error) {
	if stores.IsEmbedded(url) {
		if _, err := os.Stat(filepath.Join(dir, bolt.FileName)); errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
	}
	store, err := openExisting(ctx, url, dir, zerolog.Nop())
	if err != nil {
		return 0, err
	}
	defer store.Close()
	return store.Head(ctx)
}

// benchIngestHTTP runs the HTTP ingest at each concurrency and the fsync
// baseline over the same bodies.
func (a *App) benchIngestHTTP(ctx context.Context, out io.Writer, be *benchEvents, storeURL, root string, levels []int, batch int, rep *benchIngestReport, build *benchBuild) error {
	openers, _ := batchBodies(be.openers, batch)
	rest, counts := batchBodies(be.rest, batch)
	rep.Batch, rep.ByConcurrency, rep.CPUMicrosPerEvent = batch, map[string]float64{}, map[string]float64{}
	for i, clients := range levels {
		dir := root
		if i < len(levels)-1 {
			dir = benchDirFor(root, clients)
		}
		fmt.Fprintf(a.Stderr, "  ingesting %d events over HTTP with %d clients…\n", len(be.openers)+len(be.rest), clients)
		srv, err := startBenchServer(ctx, storeURL, dir, clients)
		if err != nil {
			return err
		}
		t0 := time.Now()
		rate, cpu, err := benchHTTPIngest(ctx, srv, openers, rest, counts, clients)
		*build = benchBuild{Load: "http", Seconds: time.Since(t0).Seconds(), EventsPerS: float64(be.events) / time.Since(t0).Seconds()}
		if serr := srv.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
		if dir != root {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
		rep.ByConcurrency[strconv.Itoa(clients)] = rate
		rep.CPUMicrosPerEvent[strconv.Itoa(clients)] = float64(cpu.Nanoseconds()) / 1000
		fmt.Fprintf(out, "ingest   %3d clients %9d events  %9.0f events/s  %5.1f µs CPU/event   (POST /v1/events over loopback, batches of %d, durable)\n",
			clients, len(be.rest), rate, float64(cpu.Nanoseconds())/1000, batch)
		if rep.Concurrency == 0 || absInt(clients-8) < absInt(rep.Concurrency-8) {
			rep.Concurrency, rep.EventsPerS = clients, rate
		}
	}
	base, err := fsyncBaseline(root, rest, counts)
	if err != nil {
		return fmt.Errorf("bench: fsync baseline: %w", err)
	}
	rep.FsyncBaselineEventsPerS, rep.Ratio = base, rep.EventsPerS/base
	fmt.Fprintf(out, "fsync    baseline    %9d events  %9.0f events/s   (the same bodies appended to a file, fsync per batch); ingest at %d clients = %.1f%% of it\n",
		len(be.rest), base, rep.Concurrency, 100*rep.Ratio)
	return nil
}

func absInt(n int) int { return max(n, -n) }

// benchReplay measures the store's size, replays it into fresh
// projections as a rebuild does (memory is measured while they are alive),
// and times the snapshot and a restart from it.
func (a *App) benchReplay(ctx context.Context, out io.Writer, storeURL, dir string, now time.Time, memprofile string, rep *benchReport) error {
	store, err := openExisting(ctx, storeURL, dir, zerolog.Nop())
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	if size := eventstore.SizeOf(store); size != nil && stores.IsEmbedded(storeURL) {
		// The embedded store's positions count its records.
		bytes, err := size()
		if err != nil {
			return err
		}
		rep.Store.BytesPerEvent = float64(bytes) / float64(max(head, 1))
		fmt.Fprintf(out, "store    %9.1f MiB on disk, %.0f bytes/event\n", float64(bytes)/(1<<20), rep.Store.BytesPerEvent)
	} else {
		fmt.Fprintf(out, "store    size not measured: the store does not report one per Vitals event\n")
	}

	scorer, err := newScorer("")
	if err != nil {
		return err
	}
	clock := func() time.Time { return now }
	base := heapInUse()
	snap := snapshotPath(dir)
	if err := os.Remove(snap); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err // replay from zero, not from the server's snapshot
	}
	dedupe := !eventstore.GuaranteesOf(store).DurableKeys
	p, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clock, SnapshotPath: snap,
		SnapshotEvery: 1 << 62, SnapshotInterval: 1 << 62, DedupeKeys: dedupe,
		// No checkpoints: their build from the log, in the background,
		// would hold a second state while the live heap is measured (the
		// server of the lag run builds them).
		NoCheckpoints: true})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- p.Run(runCtx) }()
	if err := p.WaitFor(ctx, head); err != nil {
		return err
	}
	replayDur := time.Since(start)
	live := heapInUse() - base
	if memprofile != "" {
		f, err := os.Create(memprofile)
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
	rep.Replay.EventsPerS = float64(stats.Replayed) / replayDur.Seconds()
	rep.Memory.LiveBytesPerAccount = float64(live) / float64(max(stats.Accounts, 1))
	fmt.Fprintf(out, "replay   %9d events in %8s  %9.0f events/s   (decode ‖ apply + score)\n",
		stats.Replayed, replayDur.Round(time.Millisecond), rep.Replay.EventsPerS)
	fmt.Fprintf(out, "memory   %9.1f MiB live heap for %d accounts = %.1f KiB per account (after GC, facts pruned to the windows)\n",
		float64(live)/(1<<20), stats.Accounts, rep.Memory.LiveBytesPerAccount/1024)

	// Snapshot on stop, then a restart from it.
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
	p2, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clock, SnapshotPath: snap, DedupeKeys: dedupe})
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
