package scoring

import (
	"time"
)

// meetingsComponent is the meetings component: the share of meetings held
// (higher is better).
type meetingsComponent struct{}

func (meetingsComponent) name() string                              { return "meetings" }
func (meetingsComponent) lowerIsBetter() bool                       { return false }
func (meetingsComponent) settings(cs *Components) *ComponentConfig  { return &cs.Meetings }
func (meetingsComponent) patch(ps ComponentPatches) *ComponentPatch { return ps.Meetings }

// next: an outcome counts from its time and leaves the window.
func (meetingsComponent) next(a *Account, _ time.Time, r rule, _ time.Duration, e *Earliest) {
	for _, m := range a.Meetings {
		e.Add(m.Time.Time())
		e.Add(m.Time.Add(r.window))
	}
}

// evaluate: held ÷ (held + missed) over the meetings whose latest outcome
// at t lies in the window.
func (meetingsComponent) evaluate(s *Scorer, a *Account, t time.Time, r rule, _ float64, c *Component) outcome {
	lo, hi := InstantOf(t.Add(-r.window)), InstantOf(t)
	var d MeetingDetails
	ms := a.Meetings
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && a.cmpText(ms[j].MeetingID, ms[i].MeetingID) == 0 {
			j++
		}
		// ms[i:j] is one meeting, by time: find its last outcome ≤ t.
		k := -1
		for x := i; x < j && ms[x].Time <= hi; x++ {
			k = x
		}
		i = j
		if k < 0 || ms[k].Time <= lo {
			continue
		}
		m := ms[k]
		switch m.kind() {
		case MeetingHeld:
			d.Held++
		case MeetingMissed:
			d.Missed++
			if m.by() == PartyAgency {
				d.MissedByAgency++
			} else {
				d.MissedByClient++
			}
		case MeetingCanceled:
			d.Canceled++
			continue
		default:
			continue
		}
		if c != nil {
			c.Evidence = append(c.Evidence, a.str(m.Ref))
		}
	}
	if d.Held+d.Missed == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &d
	}
	return s.single(false, r, float64(d.Held)/float64(d.Held+d.Missed))
}
