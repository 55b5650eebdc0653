package scoring_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenAt is the instant of the golden explanations.
var goldenAt = utc("2025-06-15T12:00:00Z")

// acme is a healthy gold account: promoters, every meeting held, KPIs on
// target, invoices paid on time, quick replies.
func acme() *scoring.Account {
	a := &scoring.Account{}
	a.AddAttrs(scoring.AttrChange{Ref: "hubspot/a1", Time: utc("2023-02-01T00:00:00Z"), MRRCents: 720000})
	for i, s := range []int{9, 10, 10, 9} {
		a.AddNPS(scoring.NPSAnswer{Ref: "typeform/acme-" + string(rune('a'+i)), Time: goldenAt.Add(-time.Duration(20+30*i) * 24 * time.Hour), Score: s})
	}
	for i, id := range []string{"w1", "w2", "w3", "w4", "w5", "w6"} {
		a.AddMeeting(scoring.MeetingOutcome{Ref: "calendar-sync/acme-" + id, MeetingID: id, Time: goldenAt.Add(-time.Duration(3+7*i) * 24 * time.Hour), Kind: scoring.MeetingHeld})
	}
	a.AddKPI(scoring.KPIReport{Ref: "looker/acme-1", Name: "organic_sessions", Time: utc("2025-06-01T00:00:00Z"), Target: 40000, Actual: 46250, HigherIsBetter: true})
	a.AddKPI(scoring.KPIReport{Ref: "looker/acme-2", Name: "cost_per_lead", Time: utc("2025-06-01T00:00:00Z"), Target: 35, Actual: 31.4})
	a.IssueInvoice("A-1", "stripe/acme-in1", utc("2025-04-01T00:00:00Z"), 720000, utc("2025-04-30"))
	a.AddPayment("A-1", scoring.Payment{Ref: "stripe/acme-py1", Time: utc("2025-04-28T10:00:00Z"), AmountCents: 720000})
	a.IssueInvoice("A-2", "stripe/acme-in2", utc("2025-05-01T00:00:00Z"), 720000, utc("2025-05-31"))
	a.AddPayment("A-2", scoring.Payment{Ref: "stripe/acme-py2", Time: utc("2025-05-31T16:00:00Z"), AmountCents: 720000})
	for i, h := range []time.Duration{1, 3, 2, 5} {
		id := "acme-t" + string(rune('1'+i))
		at := goldenAt.Add(-time.Duration(2+6*i) * 24 * time.Hour)
		a.ReceiveMessage(id, "zendesk/"+id, at)
		a.AddReply(id, scoring.Reply{Ref: "zendesk/re-" + id, Time: at.Add(h * time.Hour)})
	}
	return a
}

// gamma is a bronze account in trouble that its AM has flagged yellow
// (they expect a turnaround) with an override that has not expired.
func gamma() *scoring.Account {
	a := &scoring.Account{}
	a.AddAttrs(scoring.AttrChange{Ref: "hubspot/g1", Time: utc("2024-01-10T00:00:00Z"), MRRCents: 80000})
	a.AddNPS(scoring.NPSAnswer{Ref: "typeform/g-1", Time: utc("2025-05-02T00:00:00Z"), Score: 4})
	a.AddMeeting(scoring.MeetingOutcome{Ref: "calendar-sync/g-1", MeetingID: "kickoff", Time: utc("2025-04-01T15:00:00Z"), Kind: scoring.MeetingMissed, By: scoring.PartyClient})
	a.AddMeeting(scoring.MeetingOutcome{Ref: "calendar-sync/g-2", MeetingID: "review", Time: utc("2025-05-01T15:00:00Z"), Kind: scoring.MeetingHeld})
	a.AddKPI(scoring.KPIReport{Ref: "ga/g-1", Name: "conversions", Time: utc("2025-06-01T00:00:00Z"), Target: 120, Actual: 80, HigherIsBetter: true})
	a.IssueInvoice("G-7", "quickbooks/g-in7", utc("2025-04-20T00:00:00Z"), 80000, utc("2025-05-20"))
	a.VoidInvoice("G-6", "quickbooks/g-void6", utc("2025-05-01T00:00:00Z"))
	a.IssueInvoice("G-6", "quickbooks/g-in6", utc("2025-03-20T00:00:00Z"), 80000, utc("2025-04-20"))
	a.ReceiveMessage("g-m1", "gmail/g-m1", utc("2025-06-10T09:00:00Z"))
	a.ReceiveMessage("g-m2", "gmail/g-m2", utc("2025-06-01T09:00:00Z"))
	a.AddReply("g-m2", scoring.Reply{Ref: "gmail/re-g-m2", Time: utc("2025-06-02T21:00:00Z")})
	exp := utc("2025-07-01T00:00:00Z")
	a.AddOverride(scoring.OverrideFact{Ref: "vitals-cli/o-1", Time: utc("2025-06-12T10:00:00Z"), Kind: scoring.OverrideSet,
		Band: scoring.BandYellow, Reason: "new marketing lead signed off the recovery plan", Author: "am-2", ExpiresAt: &exp})
	return a
}

// delta is a new platinum account with meetings and KPIs only: three
// components are missing and the weights are renormalised.
func delta() *scoring.Account {
	a := &scoring.Account{}
	a.AddAttrs(scoring.AttrChange{Ref: "salesforce/d1", Time: utc("2025-05-20T00:00:00Z"), MRRCents: 1850000})
	a.AddMeeting(scoring.MeetingOutcome{Ref: "calendar-sync/d-1", MeetingID: "kickoff", Time: utc("2025-05-22T15:00:00Z"), Kind: scoring.MeetingHeld})
	a.AddMeeting(scoring.MeetingOutcome{Ref: "calendar-sync/d-2", MeetingID: "onboarding", Time: utc("2025-06-05T15:00:00Z"), Kind: scoring.MeetingMissed, By: scoring.PartyAgency})
	a.AddKPI(scoring.KPIReport{Ref: "looker/d-1", Name: "pipeline", Time: utc("2025-06-10T00:00:00Z"), Target: 500000, Actual: 455000, HigherIsBetter: true})
	return a
}

// goldenAccounts are the accounts of the golden explanations.
func goldenAccounts() map[string]*scoring.Account {
	return map[string]*scoring.Account{
		"northwind": Northwind(), "acme": acme(), "gamma": gamma(), "delta": delta(), "empty": {},
	}
}

// TestGoldenCoversEveryComponent: every registered component has a value
// in at least one golden explanation, so a new component comes with its
// golden evidence and details.
func TestGoldenCoversEveryComponent(t *testing.T) {
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, a := range goldenAccounts() {
		for _, c := range s.Score(a, goldenAt).Components {
			if c.Present && c.Details != nil {
				present[c.Name] = true
			}
		}
	}
	for _, name := range scoring.ComponentNames() {
		if !present[name] {
			t.Errorf("no golden account gives component %q a value with details: add one to golden_test.go and run go test -update", name)
		}
	}
}

func TestGolden(t *testing.T) {
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range goldenAccounts() {
		t.Run(name, func(t *testing.T) {
			got, err := json.MarshalIndent(s.Score(a, goldenAt), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the explanation (run go test -update after checking):\n%s", path, got)
			}
		})
	}
}
