package projections_test

import (
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// TestReplayRescoresAtTheEnd: replaying the log up to the head found at
// start, the projector re-scores the accounts once at the end (and once a
// second on a long replay), not after every page of the log it reads.
func TestReplayRescoresAtTheEnd(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	head := ingestAll(t, store, demoEvents(t, 10, 12, now), now)
	start := time.Now()
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	waitFor(t, p, head)
	st := p.Stats()
	// One re-score of each account at the end, plus at most one a second.
	if limit := int64(st.Accounts) * (2 + int64(time.Since(start)/time.Second)); st.Rescores > limit {
		t.Fatalf("replaying %d events re-scored %d times; want at most %d (%d accounts)", st.Replayed, st.Rescores, limit, st.Accounts)
	}
}
