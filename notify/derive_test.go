package notify

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

var trAt = time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)

func score(x float64) *float64 { return &x }

// TestBuild checks the event type chosen for each transition, the data,
// and that the id depends on (type, subject, instant, from, to) only.
func TestBuild(t *testing.T) {
	from := &projections.AccountFacts{Band: scoring.BandGreen, Components: []projections.ComponentFacts{
		{Name: "nps", Band: scoring.BandGreen, Points: score(100)}, {Name: "invoices", Band: scoring.BandYellow, Points: score(80)}}}
	to := &projections.AccountFacts{Band: scoring.BandRed, ComputedBand: scoring.BandRed, Score: score(45.45), Components: []projections.ComponentFacts{
		{Name: "nps", Band: scoring.BandGreen, Points: score(100)}, {Name: "invoices", Band: scoring.BandRed, Points: score(0)}}}
	cases := []struct {
		tr   projections.Transition
		typ  string
		want string // a fragment of the data
	}{
		{projections.Transition{Kind: projections.TransitionBand, From: "green", To: "red", FromAccount: from, ToAccount: to}, TypeBandChanged,
			`"components":[{"name":"invoices","from_band":"yellow","to_band":"red","from_points":80,"to_points":0}]`},
		{projections.Transition{Kind: projections.TransitionAtRisk, From: "", To: "health_red,overdue_invoice", ToAccount: to}, TypeAtRiskEntered,
			`"reasons":["health_red","overdue_invoice"],"added":["health_red","overdue_invoice"],"removed":[]`},
		{projections.Transition{Kind: projections.TransitionAtRisk, From: "health_red,quiet", To: "health_red,overdue_invoice", ToAccount: to}, TypeAtRiskChanged,
			`"added":["overdue_invoice"],"removed":["quiet"]`},
		{projections.Transition{Kind: projections.TransitionAtRisk, From: "quiet", To: "", ToAccount: to}, TypeAtRiskLeft, `"reasons":[],"added":[],"removed":["quiet"]`},
		{projections.Transition{Kind: projections.TransitionUpsell, From: "false", To: "true", ToAccount: to}, TypeUpsellReady, `"upsell":true`},
		{projections.Transition{Kind: projections.TransitionUpsell, From: "true", To: "false", ToAccount: to}, TypeUpsellCleared, `"upsell":false`},
		{projections.Transition{Kind: projections.TransitionCapacity, From: "ok", To: "over", Manager: &projections.ManagerFacts{LoadRatio: 1.2, Over: true}}, TypeOverCapacity, `"load_ratio":1.2,"over":true`},
		{projections.Transition{Kind: projections.TransitionCapacity, From: "over", To: "ok", Manager: &projections.ManagerFacts{LoadRatio: 0.5}}, TypeCapacityOK, `"load_ratio":0.5`},
	}
	for _, c := range cases {
		c.tr.Subject, c.tr.At, c.tr.DerivedAt = "acme", trAt, trAt.Add(15*time.Minute)
		n, err := Build("vitals://test", c.tr)
		if err != nil {
			t.Fatal(err)
		}
		if n.Type != c.typ || n.Subject != "acme" || !n.Time.Equal(trAt) {
			t.Errorf("%s %s→%s: %+v", c.tr.Kind, c.tr.From, c.tr.To, n)
		}
		var ev map[string]any
		if err := json.Unmarshal(n.Event, &ev); err != nil {
			t.Fatal(err)
		}
		if ev["id"] != n.ID || ev["type"] != c.typ || ev["source"] != "vitals://test" || ev["time"] != "2026-03-17T00:00:00Z" || ev["specversion"] != "1.0" {
			t.Errorf("event %s", n.Event)
		}
		data, _ := json.Marshal(ev["data"])
		if !json.Valid(data) || !strings.Contains(string(n.Event), c.want) {
			t.Errorf("%s: event %s lacks %s", c.typ, n.Event, c.want)
		}
		// The id ignores everything but (type, subject, instant, from, to).
		again := c.tr
		again.DerivedAt = trAt.Add(time.Hour)
		again.ToAccount = &projections.AccountFacts{}
		if m, _ := Build("vitals://other", again); m.ID != n.ID {
			t.Errorf("%s: id changed with the details: %s vs %s", c.typ, m.ID, n.ID)
		}
		moved := c.tr
		moved.At = trAt.Add(time.Second)
		if m, _ := Build("vitals://test", moved); m.ID == n.ID {
			t.Errorf("%s: id did not change with the instant", c.typ)
		}
	}
	if ID(TypeBandChanged, "acme", trAt, "green", "red") != ID(TypeBandChanged, "acme", trAt.In(time.FixedZone("x", 3600)), "green", "red") {
		t.Error("the id depends on the instant's zone")
	}
}

type count map[string]int

func (c count) Published(typ string, n int) { c[typ] += n }

// TestDeriverAppends: transitions handed over are in the outbox after
// Sync, a repeat (a re-derivation after a restart) is stored once and
// counted once.
func TestDeriverAppends(t *testing.T) {
	o := openTemp(t, t.TempDir())
	defer o.Close()
	c := count{}
	d := NewDeriver("vitals://test", o, zerolog.Nop(), c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	tr := projections.Transition{Kind: projections.TransitionBand, Subject: "acme", At: trAt, DerivedAt: trAt, From: "green", To: "red",
		ToAccount: &projections.AccountFacts{Band: scoring.BandRed}}
	d.Transitions([]projections.Transition{tr})
	d.Transitions([]projections.Transition{tr})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ns, _ := o.Read(context.Background(), 0, 10)
	if len(ns) != 1 || ns[0].ID != ID(TypeBandChanged, "acme", trAt, "green", "red") || c[TypeBandChanged] != 1 {
		t.Fatalf("outbox %+v, counted %v", ns, c)
	}
	cancel()
	<-done
}
