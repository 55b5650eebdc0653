package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore/esdb"
	"github.com/vitals-hq/vitals/eventstore/esdb/esdbtest"
	"github.com/vitals-hq/vitals/ingest"
)

// TestRebuildOnKurrentDB: vitals rebuild --store esdb://… replays the
// events of a KurrentDB (the protocol stand-in) into a fresh snapshot in
// --data-dir, which it creates.
func TestRebuildOnKurrentDB(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	url := srv.URL(0, "")
	store, err := esdb.Open(t.Context(), url, esdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	cfg := demo.Config{Seed: 3, Accounts: 4, Managers: 2, Months: 2, End: end}
	if _, err := ingestDemo(t.Context(), ingest.New(store), cfg, end, 500, func(int, []ingest.Result) {}); err != nil {
		t.Fatal(err)
	}
	recs, err := store.ReadAll(t.Context(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	events := len(recs)
	store.Close()
	if events < 20 {
		t.Fatalf("%d demo events stored", events)
	}

	dir := filepath.Join(t.TempDir(), "data")
	code, _, stderr := run(t, "", nil, "rebuild", "--store", url, "--data-dir", dir)
	if code != 0 {
		t.Fatalf("rebuild: exit %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`done: (\d+) events replayed into 4 accounts and 2 managers`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("rebuild output: %s", stderr)
	}
	if n, _ := strconv.Atoi(m[1]); n != events {
		t.Errorf("replayed %d events, the store holds %d", n, events)
	}
	if _, err := os.Stat(snapshotPath(dir)); err != nil {
		t.Errorf("no snapshot written: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "events.db")); err == nil {
		t.Error("rebuild on KurrentDB created an embedded store in the data dir")
	}
}

// TestRebuildUnknownStoreNamesTheFlag: a store URL no adapter takes is an
// error naming --store.
func TestRebuildUnknownStoreNamesTheFlag(t *testing.T) {
	code, _, stderr := run(t, "", nil, "rebuild", "--store", "mysql://x", "--data-dir", t.TempDir())
	if code == 0 || !strings.Contains(stderr, "--store") {
		t.Errorf("exit %d, %q; want an error naming --store", code, stderr)
	}
}

// TestBenchOnKurrentDB: vitals bench --store esdb://… ingests once into
// the (empty) server over HTTP, replays the server's log and queries a
// server started on it — the same command as on the embedded store.
func TestBenchOnKurrentDB(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	code, out, stderr := run(t, "", nil, "bench", "--json", "--store", srv.URL(0, ""), "--data-dir", t.TempDir(),
		"--accounts", "3", "--managers", "1", "--months", "1",
		"--concurrency", "1,8", "--lag-rate", "200", "--lag-duration", "200ms", "--queries", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Events int
		Ingest struct {
			EventsPerS    float64            `json:"events_per_s"`
			ByConcurrency map[string]float64 `json:"by_concurrency"`
		}
		Replay struct {
			EventsPerS float64 `json:"events_per_s"`
		}
		Queries map[string]any
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if rep.Events == 0 || rep.Ingest.EventsPerS <= 0 || rep.Replay.EventsPerS <= 0 || len(rep.Queries) == 0 {
		t.Errorf("report %+v", rep)
	}
	if len(rep.Ingest.ByConcurrency) != 1 {
		t.Errorf("ingest runs %v: want one (a shared store is not emptied between runs)", rep.Ingest.ByConcurrency)
	}
	if !strings.Contains(stderr, "one run, at 1 clients") {
		t.Errorf("stderr does not say the runs were cut to one:\n%s", stderr)
	}
}
