package projections_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/internal/testworld"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// clock is a controlled clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// The helpers below name the shared fixture (internal/testworld) the way
// this package's tests and benchmarks call it.

func openStore(t testing.TB) eventstore.Store { return testworld.OpenStore(t) }

func newScorer(t testing.TB) *scoring.Scorer { return testworld.Scorer(t) }

func runProjector(t testing.TB, cfg projections.Config) *projections.Projector {
	t.Helper()
	return testworld.RunProjector(t, cfg)
}

func waitFor(t testing.TB, p *projections.Projector, pos eventstore.Position) {
	t.Helper()
	testworld.WaitFor(t, p, pos)
}

// demoEvents generates a demo agency ending at end, as raw CloudEvents.
func demoEvents(t testing.TB, accounts, months int, end time.Time) [][]byte {
	return testworld.Demo(t, demo.Config{Seed: 42, Accounts: accounts, Managers: 4, Months: months, End: end})
}

// ingestAll appends raw events in order, in batches, in the compact form
// (as serve does with the embedded store), and fails on any rejection.
func ingestAll(t testing.TB, s eventstore.Store, raws [][]byte, now time.Time) eventstore.Position {
	t.Helper()
	return testworld.Ingest(t, ingest.NewWithEncoding(s, ingest.EncodeCompact), raws, now)
}

// everything is every read model as of one instant, for comparisons.
type everything struct {
	Health    map[string]projections.Health
	Accounts  projections.AccountPage
	AtRisk    projections.List
	Upsell    projections.List
	Capacity  projections.CapacityView
	Portfolio projections.PortfolioView
}

func collect(t *testing.T, p *projections.Projector, at time.Time) everything {
	t.Helper()
	ctx := context.Background()
	var e everything
	var err error
	if e.Accounts, err = p.Accounts(ctx, projections.AccountFilter{Limit: 100000}, at); err != nil {
		t.Fatal(err)
	}
	e.Health = map[string]projections.Health{}
	for _, a := range e.Accounts.Items {
		h, err := p.Health(ctx, a.ID, at)
		if err != nil {
			t.Fatal(err)
		}
		e.Health[a.ID] = h
	}
	if e.AtRisk, err = p.AtRisk(ctx, at); err != nil {
		t.Fatal(err)
	}
	if e.Upsell, err = p.Upsell(ctx, at); err != nil {
		t.Fatal(err)
	}
	if e.Capacity, err = p.Capacity(ctx, at); err != nil {
		t.Fatal(err)
	}
	if e.Portfolio, err = p.Portfolio(ctx, at); err != nil {
		t.Fatal(err)
	}
	return e
}

func equalJSON(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		i := 0
		for i < len(ja) && i < len(jb) && ja[i] == jb[i] {
			i++
		}
		lo := max(i-200, 0)
		t.Fatalf("%s differ at byte %d:\n a: …%s…\n b: …%s…", what, i, ja[lo:min(i+200, len(ja))], jb[lo:min(i+200, len(jb))])
	}
}

// TestLiveEqualsRebuildEqualsAt: on a two-year demo agency, the state after
// live ingestion equals the state after a rebuild and the state
// reconstructed as of now, both from memory and by replaying the log.
func TestLiveEqualsRebuildEqualsAt(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	live := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})

	raws := demoEvents(t, 40, 24, now)
	head := ingestAll(t, store, raws, now) // the projector follows live
	waitFor(t, live, head)
	got := collect(t, live, time.Time{})
	if len(got.Accounts.Items) < 30 || len(got.AtRisk.Items) == 0 || len(got.Capacity.Managers) == 0 {
		t.Fatalf("demo agency too thin: %d accounts, %d at risk, %d managers", len(got.Accounts.Items), len(got.AtRisk.Items), len(got.Capacity.Managers))
	}

	// A rebuild from zero.
	snap := filepath.Join(t.TempDir(), "snap")
	if _, err := projections.Rebuild(context.Background(), projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap}, head, nil); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap})
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Position() != head {
		t.Fatalf("rebuilt snapshot at %d, want %d", rebuilt.Position(), head)
	}
	equalJSON(t, "live and rebuilt", got, collect(t, rebuilt, time.Time{}))

	// ?at=now from memory (fresh scores instead of cached ones).
	equalJSON(t, "live and ?at=now", got, collect(t, live, now))

	// ?at=now by replaying the log (what an instant before the retention
	// horizon uses).
	tight := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Retain: time.Nanosecond})
	waitFor(t, tight, head)
	clk.Set(now.Add(48 * time.Hour)) // moves the horizon past now on the next refresh
	tight.Refresh()
	if h := tight.Stats().Horizon; !h.After(now) {
		t.Fatalf("horizon %s not past %s", h, now)
	}
	equalJSON(t, "live and replayed ?at=now", got, collect(t, tight, now))
}

// TestShuffledArrivalSameScores: the same events in another arrival order
// (every account opened first) give identical scores.
func TestShuffledArrivalSameScores(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	raws := demoEvents(t, 25, 12, now)
	var openers, rest [][]byte
	for _, raw := range raws {
		var e struct{ Type string }
		json.Unmarshal(raw, &e)
		if e.Type == "account.opened" || e.Type == "manager.joined" {
			openers = append(openers, raw)
		} else {
			rest = append(rest, raw)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	shuffled := append(append([][]byte{}, openers...), rest...)
	if reflect.DeepEqual(shuffled, raws) {
		t.Fatal("shuffle changed nothing")
	}

	scorer := newScorer(t)
	var views []everything
	for _, order := range [][][]byte{raws, shuffled} {
		store := openStore(t)
		p := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now})
		waitFor(t, p, ingestAll(t, store, order, now))
		views = append(views, collect(t, p, time.Time{}))
	}
	equalJSON(t, "in order and shuffled", views[0], views[1])
}

func post(t *testing.T, s eventstore.Store, now time.Time, events ...string) eventstore.Position {
	t.Helper()
	raws := make([][]byte, len(events))
	for i, e := range events {
		raws[i] = []byte(e)
	}
	return ingestAll(t, s, raws, now)
}

// TestInvoiceTurnsRedWithTime: with a controlled clock, an account turns red
// when its unpaid invoice reaches 15 days late, with no new event, and the
// at-risk list and portfolio follow at that instant.
func TestInvoiceTurnsRedWithTime(t *testing.T) {
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now})
	head := post(t, store, start,
		`{"specversion":"1.0","id":"1","source":"t","type":"account.opened","subject":"acme","time":"2026-03-01T08:00:00Z","data":{"name":"Acme","mrr":2500}}`,
		`{"specversion":"1.0","id":"2","source":"t","type":"invoice.issued","subject":"acme","time":"2026-03-01T08:00:00Z","data":{"invoice_id":"inv-1","amount":2500,"due_date":"2026-03-10"}}`,
	)
	waitFor(t, p, head)
	ctx := context.Background()
	check := func(at time.Time, wantBand scoring.Band, wantAtRisk bool) {
		t.Helper()
		clk.Set(at)
		p.Refresh()
		acct, _, err := p.Account(ctx, "acme", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if acct.Band != wantBand {
			t.Fatalf("at %s: band %s, want %s", at, acct.Band, wantBand)
		}
		risk, _ := p.AtRisk(ctx, time.Time{})
		pf, _ := p.Portfolio(ctx, time.Time{})
		inList := len(risk.Items) == 1 && risk.Items[0].ID == "acme"
		if inList != wantAtRisk || (pf.AtRisk == 1) != wantAtRisk || pf.ByBand[wantBand] != 1 {
			t.Fatalf("at %s: at-risk %+v, portfolio at_risk %d by_band %v", at, risk.Items, pf.AtRisk, pf.ByBand)
		}
		if wantAtRisk {
			want := []string{projections.ReasonHealthRed, projections.ReasonOverdueInvoice}
			if !reflect.DeepEqual(risk.Items[0].Reasons, want) || pf.MRRAtRisk != 250000 { // cents
				t.Fatalf("at %s: reasons %v (want %v), MRR at risk %v", at, risk.Items[0].Reasons, want, pf.MRRAtRisk)
			}
		}
	}
	// Before the due date the invoice does not count: no component, unknown.
	check(start.Add(time.Hour), scoring.BandUnknown, false)
	check(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC), scoring.BandGreen, false)   // due today: 0 days late
	check(time.Date(2026, 3, 24, 23, 59, 0, 0, time.UTC), scoring.BandYellow, false) // 14 days late
	rescores := p.Stats().Rescores
	check(time.Date(2026, 3, 25, 0, 0, 0, 0, time.UTC), scoring.BandRed, true) // 15 days late
	if p.Stats().Rescores <= rescores {
		t.Fatal("the turn to red was not a scheduled re-score")
	}
	if p.Stats().Position != head {
		t.Fatal("an event was applied; the change must come from time alone")
	}
}

// TestRestartResumesFromSnapshot measures how many events a restart
// replays: only those after the snapshot.
func TestRestartResumesFromSnapshot(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	snap := filepath.Join(t.TempDir(), "projections.snapshot")
	raws := demoEvents(t, 20, 6, now)
	split := len(raws) * 3 / 4
	first := ingestAll(t, store, raws[:split], now)

	p1, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p1.Run(ctx) }()
	waitFor(t, p1, first)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := p1.Stats().Replayed; got != int64(first) {
		t.Fatalf("first run replayed %d, want %d", got, first)
	}

	head := ingestAll(t, store, raws[split:], now)
	p2 := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap})
	if p2.Stats().StartPosition != first {
		t.Fatalf("restart resumed at %d, want the snapshot's %d", p2.Stats().StartPosition, first)
	}
	waitFor(t, p2, head)
	replayed := p2.Stats().Replayed
	t.Logf("restart replayed %d of %d events (snapshot at %d)", replayed, head, first)
	if want := int64(head - first); replayed != want {
		t.Fatalf("restart replayed %d events, want %d", replayed, want)
	}
	// And the result equals a projector that saw everything from zero.
	full := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now})
	waitFor(t, full, head)
	equalJSON(t, "resumed and full", collect(t, p2, time.Time{}), collect(t, full, time.Time{}))
}

// TestCorruptSnapshotFallsBackToReplay: a damaged snapshot is detected and
// the projector replays from zero.
func TestCorruptSnapshotFallsBackToReplay(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	snap := filepath.Join(t.TempDir(), "projections.snapshot")
	head := ingestAll(t, store, demoEvents(t, 5, 3, now), now)
	if _, err := projections.Rebuild(context.Background(), projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap}, head, nil); err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"bit flip":  func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b },
		"empty":     func([]byte) []byte { return nil },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snap")
			data := mustRead(t, snap)
			mustWrite(t, path, damage(data))
			p, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: path})
			if err != nil {
				t.Fatal(err)
			}
			if p.Position() != 0 {
				t.Fatalf("damaged snapshot accepted: position %d", p.Position())
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustWrite(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
