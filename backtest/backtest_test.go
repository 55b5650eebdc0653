package backtest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

func day0(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func defaults() []Config { return []Config{{Name: "default", Config: scoring.DefaultConfig()}} }

// samplesOf returns the samples of account id, by instant.
func samplesOf(t *testing.T, r *run, id string) map[time.Time]*sample {
	t.Helper()
	out := map[time.Time]*sample{}
	for i := range r.samples {
		s := &r.samples[i]
		if r.accounts[s.acct].ID == id {
			out[s.at] = s
		}
	}
	return out
}

// TestSampleUsesOnlyEventsDatedBefore: a sample's score counts an event
// that arrived after everything else but is dated before the sample, and
// not one dated after the sample (even by a second).
func TestSampleUsesOnlyEventsDatedBefore(t *testing.T) {
	s := newSynth()
	s.open("a", day0(2024, 1, 10))
	s.nps("a", day0(2024, 2, 5), 10)
	s.nps("a", time.Date(2024, 3, 1, 0, 0, 1, 0, time.UTC), 0) // after the sample
	s.nps("a", day0(2024, 3, 1), 8)                            // exactly at the sample: in
	// Arrives last, dated before the sample.
	s.nps("a", day0(2024, 2, 10), 3)
	r, err := newRun(context.Background(), s.st, Options{Now: day0(2024, 6, 1), Configs: defaults(), Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := samplesOf(t, r, "a")[day0(2024, 3, 1)]
	if got == nil {
		t.Fatal("no sample at 2024-03-01")
	}
	// mean(10, 3, 8) = 7: yellow, 50 points. With the later answer (0) it
	// would be 5.25 (red, 0); without the back-dated one (3), 9 (green, 100).
	if v := got.per[0]; !v.scored || v.score != 50 {
		t.Errorf("score at 2024-03-01 = %v (scored %v), want 50", v.score, v.scored)
	}
	if got.points[0] != 0.5 || got.present[0] != 1 || got.present[1] != 0 {
		t.Errorf("fit features: points %v present %v", got.points, got.present)
	}
}

// TestChurnedExcludedAndCountedOncePerChurn: an account is sampled only
// while active; one that churns, comes back and churns again counts once
// per churn (a repeated churned status is not a new churn).
func TestChurnedExcludedAndCountedOncePerChurn(t *testing.T) {
	s := newSynth()
	s.open("a", day0(2024, 1, 10))
	s.nps("a", day0(2024, 1, 12), 9)
	s.status("a", day0(2024, 3, 15), domain.StatusChurned)
	s.status("a", day0(2024, 5, 20), domain.StatusActive)
	s.status("a", day0(2024, 8, 10), domain.StatusChurned)
	s.status("a", day0(2024, 8, 20), domain.StatusChurned) // repeated: not a churn
	s.open("b", day0(2024, 1, 10))
	s.nps("b", day0(2024, 1, 12), 9)
	s.status("b", day0(2024, 6, 5), domain.StatusOnHold)
	r, err := newRun(context.Background(), s.st, Options{Now: day0(2025, 1, 1), Configs: defaults(), Horizons: []int{90}, Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := samplesOf(t, r, "a")
	want := []time.Time{day0(2024, 2, 1), day0(2024, 3, 1), day0(2024, 6, 1), day0(2024, 7, 1), day0(2024, 8, 1)}
	if len(got) != len(want) {
		t.Errorf("account a sampled at %d instants, want %d (%v)", len(got), len(want), want)
	}
	for _, at := range want {
		smp := got[at]
		if smp == nil {
			t.Errorf("no sample of a at %s", at.Format(time.DateOnly))
			continue
		}
		if !positive(smp, 90) {
			t.Errorf("sample of a at %s not positive at 90d (next churn %s)", at.Format(time.DateOnly), smp.churn)
		}
	}
	if n := len(samplesOf(t, r, "b")); n != 5 { // Feb..Jun; on hold from 06-05
		t.Errorf("account b sampled %d times, want 5 (not while on hold)", n)
	}
	rep, err := r.report(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h := rep.Configs[0].Horizons[0]
	if h.Churned != 5 || h.ChurnEvents != 2 {
		t.Errorf("90d: churned %d samples, %d churn events; want 5 and 2", h.Churned, h.ChurnEvents)
	}
}

// TestHorizonNotObservedLeftOut: a sample whose horizon ends after the end
// of observation is left out of that horizon only.
func TestHorizonNotObservedLeftOut(t *testing.T) {
	s := newSynth()
	s.open("a", day0(2024, 1, 10))
	s.nps("a", day0(2024, 1, 12), 9)
	rep, err := Run(context.Background(), s.st, Options{Now: day0(2024, 6, 15), Configs: defaults(), Horizons: []int{30, 90}, Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Instants Feb..Jun; 30d horizons end by 06-15 for Feb..May; 90d for Feb, Mar.
	if got := rep.Configs[0].Horizons[0].Samples; got != 4 {
		t.Errorf("30d samples = %d, want 4", got)
	}
	if got := rep.Configs[0].Horizons[1].Samples; got != 2 {
		t.Errorf("90d samples = %d, want 2", got)
	}
}

// TestLeadTime: the lead is the days from the first red within the
// horizon before the churn.
func TestLeadTime(t *testing.T) {
	s := newSynth()
	s.open("a", day0(2024, 1, 10))
	s.nps("a", day0(2024, 1, 15), 10)
	s.nps("a", day0(2024, 3, 1), 0) // mean 5 from here: red
	s.status("a", day0(2024, 3, 21), domain.StatusChurned)
	s.open("b", day0(2024, 1, 10))
	s.nps("b", day0(2024, 1, 15), 10)
	s.status("b", day0(2024, 2, 20), domain.StatusChurned) // never red
	rep, err := Run(context.Background(), s.st, Options{Now: day0(2024, 12, 1), Configs: defaults(), Horizons: []int{10, 30}, Bootstrap: -1})
	if err != nil {
		t.Fatal(err)
	}
	h10, h30 := rep.Configs[0].Horizons[0], rep.Configs[0].Horizons[1]
	if h30.ChurnEvents != 2 || h30.Warned != 1 || h30.MedianLeadDays == nil || *h30.MedianLeadDays != 20 {
		t.Errorf("30d: %d events, %d warned, median lead %v; want 2, 1, 20", h30.ChurnEvents, h30.Warned, h30.MedianLeadDays)
	}
	// At 10d only the sample of 03-01… is within 10d of neither churn:
	// 2024-03-01 + 10d < 03-21, so there are no churn events.
	if h10.ChurnEvents != 0 || h10.MedianLeadDays != nil {
		t.Errorf("10d: %d events, median lead %v; want 0, null", h10.ChurnEvents, h10.MedianLeadDays)
	}
}

// TestAUCByHand checks the AUC with ties against a count by hand.
func TestAUCByHand(t *testing.T) {
	// Churned scores 10, 40, 60; retained 40, 70, 90, 90.
	ss := []evalSample{
		{acct: 0, score: 10, scored: true, pos: true}, {acct: 1, score: 40, scored: true, pos: true},
		{acct: 2, score: 60, scored: true, pos: true}, {acct: 3, score: 40, scored: true},
		{acct: 4, score: 70, scored: true}, {acct: 5, score: 90, scored: true}, {acct: 6, score: 90, scored: true},
		{acct: 7, scored: false, pos: true},
	}
	// Pairs (pos, neg) with pos lower: 10: 4; 40: 3 + tie ½; 60: 3 → 10.5 of 12.
	auc, ok := weightedAUC(sortedScored(ss), nil)
	if !ok || math.Abs(auc-10.5/12) > 1e-12 {
		t.Errorf("AUC = %v, %v; want %v", auc, ok, 10.5/12)
	}
	ci := bootstrapAUC(sortedScored(ss), 500, rand.New(rand.NewPCG(1, 2)))
	if ci == nil || ci.Low > 10.5/12 || ci.High < 10.5/12 || ci.High > 1 || ci.Low < 0 {
		t.Errorf("interval %+v should hold the AUC %v", ci, 10.5/12)
	}
	m := measure(ss, func(int) int { return -1 }, 0, nil)
	if m.Unscored != 1 || m.Samples != 8 || m.Churned != 4 {
		t.Errorf("metrics %+v", m)
	}
	if len(m.Deciles) != 7 || m.Deciles[0].MinScore != 10 || m.Deciles[0].Rate != 1 {
		t.Errorf("deciles %+v", m.Deciles)
	}
	pts := roc(sortedScored(ss))
	if last := pts[len(pts)-1]; last != (ROCPoint{1, 1}) || pts[0] != (ROCPoint{0, 0}) {
		t.Errorf("ROC from %v to %v", pts[0], last)
	}
}

// TestOptionsErrorsNameTheField: bad options are errors naming the option.
func TestOptionsErrorsNameTheField(t *testing.T) {
	s := newSynth()
	s.open("a", day0(2024, 1, 10))
	now := day0(2024, 6, 1)
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Now: now, Configs: defaults(), Horizons: []int{0}}, "horizon: 0d is not within 1d..3660d"},
		{Options{Now: now, Configs: defaults(), Horizons: []int{30, 30}}, "horizon: 30d is given twice"},
		{Options{Now: now}, "config: at least one"},
		{Options{Now: now, Configs: []Config{{Name: "Bad Name"}}}, "config: \"Bad Name\": a name is"},
		{Options{Now: now, Configs: append(defaults(), defaults()...)}, "config: the name \"default\" is used twice"},
		{Options{Now: now, Configs: defaults(), To: now.AddDate(0, 0, 1)}, "to: 2024-06-02T00:00:00Z is after the end of observation"},
		{Options{Now: now, Configs: defaults(), From: now.AddDate(0, 0, -1), To: now.AddDate(0, 0, -2)}, "from: "},
		{Options{Now: now, Configs: defaults(), Fit: &FitOptions{HorizonDays: 45}}, "fit-horizon: 45d is not one of the horizons"},
	} {
		_, err := Run(context.Background(), s.st, tc.opts)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one with %q", tc.opts, err, tc.want)
		}
	}
}

func TestParseHorizons(t *testing.T) {
	got, err := ParseHorizons("30d, 60,90d")
	if err != nil || len(got) != 3 || got[0] != 30 || got[1] != 60 || got[2] != 90 {
		t.Errorf("ParseHorizons = %v, %v", got, err)
	}
	for _, bad := range []string{"", "30x", "d", "3.5d", "30d,,60d"} {
		if _, err := ParseHorizons(bad); err == nil {
			t.Errorf("ParseHorizons(%q) accepted", bad)
		}
	}
}
