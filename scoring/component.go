package scoring

import "time"

// componentUnit is one score component, whole: its name, the direction of its
// thresholds, where its settings live in the configuration, how it scores
// an account at an instant (value, band, points and explanation), and the
// instants at which that can change with no new fact. Each lives in a file
// of its own (nps.go, meetings.go, kpi.go, invoices.go, response.go);
// components lists them. Adding one: a file with its type, an entry in
// components, its fields in Components and ComponentPatches with their
// defaults (DefaultConfig, testdata/default.yaml) and docs/scoring.md.
type componentUnit interface {
	// name is the component's name in YAML, results and docs.
	name() string
	// lowerIsBetter says whether smaller values are better: then a value
	// ≤ green is green and ≤ yellow yellow; otherwise ≥.
	lowerIsBetter() bool
	// settings and patch find the component's settings in a
	// configuration and its override in a profile (nil when none).
	settings(cs *Components) *ComponentConfig
	patch(ps ComponentPatches) *ComponentPatch
	// evaluate scores a at t under r (slaHours: the account's SLA at t).
	// c, when not nil, receives the explanation (Evidence, Details).
	evaluate(s *Scorer, a *Account, t time.Time, r rule, slaHours float64, c *Component) outcome
	// next adds to e every instant after x at which evaluate's outcome
	// can change with no new fact (early is allowed, late never).
	next(a *Account, x time.Time, r rule, sla time.Duration, e *Earliest)
}

// components are the score components, in the fixed order of results and
// configuration.
var components = [numComps]componentUnit{npsComponent{}, meetingsComponent{}, kpiComponent{}, invoicesComponent{}, responseComponent{}}

// compID numbers the components: an index into components.
type compID int

// The components' ids, in the order of components.
const (
	compNPS compID = iota
	compMeetings
	compKPI
	compInvoices
	compResponse
)

// numComps is how many components there are (TestEveryComponentIsRegistered
// checks that components has no empty entry).
const numComps = 5

// ComponentNames lists the names of the score components in their order.
func ComponentNames() []string {
	out := make([]string, numComps)
	for i, c := range components {
		out[i] = c.name()
	}
	return out
}
