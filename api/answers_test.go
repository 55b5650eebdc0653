package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/internal/testworld"
)

// demoAnswersServer serves the API over a demo agency of the given size
// (seed 7, ending at the test clock's now), with a projector caught up
// with it.
func demoAnswersServer(t *testing.T, accounts, months int) *httptest.Server {
	t.Helper()
	w := testworld.New(t, testworld.Demo(t, demo.Config{Seed: 7, Accounts: accounts, Months: months, End: now}), now, testworld.Options{})
	h, err := api.New(api.Config{Store: w.Store, Ingester: w.Ingester, Logger: zerolog.Nop(), Now: func() time.Time { return now }, Projector: w.Projector, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// getRaw answers the body of a GET that must answer 200.
func getRaw(t *testing.T, u string) []byte {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body json.RawMessage
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d: %s", u, res.StatusCode, body)
	}
	return body
}

// decimals is how many digits a JSON number literal has after the decimal
// point, once written without an exponent (1.25e-5 has 7; 1.5e+300 has 0).
func decimals(n json.Number) int {
	s := strings.TrimPrefix(string(n), "-")
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, _ = strconv.Atoi(s[i+1:])
		s = s[:i]
	}
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		frac = strings.TrimRight(s[i+1:], "0")
	}
	return max(len(frac)-exp, 0)
}

// floatWalk calls fn with the JSON path and literal of every number in v
// (decoded with UseNumber).
func floatWalk(path string, v any, fn func(path string, n json.Number)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			floatWalk(path+"."+k, e, fn)
		}
	case []any:
		for i, e := range x {
			floatWalk(fmt.Sprintf("%s[%d]", path, i), e, fn)
		}
	case json.Number:
		fn(path, x)
	}
}

// decodeNumbers decodes an answer keeping number literals as written.
func decodeNumbers(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDemoAnswers runs the answer checks that need a realistic agency on
// one demo agency (loading it is the slow part).
func TestDemoAnswers(t *testing.T) {
	srv := demoAnswersServer(t, 40, 24)
	t.Run("RoundTo4Decimals", func(t *testing.T) { testRoundTo4Decimals(t, srv) })
	t.Run("ActiveRedMatchesPortfolio", func(t *testing.T) { testActiveRedMatchesPortfolio(t, srv) })
}

// factFields are the numbers of answers that are facts or settings, shown
// as given rather than rounded, like money.
var factFields = map[string]bool{"target": true, "actual": true, "sla_hours": true, "weight": true, "capacity_points": true, "weekly_hours": true}

// testRoundTo4Decimals walks real answers over a demo agency — every
// account's health with its explanation and the account itself, a history,
// at-risk, upsell, the managers and each manager, the portfolio — and fails
// on any computed number written with more than 4 decimals.
func testRoundTo4Decimals(t *testing.T, srv *httptest.Server) {
	fractional := 0 // numbers with decimals seen: the walk must see some
	check := func(route string) map[string]any {
		t.Helper()
		out := decodeNumbers(t, getRaw(t, srv.URL+route))
		floatWalk(route, out, func(path string, n json.Number) {
			if factFields[path[strings.LastIndexByte(path, '.')+1:]] {
				return // a fact or setting, shown as given (docs/scoring.md)
			}
			if d := decimals(n); d > 4 {
				t.Errorf("%s = %s: %d decimals, want at most 4", path, n, d)
			} else if d > 0 {
				fractional++
			}
		})
		return out
	}
	accounts := check("/v1/accounts?limit=1000")["items"].([]any)
	if len(accounts) < 30 {
		t.Fatalf("demo agency too thin: %d accounts", len(accounts))
	}
	for i, a := range accounts {
		id := url.PathEscape(a.(map[string]any)["account_id"].(string))
		check("/v1/accounts/" + id + "/health")
		check("/v1/accounts/" + id)
		if i%10 == 0 {
			check("/v1/accounts/" + id + "/health/history?step=7d")
			check("/v1/accounts/" + id + "/health?at=" + now.AddDate(0, -6, 0).Format(time.RFC3339))
		}
	}
	check("/v1/at-risk")
	if len(check("/v1/upsell")["items"].([]any)) == 0 {
		t.Error("the demo agency has no upsell-ready account: the walk misses upsell items")
	}
	for _, m := range check("/v1/managers")["managers"].([]any) {
		check("/v1/managers/" + url.PathEscape(m.(map[string]any)["manager_id"].(string)))
	}
	check("/v1/portfolio")
	if fractional < 100 {
		t.Errorf("only %d numbers with decimals in the answers: the walk sees too little", fractional)
	}
}

// TestDecimals pins the decimal counter the rounding test relies on.
func TestDecimals(t *testing.T) {
	for lit, want := range map[string]int{
		"0": 0, "12": 0, "-3.5": 1, "0.8333333333333334": 16, "2.4163888888888887": 16, "0.8333": 4,
		"1.7976931348623157e+308": 0, "1e-7": 7, "1.25E-3": 5, "12500.50": 1, "100.0000": 0,
	} {
		if got := decimals(json.Number(lit)); got != want {
			t.Errorf("decimals(%s) = %d, want %d", lit, got, want)
		}
	}
}

// testActiveRedMatchesPortfolio: on a demo agency, the accounts list with
// status=active&band=red holds exactly the portfolio's red count; band=red
// alone also lists accounts that are not active, and each item shows its
// status so the difference is visible.
func testActiveRedMatchesPortfolio(t *testing.T, srv *httptest.Server) {
	var pf struct {
		ByBand   map[string]int `json:"by_band"`
		ByStatus map[string]int `json:"by_status"`
	}
	if err := json.Unmarshal(getRaw(t, srv.URL+"/v1/portfolio"), &pf); err != nil {
		t.Fatal(err)
	}
	type page struct {
		Total int `json:"total"`
		Items []struct {
			ID     string `json:"account_id"`
			Status string `json:"status"`
			Band   string `json:"band"`
		} `json:"items"`
	}
	var active, all page
	if err := json.Unmarshal(getRaw(t, srv.URL+"/v1/accounts?status=active&band=red&limit=1000"), &active); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(getRaw(t, srv.URL+"/v1/accounts?band=red&limit=1000"), &all); err != nil {
		t.Fatal(err)
	}
	if pf.ByBand["red"] == 0 || active.Total != pf.ByBand["red"] || len(active.Items) != active.Total {
		t.Fatalf("status=active&band=red: total %d, %d items; portfolio by_band.red %d", active.Total, len(active.Items), pf.ByBand["red"])
	}
	for _, it := range active.Items {
		if it.Status != "active" || it.Band != "red" {
			t.Errorf("status=active&band=red lists %s: status %q band %q", it.ID, it.Status, it.Band)
		}
	}
	inactive := 0
	for _, it := range all.Items {
		switch it.Status {
		case "active":
		case "churned", "on_hold":
			inactive++
		default:
			t.Errorf("band=red item %s has status %q", it.ID, it.Status)
		}
	}
	if inactive == 0 || all.Total != active.Total+inactive {
		t.Errorf("band=red: total %d = %d active + %d not active expected, with some not active", all.Total, active.Total, inactive)
	}
}

// TestListAnswersCarryPositionAndTotal: every list answer says which log
// position it reflects (at least that of the write just made) and how many
// items match across pages.
func TestListAnswersCarryPositionAndTotal(t *testing.T) {
	srv := queryServer(t)
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.RFC3339) }
	batch := []any{
		ev("m1", "manager.joined", "am-1", day(-400), map[string]any{"name": "Ana"}),
		ev("a1", "account.opened", "acme", day(-200), map[string]any{"name": "Acme", "mrr": 12000, "manager_id": "am-1"}),
		ev("a2", "account.opened", "beta", day(-200), map[string]any{"name": "Beta", "mrr": 900}),
		ev("n1", "nps.responded", "acme", day(-10), map[string]any{"score": 10}),
		ev("s1", "signal.raised", "acme", day(-5), map[string]any{"signal_id": "s1", "kind": "expansion_interest"}),
		ev("n2", "nps.responded", "beta", day(-3), map[string]any{"score": 2}),
		ev("n3", "nps.responded", "acme", day(-1), map[string]any{"score": 9}),
	}
	status, out := newPost(t, srv.URL, batch)
	if status != http.StatusOK {
		t.Fatalf("post: %d %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	rw := fmt.Sprintf("min_position=%d", resp.Position)
	for _, c := range []struct {
		route string
		list  string
		total int
	}{
		{"/v1/accounts?limit=1&" + rw, "items", 2},
		{"/v1/at-risk?" + rw, "items", 1},
		{"/v1/upsell?" + rw, "items", 1},
		{"/v1/managers?" + rw, "managers", 1},
		{"/v1/accounts/acme/events", "events", 4},
		{"/v1/accounts/acme/events?limit=1", "events", 4},
	} {
		got := getJSON(t, srv.URL+c.route, 200)
		pos, ok := got["position"].(float64)
		if !ok || pos < float64(resp.Position) {
			t.Errorf("%s: position %v, want a position ≥ %d", c.route, got["position"], resp.Position)
		}
		if got["total"] != float64(c.total) {
			t.Errorf("%s: total %v, want %d", c.route, got["total"], c.total)
		}
		if _, ok := got[c.list].([]any); !ok {
			t.Errorf("%s: no %q list: %v", c.route, c.list, got)
		}
	}
}

// TestUpsellNamesItsSignals: an upsell item names the open opportunity
// signals that put it there (id, kind, note, when raised, evidence); a
// resolved signal and one raised before the 90-day window are not listed.
// An at-risk item names its open risk signal the same way.
func TestUpsellNamesItsSignals(t *testing.T) {
	srv := queryServer(t)
	day := func(d int) string { return now.AddDate(0, 0, d).Format(time.RFC3339) }
	batch := []any{
		ev("a1", "account.opened", "acme", day(-200), map[string]any{"name": "Acme", "mrr": 12000}),
		ev("a2", "account.opened", "beta", day(-200), map[string]any{"name": "Beta", "mrr": 900}),
		ev("n1", "nps.responded", "acme", day(-10), map[string]any{"score": 10}),
		ev("s1", "signal.raised", "acme", day(-5), map[string]any{"signal_id": "sig-1", "kind": "expansion_interest", "note": "Wants a second market"}),
		ev("s2", "signal.raised", "acme", day(-20), map[string]any{"signal_id": "sig-2", "kind": "new_budget"}),
		ev("s3", "signal.resolved", "acme", day(-15), map[string]any{"signal_id": "sig-2"}),
		ev("s4", "signal.raised", "acme", day(-120), map[string]any{"signal_id": "sig-old", "kind": "new_market"}),
		ev("s5", "signal.raised", "acme", day(-2), map[string]any{"signal_id": "sig-0", "kind": "strong_results"}),
		ev("n2", "nps.responded", "beta", day(-3), map[string]any{"score": 2}),
		ev("s6", "signal.raised", "beta", day(-4), map[string]any{"signal_id": "sig-b", "kind": "competitor_mention", "note": "Met a rival"}),
	}
	status, out := newPost(t, srv.URL, batch)
	if status != http.StatusOK {
		t.Fatalf("post: %d %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	rw := fmt.Sprintf("?min_position=%d", resp.Position)
	type signal struct {
		ID       string    `json:"signal_id"`
		Kind     string    `json:"kind"`
		Category string    `json:"category"`
		Note     string    `json:"note"`
		RaisedAt time.Time `json:"raised_at"`
		Evidence string    `json:"evidence"`
	}
	type list struct {
		Items []struct {
			ID      string   `json:"account_id"`
			Signals []signal `json:"signals"`
		} `json:"items"`
	}
	var up, risk list
	if err := json.Unmarshal(getRaw(t, srv.URL+"/v1/upsell"+rw), &up); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(getRaw(t, srv.URL+"/v1/at-risk"+rw), &risk); err != nil {
		t.Fatal(err)
	}
	want := []signal{
		{ID: "sig-1", Kind: "expansion_interest", Category: "opportunity", Note: "Wants a second market", RaisedAt: now.AddDate(0, 0, -5), Evidence: "test/s1"},
		{ID: "sig-0", Kind: "strong_results", Category: "opportunity", RaisedAt: now.AddDate(0, 0, -2), Evidence: "test/s5"},
	}
	if len(up.Items) != 1 || up.Items[0].ID != "acme" || fmt.Sprint(up.Items[0].Signals) != fmt.Sprint(want) {
		t.Fatalf("upsell: %+v\nwant acme with %+v", up.Items, want)
	}
	wantRisk := []signal{{ID: "sig-b", Kind: "competitor_mention", Category: "risk", Note: "Met a rival", RaisedAt: now.AddDate(0, 0, -4), Evidence: "test/s6"}}
	if len(risk.Items) != 1 || risk.Items[0].ID != "beta" || fmt.Sprint(risk.Items[0].Signals) != fmt.Sprint(wantRisk) {
		t.Fatalf("at-risk: %+v\nwant beta with %+v", risk.Items, wantRisk)
	}
}
