package projections_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
)

// TestNoScoreBeforeOpening: an account opened on 2026-08-21 whose imported
// history starts in February has no score before its opening — ?at= answers
// not found — and, consistently, its trend look-backs before the opening are
// null and the at-risk list does not flag a score_drop from a phantom score.
// Once the 30-day look-back reaches the opening, the trend is known (a
// scheduled re-score, no new event).
func TestNoScoreBeforeOpening(t *testing.T) {
	opened := time.Date(2026, 8, 21, 9, 0, 0, 0, time.UTC)
	now := time.Date(2026, 9, 10, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	scorer := newScorer(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: scorer, Now: clk.Now, Logger: zerolog.Nop()})
	head := post(t, store, now,
		`{"specversion":"1.0","id":"o","source":"crm","type":"account.opened","subject":"phx","time":"2026-08-21T09:00:00Z","data":{"name":"Phoenix","mrr":2500}}`,
		// The imported history, back-dated before the opening.
		`{"specversion":"1.0","id":"t1","source":"import","type":"touchpoint.recorded","subject":"phx","time":"2026-02-10T10:00:00Z","data":{"channel":"call","direction":"outbound"}}`,
		`{"specversion":"1.0","id":"n1","source":"import","type":"nps.responded","subject":"phx","time":"2026-04-01T10:00:00Z","data":{"score":10}}`,
		// After the opening: a KPI a little short of its target (yellow).
		`{"specversion":"1.0","id":"k1","source":"bi","type":"kpi.reported","subject":"phx","time":"2026-09-05T10:00:00Z","data":{"kpi":"leads","target":100,"actual":95,"higher_is_better":true}}`,
	)
	waitFor(t, p, head)
	ctx := context.Background()

	if _, err := p.Health(ctx, "phx", opened.Add(-time.Second)); !errors.Is(err, projections.ErrNotFound) {
		t.Fatalf("health just before the opening: %v, want not found", err)
	}
	for _, at := range []time.Time{{}, now} { // live (cached) and ?at=now (fresh)
		h, err := p.Health(ctx, "phx", at)
		if err != nil {
			t.Fatal(err)
		}
		if h.Score == nil || *h.Score != 72.73 {
			t.Fatalf("at %v: score %v, want 72.73", at, h.Score)
		}
		tr := h.Trend
		if tr.Score30dAgo != nil || tr.Delta30d != nil {
			t.Errorf("at %v: score_30d_ago %v delta_30d %v from before the opening, want null", at, tr.Score30dAgo, tr.Delta30d)
		}
		if tr.Score7dAgo == nil || *tr.Score7dAgo != 100 {
			t.Errorf("at %v: score_7d_ago %v, want 100 (after the opening)", at, tr.Score7dAgo)
		}
		b, _ := json.Marshal(h)
		if !strings.Contains(string(b), `"score_30d_ago":null`) {
			t.Errorf("at %v: health JSON %s, want score_30d_ago null", at, b)
		}
		risk, err := p.AtRisk(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(risk.Items) != 0 {
			t.Errorf("at %v: at-risk %+v, want none (no score before the opening to drop from)", at, risk.Items)
		}
		acct, _, err := p.Account(ctx, "phx", at)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(acct.Reasons, projections.ReasonScoreDrop) || acct.Trend.Score30dAgo != nil {
			t.Errorf("at %v: account reasons %v trend %+v", at, acct.Reasons, acct.Trend)
		}
	}

	// 30 days after the opening the look-back reaches it: the score then
	// (the imported NPS alone, 100) is known and the drop to 72.73 counts.
	clk.Set(opened.Add(30 * 24 * time.Hour))
	p.Refresh()
	acct, _, err := p.Account(ctx, "phx", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Trend.Score30dAgo == nil || *acct.Trend.Score30dAgo != 100 || !slices.Contains(acct.Reasons, projections.ReasonScoreDrop) {
		t.Fatalf("at opening + 30 d: trend %+v reasons %v, want score_30d_ago 100 and score_drop", acct.Trend, acct.Reasons)
	}
	if p.Stats().Position != head {
		t.Fatal("an event was applied; the change must come from time alone")
	}
}
