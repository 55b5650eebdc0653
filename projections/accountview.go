package projections

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
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
	// live, when set, holds the maintained read models of st as of t
	// (the live state as of now): the queries read them.
	live *maintained
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
		if !inv.Issued || inv.IssuedAt.After(t) || (inv.Voided && !inv.VoidedAt.After(t)) {
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
		if late := int(today.Sub(inv.Due.Time()) / day); late >= 1 {
			o.overdue = o.overdue.Add(rest)
			o.maxDaysLate = max(o.maxDaysLate, late)
		}
	}
	return o
}

// receivablesChange adds to e the instants after e.After at which what
// the account owes can change with no new event: an invoice issued,
// paid or voided at a later time, and the midnights at which an unpaid
// invoice becomes overdue (1 day late) and counts for the overdue
// invoice reason (overdueDays late).
func (a *Account) receivablesChange(e *scoring.Earliest) {
	for i := range a.Scoring.Invoices {
		inv := &a.Scoring.Invoices[i]
		if !inv.Issued {
			continue
		}
		e.Add(inv.IssuedAt.Time())
		if inv.Voided {
			e.Add(inv.VoidedAt.Time())
		}
		for _, p := range inv.Payments {
			e.Add(p.Time.Time())
		}
		e.Add(ceilMidnight(inv.Due.Add(day)))
		e.Add(ceilMidnight(inv.Due.Add(overdueDays * day)))
	}
}

// ceilMidnight is the first midnight (UTC) at or after t.
func ceilMidnight(t time.Time) time.Time {
	if m := midnight(t); !m.Before(t) {
		return m
	}
	return midnight(t).Add(day)
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
	if v.live != nil {
		return v.live.atRiskList()
	}
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
	if v.live != nil {
		return v.live.upsellList()
	}
	items := []AccountView{}
	for _, av := range v.activeViews() {
		if av.Upsell {
			items = append(items, av)
		}
	}
	sortByMRR(items)
	return items
}
