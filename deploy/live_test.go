package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// liveRateInterval replaces $__rate_interval in the live test: Prometheus
// scrapes every second, so 15 s hold enough samples for rate().
const liveRateInterval = 15 * time.Second

// TestDashboardsLive runs the real thing on loopback: a vitals serve
// loaded with a demo agency, and a Prometheus (the Debian package)
// scraping it every second. Once a few scrapes have happened, every panel
// query of every dashboard must return a non-empty result. It also runs
// promtool check metrics on a scrape of /metrics.
//
// Set VITALS_BIN to test a prebuilt binary instead of building ./cmd/vitals.
func TestDashboardsLive(t *testing.T) {
	prometheusBin := requireTool(t, "prometheus")
	promtool := requireTool(t, "promtool")
	dashboards := loadDashboards(t)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	bin := os.Getenv("VITALS_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "vitals")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/vitals")
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/vitals: %v\n%s", err, out)
		}
	}

	// A webhook receiver as the notify target (VITALS_NOTIFY), so that the
	// Notifications row has series; it accepts everything.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	t.Setenv("VITALS_NOTIFY", receiver.URL+"/hooks?name=live")

	// vitals serve with a demo agency. 14 months of history, so that the
	// 12-month logo retention has a base.
	vitalsAddr := freeAddr(t)
	start(t, ctx, dir, "vitals", bin, "serve", "--addr", vitalsAddr, "--data-dir", filepath.Join(dir, "data"),
		"--log-format", "json", "--demo", "--demo-accounts", "60", "--demo-months", "14")
	vitalsURL := "http://" + vitalsAddr
	waitUntil(t, ctx, 3*time.Minute, "vitals /readyz answers 200", func() (bool, string) {
		code, body, err := get(ctx, vitalsURL+"/readyz")
		return err == nil && code == http.StatusOK, fmt.Sprint(code, " ", body, " ", err)
	})
	postEvents(t, ctx, vitalsURL)

	code, exposition, err := get(ctx, vitalsURL+"/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v (is /metrics served by vitals serve?)\n%.500s", code, err, exposition)
	}
	check := exec.CommandContext(ctx, promtool, "check", "metrics")
	check.Stdin = strings.NewReader(exposition)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on /metrics: %v\n%s", err, out)
	}

	// Prometheus scraping it every second.
	promAddr := freeAddr(t)
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vitals
    static_configs:
      - targets: [%q]
`, vitalsAddr)
	configPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, ctx, dir, "prometheus", prometheusBin, "--config.file="+configPath,
		"--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+promAddr, "--log.level=warn")
	promURL := "http://" + promAddr
	waitUntil(t, ctx, time.Minute, "prometheus is ready", func() (bool, string) {
		code, body, err := get(ctx, promURL+"/-/ready")
		return err == nil && code == http.StatusOK, fmt.Sprint(code, " ", body, " ", err)
	})
	// Enough successful scrapes for rate() over liveRateInterval.
	const scrapes = 6
	waitUntil(t, ctx, 2*time.Minute, fmt.Sprintf("%d successful scrapes of vitals", scrapes), func() (bool, string) {
		res, err := query(ctx, promURL, `sum_over_time(up{job="vitals"}[1m])`)
		if err != nil || len(res) == 0 {
			return false, fmt.Sprint(err)
		}
		n, _ := strconv.ParseFloat(res[0].Value[1].(string), 64)
		return n >= scrapes, fmt.Sprintf("%v successful scrapes", n)
	})
	postEvents(t, ctx, vitalsURL) // more ingest traffic between scrapes
	time.Sleep(2 * time.Second)

	vars := map[string]string{"job": "vitals", "instance": vitalsAddr, "manager": ".+"}
	for _, d := range dashboards {
		panels, queries := 0, 0
		for _, p := range d.flatPanels() {
			panels++
			for _, tg := range p.Targets {
				queries++
				q, err := expand(tg.Expr, liveRateInterval, vars)
				if err != nil {
					t.Errorf("%s / %s / %s: %v", d.file, p.Title, tg.RefID, err)
					continue
				}
				res, err := query(ctx, promURL, q)
				switch {
				case err != nil:
					t.Errorf("%s / %s / %s: %v\n\tquery: %s", d.file, p.Title, tg.RefID, err, q)
				case len(res) == 0:
					t.Errorf("%s / %s / %s: empty result\n\tquery: %s", d.file, p.Title, tg.RefID, q)
				}
			}
		}
		t.Logf("%s (%s): %d panels, %d queries returned data", d.file, d.UID, panels, queries)
	}

	// The wiring: the demo agency is in the domain metrics, the two posts
	// are counted by result, and requests are labelled by route pattern.
	for _, c := range []struct {
		q   string
		min float64
	}{
		{`sum(vitals_accounts{job="vitals"})`, 61}, // 60 demo accounts and the test's
		{`sum(vitals_ingest_events_total{job="vitals", result="accepted"})`, 3},
		{`sum(vitals_ingest_events_total{job="vitals", result="duplicate"})`, 3},
		{`sum(vitals_ingest_events_total{job="vitals", result="rejected"})`, 2},
		{`sum(vitals_http_request_duration_seconds_count{job="vitals", route="POST /v1/events"})`, 2},
		{`sum(vitals_http_request_duration_seconds_count{job="vitals", route="GET /metrics"})`, scrapes},
		{`count(vitals_notify_outbox_depth{job="vitals", target="live"})`, 1},
		{`count(vitals_notify_deliveries_total{job="vitals", target="live"})`, 2},
	} {
		res, err := query(ctx, promURL, c.q)
		if err != nil || len(res) == 0 {
			t.Errorf("%s: no result (%v)", c.q, err)
			continue
		}
		v, _ := strconv.ParseFloat(res[0].Value[1].(string), 64)
		if v < c.min {
			t.Errorf("%s = %v; want at least %v", c.q, v, c.min)
		}
	}
}

// start runs a process for the test's duration; its output goes to
// dir/name.log, which is shown when the test fails.
func start(t *testing.T, ctx context.Context, dir, name, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 15 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logFile.Close()
		if t.Failed() {
			if out, err := os.ReadFile(logPath); err == nil {
				t.Logf("--- %s output (last 3000 bytes):\n%s", name, tail(out, 3000))
			}
		}
	})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitUntil polls cond every 250 ms until it holds, failing the test after
// limit.
func waitUntil(t *testing.T, ctx context.Context, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("waited %s for: %s; last state: %s", limit, what, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func get(ctx context.Context, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// sample is one series of an instant query's result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  []any             `json:"value"`
}

// query runs an instant query through the HTTP API.
func query(ctx context.Context, promURL, q string) ([]sample, error) {
	code, body, err := get(ctx, promURL+"/api/v1/query?query="+url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		return nil, fmt.Errorf("HTTP %d: %v: %.300s", code, err, body)
	}
	if resp.Status != "success" {
		return nil, fmt.Errorf("HTTP %d: %s", code, resp.Error)
	}
	if resp.Data.ResultType == "scalar" {
		return []sample{{}}, nil
	}
	var res []sample
	if err := json.Unmarshal(resp.Data.Result, &res); err != nil {
		return nil, fmt.Errorf("result of type %s: %w", resp.Data.ResultType, err)
	}
	return res, nil
}

// postEvents sends a small batch to vitals: a new account with a few
// events and one invalid event, so that accepted, duplicate (on the second
// call) and rejected events are counted.
func postEvents(t *testing.T, ctx context.Context, vitalsURL string) {
	t.Helper()
	now := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	ev := func(id, typ, subject string, data map[string]any) map[string]any {
		return map[string]any{"specversion": "1.0", "id": id, "source": "live-test", "type": typ, "subject": subject, "time": now, "data": data}
	}
	batch := []map[string]any{
		ev("live-1", "account.opened", "live-test-account", map[string]any{"name": "Live Test", "mrr": 2500}),
		ev("live-2", "nps.responded", "live-test-account", map[string]any{"score": 9}),
		ev("live-3", "touchpoint.recorded", "live-test-account", map[string]any{"channel": "call", "direction": "outbound"}),
		ev("live-4", "nps.responded", "live-test-account", map[string]any{"score": 11}),
	}
	body, err := json.Marshal(batch)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, vitalsURL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("POST /v1/events: %d %s; want 207 (one event is invalid)", resp.StatusCode, out)
	}
}
