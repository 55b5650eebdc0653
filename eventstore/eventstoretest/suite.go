// Package eventstoretest is the conformance suite every eventstore.Store
// adapter runs.
//
// # Usage
//
// An adapter's test calls Run with the features it supports and an Opener:
//
//	func TestConformance(t *testing.T) {
//		eventstoretest.Run(t, eventstoretest.Features{GapFreePositions: true, Reopen: true, Dedupe: true},
//			func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
//				dir := t.TempDir()
//				open := func() eventstore.Store {
//					s, err := bolt.Open(t.Context(), dir, bolt.Options{})
//					if err != nil {
//						t.Fatal(err)
//					}
//					t.Cleanup(func() { s.Close() })
//					return s
//				}
//				return open(), open
//			})
//	}
//
// # Shared stores
//
// Subtests run in parallel and use stream ids and keys that are unique to
// the run, so the suite also works against a shared server (EventStoreDB)
// whose log is not empty and that other subtests write to at the same time.
// No test assumes that the log is empty or that it is the only writer;
// gap-freedom is checked on the global log, whoever wrote the records.
package eventstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// Features are the capabilities of the adapter under test. Tests of a
// capability the adapter lacks are skipped.
type Features struct {
	// GapFreePositions: positions are 1, 2, 3, … with no holes. When
	// false (EventStoreDB, whose positions are byte offsets) positions
	// are only checked to be strictly increasing.
	GapFreePositions bool
	// Reopen: the Opener returns a reopen function, so data can be
	// checked to survive Close.
	Reopen bool
	// Dedupe: the store remembers every idempotency key forever and
	// across streams, exactly as Store.Append specifies (duplicates report
	// the original positions, partial duplicates fail). An adapter whose
	// deduplication is best effort leaves it false and the duplicate tests
	// are skipped.
	Dedupe bool
}

// Opener opens the store for one subtest. It is called once per subtest,
// with that subtest's t, and must register the store's cleanup (Close)
// with t.Cleanup; the suite may close the store itself first, so Close
// must tolerate being called twice.
//
// reopen opens a new Store on the same data after the suite has closed the
// previous one; it is nil when Features.Reopen is false. Errors are
// reported with t.Fatal.
type Opener func(t *testing.T) (s eventstore.Store, reopen func() eventstore.Store)

// Run runs the conformance suite against the stores open makes.
func Run(t *testing.T, f Features, open Opener) {
	nonce := make([]byte, 4)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatalf("random run id: %v", err)
	}
	s := &suite{f: f, open: open, run: hex.EncodeToString(nonce)}

	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Append/PositionsAndVersions", s.testPositionsAndVersions},
		{"Append/ExpectedVersion", s.testExpectedVersion},
		{"Append/Invalid", s.testAppendInvalid},
		{"Append/AllOrNothing", s.testAllOrNothing},
		{"Append/CancelledContext", s.testAppendCancelled},
		{"Append/Concurrent", s.testConcurrent},
		{"AppendMany/Mixed", s.testAppendManyMixed},
		{"AppendMany/Requires", s.testRequires},
		{"Dedupe/Retry", s.testDedupeRetry},
		{"Dedupe/AcrossStreams", s.testDedupeAcrossStreams},
		{"Dedupe/Partial", s.testDedupePartial},
		{"Dedupe/WithinAppend", s.testDedupeWithinAppend},
		{"Read/Paging", s.testReadPaging},
		{"Read/PastEnd", s.testReadPastEnd},
		{"Read/NotFound", s.testReadNotFound},
		{"Read/Invalid", s.testReadInvalid},
		{"Head", s.testHead},
		{"Subscribe/FromStart", s.testSubscribeFromStart},
		{"Subscribe/FromMiddle", s.testSubscribeFromMiddle},
		{"Subscribe/FromHead", s.testSubscribeFromHead},
		{"Subscribe/Live", s.testSubscribeLive},
		{"Subscribe/Cancel", s.testSubscribeCancel},
		{"Subscribe/ConsumerStops", s.testSubscribeConsumerStops},
		{"Persistence", s.testPersistence},
		{"Close", s.testClose},
		{"Close/InFlight", s.testCloseInFlight},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t)
		})
	}
}

// suite carries the state of one Run.
type suite struct {
	f    Features
	open Opener
	run  string        // random per Run, so ids are unique across runs on a shared server
	seq  atomic.Uint64 // makes ids unique within the run
}

// store opens a store for t.
func (s *suite) store(t *testing.T) eventstore.Store {
	t.Helper()
	st, _ := s.open(t)
	if st == nil {
		t.Fatal("Opener returned a nil Store")
	}
	return st
}

// id returns an identifier unique to this run, mentioning t's name.
func (s *suite) id(t *testing.T, what string) string {
	name := t.Name()
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, name)
	return fmt.Sprintf("est-%s-%d-%s-%s", s.run, s.seq.Add(1), name, what)
}

// stream returns a fresh stream id.
func (s *suite) stream(t *testing.T) string { return s.id(t, "stream") }

// keys returns n fresh idempotency keys.
func (s *suite) keys(t *testing.T, n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = s.id(t, "key")
	}
	return ks
}

// events returns one event per key.
func events(keys ...string) []eventstore.EventData {
	evs := make([]eventstore.EventData, len(keys))
	for i, k := range keys {
		evs[i] = event(k)
	}
	return evs
}

// event returns an event with the given key and a payload derived from it.
func event(key string) eventstore.EventData {
	return eventstore.EventData{Key: key, Type: "test.happened", Data: []byte(`{"key":"` + key + `"}`)}
}

// ctx returns a context that ends shortly before the test's deadline, so a
// hanging store fails the test with a message instead of killing the
// binary.
func ctx(t *testing.T) context.Context {
	c := t.Context()
	if d, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		c, cancel = context.WithDeadline(c, d.Add(-5*time.Second))
		t.Cleanup(cancel)
	}
	return c
}

func mustAppend(t *testing.T, st eventstore.Store, stream string, expected eventstore.Version, evs ...eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := st.Append(ctx(t), stream, expected, evs...)
	if err != nil {
		t.Fatalf("Append(%q, %d, %d events): %v", stream, expected, len(evs), err)
	}
	if res.Duplicate {
		t.Fatalf("Append(%q, %d, %d events): unexpected duplicate %+v", stream, expected, len(evs), res)
	}
	return res
}

func mustReadStream(t *testing.T, st eventstore.Store, stream string) []eventstore.Record {
	t.Helper()
	var all []eventstore.Record
	for from := eventstore.Version(0); ; {
		recs, err := st.ReadStream(ctx(t), stream, from, 1000)
		if err != nil {
			t.Fatalf("ReadStream(%q, %d): %v", stream, from, err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
		from = recs[len(recs)-1].Version + 1
	}
}

func mustHead(t *testing.T, st eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := st.Head(ctx(t))
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	return h
}

// readAllUntil reads the global log after `after` up to and including
// position until, and checks the order (and gap-freedom) of what it reads.
func (s *suite) readAllUntil(t *testing.T, st eventstore.Store, after, until eventstore.Position) []eventstore.Record {
	t.Helper()
	var all []eventstore.Record
	prev := after
	for prev < until {
		recs, err := st.ReadAll(ctx(t), prev, 500)
		if err != nil {
			t.Fatalf("ReadAll(%d): %v", prev, err)
		}
		if len(recs) == 0 {
			t.Fatalf("ReadAll(%d) returned nothing before reaching position %d", prev, until)
		}
		if len(recs) > 500 {
			t.Fatalf("ReadAll(%d, 500) returned %d records", prev, len(recs))
		}
		for _, r := range recs {
			s.checkNext(t, prev, r.Position)
			prev = r.Position
			all = append(all, r)
		}
	}
	return all
}

// checkNext reports an error unless next may follow prev in the log.
func (s *suite) checkNext(t *testing.T, prev, next eventstore.Position) bool {
	t.Helper()
	if next <= prev {
		t.Errorf("position %d follows %d: not strictly increasing", next, prev)
		return false
	}
	if s.f.GapFreePositions && next != prev+1 {
		t.Errorf("position %d follows %d: gap in the log", next, prev)
		return false
	}
	return true
}

// checkRecord reports an error unless r holds ev as version v of stream.
func checkRecord(t *testing.T, r eventstore.Record, stream string, v eventstore.Version, ev eventstore.EventData) {
	t.Helper()
	if r.Stream != stream || r.Version != v || r.Key != ev.Key || r.Type != ev.Type || !bytes.Equal(r.Data, ev.Data) {
		t.Errorf("record %+v, want stream %q version %d key %q type %q data %q", r, stream, v, ev.Key, ev.Type, ev.Data)
	}
	if r.Position == 0 {
		t.Errorf("record %q has position 0", r.Key)
	}
	if r.RecordedAt.IsZero() || r.RecordedAt.Location() != time.UTC {
		t.Errorf("record %q RecordedAt = %v, want a UTC time", r.Key, r.RecordedAt)
	}
}

// sameRecord reports whether a and b are the same stored record.
func sameRecord(a, b eventstore.Record) bool {
	return a.Position == b.Position && a.Stream == b.Stream && a.Version == b.Version && a.Key == b.Key &&
		a.Type == b.Type && bytes.Equal(a.Data, b.Data) && a.RecordedAt.Equal(b.RecordedAt)
}

// wantErr reports an error unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// checkUnwritten reports an error unless stream has exactly n records.
func checkStreamLen(t *testing.T, st eventstore.Store, stream string, n int) {
	t.Helper()
	v, err := st.StreamVersion(ctx(t), stream)
	switch {
	case n == 0:
		if !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("StreamVersion(%q) = %d, %v; want ErrStreamNotFound", stream, v, err)
		}
	case err != nil || v != eventstore.Version(n-1):
		t.Errorf("StreamVersion(%q) = %d, %v; want %d", stream, v, err, n-1)
	}
	if n > 0 {
		if got := len(mustReadStream(t, st, stream)); got != n {
			t.Errorf("stream %q has %d records, want %d", stream, got, n)
		}
	}
}
