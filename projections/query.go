package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// ErrFuture is returned for an instant after now.
var ErrFuture = errors.New("projections: instant is in the future")

// replayPage is how many records a replay reads at a time.
const replayPage = 2000

// withView runs fn on a view as of at (now when at is zero). Instants after
// the retention horizon are answered from memory; earlier ones from the
// checkpoint covering them and the late records after it (checkpoint.go),
// or, when no checkpoint covers them (yet), from a replay of the log up to
// the current position.
func (p *Projector) withView(ctx context.Context, at time.Time, fn func(v *view, pos eventstore.Position) error) error {
	now := p.cfg.Now()
	if at.IsZero() {
		// The maintained read models answer: Refresh re-scores the
		// accounts whose next change instant has come, and the accounts
		// touched since the last flush are re-scored first (under the
		// write lock, which the answer then keeps).
		p.refresh(now)
		p.mu.RLock()
		unlock := p.mu.RUnlock
		if len(p.dirty) > 0 {
			p.mu.RUnlock()
			p.mu.Lock()
			p.flushDirty(now)
			unlock = p.mu.Unlock
		}
		defer unlock()
		v := &view{st: p.state, t: now, scorer: p.cfg.Scorer, live: p.live, score: func(a *Account) scoring.Result {
			if c := p.cache[a.ID]; c != nil {
				return c.res
			}
			return p.cfg.Scorer.Summary(&a.Scoring, now)
		}}
		return fn(v, p.pos)
	}
	if at.After(now) {
		return fmt.Errorf("%w: %s is after now (%s)", ErrFuture, at.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	fresh := func(a *Account) scoring.Result { return p.cfg.Scorer.Summary(&a.Scoring, at) }
	p.mu.RLock()
	if !at.Before(p.horizon) {
		defer p.mu.RUnlock()
		return fn(&view{st: p.state, t: at, scorer: p.cfg.Scorer, score: fresh}, p.pos)
	}
	pos := p.pos
	ck, late, ok := p.ck.pick(at, pos)
	p.mu.RUnlock()
	if ok {
		// The checkpoint covering at, and the records that reached the
		// log after it with times up to at.
		st, err := p.checkpointState(ctx, ck, late)
		if err == nil {
			return fn(&view{st: st, t: at, scorer: p.cfg.Scorer, score: fresh}, pos)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.cfg.Logger.Warn().Err(err).Str("checkpoint", ck.File).Msg("projections: checkpoint unusable; replaying the log")
		if errors.Is(err, errCheckpointUnreadable) {
			p.dropCheckpoint(ck) // the builder makes it again
		}
	}
	st, err := ReplayState(ctx, p.cfg.Store, pos, at)
	if err != nil {
		return err
	}
	return fn(&view{st: st, t: at, scorer: p.cfg.Scorer, score: fresh}, pos)
}

// ReplayState builds the state from the log up to position upTo, keeping
// only events with time ≤ at.
func ReplayState(ctx context.Context, s eventstore.Store, upTo eventstore.Position, at time.Time) (*State, error) {
	st := NewState()
	var after eventstore.Position
	for after < upTo {
		recs, err := s.ReadAll(ctx, after, replayPage)
		if err != nil {
			return nil, fmt.Errorf("projections: replay: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if rec.Position > upTo {
				return st, nil
			}
			after = rec.Position
			ev, err := domain.Decode(rec.Data)
			if err != nil || ev.Time.After(at) {
				continue
			}
			st.Apply(ev)
		}
	}
	return st, nil
}

// accountState returns the state holding account id, answering instants
// from `from` on: the live state, or one replayed from the account's stream.
// The caller must call release when done.
func (p *Projector) accountState(ctx context.Context, id string, from time.Time) (st *State, pos eventstore.Position, release func(), err error) {
	p.mu.RLock()
	if !from.Before(p.horizon) {
		if a := p.state.Accounts[id]; a == nil || !a.Opened {
			p.mu.RUnlock()
			return nil, 0, nil, fmt.Errorf("%w: account %q", ErrNotFound, id)
		}
		return p.state, p.pos, p.mu.RUnlock, nil
	}
	pos = p.pos
	p.mu.RUnlock()
	st = NewState()
	stream := (domain.Event{Type: domain.TypeAccountOpened, Subject: id}).Stream()
	var next eventstore.Version
	for {
		recs, err := p.cfg.Store.ReadStream(ctx, stream, next, replayPage)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, 0, nil, fmt.Errorf("%w: account %q", ErrNotFound, id)
		}
		if err != nil {
			return nil, 0, nil, fmt.Errorf("projections: replay account %q: %w", id, err)
		}
		for _, rec := range recs {
			if rec.Position > pos {
				continue
			}
			if ev, err := domain.Decode(rec.Data); err == nil {
				st.Apply(ev)
			}
		}
		if len(recs) < replayPage {
			break
		}
		next = recs[len(recs)-1].Version + 1
	}
	return st, pos, func() {}, nil
}

// Health is an account's health explanation as of an instant.
type Health struct {
	AccountID string              `json:"account_id"`
	Position  eventstore.Position `json:"position"`
	scoring.Result
}

// MarshalJSON writes account_id and position, then the members of the
// result (which rounds its numbers: see [scoring.Result.MarshalJSON]).
// Without it the method promoted from the embedded Result would write the
// result alone.
func (h Health) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(struct {
		AccountID string              `json:"account_id"`
		Position  eventstore.Position `json:"position"`
	}{h.AccountID, h.Position})
	if err != nil {
		return nil, err
	}
	res, err := json.Marshal(h.Result)
	if err != nil {
		return nil, err
	}
	return joinObjects(head, res), nil
}

// joinObjects joins two non-empty encoded JSON objects into one: a's
// members, then b's.
func joinObjects(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	out = append(out, a[:len(a)-1]...)
	out = append(out, ',')
	return append(out, b[1:]...)
}

// Health explains an account's score as of at (now when zero): HealthWith
// under the live scorer.
func (p *Projector) Health(ctx context.Context, id string, at time.Time) (Health, error) {
	return p.HealthWith(ctx, id, at, p.cfg.Scorer)
}

// HistoryPoint is an account's score at one instant of a series.
type HistoryPoint struct {
	At           time.Time    `json:"at"`
	Score        *float64     `json:"score"`
	Band         scoring.Band `json:"band"`
	ComputedBand scoring.Band `json:"computed_band"`
	Coverage     float64      `json:"coverage"`
}

// MaxHistoryPoints bounds a history series.
const MaxHistoryPoints = 5000

// HistoryLen returns how many instants from, from+step, … ≤ to there are
// (to not before from, step > 0). It counts exactly even when to − from is
// more than the ~292 years a time.Duration holds (to.Sub saturates there);
// a count past math.MaxInt64 is returned as math.MaxInt64.
func HistoryLen(from, to time.Time, step time.Duration) int64 {
	span := new(big.Int).Sub(big.NewInt(to.Unix()), big.NewInt(from.Unix()))
	span.Mul(span, big.NewInt(int64(time.Second)))
	span.Add(span, big.NewInt(int64(to.Nanosecond()-from.Nanosecond())))
	n := span.Quo(span, big.NewInt(int64(step)))
	if !n.IsInt64() || n.Int64() == math.MaxInt64 {
		return math.MaxInt64
	}
	return n.Int64() + 1
}

// History returns an account's score at from, from+step, … ≤ to.
func (p *Projector) History(ctx context.Context, id string, from, to time.Time, step time.Duration) ([]HistoryPoint, eventstore.Position, error) {
	if step <= 0 {
		return nil, 0, errors.New("projections: step must be positive")
	}
	if to.Before(from) {
		return nil, 0, errors.New("projections: to is before from")
	}
	if to.After(p.cfg.Now()) {
		return nil, 0, fmt.Errorf("%w: to %s", ErrFuture, to.Format(time.RFC3339))
	}
	if n := HistoryLen(from, to, step); n > MaxHistoryPoints {
		return nil, 0, fmt.Errorf("projections: %d points requested, at most %d: use a larger step", n, MaxHistoryPoints)
	}
	st, pos, release, err := p.accountState(ctx, id, from)
	if err != nil {
		return nil, 0, err
	}
	defer release()
	a := st.Accounts[id]
	points := []HistoryPoint{}
	for t := from; !t.After(to); t = t.Add(step) {
		if a == nil || !a.ExistsAt(t) {
			continue
		}
		// Headline: the point needs no component's explanation.
		r := p.cfg.Scorer.Headline(&a.Scoring, t)
		points = append(points, HistoryPoint{At: t, Score: r.Score, Band: r.Band, ComputedBand: r.ComputedBand, Coverage: round4(r.Coverage)})
	}
	return points, pos, nil
}

// AccountFilter selects accounts; empty fields match everything.
type AccountFilter struct {
	Status  domain.Status
	Tier    scoring.Tier
	Band    scoring.Band
	Manager string
	// After is the paging cursor: accounts with an id after it.
	After string
	Limit int
}

// AccountPage is a page of accounts, by id.
type AccountPage struct {
	Items    []AccountView       `json:"items"`
	Next     string              `json:"next_cursor,omitempty"`
	Total    int                 `json:"total"`
	Position eventstore.Position `json:"position"`
}

// Accounts lists accounts as of at (now when zero).
func (p *Projector) Accounts(ctx context.Context, f AccountFilter, at time.Time) (AccountPage, error) {
	return read(ctx, p, at, func(r *Reader) (AccountPage, error) { return r.Accounts(f), nil })
}

// Account returns one account as of at (now when zero).
func (p *Projector) Account(ctx context.Context, id string, at time.Time) (AccountView, eventstore.Position, error) {
	var av AccountView
	var pos eventstore.Position
	err := p.Read(ctx, at, func(r *Reader) error {
		var err error
		av, err = r.Account(id)
		pos = r.Position()
		return err
	})
	return av, pos, err
}

// List is the at-risk or upsell list, or a page of it (see ListPage).
// Total is the whole list's length; Next, set when more items follow the
// page, is the cursor of the next page.
type List struct {
	At       time.Time           `json:"at"`
	Items    []AccountView       `json:"items"`
	Next     string              `json:"next_cursor,omitempty"`
	Total    int                 `json:"total"`
	Position eventstore.Position `json:"position"`
}

// AtRisk returns the at-risk list as of at (now when zero), by MRR
// descending then account id.
func (p *Projector) AtRisk(ctx context.Context, at time.Time) (List, error) {
	return read(ctx, p, at, func(r *Reader) (List, error) { return r.AtRisk(), nil })
}

// Upsell returns the upsell-ready list as of at (now when zero).
func (p *Projector) Upsell(ctx context.Context, at time.Time) (List, error) {
	return read(ctx, p, at, func(r *Reader) (List, error) { return r.Upsell(), nil })
}

// AtRiskPage returns a page of the at-risk list as of at (see ListPage).
func (p *Projector) AtRiskPage(ctx context.Context, at time.Time, page ListPage) (List, error) {
	return read(ctx, p, at, func(r *Reader) (List, error) { return r.AtRiskPage(page), nil })
}

// UpsellPage returns a page of the upsell list as of at (see ListPage).
func (p *Projector) UpsellPage(ctx context.Context, at time.Time, page ListPage) (List, error) {
	return read(ctx, p, at, func(r *Reader) (List, error) { return r.UpsellPage(page), nil })
}

// CapacityView is the managers' capacity with its instant and position.
// Total is the number of managers listed (the list is not paged).
type CapacityView struct {
	At time.Time `json:"at"`
	Capacity
	Total    int                 `json:"total"`
	Position eventstore.Position `json:"position"`
}

// Capacity returns every active manager's capacity as of at.
func (p *Projector) Capacity(ctx context.Context, at time.Time) (CapacityView, error) {
	return read(ctx, p, at, func(r *Reader) (CapacityView, error) { return r.Capacity(), nil })
}

// ManagerDetail is one manager's capacity with its instant and position.
type ManagerDetail struct {
	At time.Time `json:"at"`
	ManagerView
	Position eventstore.Position `json:"position"`
}

// Manager returns one manager's capacity as of at (also after they left).
func (p *Projector) Manager(ctx context.Context, id string, at time.Time) (ManagerDetail, error) {
	return read(ctx, p, at, func(r *Reader) (ManagerDetail, error) { return r.Manager(id) })
}

// PortfolioView is the portfolio with its position.
type PortfolioView struct {
	Portfolio
	Position eventstore.Position `json:"position"`
}

// Portfolio returns the agency-wide summary as of at (now when zero).
func (p *Projector) Portfolio(ctx context.Context, at time.Time) (PortfolioView, error) {
	return read(ctx, p, at, func(r *Reader) (PortfolioView, error) { return r.Portfolio(), nil })
}

// Summary is everything the metrics collector reads, from the maintained
// read models as of now.
type Summary struct {
	Portfolio Portfolio
	Managers  []ManagerView
	// Active holds counts over the active accounts.
	Active ActiveAggregates
}

// Summary reads the portfolio, capacity and active-account aggregates as
// of now.
func (p *Projector) Summary(ctx context.Context) (Summary, error) {
	var s Summary
	err := p.withView(ctx, time.Time{}, func(v *view, _ eventstore.Position) error {
		s.Portfolio = v.portfolio()
		s.Managers = v.capacity(false).Managers
		s.Active = v.activeAggregates()
		return nil
	})
	return s, err
}

// activeAggregates counts the active accounts for the metrics.
func (v *view) activeAggregates() ActiveAggregates {
	if v.live != nil {
		return v.live.active.export()
	}
	var s activeAggregates
	for _, av := range v.activeViews() {
		s.add(&av, 1)
	}
	return s.export()
}
