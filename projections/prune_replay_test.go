package projections

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/scoring"
)

// TestReplayPrunesToTheRetention: after the projector has followed a log
// written in time order, every account's facts are pruned to the
// retention horizon. While the log's time is behind, prunes stop short
// (past scores wait for the log's time to pass their days); the projector
// must finish them — also for an account that takes no event afterwards —
// or it holds months more facts than one that started later.
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
	want := end.Add(-DefaultRetain - day)
	for id, a := range p.state.Accounts {
		if a.Opened && a.PrunedTo.Before(want) {
			t.Errorf("account %s: facts pruned to %s only, want about %s", id, a.PrunedTo.Format(time.RFC3339), end.Add(-DefaultRetain).Format(time.RFC3339))
		}
	}
	if a := p.state.Accounts[quiet]; a == nil || !a.Opened {
		t.Fatalf("the quiet account %q is missing", quiet)
	}
}
