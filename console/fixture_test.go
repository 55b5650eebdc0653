package console_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/internal/testworld"
	"github.com/vitals-hq/vitals/projections"
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
	raws := testworld.Demo(tb, demo.Config{Seed: 11, Accounts: n, Months: 15, End: now})
	if hostile {
		raws = append(raws, hostileEvents()...)
	}
	w := testworld.New(tb, raws, now, testworld.Options{})
	return &fixture{store: w.Store, proj: w.Projector, ing: w.Ingester}
}

// ingest appends cands, failing tb on any rejection.
func (f *fixture) ingest(tb testing.TB, cands []ingest.Candidate) {
	tb.Helper()
	testworld.IngestCandidates(tb, f.ing, cands)
}

// hostileEvents are a manager and an account whose names, signal note and
// override reason are markup.
func hostileEvents() [][]byte {
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
	var out [][]byte
	for _, raw := range raws {
		out = append(out, []byte(raw))
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
