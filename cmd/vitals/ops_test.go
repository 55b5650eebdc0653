package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRefusesExposedAddressWithoutKeys(t *testing.T) {
	code, _, stderr := run(t, "", nil, "serve", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "no API keys are configured") || !strings.Contains(stderr, "--insecure-no-auth") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// With --insecure-no-auth it serves, and warns.
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	app := &App{Stdout: logs, Stderr: logs, OnListen: func(net.Addr) { cancel() }}
	if code := app.Run(ctx, []string{"serve", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir(), "--insecure-no-auth", "--log-format", "json"}); code != 0 {
		t.Fatalf("--insecure-no-auth: exit %d\n%s", code, logs.String())
	}
	if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "without authentication") {
		t.Fatalf("no warning logged:\n%s", logs.String())
	}
}

func TestKeysCommandAndAuthenticatedServer(t *testing.T) {
	dir := t.TempDir()
	code, token, stderr := run(t, "", nil, "keys", "add", "--data-dir", dir, "--name", "pipeline", "--scopes", "ingest,read")
	token = strings.TrimSpace(token)
	if code != 0 || !strings.HasPrefix(token, "vk_") || !strings.Contains(stderr, "shown only once") {
		t.Fatalf("keys add: exit %d, %q, %s", code, token, stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "keys.json")); strings.Contains(string(data), token) {
		t.Fatal("keys.json holds the token itself")
	}
	if code, out, _ := run(t, "", nil, "keys", "list", "--data-dir", dir); code != 0 || !strings.Contains(out, "pipeline") {
		t.Fatalf("keys list: %d %q", code, out)
	}
	if code, _, stderr := run(t, "", nil, "keys", "add", "--data-dir", dir, "--name", "x", "--scopes", "write"); code != 1 || !strings.Contains(stderr, "--scopes") {
		t.Fatalf("bad scope: %d %s", code, stderr)
	}

	url := startServer(t, "--data-dir", dir)
	input := `{"specversion":"1.0","id":"a1","source":"cli","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}`
	if code, _, stderr := run(t, input, nil, "emit", "--to", url); code != 1 || !strings.Contains(stderr, "401") {
		t.Fatalf("emit without key: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, input, map[string]string{"VITALS_TOKEN": token}, "emit", "--to", url); code != 0 {
		t.Fatalf("emit with key: exit %d, %s", code, stderr)
	}
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/metrics without a key: %d", res.StatusCode)
	}
}

// TestGracefulStopFlushesSnapshot: a stop (SIGTERM in main) finishes with
// the projections' snapshot written, so a restart replays nothing.
func TestGracefulStopFlushesSnapshot(t *testing.T) {
	dir := t.TempDir()
	var lastLogs, firstLogs *syncBuffer
	defer func() {
		if t.Failed() && firstLogs != nil {
			t.Logf("first serve:\n%s\nsecond serve:\n%s", firstLogs.String(), lastLogs.String())
		}
	}()
	serveOnce := func(check func(url string)) {
		ctx, cancel := context.WithCancel(context.Background())
		addrc := make(chan net.Addr, 1)
		logs := &syncBuffer{}
		app := &App{Stdout: logs, Stderr: logs, OnListen: func(a net.Addr) { addrc <- a }}
		done := make(chan int, 1)
		go func() {
			done <- app.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-format", "json"})
		}()
		select {
		case a := <-addrc:
			lastLogs = logs
			check("http://" + a.String())
		case code := <-done:
			t.Fatalf("exit %d before listening:\n%s", code, logs.String())
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, logs.String())
			}
		case <-time.After(time.Minute):
			t.Fatal("shutdown did not finish within a minute")
		}
	}
	stats := func(url string) (head, start, replayed float64) {
		res, err := http.Get(url + "/v1/admin/stats")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var s struct {
			StoreHead   float64 `json:"store_head"`
			Projections struct {
				StartPosition float64 `json:"start_position"`
				Replayed      float64 `json:"replayed"`
			} `json:"projections"`
		}
		body, _ := io.ReadAll(res.Body)
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("stats %s: %v", body, err)
		}
		return s.StoreHead, s.Projections.StartPosition, s.Projections.Replayed
	}
	var head float64
	serveOnce(func(url string) {
		code, _, stderr := run(t, "", nil, "demo", "--to", url, "--accounts", "5", "--months", "2")
		if code != 0 {
			t.Fatalf("demo: %s", stderr)
		}
		head, _, _ = stats(url)
		firstLogs = lastLogs
		// The snapshot holds what the projector reached when it stopped:
		// wait until it has caught up, so the restart must replay nothing.
		res, err := http.Get(fmt.Sprintf("%s/v1/portfolio?min_position=%d", url, int64(head)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("projections did not reach position %v: %d", head, res.StatusCode)
		}
	})
	if _, err := os.Stat(snapshotPath(dir)); err != nil {
		t.Fatalf("no snapshot after a graceful stop: %v", err)
	}
	serveOnce(func(url string) {
		h, start, replayed := stats(url)
		if h != head || start != head || replayed != 0 {
			t.Fatalf("restart: head %v, resumed at %v, replayed %v; want resumed at %v with nothing replayed", h, start, replayed, head)
		}
	})
}

func TestBenchSmoke(t *testing.T) {
	dir := t.TempDir()
	args := []string{"bench", "--accounts", "4", "--managers", "2", "--months", "2", "--data-dir", dir,
		"--concurrency", "1,2", "--lag-rate", "500", "--lag-duration", "300ms", "--queries", "3"}
	for round, want := range []string{"µs CPU/event   (POST /v1/events", "ingest   skipped"} {
		code, out, stderr := run(t, "", nil, args...)
		if code != 0 {
			t.Fatalf("round %d: exit %d: %s", round, code, stderr)
		}
		for _, w := range []string{want, "replay", "KiB per account", "query    at_risk", "replays 0 events", "lag      at 500 events/s"} {
			if !strings.Contains(out, w) {
				t.Errorf("round %d: output lacks %q:\n%s", round, w, out)
			}
		}
		if round == 0 && !strings.Contains(out, "fsync    baseline") {
			t.Errorf("no fsync baseline:\n%s", out)
		}
		if strings.Contains(out, "replay           0 events") {
			t.Errorf("round %d replayed nothing:\n%s", round, out)
		}
	}
}

// TestBenchJSON checks the keys of vitals bench --json (BENCHMARKS.md).
func TestBenchJSON(t *testing.T) {
	code, out, stderr := run(t, "", nil, "bench", "--json", "--accounts", "3", "--managers", "1", "--months", "1",
		"--concurrency", "1,8", "--lag-rate", "500", "--lag-duration", "300ms", "--lag-queries", "100", "--queries", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	positive := func(path ...string) {
		t.Helper()
		var v any = rep
		for _, k := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object in %s", path, out)
			}
			v = m[k]
		}
		if f, ok := v.(float64); !ok || f <= 0 {
			t.Errorf("%v = %v, want a positive number", path, v)
		}
	}
	positive("events")
	positive("accounts")
	positive("ingest", "events_per_s")
	positive("ingest", "fsync_baseline_events_per_s")
	positive("ingest", "ratio")
	positive("ingest", "by_concurrency", "1")
	positive("ingest", "by_concurrency", "8")
	positive("ingest", "cpu_us_per_event", "8")
	positive("store", "bytes_per_event")
	positive("replay", "events_per_s")
	positive("memory", "live_bytes_per_account")
	positive("lag", "rate")
	positive("lag", "p50_ms")
	positive("lag", "p99_ms")
	positive("serve_ready_s")
	positive("checkpoints_ready_s")
	positive("lag", "batches")
	positive("lag", "query_rate")
	positive("lag", "cpu_us_per_event")
	positive("lag", "seconds")
	// The queries that ran while the lag was measured: the mix starts
	// with the at-risk list and one account's health.
	for _, q := range []string{"at_risk", "health"} {
		positive("lag", "queries", q, "p50_us")
		positive("lag", "queries", q, "p99_us")
		positive("lag", "queries", q, "calls")
	}
	positive("build", "seconds")
	positive("build", "events_per_s")
	for _, q := range []string{"health", "account_events", "at_risk", "portfolio", "managers",
		"health_history_365d", "at_risk_past", "portfolio_past", "managers_past"} {
		positive("queries", q, "p50_us")
		positive("queries", q, "p99_us")
		positive("queries", q, "calls")
	}
	if l := rep["build"].(map[string]any)["load"]; l != "http" {
		t.Errorf("build.load = %v, want http", l)
	}
	if _, err := time.Parse(time.RFC3339, rep["past_at"].(string)); err != nil {
		t.Errorf("past_at = %v: %v", rep["past_at"], err)
	}
	if c := rep["ingest"].(map[string]any)["concurrency"]; c != float64(8) {
		t.Errorf("ingest.concurrency = %v, want 8", c)
	}
	if !strings.Contains(stderr, "fsync    baseline") {
		t.Errorf("the report is not on stderr:\n%s", stderr)
	}
}
