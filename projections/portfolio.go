package projections

import (
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// Portfolio is the agency-wide summary as of an instant.
type Portfolio struct {
	At                     time.Time                     `json:"at"`
	Accounts               int                           `json:"accounts"`
	ByStatus               map[domain.Status]int         `json:"by_status"`
	ByBand                 map[scoring.Band]int          `json:"by_band"`
	ByTier                 map[scoring.Tier]int          `json:"by_tier"`
	MRRTotal               domain.Money                  `json:"mrr_total"`
	MRRByBand              map[scoring.Band]domain.Money `json:"mrr_by_band"`
	AtRisk                 int                           `json:"at_risk"`
	AtRiskByReason         map[string]int                `json:"at_risk_by_reason"`
	MRRAtRisk              domain.Money                  `json:"mrr_at_risk"`
	Upsell                 int                           `json:"upsell"`
	NewThisMonth           int                           `json:"new_this_month"`
	NewThisQuarter         int                           `json:"new_this_quarter"`
	ChurnedThisMonth       int                           `json:"churned_this_month"`
	ChurnedThisQuarter     int                           `json:"churned_this_quarter"`
	ReceivablesOutstanding domain.Money                  `json:"receivables_outstanding"`
	ReceivablesOverdue     domain.Money                  `json:"receivables_overdue"`
	NPS                    *float64                      `json:"nps"`
	NPSResponses           int                           `json:"nps_responses"`
	SLACompliance          *float64                      `json:"sla_compliance"`
	SLAMessages            int                           `json:"sla_messages"`
	LogoRetention          *float64                      `json:"logo_retention"`
	Referrals12m           int                           `json:"referrals_12m"`
}

// portfolio evaluates the summary.
func (v *view) portfolio() Portfolio {
	pf := Portfolio{
		At: v.t, ByStatus: map[domain.Status]int{}, ByBand: map[scoring.Band]int{}, ByTier: map[scoring.Tier]int{},
		MRRByBand: map[scoring.Band]domain.Money{}, AtRiskByReason: map[string]int{},
	}
	for _, r := range Reasons() {
		pf.AtRiskByReason[r] = 0
	}
	monthStart := time.Date(v.t.Year(), v.t.Month(), 1, 0, 0, 0, 0, time.UTC)
	quarterStart := time.Date(v.t.Year(), (v.t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	yearAgo := v.t.Add(-retentionLookbak)
	var promoters, detractors, slaOK, retainedBase, retained int
	v.activeViews() // evaluates the active accounts on every core
	for _, a := range v.accounts() {
		status := a.StatusAt(v.t)
		pf.Accounts++
		pf.ByStatus[status]++
		if !a.OpenedAt.Before(monthStart) {
			pf.NewThisMonth++
		}
		if !a.OpenedAt.Before(quarterStart) {
			pf.NewThisQuarter++
		}
		if status == domain.StatusChurned {
			if ch := churnedAt(a, v.t); !ch.Before(monthStart) {
				pf.ChurnedThisMonth++
				pf.ChurnedThisQuarter++
			} else if !ch.Before(quarterStart) {
				pf.ChurnedThisQuarter++
			}
		}
		if a.StatusAt(yearAgo) == domain.StatusActive {
			retainedBase++
			if status != domain.StatusChurned {
				retained++
			}
		}
		o := receivables(a, v.t)
		pf.ReceivablesOutstanding = pf.ReceivablesOutstanding.Add(o.outstanding)
		pf.ReceivablesOverdue = pf.ReceivablesOverdue.Add(o.overdue)
		for _, r := range a.Referrals {
			if r.Time.After(v.t.Add(-referralWindow)) && !r.Time.After(v.t) {
				pf.Referrals12m++
			}
		}
		if status != domain.StatusActive {
			continue
		}
		av := v.account(a)
		pf.ByBand[av.Band]++
		pf.ByTier[av.Tier]++
		pf.MRRTotal = pf.MRRTotal.Add(av.MRR)
		pf.MRRByBand[av.Band] = pf.MRRByBand[av.Band].Add(av.MRR)
		if len(av.Reasons) > 0 {
			pf.AtRisk++
			pf.MRRAtRisk = pf.MRRAtRisk.Add(av.MRR)
			for _, r := range av.Reasons {
				pf.AtRiskByReason[r]++
			}
		}
		if av.Upsell {
			pf.Upsell++
		}
		for _, n := range a.Scoring.NPS {
			if n.Time.After(v.t.Add(-npsWindow)) && !n.Time.After(v.t) {
				pf.NPSResponses++
				switch {
				case n.Score >= 9:
					promoters++
				case n.Score <= 6:
					detractors++
				}
			}
		}
		ok, counted := slaCounts(a, v.t, v.scorer.SLAHours(&a.Scoring, v.t))
		slaOK += ok
		pf.SLAMessages += counted
	}
	if pf.NPSResponses > 0 {
		n := round2(100 * float64(promoters-detractors) / float64(pf.NPSResponses))
		pf.NPS = &n
	}
	if pf.SLAMessages > 0 {
		s := round4(float64(slaOK) / float64(pf.SLAMessages))
		pf.SLACompliance = &s
	}
	if retainedBase > 0 {
		r := round4(float64(retained) / float64(retainedBase))
		pf.LogoRetention = &r
	}
	return pf
}

// churnedAt is the time of the status change that made the account churned
// as of t.
func churnedAt(a *Account, t time.Time) time.Time {
	i := lastAt(a.Statuses, t, func(c StatusChange) time.Time { return c.Time })
	if i < 0 {
		return time.Time{}
	}
	return a.Statuses[i].Time
}

// slaCounts counts the messages received in the SLA window that are decided
// at t — answered, or unanswered past the SLA — and those answered within
// the SLA.
func slaCounts(a *Account, t time.Time, slaHours float64) (ok, counted int) {
	sla := scoring.SLADuration(slaHours)
	for _, m := range a.Scoring.Messages {
		if !m.Received || !m.ReceivedAt.After(t.Add(-slaWindow)) || m.ReceivedAt.After(t) {
			continue
		}
		var reply time.Time
		for _, r := range m.Replies {
			if !r.Time.After(t) {
				reply = r.Time.Time()
				break
			}
		}
		switch {
		case !reply.IsZero():
			counted++
			if reply.Sub(m.ReceivedAt.Time()) <= sla {
				ok++
			}
		case t.Sub(m.ReceivedAt.Time()) > sla:
			counted++
		}
	}
	return ok, counted
}

// midnight is 00:00 UTC of t's day.
func midnight(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
