package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// queryServer runs the API with a live projector on a fixed clock.
func queryServer(t *testing.T) *httptest.Server {
	t.Helper()
	store, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return now }
	proj, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- proj.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	h, err := api.New(api.Config{Store: store, Ingester: ingest.New(store), Logger: zerolog.Nop(), Now: clock,
		Projector: proj, MaxWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, h)
}

func getJSON(t *testing.T, url string, status int) map[string]any {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d, want %d: %s", url, res.StatusCode, status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	return out
}

func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s lacks %q: %v", what, k, m)
		}
	}
}

func TestQueries(t *testing.T) {
	srv := queryServer(t)
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.RFC3339) }
	batch := []any{
		ev("m1", "manager.joined", "am-1", day(-400), map[string]any{"name": "Ana", "capacity_points": 50}),
		ev("a1", "account.opened", "acme", day(-200), map[string]any{"name": "Acme", "mrr": 12000, "manager_id": "am-1"}),
		ev("a2", "account.opened", "beta", day(-200), map[string]any{"name": "Beta", "mrr": 900, "manager_id": "am-1"}),
		ev("n1", "nps.responded", "acme", day(-10), map[string]any{"score": 10}),
		ev("s1", "signal.raised", "acme", day(-5), map[string]any{"signal_id": "s1", "kind": "expansion_interest"}),
		ev("n2", "nps.responded", "beta", day(-3), map[string]any{"score": 3}),
		ev("i1", "invoice.issued", "beta", day(-60), map[string]any{"invoice_id": "inv-1", "amount": 900, "due_date": now.AddDate(0, 0, -30).Format(time.DateOnly)}),
		ev("t1", "time.logged", "acme", day(-2), map[string]any{"manager_id": "am-1", "hours": 8}),
	}
	status, out := newPost(t, srv.URL, batch)
	if status != http.StatusOK {
		t.Fatalf("post: %d %s", status, out)
	}
	var resp api.IngestResponse
	json.Unmarshal(out, &resp)
	rw := fmt.Sprintf("min_position=%d", resp.Position)

	h := getJSON(t, srv.URL+"/v1/accounts/acme/health?"+rw, 200)
	hasKeys(t, "health", h, "account_id", "at", "score", "band", "computed_band", "coverage", "override", "position", "components", "trend")
	comps := h["components"].([]any)
	if len(comps) != 5 {
		t.Fatalf("%d components", len(comps))
	}
	hasKeys(t, "component", comps[0].(map[string]any), "name", "weight", "present", "value", "band", "points", "window_days", "evidence")
	hasKeys(t, "trend", h["trend"].(map[string]any), "score_7d_ago", "score_30d_ago", "delta_7d", "delta_30d")
	if h["band"] != "green" || h["account_id"] != "acme" {
		t.Fatalf("acme health: %v", h)
	}

	risk := getJSON(t, srv.URL+"/v1/at-risk?"+rw, 200)
	items := risk["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("at-risk: %v", risk)
	}
	beta := items[0].(map[string]any)
	hasKeys(t, "at-risk item", beta, "account_id", "name", "mrr", "tier", "manager_id", "score", "band", "reasons")
	reasons := fmt.Sprint(beta["reasons"])
	if beta["account_id"] != "beta" || beta["mrr"] != 900.0 || beta["tier"] != "bronze" || !strings.Contains(reasons, "health_red") || !strings.Contains(reasons, "overdue_invoice") {
		t.Fatalf("beta at risk: %v", beta)
	}

	up := getJSON(t, srv.URL+"/v1/upsell", 200)["items"].([]any)
	if len(up) != 1 || up[0].(map[string]any)["account_id"] != "acme" {
		t.Fatalf("upsell: %v", up)
	}
	accts := getJSON(t, srv.URL+"/v1/accounts?band=red", 200)
	if accts["total"] != 1.0 {
		t.Fatalf("accounts?band=red: %v", accts)
	}
	page1 := getJSON(t, srv.URL+"/v1/accounts?limit=1", 200)
	if page1["next_cursor"] != "acme" {
		t.Fatalf("paging: %v", page1)
	}
	page2 := getJSON(t, srv.URL+"/v1/accounts?limit=1&cursor=acme", 200)
	if it := page2["items"].([]any); len(it) != 1 || it[0].(map[string]any)["account_id"] != "beta" || page2["next_cursor"] != nil {
		t.Fatalf("page 2: %v", page2)
	}
	mgr := getJSON(t, srv.URL+"/v1/managers/am-1", 200)
	if mgr["accounts"] != 2.0 || mgr["load_points"] != 28.0 || mgr["over"] != false || mgr["utilization_status"] != "under" {
		t.Fatalf("manager: %v", mgr)
	}
	if ms := getJSON(t, srv.URL+"/v1/managers", 200)["managers"].([]any); len(ms) != 1 {
		t.Fatalf("managers: %v", ms)
	}
	pf := getJSON(t, srv.URL+"/v1/portfolio", 200)
	if pf["mrr_total"] != 12900.0 || pf["mrr_at_risk"] != 900.0 || pf["receivables_overdue"] != 900.0 || pf["nps"] != 0.0 {
		t.Fatalf("portfolio: %v", pf)
	}
	hist := getJSON(t, srv.URL+"/v1/accounts/acme/health/history?from="+day(-20)+"&to="+day(0)+"&step=1d", 200)
	if pts := hist["points"].([]any); len(pts) != 21 {
		t.Fatalf("history: %d points", len(pts))
	}
	// As of a past instant: before the NPS answer acme had no data.
	past := getJSON(t, srv.URL+"/v1/accounts/acme/health?at="+day(-50), 200)
	if past["band"] != "unknown" || past["score"] != nil {
		t.Fatalf("acme 50 days ago: %v", past)
	}

	// Errors.
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/accounts/nobody/health", 404, "not_found"},
		{"/v1/managers/nobody", 404, "not_found"},
		{"/v1/at-risk?at=yesterday", 400, "bad_request"},
		{"/v1/portfolio?at=" + day(1), 400, "bad_request"},
		{"/v1/accounts?band=purple", 400, "bad_request"},
		{"/v1/accounts/acme/health/history?step=1s", 400, "bad_request"},
		{fmt.Sprintf("/v1/portfolio?min_position=%d", resp.Position+100), 503, "behind"},
	} {
		e := getJSON(t, srv.URL+c.path, c.status)["error"].(map[string]any)
		if e["code"] != c.code || e["message"] == "" {
			t.Errorf("%s: %v, want code %s", c.path, e, c.code)
		}
	}
}

func newPost(t *testing.T, url string, batch []any) (int, []byte) {
	t.Helper()
	res, err := http.Post(url+"/v1/events", "application/cloudevents-batch+json", strings.NewReader(string(mustJSON(t, batch))))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}
