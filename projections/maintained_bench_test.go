package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// benchProjector is a projector holding a demo agency of n accounts
// (n/25 managers) over months months ending at now, applied directly and
// re-scored once, as after a restart.
func benchProjector(b *testing.B, n, months int, now time.Time) *Projector {
	b.Helper()
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	p, err := New(Config{Store: noStore{}, Scorer: scorer, Now: func() time.Time { return now }, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	st := NewState()
	cfg := demo.Config{Seed: 7, Accounts: n, Managers: max(n/25, 1), Months: months, End: now}
	err = demo.Generate(context.Background(), cfg, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, err := domain.Parse(raw, now)
		if err != nil {
			return err
		}
		st.Apply(ev)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	p.mu.Lock()
	p.state = st
	for id := range st.Accounts {
		p.dirty[id] = pruneEvery
	}
	p.flushDirty(now)
	p.mu.Unlock()
	return p
}

// BenchmarkLiveQueries measures the live queries, which read the
// maintained read models, at 2,000 and 20,000 accounts: the portfolio
// and one account stay flat, a list costs what it returns (the whole
// at-risk and upsell lists grow with the agency; a page of 100 of them,
// "at-risk-page", "at-risk-page-mid" and "upsell-page", and the accounts
// page do not),
// the capacity list grows with the managers (one per 25 accounts here).
// A list's items are kept until it changes, the capacity list until a
// manager's does ("at-risk-changed" and "managers-changed" put them
// together again each time).
// "recomputed" is the same query as of now evaluated from the state (the
// `?at=` path), for comparison.
func BenchmarkLiveQueries(b *testing.B) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	for _, size := range []struct{ accounts, months int }{{2000, 6}, {20000, 3}} {
		b.Run(fmt.Sprintf("accounts=%d", size.accounts), func(b *testing.B) {
			benchQueries(b, benchProjector(b, size.accounts, size.months, now), now, size.accounts <= 2000)
		})
	}
}

// benchQueries runs the live queries on p (and, when recomputed is set,
// the same as of now evaluated from the state).
func benchQueries(b *testing.B, p *Projector, now time.Time, recomputed bool) {
	ctx := context.Background()
	var one, mgr string
	p.mu.RLock()
	for id := range p.state.Accounts {
		one = id
		break
	}
	for id := range p.state.Managers {
		mgr = id
		break
	}
	p.mu.RUnlock()
	risk, err := p.AtRisk(ctx, time.Time{})
	if err != nil || len(risk.Items) < 200 {
		b.Fatalf("the at-risk list has %d items (%v): too few to page", len(risk.Items), err)
	}
	mid := cursorOf(&risk.Items[len(risk.Items)/2])
	queries := []struct {
		name string
		run  func(at time.Time) error
	}{
		{"at-risk", func(at time.Time) error { _, err := p.AtRisk(ctx, at); return err }},
		{"at-risk-changed", func(at time.Time) error {
			// As after a change of the list: its items are gathered again.
			p.mu.Lock()
			p.live.atRiskItems = nil
			p.mu.Unlock()
			_, err := p.AtRisk(ctx, at)
			return err
		}},
		{"upsell", func(at time.Time) error { _, err := p.Upsell(ctx, at); return err }},
		{"portfolio", func(at time.Time) error { _, err := p.Portfolio(ctx, at); return err }},
		{"managers", func(at time.Time) error { _, err := p.Capacity(ctx, at); return err }},
		{"managers-changed", func(at time.Time) error {
			// As after a change of one manager's accounts: the list is
			// put together again, that manager's view computed again.
			p.mu.Lock()
			p.live.forget(mgr)
			p.mu.Unlock()
			_, err := p.Capacity(ctx, at)
			return err
		}},
		{"accounts-page", func(at time.Time) error {
			_, err := p.Accounts(ctx, AccountFilter{Status: domain.StatusActive, Limit: 100, After: "m"}, at)
			return err
		}},
		{"accounts-page-churned", func(at time.Time) error {
			_, err := p.Accounts(ctx, AccountFilter{Status: domain.StatusChurned, Limit: 100}, at)
			return err
		}},
		{"account", func(at time.Time) error { _, _, err := p.Account(ctx, one, at); return err }},
		{"summary", func(time.Time) error { _, err := p.Summary(ctx); return err }},
		// A page of 100 of the list, at its start and from a cursor in its
		// middle: they seek in the maintained list, so they cost the
		// same at either size.
		{"at-risk-page", func(at time.Time) error { _, err := p.AtRiskPage(ctx, at, ListPage{Limit: 100}); return err }},
		{"at-risk-page-mid", func(at time.Time) error {
			_, err := p.AtRiskPage(ctx, at, ListPage{After: mid, Limit: 100})
			return err
		}},
		{"upsell-page", func(at time.Time) error { _, err := p.UpsellPage(ctx, at, ListPage{Limit: 100}); return err }},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := q.run(time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	if !recomputed {
		return
	}
	for _, q := range []int{0, 2, 3, 4} { // at-risk, upsell, portfolio, managers
		q := queries[q]
		b.Run("recomputed/"+q.name, func(b *testing.B) {
			for b.Loop() {
				if err := q.run(now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
