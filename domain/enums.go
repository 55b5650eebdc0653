package domain

// Tier is an account's service tier.
type Tier string

// Tiers, from the largest accounts down.
const (
	TierPlatinum Tier = "platinum"
	TierGold     Tier = "gold"
	TierSilver   Tier = "silver"
	TierBronze   Tier = "bronze"
)

// Tiers lists every tier, largest first.
func Tiers() []Tier { return []Tier{TierPlatinum, TierGold, TierSilver, TierBronze} }

// Valid reports whether t is one of the four tiers.
func (t Tier) Valid() bool {
	switch t {
	case TierPlatinum, TierGold, TierSilver, TierBronze:
		return true
	}
	return false
}

// Status is an account's lifecycle status.
type Status string

// Account statuses.
const (
	StatusActive  Status = "active"
	StatusOnHold  Status = "on_hold"
	StatusChurned Status = "churned"
)

// Statuses lists every status.
func Statuses() []Status { return []Status{StatusActive, StatusOnHold, StatusChurned} }

// Valid reports whether s is one of the statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusActive, StatusOnHold, StatusChurned:
		return true
	}
	return false
}

// Channel is the medium of a touchpoint or message.
type Channel string

// Channels.
const (
	ChannelEmail    Channel = "email"
	ChannelCall     Channel = "call"
	ChannelChat     Channel = "chat"
	ChannelMeeting  Channel = "meeting"
	ChannelInPerson Channel = "in_person"
	ChannelPortal   Channel = "portal"
	ChannelOther    Channel = "other"
)

// Valid reports whether c is one of the channels.
func (c Channel) Valid() bool {
	switch c {
	case ChannelEmail, ChannelCall, ChannelChat, ChannelMeeting, ChannelInPerson, ChannelPortal, ChannelOther:
		return true
	}
	return false
}

// Direction tells who started a touchpoint, seen from the agency.
type Direction string

// Directions.
const (
	DirectionInbound  Direction = "inbound"  // the client reached out
	DirectionOutbound Direction = "outbound" // the agency reached out
)

// Valid reports whether d is inbound or outbound.
func (d Direction) Valid() bool { return d == DirectionInbound || d == DirectionOutbound }

// SignalKind classifies a signal.raised event as a risk or an opportunity.
type SignalKind string

// Risk kinds.
const (
	SignalScopeDispute      SignalKind = "scope_dispute"
	SignalCompetitorMention SignalKind = "competitor_mention"
	SignalNewStakeholder    SignalKind = "new_stakeholder"
	SignalScopeReduction    SignalKind = "scope_reduction"
	SignalProjectCanceled   SignalKind = "project_canceled"
	SignalBudgetCut         SignalKind = "budget_cut"
	SignalChampionLeft      SignalKind = "champion_left"
	SignalOtherRisk         SignalKind = "other_risk"
)

// Opportunity kinds.
const (
	SignalExpansionInterest SignalKind = "expansion_interest"
	SignalNewMarket         SignalKind = "new_market"
	SignalStrongResults     SignalKind = "strong_results"
	SignalNewBudget         SignalKind = "new_budget"
	SignalOtherOpportunity  SignalKind = "other_opportunity"
)

// IsRisk reports whether k is a risk kind.
func (k SignalKind) IsRisk() bool {
	switch k {
	case SignalScopeDispute, SignalCompetitorMention, SignalNewStakeholder, SignalScopeReduction,
		SignalProjectCanceled, SignalBudgetCut, SignalChampionLeft, SignalOtherRisk:
		return true
	}
	return false
}

// IsOpportunity reports whether k is an opportunity kind.
func (k SignalKind) IsOpportunity() bool {
	switch k {
	case SignalExpansionInterest, SignalNewMarket, SignalStrongResults, SignalNewBudget, SignalOtherOpportunity:
		return true
	}
	return false
}

// Valid reports whether k is a risk or an opportunity kind.
func (k SignalKind) Valid() bool { return k.IsRisk() || k.IsOpportunity() }

// Party is a side of the client relationship.
type Party string

// Parties.
const (
	PartyClient Party = "client"
	PartyAgency Party = "agency"
)

// Valid reports whether p is client or agency.
func (p Party) Valid() bool { return p == PartyClient || p == PartyAgency }

// Band is a health band. Events may name green, yellow or red
// (health.overridden); BandUnknown is what scoring reports when there is no
// score, and is never valid in an event.
type Band string

// Bands.
const (
	BandGreen   Band = "green"
	BandYellow  Band = "yellow"
	BandRed     Band = "red"
	BandUnknown Band = "unknown"
)

// Bands lists every band a score can have, BandUnknown last.
func Bands() []Band { return []Band{BandGreen, BandYellow, BandRed, BandUnknown} }

// Valid reports whether b is green, yellow or red.
func (b Band) Valid() bool { return b == BandGreen || b == BandYellow || b == BandRed }

// Messages naming the allowed values of each enumeration.
const (
	msgTier      = "must be one of platinum, gold, silver, bronze"
	msgStatus    = "must be one of active, on_hold, churned"
	msgChannel   = "must be one of email, call, chat, meeting, in_person, portal, other"
	msgDirection = "must be one of inbound, outbound"
	msgParty     = "must be one of client, agency"
	msgBand      = "must be one of green, yellow, red"
	msgKind      = "must be a risk kind (scope_dispute, competitor_mention, new_stakeholder, scope_reduction, " +
		"project_canceled, budget_cut, champion_left, other_risk) or an opportunity kind " +
		"(expansion_interest, new_market, strong_results, new_budget, other_opportunity)"
)
