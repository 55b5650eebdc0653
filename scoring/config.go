package scoring

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"gopkg.in/yaml.v3"
)

// ErrInvalidConfig is wrapped by every configuration validation error.
var ErrInvalidConfig = errors.New("scoring: invalid config")

// Config is the scoring configuration of a deployment. Its YAML form is
// shown in scoring/testdata/default.yaml, which equals [DefaultConfig].
type Config struct {
	// Label is the YAML field version, a free label (for example
	// "2025-01"); [Config.Version] adds a hash of the effective
	// configuration to it.
	Label      string     `yaml:"version" json:"-"`
	Components Components `yaml:"components" json:"components"`
	// Points are the points of a single-valued component (and of one KPI)
	// per band.
	Points Points `yaml:"points" json:"points"`
	// ScoreBands are the lower bounds of the score's green and yellow bands;
	// the kpi component takes its band from its points by the same bounds.
	ScoreBands ScoreBands `yaml:"score_bands" json:"score_bands"`
	Tiers      TierRules  `yaml:"tiers" json:"tiers"`
	// Profiles override component settings for the accounts of one tier.
	Profiles map[Tier]Profile `yaml:"profiles,omitempty" json:"-"`
}

// Components holds the settings of the five components.
type Components struct {
	NPS      ComponentConfig `yaml:"nps" json:"nps"`
	Meetings ComponentConfig `yaml:"meetings" json:"meetings"`
	KPI      ComponentConfig `yaml:"kpi" json:"kpi"`
	Invoices ComponentConfig `yaml:"invoices" json:"invoices"`
	Response ComponentConfig `yaml:"response" json:"response"`
}

// ComponentConfig is one component's weight, window and band thresholds.
//
// For nps and meetings (higher is better) a value ≥ Green is green and
// ≥ Yellow is yellow. For kpi (per KPI shortfall), invoices (days late) and
// response (reply time ÷ SLA) lower is better: a value ≤ Green is green and
// ≤ Yellow is yellow. Anything else is red.
type ComponentConfig struct {
	Weight     float64 `yaml:"weight" json:"weight"`
	WindowDays int     `yaml:"window_days" json:"window_days"`
	Green      float64 `yaml:"green" json:"green"`
	Yellow     float64 `yaml:"yellow" json:"yellow"`
}

// Points maps bands to points (0..100).
type Points struct {
	Green  float64 `yaml:"green" json:"green"`
	Yellow float64 `yaml:"yellow" json:"yellow"`
	Red    float64 `yaml:"red" json:"red"`
}

// ScoreBands are the lowest scores of the green and yellow bands.
type ScoreBands struct {
	Green  float64 `yaml:"green" json:"green"`
	Yellow float64 `yaml:"yellow" json:"yellow"`
}

// TierRules derive the tier and the SLA.
type TierRules struct {
	// MRR is the lowest MRR (major currency units) of each tier; below
	// Silver is bronze.
	MRR MRRThresholds `yaml:"mrr" json:"mrr"`
	// SLAHours is the response SLA of each tier for accounts without their
	// own.
	SLAHours SLAHoursByTier `yaml:"sla_hours" json:"sla_hours"`
}

// MRRThresholds are the lowest MRR of the platinum, gold and silver tiers.
type MRRThresholds struct {
	Platinum float64 `yaml:"platinum" json:"platinum"`
	Gold     float64 `yaml:"gold" json:"gold"`
	Silver   float64 `yaml:"silver" json:"silver"`
}

// SLAHoursByTier is the default response SLA, in hours, of each tier.
type SLAHoursByTier struct {
	Platinum float64 `yaml:"platinum" json:"platinum"`
	Gold     float64 `yaml:"gold" json:"gold"`
	Silver   float64 `yaml:"silver" json:"silver"`
	Bronze   float64 `yaml:"bronze" json:"bronze"`
}

// Profile overrides component settings for one tier; absent fields keep the
// deployment-wide value.
type Profile struct {
	Components ComponentPatches `yaml:"components" json:"components"`
}

// ComponentPatches holds the overrides of a profile, per component.
type ComponentPatches struct {
	NPS      *ComponentPatch `yaml:"nps,omitempty" json:"nps,omitempty"`
	Meetings *ComponentPatch `yaml:"meetings,omitempty" json:"meetings,omitempty"`
	KPI      *ComponentPatch `yaml:"kpi,omitempty" json:"kpi,omitempty"`
	Invoices *ComponentPatch `yaml:"invoices,omitempty" json:"invoices,omitempty"`
	Response *ComponentPatch `yaml:"response,omitempty" json:"response,omitempty"`
}

// ComponentPatch overrides some fields of a [ComponentConfig].
type ComponentPatch struct {
	Weight     *float64 `yaml:"weight,omitempty" json:"weight,omitempty"`
	WindowDays *int     `yaml:"window_days,omitempty" json:"window_days,omitempty"`
	Green      *float64 `yaml:"green,omitempty" json:"green,omitempty"`
	Yellow     *float64 `yaml:"yellow,omitempty" json:"yellow,omitempty"`
}

// DefaultConfig returns the default configuration of docs/scoring.md
// (section "Configuration"; scoring/testdata/default.yaml is the same in YAML).
func DefaultConfig() Config {
	return Config{
		Label: "spec-v1",
		Components: Components{
			NPS:      ComponentConfig{Weight: 25, WindowDays: 180, Green: 9, Yellow: 7},
			Meetings: ComponentConfig{Weight: 15, WindowDays: 90, Green: 1, Yellow: 0.75},
			KPI:      ComponentConfig{Weight: 30, WindowDays: 90, Green: 0, Yellow: 0.10},
			Invoices: ComponentConfig{Weight: 15, WindowDays: 180, Green: 0, Yellow: 14},
			Response: ComponentConfig{Weight: 15, WindowDays: 30, Green: 1, Yellow: 2},
		},
		Points:     Points{Green: 100, Yellow: 50, Red: 0},
		ScoreBands: ScoreBands{Green: 75, Yellow: 50},
		Tiers: TierRules{
			MRR:      MRRThresholds{Platinum: 10000, Gold: 5000, Silver: 1000},
			SLAHours: SLAHoursByTier{Platinum: 4, Gold: 8, Silver: 24, Bronze: 48},
		},
	}
}

// LoadConfig reads a YAML configuration. Fields the YAML leaves out keep
// their [DefaultConfig] value; unknown fields are an error. The result is
// validated.
func LoadConfig(r io.Reader) (Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// name is the component's name in YAML and in results.
func (c compID) name() string { return components[c].name() }

// lowerIsBetter reports whether smaller values of the component are better.
func (c compID) lowerIsBetter() bool { return components[c].lowerIsBetter() }

// list returns the components of cs in compID order.
func (cs *Components) list() [numComps]*ComponentConfig {
	var out [numComps]*ComponentConfig
	for i, c := range components {
		out[i] = c.settings(cs)
	}
	return out
}

// list returns the patches of ps in compID order.
func (ps ComponentPatches) list() [numComps]*ComponentPatch {
	var out [numComps]*ComponentPatch
	for i, c := range components {
		out[i] = c.patch(ps)
	}
	return out
}

// forTier returns the components in effect for tier t (profile applied).
func (c Config) forTier(t Tier) Components {
	cs := c.Components
	p, ok := c.Profiles[t]
	if !ok {
		return cs
	}
	dst := cs.list()
	for i, patch := range p.Components.list() {
		if patch == nil {
			continue
		}
		d := dst[i]
		if patch.Weight != nil {
			d.Weight = *patch.Weight
		}
		if patch.WindowDays != nil {
			d.WindowDays = *patch.WindowDays
		}
		if patch.Green != nil {
			d.Green = *patch.Green
		}
		if patch.Yellow != nil {
			d.Yellow = *patch.Yellow
		}
	}
	return cs
}

// maxWindowDays is the largest window of 10 years: longer windows are
// rejected to keep instant arithmetic far from overflow.
const maxWindowDays = 3660

// maxWeight bounds a component weight, so that weights × points and their
// sums stay far from float64 overflow.
const maxWeight = 1e6

// Validate checks the configuration and names each bad field by its YAML
// path ("components.nps.weight: must be ≥ 0"). All problems are reported,
// joined; the error wraps [ErrInvalidConfig].
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	finite := func(field string, v float64) bool {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad(field, "must be a finite number")
			return false
		}
		return true
	}
	checkComps := func(prefix string, cs Components, fromProfile bool) {
		total := 0.0
		for i, cc := range cs.list() {
			id := compID(i)
			f := prefix + "components." + id.name() + "."
			if finite(f+"weight", cc.Weight) {
				switch {
				case cc.Weight < 0:
					bad(f+"weight", "must be ≥ 0")
				case cc.Weight > maxWeight:
					bad(f+"weight", "must be at most %g", maxWeight)
				}
			}
			total += cc.Weight
			if cc.WindowDays < 1 || cc.WindowDays > maxWindowDays {
				bad(f+"window_days", "must be an integer 1..%d", maxWindowDays)
			}
			if !finite(f+"green", cc.Green) || !finite(f+"yellow", cc.Yellow) {
				continue
			}
			switch {
			case id.lowerIsBetter() && cc.Green > cc.Yellow:
				bad(f+"green", "must be ≤ yellow (%g): lower values are better", cc.Yellow)
			case !id.lowerIsBetter() && cc.Green < cc.Yellow:
				bad(f+"green", "must be ≥ yellow (%g): higher values are better", cc.Yellow)
			}
		}
		if !(total > 0) {
			what := "components"
			if fromProfile {
				what = prefix + "components"
			}
			bad(what, "the weights must add up to more than 0")
		}
	}
	checkComps("", c.Components, false)

	if finite("points.green", c.Points.Green) && finite("points.yellow", c.Points.Yellow) && finite("points.red", c.Points.Red) {
		for _, p := range []struct {
			f string
			v float64
		}{{"points.green", c.Points.Green}, {"points.yellow", c.Points.Yellow}, {"points.red", c.Points.Red}} {
			if p.v < 0 || p.v > 100 {
				bad(p.f, "must be 0..100")
			}
		}
		if c.Points.Green < c.Points.Yellow {
			bad("points.green", "must be ≥ points.yellow")
		}
		if c.Points.Yellow < c.Points.Red {
			bad("points.yellow", "must be ≥ points.red")
		}
	}
	if finite("score_bands.green", c.ScoreBands.Green) && finite("score_bands.yellow", c.ScoreBands.Yellow) {
		if c.ScoreBands.Yellow < 0 || c.ScoreBands.Yellow > 100 {
			bad("score_bands.yellow", "must be 0..100")
		}
		if c.ScoreBands.Green < c.ScoreBands.Yellow || c.ScoreBands.Green > 100 {
			bad("score_bands.green", "must be score_bands.yellow..100")
		}
	}
	m := c.Tiers.MRR
	if finite("tiers.mrr.platinum", m.Platinum) && finite("tiers.mrr.gold", m.Gold) && finite("tiers.mrr.silver", m.Silver) {
		switch {
		case m.Silver < 0:
			bad("tiers.mrr.silver", "must be ≥ 0")
		case m.Gold < m.Silver:
			bad("tiers.mrr.gold", "must be ≥ tiers.mrr.silver")
		case m.Platinum < m.Gold:
			bad("tiers.mrr.platinum", "must be ≥ tiers.mrr.gold")
		case m.Platinum > 1e15:
			bad("tiers.mrr.platinum", "must be at most 1e15")
		}
	}
	s := c.Tiers.SLAHours
	for _, h := range []struct {
		f string
		v float64
	}{{"platinum", s.Platinum}, {"gold", s.Gold}, {"silver", s.Silver}, {"bronze", s.Bronze}} {
		if f := "tiers.sla_hours." + h.f; finite(f, h.v) && (h.v <= 0 || h.v > 24*maxWindowDays) {
			bad(f, "must be > 0 and at most %d", 24*maxWindowDays)
		}
	}

	tiers := make([]Tier, 0, len(c.Profiles))
	for t := range c.Profiles {
		tiers = append(tiers, t)
	}
	slices.Sort(tiers)
	for _, t := range tiers {
		if !t.Valid() {
			bad("profiles."+string(t), "unknown tier (want platinum, gold, silver or bronze)")
			continue
		}
		checkComps("profiles."+string(t)+".", c.forTier(t), true)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrInvalidConfig, errors.Join(errs...))
}

// effective is the resolved configuration that Version hashes: what scoring
// actually uses, independent of how the YAML spelled it.
type effective struct {
	PerTier    map[Tier]Components `json:"per_tier"`
	Points     Points              `json:"points"`
	ScoreBands ScoreBands          `json:"score_bands"`
	Tiers      TierRules           `json:"tiers"`
}

// Version identifies the configuration: the Label (YAML version), "+", and the
// first 12 hex digits of a SHA-256 of the effective settings. Two
// configurations that score alike have the same hash whatever their YAML
// looks like; any change that can change a score changes it.
func (c Config) Version() string {
	e := effective{PerTier: map[Tier]Components{}, Points: c.Points, ScoreBands: c.ScoreBands, Tiers: c.Tiers}
	for _, t := range Tiers() {
		e.PerTier[t] = c.forTier(t)
	}
	b, err := json.Marshal(e)
	if err != nil { // only non-finite numbers, which Validate rejects
		b = fmt.Appendf(nil, "%#v", e)
	}
	sum := sha256.Sum256(b)
	return c.Label + "+" + hex.EncodeToString(sum[:6])
}
