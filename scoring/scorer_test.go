package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// T is the evaluation instant of the table tests.
var T = time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)

// ago is T − d.
func ago(d time.Duration) time.Time { return T.Add(-d) }

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

// date returns 00:00 UTC of T's day shifted by n days.
func date(n int) time.Time { return midnight(T).AddDate(0, 0, n) }

func mustScorer(t testing.TB) *Scorer {
	t.Helper()
	s, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// component returns the named component of r.
func component(t testing.TB, r Result, name string) Component {
	t.Helper()
	for _, c := range r.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %q", name)
	return Component{}
}

func nps(a *Account, at time.Time, scores ...int) {
	for i, s := range scores {
		a.AddNPS(NPSAnswer{Ref: fmt.Sprintf("survey/n%d-%d", at.Unix(), i), Time: at, Score: s})
	}
}

func meeting(a *Account, id string, at time.Time, k MeetingKind, by Party) {
	a.AddMeeting(MeetingOutcome{Ref: "cal/" + id + "-" + string(k) + at.Format("0102"), MeetingID: id, Time: at, Kind: k, By: by})
}

func meetings(a *Account, held, missed int) {
	for i := range held {
		meeting(a, fmt.Sprintf("h%d", i), ago(day), MeetingHeld, "")
	}
	for i := range missed {
		meeting(a, fmt.Sprintf("m%d", i), ago(day), MeetingMissed, PartyClient)
	}
}

func kpi(a *Account, name string, at time.Time, target, actual float64, higher bool) {
	a.AddKPI(KPIReport{Ref: "bi/" + name + at.Format("0102"), Time: at, Name: name, Target: target, Actual: actual, HigherIsBetter: higher})
}

// invoice issues an invoice of 1000.00 due on due, paid in full at paidAt
// unless paidAt is zero.
func invoice(a *Account, id string, due time.Time, paidAt time.Time) {
	a.IssueInvoice(id, "stripe/"+id, due.AddDate(0, 0, -30), 100000, due)
	if !paidAt.IsZero() {
		a.AddPayment(id, Payment{Ref: "stripe/pay-" + id, Time: paidAt, AmountCents: 100000})
	}
}

// sla4 gives the account an explicit 4-hour SLA.
func sla4(a *Account) {
	a.AddAttrs(AttrChange{Ref: "crm/open", Time: ago(400 * day), MRRCents: 200000, SLAHours: 4})
}

// message records a message received at `at`, replied after `reply` (no
// reply when reply < 0).
func message(a *Account, id string, at time.Time, reply time.Duration) {
	a.ReceiveMessage(id, "mail/"+id, at)
	if reply >= 0 {
		a.AddReply(id, Reply{Ref: "mail/re-" + id, Time: at.Add(reply)})
	}
}

func TestComponentBoundaries(t *testing.T) {
	missing := math.NaN()
	tests := []struct {
		name   string
		comp   string
		build  func(a *Account)
		value  float64 // NaN: missing
		band   Band
		points float64
	}{
		// nps: mean ≥ 9 green, ≥ 7 yellow.
		{"nps mean exactly 9", "nps", func(a *Account) { nps(a, ago(day), 10, 8, 9) }, 9, BandGreen, 100},
		{"nps mean just below 9", "nps", func(a *Account) { nps(a, ago(day), 9, 9, 8) }, 26.0 / 3, BandYellow, 50},
		{"nps mean exactly 7", "nps", func(a *Account) { nps(a, ago(day), 7, 7) }, 7, BandYellow, 50},
		{"nps mean just below 7", "nps", func(a *Account) { nps(a, ago(day), 7, 7, 6) }, 20.0 / 3, BandRed, 0},
		{"nps none", "nps", func(a *Account) {}, missing, BandUnknown, 0},

		// window edges, on nps (window 180 d).
		{"fact exactly at T−W is out", "nps", func(a *Account) { nps(a, ago(180*day), 0) }, missing, BandUnknown, 0},
		{"fact just after T−W is in", "nps", func(a *Account) { nps(a, ago(180*day-1), 0) }, 0, BandRed, 0},
		{"fact exactly at T is in", "nps", func(a *Account) { nps(a, T, 10) }, 10, BandGreen, 100},
		{"fact after T is out", "nps", func(a *Account) { nps(a, T.Add(1), 10) }, missing, BandUnknown, 0},

		// meetings: = 1 green, ≥ 0.75 yellow.
		{"attendance 1", "meetings", func(a *Account) { meetings(a, 4, 0) }, 1, BandGreen, 100},
		{"attendance exactly 0.75", "meetings", func(a *Account) { meetings(a, 3, 1) }, 0.75, BandYellow, 50},
		{"attendance just below 0.75", "meetings", func(a *Account) { meetings(a, 8, 3) }, 8.0 / 11, BandRed, 0},
		{"agency misses count as missed", "meetings", func(a *Account) {
			meetings(a, 3, 0)
			meeting(a, "x", ago(day), MeetingMissed, PartyAgency)
		}, 0.75, BandYellow, 50},
		{"canceled removes the meeting", "meetings", func(a *Account) {
			meetings(a, 1, 0)
			meeting(a, "x", ago(3*day), MeetingMissed, PartyClient)
			meeting(a, "x", ago(2*day), MeetingCanceled, "")
		}, 1, BandGreen, 100},
		{"latest outcome counts", "meetings", func(a *Account) {
			meeting(a, "x", ago(3*day), MeetingMissed, PartyClient)
			meeting(a, "x", ago(2*day), MeetingHeld, "")
		}, 1, BandGreen, 100},
		{"outcome after T does not count", "meetings", func(a *Account) {
			meeting(a, "x", ago(3*day), MeetingMissed, PartyClient)
			meeting(a, "x", T.Add(time.Hour), MeetingHeld, "")
		}, 0, BandRed, 0},
		{"latest outcome out of window removes meeting", "meetings", func(a *Account) {
			meeting(a, "x", ago(95*day), MeetingMissed, PartyClient)
			meeting(a, "x", ago(90*day), MeetingHeld, "")
		}, missing, BandUnknown, 0},
		{"only canceled is missing", "meetings", func(a *Account) { meeting(a, "x", ago(day), MeetingCanceled, "") }, missing, BandUnknown, 0},

		// kpi: shortfall ≤ 0 green 100, ≤ 0.10 yellow 50, else red 0; mean → band by score bands.
		{"shortfall exactly 0", "kpi", func(a *Account) { kpi(a, "leads", ago(day), 100, 100, true) }, 100, BandGreen, 100},
		{"shortfall exactly 0.10", "kpi", func(a *Account) { kpi(a, "leads", ago(day), 100, 90, true) }, 50, BandYellow, 50},
		{"shortfall 0.10 from decimals", "kpi", func(a *Account) { kpi(a, "ctr", ago(day), 0.3, 0.27, true) }, 50, BandYellow, 50},
		{"shortfall 0.10 from 2.2/1.98", "kpi", func(a *Account) { kpi(a, "roas", ago(day), 2.2, 1.98, true) }, 50, BandYellow, 50},
		{"shortfall just above 0.10", "kpi", func(a *Account) { kpi(a, "leads", ago(day), 100, 89.99, true) }, 0, BandRed, 0},
		{"lower is better, on target", "kpi", func(a *Account) { kpi(a, "cpa", ago(day), 50, 50, false) }, 100, BandGreen, 100},
		{"lower is better, under target", "kpi", func(a *Account) { kpi(a, "cpa", ago(day), 50, 40, false) }, 100, BandGreen, 100},
		{"lower is better, 10% over", "kpi", func(a *Account) { kpi(a, "cpa", ago(day), 50, 55, false) }, 50, BandYellow, 50},
		{"lower is better, over 10% over", "kpi", func(a *Account) { kpi(a, "cpa", ago(day), 50, 55.01, false) }, 0, BandRed, 0},
		{"latest report per KPI", "kpi", func(a *Account) {
			kpi(a, "leads", ago(20*day), 100, 10, true)
			kpi(a, "leads", ago(day), 100, 120, true)
		}, 100, BandGreen, 100},
		{"mean of KPIs 100,50,0 is 50 yellow", "kpi", func(a *Account) {
			kpi(a, "a", ago(day), 100, 100, true)
			kpi(a, "b", ago(day), 100, 95, true)
			kpi(a, "c", ago(day), 100, 50, true)
		}, 50, BandYellow, 50},
		{"mean of KPIs 50,0 is 25 red", "kpi", func(a *Account) {
			kpi(a, "a", ago(day), 100, 95, true)
			kpi(a, "b", ago(day), 100, 50, true)
		}, 25, BandRed, 25},
		{"mean of KPIs 100,100,50 is green", "kpi", func(a *Account) {
			kpi(a, "a", ago(day), 100, 100, true)
			kpi(a, "b", ago(day), 100, 101, true)
			kpi(a, "c", ago(day), 100, 95, true)
		}, 250.0 / 3, BandGreen, 250.0 / 3},
		{"mean of KPIs 100,50 is 75 green", "kpi", func(a *Account) {
			kpi(a, "a", ago(day), 100, 100, true)
			kpi(a, "b", ago(day), 100, 95, true)
		}, 75, BandGreen, 75},
		{"invalid target ignored", "kpi", func(a *Account) { kpi(a, "a", ago(day), 0, 5, true) }, missing, BandUnknown, 0},

		// invoices: 0 green, 1–14 yellow, ≥ 15 red.
		{"paid on the due date", "invoices", func(a *Account) { invoice(a, "i1", date(-20), date(-20).Add(23*time.Hour)) }, 0, BandGreen, 100},
		{"paid early", "invoices", func(a *Account) { invoice(a, "i1", date(-20), date(-40)) }, 0, BandGreen, 100},
		{"paid 1 day late", "invoices", func(a *Account) { invoice(a, "i1", date(-20), date(-19)) }, 1, BandYellow, 50},
		{"paid 14 days late", "invoices", func(a *Account) { invoice(a, "i1", date(-20), date(-6).Add(time.Hour)) }, 14, BandYellow, 50},
		{"paid 15 days late", "invoices", func(a *Account) { invoice(a, "i1", date(-20), date(-5)) }, 15, BandRed, 0},
		{"unpaid, due today", "invoices", func(a *Account) { invoice(a, "i1", date(0), time.Time{}) }, 0, BandGreen, 100},
		{"unpaid, due yesterday", "invoices", func(a *Account) { invoice(a, "i1", date(-1), time.Time{}) }, 1, BandYellow, 50},
		{"unpaid, 14 days", "invoices", func(a *Account) { invoice(a, "i1", date(-14), time.Time{}) }, 14, BandYellow, 50},
		{"unpaid, 15 days", "invoices", func(a *Account) { invoice(a, "i1", date(-15), time.Time{}) }, 15, BandRed, 0},
		{"unpaid, not yet due", "invoices", func(a *Account) { invoice(a, "i1", date(1), time.Time{}) }, missing, BandUnknown, 0},
		{"payment after T does not count", "invoices", func(a *Account) { invoice(a, "i1", date(-3), T.Add(time.Minute)) }, 3, BandYellow, 50},
		{"partly paid is unpaid", "invoices", func(a *Account) {
			invoice(a, "i1", date(-3), time.Time{})
			a.AddPayment("i1", Payment{Ref: "stripe/p1", Time: date(-3), AmountCents: 99999})
		}, 3, BandYellow, 50},
		{"paid by two payments, the second completes", "invoices", func(a *Account) {
			invoice(a, "i1", date(-30), time.Time{})
			a.AddPayment("i1", Payment{Ref: "stripe/p1", Time: date(-30), AmountCents: 50000})
			a.AddPayment("i1", Payment{Ref: "stripe/p2", Time: date(-10), AmountCents: 50000})
		}, 20, BandRed, 0},
		{"voided", "invoices", func(a *Account) {
			invoice(a, "i1", date(-30), time.Time{})
			a.VoidInvoice("i1", "stripe/void-i1", date(-2))
		}, missing, BandUnknown, 0},
		{"voided after T still counts", "invoices", func(a *Account) {
			invoice(a, "i1", date(-3), time.Time{})
			a.VoidInvoice("i1", "stripe/void-i1", T.Add(time.Hour))
		}, 3, BandYellow, 50},
		{"paid, due before the window", "invoices", func(a *Account) { invoice(a, "i1", date(-200), date(-150)) }, missing, BandUnknown, 0},
		{"unpaid, due before the window", "invoices", func(a *Account) { invoice(a, "i1", date(-200), time.Time{}) }, 200, BandRed, 0},
		{"the worst invoice counts", "invoices", func(a *Account) {
			invoice(a, "i1", date(-40), date(-40))
			invoice(a, "i2", date(-30), date(-25))
			invoice(a, "i3", date(5), time.Time{})
		}, 5, BandYellow, 50},
		{"payments without an issued invoice", "invoices", func(a *Account) {
			a.AddPayment("ghost", Payment{Ref: "stripe/p", Time: ago(day), AmountCents: 5})
		}, missing, BandUnknown, 0},

		// response (SLA 4 h): ≤ 1 green, ≤ 2 yellow.
		{"ratio exactly 1", "response", func(a *Account) { sla4(a); message(a, "m", ago(10*day), 4*time.Hour) }, 1, BandGreen, 100},
		{"ratio exactly 2", "response", func(a *Account) { sla4(a); message(a, "m", ago(10*day), 8*time.Hour) }, 2, BandYellow, 50},
		{"ratio just over 2", "response", func(a *Account) { sla4(a); message(a, "m", ago(10*day), 8*time.Hour+time.Second) }, 2 + 1/14400.0, BandRed, 0},
		{"reply dated before the message", "response", func(a *Account) {
			sla4(a)
			message(a, "m", ago(10*day), -time.Hour)
			a.AddReply("m", Reply{Ref: "mail/early", Time: ago(10*day + time.Hour)})
		}, 0, BandGreen, 100},
		{"unanswered exactly at SLA does not count", "response", func(a *Account) { sla4(a); message(a, "m", ago(4*time.Hour), -1) }, missing, BandUnknown, 0},
		{"unanswered just past SLA counts", "response", func(a *Account) { sla4(a); message(a, "m", ago(4*time.Hour+time.Second), -1) }, 1 + 1/14400.0, BandYellow, 50},
		{"unanswered, elapsed hours", "response", func(a *Account) { sla4(a); message(a, "m", ago(12*time.Hour), -1) }, 3, BandRed, 0},
		{"reply after T does not count", "response", func(a *Account) { sla4(a); message(a, "m", ago(2*time.Hour), 3*time.Hour) }, missing, BandUnknown, 0},
		{"first reply counts", "response", func(a *Account) {
			sla4(a)
			message(a, "m", ago(10*day), 10*time.Hour)
			a.AddReply("m", Reply{Ref: "mail/re-first", Time: ago(10 * day).Add(2 * time.Hour)})
		}, 0.5, BandGreen, 100},
		{"message before the window", "response", func(a *Account) { sla4(a); message(a, "m", ago(30*day), time.Hour) }, missing, BandUnknown, 0},
		{"tier SLA (bronze 48 h)", "response", func(a *Account) { message(a, "m", ago(10*day), 48*time.Hour) }, 1, BandGreen, 100},
		{"tier SLA (platinum 4 h)", "response", func(a *Account) {
			a.AddAttrs(AttrChange{Ref: "crm/open", Time: ago(400 * day), MRRCents: 1_000_000})
			message(a, "m", ago(10*day), 6*time.Hour)
		}, 1.5, BandYellow, 50},
	}
	// p90, nearest rank: replies after 1..n hours with SLA 4 h give ratios i/4.
	for _, n := range []int{1, 9, 10, 11} {
		rank := int(math.Ceil(0.9 * float64(n)))
		want := float64(rank) / 4
		b := BandGreen
		switch {
		case want > 2:
			b = BandRed
		case want > 1:
			b = BandYellow
		}
		tests = append(tests, struct {
			name   string
			comp   string
			build  func(a *Account)
			value  float64
			band   Band
			points float64
		}{fmt.Sprintf("p90 of %d messages", n), "response", func(a *Account) {
			sla4(a)
			for i := n; i >= 1; i-- {
				message(a, fmt.Sprintf("m%02d", i), ago(time.Duration(i)*day), time.Duration(i)*time.Hour)
			}
		}, want, b, map[Band]float64{BandGreen: 100, BandYellow: 50, BandRed: 0}[b]})
	}

	s := mustScorer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			tt.build(&a)
			r := s.Score(&a, T)
			c := component(t, r, tt.comp)
			if math.IsNaN(tt.value) {
				if c.Present || c.Value != nil || c.Points != nil || c.Band != BandUnknown || len(c.Evidence) != 0 {
					t.Fatalf("want missing, got %s", jsonOf(c))
				}
				return
			}
			if !c.Present || c.Value == nil || c.Points == nil {
				t.Fatalf("want present, got %s", jsonOf(c))
			}
			if math.Abs(*c.Value-tt.value) > 1e-9 || c.Band != tt.band || math.Abs(*c.Points-tt.points) > 1e-9 {
				t.Errorf("value %v band %s points %v, want %v %s %v\n%s", *c.Value, c.Band, *c.Points, tt.value, tt.band, tt.points, jsonOf(c))
			}
			if len(c.Evidence) == 0 {
				t.Errorf("no evidence")
			}
		})
	}
}

func jsonOf(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestShortfallExact(t *testing.T) {
	tests := []struct {
		target, actual float64
		higher         bool
		want           float64
	}{
		{100, 90, true, 0.10},
		{0.3, 0.27, true, 0.10},
		{2.2, 1.98, true, 0.10},
		{1.1, 0.99, true, 0.10},
		{50, 55, false, 0.10},
		{0.7, 0.77, false, 0.10},
		{100, 100, true, 0},
		{100, 100, false, 0},
		{100, 110, true, -0.10},
	}
	for _, tt := range tests {
		got := shortfall(KPIRecord{Target: tt.target, Actual: tt.actual, HigherIsBetter: tt.higher})
		if got != tt.want {
			t.Errorf("shortfall(%v, %v, %v) = %v, want exactly %v", tt.target, tt.actual, tt.higher, got, tt.want)
		}
		if got == 0 && math.Signbit(got) {
			t.Errorf("shortfall(%v, %v) is -0", tt.target, tt.actual)
		}
	}
}

func TestScoreCoverageAndMissing(t *testing.T) {
	s := mustScorer(t)
	tests := []struct {
		name     string
		build    func(a *Account)
		score    float64 // NaN: null
		band     Band
		coverage float64
	}{
		{"nothing", func(a *Account) {}, math.NaN(), BandUnknown, 0},
		{"only nps green", func(a *Account) { nps(a, ago(day), 10) }, 100, BandGreen, 0.25},
		{"nps green and kpi red", func(a *Account) {
			nps(a, ago(day), 10)
			kpi(a, "leads", ago(day), 100, 50, true)
		}, 45.45, BandRed, 0.55}, // 25·100 ÷ 55
		{"all present", func(a *Account) {
			sla4(a)
			nps(a, ago(day), 8)                      // yellow 50
			meetings(a, 4, 0)                        // green 100
			kpi(a, "leads", ago(day), 100, 90, true) // yellow 50
			invoice(a, "i1", date(-20), date(-20))   // green 100
			message(a, "m", ago(2*day), time.Hour)   // green 100
		}, 72.5, BandYellow, 1}, // (25·50 + 15·100 + 30·50 + 15·100 + 15·100) ÷ 100
		{"weights renormalised", func(a *Account) {
			nps(a, ago(day), 9)                      // 100 × 25
			kpi(a, "leads", ago(day), 100, 90, true) // 50 × 30
			meetings(a, 1, 0)                        // 100 × 15
			invoice(a, "i1", date(-3), time.Time{})  // 50 × 15
		}, 73.53, BandYellow, 0.85}, // (2500 + 1500 + 1500 + 750) ÷ 85 = 73.529…
		{"score exactly 75 is green", func(a *Account) {
			meetings(a, 1, 0)                       // 100 × 15
			invoice(a, "i1", date(-3), time.Time{}) // 50 × 15
		}, 75, BandGreen, 0.3},
		{"score exactly 50 is yellow", func(a *Account) {
			meetings(a, 1, 0)                        // 100 × 15
			invoice(a, "i1", date(-30), time.Time{}) // 0 × 15
		}, 50, BandYellow, 0.3},
		{"score just below 50 is red", func(a *Account) {
			nps(a, ago(day), 10)                     // 100 × 25
			kpi(a, "leads", ago(day), 100, 10, true) // 0 × 30
			meetings(a, 0, 1)                        // 0 × 15
			invoice(a, "i1", date(-1), time.Time{})  // 50 × 15
			message(a, "m", ago(day), time.Minute)   // 100 × 15
		}, 47.5, BandRed, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			tt.build(&a)
			r := s.Score(&a, T)
			if math.IsNaN(tt.score) {
				if r.Score != nil {
					t.Errorf("score %v, want null", *r.Score)
				}
			} else if r.Score == nil || *r.Score != tt.score {
				t.Errorf("score %v, want %v\n%s", r.Score, tt.score, jsonOf(r))
			}
			if r.Band != tt.band || r.ComputedBand != tt.band || r.Coverage != tt.coverage {
				t.Errorf("band %s/%s coverage %v, want %s %v", r.Band, r.ComputedBand, r.Coverage, tt.band, tt.coverage)
			}
		})
	}
}

func TestScoreBandBoundaries(t *testing.T) {
	s := mustScorer(t)
	for _, tt := range []struct {
		x    float64
		want Band
	}{{100, BandGreen}, {75, BandGreen}, {74.99, BandYellow}, {50, BandYellow}, {49.99, BandRed}, {0, BandRed}} {
		if got := s.scoreBand(tt.x); got != tt.want {
			t.Errorf("scoreBand(%v) = %s, want %s", tt.x, got, tt.want)
		}
	}
}

func TestOverride(t *testing.T) {
	s := mustScorer(t)
	exp := func(d time.Duration) *time.Time { x := T.Add(d); return &x }
	tests := []struct {
		name  string
		facts []OverrideFact
		want  Band // "" = no override
	}{
		{"none", nil, ""},
		{"active", []OverrideFact{{Ref: "cli/o1", Time: ago(day), Kind: OverrideSet, Band: BandRed, Reason: "champion left", Author: "am-1"}}, BandRed},
		{"active until later", []OverrideFact{{Ref: "cli/o1", Time: ago(day), Kind: OverrideSet, Band: BandRed, ExpiresAt: exp(1)}}, BandRed},
		{"expired exactly at T", []OverrideFact{{Ref: "cli/o1", Time: ago(day), Kind: OverrideSet, Band: BandRed, ExpiresAt: exp(0)}}, ""},
		{"cleared", []OverrideFact{
			{Ref: "cli/o1", Time: ago(2 * day), Kind: OverrideSet, Band: BandRed},
			{Ref: "cli/o2", Time: ago(day), Kind: OverrideClear},
		}, ""},
		{"set again after clear", []OverrideFact{
			{Ref: "cli/o1", Time: ago(3 * day), Kind: OverrideSet, Band: BandRed},
			{Ref: "cli/o2", Time: ago(2 * day), Kind: OverrideClear},
			{Ref: "cli/o3", Time: ago(day), Kind: OverrideSet, Band: BandYellow},
		}, BandYellow},
		{"clear after T does not count", []OverrideFact{
			{Ref: "cli/o1", Time: ago(2 * day), Kind: OverrideSet, Band: BandRed},
			{Ref: "cli/o2", Time: T.Add(1), Kind: OverrideClear},
		}, BandRed},
		{"set after T does not count", []OverrideFact{{Ref: "cli/o1", Time: T.Add(1), Kind: OverrideSet, Band: BandRed}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			nps(&a, ago(day), 10)
			for _, f := range tt.facts {
				a.AddOverride(f)
			}
			r := s.Score(&a, T)
			if r.ComputedBand != BandGreen || r.Score == nil || *r.Score != 100 {
				t.Errorf("computed %s %v, want green 100", r.ComputedBand, r.Score)
			}
			if tt.want == "" {
				if r.Override != nil || r.Band != BandGreen {
					t.Errorf("override %+v band %s, want none and green", r.Override, r.Band)
				}
				return
			}
			if r.Override == nil || r.Override.Band != tt.want || r.Band != tt.want {
				t.Errorf("override %+v band %s, want %s", r.Override, r.Band, tt.want)
			}
		})
	}
}

func TestTierAndSLA(t *testing.T) {
	s := mustScorer(t)
	tests := []struct {
		mrr   int64
		tier  Tier
		sla   float64
		wantT Tier
		wantS float64
	}{
		{0, "", 0, TierBronze, 48},
		{99999, "", 0, TierBronze, 48},
		{100000, "", 0, TierSilver, 24},
		{499999, "", 0, TierSilver, 24},
		{500000, "", 0, TierGold, 8},
		{999999, "", 0, TierGold, 8},
		{1000000, "", 0, TierPlatinum, 4},
		{1000000, TierBronze, 0, TierBronze, 48},
		{0, TierPlatinum, 0, TierPlatinum, 4},
		{0, "", 2.5, TierBronze, 2.5},
	}
	for _, tt := range tests {
		var a Account
		a.AddAttrs(AttrChange{Ref: "crm/1", Time: ago(day), MRRCents: tt.mrr, Tier: tt.tier, SLAHours: tt.sla})
		if got := s.Tier(&a, T); got != tt.wantT {
			t.Errorf("Tier(mrr %d, tier %q) = %s, want %s", tt.mrr, tt.tier, got, tt.wantT)
		}
		if got := s.SLAHours(&a, T); got != tt.wantS {
			t.Errorf("SLAHours(mrr %d, tier %q, sla %v) = %v, want %v", tt.mrr, tt.tier, tt.sla, got, tt.wantS)
		}
		if got := s.Tier(&a, ago(2*day)); got != TierBronze {
			t.Errorf("Tier before the first change = %s, want bronze", got)
		}
	}
}

func TestProfileAppliesByTierAtT(t *testing.T) {
	c := DefaultConfig()
	zero := 0.0
	c.Profiles = map[Tier]Profile{TierPlatinum: {Components: ComponentPatches{NPS: &ComponentPatch{Weight: &zero}}}}
	s, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var a Account
	a.AddAttrs(AttrChange{Ref: "crm/1", Time: ago(10 * day), MRRCents: 200000})
	a.AddAttrs(AttrChange{Ref: "crm/2", Time: ago(5 * day), MRRCents: 2000000})
	nps(&a, ago(20*day), 0)
	kpi(&a, "leads", ago(20*day), 100, 100, true)
	if r := s.Score(&a, T); *r.Score != 100 || r.Tier != TierPlatinum || r.Coverage != 30.0/75 {
		t.Errorf("platinum: score %v tier %s coverage %v, want 100, platinum, 0.4", *r.Score, r.Tier, r.Coverage)
	}
	if r := s.Score(&a, ago(7*day)); *r.Score != 54.55 || r.Tier != TierSilver {
		t.Errorf("silver: score %v tier %s, want 54.55 silver", *r.Score, r.Tier)
	}
}

func TestTrend(t *testing.T) {
	s := mustScorer(t)
	var a Account
	nps(&a, ago(40*day), 10)                     // green for all three instants
	kpi(&a, "leads", ago(10*day), 100, 50, true) // red since T−10d
	r := s.Score(&a, T)
	want := func(p *float64, v float64, what string) {
		t.Helper()
		if p == nil || *p != v {
			t.Errorf("%s = %v, want %v", what, p, v)
		}
	}
	want(r.Score, 45.45, "score")
	want(r.Trend.Score7dAgo, 45.45, "score_7d_ago")
	want(r.Trend.Score30dAgo, 100, "score_30d_ago")
	want(r.Trend.Delta7d, 0, "delta_7d")
	want(r.Trend.Delta30d, -54.55, "delta_30d")

	r = s.Score(&a, ago(35*day)) // 30 d earlier nothing is known
	if r.Trend.Score30dAgo != nil || r.Trend.Delta30d != nil {
		t.Errorf("trend 30d = %v %v, want nulls", r.Trend.Score30dAgo, r.Trend.Delta30d)
	}
	if r.Trend.Score7dAgo != nil || r.Trend.Delta7d != nil {
		t.Errorf("trend 7d = %v %v, want nulls", r.Trend.Score7dAgo, r.Trend.Delta7d)
	}
	if s.ScoreWithoutTrend(&a, T).Trend != nil {
		t.Error("ScoreWithoutTrend has a trend")
	}
}

func TestJSONShape(t *testing.T) {
	s := mustScorer(t)
	var a Account
	nps(&a, ago(day), 7, 8)
	r := s.Score(&a, T)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"at", "score", "band", "computed_band", "coverage", "override", "components", "trend"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	c := m["components"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "weight", "present", "value", "band", "points", "window_days", "evidence"} {
		if _, ok := c[k]; !ok {
			t.Errorf("no components[0].%q", k)
		}
	}
	tr := m["trend"].(map[string]any)
	for _, k := range []string{"score_7d_ago", "score_30d_ago", "delta_7d", "delta_30d"} {
		if _, ok := tr[k]; !ok {
			t.Errorf("no trend.%q", k)
		}
	}
	if !strings.Contains(string(b), `"value":7.5`) || !strings.Contains(string(b), `"evidence":[]`) {
		t.Errorf("unexpected encoding %s", b)
	}
}

func TestAbsurdSLAIsCapped(t *testing.T) {
	s := mustScorer(t)
	for _, h := range []float64{1e300, math.Inf(1), 1e-300} {
		var a Account
		a.AddAttrs(AttrChange{Ref: "crm/1", Time: ago(day), SLAHours: h})
		message(&a, "m", ago(2*day), -1)
		message(&a, "n", ago(3*day), time.Hour)
		r := s.Score(&a, T)
		c := component(t, r, "response")
		if !c.Present || math.IsNaN(*c.Value) || math.IsInf(*c.Value, 0) {
			t.Errorf("SLA %v: response %s", h, jsonOf(c))
		}
		if _, ok := s.NextChange(&a, T); !ok {
			t.Errorf("SLA %v: no next change", h)
		}
	}
}
