package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// noStore is a store the projector never reads in these tests (every
// instant asked is after the retention horizon): events are applied
// directly.
type noStore struct{ eventstore.Store }

// discardSink takes transitions and forgets them.
type discardSink struct{}

func (discardSink) Transitions([]Transition)   {}
func (discardSink) Sync(context.Context) error { return nil }

// randomWorld drives a projector with random events and clock moves.
type randomWorld struct {
	t   *testing.T
	rng *rand.Rand
	p   *Projector
	now time.Time
	pos eventstore.Position
	seq int
	// opened and joined are the account and manager ids whose stream
	// exists (the ordering rules of the log); invoices and messages the
	// ids issued or received per account.
	opened, joined     []string
	invoices, messages map[string][]string
	// times holds the times of the events posted, and dues the invoices'
	// due dates: the clock is moved to just after the instants their
	// windows end.
	times, dues []time.Time
	// renewals holds the instants renewal windows open and close.
	renewals []time.Time
}

func newRandomWorld(t *testing.T, seed uint64, transitions, shortWindows bool) *randomWorld {
	w := &randomWorld{
		t: t, rng: rand.New(rand.NewPCG(seed, 15)), now: time.Date(2026, 1, 20, 9, 30, 0, 0, time.UTC),
		invoices: map[string][]string{}, messages: map[string][]string{},
	}
	c := scoring.DefaultConfig()
	if shortWindows {
		// Scoring windows unlike the read models' own: the scorer's change
		// instants do not cover those of the lists and the portfolio.
		for _, comp := range []*scoring.ComponentConfig{&c.Components.NPS, &c.Components.Meetings, &c.Components.KPI, &c.Components.Invoices, &c.Components.Response} {
			comp.WindowDays = 1
		}
		c.Components.Invoices.Weight, c.Components.Response.Weight = 0, 0
	}
	scorer, err := scoring.New(c)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: noStore{}, Scorer: scorer, Now: func() time.Time { return w.now }, Logger: zerolog.Nop()}
	if transitions {
		cfg.Transitions = discardSink{}
	}
	if w.p, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	// Filtered pages merge the per-kind sets, or read every account.
	w.p.live.kindScan = []int{0, 1 << 20}[seed%2]
	w.p.mu.Lock()
	w.p.endCatchUp(w.now)
	w.p.mu.Unlock()
	return w
}

// post applies one event of type typ about subject at time at.
func (w *randomWorld) post(typ domain.Type, subject string, at time.Time, data string) {
	w.t.Helper()
	w.seq++
	raw := fmt.Sprintf(`{"specversion":"1.0","id":"e%d","source":"rnd","type":%q,"subject":%q,"time":%q,"data":%s}`,
		w.seq, typ, subject, at.Format(time.RFC3339Nano), data)
	ev, err := domain.Parse([]byte(raw), w.now)
	if err != nil {
		w.t.Fatalf("%s: %v", raw, err)
	}
	w.pos++
	w.times = append(w.times, at)
	w.p.mu.Lock()
	w.p.applyLocked(decoded{rec: eventstore.Record{Position: w.pos, Key: fmt.Sprint("rnd/e", w.seq)}, ev: ev})
	w.p.mu.Unlock()
}

// past is a random instant before now: mostly recent, sometimes far back
// (a back-dated event).
func (w *randomWorld) past() time.Time {
	var back time.Duration
	switch r := w.rng.Float64(); {
	case r < 0.5:
		back = time.Duration(w.rng.Int64N(int64(48 * time.Hour)))
	case r < 0.85:
		back = time.Duration(w.rng.Int64N(int64(60 * day)))
	default:
		back = time.Duration(w.rng.Int64N(int64(420 * day)))
	}
	return w.now.Add(-back)
}

func (w *randomWorld) date(from, span int) string {
	return w.now.AddDate(0, 0, from+w.rng.IntN(span)).Format(time.DateOnly)
}

// renewal is a random renewal date, noted in w.renewals.
func (w *randomWorld) renewal(from, span int) string {
	d := w.date(from, span)
	rd, _ := time.Parse(time.DateOnly, d)
	w.renewals = append(w.renewals, rd.AddDate(0, 0, -renewalAhead), rd.Add(day))
	return d
}

func pick[T any](rng *rand.Rand, s []T) T { return s[rng.IntN(len(s))] }

// event applies one random event.
func (w *randomWorld) event() {
	rng := w.rng
	if len(w.joined) < 2 || rng.IntN(40) == 0 && len(w.joined) < 5 {
		id := fmt.Sprintf("m%d", len(w.joined))
		w.post(domain.TypeManagerJoined, id, w.past(), fmt.Sprintf(`{"name":"M %s","capacity_points":%d}`, id, 10+rng.IntN(60)))
		w.joined = append(w.joined, id)
		return
	}
	if len(w.opened) < 3 || rng.IntN(12) == 0 && len(w.opened) < 12 {
		id := fmt.Sprintf("a%d", len(w.opened))
		mgr := ""
		if rng.IntN(4) > 0 {
			mgr = fmt.Sprintf(`,"manager_id":%q`, pick(rng, w.joined))
		}
		renew := ""
		if rng.IntN(4) == 0 {
			renew = fmt.Sprintf(`,"renewal_date":%q`, w.renewal(-20, 120))
		}
		w.post(domain.TypeAccountOpened, id, w.past(), fmt.Sprintf(`{"name":"A %s","mrr":%d%s%s}`, id, 500*rng.IntN(40), mgr, renew))
		w.opened = append(w.opened, id)
		return
	}
	a := pick(rng, w.opened)
	at := w.past()
	k := rng.IntN(26)
	if k >= 22 { // messages are the SLA's facts: more of them
		k = 7 + k%2
	}
	switch k {
	case 0:
		w.post(domain.TypeAccountUpdated, a, at, fmt.Sprintf(`{"mrr":%d}`, 500*rng.IntN(40)))
	case 1:
		if rng.IntN(2) == 0 {
			w.post(domain.TypeAccountUpdated, a, at, `{"renewal_date":null}`)
		} else {
			w.post(domain.TypeAccountUpdated, a, at, fmt.Sprintf(`{"renewal_date":%q,"sla_response_hours":%d}`, w.renewal(-10, 90), 1+rng.IntN(72)))
		}
	case 2:
		w.post(domain.TypeAccountStatusChanged, a, at, fmt.Sprintf(`{"status":%q}`, pick(rng, domain.Statuses())))
	case 3:
		w.post(domain.TypeAccountManagerAssigned, a, at, fmt.Sprintf(`{"manager_id":%q}`, pick(rng, w.joined)))
	case 4:
		if rng.IntN(3) == 0 {
			w.post(domain.TypeManagerLeft, pick(rng, w.joined), at, `{}`)
		} else {
			w.post(domain.TypeManagerUpdated, pick(rng, w.joined), at, fmt.Sprintf(`{"capacity_points":%d}`, 10+rng.IntN(60)))
		}
	case 5, 6:
		w.post(domain.TypeTouchpointRecorded, a, at, `{"channel":"call","direction":"outbound"}`)
	case 7:
		id := fmt.Sprintf("msg-%d", w.seq)
		w.messages[a] = append(w.messages[a], id)
		w.post(domain.TypeMessageReceived, a, at, fmt.Sprintf(`{"message_id":%q}`, id))
	case 8:
		if ms := w.messages[a]; len(ms) > 0 {
			w.post(domain.TypeMessageReplied, a, at, fmt.Sprintf(`{"message_id":%q}`, pick(rng, ms)))
		}
	case 9:
		w.post(domain.TypeMeetingHeld, a, at, fmt.Sprintf(`{"meeting_id":"mt-%d"}`, w.seq))
	case 10, 11:
		id := fmt.Sprintf("inv-%d", w.seq)
		w.invoices[a] = append(w.invoices[a], id)
		due := w.date(-40, 70)
		d, _ := time.Parse(time.DateOnly, due)
		w.dues = append(w.dues, d)
		w.post(domain.TypeInvoiceIssued, a, at, fmt.Sprintf(`{"invoice_id":%q,"amount":%d,"due_date":%q}`, id, 100+rng.IntN(5000), due))
	case 12:
		if is := w.invoices[a]; len(is) > 0 {
			w.post(domain.TypePaymentReceived, a, at, fmt.Sprintf(`{"invoice_id":%q,"amount":%d}`, pick(rng, is), 100+rng.IntN(3000)))
		}
	case 13:
		if is := w.invoices[a]; len(is) > 0 {
			w.post(domain.TypeInvoiceVoided, a, at, fmt.Sprintf(`{"invoice_id":%q}`, pick(rng, is)))
		}
	case 14:
		w.post(domain.TypeNPSResponded, a, at, fmt.Sprintf(`{"score":%d}`, rng.IntN(11)))
	case 15:
		w.post(domain.TypeKPIReported, a, at, fmt.Sprintf(`{"kpi":"leads","target":100,"actual":%d}`, rng.IntN(150)))
	case 16, 17:
		kinds := []domain.SignalKind{domain.SignalBudgetCut, domain.SignalChampionLeft, domain.SignalExpansionInterest, domain.SignalNewBudget}
		w.post(domain.TypeSignalRaised, a, at, fmt.Sprintf(`{"signal_id":"s-%d","kind":%q}`, rng.IntN(4), pick(rng, kinds)))
	case 18:
		w.post(domain.TypeSignalResolved, a, at, fmt.Sprintf(`{"signal_id":"s-%d"}`, rng.IntN(4)))
	case 19:
		w.post(domain.TypeReferralMade, a, at, `{}`)
	case 20:
		if rng.IntN(3) == 0 {
			w.post(domain.TypeHealthOverrideCleared, a, at, `{}`)
			return
		}
		exp := ""
		if rng.IntN(2) == 0 {
			exp = fmt.Sprintf(`,"expires_at":%q`, w.now.Add(time.Duration(rng.Int64N(int64(20*day)))).Format(time.RFC3339))
		}
		w.post(domain.TypeHealthOverridden, a, at, fmt.Sprintf(`{"band":%q,"reason":"r","author":"x"%s}`, pick(rng, []string{"red", "yellow", "green"}), exp))
	case 21:
		w.post(domain.TypeTimeLogged, a, at, fmt.Sprintf(`{"manager_id":%q,"hours":%d,"billable":%t}`, pick(rng, w.joined), 1+rng.IntN(8), rng.IntN(3) > 0))
	}
}

// windows are the read models' windows: an instant that far after an
// event (or after an invoice's due date) may change an answer.
var windows = []time.Duration{
	npsWindow, slaWindow, referralWindow, retentionLookbak, signalWindow, quietWindow, utilWindow,
	day, overdueDays * day, (overdueDays + 1) * day, time.Hour, 4 * time.Hour, 24 * time.Hour,
}

// tick moves the clock forward: a little, a lot, to just after a
// midnight, a month start or a renewal window's opening or closing, or to just after an instant at which a
// window over a past event (or an invoice's due date) ends.
func (w *randomWorld) tick() {
	rng := w.rng
	jitter := time.Duration(rng.Int64N(int64(10 * time.Minute)))
	var next time.Time
	switch r := rng.IntN(10); {
	case r < 2:
		next = w.now.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
	case r < 3:
		next = w.now.Add(time.Duration(rng.Int64N(int64(20 * day))))
	case r < 4:
		next = midnight(w.now).Add(day + jitter)
	case r < 5:
		next = monthStart(w.now).AddDate(0, 1, 0).Add(jitter)
	case r < 6 && len(w.renewals) > 0:
		next = pick(rng, w.renewals).Add(jitter)
	default:
		base := pick(rng, w.times)
		if rng.IntN(3) == 0 && len(w.dues) > 0 {
			base = pick(rng, w.dues)
		}
		next = base.Add(pick(rng, windows) + jitter)
	}
	if next.After(w.now) {
		w.now = next
	}
}

// answers are every live read model of one instant, as JSON.
type answers map[string]string

// read collects every read model as of at (now when zero): zero reads
// the maintained models, now recomputes them from the state.
func (w *randomWorld) read(at time.Time) answers {
	w.t.Helper()
	ctx := context.Background()
	out := answers{}
	put := func(name string, v any, err error) {
		if err != nil {
			w.t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			w.t.Fatal(err)
		}
		out[name] = string(b)
	}
	err := w.p.Read(ctx, at, func(r *Reader) error {
		for _, f := range []AccountFilter{
			{Limit: 1000}, {Limit: 2}, {Limit: 3, After: "a3"}, {Status: domain.StatusActive, Limit: 4},
			{Band: scoring.BandRed, Limit: 1000}, {Status: domain.StatusActive, Band: scoring.BandGreen, Limit: 2, After: "a1"},
			{Manager: "m0", Limit: 1000}, {Status: domain.StatusChurned, Limit: 2, After: "a2"}, {Band: scoring.BandUnknown, Tier: scoring.TierSilver, Limit: 1000}, {Manager: "m1", Tier: scoring.TierBronze, Limit: 1}, {Tier: scoring.TierGold, Limit: 5},
		} {
			put(fmt.Sprintf("accounts %+v", f), r.Accounts(f), nil)
		}
		for _, id := range w.opened {
			av, err := r.Account(id)
			if err != nil && !strings.Contains(err.Error(), "not found") {
				return err
			}
			put("account "+id, av, nil)
		}
		put("at-risk", r.AtRisk(), nil)
		put("upsell", r.Upsell(), nil)
		put("capacity", r.Capacity(), nil)
		for _, id := range w.joined {
			md, err := r.Manager(id)
			put("manager "+id, md, err)
		}
		put("portfolio", r.Portfolio(), nil)
		put("active", r.v.activeAggregates(), nil)
		return nil
	})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// check compares the maintained read models with the recomputed ones.
func (w *randomWorld) check(step int) {
	w.t.Helper()
	live, fresh := w.read(time.Time{}), w.read(w.now)
	for name, want := range fresh {
		if got := live[name]; got != want {
			w.t.Fatalf("step %d, %s: %s\nmaintained %s\nrecomputed %s", step, w.now.Format(time.RFC3339Nano), name, got, want)
		}
	}
}

// TestMaintainedEqualsRecomputed: over random histories — back-dated
// events, managers leaving, overrides with expiries, voids, status
// changes — and random clock moves (minutes to weeks, across midnights
// and month and quarter starts), the maintained read models equal the
// ones recomputed from the state at every step, with and without
// transitions derived, under the default scoring configuration and one
// whose scoring windows (1 day) are not the read models' and which does
// not score invoices and response times.
func TestMaintainedEqualsRecomputed(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newRandomWorld(t, seed, seed%2 == 1, seed%3 != 0)
			for step := range 300 {
				if w.rng.IntN(2) == 0 || len(w.times) == 0 {
					for range 1 + w.rng.IntN(4) {
						w.event()
					}
				} else {
					w.tick()
				}
				if w.rng.IntN(3) == 0 {
					w.p.mu.Lock()
					w.p.flushDirty(w.now)
					w.p.mu.Unlock()
				}
				w.check(step)
			}
		})
	}
}

// TestCapacityCachedUntilTimeEntriesLeave: the cached capacity list of
// an agency whose accounts do not change (the only one is churned) still
// changes when the manager's time entry leaves the 28-day window.
func TestCapacityCachedUntilTimeEntriesLeave(t *testing.T) {
	w := newRandomWorld(t, 1, false, false)
	logged := w.now.Add(-time.Hour)
	w.post(domain.TypeManagerJoined, "m0", w.now.Add(-100*day), `{"name":"Ada","weekly_hours":10}`)
	w.post(domain.TypeAccountOpened, "a0", w.now.Add(-90*day), `{"name":"A","mrr":100}`)
	w.post(domain.TypeAccountStatusChanged, "a0", w.now.Add(-80*day), `{"status":"churned"}`)
	w.post(domain.TypeTimeLogged, "a0", logged, `{"manager_id":"m0","hours":8,"billable":true}`)
	w.opened, w.joined = []string{"a0"}, []string{"m0"}
	w.check(0)
	cv, err := w.p.Capacity(context.Background(), time.Time{})
	if err != nil || len(cv.Managers) != 1 || cv.Managers[0].Utilization == nil {
		t.Fatalf("capacity %+v, %v: want m0 with a utilization", cv, err)
	}
	w.now = logged.Add(utilWindow + time.Minute)
	w.check(1)
	if cv, _ = w.p.Capacity(context.Background(), time.Time{}); cv.Managers[0].Utilization != nil {
		t.Fatalf("utilization %v after the entry left the window", *cv.Managers[0].Utilization)
	}
}
