package domain

import (
	"encoding/json"
	"time"
)

// The payload structs below are the typed data of each event type, as
// Event.Payload holds them after validation, with defaults applied. Their
// JSON tags name the data fields; marshalling a payload gives a data object
// that parses back to an equal payload.

// AccountOpened is the data of account.opened. It opens the account's
// stream; every other account event must come after it.
type AccountOpened struct {
	Name string `json:"name"`
	MRR  Money  `json:"mrr"` // ≥ 0
	// Tier is the explicit tier; "" means derive it from MRR.
	Tier Tier `json:"tier,omitzero"`
	// ManagerID is the assigned manager, "" for none.
	ManagerID   string `json:"manager_id,omitzero"`
	RenewalDate Date   `json:"renewal_date,omitzero"` // zero for none
	// SLAResponseHours overrides the tier's SLA (> 0); 0 means the tier
	// default.
	SLAResponseHours float64 `json:"sla_response_hours,omitzero"` // MinHours..MaxSLAHours
	Industry         string  `json:"industry,omitzero"`
	Website          string  `json:"website,omitzero"`
}

// AccountUpdated is the data of account.updated. An absent field leaves the
// value unchanged. Name and MRR are never null; a null Tier means "derive
// the tier from MRR again"; a null RenewalDate or SLAResponseHours clears
// it. At least one field is set.
type AccountUpdated struct {
	Name             Opt[string]  `json:"name,omitzero"`
	MRR              Opt[Money]   `json:"mrr,omitzero"`
	Tier             Opt[Tier]    `json:"tier,omitzero"`
	RenewalDate      Opt[Date]    `json:"renewal_date,omitzero"`
	SLAResponseHours Opt[float64] `json:"sla_response_hours,omitzero"`
}

// AccountStatusChanged is the data of account.status_changed.
type AccountStatusChanged struct {
	Status Status `json:"status"`
	// Reason is free text such as competitor, budget, closed, acquired,
	// paused.
	Reason string `json:"reason,omitzero"`
}

// ManagerAssigned is the data of account.manager_assigned.
type ManagerAssigned struct {
	// ManagerID is the new manager; "" means unassign (manager_id: null).
	ManagerID string `json:"manager_id"`
}

// MarshalJSON writes manager_id, as null when unassigning.
func (p ManagerAssigned) MarshalJSON() ([]byte, error) {
	if p.ManagerID == "" {
		return []byte(`{"manager_id":null}`), nil
	}
	type plain ManagerAssigned
	return json.Marshal(plain(p))
}

// TouchpointRecorded is the data of touchpoint.recorded.
type TouchpointRecorded struct {
	Channel   Channel   `json:"channel"`
	Direction Direction `json:"direction"`
	ManagerID string    `json:"manager_id,omitzero"` // "" for none
	Summary   string    `json:"summary,omitzero"`
}

// MessageReceived is the data of message.received: a client message that
// waits for the agency's reply.
type MessageReceived struct {
	MessageID string  `json:"message_id"`
	Channel   Channel `json:"channel,omitzero"` // "" when not given
}

// MessageReplied is the data of message.replied.
type MessageReplied struct {
	MessageID string `json:"message_id"`
}

// MeetingHeld is the data of meeting.held.
type MeetingHeld struct {
	MeetingID string `json:"meeting_id"`
}

// MeetingMissed is the data of meeting.missed.
type MeetingMissed struct {
	MeetingID string `json:"meeting_id"`
	By        Party  `json:"by"` // who missed it; default PartyClient
}

// MeetingCanceled is the data of meeting.canceled (rescheduled; counts
// neither as held nor as missed).
type MeetingCanceled struct {
	MeetingID string `json:"meeting_id"`
}

// InvoiceIssued is the data of invoice.issued.
type InvoiceIssued struct {
	InvoiceID string `json:"invoice_id"`
	Amount    Money  `json:"amount"` // > 0
	DueDate   Date   `json:"due_date"`
}

// PaymentReceived is the data of payment.received.
type PaymentReceived struct {
	InvoiceID string `json:"invoice_id"`
	Amount    Money  `json:"amount"` // > 0
}

// InvoiceVoided is the data of invoice.voided.
type InvoiceVoided struct {
	InvoiceID string `json:"invoice_id"`
}

// NPSResponded is the data of nps.responded.
type NPSResponded struct {
	Score      int    `json:"score"` // 0..10
	Respondent string `json:"respondent,omitzero"`
	Comment    string `json:"comment,omitzero"`
}

// KPIReported is the data of kpi.reported.
type KPIReported struct {
	KPI            string  `json:"kpi"`
	Target         float64 `json:"target"` // MinKPITarget..MaxKPIValue
	Actual         float64 `json:"actual"` // 0..MaxKPIValue
	HigherIsBetter bool    `json:"higher_is_better"`
	Period         string  `json:"period,omitzero"`
}

// PortalLogin is the data of portal.login.
type PortalLogin struct {
	Contact string `json:"contact,omitzero"`
}

// SignalRaised is the data of signal.raised.
type SignalRaised struct {
	SignalID string     `json:"signal_id"`
	Kind     SignalKind `json:"kind"`
	Note     string     `json:"note,omitzero"`
}

// SignalResolved is the data of signal.resolved.
type SignalResolved struct {
	SignalID string `json:"signal_id"`
}

// ReferralMade is the data of referral.made.
type ReferralMade struct {
	Referred string `json:"referred,omitzero"`
}

// TimeLogged is the data of time.logged: hours a manager spent on the
// account.
type TimeLogged struct {
	ManagerID string  `json:"manager_id"`
	Hours     float64 `json:"hours"`    // 0 < h ≤ 24
	Billable  bool    `json:"billable"` // default true
}

// HealthOverridden is the data of health.overridden.
type HealthOverridden struct {
	Band   Band   `json:"band"`
	Reason string `json:"reason"`
	Author string `json:"author"`
	// ExpiresAt ends the override (UTC, after the event's time); zero means
	// until health.override_cleared.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// HealthOverrideCleared is the data of health.override_cleared (no fields).
type HealthOverrideCleared struct{}

// ManagerJoined is the data of manager.joined. It opens the manager's
// stream.
type ManagerJoined struct {
	Name           string  `json:"name"`
	CapacityPoints float64 `json:"capacity_points"` // MinCapacityPoints..MaxCapacityPoints, default 100
	WeeklyHours    float64 `json:"weekly_hours"`    // MinHours..MaxWeeklyHours, default 40
}

// ManagerUpdated is the data of manager.updated; absent fields stay as they
// were, none may be null, and at least one is set.
type ManagerUpdated struct {
	Name           Opt[string]  `json:"name,omitzero"`
	CapacityPoints Opt[float64] `json:"capacity_points,omitzero"`
	WeeklyHours    Opt[float64] `json:"weekly_hours,omitzero"`
}

// ManagerLeft is the data of manager.left (no fields); the manager's
// accounts become unassigned.
type ManagerLeft struct{}

// Defaults applied when a field is absent (or null).
const (
	DefaultCapacityPoints = 100
	DefaultWeeklyHours    = 40
)

// The ranges of the numbers in data (inclusive), chosen so that every
// quantity scoring and the read models compute from them stays finite and
// fits a time.Duration: the KPI shortfall (target − actual) ÷ target is at
// most 10^18 in magnitude; load points ÷ capacity points and billable hours ÷
// (weekly hours × 4) stay below 10^13 for a million accounts; an SLA of
// MaxSLAHours is about 10 years, the longest scoring window.
const (
	MinKPITarget      = 1e-6
	MaxKPIValue       = 1e12 // the largest target and actual
	MinHours          = 0.01 // the smallest sla_response_hours and weekly_hours
	MaxSLAHours       = 87840.0
	MinCapacityPoints = 0.01
	MaxCapacityPoints = 1e6
	MaxWeeklyHours    = 168.0
)

// Numeric rules of stored events, which were accepted under them before the
// ranges above applied to new events (see reader.number).
func positive(f float64) bool    { return f > 0 }
func nonNegative(f float64) bool { return f >= 0 }
func dayHours(f float64) bool    { return f > 0 && f <= 24 }
func weekHours(f float64) bool   { return f > 0 && f <= MaxWeeklyHours }

const (
	msgSLAHours    = "must be a number of hours, 0.01 ≤ h ≤ 87840"
	msgTarget      = "must be a number, 0.000001 ≤ target ≤ 1000000000000"
	msgActual      = "must be a number, 0 ≤ actual ≤ 1000000000000"
	msgDayHours    = "must be a number of hours, 0 < h ≤ 24"
	msgCapacity    = "must be a number, 0.01 ≤ points ≤ 1000000"
	msgWeekHours   = "must be a number of hours, 0.01 ≤ h ≤ 168"
	msgScore       = "must be an integer 0..10"
	msgAfterTime   = "must be after the event's time"
	msgAccountUpd  = "must set at least one of name, mrr, tier, renewal_date, sla_response_hours"
	msgManagerUpd  = "must set at least one of name, capacity_points, weekly_hours"
	msgManagerNull = "required: a manager id, or null to unassign"
)

// decodePayload validates data for type t and returns its payload struct.
// eventTime is the event's time (for rules relative to it).
func decodePayload(t Type, data object, eventTime time.Time, ingest bool) (any, *FieldError) {
	r := &reader{obj: data, ingest: ingest}
	slaHours := r.number(MinHours, MaxSLAHours, positive, msgSLAHours)
	capacity := r.number(MinCapacityPoints, MaxCapacityPoints, positive, msgCapacity)
	weekly := r.number(MinHours, MaxWeeklyHours, weekHours, msgWeekHours)
	var p any
	switch t {
	case TypeAccountOpened:
		p = AccountOpened{
			Name:             required(r, "name", pText),
			MRR:              required(r, "mrr", r.money(false)),
			Tier:             optional(r, "tier", pEnum(Tier.Valid, msgTier)),
			ManagerID:        optional(r, "manager_id", pID),
			RenewalDate:      optional(r, "renewal_date", r.date()),
			SLAResponseHours: optional(r, "sla_response_hours", slaHours),
			Industry:         optional(r, "industry", pString),
			Website:          optional(r, "website", pString),
		}
	case TypeAccountUpdated:
		u := AccountUpdated{
			Name:             tri(r, "name", false, pText),
			MRR:              tri(r, "mrr", false, r.money(false)),
			Tier:             tri(r, "tier", true, pEnum(Tier.Valid, msgTier)),
			RenewalDate:      tri(r, "renewal_date", true, r.date()),
			SLAResponseHours: tri(r, "sla_response_hours", true, slaHours),
		}
		if !(u.Name.Set || u.MRR.Set || u.Tier.Set || u.RenewalDate.Set || u.SLAResponseHours.Set) {
			r.err = fieldErr("data", msgAccountUpd)
		}
		p = u
	case TypeAccountStatusChanged:
		p = AccountStatusChanged{
			Status: required(r, "status", pEnum(Status.Valid, msgStatus)),
			Reason: optional(r, "reason", pString),
		}
	case TypeAccountManagerAssigned:
		var m ManagerAssigned
		switch _, pr := data.get("manager_id"); pr {
		case absent:
			r.fail("manager_id", msgManagerNull)
		case present:
			m.ManagerID = required(r, "manager_id", pID)
		}
		p = m
	case TypeTouchpointRecorded:
		p = TouchpointRecorded{
			Channel:   required(r, "channel", pEnum(Channel.Valid, msgChannel)),
			Direction: required(r, "direction", pEnum(Direction.Valid, msgDirection)),
			ManagerID: optional(r, "manager_id", pID),
			Summary:   optional(r, "summary", pString),
		}
	case TypeMessageReceived:
		p = MessageReceived{
			MessageID: required(r, "message_id", pID),
			Channel:   optional(r, "channel", pEnum(Channel.Valid, msgChannel)),
		}
	case TypeMessageReplied:
		p = MessageReplied{MessageID: required(r, "message_id", pID)}
	case TypeMeetingHeld:
		p = MeetingHeld{MeetingID: required(r, "meeting_id", pID)}
	case TypeMeetingMissed:
		m := MeetingMissed{
			MeetingID: required(r, "meeting_id", pID),
			By:        optional(r, "by", pEnum(Party.Valid, msgParty)),
		}
		if m.By == "" {
			m.By = PartyClient
		}
		p = m
	case TypeMeetingCanceled:
		p = MeetingCanceled{MeetingID: required(r, "meeting_id", pID)}
	case TypeInvoiceIssued:
		p = InvoiceIssued{
			InvoiceID: required(r, "invoice_id", pID),
			Amount:    required(r, "amount", r.money(true)),
			DueDate:   required(r, "due_date", r.date()),
		}
	case TypePaymentReceived:
		p = PaymentReceived{
			InvoiceID: required(r, "invoice_id", pID),
			Amount:    required(r, "amount", r.money(true)),
		}
	case TypeInvoiceVoided:
		p = InvoiceVoided{InvoiceID: required(r, "invoice_id", pID)}
	case TypeNPSResponded:
		p = NPSResponded{
			Score:      required(r, "score", pIntRange(0, 10, msgScore)),
			Respondent: optional(r, "respondent", pString),
			Comment:    optional(r, "comment", pString),
		}
	case TypeKPIReported:
		k := KPIReported{
			KPI:            required(r, "kpi", pText),
			Target:         required(r, "target", r.number(MinKPITarget, MaxKPIValue, positive, msgTarget)),
			Actual:         required(r, "actual", r.number(0, MaxKPIValue, nonNegative, msgActual)),
			HigherIsBetter: true,
			Period:         optional(r, "period", pString),
		}
		if _, pr := data.get("higher_is_better"); pr == present {
			k.HigherIsBetter = optional(r, "higher_is_better", pBool)
		}
		p = k
	case TypePortalLogin:
		p = PortalLogin{Contact: optional(r, "contact", pString)}
	case TypeSignalRaised:
		p = SignalRaised{
			SignalID: required(r, "signal_id", pID),
			Kind:     required(r, "kind", pEnum(SignalKind.Valid, msgKind)),
			Note:     optional(r, "note", pString),
		}
	case TypeSignalResolved:
		p = SignalResolved{SignalID: required(r, "signal_id", pID)}
	case TypeReferralMade:
		p = ReferralMade{Referred: optional(r, "referred", pString)}
	case TypeTimeLogged:
		tl := TimeLogged{
			ManagerID: required(r, "manager_id", pID),
			Hours:     required(r, "hours", pNumber(dayHours, msgDayHours)),
			Billable:  true,
		}
		if _, pr := data.get("billable"); pr == present {
			tl.Billable = optional(r, "billable", pBool)
		}
		p = tl
	case TypeHealthOverridden:
		h := HealthOverridden{
			Band:      required(r, "band", pEnum(Band.Valid, msgBand)),
			Reason:    required(r, "reason", pText),
			Author:    required(r, "author", pText),
			ExpiresAt: optional(r, "expires_at", r.timestamp()),
		}
		if !h.ExpiresAt.IsZero() && !h.ExpiresAt.After(eventTime) {
			r.fail("expires_at", msgAfterTime)
		}
		p = h
	case TypeHealthOverrideCleared:
		p = HealthOverrideCleared{}
	case TypeManagerJoined:
		m := ManagerJoined{
			Name:           required(r, "name", pText),
			CapacityPoints: optional(r, "capacity_points", capacity),
			WeeklyHours:    optional(r, "weekly_hours", weekly),
		}
		if m.CapacityPoints == 0 {
			m.CapacityPoints = DefaultCapacityPoints
		}
		if m.WeeklyHours == 0 {
			m.WeeklyHours = DefaultWeeklyHours
		}
		p = m
	case TypeManagerUpdated:
		u := ManagerUpdated{
			Name:           tri(r, "name", false, pText),
			CapacityPoints: tri(r, "capacity_points", false, capacity),
			WeeklyHours:    tri(r, "weekly_hours", false, weekly),
		}
		if !(u.Name.Set || u.CapacityPoints.Set || u.WeeklyHours.Set) {
			r.err = fieldErr("data", msgManagerUpd)
		}
		p = u
	case TypeManagerLeft:
		p = ManagerLeft{}
	default:
		return nil, fieldErr("type", "unknown event type %q; see docs/events.md", t)
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}
