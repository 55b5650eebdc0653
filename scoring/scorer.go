package scoring

import (
	"math"
	"slices"
	"time"
)

// rule is one component's resolved settings for one tier.
type rule struct {
	weight        float64
	windowDays    int
	window        time.Duration
	green, yellow float64
}

// tierRules are the resolved component settings of one tier.
type tierRules struct {
	comps [numComps]rule
	total float64 // Σ weights
}

// Scorer scores accounts under one configuration. It is immutable and safe
// for concurrent use.
type Scorer struct {
	version   string
	tiers     [4]tierRules // by tierIndex
	points    Points
	bands     ScoreBands
	mrrCents  [3]int64      // lowest MRR of platinum, gold, silver
	slaHours  [4]float64    // by tierIndex
	maxWindow time.Duration // longest window of any component and tier
	// compWindow is each component's longest window over the tiers: how
	// far back its facts can count.
	compWindow [numComps]time.Duration
}

// New returns a Scorer for c, or the error of c.Validate.
func New(c Config) (*Scorer, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	s := &Scorer{
		version: c.Version(),
		points:  c.Points,
		bands:   c.ScoreBands,
		mrrCents: [3]int64{
			int64(math.Round(c.Tiers.MRR.Platinum * 100)),
			int64(math.Round(c.Tiers.MRR.Gold * 100)),
			int64(math.Round(c.Tiers.MRR.Silver * 100)),
		},
		slaHours: [4]float64{c.Tiers.SLAHours.Platinum, c.Tiers.SLAHours.Gold, c.Tiers.SLAHours.Silver, c.Tiers.SLAHours.Bronze},
	}
	for ti, t := range Tiers() {
		cs := c.forTier(t)
		tr := &s.tiers[ti]
		for i, cc := range cs.list() {
			w := time.Duration(cc.WindowDays) * day
			tr.comps[i] = rule{weight: cc.Weight, windowDays: cc.WindowDays, window: w, green: cc.Green, yellow: cc.Yellow}
			tr.total += cc.Weight
			s.maxWindow = max(s.maxWindow, w)
			s.compWindow[i] = max(s.compWindow[i], w)
		}
	}
	return s, nil
}

// Version is the configuration's [Config.Version].
func (s *Scorer) Version() string { return s.version }

// Bands are the score bands of the configuration (the lowest scores of
// green and yellow).
func (s *Scorer) Bands() ScoreBands { return s.bands }

// Horizon is how far back from an instant T the result at T looks: the
// longest window plus the 30-day trend look-back.
func (s *Scorer) Horizon() time.Duration { return s.maxWindow + TrendHorizon }

// attrsAt returns the attribute change in effect at t (zero before the
// first).
func attrsAt(a *Account, t time.Time) AttrChange {
	i, _ := slices.BinarySearchFunc(a.Attrs, t, func(c AttrChange, t time.Time) int {
		if c.Time.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return AttrChange{}
	}
	return a.Attrs[i-1]
}

// tierOf derives the tier of an attribute set.
func (s *Scorer) tierOf(c AttrChange) Tier {
	if c.Tier.Valid() {
		return c.Tier
	}
	switch {
	case c.MRRCents >= s.mrrCents[0]:
		return TierPlatinum
	case c.MRRCents >= s.mrrCents[1]:
		return TierGold
	case c.MRRCents >= s.mrrCents[2]:
		return TierSilver
	}
	return TierBronze
}

// slaOf returns the SLA hours of an attribute set of tier t.
func (s *Scorer) slaOf(c AttrChange, t Tier) float64 {
	if c.SLAHours > 0 { // not NaN
		return min(max(c.SLAHours, minSLAHours), maxSLAHours)
	}
	return s.slaHours[tierIndex(t)]
}

// Tier returns the account's tier at t: the explicit tier, else derived
// from MRR.
func (s *Scorer) Tier(a *Account, t time.Time) Tier { return s.tierOf(attrsAt(a, t)) }

// SLAHours returns the account's response SLA at t: its own, else its
// tier's. An SLA of its own is clamped to 1 ns .. 100 × 366 days (in hours),
// so that +Inf or a subnormal number still gives a finite SLA.
func (s *Scorer) SLAHours(a *Account, t time.Time) float64 {
	c := attrsAt(a, t)
	return s.slaOf(c, s.tierOf(c))
}

// Score returns the account's health as of t with its explanation and trend.
func (s *Scorer) Score(a *Account, t time.Time) Result {
	return s.withTrend(a, t, s.evaluate(a, t, true))
}

// Summary is Score without the components (Components nil): the score,
// bands, coverage, tier, SLA, override and trend that lists need, without
// building each component's explanation. It equals Score with Components
// set to nil.
func (s *Scorer) Summary(a *Account, t time.Time) Result {
	return s.withTrend(a, t, s.Headline(a, t))
}

// Headline is Summary without the trend: the score, bands, coverage, tier,
// SLA and override at t, for history series. It equals ScoreWithoutTrend
// with Components set to nil.
func (s *Scorer) Headline(a *Account, t time.Time) Result {
	r := s.evaluate(a, t, false)
	s.describe(&r, a, t)
	return r
}

// withTrend adds the trend to r, the result at t.
func (s *Scorer) withTrend(a *Account, t time.Time, r Result) Result {
	past7 := s.evaluate(a, t.Add(-trendShort), false).Score
	past30 := s.evaluate(a, t.Add(-trendLong), false).Score
	r.Trend = &Trend{
		Score7dAgo:  past7,
		Score30dAgo: past30,
		Delta7d:     delta(r.Score, past7),
		Delta30d:    delta(r.Score, past30),
	}
	return r
}

// ScoreWithoutTrend is Score without the trend (Trend nil): a third of the
// work, for history series.
func (s *Scorer) ScoreWithoutTrend(a *Account, t time.Time) Result {
	return s.evaluate(a, t, true)
}

// delta returns now − then rounded to 2 decimals, or nil.
func delta(now, then *float64) *float64 {
	if now == nil || then == nil {
		return nil
	}
	d := round2(*now - *then)
	return &d
}

// round2 rounds half away from zero to 2 decimals.
func round2(x float64) float64 {
	r := math.Round(x*100) / 100
	if r == 0 {
		return 0 // no -0
	}
	return r
}

// inWindow reports whether f lies in the window (lo, t].
func inWindow(f, lo, t time.Time) bool { return f.After(lo) && !f.After(t) }

// outcome is a component's scoring outcome.
type outcome struct {
	present       bool
	value, points float64
	band          Band
}

// bandOf is the band of a value under a rule, for a component whose lower
// values are better or (lower false) whose higher values are.
func bandOf(lower bool, r rule, v float64) Band {
	if lower {
		switch {
		case v <= r.green:
			return BandGreen
		case v <= r.yellow:
			return BandYellow
		}
		return BandRed
	}
	switch {
	case v >= r.green:
		return BandGreen
	case v >= r.yellow:
		return BandYellow
	}
	return BandRed
}

// pointsOf returns the points of a band.
func (s *Scorer) pointsOf(b Band) float64 {
	switch b {
	case BandGreen:
		return s.points.Green
	case BandYellow:
		return s.points.Yellow
	}
	return s.points.Red
}

// scoreBand is the band of a score (or of the kpi component's points).
func (s *Scorer) scoreBand(x float64) Band {
	switch {
	case x >= s.bands.Green:
		return BandGreen
	case x >= s.bands.Yellow:
		return BandYellow
	}
	return BandRed
}

// single scores a single-valued component.
func (s *Scorer) single(lower bool, r rule, v float64) outcome {
	b := bandOf(lower, r, v)
	return outcome{present: true, value: v, band: b, points: s.pointsOf(b)}
}

// evaluate computes the result at t without trend. With detail false it
// fills only Score, Band, ComputedBand and Coverage, allocating nothing.
func (s *Scorer) evaluate(a *Account, t time.Time, detail bool) Result {
	t = t.UTC()
	attrs := attrsAt(a, t)
	tier := s.tierOf(attrs)
	rules := &s.tiers[tierIndex(tier)]
	sla := s.slaOf(attrs, tier)

	before := t.Before(a.Since)
	var comps []Component
	if detail {
		comps = make([]Component, numComps)
	}
	var presentW, sumWP float64
	for id := compID(0); id < numComps; id++ {
		r := rules.comps[id]
		var c *Component
		if detail {
			c = &comps[id]
			*c = Component{Name: id.name(), Weight: r.weight, WindowDays: r.windowDays, Band: BandUnknown, Evidence: []string{}}
		}
		var o outcome
		if !before { // no score before the account existed: every component missing
			o = components[id].evaluate(s, a, t, r, sla, c)
		}
		if !o.present {
			if c != nil {
				c.Details = nil
				c.Evidence = []string{}
			}
			continue
		}
		presentW += r.weight
		sumWP += r.weight * o.points
		if c != nil {
			v, p := o.value, o.points
			c.Present, c.Value, c.Points, c.Band = true, &v, &p, o.band
			slices.Sort(c.Evidence)
			c.Evidence = slices.Compact(c.Evidence)
		}
	}

	res := Result{At: t, Band: BandUnknown, ComputedBand: BandUnknown, Coverage: presentW / rules.total, Tier: tier, SLAHours: sla}
	if presentW > 0 {
		sc := round2(sumWP / presentW)
		res.Score = &sc
		res.ComputedBand = s.scoreBand(sc)
		res.Band = res.ComputedBand
	}
	if !detail {
		return res
	}
	res.Components = comps
	s.describe(&res, a, t)
	return res
}

// describe completes res, the bare result at t of evaluate (which has the
// tier and SLA): configuration version and the override active at t.
func (s *Scorer) describe(res *Result, a *Account, t time.Time) {
	t = t.UTC()
	res.ConfigVersion = s.version
	if o := overrideAt(a, t); o != nil && !t.Before(a.Since) {
		res.Override = o
		res.Band = o.Band
	}
}

// overrideAt returns the override active at t, or nil.
func overrideAt(a *Account, t time.Time) *Override {
	i, _ := slices.BinarySearchFunc(a.Overrides, t, func(o OverrideFact, t time.Time) int {
		if o.Time.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return nil
	}
	f := a.Overrides[i-1]
	if f.Kind != OverrideSet || (f.ExpiresAt != nil && !f.ExpiresAt.After(t)) {
		return nil
	}
	switch f.Band {
	case BandGreen, BandYellow, BandRed:
	default:
		return nil // not a band an override can set
	}
	return &Override{Band: f.Band, Reason: f.Reason, Author: f.Author, SetAt: f.Time, ExpiresAt: utcPtr(f.ExpiresAt), Ref: f.Ref}
}

// Prune drops the facts of a that can no longer affect any result at an
// instant ≥ before: facts older than before − [Scorer.Horizon], paid or
// voided invoices no window can reach, and attribute changes and overrides
// superseded by then. Facts added after a Prune that are older than its
// horizon may be scored without their pruned companions (a payment without
// its pruned invoice is simply not scored); evaluate such instants from a
// full replay instead.
func (s *Scorer) Prune(a *Account, before time.Time) {
	s.PruneKeeping(a, before, Reach{})
}

// PruneKeeping is Prune for a caller that reads facts itself over windows
// of its own (the projections' portfolio reads 180 days of NPS answers and
// 30 days of messages): the facts of each kind within keep's reach of
// before are kept too, however short the scoring windows are.
//
// Each kind of fact is kept as far back as its own component can count it
// (the longest window of that component over the tiers, plus the trend
// look-back), so a short response window drops messages sooner than the
// NPS window drops answers.
func (s *Scorer) PruneKeeping(a *Account, before time.Time, keep Reach) {
	before = before.UTC()
	kept := s.kept(keep)
	// cut is the instant at or before which a fact of the component is
	// outside every window from before − TrendHorizon on and outside keep.
	cut := func(id compID) time.Time { return before.Add(-kept[id]) }
	a.prune(before.Add(-TrendHorizon), cuts{
		nps:      cut(compNPS),
		meetings: cut(compMeetings),
		kpis:     cut(compKPI),
		invoices: cut(compInvoices),
		messages: cut(compResponse),
	})
}

// kept is, per component, how far back before the prune instant
// [Scorer.PruneKeeping] with keep keeps the component's facts: the trend
// look-back plus the component's longest window, or keep's reach for that
// kind of fact when longer.
func (s *Scorer) kept(keep Reach) [numComps]time.Duration {
	var reach [numComps]time.Duration
	reach[compNPS], reach[compInvoices], reach[compResponse] = keep.NPS, keep.Invoices, keep.Messages
	var out [numComps]time.Duration
	for id := range out {
		out[id] = max(TrendHorizon+s.compWindow[id], reach[id])
	}
	return out
}

// ExtraReach is how much further back than an account pruned by live
// (with [Scorer.PruneKeeping] and keep) holds its facts s reads them: the
// largest, over the kinds of fact, of how far s counts that kind (its
// component's longest window plus the trend look-back) beyond what live
// keeps of it; 0 when live keeps all s reads. A state pruned to an instant
// P answers s correctly at instants ≥ P + ExtraReach. Per kind, not from
// [Scorer.Horizon]: s may lengthen one component's window without
// lengthening the longest one, and live keeps each kind only as long as
// its own component reads it.
func (s *Scorer) ExtraReach(live *Scorer, keep Reach) time.Duration {
	have := live.kept(keep)
	var extra time.Duration
	for id := range have {
		extra = max(extra, TrendHorizon+s.compWindow[id]-have[id])
	}
	return extra
}

// Reach is how far back before an instant a caller of
// [Scorer.PruneKeeping] reads each kind of fact itself.
type Reach struct {
	NPS, Invoices, Messages time.Duration
}
