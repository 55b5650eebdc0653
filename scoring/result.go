package scoring

import (
	"encoding/json"
	"math"
	"time"
)

// AnswerDecimals is how many decimals a computed number of an answer
// shows. Every float of a [Result] is kept exact in memory (bands are
// decided on exact values); the computed ones (coverage, values, points,
// shortfalls, hours, ratios) are rounded to AnswerDecimals only when they
// are written as JSON. Facts and settings — KPI targets and actuals, SLA
// hours, weights — are written as given, like money.
const AnswerDecimals = 4

// Round4 rounds x half away from zero to [AnswerDecimals] decimals, the
// rounding of every number in an answer. A finite x stays finite: a number
// too large to scale has no decimals to round and is returned as is. A
// value that rounds to zero is 0, never -0.
func Round4(x float64) float64 {
	const scale = 1e4
	r := math.Round(x*scale) / scale
	switch {
	case math.IsInf(r, 0) || math.IsNaN(r):
		return x
	case r == 0:
		return 0
	}
	return r
}

// round4p rounds *p with [Round4]; nil stays nil.
func round4p(p *float64) *float64 {
	if p == nil {
		return nil
	}
	r := Round4(*p)
	return &r
}

// Result is the health of one account as of At, with its explanation. Its
// JSON names are those of docs/scoring.md#the-explanation (the caller adds
// account_id and position).
type Result struct {
	At time.Time `json:"at"`
	// Score is 0..100 rounded to 2 decimals; nil when every component is
	// missing.
	Score *float64 `json:"score"`
	// Band is the reported band: the override's band while one is active,
	// else ComputedBand.
	Band Band `json:"band"`
	// ComputedBand is the band of Score (BandUnknown when Score is nil).
	ComputedBand Band `json:"computed_band"`
	// Coverage is the present components' weight ÷ the total weight.
	Coverage float64 `json:"coverage"`
	// Override is the active override, or nil.
	Override *Override `json:"override"`
	// Tier and SLAHours are the account's tier and response SLA at At.
	Tier     Tier    `json:"tier"`
	SLAHours float64 `json:"sla_hours"`
	// ConfigVersion is the [Config.Version] of the scorer.
	ConfigVersion string `json:"config_version"`
	// Components lists nps, meetings, kpi, invoices and response, in that
	// order, present or not.
	Components []Component `json:"components"`
	// Trend is nil from [Scorer.ScoreWithoutTrend].
	Trend *Trend `json:"trend,omitempty"`
}

// MarshalJSON writes the result with its coverage rounded by [Round4]
// (its components, details and trend round their own numbers). A type
// that embeds Result gets this method too and must write its own fields
// itself.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // plain has no methods: no recursion
	p := plain(r)
	p.Coverage = Round4(p.Coverage)
	return json.Marshal(p)
}

// Component is one component's part of a [Result].
type Component struct {
	Name       string   `json:"name"`
	Weight     float64  `json:"weight"`
	Present    bool     `json:"present"`
	Value      *float64 `json:"value"`
	Band       Band     `json:"band"` // BandUnknown when missing
	Points     *float64 `json:"points"`
	WindowDays int      `json:"window_days"`
	// Evidence holds the Refs of the facts that produced the value, sorted.
	Evidence []string `json:"evidence"`
	// Details is one of *NPSDetails, *MeetingDetails, *KPIDetails,
	// *InvoiceDetails, *ResponseDetails; nil when the component is missing.
	Details any `json:"details,omitempty"`
}

// MarshalJSON writes the component with its value and points rounded by
// [Round4] (the weight is a setting, written as given).
func (c Component) MarshalJSON() ([]byte, error) {
	type plain Component
	p := plain(c)
	p.Value, p.Points = round4p(p.Value), round4p(p.Points)
	return json.Marshal(p)
}

// Override is an active override of the reported band.
type Override struct {
	Band      Band       `json:"band"`
	Reason    string     `json:"reason"`
	Author    string     `json:"author"`
	SetAt     time.Time  `json:"set_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	Ref       string     `json:"evidence"`
}

// Trend compares the computed score with the scores 7 and 30 days earlier.
// A delta is nil when either of its scores is nil.
type Trend struct {
	Score7dAgo  *float64 `json:"score_7d_ago"`
	Score30dAgo *float64 `json:"score_30d_ago"`
	Delta7d     *float64 `json:"delta_7d"`
	Delta30d    *float64 `json:"delta_30d"`
}

// MarshalJSON writes the trend with its scores and deltas rounded by
// [Round4] (they already have at most 2 decimals).
func (tr Trend) MarshalJSON() ([]byte, error) {
	type plain Trend
	p := plain(tr)
	p.Score7dAgo, p.Score30dAgo = round4p(p.Score7dAgo), round4p(p.Score30dAgo)
	p.Delta7d, p.Delta30d = round4p(p.Delta7d), round4p(p.Delta30d)
	return json.Marshal(p)
}

// NPSDetails explains the nps component: the mean of Sum over Responses.
type NPSDetails struct {
	Responses int `json:"responses"`
	Sum       int `json:"sum"`
}

// MeetingDetails explains the meetings component: Held ÷ (Held + Missed).
// Missed counts every missed meeting whoever missed it; MissedByClient and
// MissedByAgency split it. Canceled meetings count neither way.
type MeetingDetails struct {
	Held           int `json:"held"`
	Missed         int `json:"missed"`
	MissedByClient int `json:"missed_by_client"`
	MissedByAgency int `json:"missed_by_agency"`
	Canceled       int `json:"canceled"`
}

// KPIDetails explains the kpi component, one entry per KPI name.
type KPIDetails struct {
	KPIs []KPIDetail `json:"kpis"`
}

// KPIDetail is the latest report of one KPI in the window and its points.
type KPIDetail struct {
	Name           string    `json:"name"`
	Time           time.Time `json:"time"`
	Target         float64   `json:"target"`
	Actual         float64   `json:"actual"`
	HigherIsBetter bool      `json:"higher_is_better"`
	// Shortfall is (target − actual) ÷ target (negated when lower is
	// better), rounded to 9 decimals to decide the band (and to 4 in JSON).
	Shortfall float64 `json:"shortfall"`
	Band      Band    `json:"band"`
	Points    float64 `json:"points"`
	Evidence  string  `json:"evidence"`
}

// MarshalJSON writes the KPI with its shortfall and points rounded by
// [Round4] (the target and actual are facts, written as reported).
func (k KPIDetail) MarshalJSON() ([]byte, error) {
	type plain KPIDetail
	p := plain(k)
	p.Shortfall, p.Points = Round4(p.Shortfall), Round4(p.Points)
	return json.Marshal(p)
}

// InvoiceDetails explains the invoices component, one entry per counted
// invoice, by due date then id.
type InvoiceDetails struct {
	Invoices []InvoiceDetail `json:"invoices"`
}

// InvoiceDetail is one counted invoice.
type InvoiceDetail struct {
	ID          string `json:"invoice_id"`
	AmountCents int64  `json:"amount_cents"`
	PaidCents   int64  `json:"paid_cents"`
	DueDate     string `json:"due_date"`
	Paid        bool   `json:"paid"`
	// PaidDate is the UTC day of the payment that completed the amount.
	PaidDate string `json:"paid_date,omitempty"`
	DaysLate int    `json:"days_late"`
}

// ResponseDetails explains the response component: the ratios of the
// counted messages and the nearest-rank 90th percentile (the Rank-th
// smallest of Counted).
type ResponseDetails struct {
	SLAHours float64 `json:"sla_hours"`
	Counted  int     `json:"counted"`
	Rank     int     `json:"rank"`
	// Pending counts the unanswered messages in the window still within
	// their SLA: they do not count yet.
	Pending  int             `json:"pending"`
	Messages []MessageDetail `json:"messages"`
}

// MessageDetail is one counted message, by receipt time then id. Hours is
// the time to the first reply (0 when the reply is dated before the
// message), or the elapsed time while unanswered; Ratio is Hours ÷ SLA.
type MessageDetail struct {
	ID         string     `json:"message_id"`
	ReceivedAt time.Time  `json:"received_at"`
	Answered   bool       `json:"answered"`
	RepliedAt  *time.Time `json:"replied_at,omitempty"`
	Hours      float64    `json:"hours"`
	Ratio      float64    `json:"ratio"`
}

// MarshalJSON writes the message with its hours and ratio rounded by
// [Round4].
func (m MessageDetail) MarshalJSON() ([]byte, error) {
	type plain MessageDetail
	p := plain(m)
	p.Hours, p.Ratio = Round4(p.Hours), Round4(p.Ratio)
	return json.Marshal(p)
}
