package projections

import (
	"math"

	"github.com/vitals-hq/vitals/scoring"
)

// finite keeps a read model's number encodable whatever the facts (hours,
// capacities that bypassed ingest ranges, sums that overflow): ±Inf becomes
// ±math.MaxFloat64 (the largest value, so "over capacity" stays true) and
// NaN becomes 0.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// round2 rounds to 2 decimals and round4 to the 4 decimals of every number
// in an answer ([scoring.Round4]); a finite x stays finite (a number too
// large to scale has no decimals to round).
func round2(x float64) float64 { return roundTo(x, 100) }
func round4(x float64) float64 { return scoring.Round4(x) }

func roundTo(x, scale float64) float64 {
	if r := math.Round(x*scale) / scale; !math.IsInf(r, 0) {
		return r
	}
	return x
}
