package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// benchReport is what vitals bench --json writes: one object whose keys
// are stable (BENCHMARKS.md explains each).
type benchReport struct {
	Events   int               `json:"events"`
	Accounts int               `json:"accounts"`
	Ingest   benchIngestReport `json:"ingest"`
	Store    struct {
		BytesPerEvent float64 `json:"bytes_per_event"`
	} `json:"store"`
	Replay struct {
		EventsPerS float64 `json:"events_per_s"`
	} `json:"replay"`
	Memory struct {
		LiveBytesPerAccount float64 `json:"live_bytes_per_account"`
	} `json:"memory"`
	// Build is how the store was filled (--load).
	Build benchBuild `json:"build"`
	// ServeReadySeconds is how long the server took, started on the
	// replayed store and its snapshot, to be ready and answer a query.
	ServeReadySeconds float64 `json:"serve_ready_s"`
	// CheckpointsReadySeconds is how long after that the server's
	// checkpoints of past instants took to cover time up to the retention
	// horizon (built from the log in the background, docs/checkpoints.md);
	// the lag and query runs start after it.
	CheckpointsReadySeconds float64  `json:"checkpoints_ready_s"`
	Lag                     benchLag `json:"lag"`
	// PastAt is the instant of the queries named *_past: before the
	// retention horizon, so they replay the log.
	PastAt  time.Time                  `json:"past_at"`
	Queries map[string]benchPercentile `json:"queries"`
}

// benchBuild is how the store was filled: over HTTP (the last ingest run)
// or straight through the ingester (--load direct), and how long it took.
type benchBuild struct {
	Load       string  `json:"load"`
	Seconds    float64 `json:"seconds"`
	EventsPerS float64 `json:"events_per_s"`
}

// benchIngestReport is the HTTP ingest part of the report: events_per_s
// at the concurrency the targets name (8 clients, or the nearest run), the
// rate at every concurrency run, and the fsync baseline.
type benchIngestReport struct {
	EventsPerS    float64            `json:"events_per_s"`
	Concurrency   int                `json:"concurrency"`
	Batch         int                `json:"batch"`
	ByConcurrency map[string]float64 `json:"by_concurrency"`
	// CPUMicrosPerEvent is the process's CPU time (user + system: the
	// server and the clients) per event at each concurrency: unlike the
	// rates, it does not depend on what else the machine runs.
	CPUMicrosPerEvent       map[string]float64 `json:"cpu_us_per_event"`
	FsyncBaselineEventsPerS float64            `json:"fsync_baseline_events_per_s"`
	Ratio                   float64            `json:"ratio"`
}

// batchBodies joins events into JSON array bodies of up to n events.
func batchBodies(events [][]byte, n int) (bodies [][]byte, counts []int) {
	for len(events) > 0 {
		k := min(n, len(events))
		size := 2
		for _, e := range events[:k] {
			size += len(e) + 1
		}
		b := make([]byte, 0, size)
		b = append(b, '[')
		for i, e := range events[:k] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, e...)
		}
		bodies = append(bodies, append(b, ']'))
		counts = append(counts, k)
		events = events[k:]
	}
	return bodies, counts
}

// benchServer is a "vitals serve" run in this process on a loopback port.
type benchServer struct {
	url    string
	client *http.Client
	cancel context.CancelFunc
	done   chan int
	logs   *syncWriter
}

// syncWriter collects a server's logs.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() > 1<<20 {
		w.b.Reset() // keep the tail only
	}
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// startBenchServer runs the real server on dir, without rate limits, and
// waits until it listens.
func startBenchServer(ctx context.Context, storeURL, dir string, clients int) (*benchServer, error) {
	ctx, cancel := context.WithCancel(ctx)
	addrc := make(chan net.Addr, 1)
	s := &benchServer{cancel: cancel, done: make(chan int, 1), logs: &syncWriter{}}
	app := &App{Stdin: bytes.NewReader(nil), Stdout: s.logs, Stderr: s.logs, Getenv: func(string) string { return "" },
		OnListen: func(a net.Addr) { addrc <- a }}
	args := []string{"serve", "--addr", "127.0.0.1:0", "--store", storeURL, "--data-dir", dir, "--log-format", "json", "--log-level", "warn",
		"--rate-limit", "0", "--max-concurrent-ingest", strconv.Itoa(max(64, clients))}
	go func() { s.done <- app.Run(ctx, args) }()
	select {
	case a := <-addrc:
		s.url = "http://" + a.String()
	case code := <-s.done:
		cancel()
		return nil, fmt.Errorf("bench: serve exited %d: %s", code, s.logs.String())
	}
	s.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(clients, 2) * 2, DisableCompression: true}}
	return s, nil
}

// waitReady waits until the server answers /readyz with 200 (its
// projections caught up with the store) and then answers a query of the
// whole agency (so that the check of every account's derived state after
// a start, which holds the projections' lock, is over).
func (s *benchServer) waitReady(ctx context.Context) error {
	for {
		err := s.get(ctx, "/readyz")
		if err == nil {
			break
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("bench: the server did not get ready: %w (last: %w)", ctx.Err(), err)
		}
	}
	return s.get(ctx, "/v1/portfolio")
}

// checkpointsWait bounds waitCheckpoints: a build that has not ended by
// then has failed (the server logs why), and the bench says so rather
// than wait for ever.
const checkpointsWait = 30 * time.Minute

// waitCheckpoints waits until the server's checkpoints of past instants
// are complete (GET /v1/admin/stats), so that their build from the log,
// which runs once after an import, is not measured as steady-state lag;
// it prints progress every 10 s.
func (s *benchServer) waitCheckpoints(ctx context.Context, out io.Writer) error {
	start, said := time.Now(), time.Now()
	for {
		body, err := s.getBody(ctx, "/v1/admin/stats")
		if err != nil {
			return err
		}
		var st struct {
			Checkpoints *projections.CheckpointStatus `json:"checkpoints"`
		}
		if err := json.Unmarshal(body, &st); err != nil {
			return fmt.Errorf("bench: GET /v1/admin/stats: %w", err)
		}
		if st.Checkpoints == nil {
			return errors.New("bench: GET /v1/admin/stats: no checkpoints member")
		}
		if st.Checkpoints.Complete {
			return nil
		}
		if time.Since(start) > checkpointsWait {
			return fmt.Errorf("bench: the checkpoints were not complete after %s (building: %t, %d built, covering %s to %s); see the server's log",
				checkpointsWait, st.Checkpoints.Building, len(st.Checkpoints.Checkpoints),
				st.Checkpoints.CoveredFrom.Format(time.DateOnly), st.Checkpoints.CoveredTo.Format(time.DateOnly))
		}
		if time.Since(said) >= 10*time.Second {
			fmt.Fprintf(out, "  checkpoints: %d built so far, covering %s to %s (%s)…\n", len(st.Checkpoints.Checkpoints),
				st.Checkpoints.CoveredFrom.Format(time.DateOnly), st.Checkpoints.CoveredTo.Format(time.DateOnly), time.Since(start).Round(time.Second))
			said = time.Now()
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("bench: waiting for the checkpoints: %w", ctx.Err())
		}
	}
}

// stop shuts the server down and waits for it.
func (s *benchServer) stop() error {
	s.cancel()
	if code := <-s.done; code != 0 {
		return fmt.Errorf("bench: serve exited %d: %s", code, s.logs.String())
	}
	s.client.CloseIdleConnections()
	return nil
}

// post sends one batch body and returns the position it reached. Every
// event must be accepted.
func (s *benchServer) post(ctx context.Context, body []byte) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(ans, []byte(`"busy"`)) {
		return 0, fmt.Errorf("%w: %.300s", errBenchBusy, ans)
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(ans, []byte(`"rejected"`)) {
		return 0, fmt.Errorf("bench: POST /v1/events: %s: %.500s", resp.Status, ans)
	}
	// The answer starts {"position":N,…}: read N without decoding the results.
	rest, ok := bytes.CutPrefix(ans, []byte(`{"position":`))
	end := bytes.IndexByte(rest, ',')
	if !ok || end < 0 {
		return 0, fmt.Errorf("bench: unexpected answer %.200s", ans)
	}
	return strconv.ParseUint(string(rest[:end]), 10, 64)
}

// errBenchBusy is a POST's 503 "busy": the server already has as many
// ingest requests in progress as it takes.
var errBenchBusy = errors.New("bench: POST /v1/events: the server is busy")

// errBenchBehind is a query's 503 "behind": its ?min_position= was not
// reached within the server's wait.
var errBenchBehind = errors.New("bench: the projections did not reach the position in time")

// get runs one query and fails unless it answers 200 (errBenchBehind for a
// 503 "behind").
func (s *benchServer) get(ctx context.Context, path string) error {
	_, err := s.getBody(ctx, path)
	return err
}

// getBody runs one query and returns its answer, as get.
func (s *benchServer) getBody(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(ans, []byte(`"behind"`)) {
		return nil, fmt.Errorf("%w: GET %s: %.300s", errBenchBehind, path, ans)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: GET %s: %s: %.300s", path, resp.Status, ans)
	}
	return ans, nil
}

// benchHTTPIngest stores the openers, then times the rest sent by clients
// concurrent clients, each taking the next batch; it returns events/s and
// the process's CPU time per event.
func benchHTTPIngest(ctx context.Context, s *benchServer, openers, rest [][]byte, counts []int, clients int) (rate float64, cpuPerEvent time.Duration, err error) {
	for _, body := range openers {
		if _, err := s.post(ctx, body); err != nil {
			return 0, 0, err
		}
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start, cpu := time.Now(), processCPU()
	for range clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rest) || ctx.Err() != nil {
					return
				}
				if _, err := s.post(ctx, rest[i]); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	d, cpu := time.Since(start), processCPU()-cpu
	if firstErr != nil {
		return 0, 0, firstErr
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return float64(n) / d.Seconds(), cpu / time.Duration(n), nil
}

// fsyncBaseline appends bodies to a plain file in dir with an fsync after
// each, as a store that did nothing but write the request bytes durably
// would; it returns events/s.
func fsyncBaseline(dir string, bodies [][]byte, counts []int) (float64, error) {
	f, err := os.CreateTemp(dir, "fsync-baseline-")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n := 0
	start := time.Now()
	for i, b := range bodies {
		if _, err := f.Write(b); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		n += counts[i]
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// percentiles returns the median and 99th percentile of ds (sorted in
// place).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	at := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return at(0.50), at(0.99)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }

// benchDirFor is the data dir of one concurrency run.
func benchDirFor(root string, clients int) string {
	return filepath.Join(root, "ingest-c"+strconv.Itoa(clients))
}
