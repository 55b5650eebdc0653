package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// TestHealthWithReadsPastPerKindPruning: a candidate config that lengthens
// one component's window without lengthening the longest one reads facts of
// that kind that the live state (pruned per kind to the live windows) no
// longer holds; HealthWith must replay them and answer as a projector
// running the candidate as its live scorer does.
func TestHealthWithReadsPastPerKindPruning(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	head := post(t, store, now,
		`{"specversion":"1.0","id":"1","source":"t","type":"account.opened","subject":"acme","time":"2025-06-01T08:00:00Z","data":{"name":"Acme","mrr":2500}}`,
		`{"specversion":"1.0","id":"2","source":"t","type":"message.received","subject":"acme","time":"2025-11-01T08:00:00Z","data":{"message_id":"m1"}}`,
		`{"specversion":"1.0","id":"3","source":"t","type":"message.received","subject":"acme","time":"2026-02-20T08:00:00Z","data":{"message_id":"m2"}}`,
		`{"specversion":"1.0","id":"4","source":"t","type":"message.replied","subject":"acme","time":"2026-02-20T08:30:00Z","data":{"message_id":"m2"}}`,
	)
	liveSc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	long := scoring.DefaultConfig()
	long.Components.Response.WindowDays = 180
	candidate, err := scoring.New(long)
	if err != nil {
		t.Fatal(err)
	}
	if liveSc.Horizon() != candidate.Horizon() {
		t.Fatalf("the candidate's longest window differs from the live one (%v, %v): the test needs them equal", candidate.Horizon(), liveSc.Horizon())
	}
	clock := func() time.Time { return now }
	p := runProjector(t, projections.Config{Store: store, Scorer: liveSc, Now: clock})
	ref := runProjector(t, projections.Config{Store: store, Scorer: candidate, Now: clock})
	waitFor(t, p, head)
	waitFor(t, ref, head)
	p.Refresh()
	ref.Refresh()
	ctx := context.Background()
	for _, at := range []time.Time{{}, now.AddDate(0, 0, -3)} {
		got, err := p.HealthWith(ctx, "acme", at, candidate)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Health(ctx, "acme", at)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := ptrVal(got.Score), ptrVal(want.Score); g != w || got.Band != want.Band {
			t.Errorf("at %v: HealthWith under the candidate = %v (%s); the candidate as the live scorer = %v (%s)", at, g, got.Band, w, want.Band)
		}
	}
}
