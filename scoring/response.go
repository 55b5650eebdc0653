package scoring

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// maxSLA caps absurd SLAs (from data) far from Duration overflow.
const maxSLA = 100 * 366 * day

// The range of an account's own SLA, in hours: 1 ns .. maxSLA.
const (
	minSLAHours = float64(time.Nanosecond) / float64(time.Hour)
	maxSLAHours = float64(maxSLA) / float64(time.Hour)
)

// SLADuration converts SLA hours to a duration, clamped to 1 ns … 100 × 366
// days (also for NaN and ±Inf), the one conversion scoring and the read
// models share.
func SLADuration(hours float64) time.Duration {
	ns := math.Round(hours * float64(time.Hour))
	if !(ns < float64(maxSLA)) { // also NaN
		return maxSLA
	}
	return max(1, time.Duration(ns))
}

// ratio is elapsed ÷ sla, the one formula both scoring and NextChange use.
func ratio(elapsed, sla time.Duration) float64 { return float64(elapsed) / float64(sla) }

// firstReply returns the earliest reply with time ≤ t.
func firstReply(m *Message, t time.Time) (ReplyRecord, bool) {
	if len(m.Replies) == 0 || m.Replies[0].Time.After(t) {
		return ReplyRecord{}, false
	}
	return m.Replies[0], true
}

// responseComponent is the response component: the 90th percentile of
// reply time ÷ SLA (lower is better).
type responseComponent struct{}

func (responseComponent) name() string                              { return "response" }
func (responseComponent) lowerIsBetter() bool                       { return true }
func (responseComponent) settings(cs *Components) *ComponentConfig  { return &cs.Response }
func (responseComponent) patch(ps ComponentPatches) *ComponentPatch { return ps.Response }

// next: replies, a message's receipt and leaving the window, and for an
// unanswered one the instants it starts to count and crosses each band
// threshold.
func (responseComponent) next(a *Account, x time.Time, r rule, sla time.Duration, e *Earliest) {
	for i := range a.Messages {
		m := &a.Messages[i]
		for _, rep := range m.Replies {
			e.Add(rep.Time.Time())
		}
		if !m.Received {
			continue
		}
		e.Add(m.ReceivedAt.Time())
		e.Add(m.ReceivedAt.Add(r.window))
		if _, answered := firstReply(m, x); answered {
			continue
		}
		// Unanswered: it starts to count once elapsed > SLA, and its ratio
		// crosses the band thresholds as time passes (within the window).
		if sla < r.window {
			e.Add(m.ReceivedAt.Add(sla + 1))
		}
		for _, thr := range []float64{r.green, r.yellow} {
			if d, ok := firstAbove(thr, sla, r.window); ok {
				e.Add(m.ReceivedAt.Add(d))
			}
		}
	}
}

// evaluate: the nearest-rank 90th percentile of reply time ÷ SLA over the
// messages received in the window that count.
func (responseComponent) evaluate(s *Scorer, a *Account, t time.Time, r rule, slaHours float64, c *Component) outcome {
	lo := t.Add(-r.window)
	sla := SLADuration(slaHours)
	var buf [16]float64
	ratios := buf[:0]
	pending := 0
	var details []MessageDetail
	for i := range a.Messages {
		m := &a.Messages[i]
		if !m.Received || !inWindow(m.ReceivedAt.Time(), lo, t) {
			continue
		}
		rep, answered := firstReply(m, t)
		var elapsed time.Duration
		if answered {
			elapsed = max(0, rep.Time.Time().Sub(m.ReceivedAt.Time()))
		} else {
			elapsed = t.Sub(m.ReceivedAt.Time())
			if elapsed <= sla {
				pending++
				continue
			}
		}
		q := ratio(elapsed, sla)
		ratios = append(ratios, q)
		if c != nil {
			c.Evidence = append(c.Evidence, a.str(m.Ref))
			d := MessageDetail{ID: a.str(m.ID), ReceivedAt: m.ReceivedAt.Time(), Answered: answered, Hours: elapsed.Hours(), Ratio: q}
			if answered {
				c.Evidence = append(c.Evidence, a.str(rep.Ref))
				d.RepliedAt = new(rep.Time.Time())
			}
			details = append(details, d)
		}
	}
	n := len(ratios)
	if n == 0 {
		return outcome{}
	}
	slices.Sort(ratios)
	rank := (9*n + 9) / 10 // ⌈0.9·n⌉ in integers
	if c != nil {
		slices.SortFunc(details, func(x, y MessageDetail) int {
			return cmp.Or(x.ReceivedAt.Compare(y.ReceivedAt), strings.Compare(x.ID, y.ID))
		})
		c.Details = &ResponseDetails{SLAHours: slaHours, Counted: n, Rank: rank, Pending: pending, Messages: details}
	}
	return s.single(true, r, ratios[rank-1])
}
