package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vitals-hq/vitals/eventstore"
)

func TestExpectedRevision(t *testing.T) {
	tests := []struct {
		v    eventstore.Version
		want esdb.ExpectedRevision
		ok   bool
	}{
		{eventstore.AnyVersion, esdb.Any{}, true},
		{eventstore.NoStream, esdb.NoStream{}, true},
		{eventstore.StreamExists, esdb.StreamExists{}, true},
		{0, esdb.StreamRevision{Value: 0}, true},
		{41, esdb.StreamRevision{Value: 41}, true},
		{math.MaxInt64, esdb.StreamRevision{Value: math.MaxInt64}, true},
		{-4, nil, false},
		{math.MinInt64, nil, false},
	}
	for _, tt := range tests {
		got, ok := expectedRevision(tt.v)
		if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expectedRevision(%d) = %#v, %v; want %#v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func TestEventID(t *testing.T) {
	ns := uuid.MustParse(KeyNamespace)
	if want := uuid.NewSHA1(uuid.NameSpaceURL, []byte(keyNamespaceSeed)); ns != want {
		t.Fatalf("KeyNamespace = %s, but the UUID v5 of %q is %s", ns, keyNamespaceSeed, want)
	}
	// The derivation must never change: a retry after an upgrade has to
	// propose the ids of the original append.
	if got, want := eventID(ns, "crm/evt-1"), uuid.MustParse("5debc6b1-2252-5284-9958-88f34ca33a59"); got != want {
		t.Errorf("eventID(crm/evt-1) = %s, want %s", got, want)
	}
	keys := []string{"crm/evt-1", "crm/evt-2", "billing/evt-1", "", "ключ", "crm/evt-1 "}
	seen := make(map[uuid.UUID]string)
	for _, k := range keys {
		id := eventID(ns, k)
		if again := eventID(ns, k); again != id {
			t.Errorf("eventID(%q) is not stable: %s then %s", k, id, again)
		}
		if id.Version() != 5 || id.Variant() != uuid.RFC4122 {
			t.Errorf("eventID(%q) = %s: version %d variant %s, want an RFC 4122 version 5 UUID", k, id, id.Version(), id.Variant())
		}
		if other, dup := seen[id]; dup {
			t.Errorf("keys %q and %q have the same id %s", other, k, id)
		}
		seen[id] = k
	}
	if eventID(uuid.NameSpaceDNS, "crm/evt-1") == eventID(ns, "crm/evt-1") {
		t.Error("the namespace does not change the id")
	}
}

// coded is an error with a client error code: the client offers no way to
// build an *esdb.Error with a code other than ErrorCodeUnknown.
type coded esdb.ErrorCode

func (c coded) Error() string        { return fmt.Sprintf("esdb error code %d", int(c)) }
func (c coded) Code() esdb.ErrorCode { return esdb.ErrorCode(c) }

func TestTranslate(t *testing.T) {
	// esdb.FromError's bool is true only for a nil error, and it asserts
	// the type instead of using errors.As.
	if e, ok := esdb.FromError(nil); !ok || e != nil {
		t.Fatalf("esdb.FromError(nil) = %v, %v; the client changed, review translate", e, ok)
	}
	unknown, ok := esdb.FromError(io.ErrUnexpectedEOF)
	if ok || unknown.Code() != esdb.ErrorCodeUnknown {
		t.Fatalf("esdb.FromError(err) = %v, %v; the client changed, review translate", unknown, ok)
	}

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"wrong expected version", coded(esdb.ErrorCodeWrongExpectedVersion), eventstore.ErrWrongVersion},
		{"wrapped wrong expected version", fmt.Errorf("append: %w", coded(esdb.ErrorCodeWrongExpectedVersion)), eventstore.ErrWrongVersion},
		{"not found", coded(esdb.ErrorCodeResourceNotFound), eventstore.ErrStreamNotFound},
		{"deleted", coded(esdb.ErrorCodeStreamDeleted), eventstore.ErrStreamNotFound},
		{"unavailable", coded(esdb.ErrorUnavailable), eventstore.ErrUnavailable},
		{"not leader", coded(esdb.ErrorCodeNotLeader), eventstore.ErrUnavailable},
		{"deadline", coded(esdb.ErrorCodeDeadlineExceeded), eventstore.ErrUnavailable},
		{"connection closed", coded(esdb.ErrorCodeConnectionClosed), eventstore.ErrUnavailable},
		{"aborted", coded(esdb.ErrorAborted), eventstore.ErrUnavailable},
		{"access denied", coded(esdb.ErrorCodeAccessDenied), eventstore.ErrInvalid},
		{"unauthenticated", coded(esdb.ErrorCodeUnauthenticated), eventstore.ErrInvalid},
		{"maximum append size", fmt.Errorf("append: %w", status.Error(codes.InvalidArgument, "Maximum Append Size of 1048576 Exceeded.")), eventstore.ErrInvalid},
		{"internal", coded(esdb.ErrorCodeInternalServer), eventstore.ErrUnavailable},
		{"client's unknown error", unknown, eventstore.ErrUnavailable},
		{"wrapped client error", fmt.Errorf("could not send: %w", unknown), eventstore.ErrUnavailable},
		{"not a client error", io.ErrUnexpectedEOF, eventstore.ErrUnavailable},
	}
	sentinels := []error{eventstore.ErrWrongVersion, eventstore.ErrStreamNotFound, eventstore.ErrUnavailable,
		eventstore.ErrInvalid, eventstore.ErrClosed, eventstore.ErrPartialDuplicate}
	for _, tt := range tests {
		got := translate("append to \"s\"", tt.err)
		if !errors.Is(got, tt.want) {
			t.Errorf("%s: translate = %v, want %v", tt.name, got, tt.want)
		}
		for _, s := range sentinels {
			if s != tt.want && errors.Is(got, s) {
				t.Errorf("%s: translate = %v, also matches %v", tt.name, got, s)
			}
		}
		if !errors.Is(got, tt.err) {
			t.Errorf("%s: translate = %v, lost the cause", tt.name, got)
		}
	}
	if err := translate("read", nil); err != nil {
		t.Errorf("translate(nil) = %v", err)
	}
}

func TestPermanent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{coded(esdb.ErrorCodeAccessDenied), true},
		{fmt.Errorf("subscribe: %w", coded(esdb.ErrorCodeUnauthenticated)), true},
		{coded(esdb.ErrorCodeUnsupportedFeature), true},
		{coded(esdb.ErrorUnavailable), false},
		{coded(esdb.ErrorCodeNotLeader), false},
		{io.EOF, false},
		{nil, false},
	} {
		if got := permanent(tt.err); got != tt.want {
			t.Errorf("permanent(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestPositions(t *testing.T) {
	offsets := []uint64{0, 1, 113, 114, 4096, 1 << 40, maxLogOffset}
	var prev eventstore.Position
	for i, c := range offsets {
		p, ok := toPosition(esdb.Position{Commit: c, Prepare: c})
		if !ok || p != eventstore.Position(2*c+1) {
			t.Fatalf("toPosition(%d) = %d, %v; want %d", c, p, ok, 2*c+1)
		}
		if i > 0 && p <= prev {
			t.Errorf("offset %d → position %d, not after %d", c, p, prev)
		}
		prev = p
		// The record itself and "just before it" both start the server
		// at its offset, a record boundary.
		for _, after := range []eventstore.Position{p, p - 1} {
			var want esdb.AllPosition = esdb.Position{Commit: c, Prepare: c}
			if after == 0 {
				want = esdb.Start{} // offset 0 is the start of the log
			}
			if got := startOf(after); got != want {
				t.Errorf("startOf(%d) = %#v, want %#v", after, got, want)
			}
		}
	}
	if got := startOf(0); got != (esdb.Start{}) {
		t.Errorf("startOf(0) = %#v, want the start of $all", got)
	}
	for _, c := range []uint64{maxLogOffset + 1, math.MaxUint64} {
		if p, ok := toPosition(esdb.Position{Commit: c, Prepare: c}); ok {
			t.Errorf("toPosition(%d) = %d, want no position", c, p)
		}
	}
}

func TestMetadata(t *testing.T) {
	for _, key := range []string{"crm/evt-1", `quote " and \ backslash`, "ключ/😀", "a\nb"} {
		got, ok := decodeMeta(encodeMeta(key))
		if !ok || got != key {
			t.Errorf("decodeMeta(encodeMeta(%q)) = %q, %v", key, got, ok)
		}
	}
	if got := string(encodeMeta("k")); got != `{"vitals":1,"key":"k"}` {
		t.Errorf("encodeMeta(k) = %s", got)
	}
	// Metadata Vitals did not write marks an event that is not a record.
	for _, m := range []string{"", "{}", `{"key":"k"}`, `{"vitals":2,"key":"k"}`, `{"vitals":1,"key":""}`, `{"vitals":1`, `[1]`} {
		if key, ok := decodeMeta([]byte(m)); ok {
			t.Errorf("decodeMeta(%q) = %q, want not a Vitals record", m, key)
		}
	}
}

func TestContentType(t *testing.T) {
	for _, tt := range []struct {
		data string
		want esdb.ContentType
	}{
		{`{"specversion":"1.0"}`, esdb.ContentTypeJson},
		{`[1,2]`, esdb.ContentTypeJson},
		{``, esdb.ContentTypeBinary},
		{`xxxx`, esdb.ContentTypeBinary},
		{`{"a":`, esdb.ContentTypeBinary},
	} {
		if got := contentType([]byte(tt.data)); got != tt.want {
			t.Errorf("contentType(%q) = %d, want %d", tt.data, got, tt.want)
		}
	}
}

func TestToRecord(t *testing.T) {
	created := time.Date(2026, 3, 4, 5, 6, 7, 800, time.FixedZone("CET", 3600))
	ev := func(stream string, meta []byte, pos uint64) *esdb.RecordedEvent {
		return &esdb.RecordedEvent{
			EventID: uuid.New(), EventType: "nps.responded", StreamID: stream, EventNumber: 7,
			Position: esdb.Position{Commit: pos, Prepare: pos}, CreatedDate: created,
			Data: []byte(`{"score":9}`), UserMetadata: meta,
		}
	}
	r, ok, err := toRecord("vitals-", ev("vitals-account-acme", encodeMeta("crm/1"), 1000))
	want := eventstore.Record{Position: 2001, Stream: "account-acme", Version: 7, Key: "crm/1", Type: "nps.responded",
		Data: []byte(`{"score":9}`), RecordedAt: created.UTC()}
	if err != nil || !ok || !reflect.DeepEqual(r, want) {
		t.Errorf("toRecord = %+v, %v, %v; want %+v", r, ok, err, want)
	}
	if r.RecordedAt.Location() != time.UTC {
		t.Errorf("RecordedAt in %v, want UTC", r.RecordedAt.Location())
	}

	for _, tt := range []struct {
		name string
		ev   *esdb.RecordedEvent
	}{
		{"nil", nil},
		{"system stream", ev("$stats-127.0.0.1:2113", encodeMeta("crm/1"), 1000)},
		{"metadata stream", ev("$$vitals-account-acme", encodeMeta("crm/1"), 1000)},
		{"other application", ev("orders-1", encodeMeta("crm/1"), 1000)},
		{"no Vitals metadata", ev("vitals-account-acme", []byte(`{"$correlationId":"x"}`), 1000)},
	} {
		if r, ok, err := toRecord("vitals-", tt.ev); ok || err != nil {
			t.Errorf("%s: toRecord = %+v, %v, %v; want skipped", tt.name, r, ok, err)
		}
	}
	if _, _, err := toRecord("vitals-", ev("vitals-a", encodeMeta("k"), math.MaxUint64)); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Errorf("toRecord of an event without a position: %v, want ErrUnavailable", err)
	}
}

// TestOffline checks what a Store does without talking to a server: the
// client connects lazily, so nothing here dials.
func TestOffline(t *testing.T) {
	s, err := newStore("esdb://127.0.0.1:1?tls=false", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := s.ReadStream(ctx, "s", 0, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadStream with limit 0: %v, want ErrInvalid", err)
	}
	if _, err := s.ReadStream(ctx, "s", -1, 10); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadStream from -1: %v, want ErrInvalid", err)
	}
	if _, err := s.ReadAll(ctx, 0, 0); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadAll with limit 0: %v, want ErrInvalid", err)
	}
	if _, err := s.Append(ctx, "", eventstore.AnyVersion, eventstore.EventData{Key: "k", Type: "t"}); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("Append to an empty stream id: %v, want ErrInvalid", err)
	}
	outs, err := s.AppendMany(ctx, []eventstore.AppendRequest{{Stream: "s", Expected: -7, Events: []eventstore.EventData{{Key: "k", Type: "t"}}}})
	if err != nil || len(outs) != 1 || !errors.Is(outs[0].Err, eventstore.ErrInvalid) {
		t.Errorf("AppendMany of an invalid request: %+v, %v; want one ErrInvalid outcome", outs, err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Append(cancelled, "s", eventstore.AnyVersion, eventstore.EventData{Key: "k", Type: "t"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context: %v", err)
	}
	n := 0
	for _, err := range s.Subscribe(cancelled, 0) {
		n++
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Subscribe with a cancelled context yielded %v", err)
		}
	}
	if n != 1 {
		t.Errorf("Subscribe with a cancelled context yielded %d times, want once", n)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(ctx, "s", eventstore.AnyVersion, eventstore.EventData{Key: "k", Type: "t"}); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Append after Close: %v", err)
	}
	if _, err := s.AppendMany(ctx, nil); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("AppendMany after Close: %v", err)
	}
	if _, err := s.ReadStream(ctx, "s", 0, 1); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("ReadStream after Close: %v", err)
	}
	if _, err := s.StreamVersion(ctx, "s"); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("StreamVersion after Close: %v", err)
	}
	if _, err := s.ReadAll(ctx, 0, 1); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("ReadAll after Close: %v", err)
	}
	if _, err := s.Head(ctx); !errors.Is(err, eventstore.ErrClosed) {
		t.Errorf("Head after Close: %v", err)
	}
	n = 0
	for _, err := range s.Subscribe(ctx, 0) {
		n++
		if !errors.Is(err, eventstore.ErrClosed) {
			t.Errorf("Subscribe after Close yielded %v", err)
		}
	}
	if n != 1 {
		t.Errorf("Subscribe after Close yielded %d times, want once", n)
	}
}

func TestNewStoreOptions(t *testing.T) {
	if _, err := newStore("http://nope", Options{}); err == nil {
		t.Error("newStore accepted an http URL")
	}
	if _, err := newStore("esdb://127.0.0.1:1?tls=false", Options{StreamPrefix: "$vitals-"}); err == nil {
		t.Error("newStore accepted a system stream prefix")
	}
	s, err := newStore("esdb://127.0.0.1:1?tls=false", Options{RetryMin: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.prefix != DefaultStreamPrefix || s.name("account-acme") != "vitals-account-acme" || s.window != 1000 ||
		s.retry != [2]time.Duration{time.Second, 10 * time.Second} {
		t.Errorf("defaults: prefix %q window %d retry %v", s.prefix, s.window, s.retry)
	}
}
