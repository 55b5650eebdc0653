package eventstoretest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

func (s *suite) testPositionsAndVersions(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	evs := events(s.keys(t, 5)...)
	evs[1].Data = bytes.Repeat([]byte("x"), 64<<10) // a large payload
	evs[2].Data = nil                               // and an empty one
	evs[3].Type = "other.type"

	r1 := mustAppend(t, st, stream, eventstore.NoStream, evs[:3]...)
	if r1.Version != 2 || r1.First == 0 || r1.Last <= r1.First {
		t.Errorf("first append: %+v, want version 2 and First < Last", r1)
	}
	if s.f.GapFreePositions && r1.Last != r1.First+2 {
		t.Errorf("first append: First %d Last %d, want 3 consecutive positions", r1.First, r1.Last)
	}
	r2 := mustAppend(t, st, stream, 2, evs[3:]...)
	if r2.Version != 4 || r2.First <= r1.Last || r2.Last <= r2.First {
		t.Errorf("second append: %+v after %+v", r2, r1)
	}
	if s.f.GapFreePositions && r2.Last != r2.First+1 {
		t.Errorf("second append: First %d Last %d, want 2 consecutive positions", r2.First, r2.Last)
	}

	recs := mustReadStream(t, st, stream)
	if len(recs) != 5 {
		t.Fatalf("ReadStream: %d records, want 5", len(recs))
	}
	for i, r := range recs {
		checkRecord(t, r, stream, eventstore.Version(i), evs[i])
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Errorf("record %d position %d ≤ previous %d", i, r.Position, recs[i-1].Position)
		}
	}
	if recs[0].Position != r1.First || recs[2].Position != r1.Last || recs[3].Position != r2.First || recs[4].Position != r2.Last {
		t.Errorf("stored positions %d %d %d %d, append results %+v %+v",
			recs[0].Position, recs[2].Position, recs[3].Position, recs[4].Position, r1, r2)
	}
	if s.f.GapFreePositions {
		for i, r := range recs[:3] {
			if r.Position != r1.First+eventstore.Position(i) {
				t.Errorf("record %d at position %d, want %d", i, r.Position, r1.First+eventstore.Position(i))
			}
		}
	}
	if v, err := st.StreamVersion(ctx(t), stream); err != nil || v != 4 {
		t.Errorf("StreamVersion = %d, %v; want 4", v, err)
	}
	if h := mustHead(t, st); h < r2.Last {
		t.Errorf("Head = %d, below the last append's position %d", h, r2.Last)
	}

	// The global log holds the same records at the same positions.
	all := s.readAllUntil(t, st, r1.First-1, r2.Last)
	var mine []eventstore.Record
	for _, r := range all {
		if r.Stream == stream {
			mine = append(mine, r)
		}
	}
	if len(mine) != len(recs) {
		t.Fatalf("ReadAll found %d records of the stream, want %d", len(mine), len(recs))
	}
	for i := range mine {
		if !sameRecord(mine[i], recs[i]) {
			t.Errorf("ReadAll record %+v, ReadStream record %+v", mine[i], recs[i])
		}
	}
}

func (s *suite) testExpectedVersion(t *testing.T) {
	st := s.store(t)
	tests := []struct {
		name     string
		existing int // events in the stream before the append
		expected eventstore.Version
		ok       bool
	}{
		{"new/Any", 0, eventstore.AnyVersion, true},
		{"new/NoStream", 0, eventstore.NoStream, true},
		{"new/StreamExists", 0, eventstore.StreamExists, false},
		{"new/0", 0, 0, false},
		{"new/3", 0, 3, false},
		{"existing/Any", 2, eventstore.AnyVersion, true},
		{"existing/NoStream", 2, eventstore.NoStream, false},
		{"existing/StreamExists", 2, eventstore.StreamExists, true},
		{"existing/exact", 2, 1, true},
		{"existing/behind", 2, 0, false},
		{"existing/ahead", 2, 2, false},
		{"existing/far-ahead", 2, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stream := s.stream(t)
			if tt.existing > 0 {
				mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, tt.existing)...)...)
			}
			res, err := st.Append(ctx(t), stream, tt.expected, events(s.keys(t, 2)...)...)
			if !tt.ok {
				if !errors.Is(err, eventstore.ErrWrongVersion) {
					t.Errorf("Append: %+v, %v; want ErrWrongVersion", res, err)
				}
				checkStreamLen(t, st, stream, tt.existing)
				return
			}
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if want := eventstore.Version(tt.existing + 1); res.Version != want || res.Duplicate {
				t.Errorf("Append: %+v, want version %d", res, want)
			}
			checkStreamLen(t, st, stream, tt.existing+2)
		})
	}
}

func (s *suite) testAppendInvalid(t *testing.T) {
	st := s.store(t)
	good := func() eventstore.EventData { return event(s.id(t, "key")) }
	tests := []struct {
		name     string
		stream   string
		expected eventstore.Version
		events   []eventstore.EventData
	}{
		{"empty stream", "", eventstore.AnyVersion, []eventstore.EventData{good()}},
		{"no events", s.stream(t), eventstore.AnyVersion, nil},
		{"empty events", s.stream(t), eventstore.AnyVersion, []eventstore.EventData{}},
		{"empty key", s.stream(t), eventstore.AnyVersion, []eventstore.EventData{{Type: "t", Data: []byte("{}")}}},
		{"empty type", s.stream(t), eventstore.AnyVersion, []eventstore.EventData{{Key: s.id(t, "key"), Data: []byte("{}")}}},
		{"expected below -3", s.stream(t), -4, []eventstore.EventData{good()}},
		{"one bad event among good ones", s.stream(t), eventstore.AnyVersion, []eventstore.EventData{good(), {Type: "t"}, good()}},
	}
	for _, tt := range tests {
		res, err := st.Append(ctx(t), tt.stream, tt.expected, tt.events...)
		if !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: Append = %+v, %v; want ErrInvalid", tt.name, res, err)
		}
		if tt.stream != "" {
			checkStreamLen(t, st, tt.stream, 0)
		}
	}
	// The good events of a rejected append were not stored: they append
	// normally afterwards.
	last := tests[len(tests)-1]
	mustAppend(t, st, last.stream, eventstore.NoStream, last.events[0], last.events[2])
}

func (s *suite) testAllOrNothing(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 2)...)...)
	before := mustHead(t, st)

	// A conflicting append of many events writes none of them.
	failed := events(s.keys(t, 50)...)
	if _, err := st.Append(ctx(t), stream, 0, failed...); !errors.Is(err, eventstore.ErrWrongVersion) {
		t.Fatalf("Append with a stale version: %v, want ErrWrongVersion", err)
	}
	checkStreamLen(t, st, stream, 2)

	// None of its keys is stored: the same events append normally.
	res := mustAppend(t, st, stream, 1, failed...)
	if res.Version != 51 {
		t.Errorf("Append: %+v, want version 51", res)
	}
	for _, r := range s.readAllUntil(t, st, before, res.Last) {
		if r.Stream == stream && r.Position < res.First {
			t.Errorf("record %+v written between the failed and the good append", r)
		}
	}
}

func (s *suite) testAppendCancelled(t *testing.T) {
	st := s.store(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	stream := s.stream(t)
	res, err := st.Append(c, stream, eventstore.AnyVersion, events(s.keys(t, 1)...)...)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Append with a cancelled context = %+v, %v; want context.Canceled", res, err)
	}
	outs, err := st.AppendMany(c, []eventstore.AppendRequest{{Stream: stream, Expected: eventstore.AnyVersion, Events: events(s.keys(t, 1)...)}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AppendMany with a cancelled context = %+v, %v; want context.Canceled", outs, err)
	}
	checkStreamLen(t, st, stream, 0)
}

// testAppendManyMixed sends one AppendMany whose requests succeed, fail and
// depend on each other.
func (s *suite) testAppendManyMixed(t *testing.T) {
	st := s.store(t)
	a, b, c, d := s.stream(t), s.stream(t), s.stream(t), s.stream(t)
	k := s.keys(t, 12)
	mustAppend(t, st, d, eventstore.NoStream, events(k[11])...) // stored before the call
	tests := []struct {
		req     eventstore.AppendRequest
		err     error
		version eventstore.Version
		dupOf   int  // ≥ 0: a duplicate of that request
		dedupe  bool // needs Features.Dedupe
	}{
		/* 0 creates a      */ {req: eventstore.AppendRequest{Stream: a, Expected: eventstore.NoStream, Events: events(k[0], k[1])}, version: 1, dupOf: -1},
		/* 1 sees request 0 */ {req: eventstore.AppendRequest{Stream: a, Expected: 1, Events: events(k[2])}, version: 2, dupOf: -1},
		/* 2 stale after 1  */ {req: eventstore.AppendRequest{Stream: a, Expected: 1, Events: events(k[3])}, err: eventstore.ErrWrongVersion},
		/* 3 b not there    */ {req: eventstore.AppendRequest{Stream: b, Expected: eventstore.StreamExists, Events: events(k[4])}, err: eventstore.ErrWrongVersion},
		/* 4 creates b      */ {req: eventstore.AppendRequest{Stream: b, Expected: eventstore.NoStream, Events: events(k[5], k[6])}, version: 1, dupOf: -1},
		/* 5 no stream      */ {req: eventstore.AppendRequest{Stream: "", Expected: eventstore.AnyVersion, Events: events(k[7])}, err: eventstore.ErrInvalid},
		/* 6 no events      */ {req: eventstore.AppendRequest{Stream: c, Expected: eventstore.AnyVersion, Events: []eventstore.EventData{}}, err: eventstore.ErrInvalid},
		/* 7 partial dup    */ {req: eventstore.AppendRequest{Stream: c, Expected: eventstore.AnyVersion, Events: events(k[8], k[2])}, err: eventstore.ErrPartialDuplicate, dedupe: true},
		/* 8 dup of 0       */ {req: eventstore.AppendRequest{Stream: a, Expected: eventstore.NoStream, Events: events(k[0], k[1])}, version: 1, dupOf: 0, dedupe: true},
		/* 9 appends to d   */ {req: eventstore.AppendRequest{Stream: d, Expected: 0, Events: events(k[9])}, version: 1, dupOf: -1},
		/* 10 creates c     */ {req: eventstore.AppendRequest{Stream: c, Expected: eventstore.NoStream, Events: events(k[10], k[8])}, version: 1, dupOf: -1},
	}
	var (
		reqs []eventstore.AppendRequest
		orig []int // index in tests of each request sent
	)
	for i, tt := range tests {
		if tt.dedupe && !s.f.Dedupe {
			continue
		}
		reqs = append(reqs, tt.req)
		orig = append(orig, i)
	}
	outs, err := st.AppendMany(ctx(t), reqs)
	if err != nil {
		t.Fatalf("AppendMany: %v", err)
	}
	if len(outs) != len(reqs) {
		t.Fatalf("AppendMany: %d outcomes for %d requests", len(outs), len(reqs))
	}
	byTest := make(map[int]eventstore.AppendOutcome)
	var prev eventstore.Position
	for j, o := range outs {
		i, tt := orig[j], tests[orig[j]]
		byTest[i] = o
		switch {
		case tt.err != nil:
			if !errors.Is(o.Err, tt.err) {
				t.Errorf("request %d: %+v, %v; want %v", i, o.Result, o.Err, tt.err)
			}
		case o.Err != nil:
			t.Errorf("request %d: %v", i, o.Err)
		case tt.dupOf >= 0:
			if want := byTest[tt.dupOf].Result; !o.Result.Duplicate || o.Result.First != want.First || o.Result.Last != want.Last || o.Result.Version != want.Version {
				t.Errorf("request %d: %+v, want a duplicate of request %d: %+v", i, o.Result, tt.dupOf, want)
			}
		default:
			if o.Result.Duplicate || o.Result.Version != tt.version {
				t.Errorf("request %d: %+v, want version %d", i, o.Result, tt.version)
			}
			// Requests are applied in order.
			if o.Result.First <= prev || o.Result.Last < o.Result.First {
				t.Errorf("request %d: positions %d..%d after %d", i, o.Result.First, o.Result.Last, prev)
			}
			prev = o.Result.Last
		}
	}
	checkStreamLen(t, st, a, 3)
	checkStreamLen(t, st, b, 2)
	checkStreamLen(t, st, d, 2)
	checkStreamLen(t, st, c, 2)
	// The partial duplicate wrote nothing: k[8] was stored by request 10.
	if recs := mustReadStream(t, st, c); len(recs) == 2 {
		checkRecord(t, recs[0], c, 0, event(k[10]))
		checkRecord(t, recs[1], c, 1, event(k[8]))
	}
	if recs := mustReadStream(t, st, a); len(recs) == 3 {
		for i, key := range []string{k[0], k[1], k[2]} {
			checkRecord(t, recs[i], a, eventstore.Version(i), event(key))
		}
	}
}

// testConcurrent runs many appenders at once and checks the log they leave.
func (s *suite) testConcurrent(t *testing.T) {
	st := s.store(t)
	const (
		workers = 16
		rounds  = 12
	)
	shared := []string{s.stream(t), s.stream(t)}
	contended := s.stream(t)
	before := mustHead(t, st)

	type appended struct {
		keys []string
		res  eventstore.AppendResult
	}
	var (
		mu   sync.Mutex
		done []appended
		wg   sync.WaitGroup
	)
	record := func(keys []string, res eventstore.AppendResult) {
		mu.Lock()
		done = append(done, appended{keys, res})
		mu.Unlock()
	}
	for w := range workers {
		wg.Go(func() {
			own := s.stream(t)
			for r := range rounds {
				keys := s.keys(t, 1+(w+r)%3)
				var (
					res eventstore.AppendResult
					err error
				)
				switch w % 4 {
				case 0: // own stream, exact versions
					exp := eventstore.NoStream
					if r > 0 {
						v, verr := st.StreamVersion(ctx(t), own)
						if verr != nil {
							t.Errorf("StreamVersion: %v", verr)
							return
						}
						exp = v
					}
					res, err = st.Append(ctx(t), own, exp, events(keys...)...)
				case 1: // shared streams, any version
					res, err = st.Append(ctx(t), shared[r%2], eventstore.AnyVersion, events(keys...)...)
				case 2: // one contended stream, optimistic retries
					for {
						exp := eventstore.NoStream
						v, verr := st.StreamVersion(ctx(t), contended)
						if verr == nil {
							exp = v
						} else if !errors.Is(verr, eventstore.ErrStreamNotFound) {
							t.Errorf("StreamVersion: %v", verr)
							return
						}
						res, err = st.Append(ctx(t), contended, exp, events(keys...)...)
						if !errors.Is(err, eventstore.ErrWrongVersion) {
							break
						}
					}
				case 3: // AppendMany, one request per key to own and shared streams
					reqs := make([]eventstore.AppendRequest, len(keys))
					for i, k := range keys {
						reqs[i] = eventstore.AppendRequest{Stream: shared[i%2], Expected: eventstore.AnyVersion, Events: events(k)}
					}
					outs, merr := st.AppendMany(ctx(t), reqs)
					if merr != nil {
						t.Errorf("AppendMany: %v", merr)
						return
					}
					for i, o := range outs {
						if o.Err != nil {
							t.Errorf("AppendMany request %d: %v", i, o.Err)
							return
						}
						record(keys[i:i+1], o.Result)
					}
					continue
				}
				if err != nil {
					t.Errorf("worker %d round %d: %v", w, r, err)
					return
				}
				record(keys, res)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	var last eventstore.Position
	for _, a := range done {
		last = max(last, a.res.Last)
	}
	mine := make(map[string]bool)
	for _, a := range done {
		for _, k := range a.keys {
			mine[k] = true
		}
	}
	all := s.readAllUntil(t, st, before, last)
	byKey := make(map[string]eventstore.Record, len(all))
	nextVersion := make(map[string]eventstore.Version)
	for _, r := range all {
		if !mine[r.Key] {
			continue // another writer's record in a shared store
		}
		if _, dup := byKey[r.Key]; dup {
			t.Errorf("key %q stored twice", r.Key)
		}
		byKey[r.Key] = r
		if v := nextVersion[r.Stream]; r.Version != v { // every stream of the test starts after `before`
			t.Errorf("stream %q: version %d at position %d, want %d", r.Stream, r.Version, r.Position, v)
		}
		nextVersion[r.Stream] = r.Version + 1
	}
	if len(byKey) != len(mine) {
		t.Errorf("the log holds %d of the %d keys appended", len(byKey), len(mine))
	}
	n := 0
	for _, a := range done {
		for i, k := range a.keys {
			n++
			r, ok := byKey[k]
			switch {
			case !ok:
				t.Errorf("key %q was appended (%+v) but is not in the log", k, a.res)
			case i == 0 && r.Position != a.res.First, i == len(a.keys)-1 && (r.Position != a.res.Last || r.Version != a.res.Version):
				t.Errorf("key %q stored at %d version %d, append result %+v", k, r.Position, r.Version, a.res)
			case s.f.GapFreePositions && r.Position != a.res.First+eventstore.Position(i):
				t.Errorf("key %q stored at %d, want %d (events of one append are contiguous)", k, r.Position, a.res.First+eventstore.Position(i))
			}
		}
	}
	if want := workers * rounds * 2; n < want {
		t.Errorf("only %d events appended, want at least %d", n, want)
	}
	for _, stream := range append(shared, contended) {
		recs := mustReadStream(t, st, stream)
		for i, r := range recs {
			if r.Version != eventstore.Version(i) || (i > 0 && r.Position <= recs[i-1].Position) {
				t.Errorf("stream %q record %d: version %d position %d", stream, i, r.Version, r.Position)
			}
		}
	}
}

// testRequires: a request's required streams are checked when it is
// applied, after the earlier requests of the same AppendMany; a missing one
// fails that request alone, with a *MissingStreamError naming it, and
// writes nothing.
func (s *suite) testRequires(t *testing.T) {
	st := s.store(t)
	old, fresh, never, x, y, z := s.stream(t), s.stream(t), s.stream(t), s.stream(t), s.stream(t), s.stream(t)
	k := s.keys(t, 5)
	mustAppend(t, st, old, eventstore.NoStream, events(k[0])...)
	outs, err := st.AppendMany(ctx(t), []eventstore.AppendRequest{
		{Stream: x, Expected: eventstore.NoStream, Events: events(k[1]), Requires: []string{old}},        // exists before the call
		{Stream: fresh, Expected: eventstore.NoStream, Events: events(k[2])},                             // created here…
		{Stream: y, Expected: eventstore.NoStream, Events: events(k[3]), Requires: []string{fresh, old}}, // …and seen by a later request
		{Stream: z, Expected: eventstore.NoStream, Events: events(k[4]), Requires: []string{old, never}}, // missing
	})
	if err != nil {
		t.Fatalf("AppendMany: %v", err)
	}
	for i := range 3 {
		if outs[i].Err != nil {
			t.Errorf("request %d: %v", i, outs[i].Err)
		}
	}
	var missing *eventstore.MissingStreamError
	if !errors.As(outs[3].Err, &missing) || missing.Stream != never || !errors.Is(outs[3].Err, eventstore.ErrRequiredStreamMissing) {
		t.Fatalf("request 3: %v, want a *MissingStreamError for %q", outs[3].Err, never)
	}
	if _, err := st.StreamVersion(ctx(t), z); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("the failed request wrote to %q: %v", z, err)
	}
}
