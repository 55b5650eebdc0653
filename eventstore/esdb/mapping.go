package esdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vitals-hq/vitals/eventstore"
)

// This file holds the pure translations between Vitals and EventStoreDB:
// expected versions, event ids, metadata, positions, stream names and
// errors. None of it talks to a server, so all of it is unit tested.

// KeyNamespace is the UUID namespace of event ids: an event's id is the
// UUID v5 (SHA-1) of its idempotency key in this namespace. It is itself
// the UUID v5 of "https://github.com/vitals-hq/vitals/eventstore/esdb" in
// the URL namespace, and must never change: a retry after an upgrade must
// produce the same ids for the server to recognise it.
const KeyNamespace = "adcd0320-c6f3-55a1-9e3a-367461d3a995"

// keyNamespaceSeed is the name KeyNamespace is derived from (see its
// test).
const keyNamespaceSeed = "https://github.com/vitals-hq/vitals/eventstore/esdb"

// eventID returns the event id of an idempotency key: the same key always
// gives the same id, so the server recognises a retried append.
func eventID(ns uuid.UUID, key string) uuid.UUID {
	return uuid.NewSHA1(ns, []byte(key))
}

// expectedRevision maps an eventstore expected version onto the client's
// ExpectedRevision. It is the only place that does:
//
//	eventstore.AnyVersion   (-1) → esdb.Any{}          no check
//	eventstore.NoStream     (-2) → esdb.NoStream{}     the stream must not exist
//	eventstore.StreamExists (-3) → esdb.StreamExists{} the stream must have an event
//	v ≥ 0                        → esdb.Revision(v)    the last event has revision v
//
// ESDB revisions and eventstore versions are the same numbers (the first
// event of a stream is 0). ok is false for a value below -3, which the
// caller reports as eventstore.ErrInvalid.
//
// The choice matters for idempotency: with any value but Any the server
// compares the proposed event ids with the events after the expected
// revision and answers a retry as a success without writing; with Any it
// only consults a bounded in-memory cache of recent event ids.
func expectedRevision(v eventstore.Version) (rev esdb.ExpectedRevision, ok bool) {
	switch {
	case v == eventstore.AnyVersion:
		return esdb.Any{}, true
	case v == eventstore.NoStream:
		return esdb.NoStream{}, true
	case v == eventstore.StreamExists:
		return esdb.StreamExists{}, true
	case v >= 0:
		return esdb.Revision(uint64(v)), true
	}
	return nil, false
}

// metaVersion is the format of the user metadata this package writes.
const metaVersion = 1

// meta is the user metadata of an event Vitals wrote: the idempotency key
// (event ids are one-way hashes of it) and a format marker that tells
// Vitals' events from anybody else's.
type meta struct {
	Vitals int    `json:"vitals"`
	Key    string `json:"key"`
	// Attempt is a random token shared by the events of one append
	// call: reading the events back tells whether that call wrote them
	// or the server recognised a retry of an earlier one.
	Attempt string `json:"attempt,omitempty"`
}

// encodeMeta returns the metadata of an event with the given key.
func encodeMeta(key string) []byte { return encodeAttempt(key, "") }

// encodeAttempt returns the metadata of an event with the given key,
// written by the append call with the given attempt token.
func encodeAttempt(key, attempt string) []byte {
	b, err := json.Marshal(meta{Vitals: metaVersion, Key: key, Attempt: attempt})
	if err != nil {
		// A struct of an int and a string always marshals.
		panic(fmt.Sprintf("esdb: marshal metadata: %v", err))
	}
	return b
}

// decodeMeta returns the key in an event's metadata; ok is false when the
// metadata was not written by this package (then the event is not a
// Vitals record).
func decodeMeta(b []byte) (key string, ok bool) {
	var m meta
	if len(b) == 0 || json.Unmarshal(b, &m) != nil || m.Vitals != metaVersion || m.Key == "" {
		return "", false
	}
	return m.Key, true
}

// attemptOf returns the attempt token in an event's metadata ("" when it
// has none).
func attemptOf(b []byte) string {
	var m meta
	if json.Unmarshal(b, &m) != nil {
		return ""
	}
	return m.Attempt
}

// contentType is JSON when data is a JSON document (CloudEvents are), so
// the server's own projections and UI can read it, and binary otherwise.
func contentType(data []byte) esdb.ContentType {
	if len(data) > 0 && json.Valid(data) {
		return esdb.ContentTypeJson
	}
	return esdb.ContentTypeBinary
}

// Positions.
//
// EventStoreDB positions are byte offsets in its transaction log: they
// grow but are not consecutive, and the server can only start a read or a
// subscription at the offset where a record begins; an offset inside a
// record fails ("invalid position"). Callers of eventstore.Store use
// position p-1 to mean "just before the record at p", so Vitals positions
// encode the log offset c of a record as 2c+1:
//
//	0      before everything          → read from the start of $all
//	2c+1   the record at offset c     → read from c, skip the record at c
//	2c     just before the record at c → read from c, keep the record at c
//
// Both cases start the server at c, a record boundary. Positions stay
// strictly increasing in log order, and Position/2 is the server's
// offset, which is what its UI and logs show.
//
// Events appended over gRPC are committed by their own prepare record, so
// their commit and prepare positions are the same offset: this package
// writes only such events and uses the commit position. (Events written
// by the legacy TCP protocol inside explicit transactions share one
// commit position; they are never Vitals records.)

// maxLogOffset is the largest log offset a Position can encode.
const maxLogOffset = (math.MaxUint64 - 1) / 2

// toPosition encodes the log position of a record; ok is false when the
// server did not report one (it sends the maximal value for "no
// position").
func toPosition(p esdb.Position) (eventstore.Position, bool) {
	if p.Commit > maxLogOffset {
		return 0, false
	}
	return eventstore.Position(2*p.Commit + 1), true
}

// startOf returns where in $all a read for the records after p begins:
// the start of the log, or the offset of the record p names or precedes.
// A forward read includes the record at that offset; a subscription
// excludes it. Callers drop what is not after p either way.
func startOf(p eventstore.Position) esdb.AllPosition {
	if p == 0 {
		return esdb.Start{}
	}
	c := uint64(p) / 2
	return esdb.Position{Commit: c, Prepare: c}
}

// isSystemStream reports whether stream is one of the server's own
// ($all, $stats-…, $et-…, $$metadata streams, projections' links).
func isSystemStream(stream string) bool { return strings.HasPrefix(stream, "$") }

// toRecord converts an event read from the server into a Record. ok is
// false for events that are not Vitals records: system events, streams
// outside the prefix, events without Vitals metadata.
func toRecord(prefix string, ev *esdb.RecordedEvent) (r eventstore.Record, ok bool, err error) {
	if ev == nil || isSystemStream(ev.StreamID) || !strings.HasPrefix(ev.StreamID, prefix) {
		return r, false, nil
	}
	key, ok := decodeMeta(ev.UserMetadata)
	if !ok {
		return r, false, nil
	}
	pos, ok := toPosition(ev.Position)
	if !ok {
		return r, false, fmt.Errorf("esdb: event %d of %q: the server reported no log position "+
			"(this adapter needs a server whose stream reads report positions, as current KurrentDB releases do): %w",
			ev.EventNumber, ev.StreamID, eventstore.ErrUnavailable)
	}
	if ev.EventNumber > math.MaxInt64 {
		return r, false, fmt.Errorf("esdb: event of %q has revision %d: %w", ev.StreamID, ev.EventNumber, eventstore.ErrUnavailable)
	}
	return eventstore.Record{
		Position:   pos,
		Stream:     strings.TrimPrefix(ev.StreamID, prefix),
		Version:    eventstore.Version(ev.EventNumber),
		Key:        key,
		Type:       ev.EventType,
		Data:       ev.Data,
		RecordedAt: ev.CreatedDate.UTC(),
	}, true, nil
}

// errorCoder is what the client's *esdb.Error offers. translate matches
// this interface rather than the concrete type so that the mapping can be
// tested: the client gives no way to build an *esdb.Error with a code
// other than ErrorCodeUnknown (esdb.FromError).
type errorCoder interface {
	error
	Code() esdb.ErrorCode
}

// translate turns a client error into an eventstore sentinel, keeping the
// cause. It finds the client's error with errors.As (the client wraps its
// *esdb.Error in fmt.Errorf, so a type assertion – which is what
// esdb.FromError does – would miss it):
//
//	ErrorCodeWrongExpectedVersion               → ErrWrongVersion
//	ErrorCodeResourceNotFound, …StreamDeleted   → ErrStreamNotFound
//	access denied, unauthenticated, and the
//	server's InvalidArgument answers (maximum
//	append size or event size exceeded, an
//	invalid $all position): retrying cannot
//	help                                        → ErrInvalid
//	everything else (Unavailable, NotLeader,
//	DeadlineExceeded, a commit timeout,
//	ConnectionClosed, unknown and internal
//	errors)                                     → ErrUnavailable
//
// Appends treat a deleted stream, and an outcome that may have been
// committed, themselves (see append). The caller handles its own context
// and Close first, so a cancelled call reports the context's error or
// ErrClosed instead.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	sentinel := eventstore.ErrUnavailable
	var ce errorCoder
	if errors.As(err, &ce) {
		switch ce.Code() {
		case esdb.ErrorCodeWrongExpectedVersion:
			sentinel = eventstore.ErrWrongVersion
		case esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted:
			sentinel = eventstore.ErrStreamNotFound
		case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated:
			sentinel = eventstore.ErrInvalid
		}
	}
	if status.Code(err) == codes.InvalidArgument {
		sentinel = eventstore.ErrInvalid
	}
	return fmt.Errorf("esdb: %s: %w: %w", op, sentinel, err)
}

// rejected reports whether err is an append's definite failure, after
// which nothing was written and retrying cannot help; translate maps it
// to ErrInvalid, except for a deleted stream, which appendError reports.
func rejected(err error) bool {
	return hasCode(err, esdb.ErrorCodeStreamDeleted, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated) ||
		status.Code(err) == codes.InvalidArgument
}

// appendError is the error of a rejected append: a deleted stream takes no
// more events, ever, so it fails the request (ErrInvalid), not the batch.
func appendError(op string, err error) error {
	if hasCode(err, esdb.ErrorCodeStreamDeleted) {
		return fmt.Errorf("esdb: %s: the stream is deleted on the server and takes no more events: %w: %w", op, eventstore.ErrInvalid, err)
	}
	return translate(op, err)
}

// hasCode reports whether err carries one of the client's error codes.
func hasCode(err error, codes ...esdb.ErrorCode) bool {
	var ce errorCoder
	if !errors.As(err, &ce) {
		return false
	}
	for _, c := range codes {
		if ce.Code() == c {
			return true
		}
	}
	return false
}

// permanent reports whether err will not go away by retrying: a
// subscription gives up on it instead of resubscribing.
func permanent(err error) bool {
	return hasCode(err, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated, esdb.ErrorCodeUnsupportedFeature)
}
