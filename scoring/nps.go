package scoring

import (
	"time"
)

// npsComponent is the nps component: the mean of the NPS answers in the
// window (higher is better).
type npsComponent struct{}

func (npsComponent) name() string                              { return "nps" }
func (npsComponent) lowerIsBetter() bool                       { return false }
func (npsComponent) settings(cs *Components) *ComponentConfig  { return &cs.NPS }
func (npsComponent) patch(ps ComponentPatches) *ComponentPatch { return ps.NPS }

// next: an answer counts from its time and leaves the window.
func (npsComponent) next(a *Account, _ time.Time, r rule, _ time.Duration, e *Earliest) {
	for _, n := range a.NPS {
		e.Add(n.Time.Time())
		e.Add(n.Time.Add(r.window))
	}
}

// evaluate: the mean of the answers in the window.
func (npsComponent) evaluate(s *Scorer, a *Account, t time.Time, r rule, _ float64, c *Component) outcome {
	lo, hi := InstantOf(t.Add(-r.window)), InstantOf(t)
	sum, n := 0, 0
	for _, x := range a.NPS {
		if x.Time <= lo {
			continue
		}
		if x.Time > hi {
			break // sorted by time
		}
		sum += x.Score
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, a.str(x.Ref))
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &NPSDetails{Responses: n, Sum: sum}
	}
	return s.single(false, r, float64(sum)/float64(n))
}
