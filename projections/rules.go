package projections

import (
	"time"

	"github.com/vitals-hq/vitals/scoring"
)

// The list rules of docs/scoring.md#lists-managers-and-the-portfolio.
const (
	day              = 24 * time.Hour
	signalWindow     = 90 * day
	quietWindow      = 30 * day
	renewalAhead     = 60 // days
	scoreDropPoints  = 20
	overdueDays      = 15
	utilWindow       = 28 * day
	referralWindow   = 365 * day
	retentionLookbak = 365 * day
	npsWindow        = 180 * day
	slaWindow        = 30 * day
	utilUnder        = 0.70
	utilOver         = 0.80
)

// factsReach is how far back the read models read the scoring facts
// themselves (the portfolio's NPS answers and SLA messages): pruning keeps
// them that long, whatever the scoring windows.
var factsReach = scoring.Reach{NPS: npsWindow, Messages: slaWindow}

// At-risk reasons (docs/scoring.md#lists-managers-and-the-portfolio).
const (
	ReasonHealthRed      = "health_red"
	ReasonScoreDrop      = "score_drop"
	ReasonRiskSignal     = "risk_signal"
	ReasonOverdueInvoice = "overdue_invoice"
	ReasonQuiet          = "quiet"
	ReasonRenewalRisk    = "renewal_risk"
)

// Reasons lists every at-risk reason in the order they are reported.
func Reasons() []string {
	return []string{ReasonHealthRed, ReasonScoreDrop, ReasonRiskSignal, ReasonOverdueInvoice, ReasonQuiet, ReasonRenewalRisk}
}

// loadPoints and tierLimits are the capacity rules of
// docs/scoring.md#lists-managers-and-the-portfolio.
var (
	loadPoints = map[scoring.Tier]float64{scoring.TierPlatinum: 25, scoring.TierGold: 15, scoring.TierSilver: 8, scoring.TierBronze: 3}
	tierLimits = map[scoring.Tier]int{scoring.TierPlatinum: 5, scoring.TierGold: 8, scoring.TierSilver: 15}
)
