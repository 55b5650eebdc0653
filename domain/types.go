package domain

// Type is a CloudEvents event type of the Vitals catalog (docs/events.md), such
// as "nps.responded".
type Type string

// Account event types: their subject is an account id.
const (
	TypeAccountOpened          Type = "account.opened"
	TypeAccountUpdated         Type = "account.updated"
	TypeAccountStatusChanged   Type = "account.status_changed"
	TypeAccountManagerAssigned Type = "account.manager_assigned"
	TypeTouchpointRecorded     Type = "touchpoint.recorded"
	TypeMessageReceived        Type = "message.received"
	TypeMessageReplied         Type = "message.replied"
	TypeMeetingHeld            Type = "meeting.held"
	TypeMeetingMissed          Type = "meeting.missed"
	TypeMeetingCanceled        Type = "meeting.canceled"
	TypeInvoiceIssued          Type = "invoice.issued"
	TypePaymentReceived        Type = "payment.received"
	TypeInvoiceVoided          Type = "invoice.voided"
	TypeNPSResponded           Type = "nps.responded"
	TypeKPIReported            Type = "kpi.reported"
	TypePortalLogin            Type = "portal.login"
	TypeSignalRaised           Type = "signal.raised"
	TypeSignalResolved         Type = "signal.resolved"
	TypeReferralMade           Type = "referral.made"
	TypeTimeLogged             Type = "time.logged"
	TypeHealthOverridden       Type = "health.overridden"
	TypeHealthOverrideCleared  Type = "health.override_cleared"
)

// Manager event types: their subject is a manager id.
const (
	TypeManagerJoined  Type = "manager.joined"
	TypeManagerUpdated Type = "manager.updated"
	TypeManagerLeft    Type = "manager.left"
)

// Types returns every known event type in catalog order (a new slice on
// each call).
func Types() []Type {
	out := make([]Type, len(catalog))
	for i, s := range catalog {
		out[i] = s.Type
	}
	return out
}

// Known reports whether t is a type of the catalog.
func (t Type) Known() bool {
	_, ok := specIndex[t]
	return ok
}

// IsManagerEvent reports whether t is a manager.* type, whose subject is a
// manager id. Every other known type is an account event.
func (t Type) IsManagerEvent() bool {
	s, _ := SpecOf(t)
	return s.Subject == SubjectManager
}
