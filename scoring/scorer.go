package scoring

import (
	"cmp"
	"math"
	"slices"
	"strings"
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

// band of a value under a rule.
func (s *Scorer) bandOf(id compID, r rule, v float64) Band {
	if id.lowerIsBetter() {
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
func (s *Scorer) single(id compID, r rule, v float64) outcome {
	b := s.bandOf(id, r, v)
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
		switch {
		case before:
			// No score before the account existed: every component missing.
		case id == compNPS:
			o = s.nps(a, t, r, c)
		case id == compMeetings:
			o = s.meetings(a, t, r, c)
		case id == compKPI:
			o = s.kpi(a, t, r, c)
		case id == compInvoices:
			o = s.invoices(a, t, r, c)
		case id == compResponse:
			o = s.response(a, t, r, sla, c)
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

	res := Result{At: t, Band: BandUnknown, ComputedBand: BandUnknown, Coverage: presentW / rules.total}
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

// describe completes res, the bare result at t of evaluate: tier, SLA,
// configuration version and the override active at t.
func (s *Scorer) describe(res *Result, a *Account, t time.Time) {
	t = t.UTC()
	attrs := attrsAt(a, t)
	res.Tier = s.tierOf(attrs)
	res.SLAHours, res.ConfigVersion = s.slaOf(attrs, res.Tier), s.version
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

// nps: the mean of the answers in the window.
func (s *Scorer) nps(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	sum, n := 0, 0
	for _, x := range a.NPS {
		if !x.Time.After(lo) {
			continue
		}
		if x.Time.After(t) {
			break // sorted by time
		}
		sum += x.Score
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, x.Ref)
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &NPSDetails{Responses: n, Sum: sum}
	}
	return s.single(compNPS, r, float64(sum)/float64(n))
}

// meetings: held ÷ (held + missed) over the meetings whose latest outcome
// at t lies in the window.
func (s *Scorer) meetings(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	var d MeetingDetails
	ms := a.Meetings
	for i := 0; i < len(ms); {
		j := i + 1
		for j < len(ms) && ms[j].MeetingID == ms[i].MeetingID {
			j++
		}
		// ms[i:j] is one meeting, by time: find its last outcome ≤ t.
		k := -1
		for x := i; x < j && !ms[x].Time.After(t); x++ {
			k = x
		}
		i = j
		if k < 0 || !ms[k].Time.After(lo) {
			continue
		}
		m := ms[k]
		switch m.Kind {
		case MeetingHeld:
			d.Held++
		case MeetingMissed:
			d.Missed++
			if m.By == PartyAgency {
				d.MissedByAgency++
			} else {
				d.MissedByClient++
			}
		case MeetingCanceled:
			d.Canceled++
			continue
		default:
			continue
		}
		if c != nil {
			c.Evidence = append(c.Evidence, m.Ref)
		}
	}
	if d.Held+d.Missed == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &d
	}
	return s.single(compMeetings, r, float64(d.Held)/float64(d.Held+d.Missed))
}

// validKPI reports whether a KPI report can be scored.
func validKPI(k KPIReport) bool {
	return k.Target > 0 && !math.IsInf(k.Target, 0) && !math.IsNaN(k.Actual) && !math.IsInf(k.Actual, 0)
}

// shortfall is (target − actual) ÷ target, negated when lower is better,
// rounded to 9 decimals so that decimal inputs land exactly on decimal
// thresholds: (100 − 90) ÷ 100 and (0.3 − 0.27) ÷ 0.3 are both exactly the
// float64 nearest to 0.10.
//
// The shortfall is kept finite whatever the (finite, target > 0) inputs:
// when target − actual overflows float64 the same ratio is computed as
// 1 − actual ÷ target instead, and a ratio beyond ±maxShortfall (a subnormal
// target, say) is clamped to ±maxShortfall — the worst value when actual
// falls short, the best when it exceeds the target.
func shortfall(k KPIReport) float64 {
	d := k.Target - k.Actual
	var q float64
	if math.IsInf(d, 0) {
		q = 1 - k.Actual/k.Target
	} else {
		q = d / k.Target
	}
	if !k.HigherIsBetter {
		q = -q
	}
	switch {
	case math.IsNaN(q) || q > maxShortfall:
		q = maxShortfall // NaN cannot arise from valid reports; worst if it did
	case q < -maxShortfall:
		q = -maxShortfall
	}
	sf := math.Round(q*1e9) / 1e9
	if sf == 0 {
		return 0 // no -0
	}
	return sf
}

// maxShortfall bounds a KPI shortfall (a million times the target): far
// beyond every band threshold, and small enough that rounding to 9
// decimals stays exact.
const maxShortfall = 1e6

// kpi: per KPI name the latest valid report in the window; the mean of
// their points.
func (s *Scorer) kpi(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	var sumP float64
	n := 0
	var details []KPIDetail
	ks := a.KPIs
	for i := 0; i < len(ks); {
		j := i + 1
		for j < len(ks) && ks[j].Name == ks[i].Name {
			j++
		}
		k := -1
		for x := i; x < j && !ks[x].Time.After(t); x++ {
			if validKPI(ks[x]) {
				k = x
			}
		}
		i = j
		if k < 0 || !ks[k].Time.After(lo) {
			continue
		}
		rep := ks[k]
		sf := shortfall(rep)
		b := s.bandOf(compKPI, r, sf)
		p := s.pointsOf(b)
		sumP += p
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, rep.Ref)
			details = append(details, KPIDetail{
				Name: rep.Name, Time: rep.Time, Target: rep.Target, Actual: rep.Actual,
				HigherIsBetter: rep.HigherIsBetter, Shortfall: sf, Band: b, Points: p, Evidence: rep.Ref,
			})
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		c.Details = &KPIDetails{KPIs: details}
	}
	mean := sumP / float64(n)
	return outcome{present: true, value: mean, points: mean, band: s.scoreBand(mean)}
}

// invoices: the most days late over the invoices that count at t.
func (s *Scorer) invoices(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	today := dayNum(t)
	worst, n := 0, 0
	var details []InvoiceDetail
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		if !inv.Issued || inv.AmountCents <= 0 || inv.IssuedAt.After(t) || (inv.VoidedAt != nil && !inv.VoidedAt.After(t)) || inv.Due.After(t) {
			continue
		}
		var paid int64
		paidDay := int64(0)
		done := false
		np := 0
		for _, p := range inv.Payments {
			if p.Time.After(t) {
				break
			}
			np++
			paid = addCents(paid, p.AmountCents)
			if !done && paid >= inv.AmountCents {
				done, paidDay = true, dayNum(p.Time)
			}
		}
		if done && !inv.Due.After(lo) {
			continue // paid, and not due in the window
		}
		due := dayNum(inv.Due)
		late := today - due
		if done {
			late = max(0, paidDay-due)
		}
		worst = max(worst, int(late))
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, inv.Ref)
			for _, p := range inv.Payments[:np] {
				c.Evidence = append(c.Evidence, p.Ref)
			}
			d := InvoiceDetail{ID: inv.ID, AmountCents: inv.AmountCents, PaidCents: paid, DueDate: dateString(inv.Due), Paid: done, DaysLate: int(late)}
			if done {
				d.PaidDate = dateString(time.Unix(paidDay*86400, 0))
			}
			details = append(details, d)
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		slices.SortFunc(details, func(x, y InvoiceDetail) int {
			return cmp.Or(strings.Compare(x.DueDate, y.DueDate), strings.Compare(x.ID, y.ID))
		})
		c.Details = &InvoiceDetails{Invoices: details}
	}
	return s.single(compInvoices, r, float64(worst))
}

// maxSLA caps absurd SLAs (from data) far from Duration overflow.
const maxSLA = 100 * 366 * day

// The range of an account's own SLA, in hours: 1 ns .. maxSLA.
const (
	minSLAHours = float64(time.Nanosecond) / float64(time.Hour)
	maxSLAHours = float64(maxSLA) / float64(time.Hour)
)

// SLADuration converts SLA hours to a duration, clamped to 1 ns … 100 × 366
// days (also for NaN and ±Inf), the one conversion scoring and the read
// models share.
func SLADuration(hours float64) time.Duration {
	ns := math.Round(hours * float64(time.Hour))
	if !(ns < float64(maxSLA)) { // also NaN
		return maxSLA
	}
	return max(1, time.Duration(ns))
}

// ratio is elapsed ÷ sla, the one formula both scoring and NextChange use.
func ratio(elapsed, sla time.Duration) float64 { return float64(elapsed) / float64(sla) }

// firstReply returns the earliest reply with time ≤ t.
func firstReply(m *Message, t time.Time) (Reply, bool) {
	if len(m.Replies) == 0 || m.Replies[0].Time.After(t) {
		return Reply{}, false
	}
	return m.Replies[0], true
}

// response: the nearest-rank 90th percentile of reply time ÷ SLA over the
// messages received in the window that count.
func (s *Scorer) response(a *Account, t time.Time, r rule, slaHours float64, c *Component) outcome {
	lo := t.Add(-r.window)
	sla := SLADuration(slaHours)
	var buf [16]float64
	ratios := buf[:0]
	pending := 0
	var details []MessageDetail
	for i := range a.Messages {
		m := &a.Messages[i]
		if !m.Received || !inWindow(m.ReceivedAt, lo, t) {
			continue
		}
		rep, answered := firstReply(m, t)
		var elapsed time.Duration
		if answered {
			elapsed = max(0, rep.Time.Sub(m.ReceivedAt))
		} else {
			elapsed = t.Sub(m.ReceivedAt)
			if elapsed <= sla {
				pending++
				continue
			}
		}
		q := ratio(elapsed, sla)
		ratios = append(ratios, q)
		if c != nil {
			c.Evidence = append(c.Evidence, m.Ref)
			d := MessageDetail{ID: m.ID, ReceivedAt: m.ReceivedAt, Answered: answered, Hours: elapsed.Hours(), Ratio: q}
			if answered {
				c.Evidence = append(c.Evidence, rep.Ref)
				at := rep.Time
				d.RepliedAt = &at
			}
			details = append(details, d)
		}
	}
	n := len(ratios)
	if n == 0 {
		return outcome{}
	}
	slices.Sort(ratios)
	rank := (9*n + 9) / 10 // ⌈0.9·n⌉ in integers
	if c != nil {
		slices.SortFunc(details, func(x, y MessageDetail) int {
			return cmp.Or(x.ReceivedAt.Compare(y.ReceivedAt), strings.Compare(x.ID, y.ID))
		})
		c.Details = &ResponseDetails{SLAHours: slaHours, Counted: n, Rank: rank, Pending: pending, Messages: details}
	}
	return s.single(compResponse, r, ratios[rank-1])
}

// Prune drops the facts of a that can no longer affect any result at an
// instant ≥ before: facts older than before − [Scorer.Horizon], paid or
// voided invoices no window can reach, and attribute changes and overrides
// superseded by then. Facts added after a Prune that are older than its
// horizon may be scored without their pruned companions (a payment without
// its pruned invoice is simply not scored); evaluate such instants from a
// full replay instead.
func (s *Scorer) Prune(a *Account, before time.Time) {
	a.prune(before.UTC().Add(-TrendHorizon), s.maxWindow)
}
