package metrics

import (
	"context"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
)

// Label values of vitals_ingest_events_total.
const (
	unknownType     = "unknown"
	resultAccepted  = string(ingest.Accepted)
	resultDuplicate = string(ingest.Duplicate)
	resultRejected  = string(ingest.Rejected)
)

var ingestResults = []string{resultAccepted, resultDuplicate, resultRejected}

// eventTypes lists the type label values of the catalog.
func eventTypes() []string {
	types := domain.Types()
	out := make([]string, len(types))
	for i, t := range types {
		out[i] = string(t)
	}
	return out
}

// ObserveIngest counts the events of one ingest request: cands are the
// request's events as decoded, results what the Ingester answered for them
// (matched by Result.Index). Call it once per request (HTTP or broker),
// after Ingester.Ingest returned without error.
func (m *Metrics) ObserveIngest(cands []ingest.Candidate, results []ingest.Result) {
	m.batchSize.Observe(float64(len(cands)))
	for _, r := range results {
		typ := unknownType
		if r.Index >= 0 && r.Index < len(cands) {
			if t := cands[r.Index].Event.Type; t.Known() {
				typ = string(t)
			}
		}
		result := resultRejected
		switch r.Status {
		case ingest.Accepted, ingest.Duplicate:
			result = string(r.Status)
		}
		if typ == unknownType {
			// An event of an unknown type is always rejected by validation;
			// keep the label set closed even if that ever changes.
			result = resultRejected
		}
		m.ingestEvents.WithLabelValues(typ, result).Inc()
	}
}

// InstrumentStore returns s with its appends timed by
// vitals_store_append_duration_seconds. Give the wrapped store to the
// Ingester; every other method is passed through unchanged.
func (m *Metrics) InstrumentStore(s eventstore.Store) eventstore.Store {
	return &timedStore{Store: s, m: m}
}

// timedStore times Append and AppendMany.
type timedStore struct {
	eventstore.Store
	m *Metrics
}

// Append implements eventstore.Store.
func (s *timedStore) Append(ctx context.Context, stream string, expected eventstore.Version, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	res, err := s.Store.Append(ctx, stream, expected, events...)
	s.m.appendDur.Observe(time.Since(start).Seconds())
	return res, err
}

// AppendMany implements eventstore.Store.
func (s *timedStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	start := time.Now()
	outs, err := s.Store.AppendMany(ctx, reqs)
	s.m.appendDur.Observe(time.Since(start).Seconds())
	return outs, err
}
