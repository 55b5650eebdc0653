package projections

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// The list rules of docs/scoring.md#lists-managers-and-the-portfolio.
const (
	day              = 24 * time.Hour
	signalWindow     = 90 * day
	quietWindow      = 30 * day
	renewalAhead     = 60 // days
	scoreDropPoints  = 20
	overdueDays      = 15
	utilWindow       = 28 * day
	referralWindow   = 365 * day
	retentionLookbak = 365 * day
	npsWindow        = 180 * day
	slaWindow        = 30 * day
	utilUnder        = 0.70
	utilOver         = 0.80
)

// At-risk reasons (docs/scoring.md#lists-managers-and-the-portfolio).
const (
	ReasonHealthRed      = "health_red"
	ReasonScoreDrop      = "score_drop"
	ReasonRiskSignal     = "risk_signal"
	ReasonOverdueInvoice = "overdue_invoice"
	ReasonQuiet          = "quiet"
	ReasonRenewalRisk    = "renewal_risk"
)

// Reasons lists every at-risk reason in the order they are reported.
func Reasons() []string {
	return []string{ReasonHealthRed, ReasonScoreDrop, ReasonRiskSignal, ReasonOverdueInvoice, ReasonQuiet, ReasonRenewalRisk}
}

// loadPoints and tierLimits are the capacity rules of
// docs/scoring.md#lists-managers-and-the-portfolio.
var (
	loadPoints = map[scoring.Tier]float64{scoring.TierPlatinum: 25, scoring.TierGold: 15, scoring.TierSilver: 8, scoring.TierBronze: 3}
	tierLimits = map[scoring.Tier]int{scoring.TierPlatinum: 5, scoring.TierGold: 8, scoring.TierSilver: 15}
)

// view evaluates the read models of a state as of instant t. score gives an
// account's health at t (from the projector's cache for "now", computed
// afresh otherwise); both must agree.
type view struct {
	st     *State
	t      time.Time
	scorer *scoring.Scorer
	score  func(a *Account) scoring.Result
	// memo holds the accounts evaluated so far, so the passes of one query
	// (portfolio, capacity, lists) evaluate each account once.
	memo map[string]AccountView
	// all caches accounts().
	all []*Account
}

// AccountView is one account as of an instant. Signals are the signals
// open at the instant (raised in the last 90 days and not resolved since),
// by raise time: the risk signals behind the risk_signal reason and the
// opportunities behind upsell.
type AccountView struct {
	ID           string         `json:"account_id"`
	Name         string         `json:"name"`
	Status       domain.Status  `json:"status"`
	Tier         scoring.Tier   `json:"tier"`
	MRR          domain.Money   `json:"mrr"`
	ManagerID    string         `json:"manager_id,omitempty"`
	RenewalDate  string         `json:"renewal_date,omitempty"`
	OpenedAt     time.Time      `json:"opened_at"`
	Industry     string         `json:"industry,omitempty"`
	Website      string         `json:"website,omitempty"`
	Score        *float64       `json:"score"`
	Band         scoring.Band   `json:"band"`
	ComputedBand scoring.Band   `json:"computed_band"`
	Coverage     float64        `json:"coverage"`
	Reasons      []string       `json:"reasons"`
	Upsell       bool           `json:"upsell"`
	Signals      []SignalView   `json:"signals"`
	Trend        *scoring.Trend `json:"trend,omitempty"`
	// ReceivablesOutstanding and ReceivablesOverdue sum the account's
	// issued, not voided, unpaid invoices at the instant (the portfolio's
	// receivables, per account); overdue ones are past their due date.
	ReceivablesOutstanding domain.Money `json:"receivables_outstanding"`
	ReceivablesOverdue     domain.Money `json:"receivables_overdue"`
	// LastInteraction is the last contact at or before the instant — the
	// events the quiet rule counts — or nil for none.
	LastInteraction *time.Time `json:"last_interaction_at"`
}

// Signal categories of a [SignalView].
const (
	CategoryRisk        = "risk"
	CategoryOpportunity = "opportunity"
)

// SignalView is one open signal of an account: its id, kind, category
// (risk or opportunity), note, when it was (last) raised and the event
// that raised it.
type SignalView struct {
	ID       string            `json:"signal_id"`
	Kind     domain.SignalKind `json:"kind"`
	Category string            `json:"category"`
	Note     string            `json:"note,omitempty"`
	RaisedAt time.Time         `json:"raised_at"`
	Evidence string            `json:"evidence"`
}

// account evaluates one account (which must exist at v.t), once per view.
func (v *view) account(a *Account) AccountView {
	if av, ok := v.memo[a.ID]; ok {
		return av
	}
	av := v.evaluate(a)
	if v.memo == nil {
		v.memo = make(map[string]AccountView)
	}
	v.memo[a.ID] = av
	return av
}

// evaluate computes one account's view.
func (v *view) evaluate(a *Account) AccountView {
	p := a.ProfileAt(v.t)
	res := v.score(a)
	av := AccountView{
		ID: a.ID, Name: p.Name, Status: a.StatusAt(v.t), Tier: res.Tier,
		MRR: domain.Money(p.MRRCents), ManagerID: v.managerOf(a),
		OpenedAt: a.OpenedAt, Industry: a.Industry, Website: a.Website,
		Score: res.Score, Band: res.Band, ComputedBand: res.ComputedBand, Coverage: round4(res.Coverage),
		Trend: res.Trend, Reasons: []string{}, Signals: signalViews(a.openSignals(v.t, signalWindow)),
	}
	if !p.RenewalDate.IsZero() {
		av.RenewalDate = p.RenewalDate.Format(time.DateOnly)
	}
	o := receivables(a, v.t)
	av.ReceivablesOutstanding, av.ReceivablesOverdue = o.outstanding, o.overdue
	if last := a.lastTouchAt(v.t); !last.IsZero() {
		av.LastInteraction = &last
	}
	if av.Status == domain.StatusActive {
		av.Reasons = v.reasons(a, p, res, av.Signals)
		av.Upsell = res.Band == scoring.BandGreen && hasCategory(av.Signals, CategoryOpportunity)
	}
	return av
}

// signalViews describes open signals for an answer.
func signalViews(open []openSignal) []SignalView {
	out := make([]SignalView, 0, len(open))
	for _, s := range open {
		category := CategoryRisk
		if s.Kind.IsOpportunity() {
			category = CategoryOpportunity
		}
		out = append(out, SignalView{ID: s.ID, Kind: s.Kind, Category: category, Note: s.Note, RaisedAt: s.Time, Evidence: s.Ref})
	}
	return out
}

// hasCategory reports whether any of the signals is of the category.
func hasCategory(signals []SignalView, category string) bool {
	return slices.ContainsFunc(signals, func(s SignalView) bool { return s.Category == category })
}

// managerOf is the account's manager at v.t: the last assignment, unless
// that manager has left by then.
func (v *view) managerOf(a *Account) string {
	id := a.managerAt(v.t)
	if id == "" {
		return ""
	}
	if m := v.st.Managers[id]; m == nil || !m.ActiveAt(v.t) {
		return ""
	}
	return id
}

// reasons lists the at-risk reasons that hold for an active account.
func (v *view) reasons(a *Account, p Profile, res scoring.Result, signals []SignalView) []string {
	out := []string{}
	if res.Band == scoring.BandRed {
		out = append(out, ReasonHealthRed)
	}
	if tr := res.Trend; tr != nil && res.Score != nil && tr.Score30dAgo != nil && *res.Score <= *tr.Score30dAgo-scoreDropPoints {
		out = append(out, ReasonScoreDrop)
	}
	if hasCategory(signals, CategoryRisk) {
		out = append(out, ReasonRiskSignal)
	}
	if o := receivables(a, v.t); o.maxDaysLate >= overdueDays {
		out = append(out, ReasonOverdueInvoice)
	}
	if last := a.lastTouchAt(v.t); (last.IsZero() || !last.After(v.t.Add(-quietWindow))) && a.OpenedAt.Before(v.t.Add(-quietWindow)) {
		out = append(out, ReasonQuiet)
	}
	if !p.RenewalDate.IsZero() && res.Band != scoring.BandGreen {
		today := midnight(v.t)
		if !p.RenewalDate.Before(today) && !p.RenewalDate.After(today.AddDate(0, 0, renewalAhead)) {
			out = append(out, ReasonRenewalRisk)
		}
	}
	return out
}

// owed sums what an account is owed at t. The sums saturate (see
// [domain.Money.Add]): an account may have any number of invoices.
type owed struct {
	outstanding, overdue domain.Money
	maxDaysLate          int
}

// receivables looks at the account's issued, not voided, unpaid invoices
// at t.
func receivables(a *Account, t time.Time) owed {
	var o owed
	today := midnight(t)
	for i := range a.Scoring.Invoices {
		inv := &a.Scoring.Invoices[i]
		if !inv.Issued || inv.IssuedAt.After(t) || (inv.VoidedAt != nil && !inv.VoidedAt.After(t)) {
			continue
		}
		var paid domain.Money
		for _, p := range inv.Payments {
			if !p.Time.After(t) {
				paid = paid.Add(domain.Money(p.AmountCents))
			}
		}
		if paid >= domain.Money(inv.AmountCents) {
			continue
		}
		rest := domain.Money(inv.AmountCents).Add(-paid) // paid ≥ 0 for ingested facts: no overflow
		o.outstanding = o.outstanding.Add(rest)
		if late := int(today.Sub(inv.Due) / day); late >= 1 {
			o.overdue = o.overdue.Add(rest)
			o.maxDaysLate = max(o.maxDaysLate, late)
		}
	}
	return o
}

// accounts returns every account that exists at v.t, by id.
func (v *view) accounts() []*Account {
	if v.all != nil {
		return v.all
	}
	out := make([]*Account, 0, len(v.st.Accounts))
	for _, a := range v.st.Accounts {
		if a.ExistsAt(v.t) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y *Account) int { return cmp.Compare(x.ID, y.ID) })
	v.all = out
	return out
}

// activeViews evaluates every active account, by id.
func (v *view) activeViews() []AccountView {
	var active []*Account
	for _, a := range v.accounts() {
		if a.StatusAt(v.t) == domain.StatusActive {
			active = append(active, a)
		}
	}
	v.evaluateAll(active)
	out := make([]AccountView, 0, len(active))
	for _, a := range active {
		out = append(out, v.account(a))
	}
	return out
}

// minPerWorker is the fewest accounts worth a goroutine of evaluateAll.
const minPerWorker = 64

// evaluateAll evaluates those of accts not evaluated yet, split over up
// to GOMAXPROCS goroutines: a query over every account (a list, the
// portfolio, a past instant's fresh scores) uses every core. evaluate
// only reads the state, which the view's caller keeps from changing.
func (v *view) evaluateAll(accts []*Account) {
	var todo []*Account
	for _, a := range accts {
		if _, ok := v.memo[a.ID]; !ok {
			todo = append(todo, a)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(todo)/minPerWorker)
	if workers < 2 {
		return // v.account evaluates them one by one
	}
	out := make([]AccountView, len(todo))
	chunk := (len(todo) + workers - 1) / workers
	var wg sync.WaitGroup
	for lo := 0; lo < len(todo); lo += chunk {
		wg.Go(func() {
			for i := lo; i < min(lo+chunk, len(todo)); i++ {
				out[i] = v.evaluate(todo[i])
			}
		})
	}
	wg.Wait()
	if v.memo == nil {
		v.memo = make(map[string]AccountView, len(v.st.Accounts))
	}
	for i, a := range todo {
		v.memo[a.ID] = out[i]
	}
}

// sortByMRR orders a list by MRR descending, then account id.
func sortByMRR(items []AccountView) {
	slices.SortFunc(items, func(x, y AccountView) int {
		return cmp.Or(cmp.Compare(y.MRR, x.MRR), cmp.Compare(x.ID, y.ID))
	})
}

// atRisk is the at-risk list.
func (v *view) atRisk() []AccountView {
	items := []AccountView{}
	for _, av := range v.activeViews() {
		if len(av.Reasons) > 0 {
			items = append(items, av)
		}
	}
	sortByMRR(items)
	return items
}

// upsell is the upsell-ready list.
func (v *view) upsell() []AccountView {
	items := []AccountView{}
	for _, av := range v.activeViews() {
		if av.Upsell {
			items = append(items, av)
		}
	}
	sortByMRR(items)
	return items
}

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
	byManager := map[string][]AccountView{}
	c := Capacity{Managers: []ManagerView{}, Unassigned: []string{}}
	for _, av := range v.activeViews() {
		if av.ManagerID == "" {
			c.Unassigned = append(c.Unassigned, av.ID)
			c.UnassignedMRR = c.UnassignedMRR.Add(av.MRR)
			continue
		}
		byManager[av.ManagerID] = append(byManager[av.ManagerID], av)
	}
	ids := make([]string, 0, len(v.st.Managers))
	for id, m := range v.st.Managers {
		if m.Joined && !m.JoinedAt.After(v.t) && (includeLeft || m.ActiveAt(v.t)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		c.Managers = append(c.Managers, v.manager(v.st.Managers[id], byManager[id]))
	}
	return c
}

// manager evaluates one manager given their active accounts.
func (v *view) manager(m *Manager, accts []AccountView) ManagerView {
	p := m.ProfileAt(v.t)
	mv := ManagerView{
		ID: m.ID, Name: p.Name, Active: m.ActiveAt(v.t), Accounts: len(accts), AccountIDs: []string{},
		ByTier: map[scoring.Tier]int{}, ByBand: map[scoring.Band]int{}, TierLimits: map[scoring.Tier]Limit{},
		CapacityPoints: finite(p.CapacityPoints), WeeklyHours: finite(p.WeeklyHours),
	}
	if !m.LeftAt.IsZero() && !m.LeftAt.After(v.t) {
		left := m.LeftAt
		mv.LeftAt = &left
	}
	for _, av := range accts {
		mv.AccountIDs = append(mv.AccountIDs, av.ID)
		mv.ByTier[av.Tier]++
		mv.ByBand[av.Band]++
		mv.LoadPoints += loadPoints[av.Tier]
		mv.MRRManaged = mv.MRRManaged.Add(av.MRR)
		if len(av.Reasons) > 0 {
			mv.AtRisk++
			mv.MRRAtRisk = mv.MRRAtRisk.Add(av.MRR)
		}
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
				reply = r.Time
				break
			}
		}
		switch {
		case !reply.IsZero():
			counted++
			if reply.Sub(m.ReceivedAt) <= sla {
				ok++
			}
		case t.Sub(m.ReceivedAt) > sla:
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

// finite keeps a read model's number encodable whatever the facts (hours,
// capacities that bypassed ingest ranges, sums that overflow): ±Inf becomes
// ±math.MaxFloat64 (the largest value, so "over capacity" stays true) and
// NaN becomes 0.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

// round2 rounds to 2 decimals and round4 to the 4 decimals of every number
// in an answer ([scoring.Round4]); a finite x stays finite (a number too
// large to scale has no decimals to round).
func round2(x float64) float64 { return roundTo(x, 100) }
func round4(x float64) float64 { return scoring.Round4(x) }

func roundTo(x, scale float64) float64 {
	if r := math.Round(x*scale) / scale; !math.IsInf(r, 0) {
		return r
	}
	return x
}
