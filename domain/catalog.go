package domain

// Spec is one event type's entry in the catalog: everything the code
// needs to know of a type, in one row. Adding a type is a row here, a
// case in decodePayload (the payload's decoder), a section in
// docs/events.md, and what the projections do with it
// (projections/state.go, or its ignoredTypes); tests check each.
type Spec struct {
	Type Type
	// Subject says what the event's subject names.
	Subject SubjectKind
	// Payload is the zero value of the struct its data decodes to (by
	// decodePayload's case for Type); TestCatalogDecoders checks it.
	Payload any
	// OpensStream: the event creates its stream (account.opened,
	// manager.joined); every other event finds its stream opened before.
	OpensStream bool
	// ManagerRef returns the manager id the payload names in
	// data.manager_id ("" for none); nil when the type names none.
	ManagerRef func(payload any) string
	// Example is the data of a valid event of the type, for tests and
	// docs.
	Example string
}

// SubjectKind is what an event's subject names.
type SubjectKind int

// The subjects of events.
const (
	SubjectAccount SubjectKind = iota // an account id; the stream is account-<id>
	SubjectManager                    // a manager id; the stream is manager-<id>
)

// managerRef returns the ManagerRef of a payload type P whose manager id
// field is read by id.
func managerRef[P any](id func(P) string) func(any) string {
	return func(p any) string {
		if v, ok := p.(P); ok {
			return id(v)
		}
		return ""
	}
}

// catalog is every event type, in catalog order (docs/events.md).
var catalog = [...]Spec{
	{Type: TypeAccountOpened, Payload: AccountOpened{}, OpensStream: true,
		ManagerRef: managerRef(func(p AccountOpened) string { return p.ManagerID }),
		Example:    `{"name":"Acme","mrr":2500,"manager_id":"am-1"}`},
	{Type: TypeAccountUpdated, Payload: AccountUpdated{}, Example: `{"mrr":3000}`},
	{Type: TypeAccountStatusChanged, Payload: AccountStatusChanged{}, Example: `{"status":"on_hold","reason":"paused"}`},
	{Type: TypeAccountManagerAssigned, Payload: ManagerAssigned{},
		ManagerRef: managerRef(func(p ManagerAssigned) string { return p.ManagerID }),
		Example:    `{"manager_id":"am-1"}`},
	{Type: TypeTouchpointRecorded, Payload: TouchpointRecorded{},
		ManagerRef: managerRef(func(p TouchpointRecorded) string { return p.ManagerID }),
		Example:    `{"channel":"call","direction":"outbound","manager_id":"am-1"}`},
	{Type: TypeMessageReceived, Payload: MessageReceived{}, Example: `{"message_id":"msg-1","channel":"email"}`},
	{Type: TypeMessageReplied, Payload: MessageReplied{}, Example: `{"message_id":"msg-1"}`},
	{Type: TypeMeetingHeld, Payload: MeetingHeld{}, Example: `{"meeting_id":"mt-1"}`},
	{Type: TypeMeetingMissed, Payload: MeetingMissed{}, Example: `{"meeting_id":"mt-2","by":"agency"}`},
	{Type: TypeMeetingCanceled, Payload: MeetingCanceled{}, Example: `{"meeting_id":"mt-3"}`},
	{Type: TypeInvoiceIssued, Payload: InvoiceIssued{}, Example: `{"invoice_id":"inv-1","amount":1200,"due_date":"2026-03-30"}`},
	{Type: TypePaymentReceived, Payload: PaymentReceived{}, Example: `{"invoice_id":"inv-1","amount":1200}`},
	{Type: TypeInvoiceVoided, Payload: InvoiceVoided{}, Example: `{"invoice_id":"inv-2"}`},
	{Type: TypeNPSResponded, Payload: NPSResponded{}, Example: `{"score":9}`},
	{Type: TypeKPIReported, Payload: KPIReported{}, Example: `{"kpi":"leads","target":100,"actual":90}`},
	{Type: TypePortalLogin, Payload: PortalLogin{}, Example: `{"contact":"ana@example.com"}`},
	{Type: TypeSignalRaised, Payload: SignalRaised{}, Example: `{"signal_id":"s-1","kind":"budget_cut"}`},
	{Type: TypeSignalResolved, Payload: SignalResolved{}, Example: `{"signal_id":"s-1"}`},
	{Type: TypeReferralMade, Payload: ReferralMade{}, Example: `{"referred":"Globex"}`},
	{Type: TypeTimeLogged, Payload: TimeLogged{},
		ManagerRef: managerRef(func(p TimeLogged) string { return p.ManagerID }),
		Example:    `{"manager_id":"am-1","hours":2}`},
	{Type: TypeHealthOverridden, Payload: HealthOverridden{}, Example: `{"band":"red","reason":"escalation","author":"am-1"}`},
	{Type: TypeHealthOverrideCleared, Payload: HealthOverrideCleared{}, Example: `{}`},
	{Type: TypeManagerJoined, Subject: SubjectManager, Payload: ManagerJoined{}, OpensStream: true, Example: `{"name":"Ada"}`},
	{Type: TypeManagerUpdated, Subject: SubjectManager, Payload: ManagerUpdated{}, Example: `{"weekly_hours":30}`},
	{Type: TypeManagerLeft, Subject: SubjectManager, Payload: ManagerLeft{}, Example: `{}`},
}

// specIndex finds a type's row in catalog.
var specIndex = func() map[Type]int {
	m := make(map[Type]int, len(catalog))
	for i, s := range catalog {
		m[s.Type] = i
	}
	return m
}()

// Catalog returns every entry of the catalog, in catalog order (a new
// slice on each call).
func Catalog() []Spec { return append([]Spec(nil), catalog[:]...) }

// SpecOf returns t's catalog entry; ok is false for a type not in the
// catalog.
func SpecOf(t Type) (spec Spec, ok bool) {
	i, ok := specIndex[t]
	if !ok {
		return Spec{}, false
	}
	return catalog[i], true
}
