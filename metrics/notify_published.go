package metrics

import "github.com/prometheus/client_golang/prometheus"

// PublishedCounter counts derived events stored in the notifications
// outbox, by type (vitals_notify_published_total).
type PublishedCounter struct {
	c *prometheus.CounterVec
}

// NotifyPublished registers vitals_notify_published_total{type} with a
// zero series for each of types.
func (m *Metrics) NotifyPublished(types []string) *PublishedCounter {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "notify_published_total",
		Help: "Derived events (notifications) stored in the outbox, by CloudEvent type; a re-derived duplicate is not counted.",
	}, []string{"type"})
	m.reg.MustRegister(c)
	for _, t := range types {
		c.WithLabelValues(t)
	}
	return &PublishedCounter{c: c}
}

// Published adds n events of type typ.
func (p *PublishedCounter) Published(typ string, n int) { p.c.WithLabelValues(typ).Add(float64(n)) }
