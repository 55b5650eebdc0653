package projections

import (
	"context"
	"encoding/json"
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

// TestReplayPrunesToTheRetention: after catching up with a log written in
// time order, every account's facts are pruned to the retention horizon.
// During the replay its prunes stop short (past scores wait for the log's
// time to pass their days); the re-scores after that must finish the job,
// or a replayed projector holds months more facts than a live one.
func TestReplayPrunesToTheRetention(t *testing.T) {
	end := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	store, err := bolt.Open(ctx, t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	in := ingest.New(store)
	var cands []ingest.Candidate
	var head uint64
	flush := func() {
		_, pos, err := in.Ingest(ctx, cands)
		if err != nil {
			t.Fatal(err)
		}
		head, cands = max(head, uint64(pos)), cands[:0]
	}
	err = demo.Generate(ctx, demo.Config{Seed: 5, Accounts: 20, Managers: 3, Months: 12, End: end}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, end)
		if cands = append(cands, ingest.Candidate{Event: ev, Err: perr}); len(cands) == 500 {
			flush()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	flush()
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
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := p.WaitFor(wait, eventstore.Position(head)); err != nil {
		t.Fatal(err)
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
}
