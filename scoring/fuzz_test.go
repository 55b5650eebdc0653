package scoring

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

// FuzzScore checks the invariants of the scorer on random accounts: the
// score is within 0..100 and its band follows it, coverage is the present
// weight over the total, every number is finite and the result encodes as
// JSON, the result does not depend on the order of the facts, and
// NextChange is never late.
//
// Besides the random facts, each input adds facts with the fuzzed values
// as they are, bypassing ingest validation: a KPI report (target, actual;
// none when target is 0), an attribute change with that SLA (none when 0)
// and an invoice of that many cents with two payments of it (none when 0).
func FuzzScore(f *testing.F) {
	f.Add(uint64(1), uint64(2), int64(0), 0.0, 0.0, 0.0, int64(0))
	f.Add(uint64(7), uint64(99), int64(3600), 100.0, 90.0, 4.0, int64(100000))
	f.Add(uint64(123456), uint64(0), int64(-86400*40), 0.0, 0.0, 0.0, int64(0))
	s := mustScorer(f)
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64, offset int64, target, actual, slaHours float64, cents int64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		ops := randomOps(r)
		at := randomInstant(r).Add(time.Duration(offset%(86400*400)) * time.Second)
		ops = append(ops, extremeOps(at, target, actual, slaHours, cents)...)
		a := build(ops)
		res := s.Score(a, at)
		checkFinite(t, res)
		if cents >= 0 { // every payment is ≥ 0: a sum never goes negative
			for _, c := range res.Components {
				if d, ok := c.Details.(*InvoiceDetails); ok {
					for _, inv := range d.Invoices {
						if inv.PaidCents < 0 {
							t.Fatalf("invoice %s: paid_cents %d from payments ≥ 0", inv.ID, inv.PaidCents)
						}
					}
				}
			}
		}

		if res.Score != nil {
			if *res.Score < 0 || *res.Score > 100 || math.IsNaN(*res.Score) {
				t.Fatalf("score %v out of 0..100", *res.Score)
			}
			if res.ComputedBand != s.scoreBand(*res.Score) {
				t.Fatalf("computed band %s for score %v", res.ComputedBand, *res.Score)
			}
		} else if res.ComputedBand != BandUnknown {
			t.Fatalf("null score with band %s", res.ComputedBand)
		}
		var present, total float64
		for _, c := range res.Components {
			total += c.Weight
			if c.Present {
				present += c.Weight
				if *c.Points < 0 || *c.Points > 100 {
					t.Fatalf("%s points %v", c.Name, *c.Points)
				}
			}
		}
		if want := present / total; res.Coverage != want {
			t.Fatalf("coverage %v, want %v", res.Coverage, want)
		}
		if res.Override != nil && res.Band != res.Override.Band {
			t.Fatalf("band %s with override %+v", res.Band, res.Override)
		}
		if res.Override == nil && res.Band != res.ComputedBand {
			t.Fatalf("band %s without override, computed %s", res.Band, res.ComputedBand)
		}

		r.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
		if got := s.Score(build(ops), at); !reflect.DeepEqual(got, res) {
			t.Fatalf("shuffled facts score differently:\n%s\nvs\n%s", jsonOf(got), jsonOf(res))
		}

		checkNextChange(t, s, r, a, at)
	})
}

// extremeOps adds the fuzzed values as facts shortly before at, where they
// count, unvalidated.
func extremeOps(at time.Time, target, actual, slaHours float64, cents int64) []op {
	var ops []op
	if target != 0 {
		k := KPIReport{Ref: "fz/kpi", Time: at.Add(-time.Hour), Name: "fz", Target: target, Actual: actual, HigherIsBetter: cents%2 == 0}
		ops = append(ops, func(a *Account) { a.AddKPI(k) })
	}
	if slaHours != 0 {
		c := AttrChange{Ref: "fz/attr", Time: at.Add(-2 * day), SLAHours: slaHours, MRRCents: cents}
		ops = append(ops,
			func(a *Account) { a.AddAttrs(c) },
			func(a *Account) { a.ReceiveMessage("fz", "fz/msg", at.Add(-day)) },
		)
	}
	if cents != 0 {
		due := midnight(at.Add(-20 * day))
		ops = append(ops,
			func(a *Account) { a.IssueInvoice("fz", "fz/inv", at.Add(-40*day), cents, due) },
			func(a *Account) {
				a.AddPayment("fz", Payment{Ref: "fz/p1", Time: at.Add(-30 * day), AmountCents: cents})
			},
			func(a *Account) {
				a.AddPayment("fz", Payment{Ref: "fz/p2", Time: at.Add(-25 * day), AmountCents: cents})
			},
		)
	}
	return ops
}
