package scoring

import (
	"math"
	"time"
)

// kpiComponent is the kpi component: per KPI, the band of its shortfall
// from target; the mean of their points (lower shortfall is better).
type kpiComponent struct{}

func (kpiComponent) name() string                              { return "kpi" }
func (kpiComponent) lowerIsBetter() bool                       { return true }
func (kpiComponent) settings(cs *Components) *ComponentConfig  { return &cs.KPI }
func (kpiComponent) patch(ps ComponentPatches) *ComponentPatch { return ps.KPI }

// next: a report counts from its time and leaves the window.
func (kpiComponent) next(a *Account, _ time.Time, r rule, _ time.Duration, e *Earliest) {
	for _, k := range a.KPIs {
		e.Add(k.Time.Time())
		e.Add(k.Time.Add(r.window))
	}
}

// validKPI reports whether a KPI report can be scored.
func validKPI(k KPIRecord) bool {
	return k.Target > 0 && !math.IsInf(k.Target, 0) && !math.IsNaN(k.Actual) && !math.IsInf(k.Actual, 0)
}

// shortfall is (target − actual) ÷ target, negated when lower is better,
// rounded to 9 decimals so that decimal inputs land exactly on decimal
// thresholds: (100 − 90) ÷ 100 and (0.3 − 0.27) ÷ 0.3 are both exactly the
// float64 nearest to 0.10.
//
// The shortfall is kept finite whatever the (finite, target > 0) inputs:
// when target − actual overflows float64 the same ratio is computed as
// 1 − actual ÷ target instead, and a ratio beyond ±maxShortfall (a subnormal
// target, say) is clamped to ±maxShortfall — the worst value when actual
// falls short, the best when it exceeds the target.
func shortfall(k KPIRecord) float64 {
	d := k.Target - k.Actual
	var q float64
	if math.IsInf(d, 0) {
		q = 1 - k.Actual/k.Target
	} else {
		q = d / k.Target
	}
	if !k.HigherIsBetter {
		q = -q
	}
	switch {
	case math.IsNaN(q) || q > maxShortfall:
		q = maxShortfall // NaN cannot arise from valid reports; worst if it did
	case q < -maxShortfall:
		q = -maxShortfall
	}
	sf := math.Round(q*1e9) / 1e9
	if sf == 0 {
		return 0 // no -0
	}
	return sf
}

// maxShortfall bounds a KPI shortfall (a million times the target): far
// beyond every band threshold, and small enough that rounding to 9
// decimals stays exact.
const maxShortfall = 1e6

// evaluate: per KPI name the latest valid report in the window; the mean of
// their points.
func (kpiComponent) evaluate(s *Scorer, a *Account, t time.Time, r rule, _ float64, c *Component) outcome {
	lo, hi := InstantOf(t.Add(-r.window)), InstantOf(t)
	var sumP float64
	n := 0
	var details []KPIDetail
	ks := a.KPIs
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && a.cmpText(ks[j].Name, ks[i].Name) == 0 {
			j++
		}
		k := -1
		for x := i; x < j && ks[x].Time <= hi; x++ {
			if validKPI(ks[x]) {
				k = x
			}
		}
		i = j
		if k < 0 || ks[k].Time <= lo {
			continue
		}
		rep := ks[k]
		sf := shortfall(rep)
		b := bandOf(true, r, sf)
		p := s.pointsOf(b)
		sumP += p
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, a.str(rep.Ref))
			details = append(details, KPIDetail{
				Name: a.str(rep.Name), Time: rep.Time.Time(), Target: rep.Target, Actual: rep.Actual,
				HigherIsBetter: rep.HigherIsBetter, Shortfall: sf, Band: b, Points: p, Evidence: a.str(rep.Ref),
			})
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &KPIDetails{KPIs: details}
	}
	mean := sumP / float64(n)
	return outcome{present: true, value: mean, points: mean, band: s.scoreBand(mean)}
}
