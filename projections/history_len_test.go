package projections_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// TestHistoryLenPastDurationRange: a span longer than a time.Duration holds
// (~292 years) is counted exactly, so it cannot slip under the point cap
// (issue 9, item 7: from=0001-01-01 with step=22d gave 33,633 points).
func TestHistoryLenPastDurationRange(t *testing.T) {
	from := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	step := 22 * 24 * time.Hour
	days := (to.Unix() - from.Unix()) / 86400
	if got, want := projections.HistoryLen(from, to, step), days/22+1; got != want || got <= projections.MaxHistoryPoints {
		t.Fatalf("HistoryLen(0001→2026, 22d) = %d, want %d", got, want)
	}
	for _, c := range []struct {
		from, to time.Time
		step     time.Duration
		want     int64
	}{
		{to, to, time.Minute, 1},
		{to, to.Add(time.Hour), time.Minute, 61},
		{to, to.Add(time.Hour - 1), time.Minute, 60},
		{time.Unix(0, 1), time.Unix(1, 0), 1, 1e9},
		{time.Date(-290000000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(290000000, 1, 1, 0, 0, 0, 0, time.UTC), 1, math.MaxInt64},
	} {
		if got := projections.HistoryLen(c.from, c.to, c.step); got != c.want {
			t.Errorf("HistoryLen(%v, %v, %v) = %d, want %d", c.from, c.to, c.step, got, c.want)
		}
	}
}

// TestHistoryRefusesSpanPastDurationRange: History itself applies the cap
// with the exact count.
func TestHistoryRefusesSpanPastDurationRange(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	p := runProjector(t, projections.Config{Store: openStore(t), Scorer: newScorer(t), Now: clk.Now})
	_, _, err := p.History(context.Background(), "acme", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), now, 22*24*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "at most 5000") {
		t.Fatalf("History from year 1, step 22d: %v, want the point cap", err)
	}
}
