package eventstoretest

import (
	"context"
	"errors"
	"iter"
	"sync"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

// follow consumes sub (which started after position after) until want
// returns true for the last record of the subscription; it checks that
// positions increase (without gaps when the feature is set) and returns
// the records for which mine is true.
func (s *suite) follow(t *testing.T, sub iter.Seq2[eventstore.Record, error], after eventstore.Position,
	mine func(eventstore.Record) bool, done func(mine []eventstore.Record) bool) []eventstore.Record {
	t.Helper()
	var got []eventstore.Record
	prev := after
	for r, err := range sub {
		if err != nil {
			t.Fatalf("subscription after %d: error after %d of my records: %v", after, len(got), err)
		}
		if !s.checkNext(t, prev, r.Position) {
			t.FailNow()
		}
		prev = r.Position
		if mine(r) {
			got = append(got, r)
			if done(got) {
				return got
			}
		}
	}
	t.Fatalf("subscription after %d ended without an error after %d of my records", after, len(got))
	return nil
}

func inStream(stream string) func(eventstore.Record) bool {
	return func(r eventstore.Record) bool { return r.Stream == stream }
}

func count(n int) func([]eventstore.Record) bool {
	return func(got []eventstore.Record) bool { return len(got) >= n }
}

// checkSame reports an error unless got and want are the same records.
func checkSame(t *testing.T, got, want []eventstore.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
		return
	}
	for i := range got {
		if !sameRecord(got[i], want[i]) {
			t.Errorf("record %d is %+v, want %+v", i, got[i], want[i])
		}
	}
}

func (s *suite) testSubscribeFromStart(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	for i := range 6 {
		mustAppend(t, st, stream, eventstore.Version(i*100-1), events(s.keys(t, 100)...)...)
	}
	want := mustReadStream(t, st, stream)
	got := s.follow(t, st.Subscribe(ctx(t), 0), 0, inStream(stream), count(len(want)))
	checkSame(t, got, want)
}

func (s *suite) testSubscribeFromMiddle(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 10)...)...)
	all := mustReadStream(t, st, stream)
	after := all[4].Position
	got := s.follow(t, st.Subscribe(ctx(t), after), after, inStream(stream), count(5))
	checkSame(t, got, all[5:])
}

func (s *suite) testSubscribeFromHead(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 2)...)...)
	h := mustHead(t, st)
	sub := st.Subscribe(ctx(t), h)
	var (
		wg  sync.WaitGroup
		res eventstore.AppendResult
	)
	wg.Go(func() {
		var err error
		res, err = st.Append(ctx(t), stream, 1, events(s.keys(t, 3)...)...)
		if err != nil {
			t.Errorf("Append: %v", err)
		}
	})
	got := s.follow(t, sub, h, inStream(stream), count(3))
	wg.Wait()
	if got[0].Version != 2 || got[0].Position != res.First || got[2].Position != res.Last {
		t.Errorf("subscription from the head got %+v, append result %+v", got, res)
	}
}

// testSubscribeLive follows the log while many writers append, so records
// commit during the catch-up, between catch-up and live, and while live.
func (s *suite) testSubscribeLive(t *testing.T) {
	st := s.store(t)
	const (
		writers = 8
		rounds  = 15
	)
	h := mustHead(t, st)
	sub := st.Subscribe(ctx(t), h)
	streams := make(map[string]bool)
	names := make([]string, writers)
	for w := range names {
		names[w] = s.stream(t)
		streams[names[w]] = true
	}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				if _, err := st.Append(ctx(t), names[w], eventstore.Version(r*2-1), events(s.keys(t, 2)...)...); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
			}
		})
	}
	got := s.follow(t, sub, h, func(r eventstore.Record) bool { return streams[r.Stream] }, count(writers*rounds*2))
	wg.Wait()
	next := make(map[string]eventstore.Version)
	keys := make(map[string]bool)
	for _, r := range got {
		if r.Version != next[r.Stream] {
			t.Errorf("stream %q: version %d at position %d, want %d", r.Stream, r.Version, r.Position, next[r.Stream])
		}
		next[r.Stream] = r.Version + 1
		if keys[r.Key] {
			t.Errorf("key %q delivered twice", r.Key)
		}
		keys[r.Key] = true
	}
}

func (s *suite) testSubscribeCancel(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 300)...)...)
	first := mustReadStream(t, st, stream)[0].Position

	// untilEnd consumes what is left of a subscription and checks that it
	// ends with exactly one error, context.Canceled.
	untilEnd := func(what string, next func() (eventstore.Record, error, bool), stop func()) {
		t.Helper()
		defer stop()
		var errs []error
		for {
			r, err, ok := next()
			if !ok {
				break
			}
			if len(errs) > 0 {
				t.Errorf("%s: yielded %+v, %v after the error %v", what, r, err, errs[0])
				return
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("%s: ended with errors %v, want one context.Canceled", what, errs)
		}
	}

	// Cancelled before it starts.
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	next, stop := iter.Pull2(st.Subscribe(c, first-1))
	untilEnd("cancelled before the start", next, stop)

	// Cancelled during the catch-up.
	c, cancel = context.WithCancel(ctx(t))
	next, stop = iter.Pull2(st.Subscribe(c, first-1))
	for range 10 {
		if _, err, ok := next(); err != nil || !ok {
			t.Fatalf("catch-up: %v, %v", err, ok)
		}
	}
	cancel()
	untilEnd("cancelled during the catch-up", next, stop)

	// Cancelled while waiting for new records.
	c, cancel = context.WithCancel(ctx(t))
	h := mustHead(t, st)
	next, stop = iter.Pull2(st.Subscribe(c, h))
	live := s.stream(t)
	mustAppend(t, st, live, eventstore.NoStream, events(s.keys(t, 1)...)...)
	for {
		r, err, ok := next()
		if err != nil || !ok {
			t.Fatalf("live: %v, %v", err, ok)
		}
		if r.Stream == live {
			break
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { untilEnd("cancelled while live", next, stop) })
	cancel()
	wg.Wait()
}

func (s *suite) testSubscribeConsumerStops(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 3)...)...)
	first := mustReadStream(t, st, stream)[0].Position
	// Stopping during the catch-up.
	n := 0
	for _, err := range st.Subscribe(ctx(t), first-1) {
		if err != nil {
			t.Fatalf("subscription: %v", err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("subscription yielded %d records before the break", n)
	}
	// Stopping while live.
	h := mustHead(t, st)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := st.Append(ctx(t), stream, 2, events(s.keys(t, 2)...)...); err != nil {
			t.Errorf("Append: %v", err)
		}
	})
	for r, err := range st.Subscribe(ctx(t), h) {
		if err != nil {
			t.Fatalf("subscription: %v", err)
		}
		if r.Stream == stream {
			break
		}
	}
	wg.Wait()
	// The store is still usable.
	mustAppend(t, st, stream, 4, events(s.keys(t, 1)...)...)
	checkStreamLen(t, st, stream, 6)
}
