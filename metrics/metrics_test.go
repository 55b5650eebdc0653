package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/metrics"
	"github.com/vitals-hq/vitals/projections"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// domainNames are the domain collector's metrics whose values depend only
// on the projections (its own duration gauge is left out).
var domainNames = []string{
	"vitals_accounts", "vitals_accounts_by_band", "vitals_account_health_score", "vitals_accounts_at_risk",
	"vitals_accounts_at_risk_by_reason", "vitals_accounts_upsell_ready", "vitals_accounts_unassigned",
	"vitals_mrr", "vitals_mrr_at_risk", "vitals_nps", "vitals_nps_responses", "vitals_sla_compliance_ratio",
	"vitals_sla_messages", "vitals_receivables_outstanding", "vitals_receivables_overdue", "vitals_logo_retention_ratio",
	"vitals_managers", "vitals_manager_accounts", "vitals_manager_accounts_at_risk", "vitals_manager_load_ratio",
	"vitals_manager_load_points", "vitals_manager_capacity_points", "vitals_manager_utilization_ratio",
	"vitals_manager_mrr", "vitals_manager_mrr_at_risk", "vitals_domain_collect_errors_total",
}

// TestDomainGolden compares the domain collector's exposition on the
// fixture agency with testdata/domain.prom (go test -update rewrites it).
func TestDomainGolden(t *testing.T) {
	w := newWorld(t, fixtureEvents(), fixtureNow, nil, nil)
	c := metrics.NewDomainCollector(w.proj, 0)
	golden := filepath.Join("testdata", "domain.prom")
	if *update {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		rec := httptest.NewRecorder()
		metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		out := dropFamily(rec.Body.Bytes(), "vitals_domain_collect_duration_seconds")
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if err := testutil.CollectAndCompare(c, bytes.NewReader(want), domainNames...); err != nil {
		t.Fatal(err)
	}
	// The golden file is reviewed by hand; pin the facts it must show so
	// that an -update cannot silently bless a regression.
	for _, line := range []string{
		`vitals_accounts{status="active"} 4`,
		`vitals_accounts{status="churned"} 1`,
		`vitals_accounts{status="on_hold"} 1`,
		`vitals_accounts_unassigned 1`,
		`vitals_accounts_by_band{band="unknown",tier="bronze"} 1`,
		`vitals_accounts_at_risk_by_reason{reason="overdue_invoice"} 1`,
		`vitals_accounts_at_risk_by_reason{reason="quiet"} 1`,
		`vitals_receivables_overdue 3000`,
		`vitals_logo_retention_ratio 0.8`,
		`vitals_sla_messages 2`,
		`vitals_managers 2`,
		`vitals_manager_utilization_ratio{manager="am-1"} 0.6`,
		`vitals_manager_load_ratio{manager="am-1"} 0.4`,
	} {
		if !bytes.Contains(want, []byte(line+"\n")) {
			t.Errorf("golden file lacks %q", line)
		}
	}
	if bytes.Contains(want, []byte("acme")) || bytes.Contains(want, []byte("beta")) {
		t.Error("an account id appears in the exposition")
	}
}

// fed returns a registry with every Vitals metric registered and some data
// in each: the fixture agency, an ingest request, HTTP requests.
func fed(t testing.TB) (*prometheus.Registry, *metrics.Metrics) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{Version: "test", Runtime: true, Now: func() time.Time { return fixtureNow }})
	w := newWorld(t, fixtureEvents(), fixtureNow, m.InstrumentStore, m.ProjectorObserver())
	if err := m.Watch(metrics.Sources{Store: w.store, Projections: w.proj, SizeBytes: func() (int64, error) {
		st, err := w.store.Stats()
		return st.SizeBytes, err
	}}); err != nil {
		t.Fatal(err)
	}
	m.ObserveIngest([]ingest.Candidate{{Event: domain.Event{Type: domain.TypeNPSResponded}}}, []ingest.Result{{Index: 0, Status: ingest.Accepted}})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) {})
	h := m.InstrumentHTTP(mux)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/livez", nil))
	return reg, m
}

// TestLint runs the promlint rules (those of promtool check metrics) on
// everything Vitals registers.
func TestLint(t *testing.T) {
	reg, _ := fed(t)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 40 {
		t.Errorf("gathered %d families; expected the engine, domain and runtime metrics", len(mfs))
	}
}

// TestNoAccountLabels: no label of any Vitals metric names an account, and
// no label name is one of the forbidden high-cardinality ones.
func TestNoAccountLabels(t *testing.T) {
	reg, _ := fed(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	accounts := []string{"acme", "beta", "gamma", "delta", "eps", "zeta"}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if strings.Contains(lp.GetName(), "account") || lp.GetName() == "id" || lp.GetName() == "subject" {
					t.Errorf("%s has label %q", mf.GetName(), lp.GetName())
				}
				for _, a := range accounts {
					if lp.GetValue() == a {
						t.Errorf("%s{%s=%q} carries an account id", mf.GetName(), lp.GetName(), lp.GetValue())
					}
				}
			}
		}
	}
}

func counterValue(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func TestObserveIngest(t *testing.T) {
	type res struct {
		typ    domain.Type
		status ingest.Status
	}
	tests := []struct {
		name    string
		results []res
		want    map[[2]string]float64 // {type, result} → count
	}{
		{"accepted and duplicate", []res{{domain.TypeNPSResponded, ingest.Accepted}, {domain.TypeNPSResponded, ingest.Duplicate}, {domain.TypeAccountOpened, ingest.Accepted}},
			map[[2]string]float64{{"nps.responded", "accepted"}: 1, {"nps.responded", "duplicate"}: 1, {"account.opened", "accepted"}: 1, {"account.opened", "rejected"}: 0}},
		{"rejections", []res{{domain.TypeKPIReported, ingest.Rejected}, {"", ingest.Rejected}, {"no.such.type", ingest.Rejected}},
			map[[2]string]float64{{"kpi.reported", "rejected"}: 1, {"unknown", "rejected"}: 2, {"kpi.reported", "accepted"}: 0}},
		{"unknown type never accepted", []res{{"no.such.type", ingest.Accepted}},
			map[[2]string]float64{{"unknown", "rejected"}: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := metrics.New(reg, metrics.Options{})
			var cands []ingest.Candidate
			var results []ingest.Result
			for i, r := range tt.results {
				cands = append(cands, ingest.Candidate{Event: domain.Event{Type: r.typ}})
				results = append(results, ingest.Result{Index: i, Status: r.status})
			}
			m.ObserveIngest(cands, results)
			for k, want := range tt.want {
				if got := counterValue(t, reg, "vitals_ingest_events_total", map[string]string{"type": k[0], "result": k[1]}); got != want {
					t.Errorf("%v: got %v, want %v", k, got, want)
				}
			}
			if got := counterValue(t, reg, "vitals_ingest_batch_size", nil); got != 1 {
				t.Errorf("batch size observations: %v, want 1", got)
			}
		})
	}
}

// TestIngestSeriesPreset: every catalog type × result exists from the
// start, and nothing else.
func TestIngestSeriesPreset(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	metrics.New(reg, metrics.Options{})
	want := len(domain.Types())*3 + 1
	if got, err := testutil.GatherAndCount(reg, "vitals_ingest_events_total"); err != nil || got != want {
		t.Fatalf("vitals_ingest_events_total has %d series (%v), want %d", got, err, want)
	}
}

func TestInstrumentHTTP(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{})
	inner := http.NewServeMux()
	inner.HandleFunc("GET /v1/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.NotFound(w, r)
		}
	})
	inner.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusMultiStatus)
	})
	outer := http.NewServeMux()
	outer.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	outer.Handle("/", inner)
	h := m.InstrumentHTTP(outer)
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/accounts/acme"}, {"GET", "/v1/accounts/beta"}, {"GET", "/v1/accounts/missing"},
		{"POST", "/v1/events"}, {"GET", "/metrics"}, {"GET", "/nowhere"}, {"DELETE", "/v1/events"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}
	want := map[[2]string]float64{
		{"GET /v1/accounts/{id}", "2xx"}: 2,
		{"GET /v1/accounts/{id}", "4xx"}: 1,
		{"POST /v1/events", "2xx"}:       1,
		{"GET /metrics", "2xx"}:          1,
		{"unmatched", "4xx"}:             2, // 404 and 405 of the inner mux
	}
	for k, n := range want {
		if got := counterValue(t, reg, "vitals_http_request_duration_seconds", map[string]string{"route": k[0], "code": k[1]}); got != n {
			t.Errorf("%v: %v requests, want %v", k, got, n)
		}
	}
	if got, _ := testutil.GatherAndCount(reg, "vitals_http_request_duration_seconds"); got != len(want) {
		t.Errorf("%d series, want %d (no per-path series)", got, len(want))
	}
}

// TestHTTPRoutesBounded: more distinct patterns than MaxRoutes fold into
// "other".
func TestHTTPRoutesBounded(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{})
	h := m.InstrumentHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Pattern = r.URL.Path // a handler that misuses patterns
	}))
	for i := range metrics.MaxRoutes + 50 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p/"+strings.Repeat("x", i), nil))
	}
	if got, _ := testutil.GatherAndCount(reg, "vitals_http_request_duration_seconds"); got != metrics.MaxRoutes+1 {
		t.Fatalf("%d series, want %d", got, metrics.MaxRoutes+1)
	}
	if got := counterValue(t, reg, "vitals_http_request_duration_seconds", map[string]string{"route": "other"}); got != 50 {
		t.Fatalf("other: %v, want 50", got)
	}
}

func TestInstrumentStoreAndObserver(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{})
	raws := fixtureEvents()
	w := newWorld(t, raws, fixtureNow, m.InstrumentStore, m.ProjectorObserver())
	if got := counterValue(t, reg, "vitals_store_append_duration_seconds", nil); got != 1 {
		t.Errorf("append observations: %v, want 1 (one AppendMany for one ingest request)", got)
	}
	if got := counterValue(t, reg, "vitals_projector_events_applied_total", nil); got != float64(len(raws)) || uint64(w.head) != uint64(len(raws)) {
		t.Errorf("applied %v, head %d, want %d", got, w.head, len(raws))
	}
	// Re-scoring follows the apply (at the projector's next flush), so the
	// counter catches up shortly after the position.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := counterValue(t, reg, "vitals_projector_rescores_total", nil)
		if got >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rescores %v, want at least one per account", got)
		}
	}
	obs := m.ProjectorObserver()
	obs.Skipped("duplicate")
	obs.Skipped("undecodable")
	obs.Skipped("cosmic ray")
	for _, r := range []string{"duplicate", "undecodable", "other"} {
		if got := counterValue(t, reg, "vitals_projector_skipped_total", map[string]string{"reason": r}); got != 1 {
			t.Errorf("skipped{%s} = %v, want 1", r, got)
		}
	}
}

// behind is a Projections whose position is set by the test.
type behind struct {
	metrics.Projections
	pos eventstore.Position
}

func (b behind) Position() eventstore.Position { return b.pos }

func TestEngineCollector(t *testing.T) {
	w := newWorld(t, fixtureEvents(), fixtureNow, nil, nil)
	recs, err := w.store.ReadAll(context.Background(), 3, 1)
	if err != nil || len(recs) != 1 {
		t.Fatal(recs, err)
	}
	now := recs[0].RecordedAt.Add(90 * time.Second)
	tests := []struct {
		name                 string
		pos                  eventstore.Position
		lagEvents, lagSecond float64
		progress             float64
	}{
		{"caught up", w.head, 0, 0, 1},
		{"behind", 3, float64(w.head - 3), 90, 3 / float64(w.head)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m := metrics.New(reg, metrics.Options{Now: func() time.Time { return now }})
			if err := m.Watch(metrics.Sources{Store: w.store, Projections: behind{w.proj, tt.pos}}); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]float64{
				"vitals_store_head_position": float64(w.head), "vitals_projector_position": float64(tt.pos),
				"vitals_projector_lag_events": tt.lagEvents, "vitals_projector_lag_seconds": tt.lagSecond,
				"vitals_projector_progress_ratio": tt.progress, "vitals_store_read_errors_total": 0,
			} {
				if got := counterValue(t, reg, name, nil); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
			if n, _ := testutil.GatherAndCount(reg, "vitals_store_size_bytes"); n != 0 {
				t.Error("vitals_store_size_bytes exported without a SizeBytes source")
			}
		})
	}
}

// failing is a Projections whose reads fail.
type failing struct{ metrics.Projections }

func (failing) Position() eventstore.Position { return 0 }
func (failing) Summary(context.Context) (projections.Summary, error) {
	return projections.Summary{}, errors.New("boom")
}

func TestDomainCollectorError(t *testing.T) {
	c := metrics.NewDomainCollector(failing{}, time.Second)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for range 2 {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	if strings.Join(names, ",") != "vitals_domain_collect_duration_seconds,vitals_domain_collect_errors_total" {
		t.Fatalf("families after failed scrapes: %v", names)
	}
	// Four scrapes so far: the loop, the one above and counterValue's.
	if got := counterValue(t, reg, "vitals_domain_collect_errors_total", nil); got != 4 {
		t.Fatalf("errors = %v, want 4", got)
	}
}

func TestWatchRequiresSources(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry(), metrics.Options{})
	if err := m.Watch(metrics.Sources{}); err == nil {
		t.Fatal("Watch accepted empty sources")
	}
}

// TestHandler serves the text exposition.
func TestHandler(t *testing.T) {
	reg, _ := fed(t)
	rec := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `vitals_build_info{goversion="`) {
		t.Fatalf("status %d, body starts %.200s", rec.Code, rec.Body.String())
	}
}

// seriesOf counts the series of every family, histograms counting one per
// bucket plus _sum and _count as Prometheus stores them.
func seriesOf(t testing.TB, g prometheus.Gatherer, prefix string) int {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				n += len(h.GetBucket()) + 3 // + le="+Inf", _sum, _count
				continue
			}
			n++
		}
	}
	return n
}

// dropFamily removes one family's lines from a text exposition.
func dropFamily(text []byte, name string) []byte {
	var out []byte
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		f := strings.Fields(string(line))
		switch {
		case len(f) >= 3 && f[0] == "#" && f[2] == name:
		case len(f) >= 1 && (f[0] == name || strings.HasPrefix(f[0], name+"{")):
		default:
			out = append(out, line...)
		}
	}
	return out
}
