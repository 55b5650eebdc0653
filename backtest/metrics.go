package backtest

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// Metrics are the measures of one set of samples (a configuration and
// horizon, overall or for one tier).
type Metrics struct {
	// Samples is the number of samples; Churned how many of them churned
	// within the horizon; ChurnEvents the distinct churns (account and
	// instant) they lead to.
	Samples     int `json:"samples"`
	Churned     int `json:"churned"`
	ChurnEvents int `json:"churn_events"`
	// Unscored samples have no score (every component missing): they are
	// left out of the AUC and the deciles, and are never red.
	Unscored int `json:"unscored"`
	// AUC is the probability that a sample that churned scored lower than
	// one that did not (ties count half); null without both kinds.
	AUC *float64 `json:"auc"`
	// AUCCI is AUC's bootstrap interval over accounts; null without one.
	AUCCI *Interval `json:"auc_ci"`
	// Red and AtRisk are the samples flagged red (the computed band) and
	// on the at-risk list.
	Red    Flag `json:"red"`
	AtRisk Flag `json:"at_risk"`
	// Warned is how many churn events had a red day within the horizon
	// before the churn; MedianLeadDays is the median, over them, of the
	// days from the first red in that span to the churn (null for none).
	Warned         int      `json:"warned"`
	MedianLeadDays *float64 `json:"median_lead_days"`
	// Deciles is the calibration table: the scored samples by score,
	// lowest first, in ten groups of (nearly) equal size.
	Deciles []Decile `json:"deciles"`
}

// Interval is a confidence interval.
type Interval struct {
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Level float64 `json:"level"`
}

// Flag is how well a yes/no warning predicted churn.
type Flag struct {
	// Flagged is the number of samples flagged.
	Flagged int `json:"flagged"`
	// Precision is the share of flagged samples that churned; Recall the
	// share of churned samples that were flagged. Null when undefined.
	Precision *float64 `json:"precision"`
	Recall    *float64 `json:"recall"`
}

// Decile is one row of the calibration table.
type Decile struct {
	Decile   int     `json:"decile"` // 1 = the lowest scores
	MinScore float64 `json:"min_score"`
	MaxScore float64 `json:"max_score"`
	Samples  int     `json:"samples"`
	Churned  int     `json:"churned"`
	Rate     float64 `json:"rate"`
}

// ROCPoint is a point of an ROC curve: the false and the true positive
// rate of the warning "score ≤ a threshold".
type ROCPoint [2]float64

// evalSample is a sample as one configuration and horizon see it.
type evalSample struct {
	acct   int
	score  float64
	scored bool
	red    bool
	atRisk bool
	pos    bool
	event  int // index into the churn events, -1 when not positive
	tier   scoring.Tier
}

// event is one churn: an account and its churn instant.
type event struct {
	acct int
	at   time.Time
}

// ptr returns a pointer to x rounded for an answer.
func ptr(x float64) *float64 {
	r := scoring.Round4(x)
	return &r
}

// ratio returns a ÷ b, or nil when b is 0.
func ratio(a, b int) *float64 {
	if b == 0 {
		return nil
	}
	return ptr(float64(a) / float64(b))
}

// measure computes the metrics of ss. lead gives an event's lead days
// (-1: never red within the horizon). rng draws the bootstrap.
func measure(ss []evalSample, lead func(ev int) int, draws int, rng *rand.Rand) Metrics {
	m := Metrics{Samples: len(ss), Deciles: []Decile{}}
	events := map[int]bool{}
	var redHit, riskHit int
	for _, s := range ss {
		if !s.scored {
			m.Unscored++
		}
		if s.red {
			m.Red.Flagged++
		}
		if s.atRisk {
			m.AtRisk.Flagged++
		}
		if !s.pos {
			continue
		}
		m.Churned++
		events[s.event] = true
		if s.red {
			redHit++
		}
		if s.atRisk {
			riskHit++
		}
	}
	m.ChurnEvents = len(events)
	m.Red.Precision, m.Red.Recall = ratio(redHit, m.Red.Flagged), ratio(redHit, m.Churned)
	m.AtRisk.Precision, m.AtRisk.Recall = ratio(riskHit, m.AtRisk.Flagged), ratio(riskHit, m.Churned)
	var leads []float64
	for ev := range events {
		if d := lead(ev); d >= 0 {
			leads = append(leads, float64(d))
		}
	}
	m.Warned = len(leads)
	if len(leads) > 0 {
		m.MedianLeadDays = ptr(median(leads))
	}
	scored := sortedScored(ss)
	if auc, ok := weightedAUC(scored, nil); ok {
		m.AUC = ptr(auc)
		m.AUCCI = bootstrapAUC(scored, draws, rng)
	}
	m.Deciles = deciles(scored)
	return m
}

// median of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// sortedScored returns the scored samples by score ascending (ties by
// account, so the order is deterministic).
func sortedScored(ss []evalSample) []evalSample {
	out := make([]evalSample, 0, len(ss))
	for _, s := range ss {
		if s.scored {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b evalSample) int { return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.acct, b.acct)) })
	return out
}

// weightedAUC is the AUC of sorted (by score ascending) with each sample
// weighted by its account's weight (nil: every weight 1): the weighted
// share of (churned, not churned) pairs where the churned one scored lower,
// ties counting half. ok is false without both kinds.
func weightedAUC(sorted []evalSample, weight []float64) (auc float64, ok bool) {
	w := func(s evalSample) float64 {
		if weight == nil {
			return 1
		}
		return weight[s.acct]
	}
	var posTotal, negTotal float64
	for _, s := range sorted {
		if s.pos {
			posTotal += w(s)
		} else {
			negTotal += w(s)
		}
	}
	if posTotal == 0 || negTotal == 0 {
		return 0, false
	}
	var negBelow, sum float64
	for i := 0; i < len(sorted); {
		j := i
		var pos, neg float64
		for ; j < len(sorted) && sorted[j].score == sorted[i].score; j++ {
			if sorted[j].pos {
				pos += w(sorted[j])
			} else {
				neg += w(sorted[j])
			}
		}
		sum += pos * (negTotal - negBelow - neg + neg/2)
		negBelow += neg
		i = j
	}
	return sum / (posTotal * negTotal), true
}

// bootstrapAUC is the 95% percentile interval of the AUC over draws
// resamplings of the accounts (with replacement: an account drawn k times
// weighs k), so that the many samples of one account are not taken for
// independent evidence. nil when draws is 0.
func bootstrapAUC(sorted []evalSample, draws int, rng *rand.Rand) *Interval {
	if draws <= 0 {
		return nil
	}
	var accts []int
	maxAcct := 0
	for _, s := range sorted {
		accts = append(accts, s.acct)
		maxAcct = max(maxAcct, s.acct)
	}
	slices.Sort(accts)
	accts = slices.Compact(accts)
	weight := make([]float64, maxAcct+1)
	aucs := make([]float64, 0, draws)
	for range draws {
		clear(weight)
		for range accts {
			weight[accts[rng.IntN(len(accts))]]++
		}
		if auc, ok := weightedAUC(sorted, weight); ok {
			aucs = append(aucs, auc)
		}
	}
	if len(aucs) == 0 {
		return nil
	}
	slices.Sort(aucs)
	q := func(p float64) float64 { return aucs[min(len(aucs)-1, int(math.Floor(p*float64(len(aucs)))))] }
	return &Interval{Low: scoring.Round4(q(0.025)), High: scoring.Round4(q(0.975)), Level: 0.95}
}

// deciles splits sorted into ten groups of nearly equal size (fewer when
// there are fewer than ten samples).
func deciles(sorted []evalSample) []Decile {
	out := []Decile{}
	n := len(sorted)
	for d := range 10 {
		lo, hi := d*n/10, (d+1)*n/10
		if lo == hi {
			continue
		}
		g := Decile{Decile: d + 1, MinScore: sorted[lo].score, MaxScore: sorted[hi-1].score, Samples: hi - lo}
		for _, s := range sorted[lo:hi] {
			if s.pos {
				g.Churned++
			}
		}
		g.Rate = scoring.Round4(float64(g.Churned) / float64(g.Samples))
		out = append(out, g)
	}
	return out
}

// maxROCPoints bounds the points of a reported ROC curve.
const maxROCPoints = 101

// roc is the ROC curve of sorted: one point per distinct score (flagging
// every sample with a score ≤ it), from (0,0) to (1,1), thinned to at most
// maxROCPoints points.
func roc(sorted []evalSample) []ROCPoint {
	var p, n float64
	for _, s := range sorted {
		if s.pos {
			p++
		} else {
			n++
		}
	}
	if p == 0 || n == 0 {
		return []ROCPoint{}
	}
	pts := []ROCPoint{{0, 0}}
	var tp, fp float64
	for i := 0; i < len(sorted); {
		j := i
		for ; j < len(sorted) && sorted[j].score == sorted[i].score; j++ {
			if sorted[j].pos {
				tp++
			} else {
				fp++
			}
		}
		pts = append(pts, ROCPoint{fp / n, tp / p})
		i = j
	}
	if len(pts) > maxROCPoints {
		thin := make([]ROCPoint, 0, maxROCPoints)
		for k := range maxROCPoints {
			thin = append(thin, pts[k*(len(pts)-1)/(maxROCPoints-1)])
		}
		pts = thin
	}
	for i := range pts {
		pts[i] = ROCPoint{scoring.Round4(pts[i][0]), scoring.Round4(pts[i][1])}
	}
	return pts
}
