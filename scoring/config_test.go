package scoring

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestDefaultYAMLEqualsDefaultConfig(t *testing.T) {
	f, err := os.Open("testdata/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := LoadConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("testdata/default.yaml = %+v\nwant DefaultConfig() = %+v", got, want)
	}
	if got.Version() != DefaultConfig().Version() {
		t.Errorf("versions differ")
	}
}

func TestDefaultConfigIsTheSpec(t *testing.T) {
	c := DefaultConfig()
	want := map[string][4]float64{ // weight, window, green, yellow
		"nps":      {25, 180, 9, 7},
		"meetings": {15, 90, 1, 0.75},
		"kpi":      {30, 90, 0, 0.10},
		"invoices": {15, 180, 0, 14},
		"response": {15, 30, 1, 2},
	}
	for i, cc := range c.Components.list() {
		w := want[compID(i).name()]
		if got := [4]float64{cc.Weight, float64(cc.WindowDays), cc.Green, cc.Yellow}; got != w {
			t.Errorf("%s = %v, want %v", compID(i).name(), got, w)
		}
	}
	if c.Points != (Points{100, 50, 0}) || c.ScoreBands != (ScoreBands{75, 50}) {
		t.Errorf("points %v bands %v", c.Points, c.ScoreBands)
	}
	if c.Tiers.MRR != (MRRThresholds{10000, 5000, 1000}) || c.Tiers.SLAHours != (SLAHoursByTier{4, 8, 24, 48}) {
		t.Errorf("tiers %+v", c.Tiers)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"negative weight", "components: {nps: {weight: -1}}", []string{"components.nps.weight: must be ≥ 0"}},
		{"unknown key", "components: {nps: {wieght: 3}}", []string{"field wieght not found"}},
		{"unknown component", "components: {churn: {weight: 3}}", []string{"field churn not found"}},
		{"zero window", "components: {kpi: {window_days: 0}}", []string{"components.kpi.window_days: must be an integer 1..3660"}},
		{"inverted higher", "components: {nps: {green: 6, yellow: 7}}", []string{"components.nps.green: must be ≥ yellow (7)"}},
		{"inverted lower", "components: {response: {green: 3}}", []string{"components.response.green: must be ≤ yellow (2)"}},
		{"all weights zero", "components: {nps: {weight: 0}, meetings: {weight: 0}, kpi: {weight: 0}, invoices: {weight: 0}, response: {weight: 0}}",
			[]string{"components: the weights must add up to more than 0"}},
		{"points range", "points: {green: 120}", []string{"points.green: must be 0..100"}},
		{"points order", "points: {yellow: 0, red: 10}", []string{"points.yellow: must be ≥ points.red"}},
		{"bands", "score_bands: {green: 40}", []string{"score_bands.green: must be score_bands.yellow..100"}},
		{"mrr order", "tiers: {mrr: {gold: 20000}}", []string{"tiers.mrr.platinum: must be ≥ tiers.mrr.gold"}},
		{"sla", "tiers: {sla_hours: {gold: 0}}", []string{"tiers.sla_hours.gold: must be > 0"}},
		{"profile tier", "profiles: {diamond: {components: {nps: {weight: 1}}}}", []string{"profiles.diamond: unknown tier"}},
		{"profile weight", "profiles: {gold: {components: {nps: {weight: -2}}}}", []string{"profiles.gold.components.nps.weight: must be ≥ 0"}},
		{"several", "components: {nps: {weight: -1}, meetings: {window_days: -3}}",
			[]string{"components.nps.weight: must be ≥ 0", "components.meetings.window_days"}},
		{"not yaml", "components: [", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadConfig(strings.NewReader(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadConfigPartialAndProfiles(t *testing.T) {
	y := `
version: agency-2025
components:
  response: {weight: 20}
profiles:
  platinum:
    components:
      response: {weight: 30, yellow: 1.5}
`
	c, err := LoadConfig(strings.NewReader(y))
	if err != nil {
		t.Fatal(err)
	}
	if c.Components.Response.Weight != 20 || c.Components.Response.WindowDays != 30 || c.Components.NPS.Weight != 25 {
		t.Errorf("partial YAML did not keep defaults: %+v", c.Components)
	}
	p := c.forTier(TierPlatinum).Response
	if p != (ComponentConfig{Weight: 30, WindowDays: 30, Green: 1, Yellow: 1.5}) {
		t.Errorf("platinum response = %+v", p)
	}
	if g := c.forTier(TierGold).Response; g.Weight != 20 {
		t.Errorf("gold response = %+v", g)
	}
	if !strings.HasPrefix(c.Version(), "agency-2025+") {
		t.Errorf("Version() = %q", c.Version())
	}
}

func TestVersion(t *testing.T) {
	base := DefaultConfig()
	v := base.Version()
	if !strings.HasPrefix(v, "spec-v1+") || len(v) != len("spec-v1+")+12 {
		t.Errorf("Version() = %q", v)
	}
	changed := DefaultConfig()
	changed.Components.KPI.Yellow = 0.15
	if changed.Version() == v {
		t.Error("a changed threshold does not change the version")
	}
	// A profile that repeats the defaults is the same effective config.
	same := DefaultConfig()
	w := 25.0
	same.Profiles = map[Tier]Profile{TierGold: {Components: ComponentPatches{NPS: &ComponentPatch{Weight: &w}}}}
	if same.Version() != v {
		t.Errorf("a no-op profile changed the version: %s vs %s", same.Version(), v)
	}
	w2 := 26.0
	same.Profiles[TierGold].Components.NPS.Weight = &w2
	if same.Version() == v {
		t.Error("a profile weight does not change the version")
	}
}
