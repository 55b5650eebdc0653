package projections_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// sink records the transitions a projector hands on.
type sink struct {
	mu  sync.Mutex
	got []projections.Transition
}

func (s *sink) Transitions(ts []projections.Transition) {
	s.mu.Lock()
	s.got = append(s.got, ts...)
	s.mu.Unlock()
}

func (s *sink) Sync(context.Context) error { return nil }

// lines describes the transitions as "kind subject from→to @instant".
func (s *sink) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, tr := range s.got {
		out = append(out, fmt.Sprintf("%s %s %s→%s @%s", tr.Kind, tr.Subject, tr.From, tr.To, tr.At.UTC().Format(time.RFC3339)))
	}
	return out
}

func expectLines(t *testing.T, s *sink, want ...string) {
	t.Helper()
	got := s.lines()
	if !slices.Equal(got, want) {
		t.Fatalf("transitions:\n got  %s\n want %s", strings.Join(got, "\n      "), strings.Join(want, "\n      "))
	}
}

// flipScorer weighs an unpaid invoice so that an account with a perfect
// NPS is green until the invoice is 15 days late and red from then on; a
// paid invoice stops counting a day after its due date, so the payment
// makes it green again.
func flipScorer(t *testing.T) *scoring.Scorer {
	t.Helper()
	c := scoring.DefaultConfig()
	c.Components.Invoices.Weight = 30
	c.Components.Invoices.WindowDays = 1
	c.Points.Yellow = 80
	s, err := scoring.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	flipOpened  = `{"specversion":"1.0","id":"1","source":"t","type":"account.opened","subject":"acme","time":"2026-03-01T08:00:00Z","data":{"name":"Acme","mrr":2500}}`
	flipNPS     = `{"specversion":"1.0","id":"2","source":"t","type":"nps.responded","subject":"acme","time":"2026-03-01T08:00:00Z","data":{"score":10}}`
	flipInvoice = `{"specversion":"1.0","id":"3","source":"t","type":"invoice.issued","subject":"acme","time":"2026-03-01T08:00:00Z","data":{"invoice_id":"inv-1","amount":2500,"due_date":"2026-03-02"}}`
	flipPayment = `{"specversion":"1.0","id":"4","source":"t","type":"payment.received","subject":"acme","time":"2026-03-18T10:00:00Z","data":{"invoice_id":"inv-1","amount":2500}}`
)

var (
	flipStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	flipRed   = time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC) // 15 days after the due date
	flipPaid  = time.Date(2026, 3, 18, 10, 0, 0, 0, time.UTC)
	debounce  = 15 * time.Minute
)

// startStoppable starts a projector on cfg; stop stops it and waits for it
// (a stop writes the final snapshot), so that a test can restart one.
func startStoppable(t *testing.T, cfg projections.Config) (p *projections.Projector, stop func()) {
	t.Helper()
	p, err := projections.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return p, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func settle(t *testing.T, p *projections.Projector, clk *clock, at time.Time) {
	t.Helper()
	clk.Set(at)
	p.Refresh()
}

// TestTransitionsGreenRedGreen: an account turns red when its invoice ages
// (no event at that instant), the transition is derived once it has held
// for the debounce time, with the instant it happened; a payment makes it
// green again. Exactly these transitions, at these instants.
func TestTransitionsGreenRedGreen(t *testing.T) {
	clk := &clock{t: flipStart}
	store := openStore(t)
	s := &sink{}
	p := runProjector(t, projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
		Transitions: s, TransitionDebounce: debounce})
	waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS, flipInvoice))
	settle(t, p, clk, flipStart.Add(time.Hour))
	expectLines(t, s) // the baseline: nothing

	settle(t, p, clk, flipRed.Add(-time.Minute))
	expectLines(t, s) // the invoice is late but the account still green
	settle(t, p, clk, flipRed.Add(debounce-time.Second))
	expectLines(t, s) // red, but not for the debounce time yet
	settle(t, p, clk, flipRed.Add(debounce))
	expectLines(t, s,
		"band acme green→red @2026-03-17T00:00:00Z",
		"at_risk acme →health_red,overdue_invoice @2026-03-17T00:00:00Z",
	)
	tr := s.got[0]
	if tr.ToAccount == nil || tr.FromAccount == nil || tr.ToAccount.Band != scoring.BandRed || tr.FromAccount.Band != scoring.BandGreen ||
		!tr.DerivedAt.Equal(flipRed.Add(debounce)) {
		t.Fatalf("band transition details: %+v", tr)
	}

	clk.Set(flipPaid)
	waitFor(t, p, post(t, store, flipPaid, flipPayment))
	settle(t, p, clk, flipPaid.Add(debounce))
	expectLines(t, s,
		"band acme green→red @2026-03-17T00:00:00Z",
		"at_risk acme →health_red,overdue_invoice @2026-03-17T00:00:00Z",
		"band acme red→green @2026-03-18T10:00:00Z",
		"at_risk acme health_red,overdue_invoice→ @2026-03-18T10:00:00Z",
	)
	settle(t, p, clk, flipPaid.Add(10*24*time.Hour))
	if n := len(s.lines()); n != 4 {
		t.Fatalf("%d transitions after ten quiet days, want still 4", n)
	}
}

// TestTransitionsFlapDebounced: a change that reverts within the debounce
// time is never derived.
func TestTransitionsFlapDebounced(t *testing.T) {
	clk := &clock{t: flipStart}
	store := openStore(t)
	s := &sink{}
	p := runProjector(t, projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
		Transitions: s, TransitionDebounce: debounce})
	waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS, flipInvoice))
	settle(t, p, clk, flipRed.Add(5*time.Minute))
	paid := strings.Replace(flipPayment, "2026-03-18T10:00:00Z", "2026-03-17T00:05:00Z", 1)
	waitFor(t, p, post(t, store, clk.Now(), paid))
	settle(t, p, clk, flipRed.Add(time.Hour))
	expectLines(t, s)
}

// TestTransitionsOnlyNews: back-dated events that change the past, an
// import of two years of history and a projector starting from an empty
// state (a rebuild, a catch-up without snapshot) derive nothing.
func TestTransitionsOnlyNews(t *testing.T) {
	t.Run("back-dated", func(t *testing.T) {
		clk := &clock{t: flipStart}
		store := openStore(t)
		s := &sink{}
		p := runProjector(t, projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
			Transitions: s, TransitionDebounce: debounce})
		waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS))
		now := flipStart.Add(10 * 24 * time.Hour)
		settle(t, p, clk, now)
		// An override set three days ago: the band changed in the past.
		waitFor(t, p, post(t, store, now,
			`{"specversion":"1.0","id":"o","source":"t","type":"health.overridden","subject":"acme","time":"2026-03-08T09:00:00Z","data":{"band":"red","reason":"escalation","author":"cs"}}`))
		settle(t, p, clk, now.Add(time.Hour))
		expectLines(t, s)
		// The same change within the window is news.
		waitFor(t, p, post(t, store, clk.Now(),
			`{"specversion":"1.0","id":"c","source":"t","type":"health.override_cleared","subject":"acme","time":"2026-03-11T09:30:00Z","data":{}}`))
		settle(t, p, clk, now.Add(2*time.Hour))
		expectLines(t, s, "band acme red→green @2026-03-11T09:30:00Z", "at_risk acme health_red→ @2026-03-11T09:30:00Z")
	})
	t.Run("import", func(t *testing.T) {
		now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
		clk := &clock{t: now}
		store := openStore(t)
		s := &sink{}
		p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
			Transitions: s, TransitionDebounce: debounce})
		waitFor(t, p, ingestAll(t, store, demoEvents(t, 40, 24, now), now)) // live, while the projector runs
		settle(t, p, clk, now.Add(debounce))
		expectLines(t, s)
	})
	t.Run("empty state", func(t *testing.T) {
		now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
		clk := &clock{t: now}
		store := openStore(t)
		head := ingestAll(t, store, demoEvents(t, 40, 24, now), now)
		s := &sink{}
		p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
			Transitions: s, TransitionDebounce: debounce})
		waitFor(t, p, head)
		settle(t, p, clk, now.Add(debounce))
		expectLines(t, s)
	})
}

// TestTransitionsRestart: a projector stopped while a transition is
// pending (its snapshot holds the state before it), restarted from the
// snapshot, derives exactly what one that kept running derives; a rebuild
// then derives nothing new.
func TestTransitionsRestart(t *testing.T) {
	derive := func(t *testing.T, restart bool) []projections.Transition {
		clk := &clock{t: flipStart}
		store := openStore(t)
		snap := t.TempDir() + "/snap"
		s := &sink{}
		cfg := projections.Config{Store: store, Scorer: flipScorer(t), Now: clk.Now, Logger: zerolog.Nop(),
			Transitions: s, TransitionDebounce: debounce, SnapshotPath: snap}
		start := func() (*projections.Projector, func()) { return startStoppable(t, cfg) }
		p, stop := start()
		waitFor(t, p, post(t, store, flipStart, flipOpened, flipNPS, flipInvoice))
		settle(t, p, clk, flipRed.Add(time.Minute)) // red, pending
		if restart {
			stop() // the snapshot holds the marks from before the red
			p, stop = start()
		}
		settle(t, p, clk, flipRed.Add(2*debounce))
		waitFor(t, p, eventstore.Position(3))
		deadline := time.Now().Add(10 * time.Second)
		for len(s.lines()) < 2 && time.Now().Before(deadline) {
			p.Refresh()
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if restart { // a rebuild, then a start from its snapshot: nothing new
			if _, err := projections.Rebuild(context.Background(), cfg, 3, nil); err != nil {
				t.Fatal(err)
			}
			n := len(s.lines())
			settle(t, runProjector(t, cfg), clk, flipRed.Add(3*debounce))
			if got := s.lines(); len(got) != n {
				t.Fatalf("after a rebuild: %v, want nothing new", got[n:])
			}
		}
		return s.got
	}
	kept, restarted := derive(t, false), derive(t, true)
	if len(kept) != 2 {
		t.Fatalf("kept running: %d transitions, want 2", len(kept))
	}
	for i := range kept {
		a, b := kept[i], restarted[i]
		if a.Kind != b.Kind || a.Subject != b.Subject || !a.At.Equal(b.At) || a.From != b.From || a.To != b.To {
			t.Errorf("transition %d: kept running %+v, restarted %+v", i, a, b)
		}
	}
}
