package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// archetype is the latent health trajectory of an account.
type archetype uint8

const (
	archHealthy   archetype = iota // healthy throughout
	archExpanding                  // healthy, with opportunity signals and MRR increases
	archDrifting                   // drifts toward churn in the last months; some recover
	archChurning                   // drifts, then churns; its events stop
	archOnHold                     // healthy, on hold for a while
)

// status is an account's lifecycle status.
type status uint8

const (
	active status = iota
	onHold
	churned
)

// Tiers, derived from MRR or set explicitly.
const (
	tierPlatinum = "platinum"
	tierGold     = "gold"
	tierSilver   = "silver"
	tierBronze   = "bronze"
)

// tierWeight is the share of a manager's hours an account of a tier takes.
var tierWeight = map[string]float64{tierPlatinum: 6, tierGold: 4, tierSilver: 2, tierBronze: 1}

// tierContact scales how much contact an account of a tier has.
var tierContact = map[string]float64{tierPlatinum: 1.4, tierGold: 1.2, tierSilver: 1.0, tierBronze: 0.7}

// tierSLA is the default SLA response hours by tier
// (docs/scoring.md#tier-and-sla).
var tierSLA = map[string]int{tierPlatinum: 4, tierGold: 8, tierSilver: 24, tierBronze: 48}

// tierMeetingDays is the days between meetings by tier.
var tierMeetingDays = map[string]int{tierPlatinum: 7, tierGold: 14, tierSilver: 14, tierBronze: 28}

// tierAbove is the next higher tier.
var tierAbove = map[string]string{tierBronze: tierSilver, tierSilver: tierGold, tierGold: tierPlatinum, tierPlatinum: tierPlatinum}

// tierRank orders tiers, bronze lowest.
var tierRank = map[string]int{tierBronze: 0, tierSilver: 1, tierGold: 2, tierPlatinum: 3}

// tierFor derives the tier from MRR in cents (docs/scoring.md#tier-and-sla).
func tierFor(cents int64) string {
	switch {
	case cents >= 1000000:
		return tierPlatinum
	case cents >= 500000:
		return tierGold
	case cents >= 100000:
		return tierSilver
	default:
		return tierBronze
	}
}

// kpiSpec describes a KPI an agency reports for a service.
type kpiSpec struct {
	name     string
	lo, hi   float64 // range of targets
	lower    bool    // lower is better
	decimals int
	max      float64 // cap of actual values, 0 for none
}

// service is an agency service line with the KPIs it reports.
type service struct {
	name   string
	weight int
	kpis   []kpiSpec
}

var services = []service{
	{"seo", 25, []kpiSpec{
		{"organic_sessions", 2000, 60000, false, 0, 0},
		{"top10_keywords", 20, 300, false, 0, 0},
		{"organic_leads", 10, 300, false, 0, 0},
	}},
	{"ppc", 25, []kpiSpec{
		{"leads", 20, 600, false, 0, 0},
		{"cost_per_lead", 15, 180, true, 2, 0},
		{"roas", 2.5, 6, false, 2, 0},
	}},
	{"social", 15, []kpiSpec{
		{"engagement_rate_pct", 1.5, 6, false, 2, 100},
		{"follower_growth", 100, 3000, false, 0, 0},
		{"cost_per_click", 0.4, 3, true, 2, 0},
	}},
	{"pr", 15, []kpiSpec{
		{"media_mentions", 5, 60, false, 0, 0},
		{"share_of_voice_pct", 10, 40, false, 1, 100},
		{"backlinks_earned", 5, 80, false, 0, 0},
	}},
	{"it", 10, []kpiSpec{
		{"tickets_within_sla_pct", 85, 98, false, 1, 100},
		{"mean_time_to_resolve_hours", 4, 24, true, 1, 0},
		{"open_backlog_tickets", 5, 40, true, 0, 0},
	}},
	{"consulting", 10, []kpiSpec{
		{"milestones_on_time_pct", 80, 95, false, 1, 100},
		{"stakeholder_satisfaction", 7, 9, false, 1, 10},
		{"cost_savings_identified", 5000, 80000, false, 0, 0},
	}},
}

// kpi is one KPI an account reports monthly.
type kpi struct {
	spec   kpiSpec
	target float64
}

// actionKind is a state change an account has planned for a later day.
type actionKind uint8

const (
	actMRR    actionKind = iota // set MRR (cents), resolving signal id if set
	actAssign                   // assign a manager
)

// action is a planned state change.
type action struct {
	day   int
	kind  actionKind
	cents int64
	id    string
}

// account is a client account's simulated state.
type account struct {
	idx int
	rng *rand.Rand

	id, name, industry, website, domain string
	contacts                            []string
	kpis                                []kpi
	cents                               int64  // MRR in cents
	explicitTier                        string // "" derives from MRR
	sla                                 int    // sla_response_hours override, 0 for none
	wantsMgr                            bool
	mgr                                 int // manager index, -1 unassigned
	prevMgr                             int // manager before a hold, -1 none

	arch      archetype
	status    status
	opened    bool
	openDay   int
	churnedAt int64

	base                   float64 // health when nothing is wrong
	driftStart, driftEnd   int
	floor                  float64
	recoverDay             int // -1 for none
	ghost                  bool
	churnDay               int
	holdStart, holdEnd     int
	nextOpp                int
	riskKind, riskKind2    string
	risks                  int
	renewalDay             int // -1 for none
	billingDay, kpiDay     int
	npsPhase, npsDay       int
	nextMeeting            int
	overrideDay            int // -1 for none
	renameDay, slaDay      int // -1 for none
	nInv, nMsg, nMtg, nSig int
	todo                   []action
}

// tier is the account's current tier.
func (a *account) tier() string {
	if a.explicitTier != "" {
		return a.explicitTier
	}
	return tierFor(a.cents)
}

// slaHours is the account's SLA response time in hours.
func (a *account) slaHours() int {
	if a.sla > 0 {
		return a.sla
	}
	return tierSLA[a.tier()]
}

// health is the latent health on day d: 1 perfect, 0 lost.
func (a *account) health(d int) float64 {
	if a.arch != archDrifting && a.arch != archChurning || d <= a.driftStart {
		return a.base
	}
	f := 1.0
	if a.driftEnd > a.driftStart {
		f = min(1, float64(d-a.driftStart)/float64(a.driftEnd-a.driftStart))
	}
	h := a.base - (a.base-a.floor)*f
	if a.recoverDay >= 0 && d > a.recoverDay {
		low := a.base - (a.base-a.floor)*min(1, float64(a.recoverDay-a.driftStart)/float64(max(1, a.driftEnd-a.driftStart)))
		h = low + (a.base-0.05-low)*min(1, float64(d-a.recoverDay)/45)
	}
	return h
}

// between returns a random int in [lo, hi], or lo if hi < lo.
func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// pick returns a random element of s.
func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// pickWeighted returns a value chosen by weight.
func pickWeighted(r *rand.Rand, ws []weighted) string {
	total := 0
	for _, w := range ws {
		total += w.weight
	}
	n := r.IntN(total)
	for _, w := range ws {
		if n < w.weight {
			return w.value
		}
		n -= w.weight
	}
	return ws[len(ws)-1].value
}

// money converts cents to a JSON number with at most 2 decimals.
func money(cents int64) float64 { return float64(cents) / 100 }

// round rounds x to the given number of decimals.
func round(x float64, decimals int) float64 {
	p := math.Pow10(decimals)
	return math.Round(x*p) / p
}

// deckSize is the number of accounts over which tier and archetype shares
// are exact.
const deckSize = 20

// setupAccounts creates every account and plans its life.
func (g *generator) setupAccounts() {
	r := g.rng
	last := g.lastDay
	var tierDeck, archDeck []int
	for i := range g.cfg.Accounts {
		a := &account{
			idx:         i,
			rng:         rand.New(rand.NewPCG(uint64(g.cfg.Seed)^0x9e3779b97f4a7c15, uint64(i)+1)),
			mgr:         -1,
			prevMgr:     -1,
			recoverDay:  -1,
			renewalDay:  -1,
			overrideDay: -1,
			renameDay:   -1,
			slaDay:      -1,
		}
		// Identity.
		ind := industries[r.IntN(len(industries))]
		a.industry = ind.name
		for try := 0; try < 8; try++ {
			a.name = pick(r, namePrefixes) + " " + pick(r, ind.suffixes)
			if r.IntN(4) == 0 || try >= 4 {
				a.name += " " + pick(r, cities)
			}
			if !g.names[a.name] {
				break
			}
		}
		g.names[a.name] = true
		a.id = g.uniqueID(slug(a.name))
		a.domain = strings.ReplaceAll(a.id, "-", "") + ".example"
		a.website = "https://www." + a.domain
		for n := 1 + r.IntN(3); n > 0; n-- {
			first, lastName := pick(r, firstNames), pick(r, lastNames)
			a.contacts = append(a.contacts, slug(first)+"."+strings.ReplaceAll(slug(lastName), "-", "")+"@"+a.domain)
		}
		svc := services[0]
		{
			n := r.IntN(100)
			for _, s := range services {
				if n < s.weight {
					svc = s
					break
				}
				n -= s.weight
			}
		}
		for _, k := range r.Perm(len(svc.kpis))[:1+r.IntN(len(svc.kpis))] {
			spec := svc.kpis[k]
			t := round(spec.lo+(spec.hi-spec.lo)*r.Float64(), spec.decimals)
			if t <= 0 {
				t = spec.lo
			}
			a.kpis = append(a.kpis, kpi{spec: spec, target: t})
		}

		// Money: tiers and archetypes are dealt from shuffled decks of 20
		// so that their shares hold in every agency: 1 platinum (MRR ≥
		// 10000), 3 gold (≥ 5000), 8 silver (≥ 1000), 8 bronze; MRR is
		// skewed toward the low end within each tier.
		if i%deckSize == 0 {
			tierDeck, archDeck = r.Perm(deckSize), r.Perm(deckSize)
		}
		v := r.Float64()
		var lo, hi float64
		switch c := tierDeck[i%deckSize]; {
		case c < 1:
			lo, hi = 10000, 40000
		case c < 4:
			lo, hi = 5000, 10000
		case c < 12:
			lo, hi = 1000, 5000
		default:
			lo, hi = 300, 1000
		}
		a.cents = int64(lo+(hi-lo)*v*v) / 50 * 50 * 100
		if r.Float64() < 0.08 {
			a.explicitTier = tierAbove[tierFor(a.cents)]
		}
		if r.Float64() < 0.05 {
			a.sla = pick(r, []int{2, 4, 12, 24})
		}
		a.wantsMgr = r.Float64() < 0.93

		// Life plan.
		switch c := archDeck[i%deckSize]; {
		case c < 12:
			a.arch = archHealthy
		case c < 14:
			a.arch = archExpanding
		case c < 18:
			a.arch = archDrifting
		case c < 19:
			a.arch = archChurning
		default:
			a.arch = archOnHold
		}
		if r.Float64() >= 0.65 {
			if a.arch == archHealthy || a.arch == archExpanding {
				a.openDay = between(r, 1, last-1)
			} else {
				a.openDay = between(r, 1, last*2/5)
			}
		}
		a.base = 0.88 + 0.12*r.Float64()
		switch a.arch {
		case archDrifting:
			a.driftEnd = last
			a.driftStart = max(last-between(r, 45, 150), a.openDay+14)
			a.floor = 0.05 + 0.35*r.Float64()
			if r.Float64() < 0.25 {
				a.recoverDay = a.driftStart + (a.driftEnd-a.driftStart)/2
			}
			a.ghost = r.Float64() < 0.4
		case archChurning:
			a.churnDay = between(r, max(a.openDay+75, last/5), last-2)
			a.driftEnd = max(a.churnDay-7, a.openDay+1)
			a.driftStart = max(a.churnDay-between(r, 45, 120), a.openDay+7)
			a.floor = 0.05 + 0.25*r.Float64()
			a.ghost = r.Float64() < 0.4
		case archOnHold:
			a.holdStart = between(r, a.openDay+45, last-40)
			a.holdEnd = a.holdStart + between(r, 30, 90)
		case archExpanding:
			a.nextOpp = a.openDay + between(r, 20, 120)
		}
		a.riskKind = pick(r, riskKinds)
		a.riskKind2 = pick(r, riskKinds)
		if r.Float64() < 0.8 {
			a.renewalDay = a.openDay + between(r, 30, 365)
		}
		a.billingDay = 1
		if r.Float64() < 0.4 {
			a.billingDay = between(r, 1, 28)
		}
		a.kpiDay = between(r, 3, 8)
		a.npsPhase = r.IntN(3)
		a.npsDay = between(r, 10, 20)
		a.nextMeeting = a.openDay + 1 + r.IntN(tierMeetingDays[a.tier()])
		if r.Float64() < 0.03 {
			a.overrideDay = between(r, a.openDay+30, last)
		}
		if r.Float64() < 0.01 {
			a.renameDay = between(r, a.openDay+30, last)
		}
		if r.Float64() < 0.03 {
			a.slaDay = between(r, a.openDay+30, last)
		}
		g.accounts = append(g.accounts, a)
	}
}

// open emits account.opened.
func (g *generator) open(a *account, di *dayInfo) {
	r := a.rng
	a.opened = true
	at := g.workTime(r, di.d)
	if di.d == 0 {
		at = di.t0 + 7*3600 + r.Int64N(3600)
	}
	data := map[string]any{
		"name":     a.name,
		"mrr":      money(a.cents),
		"industry": a.industry,
		"website":  a.website,
	}
	if a.explicitTier != "" {
		data["tier"] = a.explicitTier
	}
	if a.wantsMgr {
		a.mgr = g.pickManager(r)
		if a.mgr >= 0 {
			data["manager_id"] = g.managers[a.mgr].id
		}
	} else if r.Float64() < 0.5 {
		// Unassigned for now; someone takes it on later.
		a.todo = append(a.todo, action{day: di.d + between(r, 10, 90), kind: actAssign})
	}
	if a.renewalDay >= 0 {
		data["renewal_date"] = date(g.dayStart(a.renewalDay))
	}
	if a.sla > 0 {
		data["sla_response_hours"] = a.sla
	}
	g.push(at, 0, a.idx, "account.opened", a.id, data)
}

// step simulates one day of an opened (or opening) account.
func (g *generator) step(a *account, di *dayInfo) {
	if !a.opened {
		if di.d == a.openDay {
			g.open(a, di)
		}
		return
	}
	if a.status == churned {
		return
	}
	r := a.rng
	d := di.d
	switch {
	case a.arch == archChurning && d == a.churnDay:
		g.churn(a, di)
		return
	case a.arch == archOnHold && d == a.holdStart:
		g.setStatus(a, d, onHold, "paused")
		if a.mgr >= 0 && r.Float64() < 0.3 {
			a.prevMgr, a.mgr = a.mgr, -1
			g.push(g.workTime(r, d), 1, a.idx, "account.manager_assigned", a.id, map[string]any{"manager_id": nil})
		}
	case a.arch == archOnHold && d == a.holdEnd:
		g.setStatus(a, d, active, "resumed")
		if a.prevMgr >= 0 {
			a.todo = append(a.todo, action{day: d + 1, kind: actAssign})
		}
	}
	g.runTodo(a, di)

	h := a.health(d)
	held := a.status == onHold
	tier := a.tier()
	contact := tierContact[tier] * (0.1 + 0.9*h*math.Sqrt(h))
	if a.ghost && h < 0.3 {
		contact = 0.02
	}
	if held {
		contact *= 0.2
	}
	if di.workday() {
		if r.Float64() < 1.0*contact/5 {
			g.touchpoint(a, d)
		}
		if r.Float64() < 0.8*contact/5 {
			g.message(a, d, h)
		}
		if r.Float64() < 0.5*contact/5 {
			g.push(g.workTime(r, d), 1, a.idx, "portal.login", a.id, map[string]any{"contact": pick(r, a.contacts)})
		}
	}
	if d >= a.nextMeeting {
		if !held && di.workday() && !(a.ghost && h < 0.3) {
			g.meeting(a, d, h)
		}
		if !held || d >= a.nextMeeting+7 {
			a.nextMeeting = d + tierMeetingDays[tier] - 2 + r.IntN(5)
		}
	}
	if !held && di.mday == a.billingDay {
		g.invoice(a, g.dayStart(d)+9*3600+r.Int64N(3600), h, false)
	}
	if !held && di.mday == a.kpiDay && d-a.openDay >= 25 {
		g.reportKPIs(a, di, h)
	}
	if int(di.month)%3 == a.npsPhase && di.mday == a.npsDay && d-a.openDay >= 30 {
		p := 0.75
		if h < 0.6 {
			p = 0.45
		}
		if r.Float64() < p {
			g.nps(a, d, h)
		}
	}
	if di.weekday == time.Friday && !held && a.mgr >= 0 {
		g.logTime(a, d)
	}
	g.signals(a, d, h, held)
	if d == a.renewalDay {
		next := d + 365
		data := map[string]any{"renewal_date": date(g.dayStart(next))}
		if h >= 0.8 && r.Float64() < 0.4 {
			a.cents = a.cents * int64(103+r.IntN(6)) / 100 / 5000 * 5000
			data["mrr"] = money(a.cents)
		}
		a.renewalDay = next
		g.push(g.workTime(r, d), 1, a.idx, "account.updated", a.id, data)
	}
	if h >= 0.85 && !held && r.Float64() < 0.0007 {
		g.push(g.workTime(r, d), 1, a.idx, "referral.made", a.id, map[string]any{
			"referred": pick(r, namePrefixes) + " " + pick(r, industries[r.IntN(len(industries))].suffixes),
		})
	}
	if d == a.overrideDay {
		g.override(a, d, h)
	}
	if d == a.renameDay {
		a.name = pick(r, namePrefixes) + " " + a.name[strings.IndexByte(a.name, ' ')+1:]
		g.push(g.workTime(r, d), 1, a.idx, "account.updated", a.id, map[string]any{"name": a.name})
	}
	if d == a.slaDay {
		data := map[string]any{}
		if a.sla > 0 {
			a.sla = 0
			data["sla_response_hours"] = nil
		} else {
			a.sla = pick(r, []int{2, 4, 12})
			data["sla_response_hours"] = a.sla
		}
		g.push(g.workTime(r, d), 1, a.idx, "account.updated", a.id, data)
	}
}

// setStatus emits account.status_changed.
func (g *generator) setStatus(a *account, d int, s status, reason string) {
	a.status = s
	name := map[status]string{active: "active", onHold: "on_hold", churned: "churned"}[s]
	g.push(g.workTime(a.rng, d), 1, a.idx, "account.status_changed", a.id, map[string]any{
		"status": name, "reason": reason,
	})
}

// churn ends the account: account.status_changed to churned, after which it
// has no events.
func (g *generator) churn(a *account, di *dayInfo) {
	r := a.rng
	reason := pick(r, churnReasons)
	switch a.riskKind {
	case "competitor_mention":
		reason = "competitor"
	case "budget_cut", "scope_reduction":
		reason = "budget"
	}
	at := di.t0 + 17*3600 + r.Int64N(3600)
	a.status = churned
	a.churnedAt = at
	g.push(at, 2, a.idx, "account.status_changed", a.id, map[string]any{"status": "churned", "reason": reason})
}

// runTodo applies the actions planned for today.
func (g *generator) runTodo(a *account, di *dayInfo) {
	if len(a.todo) == 0 {
		return
	}
	r := a.rng
	kept := a.todo[:0]
	for _, act := range a.todo {
		if act.day != di.d {
			kept = append(kept, act)
			continue
		}
		at := g.workTime(r, di.d)
		switch act.kind {
		case actMRR:
			if a.status != active {
				continue
			}
			a.cents = act.cents
			data := map[string]any{"mrr": money(a.cents)}
			if a.explicitTier != "" && tierRank[tierFor(a.cents)] >= tierRank[a.explicitTier] {
				a.explicitTier = ""
				data["tier"] = nil
			}
			g.push(at, 1, a.idx, "account.updated", a.id, data)
			if act.id != "" {
				g.push(at+600, 1, a.idx, "signal.resolved", a.id, map[string]any{"signal_id": act.id})
			}
		case actAssign:
			if a.mgr >= 0 {
				continue
			}
			m := a.prevMgr
			if m < 0 || g.managers[m].left {
				m = g.pickManager(r)
			}
			if m < 0 {
				continue
			}
			a.mgr, a.prevMgr = m, -1
			g.push(at, 1, a.idx, "account.manager_assigned", a.id, map[string]any{"manager_id": g.managers[m].id})
		}
	}
	a.todo = kept
}

// touchpoint emits touchpoint.recorded.
func (g *generator) touchpoint(a *account, d int) {
	r := a.rng
	ch := pickWeighted(r, touchpointChannels)
	dir := "outbound"
	if r.Float64() < 0.4 {
		dir = "inbound"
	}
	data := map[string]any{"channel": ch, "direction": dir}
	if a.mgr >= 0 && r.Float64() < 0.95 {
		data["manager_id"] = g.managers[a.mgr].id
	}
	if r.Float64() < 0.7 {
		data["summary"] = pick(r, touchpointSummaries[ch])
	}
	g.push(g.workTime(r, d), 1, a.idx, "touchpoint.recorded", a.id, data)
}

// message emits message.received and, usually, message.replied: healthy
// accounts get replies well within SLA, drifting ones slow or no replies.
func (g *generator) message(a *account, d int, h float64) {
	r := a.rng
	a.nMsg++
	id := a.id + "-msg-" + strconv.Itoa(a.nMsg)
	at := g.workTime(r, d)
	g.push(at, 1, a.idx, "message.received", a.id, map[string]any{
		"message_id": id, "channel": pickWeighted(r, messageChannels),
	})
	bad := 1 - h
	if r.Float64() < 0.5*bad*bad {
		return // never answered
	}
	mean := float64(a.slaHours()) * (0.22 + 2.2*bad*math.Sqrt(bad))
	delay := int64(r.ExpFloat64()*mean*3600) + 300
	g.push(at+delay, 1, a.idx, "message.replied", a.id, map[string]any{"message_id": id})
}

// meeting emits the outcome of a scheduled meeting.
func (g *generator) meeting(a *account, d int, h float64) {
	r := a.rng
	a.nMtg++
	id := a.id + "-mtg-" + strconv.Itoa(a.nMtg)
	start := g.dayStart(d) + int64(9+r.IntN(8))*3600 + int64(r.IntN(2))*1800
	bad := 1 - h
	switch u := r.Float64(); {
	case u < 0.06:
		g.push(g.dayStart(d)+8*3600+r.Int64N(1800), 1, a.idx, "meeting.canceled", a.id, map[string]any{"meeting_id": id})
	case u < 0.06+0.02+0.5*math.Pow(bad, 1.2):
		data := map[string]any{"meeting_id": id}
		switch v := r.Float64(); {
		case v < 0.15:
			data["by"] = "agency"
		case v < 0.6:
			data["by"] = "client"
		}
		g.push(start+15*60, 1, a.idx, "meeting.missed", a.id, data)
	default:
		g.push(start+45*60, 1, a.idx, "meeting.held", a.id, map[string]any{"meeting_id": id})
	}
}

// invoice emits invoice.issued at t and plans its payments by health: on
// time when healthy; late, partial or never when not. Now and then an
// invoice is voided and reissued.
func (g *generator) invoice(a *account, t int64, h float64, reissue bool) {
	r := a.rng
	a.nInv++
	id := a.id + "-inv-" + strconv.Itoa(a.nInv)
	amount := a.cents
	if r.Float64() < 0.15 {
		amount += int64(5000 + r.IntN(int(max(a.cents*3/10, 5001))-5000)) // pass-through costs, with cents
	}
	if amount <= 0 {
		amount = 10000
	}
	issueDay := int((t - g.start) / secondsPerDay)
	dueDay := issueDay + 30
	g.push(t, 1, a.idx, "invoice.issued", a.id, map[string]any{
		"invoice_id": id, "amount": money(amount), "due_date": date(g.dayStart(dueDay)),
	})
	if !reissue && r.Float64() < 0.02 {
		tv := g.workTime(r, issueDay+between(r, 1, 5))
		g.push(tv, 1, a.idx, "invoice.voided", a.id, map[string]any{"invoice_id": id})
		g.invoice(a, tv+600, h, true)
		return
	}
	pay := func(day int, cents int64) {
		g.push(g.workTime(r, day), 1, a.idx, "payment.received", a.id, map[string]any{
			"invoice_id": id, "amount": money(cents),
		})
	}
	if h >= 0.75 {
		if r.Float64() < 0.98 {
			pay(issueDay+between(r, 3, 28), amount)
		} else {
			pay(dueDay+between(r, 1, 10), amount)
		}
		return
	}
	bad := 1 - h
	if r.Float64() < 0.35*bad {
		return // never paid
	}
	late := int(bad * 70 * r.Float64())
	if h >= 0.5 && r.Float64() < 0.5 {
		late = 0
	}
	if r.Float64() < 0.35 {
		first := amount / 2
		pay(dueDay+late/2, first)
		if r.Float64() < 0.7 {
			pay(dueDay+late+between(r, 7, 30), amount-first)
		}
		return
	}
	pay(dueDay+late, amount)
}

// reportKPIs emits kpi.reported for last month, one per KPI.
func (g *generator) reportKPIs(a *account, di *dayInfo, h float64) {
	r := a.rng
	pm := time.Date(di.year, di.month-1, 1, 0, 0, 0, 0, time.UTC)
	period := pm.Format("2006-01")
	at := g.workTime(r, di.d)
	for _, k := range a.kpis {
		// shortfall: negative is better than target.
		s := -0.2 + 0.24*r.Float64() + 0.6*(1-h)
		var actual float64
		if k.spec.lower {
			actual = k.target * (1 + s)
		} else {
			actual = k.target * (1 - s)
		}
		if k.spec.max > 0 {
			actual = min(actual, k.spec.max)
		}
		actual = max(round(actual, k.spec.decimals), 0)
		data := map[string]any{"kpi": k.spec.name, "target": k.target, "actual": actual, "period": period}
		if k.spec.lower {
			data["higher_is_better"] = false
		}
		at += 1 + r.Int64N(120)
		g.push(at, 1, a.idx, "kpi.reported", a.id, data)
	}
}

// nps emits nps.responded with a score that follows health.
func (g *generator) nps(a *account, d int, h float64) {
	r := a.rng
	score := int(math.Round(10*h + 0.3 + 0.9*r.NormFloat64()))
	score = min(max(score, 0), 10)
	data := map[string]any{"score": score, "respondent": pick(r, a.contacts)}
	if r.Float64() < 0.4 {
		cat := "passive"
		switch {
		case score >= 9:
			cat = "promoter"
		case score <= 6:
			cat = "detractor"
		}
		data["comment"] = pick(r, npsComments[cat])
	}
	g.push(g.workTime(r, d), 1, a.idx, "nps.responded", a.id, data)
}

// logTime emits the week's time.logged entries of the account's manager:
// its share of the manager's billable hours (entries of at most 8 h), and
// sometimes non-billable time.
func (g *generator) logTime(a *account, d int) {
	r := a.rng
	m := g.managers[a.mgr]
	if m.weightSum <= 0 {
		return
	}
	hours := float64(m.weekly) * m.weekUtil * tierWeight[a.tier()] / m.weightSum
	at := g.dayStart(d) + 16*3600 + r.Int64N(2*3600)
	for hours >= 0.01 {
		chunk := min(hours, 8)
		g.push(at, 1, a.idx, "time.logged", a.id, map[string]any{"manager_id": m.id, "hours": round(chunk, 2)})
		hours -= chunk
		at += 60
	}
	if r.Float64() < 0.2 {
		g.push(at+60, 1, a.idx, "time.logged", a.id, map[string]any{
			"manager_id": m.id, "hours": float64(1+r.IntN(8)) / 4, "billable": false,
		})
	}
}

// signals raises and resolves risk and opportunity signals.
func (g *generator) signals(a *account, d int, h float64, held bool) {
	r := a.rng
	if held {
		return
	}
	if a.arch == archDrifting || a.arch == archChurning {
		if a.risks == 0 && h < 0.75 || a.risks == 1 && h < 0.45 {
			kind := a.riskKind
			if a.risks == 1 {
				kind = a.riskKind2
			}
			a.risks++
			id := g.raise(a, d, kind)
			switch {
			case a.recoverDay >= 0:
				g.resolveLater(a, max(a.recoverDay, d)+between(r, 5, 30), id)
			case r.Float64() < 0.25:
				g.resolveLater(a, d+between(r, 14, 40), id)
			}
			if kind == "scope_reduction" || kind == "budget_cut" {
				cents := max(a.cents*int64(60+r.IntN(21))/100/5000*5000, 20000)
				a.todo = append(a.todo, action{day: d + between(r, 10, 40), kind: actMRR, cents: cents})
			}
		}
	}
	// Minor risks happen to anyone and are usually resolved.
	if r.Float64() < 0.0005 {
		id := g.raise(a, d, pick(r, []string{"new_stakeholder", "scope_dispute", "other_risk"}))
		if r.Float64() < 0.85 {
			g.resolveLater(a, d+between(r, 7, 30), id)
		}
	}
	if a.arch == archExpanding && d >= a.nextOpp {
		id := g.raise(a, d, pick(r, []string{"expansion_interest", "new_budget", "new_market", "strong_results", "other_opportunity"}))
		if r.Float64() < 0.7 {
			cents := a.cents * int64(110+r.IntN(31)) / 100 / 5000 * 5000
			a.todo = append(a.todo, action{day: d + between(r, 14, 60), kind: actMRR, cents: max(cents, a.cents+10000), id: id})
		} else if r.Float64() < 0.5 {
			g.resolveLater(a, d+between(r, 30, 70), id)
		}
		a.nextOpp = d + between(r, 75, 160)
	} else if h >= 0.85 && r.Float64() < 0.0004 {
		id := g.raise(a, d, "strong_results")
		if r.Float64() < 0.8 {
			g.resolveLater(a, d+between(r, 20, 40), id)
		}
	}
}

// raise emits signal.raised and returns the signal id.
func (g *generator) raise(a *account, d int, kind string) string {
	r := a.rng
	a.nSig++
	id := a.id + "-sig-" + strconv.Itoa(a.nSig)
	g.push(g.workTime(r, d), 1, a.idx, "signal.raised", a.id, map[string]any{
		"signal_id": id, "kind": kind, "note": pick(r, signalNotes[kind]),
	})
	return id
}

// resolveLater queues signal.resolved for day d.
func (g *generator) resolveLater(a *account, d int, id string) {
	g.push(g.workTime(a.rng, d), 1, a.idx, "signal.resolved", a.id, map[string]any{"signal_id": id})
}

// override emits health.overridden and, if it does not expire, usually a
// later health.override_cleared.
func (g *generator) override(a *account, d int, h float64) {
	r := a.rng
	band := "red"
	switch {
	case h >= 0.8 && r.Float64() < 0.5:
		band = "green"
	case h >= 0.8:
		band = "yellow"
	}
	author := "ops@agency.example"
	if a.mgr >= 0 {
		author = g.managers[a.mgr].id
	}
	at := g.workTime(r, d)
	data := map[string]any{"band": band, "reason": pick(r, overrideReasons[band]), "author": author}
	if r.Float64() < 0.5 {
		data["expires_at"] = time.Unix(at+int64(between(r, 14, 60))*secondsPerDay, 0).UTC().Format(time.RFC3339)
	} else if r.Float64() < 0.75 {
		g.push(g.workTime(r, d+between(r, 10, 45)), 1, a.idx, "health.override_cleared", a.id, map[string]any{})
	}
	g.push(at, 1, a.idx, "health.overridden", a.id, data)
}
