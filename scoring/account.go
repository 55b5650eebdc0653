package scoring

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/internal/tight"
)

// Account holds the facts that make up one account's health. Every fact
// carries the time it happened and a Ref ("source/id" of the event that
// reported it), which explanations cite as evidence.
//
// Use the Add… methods, which keep every list sorted and ignore a fact that
// is already present (same key and Ref); the result of scoring then never
// depends on the order in which facts were added. If you fill the exported
// fields directly (for example when decoding a snapshot), call
// [Account.Normalize] before scoring.
//
// The lists hold compact records, not the Add… methods' arguments: times
// as an [Instant] (8 bytes, not a time.Time's 24), outcomes and parties as
// one-byte codes, and strings as [Text] handles (8 bytes, not a string's
// 16 and an allocation of its own) into the account's Text, where the
// records that repeat a string (a KPI's name, a meeting's id) share it,
// because an Account lives as long as the account it describes. Read a
// handle's string with [Strings.Str].
//
// The zero Account is an account with no facts. An Account is not safe for
// concurrent mutation; concurrent scoring of an Account nobody mutates is
// safe. A copy of an Account shares its lists: add facts to one of them
// only.
type Account struct {
	// Strings holds the strings of the records below (refs, ids, KPI
	// names); a record names its strings by [Text] handles.
	Strings
	Attrs     []AttrChange    `json:"attrs,omitempty"`     // by (Time, Ref)
	NPS       []NPSRecord     `json:"nps,omitempty"`       // by (Time, Ref)
	Meetings  []MeetingRecord `json:"meetings,omitempty"`  // by (MeetingID, Time, Ref)
	KPIs      []KPIRecord     `json:"kpis,omitempty"`      // by (Name, Time, Ref)
	Invoices  []Invoice       `json:"invoices,omitempty"`  // by ID, one entry per ID
	Messages  []Message       `json:"messages,omitempty"`  // by ID, one entry per ID
	Overrides []OverrideFact  `json:"overrides,omitempty"` // by (Time, Ref)
	// Since is when the account came into existence (its opening); zero
	// means always. No score exists at an instant before Since, even when
	// back-dated facts cover it: such an evaluation has every component
	// missing and a null score, and so does a trend look-back that reaches
	// before Since.
	Since time.Time `json:"since,omitzero"`
}

// AttrChange is the full set of scoring attributes in effect from Time on:
// the attributes at T are those of the last change with Time ≤ T. Before the
// first change an account has MRR 0, a derived tier and the tier's SLA.
type AttrChange struct {
	Ref      string    `json:"ref"`
	Time     time.Time `json:"time"`
	MRRCents int64     `json:"mrr_cents"`
	// Tier is the explicit tier; empty means derive it from MRR.
	Tier Tier `json:"tier,omitempty"`
	// SLAHours is the account's response SLA; 0 means the tier's default.
	SLAHours float64 `json:"sla_hours,omitempty"`
}

// NPSAnswer is one nps.responded answer (Score 0..10), as given to
// [Account.AddNPS].
type NPSAnswer struct {
	Ref   string    `json:"ref"`
	Time  time.Time `json:"time"`
	Score int       `json:"score"`
}

// NPSRecord is an NPS answer as an Account keeps it.
type NPSRecord struct {
	Ref   Text    `json:"ref"`
	Time  Instant `json:"time"`
	Score int     `json:"score"`
}

// MeetingOutcome is one meeting.held, meeting.missed or meeting.canceled,
// as given to [Account.AddMeeting].
type MeetingOutcome struct {
	Ref       string      `json:"ref"`
	MeetingID string      `json:"meeting_id"`
	Time      time.Time   `json:"time"`
	Kind      MeetingKind `json:"kind"`
	// By is who missed the meeting (missed outcomes only); empty means client.
	By Party `json:"by,omitempty"`
}

// MeetingRecord is a meeting outcome as an Account keeps it; the outcomes
// of one meeting share its MeetingID string.
type MeetingRecord struct {
	Ref       Text    `json:"ref"`
	MeetingID Text    `json:"meeting_id"`
	Time      Instant `json:"time"`
	Kind      uint8   `json:"kind"` // meetingCodes
	By        uint8   `json:"by"`   // partyCodes
}

// KPIReport is one kpi.reported, as given to [Account.AddKPI]. Reports with
// a Target that is not > 0 or a non-finite number are ignored by scoring.
type KPIReport struct {
	Ref            string    `json:"ref"`
	Time           time.Time `json:"time"`
	Name           string    `json:"name"`
	Target         float64   `json:"target"`
	Actual         float64   `json:"actual"`
	HigherIsBetter bool      `json:"higher_is_better"`
}

// KPIRecord is a KPI report as an Account keeps it; the reports of one KPI
// share its Name string.
type KPIRecord struct {
	Ref            Text    `json:"ref"`
	Name           Text    `json:"name"`
	Time           Instant `json:"time"`
	Target         float64 `json:"target"`
	Actual         float64 `json:"actual"`
	HigherIsBetter bool    `json:"higher_is_better"`
}

// Invoice gathers one invoice's facts by invoice id. Payments and a void may
// exist without the issue fact (they arrived first); such an invoice does not
// score until it is issued.
type Invoice struct {
	ID          Text    `json:"id"`
	Ref         Text    `json:"ref"`
	IssuedAt    Instant `json:"issued_at"`
	AmountCents int64   `json:"amount_cents"`
	// Due is the due date, 00:00 UTC.
	Due Instant `json:"due"`
	// VoidedAt is the void in effect when Voided. A plain value with a
	// flag, not a pointer: gob leaves out a pointer to a zero value, and
	// a void at 1970-01-01T00:00:00Z (Instant 0) would come back from a
	// snapshot as no void.
	VoidedAt Instant         `json:"voided_at"`
	VoidRef  Text            `json:"void_ref"`
	Payments []PaymentRecord `json:"payments,omitempty"` // by (Time, Ref)
	Issued   bool            `json:"issued"`
	Voided   bool            `json:"voided"`
}

// Payment is one payment.received for an invoice, as given to
// [Account.AddPayment].
type Payment struct {
	Ref         string    `json:"ref"`
	Time        time.Time `json:"time"`
	AmountCents int64     `json:"amount_cents"`
}

// PaymentRecord is a payment as an Invoice keeps it.
type PaymentRecord struct {
	Ref         Text    `json:"ref"`
	Time        Instant `json:"time"`
	AmountCents int64   `json:"amount_cents"`
}

// Message gathers one client message by message id: its message.received
// (Received false until it arrives) and its message.replied facts.
type Message struct {
	ID         Text          `json:"id"`
	Ref        Text          `json:"ref"`
	ReceivedAt Instant       `json:"received_at"`
	Replies    []ReplyRecord `json:"replies,omitempty"` // by (Time, Ref)
	Received   bool          `json:"received"`
}

// Reply is one message.replied, as given to [Account.AddReply].
type Reply struct {
	Ref  string    `json:"ref"`
	Time time.Time `json:"time"`
}

// ReplyRecord is a reply as a Message keeps it.
type ReplyRecord struct {
	Ref  Text    `json:"ref"`
	Time Instant `json:"time"`
}

// OverrideFact is one health.overridden (Kind set) or
// health.override_cleared (Kind clear).
type OverrideFact struct {
	Ref    string       `json:"ref"`
	Time   time.Time    `json:"time"`
	Kind   OverrideKind `json:"kind"`
	Band   Band         `json:"band,omitempty"`
	Reason string       `json:"reason,omitempty"`
	Author string       `json:"author,omitempty"`
	// ExpiresAt is when a set override stops; nil means until cleared.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// meetingCodes and partyCodes are the one-byte codes of MeetingRecord's
// Kind and By (0 for a value not listed: scoring ignores such an outcome,
// and reads such a party as the client, as it reads "").
var (
	meetingCodes = [...]MeetingKind{"", MeetingHeld, MeetingMissed, MeetingCanceled}
	partyCodes   = [...]Party{"", PartyClient, PartyAgency}
)

// code is v's index in codes, or 0.
func code[T comparable](codes []T, v T) uint8 {
	if i := slices.Index(codes, v); i > 0 {
		return uint8(i)
	}
	return 0
}

// kind and by are the record's outcome and party.
func (m MeetingRecord) kind() MeetingKind {
	if int(m.Kind) < len(meetingCodes) {
		return meetingCodes[m.Kind]
	}
	return ""
}

func (m MeetingRecord) by() Party {
	if int(m.By) < len(partyCodes) {
		return partyCodes[m.By]
	}
	return ""
}

// The orderings of the fact lists. Each ends with Ref, so two facts compare
// equal only when they are the same fact. The records' orderings read their
// strings from the account's Text.
func cmpAttr(a, b AttrChange) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Ref, b.Ref))
}

func (a *Account) cmpNPS(x, y NPSRecord) int {
	return cmp.Or(cmp.Compare(x.Time, y.Time), a.cmpText(x.Ref, y.Ref))
}

func (a *Account) cmpMeeting(x, y MeetingRecord) int {
	return cmp.Or(a.cmpText(x.MeetingID, y.MeetingID), cmp.Compare(x.Time, y.Time), a.cmpText(x.Ref, y.Ref))
}

func (a *Account) cmpKPI(x, y KPIRecord) int {
	return cmp.Or(a.cmpText(x.Name, y.Name), cmp.Compare(x.Time, y.Time), a.cmpText(x.Ref, y.Ref))
}

func (a *Account) cmpPayment(x, y PaymentRecord) int {
	return cmp.Or(cmp.Compare(x.Time, y.Time), a.cmpText(x.Ref, y.Ref))
}

func (a *Account) cmpReply(x, y ReplyRecord) int {
	return cmp.Or(cmp.Compare(x.Time, y.Time), a.cmpText(x.Ref, y.Ref))
}

func cmpOverride(a, b OverrideFact) int {
	return cmp.Or(a.Time.Compare(b.Time), strings.Compare(a.Ref, b.Ref))
}

// insertSorted inserts v into the sorted s unless an equal element exists.
func insertSorted[T any](s []T, v T, c func(a, b T) int) []T {
	i, found := slices.BinarySearchFunc(s, v, c)
	if found {
		return s
	}
	return tight.Insert(s, i, v)
}

// sortCompact sorts s and drops elements equal to their predecessor.
func sortCompact[T any](s []T, c func(a, b T) int) []T {
	slices.SortFunc(s, c)
	return slices.CompactFunc(s, func(a, b T) bool { return c(a, b) == 0 })
}

// addCents returns a + b, saturating at the int64 range instead of
// wrapping (domain.Money.Add): a sum of payments that exceeds it (possible
// only for facts that bypass ingest, whose amounts are bounded) stays the
// largest amount.
func addCents(a, b int64) int64 { return int64(domain.Money(a).Add(domain.Money(b))) }

// utcPtr returns a copy of *p in UTC, or nil.
func utcPtr(p *time.Time) *time.Time {
	if p == nil {
		return nil
	}
	u := p.UTC()
	return &u
}

// AddAttrs records the attributes in effect from c.Time on.
func (a *Account) AddAttrs(c AttrChange) {
	c.Time = c.Time.UTC()
	a.Attrs = insertSorted(a.Attrs, c, cmpAttr)
}

// AddNPS records an NPS answer.
func (a *Account) AddNPS(n NPSAnswer) {
	t := InstantOf(n.Time)
	i, found := slices.BinarySearchFunc(a.NPS, n, func(x NPSRecord, n NPSAnswer) int {
		return cmp.Or(cmp.Compare(x.Time, t), a.cmpStr(x.Ref, n.Ref))
	})
	if !found {
		a.NPS = tight.Insert(a.NPS, i, NPSRecord{Ref: a.put(n.Ref), Time: t, Score: n.Score})
	}
}

// AddMeeting records a meeting outcome.
func (a *Account) AddMeeting(m MeetingOutcome) {
	t := InstantOf(m.Time)
	i, found := slices.BinarySearchFunc(a.Meetings, m, func(x MeetingRecord, m MeetingOutcome) int {
		return cmp.Or(a.cmpStr(x.MeetingID, m.MeetingID), cmp.Compare(x.Time, t), a.cmpStr(x.Ref, m.Ref))
	})
	if found {
		return
	}
	r := MeetingRecord{MeetingID: shared(a, a.Meetings, i, m.MeetingID, func(x *MeetingRecord) Text { return x.MeetingID }),
		Ref: a.put(m.Ref), Time: t, Kind: code(meetingCodes[:], m.Kind), By: code(partyCodes[:], m.By)}
	a.Meetings = tight.Insert(a.Meetings, i, r)
}

// AddKPI records a KPI report.
func (a *Account) AddKPI(k KPIReport) {
	t := InstantOf(k.Time)
	i, found := slices.BinarySearchFunc(a.KPIs, k, func(x KPIRecord, k KPIReport) int {
		return cmp.Or(a.cmpStr(x.Name, k.Name), cmp.Compare(x.Time, t), a.cmpStr(x.Ref, k.Ref))
	})
	if found {
		return
	}
	r := KPIRecord{Name: shared(a, a.KPIs, i, k.Name, func(x *KPIRecord) Text { return x.Name }),
		Ref: a.put(k.Ref), Time: t, Target: k.Target, Actual: k.Actual, HigherIsBetter: k.HigherIsBetter}
	a.KPIs = tight.Insert(a.KPIs, i, r)
}

// shared is the Text of s that a new element inserted at i into list, of
// a and sorted by the string key names, should name: a neighbour's when its key is s,
// so that a key is kept once however many facts repeat it; else s put.
func shared[T any](a *Account, list []T, i int, s string, key func(*T) Text) Text {
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(list) {
			if t := key(&list[j]); a.cmpStr(t, s) == 0 {
				return t
			}
		}
	}
	return a.put(s)
}

// AddOverride records an override being set or cleared.
func (a *Account) AddOverride(o OverrideFact) {
	o.Time = o.Time.UTC()
	o.ExpiresAt = utcPtr(o.ExpiresAt)
	a.Overrides = insertSorted(a.Overrides, o, cmpOverride)
}

// invoice returns the entry for id, creating it in order if needed.
func (a *Account) invoice(id string) *Invoice {
	i, found := slices.BinarySearchFunc(a.Invoices, id, func(x Invoice, id string) int { return a.cmpStr(x.ID, id) })
	if !found {
		a.Invoices = tight.Insert(a.Invoices, i, Invoice{ID: a.put(id)})
	}
	return &a.Invoices[i]
}

// message returns the entry for id, creating it in order if needed.
func (a *Account) message(id string) *Message {
	i, found := slices.BinarySearchFunc(a.Messages, id, func(x Message, id string) int { return a.cmpStr(x.ID, id) })
	if !found {
		a.Messages = tight.Insert(a.Messages, i, Message{ID: a.put(id)})
	}
	return &a.Messages[i]
}

// IssueInvoice records invoice id issued at the given time for amountCents,
// due on the UTC day of due. If the invoice was issued more than once, the
// earliest issue (by time, then ref) is the one in effect.
func (a *Account) IssueInvoice(id, ref string, at time.Time, amountCents int64, due time.Time) {
	inv := a.invoice(id)
	t := InstantOf(at)
	if inv.Issued && cmp.Or(cmp.Compare(inv.IssuedAt, t), a.cmpStr(inv.Ref, ref)) <= 0 {
		return
	}
	inv.Issued, inv.Ref, inv.IssuedAt, inv.AmountCents, inv.Due = true, a.put(ref), t, amountCents, InstantOf(midnight(due))
}

// mergeIssue keeps the earliest issue of inv and src (both of a).
func (a *Account) mergeIssue(inv *Invoice, src Invoice) {
	if !src.Issued {
		return
	}
	if inv.Issued && cmp.Or(cmp.Compare(inv.IssuedAt, src.IssuedAt), a.cmpText(inv.Ref, src.Ref)) <= 0 {
		return
	}
	inv.Issued, inv.Ref, inv.IssuedAt, inv.AmountCents, inv.Due = true, src.Ref, src.IssuedAt, src.AmountCents, src.Due
}

// VoidInvoice records invoice id voided at the given time. The earliest void
// is the one in effect.
func (a *Account) VoidInvoice(id, ref string, at time.Time) {
	inv := a.invoice(id)
	t := InstantOf(at)
	if inv.Voided && cmp.Or(cmp.Compare(inv.VoidedAt, t), a.cmpStr(inv.VoidRef, ref)) <= 0 {
		return
	}
	inv.Voided, inv.VoidedAt, inv.VoidRef = true, t, a.put(ref)
}

// mergeVoid keeps the earliest void of inv and src's, both of a.
func (a *Account) mergeVoid(inv *Invoice, src Invoice) {
	if !src.Voided {
		return
	}
	if inv.Voided && cmp.Or(cmp.Compare(inv.VoidedAt, src.VoidedAt), a.cmpText(inv.VoidRef, src.VoidRef)) <= 0 {
		return
	}
	inv.Voided, inv.VoidedAt, inv.VoidRef = true, src.VoidedAt, src.VoidRef
}

// AddPayment records a payment for invoice id (which may not be issued yet).
func (a *Account) AddPayment(id string, p Payment) {
	inv := a.invoice(id)
	t := InstantOf(p.Time)
	i, found := slices.BinarySearchFunc(inv.Payments, p, func(x PaymentRecord, p Payment) int {
		return cmp.Or(cmp.Compare(x.Time, t), a.cmpStr(x.Ref, p.Ref))
	})
	if !found {
		inv.Payments = tight.Insert(inv.Payments, i, PaymentRecord{Ref: a.put(p.Ref), Time: t, AmountCents: p.AmountCents})
	}
}

// ReceiveMessage records message id received at the given time. If it was
// received more than once, the earliest receipt is the one in effect.
func (a *Account) ReceiveMessage(id, ref string, at time.Time) {
	m := a.message(id)
	t := InstantOf(at)
	if m.Received && cmp.Or(cmp.Compare(m.ReceivedAt, t), a.cmpStr(m.Ref, ref)) <= 0 {
		return
	}
	m.Received, m.Ref, m.ReceivedAt = true, a.put(ref), t
}

// mergeReceive keeps the earliest receipt of m and src (both of a).
func (a *Account) mergeReceive(m *Message, src Message) {
	if !src.Received {
		return
	}
	if m.Received && cmp.Or(cmp.Compare(m.ReceivedAt, src.ReceivedAt), a.cmpText(m.Ref, src.Ref)) <= 0 {
		return
	}
	m.Received, m.Ref, m.ReceivedAt = true, src.Ref, src.ReceivedAt
}

// AddReply records a reply to message id (which may not be received yet).
func (a *Account) AddReply(id string, r Reply) {
	m := a.message(id)
	t := InstantOf(r.Time)
	i, found := slices.BinarySearchFunc(m.Replies, r, func(x ReplyRecord, r Reply) int {
		return cmp.Or(cmp.Compare(x.Time, t), a.cmpStr(x.Ref, r.Ref))
	})
	if !found {
		m.Replies = tight.Insert(m.Replies, i, ReplyRecord{Ref: a.put(r.Ref), Time: t})
	}
}

// Normalize brings an Account whose fields were filled directly into the form
// the Add… methods keep: times in UTC, due dates at midnight, every list
// sorted without duplicates, one invoice and one message entry per id, the
// records of one meeting or KPI sharing its id or name, and Text holding
// only the strings the records name. Every Text handle must lie within
// Text; Normalize panics on one that does not.
func (a *Account) Normalize() {
	a.Since = a.Since.UTC()
	for i := range a.Attrs {
		a.Attrs[i].Time = a.Attrs[i].Time.UTC()
	}
	a.Attrs = sortCompact(a.Attrs, cmpAttr)
	a.NPS = sortCompact(a.NPS, a.cmpNPS)
	a.Meetings = sortCompact(a.Meetings, a.cmpMeeting)
	a.KPIs = sortCompact(a.KPIs, a.cmpKPI)
	for i := range a.Overrides {
		a.Overrides[i].Time = a.Overrides[i].Time.UTC()
		a.Overrides[i].ExpiresAt = utcPtr(a.Overrides[i].ExpiresAt)
	}
	a.Overrides = sortCompact(a.Overrides, cmpOverride)

	invs := a.Invoices
	a.Invoices = nil
	for _, src := range invs {
		inv := a.invoice(a.str(src.ID))
		if src.Issued {
			src.Due = InstantOf(midnight(src.Due.Time()))
		}
		a.mergeIssue(inv, src)
		a.mergeVoid(inv, src)
		inv.Payments = append(inv.Payments, src.Payments...)
		inv.Payments = sortCompact(inv.Payments, a.cmpPayment)
	}
	msgs := a.Messages
	a.Messages = nil
	for _, src := range msgs {
		m := a.message(a.str(src.ID))
		a.mergeReceive(m, src)
		m.Replies = append(m.Replies, src.Replies...)
		m.Replies = sortCompact(m.Replies, a.cmpReply)
	}
	a.compactText()
}

// cuts are, per kind of fact, the instant at or before which a fact of
// that kind can no longer count.
type cuts struct {
	nps, meetings, kpis, invoices, messages time.Time
}

// prune drops the facts that cannot affect any evaluation at an instant
// ≥ from (the earliest instant a result may still need, trend look-backs
// included); cut says, per kind, which facts lie outside every window from
// `from` on. The lists that lose facts are reallocated to their length, so
// a long history does not leave its high-water capacity behind.
func (a *Account) prune(from time.Time, cut cuts) {
	// Attributes and overrides: keep the last one in effect at `from` and all later ones.
	a.Attrs = tight.KeepFromLast(a.Attrs, from, func(c AttrChange) time.Time { return c.Time })
	a.Overrides = tight.KeepFromLast(a.Overrides, from, func(o OverrideFact) time.Time { return o.Time })
	a.NPS = tight.Clip(slices.DeleteFunc(a.NPS, func(n NPSRecord) bool { return !n.Time.After(cut.nps) }))
	// Meetings: an outcome outside every window either is the latest outcome
	// of its meeting (then the meeting is out of the window anyway) or is
	// superseded; KPI reports likewise.
	a.Meetings = tight.Clip(slices.DeleteFunc(a.Meetings, func(m MeetingRecord) bool { return !m.Time.After(cut.meetings) }))
	a.KPIs = tight.Clip(slices.DeleteFunc(a.KPIs, func(k KPIRecord) bool { return !k.Time.After(cut.kpis) }))
	a.Invoices = tight.Clip(slices.DeleteFunc(a.Invoices, func(inv Invoice) bool {
		if !inv.Issued {
			return false // its issue may still arrive
		}
		if inv.Voided && !inv.VoidedAt.After(from) {
			return true
		}
		var paid int64
		for _, p := range inv.Payments {
			if !p.Time.After(from) {
				paid = addCents(paid, p.AmountCents)
			}
		}
		return paid >= inv.AmountCents && !inv.Due.After(cut.invoices)
	}))
	a.Messages = tight.Clip(slices.DeleteFunc(a.Messages, func(m Message) bool {
		return m.Received && !m.ReceivedAt.After(cut.messages)
	}))
	a.compactText()
}
