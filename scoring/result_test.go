package scoring_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// TestResultRoundsOnlyInJSON: a result keeps its exact values in memory
// (5 held of 6 meetings is 5/6) and writes computed numbers with 4
// decimals, facts (a KPI's target and actual) as reported.
func TestResultRoundsOnlyInJSON(t *testing.T) {
	s, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	at := utc("2025-06-15T12:00:00Z")
	a := &scoring.Account{}
	a.AddAttrs(scoring.AttrChange{Ref: "crm/a", Time: utc("2024-01-01T00:00:00Z"), MRRCents: 100000})
	for i := range 6 {
		kind := scoring.MeetingHeld
		if i == 0 {
			kind = scoring.MeetingMissed
		}
		id := string(rune('a' + i))
		a.AddMeeting(scoring.MeetingOutcome{Ref: "cal/" + id, MeetingID: id, Time: at.Add(-time.Duration(i+1) * 72 * time.Hour), Kind: kind, By: scoring.PartyClient})
	}
	a.AddKPI(scoring.KPIReport{Ref: "bi/k", Name: "ctr", Time: at.Add(-time.Hour), Target: 0.000125, Actual: 0.0001234567, HigherIsBetter: true})
	res := s.Score(a, at)
	meetings := res.Components[1]
	if meetings.Value == nil || *meetings.Value != 5.0/6 {
		t.Fatalf("meetings value %v, want exactly 5/6 in memory", meetings.Value)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"value":0.8333,`, `"target":0.000125,`, `"actual":0.0001234567,`, `"shortfall":0.0123,`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON lacks %s: %s", want, raw)
		}
	}
}

// TestRound4 pins the answer rounding: half away from zero, no -0, and
// numbers too large to scale unchanged.
func TestRound4(t *testing.T) {
	for x, want := range map[float64]float64{
		0.8333333333333334: 0.8333, 2.4163888888888887: 2.4164, -0.15625: -0.1563, 0.00005: 0.0001,
		-0.00004: 0, 12500.5: 12500.5, 1.7976931348623157e308: 1.7976931348623157e308,
	} {
		if got := scoring.Round4(x); got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("Round4(%v) = %v, want %v", x, got, want)
		}
	}
}
