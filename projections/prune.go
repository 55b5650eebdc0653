package projections

import (
	"slices"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// pruneAccount drops an account's facts that cannot affect any read model
// at an instant ≥ before, once it has kept its past scores up to there
// (which may stop the prune short of before: see keepPast), and returns
// the instant the facts are pruned to; p.mu is held.
func (p *Projector) pruneAccount(id string, before, now time.Time) time.Time {
	a := p.state.Accounts[id]
	if a == nil {
		return before
	}
	// Facts are pruned on every call, also when the instant does not
	// move: facts dated before it keep arriving (a replay, a back-dated
	// import). Never to an instant before the last one: the facts before
	// that are gone already.
	if before = p.keepPast(a, before, now); before.Before(a.PrunedTo) {
		before = a.PrunedTo
	}
	a.pruneFacts(p.cfg.Scorer, before)
	return before
}

// pruneFacts drops every fact of the account, scoring facts included,
// that no read model can reach at an instant ≥ before, and records that
// the account answers from before on.
func (a *Account) pruneFacts(sc *scoring.Scorer, before time.Time) {
	a.PrunedTo = before
	n := len(a.Scoring.Invoices)
	sc.PruneKeeping(&a.Scoring, before, factsReach)
	a.InvoicesPruned = a.InvoicesPruned || len(a.Scoring.Invoices) < n
	a.prune(before)
}

// prune drops the account's non-scoring facts that no question about an
// instant ≥ before can reach: contacts older than the quiet window (but the
// last one), signals whose last raise is older than the signal window, and
// referrals older than a year. Profile, status and assignment changes are
// few and kept whole.
func (a *Account) prune(before time.Time) {
	a.Touches = keepTail(a.Touches, before.Add(-quietWindow), func(t time.Time) time.Time { return t })
	for id, sg := range a.Signals {
		if n := len(sg.Raised); n > 0 && !sg.Raised[n-1].Time.After(before.Add(-signalWindow)) {
			delete(a.Signals, id)
		}
	}
	a.Referrals = dropThrough(a.Referrals, before.Add(-referralWindow), func(r Stamp) time.Time { return r.Time })
}

// prune drops time entries older than the utilization window.
func (m *Manager) prune(before time.Time) {
	m.Time = dropThrough(m.Time, before.Add(-utilWindow), func(e TimeEntry) time.Time { return e.Time })
}

// dropThrough drops the entries with time ≤ cut from the sorted list s.
func dropThrough[T any](s []T, cut time.Time, at func(T) time.Time) []T {
	return slices.Delete(s, 0, lastAt(s, cut, at)+1)
}

// keepTail keeps the entries with time ≥ from and the last one before it.
func keepTail[T any](s []T, from time.Time, at func(T) time.Time) []T {
	i := lastAt(s, from, at)
	if i <= 0 {
		return s
	}
	return slices.Delete(s, 0, i)
}
