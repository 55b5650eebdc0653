package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vitals-hq/vitals/demo"
)

// lagQueryInFlight bounds the queries the lag run has in flight: a tick
// that finds this many still running is skipped (and counted), so that a
// slow server is not buried under an ever-growing pile of requests.
const lagQueryInFlight = 8

// busyPause is how long the lag run waits before sending again a batch
// the server answered 503 "busy".
const busyPause = 10 * time.Millisecond

// minQueryCalls is how many calls each query endpoint gets at least, even
// when one takes longer than --query-time (at 100,000 accounts a query
// that replays the whole log takes minutes).
const minQueryCalls = 1

// benchLag is the append→visible lag at a steady rate, measured while
// queries run: from sending a batch to the answer of a query that waits
// for its position (?min_position=), and the latency of the queries that
// ran meanwhile.
type benchLag struct {
	Rate    float64 `json:"rate"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	Batches int     `json:"batches"`
	// Busy counts the POSTs answered 503 "busy" (as many ingest requests
	// in progress as the server takes) and sent again after busyPause;
	// the lag of their batch includes the wait.
	Busy int `json:"busy"`
	// QueryRate is the queries answered per second of the window (the
	// asked rate, --lag-queries, less the ticks skipped).
	QueryRate float64 `json:"query_rate"`
	// CPUMicrosPerEvent is the process's CPU time (server, senders and
	// queries) from the first send until every batch was visible and the
	// queries in flight answered, per event sent: what the traffic costs,
	// whatever share of the machine the process got.
	CPUMicrosPerEvent float64 `json:"cpu_us_per_event"`
	// Seconds is the run's wall time, from the first send until then.
	Seconds        float64                    `json:"seconds"`
	QueriesSkipped int                        `json:"queries_skipped"`
	Queries        map[string]benchPercentile `json:"queries"`
}

// benchPercentile is the latency of one query endpoint.
type benchPercentile struct {
	P50us float64 `json:"p50_us"`
	P99us float64 `json:"p99_us"`
	Calls int     `json:"calls"`
}

// benchQuery is one query endpoint; path gives the i-th call's path.
type benchQuery struct {
	name string
	path func(i int) string
}

// fixed is a path that is the same on every call.
func fixed(p string) func(int) string { return func(int) string { return p } }

// lagQueries is the mix the lag run asks while it sends: the lists' first
// pages of 100, the aggregates, and one account's explanation and record, the accounts
// taken across the whole agency.
func lagQueries(be *benchEvents) []benchQuery {
	anyAccount := func(i int) string { return be.accounts[(i*7919)%len(be.accounts)] }
	return []benchQuery{
		{"at_risk", fixed("/v1/at-risk?limit=100")},
		{"health", func(i int) string { return "/v1/accounts/" + anyAccount(i) + "/health" }},
		{"portfolio", fixed("/v1/portfolio")},
		{"accounts", fixed("/v1/accounts?limit=100")},
		{"managers", fixed("/v1/managers")},
		{"account", func(i int) string { return "/v1/accounts/" + anyAccount(i) }},
		{"upsell", fixed("/v1/upsell?limit=100")},
	}
}

// benchQueryList is what the query phase times: every endpoint as of now
// (the lists' first pages of 100, and the whole at-risk list as
// at_risk_all), one account's health history over 365 daily points, and
// the at-risk list's first page of 100, the portfolio and the capacity as
// of past, an instant before the retention
// horizon (they replay the log). now gives the instant a history ends.
func benchQueryList(be *benchEvents, past time.Time, now func() time.Time) []benchQuery {
	account, at := be.firstAccount, "?at="+url.QueryEscape(past.UTC().Format(time.RFC3339))
	history365 := func(int) string {
		to := now().UTC().Truncate(time.Second)
		return "/v1/accounts/" + account + "/health/history?step=1d&from=" + url.QueryEscape(to.AddDate(0, 0, -364).Format(time.RFC3339)) +
			"&to=" + url.QueryEscape(to.Format(time.RFC3339))
	}
	return []benchQuery{
		{"health", fixed("/v1/accounts/" + account + "/health")},
		{"account", fixed("/v1/accounts/" + account)},
		{"account_events", fixed("/v1/accounts/" + account + "/events")},
		{"accounts", fixed("/v1/accounts?limit=100")},
		{"at_risk", fixed("/v1/at-risk?limit=100")},
		{"at_risk_all", fixed("/v1/at-risk")},
		{"upsell", fixed("/v1/upsell?limit=100")},
		{"portfolio", fixed("/v1/portfolio")},
		{"managers", fixed("/v1/managers")},
		{"manager", fixed("/v1/managers/" + be.firstManager)},
		{"health_history", fixed("/v1/accounts/" + account + "/health/history")},
		{"health_history_365d", history365},
		{"at_risk_past", fixed("/v1/at-risk" + at + "&limit=100")},
		{"portfolio_past", fixed("/v1/portfolio" + at)},
		{"managers_past", fixed("/v1/managers" + at)},
	}
}

// benchPastInstant is the instant of the *_past queries: 30 days before
// the earlier of the agency's end and the server's retention horizon, so
// that the answer cannot come from the live state (the horizon is read
// from GET /v1/admin/stats; when it is not there, the agency's end).
func benchPastInstant(ctx context.Context, s *benchServer, end time.Time) (time.Time, error) {
	body, err := s.getBody(ctx, "/v1/admin/stats")
	if err != nil {
		return time.Time{}, err
	}
	var stats struct {
		Projections struct {
			Horizon time.Time `json:"horizon"`
		} `json:"projections"`
	}
	if err := json.Unmarshal(body, &stats); err != nil {
		return time.Time{}, fmt.Errorf("bench: GET /v1/admin/stats: %w", err)
	}
	if h := stats.Projections.Horizon; !h.IsZero() && h.Before(end) {
		end = h
	}
	return end.AddDate(0, 0, -30).UTC(), nil
}

// benchQueries times each query endpoint, one call at a time: n calls, or
// fewer once the endpoint has taken budget (but at least minQueryCalls).
func benchQueries(ctx context.Context, s *benchServer, list []benchQuery, n int, budget time.Duration) (map[string]benchPercentile, error) {
	out := map[string]benchPercentile{}
	for _, q := range list {
		var times []time.Duration
		start := time.Now()
		for i := range n {
			if i >= minQueryCalls && time.Since(start) >= budget {
				break
			}
			t0 := time.Now()
			if err := s.get(ctx, q.path(i)); err != nil {
				return nil, err
			}
			times = append(times, time.Since(t0))
		}
		out[q.name] = summarize(times)
	}
	return out, nil
}

// summarize is the p50 and p99 of one endpoint's calls.
func summarize(times []time.Duration) benchPercentile {
	p50, p99 := percentiles(times)
	return benchPercentile{P50us: us(p50), P99us: us(p99), Calls: len(times)}
}

// benchLagRun sends the lag events at rate events/s for d, in 100 batches
// a second, each from its own goroutine so that a slow answer does not
// slow the pace, and measures for each batch the time from sending it to
// the answer of a health query that waits for its position. Meanwhile it
// asks the lagQueries mix at qrate queries/s (0: none). Each event is sent
// under a new id, dated when its batch is sent, as live traffic is.
func benchLagRun(ctx context.Context, s *benchServer, be *benchEvents, rate float64, d time.Duration, qrate float64) (benchLag, error) {
	const perSecond = 100
	k := max(1, int(rate/perSecond))
	interval := time.Duration(float64(time.Second) * float64(k) / rate)
	n := min(len(be.lag)/k, int(d/interval))
	if n == 0 {
		return benchLag{}, fmt.Errorf("bench: no events for the lag run")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }

	queries := startLagQueries(ctx, s, lagQueries(be), qrate, fail)
	idPrefix := "lag-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-"
	lags := make([]time.Duration, n)
	var (
		wg   sync.WaitGroup
		busy atomic.Int64
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start, cpu := time.Now(), processCPU()
	for i := range n {
		if i > 0 {
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		evs := be.lag[i*k : (i+1)*k]
		wg.Go(func() {
			lag, err := sendAndSee(ctx, s, evs, idPrefix, &busy)
			if err != nil {
				fail(err)
				return
			}
			lags[i] = lag
		})
	}
	wg.Wait()
	qrep := queries.stop()
	window, cpu := time.Since(start), processCPU()-cpu
	if firstErr != nil {
		return benchLag{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return benchLag{}, err
	}
	p50, p99 := percentiles(lags)
	rep := benchLag{Rate: float64(k) / interval.Seconds(), P50ms: ms(p50), P99ms: ms(p99), Batches: n, Busy: int(busy.Load()),
		QueriesSkipped: qrep.skipped, Queries: map[string]benchPercentile{}}
	answered := 0
	for name, times := range qrep.times {
		rep.Queries[name] = summarize(times)
		answered += len(times)
	}
	rep.QueryRate = float64(answered) / window.Seconds()
	rep.Seconds = window.Seconds()
	rep.CPUMicrosPerEvent = float64(cpu.Microseconds()) / float64(n*k)
	return rep, nil
}

// sendAndSee posts evs as one batch under new ids, dated now (sending it
// again after busyPause while the server answers 503 "busy", counted in
// busy), and waits until a health query of the first event's account
// reflects it (asking again while the server answers 503 "behind"); it
// returns the time taken from the first send.
func sendAndSee(ctx context.Context, s *benchServer, evs []demo.Event, idPrefix string, busy *atomic.Int64) (time.Duration, error) {
	raws := make([][]byte, len(evs))
	now := time.Now().UTC()
	for j, e := range evs {
		e = redate(e, now)
		e.ID = idPrefix + e.ID
		raw, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		raws[j] = raw
	}
	body, _ := batchBodies(raws, len(raws))
	t0 := time.Now()
	pos, err := s.post(ctx, body[0])
	for errors.Is(err, errBenchBusy) {
		busy.Add(1)
		select {
		case <-time.After(busyPause):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		pos, err = s.post(ctx, body[0])
	}
	if err != nil {
		return 0, err
	}
	path := "/v1/accounts/" + evs[0].Subject + "/health?min_position=" + strconv.FormatUint(pos, 10)
	for {
		err = s.get(ctx, path)
		if !errors.Is(err, errBenchBehind) {
			break
		}
	}
	if err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// redate moves e to the instant at, with the instants (RFC 3339) and
// dates (YYYY-MM-DD) of its data moved as much (dates by calendar days), so
// that what they mean relative to the event stays: an override still
// expires after it is set, an invoice is due as long after it is issued.
// e's data map is not changed: a moved event gets a copy.
func redate(e demo.Event, at time.Time) demo.Event {
	delta := at.Sub(e.Time)
	const day = 24 * time.Hour
	days := int(at.UTC().Truncate(day).Sub(e.Time.UTC().Truncate(day)) / day) // calendar days
	var data map[string]any
	for k, v := range e.Data {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var moved string
		if t, err := time.Parse(time.RFC3339, str); err == nil {
			moved = t.Add(delta).UTC().Format(time.RFC3339)
		} else if d, err := time.Parse(time.DateOnly, str); err == nil {
			moved = d.AddDate(0, 0, days).Format(time.DateOnly)
		} else {
			continue
		}
		if data == nil {
			data = maps.Clone(e.Data)
		}
		data[k] = moved
	}
	if data != nil {
		e.Data = data
	}
	e.Time = at
	return e
}

// lagQueryRun is the query load of a lag run.
type lagQueryRun struct {
	done    chan struct{}
	stopped chan struct{}
	mu      sync.Mutex
	times   map[string][]time.Duration
	skipped int
}

// startLagQueries asks list round-robin at qrate queries/s, each call in
// its own goroutine, at most lagQueryInFlight at a time, until stop.
// A failed query is reported to fail.
func startLagQueries(ctx context.Context, s *benchServer, list []benchQuery, qrate float64, fail func(error)) *lagQueryRun {
	r := &lagQueryRun{done: make(chan struct{}), stopped: make(chan struct{}), times: map[string][]time.Duration{}}
	if qrate <= 0 {
		close(r.stopped)
		return r
	}
	go func() {
		defer close(r.stopped)
		var (
			wg       sync.WaitGroup
			inFlight atomic.Int32
		)
		tick := time.NewTicker(time.Duration(float64(time.Second) / qrate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-tick.C:
			case <-r.done:
				wg.Wait()
				return
			case <-ctx.Done():
				wg.Wait()
				return
			}
			if inFlight.Load() >= lagQueryInFlight {
				r.mu.Lock()
				r.skipped++
				r.mu.Unlock()
				continue
			}
			q := list[i%len(list)]
			inFlight.Add(1)
			wg.Go(func() {
				defer inFlight.Add(-1)
				t0 := time.Now()
				if err := s.get(ctx, q.path(i/len(list))); err != nil {
					if ctx.Err() == nil {
						fail(err)
					}
					return
				}
				dt := time.Since(t0)
				r.mu.Lock()
				r.times[q.name] = append(r.times[q.name], dt)
				r.mu.Unlock()
			})
		}
	}()
	return r
}

// stop ends the query load, waits for the queries in flight and returns
// what was measured.
func (r *lagQueryRun) stop() *lagQueryRun {
	select {
	case <-r.done:
	default:
		close(r.done)
	}
	<-r.stopped
	return r
}

// sortedNames are a report's query names in order.
func sortedNames(m map[string]benchPercentile) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
