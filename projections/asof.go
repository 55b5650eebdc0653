package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// ViewAt is account a as of t under res, its health at t by some scorer
// (the live one or a candidate configuration's): the read model of
// GET /v1/accounts/{id}?at=t, with the at-risk reasons and the upsell flag
// of the list rules decided on res. scorer gives the SLA and must be the
// scorer res came from. Only facts with time ≤ t count, as everywhere.
func (s *State) ViewAt(a *Account, t time.Time, scorer *scoring.Scorer, res scoring.Result) AccountView {
	v := &view{st: s, t: t, scorer: scorer, score: func(*Account) scoring.Result { return res }}
	return v.evaluate(a)
}

// ChurnTimes returns the instants at which the account became churned: the
// time of each account.status_changed to churned whose previous status (as
// of that change) was not churned, in time order. A churned account that is
// reactivated and churns again has two; a repeated churned status counts
// once.
func (a *Account) ChurnTimes() []time.Time {
	var out []time.Time
	prev := domain.StatusActive
	for _, c := range a.Statuses {
		if c.Status == domain.StatusChurned && prev != domain.StatusChurned {
			out = append(out, c.Time)
		}
		prev = c.Status
	}
	return out
}

// HealthWith is [Projector.Health] under another scorer (a candidate
// configuration loaded beside the live one): the account's health as of at
// (now when zero), computed from the same events, without touching the live
// scores. When the candidate reads some kind of fact further back than the
// live state keeps it (a longer window of that component, even when the
// longest window is unchanged: pruning keeps each kind only as long as the
// live scorer and the read models read it), the account's stream is
// replayed so that facts the live state pruned still count.
func (p *Projector) HealthWith(ctx context.Context, id string, at time.Time, scorer *scoring.Scorer) (Health, error) {
	now := p.cfg.Now()
	if at.IsZero() {
		at = now
	}
	if at.After(now) {
		return Health{}, fmt.Errorf("%w: %s", ErrFuture, at.Format(time.RFC3339))
	}
	from := at
	if extra := scorer.ExtraReach(p.cfg.Scorer, factsReach); extra > 0 {
		from = at.Add(-extra)
	}
	st, pos, release, err := p.accountState(ctx, id, from)
	if err != nil {
		return Health{}, err
	}
	defer release()
	a := st.Accounts[id]
	if a == nil || !a.ExistsAt(at) {
		return Health{}, fmt.Errorf("%w: account %q did not exist at %s", ErrNotFound, id, at.Format(time.RFC3339))
	}
	return Health{AccountID: id, Position: pos, Result: scorer.Score(&a.Scoring, at)}, nil
}
