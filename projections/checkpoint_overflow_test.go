package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
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

// TestLateIndexOverflowRebuildsCheckpoints: more back-dated records than
// the late index holds drop the checkpoints; they are built again from
// the log, the late index is empty again, and the answers before the
// horizon equal a full replay's.
func TestLateIndexOverflowRebuildsCheckpoints(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	store, err := bolt.Open(ctx, t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // after the projectors stop (cleanups run last first)
	in := ingest.New(store)
	var cands []ingest.Candidate
	var account string
	err = demo.Generate(ctx, demo.Config{Seed: 3, Accounts: 10, Managers: 2, Months: 12, End: now}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, now)
		if perr == nil && ev.Type == domain.TypeAccountOpened && account == "" {
			account = ev.Subject
		}
		cands = append(cands, ingest.Candidate{Event: ev, Err: perr})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ingestAndWait := func(p *Projector, cs []ingest.Candidate) {
		t.Helper()
		var head eventstore.Position
		for i := 0; i < len(cs); i += 500 {
			_, pos, err := in.Ingest(ctx, cs[i:min(i+500, len(cs))])
			if err != nil {
				t.Fatal(err)
			}
			head = max(head, pos)
		}
		wait, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := p.WaitFor(wait, head); err != nil {
			t.Fatal(err)
		}
	}
	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	start := func(cfg Config) *Projector {
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.ck.lateCap = 5
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- p.Run(runCtx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
		return p
	}
	clock := func() time.Time { return now }
	p := start(Config{Store: store, Scorer: sc, Now: clock, Logger: zerolog.Nop(),
		SnapshotPath: filepath.Join(t.TempDir(), "snapshot"), CheckpointQuiet: time.Millisecond})
	ingestAndWait(p, cands)
	covered := func() {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			st := p.Checkpoints()
			if len(st.Checkpoints) > 0 && !st.Building && !st.CoveredTo.Before(p.Stats().Horizon) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("checkpoints do not cover the horizon: %+v", st)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	covered()
	p.mu.RLock()
	gen := p.ck.gen
	p.mu.RUnlock()

	var late []ingest.Candidate
	for i := range 8 {
		raw := fmt.Sprintf(`{"specversion":"1.0","id":"late-%d","source":"t","type":"nps.responded","subject":%q,"time":%q,"data":{"score":%d}}`,
			i, account, now.AddDate(0, -7, i).Format(time.RFC3339), i)
		ev, err := domain.Parse([]byte(raw), now)
		if err != nil {
			t.Fatal(err)
		}
		late = append(late, ingest.Candidate{Event: ev})
	}
	ingestAndWait(p, late)
	p.mu.RLock()
	dropped := p.ck.gen != gen
	p.mu.RUnlock()
	if !dropped {
		t.Fatalf("8 late records with room for 5 did not drop the checkpoints: %+v", p.Checkpoints())
	}
	covered()
	if n := p.Checkpoints().Late; n != 0 {
		t.Errorf("the late index holds %d records after the build", n)
	}
	ref := start(Config{Store: store, Scorer: sc, Now: clock, Logger: zerolog.Nop()})
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := ref.WaitFor(wait, p.Position()); err != nil {
		t.Fatal(err)
	}
	for d := 0; d < 300; d += 9 {
		at := now.AddDate(0, 0, -40-d)
		got, err := p.Portfolio(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.Portfolio(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Fatalf("portfolio at %s:\n checkpoint %s\n replay     %s", at.Format(time.RFC3339), g, w)
		}
	}
}
