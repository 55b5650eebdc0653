package projections_test

import (
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// TestReplayRescoresAtTheEnd: replaying the log up to the head found at
// start, the projector re-scores the accounts at the end, once a second on
// a long replay and an account after every 64 of its events (which prunes
// it), not every account after every page of the log it reads.
func TestReplayRescoresAtTheEnd(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	head := ingestAll(t, store, demoEvents(t, 30, 12, now), now)
	start := time.Now()
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	waitFor(t, p, head)
	st := p.Stats()
	// One re-score of each account at the end, at most one a second, and
	// one per 64 events of an account.
	if limit := st.Replayed/64 + int64(st.Accounts)*(2+int64(time.Since(start)/time.Second)); st.Rescores > limit {
		t.Fatalf("replaying %d events re-scored %d times; want at most %d (%d accounts)", st.Replayed, st.Rescores, limit, st.Accounts)
	}
}
