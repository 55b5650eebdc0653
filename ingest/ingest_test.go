package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) eventstore.Store {
	t.Helper()
	s, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ev builds a candidate from a compact description.
func ev(t *testing.T, source, id, typ, subject, data string) ingest.Candidate {
	t.Helper()
	raw := fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q,"subject":%q,"time":"2026-02-01T00:00:00Z","data":%s}`, id, source, typ, subject, data)
	e, err := domain.Parse([]byte(raw), now)
	if err != nil {
		t.Fatalf("test event %s: %v", id, err)
	}
	return ingest.Candidate{Event: e}
}

type want struct {
	status ingest.Status
	field  string
}

func run(t *testing.T, in *ingest.Ingester, cands []ingest.Candidate, wants []want) eventstore.Position {
	t.Helper()
	results, pos, err := in.Ingest(context.Background(), cands)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range wants {
		r := results[i]
		if r.Status != w.status || (w.field != "" && (r.Error == nil || r.Error.Field != w.field)) {
			t.Errorf("event %d (%s): %s %+v, want %s %s", i, r.ID, r.Status, r.Error, w.status, w.field)
		}
	}
	return pos
}

func TestOrderingRules(t *testing.T) {
	s := open(t)
	in := ingest.New(s)
	pos := run(t, in, []ingest.Candidate{
		ev(t, "crm", "1", "nps.responded", "acme", `{"score":9}`),                                   // before its account
		ev(t, "crm", "2", "manager.joined", "am-1", `{"name":"Ana"}`),                               //
		ev(t, "crm", "3", "account.opened", "acme", `{"name":"Acme","mrr":10,"manager_id":"am-1"}`), // joined earlier in the request
		ev(t, "crm", "4", "nps.responded", "acme", `{"score":9}`),                                   // after its account
		ev(t, "crm", "5", "account.opened", "acme", `{"name":"Acme","mrr":10}`),                     // opened twice
		ev(t, "crm", "6", "account.manager_assigned", "acme", `{"manager_id":"am-2"}`),              // unknown manager
		ev(t, "crm", "7", "manager.joined", "am-2", `{"name":"Bo"}`),                                //
		ev(t, "crm", "8", "account.manager_assigned", "acme", `{"manager_id":"am-2"}`),              // joined since
		ev(t, "crm", "9", "manager.updated", "am-9", `{"name":"Nobody"}`),                           // unknown manager subject
	}, []want{
		{ingest.Rejected, "subject"}, {ingest.Accepted, ""}, {ingest.Accepted, ""}, {ingest.Accepted, ""},
		{ingest.Rejected, "subject"}, {ingest.Rejected, "data.manager_id"}, {ingest.Accepted, ""}, {ingest.Accepted, ""},
		{ingest.Rejected, "subject"},
	})
	if head, _ := s.Head(context.Background()); pos != head || head != 5 {
		t.Fatalf("position %d, head %d; want both 5", pos, head)
	}
	// The same request again: accepted ones are duplicates, nothing moves.
	run(t, in, []ingest.Candidate{ev(t, "crm", "2", "manager.joined", "am-1", `{"name":"Ana"}`), ev(t, "crm", "4", "nps.responded", "acme", `{"score":9}`)},
		[]want{{ingest.Duplicate, ""}, {ingest.Duplicate, ""}})
	if head, _ := s.Head(context.Background()); head != 5 {
		t.Fatalf("head moved to %d on duplicates", head)
	}
}

// TestJoinThatIsADuplicateDoesNotVouch: a manager.joined whose (source, id)
// was used by another event is a duplicate and creates nothing, so a later
// reference in the same request to the manager it names is rejected. (Found
// by FuzzBatch.)
func TestJoinThatIsADuplicateDoesNotVouch(t *testing.T) {
	s := open(t)
	in := ingest.New(s)
	run(t, in, []ingest.Candidate{ev(t, "crm", "k1", "manager.joined", "am-1", `{"name":"Ana"}`)}, []want{{ingest.Accepted, ""}})
	run(t, in, []ingest.Candidate{
		ev(t, "crm", "k1", "manager.joined", "ghost", `{"name":"Ghost"}`), // same key as am-1's join
		ev(t, "crm", "k2", "account.opened", "acme", `{"name":"Acme","mrr":10,"manager_id":"ghost"}`),
	}, []want{{ingest.Duplicate, ""}, {ingest.Rejected, "data.manager_id"}})
	if _, err := s.StreamVersion(context.Background(), "account-acme"); err == nil {
		t.Fatal("account referencing a manager that never joined was stored")
	}
}

func TestDecodeErrorsAreReported(t *testing.T) {
	in := ingest.New(open(t))
	results, _, err := in.Ingest(context.Background(), []ingest.Candidate{
		{Event: domain.Event{ID: "x"}, Err: &domain.FieldError{Field: "data.score", Message: "must be an integer 0..10"}},
		{Err: fmt.Errorf("not a field error")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := results[0]; r.Status != ingest.Rejected || r.ID != "x" || r.Error.Field != "data.score" {
		t.Fatalf("result 0: %+v", r)
	}
	if r := results[1]; r.Status != ingest.Rejected || r.Error.Field != "event" {
		t.Fatalf("result 1: %+v", r)
	}
	if a, d, rj := ingest.Summary(results); a != 0 || d != 0 || rj != 2 {
		t.Fatalf("summary %d %d %d", a, d, rj)
	}
}

// partialStore fails every AppendMany after its first request, as a
// store without atomic batches does when the server fails mid-batch.
type partialStore struct{ eventstore.Store }

func (s partialStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	outs, err := s.Store.AppendMany(ctx, reqs[:1])
	if err != nil {
		return nil, err
	}
	return nil, &eventstore.PartialBatchError{Outcomes: outs, Err: fmt.Errorf("server gone: %w", eventstore.ErrUnavailable)}
}

// TestPartialBatchIsReported: when the store stored only part of a
// request, Ingest names the stored events instead of claiming nothing was
// written.
func TestPartialBatchIsReported(t *testing.T) {
	in := ingest.New(partialStore{open(t)})
	cands := []ingest.Candidate{
		{Err: &domain.FieldError{Field: "type", Message: "unknown"}}, // rejected before the store
		ev(t, "crm", "1", "account.opened", "acme", `{"name":"Acme","mrr":10}`),
		ev(t, "crm", "2", "account.opened", "beta", `{"name":"Beta","mrr":10}`),
	}
	_, _, err := in.Ingest(context.Background(), cands)
	var pe *ingest.PartialError
	if !errors.As(err, &pe) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("Ingest = %v; want a *PartialError matching ErrUnavailable", err)
	}
	if len(pe.Stored) != 1 || pe.Stored[0] != 1 {
		t.Errorf("Stored = %v; want [1]", pe.Stored)
	}
}

// refusingStore refuses the second request of every AppendMany as a
// store does with an event it can never take (over a server's size limit).
type refusingStore struct{ eventstore.Store }

func (s refusingStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	outs := make([]eventstore.AppendOutcome, len(reqs))
	for i, r := range reqs {
		if i == 1 {
			outs[i].Err = fmt.Errorf("append to %q: more than the maximum append size: %w", r.Stream, eventstore.ErrInvalid)
			continue
		}
		one, err := s.Store.AppendMany(ctx, reqs[i:i+1])
		if err != nil {
			return nil, err
		}
		outs[i] = one[0]
	}
	return outs, nil
}

// TestRefusedEventIsRejected: an event the store refuses for good is
// rejected on its own; the request's other events keep their outcomes
// (on a store without atomic batches they are already written).
func TestRefusedEventIsRejected(t *testing.T) {
	in := ingest.New(refusingStore{open(t)})
	run(t, in, []ingest.Candidate{
		ev(t, "crm", "1", "account.opened", "acme", `{"name":"Acme","mrr":10}`),
		ev(t, "crm", "2", "account.opened", "beta", `{"name":"Beta","mrr":10}`),
		ev(t, "crm", "3", "account.opened", "gamma", `{"name":"Gamma","mrr":10}`),
	}, []want{{ingest.Accepted, ""}, {ingest.Rejected, "event"}, {ingest.Accepted, ""}})
}

// TestEncodings checks that each encoding stores its form and that the
// stored event decodes to the one ingested.
func TestEncodings(t *testing.T) {
	for _, enc := range []ingest.Encoding{ingest.EncodeJSON, ingest.EncodeCompact} {
		s := open(t)
		in := ingest.NewWithEncoding(s, enc)
		c := ev(t, "crm", "a-1", "account.opened", "acme", `{"name":"Acme","mrr":100}`)
		if _, _, err := in.Ingest(t.Context(), []ingest.Candidate{c}); err != nil {
			t.Fatal(err)
		}
		recs, err := s.ReadAll(t.Context(), 0, 10)
		if err != nil || len(recs) != 1 {
			t.Fatalf("ReadAll = %d records, %v", len(recs), err)
		}
		if got := domain.IsBinary(recs[0].Data); got != (enc == ingest.EncodeCompact) {
			t.Errorf("encoding %d: stored form binary = %v", enc, got)
		}
		back, err := domain.Decode(recs[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := c.Event.MarshalJSON()
		got, _ := back.MarshalJSON()
		if string(got) != string(want) {
			t.Errorf("encoding %d: stored event reads back as %s, want %s", enc, got, want)
		}
	}
}
