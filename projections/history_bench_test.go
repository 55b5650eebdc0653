package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// BenchmarkHistory365 is GET …/health/history over a year of daily points
// (365 + 1) for one account of a two-year demo agency: its stream is
// replayed once (the year reaches before the retention horizon) and scored
// at every day.
func BenchmarkHistory365(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(b)
	head := ingestAll(b, store, demoEvents(b, 20, 24, now), now)
	p := runProjector(b, projections.Config{Store: store, Scorer: newScorer(b), Now: func() time.Time { return now }})
	waitFor(b, p, head)
	page, err := p.Accounts(context.Background(), projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil || len(page.Items) == 0 {
		b.Fatal("no account", err)
	}
	id := page.Items[0].ID
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pts, _, err := p.History(ctx, id, now.AddDate(0, 0, -365), now, 24*time.Hour)
		if err != nil || len(pts) != 366 {
			b.Fatal(len(pts), err)
		}
	}
	b.ReportMetric(float64(head)/20, "events/account")
}
