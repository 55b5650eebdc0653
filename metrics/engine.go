package metrics

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
)

// Reasons the projector skips a record (projections.Observer.Skipped);
// anything else is counted as "other".
var skipReasons = []string{"duplicate", "undecodable", "other"}

// ProjectorObserver returns the projections.Observer to put in
// projections.Config.Observer: it counts applied records, re-scores and
// skipped records.
func (m *Metrics) ProjectorObserver() projections.Observer { return observer{m} }

// observer implements projections.Observer; its methods only touch
// counters, so they are quick and never call back into the projector.
type observer struct{ m *Metrics }

// Applied implements projections.Observer.
func (o observer) Applied(_ eventstore.Position, _ time.Time, n int) { o.m.applied.Add(float64(n)) }

// Rescored implements projections.Observer.
func (o observer) Rescored(n int) { o.m.rescores.Add(float64(n)) }

// Skipped implements projections.Observer.
func (o observer) Skipped(reason string) {
	for _, r := range skipReasons {
		if r == reason {
			o.m.skipped.WithLabelValues(r).Inc()
			return
		}
	}
	o.m.skipped.WithLabelValues("other").Inc()
}

// Corrupt implements projections.Observer: it counts the damaged records
// the projector stopped at.
func (o observer) Corrupt(positions []eventstore.Position) {
	o.m.corrupt.Add(float64(len(positions)))
}

// Projections is what the scrape-time collectors read from the projections;
// *projections.Projector implements it.
type Projections interface {
	// Position is the last applied log position.
	Position() eventstore.Position
	// Summary evaluates the portfolio and the managers as of now.
	Summary(ctx context.Context) (projections.Summary, error)
}

// Sources are read at every scrape by the collectors Watch registers.
type Sources struct {
	// Store is the event log: its head, and the record after the
	// projector's position for the lag in seconds. Required.
	Store eventstore.Store
	// SizeBytes returns the size of the store's files on disk; nil when the
	// store has none (vitals_store_size_bytes is then not exported).
	SizeBytes func() (int64, error)
	// Projections are the read models. Required.
	Projections Projections
	// Timeout bounds the reads of one scrape (default 10s).
	Timeout time.Duration
}

// DefaultTimeout is the default of Sources.Timeout.
const DefaultTimeout = 10 * time.Second

// Watch registers the collectors that read src at scrape time: store head
// and size, projector position, lag and progress, and the domain
// aggregates (see DomainCollector).
func (m *Metrics) Watch(src Sources) error {
	if src.Store == nil || src.Projections == nil {
		return errors.New("metrics: Sources.Store and Sources.Projections are required")
	}
	if src.Timeout <= 0 {
		src.Timeout = DefaultTimeout
	}
	if err := m.reg.Register(&engineCollector{src: src, now: m.now}); err != nil {
		return err
	}
	return m.reg.Register(NewDomainCollector(src.Projections, src.Timeout))
}

// Descriptions of the engine collector.
var (
	descHead = prometheus.NewDesc("vitals_store_head_position",
		"Position of the last record committed to the event log.", nil, nil)
	descSize = prometheus.NewDesc("vitals_store_size_bytes",
		"Size of the event store's files on disk.", nil, nil)
	descPosition = prometheus.NewDesc("vitals_projector_position",
		"Last log position the projections have applied.", nil, nil)
	descLagEvents = prometheus.NewDesc("vitals_projector_lag_events",
		"Log head minus the projections' position: records not yet applied on stores with dense positions (bolt); on KurrentDB a distance in the log, not a count.", nil, nil)
	descLagSeconds = prometheus.NewDesc("vitals_projector_lag_seconds",
		"How long the oldest record not yet applied by the projections has been in the log; 0 when caught up.", nil, nil)
	descProgress = prometheus.NewDesc("vitals_projector_progress_ratio",
		"Share of the log the projections reflect (position ÷ head; 1 for an empty log). Below 1 during a rebuild or catch-up.", nil, nil)
	descEngineErrors = prometheus.NewDesc("vitals_store_read_errors_total",
		"Scrapes that could not read the store's head, next record or size.", nil, nil)
)

// engineCollector reads the store and the projector's position.
type engineCollector struct {
	src Sources
	now func() time.Time

	mu     sync.Mutex
	errors uint64
}

// Describe implements prometheus.Collector.
func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHead, descSize, descPosition, descLagEvents, descLagSeconds, descProgress, descEngineErrors} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.src.Timeout)
	defer cancel()
	// Read the position before the head, so that position ≤ head.
	pos := c.src.Projections.Position()
	ch <- prometheus.MustNewConstMetric(descPosition, prometheus.GaugeValue, float64(pos))
	failed := false
	head, err := c.src.Store.Head(ctx)
	if err != nil {
		failed = true
	} else {
		head = max(head, pos)
		ch <- prometheus.MustNewConstMetric(descHead, prometheus.GaugeValue, float64(head))
		ch <- prometheus.MustNewConstMetric(descLagEvents, prometheus.GaugeValue, float64(head-pos))
		progress := 1.0
		if head > 0 {
			progress = float64(pos) / float64(head)
		}
		ch <- prometheus.MustNewConstMetric(descProgress, prometheus.GaugeValue, progress)
		lag := 0.0
		if head > pos {
			recs, err := c.src.Store.ReadAll(ctx, pos, 1)
			switch {
			case err != nil:
				failed = true
			case len(recs) > 0:
				lag = max(c.now().Sub(recs[0].RecordedAt).Seconds(), 0)
			}
		}
		if !failed {
			ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, lag)
		}
	}
	if c.src.SizeBytes != nil {
		if size, err := c.src.SizeBytes(); err != nil {
			failed = true
		} else {
			ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(size))
		}
	}
	c.mu.Lock()
	if failed {
		c.errors++
	}
	n := c.errors
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(descEngineErrors, prometheus.CounterValue, float64(n))
}
