// Package testworld is the tests' fixture for "a store, events ingested
// into it, and a projector caught up with them": one place for what the
// api, console, metrics and projections tests all need. Only tests import
// it.
package testworld

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// CatchUpTimeout bounds how long WaitFor waits for a projector.
const CatchUpTimeout = 5 * time.Minute

// OpenStore opens an empty bolt store in a temp directory, closed when tb
// ends.
func OpenStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(context.Background(), tb.TempDir(), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Scorer is a scorer with the default configuration.
func Scorer(tb testing.TB) *scoring.Scorer {
	tb.Helper()
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// Demo generates the demo agency cfg describes as raw CloudEvents.
func Demo(tb testing.TB, cfg demo.Config) [][]byte {
	tb.Helper()
	var out [][]byte
	err := demo.Generate(context.Background(), cfg, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		out = append(out, raw)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// IngestBatch is how many events Ingest appends per request.
const IngestBatch = 1000

// Ingest parses raws as received at now and appends them through in, in
// order and in batches; any rejection fails tb. It answers the highest
// position written.
func Ingest(tb testing.TB, in *ingest.Ingester, raws [][]byte, now time.Time) eventstore.Position {
	tb.Helper()
	var head eventstore.Position
	for i := 0; i < len(raws); i += IngestBatch {
		var cands []ingest.Candidate
		for _, raw := range raws[i:min(i+IngestBatch, len(raws))] {
			ev, err := domain.Parse(raw, now)
			cands = append(cands, ingest.Candidate{Event: ev, Err: err})
		}
		head = max(head, IngestCandidates(tb, in, cands))
	}
	return head
}

// IngestCandidates appends cands as one request; any rejection fails tb.
// It answers the highest position written.
func IngestCandidates(tb testing.TB, in *ingest.Ingester, cands []ingest.Candidate) eventstore.Position {
	tb.Helper()
	results, pos, err := in.Ingest(context.Background(), cands)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range results {
		if r.Status == ingest.Rejected {
			tb.Fatalf("event %s rejected: %s: %s", r.ID, r.Error.Field, r.Error.Message)
		}
	}
	return pos
}

// RunProjector starts a projector with cfg and stops it when tb ends, failing tb if Run returned an error.
func RunProjector(tb testing.TB, cfg projections.Config) *projections.Projector {
	tb.Helper()
	p, err := projections.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("projector: %v", err)
		}
	})
	return p
}

// WaitFor waits until p has applied pos, failing tb after CatchUpTimeout.
func WaitFor(tb testing.TB, p *projections.Projector, pos eventstore.Position) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CatchUpTimeout)
	defer cancel()
	if err := p.WaitFor(ctx, pos); err != nil {
		tb.Fatal(fmt.Errorf("projector did not catch up with position %d: %w", pos, err))
	}
}

// World is a store, the ingester writing to it, and a projector caught up
// with the events it was built from.
type World struct {
	Store     *bolt.Store
	Ingester  *ingest.Ingester
	Projector *projections.Projector
	// Head is the store's last position once the events are in.
	Head eventstore.Position
	// Now is the fixed instant the projector's clock answers.
	Now time.Time
}

// Options are a World's optional parts.
type Options struct {
	// Wrap wraps the store the ingester writes to (fault injection,
	// counting); nil writes to the store itself.
	Wrap func(eventstore.Store) eventstore.Store
	// Observer is the projector's observer.
	Observer projections.Observer
}

// New builds a World: raws ingested into a fresh store as received at
// now, then a projector (default scoring, clock fixed at now) run until it
// has applied them all, and stopped when tb ends.
func New(tb testing.TB, raws [][]byte, now time.Time, opts Options) *World {
	tb.Helper()
	store := OpenStore(tb)
	var target eventstore.Store = store
	if opts.Wrap != nil {
		target = opts.Wrap(store)
	}
	w := &World{Store: store, Ingester: ingest.New(target), Now: now}
	Ingest(tb, w.Ingester, raws, now)
	head, err := store.Head(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	w.Head = head
	w.Projector = RunProjector(tb, projections.Config{
		Store: store, Scorer: Scorer(tb), Now: func() time.Time { return now }, Logger: zerolog.Nop(), Observer: opts.Observer,
	})
	WaitFor(tb, w.Projector, head)
	return w
}
