package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/metrics"
	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// fullServer is an api.Server with every optional part configured (the
// read models, metrics, backup, stats), as `vitals serve` builds it, with
// cfg's other fields. It is not started.
func fullServer(t *testing.T, cfg api.Config) *api.Server {
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
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, metrics.Options{Now: clock})
	cfg.Store, cfg.Ingester, cfg.Logger, cfg.Now, cfg.Projector = store, ingest.New(store), zerolog.Nop(), clock, proj
	cfg.IngestObserver, cfg.Metrics, cfg.Backup = m, metrics.Handler(reg), store.Backup
	if cfg.Notifications == nil {
		ob, err := notify.OpenOutbox(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ob.Close() })
		cfg.Notifications = ob
	}
	cfg.Stats = func(ctx context.Context) (any, error) { // as cmd/vitals serve answers it
		head, err := store.Head(ctx)
		return map[string]any{"store_head": head, "projections": proj.Stats()}, err
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 300 * time.Millisecond
	}
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestOpenAPIRoutes: every route a fully configured server registers is in
// openapi.yaml, and every operation of the document is a registered route,
// but for the web console's HTML routes (api.ConsoleRoutes), which are not
// part of the JSON API and are excluded here by name.
func TestOpenAPIRoutes(t *testing.T) {
	c := mustContract(t)
	all := fullServer(t, api.Config{Console: http.NotFoundHandler()}).Routes()
	var registered []string
	for _, r := range all {
		if !slices.Contains(api.ConsoleRoutes, r) {
			registered = append(registered, r)
		}
	}
	if len(all)-len(registered) != len(api.ConsoleRoutes) {
		t.Errorf("the console's routes %v are not all registered: %v", api.ConsoleRoutes, all)
	}
	slices.Sort(registered)
	documented := c.documentedRoutes()
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is registered but not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml describes %q, which the server does not register", d)
		}
	}
	if len(registered) < 15 {
		t.Errorf("only %d routes registered: %v", len(registered), registered)
	}
}

// TestOpenAPIServed: GET /openapi.json answers, without a key, the JSON
// form of openapi.yaml, and kin-openapi loads and validates it as an
// OpenAPI 3.1 document.
func TestOpenAPIServed(t *testing.T) {
	var ring auth.Keyring
	if _, err := ring.Create("ops", []auth.Scope{auth.ScopeAdmin}, now); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, fullServer(t, api.Config{Keys: &ring}))
	res, served := request(t, "GET", srv.URL+"/openapi.json")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json without a key: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if _, err := loadContract(served); err != nil {
		t.Fatalf("the served document: %v", err)
	}
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var fromYAML, fromJSON any
	if err := yaml.Unmarshal(src, &fromYAML); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(served, &fromJSON); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromYAML)
	b, _ := json.Marshal(fromJSON)
	if !bytes.Equal(a, b) {
		t.Errorf("the served document differs from openapi.yaml")
	}
	// The index needs no key either; the queries do.
	if res, body := request(t, "GET", srv.URL+"/"); res.StatusCode != 200 {
		t.Errorf("GET / without a key: %d %s", res.StatusCode, body)
	}
	if res, _ := request(t, "GET", srv.URL+"/v1/portfolio"); res.StatusCode != 401 {
		t.Errorf("GET /v1/portfolio without a key: %d, want 401", res.StatusCode)
	}
}

// loadDemo posts a small demo agency to srv in batches and returns the
// log position reached and one account id and manager id of it.
func loadDemo(t *testing.T, url string) (pos uint64, account, manager string) {
	t.Helper()
	var batch []json.RawMessage
	flush := func() {
		if len(batch) == 0 {
			return
		}
		body, _ := json.Marshal(batch)
		res, err := http.Post(url+"/v1/events", "application/cloudevents-batch+json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var out api.IngestResponse
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode != 200 || err != nil {
			t.Fatalf("loading the demo agency: %d %v", res.StatusCode, err)
		}
		pos = uint64(out.Position)
		batch = batch[:0]
	}
	err := demo.Generate(context.Background(), demo.Config{Seed: 7, Accounts: 40, Managers: 3, Months: 6, End: now}, func(e demo.Event) error {
		raw, err := e.MarshalJSON()
		if err != nil {
			return err
		}
		switch {
		case account == "" && e.Type == "account.opened":
			account = e.Subject
		case manager == "" && e.Type == "manager.joined":
			manager = e.Subject
		}
		batch = append(batch, raw)
		if len(batch) == 2000 {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
	return pos, account, manager
}

// TestOpenAPIAnswers exercises every route of a server holding a demo
// agency, with their error answers, through startServer, which validates
// each request and answer against openapi.yaml; then it checks that every
// route had a success answer validated.
func TestOpenAPIAnswers(t *testing.T) {
	c := mustContract(t)
	srv := startServer(t, fullServer(t, api.Config{MaxBatchEvents: 2000}))
	pos, acct, mgr := loadDemo(t, srv.URL)
	rw := fmt.Sprintf("min_position=%d", pos)
	past := now.AddDate(0, -2, 0).Format(time.RFC3339)
	get := func(path string, status int) []byte {
		t.Helper()
		res, body := request(t, "GET", srv.URL+path)
		if res.StatusCode != status {
			t.Errorf("GET %s: %d, want %d: %.300s", path, res.StatusCode, status, body)
		}
		return body
	}
	for _, p := range []string{
		"/", "/openapi.json", "/livez", "/readyz", "/metrics", "/v1/admin/stats", "/v1/admin/backup",
		"/v1/portfolio?" + rw, "/v1/portfolio?at=" + past,
		"/v1/at-risk?" + rw, "/v1/at-risk?at=" + past, "/v1/upsell", "/v1/upsell?at=" + past,
		"/v1/accounts", "/v1/accounts?limit=5", "/v1/accounts?status=churned", "/v1/accounts?band=red&tier=bronze",
		"/v1/accounts?status=active&manager=" + mgr, "/v1/accounts?at=" + past,
		"/v1/accounts/" + acct, "/v1/accounts/" + acct + "?at=" + past,
		"/v1/accounts/" + acct + "/health", "/v1/accounts/" + acct + "/health?at=" + past,
		"/v1/accounts/" + acct + "/health/history", "/v1/accounts/" + acct + "/health/history?step=7d&from=" + past,
		"/v1/accounts/" + acct + "/events", "/v1/accounts/" + acct + "/events?limit=3&cursor=3",
		"/v1/managers", "/v1/managers?at=" + past, "/v1/managers/" + mgr, "/v1/backtest?bootstrap=20", "/v1/notifications",
	} {
		get(p, 200)
	}
	// Every account, every health explanation: each component's details.
	var page projections.AccountPage
	if err := json.Unmarshal(get("/v1/accounts?limit=1000", 200), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 40 {
		t.Fatalf("%d accounts, want 40", len(page.Items))
	}
	for _, a := range page.Items {
		get("/v1/accounts/"+a.ID+"/health", 200)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/v1/accounts/nobody", 404}, {"/v1/accounts/nobody/health", 404}, {"/v1/accounts/nobody/health/history", 404},
		{"/v1/accounts/nobody/events", 404}, {"/v1/managers/nobody", 404},
		{"/v1/portfolio?at=yesterday", 400}, {"/v1/at-risk?min_position=x", 400}, {"/v1/accounts?band=purple", 400},
		{"/v1/accounts?limit=0", 400}, {"/v1/accounts/" + acct + "/events?cursor=x", 400},
		{"/v1/accounts/" + acct + "/health/history?step=1s", 400}, {"/v1/managers?at=2999-01-01T00:00:00Z", 400},
		{"/v1/upsell?at=" + now.Add(time.Hour).Format(time.RFC3339), 400},
		{fmt.Sprintf("/v1/portfolio?min_position=%d", pos+100), 503},
		{"/nope", 404}, {"/v1/events", 405},
	} {
		get(c.path, c.status)
	}
	if res, _ := request(t, "DELETE", srv.URL+"/v1/portfolio"); res.StatusCode != 405 {
		t.Errorf("DELETE /v1/portfolio: %d, want 405", res.StatusCode)
	}

	// Ingest answers: 200, 207, a single rejection (400), and requests
	// wrong as a whole (400, 413, 415).
	post := func(ct string, body string, status int) {
		t.Helper()
		res, err := http.Post(srv.URL+"/v1/events", ct, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != status {
			t.Errorf("POST %s %.80s: %d, want %d", ct, body, res.StatusCode, status)
		}
	}
	nps := func(id string, score int) string {
		return string(mustJSON(t, ev(id, "nps.responded", acct, t0, map[string]any{"score": score})))
	}
	post("application/cloudevents+json", nps("oa-1", 9), 200)
	post("application/cloudevents+json", nps("oa-1", 9), 200) // a duplicate
	post("application/cloudevents-batch+json", "["+nps("oa-2", 9)+","+nps("oa-3", 11)+"]", 207)
	post("application/cloudevents+json", nps("oa-4", 11), 400)
	post("application/cloudevents+json", "{", 400)
	post("text/plain", "{}", 415)
	post("application/cloudevents-batch+json", "["+strings.Repeat("{},", 2000)+"{}]", 413)

	for _, route := range fullServer(t, api.Config{}).Routes() {
		method, path, _ := strings.Cut(route, " ")
		if path == "/{$}" {
			path = "/"
		}
		if !c.validated(method + " " + path + " 200") {
			t.Errorf("no 200 answer of %s was validated", route)
		}
	}
	for _, key := range []string{"POST /v1/events 207", "POST /v1/events 400", "POST /v1/events 413", "POST /v1/events 415",
		"GET /v1/accounts/{id} 404", "GET /v1/portfolio 503", "unmatched 404", "unmatched 405"} {
		if !c.validated(key) {
			t.Errorf("no %s answer was validated", key)
		}
	}
}

// TestOpenAPIGuardAnswers: the answers of the guards (401, 403, 429, 501)
// match the document.
func TestOpenAPIGuardAnswers(t *testing.T) {
	var ring auth.Keyring
	read, err := ring.Create("grafana", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, fullServer(t, api.Config{Keys: &ring, RateLimit: 0.001, RateBurst: 2}))
	for _, c := range []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/v1/portfolio", "", 401},
		{"GET", "/v1/portfolio", "vk_wrong", 401},
		{"GET", "/v1/admin/stats", read, 403},
		{"GET", "/v1/portfolio", read, 200},
		{"GET", "/v1/at-risk", read, 200},
		{"GET", "/v1/upsell", read, 429},
		{"GET", "/livez", "", 200},
		{"GET", "/", "", 200},
	} {
		if res := do(t, c.method, srv.URL+c.path, c.token, nil); res.StatusCode != c.status {
			t.Errorf("%s %s with %q: %d, want %d", c.method, c.path, c.token, res.StatusCode, c.status)
		}
	}
	bare := startServer(t, mustServer(t))
	for _, p := range []string{"/v1/admin/stats", "/v1/admin/backup"} {
		if res := do(t, "GET", bare.URL+p, "", nil); res.StatusCode != http.StatusNotImplemented {
			t.Errorf("GET %s without the facility: %d, want 501", p, res.StatusCode)
		}
	}
	// Without read models, the query routes are not registered: 404.
	if res := do(t, "GET", bare.URL+"/v1/portfolio", "", nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/portfolio without read models: %d, want 404", res.StatusCode)
	}
}

// mustServer is an api.Server with only the required parts.
func mustServer(t *testing.T) http.Handler {
	t.Helper()
	h, _ := newServer(t, api.Config{})
	return h
}
