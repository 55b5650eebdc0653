package projections

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// maintained holds the read models of the live state, kept up to date
// account by account: when the projector re-scores an account (after its
// events, a manager event naming its manager, or at the account's next
// change instant) it subtracts the account's old contribution from every
// list and aggregate and adds its new one. A query then reads them: a
// list costs what it returns, the portfolio O(1), the capacity list
// O(managers). Each account's entry holds until its next change instant
// ([Projector.viewChange]), so the maintained models equal the ones
// recomputed from the state at any instant before the earliest of those
// (TestMaintainedEqualsRecomputed). p.mu guards it.
type maintained struct {
	// accts holds every account re-scored so far, existing or not.
	accts map[string]*liveAccount
	// byID holds the existing accounts, by id; byManager those whose
	// view names a manager, per manager, by id.
	byID      *btree.BTreeG[*liveAccount]
	byManager map[string]*btree.BTreeG[*liveAccount]
	// byKind holds the existing accounts per status, tier and band, by
	// id: a page filtered on those merges the sets that match.
	byKind map[kind]*btree.BTreeG[*liveAccount]
	// atRisk and upsell hold the active accounts of each list, by MRR
	// descending then id.
	atRisk, upsell *btree.BTreeG[*liveAccount]
	// assigned maps a manager id to the accounts assigned to them (also
	// after they left): a manager event re-evaluates those accounts.
	assigned map[string]map[string]struct{}
	// counts holds how many existing accounts match each filter of
	// status, tier, band and manager (each of its fields set or empty).
	counts map[AccountFilter]int
	pf     portfolioSums
	// mgrs holds the sums over each manager's active accounts;
	// unassigned the active accounts without a manager.
	mgrs          map[string]*managerSums
	unassigned    *btree.BTreeG[string]
	unassignedMRR wide
	active        activeAggregates

	// managerIDs caches every manager id, sorted (managers are never
	// removed: it is stale when their number changed).
	managerIDs []string
	// views caches each manager's rendered capacity view with the
	// instants it holds for; a change of the manager's sums or facts
	// drops it. Queries fill it under the projector's read lock, hence
	// its own mutex.
	viewsMu sync.Mutex
	views   map[string]managerCache
	// capacities caches the capacity view without and with the managers
	// who left.
	capacities [2]capacityCache
	// atRiskItems and upsellItems cache the lists' items (nil when a
	// change of the list dropped them), shared by the answers until then.
	atRiskItems, upsellItems []AccountView
	// kindScan is defaultKindScan (tests change it to take either way).
	kindScan int
}

// managerCache is a manager's view, valid for instants in [from, until)
// (until zero: no end).
type managerCache struct {
	mv          ManagerView
	from, until time.Time
}

// kind is an account's status, tier and band.
type kind struct {
	status domain.Status
	tier   scoring.Tier
	band   scoring.Band
}

// liveAccount is one account's entry: its view and portfolio
// contribution as of its last re-score.
type liveAccount struct {
	id       string
	exists   bool
	view     AccountView
	c        contribution
	assigned string // the assigned manager id (who may have left)
}

func byID(x, y *liveAccount) bool { return x.id < y.id }

func byMRR(x, y *liveAccount) bool {
	return cmp.Or(cmp.Compare(y.view.MRR, x.view.MRR), cmp.Compare(x.id, y.id)) < 0
}

const btreeDegree = 32

func newMaintained() *maintained {
	return &maintained{
		accts: map[string]*liveAccount{}, byID: btree.NewG(btreeDegree, byID),
		byManager: map[string]*btree.BTreeG[*liveAccount]{}, byKind: map[kind]*btree.BTreeG[*liveAccount]{},
		atRisk: btree.NewG(btreeDegree, byMRR), upsell: btree.NewG(btreeDegree, byMRR),
		assigned: map[string]map[string]struct{}{}, counts: map[AccountFilter]int{},
		mgrs: map[string]*managerSums{}, unassigned: btree.NewOrderedG[string](btreeDegree),
		views: map[string]managerCache{}, kindScan: defaultKindScan,
	}
}

// update re-evaluates account a as of v.t (whose score v gives) and
// returns its new entry.
func (m *maintained) update(v *view, a *Account) *liveAccount {
	old := m.accts[a.ID]
	if old != nil && old.exists {
		m.apply(old, -1)
	}
	la := &liveAccount{id: a.ID, assigned: a.managerAt(v.t)}
	if a.ExistsAt(v.t) {
		la.exists, la.view, la.c = true, v.evaluate(a), v.contribution(a)
		m.apply(la, 1)
	}
	m.accts[a.ID] = la
	if old == nil || old.assigned != la.assigned {
		if old != nil && old.assigned != "" {
			delete(m.assigned[old.assigned], a.ID)
			if len(m.assigned[old.assigned]) == 0 {
				delete(m.assigned, old.assigned)
			}
		}
		if la.assigned != "" {
			if m.assigned[la.assigned] == nil {
				m.assigned[la.assigned] = map[string]struct{}{}
			}
			m.assigned[la.assigned][a.ID] = struct{}{}
		}
	}
	return la
}

// apply adds (sign 1) or removes (sign -1) an existing account's entry
// to or from every list and aggregate.
func (m *maintained) apply(la *liveAccount, sign int) {
	av := &la.view
	set := func(t *btree.BTreeG[*liveAccount]) {
		if sign > 0 {
			t.ReplaceOrInsert(la)
		} else {
			t.Delete(la)
		}
	}
	set(m.byID)
	k := kind{av.Status, av.Tier, av.Band}
	kt := m.byKind[k]
	if kt == nil {
		kt = btree.NewG(btreeDegree, byID)
		m.byKind[k] = kt
	}
	if set(kt); kt.Len() == 0 {
		delete(m.byKind, k)
	}
	if mid := av.ManagerID; mid != "" {
		t := m.byManager[mid]
		if t == nil {
			t = btree.NewG(btreeDegree, byID)
			m.byManager[mid] = t
		}
		set(t)
		if t.Len() == 0 {
			delete(m.byManager, mid)
		}
	}
	// An empty field matches everything, as in a filter: each distinct
	// filter the account matches is counted once.
	empty := 0
	for i, field := range []string{string(av.Status), string(av.Tier), string(av.Band), av.ManagerID} {
		if field == "" {
			empty |= 1 << i
		}
	}
	for mask := range 16 {
		if mask&empty != 0 {
			continue
		}
		f := AccountFilter{}
		if mask&1 != 0 {
			f.Status = av.Status
		}
		if mask&2 != 0 {
			f.Tier = av.Tier
		}
		if mask&4 != 0 {
			f.Band = av.Band
		}
		if mask&8 != 0 {
			f.Manager = av.ManagerID
		}
		bump(m.counts, f, sign)
	}
	if av.Status != domain.StatusActive {
		m.pf.add(&la.c, nil, sign)
		return
	}
	m.pf.add(&la.c, av, sign)
	m.active.add(av, sign)
	if len(av.Reasons) > 0 {
		set(m.atRisk)
		m.atRiskItems = nil
	}
	if av.Upsell {
		set(m.upsell)
		m.upsellItems = nil
	}
	if av.ManagerID == "" {
		if sign > 0 {
			m.unassigned.ReplaceOrInsert(av.ID)
		} else {
			m.unassigned.Delete(av.ID)
		}
		m.unassignedMRR.add(av.MRR, sign)
		m.forget("")
		return
	}
	m.forget(av.ManagerID)
	s := m.mgrs[av.ManagerID]
	if s == nil {
		s = newManagerSums()
		m.mgrs[av.ManagerID] = s
	}
	s.add(av, sign)
	if s.ids.Len() == 0 {
		delete(m.mgrs, av.ManagerID)
	}
}

// list returns the views of a list, in its order: cached holds them
// until the list changes. The items are shared by every answer until then
// (their capacity is their length, so an append copies them).
func (m *maintained) list(t *btree.BTreeG[*liveAccount], cached *[]AccountView) []AccountView {
	m.viewsMu.Lock()
	defer m.viewsMu.Unlock()
	if *cached != nil {
		return *cached
	}
	items := make([]AccountView, 0, t.Len())
	t.Ascend(func(la *liveAccount) bool {
		items = append(items, la.view)
		return true
	})
	*cached = items
	return items
}

// atRiskList and upsellList are the lists' items.
func (m *maintained) atRiskList() []AccountView { return m.list(m.atRisk, &m.atRiskItems) }
func (m *maintained) upsellList() []AccountView { return m.list(m.upsell, &m.upsellItems) }

// defaultKindScan: a page filtered on status, tier or band that fewer
// than one account in defaultKindScan matches merges the matching sets of
// byKind; a broader one reads every account after the cursor (about
// defaultKindScan accounts per item at most).
const defaultKindScan = 16

// accounts is a page of the existing accounts matching f, by id (up to
// one more than the limit), and the number of matches. A page of one
// manager reads that manager's accounts after the cursor; a narrow page
// filtered on status, tier or band merges the matching sets of byKind
// (see defaultKindScan); any other reads every account after the cursor. Each
// reads until the page is full.
func (m *maintained) accounts(f AccountFilter) (items []AccountView, total int) {
	total = m.counts[AccountFilter{Status: f.Status, Tier: f.Tier, Band: f.Band, Manager: f.Manager}]
	matches := func(av *AccountView) bool {
		return av.ID > f.After && (f.Status == "" || av.Status == f.Status) && (f.Tier == "" || av.Tier == f.Tier) &&
			(f.Band == "" || av.Band == f.Band) && (f.Manager == "" || av.ManagerID == f.Manager)
	}
	var found []*liveAccount
	page := func(t *btree.BTreeG[*liveAccount]) {
		n := len(found)
		t.AscendGreaterOrEqual(&liveAccount{id: f.After}, func(la *liveAccount) bool {
			if matches(&la.view) {
				found = append(found, la)
			}
			return len(found)-n <= f.Limit
		})
	}
	switch {
	case f.Manager != "":
		if t := m.byManager[f.Manager]; t != nil {
			page(t)
		}
	case (f.Status != "" || f.Tier != "" || f.Band != "") && total*m.kindScan < m.byID.Len():
		// Few match: merging their sets reads fewer accounts than
		// skipping the others would.
		for k, t := range m.byKind {
			if (f.Status == "" || k.status == f.Status) && (f.Tier == "" || k.tier == f.Tier) && (f.Band == "" || k.band == f.Band) {
				page(t)
			}
		}
		slices.SortFunc(found, func(x, y *liveAccount) int { return cmp.Compare(x.id, y.id) })
	default:
		page(m.byID)
	}
	found = found[:min(len(found), f.Limit+1)]
	items = make([]AccountView, len(found))
	for i, la := range found {
		items[i] = la.view
	}
	return items, total
}

// capacity is the capacity view of the managers that had joined by v.t
// (left ones only when includeLeft), from the maintained sums. It is
// cached (shared by the answers) until a manager's view or the unassigned
// accounts change, or the earliest instant a listed manager's view can
// change or an unlisted one joins.
func (m *maintained) capacity(v *view, includeLeft bool) Capacity {
	m.viewsMu.Lock()
	defer m.viewsMu.Unlock()
	cc := &m.capacities[b2i(includeLeft)]
	if cc.ok && cc.holds(v.t) {
		return cc.c
	}
	c := Capacity{Unassigned: make([]string, 0, m.unassigned.Len()), UnassignedMRR: m.unassignedMRR.money()}
	m.unassigned.Ascend(func(id string) bool {
		c.Unassigned = append(c.Unassigned, id)
		return true
	})
	if len(m.managerIDs) != len(v.st.Managers) {
		m.managerIDs = slices.Sorted(maps.Keys(v.st.Managers))
	}
	c.Managers = make([]ManagerView, 0, len(m.managerIDs))
	e := scoring.Earliest{After: v.t}
	for _, id := range m.managerIDs {
		mg := v.st.Managers[id]
		switch {
		case mg.Joined && !mg.JoinedAt.After(v.t) && (includeLeft || mg.ActiveAt(v.t)):
			mc := m.managerLocked(v, mg)
			c.Managers = append(c.Managers, mc.mv)
			e.Add(mc.until)
		case mg.Joined:
			e.Add(mg.JoinedAt) // listed from then on
		}
	}
	c.Managers = slices.Clip(c.Managers) // shared: an append copies it
	until, _ := e.Instant()
	*cc = capacityCache{managerCache: managerCache{from: v.t, until: until}, c: c, ok: true}
	return c
}

// capacityCache is a cached capacity view and the instants it holds for.
type capacityCache struct {
	managerCache
	c  Capacity
	ok bool
}

// holds reports whether a cached answer holds at t.
func (c *managerCache) holds(t time.Time) bool {
	return !t.Before(c.from) && (c.until.IsZero() || t.Before(c.until))
}

// manager is one manager's capacity view as of v.t (who had joined by
// then), cached until the manager's next change.
func (m *maintained) manager(v *view, mg *Manager) ManagerView {
	m.viewsMu.Lock()
	defer m.viewsMu.Unlock()
	return m.managerLocked(v, mg).mv
}

// managerLocked is manager, with the instants it holds for; m.viewsMu is
// held.
func (m *maintained) managerLocked(v *view, mg *Manager) managerCache {
	if c, ok := m.views[mg.ID]; ok && c.holds(v.t) {
		return c
	}
	until, _ := mg.viewChange(v.t)
	c := managerCache{mv: v.manager(mg, m.mgrs[mg.ID]), from: v.t, until: until}
	m.views[mg.ID] = c
	return c
}

// forget drops manager id's cached view (their sums or facts changed) and
// the cached capacity views.
func (m *maintained) forget(id string) {
	m.viewsMu.Lock()
	delete(m.views, id)
	m.capacities = [2]capacityCache{}
	m.viewsMu.Unlock()
}

// viewChange is the earliest instant after t at which anything the
// maintained read models hold of account a can change with no new event
// of the account: its score and list facets (nextAccountChange), what it
// owes, its portfolio contribution's windows (portfolioChange), its
// manager joining or leaving. la is its entry as of t. p.mu is held.
func (p *Projector) viewChange(a *Account, t time.Time, la *liveAccount) (time.Time, bool) {
	e := scoring.Earliest{After: t}
	if c, ok := p.nextAccountChange(a, t); ok {
		e.Add(c)
	}
	a.portfolioChange(&e, &la.c, scoring.SLADuration(p.cfg.Scorer.SLAHours(&a.Scoring, t)))
	if m := p.state.Managers[la.assigned]; m != nil {
		e.Add(m.JoinedAt)
		e.Add(m.LeftAt)
	}
	return e.Instant()
}

// managerChanged marks the accounts assigned to manager id for a
// re-evaluation at the next flush (a manager joining or leaving changes
// their views) and drops the manager's cached view. p.mu is held.
func (p *Projector) managerChanged(id string) {
	p.live.forget(id)
	for aid := range p.live.assigned[id] {
		if _, ok := p.dirty[aid]; !ok {
			p.dirty[aid] = 0
		}
	}
}
