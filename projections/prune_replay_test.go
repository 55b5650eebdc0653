package projections

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/internal/gobcopy"
	"github.com/vitals-hq/vitals/scoring"
)

// TestReplayPrunesToTheRetention: after the projector has followed a log
// written in time order, every account's facts are pruned as far as its
// past scores allow — also an account that takes no event after the
// early part of the log, and facts that arrive after the account was
// pruned — or the projector holds months more facts than it needs.
func TestReplayPrunesToTheRetention(t *testing.T) {
	end := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	store, err := bolt.Open(ctx, t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var early, late []ingest.Candidate
	err = demo.Generate(ctx, demo.Config{Seed: 5, Accounts: 20, Managers: 3, Months: 12, End: end}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, end)
		if perr == nil && ev.Time.Before(end.AddDate(0, 0, -200)) {
			early = append(early, ingest.Candidate{Event: ev})
		} else {
			late = append(late, ingest.Candidate{Event: ev, Err: perr})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One account takes nothing after the early part.
	quiet := ""
	for _, c := range early {
		if c.Event.Type == domain.TypeAccountOpened {
			quiet = c.Event.Subject
			break
		}
	}
	late = slices.DeleteFunc(late, func(c ingest.Candidate) bool { return c.Err == nil && c.Event.Subject == quiet })

	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Config{Store: store, Scorer: sc, Now: func() time.Time { return end }, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	in := ingest.New(store)
	for _, part := range [][]ingest.Candidate{early, late} {
		var head eventstore.Position
		for i := 0; i < len(part); i += 500 {
			_, pos, err := in.Ingest(ctx, part[i:min(i+500, len(part))])
			if err != nil {
				t.Fatal(err)
			}
			head = max(head, pos)
		}
		wait, stop := context.WithTimeout(ctx, time.Minute)
		err := p.WaitFor(wait, head)
		stop()
		if err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Each account is pruned to the horizon, or — while past scores wait
	// for its own events to pass their days by the retention (keepPast) —
	// to the grid day after its latest event less the retention.
	target := end.Add(-DefaultRetain)
	for id, a := range p.state.Accounts {
		want := target
		if held := a.Latest.Add(-DefaultRetain - PastStep); held.Before(want) {
			want = held
		}
		// Nothing is left that a prune to PrunedTo would drop: facts
		// that arrived after the account was pruned were pruned too.
		again := gobcopy.Copy(a)
		sc.Prune(&again.Scoring, a.PrunedTo)
		again.prune(a.PrunedTo)
		if !reflect.DeepEqual(again, a) {
			t.Errorf("account %s holds facts from before %s", id, a.PrunedTo.Format(time.RFC3339))
		}
		if a.Opened && a.PrunedTo.Before(want) {

			t.Errorf("account %s (latest event %s): facts pruned to %s only, want %s at least", id,
				a.Latest.Time().Format(time.RFC3339), a.PrunedTo.Format(time.RFC3339), want.Format(time.RFC3339))
		}
	}
	if a := p.state.Accounts[quiet]; a == nil || !a.Opened {
		t.Fatalf("the quiet account %q is missing", quiet)
	}
}
