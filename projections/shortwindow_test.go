package projections_test

import (
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// TestShortScoringWindowsKeepReadModelFacts: with every scoring window at
// 30 days, pruning must still keep the facts the read models look further
// back for (the portfolio's 180-day NPS), so the live answers equal those
// of a replay of the log.
func TestShortScoringWindowsKeepReadModelFacts(t *testing.T) {
	c := scoring.DefaultConfig()
	for _, comp := range []*scoring.ComponentConfig{&c.Components.NPS, &c.Components.Meetings, &c.Components.KPI, &c.Components.Invoices, &c.Components.Response} {
		comp.WindowDays = 30
	}
	scorer, err := scoring.New(c)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	live := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})
	head := ingestAll(t, store, demoEvents(t, 30, 12, now), now)
	waitFor(t, live, head)
	got := collect(t, live, time.Time{})
	if got.Portfolio.NPSResponses == 0 {
		t.Fatal("no NPS answers in the demo agency: the test proves nothing")
	}

	// The same instant by replaying the log (no pruning).
	tight := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop(), Retain: time.Nanosecond})
	waitFor(t, tight, head)
	clk.Set(now.Add(48 * time.Hour))
	tight.Refresh()
	equalJSON(t, "live and replayed portfolio", got.Portfolio.Portfolio, collect(t, tight, now).Portfolio.Portfolio)
}
