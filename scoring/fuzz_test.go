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
// weight over the total, the result does not depend on the order of the
// facts, and NextChange is never late.
func FuzzScore(f *testing.F) {
	f.Add(uint64(1), uint64(2), int64(0))
	f.Add(uint64(7), uint64(99), int64(3600))
	f.Add(uint64(123456), uint64(0), int64(-86400*40))
	s := mustScorer(f)
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64, offset int64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		ops := randomOps(r)
		at := randomInstant(r).Add(time.Duration(offset%(86400*400)) * time.Second)
		a := build(ops)
		res := s.Score(a, at)

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
