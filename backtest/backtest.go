package backtest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// Defaults and limits of [Options].
const (
	DefaultBootstrap = 1000
	MaxBootstrap     = 100000
	MaxHorizonDays   = 3660
	// MaxInstants bounds the monthly sample instants of one run (100 years).
	MaxInstants = 1200
	day         = 24 * time.Hour
)

// DefaultHorizons are the horizons of a run that names none, in days.
func DefaultHorizons() []int { return []int{30, 60, 90} }

// ErrInvalid is wrapped by every error about the options of a run.
var ErrInvalid = errors.New("backtest: invalid options")

// Config is one scoring configuration under test, by name.
type Config struct {
	Name   string
	Config scoring.Config
}

// Options describe one backtest run.
type Options struct {
	// From and To bound the sample instants: the first of each month,
	// 00:00 UTC, in [From, To]. A zero From is the earliest account
	// opening; a zero To is Now.
	From, To time.Time
	// Now is the end of observation: churns are known up to it. Required.
	Now time.Time
	// Horizons in days (1..MaxHorizonDays, distinct); default
	// DefaultHorizons.
	Horizons []int
	// Configs are evaluated side by side on the same samples; at least
	// one. The first is the base of a fit.
	Configs []Config
	// Bootstrap is the number of bootstrap draws behind each AUC interval
	// (0: DefaultBootstrap; negative: no intervals).
	Bootstrap int
	// Fit, when set, fits the component weights (see [FitOptions]).
	Fit *FitOptions
	// Progress, when set, is called after each account is sampled.
	Progress func(done, total int)
}

// nameRE is what a configuration name may be.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,39}$`)

// ValidName reports an error naming the rule when name cannot name a
// configuration: 1–40 characters of a–z, 0–9, "_", "-", ".", starting with
// a letter or digit.
func ValidName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("%q: a name is 1-40 characters of a-z, 0-9, _, -, . starting with a letter or digit", name)
	}
	return nil
}

// ParseHorizons reads a comma-separated list of horizons such as
// "30d,60d,90d" (the "d" is optional).
func ParseHorizons(s string) ([]int, error) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(part), "d"))
		if err != nil {
			return nil, fmt.Errorf("%q: a horizon is a number of days such as 90d", strings.TrimSpace(part))
		}
		out = append(out, n)
	}
	return out, nil
}

// check validates o and fills its defaults.
func (o *Options) check(st *projections.State) error {
	if o.Now.IsZero() {
		return fmt.Errorf("%w: now: required", ErrInvalid)
	}
	o.Now = o.Now.UTC()
	if len(o.Horizons) == 0 {
		o.Horizons = DefaultHorizons()
	}
	seen := map[int]bool{}
	for _, h := range o.Horizons {
		if h < 1 || h > MaxHorizonDays {
			return fmt.Errorf("%w: horizon: %dd is not within 1d..%dd", ErrInvalid, h, MaxHorizonDays)
		}
		if seen[h] {
			return fmt.Errorf("%w: horizon: %dd is given twice", ErrInvalid, h)
		}
		seen[h] = true
	}
	if len(o.Configs) == 0 {
		return fmt.Errorf("%w: config: at least one scoring configuration is needed", ErrInvalid)
	}
	names := map[string]bool{}
	for _, c := range o.Configs {
		if err := ValidName(c.Name); err != nil {
			return fmt.Errorf("%w: config: %w", ErrInvalid, err)
		}
		if names[c.Name] || c.Name == FittedName {
			return fmt.Errorf("%w: config: the name %q is used twice (%q is the fit's)", ErrInvalid, c.Name, FittedName)
		}
		names[c.Name] = true
	}
	switch {
	case o.Bootstrap == 0:
		o.Bootstrap = DefaultBootstrap
	case o.Bootstrap > MaxBootstrap:
		return fmt.Errorf("%w: bootstrap: at most %d draws", ErrInvalid, MaxBootstrap)
	case o.Bootstrap < 0:
		o.Bootstrap = 0
	}
	if o.To.IsZero() {
		o.To = o.Now
	}
	o.To = o.To.UTC()
	if o.To.After(o.Now) {
		return fmt.Errorf("%w: to: %s is after the end of observation %s", ErrInvalid, o.To.Format(time.RFC3339), o.Now.Format(time.RFC3339))
	}
	if o.From.IsZero() {
		o.From = earliestOpening(st)
		if o.From.IsZero() {
			return fmt.Errorf("%w: from: the store holds no account", ErrInvalid)
		}
	}
	o.From = o.From.UTC()
	if o.From.After(o.To) {
		return fmt.Errorf("%w: from: %s is after to %s", ErrInvalid, o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if n := len(instants(o.From, o.To)); n > MaxInstants {
		return fmt.Errorf("%w: from: %d monthly instants, at most %d", ErrInvalid, n, MaxInstants)
	}
	if o.Fit != nil {
		if err := o.Fit.check(o.Horizons); err != nil {
			return err
		}
	}
	return nil
}

// earliestOpening is the earliest account opening of st (zero for none).
func earliestOpening(st *projections.State) time.Time {
	var t time.Time
	for _, a := range st.Accounts {
		if a.Opened && (t.IsZero() || a.OpenedAt.Before(t)) {
			t = a.OpenedAt
		}
	}
	return t
}

// instants are the first days of the months, 00:00 UTC, in [from, to].
func instants(from, to time.Time) []time.Time {
	t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
	if t.Before(from) {
		t = t.AddDate(0, 1, 0)
	}
	var out []time.Time
	for ; !t.After(to) && len(out) <= MaxInstants; t = t.AddDate(0, 1, 0) {
		out = append(out, t)
	}
	return out
}

// sample is one active account at one instant, with what each
// configuration said about it.
type sample struct {
	acct int // index into run.accounts
	at   time.Time
	// churn is the account's first churn after at; zero for none.
	churn time.Time
	per   []verdict // per configuration
	// points and present are the base configuration's component points
	// (0..1) and presence, the features of a fit.
	points, present [numComps]float64
}

// numComps is the number of score components.
const numComps = 5

// componentNames are the components in the scorer's order.
var componentNames = [numComps]string{"nps", "meetings", "kpi", "invoices", "response"}

// verdict is what one configuration said about a sample.
type verdict struct {
	score  float64
	scored bool
	red    bool // the computed band is red
	atRisk bool // on the at-risk list
	tier   scoring.Tier
}

// run is one backtest in progress.
type run struct {
	opts     Options
	st       *projections.State
	scorers  []*scoring.Scorer
	accounts []*projections.Account
	samples  []sample
}

// Run backtests the configurations of opts on st, the state of every event
// with time ≤ opts.Now (see [Load]).
func Run(ctx context.Context, st *projections.State, opts Options) (*Report, error) {
	r, err := newRun(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	return r.report(ctx)
}

// newRun checks opts and takes the samples.
func newRun(ctx context.Context, st *projections.State, opts Options) (*run, error) {
	if err := opts.check(st); err != nil {
		return nil, err
	}
	r := &run{opts: opts, st: st}
	for _, c := range opts.Configs {
		s, err := scoring.New(c.Config)
		if err != nil {
			return nil, fmt.Errorf("%w: config %q: %w", ErrInvalid, c.Name, err)
		}
		r.scorers = append(r.scorers, s)
	}
	ids := make([]string, 0, len(st.Accounts))
	for id, a := range st.Accounts {
		if a.Opened {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		r.accounts = append(r.accounts, st.Accounts[id])
	}
	if err := r.sample(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// sample takes every sample of the run.
func (r *run) sample(ctx context.Context) error {
	ins := instants(r.opts.From, r.opts.To)
	for i, a := range r.accounts {
		if err := ctx.Err(); err != nil {
			return err
		}
		churns := a.ChurnTimes()
		for _, t := range ins {
			if a.StatusAt(t) != domain.StatusActive {
				continue // not opened yet, churned or on hold
			}
			s := sample{acct: i, at: t, churn: firstAfter(churns, t), per: make([]verdict, len(r.scorers))}
			for k, sc := range r.scorers {
				res := sc.Score(&a.Scoring, t)
				view := r.st.ViewAt(a, t, sc, res)
				v := verdict{red: res.ComputedBand == scoring.BandRed, atRisk: len(view.Reasons) > 0, tier: res.Tier}
				if res.Score != nil {
					v.score, v.scored = *res.Score, true
				}
				s.per[k] = v
				if k == 0 {
					for c, comp := range res.Components {
						if comp.Present && comp.Points != nil {
							s.present[c], s.points[c] = 1, *comp.Points/100
						}
					}
				}
			}
			r.samples = append(r.samples, s)
		}
		if r.opts.Progress != nil {
			r.opts.Progress(i+1, len(r.accounts))
		}
	}
	return nil
}

// firstAfter is the first instant of sorted ts after t (zero for none).
func firstAfter(ts []time.Time, t time.Time) time.Time {
	for _, x := range ts {
		if x.After(t) {
			return x
		}
	}
	return time.Time{}
}

// observed reports whether the sample's horizon of h days ends by the end
// of observation, so whether it churned within it is known.
func (r *run) observed(s *sample, h int) bool {
	return !s.at.AddDate(0, 0, h).After(r.opts.Now)
}

// positive reports whether the account churned within h days after the
// sample instant.
func positive(s *sample, h int) bool {
	return !s.churn.IsZero() && !s.churn.After(s.at.AddDate(0, 0, h))
}
