package projections

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/scoring"
)

// flushWorld is a store holding an account opened and then n touchpoints
// of it, and a projector on it that is not running.
func flushWorld(t *testing.T, n int) (*Projector, eventstore.Store) {
	t.Helper()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	store, err := bolt.Open(t.Context(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	raws := []string{`{"specversion":"1.0","id":"o","source":"t","type":"account.opened","subject":"acme","time":"2026-03-01T09:00:00Z","data":{"name":"Acme","mrr":2500}}`}
	for i := range n {
		raws = append(raws, fmt.Sprintf(`{"specversion":"1.0","id":"t%d","source":"t","type":"touchpoint.recorded","subject":"acme","time":"2026-03-0%dT10:00:00Z","data":{"channel":"email","direction":"outbound"}}`, i, 2+i))
	}
	var cands []ingest.Candidate
	for _, raw := range raws {
		ev, perr := domain.Parse([]byte(raw), now)
		if perr != nil {
			t.Fatal(perr)
		}
		cands = append(cands, ingest.Candidate{Event: ev})
	}
	if _, _, err := ingest.New(store).Ingest(t.Context(), cands); err != nil {
		t.Fatal(err)
	}
	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Store: store, Scorer: sc, Now: func() time.Time { return now }, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	return p, store
}

// TestLiveRescoresWaitForAWaiter: live, with nothing queued, applyBatch
// re-scores and publishes what it applied only once liveFlushEvery has
// passed since the last re-score, or at once when a WaitFor waits or an
// account takes its first events (its baseline); what it held back,
// flushApplied re-scores and publishes (Run calls it when the interval
// ends or a waiter arrives). Before, every batch that emptied the queue
// was re-scored: under a stream of commits, once per commit.
func TestLiveRescoresWaitForAWaiter(t *testing.T) {
	p, store := flushWorld(t, 3)
	recs, err := store.ReadAll(t.Context(), 0, 10)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	idle := make(chan decoded)              // nothing queued
	p.lastFlush = time.Now().Add(time.Hour) // the interval has not passed

	p.applyBatch(p.decode(recs[0]), idle) // account.opened: its baseline at once
	if got, rescores := p.Position(), p.rescores.Load(); got != recs[0].Position || rescores != 1 || len(p.dirty) != 0 {
		t.Fatalf("a new account: published %d after %d re-scores, %d accounts waiting; want %d, 1, 0", got, rescores, len(p.dirty), recs[0].Position)
	}
	p.applyBatch(p.decode(recs[1]), idle)
	if got, rescores := p.Position(), p.rescores.Load(); got != recs[0].Position || rescores != 1 || p.dirty["acme"] != 1 {
		t.Fatalf("no waiter: published %d after %d re-scores, %d events waiting; want %d, 1, 1", got, rescores, p.dirty["acme"], recs[0].Position)
	}

	p.waiters.Add(1)
	p.applyBatch(p.decode(recs[2]), idle)
	p.waiters.Add(-1)
	if got, rescores := p.Position(), p.rescores.Load(); got != recs[2].Position || rescores != 2 || len(p.dirty) != 0 {
		t.Fatalf("a waiter: published %d after %d re-scores, %d accounts waiting; want %d, 2, 0", got, rescores, len(p.dirty), recs[2].Position)
	}

	p.applyBatch(p.decode(recs[3]), idle)
	if got := p.Position(); got != recs[2].Position {
		t.Fatalf("no waiter: published %d, want %d", got, recs[2].Position)
	}
	p.flushApplied()
	if got, rescores := p.Position(), p.rescores.Load(); got != recs[3].Position || rescores != 3 {
		t.Fatalf("flushApplied: published %d after %d re-scores; want %d, 3", got, rescores, recs[3].Position)
	}
}

// TestLiveRescoresWithoutWaiters: a running projector that nobody waits on
// still re-scores and publishes what it applied, when the interval ends.
func TestLiveRescoresWithoutWaiters(t *testing.T) {
	p, store := flushWorld(t, 1)
	head, err := store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	deadline := time.Now().Add(30 * time.Second) // a bound on a hang, not a speed
	for p.Position() < head {
		if time.Now().After(deadline) {
			t.Fatalf("position %d after 30s without a waiter, want %d", p.Position(), head)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if p.rescores.Load() == 0 {
		t.Error("published without re-scoring")
	}
}

// TestSnapshotsAreRescored: a snapshot holds every account it holds
// re-scored, with its marks: applyBatch re-scores before a snapshot falls
// due, and stop before the final one. Otherwise a restart would take an
// account without a mark as its baseline, and the news of its events
// since would never be derived.
func TestSnapshotsAreRescored(t *testing.T) {
	p, store := flushWorld(t, 3)
	p.cfg.SnapshotPath = t.TempDir() + "/snapshot"
	p.cfg.SnapshotEvery, p.cfg.SnapshotInterval = 2, time.Hour
	p.lastSnap = time.Now()
	recs, err := store.ReadAll(t.Context(), 0, 10)
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	idle := make(chan decoded)
	p.lastFlush = time.Now().Add(time.Hour) // no re-score for the interval's sake

	p.applyBatch(p.decode(recs[0]), idle) // the account's baseline: re-scored
	p.sinceSnap = 0
	p.applyBatch(p.decode(recs[1]), idle) // 1 event: no snapshot due
	if len(p.dirty) == 0 {
		t.Fatalf("re-scored with no snapshot due")
	}
	p.applyBatch(p.decode(recs[2]), idle) // 2 events: a snapshot is due
	if got := p.Position(); got != recs[2].Position || len(p.dirty) != 0 {
		t.Fatalf("snapshot due: published %d with %d accounts waiting; want %d, 0", got, len(p.dirty), recs[2].Position)
	}
	p.sinceSnap = 0
	p.applyBatch(p.decode(recs[3]), idle)
	if len(p.dirty) == 0 {
		t.Fatal("re-scored with no snapshot due")
	}
	if err := p.stop(nil); err != nil {
		t.Fatal(err)
	}
	if got := p.Position(); got != recs[3].Position || len(p.dirty) != 0 {
		t.Fatalf("stopped: published %d with %d accounts waiting; want %d, 0", got, len(p.dirty), recs[3].Position)
	}
}
