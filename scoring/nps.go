package scoring

import (
	"time"
)

// nps: the mean of the answers in the window.
func (s *Scorer) nps(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	sum, n := 0, 0
	for _, x := range a.NPS {
		if !x.Time.After(lo) {
			continue
		}
		if x.Time.After(t) {
			break // sorted by time
		}
		sum += x.Score
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, x.Ref)
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &NPSDetails{Responses: n, Sum: sum}
	}
	return s.single(compNPS, r, float64(sum)/float64(n))
}
