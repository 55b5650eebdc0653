package projections_test

import (
	"context"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
)

// twiceStore delivers every record twice, at positions 2p−1 and 2p, with
// the same key: what a store that failed to deduplicate a retry looks like
// to the projector (EventStoreDB dedupes only within its cache).
type twiceStore struct{ eventstore.Store }

func (s twiceStore) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		for rec, err := range s.Store.Subscribe(ctx, after/2) {
			if err != nil {
				yield(rec, err)
				return
			}
			p := rec.Position
			for _, pos := range []eventstore.Position{2*p - 1, 2 * p} {
				if pos <= after {
					continue
				}
				rec.Position = pos
				if !yield(rec, nil) {
					return
				}
			}
		}
	}
}

type countSkips struct{ duplicates atomic.Int64 }

func (c *countSkips) Applied(eventstore.Position, time.Time, int) {}
func (c *countSkips) Rescored(int)                                {}
func (c *countSkips) Corrupt([]eventstore.Position)               {}
func (c *countSkips) Skipped(reason string) {
	if reason == "duplicate" {
		c.duplicates.Add(1)
	}
}

func TestDuplicatesFromTheStoreAreNotCounted(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	head := ingestAll(t, store, demoEvents(t, 15, 6, now), now)

	plain := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now})
	waitFor(t, plain, head)
	want := collect(t, plain, time.Time{})

	skips := &countSkips{}
	deduped := runProjector(t, projections.Config{Store: twiceStore{store}, Scorer: scorer, Now: clk.Now, DedupeKeys: true, Observer: skips})
	waitFor(t, deduped, 2*head)
	if got := skips.duplicates.Load(); got != int64(head) {
		t.Fatalf("skipped %d duplicates, want %d", got, head)
	}
	got := collect(t, deduped, time.Time{})
	// Positions differ (the doubled log is twice as long); everything else
	// must be equal.
	strip := func(e *everything) {
		e.Accounts.Position, e.AtRisk.Position, e.Upsell.Position, e.Capacity.Position, e.Portfolio.Position = 0, 0, 0, 0, 0
		for id, h := range e.Health {
			h.Position = 0
			e.Health[id] = h
		}
	}
	strip(&want)
	strip(&got)
	equalJSON(t, "single and doubled log", want, got)

	// Even without key deduplication the state is idempotent per event
	// (facts are keyed by their event), so nothing is counted twice.
	undeduped := runProjector(t, projections.Config{Store: twiceStore{store}, Scorer: scorer, Now: clk.Now})
	waitFor(t, undeduped, 2*head)
	again := collect(t, undeduped, time.Time{})
	strip(&again)
	equalJSON(t, "single and doubled log without key dedupe", want, again)
}
