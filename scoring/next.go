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
	e := earliest{after: t}
	if c, ok := s.nextBase(a, t); ok {
		e.add(c)
	}
	for _, back := range []time.Duration{trendShort, trendLong} {
		if c, ok := s.nextBase(a, t.Add(-back)); ok {
			e.add(c.Add(back))
		}
	}
	return e.at, e.ok
}

// earliest keeps the earliest instant after `after` it is given.
type earliest struct {
	after, at time.Time
	ok        bool
}

func (e *earliest) add(c time.Time) {
	if c.After(e.after) && (!e.ok || c.Before(e.at)) {
		e.at, e.ok = c, true
	}
}

// nextBase is NextChange for the evaluation without trend at x. The rules
// (tier, windows, SLA) are those in effect at x: they hold until the next
// attribute change, itself a candidate.
func (s *Scorer) nextBase(a *Account, x time.Time) (time.Time, bool) {
	e := earliest{after: x}
	attrs := attrsAt(a, x)
	tier := s.tierOf(attrs)
	rules := &s.tiers[tierIndex(tier)]

	e.add(a.Since) // no score before it
	for _, c := range a.Attrs {
		e.add(c.Time)
	}
	for _, o := range a.Overrides {
		e.add(o.Time)
		if o.Kind == OverrideSet && o.ExpiresAt != nil {
			e.add(*o.ExpiresAt)
		}
	}
	w := rules.comps[compNPS].window
	for _, n := range a.NPS {
		e.add(n.Time)
		e.add(n.Time.Add(w))
	}
	w = rules.comps[compMeetings].window
	for _, m := range a.Meetings {
		e.add(m.Time)
		e.add(m.Time.Add(w))
	}
	w = rules.comps[compKPI].window
	for _, k := range a.KPIs {
		e.add(k.Time)
		e.add(k.Time.Add(w))
	}

	w = rules.comps[compInvoices].window
	nextMidnight := midnight(x).Add(day)
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		var paid int64
		for _, p := range inv.Payments {
			e.add(p.Time)
			if !p.Time.After(x) {
				paid = addCents(paid, p.AmountCents)
			}
		}
		if inv.VoidedAt != nil {
			e.add(*inv.VoidedAt)
		}
		if !inv.Issued {
			continue
		}
		e.add(inv.IssuedAt)
		e.add(inv.Due)
		e.add(inv.Due.Add(w))
		voided := inv.VoidedAt != nil && !inv.VoidedAt.After(x)
		if !voided && paid < inv.AmountCents {
			// Unpaid: one more day late at every midnight from the due date on.
			e.add(later(inv.Due, nextMidnight))
		}
	}

	r := rules.comps[compResponse]
	sla := SLADuration(s.slaOf(attrs, tier))
	for i := range a.Messages {
		m := &a.Messages[i]
		for _, rep := range m.Replies {
			e.add(rep.Time)
		}
		if !m.Received {
			continue
		}
		e.add(m.ReceivedAt)
		e.add(m.ReceivedAt.Add(r.window))
		if _, answered := firstReply(m, x); answered {
			continue
		}
		// Unanswered: it starts to count once elapsed > SLA, and its ratio
		// crosses the band thresholds as time passes (within the window).
		if sla < r.window {
			e.add(m.ReceivedAt.Add(sla + 1))
		}
		for _, thr := range []float64{r.green, r.yellow} {
			if d, ok := firstAbove(thr, sla, r.window); ok {
				e.add(m.ReceivedAt.Add(d))
			}
		}
	}
	return e.at, e.ok
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
