package metrics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/metrics"
)

// TestMoneyGaugesAtMax: 95 accounts at the largest MRR and an account owing
// 100 invoices of the largest amount (sums that once wrapped negative) give
// the exact sums in major units, never negative.
func TestMoneyGaugesAtMax(t *testing.T) {
	type m = map[string]any
	raws := [][]byte{ce("m", "manager.joined", "am-1", "2026-01-01T00:00:00Z", m{"name": "Ada"})}
	const accounts, invoices = 95, 100
	for i := range accounts {
		id := fmt.Sprintf("a%02d", i)
		raws = append(raws, ce("o"+id, "account.opened", id, "2026-01-01T00:00:00Z", m{"name": id, "mrr": domain.MaxMoney, "manager_id": "am-1"}))
	}
	for i := range invoices {
		raws = append(raws, ce(fmt.Sprint("i", i), "invoice.issued", "a00", "2026-02-01T00:00:00Z",
			m{"invoice_id": fmt.Sprint("inv-", i), "amount": domain.MaxMoney, "due_date": "2026-03-01"}))
	}
	w := newWorld(t, raws, time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC), nil, nil)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewDomainCollector(w.proj, 0))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			v := mt.GetGauge().GetValue()
			if v < 0 {
				t.Errorf("%s %v is negative", f.GetName(), mt)
			}
			sums[f.GetName()] += v
		}
	}
	for name, want := range map[string]domain.Money{
		"vitals_mrr":                     accounts * domain.MaxMoney,
		"vitals_manager_mrr":             accounts * domain.MaxMoney,
		"vitals_receivables_outstanding": invoices * domain.MaxMoney,
		"vitals_receivables_overdue":     invoices * domain.MaxMoney,
	} {
		if sums[name] != want.Float64() {
			t.Errorf("%s = %f, want %s", name, sums[name], want)
		}
	}
}
