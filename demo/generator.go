package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// secondsPerDay is the length of a UTC day in seconds.
const secondsPerDay = 86400

// manager is an account manager's simulated state.
type manager struct {
	id        string
	name      string
	capacity  int
	weekly    int     // weekly_hours
	util      float64 // long-run billable utilization
	weekUtil  float64 // this week's billable utilization
	weightSum float64 // this week's sum of workload weights of assigned active accounts
	joined    int64
	left      bool
}

// generator is one run of the simulation.
type generator struct {
	cfg      Config
	emitFn   func(Event) error
	rng      *rand.Rand // agency-wide decisions; accounts have their own
	start    int64      // Unix seconds of day 0, midnight UTC
	end      int64      // last Unix second an event may carry
	lastDay  int        // index of the day that contains end
	idPrefix string

	managers []*manager
	active   []int // indices of managers that have not left, ascending
	accounts []*account

	updateMgr, updateDay int // manager.updated plan
	leaveMgr, leaveDay   int // manager.left plan; leaveMgr -1 for none

	q       queue
	seq     uint64
	emitted uint64
	names   map[string]bool // account names in use (looked up, never iterated)
	ids     map[string]bool // account and manager ids in use (looked up, never iterated)
}

// dayInfo is the calendar of one simulated day.
type dayInfo struct {
	d       int
	t0      int64 // Unix seconds of midnight UTC
	weekday time.Weekday
	mday    int
	month   time.Month
	year    int
}

// workday reports whether the day is Monday to Friday.
func (di *dayInfo) workday() bool { return di.weekday != time.Saturday && di.weekday != time.Sunday }

func newGenerator(cfg Config, emit func(Event) error) *generator {
	g := &generator{
		cfg:      cfg,
		emitFn:   emit,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed0001)),
		idPrefix: "demo-" + strconv.FormatInt(cfg.Seed, 10) + "-",
		names:    make(map[string]bool),
		ids:      make(map[string]bool),
	}
	end := cfg.End.UTC()
	g.end = end.Unix()
	first := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, -cfg.Months, 0)
	g.start = first.Unix()
	g.lastDay = int((g.end - g.start) / secondsPerDay)
	g.setupManagers()
	g.setupAccounts()
	return g
}

// dayInfo returns the calendar of day d.
func (g *generator) dayInfo(d int) dayInfo {
	t0 := g.start + int64(d)*secondsPerDay
	t := time.Unix(t0, 0).UTC()
	return dayInfo{d: d, t0: t0, weekday: t.Weekday(), mday: t.Day(), month: t.Month(), year: t.Year()}
}

// dayStart returns the Unix seconds of midnight UTC of day d.
func (g *generator) dayStart(d int) int64 { return g.start + int64(d)*secondsPerDay }

// workTime returns a random instant in business hours (08:00–18:00) of day d.
func (g *generator) workTime(r *rand.Rand, d int) int64 {
	return g.dayStart(d) + 8*3600 + r.Int64N(10*3600)
}

// date formats Unix seconds as a YYYY-MM-DD UTC calendar date.
func date(t int64) string { return time.Unix(t, 0).UTC().Format(time.DateOnly) }

// push queues an event for emission.
func (g *generator) push(at int64, prio uint8, acct int, typ, subject string, data map[string]any) {
	g.seq++
	g.q.push(item{at: at, prio: prio, seq: g.seq, acct: int32(acct), typ: typ, subject: subject, data: data})
}

// emit hands one event to the caller with the next id.
func (g *generator) emit(at int64, typ, subject string, data map[string]any) error {
	g.emitted++
	ev := Event{
		SpecVersion: "1.0",
		ID:          g.idPrefix + strconv.FormatUint(g.emitted, 10),
		Source:      g.cfg.Source,
		Type:        typ,
		Subject:     subject,
		Time:        time.Unix(at, 0).UTC(),
		Data:        data,
	}
	if err := g.emitFn(ev); err != nil {
		return fmt.Errorf("demo: emit event %s (%s): %w", ev.ID, typ, err)
	}
	return nil
}

// run emits the managers, then simulates day by day, emitting each day's
// events once the day is complete.
func (g *generator) run(ctx context.Context) error {
	order := make([]int, len(g.managers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return int(g.managers[a].joined - g.managers[b].joined)
	})
	for _, i := range order {
		m := g.managers[i]
		err := g.emit(m.joined, "manager.joined", m.id, map[string]any{
			"name": m.name, "capacity_points": m.capacity, "weekly_hours": m.weekly,
		})
		if err != nil {
			return err
		}
	}
	for d := 0; d <= g.lastDay; d++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		di := g.dayInfo(d)
		g.agencyDay(&di)
		if di.weekday == time.Friday {
			g.planWeek()
		}
		for _, a := range g.accounts {
			g.step(a, &di)
		}
		if err := g.flush(di.t0 + secondsPerDay); err != nil {
			return err
		}
	}
	// What is left in the queue lies after End and never happens.
	return nil
}

// flush emits the queued events dated before limit, dropping those after
// End and those of accounts that churned before them.
func (g *generator) flush(limit int64) error {
	for len(g.q) > 0 && g.q[0].at < limit {
		it := g.q.pop()
		if it.at > g.end {
			continue
		}
		if it.acct >= 0 {
			if a := g.accounts[it.acct]; a.status == churned && it.at > a.churnedAt {
				continue
			}
		}
		if err := g.emit(it.at, it.typ, it.subject, it.data); err != nil {
			return err
		}
	}
	return nil
}

// setupManagers creates the managers and plans the agency-wide manager events.
func (g *generator) setupManagers() {
	r := g.rng
	n := g.cfg.Managers
	// Capacity is sized so that the expected load (mean load points per
	// account 7.9, about 93% assigned) is 75%–125% of it: a few managers are
	// over capacity, most are not.
	expected := 7.9 * 0.93 * float64(g.cfg.Accounts) / float64(n)
	hours := []int{40, 40, 40, 40, 40, 40, 32, 45, 35}
	for i := range n {
		name := ""
		for try := 0; try < 20; try++ {
			name = firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
			if !g.names[name] {
				break
			}
		}
		g.names[name] = true
		capacity := int(expected/(0.75+0.5*r.Float64())/10+0.5) * 10
		capacity = max(capacity, 20)
		m := &manager{
			id:       g.uniqueID("am-" + slug(name)),
			name:     name,
			capacity: capacity,
			weekly:   hours[r.IntN(len(hours))],
			util:     0.62 + 0.26*r.Float64(),
			joined:   g.start - int64(30+r.IntN(1500))*secondsPerDay + 8*3600 + r.Int64N(10*3600),
		}
		g.managers = append(g.managers, m)
		g.active = append(g.active, i)
	}
	g.leaveMgr, g.leaveDay = -1, -1
	g.updateMgr = r.IntN(n)
	g.updateDay = g.lastDay/3 + r.IntN(g.lastDay/3+1)
	if n >= 2 && g.lastDay >= 90 {
		g.leaveMgr = n - 1
		g.leaveDay = g.lastDay - 30 - r.IntN(30)
		g.updateMgr = r.IntN(n - 1)
	}
}

// pickManager returns a random manager that has not left, or -1 if none.
func (g *generator) pickManager(r *rand.Rand) int {
	if len(g.active) == 0 {
		return -1
	}
	return g.active[r.IntN(len(g.active))]
}

// agencyDay runs the agency-wide events of a day: a manager's new terms and
// a manager leaving, with the reassignment of their accounts. They happen
// early in the morning, before any account activity of the day.
func (g *generator) agencyDay(di *dayInfo) {
	r := g.rng
	if di.d == g.updateDay {
		m := g.managers[g.updateMgr]
		m.weekly = max(m.weekly*4/5, 16)
		m.capacity = max(m.capacity*4/5/10*10, 10)
		g.push(di.t0+6*3600, 1, -1, "manager.updated", m.id, map[string]any{
			"weekly_hours": m.weekly, "capacity_points": m.capacity,
		})
	}
	if di.d == g.leaveDay {
		m := g.managers[g.leaveMgr]
		m.left = true
		g.active = slices.DeleteFunc(g.active, func(i int) bool { return i == g.leaveMgr })
		at := di.t0 + 6*3600 + 1800
		g.push(at, 1, -1, "manager.left", m.id, map[string]any{})
		for _, a := range g.accounts {
			if !a.opened || a.status == churned || a.mgr != g.leaveMgr {
				continue
			}
			a.mgr = -1
			if r.Float64() < 0.8 {
				a.mgr = g.pickManager(r)
				at += 60
				g.push(at, 1, a.idx, "account.manager_assigned", a.id, map[string]any{
					"manager_id": g.managers[a.mgr].id,
				})
			}
		}
	}
}

// planWeek sets every manager's utilization for the week and sums the
// workload weights of their active accounts, so that each account's
// time.logged gets its share of the billable hours.
func (g *generator) planWeek() {
	for _, m := range g.managers {
		m.weekUtil = m.util + 0.12*(g.rng.Float64()-0.5)
		m.weightSum = 0
	}
	for _, a := range g.accounts {
		if a.opened && a.status == active && a.mgr >= 0 {
			g.managers[a.mgr].weightSum += tierWeight[a.tier()]
		}
	}
}

// uniqueID returns base, or base with a numeric suffix if base is taken.
func (g *generator) uniqueID(base string) string {
	id := base
	for n := 2; g.ids[id]; n++ {
		id = base + "-" + strconv.Itoa(n)
	}
	g.ids[id] = true
	return id
}

// slugReplacer folds the non-ASCII letters of the word lists.
var slugReplacer = strings.NewReplacer("á", "a", "é", "e", "í", "i", "ó", "o", "ú", "u", "ñ", "n", "'", "", ".", "")

// slug lowercases s and joins its words with '-', keeping [a-z0-9] only.
func slug(s string) string {
	s = slugReplacer.Replace(strings.ToLower(s))
	var b strings.Builder
	dash := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		} else {
			dash = true
		}
	}
	out := b.String()
	if len(out) > 60 {
		out = strings.TrimRight(out[:60], "-")
	}
	if out == "" {
		out = "x"
	}
	return out
}
