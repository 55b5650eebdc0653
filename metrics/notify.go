package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/notify"
)

// Label values of the delivery metrics.
const (
	deliveryDelivered = "delivered"
	deliveryFailed    = "failed"
	attemptNoAnswer   = "no_answer"
)

var (
	deliveryResults = []string{deliveryDelivered, deliveryFailed}
	attemptReasons  = []string{attemptNoAnswer, "3xx", "4xx", "5xx"}
)

// NotifyMetrics counts the deliveries of notify.Dispatcher; it implements
// notify.Observer. Create it with Metrics.Notify.
type NotifyMetrics struct {
	reg        prometheus.Registerer
	now        func() time.Time
	deliveries *prometheus.CounterVec
	failures   *prometheus.CounterVec
}

// Notify creates and registers the delivery counters. Give the result to
// notify.DispatcherConfig.Observer, then call its Watch with the
// dispatcher. Like New, it panics when called twice on one registry.
func (m *Metrics) Notify() *NotifyMetrics {
	n := &NotifyMetrics{
		reg: m.reg,
		now: m.now,
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "notify_deliveries_total",
			Help: "Notifications finished with, by target (its configured name or index) and result: delivered (accepted by the target), failed (given up after retrying).",
		}, []string{"target", "result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "notify_attempt_failures_total",
			Help: "Failed delivery attempts, by target and reason: no_answer (connection error, timeout, NATS error) or the answer's status class (3xx, 4xx, 5xx).",
		}, []string{"target", "reason"}),
	}
	m.reg.MustRegister(n.deliveries, n.failures)
	return n
}

// Configured implements notify.Observer: it creates the target's series at
// zero.
func (n *NotifyMetrics) Configured(target string) {
	for _, r := range deliveryResults {
		n.deliveries.WithLabelValues(target, r)
	}
	for _, r := range attemptReasons {
		n.failures.WithLabelValues(target, r)
	}
}

// Delivered implements notify.Observer.
func (n *NotifyMetrics) Delivered(target string) {
	n.deliveries.WithLabelValues(target, deliveryDelivered).Inc()
}

// GaveUp implements notify.Observer.
func (n *NotifyMetrics) GaveUp(target string) {
	n.deliveries.WithLabelValues(target, deliveryFailed).Inc()
}

// AttemptFailed implements notify.Observer.
func (n *NotifyMetrics) AttemptFailed(target string, status int) {
	reason := attemptNoAnswer
	switch {
	case status >= 300 && status < 400:
		reason = "3xx"
	case status >= 400 && status < 500:
		reason = "4xx"
	case status >= 500 && status < 600:
		reason = "5xx"
	}
	n.failures.WithLabelValues(target, reason).Inc()
}

// NotifyStatus is what the scrape-time collector reads; *notify.Dispatcher
// implements it.
type NotifyStatus interface {
	Status(ctx context.Context) ([]notify.TargetStatus, error)
}

// Watch registers the collector of the per-target gauges, read from src
// at every scrape (bounded by DefaultTimeout).
func (n *NotifyMetrics) Watch(src NotifyStatus) error {
	if src == nil {
		return errors.New("metrics: NotifyMetrics.Watch needs a status source")
	}
	return n.reg.Register(&notifyCollector{src: src, now: n.now, timeout: DefaultTimeout})
}

// Descriptions of the notify collector.
var (
	descNotifyDepth = prometheus.NewDesc("vitals_notify_outbox_depth",
		"Notifications in the outbox the target has not finished with (delivered or given up).", []string{"target"}, nil)
	descNotifyAge = prometheus.NewDesc("vitals_notify_oldest_undelivered_age_seconds",
		"Time since the transition reported by the oldest notification the target has not finished with; 0 when caught up.", []string{"target"}, nil)
	descNotifyDisabled = prometheus.NewDesc("vitals_notify_target_disabled",
		"1 when the target answered 410 Gone and receives nothing until its URL changes or it is enabled again, else 0.", []string{"target"}, nil)
	descNotifyErrors = prometheus.NewDesc("vitals_notify_status_errors_total",
		"Scrapes that could not read the outbox for the notify gauges.", nil, nil)
)

// notifyCollector reads the targets' status at scrape time.
type notifyCollector struct {
	src     NotifyStatus
	now     func() time.Time
	timeout time.Duration

	mu     sync.Mutex
	errors uint64
}

// Describe implements prometheus.Collector.
func (c *notifyCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNotifyDepth, descNotifyAge, descNotifyDisabled, descNotifyErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *notifyCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	sts, err := c.src.Status(ctx)
	if err == nil {
		now := c.now()
		for _, s := range sts {
			age := 0.0
			if s.Depth > 0 && !s.Oldest.IsZero() {
				age = max(now.Sub(s.Oldest).Seconds(), 0)
			}
			disabled := 0.0
			if s.Disabled {
				disabled = 1
			}
			ch <- prometheus.MustNewConstMetric(descNotifyDepth, prometheus.GaugeValue, float64(s.Depth), s.Name)
			ch <- prometheus.MustNewConstMetric(descNotifyAge, prometheus.GaugeValue, age, s.Name)
			ch <- prometheus.MustNewConstMetric(descNotifyDisabled, prometheus.GaugeValue, disabled, s.Name)
		}
	}
	c.mu.Lock()
	if err != nil {
		c.errors++
	}
	n := c.errors
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descNotifyErrors, prometheus.CounterValue, float64(n))
}
