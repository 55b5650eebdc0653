package backtest

import (
	"context"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/scoring"
)

// wrongConfig weighs only what does not drive churn in knownMechanism.
func wrongConfig() scoring.Config {
	c := scoring.DefaultConfig()
	c.Label = "wrong"
	c.Components.NPS.Weight = 40
	c.Components.Meetings.Weight = 20
	c.Components.KPI.Weight = 40
	c.Components.Invoices.Weight = 0
	c.Components.Response.Weight = 0
	return c
}

func heldOutAUC(t *testing.T, fr *FitReport, name string) float64 {
	t.Helper()
	for _, h := range fr.HeldOut {
		if h.Name == name {
			if h.AUC == nil {
				t.Fatalf("held-out AUC of %q is null", name)
			}
			return *h.AUC
		}
	}
	t.Fatalf("no held-out AUC for %q in %+v", name, fr.HeldOut)
	return 0
}

// TestFitRecoversMechanism: churn is driven by invoices and response time,
// NPS, KPI and meetings are noise; the fit must give invoices and response
// most of the weight, and the fitted configuration must beat the default
// and a deliberately wrong one on the held-out samples.
func TestFitRecoversMechanism(t *testing.T) {
	st, end := knownMechanism(1, 300, 36)
	rep, err := Run(context.Background(), st, Options{
		Now:       end,
		Configs:   []Config{{Name: "default", Config: scoring.DefaultConfig()}, {Name: "wrong", Config: wrongConfig()}},
		Fit:       &FitOptions{},
		Bootstrap: 200,
	})
	if err != nil {
		t.Fatal(err)
	}
	fr := rep.Fit
	t.Logf("train %+v test %+v split %s weights %+v", fr.Train, fr.Test, fr.Split, fr.Weights)
	for _, h := range fr.HeldOut {
		t.Logf("held out %s: %v %v", h.Name, *h.AUC, h.AUCCI)
	}
	w := fr.Weights
	if got := w.Invoices + w.Response; got < 70 {
		t.Errorf("invoices + response weigh %.1f of 100, want most (≥ 70): %+v", got, w)
	}
	for _, noise := range []float64{w.NPS, w.KPI, w.Meetings} {
		if noise >= w.Invoices || noise >= w.Response {
			t.Errorf("a noise component outweighs a driver: %+v", w)
		}
	}
	fitted, def, wrong := heldOutAUC(t, fr, FittedName), heldOutAUC(t, fr, "default"), heldOutAUC(t, fr, "wrong")
	if fitted <= def || fitted <= wrong {
		t.Errorf("held-out AUC: fitted %.4f, default %.4f, wrong %.4f; want fitted above both", fitted, def, wrong)
	}
	if fr.Train.Churned == 0 || fr.Test.Churned == 0 {
		t.Errorf("train %+v, test %+v: want churns on both sides of the split", fr.Train, fr.Test)
	}
	// The written config loads, and is the fitted weights.
	c, err := scoring.LoadConfig(strings.NewReader(fr.ConfigYAML))
	if err != nil {
		t.Fatalf("fitted config does not load: %v\n%s", err, fr.ConfigYAML)
	}
	if c.Components.Invoices.Weight != w.Invoices || c.Components.Response.Weight != w.Response || c.Components.NPS.Weight != w.NPS {
		t.Errorf("config weights %+v, fit %+v", c.Components, w)
	}
}

// TestFitDeterministic: the same history gives the same report.
func TestFitDeterministic(t *testing.T) {
	st, end := knownMechanism(2, 120, 30)
	opts := func() Options {
		return Options{Now: end, Configs: []Config{{Name: "default", Config: scoring.DefaultConfig()}}, Fit: &FitOptions{}, Bootstrap: 50}
	}
	a, err := Run(context.Background(), st, opts())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), st, opts())
	if err != nil {
		t.Fatal(err)
	}
	if a.Fit.Weights != b.Fit.Weights || a.Fit.ConfigYAML != b.Fit.ConfigYAML {
		t.Errorf("two fits differ: %+v vs %+v", a.Fit.Weights, b.Fit.Weights)
	}
	if *a.Configs[0].Horizons[0].AUCCI != *b.Configs[0].Horizons[0].AUCCI {
		t.Errorf("bootstrap intervals differ")
	}
}
