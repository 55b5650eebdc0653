package projections

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/internal/tight"
	"github.com/vitals-hq/vitals/scoring"
)

// State is everything the read models are computed from: per account and
// per manager, the facts with the time they happened. It is bitemporal:
// every question is asked "as of T" and only facts with time ≤ T answer it,
// so the order in which events arrived does not matter.
//
// State is not safe for concurrent use; the Projector guards it.
type State struct {
	Accounts map[string]*Account
	Managers map[string]*Manager
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Accounts: make(map[string]*Account), Managers: make(map[string]*Manager)}
}

// Stamp orders facts that carry a time: by time, then by the event's ref,
// so that equal inputs give equal orders whatever the arrival order.
type Stamp struct {
	Time time.Time
	Ref  string
}

func (s Stamp) compare(o Stamp) int {
	return cmp.Or(s.Time.Compare(o.Time), strings.Compare(s.Ref, o.Ref))
}

// insertStamped inserts v into s, kept sorted by st; a fact with the same
// Stamp is replaced (the same event applied twice).
func insertStamped[T any](s []T, v T, st func(T) Stamp) []T {
	i, found := slices.BinarySearchFunc(s, st(v), func(e T, k Stamp) int { return st(e).compare(k) })
	if found {
		s[i] = v
		return s
	}
	return tight.Insert(s, i, v)
}

// lastAt returns the index of the last fact with time ≤ t, or -1.
func lastAt[T any](s []T, t time.Time, at func(T) time.Time) int {
	i, _ := slices.BinarySearchFunc(s, t, func(e T, k time.Time) int {
		if at(e).After(k) {
			return 1
		}
		return -1
	})
	return i - 1
}

// Account is one client account's state.
type Account struct {
	ID      string
	OpenRef string
	// OpenedAt is the time of account.opened.
	OpenedAt time.Time
	Industry string
	Website  string

	// Profile holds account.opened and account.updated in time order; the
	// profile at T folds those with time ≤ T.
	Profile []ProfileChange
	// Statuses holds account.status_changed in time order.
	Statuses []StatusChange
	// Assignments holds manager assignments (from account.opened and
	// account.manager_assigned) in time order.
	Assignments []Assignment
	// Touches are the times of contacts that keep an account from being
	// quiet, sorted.
	Touches []scoring.Instant
	// Signals are the account's signals, by id.
	Signals []Signal
	// Referrals are the referral.made events, sorted.
	Referrals []Stamp
	// Scoring holds the facts the health score is computed from.
	Scoring scoring.Account
	// PrunedTo is the instant the account's facts were last pruned to:
	// they answer every question about an instant ≥ PrunedTo.
	PrunedTo time.Time
	// Past holds the account's scores at past grid days before PrunedTo
	// (see past.go).
	Past PastScores
	// Latest is the time of the latest event applied to the account that
	// may change its health (see past.go).
	Latest scoring.Instant
	// InvoicesPruned is set once pruning dropped an invoice (paid, or
	// voided, and past every scoring window): the invoice history is no
	// longer whole.
	InvoicesPruned bool
	// Opened is set once account.opened was applied.
	Opened bool
}

// ProfileChange is account.opened (setFull) or account.updated: the
// fields Set names replace the profile's. It holds no pointers: an account keeps
// every change for life.
type ProfileChange struct {
	Stamp
	Set         ProfileFields
	Name        string
	MRRCents    int64
	Tier        domain.Tier     // "" = derive from MRR
	RenewalDate scoring.Instant // with setRenewal; setClearRenewal clears it
	SLAHours    float64         // 0 = tier default
}

// ProfileFields says which fields a ProfileChange sets.
type ProfileFields uint8

// The fields of a ProfileChange; setFull starts from an empty profile.
const (
	setFull ProfileFields = 1 << iota
	setName
	setMRR
	setTier
	setRenewal
	setClearRenewal
	setSLA
)

// Profile is the account's attributes at an instant.
type Profile struct {
	Name         string
	MRRCents     int64
	ExplicitTier domain.Tier
	RenewalDate  time.Time // zero for none
	SLAHours     float64   // 0 = tier default
}

// StatusChange is one account.status_changed.
type StatusChange struct {
	Stamp
	Status domain.Status
	Reason string
}

// Assignment is one manager assignment; ManagerID "" unassigns.
type Assignment struct {
	Stamp
	ManagerID string
}

// Signal is one signal id's raises and resolutions.
type Signal struct {
	ID       string
	Raised   []SignalRaise
	Resolved []time.Time
}

// SignalRaise is one signal.raised.
type SignalRaise struct {
	Stamp
	Kind domain.SignalKind
	Note string
}

// Manager is one account manager's state.
type Manager struct {
	ID       string
	Joined   bool
	JoinedAt time.Time
	// LeftAt is the time of manager.left (zero while they stay).
	LeftAt  time.Time
	Changes []ManagerChange
	// Time holds the time.logged entries naming this manager, sorted.
	Time []TimeEntry
	// Refs holds the time entries' refs.
	Refs scoring.Strings
}

// ManagerChange is manager.joined (Full) or manager.updated; the fields Set
// names replace the profile's. It holds no pointers: gob leaves out a
// pointer to a zero value, so a field set to its zero would come back from
// a snapshot as not set.
type ManagerChange struct {
	Stamp
	Full           bool
	Set            ManagerFields
	Name           string
	CapacityPoints float64
	WeeklyHours    float64
}

// ManagerFields says which fields a ManagerChange sets.
type ManagerFields uint8

// The fields of a ManagerChange.
const (
	setManagerName ManagerFields = 1 << iota
	setManagerCapacity
	setManagerHours
)

// ManagerProfile is a manager's attributes at an instant.
type ManagerProfile struct {
	Name           string
	CapacityPoints float64
	WeeklyHours    float64
}

// TimeEntry is one time.logged, compactly: the read models need its
// instant, hours and whether they are billable (not the account it names);
// its ref, in the manager's Refs, tells it from another entry.
type TimeEntry struct {
	Time     scoring.Instant
	Ref      scoring.Text
	Hours    float64
	Billable bool
}

// addTime records a time entry of the manager (again: no change).
func (m *Manager) addTime(at time.Time, ref string, hours float64, billable bool) {
	t := scoring.InstantOf(at)
	i, found := slices.BinarySearchFunc(m.Time, ref, func(e TimeEntry, ref string) int {
		return cmp.Or(cmp.Compare(e.Time, t), m.Refs.Compare(e.Ref, ref))
	})
	if found {
		m.Time[i].Hours, m.Time[i].Billable = hours, billable
		return
	}
	m.Time = tight.Insert(m.Time, i, TimeEntry{Time: t, Ref: m.Refs.Put(ref), Hours: hours, Billable: billable})
}

func (s *State) account(id string) *Account {
	a := s.Accounts[id]
	if a == nil {
		a = &Account{ID: id}
		s.Accounts[id] = a
	}
	return a
}

func (s *State) manager(id string) *Manager {
	m := s.Managers[id]
	if m == nil {
		m = &Manager{ID: id}
		s.Managers[id] = m
	}
	return m
}

// ignoredTypes are the catalog's event types (domain.Catalog) that the
// state does not apply, each with the reason. Every other type has its
// case in Apply or applyManager: TestEveryCatalogTypeIsAppliedOrIgnored
// fails for a type that is in neither.
var ignoredTypes = map[domain.Type]string{}

// Apply adds one event to the state and returns the id of the account whose
// health may have changed ("" for none). Applying the same event twice has
// no further effect. The account's past scores from the event's time on no
// longer hold (see past.go).
func (s *State) Apply(ev domain.Event) (accountID string) {
	id := s.apply(ev)
	if a := s.Accounts[id]; a != nil {
		a.Past.invalidate(ev.Time)
		if t := scoring.InstantOf(ev.Time); t > a.Latest {
			a.Latest = t
		}
	}
	return id
}

// apply is Apply without the past scores' bookkeeping.
func (s *State) apply(ev domain.Event) (accountID string) {
	st := Stamp{Time: ev.Time, Ref: ev.Ref()}
	if ev.Type.IsManagerEvent() {
		s.applyManager(ev, st)
		return ""
	}
	a := s.account(ev.Subject)
	switch p := ev.Payload.(type) {
	case domain.AccountOpened:
		a.Opened, a.OpenRef, a.OpenedAt = true, st.Ref, ev.Time
		a.syncSince()
		a.Industry, a.Website = p.Industry, p.Website
		ch := ProfileChange{Stamp: st, Set: setFull | setName | setMRR | setTier | setSLA, Name: p.Name, MRRCents: int64(p.MRR), Tier: p.Tier, SLAHours: p.SLAResponseHours}
		if !p.RenewalDate.IsZero() {
			ch.Set |= setRenewal
			ch.RenewalDate = scoring.InstantOf(p.RenewalDate.Time())
		} else {
			ch.Set |= setClearRenewal
		}
		a.Profile = insertStamped(a.Profile, ch, func(c ProfileChange) Stamp { return c.Stamp })
		a.Assignments = insertStamped(a.Assignments, Assignment{Stamp: st, ManagerID: p.ManagerID}, func(c Assignment) Stamp { return c.Stamp })
		a.syncAttrs()
	case domain.AccountUpdated:
		ch := ProfileChange{Stamp: st}
		if p.Name.Set {
			ch.Set |= setName
			ch.Name = p.Name.Value
		}
		if p.MRR.Set {
			ch.Set |= setMRR
			ch.MRRCents = int64(p.MRR.Value)
		}
		if p.Tier.Set {
			ch.Set |= setTier
			if !p.Tier.Null {
				ch.Tier = p.Tier.Value
			}
		}
		if p.RenewalDate.Set {
			if p.RenewalDate.Null {
				ch.Set |= setClearRenewal
			} else {
				ch.Set |= setRenewal
				ch.RenewalDate = scoring.InstantOf(p.RenewalDate.Value.Time())
			}
		}
		if p.SLAResponseHours.Set {
			ch.Set |= setSLA
			if !p.SLAResponseHours.Null {
				ch.SLAHours = p.SLAResponseHours.Value
			}
		}
		a.Profile = insertStamped(a.Profile, ch, func(c ProfileChange) Stamp { return c.Stamp })
		a.syncAttrs()
	case domain.AccountStatusChanged:
		a.Statuses = insertStamped(a.Statuses, StatusChange{Stamp: st, Status: p.Status, Reason: p.Reason}, func(c StatusChange) Stamp { return c.Stamp })
	case domain.ManagerAssigned:
		a.Assignments = insertStamped(a.Assignments, Assignment{Stamp: st, ManagerID: p.ManagerID}, func(c Assignment) Stamp { return c.Stamp })
	case domain.TouchpointRecorded, domain.PortalLogin:
		a.touch(ev.Time)
	case domain.MessageReceived:
		a.touch(ev.Time)
		a.Scoring.ReceiveMessage(p.MessageID, st.Ref, ev.Time)
	case domain.MessageReplied:
		a.touch(ev.Time)
		a.Scoring.AddReply(p.MessageID, scoring.Reply{Ref: st.Ref, Time: ev.Time})
	case domain.MeetingHeld:
		a.touch(ev.Time)
		a.Scoring.AddMeeting(scoring.MeetingOutcome{Ref: st.Ref, MeetingID: p.MeetingID, Time: ev.Time, Kind: scoring.MeetingHeld})
	case domain.MeetingMissed:
		a.Scoring.AddMeeting(scoring.MeetingOutcome{Ref: st.Ref, MeetingID: p.MeetingID, Time: ev.Time, Kind: scoring.MeetingMissed, By: p.By})
	case domain.MeetingCanceled:
		a.Scoring.AddMeeting(scoring.MeetingOutcome{Ref: st.Ref, MeetingID: p.MeetingID, Time: ev.Time, Kind: scoring.MeetingCanceled})
	case domain.InvoiceIssued:
		a.Scoring.IssueInvoice(p.InvoiceID, st.Ref, ev.Time, int64(p.Amount), p.DueDate.Time())
	case domain.PaymentReceived:
		a.Scoring.AddPayment(p.InvoiceID, scoring.Payment{Ref: st.Ref, Time: ev.Time, AmountCents: int64(p.Amount)})
	case domain.InvoiceVoided:
		a.Scoring.VoidInvoice(p.InvoiceID, st.Ref, ev.Time)
	case domain.NPSResponded:
		a.touch(ev.Time)
		a.Scoring.AddNPS(scoring.NPSAnswer{Ref: st.Ref, Time: ev.Time, Score: p.Score})
	case domain.KPIReported:
		a.Scoring.AddKPI(scoring.KPIReport{Ref: st.Ref, Time: ev.Time, Name: p.KPI, Target: p.Target, Actual: p.Actual, HigherIsBetter: p.HigherIsBetter})
	case domain.SignalRaised:
		sg := a.signal(p.SignalID)
		sg.Raised = insertStamped(sg.Raised, SignalRaise{Stamp: st, Kind: p.Kind, Note: p.Note}, func(r SignalRaise) Stamp { return r.Stamp })
	case domain.SignalResolved:
		sg := a.signal(p.SignalID)
		sg.Resolved = insertTime(sg.Resolved, ev.Time)
	case domain.ReferralMade:
		a.Referrals = insertStamped(a.Referrals, st, func(r Stamp) Stamp { return r })
	case domain.TimeLogged:
		m := s.manager(p.ManagerID)
		m.addTime(ev.Time, st.Ref, p.Hours, p.Billable)
		return ""
	case domain.HealthOverridden:
		o := scoring.OverrideFact{Ref: st.Ref, Time: ev.Time, Kind: scoring.OverrideSet, Band: p.Band, Reason: p.Reason, Author: p.Author}
		if !p.ExpiresAt.IsZero() {
			exp := p.ExpiresAt
			o.ExpiresAt = &exp
		}
		a.Scoring.AddOverride(o)
	case domain.HealthOverrideCleared:
		a.Scoring.AddOverride(scoring.OverrideFact{Ref: st.Ref, Time: ev.Time, Kind: scoring.OverrideClear})
	default: // ignoredTypes
		return ""
	}
	return a.ID
}

func (s *State) applyManager(ev domain.Event, st Stamp) {
	m := s.manager(ev.Subject)
	switch p := ev.Payload.(type) {
	case domain.ManagerJoined:
		m.Joined, m.JoinedAt = true, ev.Time
		m.Changes = insertStamped(m.Changes, ManagerChange{Stamp: st, Full: true, Set: setManagerName | setManagerCapacity | setManagerHours, Name: p.Name, CapacityPoints: p.CapacityPoints, WeeklyHours: p.WeeklyHours}, func(c ManagerChange) Stamp { return c.Stamp })
	case domain.ManagerUpdated:
		ch := ManagerChange{Stamp: st}
		if p.Name.Set {
			ch.Set |= setManagerName
			ch.Name = p.Name.Value
		}
		if p.CapacityPoints.Set {
			ch.Set |= setManagerCapacity
			ch.CapacityPoints = p.CapacityPoints.Value
		}
		if p.WeeklyHours.Set {
			ch.Set |= setManagerHours
			ch.WeeklyHours = p.WeeklyHours.Value
		}
		m.Changes = insertStamped(m.Changes, ch, func(c ManagerChange) Stamp { return c.Stamp })
	case domain.ManagerLeft:
		if m.LeftAt.IsZero() || ev.Time.Before(m.LeftAt) {
			m.LeftAt = ev.Time
		}
	}
}

// signal returns the account's signal id, adding it in order if needed.
func (a *Account) signal(id string) *Signal {
	i, found := slices.BinarySearchFunc(a.Signals, id, func(sg Signal, id string) int { return strings.Compare(sg.ID, id) })
	if !found {
		a.Signals = tight.Insert(a.Signals, i, Signal{ID: id})
	}
	return &a.Signals[i]
}

func (a *Account) touch(t time.Time) {
	a.Touches = insertInstant(a.Touches, scoring.InstantOf(t))
}

// insertInstant inserts t into the sorted list s (duplicates are kept
// once: the same event applied twice).
func insertInstant(s []scoring.Instant, t scoring.Instant) []scoring.Instant {
	i, found := slices.BinarySearch(s, t)
	if found {
		return s
	}
	return tight.Insert(s, i, t)
}

// insertTime is insertInstant for a list of times.
func insertTime(s []time.Time, t time.Time) []time.Time {
	i, found := slices.BinarySearchFunc(s, t, time.Time.Compare)
	if found {
		return s
	}
	return tight.Insert(s, i, t)
}

// syncAttrs rebuilds the scoring attributes (MRR, tier, SLA) from the
// profile changes, one full attribute set per change.
func (a *Account) syncAttrs() {
	attrs := make([]scoring.AttrChange, 0, len(a.Profile))
	var p Profile
	for _, ch := range a.Profile {
		p = ch.apply(p)
		attrs = append(attrs, scoring.AttrChange{Ref: ch.Ref, Time: ch.Time, MRRCents: p.MRRCents, Tier: p.ExplicitTier, SLAHours: p.SLAHours})
	}
	a.Scoring.Attrs = attrs
}

func (ch ProfileChange) apply(p Profile) Profile {
	if ch.Set&setFull != 0 {
		p = Profile{}
	}
	if ch.Set&setName != 0 {
		p.Name = ch.Name
	}
	if ch.Set&setMRR != 0 {
		p.MRRCents = ch.MRRCents
	}
	if ch.Set&setTier != 0 {
		p.ExplicitTier = ch.Tier
	}
	if ch.Set&setRenewal != 0 {
		p.RenewalDate = ch.RenewalDate.Time()
	}
	if ch.Set&setClearRenewal != 0 {
		p.RenewalDate = time.Time{}
	}
	if ch.Set&setSLA != 0 {
		p.SLAHours = ch.SLAHours
	}
	return p
}

// ProfileAt folds the profile changes with time ≤ t.
func (a *Account) ProfileAt(t time.Time) Profile {
	var p Profile
	for _, ch := range a.Profile {
		if ch.Time.After(t) {
			break
		}
		p = ch.apply(p)
	}
	return p
}

// syncSince gives scoring the account's opening: no score (and no trend
// value) exists before it, as [Account.ExistsAt] says for queries.
func (a *Account) syncSince() {
	if a.Opened {
		a.Scoring.Since = a.OpenedAt.UTC()
	}
}

// ExistsAt reports whether the account was opened at or before t.
func (a *Account) ExistsAt(t time.Time) bool { return a.Opened && !a.OpenedAt.After(t) }

// StatusAt is the account's status at t ("" before it was opened).
func (a *Account) StatusAt(t time.Time) domain.Status {
	if !a.ExistsAt(t) {
		return ""
	}
	if i := lastAt(a.Statuses, t, func(c StatusChange) time.Time { return c.Time }); i >= 0 {
		return a.Statuses[i].Status
	}
	return domain.StatusActive
}

// managerAt is the assigned manager id at t, before accounting for
// managers who left.
func (a *Account) managerAt(t time.Time) string {
	if i := lastAt(a.Assignments, t, func(c Assignment) time.Time { return c.Time }); i >= 0 {
		return a.Assignments[i].ManagerID
	}
	return ""
}

// lastTouchAt is the last contact at or before t (zero for none).
func (a *Account) lastTouchAt(t time.Time) time.Time {
	if i, _ := slices.BinarySearch(a.Touches, scoring.InstantOf(t)+1); i > 0 {
		return a.Touches[i-1].Time()
	}
	return time.Time{}
}

// nextTouchAfter is the first contact after t, if any.
func (a *Account) nextTouchAfter(t time.Time) (time.Time, bool) {
	if i, _ := slices.BinarySearch(a.Touches, scoring.InstantOf(t)+1); i < len(a.Touches) {
		return a.Touches[i].Time(), true
	}
	return time.Time{}, false
}

// openSignal is a signal open at an instant: its id and its last raise.
type openSignal struct {
	ID string
	SignalRaise
}

// openSignals returns the signals open at t — raised (last raise with
// time ≤ t) within window, and not resolved since — by raise time, then id.
func (a *Account) openSignals(t time.Time, window time.Duration) []openSignal {
	var open []openSignal
	for _, sg := range a.Signals {
		i := lastAt(sg.Raised, t, func(r SignalRaise) time.Time { return r.Time })
		if i < 0 {
			continue
		}
		r := sg.Raised[i]
		if !r.Time.After(t.Add(-window)) {
			continue
		}
		resolved := false
		for _, rt := range sg.Resolved {
			if !rt.Before(r.Time) && !rt.After(t) {
				resolved = true
				break
			}
		}
		if !resolved {
			open = append(open, openSignal{ID: sg.ID, SignalRaise: r})
		}
	}
	slices.SortFunc(open, func(x, y openSignal) int { return cmp.Or(x.Time.Compare(y.Time), cmp.Compare(x.ID, y.ID)) })
	return open
}

// ProfileAt folds the manager's changes with time ≤ t.
func (m *Manager) ProfileAt(t time.Time) ManagerProfile {
	p := ManagerProfile{CapacityPoints: domain.DefaultCapacityPoints, WeeklyHours: domain.DefaultWeeklyHours}
	for _, ch := range m.Changes {
		if ch.Time.After(t) {
			break
		}
		if ch.Set&setManagerName != 0 {
			p.Name = ch.Name
		}
		if ch.Set&setManagerCapacity != 0 {
			p.CapacityPoints = ch.CapacityPoints
		}
		if ch.Set&setManagerHours != 0 {
			p.WeeklyHours = ch.WeeklyHours
		}
	}
	return p
}

// ActiveAt reports whether the manager had joined and not left at t.
func (m *Manager) ActiveAt(t time.Time) bool {
	return m.Joined && !m.JoinedAt.After(t) && (m.LeftAt.IsZero() || m.LeftAt.After(t))
}
