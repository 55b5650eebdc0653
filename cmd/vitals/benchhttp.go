package main

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
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
	Lag     benchLag                   `json:"lag"`
	Queries map[string]benchPercentile `json:"queries"`
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

// benchLag is the append→visible lag at a steady rate: from sending a batch
// to the answer of a query that waits for its position (?min_position=).
type benchLag struct {
	Rate  float64 `json:"rate"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
}

// benchPercentile is the latency of one query endpoint.
type benchPercentile struct {
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
}

// benchEvents is the demo agency, pre-encoded: the opening events
// (account.opened, manager.joined), which must be stored before the rest,
// and the rest, which may arrive in any order; lag holds copies of the
// rest under new ids, for the lag measurement.
type benchEvents struct {
	openers, rest [][]byte
	lag           [][]byte
	lagSubjects   []string
	accounts      int
	// firstAccount and firstManager are ids the queries ask about.
	firstAccount, firstManager string
}

// generateBenchEvents encodes the demo agency as CloudEvent JSON.
func generateBenchEvents(ctx context.Context, cfg demo.Config) (*benchEvents, error) {
	be := &benchEvents{}
	err := demo.Generate(ctx, cfg, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		switch domain.Type(e.Type) {
		case domain.TypeAccountOpened:
			if be.accounts == 0 {
				be.firstAccount = e.Subject
			}
			be.accounts++
			be.openers = append(be.openers, raw)
			return nil
		case domain.TypeManagerJoined:
			if be.firstManager == "" {
				be.firstManager = e.Subject
			}
			be.openers = append(be.openers, raw)
			return nil
		}
		be.rest = append(be.rest, raw)
		if domain.Type(e.Type).IsManagerEvent() || len(be.lag) >= 200_000 {
			return nil
		}
		e.ID = "lag-" + e.ID
		raw, err = json.Marshal(e)
		be.lag = append(be.lag, raw)
		be.lagSubjects = append(be.lagSubjects, e.Subject)
		return err
	})
	return be, err
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

// get runs one query and fails unless it answers 200.
func (s *benchServer) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	ans, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: GET %s: %s: %.300s", path, resp.Status, ans)
	}
	return nil
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

// benchLagRun sends the lag events at rate events/s for d, in 100 batches
// a second, each from its own goroutine so that a slow answer does not
// slow the pace, and measures for each batch the time from sending it to
// the answer of a health query that waits for its position.
func benchLagRun(ctx context.Context, s *benchServer, be *benchEvents, rate float64, d time.Duration) (benchLag, error) {
	const perSecond = 100
	k := max(1, int(rate/perSecond))
	interval := time.Duration(float64(time.Second) * float64(k) / rate)
	n := min(len(be.lag)/k, int(d/interval))
	if n == 0 {
		return benchLag{}, fmt.Errorf("bench: no events for the lag run")
	}
	lags := make([]time.Duration, n)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
				return benchLag{}, ctx.Err()
			}
		}
		evs := be.lag[i*k : (i+1)*k]
		subject := be.lagSubjects[i*k]
		wg.Go(func() {
			body, _ := batchBodies(evs, k)
			t0 := time.Now()
			pos, err := s.post(ctx, body[0])
			if err == nil {
				err = s.get(ctx, "/v1/accounts/"+subject+"/health?min_position="+strconv.FormatUint(pos, 10))
			}
			if err != nil {
				errOnce.Do(func() { firstErr = err })
				return
			}
			lags[i] = time.Since(t0)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return benchLag{}, firstErr
	}
	p50, p99 := percentiles(lags)
	return benchLag{Rate: float64(k) / interval.Seconds(), P50ms: ms(p50), P99ms: ms(p99)}, nil
}

// benchQueries times each query endpoint n times, one call at a time.
func benchQueries(ctx context.Context, s *benchServer, account, manager string, n int) (map[string]benchPercentile, error) {
	out := map[string]benchPercentile{}
	for _, q := range []struct{ name, path string }{
		{"health", "/v1/accounts/" + account + "/health"},
		{"account", "/v1/accounts/" + account},
		{"account_events", "/v1/accounts/" + account + "/events"},
		{"accounts", "/v1/accounts?limit=100"},
		{"at_risk", "/v1/at-risk"},
		{"upsell", "/v1/upsell"},
		{"portfolio", "/v1/portfolio"},
		{"managers", "/v1/managers"},
		{"manager", "/v1/managers/" + manager},
		{"health_history", "/v1/accounts/" + account + "/health/history"},
	} {
		times := make([]time.Duration, n)
		for i := range n {
			t0 := time.Now()
			if err := s.get(ctx, q.path); err != nil {
				return nil, err
			}
			times[i] = time.Since(t0)
		}
		p50, p99 := percentiles(times)
		out[q.name] = benchPercentile{P50us: us(p50), P99us: us(p99)}
	}
	return out, nil
}

// percentiles returns the median and 99th percentile of ds (sorted in
// place).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
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
