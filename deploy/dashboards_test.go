package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/metrics"
	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// dashboardUIDs are the dashboards and their uids. The uids are part of
// the dashboards' URLs: they must never change.
var dashboardUIDs = map[string]string{
	"portfolio.json": "vitals-portfolio",
	"at-risk.json":   "vitals-at-risk",
	"managers.json":  "vitals-managers",
	"engine.json":    "vitals-engine",
}

// datasourceUID is the uid of the provisioned Prometheus datasource.
const datasourceUID = "vitals-prom"

// The dashboard JSON model, as far as the tests read it.
type (
	dashboard struct {
		file       string
		UID        string  `json:"uid"`
		Title      string  `json:"title"`
		Editable   bool    `json:"editable"`
		Panels     []panel `json:"panels"`
		Templating struct {
			List []variable `json:"list"`
		} `json:"templating"`
	}
	panel struct {
		ID         int         `json:"id"`
		Type       string      `json:"type"`
		Title      string      `json:"title"`
		Desc       string      `json:"description"`
		Datasource *dsRef      `json:"datasource"`
		GridPos    gridPos     `json:"gridPos"`
		Targets    []target    `json:"targets"`
		Panels     []panel     `json:"panels"` // of a row
		Field      fieldConfig `json:"fieldConfig"`
	}
	fieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	}
	gridPos struct{ X, Y, W, H int }
	target  struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource *dsRef `json:"datasource"`
	}
	dsRef struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	}
	variable struct {
		Type       string          `json:"type"`
		Name       string          `json:"name"`
		Label      string          `json:"label"`
		Query      json.RawMessage `json:"query"`
		Datasource *dsRef          `json:"datasource"`
		Multi      bool            `json:"multi"`
		IncludeAll bool            `json:"includeAll"`
		AllValue   string          `json:"allValue"`
		Refresh    int             `json:"refresh"`
	}
)

// loadDashboards reads every dashboard in grafana/dashboards.
func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("grafana", "dashboards", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []dashboard
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: invalid dashboard JSON: %v", f, err)
		}
		d.file = filepath.Base(f)
		out = append(out, d)
	}
	if len(out) == 0 {
		t.Fatal("no dashboards in grafana/dashboards")
	}
	return out
}

// flatPanels returns the panels that show data (not rows), also those
// nested in collapsed rows.
func (d dashboard) flatPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

// rateIntervalProbe replaces $__rate_interval for the static checks: a
// duration no one would write by hand, so a range that is not
// $__rate_interval is recognised (the trick of grafana/dashboard-linter).
const rateIntervalProbe = 8869990787 * time.Millisecond

// varRef matches Grafana variable references: $name, ${name} and
// ${name:format}.
var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// expand substitutes Grafana's variables in a query: the global ones from
// rateInterval and the dashboard's from vars. An unknown variable is an
// error.
func expand(expr string, rateInterval time.Duration, vars map[string]string) (string, error) {
	var unknown []string
	out := varRef.ReplaceAllStringFunc(expr, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return fmt.Sprintf("%dms", rateInterval.Milliseconds())
		case "__interval_ms", "__range_ms":
			return fmt.Sprint(rateInterval.Milliseconds())
		}
		if v, ok := vars[name]; ok {
			return v
		}
		unknown = append(unknown, m)
		return m
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown variables %v", unknown)
	}
	return out, nil
}

// exported describes the metrics Vitals exports.
type exported struct {
	// series maps every series name Prometheus stores (histograms
	// contribute _bucket, _sum and _count) to its family's type.
	series map[string]string
	// state lists the series of the scrape-time domain collector: they
	// describe current state, so rate() on them is wrong even for the
	// score histogram.
	state map[string]bool
}

// exportedMetrics gathers a registry with every Vitals metric registered
// and fed by a small demo agency (the same path vitals serve wires).
func exportedMetrics(t *testing.T) exported {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	store, err := bolt.Open(ctx, t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{Version: "test", Runtime: true})
	in := ingest.New(m.InstrumentStore(store))
	var cands []ingest.Candidate
	err = demo.Generate(ctx, demo.Config{Seed: 3, Accounts: 30, Managers: 3, Months: 14, End: now}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, now)
		cands = append(cands, ingest.Candidate{Event: ev, Err: perr})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	results, head, err := in.Ingest(ctx, cands)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveIngest(cands, results)
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Store: store, Scorer: scorer, Logger: zerolog.Nop(), Observer: m.ProjectorObserver()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- proj.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := proj.WaitFor(wctx, head); err != nil {
		t.Fatal(err)
	}
	if err := m.Watch(metrics.Sources{Store: store, Projections: proj, SizeBytes: func() (int64, error) {
		st, err := store.Stats()
		return st.SizeBytes, err
	}}); err != nil {
		t.Fatal(err)
	}
	// One notify target, so that the delivery metrics have series.
	nm := m.Notify()
	nm.Configured("0")
	if err := nm.Watch(notifyStatus{{Name: "0", Kind: notify.KindWebhook}}); err != nil {
		t.Fatal(err)
	}
	// One request, so that the HTTP histogram has series.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /livez", func(http.ResponseWriter, *http.Request) {})
	m.InstrumentHTTP(mux).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/livez", nil))
	ex := exported{series: map[string]string{}, state: map[string]bool{}}
	add := func(g prometheus.Gatherer, into func(name, typ string)) {
		mfs, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			typ := strings.ToLower(mf.GetType().String())
			into(mf.GetName(), typ)
			if typ == "histogram" || typ == "summary" {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					into(mf.GetName()+suffix, typ)
				}
			}
		}
	}
	add(reg, func(name, typ string) { ex.series[name] = typ })
	domainReg := prometheus.NewPedanticRegistry()
	domainReg.MustRegister(metrics.NewDomainCollector(proj, 0))
	add(domainReg, func(name, _ string) { ex.state[name] = true })
	return ex
}

// notifyStatus is a fixed notify status for exportedMetrics.
type notifyStatus []notify.TargetStatus

func (s notifyStatus) Status(context.Context) ([]notify.TargetStatus, error) { return s, nil }

// staticVars are values for the dashboards' own variables in the static
// checks.
var staticVars = map[string]string{"job": "vitals", "instance": "127.0.0.1:8080", "manager": ".+", "datasource": datasourceUID}

// TestDashboardsStatic checks every dashboard without any service: valid
// JSON, stable unique uids, the datasource variable used everywhere, and
// every query valid PromQL over metrics Vitals exports, with rate() only on
// counters over $__rate_interval.
func TestDashboardsStatic(t *testing.T) {
	dashboards := loadDashboards(t)
	ex := exportedMetrics(t)
	uids, titles := map[string]string{}, map[string]string{}
	for _, d := range dashboards {
		t.Run(d.file, func(t *testing.T) {
			if want, ok := dashboardUIDs[d.file]; !ok || d.UID != want {
				t.Errorf("uid %q; want %q (uids are stable: add new dashboards to dashboardUIDs)", d.UID, want)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = d.file
			if other, dup := titles[d.Title]; dup || d.Title == "" {
				t.Errorf("title %q empty or also used by %s", d.Title, other)
			}
			titles[d.Title] = d.file
			if d.Editable {
				t.Error("a provisioned dashboard should not be editable")
			}
			checkVariables(t, d, ex)
			panels := d.flatPanels()
			ids := map[int]bool{}
			queries := 0
			for _, p := range panels {
				name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if ids[p.ID] {
					t.Errorf("%s: duplicate panel id", name)
				}
				ids[p.ID] = true
				if p.Title == "" || p.Desc == "" {
					t.Errorf("%s: needs a title and a description", name)
				}
				if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", name, p.GridPos)
				}
				if !usesVariable(p.Datasource) {
					t.Errorf("%s: datasource %+v; want the ${datasource} variable", name, p.Datasource)
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no queries", name)
				}
				for _, tg := range p.Targets {
					queries++
					if !usesVariable(tg.Datasource) {
						t.Errorf("%s/%s: datasource %+v; want the ${datasource} variable", name, tg.RefID, tg.Datasource)
					}
					for _, problem := range checkQuery(tg.Expr, ex, true) {
						t.Errorf("%s/%s: %s\n\tquery: %s", name, tg.RefID, problem, tg.Expr)
					}
				}
			}
			t.Logf("%d panels, %d queries checked", len(panels), queries)
		})
	}
	for file := range dashboardUIDs {
		if !slices.ContainsFunc(dashboards, func(d dashboard) bool { return d.file == file }) {
			t.Errorf("dashboard %s is missing", file)
		}
	}
}

func usesVariable(ds *dsRef) bool {
	return ds != nil && ds.Type == "prometheus" && (ds.UID == "${datasource}" || ds.UID == "$datasource")
}

// checkVariables: exactly one datasource variable named datasource;
// query variables use it, refresh on time range change, and query
// exported metrics.
func checkVariables(t *testing.T, d dashboard, ex exported) {
	t.Helper()
	var ds int
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			ds++
			var q string
			if err := json.Unmarshal(v.Query, &q); err != nil || q != "prometheus" || v.Name != "datasource" || v.Label != "Data source" {
				t.Errorf("datasource variable %q: want name datasource, label \"Data source\", query prometheus", v.Name)
			}
		case "query":
			if !usesVariable(v.Datasource) {
				t.Errorf("variable %s: datasource %+v; want ${datasource}", v.Name, v.Datasource)
			}
			if v.Refresh != 2 {
				t.Errorf("variable %s: refresh %d; want 2 (on time range change)", v.Name, v.Refresh)
			}
			if v.IncludeAll && v.AllValue != ".+" {
				t.Errorf("variable %s: allValue %q; want .+", v.Name, v.AllValue)
			}
			var q struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query: %v", v.Name, err)
				continue
			}
			m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
				continue
			}
			for _, problem := range checkQuery(m[1], ex, false) {
				t.Errorf("variable %s: %s", v.Name, problem)
			}
		default:
			t.Errorf("variable %s: unexpected type %q", v.Name, v.Type)
		}
	}
	if ds != 1 {
		t.Errorf("%d datasource variables; want exactly one", ds)
	}
}

// rangeFuncs take a range of a counter.
var rangeFuncs = map[string]bool{"rate": true, "irate": true, "increase": true}

// checkQuery parses one panel query and returns what is wrong with it.
// Panel queries must select job and instance by the dashboard's
// variables (panels); variable queries need not.
func checkQuery(expr string, ex exported, panels bool) []string {
	q, err := expand(expr, rateIntervalProbe, staticVars)
	if err != nil {
		return []string{err.Error()}
	}
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(q)
	if err != nil {
		return []string{"does not parse: " + err.Error()}
	}
	var problems []string
	parser.Inspect(ast, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			name := n.Name
			typ, ok := ex.series[name]
			if !ok {
				problems = append(problems, fmt.Sprintf("metric %q is not exported by Vitals", name))
				return nil
			}
			matchers := map[string]string{}
			for _, m := range n.LabelMatchers {
				matchers[m.Name] = m.Value
			}
			if panels && (matchers["job"] != staticVars["job"] || matchers["instance"] != staticVars["instance"]) {
				problems = append(problems, fmt.Sprintf("%s: select job and instance by the $job and $instance variables", name))
			}
			inRange := false
			for _, p := range path {
				if c, ok := p.(*parser.Call); ok && rangeFuncs[c.Func.Name] {
					inRange = true
				}
			}
			histSeries := strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count")
			counter := typ == "counter" || (typ == "histogram" && histSeries && !ex.state[name])
			if strings.HasSuffix(name, "_total") && !inRange {
				problems = append(problems, fmt.Sprintf("counter %s must be wrapped in rate() or increase()", name))
			}
			if inRange && !counter {
				problems = append(problems, fmt.Sprintf("%s is not a counter: rate()/increase() do not apply", name))
			}
		case *parser.MatrixSelector:
			if n.Range != rateIntervalProbe {
				problems = append(problems, fmt.Sprintf("range [%s]: use [$__rate_interval]", n.Range))
			}
		case *parser.SubqueryExpr:
			problems = append(problems, "subqueries are not used in Vitals dashboards")
		}
		return nil
	})
	return problems
}

// TestProvisioning checks the Grafana provisioning files against the
// dashboards' conventions.
func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, URL string
			IsDefault            bool `yaml:"isDefault"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "datasources", "prometheus.yml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].UID != datasourceUID ||
		ds.Datasources[0].Type != "prometheus" || !ds.Datasources[0].IsDefault {
		t.Errorf("datasource provisioning: %+v; want one default prometheus datasource with uid %s", ds, datasourceUID)
	}
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Type    string
			Options struct{ Path string }
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join("grafana", "provisioning", "dashboards", "vitals.yml"), &prov)
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provisioning: %+v; want one file provider with a path", prov)
	}
	var pc struct {
		ScrapeConfigs []struct {
			JobName string `yaml:"job_name"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join("prometheus", "prometheus.yml"), &pc)
	var jobs []string
	for _, sc := range pc.ScrapeConfigs {
		jobs = append(jobs, sc.JobName)
	}
	sort.Strings(jobs)
	if !slices.Contains(jobs, "vitals") {
		t.Errorf("prometheus.yml scrapes %v; the dashboards' $job defaults to a job named vitals", jobs)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestPrometheusConfig runs promtool check config on the compose
// configuration.
func TestPrometheusConfig(t *testing.T) {
	promtool := requireTool(t, "promtool")
	out, err := exec.Command(promtool, "check", "config", filepath.Join("prometheus", "prometheus.yml")).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
}

// requireTool finds a Prometheus tool on PATH or in /usr/bin. Without it
// the test is skipped, or fails when VITALS_REQUIRE_TOOLS=1 (as in CI).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if p := filepath.Join("/usr/bin", name); isExecutable(p) {
		return p
	}
	msg := fmt.Sprintf("%s not found on PATH or in /usr/bin: install the Debian package prometheus (apt-get install prometheus)", name)
	if os.Getenv("VITALS_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg + " — required because VITALS_REQUIRE_TOOLS=1")
	}
	t.Skip(msg)
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// TestCheckQuery shows that the static checks catch the mistakes they are
// for.
func TestCheckQuery(t *testing.T) {
	ex := exported{
		series: map[string]string{
			"vitals_ingest_events_total": "counter", "vitals_accounts": "gauge",
			"vitals_store_append_duration_seconds_bucket": "histogram",
			"vitals_account_health_score_bucket":          "histogram",
		},
		state: map[string]bool{"vitals_accounts": true, "vitals_account_health_score_bucket": true},
	}
	sel := `{job="$job", instance="$instance"}`
	tests := []struct {
		expr    string
		problem string // "" when the query is fine
	}{
		{`sum(rate(vitals_ingest_events_total` + sel + `[$__rate_interval]))`, ""},
		{`histogram_quantile(0.9, sum by (le) (rate(vitals_store_append_duration_seconds_bucket` + sel + `[$__rate_interval])))`, ""},
		{`histogram_quantile(0.5, sum by (le) (vitals_account_health_score_bucket` + sel + `))`, ""},
		{`vitals_accounts` + sel, ""},
		{`sum(rate(vitals_ingest_events_total` + sel + `[5m]))`, "use [$__rate_interval]"},
		{`vitals_ingest_events_total` + sel, "must be wrapped"},
		{`rate(vitals_accounts` + sel + `[$__rate_interval])`, "not a counter"},
		{`rate(vitals_account_health_score_bucket` + sel + `[$__rate_interval])`, "not a counter"},
		{`vitals_nonexistent` + sel, "not exported"},
		{`vitals_accounts`, "select job and instance"},
		{`sum(vitals_accounts` + sel, "does not parse"},
		{`vitals_accounts{job="$cluster"}`, "unknown variables"},
		{`max_over_time(vitals_accounts` + sel + `[1h:1m])`, "subqueries"},
	}
	for _, tt := range tests {
		problems := strings.Join(checkQuery(tt.expr, ex, true), "; ")
		switch {
		case tt.problem == "" && problems != "":
			t.Errorf("%s: unexpected problems: %s", tt.expr, problems)
		case tt.problem != "" && !strings.Contains(problems, tt.problem):
			t.Errorf("%s: problems %q; want one with %q", tt.expr, problems, tt.problem)
		}
	}
}
