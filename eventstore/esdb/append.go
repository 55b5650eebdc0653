package esdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/vitals-hq/vitals/eventstore"
)

// Limits on the sizes of identifiers; longer ones are eventstore.ErrInvalid.
const (
	// MaxStreamLen is the longest stream id, in bytes.
	MaxStreamLen = eventstore.MaxStreamLen
	// MaxKeyLen is the longest idempotency key, in bytes.
	MaxKeyLen = eventstore.MaxKeyLen
)

// Guarantees implements eventstore.Guaranteer: AppendMany commits each
// request on its own, positions are log offsets, and deduplication is
// best effort (see the package documentation).
func (s *Store) Guarantees() eventstore.Guarantees { return eventstore.Guarantees{} }

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
	defer s.end(c)
	return s.append(ctx, c, eventstore.AppendRequest{Stream: stream, Expected: expected, Events: events})
}

// AppendMany implements eventstore.Store. The v4 client has no atomic
// append to several streams, so the requests are appended one after the
// other, each atomically: durability is per request, not one commit
// (Guarantees().AtomicBatch is false). When the call fails as a whole
// after some requests were written, the error is an
// *eventstore.PartialBatchError with their outcomes; retrying the call is
// safe where the server recognises the written requests (see the package
// documentation).
func (s *Store) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.begin("append")
	if err != nil {
		return nil, err
	}
	defer s.end(c)
	outs := make([]eventstore.AppendOutcome, len(reqs))
	for i, r := range reqs {
		err := ctx.Err()
		var res eventstore.AppendResult
		if err == nil {
			res, err = s.append(ctx, c, r)
		}
		if err != nil && !perRequest(err) {
			if i > 0 {
				return nil, &eventstore.PartialBatchError{Outcomes: outs[:i], Err: err}
			}
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
// Every event's id is derived from its key, so the server can recognise a
// retry; every event of one call also carries the same random attempt
// token in its metadata. The events are read back after the write: when
// they carry this call's token the append wrote them; when they carry
// another token the server recognised a retry and wrote nothing
// (Duplicate, with the original positions). This does not depend on how
// the server answers a retry (current servers report the original
// position, older ones none).
//
// When the server rejects the append for its expected version, or answers
// with a timeout or an unknown outcome after which the write may have
// been committed, the stream's last Options.DedupeWindow events are
// searched for the keys: all found is the write (ours or an earlier
// one's, by token), some found after a rejection is
// ErrPartialDuplicate, none is the server's error.
func (s *Store) append(ctx context.Context, c *conn, r eventstore.AppendRequest) (eventstore.AppendResult, error) {
	var none eventstore.AppendResult
	if err := r.Validate(); err != nil {
		return none, fmt.Errorf("esdb: %w", err)
	}
	op := fmt.Sprintf("append to %q", r.Stream)
	evs := eventstore.UniqueKeys(r.Events)
	attempt := uuid.NewString()
	data := make([]esdb.EventData, len(evs))
	keys := make([]string, len(evs))
	for i, ev := range evs {
		keys[i] = ev.Key
		data[i] = esdb.EventData{
			EventID:     eventID(s.ns, ev.Key),
			EventType:   ev.Type,
			ContentType: contentType(ev.Data),
			Data:        ev.Data,
			Metadata:    encodeAttempt(ev.Key, attempt),
		}
	}
	if err := s.checkSize(data); err != nil {
		return none, fmt.Errorf("esdb: %s: %w", op, err)
	}
	// Required streams: AppendMany applies requests one after another, so
	// the earlier requests of the call are already written, and a stream
	// once created is never removed.
	for _, req := range r.Requires {
		if _, err := s.streamEvents(ctx, c, req, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1); err != nil {
			if errors.Is(err, eventstore.ErrStreamNotFound) {
				return none, &eventstore.MissingStreamError{Stream: req}
			}
			return none, s.fail(ctx, c, op, err)
		}
	}

	rev, _ := expectedRevision(r.Expected) // Validate checked it
	var wr *esdb.WriteResult
	err := s.call(ctx, c, false, func(ctx context.Context, cl *esdb.Client) error {
		var err error
		wr, err = cl.AppendToStream(ctx, s.name(r.Stream), esdb.AppendToStreamOptions{ExpectedRevision: rev}, data...)
		return err
	})
	switch {
	case err == nil:
		return s.readBack(ctx, c, op, r.Stream, keys, attempt, wr.NextExpectedVersion)
	case ctx.Err() != nil || s.isClosed():
		return none, s.fail(ctx, c, op, err)
	case hasCode(err, esdb.ErrorCodeWrongExpectedVersion):
		found, lerr := s.lookup(ctx, c, r.Stream, keys)
		switch {
		case lerr != nil:
			return none, lerr
		case len(found) == len(keys):
			return resultOf(found, keys, attempt), nil
		case len(found) > 0:
			return none, fmt.Errorf("esdb: %s: %d of %d keys already stored: %w", op, len(found), len(keys), eventstore.ErrPartialDuplicate)
		}
		return none, translate(op, err)
	case rejected(err):
		return none, appendError(op, err)
	}
	// A timeout, a dropped connection or a stuck client: the write may
	// have been committed. Look before answering.
	found, lerr := s.lookup(ctx, c, r.Stream, keys)
	if lerr == nil && len(found) == len(keys) {
		s.log.Warn().Err(err).Str("stream", r.Stream).Msg("the append failed but its events are stored; reporting them")
		return resultOf(found, keys, attempt), nil
	}
	if lerr != nil {
		return none, fmt.Errorf("%w (and looking its keys up failed: %w)", translate(op, err), lerr)
	}
	return none, translate(op, err)
}

// readBack returns the result of a successful write: the positions of its
// events, read back from the stream (the write result has one position
// for the whole append, and none on older servers), and whether this call
// wrote them.
func (s *Store) readBack(ctx context.Context, c *conn, op, stream string, keys []string, attempt string, next uint64) (eventstore.AppendResult, error) {
	n := uint64(len(keys))
	if next+1 >= n {
		recs, err := s.streamEvents(ctx, c, stream, esdb.ReadStreamOptions{From: esdb.Revision(next + 1 - n)}, n)
		if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
			return eventstore.AppendResult{}, s.fail(ctx, c, op, err)
		}
		if sameKeys(recs, keys) {
			found := make(map[string]stored, len(recs))
			for _, r := range recs {
				found[r.Key] = r
			}
			return resultOf(found, keys, attempt), nil
		}
	}
	// Not where the server said: search the stream.
	found, err := s.lookup(ctx, c, stream, keys)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	if len(found) != len(keys) {
		return eventstore.AppendResult{}, fmt.Errorf("esdb: %s: appended (next expected version %d) but %d of the %d events are not in the last %d events of the stream: %w",
			op, next, len(keys)-len(found), len(keys), s.window, eventstore.ErrUnavailable)
	}
	return resultOf(found, keys, attempt), nil
}

// checkSize applies the server's limits to an append before it is sent.
func (s *Store) checkSize(data []esdb.EventData) error {
	total := 0
	for i, ev := range data {
		size := eventSize(ev)
		if s.maxSize[1] > 0 && size > s.maxSize[1] {
			return fmt.Errorf("event %d is %d bytes, more than the server's maximum event size of %d (Options.MaxAppendEventSize): %w",
				i, size, s.maxSize[1], eventstore.ErrInvalid)
		}
		total += size
	}
	if total > s.maxSize[0] {
		return fmt.Errorf("the append is %d bytes, more than the server's maximum append size of %d (Options.MaxAppendSize): %w",
			total, s.maxSize[0], eventstore.ErrInvalid)
	}
	return nil
}

// eventSize is the server's measure of an event: data, metadata and twice
// the type's length.
func eventSize(ev esdb.EventData) int {
	return len(ev.Data) + len(ev.Metadata) + 2*len(ev.EventType)
}

// sameKeys reports whether recs hold exactly keys, in order.
func sameKeys(recs []stored, keys []string) bool {
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

// resultOf is the result of an append whose keys are all stored, in
// found: a duplicate unless every event carries this call's attempt
// token.
func resultOf(found map[string]stored, keys []string, attempt string) eventstore.AppendResult {
	first, last := found[keys[0]], found[keys[len(keys)-1]]
	dup := false
	for _, k := range keys {
		dup = dup || found[k].attempt != attempt
	}
	return eventstore.AppendResult{First: first.Position, Last: last.Position, Version: last.Version, Duplicate: dup}
}

// lookup searches the last Options.DedupeWindow events of stream for
// keys and returns the records found, by key (for a key stored twice, the
// earliest within the window).
func (s *Store) lookup(ctx context.Context, c *conn, stream string, keys []string) (map[string]stored, error) {
	want := make(map[string]bool, len(keys))
	for _, k := range keys {
		want[k] = true
	}
	found := make(map[string]stored)
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
