package eventstoretest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

func (s *suite) testPersistence(t *testing.T) {
	if !s.f.Reopen {
		t.Skip("adapter cannot reopen a store (Features.Reopen)")
	}
	st, reopen := s.open(t)
	if reopen == nil {
		t.Fatal("Features.Reopen is set but the Opener returned no reopen function")
	}
	a, b := s.stream(t), s.stream(t)
	ka := events(s.keys(t, 4)...)
	first := mustAppend(t, st, a, eventstore.NoStream, ka[:3]...)
	outs, err := st.AppendMany(ctx(t), []eventstore.AppendRequest{
		{Stream: b, Expected: eventstore.NoStream, Events: events(s.keys(t, 2)...)},
		{Stream: a, Expected: 2, Events: ka[3:]},
	})
	if err != nil || outs[0].Err != nil || outs[1].Err != nil {
		t.Fatalf("AppendMany: %+v, %v", outs, err)
	}
	wantA, wantB := mustReadStream(t, st, a), mustReadStream(t, st, b)
	h := mustHead(t, st)
	log := s.readAllUntil(t, st, first.First-1, h)

	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st = reopen()

	checkSame(t, mustReadStream(t, st, a), wantA)
	checkSame(t, mustReadStream(t, st, b), wantB)
	if v, err := st.StreamVersion(ctx(t), a); err != nil || v != 3 {
		t.Errorf("StreamVersion after reopen = %d, %v; want 3", v, err)
	}
	if h2 := mustHead(t, st); h2 < h {
		t.Errorf("Head after reopen = %d, was %d", h2, h)
	}
	// The log up to the old head is unchanged.
	checkSame(t, s.readAllUntil(t, st, first.First-1, h), log)
	// The keys are still known.
	if s.f.Dedupe {
		res, err := st.Append(ctx(t), a, eventstore.NoStream, ka[:3]...)
		wantDuplicate(t, "retry after reopen", res, err, first)
		res, err = st.Append(ctx(t), b, eventstore.AnyVersion, ka[3])
		wantDuplicate(t, "retry of the AppendMany request after reopen", res, err, outs[1].Result)
	}
	// Versions and positions go on.
	res := mustAppend(t, st, a, 3, events(s.keys(t, 1)...)...)
	if res.Version != 4 || res.First <= h {
		t.Errorf("append after reopen: %+v, want version 4 after position %d", res, h)
	}
	got := s.follow(t, st.Subscribe(ctx(t), first.First-1), first.First-1, inStream(a), count(5))
	checkSame(t, got[:4], wantA)
}

func (s *suite) testClose(t *testing.T) {
	st := s.store(t)
	stream := s.stream(t)
	mustAppend(t, st, stream, eventstore.NoStream, events(s.keys(t, 1)...)...)
	h := mustHead(t, st)

	// A live subscription ends with ErrClosed.
	sub := st.Subscribe(ctx(t), h-1)
	waiting := make(chan struct{})
	var (
		wg   sync.WaitGroup
		once sync.Once
	)
	wg.Go(func() {
		defer once.Do(func() { close(waiting) }) // unblock the test if the subscription fails early
		var errs []error
		for r, err := range sub {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if len(errs) > 0 {
				t.Errorf("subscription yielded %+v after the error %v", r, errs[0])
			}
			if r.Position == h {
				once.Do(func() { close(waiting) })
			}
		}
		if len(errs) != 1 || !errors.Is(errs[0], eventstore.ErrClosed) {
			t.Errorf("subscription ended with %v, want one ErrClosed", errs)
		}
	})
	<-waiting
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()

	c := ctx(t)
	_, err := st.Append(c, stream, eventstore.AnyVersion, events(s.keys(t, 1)...)...)
	wantErr(t, "Append after Close", err, eventstore.ErrClosed)
	_, err = st.AppendMany(c, []eventstore.AppendRequest{{Stream: stream, Expected: eventstore.AnyVersion, Events: events(s.keys(t, 1)...)}})
	wantErr(t, "AppendMany after Close", err, eventstore.ErrClosed)
	_, err = st.ReadStream(c, stream, 0, 10)
	wantErr(t, "ReadStream after Close", err, eventstore.ErrClosed)
	_, err = st.ReadAll(c, 0, 10)
	wantErr(t, "ReadAll after Close", err, eventstore.ErrClosed)
	_, err = st.StreamVersion(c, stream)
	wantErr(t, "StreamVersion after Close", err, eventstore.ErrClosed)
	_, err = st.Head(c)
	wantErr(t, "Head after Close", err, eventstore.ErrClosed)
	n := 0
	for _, err := range st.Subscribe(c, 0) {
		n++
		wantErr(t, "Subscribe after Close", err, eventstore.ErrClosed)
	}
	if n != 1 {
		t.Errorf("Subscribe after Close yielded %d times, want once (the error)", n)
	}
}

// testCloseInFlight closes the store while appends are running: each
// append either succeeds, and then survives a reopen, or fails with
// ErrClosed.
func (s *suite) testCloseInFlight(t *testing.T) {
	st, reopen := s.open(t)
	const writers = 8
	type appended struct {
		keys []string
		res  eventstore.AppendResult
	}
	var (
		mu        sync.Mutex
		succeeded []appended
		total     atomic.Int64
		enough    = make(chan struct{})
		once      sync.Once
		wg        sync.WaitGroup
	)
	for range writers {
		wg.Go(func() {
			stream := s.stream(t)
			for v := eventstore.NoStream; ; {
				keys := s.keys(t, 2)
				res, err := st.Append(ctx(t), stream, v, events(keys...)...)
				if errors.Is(err, eventstore.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append while closing: %v, want success or ErrClosed", err)
					return
				}
				v = res.Version
				mu.Lock()
				succeeded = append(succeeded, appended{keys, res})
				mu.Unlock()
				if total.Add(1) == 4*writers {
					once.Do(func() { close(enough) })
				}
			}
		})
	}
	go func() {
		wg.Wait() // every writer failed before enough appends: go on and report
		once.Do(func() { close(enough) })
	}()
	<-enough
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	if !s.f.Reopen {
		return
	}
	st = reopen()
	for _, a := range succeeded {
		recs, err := st.ReadAll(ctx(t), a.res.First-1, 1)
		if err != nil || len(recs) != 1 || recs[0].Key != a.keys[0] || recs[0].Position != a.res.First {
			t.Errorf("append %+v of %v acknowledged before Close, after reopen ReadAll finds %+v, %v", a.res, a.keys, recs, err)
		}
	}
}
