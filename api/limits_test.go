package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/api"
)

// errorMessage GETs path and returns the error message of a status answer.
func errorMessage(t *testing.T, srv string, path string, status int) string {
	t.Helper()
	e, _ := getJSON(t, srv+path, status)["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// TestQueryInstantEdges: ?at=, from, to and step hold at the edges of time
// (issue 9, item 7): the zero instant is not "now", a span past what a
// time.Duration holds cannot slip past the point cap, and an overflowing
// step is refused naming the parameter.
func TestQueryInstantEdges(t *testing.T) {
	srv := queryServer(t)
	day := func(d int) string { return url.QueryEscape(now.AddDate(0, 0, d).Format(time.RFC3339)) }
	status, out := newPost(t, srv.URL, []any{ev("a1", "account.opened", "acme", now.AddDate(0, 0, -400).Format(time.RFC3339), map[string]any{"name": "Acme", "mrr": 100})})
	if status != http.StatusOK {
		t.Fatalf("post: %d %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	rw := "&min_position=" + strings.TrimSpace(string(mustJSON(t, resp.Position)))
	hist := "/v1/accounts/acme/health/history?"
	for _, c := range []struct {
		path, prefix string
	}{
		{"/v1/portfolio?at=0001-01-01T00:00:00Z", "at: "},
		{"/v1/portfolio?at=1969-12-31T23:59:59Z", "at: "},
		{"/v1/accounts/acme/health?at=" + url.QueryEscape("2026-02-01T00:00:00+24:00"), "at: "},
		{"/v1/at-risk?at=" + url.QueryEscape("2026-02-01T00:00:00+23:60"), "at: "},
		{hist + "from=0001-01-01T00:00:00Z&step=22d", "from: "},
		{hist + "from=0001-01-01T00:00:00Z&to=" + day(0) + "&step=22d", "from: "},
		{hist + "to=" + url.QueryEscape("2026-02-01T00:00:00+24:00"), "to: "},
		{hist + "to=2200-01-01T00:00:00Z", "to: "},
		{hist + "step=213504d", "step: "},
		{hist + "step=9223372036854775807d", "step: "},
		{hist + "step=106752d", "step: "},
		{hist + "step=100001d", "step: "},
		{hist + "from=1970-01-01T00:00:00Z&step=1d", "step: "},
	} {
		msg := errorMessage(t, srv.URL, c.path+rw, http.StatusBadRequest)
		if !strings.HasPrefix(msg, c.prefix) {
			t.Errorf("%s: message %q, want one starting %q", c.path, msg, c.prefix)
		}
	}
	// The overflowing steps say what is allowed, not "at least 1m".
	if msg := errorMessage(t, srv.URL, hist+"step=213504d"+rw, http.StatusBadRequest); !strings.Contains(msg, "at most") {
		t.Errorf("step=213504d: %q", msg)
	}
	// The earliest instant is an instant like any other.
	if pf := getJSON(t, srv.URL+"/v1/portfolio?at=1970-01-01T00:00:00Z"+rw, http.StatusOK); pf["at"] != "1970-01-01T00:00:00Z" {
		t.Errorf("portfolio at 1970: at = %v", pf["at"])
	}
	if msg := errorMessage(t, srv.URL, "/v1/accounts/acme/health?at=1970-01-01T00:00:00Z"+rw, http.StatusNotFound); !strings.Contains(msg, "did not exist") {
		t.Errorf("health at 1970: %q", msg)
	}
	// A series from the earliest instant with a step that fits the cap.
	h := getJSON(t, srv.URL+hist+"from=1970-01-01T00:00:00Z&step=7d"+rw, http.StatusOK)
	pts, _ := h["points"].([]any)
	if n := len(pts); n < 55 || n > 60 { // acme opened 400 days ago: 400/7
		t.Errorf("history from 1970, step 7d: %d points", n)
	}
	if h["from"] != "1970-01-01T00:00:00Z" {
		t.Errorf("history from: %v", h["from"])
	}
	// The longest step is accepted.
	getJSON(t, srv.URL+hist+"step=100000d"+rw, http.StatusOK)
}

// TestIngestKeepsAnswersFinite: a KPI whose shortfall would overflow is
// rejected naming the field, and the extreme accepted values give a health
// answer with a body (issue 9, item 3).
func TestIngestKeepsAnswersFinite(t *testing.T) {
	srv := queryServer(t)
	at := now.AddDate(0, 0, -2).Format(time.RFC3339)
	status, out := newPost(t, srv.URL, []any{
		ev("a1", "account.opened", "acme", now.AddDate(0, 0, -30).Format(time.RFC3339), map[string]any{"name": "Acme", "mrr": 100}),
		ev("k1", "kpi.reported", "acme", at, map[string]any{"kpi": "leads", "target": 0.000001, "actual": 1e12}),
		ev("k2", "kpi.reported", "acme", at, map[string]any{"kpi": "cpa", "target": 0.000001, "actual": 1e12, "higher_is_better": false}),
	})
	if status != http.StatusOK {
		t.Fatalf("post: %d %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	for _, data := range []map[string]any{
		{"kpi": "x", "target": 1e-300, "actual": 1e9},
		{"kpi": "x", "target": 5e-324, "actual": 1},
	} {
		status, out := newPost(t, srv.URL, []any{ev(fmt.Sprint("bad-", data["target"]), "kpi.reported", "acme", at, data)})
		if status != http.StatusMultiStatus || !strings.Contains(string(out), `"field":"data.target"`) {
			t.Errorf("kpi %v: %d %s", data, status, out)
		}
	}
	h := getJSON(t, srv.URL+"/v1/accounts/acme/health?min_position="+strings.TrimSpace(string(mustJSON(t, resp.Position))), http.StatusOK)
	for _, c := range h["components"].([]any) {
		comp := c.(map[string]any)
		if comp["name"] != "kpi" {
			continue
		}
		kpis := comp["details"].(map[string]any)["kpis"].([]any)
		for _, k := range kpis {
			sf, ok := k.(map[string]any)["shortfall"].(float64)
			if !ok || math.IsInf(sf, 0) || math.Abs(sf) > 1e18 {
				t.Errorf("kpi detail %v: shortfall not finite", k)
			}
		}
		if len(kpis) != 2 {
			t.Errorf("kpi details: %v", kpis)
		}
	}
}

// TestIdsKeptExactly: the ids "\ud800", "\udc00" and "\ufffd" are three
// different strings; the first two cannot be stored as sent and are
// rejected naming the field, so the third is not taken for a duplicate
// (issue 9, item 8). Structured, batch and binary mode alike.
func TestIdsKeptExactly(t *testing.T) {
	f := newFixture(t)
	if status, out := f.post(t, "application/cloudevents+json", mustJSON(t, ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 100}))); status != http.StatusOK {
		t.Fatalf("open: %d %s", status, out)
	}
	withID := func(id string) []byte {
		return []byte(`{"specversion":"1.0","id":"` + id + `","source":"s","type":"nps.responded","subject":"acme","time":"` + t0 + `","data":{"score":9}}`)
	}
	for _, id := range []string{`\ud800`, `\udc00`, `x\udbff`} {
		status, out := f.post(t, "application/cloudevents+json", withID(id))
		if status != http.StatusBadRequest || !strings.Contains(string(out), `"field":"id"`) || !strings.Contains(string(out), "surrogate") {
			t.Errorf("structured id %s: %d %s", id, status, out)
		}
	}
	status, out := f.post(t, "application/cloudevents-batch+json", []byte(`[`+string(withID(`\udc00`))+`,`+string(withID(`\ufffd`))+`]`))
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("batch: %d %s", status, out)
	}
	if status != http.StatusMultiStatus || len(resp.Results) != 2 || resp.Results[0].Status != "rejected" || resp.Results[1].Status != "accepted" {
		t.Errorf("batch: %d %s", status, out)
	}
	// Binary mode: a percent-encoded surrogate in UTF-8 form is not UTF-8.
	status, out = f.post(t, "application/json", []byte(`{"score":9}`), "ce-specversion", "1.0", "ce-id", "%ED%A0%80",
		"ce-source", "s", "ce-type", "nps.responded", "ce-subject", "acme", "ce-time", t0)
	if status != http.StatusBadRequest || !strings.Contains(string(out), `"field":"id"`) || !strings.Contains(string(out), "UTF-8") {
		t.Errorf("binary id: %d %s", status, out)
	}
}
