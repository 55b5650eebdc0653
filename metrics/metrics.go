package metrics

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Vitals metric name.
const Namespace = "vitals"

// Options configure New.
type Options struct {
	// Version is the Vitals version reported by vitals_build_info.
	Version string
	// GoVersion is the Go version reported by vitals_build_info
	// (runtime.Version() when empty).
	GoVersion string
	// Now is the clock of the lag metrics (time.Now when nil).
	Now func() time.Time
	// Runtime also registers the Go runtime and process collectors
	// (go_*, process_*).
	Runtime bool
}

// Metrics holds Vitals' metrics. Create it with New; its methods are safe
// for concurrent use.
type Metrics struct {
	reg prometheus.Registerer
	now func() time.Time

	ingestEvents *prometheus.CounterVec
	batchSize    prometheus.Histogram
	appendDur    prometheus.Histogram
	syncDur      prometheus.Histogram
	httpDur      *prometheus.HistogramVec

	applied  prometheus.Counter
	rescores prometheus.Counter
	skipped  *prometheus.CounterVec
	corrupt  prometheus.Counter
}

// Buckets of the histograms. Latency histograms also carry native
// (sparse) buckets, which a Prometheus with native histograms enabled
// scrapes instead.
var (
	appendBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	httpBuckets   = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	batchBuckets  = []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000}
)

// Native histogram settings: a growth factor of 1.1 between buckets, at
// most 100 buckets (observed values come from outside, so they are
// bounded).
const (
	nativeFactor     = 1.1
	nativeMaxBuckets = 100
)

// New creates Vitals' metrics and registers them on reg. It panics if reg
// already holds a metric of the same name (registering twice is a
// programming error).
func New(reg prometheus.Registerer, opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.GoVersion == "" {
		opts.GoVersion = runtime.Version()
	}
	m := &Metrics{
		reg: reg,
		now: opts.Now,
		ingestEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "ingest_events_total",
			Help: "Events received for ingestion, by event type (unknown when the type is not in the catalog) and result (accepted, duplicate, rejected).",
		}, []string{"type", "result"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "ingest_batch_size",
			Help:    "Events per ingest request.",
			Buckets: batchBuckets,
		}),
		appendDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "store_append_duration_seconds",
			Help:                           "Time an append to the event store took until it was durable (queueing, group commit and fsync included).",
			Buckets:                        appendBuckets,
			NativeHistogramBucketFactor:    nativeFactor,
			NativeHistogramMaxBucketNumber: nativeMaxBuckets,
		}),
		syncDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "store_sync_duration_seconds",
			Help:                           "Time the embedded store took to commit a group of appends: writing its pages and fsyncing the file.",
			Buckets:                        appendBuckets,
			NativeHistogramBucketFactor:    nativeFactor,
			NativeHistogramMaxBucketNumber: nativeMaxBuckets,
		}),
		httpDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "http_request_duration_seconds",
			Help:                           "HTTP request latency by route pattern and status class (2xx, 4xx, …).",
			Buckets:                        httpBuckets,
			NativeHistogramBucketFactor:    nativeFactor,
			NativeHistogramMaxBucketNumber: nativeMaxBuckets,
		}, []string{"route", "code"}),
		applied: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "projector_events_applied_total",
			Help: "Log records the projector has applied since start.",
		}),
		rescores: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "projector_rescores_total",
			Help: "Account re-scores by the projector (after an event or at a scheduled instant).",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "projector_skipped_total",
			Help: "Log records the projector skipped, by reason (duplicate, undecodable, other).",
		}, []string{"reason"}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "store_corrupt_records_total",
			Help: "Damaged log records (failing their checksum or undecodable) the projector stopped at; run vitals verify to list them all.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "build_info",
		Help:        "Always 1; the labels name the running build.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": opts.GoVersion},
	})
	buildInfo.Set(1)

	// Pre-create every bounded label combination so that dashboards and
	// alerts see zeros rather than missing series.
	for _, t := range eventTypes() {
		for _, r := range ingestResults {
			m.ingestEvents.WithLabelValues(t, r)
		}
	}
	m.ingestEvents.WithLabelValues(unknownType, resultRejected)
	for _, r := range skipReasons {
		m.skipped.WithLabelValues(r)
	}

	reg.MustRegister(buildInfo, m.ingestEvents, m.batchSize, m.appendDur, m.syncDur, m.httpDur, m.applied, m.rescores, m.skipped, m.corrupt)
	if opts.Runtime {
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

// Handler serves the metrics gathered by g in the Prometheus text format
// (or protobuf, when the scraper asks for it). A collector that fails does
// not fail the scrape: the other metrics are still served.
func Handler(g prometheus.Gatherer) http.Handler {
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveCommit records one commit of the embedded store (bolt.Options.OnCommit).
func (m *Metrics) ObserveCommit(_ int, sync time.Duration) { m.syncDur.Observe(sync.Seconds()) }
