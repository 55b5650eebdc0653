package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// now is the fixtures' clock: the demo history ends here.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// Hostile values put into events by the fixture: every page must show
// them escaped.
const (
	hostileName    = `<script>alert("acct")</script>Ç&"'`
	hostileManager = `<img src=x onerror=alert(1)>`
	hostileNote    = `</code><script>alert('note')</script>`
	hostileReason  = `"><svg onload=alert(2)>`
	hostileID      = "acct-hostile"
	hostileMgrID   = "mgr-hostile"
)

// fixture is a loaded store and a running projector.
type fixture struct {
	store *bolt.Store
	proj  *projections.Projector
	ing   *ingest.Ingester
}

// newFixture loads a demo agency of n accounts (and the hostile account)
// into a fresh store and runs a projector over it until tb ends.
func newFixture(tb testing.TB, n int) *fixture { return loadFixture(tb, n, true) }

// loadFixture is newFixture, with or without the hostile account.
func loadFixture(tb testing.TB, n int, hostile bool) *fixture {
	tb.Helper()
	ctx := context.Background()
	store, err := bolt.Open(ctx, tb.TempDir(), bolt.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	f := &fixture{store: store, ing: ingest.New(store)}
	var cands []ingest.Candidate
	err = demo.Generate(ctx, demo.Config{Seed: 11, Accounts: n, Months: 15, End: now}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, perr := domain.Parse(raw, now)
		cands = append(cands, ingest.Candidate{Event: ev, Err: perr})
		if len(cands) == 2000 {
			f.ingest(tb, cands)
			cands = cands[:0]
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	f.ingest(tb, cands)
	if hostile {
		f.ingest(tb, hostileEvents(tb))
	}
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	f.proj, err = projections.New(projections.Config{Store: store, Scorer: scorer, Now: func() time.Time { return now }})
	if err != nil {
		tb.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- f.proj.Run(rctx) }()
	tb.Cleanup(func() { cancel(); <-done })
	head, err := store.Head(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer wcancel()
	if err := f.proj.WaitFor(wctx, head); err != nil {
		tb.Fatal(err)
	}
	return f
}

// ingest appends cands, failing tb on any rejection.
func (f *fixture) ingest(tb testing.TB, cands []ingest.Candidate) {
	tb.Helper()
	results, _, err := f.ing.Ingest(context.Background(), cands)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range results {
		if r.Status == ingest.Rejected {
			tb.Fatalf("event %s rejected: %s: %s", r.ID, r.Error.Field, r.Error.Message)
		}
	}
}

// hostileEvents are a manager and an account whose names, signal note and
// override reason are markup.
func hostileEvents(tb testing.TB) []ingest.Candidate {
	tb.Helper()
	at := func(days int) string { return now.AddDate(0, 0, -days).Format(time.RFC3339) }
	raws := []string{
		fmt.Sprintf(`{"specversion":"1.0","id":"h1","source":"test","type":"manager.joined","subject":%q,"time":%q,"data":{"name":%q,"capacity_points":100,"weekly_hours":40}}`,
			hostileMgrID, at(200), hostileManager),
		fmt.Sprintf(`{"specversion":"1.0","id":"h2","source":"test","type":"account.opened","subject":%q,"time":%q,"data":{"name":%q,"mrr":4200,"manager_id":%q,"website":"javascript:alert(3)"}}`,
			hostileID, at(190), hostileName, hostileMgrID),
		fmt.Sprintf(`{"specversion":"1.0","id":"h3","source":"test","type":"signal.raised","subject":%q,"time":%q,"data":{"signal_id":"s1","kind":"budget_cut","note":%q}}`,
			hostileID, at(10), hostileNote),
		fmt.Sprintf(`{"specversion":"1.0","id":"h4","source":"test","type":"health.overridden","subject":%q,"time":%q,"data":{"band":"red","reason":%q,"author":%q}}`,
			hostileID, at(5), hostileReason, hostileManager),
		fmt.Sprintf(`{"specversion":"1.0","id":"h5","source":"test","type":"nps.responded","subject":%q,"time":%q,"data":{"score":3}}`,
			hostileID, at(20)),
	}
	var out []ingest.Candidate
	for _, raw := range raws {
		ev, err := domain.Parse([]byte(raw), now)
		if err != nil {
			tb.Fatalf("%s: %v", raw, err)
		}
		out = append(out, ingest.Candidate{Event: ev})
	}
	return out
}

// console builds a Console over the fixture with cfg's other fields.
func (f *fixture) console(tb testing.TB, cfg console.Config) *console.Console {
	tb.Helper()
	cfg.Projector, cfg.Store, cfg.Logger = f.proj, f.store, zerolog.Nop()
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	c, err := console.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
