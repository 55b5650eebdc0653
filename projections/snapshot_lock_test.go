package projections_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
)

// gateSink is a TransitionSink whose Sync, the first time the projector
// has applied position from, tells entered and waits for release: it holds
// that snapshot write at the point where the snapshot is about to be
// encoded and synced.
type gateSink struct {
	proj    atomic.Pointer[projections.Projector]
	from    atomic.Uint64
	entered chan struct{}
	release chan struct{}
}

func (s *gateSink) Transitions([]projections.Transition) {}

func (s *gateSink) Sync(ctx context.Context) error {
	p := s.proj.Load()
	from := s.from.Load()
	if p == nil || from == 0 || uint64(p.Position()) < from || !s.from.CompareAndSwap(from, 0) {
		return nil
	}
	close(s.entered)
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestSnapshotWriteDoesNotBlockRescores: while a snapshot is being made
// durable (the outbox synced, the state encoded and fsynced), the
// projector's lock is free, so a query's re-score of a due account (which
// takes the write lock) and the queries queued behind it are not held up.
func TestSnapshotWriteDoesNotBlockRescores(t *testing.T) {
	clk := &clock{t: flipStart}
	store := openStore(t)
	gate := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	p := runProjector(t, projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
		Transitions: gate, SnapshotPath: filepath.Join(t.TempDir(), "snapshot"), SnapshotEvery: 1, SnapshotInterval: time.Hour})
	gate.proj.Store(p)
	head := post(t, store, flipStart, flipOpened, flipNPS)
	waitFor(t, p, head)

	gate.from.Store(uint64(head) + 1)
	waitFor(t, p, post(t, store, flipStart, flipInvoice)) // its snapshot stops at the gate
	<-gate.entered

	clk.Set(flipRed.Add(time.Hour)) // the invoice's ageing is due: Refresh takes the write lock
	refreshed := make(chan struct{})
	go func() { p.Refresh(); close(refreshed) }()
	select {
	case <-refreshed:
	case <-time.After(30 * time.Second): // a deadlock detector, not a speed bound
		close(gate.release)
		<-refreshed
		t.Fatal("a re-score waited for the snapshot write: the projector's lock is held while the snapshot is made durable")
	}
	close(gate.release)
	h, err := p.Health(context.Background(), "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Band != "red" {
		t.Errorf("band after the re-score: %s, want red", h.Band)
	}
}
