package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/scoring"
)

// backtestDataDir returns a data dir holding a demo agency of 120 accounts
// over 18 months that ends on 2026-01-31.
func backtestDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(t.Context(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	end := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	cfg := demo.Config{Seed: 5, Accounts: 120, Managers: 4, Months: 18, End: end}
	if _, err := ingestDemo(t.Context(), ingest.New(store), cfg, end, 2000, func(int, []ingest.Result) {}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeConfig writes a scoring configuration YAML into dir.
func writeConfig(t *testing.T, dir, name, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBacktestCommand runs vitals backtest on a data dir: the table, the
// JSON report with a shadow configuration side by side, the fit written
// as a loadable configuration, the plot.
func TestBacktestCommand(t *testing.T) {
	dir := backtestDataDir(t)
	tmp := t.TempDir()
	wrong := writeConfig(t, tmp, "wrong.yaml", "components:\n  nps: {weight: 50}\n  meetings: {weight: 0}\n  kpi: {weight: 50}\n  invoices: {weight: 0}\n  response: {weight: 0}\n")
	out, plot := filepath.Join(tmp, "fitted.yaml"), filepath.Join(tmp, "roc.svg")
	period := []string{"--from", "2024-09-01", "--to", "2026-01-31", "--observed-until", "2026-01-31", "--bootstrap", "100"}

	code, stdout, stderr := run(t, "", nil, append([]string{"backtest", "--data-dir", dir}, period...)...)
	if code != 0 || !strings.Contains(stdout, "config current (spec-v1+") || !strings.Contains(stdout, "churn rate by score decile") {
		t.Fatalf("backtest: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "sampled 120/120 accounts") {
		t.Errorf("no progress on stderr: %s", stderr)
	}

	args := append([]string{"backtest", "--data-dir", dir, "--json", "--config", "wrong=" + wrong, "--fit", "--split", "2025-09-01",
		"--out", out, "--plot", plot}, period...)
	code, stdout, stderr = run(t, "", nil, args...)
	if code != 0 {
		t.Fatalf("backtest --fit: exit %d\n%s", code, stderr)
	}
	var rep backtest.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if len(rep.Configs) != 2 || rep.Configs[0].Name != "current" || rep.Configs[1].Name != "wrong" || len(rep.Configs[0].Horizons) != 3 {
		t.Fatalf("configs %+v", rep.Configs)
	}
	if !rep.ObservedUntil.Equal(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("observed_until %s, want the --observed-until", rep.ObservedUntil)
	}
	if rep.Fit == nil || rep.Fit.Split != time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC) || len(rep.Fit.HeldOut) != 3 {
		t.Fatalf("fit %+v", rep.Fit)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if c, err := scoring.LoadConfig(f); err != nil || c.Components.Response.Weight != rep.Fit.Weights.Response {
		t.Errorf("--out: %v, %+v vs %+v", err, c.Components, rep.Fit.Weights)
	}
	svg, err := os.ReadFile(plot)
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || strings.Count(string(svg), "<polyline") < 6 {
		t.Errorf("--plot: %v %.200s", err, svg)
	}
}

// TestBacktestCommandErrors: bad flags exit non-zero naming the flag, and
// write nothing.
func TestBacktestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeConfig(t, dir, "bad.yaml", "components:\n  nps: {weight: -1}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--out", "x.yaml"}, "--out: only with --fit"},
		{[]string{"--plot", "x.png"}, "--plot x.png: the plot is an SVG image"},
		{[]string{"--horizon", "30x"}, "--horizon: "},
		{[]string{"--config", "nofile"}, "--config nofile: give NAME=FILE"},
		{[]string{"--config", "b=" + bad}, "components.nps.weight: must be ≥ 0"},
		{[]string{"--from", "yesterday"}, "--from: "},
		{[]string{"--bootstrap", "-1"}, "--bootstrap: must be"},
		{[]string{"--observed-until", "2199-01-01"}, "--observed-until: 2199-01-01T00:00:00Z is after now"},
		{[]string{"--data-dir", filepath.Join(dir, "none")}, "--data-dir "},
		{[]string{"--server", "http://127.0.0.1:1", "--scoring-config", bad}, "--scoring-config: with --server"},
		{[]string{"--server", "http://127.0.0.1:1", "--config", "a=b.yaml"}, "with --server, name a --shadow-config"},
	} {
		code, _, stderr := run(t, "", nil, append([]string{"backtest"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("backtest %v: exit %d, stderr %q; want an error with %q", tc.args, code, stderr, tc.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the errors wrote files: %v", entries)
	}
}

// TestBacktestThroughServer: vitals backtest --server asks a running
// server, which evaluates its --shadow-config beside the live one.
func TestBacktestThroughServer(t *testing.T) {
	strict := writeConfig(t, t.TempDir(), "strict.yaml", "components:\n  nps: {green: 10, yellow: 9}\n")
	url := startServer(t, "--demo", "--demo-accounts", "30", "--demo-months", "6", "--shadow-config", "strict="+strict)
	code, stdout, stderr := run(t, "", nil, "backtest", "--server", url, "--json", "--bootstrap", "0", "--config", "strict")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep backtest.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Configs) != 2 || rep.Configs[1].Name != "strict" || rep.Position == 0 {
		t.Fatalf("report %v: %.500s", err, stdout)
	}
	code, _, stderr = run(t, "", nil, "backtest", "--server", url, "--config", "nope")
	if code == 0 || !strings.Contains(stderr, `unknown configuration`) {
		t.Errorf("--config nope: exit %d %s", code, stderr)
	}
}
