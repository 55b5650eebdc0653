package backtest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gonum.org/v1/gonum/optimize"
	"gopkg.in/yaml.v3"

	"github.com/vitals-hq/vitals/scoring"
)

// FittedName names the fitted configuration in a report.
const FittedName = "fitted"

// DefaultL2 is the default strength of the fit's L2 penalty.
const DefaultL2 = 0.001

// FitOptions describe a fit of the component weights.
type FitOptions struct {
	// HorizonDays is the horizon whose churn the fit predicts; one of the
	// run's horizons (0: 90 when it is one of them, else the longest).
	HorizonDays int
	// Split divides the samples in time: the fit learns from samples whose
	// horizon ends by Split and is measured on samples from Split on. Zero:
	// the sample instant two thirds of the way through the observed ones.
	Split time.Time
	// L2 is the penalty on the log-weights (0: DefaultL2; it pulls the
	// weights toward equal ones, and makes the fit unique).
	L2 float64
}

func (f *FitOptions) check(horizons []int) error {
	if f.HorizonDays == 0 {
		f.HorizonDays = slices.Max(horizons)
		if slices.Contains(horizons, 90) {
			f.HorizonDays = 90
		}
	}
	if !slices.Contains(horizons, f.HorizonDays) {
		return fmt.Errorf("%w: fit-horizon: %dd is not one of the horizons %v", ErrInvalid, f.HorizonDays, horizons)
	}
	switch {
	case f.L2 == 0:
		f.L2 = DefaultL2
	case f.L2 < 0 || f.L2 > 100 || math.IsNaN(f.L2):
		return fmt.Errorf("%w: fit-l2: must be within 0..100", ErrInvalid)
	}
	f.Split = f.Split.UTC()
	return nil
}

// FitReport is the result of a fit.
type FitReport struct {
	// Base names the configuration whose windows, thresholds and points
	// the fit keeps (the first of the run); only the weights change.
	Base        string    `json:"base"`
	HorizonDays int       `json:"horizon_days"`
	Split       time.Time `json:"split"`
	L2          float64   `json:"l2"`
	// Train holds the samples whose horizon ends by Split (with at least
	// one component present); Test the samples from Split on.
	Train SetSize `json:"train"`
	Test  SetSize `json:"test"`
	// Weights are the fitted weights, normalised to 100 (1 decimal); a
	// component present in no training sample gets 0.
	Weights Weights `json:"weights"`
	// Current are the base configuration's weights, normalised the same way.
	Current Weights `json:"current"`
	// HeldOut is the AUC on the test samples of every configuration of
	// the run and of the fitted one (last, named "fitted").
	HeldOut []HeldOut `json:"held_out"`
	// ConfigYAML is the fitted scoring configuration, ready for
	// --scoring-config or --shadow-config.
	ConfigYAML string `json:"config_yaml"`
}

// SetSize counts samples and the churned among them.
type SetSize struct {
	Samples int `json:"samples"`
	Churned int `json:"churned"`
}

// Weights are the five component weights.
type Weights struct {
	NPS      float64 `json:"nps"`
	Meetings float64 `json:"meetings"`
	KPI      float64 `json:"kpi"`
	Invoices float64 `json:"invoices"`
	Response float64 `json:"response"`
}

// list returns the weights in the scorer's component order.
func (w Weights) list() [numComps]float64 {
	return [numComps]float64{w.NPS, w.Meetings, w.KPI, w.Invoices, w.Response}
}

// List returns the weights with their component names, in the scorer's
// order.
func (w Weights) List() (names [numComps]string, weights [numComps]float64) {
	return componentNames, w.list()
}

// HeldOut is one configuration's AUC on the test samples.
type HeldOut struct {
	Name  string    `json:"name"`
	AUC   *float64  `json:"auc"`
	AUCCI *Interval `json:"auc_ci"`
}

// fitRow is one training sample.
type fitRow struct {
	points, present [numComps]float64
	y               float64
}

// fit fits the weights and measures them on the held-out samples.
func (r *run) fit(ctx context.Context) (*FitReport, error) {
	f := r.opts.Fit
	h := f.HorizonDays
	split, err := r.split(h)
	if err != nil {
		return nil, err
	}
	fr := &FitReport{Base: r.opts.Configs[0].Name, HorizonDays: h, Split: split, L2: f.L2}
	var rows []fitRow
	for i := range r.samples {
		s := &r.samples[i]
		if !r.observed(s, h) || s.at.AddDate(0, 0, h).After(split) || slices.Max(s.present[:]) == 0 {
			continue
		}
		row := fitRow{points: s.points, present: s.present}
		if positive(s, h) {
			row.y = 1
			fr.Train.Churned++
		}
		rows = append(rows, row)
	}
	fr.Train.Samples = len(rows)
	if fr.Train.Churned == 0 || fr.Train.Churned == len(rows) {
		return nil, fmt.Errorf("%w: fit: the %d training samples (horizon ending by the split %s) need both churned and retained accounts, %d churned; choose another --split or a longer period",
			ErrInvalid, len(rows), split.Format(time.DateOnly), fr.Train.Churned)
	}
	w, err := fitWeights(rows, f.L2)
	if err != nil {
		return nil, err
	}
	fr.Weights = normalised(w)
	base := r.opts.Configs[0].Config
	fr.Current = normalised(weightsOf(base))
	fitted := withWeights(base, fr.Weights)
	fitScorer, err := scoring.New(fitted)
	if err != nil {
		return nil, fmt.Errorf("backtest: fitted config: %w", err)
	}
	fr.ConfigYAML, err = configYAML(fitted, fr)
	if err != nil {
		return nil, err
	}
	test := func(s *sample) bool { return !s.at.Before(split) }
	rng := rand.New(rand.NewPCG(seed, uint64(h)<<1|1))
	for k, c := range r.opts.Configs {
		ss, _ := r.evalSamples(h, func(s *sample) verdict { return s.per[k] }, test)
		fr.HeldOut = append(fr.HeldOut, heldOut(c.Name, ss, r.opts.Bootstrap, rng))
	}
	ss, _ := r.evalSamples(h, func(s *sample) verdict {
		res := fitScorer.ScoreWithoutTrend(&r.accounts[s.acct].Scoring, s.at)
		if res.Score == nil {
			return verdict{}
		}
		return verdict{score: *res.Score, scored: true}
	}, test)
	for _, s := range ss {
		fr.Test.Samples++
		if s.pos {
			fr.Test.Churned++
		}
	}
	fr.HeldOut = append(fr.HeldOut, heldOut(FittedName, ss, r.opts.Bootstrap, rng))
	return fr, ctx.Err()
}

// heldOut measures one configuration's AUC on test samples.
func heldOut(name string, ss []evalSample, draws int, rng *rand.Rand) HeldOut {
	ho := HeldOut{Name: name}
	sorted := sortedScored(ss)
	if auc, ok := weightedAUC(sorted, nil); ok {
		ho.AUC = ptr(auc)
		ho.AUCCI = bootstrapAUC(sorted, draws, rng)
	}
	return ho
}

// split is the fit's split instant: the option, or the observed sample
// instant two thirds of the way through.
func (r *run) split(h int) (time.Time, error) {
	if s := r.opts.Fit.Split; !s.IsZero() {
		return s, nil
	}
	var ins []time.Time
	for i := range r.samples {
		if s := &r.samples[i]; r.observed(s, h) {
			ins = append(ins, s.at)
		}
	}
	slices.SortFunc(ins, time.Time.Compare)
	ins = slices.Compact(ins)
	if len(ins) < 3 {
		return time.Time{}, fmt.Errorf("%w: fit: %d sample instants whose %dd horizon is observed; a fit needs at least 3 (a longer period or a shorter --fit-horizon)", ErrInvalid, len(ins), h)
	}
	return ins[len(ins)*2/3], nil
}

// weightsOf returns the five weights of c in the scorer's order.
func weightsOf(c scoring.Config) [numComps]float64 {
	cs := c.Components
	return [numComps]float64{cs.NPS.Weight, cs.Meetings.Weight, cs.KPI.Weight, cs.Invoices.Weight, cs.Response.Weight}
}

// normalised scales w to sum to 100, each rounded to 1 decimal.
func normalised(w [numComps]float64) Weights {
	var sum float64
	for _, x := range w {
		sum += x
	}
	var n [numComps]float64
	for i, x := range w {
		if sum > 0 {
			n[i] = math.Round(1000*x/sum) / 10
		}
	}
	return Weights{NPS: n[0], Meetings: n[1], KPI: n[2], Invoices: n[3], Response: n[4]}
}

// withWeights is base with the weights w. A tier profile's weight
// override is dropped (the fit is one set of weights for every tier); its
// windows and thresholds stay.
func withWeights(base scoring.Config, w Weights) scoring.Config {
	c := base
	c.Label = FittedName
	c.Components.NPS.Weight = w.NPS
	c.Components.Meetings.Weight = w.Meetings
	c.Components.KPI.Weight = w.KPI
	c.Components.Invoices.Weight = w.Invoices
	c.Components.Response.Weight = w.Response
	if len(base.Profiles) > 0 {
		c.Profiles = make(map[scoring.Tier]scoring.Profile, len(base.Profiles))
		for t, p := range base.Profiles {
			for _, cp := range []**scoring.ComponentPatch{&p.Components.NPS, &p.Components.Meetings, &p.Components.KPI, &p.Components.Invoices, &p.Components.Response} {
				if *cp == nil {
					continue
				}
				patch := **cp
				patch.Weight = nil
				if patch == (scoring.ComponentPatch{}) {
					*cp = nil
				} else {
					*cp = &patch
				}
			}
			c.Profiles[t] = p
		}
	}
	return c
}

// configYAML writes c as a scoring configuration file, with a header
// saying where it comes from.
func configYAML(c scoring.Config, fr *FitReport) (string, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Scoring weights fitted by vitals backtest --fit to predict churn within %d days,\n", fr.HorizonDays)
	fmt.Fprintf(&buf, "# on %d samples (%d churned) whose horizon ends by %s; the windows, thresholds\n", fr.Train.Samples, fr.Train.Churned, fr.Split.Format(time.DateOnly))
	fmt.Fprintf(&buf, "# and points are those of the configuration %q. Try it as a shadow first:\n", fr.Base)
	buf.WriteString("# vitals serve --shadow-config fitted=FILE (docs/backtest.md).\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return "", fmt.Errorf("backtest: write the fitted config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("backtest: write the fitted config: %w", err)
	}
	return buf.String(), nil
}

// fitWeights fits, by maximum likelihood with an L2 penalty of strength
// l2, the logistic model
//
//	P(churn) = σ(a − b·S),  S = Σ present_i·w_i·points_i ÷ Σ present_i·w_i
//
// where points are 0..1 and w_i = e^θ_i ÷ Σ e^θ. S is the score as the
// scorer computes it (÷ 100): a missing component's weight is left out and
// the others renormalised. When every component is present this is
// logistic regression on the points with coefficients β_i = −b·w_i, and
// the penalty is the ridge one on them, l2/2 · Σ β_i² (which also sends
// the weight of a component that never varies to 0). The loss is the mean
// log-loss. A component present in no row gets weight 0. BFGS from a
// fixed start: the result is deterministic. It
// returns the weights w (summing to 1).
func fitWeights(rows []fitRow, l2 float64) ([numComps]float64, error) {
	const ia, ib = numComps, numComps + 1 // indexes of a and b in x
	// anchor keeps Σθ near 0: softmax does not see a shift of every θ.
	const anchor = 1e-6
	n := float64(len(rows))
	// A component present in no row has no evidence: it keeps weight 0
	// and its θ stays out of the model.
	var active [numComps]bool
	for _, r := range rows {
		for i := range active {
			active[i] = active[i] || r.present[i] > 0
		}
	}
	eval := func(x, grad []float64) float64 {
		w := softmax(x[:numComps], active)
		if grad != nil {
			clear(grad)
		}
		var loss float64
		for _, r := range rows {
			var wsum, wp float64
			for i := range w {
				wsum += r.present[i] * w[i]
				wp += r.present[i] * w[i] * r.points[i]
			}
			s := wp / wsum
			z := x[ia] - x[ib]*s
			loss += softplus(z) - r.y*z
			if grad == nil {
				continue
			}
			g := sigmoid(z) - r.y // dL/dz
			grad[ia] += g
			grad[ib] -= g * s
			for j := range w {
				// dS/dθ_j = Σ_i present_i·(points_i − S)·dw_i/dθ_j ÷ Σ present·w,
				// with dw_i/dθ_j = w_i·(δ_ij − w_j).
				var d float64
				for i := range w {
					dw := -w[i] * w[j]
					if i == j {
						dw += w[i]
					}
					d += r.present[i] * (r.points[i] - s) * dw
				}
				grad[j] -= g * x[ib] * d / wsum
			}
		}
		loss /= n
		var q, sumTheta float64
		for i := range w {
			q += w[i] * w[i]
			sumTheta += x[i]
		}
		b := x[ib]
		loss += l2/2*b*b*q + anchor/2*sumTheta*sumTheta
		if grad != nil {
			for i := range grad {
				grad[i] /= n
			}
			grad[ib] += l2 * b * q
			for i := range w {
				// d(Σ w²)/dθ_i = 2·w_i·(w_i − Σ w²)
				grad[i] += l2*b*b*w[i]*(w[i]-q) + anchor*sumTheta
				if !active[i] {
					grad[i] = 0
				}
			}
		}
		return loss
	}
	var pos float64
	for _, r := range rows {
		pos += r.y
	}
	x0 := make([]float64, numComps+2)
	x0[ib] = 1
	x0[ia] = math.Log(pos/(n-pos)) + 0.5 // the base rate at a score of 50
	p := optimize.Problem{
		Func: func(x []float64) float64 { return eval(x, nil) },
		Grad: func(grad, x []float64) { eval(x, grad) },
	}
	res, err := optimize.Minimize(p, x0, &optimize.Settings{GradientThreshold: 1e-8, MajorIterations: 5000}, &optimize.BFGS{})
	// A line search that cannot improve any further near the optimum ends
	// with an error but with the best location found; only a failure
	// without one is an error.
	if res == nil || math.IsNaN(res.F) || math.IsInf(res.F, 0) {
		return [numComps]float64{}, fmt.Errorf("backtest: the fit failed: %w", err)
	}
	return softmax(res.X[:numComps], active), nil
}

// softmax is e^θ_i ÷ Σ e^θ over the active components (0 for the others),
// computed without overflow.
func softmax(theta []float64, active [numComps]bool) [numComps]float64 {
	var w [numComps]float64
	top := math.Inf(-1)
	for i, a := range active {
		if a {
			top = max(top, theta[i])
		}
	}
	var sum float64
	for i := range w {
		if active[i] {
			w[i] = math.Exp(theta[i] - top)
			sum += w[i]
		}
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// softplus is log(1 + e^z), computed without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// sigmoid is 1 ÷ (1 + e^−z).
func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}
