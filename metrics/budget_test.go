package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/metrics"
)

// SeriesBudget is the most vitals_* series a deployment with 8 managers may
// expose, whatever its number of accounts.
const SeriesBudget = 600

// TestSeriesBudget loads demo agencies of two sizes, ten times apart (same
// managers), through the real path — demo generator, ingest, bolt store,
// projector — and checks that the number of vitals_* series is the same
// for both and within the budget: a label that grew with the accounts
// would add hundreds of series to the larger one. (A 10,000-account run
// took three minutes under -race and could find nothing the 10× step does
// not; TestNoAccountLabels checks the label values themselves.)
func TestSeriesBudget(t *testing.T) {
	sizes := []int{100, 1000}
	const managers = 8
	end := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	now := end.Add(12 * time.Hour)
	counts := map[int]int{}
	for _, n := range sizes {
		reg := prometheus.NewPedanticRegistry()
		m := metrics.New(reg, metrics.Options{Version: "test", Now: func() time.Time { return now }})
		// Two months of history: the series do not depend on the
		// history's length.
		w := newWorld(t, demoEvents(t, n, managers, 2, end), now, m.InstrumentStore, m.ProjectorObserver())
		if err := m.Watch(metrics.Sources{Store: w.store, Projections: w.proj}); err != nil {
			t.Fatal(err)
		}
		h := m.InstrumentHTTP(http.NewServeMux())
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		active := counterValue(t, reg, "vitals_accounts", map[string]string{"status": "active"})
		counts[n] = seriesOf(t, reg, "vitals_")
		t.Logf("%5d accounts (%v active, %d events): %d vitals_* series", n, active, w.head, counts[n])
		if active < float64(n)/2 {
			t.Errorf("%d accounts: only %v active; the agency did not load", n, active)
		}
		if got := counterValue(t, reg, "vitals_managers", nil); got != managers {
			t.Errorf("%d accounts: %v managers, want %d", n, got, managers)
		}
	}
	for _, n := range sizes[1:] {
		if counts[n] != counts[sizes[0]] {
			t.Errorf("%d accounts give %d series, %d accounts %d: the series grow with the accounts", n, counts[n], sizes[0], counts[sizes[0]])
		}
	}
	if counts[sizes[0]] > SeriesBudget {
		t.Errorf("%d series, over the budget of %d", counts[sizes[0]], SeriesBudget)
	}
}
