package backtest

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/scoring"
)

// Report is the result of a backtest (its JSON is the answer of
// GET /v1/backtest and of vitals backtest --json).
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// ObservedUntil is the end of observation: churns are known up to it.
	ObservedUntil time.Time `json:"observed_until"`
	// Position is the log position the history was read up to (set by
	// the caller of [Run]).
	Position eventstore.Position `json:"position"`
	// Instants is the number of monthly sample instants; Accounts the
	// accounts sampled at least once.
	Instants  int            `json:"sample_instants"`
	Accounts  int            `json:"accounts"`
	Bootstrap int            `json:"bootstrap"`
	Configs   []ConfigReport `json:"configs"`
	Fit       *FitReport     `json:"fit,omitempty"`
}

// ConfigReport is one configuration's results.
type ConfigReport struct {
	Name     string          `json:"name"`
	Version  string          `json:"version"`
	Horizons []HorizonReport `json:"horizons"`
}

// HorizonReport is one configuration's results at one horizon: overall,
// per tier (the tier at the sample instant), and the ROC curve.
type HorizonReport struct {
	Days int `json:"days"`
	Metrics
	Tiers []TierReport `json:"tiers"`
	ROC   []ROCPoint   `json:"roc"`
}

// TierReport is the metrics of the samples of one tier.
type TierReport struct {
	Tier scoring.Tier `json:"tier"`
	Metrics
}

// seed is the fixed seed of the bootstrap draws: a run is deterministic.
const seed = 0x5eed

// report computes the report from the samples.
func (r *run) report(ctx context.Context) (*Report, error) {
	rep := &Report{From: r.opts.From, To: r.opts.To, ObservedUntil: r.opts.Now,
		Instants: len(instants(r.opts.From, r.opts.To)), Bootstrap: r.opts.Bootstrap, Configs: []ConfigReport{}}
	accts := map[int]bool{}
	for _, s := range r.samples {
		accts[s.acct] = true
	}
	rep.Accounts = len(accts)
	maxH := slices.Max(r.opts.Horizons)
	for k, c := range r.opts.Configs {
		cr := ConfigReport{Name: c.Name, Version: r.scorers[k].Version(), Horizons: []HorizonReport{}}
		leads := newLeads(r, k, maxH)
		for _, h := range r.opts.Horizons {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			ss, events := r.evalSamples(h, func(s *sample) verdict { return s.per[k] }, nil)
			lead := func(ev int) int { return leads.days(events[ev], h) }
			rng := rand.New(rand.NewPCG(seed, uint64(h)))
			hr := HorizonReport{Days: h, Metrics: measure(ss, lead, r.opts.Bootstrap, rng), Tiers: []TierReport{}, ROC: roc(sortedScored(ss))}
			for _, t := range scoring.Tiers() {
				sub := slices.DeleteFunc(slices.Clone(ss), func(s evalSample) bool { return s.tier != t })
				if len(sub) > 0 {
					hr.Tiers = append(hr.Tiers, TierReport{Tier: t, Metrics: measure(sub, lead, r.opts.Bootstrap, rng)})
				}
			}
			cr.Horizons = append(cr.Horizons, hr)
		}
		rep.Configs = append(rep.Configs, cr)
	}
	if r.opts.Fit != nil {
		fr, err := r.fit(ctx)
		if err != nil {
			return nil, err
		}
		rep.Fit = fr
	}
	return rep, nil
}

// evalSamples returns the samples observed at horizon h (and accepted by
// keep, when set) as one configuration sees them, with the churn events
// they lead to.
func (r *run) evalSamples(h int, see func(*sample) verdict, keep func(*sample) bool) ([]evalSample, []event) {
	var out []evalSample
	var events []event
	index := map[event]int{}
	for i := range r.samples {
		s := &r.samples[i]
		if !r.observed(s, h) || (keep != nil && !keep(s)) {
			continue
		}
		v := see(s)
		es := evalSample{acct: s.acct, score: v.score, scored: v.scored, red: v.red, atRisk: v.atRisk, pos: positive(s, h), event: -1, tier: v.tier}
		if es.pos {
			ev := event{acct: s.acct, at: s.churn}
			n, ok := index[ev]
			if !ok {
				n = len(events)
				index[ev] = n
				events = append(events, ev)
			}
			es.event = n
		}
		out = append(out, es)
	}
	return out, events
}

// leads finds, per churn event, the days before the churn on which one
// configuration's band was red.
type leads struct {
	r    *run
	k    int
	maxH int
	red  map[event][]bool // red[d]: red d days before the churn
}

func newLeads(r *run, k, maxH int) *leads {
	return &leads{r: r, k: k, maxH: maxH, red: map[event][]bool{}}
}

// days is the lead of ev at horizon h: the most days d ≤ h before the
// churn at which the computed band was red (the first red of that span),
// or -1 when it never was. Instants when the account did not exist or was
// churned do not count.
func (l *leads) days(ev event, h int) int {
	red, ok := l.red[ev]
	if !ok {
		a := l.r.accounts[ev.acct]
		sc := l.r.scorers[l.k]
		red = make([]bool, l.maxH+1)
		for d := 1; d <= l.maxH; d++ {
			t := ev.at.AddDate(0, 0, -d)
			if st := a.StatusAt(t); st == "" || st == domain.StatusChurned {
				continue
			}
			red[d] = sc.ScoreWithoutTrend(&a.Scoring, t).ComputedBand == scoring.BandRed
		}
		l.red[ev] = red
	}
	for d := h; d >= 1; d-- {
		if red[d] {
			return d
		}
	}
	return -1
}
