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

// portfolio evaluates the summary: the sum of every existing account's
// contribution (see [contribution]). The maintained portfolio of the live
// state is the same sum, kept up to date account by account.
func (v *view) portfolio() Portfolio {
	if v.live != nil {
		return v.live.pf.portfolio(v.t)
	}
	var s portfolioSums
	v.activeViews() // evaluates the active accounts on every core
	for _, a := range v.accounts() {
		c := v.contribution(a)
		var av *AccountView
		if c.Status == domain.StatusActive {
			x := v.account(a)
			av = &x
		}
		s.add(&c, av, 1)
	}
	return s.portfolio(v.t)
}

// contribution is what one existing account adds to the portfolio as of
// an instant, besides what its AccountView says (band, tier, MRR,
// reasons, upsell of an active account).
type contribution struct {
	Status                       domain.Status
	NewMonth, NewQuarter         bool
	ChurnedMonth, ChurnedQuarter bool
	RetainedBase, Retained       bool
	Outstanding, Overdue         domain.Money
	Referrals                    int
	Promoters, Detractors, NPSN  int
	SLAOK, SLAN                  int
}

// calendar reports whether the contribution depends on the month or the
// quarter the instant is in (it then changes at the next month start).
func (c *contribution) calendar() bool {
	return c.NewMonth || c.NewQuarter || c.ChurnedMonth || c.ChurnedQuarter
}

// monthStart and quarterStart are the first instants of t's month and
// quarter (UTC).
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func quarterStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), (t.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
}

// contribution evaluates an existing account's contribution at v.t.
func (v *view) contribution(a *Account) contribution {
	month, quarter := monthStart(v.t), quarterStart(v.t)
	status := a.StatusAt(v.t)
	c := contribution{Status: status, NewMonth: !a.OpenedAt.Before(month), NewQuarter: !a.OpenedAt.Before(quarter)}
	if status == domain.StatusChurned {
		ch := churnedAt(a, v.t)
		c.ChurnedMonth = !ch.Before(month)
		c.ChurnedQuarter = !ch.Before(quarter)
	}
	if a.StatusAt(v.t.Add(-retentionLookbak)) == domain.StatusActive {
		c.RetainedBase = true
		c.Retained = status != domain.StatusChurned
	}
	o := receivables(a, v.t)
	c.Outstanding, c.Overdue = o.outstanding, o.overdue
	c.Referrals = a.referralsIn(v.t, referralWindow)
	if status != domain.StatusActive {
		return c
	}
	c.Promoters, c.Detractors, c.NPSN = a.npsIn(v.t, npsWindow)
	c.SLAOK, c.SLAN = slaCounts(a, v.t, v.scorer.SLAHours(&a.Scoring, v.t))
	return c
}

// referralsIn counts the account's referrals in (t − window, t].
func (a *Account) referralsIn(t time.Time, window time.Duration) int {
	n := 0
	for _, r := range a.Referrals {
		if r.Time.After(t.Add(-window)) && !r.Time.After(t) {
			n++
		}
	}
	return n
}

// npsIn counts the account's NPS answers in (t − window, t]: promoters
// (9–10), detractors (0–6) and all of them.
func (a *Account) npsIn(t time.Time, window time.Duration) (promoters, detractors, n int) {
	for _, ans := range a.Scoring.NPS {
		if ans.Time.After(t.Add(-window)) && !ans.Time.After(t) {
			n++
			switch {
			case ans.Score >= 9:
				promoters++
			case ans.Score <= 6:
				detractors++
			}
		}
	}
	return promoters, detractors, n
}

// portfolioChange adds to e the instants after e.After at which the
// account's portfolio contribution can change with no new event and
// without a change of its status or profile; sla is its SLA now (those are the account's own
// change instants): an NPS answer, a referral or a status change leaving
// its window, a message leaving the SLA window or passing its SLA, a
// reply, an invoice becoming overdue, and the next month start when the
// contribution depends on the calendar.
func (a *Account) portfolioChange(e *scoring.Earliest, c *contribution, sla time.Duration) {
	t := e.After
	if c.calendar() {
		e.Add(monthStart(t).AddDate(0, 1, 0))
	}
	e.Add(a.OpenedAt.Add(retentionLookbak))
	for _, s := range a.Statuses {
		e.Add(s.Time.Add(retentionLookbak))
	}
	for _, r := range a.Referrals {
		e.Add(r.Time)
		e.Add(r.Time.Add(referralWindow))
	}
	for _, ans := range a.Scoring.NPS {
		e.Add(ans.Time.Time())
		e.Add(ans.Time.Add(npsWindow))
	}
	// The SLA can be any number of hours: every message adds the instant
	// it passes its SLA under the rules in effect now (a change of those
	// rules is a profile change, an instant of its own).
	for _, m := range a.Scoring.Messages {
		if !m.Received {
			continue
		}
		e.Add(m.ReceivedAt.Time())
		e.Add(m.ReceivedAt.Add(slaWindow))
		e.Add(m.ReceivedAt.Add(sla + time.Nanosecond)) // unanswered past its SLA: counted
		for _, r := range m.Replies {
			e.Add(r.Time.Time())
		}
	}
	a.receivablesChange(e)
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
