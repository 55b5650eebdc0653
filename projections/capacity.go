package projections

import (
	"maps"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// ManagerView is one manager's capacity as of an instant.
type ManagerView struct {
	ID             string                 `json:"manager_id"`
	Name           string                 `json:"name"`
	Active         bool                   `json:"active"`
	LeftAt         *time.Time             `json:"left_at,omitempty"`
	Accounts       int                    `json:"accounts"`
	AccountIDs     []string               `json:"account_ids"`
	ByTier         map[scoring.Tier]int   `json:"by_tier"`
	ByBand         map[scoring.Band]int   `json:"by_band"`
	LoadPoints     float64                `json:"load_points"`
	CapacityPoints float64                `json:"capacity_points"`
	LoadRatio      float64                `json:"load_ratio"`
	Over           bool                   `json:"over"`
	TierLimits     map[scoring.Tier]Limit `json:"tier_limits"`
	TierExceeded   bool                   `json:"tier_limit_exceeded"`
	MRRManaged     domain.Money           `json:"mrr_managed"`
	MRRAtRisk      domain.Money           `json:"mrr_at_risk"`
	AtRisk         int                    `json:"at_risk"`
	BillableHours  float64                `json:"billable_hours_28d"`
	LoggedHours    float64                `json:"logged_hours_28d"`
	WeeklyHours    float64                `json:"weekly_hours"`
	Utilization    *float64               `json:"utilization"`
	UtilStatus     string                 `json:"utilization_status,omitempty"`
}

// Limit is a per-tier account limit of a manager.
type Limit struct {
	Count    int  `json:"count"`
	Limit    int  `json:"limit"`
	Exceeded bool `json:"exceeded"`
}

// Capacity is the managers' capacity view.
type Capacity struct {
	Managers   []ManagerView `json:"managers"`
	Unassigned []string      `json:"unassigned"`
	// UnassignedMRR is the MRR of active accounts without a manager.
	UnassignedMRR domain.Money `json:"unassigned_mrr"`
}

// capacity evaluates every manager that had joined by v.t (left ones only
// when includeLeft).
func (v *view) capacity(includeLeft bool) Capacity {
	if v.live != nil {
		return v.live.capacity(v, includeLeft)
	}
	byManager := map[string]*managerSums{}
	c := Capacity{Managers: []ManagerView{}, Unassigned: []string{}}
	for _, av := range v.activeViews() {
		if av.ManagerID == "" {
			c.Unassigned = append(c.Unassigned, av.ID)
			c.UnassignedMRR = c.UnassignedMRR.Add(av.MRR)
			continue
		}
		s := byManager[av.ManagerID]
		if s == nil {
			s = newManagerSums()
			byManager[av.ManagerID] = s
		}
		s.add(&av, 1)
	}
	for _, id := range v.managerIDs(includeLeft) {
		c.Managers = append(c.Managers, v.manager(v.st.Managers[id], byManager[id]))
	}
	return c
}

// managerIDs lists the managers that had joined by v.t (left ones only
// when includeLeft), by id.
func (v *view) managerIDs(includeLeft bool) []string {
	ids := make([]string, 0, len(v.st.Managers))
	for id, m := range v.st.Managers {
		if m.Joined && !m.JoinedAt.After(v.t) && (includeLeft || m.ActiveAt(v.t)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// manager evaluates one manager given the sums over their active
// accounts (nil for none).
func (v *view) manager(m *Manager, s *managerSums) ManagerView {
	if s == nil {
		s = newManagerSums()
	}
	p := m.ProfileAt(v.t)
	mv := ManagerView{
		ID: m.ID, Name: p.Name, Active: m.ActiveAt(v.t), Accounts: s.ids.Len(), AccountIDs: s.accountIDs(),
		ByTier: maps.Clone(s.byTier), ByBand: maps.Clone(s.byBand), TierLimits: map[scoring.Tier]Limit{},
		CapacityPoints: finite(p.CapacityPoints), WeeklyHours: finite(p.WeeklyHours),
		LoadPoints: s.load, MRRManaged: s.mrr.money(), MRRAtRisk: s.mrrAtRisk.money(), AtRisk: s.atRisk,
	}
	if !m.LeftAt.IsZero() && !m.LeftAt.After(v.t) {
		left := m.LeftAt
		mv.LeftAt = &left
	}
	if mv.CapacityPoints > 0 {
		mv.LoadRatio = finite(mv.LoadPoints / mv.CapacityPoints)
	}
	mv.Over = mv.LoadRatio > 1
	for tier, limit := range tierLimits {
		n := mv.ByTier[tier]
		l := Limit{Count: n, Limit: limit, Exceeded: n > limit}
		mv.TierLimits[tier] = l
		mv.TierExceeded = mv.TierExceeded || l.Exceeded
	}
	from := v.t.Add(-utilWindow)
	logged := false
	for _, e := range m.Time {
		if e.Time.After(from) && !e.Time.After(v.t) {
			logged = true
			mv.LoggedHours = finite(mv.LoggedHours + e.Hours)
			if e.Billable {
				mv.BillableHours = finite(mv.BillableHours + e.Hours)
			}
		}
	}
	if logged && mv.WeeklyHours > 0 {
		u := finite(mv.BillableHours / finite(mv.WeeklyHours*4))
		mv.Utilization = &u
		switch {
		case u < utilUnder:
			mv.UtilStatus = "under"
		case u > utilOver:
			mv.UtilStatus = "over"
		default:
			mv.UtilStatus = "target"
		}
	}
	return mv.rounded()
}

// viewChange is the earliest instant after t at which the manager's own
// part of their capacity view can change with no new event: a profile
// change, joining or leaving taking effect, a time entry entering or
// leaving the utilization window.
func (m *Manager) viewChange(t time.Time) (time.Time, bool) {
	e := scoring.Earliest{After: t}
	e.Add(m.JoinedAt)
	e.Add(m.LeftAt)
	for _, c := range m.Changes {
		e.Add(c.Time)
	}
	for _, te := range m.Time {
		e.Add(te.Time.Time())
		e.Add(te.Time.Add(utilWindow))
	}
	return e.Instant()
}

// rounded returns the view with its computed numbers rounded to 4
// decimals for the answer, once every comparison (over capacity,
// utilization status) has been made on the exact values. Capacity points
// and weekly hours are facts, shown as given.
func (mv ManagerView) rounded() ManagerView {
	mv.LoadPoints, mv.LoadRatio = round4(mv.LoadPoints), round4(mv.LoadRatio)
	mv.BillableHours, mv.LoggedHours = round4(mv.BillableHours), round4(mv.LoggedHours)
	if mv.Utilization != nil {
		u := round4(*mv.Utilization)
		mv.Utilization = &u
	}
	return mv
}
