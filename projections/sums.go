package projections

import (
	"math"
	"math/bits"
	"time"

	"github.com/google/btree"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// wide is an exact sum of money amounts (128-bit two's complement), so
// that amounts can be subtracted again: a total kept up to date account by
// account equals the total recomputed from scratch. money clamps it to the
// int64 range of cents, which is what [domain.Money.Add] gives for a sum
// of non-negative amounts (MRR, invoice amounts) whatever their order.
type wide struct {
	hi int64
	lo uint64
}

// add adds sign × m (sign is 1 or -1).
func (w *wide) add(m domain.Money, sign int) {
	v := int64(m)
	if sign < 0 {
		// −v as 128 bits: v = MinInt64 negates without overflow there.
		lo, borrow := bits.Sub64(0, uint64(v), 0)
		hi := -(v >> 63) - int64(borrow)
		w.addWide(hi, lo)
		return
	}
	w.addWide(v>>63, uint64(v))
}

func (w *wide) addWide(hi int64, lo uint64) {
	var carry uint64
	w.lo, carry = bits.Add64(w.lo, lo, 0)
	w.hi += hi + int64(carry)
}

// money is the sum clamped to the range of domain.Money.
func (w wide) money() domain.Money {
	switch {
	case w.hi > 0 || (w.hi == 0 && w.lo > math.MaxInt64):
		return math.MaxInt64
	case w.hi < -1 || (w.hi == -1 && w.lo < 1<<63):
		return math.MinInt64
	}
	return domain.Money(int64(w.lo))
}

// portfolioSums are the counts and totals the portfolio is made of. A
// recomputed portfolio adds every account once; the maintained one adds
// an account's new contribution and subtracts its old one.
type portfolioSums struct {
	accounts                               int
	byStatus                               map[domain.Status]int
	byBand                                 map[scoring.Band]int
	byTier                                 map[scoring.Tier]int
	mrr                                    wide
	mrrByBand                              map[scoring.Band]*wide
	atRisk                                 int
	atRiskByReason                         map[string]int
	mrrAtRisk                              wide
	upsell                                 int
	newMonth, newQuarter                   int
	churnedMonth, churnedQuarter           int
	outstanding, overdue                   wide
	promoters, detractors, npsN, slaOK     int
	slaN, retainedBase, retained, referral int
}

// add adds sign (1 or -1) times one account: its contribution c and, for
// an active account, its view av (nil otherwise).
func (s *portfolioSums) add(c *contribution, av *AccountView, sign int) {
	if s.byStatus == nil {
		s.byStatus, s.byBand, s.byTier = map[domain.Status]int{}, map[scoring.Band]int{}, map[scoring.Tier]int{}
		s.mrrByBand, s.atRiskByReason = map[scoring.Band]*wide{}, map[string]int{}
	}
	s.accounts += sign
	bump(s.byStatus, c.Status, sign)
	s.newMonth += sign * b2i(c.NewMonth)
	s.newQuarter += sign * b2i(c.NewQuarter)
	s.churnedMonth += sign * b2i(c.ChurnedMonth)
	s.churnedQuarter += sign * b2i(c.ChurnedQuarter)
	s.retainedBase += sign * b2i(c.RetainedBase)
	s.retained += sign * b2i(c.Retained)
	s.outstanding.add(c.Outstanding, sign)
	s.overdue.add(c.Overdue, sign)
	s.referral += sign * c.Referrals
	s.promoters += sign * c.Promoters
	s.detractors += sign * c.Detractors
	s.npsN += sign * c.NPSN
	s.slaOK += sign * c.SLAOK
	s.slaN += sign * c.SLAN
	if av == nil {
		return
	}
	bump(s.byBand, av.Band, sign)
	bump(s.byTier, av.Tier, sign)
	s.mrr.add(av.MRR, sign)
	w := s.mrrByBand[av.Band]
	if w == nil {
		w = &wide{}
		s.mrrByBand[av.Band] = w
	}
	w.add(av.MRR, sign)
	if len(av.Reasons) > 0 {
		s.atRisk += sign
		s.mrrAtRisk.add(av.MRR, sign)
		for _, r := range av.Reasons {
			s.atRiskByReason[r] += sign
		}
	}
	if av.Upsell {
		s.upsell += sign
	}
}

// bump adds sign to m[k], dropping the key at zero (a count that fell
// to zero is absent, as in a map built from scratch).
func bump[K comparable](m map[K]int, k K, sign int) {
	if m[k] += sign; m[k] == 0 {
		delete(m, k)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// portfolio renders the sums as the portfolio as of t.
func (s *portfolioSums) portfolio(t time.Time) Portfolio {
	pf := Portfolio{
		At: t, Accounts: s.accounts, ByStatus: map[domain.Status]int{}, ByBand: map[scoring.Band]int{}, ByTier: map[scoring.Tier]int{},
		MRRTotal: s.mrr.money(), MRRByBand: map[scoring.Band]domain.Money{}, AtRisk: s.atRisk,
		AtRiskByReason: map[string]int{}, MRRAtRisk: s.mrrAtRisk.money(), Upsell: s.upsell,
		NewThisMonth: s.newMonth, NewThisQuarter: s.newQuarter, ChurnedThisMonth: s.churnedMonth, ChurnedThisQuarter: s.churnedQuarter,
		ReceivablesOutstanding: s.outstanding.money(), ReceivablesOverdue: s.overdue.money(),
		NPSResponses: s.npsN, SLAMessages: s.slaN, Referrals12m: s.referral,
	}
	for k, n := range s.byStatus {
		pf.ByStatus[k] = n
	}
	for k, n := range s.byBand {
		pf.ByBand[k] = n
		pf.MRRByBand[k] = s.mrrByBand[k].money()
	}
	for k, n := range s.byTier {
		pf.ByTier[k] = n
	}
	for _, r := range Reasons() {
		pf.AtRiskByReason[r] = s.atRiskByReason[r]
	}
	for r, n := range s.atRiskByReason {
		if n != 0 {
			pf.AtRiskByReason[r] = n
		}
	}
	if s.npsN > 0 {
		n := round2(100 * float64(s.promoters-s.detractors) / float64(s.npsN))
		pf.NPS = &n
	}
	if s.slaN > 0 {
		r := round4(float64(s.slaOK) / float64(s.slaN))
		pf.SLACompliance = &r
	}
	if s.retainedBase > 0 {
		r := round4(float64(s.retained) / float64(s.retainedBase))
		pf.LogoRetention = &r
	}
	return pf
}

// managerSums are what a manager's capacity adds up over their active
// accounts.
type managerSums struct {
	ids       *btree.BTreeG[string]
	byTier    map[scoring.Tier]int
	byBand    map[scoring.Band]int
	load      float64 // a sum of whole load points: exact in any order
	mrr       wide
	mrrAtRisk wide
	atRisk    int
}

func newManagerSums() *managerSums {
	return &managerSums{ids: btree.NewOrderedG[string](16), byTier: map[scoring.Tier]int{}, byBand: map[scoring.Band]int{}}
}

// add adds sign (1 or -1) times one active account.
func (s *managerSums) add(av *AccountView, sign int) {
	if sign > 0 {
		s.ids.ReplaceOrInsert(av.ID)
	} else {
		s.ids.Delete(av.ID)
	}
	bump(s.byTier, av.Tier, sign)
	bump(s.byBand, av.Band, sign)
	s.load += float64(sign) * loadPoints[av.Tier]
	s.mrr.add(av.MRR, sign)
	if len(av.Reasons) > 0 {
		s.atRisk += sign
		s.mrrAtRisk.add(av.MRR, sign)
	}
}

// accountIDs lists the manager's accounts by id.
func (s *managerSums) accountIDs() []string {
	out := make([]string, 0, s.ids.Len())
	s.ids.Ascend(func(id string) bool {
		out = append(out, id)
		return true
	})
	return out
}

// activeAggregates are the per-band, per-tier counts of the active
// accounts that the metrics export (see [ActiveAggregates]).
type activeAggregates struct {
	byBandTier   map[[2]string]int
	atRiskByTier map[scoring.Tier]int
	unassigned   int
	scores       map[scoring.Tier]*ScoreDistribution
}

// add adds sign (1 or -1) times one active account.
func (s *activeAggregates) add(av *AccountView, sign int) {
	if s.byBandTier == nil {
		s.byBandTier, s.atRiskByTier, s.scores = map[[2]string]int{}, map[scoring.Tier]int{}, map[scoring.Tier]*ScoreDistribution{}
	}
	bump(s.byBandTier, [2]string{string(av.Band), string(av.Tier)}, sign)
	if len(av.Reasons) > 0 {
		bump(s.atRiskByTier, av.Tier, sign)
	}
	if av.ManagerID == "" {
		s.unassigned += sign
	}
	if av.Score == nil {
		return
	}
	d := s.scores[av.Tier]
	if d == nil {
		d = &ScoreDistribution{}
		s.scores[av.Tier] = d
	}
	if d.add(*av.Score, sign); d.Count == 0 {
		delete(s.scores, av.Tier)
	}
}

// ActiveAggregates are counts over the active accounts, for the metrics.
type ActiveAggregates struct {
	// ByBandTier counts them by reported band and tier.
	ByBandTier map[scoring.Band]map[scoring.Tier]int
	// AtRiskByTier counts those at risk, by tier.
	AtRiskByTier map[scoring.Tier]int
	// Unassigned counts those without a manager.
	Unassigned int
	// Scores is the distribution of the known scores, by tier.
	Scores map[scoring.Tier]ScoreDistribution
}

// ScoreDistribution counts scores in hundredths of a point (scores have
// two decimals): ByHundredth[k] is the number of scores equal to k/100.
// Sum is their exact sum in hundredths.
type ScoreDistribution struct {
	Count       int
	Sum         int64
	ByHundredth map[int]int
}

// add adds sign (1 or -1) times one score.
func (d *ScoreDistribution) add(score float64, sign int) {
	if d.ByHundredth == nil {
		d.ByHundredth = map[int]int{}
	}
	k := int(math.Round(score * 100))
	d.Count += sign
	d.Sum += int64(sign * k)
	bump(d.ByHundredth, k, sign)
}

// export copies the aggregates for a caller outside the lock.
func (s *activeAggregates) export() ActiveAggregates {
	out := ActiveAggregates{ByBandTier: map[scoring.Band]map[scoring.Tier]int{}, AtRiskByTier: map[scoring.Tier]int{},
		Unassigned: s.unassigned, Scores: map[scoring.Tier]ScoreDistribution{}}
	for k, n := range s.byBandTier {
		b, t := scoring.Band(k[0]), scoring.Tier(k[1])
		if out.ByBandTier[b] == nil {
			out.ByBandTier[b] = map[scoring.Tier]int{}
		}
		out.ByBandTier[b][t] = n
	}
	for k, n := range s.atRiskByTier {
		out.AtRiskByTier[k] = n
	}
	for k, d := range s.scores {
		c := ScoreDistribution{Count: d.Count, Sum: d.Sum, ByHundredth: make(map[int]int, len(d.ByHundredth))}
		for h, n := range d.ByHundredth {
			c.ByHundredth[h] = n
		}
		out.Scores[k] = c
	}
	return out
}
