// Package ingest turns decoded CloudEvents into durable appends.
//
// # Rules
//
// An Ingester enforces what a single event cannot check by itself (SPEC §1.2):
// events about an account must come after that account's account.opened in
// append order, and manager references must name a manager that has joined.
// Both are decided by the store in the same commit as the append: an
// account.opened or manager.joined is appended with the expected version
// NoStream, every other event with StreamExists, so there is no window in
// which a concurrent request could slip an event in before its account.
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

// Ingester validates references and appends events durably.
type Ingester struct {
	store eventstore.Store
}

// New returns an Ingester appending to store.
func New(store eventstore.Store) *Ingester {
	return &Ingester{store: store}
}

// Ingest appends the valid candidates in order, durably, and returns one
// result per candidate and the log position the caller must wait for to
// read its writes (the highest position among accepted and duplicate
// events, or the current head when there is none).
//
// Usually the whole request is one commit. A request that references a
// manager who joins earlier in the same request is committed in two or more
// steps, so that the reference is checked against the store: the join may
// turn out to be a duplicate of another event and create nothing.
//
// The error is for the whole call (eventstore.ErrUnavailable,
// eventstore.ErrClosed, a context error): then the events of the failed
// commit were not appended, and events of earlier commits may have been;
// retrying the request is safe either way.
func (in *Ingester) Ingest(ctx context.Context, cands []Candidate) ([]Result, eventstore.Position, error) {
	results := make([]Result, len(cands))
	b := &batch{in: in, results: results, cands: cands}
	managers := newManagerIndex(in.store)

	for i, c := range cands {
		results[i] = Result{Index: i, ID: c.Event.ID}
		if c.Err != nil {
			results[i].Status = Rejected
			results[i].Error = asFieldError(c.Err)
			continue
		}
		ev := c.Event
		if managers.dependsOnPending(ev) {
			if err := b.flush(ctx); err != nil {
				return nil, 0, err
			}
			managers.settle()
		}
		if err := managers.check(ctx, ev); err != nil {
			var fe *domain.FieldError
			if !errors.As(err, &fe) {
				return nil, 0, err
			}
			results[i].Status = Rejected
			results[i].Error = fe
			continue
		}
		data, err := ev.MarshalJSON()
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: encode event %q: %w", ev.ID, err)
		}
		expected := eventstore.StreamExists
		if ev.OpensStream() {
			expected = eventstore.NoStream
		}
		b.add(i, eventstore.AppendRequest{
			Stream:   ev.Stream(),
			Expected: expected,
			Events:   []eventstore.EventData{{Key: ev.Key(), Type: string(ev.Type), Data: data}},
		})
		if ev.Type == domain.TypeManagerJoined {
			managers.pending(ev.Subject)
		}
	}
	if err := b.flush(ctx); err != nil {
		return nil, 0, err
	}
	if b.reached == 0 {
		head, err := in.store.Head(ctx)
		if err != nil {
			return nil, 0, fmt.Errorf("ingest: head: %w", err)
		}
		b.reached = head
	}
	return results, b.reached, nil
}

// batch accumulates append requests and commits them together.
type batch struct {
	in      *Ingester
	cands   []Candidate
	results []Result
	reqs    []eventstore.AppendRequest
	idx     []int // reqs[k] belongs to candidate idx[k]
	reached eventstore.Position
}

func (b *batch) add(i int, r eventstore.AppendRequest) {
	b.reqs = append(b.reqs, r)
	b.idx = append(b.idx, i)
}

// flush commits the accumulated requests and records their outcomes.
func (b *batch) flush(ctx context.Context) error {
	if len(b.reqs) == 0 {
		return nil
	}
	outs, err := b.in.store.AppendMany(ctx, b.reqs)
	if err != nil {
		return fmt.Errorf("ingest: append: %w", err)
	}
	for k, out := range outs {
		i := b.idx[k]
		ev := b.cands[i].Event
		switch {
		case out.Err == nil:
			b.results[i].Status = Accepted
			if out.Result.Duplicate {
				b.results[i].Status = Duplicate
			}
			b.results[i].Position = out.Result.Last
			b.reached = max(b.reached, out.Result.Last)
		case errors.Is(out.Err, eventstore.ErrWrongVersion):
			b.results[i].Status = Rejected
			b.results[i].Error = orderError(ev)
		default:
			return fmt.Errorf("ingest: append event %q: %w", ev.ID, out.Err)
		}
	}
	b.reqs, b.idx = b.reqs[:0], b.idx[:0]
	return nil
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

// managerIndex answers "has this manager joined?" for one request, from
// the store. Joins earlier in the same request are pending until they are
// committed.
type managerIndex struct {
	store eventstore.Store
	known map[string]bool // store answers, valid until the next commit
	joins map[string]bool // joined earlier in this request, not committed yet
}

func newManagerIndex(s eventstore.Store) *managerIndex {
	return &managerIndex{store: s, known: make(map[string]bool), joins: make(map[string]bool)}
}

func (m *managerIndex) pending(id string) { m.joins[id] = true }

// dependsOnPending reports whether ev references a manager whose join is
// not committed yet.
func (m *managerIndex) dependsOnPending(ev domain.Event) bool {
	for _, ref := range ev.ManagerRefs() {
		if m.joins[ref.ID] && !m.known[ref.ID] {
			return true
		}
	}
	return false
}

// settle is called after a commit: the store now answers for the joins.
func (m *managerIndex) settle() {
	clear(m.joins)
	for id, ok := range m.known {
		if !ok {
			delete(m.known, id) // a commit may have created it
		}
	}
}

// check returns a *domain.FieldError for the first reference to a manager
// the store does not know, or another error when the store cannot answer.
func (m *managerIndex) check(ctx context.Context, ev domain.Event) error {
	for _, ref := range ev.ManagerRefs() {
		known, seen := m.known[ref.ID]
		if !seen {
			_, err := m.store.StreamVersion(ctx, managerStream(ref.ID))
			switch {
			case err == nil:
				known = true
			case errors.Is(err, eventstore.ErrStreamNotFound):
				known = false
			default:
				return fmt.Errorf("ingest: look up manager %q: %w", ref.ID, err)
			}
			m.known[ref.ID] = known
		}
		if !known {
			return &domain.FieldError{Field: ref.Field, Message: fmt.Sprintf("unknown manager %q: send its manager.joined first", ref.ID)}
		}
	}
	return nil
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
