package projections

import (
	"slices"
	"time"
)

// pruneAccount drops an account's facts that cannot affect any read model
// at an instant ≥ before; p.mu is held.
func (p *Projector) pruneAccount(id string, before time.Time) {
	a := p.state.Accounts[id]
	if a == nil {
		return
	}
	p.cfg.Scorer.Prune(&a.Scoring, before)
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
	cut := before.Add(-referralWindow)
	i, _ := slices.BinarySearchFunc(a.Referrals, cut, func(r Stamp, t time.Time) int {
		if r.Time.After(t) {
			return 1
		}
		return -1
	})
	a.Referrals = slices.Delete(a.Referrals, 0, i)
}

// prune drops time entries older than the utilization window.
func (m *Manager) prune(before time.Time) {
	cut := before.Add(-utilWindow)
	i, _ := slices.BinarySearchFunc(m.Time, cut, func(e TimeEntry, t time.Time) int {
		if e.Time.After(t) {
			return 1
		}
		return -1
	})
	m.Time = slices.Delete(m.Time, 0, i)
}

// keepTail keeps the entries with time ≥ from and the last one before it.
func keepTail[T any](s []T, from time.Time, at func(T) time.Time) []T {
	i := lastAt(s, from, at)
	if i <= 0 {
		return s
	}
	return slices.Delete(s, 0, i)
}
