package scoring_test

import (
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// utc parses an RFC 3339 instant or a YYYY-MM-DD date.
func utc(s string) time.Time {
	layout := time.RFC3339
	if len(s) == len(time.DateOnly) {
		layout = time.DateOnly
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Northwind is the worked example of docs/scoring.md: a silver account
// (MRR 2500.00, SLA 24 h) scored at 2025-06-15T12:00:00Z.
func Northwind() *scoring.Account {
	a := &scoring.Account{}
	a.AddAttrs(scoring.AttrChange{Ref: "crm/open-1", Time: utc("2024-11-02T09:00:00Z"), MRRCents: 250000})

	// NPS: 9, 10, 8 in the last 180 days (a 3 from 2024-11 is older).
	a.AddNPS(scoring.NPSAnswer{Ref: "survey/r-11", Time: utc("2024-11-20T10:00:00Z"), Score: 3})
	a.AddNPS(scoring.NPSAnswer{Ref: "survey/r-31", Time: utc("2025-03-10T10:00:00Z"), Score: 9})
	a.AddNPS(scoring.NPSAnswer{Ref: "survey/r-44", Time: utc("2025-05-20T10:00:00Z"), Score: 10})
	a.AddNPS(scoring.NPSAnswer{Ref: "survey/r-52", Time: utc("2025-06-01T10:00:00Z"), Score: 8})

	// Meetings: 3 held, 1 missed by the client, 1 missed by the agency then
	// canceled (rescheduled).
	meet := func(ref, id, at string, k scoring.MeetingKind, by scoring.Party) {
		a.AddMeeting(scoring.MeetingOutcome{Ref: ref, MeetingID: id, Time: utc(at), Kind: k, By: by})
	}
	meet("calendar-sync/e1", "qbr-q2", "2025-04-02T15:00:00Z", scoring.MeetingHeld, "")
	meet("calendar-sync/e2", "weekly-19", "2025-05-07T15:00:00Z", scoring.MeetingHeld, "")
	meet("calendar-sync/e3", "weekly-20", "2025-05-14T15:00:00Z", scoring.MeetingMissed, scoring.PartyClient)
	meet("calendar-sync/e4", "weekly-21", "2025-05-21T15:00:00Z", scoring.MeetingHeld, "")
	meet("calendar-sync/e5", "weekly-22", "2025-05-28T15:00:00Z", scoring.MeetingMissed, scoring.PartyAgency)
	meet("calendar-sync/e6", "weekly-22", "2025-05-28T18:00:00Z", scoring.MeetingCanceled, "")

	// KPIs: leads beat their target; cost per acquisition is 7.5 % over.
	kpi := func(ref, name, at string, target, actual float64, higher bool) {
		a.AddKPI(scoring.KPIReport{Ref: ref, Name: name, Time: utc(at), Target: target, Actual: actual, HigherIsBetter: higher})
	}
	kpi("looker/k1", "leads", "2025-05-01T00:00:00Z", 200, 150, true)
	kpi("looker/k2", "leads", "2025-06-01T00:00:00Z", 200, 210, true)
	kpi("looker/k3", "cpa", "2025-06-01T00:00:00Z", 40, 43, false)

	// Invoices: INV-104 paid 3 days late, INV-105 unpaid since 2025-06-05,
	// INV-106 not due yet.
	a.IssueInvoice("INV-104", "stripe/in-104", utc("2025-04-01T08:00:00Z"), 250000, utc("2025-04-30"))
	a.AddPayment("INV-104", scoring.Payment{Ref: "stripe/py-104", Time: utc("2025-05-03T14:00:00Z"), AmountCents: 250000})
	a.IssueInvoice("INV-105", "stripe/in-105", utc("2025-05-06T08:00:00Z"), 250000, utc("2025-06-05"))
	a.AddPayment("INV-105", scoring.Payment{Ref: "stripe/py-105a", Time: utc("2025-06-10T09:00:00Z"), AmountCents: 100000})
	a.IssueInvoice("INV-106", "stripe/in-106", utc("2025-06-01T08:00:00Z"), 250000, utc("2025-06-30"))

	// Messages (SLA 24 h): replies after 2, 6, 20 and 30 hours, and one
	// unanswered since 2025-06-14T08:00 (28 h at T).
	msg := func(id, at string, reply time.Duration) {
		a.ReceiveMessage(id, "helpdesk/"+id, utc(at))
		if reply > 0 {
			a.AddReply(id, scoring.Reply{Ref: "helpdesk/re-" + id, Time: utc(at).Add(reply)})
		}
	}
	msg("t-901", "2025-05-20T09:00:00Z", 2*time.Hour)
	msg("t-902", "2025-05-27T09:00:00Z", 6*time.Hour)
	msg("t-903", "2025-06-02T09:00:00Z", 20*time.Hour)
	msg("t-904", "2025-06-09T09:00:00Z", 30*time.Hour)
	msg("t-905", "2025-06-14T08:00:00Z", 0)
	return a
}

// The worked example of docs/scoring.md.
func ExampleScorer_Score() {
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		panic(err)
	}
	a := Northwind()
	at := utc("2025-06-15T12:00:00Z")
	r := s.Score(a, at)
	fmt.Printf("tier %s, SLA %g h\n", r.Tier, r.SLAHours)
	for _, c := range r.Components {
		fmt.Printf("%-8s weight %2g  value %6.4g  %-6s points %g\n", c.Name, c.Weight, *c.Value, c.Band, *c.Points)
	}
	fmt.Printf("score %g %s, coverage %g\n", *r.Score, r.Band, r.Coverage)
	fmt.Printf("trend: 7 d ago %g (Δ %g), 30 d ago %g (Δ %g)\n",
		*r.Trend.Score7dAgo, *r.Trend.Delta7d, *r.Trend.Score30dAgo, *r.Trend.Delta30d)
	next, _ := s.NextChange(a, at)
	fmt.Println("next change:", next.Format(time.RFC3339))
	// Output:
	// tier silver, SLA 24 h
	// nps      weight 25  value      9  green  points 100
	// meetings weight 15  value   0.75  yellow points 50
	// kpi      weight 30  value     75  green  points 75
	// invoices weight 15  value     10  yellow points 50
	// response weight 15  value   1.25  yellow points 50
	// score 70 yellow, coverage 1
	// trend: 7 d ago 77.5 (Δ -7.5), 30 d ago 8.82 (Δ 61.18)
	// next change: 2025-06-16T00:00:00Z
}
