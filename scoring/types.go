package scoring

import (
	"time"

	"github.com/vitals-hq/vitals/domain"
)

// The words scoring shares with the events are defined once, in
// domain/enums.go (values, validity, the messages naming them); scoring
// names them through these aliases, so a value of one is a value of the
// other with no conversion.
type (
	// Tier is an account's service tier (domain.Tier).
	Tier = domain.Tier
	// Band is the traffic-light rating of a score or a component
	// (domain.Band); BandUnknown is the band of a null score or a missing
	// component.
	Band = domain.Band
	// Party says who missed a meeting (domain.Party).
	Party = domain.Party
)

// The tiers, from the largest accounts to the smallest.
const (
	TierPlatinum = domain.TierPlatinum
	TierGold     = domain.TierGold
	TierSilver   = domain.TierSilver
	TierBronze   = domain.TierBronze
)

// Tiers lists every tier, largest first.
func Tiers() []Tier { return domain.Tiers() }

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

// The bands.
const (
	BandGreen   = domain.BandGreen
	BandYellow  = domain.BandYellow
	BandRed     = domain.BandRed
	BandUnknown = domain.BandUnknown
)

// MeetingKind is the outcome of a meeting.
type MeetingKind string

// The meeting outcomes.
const (
	MeetingHeld     MeetingKind = "held"
	MeetingMissed   MeetingKind = "missed"
	MeetingCanceled MeetingKind = "canceled" // rescheduled: counts neither way
)

// The parties of a missed meeting.
const (
	PartyClient = domain.PartyClient
	PartyAgency = domain.PartyAgency
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
