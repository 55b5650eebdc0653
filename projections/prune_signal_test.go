package projections

import (
	"reflect"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// TestPruneKeepsARecentResolution: a signal last raised before the signal
// window but resolved within it keeps its resolution through a prune, so a
// raise back-dated between the two is closed by it as a full replay (no
// pruning) closes it, and the account shows no open signal.
func TestPruneKeepsARecentResolution(t *testing.T) {
	d := func(n int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n) }
	raise := func(id string, at time.Time) domain.Event {
		return domain.Event{ID: id, Source: "s", Type: domain.TypeSignalRaised, Subject: "a", Time: at, Payload: domain.SignalRaised{SignalID: "x", Kind: "champion_left"}}
	}
	evs := []domain.Event{
		{ID: "o", Source: "s", Type: domain.TypeAccountOpened, Subject: "a", Time: d(-400), Payload: domain.AccountOpened{Name: "A"}},
		raise("r1", d(-200)),
		{ID: "z", Source: "s", Type: domain.TypeSignalResolved, Subject: "a", Time: d(-10), Payload: domain.SignalResolved{SignalID: "x"}},
	}
	late := raise("r2", d(-20)) // after the prune cutoff d(-90), before the resolution
	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	live, replay := NewState(), NewState()
	for _, ev := range evs {
		live.Apply(ev)
		replay.Apply(ev)
	}
	live.Accounts["a"].pruneFacts(sc, d(0))
	live.Apply(late)
	replay.Apply(late)
	for _, at := range []time.Time{d(-15), d(-10), d(0), d(1)} {
		got, want := live.Accounts["a"].openSignals(at, signalWindow), replay.Accounts["a"].openSignals(at, signalWindow)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("open signals at %s after a prune and a back-dated raise: %+v; a full replay: %+v", at.Format(time.DateOnly), got, want)
		}
	}
}
