package projections

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// Defaults of the transition rules (Config.TransitionRecency and
// Config.TransitionDebounce; see docs/notifications.md).
const (
	DefaultTransitionRecency  = 24 * time.Hour
	DefaultTransitionDebounce = 15 * time.Minute
)

// maxWalk bounds the change instants one search for a transition instant
// evaluates; the window it searches holds a handful in practice.
const maxWalk = 10_000

// TransitionKind names what changed.
type TransitionKind string

// Transition kinds: an account's reported band, its at-risk reasons, its
// upsell readiness; a manager's capacity.
const (
	TransitionBand     TransitionKind = "band"
	TransitionAtRisk   TransitionKind = "at_risk"
	TransitionUpsell   TransitionKind = "upsell"
	TransitionCapacity TransitionKind = "capacity"
)

// accountKinds are the facets of an account, in the order of
// AccountMark.Facets.
var accountKinds = [...]TransitionKind{TransitionBand, TransitionAtRisk, TransitionUpsell}

// Capacity facet values.
const (
	CapacityOK   = "ok"
	CapacityOver = "over"
)

// Transition is one change of a subject's derived state, found by the
// projector once it has held for the debounce time. From and To are the
// facet's values: a band; the at-risk reasons joined by commas ("" when
// not at risk); "true"/"false" for upsell; "ok"/"over" for capacity.
type Transition struct {
	Kind    TransitionKind
	Subject string
	// At is the instant the change happened (which may be an instant at
	// which no event arrived: an invoice aging, a signal expiring).
	At time.Time
	// DerivedAt is the projector's clock when it derived the transition.
	DerivedAt time.Time
	From, To  string
	// FromAccount is the account as of its previous transition (or its
	// baseline), ToAccount as of At; set for account kinds.
	FromAccount, ToAccount *AccountFacts
	// Manager is the manager's capacity as of At; set for capacity.
	Manager *ManagerFacts
}

// TransitionSink receives the transitions the projector derives.
type TransitionSink interface {
	// Transitions is called with the projector's lock held: it must be
	// quick, must not call the Projector, and must not drop ts (hand them
	// to another goroutine that makes them durable).
	Transitions(ts []Transition)
	// Sync blocks until every transition handed so far is durable. The
	// projector calls it before writing a snapshot, so a snapshot never
	// records a derived state whose transitions could still be lost.
	Sync(ctx context.Context) error
}

// TransitionHistory is implemented by a TransitionSink that keeps the
// transitions it made durable (the notifications outbox). A starting
// projector reads it before it compares the subjects with the snapshot's
// marks: a transition stored after the snapshot was written counts as
// derived. Without it, a subject that moved A→B (stored) and back to A
// (derived, then lost in a crash before it was stored) would be compared
// with the snapshot's A, and B→A never derived.
type TransitionHistory interface {
	// LastTransitions returns the last stored transition of each subject
	// and kind, with Kind, Subject, At and To set.
	LastTransitions(ctx context.Context) ([]Transition, error)
}

// AccountFacts is what a transition tells about an account.
type AccountFacts struct {
	Status       domain.Status     `json:"status"`
	Tier         scoring.Tier      `json:"tier"`
	ManagerID    string            `json:"manager_id,omitempty"`
	Score        *float64          `json:"score"`
	Band         scoring.Band      `json:"band"`
	ComputedBand scoring.Band      `json:"computed_band"`
	Override     *scoring.Override `json:"override"`
	Reasons      []string          `json:"reasons"`
	Upsell       bool              `json:"upsell"`
	Components   []ComponentFacts  `json:"components,omitempty"`
}

// GobEncode encodes the facts as their JSON, the form a transition
// publishes them in: gob leaves out a pointer to a zero value and an empty
// slice, so in a snapshot's marks a score or points of 0 would come back
// null, and reasons [] as null, after a restart.
func (f AccountFacts) GobEncode() ([]byte, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("projections: encode account facts: %w", err)
	}
	return b, nil
}

// GobDecode is the inverse of [AccountFacts.GobEncode].
func (f *AccountFacts) GobDecode(b []byte) error {
	*f = AccountFacts{}
	if err := json.Unmarshal(b, f); err != nil {
		return fmt.Errorf("projections: decode account facts: %w", err)
	}
	return nil
}

// ComponentFacts is one health component's band, value and points.
type ComponentFacts struct {
	Name   string       `json:"name"`
	Band   scoring.Band `json:"band"`
	Value  *float64     `json:"value"`
	Points *float64     `json:"points"`
}

// ManagerFacts is what a transition tells about a manager's capacity (the
// numbers of GET /v1/managers/{id}).
type ManagerFacts struct {
	Accounts       int                    `json:"accounts"`
	LoadPoints     float64                `json:"load_points"`
	CapacityPoints float64                `json:"capacity_points"`
	LoadRatio      float64                `json:"load_ratio"`
	Over           bool                   `json:"over"`
	TierLimits     map[scoring.Tier]Limit `json:"tier_limits"`
	TierExceeded   bool                   `json:"tier_limit_exceeded"`
}

// Marks is the last derived state of every subject. It is written in the
// snapshot with the checkpoint, so a restart derives "from" the state
// the snapshot's position had reached.
type Marks struct {
	Accounts map[string]*AccountMark
	Managers map[string]*ManagerMark
}

// Mark is a facet's last derived value and the instant it began.
type Mark struct {
	Value string
	Since time.Time
}

// AccountMark is an account's last derived state.
type AccountMark struct {
	// Born is the projector's clock when the account was first seen
	// (its baseline): no transition before it is news.
	Born   time.Time
	Facets [len(accountKinds)]Mark
	// Facts is the account as of its last transition (the "from" side
	// of the next one).
	Facts AccountFacts
	// ManagerKey is manager|status|tier as last seen, to tell which
	// managers' load may have moved.
	ManagerKey string
}

// ManagerMark is a manager's last derived capacity state.
type ManagerMark struct {
	Born time.Time
	Over Mark
}

func newMarks() Marks {
	return Marks{Accounts: map[string]*AccountMark{}, Managers: map[string]*ManagerMark{}}
}

// deriving reports whether transitions are derived now; p.mu is held.
func (p *Projector) deriving() bool { return p.cfg.Transitions != nil && !p.catchingUp }

// window is how far back a transition instant is searched: older ones
// could not be published anyway.
func (p *Projector) window() time.Duration { return p.cfg.TransitionRecency + p.cfg.TransitionDebounce }

// facts evaluates an account as of t; res is its score at t.
func (p *Projector) facts(a *Account, t time.Time, res scoring.Result) AccountFacts {
	v := &view{st: p.state, t: t, scorer: p.cfg.Scorer, score: func(*Account) scoring.Result { return res }}
	av := v.evaluate(a)
	f := AccountFacts{
		Status: av.Status, Tier: av.Tier, ManagerID: av.ManagerID, Score: res.Score, Band: res.Band,
		ComputedBand: res.ComputedBand, Override: res.Override, Reasons: av.Reasons, Upsell: av.Upsell,
	}
	for _, c := range res.Components {
		f.Components = append(f.Components, ComponentFacts{Name: c.Name, Band: c.Band, Value: c.Value, Points: c.Points})
	}
	return f
}

// factsAt evaluates an account as of t, with its components.
func (p *Projector) factsAt(a *Account, t time.Time) AccountFacts {
	return p.facts(a, t, p.cfg.Scorer.Score(&a.Scoring, t))
}

// facetValues are an account's facet values, in accountKinds order.
func facetValues(f AccountFacts) [len(accountKinds)]string {
	return [...]string{string(f.Band), strings.Join(f.Reasons, ","), strconv.FormatBool(f.Upsell)}
}

func managerKey(f AccountFacts) string {
	return f.ManagerID + "|" + string(f.Status) + "|" + string(f.Tier)
}

// checkAccount compares an account's state at now (its cached score c)
// with its last derived state, and derives the transitions that have held
// for the debounce time; p.mu is held.
func (p *Projector) checkAccount(id string, now time.Time, c *cached) {
	a := p.state.Accounts[id]
	if a == nil || !a.Opened {
		return
	}
	c.wake = time.Time{}
	cur := p.facts(a, now, c.res)
	mark := p.marks.Accounts[id]
	if mark == nil {
		mark = &AccountMark{Born: now, Facts: p.factsAt(a, now), ManagerKey: managerKey(cur)}
		for i, v := range facetValues(cur) {
			mark.Facets[i] = Mark{Value: v, Since: now}
		}
		p.marks.Accounts[id] = mark
		p.checkManagerOf(cur.ManagerID)
		return
	}
	if key := managerKey(cur); key != mark.ManagerKey {
		p.checkManagerOf(strings.SplitN(mark.ManagerKey, "|", 2)[0])
		p.checkManagerOf(cur.ManagerID)
		mark.ManagerKey = key
	}
	vals := facetValues(cur)
	if vals == [len(accountKinds)]string{mark.Facets[0].Value, mark.Facets[1].Value, mark.Facets[2].Value} {
		c.walk = nil // nothing pending: no search to go on with
		return
	}
	if c.walk == nil {
		c.walk = &runWalk{}
	}
	starts := p.runStarts(a, now, c.walk)
	from := mark.Facts
	var to *AccountFacts
	var toAt time.Time
	for i, kind := range accountKinds {
		if vals[i] == mark.Facets[i].Value {
			continue
		}
		at := starts[i]
		if due := at.Add(p.cfg.TransitionDebounce); due.After(now) {
			if c.wake.IsZero() || due.Before(c.wake) {
				c.wake = due
			}
			continue
		}
		f := p.factsAt(a, at)
		if p.isNews(at, now, mark.Born) {
			p.out = append(p.out, Transition{
				Kind: kind, Subject: id, At: at, DerivedAt: now, From: mark.Facets[i].Value, To: vals[i],
				FromAccount: &from, ToAccount: &f,
			})
		}
		mark.Facets[i] = Mark{Value: vals[i], Since: at}
		if to == nil || at.After(toAt) {
			to, toAt = &f, at
		}
	}
	if to != nil {
		mark.Facts = *to
	}
	if !c.wake.IsZero() {
		heap.Push(&p.sched, entry{at: c.wake, id: id, gen: c.gen})
	}
}

// isNews reports whether a transition at `at`, derived at now, is
// published: within the recency window, and after the subject's baseline.
func (p *Projector) isNews(at, now, born time.Time) bool {
	return now.Sub(at) <= p.cfg.TransitionRecency && at.After(born)
}

// runStarts finds, for each facet, the instant its current value began:
// the last change instant, within the search window before now, at which
// the facet took its value (the window's start when it held all along).
// The change instants are those of nextAccountChange, which is never late.
//
// w remembers the search between calls (nil: none): the facet values at
// the change instants found up to w.to. An account's facets at an instant
// depend only on its facts with time up to that instant, so the search
// goes on from w.to, and an event applied to the account drops only what
// was found from its time on (runWalk.invalidate). A transition stays
// pending for the debounce time, and the account is re-scored after each
// of its events meanwhile: without w every re-score would walk the whole
// window again.
func (p *Projector) runStarts(a *Account, now time.Time, w *runWalk) [len(accountKinds)]time.Time {
	from := now.Add(-p.window())
	if w == nil {
		w = &runWalk{}
	}
	if len(w.pts) == 0 || w.to.Before(from) || now.Before(w.to) || w.pts[0].at.After(from) {
		w.pts = append(w.pts[:0], runPoint{at: from, vals: p.facetsAt(a, from)})
		w.to = from
	}
	t := w.to
	for range maxWalk {
		next, ok := p.nextAccountChange(a, t)
		if !ok || next.After(now) {
			t = now
			break
		}
		if vals := p.facetsAt(a, next); vals != w.pts[len(w.pts)-1].vals {
			w.pts = append(w.pts, runPoint{at: next, vals: vals})
		}
		t = next
	}
	w.to = t
	// The last point at or before from gives the values at from.
	base := 0
	for base+1 < len(w.pts) && !w.pts[base+1].at.After(from) {
		base++
	}
	w.pts = w.pts[:copy(w.pts, w.pts[base:])]
	var starts [len(accountKinds)]time.Time
	for i := range starts {
		starts[i] = from
	}
	for k := 1; k < len(w.pts); k++ {
		for i := range starts {
			if w.pts[k].vals[i] != w.pts[k-1].vals[i] {
				starts[i] = w.pts[k].at
			}
		}
	}
	return starts
}

// facetsAt is an account's facet values at t (its score without the
// components' explanations, which the facets do not read).
func (p *Projector) facetsAt(a *Account, t time.Time) [len(accountKinds)]string {
	return facetValues(p.facts(a, t, p.cfg.Scorer.Summary(&a.Scoring, t)))
}

// runWalk is what runStarts found for an account: the facet values at
// the first instant of its search and at each later change instant where
// they changed, in time order, found up to to.
type runWalk struct {
	to  time.Time
	pts []runPoint
}

// runPoint is an account's facet values from an instant on.
type runPoint struct {
	at   time.Time
	vals [len(accountKinds)]string
}

// invalidate drops what the search found from t on: an event with time t
// was applied to the account (its facets before t are unchanged).
func (w *runWalk) invalidate(t time.Time) {
	if w == nil || len(w.pts) == 0 || w.to.Before(t) {
		return
	}
	if !w.pts[0].at.Before(t) {
		w.pts, w.to = w.pts[:0], time.Time{}
		return
	}
	i := len(w.pts)
	for i > 1 && !w.pts[i-1].at.Before(t) {
		i--
	}
	w.pts = w.pts[:i]
	w.to = t.Add(-time.Nanosecond)
}

// nextAccountChange is the earliest instant after t at which anything an
// account's transitions depend on can change with no new event: its score
// (scoring.Scorer.NextChange) and the list rules — a status, assignment or
// profile change taking effect, a contact, the quiet window passing, a
// signal being raised, resolved or leaving its window, the renewal window
// opening (renewalAhead days before the renewal date) and closing (the
// midnight after it).
func (p *Projector) nextAccountChange(a *Account, t time.Time) (time.Time, bool) {
	e := scoring.Earliest{After: t}
	if c, ok := p.cfg.Scorer.NextChange(&a.Scoring, t); ok {
		e.Add(c)
	}
	e.Add(a.OpenedAt)
	e.Add(a.OpenedAt.Add(quietWindow + time.Nanosecond))
	for _, s := range a.Statuses {
		e.Add(s.Time)
	}
	for _, s := range a.Assignments {
		e.Add(s.Time)
	}
	for _, s := range a.Profile {
		e.Add(s.Time)
	}
	if next, ok := a.nextTouchAfter(t); ok {
		e.Add(next)
	}
	if last := a.lastTouchAt(t); !last.IsZero() {
		e.Add(last.Add(quietWindow))
	}
	for _, sg := range a.Signals {
		for _, r := range sg.Raised {
			e.Add(r.Time)
			e.Add(r.Time.Add(signalWindow))
		}
		for _, rt := range sg.Resolved {
			e.Add(rt)
		}
	}
	if rd := a.ProfileAt(t).RenewalDate; !rd.IsZero() {
		// The renewal window holds from the midnight renewalAhead days
		// before the date to the end of the date.
		e.Add(ceilMidnight(rd.AddDate(0, 0, -renewalAhead)))
		e.Add(ceilMidnight(rd.Add(time.Nanosecond)))
	}
	return e.Instant()
}

// checkManagerOf queues a manager for a capacity check; p.mu is held.
func (p *Projector) checkManagerOf(id string) {
	if id != "" && p.cfg.Transitions != nil {
		p.mgrCheck[id] = struct{}{}
	}
}

// managerFacts evaluates the capacity of the managers in ids as of t (one
// pass over the accounts).
func (p *Projector) managerFacts(ids map[string]struct{}, t time.Time) map[string]*ManagerFacts {
	out := make(map[string]*ManagerFacts, len(ids))
	byTier := make(map[string]map[scoring.Tier]int, len(ids))
	for id := range ids {
		m := p.state.Managers[id]
		if m == nil || !m.Joined || m.JoinedAt.After(t) {
			continue
		}
		out[id] = &ManagerFacts{CapacityPoints: finite(m.ProfileAt(t).CapacityPoints), TierLimits: map[scoring.Tier]Limit{}}
		byTier[id] = map[scoring.Tier]int{}
	}
	if len(out) == 0 {
		return out
	}
	v := &view{st: p.state, t: t}
	for _, a := range p.state.Accounts {
		if a.StatusAt(t) != domain.StatusActive {
			continue
		}
		mid := v.managerOf(a)
		mf := out[mid]
		if mf == nil {
			continue
		}
		tier := p.cfg.Scorer.Tier(&a.Scoring, t)
		mf.Accounts++
		mf.LoadPoints += loadPoints[tier]
		byTier[mid][tier]++
	}
	for id, mf := range out {
		if mf.CapacityPoints > 0 {
			mf.LoadRatio = finite(mf.LoadPoints / mf.CapacityPoints)
		}
		mf.Over = mf.LoadRatio > 1
		for tier, limit := range tierLimits {
			n := byTier[id][tier]
			l := Limit{Count: n, Limit: limit, Exceeded: n > limit}
			mf.TierLimits[tier] = l
			mf.TierExceeded = mf.TierExceeded || l.Exceeded
		}
		mf.LoadPoints, mf.LoadRatio = round4(mf.LoadPoints), round4(mf.LoadRatio)
	}
	return out
}

// capacityValue is a manager's capacity facet: over when the load ratio
// is above 1 or a tier limit is exceeded.
func capacityValue(mf *ManagerFacts) string {
	if mf != nil && (mf.Over || mf.TierExceeded) {
		return CapacityOver
	}
	return CapacityOK
}

// checkManagers checks the queued managers' capacity at now; p.mu is
// held.
func (p *Projector) checkManagers(now time.Time) {
	if len(p.mgrCheck) == 0 || !p.deriving() {
		return
	}
	cur := p.managerFacts(p.mgrCheck, now)
	for id := range p.mgrCheck {
		m := p.state.Managers[id]
		if m == nil || !m.Joined {
			continue
		}
		delete(p.mgrWake, id)
		val := capacityValue(cur[id])
		mark := p.marks.Managers[id]
		if mark == nil {
			p.marks.Managers[id] = &ManagerMark{Born: now, Over: Mark{Value: val, Since: now}}
			continue
		}
		if val == mark.Over.Value {
			continue
		}
		at := p.managerRunStart(id, now)
		if due := at.Add(p.cfg.TransitionDebounce); due.After(now) {
			p.mgrWake[id] = due
			heap.Push(&p.sched, entry{at: due, id: id, manager: true})
			continue
		}
		if p.isNews(at, now, mark.Born) {
			mf := p.managerFacts(map[string]struct{}{id: {}}, at)[id]
			if mf == nil {
				mf = &ManagerFacts{TierLimits: map[scoring.Tier]Limit{}}
			}
			p.out = append(p.out, Transition{Kind: TransitionCapacity, Subject: id, At: at, DerivedAt: now,
				From: mark.Over.Value, To: val, Manager: mf})
		}
		mark.Over = Mark{Value: val, Since: at}
	}
	clear(p.mgrCheck)
}

// managerRunStart finds the instant a manager's current capacity value
// began, within the search window: its load changes only when an
// account's status, assignment or tier changes or the manager's own
// profile does.
func (p *Projector) managerRunStart(id string, now time.Time) time.Time {
	from := now.Add(-p.window())
	var cands []time.Time
	add := func(t time.Time) {
		if t.After(from) && !t.After(now) {
			cands = append(cands, t)
		}
	}
	for _, a := range p.state.Accounts {
		add(a.OpenedAt)
		for _, s := range a.Statuses {
			add(s.Time)
		}
		for _, s := range a.Assignments {
			add(s.Time)
		}
		for _, c := range a.Scoring.Attrs {
			add(c.Time)
		}
	}
	if m := p.state.Managers[id]; m != nil {
		add(m.JoinedAt)
		add(m.LeftAt)
		for _, c := range m.Changes {
			add(c.Time)
		}
		for _, o := range p.state.Managers {
			add(o.LeftAt) // an account's manager counts only while active
		}
	}
	slices.SortFunc(cands, func(x, y time.Time) int { return x.Compare(y) })
	cands = slices.Compact(cands)
	one := map[string]struct{}{id: {}}
	prev := capacityValue(p.managerFacts(one, from)[id])
	start := from
	for _, t := range cands {
		if v := capacityValue(p.managerFacts(one, t)[id]); v != prev {
			start, prev = t, v
		}
	}
	return start
}

// emit hands the derived transitions to the sink; p.mu is held.
func (p *Projector) emit() {
	if len(p.out) == 0 {
		return
	}
	out := p.out
	p.out = nil
	slices.SortStableFunc(out, func(x, y Transition) int {
		return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.Subject, y.Subject), cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)))
	})
	p.cfg.Transitions.Transitions(out)
}

// kindRank orders transitions of one subject at one instant: band,
// at-risk, upsell, capacity.
func kindRank(k TransitionKind) int {
	return slices.Index([]TransitionKind{TransitionBand, TransitionAtRisk, TransitionUpsell, TransitionCapacity}, k)
}

// endCatchUp runs when the projector has applied the log up to the head
// it found at start: every subject is checked once against its last
// derived state (the snapshot's marks; none after a start from an empty
// state, so every subject gets its baseline and nothing about the
// replayed past is derived). p.mu is held.
func (p *Projector) endCatchUp(now time.Time) {
	if !p.catchingUp {
		return
	}
	p.catchingUp = false
	if p.cfg.Transitions == nil {
		return
	}
	p.applyStored()
	ids := make([]string, 0, len(p.state.Accounts))
	for id := range p.state.Accounts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := p.cache[id]
		if c == nil || p.dirty[id] > 0 {
			continue // re-scored (and checked) at the next flush
		}
		p.checkAccount(id, now, c)
	}
	for id := range p.state.Managers {
		p.mgrCheck[id] = struct{}{}
	}
	p.checkManagers(now)
	p.emit()
}

// startCatchUp notes the head the log has at start: transitions are
// derived once the projector has applied it (see endCatchUp).
func (p *Projector) startCatchUp(ctx context.Context) {
	var head uint64
	var stored []Transition
	if p.cfg.Transitions != nil {
		h, err := p.cfg.Store.Head(ctx)
		if err != nil {
			p.cfg.Logger.Warn().Err(err).Msg("projections: cannot read the store's head; deriving transitions from now on")
		}
		head = uint64(h)
		if hist, ok := p.cfg.Transitions.(TransitionHistory); ok {
			if stored, err = hist.LastTransitions(ctx); err != nil {
				p.cfg.Logger.Warn().Err(err).Msg("projections: cannot read the stored transitions; comparing with the snapshot's marks only")
			}
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stored = stored
	p.catchUpTo = eventstore.Position(head)
	if p.pos >= p.catchUpTo {
		p.endCatchUp(p.cfg.Now())
	}
}

// seedMark gives an account that has stored transitions but no mark (it
// was opened after the snapshot the projector resumed from) a mark that
// applyStored then moves to them: born just before the earliest of them,
// every facet at its value then. A facet that changed after that and has
// no stored transition lost it, and the next check derives it again; one
// that changed before it was the account's baseline, as it was before the
// restart. nil when the account is unknown. p.mu is held.
func (p *Projector) seedMark(id string) *AccountMark {
	a := p.state.Accounts[id]
	if a == nil || !a.Opened {
		return nil
	}
	var born time.Time
	for _, tr := range p.stored {
		if tr.Subject == id && tr.Kind != TransitionCapacity && (born.IsZero() || tr.At.Before(born)) {
			born = tr.At
		}
	}
	born = born.Add(-time.Nanosecond)
	f := p.factsAt(a, born)
	m := &AccountMark{Born: born, Facts: f, ManagerKey: managerKey(f)}
	for i, v := range facetValues(f) {
		m.Facets[i] = Mark{Value: v, Since: born}
	}
	p.marks.Accounts[id] = m
	return m
}

// applyStored moves the marks to the stored transitions (p.stored, read
// at start) that are later than them: the snapshot holding the marks may
// predate transitions that reached the outbox before a crash. p.mu is
// held.
func (p *Projector) applyStored() {
	latest := map[string]time.Time{}
	for _, tr := range p.stored {
		if tr.Kind == TransitionCapacity {
			if m := p.marks.Managers[tr.Subject]; m != nil && tr.At.After(m.Over.Since) {
				m.Over = Mark{Value: tr.To, Since: tr.At}
			}
			continue
		}
		m := p.marks.Accounts[tr.Subject]
		if m == nil {
			m = p.seedMark(tr.Subject)
		}
		i := slices.Index(accountKinds[:], tr.Kind)
		if m == nil || i < 0 || !tr.At.After(m.Facets[i].Since) {
			continue
		}
		m.Facets[i] = Mark{Value: tr.To, Since: tr.At}
		if tr.At.After(latest[tr.Subject]) {
			latest[tr.Subject] = tr.At
		}
	}
	p.stored = nil
	for id, at := range latest {
		if a := p.state.Accounts[id]; a != nil && a.Opened {
			p.marks.Accounts[id].Facts = p.factsAt(a, at)
		}
	}
}
