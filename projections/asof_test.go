package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// TestChurnTimes: each change into churned is a churn; a repeated churned
// status is not.
func TestChurnTimes(t *testing.T) {
	st := projections.NewState()
	at := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	apply := func(id string, t time.Time, typ domain.Type, p any) {
		st.Apply(domain.Event{ID: id, Source: "t", Type: typ, Subject: "a", Time: t, Payload: p})
	}
	apply("1", at(1), domain.TypeAccountOpened, domain.AccountOpened{Name: "A"})
	for i, c := range []struct {
		day int
		s   domain.Status
	}{{5, domain.StatusChurned}, {7, domain.StatusChurned}, {9, domain.StatusActive}, {11, domain.StatusOnHold}, {13, domain.StatusChurned}} {
		apply(string(rune('a'+i)), at(c.day), domain.TypeAccountStatusChanged, domain.AccountStatusChanged{Status: c.s})
	}
	got := st.Accounts["a"].ChurnTimes()
	if len(got) != 2 || !got[0].Equal(at(5)) || !got[1].Equal(at(13)) {
		t.Errorf("ChurnTimes = %v, want 2025-01-05 and 2025-01-13", got)
	}
}

// TestHealthWithLongerWindow: a candidate configuration with a longer
// window than the live one sees facts the live state has pruned.
func TestHealthWithLongerWindow(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	head := post(t, store, now,
		`{"specversion":"1.0","id":"1","source":"t","type":"account.opened","subject":"acme","time":"2024-01-01T08:00:00Z","data":{"name":"Acme","mrr":2500}}`,
		`{"specversion":"1.0","id":"2","source":"t","type":"nps.responded","subject":"acme","time":"2024-02-01T08:00:00Z","data":{"score":2}}`,
		`{"specversion":"1.0","id":"3","source":"t","type":"nps.responded","subject":"acme","time":"2026-02-01T08:00:00Z","data":{"score":10}}`,
	)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	waitFor(t, p, head)
	p.Refresh()
	long := scoring.DefaultConfig()
	long.Components.NPS.WindowDays = 1000
	shadow, err := scoring.New(long)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	live, err := p.Health(ctx, "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.HealthWith(ctx, "acme", time.Time{}, shadow)
	if err != nil {
		t.Fatal(err)
	}
	// Live: only the 10 is within 180 days (green, 100). The candidate's
	// 1000 days hold the 2 as well: mean 6, red, 0.
	if live.Score == nil || *live.Score != 100 || h.Score == nil || *h.Score != 0 {
		t.Errorf("live %v, candidate %v; want 100 and 0", ptrVal(live.Score), ptrVal(h.Score))
	}
	if h.ConfigVersion == live.ConfigVersion {
		t.Error("the candidate answered the live config version")
	}
	if _, err := p.HealthWith(ctx, "nobody", time.Time{}, shadow); err == nil {
		t.Error("an unknown account answered")
	}
}

func ptrVal(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
