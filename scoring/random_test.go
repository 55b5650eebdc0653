package scoring

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// op adds one fact to an account.
type op func(a *Account)

// randomInstant returns an instant near T: on a coarse grid (days, hours)
// most of the time, so that facts share instants and land on window edges,
// sometimes off the grid by a few nanoseconds or seconds.
func randomInstant(r *rand.Rand) time.Time {
	base := T.Add(-time.Duration(r.IntN(260)) * day).Add(time.Duration(r.IntN(300)) * day / 10)
	switch r.IntN(4) {
	case 0:
		return midnight(base)
	case 1:
		return base.Truncate(time.Hour)
	case 2:
		return base.Add(time.Duration(r.IntN(5)-2) * time.Nanosecond)
	}
	return base.Add(time.Duration(r.IntN(7200)) * time.Second)
}

// randomOps returns the facts of a random account as operations.
func randomOps(r *rand.Rand) []op {
	n := r.IntN(40)
	ops := make([]op, 0, n+1)
	ref := func(i int) string { return fmt.Sprintf("src/e%03d", i) }
	mrrs := []int64{0, 99999, 100000, 500000, 1000000, 2500000}
	tiers := []Tier{"", "", TierGold, TierPlatinum}
	slas := []float64{0, 0, 4, 2.5}
	targets := []float64{100, 0.3, 2.2, 50, 1}
	factors := []float64{1, 0.9, 0.89, 1.1, 1.11, 0.5, 1.2}
	for i := range n {
		at, rf := randomInstant(r), ref(i)
		switch r.IntN(11) {
		case 0:
			c := AttrChange{Ref: rf, Time: at, MRRCents: mrrs[r.IntN(len(mrrs))], Tier: tiers[r.IntN(len(tiers))], SLAHours: slas[r.IntN(len(slas))]}
			ops = append(ops, func(a *Account) { a.AddAttrs(c) })
		case 1:
			x := NPSAnswer{Ref: rf, Time: at, Score: r.IntN(11)}
			ops = append(ops, func(a *Account) { a.AddNPS(x) })
		case 2:
			kinds := []MeetingKind{MeetingHeld, MeetingHeld, MeetingMissed, MeetingCanceled}
			m := MeetingOutcome{Ref: rf, MeetingID: fmt.Sprintf("mt%d", r.IntN(6)), Time: at, Kind: kinds[r.IntN(len(kinds))], By: []Party{"", PartyClient, PartyAgency}[r.IntN(3)]}
			ops = append(ops, func(a *Account) { a.AddMeeting(m) })
		case 3:
			tg := targets[r.IntN(len(targets))]
			k := KPIReport{Ref: rf, Time: at, Name: fmt.Sprintf("k%d", r.IntN(3)), Target: tg, Actual: tg * factors[r.IntN(len(factors))], HigherIsBetter: r.IntN(3) > 0}
			ops = append(ops, func(a *Account) { a.AddKPI(k) })
		case 4, 5:
			id, amount := fmt.Sprintf("inv%d", r.IntN(5)), int64(1+r.IntN(3))*10000
			due := midnight(at).Add(time.Duration(r.IntN(40)-5) * day)
			ops = append(ops, func(a *Account) { a.IssueInvoice(id, rf, at, amount, due) })
		case 6:
			id := fmt.Sprintf("inv%d", r.IntN(5))
			p := Payment{Ref: rf, Time: at, AmountCents: int64(1+r.IntN(3)) * 10000}
			ops = append(ops, func(a *Account) { a.AddPayment(id, p) })
		case 7:
			id := fmt.Sprintf("inv%d", r.IntN(5))
			ops = append(ops, func(a *Account) { a.VoidInvoice(id, rf, at) })
		case 8:
			id := fmt.Sprintf("msg%d", r.IntN(8))
			ops = append(ops, func(a *Account) { a.ReceiveMessage(id, rf, at) })
			if r.IntN(3) > 0 {
				rep := Reply{Ref: ref(i) + "r", Time: at.Add(time.Duration(r.IntN(100)-5) * time.Hour)}
				ops = append(ops, func(a *Account) { a.AddReply(id, rep) })
			}
		case 9:
			id := fmt.Sprintf("msg%d", r.IntN(8))
			rep := Reply{Ref: rf, Time: at}
			ops = append(ops, func(a *Account) { a.AddReply(id, rep) })
		case 10:
			o := OverrideFact{Ref: rf, Time: at, Kind: OverrideSet, Band: []Band{BandRed, BandYellow, BandGreen}[r.IntN(3)], Reason: "r", Author: "am"}
			if r.IntN(3) == 0 {
				o = OverrideFact{Ref: rf, Time: at, Kind: OverrideClear}
			} else if r.IntN(2) == 0 {
				x := at.Add(time.Duration(1+r.IntN(30)) * day)
				o.ExpiresAt = &x
			}
			ops = append(ops, func(a *Account) { a.AddOverride(o) })
		}
	}
	if r.IntN(3) == 0 {
		since := randomInstant(r)
		ops = append(ops, func(a *Account) { a.Since = since })
	}
	return ops
}

// build applies ops to a new account.
func build(ops []op) *Account {
	a := &Account{}
	for _, o := range ops {
		o(a)
	}
	return a
}

// stable returns the part of a result that NextChange promises to hold
// still: all of it except At and the continuously growing elapsed time of
// counted unanswered messages (their hours and ratio, and the response value
// while any of them counts).
func stable(r Result) Result {
	r.At = time.Time{}
	r.Components = slices.Clone(r.Components)
	for i, c := range r.Components {
		d, ok := c.Details.(*ResponseDetails)
		if !ok {
			continue
		}
		dc := *d
		dc.Messages = slices.Clone(d.Messages)
		unanswered := false
		for j := range dc.Messages {
			if !dc.Messages[j].Answered {
				unanswered = true
				dc.Messages[j].Hours, dc.Messages[j].Ratio = 0, 0
			}
		}
		if unanswered {
			c.Value = nil
		}
		c.Details = &dc
		r.Components[i] = c
	}
	return r
}

// probes returns instants worth checking in (from, to): just before and at
// every instant derived from a fact time, plus random ones.
func probes(r *rand.Rand, a *Account, from, to time.Time, bounded bool) []time.Time {
	var ts []time.Time
	add := func(x time.Time) {
		for _, d := range []time.Duration{-1, 0} {
			y := x.Add(d)
			if y.After(from) && (!bounded || y.Before(to)) {
				ts = append(ts, y)
			}
		}
	}
	var facts []time.Time
	for _, c := range a.Attrs {
		facts = append(facts, c.Time)
	}
	for _, x := range a.NPS {
		facts = append(facts, x.Time.Time())
	}
	for _, x := range a.Meetings {
		facts = append(facts, x.Time.Time())
	}
	for _, x := range a.KPIs {
		facts = append(facts, x.Time.Time())
	}
	for _, x := range a.Overrides {
		facts = append(facts, x.Time)
		if x.ExpiresAt != nil {
			facts = append(facts, *x.ExpiresAt)
		}
	}
	for _, inv := range a.Invoices {
		facts = append(facts, inv.IssuedAt.Time(), inv.Due.Time())
		for _, p := range inv.Payments {
			facts = append(facts, p.Time.Time())
		}
		if inv.Voided {
			facts = append(facts, inv.VoidedAt.Time())
		}
	}
	for _, m := range a.Messages {
		facts = append(facts, m.ReceivedAt.Time())
		for _, h := range []float64{2.5, 4, 8, 24, 48, 5, 10, 16, 48, 96} {
			facts = append(facts, m.ReceivedAt.Add(hours(h)), m.ReceivedAt.Add(hours(h)+1), m.ReceivedAt.Add(hours(h)+2))
		}
		for _, rep := range m.Replies {
			facts = append(facts, rep.Time.Time())
		}
	}
	for _, f := range facts {
		for _, w := range []time.Duration{0, 30 * day, 90 * day, 180 * day} {
			for _, back := range []time.Duration{0, trendShort, trendLong} {
				add(f.Add(w + back))
			}
		}
	}
	for range 20 {
		span := to.Sub(from)
		if !bounded || span <= 0 {
			span = 400 * day
		}
		add(from.Add(1 + time.Duration(r.Int64N(int64(span)))))
	}
	add(from.Add(2))
	if bounded {
		add(to)
	}
	return ts
}

// checkNextChange asserts that the result at every probe in (t,
// NextChange(t)) equals the result at t.
func checkNextChange(t *testing.T, s *Scorer, r *rand.Rand, a *Account, at time.Time) {
	t.Helper()
	want := stable(s.Score(a, at))
	next, ok := s.NextChange(a, at)
	if ok && !next.After(at) {
		t.Fatalf("NextChange(%v) = %v, not after", at, next)
	}
	for _, p := range probes(r, a, at, next, ok) {
		if got := stable(s.Score(a, p)); !reflect.DeepEqual(got, want) {
			t.Fatalf("result changed at %v, before NextChange(%v) = %v (ok %v)\nat t: %s\nat p: %s\naccount: %s",
				p, at, next, ok, jsonOf(want), jsonOf(got), jsonOf(a))
		}
	}
}

// altConfig differs from the defaults where NextChange depends on the
// config: per-tier windows, weights and thresholds, a response green
// threshold below 1 (so counting starts after the green crossing).
func altConfig(t testing.TB) *Scorer {
	t.Helper()
	c := DefaultConfig()
	c.Components.Response.Green = 0.5
	c.Components.Response.Yellow = 1.5
	w45, w10, w0 := 45, 10, 0.0
	y3 := 3.0
	c.Profiles = map[Tier]Profile{
		TierPlatinum: {Components: ComponentPatches{
			NPS:      &ComponentPatch{WindowDays: &w45},
			Response: &ComponentPatch{WindowDays: &w10, Yellow: &y3},
		}},
		TierGold: {Components: ComponentPatches{KPI: &ComponentPatch{Weight: &w0}, Invoices: &ComponentPatch{WindowDays: &w45}}},
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNextChangeBruteForce(t *testing.T) {
	for name, s := range map[string]*Scorer{"default": mustScorer(t), "alt": altConfig(t)} {
		t.Run(name, func(t *testing.T) { bruteForce(t, s) })
	}
}

func bruteForce(t *testing.T, s *Scorer) {
	iters := 150
	if testing.Short() {
		iters = 30
	}
	bruteForceN(t, s, iters)
}

// bruteForceN checks NextChange on iters random accounts, each walked
// forward change by change as the projections do, and returns the names
// of the components that had a value at some instant checked.
func bruteForceN(t *testing.T, s *Scorer, iters int) map[string]bool {
	r := rand.New(rand.NewPCG(1, 2))
	present := map[string]bool{}
	check := func(a *Account, at time.Time) {
		checkNextChange(t, s, r, a, at)
		for _, c := range s.Score(a, at).Components {
			if c.Present {
				present[c.Name] = true
			}
		}
	}
	for range iters {
		a := build(randomOps(r))
		at := randomInstant(r)
		check(a, at)
		// Walk forward change by change, as the projections do.
		for range 5 {
			next, ok := s.NextChange(a, at)
			if !ok {
				break
			}
			at = next
			check(a, at)
		}
	}
	return present
}

func TestNextChangeCases(t *testing.T) {
	s := mustScorer(t)
	tests := []struct {
		name  string
		build func(a *Account)
		at    time.Time
		want  time.Time // zero: none
	}{
		{"empty", func(a *Account) {}, T, time.Time{}},
		{"nps leaves window", func(a *Account) { nps(a, ago(100*day), 9) }, T, ago(100 * day).Add(180 * day)},
		{"future fact", func(a *Account) { nps(a, T.Add(time.Hour), 9) }, T, T.Add(time.Hour)},
		{"unpaid invoice: next midnight", func(a *Account) { invoice(a, "i", date(-3), time.Time{}) }, T, date(1)},
		{"unpaid, not due: due date", func(a *Account) { invoice(a, "i", date(3), time.Time{}) }, T, date(3)},
		{"unanswered: passes SLA", func(a *Account) { sla4(a); message(a, "m", ago(time.Hour), -1) }, T, ago(time.Hour).Add(4*time.Hour + 1)},
		{"unanswered past SLA: passes 2×SLA", func(a *Account) { sla4(a); message(a, "m", ago(5*time.Hour), -1) }, T, ago(5 * time.Hour).Add(8*time.Hour + 1)},
		{"override expires", func(a *Account) {
			x := T.Add(3 * time.Hour)
			a.AddOverride(OverrideFact{Ref: "o", Time: ago(day), Kind: OverrideSet, Band: BandRed, ExpiresAt: &x})
		}, T, T.Add(3 * time.Hour)},
		{"trend: fact seen 7 days later", func(a *Account) { nps(a, ago(3*day), 9) }, T, ago(3 * day).Add(7 * day)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			tt.build(&a)
			got, ok := s.NextChange(&a, tt.at)
			if tt.want.IsZero() {
				if ok {
					t.Errorf("NextChange = %v, want none", got)
				}
				return
			}
			if !ok || !got.Equal(tt.want) {
				t.Errorf("NextChange = %v %v, want %v", got, ok, tt.want)
			}
		})
	}
}

func TestOrderIndependence(t *testing.T) {
	s := mustScorer(t)
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		ops := randomOps(r)
		at := randomInstant(r)
		want := jsonOf(s.Score(build(ops), at))
		r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		// Each op twice: duplicates change nothing.
		a := build(append(ops, ops...))
		if got := jsonOf(s.Score(a, at)); got != want {
			t.Fatalf("shuffled facts score differently:\n%s\nvs\n%s", got, want)
		}
		// Normalize of a shuffled copy of the lists gives the same result.
		b := *a
		b.NPS = append([]NPSRecord(nil), a.NPS...)
		r.Shuffle(len(b.NPS), func(i, j int) { b.NPS[i], b.NPS[j] = b.NPS[j], b.NPS[i] })
		b.Invoices = append(append([]Invoice(nil), a.Invoices...), a.Invoices...)
		r.Shuffle(len(b.Invoices), func(i, j int) { b.Invoices[i], b.Invoices[j] = b.Invoices[j], b.Invoices[i] })
		b.Messages = append([]Message(nil), a.Messages...)
		r.Shuffle(len(b.Messages), func(i, j int) { b.Messages[i], b.Messages[j] = b.Messages[j], b.Messages[i] })
		b.Normalize()
		if got := jsonOf(s.Score(&b, at)); got != want {
			t.Fatalf("normalized facts score differently:\n%s\nvs\n%s", got, want)
		}
	}
}

func TestAccountJSONRoundTrip(t *testing.T) {
	s := mustScorer(t)
	r := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		a := build(randomOps(r))
		at := randomInstant(r)
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back Account
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.Normalize()
		if got, want := jsonOf(s.Score(&back, at)), jsonOf(s.Score(a, at)); got != want {
			t.Fatalf("account after a JSON round trip scores differently:\n%s\nvs\n%s", got, want)
		}
	}
}

func TestPrune(t *testing.T) {
	s := mustScorer(t)
	checkPruneKeepsResults(t, s, rand.New(rand.NewPCG(5, 6)))
	// Prune really drops old facts.
	var a Account
	nps(&a, ago(400*day), 9)
	invoice(&a, "old", date(-400), date(-400))
	invoice(&a, "open", date(-400), time.Time{})
	message(&a, "m", ago(400*day), time.Hour)
	a.AddAttrs(AttrChange{Ref: "a1", Time: ago(500 * day)})
	a.AddAttrs(AttrChange{Ref: "a2", Time: ago(450 * day)})
	a.AddAttrs(AttrChange{Ref: "a3", Time: ago(day)})
	s.Prune(&a, T)
	if len(a.NPS) != 0 || len(a.Messages) != 0 || len(a.Invoices) != 1 || a.Str(a.Invoices[0].ID) != "open" || len(a.Attrs) != 2 || a.Attrs[0].Ref != "a2" {
		t.Errorf("after Prune: %s", jsonOf(a))
	}
}

// profiledScorer has per-tier windows: platinum accounts count messages
// over 120 days and meetings over 20, bronze ones NPS over 45.
func profiledScorer(t testing.TB) *Scorer {
	t.Helper()
	c := DefaultConfig()
	days := func(n int) *int { return &n }
	c.Profiles = map[Tier]Profile{
		TierPlatinum: {Components: ComponentPatches{Response: &ComponentPatch{WindowDays: days(120)}, Meetings: &ComponentPatch{WindowDays: days(20)}}},
		TierBronze:   {Components: ComponentPatches{NPS: &ComponentPatch{WindowDays: days(45)}}},
	}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPruneWithTierProfiles: with windows that differ by tier (an account
// changes tier when its MRR does), a prune still changes no result.
func TestPruneWithTierProfiles(t *testing.T) {
	checkPruneKeepsResults(t, profiledScorer(t), rand.New(rand.NewPCG(7, 8)))
}

// TestPruneKeepsEachKindForItsOwnWindow: each kind of fact is kept as far
// back as its own component's longest window (over the tiers) and the
// trend look-back reach, or the caller's Reach when that is longer — not
// as far as the longest window of any component.
func TestPruneKeepsEachKindForItsOwnWindow(t *testing.T) {
	fill := func() *Account {
		var a Account
		message(&a, "m100", ago(100*day), time.Hour) // response: 30 d window
		message(&a, "m50", ago(50*day), time.Hour)
		meeting(&a, "w130", ago(130*day), MeetingHeld, "") // meetings: 90 d
		meeting(&a, "w100", ago(100*day), MeetingHeld, "")
		kpi(&a, "k", ago(130*day), 100, 90, true) // kpi: 90 d
		kpi(&a, "k", ago(100*day), 100, 90, true)
		nps(&a, ago(220*day), 9) // nps: 180 d
		nps(&a, ago(100*day), 9)
		return &a
	}
	ids := func(a *Account) string {
		var out []string
		for _, m := range a.Messages {
			out = append(out, "msg:"+a.Str(m.ID))
		}
		for _, m := range a.Meetings {
			out = append(out, "mtg:"+a.Str(m.MeetingID))
		}
		for _, k := range a.KPIs {
			out = append(out, "kpi:"+k.Time.Time().Format(time.DateOnly))
		}
		for _, n := range a.NPS {
			out = append(out, "nps:"+n.Time.Time().Format(time.DateOnly))
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		name string
		s    *Scorer
		keep Reach
		want string
	}{
		{"default windows", mustScorer(t), Reach{}, "[msg:m50 mtg:w100 kpi:2025-03-07 nps:2025-03-07]"},
		{"a reach of 120 days for messages", mustScorer(t), Reach{Messages: 120 * day}, "[msg:m100 msg:m50 mtg:w100 kpi:2025-03-07 nps:2025-03-07]"},
		// Platinum's 120-day response window keeps m100 for every tier;
		// its 20-day meetings window does not shorten the others' 90.
		{"per-tier windows", profiledScorer(t), Reach{}, "[msg:m100 msg:m50 mtg:w100 kpi:2025-03-07 nps:2025-03-07]"},
	} {
		a := fill()
		tc.s.PruneKeeping(a, T, tc.keep)
		if got := ids(a); got != tc.want {
			t.Errorf("%s: kept %s, want %s", tc.name, got, tc.want)
		}
	}
}

// checkPruneKeepsResults prunes random accounts at random instants and
// checks that no result at or after the instant changes.
func checkPruneKeepsResults(t *testing.T, s *Scorer, r *rand.Rand) {
	t.Helper()
	for range 200 {
		a := build(randomOps(r))
		before := randomInstant(r)
		// Reference results at and after `before`.
		var at []time.Time
		for _, d := range []time.Duration{0, 1, time.Hour, day, 7 * day, 31 * day, 100 * day, 200 * day} {
			at = append(at, before.Add(d))
		}
		for range 10 {
			at = append(at, before.Add(time.Duration(r.Int64N(int64(300*day)))))
		}
		want := make([]string, len(at))
		for i, x := range at {
			want[i] = jsonOf(s.Score(a, x))
		}
		nextWant, okWant := s.NextChange(a, before)
		s.Prune(a, before)
		for i, x := range at {
			if got := jsonOf(s.Score(a, x)); got != want[i] {
				t.Fatalf("after Prune(%v), result at %v changed:\n%s\nvs\n%s", before, x, got, want[i])
			}
		}
		// NextChange may only get later through facts that cannot matter; it
		// must never get earlier than a real change, which the brute-force
		// check covers, so just check it stays after `before`.
		if next, ok := s.NextChange(a, before); ok && !next.After(before) || (okWant && ok && next.Before(before)) {
			t.Fatalf("NextChange after prune = %v, before prune %v", next, nextWant)
		}
	}
}

// TestSummaryIsScoreWithoutComponents checks that Summary answers what
// Score answers, less the components, on random accounts and instants
// (overrides, tier changes and instants before the account included).
func TestSummaryIsScoreWithoutComponents(t *testing.T) {
	s := mustScorer(t)
	r := rand.New(rand.NewPCG(11, 12))
	for range 2000 {
		a := build(randomOps(r))
		at := randomInstant(r)
		want := s.Score(a, at)
		want.Components = nil
		if got := s.Summary(a, at); !reflect.DeepEqual(got, want) {
			t.Fatalf("at %s: Summary\n%s\nwant Score without components\n%s", at, jsonOf(got), jsonOf(want))
		}
	}
}
