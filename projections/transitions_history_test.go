package projections_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
)

// historySink is a sink that keeps what it stored (like the outbox) and
// can lose what it is handed (a crash before the append).
type historySink struct {
	sink
	lose bool
}

func (s *historySink) Transitions(ts []projections.Transition) {
	if !s.lose {
		s.sink.Transitions(ts)
	}
}

func (s *historySink) LastTransitions(context.Context) ([]projections.Transition, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]projections.Transition(nil), s.got...), nil
}

// TestTransitionsRestartAfterStoredTransition: green→red is stored; red→
// green is derived and lost (a kill before the append); the restart
// resumes from a snapshot written before both, whose marks say green. The
// account is green, as the snapshot says, but the outbox's last word is
// red: the restart must derive red→green again, not take the snapshot's
// green as still derived.
func TestTransitionsRestartAfterStoredTransition(t *testing.T) {
	clk := &clock{t: flipStart}
	store := openStore(t)
	snap := t.TempDir() + "/snap"
	s := &historySink{}
	cfg := projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
		Transitions: s, TransitionDebounce: debounce, SnapshotPath: snap}
	start := func() (*projections.Projector, func()) { return startStoppable(t, cfg) }
	p, stop := start()
	waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS, flipInvoice))
	settle(t, p, clk, flipStart.Add(time.Hour)) // the baseline: green
	stop()
	green, err := os.ReadFile(snap) // the marks say green
	if err != nil {
		t.Fatal(err)
	}

	p, stop = start()
	settle(t, p, clk, flipRed.Add(debounce)) // green→red, stored
	untilLines(t, p, &s.sink, 2)
	expectLines(t, &s.sink,
		"band acme green→red @2026-03-17T00:00:00Z",
		"at_risk acme →health_red,overdue_invoice @2026-03-17T00:00:00Z",
	)
	clk.Set(flipPaid)
	s.lose = true // red→green is derived and lost
	waitFor(t, p, post(t, store, flipPaid, flipPayment))
	settle(t, p, clk, flipPaid.Add(debounce))
	waitFor(t, p, 4)
	stop()
	s.lose = false
	if err := os.WriteFile(snap, green, 0o600); err != nil { // the kill left the older snapshot
		t.Fatal(err)
	}

	p, stop = start()
	defer stop()
	settle(t, p, clk, flipPaid.Add(2*debounce))
	waitFor(t, p, 4)
	untilLines(t, p, &s.sink, 4)
	expectLines(t, &s.sink,
		"band acme green→red @2026-03-17T00:00:00Z",
		"at_risk acme →health_red,overdue_invoice @2026-03-17T00:00:00Z",
		"band acme red→green @2026-03-18T10:00:00Z",
		"at_risk acme health_red,overdue_invoice→ @2026-03-18T10:00:00Z",
	)
}

// untilLines refreshes p until s holds n transitions, or a generous
// deadline passes (a started projector ends its catch-up in Run).
func untilLines(t *testing.T, p *projections.Projector, s *sink, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.lines()) < n && time.Now().Before(deadline) {
		p.Refresh()
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTransitionsRestartNewAccountAfterStoredTransition: as above, but the
// snapshot the restart resumes from predates the account itself, so it
// holds no mark for it: the outbox's last word (red) must still be the
// baseline, and red→green derived again — not a fresh baseline of green
// that swallows it.
func TestTransitionsRestartNewAccountAfterStoredTransition(t *testing.T) {
	clk := &clock{t: flipStart}
	store := openStore(t)
	snap := t.TempDir() + "/snap"
	s := &historySink{}
	cfg := projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
		Transitions: s, TransitionDebounce: debounce, SnapshotPath: snap}
	start := func() (*projections.Projector, func()) { return startStoppable(t, cfg) }
	// A snapshot of an agency without acme.
	p, stop := start()
	waitFor(t, p, post(t, store, flipStart,
		`{"specversion":"1.0","id":"m1","source":"t","type":"manager.joined","subject":"sam","time":"2026-03-01T08:00:00Z","data":{"name":"Sam","capacity_points":10}}`))
	stop()
	before, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}

	p, stop = start()
	waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS, flipInvoice))
	settle(t, p, clk, flipStart.Add(time.Hour)) // the baseline: green
	settle(t, p, clk, flipRed.Add(debounce))    // green→red, stored
	untilLines(t, p, &s.sink, 2)
	clk.Set(flipPaid)
	s.lose = true // red→green is derived and lost
	waitFor(t, p, post(t, store, flipPaid, flipPayment))
	settle(t, p, clk, flipPaid.Add(debounce))
	waitFor(t, p, 5)
	stop()
	s.lose = false
	if err := os.WriteFile(snap, before, 0o600); err != nil { // the kill left the older snapshot
		t.Fatal(err)
	}

	p, stop = start()
	defer stop()
	settle(t, p, clk, flipPaid.Add(2*debounce))
	waitFor(t, p, 5)
	untilLines(t, p, &s.sink, 4)
	expectLines(t, &s.sink,
		"band acme green→red @2026-03-17T00:00:00Z",
		"at_risk acme →health_red,overdue_invoice @2026-03-17T00:00:00Z",
		"band acme red→green @2026-03-18T10:00:00Z",
		"at_risk acme health_red,overdue_invoice→ @2026-03-18T10:00:00Z",
	)
}
