package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/metrics"
)

// BenchmarkDomainCollect measures one scrape of the domain metrics of a
// 1,000-account agency (what every Prometheus scrape costs the server).
func BenchmarkDomainCollect(b *testing.B) {
	end := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	now := end.Add(12 * time.Hour)
	w := newWorld(b, demoEvents(b, 1000, 8, 6, end), now, nil, nil)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewDomainCollector(w.proj, 0))
	b.ResetTimer()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
