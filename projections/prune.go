package projections

import (
	"slices"
	"time"

	"github.com/vitals-hq/vitals/internal/tight"
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
// instant ≥ before can reach: contacts before it (but the last one: the
// last contact at an instant ≥ before is that one or a later one), signals
// whose last raise and last resolution are both at or before before − the
// signal window, and referrals older than a year. A signal resolved within
// the window keeps its raises and resolutions: a raise back-dated between
// the cutoff and that resolution must be closed by it, as a replay closes
// it (a resolution at or before the cutoff cannot close any raise that can
// still show, which lies after the cutoff). Profile, status and assignment changes are few and kept
// whole.
func (a *Account) prune(before time.Time) {
	a.Touches = tight.Clip(tight.KeepFromLast(a.Touches, before, scoring.Instant.Time))
	cutoff := before.Add(-signalWindow)
	a.Signals = tight.Clip(slices.DeleteFunc(a.Signals, func(sg Signal) bool {
		n := len(sg.Raised)
		return n > 0 && !sg.Raised[n-1].Time.After(cutoff) && !slices.ContainsFunc(sg.Resolved, func(r time.Time) bool { return r.After(cutoff) })
	}))
	a.Referrals = tight.Clip(dropThrough(a.Referrals, before.Add(-referralWindow), func(r Stamp) time.Time { return r.Time }))
}

// prune drops time entries older than the utilization window, and their
// refs.
func (m *Manager) prune(before time.Time) {
	m.Time = tight.Clip(dropThrough(m.Time, before.Add(-utilWindow), func(e TimeEntry) time.Time { return e.Time.Time() }))
	m.Refs.Compact(func(f func(*scoring.Text)) {
		for i := range m.Time {
			f(&m.Time[i].Ref)
		}
	})
}

// dropThrough drops the entries with time ≤ cut from the sorted list s.
func dropThrough[T any](s []T, cut time.Time, at func(T) time.Time) []T {
	return slices.Delete(s, 0, lastAt(s, cut, at)+1)
}
