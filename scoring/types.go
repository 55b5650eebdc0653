package scoring

import "time"

// Tier is an account's service tier.
type Tier string

// The tiers, from the largest accounts to the smallest.
const (
	TierPlatinum Tier = "platinum"
	TierGold     Tier = "gold"
	TierSilver   Tier = "silver"
	TierBronze   Tier = "bronze"
)

// Tiers lists every tier, largest first.
func Tiers() []Tier { return []Tier{TierPlatinum, TierGold, TierSilver, TierBronze} }

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool { return tierIndex(t) >= 0 }

// tierIndex maps a tier to 0..3, or -1 when it is not a tier.
func tierIndex(t Tier) int {
	switch t {
	case TierPlatinum:
		return 0
	case TierGold:
		return 1
	case TierSilver:
		return 2
	case TierBronze:
		return 3
	}
	return -1
}

// Band is the traffic-light rating of a score or a component.
type Band string

// The bands. BandUnknown is the band of a null score or a missing component.
const (
	BandGreen   Band = "green"
	BandYellow  Band = "yellow"
	BandRed     Band = "red"
	BandUnknown Band = "unknown"
)

// MeetingKind is the outcome of a meeting.
type MeetingKind string

// The meeting outcomes.
const (
	MeetingHeld     MeetingKind = "held"
	MeetingMissed   MeetingKind = "missed"
	MeetingCanceled MeetingKind = "canceled" // rescheduled: counts neither way
)

// Party says who missed a meeting.
type Party string

// The parties of a missed meeting.
const (
	PartyClient Party = "client"
	PartyAgency Party = "agency"
)

// OverrideKind says whether an override fact sets or clears the override.
type OverrideKind string

// The override fact kinds.
const (
	OverrideSet   OverrideKind = "set"
	OverrideClear OverrideKind = "clear"
)

// day is one UTC calendar day.
const day = 24 * time.Hour

// The trend look-backs of docs/scoring.md#trend.
const (
	trendShort = 7 * day
	trendLong  = 30 * day
)

// TrendHorizon is the longest look-back of the trend (30 days): the result at
// T depends on facts back to T − TrendHorizon − the longest window.
const TrendHorizon = trendLong

// dayNum is the number of the UTC calendar day holding t (days since
// 1970-01-01).
func dayNum(t time.Time) int64 {
	s := t.Unix()
	d := s / 86400
	if s%86400 < 0 {
		d--
	}
	return d
}

// midnight returns 00:00 UTC of the day holding t.
func midnight(t time.Time) time.Time {
	return time.Unix(dayNum(t)*86400, 0).UTC()
}

// dateString formats t's UTC day as YYYY-MM-DD.
func dateString(t time.Time) string { return t.UTC().Format(time.DateOnly) }
