package scoring

import (
	"testing"
	"time"
)

// TestExtraReachIsPerKind: ExtraReach is how much further back than the
// live scorer's pruning keeps a kind of fact the candidate reads it — also
// when the candidate's longest window equals the live one — and 0 when the
// live state keeps all the candidate reads.
func TestExtraReachIsPerKind(t *testing.T) {
	live := mustScorer(t)
	long := DefaultConfig()
	long.Components.Response.WindowDays = 180
	candidate, err := New(long)
	if err != nil {
		t.Fatal(err)
	}
	if candidate.Horizon() != live.Horizon() {
		t.Fatalf("the case needs equal horizons: %v, %v", candidate.Horizon(), live.Horizon())
	}
	liveResponse := time.Duration(DefaultConfig().Components.Response.WindowDays) * day
	for _, c := range []struct {
		name            string
		candidate, live *Scorer
		keep            Reach
		want            time.Duration
	}{
		{"the live scorer itself", live, live, Reach{NPS: 180 * day, Messages: 30 * day}, 0},
		{"a longer response window", candidate, live, Reach{}, 180*day - liveResponse},
		{"a longer response window, messages kept 90 days", candidate, live, Reach{Messages: 90 * day}, TrendHorizon + 180*day - max(TrendHorizon+liveResponse, 90*day)},
		{"messages kept longer than the candidate reads", candidate, live, Reach{Messages: 400 * day}, 0},
		{"a shorter candidate", live, candidate, Reach{}, 0},
	} {
		if got := c.candidate.ExtraReach(c.live, c.keep); got != c.want {
			t.Errorf("%s: ExtraReach = %v, want %v", c.name, got, c.want)
		}
	}
}
