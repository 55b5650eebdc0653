// Package eventstore defines the append-only event log Vitals is built on.
//
// # Model
//
// The log is a single, global sequence of records. Each record has a
// Position that grows in commit order and is never reused, and belongs to
// exactly one stream (for example "account-acme"), in which it has a
// Version (0, 1, 2, …). Every record carries an idempotency Key.
//
// What else holds depends on the store (see Guarantees): on the embedded
// store positions are dense (1, 2, 3, …, never skipped), AppendMany is one
// atomic commit and a key is stored at most once, forever; on KurrentDB
// positions are log offsets (they grow but skip), AppendMany commits each
// request on its own, and deduplication is best effort.
//
// # Adapters
//
// Adapters live in sub-packages (bolt, esdb). Every adapter must pass the
// conformance suite in eventstoretest. Adapters translate their own errors
// into the sentinel errors of this package, so callers test them with
// errors.Is.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"
)

// Position is a record's place in the global log. The first record has
// position 1; 0 means "before the first record".
type Position uint64

// Version is a record's index inside its stream: the first record of a
// stream has version 0.
type Version int64

// Expected versions with a special meaning for Append. Any other value v ≥ 0
// means "the stream's last record has version v".
const (
	// AnyVersion skips the concurrency check.
	AnyVersion Version = -1
	// NoStream requires that the stream does not exist yet.
	NoStream Version = -2
	// StreamExists requires that the stream has at least one record.
	StreamExists Version = -3
)

// Sentinel errors. Adapters wrap them (fmt.Errorf("…: %w", ErrX)) so callers
// test with errors.Is.
var (
	// ErrWrongVersion: the stream's version did not match the expected one.
	ErrWrongVersion = errors.New("eventstore: wrong expected version")
	// ErrStreamNotFound: the stream has no records.
	ErrStreamNotFound = errors.New("eventstore: stream not found")
	// ErrRequiredStreamMissing: a stream an AppendRequest requires does not
	// exist (see MissingStreamError for which).
	ErrRequiredStreamMissing = errors.New("eventstore: required stream missing")
	// ErrPartialDuplicate: some but not all keys of one append were stored before.
	ErrPartialDuplicate = errors.New("eventstore: some keys of the append are already stored")
	// ErrInvalid: the request itself is malformed (empty stream, no events, empty key, …).
	ErrInvalid = errors.New("eventstore: invalid request")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("eventstore: store closed")
	// ErrUnavailable: the store cannot serve the request now (disk full, I/O
	// error, server unreachable); the request may be retried later. Nothing
	// of the failed request was written.
	ErrUnavailable = errors.New("eventstore: unavailable")
	// ErrCorrupt: a stored record fails its checksum or cannot be decoded
	// (see CorruptError for where). Retrying does not help: the record is
	// damaged on disk and must be restored from a backup.
	ErrCorrupt = errors.New("eventstore: corrupt record")
)

// CorruptError names the positions of stored records that failed
// verification. It matches ErrCorrupt. Reads stop at the first damaged
// record, so a read reports one position; a full verification reports all.
type CorruptError struct {
	Positions []Position
	// Reason says what failed for the first position (for example
	// "checksum mismatch").
	Reason string
}

func (e *CorruptError) Error() string {
	var b strings.Builder
	b.WriteString("eventstore: corrupt record")
	if len(e.Positions) > 1 {
		b.WriteString("s")
	}
	b.WriteString(" at position")
	if len(e.Positions) > 1 {
		b.WriteString("s")
	}
	b.WriteString(" ")
	b.WriteString(FormatPositions(e.Positions, 20))
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// FormatPositions lists positions separated by commas, at most max of them
// followed by "and N more".
func FormatPositions(ps []Position, max int) string {
	var b strings.Builder
	for i, p := range ps {
		if i == max {
			fmt.Fprintf(&b, " and %d more", len(ps)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatUint(uint64(p), 10))
	}
	return b.String()
}

// EventData is one event to append.
type EventData struct {
	// Key is the idempotency key (for CloudEvents: source and id). Required.
	Key string
	// Type is the event type, e.g. "nps.responded". Required.
	Type string
	// Data is the encoded event (Vitals stores the whole CloudEvent JSON).
	Data []byte
}

// Record is a stored event.
type Record struct {
	Position   Position
	Stream     string
	Version    Version
	Key        string
	Type       string
	Data       []byte
	RecordedAt time.Time // when the store committed it (UTC)
}

// AppendResult tells where an append landed.
type AppendResult struct {
	// First and Last are the positions of the first and last event of the
	// append. For a duplicate append they are the positions the events
	// were originally stored at.
	First, Last Position
	// Version is the stream's version after the append (for a duplicate:
	// the version of the original last event).
	Version Version
	// Duplicate is true when every key was stored before: nothing was
	// written.
	Duplicate bool
}

// AppendRequest is one independent append for Store.AppendMany.
type AppendRequest struct {
	Stream   string
	Expected Version
	Events   []EventData
	// Requires names streams that must exist when this request is applied
	// (after the earlier requests of the same AppendMany); otherwise the
	// request fails with a *MissingStreamError and writes nothing. Vitals
	// uses it for references to managers, which may join earlier in the
	// same batch.
	Requires []string
}

// MissingStreamError is the outcome of an AppendRequest whose required
// stream does not exist. It matches ErrRequiredStreamMissing.
type MissingStreamError struct {
	Stream string
}

func (e *MissingStreamError) Error() string {
	return "eventstore: required stream " + strconv.Quote(e.Stream) + " does not exist"
}

// Unwrap makes errors.Is(err, ErrRequiredStreamMissing) true.
func (e *MissingStreamError) Unwrap() error { return ErrRequiredStreamMissing }

// AppendOutcome is the result of one AppendRequest: Err is nil or one of the
// per-request errors of Append (ErrWrongVersion, ErrPartialDuplicate,
// ErrInvalid) or a *MissingStreamError. Idempotency is checked first, then
// the expected version, then the required streams.
type AppendOutcome struct {
	Result AppendResult
	Err    error
}

// Guarantees are what a store promises beyond the minimum of the Store
// contract. The zero value promises nothing extra, so an unknown store (or
// a wrapper that does not forward Guarantees) is treated as the weakest.
type Guarantees struct {
	// AtomicBatch: AppendMany commits all its requests in one atomic
	// commit. Without it, each request is atomic on its own and a failed
	// call may leave a prefix of the batch stored (*PartialBatchError).
	AtomicBatch bool
	// DensePositions: positions are 1, 2, 3, … with no holes, so the
	// difference of two positions counts records. Without it positions
	// only grow, and a difference is a distance, not a count.
	DensePositions bool
	// DurableKeys: every key is remembered forever and across streams,
	// so a retry is always a duplicate. Without it deduplication is best
	// effort and readers dedupe by key.
	DurableKeys bool
}

// Guaranteer is implemented by stores that state their Guarantees.
type Guaranteer interface {
	Guarantees() Guarantees
}

// GuaranteesOf returns what s guarantees (the zero value when s does not
// say).
func GuaranteesOf(s Store) Guarantees {
	if g, ok := s.(Guaranteer); ok {
		return g.Guarantees()
	}
	return Guarantees{}
}

// PartialBatchError is the whole-call error of an AppendMany on a store
// without Guarantees.AtomicBatch when the requests before the failing one
// were stored: Outcomes are theirs (requests[:len(Outcomes)]), and nothing
// of the later requests was written. It matches Err (for example
// ErrUnavailable). Retrying the whole batch is safe where the store
// recognises the stored requests as duplicates.
type PartialBatchError struct {
	Outcomes []AppendOutcome
	Err      error
}

func (e *PartialBatchError) Error() string {
	return fmt.Sprintf("eventstore: %d requests of the batch were stored before it failed: %v", len(e.Outcomes), e.Err)
}

// Unwrap makes errors.Is(err, e.Err) true.
func (e *PartialBatchError) Unwrap() error { return e.Err }

// Store is an append-only event log. Implementations are safe for concurrent
// use.
type Store interface {
	// Append atomically appends events to stream: all of them or none. It
	// returns only once the events are durable.
	//
	// Idempotency is checked before the expected version: if every event's
	// key is already stored, nothing is written and the result has
	// Duplicate set and the original positions. A key that appears twice
	// in one append counts as stored by its first occurrence: the later
	// occurrences are dropped, so Append(x, y, x) stores x and y, and
	// repeating it is a duplicate. If some but not all keys are stored
	// before, the append fails with ErrPartialDuplicate and writes nothing.
	//
	// Errors: ErrInvalid (empty stream or key, no events, Expected < -3,
	// or a request the store can never accept: over a server's size
	// limits, to a stream deleted on the server, access denied),
	// ErrWrongVersion, ErrPartialDuplicate, ErrUnavailable, ErrClosed, or
	// the context's error (the append may still have been committed).
	Append(ctx context.Context, stream string, expected Version, events ...EventData) (AppendResult, error)

	// AppendMany applies requests in order, each atomically and
	// independently of the others as if by Append. Per-request failures
	// are reported in the outcomes; the returned error is for the whole
	// call (ErrUnavailable, ErrClosed, the context's error) and then no
	// outcome is valid.
	//
	// On a store with Guarantees.AtomicBatch the requests are durable
	// together: after a whole-call error none of them is stored.
	// Otherwise each request is durable on its own, and a whole-call
	// error after some requests were stored is a *PartialBatchError that
	// holds their outcomes.
	AppendMany(ctx context.Context, reqs []AppendRequest) ([]AppendOutcome, error)

	// ReadStream returns up to limit records of stream with version ≥ from,
	// oldest first. Reading past the end returns no records and no error.
	//
	// Errors: ErrStreamNotFound, ErrInvalid (limit ≤ 0, from < 0),
	// ErrUnavailable, ErrClosed.
	ReadStream(ctx context.Context, stream string, from Version, limit int) ([]Record, error)

	// StreamVersion returns the version of the stream's last record.
	//
	// Errors: ErrStreamNotFound, ErrUnavailable, ErrClosed.
	StreamVersion(ctx context.Context, stream string) (Version, error)

	// ReadAll returns up to limit records with position > after, in
	// position order. Reading past the end returns no records and no error.
	//
	// Errors: ErrInvalid (limit ≤ 0), ErrCorrupt (a *CorruptError naming
	// the first damaged record; none of the page is returned),
	// ErrUnavailable, ErrClosed.
	ReadAll(ctx context.Context, after Position, limit int) ([]Record, error)

	// Subscribe yields every record with position > after, in order and
	// without gaps or repeats: first the stored ones (catch-up), then new
	// ones as they commit (live). It ends when ctx is done (yielding
	// ctx.Err()), when the consumer stops, or after yielding an error
	// (ErrClosed, ErrUnavailable, or ErrCorrupt after every record before
	// the damaged one).
	Subscribe(ctx context.Context, after Position) iter.Seq2[Record, error]

	// Head returns the position of the last committed record (0 when the
	// log is empty).
	//
	// Errors: ErrUnavailable, ErrClosed.
	Head(ctx context.Context) (Position, error)

	// Close releases the store. Appends in flight finish or fail with
	// ErrClosed; subscriptions end with ErrClosed.
	Close() error
}
