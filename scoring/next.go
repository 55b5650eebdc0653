package scoring

import (
	"sort"
	"time"
)

// NextChange returns the earliest instant after t at which the result of
// [Scorer.Score] for a can change while no fact is added: a fact's time
// arriving, a fact leaving a window, an invoice becoming due or a day later,
// an unanswered message passing its SLA or a band threshold, an override
// expiring — and the same for the evaluations 7 and 30 days back that make
// the trend. The instant may be early (nothing changes then) but is never
// late. ok is false when nothing can ever change.
//
// One quantity changes continuously and is not covered: the elapsed hours
// of a counted unanswered message (its Hours and Ratio in the details and,
// when it is the percentile, the response value) grow with t. The response
// band and points, and so the score, change only at the instants returned.
func (s *Scorer) NextChange(a *Account, t time.Time) (time.Time, bool) {
	t = t.UTC()
	e := Earliest{After: t}
	if c, ok := s.nextBase(a, t); ok {
		e.Add(c)
	}
	for _, back := range []time.Duration{trendShort, trendLong} {
		if c, ok := s.nextBase(a, t.Add(-back)); ok {
			e.Add(c.Add(back))
		}
	}
	return e.Instant()
}

// Earliest keeps the earliest instant after After that it is given: the
// next change instant of whatever adds its candidates.
type Earliest struct {
	After time.Time
	at    time.Time
	ok    bool
}

// Add offers c; it is kept when it is after After and before every
// instant kept so far.
func (e *Earliest) Add(c time.Time) {
	if c.After(e.After) && (!e.ok || c.Before(e.at)) {
		e.at, e.ok = c, true
	}
}

// Instant returns the earliest instant kept, and whether there is one.
func (e *Earliest) Instant() (time.Time, bool) { return e.at, e.ok }

// nextBase is NextChange for the evaluation without trend at x. The rules
// (tier, windows, SLA) are those in effect at x: they hold until the next
// attribute change, itself a candidate.
func (s *Scorer) nextBase(a *Account, x time.Time) (time.Time, bool) {
	e := Earliest{After: x}
	attrs := attrsAt(a, x)
	tier := s.tierOf(attrs)
	rules := &s.tiers[tierIndex(tier)]

	e.Add(a.Since) // no score before it
	for _, c := range a.Attrs {
		e.Add(c.Time)
	}
	for _, o := range a.Overrides {
		e.Add(o.Time)
		if o.Kind == OverrideSet && o.ExpiresAt != nil {
			e.Add(*o.ExpiresAt)
		}
	}
	sla := SLADuration(s.slaOf(attrs, tier))
	for id, c := range components {
		c.next(a, x, rules.comps[id], sla, &e)
	}
	return e.Instant()
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// firstAbove returns the smallest elapsed d in [0, limit] with
// ratio(d, sla) > thr, by bisection on the very formula scoring uses, so
// float rounding cannot make it late.
func firstAbove(thr float64, sla, limit time.Duration) (time.Duration, bool) {
	if !(ratio(limit, sla) > thr) {
		return 0, false
	}
	i := sort.Search(int(limit)+1, func(i int) bool { return ratio(time.Duration(i), sla) > thr })
	return time.Duration(i), true
}
