package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/backtest"
	"github.com/vitals-hq/vitals/scoring"
)

// churnHistory posts a year of history before now: 60 accounts answer NPS
// monthly; a third answer 2 (red) and churn a few months after opening,
// the others answer 9 and stay. It returns the last write's position.
func churnHistory(t *testing.T, url string) uint64 {
	t.Helper()
	start := now.AddDate(-1, 0, 0)
	var events []map[string]any
	for i := range 60 {
		id := fmt.Sprintf("bt-%02d", i)
		open := start.Add(time.Duration(i) * time.Hour)
		events = append(events, ev(id+"-open", "account.opened", id, open.Format(time.RFC3339), map[string]any{"name": id, "mrr": 2000}))
		bad := i%3 == 0
		churnMonth := 4 + i%7
		for m := range 12 {
			at := open.AddDate(0, m, 2)
			if !at.Before(now) || (bad && m >= churnMonth) {
				break
			}
			score := 9
			if bad {
				score = 2
			}
			events = append(events, ev(fmt.Sprintf("%s-nps-%d", id, m), "nps.responded", id, at.Format(time.RFC3339), map[string]any{"score": score}))
		}
		if bad {
			at := open.AddDate(0, churnMonth, 10)
			events = append(events, ev(id+"-churn", "account.status_changed", id, at.Format(time.RFC3339), map[string]any{"status": "churned"}))
		}
	}
	body, _ := json.Marshal(events)
	res, err := http.Post(url+"/v1/events", "application/cloudevents-batch+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out api.IngestResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("posting the history: %d %v", res.StatusCode, err)
	}
	return uint64(out.Position)
}

// strictNPS is a shadow configuration that wants NPS 10 for green.
func strictNPS() scoring.Config {
	c := scoring.DefaultConfig()
	c.Label = "strict"
	c.Components.NPS.Green = 10
	c.Components.NPS.Yellow = 9
	return c
}

// TestBacktestEndpoint: GET /v1/backtest answers the report of the live
// and shadow configurations (validated against openapi.yaml), with a fit;
// bad parameters are 400 naming the parameter.
func TestBacktestEndpoint(t *testing.T) {
	c := mustContract(t)
	cfgs := []backtest.Config{{Name: api.CurrentConfig, Config: scoring.DefaultConfig()}, {Name: "strict", Config: strictNPS()}}
	srv := startServer(t, fullServer(t, api.Config{ScoringConfigs: cfgs}))
	churnHistory(t, srv.URL)
	res, body := request(t, "GET", srv.URL+"/v1/backtest?horizon=30d,90d&bootstrap=50&fit=true&fit_horizon=90d")
	if res.StatusCode != 200 {
		t.Fatalf("GET /v1/backtest: %d %s", res.StatusCode, body)
	}
	var rep backtest.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Configs) != 2 || rep.Configs[0].Name != "current" || rep.Configs[1].Name != "strict" || rep.Fit == nil {
		t.Fatalf("report configs %+v, fit %v", rep.Configs, rep.Fit != nil)
	}
	h := rep.Configs[0].Horizons[1]
	if h.Days != 90 || h.ChurnEvents == 0 || h.AUC == nil || *h.AUC < 0.9 {
		t.Errorf("90d of current: %+v; want churns and an AUC near 1 (red NPS churns)", h.Metrics)
	}
	if rep.Position == 0 || rep.Fit.Weights.NPS != 100 {
		t.Errorf("position %d, fitted weights %+v (only NPS is present)", rep.Position, rep.Fit.Weights)
	}
	res, body = request(t, "GET", srv.URL+"/v1/backtest?config=strict&bootstrap=0")
	if err := json.Unmarshal(body, &rep); res.StatusCode != 200 || err != nil || len(rep.Configs) != 1 || rep.Configs[0].Horizons[0].AUCCI != nil {
		t.Errorf("config=strict&bootstrap=0: %d %.300s", res.StatusCode, body)
	}
	for q, want := range map[string]string{
		"horizon=0d":                "horizon: 0d is not within",
		"horizon=abc":               "horizon: ",
		"config=nope":               `this server has current, strict`,
		"from=yesterday":            "from: ",
		"bootstrap=-1":              "bootstrap: ",
		"fit=yes":                   "fit: must be true or false",
		"split=2026-01-01":          "split: only with fit=true",
		"fit=true&l2=-1":            "l2: ",
		"fit=true&fit_horizon=45d":  "fit-horizon: 45d is not one of the horizons",
		"to=2099-01-01":             "to: ",
		"observed_until=2099-01-01": "observed_until: 2099-01-01T00:00:00Z is after now",
	} {
		res, body := request(t, "GET", srv.URL+"/v1/backtest?"+q)
		if res.StatusCode != 400 || !strings.Contains(string(body), want) {
			t.Errorf("?%s: %d %s; want 400 with %q", q, res.StatusCode, body, want)
		}
	}
	// The validating wrapper notes an answer after the client has it.
	for deadline := time.Now().Add(5 * time.Second); !c.validated("GET /v1/backtest 200"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no 200 answer of GET /v1/backtest was validated")
		}
	}
}

// TestShadowHealth: ?config=NAME scores one account with a shadow
// configuration; the live score does not change.
func TestShadowHealth(t *testing.T) {
	cfgs := []backtest.Config{{Name: api.CurrentConfig, Config: scoring.DefaultConfig()}, {Name: "strict", Config: strictNPS()}}
	srv := startServer(t, fullServer(t, api.Config{ScoringConfigs: cfgs}))
	pos := churnHistory(t, srv.URL)
	health := func(q string) (float64, string) {
		t.Helper()
		res, body := request(t, "GET", fmt.Sprintf("%s/v1/accounts/bt-01/health?min_position=%d%s", srv.URL, pos, q))
		var h struct {
			Score         float64 `json:"score"`
			ConfigVersion string  `json:"config_version"`
		}
		if err := json.Unmarshal(body, &h); res.StatusCode != 200 || err != nil {
			t.Fatalf("health%s: %d %s", q, res.StatusCode, body)
		}
		return h.Score, h.ConfigVersion
	}
	live, liveVersion := health("")
	shadow, shadowVersion := health("&config=strict")
	again, _ := health("&config=current")
	if live != 100 || shadow != 50 || again != live {
		t.Errorf("NPS 9: live %v, strict shadow %v, current %v; want 100, 50, 100", live, shadow, again)
	}
	if liveVersion == shadowVersion {
		t.Errorf("the shadow answers the live config_version %s", liveVersion)
	}
	if after, _ := health(""); after != live {
		t.Errorf("the live score moved to %v after a shadow query", after)
	}
	res, body := request(t, "GET", srv.URL+"/v1/accounts/bt-01/health?config=nope")
	if res.StatusCode != 400 || !strings.Contains(string(body), `(this server has: strict; load one with serve --shadow-config NAME=FILE)`) {
		t.Errorf("config=nope: %d %s", res.StatusCode, body)
	}
}
