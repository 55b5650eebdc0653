package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// countingStore counts the records ReadAll returns.
type countingStore struct {
	eventstore.Store
	read atomic.Int64
}

func (s *countingStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	recs, err := s.Store.ReadAll(ctx, after, limit)
	s.read.Add(int64(len(recs)))
	return recs, err
}

// pastViews is what a list, portfolio or capacity query as of at answers.
type pastViews struct {
	Accounts  projections.AccountPage
	AtRisk    projections.List
	Upsell    projections.List
	Capacity  projections.CapacityView
	Portfolio projections.PortfolioView
}

func collectPast(t *testing.T, p *projections.Projector, at time.Time) pastViews {
	t.Helper()
	var v pastViews
	err := p.Read(context.Background(), at, func(r *projections.Reader) error {
		v.Accounts = r.Accounts(projections.AccountFilter{Limit: 100000})
		v.AtRisk, v.Upsell = r.AtRisk(), r.Upsell()
		v.Capacity, v.Portfolio = r.Capacity(), r.Portfolio()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitCovered waits until p's checkpoints cover every instant from the
// earliest event to its horizon, and no build runs.
func waitCovered(t *testing.T, p *projections.Projector) projections.CheckpointStatus {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := p.Checkpoints()
		if len(st.Checkpoints) > 0 && !st.Building && !st.CoveredTo.Before(p.Stats().Horizon) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoints do not cover the horizon %s: %+v", p.Stats().Horizon, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// compareBeforeHorizon compares p's answers with ref's (a projector
// without checkpoints, which replays the whole log) at instants step apart
// from first to the horizon (at least minN of them), and checks that p
// read few records from the log for them.
func compareBeforeHorizon(t *testing.T, what string, p, ref *projections.Projector, cs *countingStore, first time.Time, step time.Duration, minN int) {
	t.Helper()
	horizon := p.Stats().Horizon
	if h := ref.Stats().Horizon; h.Before(horizon) {
		horizon = h
	}
	n := 0
	for at := first; at.Before(horizon); at = at.Add(step) {
		before := cs.read.Load()
		got := collectPast(t, p, at)
		read := cs.read.Load() - before
		equalJSON(t, fmt.Sprintf("%s at %s: checkpoint and replay", what, at.Format(time.RFC3339)), got, collectPast(t, ref, at))
		if head := int64(p.Position()); read > head/10 {
			t.Fatalf("%s at %s: read %d records of %d: not from a checkpoint", what, at.Format(time.RFC3339), read, head)
		}
		n++
	}
	if n < minN {
		t.Fatalf("%s: only %d instants compared", what, n)
	}
}

// TestCheckpointsEqualReplay: on a two-year demo agency, the list,
// portfolio and capacity answers before the retention horizon come from
// checkpoints (reading few records) and equal a full replay's — after the
// checkpoints were built, after back-dated events arrived, as the clock
// moves on (a live checkpoint), after a restart, and after a change of
// the scoring configuration.
func TestCheckpointsEqualReplay(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	cs := &countingStore{Store: store}
	scorer := newScorer(t)
	dir := t.TempDir()
	cfg := projections.Config{Store: cs, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop(),
		SnapshotPath: filepath.Join(dir, "snapshot"), CheckpointQuiet: time.Millisecond}
	head := ingestAll(t, store, demoEvents(t, 20, 24, now), now)
	p, stop := startStoppable(t, cfg)
	ref := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})
	waitFor(t, p, head)
	waitFor(t, ref, head)
	st := waitCovered(t, p)
	if len(st.Checkpoints) < 20 {
		t.Fatalf("%d checkpoints for two years", len(st.Checkpoints))
	}
	t.Logf("%d checkpoints from %s, first %s to %s", len(st.Checkpoints), st.Earliest, st.Checkpoints[0].From, st.Checkpoints[0].To)
	first := st.Earliest.Add(36 * time.Hour)
	compareBeforeHorizon(t, "built", p, ref, cs, first, 37*24*time.Hour+7*time.Hour, 30)
	manifest := filepath.Join(dir, "checkpoints", "manifest.json")
	builtManifest := mustRead(t, manifest) // written when the built checkpoints were installed

	// Back-dated events: they reach checkpoints written before them
	// through the late index.
	var late []string
	for i, at := range []time.Time{now.AddDate(-1, 0, 3), now.AddDate(0, -5, 0), now.AddDate(0, -8, 11)} {
		ts := at.Format(time.RFC3339)
		late = append(late,
			fmt.Sprintf(`{"specversion":"1.0","id":"late-open-%d","source":"t","type":"account.opened","subject":"late-%d","time":%q,"data":{"name":"Late","mrr":9000}}`, i, i, ts),
			fmt.Sprintf(`{"specversion":"1.0","id":"late-nps-%d","source":"t","type":"nps.responded","subject":"late-%d","time":%q,"data":{"score":1}}`, i, i, at.Add(time.Hour).Format(time.RFC3339)),
			fmt.Sprintf(`{"specversion":"1.0","id":"late-sig-%d","source":"t","type":"signal.raised","subject":"late-%d","time":%q,"data":{"signal_id":"s%d","kind":"champion_left"}}`, i, i, at.Add(2*time.Hour).Format(time.RFC3339), i),
		)
	}
	head = post(t, store, now, late...)
	waitFor(t, p, head)
	waitFor(t, ref, head)
	if n := p.Checkpoints().Late - st.Late; n != len(late) {
		t.Fatalf("late index took %d records, want %d", n, len(late))
	}
	compareBeforeHorizon(t, "late events", p, ref, cs, first, 37*24*time.Hour+7*time.Hour, 30)

	// The clock moves on: once the horizon nears the built checkpoints'
	// end, the live state is written as the next checkpoint, which
	// answers as the horizon moves past them.
	day := 24 * time.Hour
	clk.Set(now.Add(day))
	p.Refresh()
	deadline := time.Now().Add(time.Minute)
	for !containsTo(p.Checkpoints().Checkpoints, now.Add(day)) {
		if time.Now().After(deadline) {
			t.Fatalf("no live checkpoint written: %+v", p.Checkpoints())
		}
		time.Sleep(20 * time.Millisecond)
	}
	clk.Set(now.Add(21 * day))
	p.Refresh()
	ref.Refresh()
	if h := p.Stats().Horizon; !h.After(now.Add(-20 * day)) {
		t.Fatalf("horizon %s did not move", h)
	}
	compareBeforeHorizon(t, "clock moved", p, ref, cs, now.Add(-40*day), 3*day, 8)

	// A restart resumes the checkpoints and the late index.
	stop()
	p, stop = startStoppable(t, cfg)
	waitFor(t, p, head)
	if st := p.Checkpoints(); len(st.Checkpoints) == 0 || st.Late == 0 {
		t.Fatalf("after a restart: %d checkpoints, %d late records", len(st.Checkpoints), st.Late)
	}
	compareBeforeHorizon(t, "restarted", p, ref, cs, first, 37*24*time.Hour+7*time.Hour, 30)
	lateBefore := p.Checkpoints().Late
	stop()

	// A restart without the snapshot replays the log: the records every
	// checkpoint holds do not enter the late index again.
	if err := os.Remove(cfg.SnapshotPath); err != nil {
		t.Fatal(err)
	}
	p, stop = startStoppable(t, cfg)
	waitFor(t, p, head)
	if n := p.Checkpoints().Late; n != lateBefore {
		t.Fatalf("after a replay from the start the late index holds %d records, before %d", n, lateBefore)
	}
	compareBeforeHorizon(t, "replayed", p, ref, cs, first, 37*24*time.Hour+7*time.Hour, 30)
	stop()

	// A manifest older than the snapshot (a crash between the two
	// writes): the late records after it are read from the log at start.
	mustWrite(t, manifest, builtManifest)
	p, stop = startStoppable(t, cfg)
	waitFor(t, p, head)
	if n := p.Checkpoints().Late; n != len(late) {
		t.Fatalf("from the manifest of the build, the late index holds %d records, want %d", n, len(late))
	}
	waitCovered(t, p)
	compareBeforeHorizon(t, "older manifest", p, ref, cs, first, 37*24*time.Hour+7*time.Hour, 30)
	stop()

	// Another scoring configuration refuses the checkpoints and builds
	// its own.
	other := scoring.DefaultConfig()
	other.Components.NPS.WindowDays = 90
	sc2, err := scoring.New(other)
	if err != nil {
		t.Fatal(err)
	}
	old := p.Checkpoints().Checkpoints
	cfg.Scorer = sc2
	p2, stop2 := startStoppable(t, cfg)
	defer stop2()
	ref2 := runProjector(t, projections.Config{Store: store, Scorer: sc2, Now: clk.Now, Logger: zerolog.Nop()})
	waitFor(t, p2, head)
	waitFor(t, ref2, head)
	waitCovered(t, p2)
	compareBeforeHorizon(t, "other configuration", p2, ref2, cs, first, 37*24*time.Hour+7*time.Hour, 30)
	for _, ck := range old {
		if _, err := os.Stat(filepath.Join(dir, "checkpoints", ck.File)); err == nil {
			if !containsFile(p2.Checkpoints().Checkpoints, ck.File) {
				t.Errorf("checkpoint %s of the old configuration left on disk", ck.File)
			}
		}
	}
}

func containsTo(cks []projections.CheckpointInfo, to time.Time) bool {
	for _, ck := range cks {
		if ck.To.Equal(to) {
			return true
		}
	}
	return false
}

func containsFile(cks []projections.CheckpointInfo, file string) bool {
	for _, ck := range cks {
		if ck.File == file {
			return true
		}
	}
	return false
}

// BenchmarkPortfolioBeforeHorizon is GET /v1/portfolio?at= a year back on
// a two-year demo agency: from a checkpoint (one already read, or read
// from disk at each call: two instants in different checkpoints in
// turn), and by replaying the whole log (no checkpoints); beside it, the
// same question about yesterday, answered from memory (every account
// scored afresh, as for any ?at=).
func BenchmarkPortfolioBeforeHorizon(b *testing.B) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	store := openStore(b)
	head := ingestAll(b, store, demoEvents(b, 200, 24, now), now)
	scorer := newScorer(b)
	ctx := context.Background()
	withCk := runProjector(b, projections.Config{Store: store, Scorer: scorer, Now: func() time.Time { return now }, Logger: zerolog.Nop(),
		SnapshotPath: filepath.Join(b.TempDir(), "snapshot"), CheckpointQuiet: time.Millisecond})
	waitFor(b, withCk, head)
	deadline := time.Now().Add(5 * time.Minute)
	for st := withCk.Checkpoints(); len(st.Checkpoints) == 0 || st.Building || st.CoveredTo.Before(withCk.Stats().Horizon); st = withCk.Checkpoints() {
		if time.Now().After(deadline) {
			b.Fatal("no checkpoints")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var bytes int64
	cks := withCk.Checkpoints().Checkpoints
	for _, ck := range cks {
		bytes += ck.Bytes
	}
	without := runProjector(b, projections.Config{Store: store, Scorer: scorer, Now: func() time.Time { return now }, Logger: zerolog.Nop()})
	waitFor(b, without, head)
	yearAgo := now.AddDate(-1, 0, 0)
	run := func(p *projections.Projector, ats ...time.Time) func(b *testing.B) {
		return func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := p.Portfolio(ctx, ats[i%len(ats)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(head), "events")
			b.ReportMetric(float64(len(cks)), "checkpoints")
			b.ReportMetric(float64(bytes)/float64(len(cks)), "bytes/checkpoint")
		}
	}
	b.Run("in-memory-yesterday", run(withCk, now.Add(-24*time.Hour)))
	b.Run("checkpoint-cached", run(withCk, yearAgo))
	b.Run("checkpoint-from-disk", run(withCk, yearAgo, yearAgo.AddDate(0, 0, -45)))
	b.Run("full-replay", run(without, yearAgo))
}

// TestCheckpointsFromShuffledLog: the builder does not rely on the log
// being in time order — built from a log whose events arrived shuffled
// (every account opened first), the checkpoints answer as a replay does.
func TestCheckpointsFromShuffledLog(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	raws := demoEvents(t, 12, 12, now)
	var openers, rest [][]byte
	for _, raw := range raws {
		var e struct{ Type string }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if e.Type == "account.opened" || e.Type == "manager.joined" {
			openers = append(openers, raw)
		} else {
			rest = append(rest, raw)
		}
	}
	rand.New(rand.NewPCG(7, 8)).Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	store := openStore(t)
	head := ingestAll(t, store, append(openers, rest...), now)
	cs := &countingStore{Store: store}
	scorer := newScorer(t)
	p := runProjector(t, projections.Config{Store: cs, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop(),
		SnapshotPath: filepath.Join(t.TempDir(), "snapshot"), CheckpointQuiet: time.Millisecond})
	ref := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})
	waitFor(t, p, head)
	waitFor(t, ref, head)
	st := waitCovered(t, p)
	compareBeforeHorizon(t, "shuffled", p, ref, cs, st.Earliest.Add(time.Hour), 23*24*time.Hour, 30)
}

// gateStore holds every ReadAll while blocked (the builder's reads, and
// a replay's); appends and the projector's subscription go through.
type gateStore struct {
	eventstore.Store
	blocked atomic.Bool
	gate    chan struct{}
}

func (s *gateStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	if s.blocked.Load() {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.ReadAll(ctx, after, limit)
}

// TestCheckpointBuildDoesNotBlockIngestion: while the builder is held in
// the middle of its read of the log, events are applied and live queries
// answer; the back-dated ones among them enter the late index, so the
// checkpoints built from the log as it was answer as a replay does.
func TestCheckpointBuildDoesNotBlockIngestion(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	head := ingestAll(t, store, demoEvents(t, 10, 12, now), now)
	gs := &gateStore{Store: store, gate: make(chan struct{})}
	gs.blocked.Store(true)
	cs := &countingStore{Store: gs}
	scorer := newScorer(t)
	snapDir := t.TempDir()
	p := runProjector(t, projections.Config{Store: cs, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop(),
		SnapshotPath: filepath.Join(snapDir, "snapshot"), CheckpointQuiet: time.Millisecond})
	waitFor(t, p, head)
	deadline := time.Now().Add(time.Minute)
	for !p.Checkpoints().Building {
		if time.Now().After(deadline) {
			t.Fatal("no build started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	page, err := p.Accounts(context.Background(), projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil || len(page.Items) == 0 {
		t.Fatal("no account", err)
	}
	id := page.Items[0].ID
	var evs []string
	for i, at := range []time.Time{now.AddDate(0, -3, 0), now.AddDate(0, -6, 0), now.AddDate(0, -9, 0), now.Add(-time.Hour)} {
		evs = append(evs, fmt.Sprintf(`{"specversion":"1.0","id":"during-%d","source":"t","type":"nps.responded","subject":%q,"time":%q,"data":{"score":%d}}`,
			i, id, at.Format(time.RFC3339), i))
	}
	head = post(t, store, now, evs...)
	waitFor(t, p, head) // applied while the builder waits
	if _, err := p.Portfolio(context.Background(), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !p.Checkpoints().Building {
		t.Fatal("the build ended while held")
	}
	gs.blocked.Store(false)
	close(gs.gate)
	st := waitCovered(t, p)
	if st.Late != 3 {
		t.Errorf("late index holds %d records, want the 3 back-dated ones", st.Late)
	}
	ref := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})
	waitFor(t, ref, head)
	compareBeforeHorizon(t, "built while events arrived", p, ref, cs, st.Earliest.Add(time.Hour), 13*24*time.Hour, 30)

	// A damaged checkpoint file: that query replays the log (the same
	// answer), and the checkpoint is dropped and built again.
	ck := st.Checkpoints[len(st.Checkpoints)/2]
	path := filepath.Join(snapDir, "checkpoints", ck.File)
	data := mustRead(t, path)
	data[len(data)/2] ^= 0xff
	mustWrite(t, path, data)
	at := ck.From.Add(24 * time.Hour)
	equalJSON(t, "from a damaged checkpoint", collectPast(t, p, at), collectPast(t, ref, at))
	waitCovered(t, p)
	before := cs.read.Load()
	equalJSON(t, "from the checkpoint built again", collectPast(t, p, at), collectPast(t, ref, at))
	if read := cs.read.Load() - before; read > int64(head)/10 {
		t.Fatalf("read %d records of %d at %s: the damaged checkpoint was not built again", read, head, at.Format(time.RFC3339))
	}
}
