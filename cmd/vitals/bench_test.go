package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
)

// TestBenchDirectLoad: --load direct fills the store through the ingester
// without HTTP (no ingest runs, no fsync baseline), and the rest of the
// bench — replay, lag, queries — runs on what it stored: the replay
// replays every generated event.
func TestBenchDirectLoad(t *testing.T) {
	code, out, stderr := run(t, "", nil, "bench", "--json", "--load", "direct", "--accounts", "5", "--managers", "2", "--months", "2",
		"--lag-rate", "500", "--lag-duration", "200ms", "--queries", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Events int
		Ingest struct {
			ByConcurrency map[string]float64 `json:"by_concurrency"`
		}
		Build   benchBuild
		Queries map[string]benchPercentile
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if rep.Build.Load != "direct" || rep.Build.EventsPerS <= 0 || rep.Build.Seconds <= 0 {
		t.Errorf("build = %+v, want a direct load with its rate", rep.Build)
	}
	if len(rep.Ingest.ByConcurrency) != 0 || strings.Contains(stderr, "fsync    baseline") {
		t.Errorf("--load direct ran HTTP ingest: %v\n%s", rep.Ingest.ByConcurrency, stderr)
	}
	if rep.Events == 0 || !strings.Contains(stderr, "replay   "+padLeft(rep.Events, 9)+" events") {
		t.Errorf("the replay did not replay the %d generated events:\n%s", rep.Events, stderr)
	}
	for _, name := range []string{"at_risk", "at_risk_all", "upsell", "at_risk_past"} {
		if q := rep.Queries[name]; q.Calls < 2 || q.P99us <= 0 {
			t.Errorf("queries.%s = %+v", name, q)
		}
	}
}

// padLeft is n right-aligned in width, as the report prints counts.
func padLeft(n, width int) string {
	s := strconv.Itoa(n)
	return strings.Repeat(" ", max(0, width-len(s))) + s
}

// TestBenchFlagErrors: a wrong --load, --lag-queries or --query-time is a
// usage error naming the flag.
func TestBenchFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--load", "ftp"}, "--load"},
		{[]string{"--lag-queries", "-1"}, "--lag-queries"},
		{[]string{"--query-time", "0s"}, "--query-time"},
	} {
		code, _, stderr := run(t, "", nil, append([]string{"bench"}, c.args...)...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("bench %v: exit %d, %q; want 2 naming %s", c.args, code, stderr, c.want)
		}
	}
}

// TestBenchQueriesBudget: an endpoint gets no more calls once it has used
// its time budget, but at least minQueryCalls.
func TestBenchQueriesBudget(t *testing.T) {
	srv := startTestBench(t)
	list := []benchQuery{{"slow", fixed("/v1/at-risk")}}
	got, err := benchQueries(t.Context(), srv, list, 1000, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if c := got["slow"].Calls; c != minQueryCalls {
		t.Errorf("calls = %d, want %d (the budget was spent at once)", c, minQueryCalls)
	}
	got, err = benchQueries(t.Context(), srv, list, 5, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if c := got["slow"].Calls; c != 5 {
		t.Errorf("calls = %d, want 5 (--queries)", c)
	}
}

// startTestBench starts an empty bench server for the test.
func startTestBench(t *testing.T) *benchServer {
	t.Helper()
	srv, err := startBenchServer(t.Context(), "bolt", t.TempDir(), 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Error(err)
		}
	})
	return srv
}

// TestLagSendsAgainWhenBusy: a batch the server answers 503 "busy" is sent
// again (and counted), and a health query answered 503 "behind" is asked
// again, so that a saturated server makes the lag long, not the bench fail.
func TestLagSendsAgainWhenBusy(t *testing.T) {
	var posts, gets atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && posts.Add(1) <= 2:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"busy","message":"64 ingest requests are already in progress; retry shortly"}}`)
		case r.Method == http.MethodPost:
			io.WriteString(w, `{"position":7,"results":[{"index":0,"id":"x","status":"accepted"}]}`)
		case gets.Add(1) == 1:
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"behind","message":"at position 6, waiting for 7"}}`)
		default:
			io.WriteString(w, `{}`)
		}
	}))
	defer ts.Close()
	s := &benchServer{url: ts.URL, client: ts.Client()}
	var busy atomic.Int64
	evs := []demo.Event{{SpecVersion: "1.0", ID: "e1", Source: "s", Type: "meeting.held", Subject: "acme", Data: map[string]any{}}}
	if _, err := sendAndSee(t.Context(), s, evs, "lag-", &busy); err != nil {
		t.Fatal(err)
	}
	if busy.Load() != 2 || posts.Load() != 3 || gets.Load() != 2 {
		t.Errorf("busy %d, posts %d, gets %d; want 2 busy answers, 3 posts, 2 gets", busy.Load(), posts.Load(), gets.Load())
	}
}

// TestLagRedate: the lag run dates its events when it sends them and moves
// the instants and dates of their data as much, so that every demo event
// stays valid: an override dated now whose expires_at stayed in the past
// was rejected (the 2,000-account bench failed with a 207).
func TestLagRedate(t *testing.T) {
	issued := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	e := demo.Event{SpecVersion: "1.0", ID: "o1", Source: "s", Type: "health.overridden", Subject: "acme", Time: issued,
		Data: map[string]any{"band": "yellow", "reason": "tense", "author": "am-1", "expires_at": "2025-03-16T11:55:06Z", "note": "2025-03-01 is not moved: not only a date"}}
	at := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	got := redate(e, at)
	if !got.Time.Equal(at) {
		t.Errorf("time %v, want %v", got.Time, at)
	}
	want := at.Add(time.Date(2025, 3, 16, 11, 55, 6, 0, time.UTC).Sub(issued)).Format(time.RFC3339)
	if got.Data["expires_at"] != want || got.Data["note"] != e.Data["note"] {
		t.Errorf("data %v; want expires_at %s, note unchanged", got.Data, want)
	}
	if e.Data["expires_at"] != "2025-03-16T11:55:06Z" {
		t.Errorf("the original event's data changed: %v", e.Data)
	}
	inv := redate(demo.Event{Time: issued, Data: map[string]any{"due_date": "2025-03-31"}}, at)
	if d := inv.Data["due_date"]; d != at.AddDate(0, 0, 30).Format(time.DateOnly) {
		t.Errorf("due_date %v, want 30 days after %s", d, at.Format(time.DateOnly))
	}
	// Every event of a demo agency, moved to now, is valid.
	be, err := generateBenchIDs(t.Context(), demo.Config{Seed: 1, Accounts: 300, Managers: 6, Months: 24, End: at.Truncate(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, e := range be.lag {
		raw, err := json.Marshal(redate(e, now))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := domain.Parse(raw, now); err != nil {
			t.Fatalf("%s moved to now is rejected: %v\n%s", e.Type, err, raw)
		}
	}
}
