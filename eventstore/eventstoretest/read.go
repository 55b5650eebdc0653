package eventstoretest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

// needDedupe skips t unless the adapter deduplicates as Store specifies.
func (s *suite) needDedupe(t *testing.T) {
	t.Helper()
	if !s.f.Dedupe {
		t.Skip("adapter does not keep idempotency keys forever (Features.Dedupe)")
	}
}

// wantDuplicate reports an error unless res is a duplicate of orig.
func wantDuplicate(t *testing.T, what string, res eventstore.AppendResult, err error, orig eventstore.AppendResult) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v, want a duplicate", what, err)
		return
	}
	if !res.Duplicate || res.First != orig.First || res.Last != orig.Last || res.Version != orig.Version {
		t.Errorf("%s: %+v, want a duplicate of %+v", what, res, orig)
	}
}

func (s *suite) testDedupeRetry(t *testing.T) {
	s.needDedupe(t)
	st := s.store(t)
	stream := s.stream(t)
	evs := events(s.keys(t, 2)...)
	orig := mustAppend(t, st, stream, eventstore.NoStream, evs...)
	for _, exp := range []eventstore.Version{eventstore.NoStream, eventstore.AnyVersion, eventstore.StreamExists, 1, 0, 7} {
		res, err := st.Append(ctx(t), stream, exp, evs...)
		wantDuplicate(t, "retry with expected version "+versionName(exp), res, err, orig)
	}
	outs, err := st.AppendMany(ctx(t), []eventstore.AppendRequest{{Stream: stream, Expected: eventstore.NoStream, Events: evs}})
	if err != nil || len(outs) != 1 {
		t.Fatalf("AppendMany retry: %+v, %v", outs, err)
	}
	wantDuplicate(t, "AppendMany retry", outs[0].Result, outs[0].Err, orig)
	checkStreamLen(t, st, stream, 2)
	// The stream goes on from the original version.
	if res := mustAppend(t, st, stream, 1, events(s.keys(t, 1)...)...); res.Version != 2 {
		t.Errorf("append after the retries: %+v, want version 2", res)
	}
}

func versionName(v eventstore.Version) string {
	switch v {
	case eventstore.NoStream:
		return "NoStream"
	case eventstore.AnyVersion:
		return "Any"
	case eventstore.StreamExists:
		return "StreamExists"
	}
	return strconv.FormatInt(int64(v), 10)
}

func (s *suite) testDedupeAcrossStreams(t *testing.T) {
	s.needDedupe(t)
	st := s.store(t)
	first, second := s.stream(t), s.stream(t)
	evs := events(s.keys(t, 1)...)
	mustAppend(t, st, first, eventstore.NoStream, events(s.keys(t, 2)...)...)
	orig := mustAppend(t, st, first, eventstore.AnyVersion, evs...)
	res, err := st.Append(ctx(t), second, eventstore.NoStream, evs...)
	wantDuplicate(t, "same key in another stream", res, err, orig)
	if orig.Version != 2 {
		t.Errorf("original append: %+v, want version 2", orig)
	}
	checkStreamLen(t, st, second, 0)
	checkStreamLen(t, st, first, 3)
}

func (s *suite) testDedupePartial(t *testing.T) {
	s.needDedupe(t)
	st := s.store(t)
	stream, other := s.stream(t), s.stream(t)
	k := s.keys(t, 4)
	mustAppend(t, st, stream, eventstore.NoStream, events(k[0], k[1])...)
	for _, tt := range []struct {
		stream string
		keys   []string
	}{
		{stream, []string{k[1], k[2]}},
		{stream, []string{k[2], k[0]}},
		{stream, []string{k[2], k[3], k[1]}},
		{other, []string{k[3], k[0]}},
	} {
		res, err := st.Append(ctx(t), tt.stream, eventstore.AnyVersion, events(tt.keys...)...)
		if !errors.Is(err, eventstore.ErrPartialDuplicate) {
			t.Errorf("Append(%v) = %+v, %v; want ErrPartialDuplicate", tt.keys, res, err)
		}
	}
	checkStreamLen(t, st, stream, 2)
	checkStreamLen(t, st, other, 0)
	// The new keys of the rejected appends were not stored.
	if res := mustAppend(t, st, stream, 1, events(k[2], k[3])...); res.Version != 3 {
		t.Errorf("append of the new keys: %+v, want version 3", res)
	}
}

func (s *suite) testDedupeWithinAppend(t *testing.T) {
	s.needDedupe(t)
	st := s.store(t)
	stream := s.stream(t)
	k := s.keys(t, 3)
	evs := events(k[0], k[1], k[0])
	evs[2].Data = []byte(`{"ignored":true}`) // the first occurrence wins
	res := mustAppend(t, st, stream, eventstore.NoStream, evs...)
	if res.Version != 1 {
		t.Errorf("Append(x, y, x) = %+v, want version 1 (x stored once)", res)
	}
	if s.f.GapFreePositions && res.Last != res.First+1 {
		t.Errorf("Append(x, y, x) = %+v, want two consecutive positions", res)
	}
	recs := mustReadStream(t, st, stream)
	if len(recs) != 2 {
		t.Fatalf("stream has %d records, want 2", len(recs))
	}
	checkRecord(t, recs[0], stream, 0, evs[0])
	checkRecord(t, recs[1], stream, 1, evs[1])

	again, err := st.Append(ctx(t), stream, eventstore.NoStream, evs...)
	wantDuplicate(t, "retry of (x, y, x)", again, err, res)

	// The same key twice, and nothing else.
	res = mustAppend(t, st, stream, 1, events(k[2], k[2])...)
	if res.Version != 2 || res.First != res.Last {
		t.Errorf("Append(z, z) = %+v, want one record at version 2", res)
	}
	checkStreamLen(t, st, stream, 3)
}

func (s *suite) testReadPaging(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	var evs []eventstore.EventData
	var last eventstore.AppendResult
	for i := range 5 {
		batch := events(s.keys(t, 5)...)
		evs = append(evs, batch...)
		last = mustAppend(t, st, stream, eventstore.Version(i*5-1), batch...)
	}
	all := mustReadStream(t, st, stream)
	if len(all) != 25 {
		t.Fatalf("stream has %d records, want 25", len(all))
	}
	for i, r := range all {
		checkRecord(t, r, stream, eventstore.Version(i), evs[i])
	}

	for _, limit := range []int{1, 7, 25, 100} {
		var got []eventstore.Record
		for from := eventstore.Version(0); ; {
			recs, err := st.ReadStream(ctx(t), stream, from, limit)
			if err != nil {
				t.Fatalf("ReadStream(from %d, limit %d): %v", from, limit, err)
			}
			if len(recs) > limit {
				t.Fatalf("ReadStream(from %d, limit %d) returned %d records", from, limit, len(recs))
			}
			if len(recs) == 0 {
				break
			}
			if recs[0].Version != from {
				t.Fatalf("ReadStream(from %d) starts at version %d", from, recs[0].Version)
			}
			got = append(got, recs...)
			from = recs[len(recs)-1].Version + 1
		}
		if len(got) != len(all) {
			t.Errorf("limit %d: paged read found %d records, want %d", limit, len(got), len(all))
			continue
		}
		for i := range got {
			if !sameRecord(got[i], all[i]) {
				t.Errorf("limit %d: record %d is %+v, want %+v", limit, i, got[i], all[i])
			}
		}

		// The global log, paged the same way, has the stream's records
		// in the same order.
		var mine []eventstore.Record
		for after := all[0].Position - 1; after < last.Last; {
			recs, err := st.ReadAll(ctx(t), after, limit)
			if err != nil {
				t.Fatalf("ReadAll(%d, %d): %v", after, limit, err)
			}
			if len(recs) == 0 || len(recs) > limit {
				t.Fatalf("ReadAll(%d, %d) returned %d records before the end of the stream", after, limit, len(recs))
			}
			for _, r := range recs {
				s.checkNext(t, after, r.Position)
				after = r.Position
				if r.Stream == stream {
					mine = append(mine, r)
				}
			}
		}
		if len(mine) != len(all) {
			t.Errorf("limit %d: ReadAll found %d records of the stream, want %d", limit, len(mine), len(all))
			continue
		}
		for i := range mine {
			if !sameRecord(mine[i], all[i]) {
				t.Errorf("limit %d: ReadAll record %d is %+v, want %+v", limit, i, mine[i], all[i])
			}
		}
	}
	// Reading from the middle of the stream.
	recs, err := st.ReadStream(ctx(t), stream, 23, 10)
	if err != nil || len(recs) != 2 || !sameRecord(recs[0], all[23]) || !sameRecord(recs[1], all[24]) {
		t.Errorf("ReadStream(from 23) = %+v, %v; want the last two records", recs, err)
	}
}

func (s *suite) testReadPastEnd(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 3)...)...)
	for _, from := range []eventstore.Version{3, 4, 1 << 40} {
		recs, err := st.ReadStream(ctx(t), stream, from, 10)
		if err != nil || len(recs) != 0 {
			t.Errorf("ReadStream(from %d) past the end = %d records, %v; want none", from, len(recs), err)
		}
	}
	// Other writers may share the log: read after the head until a read
	// finds the log quiet.
	for attempt := 0; ; attempt++ {
		h := mustHead(t, st)
		recs, err := st.ReadAll(ctx(t), h, 10)
		if err != nil {
			t.Fatalf("ReadAll(after head %d): %v", h, err)
		}
		for _, r := range recs {
			if r.Position <= h {
				t.Fatalf("ReadAll(after %d) returned position %d", h, r.Position)
			}
		}
		if len(recs) == 0 {
			break
		}
		if attempt == 100 {
			t.Fatalf("ReadAll after the head never came back empty")
		}
	}
}

func (s *suite) testReadNotFound(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	recs, err := st.ReadStream(ctx(t), stream, 0, 10)
	wantErr(t, "ReadStream of an unknown stream", err, eventstore.ErrStreamNotFound)
	if len(recs) != 0 {
		t.Errorf("ReadStream of an unknown stream returned %d records", len(recs))
	}
	v, err := st.StreamVersion(ctx(t), stream)
	wantErr(t, "StreamVersion of an unknown stream", err, eventstore.ErrStreamNotFound)
	if err == nil {
		t.Errorf("StreamVersion of an unknown stream = %d", v)
	}
}

func (s *suite) testReadInvalid(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 1)...)...)
	for _, tt := range []struct {
		from  eventstore.Version
		limit int
	}{{0, 0}, {0, -1}, {-1, 10}, {eventstore.NoStream, 10}} {
		_, err := st.ReadStream(ctx(t), stream, tt.from, tt.limit)
		wantErr(t, "ReadStream with from "+versionName(tt.from)+" and a bad limit or from", err, eventstore.ErrInvalid)
	}
	for _, limit := range []int{0, -1} {
		_, err := st.ReadAll(ctx(t), 0, limit)
		wantErr(t, "ReadAll with limit ≤ 0", err, eventstore.ErrInvalid)
	}
}

func (s *suite) testHead(t *testing.T) {
	st := s.store(t)
	h0 := mustHead(t, st)
	res := mustAppend(t, st, s.stream(t), eventstore.NoStream, events(s.keys(t, 2)...)...)
	h1 := mustHead(t, st)
	if h1 < res.Last || h1 < h0 {
		t.Errorf("Head = %d after an append ending at %d (Head before: %d)", h1, res.Last, h0)
	}
	if res.First <= h0 {
		t.Errorf("append landed at %d, not after the previous head %d", res.First, h0)
	}
	if s.f.GapFreePositions {
		// Every position up to the head is readable.
		recs, err := st.ReadAll(ctx(t), h1-1, 1)
		if err != nil || len(recs) != 1 || recs[0].Position != h1 {
			t.Errorf("ReadAll(Head-1) = %+v, %v; want the record at the head %d", recs, err, h1)
		}
	}
}
