package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
)

// pastWindow asks PastScores and History for the same grid days: the
// PastSpan before the retention horizon up to now.
func pastWindow(now time.Time) (from, to time.Time) {
	return projections.PastGrid(now.Add(-projections.DefaultRetain - projections.PastSpan)), now
}

// checkPast compares every account's past scores with History (which
// replays the account's stream for instants before the horizon) and
// returns how many accounts PastScores could not answer from memory.
func checkPast(t *testing.T, p *projections.Projector, now time.Time) (missing int) {
	t.Helper()
	ctx := context.Background()
	page, err := p.Accounts(ctx, projections.AccountFilter{Limit: 100000}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	from, to := pastWindow(now)
	for _, av := range page.Items {
		got, ok, err := p.PastScores(ctx, av.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			missing++
			continue
		}
		want, _, err := p.History(ctx, av.ID, from, to, projections.PastStep)
		if err != nil {
			t.Fatal(err)
		}
		equalJSON(t, fmt.Sprintf("account %s past scores and history", av.ID), got, want)
	}
	if len(page.Items) < 10 {
		t.Fatalf("only %d accounts", len(page.Items))
	}
	return missing
}

// TestPastScoresEqualHistory: the scores kept for past days equal what a
// replay of each account's stream gives — live, as days pass, after a
// restart from a snapshot, after a rebuild — and a back-dated event
// never leaves a stale one.
func TestPastScoresEqualHistory(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	snap := filepath.Join(t.TempDir(), "snap")
	cfg := projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop(), SnapshotPath: snap}
	p1, stop := startStoppable(t, cfg)
	head := ingestAll(t, store, demoEvents(t, 30, 12, now), now)
	waitFor(t, p1, head)
	if n := checkPast(t, p1, now); n != 0 {
		t.Fatalf("a log in time order: %d accounts without past scores", n)
	}
	if from, _ := pastWindow(now); !p1.Stats().Horizon.After(from.Add(projections.PastSpan / 2)) {
		t.Fatalf("horizon %s: the past scores were not needed", p1.Stats().Horizon)
	}

	// Days pass: more days leave the horizon and are kept.
	for _, d := range []int{1, 4, 9} {
		at := now.Add(time.Duration(d) * 24 * time.Hour)
		clk.Set(at)
		p1.Refresh()
		if n := checkPast(t, p1, at); n != 0 {
			t.Fatalf("%d days later: %d accounts without past scores", d, n)
		}
	}
	now = now.Add(9 * 24 * time.Hour)

	// A back-dated event (an NPS answer 50 days ago, before the horizon)
	// for one account: its kept scores from that day on no longer hold.
	page, err := p1.Accounts(context.Background(), projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	id := page.Items[0].ID
	from, to := pastWindow(now)
	before, _, err := p1.PastScores(context.Background(), id, from, to)
	if err != nil {
		t.Fatal(err)
	}
	late := now.Add(-50 * 24 * time.Hour).Format(time.RFC3339)
	head = post(t, store, now, fmt.Sprintf(`{"specversion":"1.0","id":"late-1","source":"t","type":"nps.responded","subject":%q,"time":%q,"data":{"score":0}}`, id, late))
	waitFor(t, p1, head)
	after, _, err := p1.PastScores(context.Background(), id, from, to)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := p1.History(context.Background(), id, from, to, projections.PastStep)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(want) == fmt.Sprint(before) {
		t.Fatal("the back-dated answer changed no past score: the test proves nothing")
	}
	if after != nil {
		equalJSON(t, "past scores after a back-dated event", after, want)
	}
	checkPast(t, p1, now)

	// A restart from the snapshot keeps them.
	stop()
	p2 := runProjector(t, cfg)
	if n := checkPast(t, p2, now); n > 1 {
		t.Fatalf("after a restart: %d accounts without past scores", n)
	}

	// So does a rebuild from the log.
	snap2 := filepath.Join(t.TempDir(), "snap2")
	if _, err := projections.Rebuild(context.Background(), projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap2}, head, nil); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: clk.Now, SnapshotPath: snap2})
	if err != nil {
		t.Fatal(err)
	}
	if n := checkPast(t, rebuilt, now); n != 0 {
		t.Fatalf("after a rebuild: %d accounts without past scores", n)
	}
}

// TestPastScoresShuffledArrival: with events arriving in random order (so
// many are back-dated past kept days), every past score still equals a
// replay's.
func TestPastScoresShuffledArrival(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	var openers, rest [][]byte
	for _, raw := range demoEvents(t, 20, 8, now) {
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
	rng := rand.New(rand.NewPCG(5, 6))
	rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
	raws := append(openers, rest...)
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now, Logger: zerolog.Nop()})
	head := ingestAll(t, store, raws, now)
	waitFor(t, p, head)
	missing := checkPast(t, p, now)
	t.Logf("%d accounts answered by replay", missing)
	for _, d := range []int{2, 5} {
		at := now.Add(time.Duration(d) * 24 * time.Hour)
		clk.Set(at)
		p.Refresh()
		checkPast(t, p, at)
	}
}
