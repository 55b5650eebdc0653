package esdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/vitals-hq/vitals/eventstore"
)

// Limits on the sizes of identifiers; longer ones are eventstore.ErrInvalid.
const (
	// MaxStreamLen is the longest stream id, in bytes.
	MaxStreamLen = eventstore.MaxStreamLen
	// MaxKeyLen is the longest idempotency key, in bytes.
	MaxKeyLen = eventstore.MaxKeyLen
)

// Append implements eventstore.Store. See the package documentation for
// how duplicates are detected and where that is best effort.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.Version, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	c, err := s.begin("append")
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	defer s.inflight.Done()
	return s.append(ctx, c, eventstore.AppendRequest{Stream: stream, Expected: expected, Events: events})
}

// AppendMany implements eventstore.Store. EventStoreDB (v4 client) has no
// atomic append to several streams, so the requests are appended one
// after the other, each atomically: durability is per request, not one
// commit. When the call fails as a whole (ErrUnavailable, ErrClosed, the
// context's error) the requests before the failing one may have been
// written; retrying the call is safe because their events keep their ids.
func (s *Store) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.begin("append")
	if err != nil {
		return nil, err
	}
	defer s.inflight.Done()
	outs := make([]eventstore.AppendOutcome, len(reqs))
	for i, r := range reqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := s.append(ctx, c, r)
		if err != nil && !perRequest(err) {
			return nil, err
		}
		outs[i] = eventstore.AppendOutcome{Result: res, Err: err}
	}
	return outs, nil
}

// perRequest reports whether err fails one request of AppendMany rather
// than the whole call.
func perRequest(err error) bool {
	return errors.Is(err, eventstore.ErrInvalid) || errors.Is(err, eventstore.ErrWrongVersion) ||
		errors.Is(err, eventstore.ErrPartialDuplicate) || errors.Is(err, eventstore.ErrRequiredStreamMissing)
}

// append appends one request with client c.
//
// Duplicates. Every event's id is derived from its key, so the server
// recognises a retry in the cases its idempotency covers and answers it
// as a success without a log position; the result then has Duplicate set
// and the positions of the original events, read back from the stream.
// When the server instead rejects the append for its expected version,
// the stream's last Options.DedupeWindow events are searched for the
// keys: all found is a duplicate, some found is ErrPartialDuplicate, none
// is ErrWrongVersion.
func (s *Store) append(ctx context.Context, c *esdb.Client, r eventstore.AppendRequest) (eventstore.AppendResult, error) {
	var none eventstore.AppendResult
	if err := r.Validate(); err != nil {
		err = fmt.Errorf("esdb: %w", err)
		return none, err
	}
	op := fmt.Sprintf("append to %q", r.Stream)
	// Required streams: AppendMany applies requests one after another, so
	// the earlier requests of the call are already written, and a stream
	// once created is never removed.
	for _, req := range r.Requires {
		if _, err := s.StreamVersion(ctx, req); err != nil {
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				return none, &eventstore.MissingStreamError{Stream: req}
			}
			return none, err
		}
	}
	evs := eventstore.UniqueKeys(r.Events)
	rev, _ := expectedRevision(r.Expected) // validate checked it
	data := make([]esdb.EventData, len(evs))
	keys := make([]string, len(evs))
	for i, ev := range evs {
		keys[i] = ev.Key
		data[i] = esdb.EventData{
			EventID:     eventID(s.ns, ev.Key),
			EventType:   ev.Type,
			ContentType: contentType(ev.Data),
			Data:        ev.Data,
			Metadata:    encodeMeta(ev.Key),
		}
	}

	wr, err := c.AppendToStream(ctx, s.name(r.Stream), esdb.AppendToStreamOptions{ExpectedRevision: rev}, data...)
	if err != nil {
		if !hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
			return none, s.fail(ctx, c, op, err)
		}
		found, lerr := s.lookup(ctx, c, r.Stream, keys)
		switch {
		case lerr != nil:
			return none, lerr
		case len(found) == len(keys):
			return duplicateOf(found, keys), nil
		case len(found) > 0:
			return none, fmt.Errorf("esdb: %s: %d of %d keys already stored: %w", op, len(found), len(keys), eventstore.ErrPartialDuplicate)
		}
		return none, translate(op, err)
	}

	// A success without a log position is the server's idempotent
	// answer: it wrote nothing and NextExpectedVersion is the revision of
	// the original last event. Either way the positions of the events
	// are read back: the write result has one position for the whole
	// append, not one per event.
	duplicate := wr.CommitPosition == 0 && wr.PreparePosition == 0
	n := uint64(len(keys))
	if last := wr.NextExpectedVersion; last+1 >= n {
		recs, err := s.streamEvents(ctx, c, r.Stream, esdb.ReadStreamOptions{From: esdb.Revision(last + 1 - n)}, n)
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return none, s.fail(ctx, c, op, err)
		}
		if sameKeys(recs, keys) {
			return eventstore.AppendResult{
				First:     recs[0].Position,
				Last:      recs[len(recs)-1].Position,
				Version:   recs[len(recs)-1].Version,
				Duplicate: duplicate,
			}, nil
		}
	}
	// Not where the server said: search the stream.
	found, err := s.lookup(ctx, c, r.Stream, keys)
	if err != nil {
		return none, err
	}
	if len(found) != len(keys) {
		return none, fmt.Errorf("esdb: %s: appended (next expected version %d) but %d of the %d events are not in the last %d events of the stream: %w",
			op, wr.NextExpectedVersion, len(keys)-len(found), len(keys), s.window, eventstore.ErrUnavailable)
	}
	res := duplicateOf(found, keys)
	res.Duplicate = duplicate
	return res, nil
}

// sameKeys reports whether recs hold exactly keys, in order.
func sameKeys(recs []eventstore.Record, keys []string) bool {
	if len(recs) != len(keys) {
		return false
	}
	for i, r := range recs {
		if r.Key != keys[i] {
			return false
		}
	}
	return true
}

// duplicateOf is the result of an append whose keys are all stored, in
// found.
func duplicateOf(found map[string]eventstore.Record, keys []string) eventstore.AppendResult {
	first, last := found[keys[0]], found[keys[len(keys)-1]]
	return eventstore.AppendResult{First: first.Position, Last: last.Position, Version: last.Version, Duplicate: true}
}

// lookup searches the last Options.DedupeWindow events of stream for
// keys and returns the records found, by key (for a key stored twice, the
// earliest within the window).
func (s *Store) lookup(ctx context.Context, c *esdb.Client, stream string, keys []string) (map[string]eventstore.Record, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	found := make(map[string]eventstore.Record)
	const page = 256
	var from esdb.StreamPosition = esdb.End{}
	for seen := 0; seen < s.window; {
		count := uint64(min(page, s.window-seen))
		recs, err := s.streamEvents(ctx, c, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: from}, count)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return found, nil
		}
		if err != nil {
			return nil, s.fail(ctx, c, fmt.Sprintf("append to %q: look up keys", stream), err)
		}
		for _, r := range recs {
			if want[r.Key] {
				found[r.Key] = r
			}
		}
		seen += len(recs)
		if uint64(len(recs)) < count || recs[len(recs)-1].Version == 0 {
			break
		}
		from = esdb.Revision(uint64(recs[len(recs)-1].Version - 1))
	}
	return found, nil
}
