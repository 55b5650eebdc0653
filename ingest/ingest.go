// Package ingest turns decoded CloudEvents into durable appends.
//
// # Rules
//
// An Ingester enforces what a single event cannot check by itself (the
// ordering rules of docs/events.md#ordering-rules-append-order):
// events about an account must come after that account's account.opened in
// append order, and manager references must name a manager that has joined.
// Both are decided by the store in the same commit as the append: an
// account.opened or manager.joined is appended with the expected version
// NoStream, every other event with StreamExists, and an event naming a
// manager requires the manager's stream to exist when it is applied (after
// the earlier events of the same request). On a store whose AppendMany is
// one atomic commit (eventstore.Guarantees.AtomicBatch, the embedded
// store) a request is one commit; on KurrentDB each event is its own
// commit, and a store failure part-way through a request is a
// *PartialError naming the events that were stored. Either way there is no
// window in which an event could slip in before its account or manager.
//
// Duplicates — an event whose (source, id) was stored before — change
// nothing and are reported as such, forever.
package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
)

// Status is the outcome of one event.
type Status string

// Outcomes of an event.
const (
	Accepted  Status = "accepted"
	Duplicate Status = "duplicate"
	Rejected  Status = "rejected"
)

// Candidate is one event of a request: either decoded (Err == nil) or the
// decoding error (a *domain.FieldError) to report for it.
type Candidate struct {
	Event domain.Event
	Err   error
}

// Result is the outcome of one candidate, in request order.
type Result struct {
	Index  int
	ID     string
	Status Status
	// Error is set when Status is Rejected.
	Error *domain.FieldError
	// Position is where the event is stored (accepted or duplicate).
	Position eventstore.Position
}

// Encoding is the form in which an Ingester stores events.
type Encoding int

const (
	// EncodeJSON stores the CloudEvent JSON (Event.MarshalJSON): for stores
	// that other tools read, such as KurrentDB.
	EncodeJSON Encoding = iota
	// EncodeCompact stores the compact binary form (Event.MarshalBinary),
	// which replays without parsing JSON: for the embedded store.
	EncodeCompact
)

// Handoff receives the events an Ingester decoded, so that the projector
// need not decode them again when it reads them from the log
// (projections.Projector implements it). Offer is called before the
// append with the key and the bytes stored for the event, and reports
// whether it took the event; Withdraw is called for every event it took
// that was not stored (a duplicate, a rejection, a failed append).
type Handoff interface {
	Offer(key string, data []byte, ev domain.Event) bool
	Withdraw(key string)
}

// Ingester validates references and appends events durably.
type Ingester struct {
	store    eventstore.Store
	encoding Encoding
	handoff  Handoff
}

// SetHandoff makes the ingester hand the events it appends to h. Call it
// before the ingester is used concurrently.
func (in *Ingester) SetHandoff(h Handoff) { in.handoff = h }

// New returns an Ingester appending to store in the JSON form.
func New(store eventstore.Store) *Ingester {
	return &Ingester{store: store}
}

// NewWithEncoding returns an Ingester appending to store in the given
// form. domain.Decode reads both, so a store may hold a mix of them.
func NewWithEncoding(store eventstore.Store, enc Encoding) *Ingester {
	return &Ingester{store: store, encoding: enc}
}

// encode returns the stored form of ev.
func (in *Ingester) encode(ev domain.Event) ([]byte, error) {
	if in.encoding == EncodeCompact {
		return ev.MarshalBinary()
	}
	return ev.MarshalJSON()
}

// Ingest appends the valid candidates in order, in one durable commit, and
// returns one result per candidate and the log position the caller must
// wait for to read its writes (the highest position among accepted and
// duplicate events, or the current head when there is none).
//
// The error is for the whole call (eventstore.ErrUnavailable,
// eventstore.ErrClosed, a context error): then nothing was appended and
// retrying the request is safe. On a store without atomic batches it may
// instead be a *PartialError: the events it names were stored, the later
// ones were not, and retrying the whole request stores the rest (the
// stored ones come back as duplicates where the store recognises them).
func (in *Ingester) Ingest(ctx context.Context, cands []Candidate) ([]Result, eventstore.Position, error) {
	results := make([]Result, len(cands))
	reqs := make([]eventstore.AppendRequest, 0, len(cands))
	idx := make([]int, 0, len(cands))      // reqs[k] belongs to candidate idx[k]
	offered := make([]bool, 0, len(cands)) // reqs[k]'s event was handed off
	for i, c := range cands {
		results[i] = Result{Index: i, ID: c.Event.ID}
		if c.Err != nil {
			results[i].Status = Rejected
			results[i].Error = asFieldError(c.Err)
			continue
		}
		ev := c.Event
		data, err := in.encode(ev)
		if err != nil {
			in.withdraw(reqs, offered, nil, err)
			return nil, 0, fmt.Errorf("ingest: encode event %q: %w", ev.ID, err)
		}
		expected := eventstore.StreamExists
		if ev.OpensStream() {
			expected = eventstore.NoStream
		}
		var requires []string
		for _, ref := range ev.ManagerRefs() {
			requires = append(requires, managerStream(ref.ID))
		}
		key := ev.Key()
		offered = append(offered, in.handoff != nil && in.handoff.Offer(key, data, ev))
		reqs = append(reqs, eventstore.AppendRequest{
			Stream:   ev.Stream(),
			Expected: expected,
			Events:   []eventstore.EventData{{Key: key, Type: string(ev.Type), Data: data}},
			Requires: requires,
		})
		idx = append(idx, i)
	}

	var reached eventstore.Position
	if len(reqs) > 0 {
		outs, err := in.store.AppendMany(ctx, reqs)
		in.withdraw(reqs, offered, outs, err)
		var pbe *eventstore.PartialBatchError
		if errors.As(err, &pbe) {
			return nil, 0, partial(pbe, idx)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: append: %w", err)
		}
		for k, out := range outs {
			i := idx[k]
			ev := cands[i].Event
			var missing *eventstore.MissingStreamError
			switch {
			case out.Err == nil:
				results[i].Status = Accepted
				if out.Result.Duplicate {
					results[i].Status = Duplicate
				}
				results[i].Position = out.Result.Last
				reached = max(reached, out.Result.Last)
			case errors.Is(out.Err, eventstore.ErrWrongVersion):
				results[i].Status = Rejected
				results[i].Error = orderError(ev)
			case errors.As(out.Err, &missing):
				results[i].Status = Rejected
				results[i].Error = unknownManager(ev, missing.Stream)
			case errors.Is(out.Err, eventstore.ErrInvalid):
				// The store can never take this event (over a
				// server's size limit, a deleted stream); the
				// others of the request are written or not as
				// their outcomes say.
				results[i].Status = Rejected
				results[i].Error = &domain.FieldError{Field: "event", Message: "the event store refused the event: " + out.Err.Error()}
			default:
				return nil, 0, fmt.Errorf("ingest: append event %q: %w", ev.ID, out.Err)
			}
		}
	}
	if reached == 0 {
		head, err := in.store.Head(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: head: %w", err)
		}
		reached = head
	}
	return results, reached, nil
}

// PartialError is Ingest's error when the store failed part-way through a
// request, after storing some of its events (a store without
// eventstore.Guarantees.AtomicBatch). It matches the store's error (for
// example eventstore.ErrUnavailable).
type PartialError struct {
	// Stored are the indexes, in the request, of the events that are
	// stored (accepted or duplicates).
	Stored []int
	// Err is the store's error.
	Err error
}

func (e *PartialError) Error() string {
	return fmt.Sprintf("ingest: the store failed after storing %d events of the request (indexes %v): %v", len(e.Stored), e.Stored, e.Err)
}

// Unwrap makes errors.Is(err, e.Err) true.
func (e *PartialError) Unwrap() error { return e.Err }

// partial turns a store's partial batch into a PartialError; idx maps
// append requests to candidates.
func partial(pbe *eventstore.PartialBatchError, idx []int) *PartialError {
	pe := &PartialError{Stored: []int{}, Err: pbe.Err}
	for k, out := range pbe.Outcomes {
		if out.Err == nil {
			pe.Stored = append(pe.Stored, idx[k])
		}
	}
	return pe
}

// withdraw takes back from the handoff the events of reqs it took
// (offered) that were not stored: all of them when the append failed as a
// whole (err), else the duplicates and the rejected.
func (in *Ingester) withdraw(reqs []eventstore.AppendRequest, offered []bool, outs []eventstore.AppendOutcome, err error) {
	for k, r := range reqs {
		stored := err == nil && k < len(outs) && outs[k].Err == nil && !outs[k].Result.Duplicate
		if !offered[k] || stored {
			continue
		}
		for _, e := range r.Events {
			in.handoff.Withdraw(e.Key)
		}
	}
}

// unknownManager names the field that referenced the missing manager
// stream.
func unknownManager(ev domain.Event, stream string) *domain.FieldError {
	for _, ref := range ev.ManagerRefs() {
		if managerStream(ref.ID) == stream {
			return &domain.FieldError{Field: ref.Field, Message: fmt.Sprintf("unknown manager %q: send its manager.joined first", ref.ID)}
		}
	}
	return &domain.FieldError{Field: "data", Message: fmt.Sprintf("refers to %s, which does not exist", stream)}
}

// orderError explains a wrong-version conflict in the caller's terms.
func orderError(ev domain.Event) *domain.FieldError {
	kind := "account"
	if ev.Type.IsManagerEvent() {
		kind = "manager"
	}
	if ev.OpensStream() {
		return &domain.FieldError{Field: "subject", Message: fmt.Sprintf("%s %q already exists (%s with another id)", kind, ev.Subject, ev.Type)}
	}
	opener := "account.opened"
	if kind == "manager" {
		opener = "manager.joined"
	}
	return &domain.FieldError{Field: "subject", Message: fmt.Sprintf("unknown %s %q: send its %s first", kind, ev.Subject, opener)}
}

// asFieldError reports any decoding error as a field error.
func asFieldError(err error) *domain.FieldError {
	var fe *domain.FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return &domain.FieldError{Field: "event", Message: err.Error()}
}

// managerStream is the stream of a manager's events; it must agree with
// domain.Event.Stream.
func managerStream(id string) string {
	return (domain.Event{Type: domain.TypeManagerJoined, Subject: id}).Stream()
}

// Summary counts results by status.
func Summary(results []Result) (accepted, duplicate, rejected int) {
	for _, r := range results {
		switch r.Status {
		case Accepted:
			accepted++
		case Duplicate:
			duplicate++
		case Rejected:
			rejected++
		}
	}
	return
}
