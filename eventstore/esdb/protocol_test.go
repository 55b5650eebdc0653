package esdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/esdb/esdbtest"
	"github.com/vitals-hq/vitals/eventstore/eventstoretest"
)

// TestConformanceProtocolServer runs the conformance suite against the
// protocol-level test server, with the features a real server has.
func TestConformanceProtocolServer(t *testing.T) {
	eventstoretest.Run(t, eventstoretest.Features{Reopen: true},
		func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
			srv := esdbtest.Start(t, esdbtest.Options{})
			open := func() eventstore.Store { return openServer(t, srv.URL(0, ""), Options{}) }
			return open(), open
		})
}

// ev is a test event with key k.
func ev(k string) eventstore.EventData {
	return eventstore.EventData{Key: k, Type: "test.happened", Data: []byte(`{"k":"` + k + `"}`)}
}

// TestProtocolRetryIsDuplicate: a retried append is reported as a
// duplicate with the original positions, both when the server answers the
// retry with the original log position (current servers) and without one
// (older servers).
func TestProtocolRetryIsDuplicate(t *testing.T) {
	for _, old := range []bool{false, true} {
		t.Run(map[bool]string{false: "current", true: "older"}[old], func(t *testing.T) {
			srv := esdbtest.Start(t, esdbtest.Options{NoPositionOnRetry: old})
			s := openServer(t, srv.URL(0, ""), Options{})
			checkDuplicates(t, s)
		})
	}
}

// TestProtocolRetryOfAppendMany: a whole AppendMany retried (an ingest
// request sent again) reports every event as a duplicate.
func TestProtocolRetryOfAppendMany(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	s := openServer(t, srv.URL(0, ""), Options{})
	reqs := []eventstore.AppendRequest{
		{Stream: "manager-m", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("m1")}},
		{Stream: "account-a", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("a1")}, Requires: []string{"manager-m"}},
		{Stream: "account-a", Expected: eventstore.StreamExists, Events: []eventstore.EventData{ev("a2")}},
	}
	first, err := s.AppendMany(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.AppendMany(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range reqs {
		if first[i].Err != nil || first[i].Result.Duplicate {
			t.Errorf("first append, request %d: %+v", i, first[i])
		}
		if again[i].Err != nil || !again[i].Result.Duplicate || again[i].Result.Last != first[i].Result.Last {
			t.Errorf("retry, request %d: %+v; want a duplicate of %+v", i, again[i], first[i].Result)
		}
	}
}

// TestProtocolFollower: connected to a follower whose replica lags, the
// store still sees its own writes and the streams others created, because
// every call requires the leader: the follower answers not-leader and the
// call is retried on the leader.
func TestProtocolFollower(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{Nodes: 2})
	s := openServer(t, srv.URL(1, ""), Options{})
	ctx := t.Context()
	srv.PauseReplication()
	if _, err := s.Append(ctx, "manager-m", eventstore.NoStream, ev("m1")); err != nil {
		t.Fatalf("append through a follower: %v", err)
	}
	outs, err := s.AppendMany(ctx, []eventstore.AppendRequest{
		{Stream: "account-a", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("a1")}, Requires: []string{"manager-m"}},
	})
	if err != nil || outs[0].Err != nil {
		t.Fatalf("AppendMany requiring a stream the follower has not seen = %+v, %v", outs, err)
	}
	if v, err := s.StreamVersion(ctx, "account-a"); err != nil || v != 0 {
		t.Errorf("StreamVersion = %d, %v; want 0", v, err)
	}
	if !srv.SawRequiresLeader(1, "read") || !srv.SawRequiresLeader(0, "append") || !srv.SawRequiresLeader(0, "read") {
		t.Error("calls without the requires-leader header")
	}
}

// TestProtocolNodePreference: a connection string that prefers followers
// or replicas is refused: writes and the reads after them need the
// leader.
func TestProtocolNodePreference(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	for _, pref := range []string{"follower", "readonlyreplica", "random"} {
		s, err := Open(t.Context(), srv.URL(0, "nodePreference="+pref), Options{})
		if err == nil {
			s.Close()
			t.Errorf("nodePreference=%s: Open succeeded; want an error", pref)
		} else if !strings.Contains(err.Error(), "nodePreference") {
			t.Errorf("nodePreference=%s: error %q does not name the setting", pref, err)
		}
	}
}

// TestProtocolCloseNeverHangs: after the client's rediscovery failed, a
// call that then fails blocks inside the v4 client for good (it reports
// the failure on a channel nothing reads any more). The call and Close
// still return.
func TestProtocolCloseNeverHangs(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	var failing atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	srv.SetHook(func(ctx context.Context, c esdbtest.Call) error {
		switch {
		case c.Method == "append" && !c.Committed:
			close(entered)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return esdbtest.Unavailable()
		case failing.Load() && (c.Method == "read" || c.Method == "features"):
			return esdbtest.Unavailable()
		}
		return nil
	})
	s := openServer(t, srv.URL(0, "maxDiscoverAttempts=1&discoveryInterval=10&gossipTimeout=1"), Options{CallTimeout: time.Second})
	appended := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), "held", eventstore.AnyVersion, ev("h1"))
		appended <- err
	}()
	<-entered
	failing.Store(true)
	for range 2 { // the first fails the connection, the second the rediscovery
		if _, err := s.ReadStream(t.Context(), "other", 0, 1); !errors.Is(err, eventstore.ErrUnavailable) {
			t.Fatalf("ReadStream while the server fails: %v", err)
		}
	}
	close(release)
	guard := time.After(time.Minute) // liveness only: the bug blocks forever
	select {
	case err := <-appended:
		if !errors.Is(err, eventstore.ErrUnavailable) {
			t.Errorf("Append = %v; want ErrUnavailable", err)
		}
	case <-guard:
		t.Fatal("Append did not return")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-guard:
		t.Fatal("Close did not return")
	}
}

// TestProtocolPermanentErrors: errors that retrying cannot cure fail the
// request they belong to (eventstore.ErrInvalid), not the whole batch, and
// the other requests of the batch are written.
func TestProtocolPermanentErrors(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{MaxAppendSize: 4096, MaxAppendEventSize: 2048})
	var appends atomic.Int32
	srv.SetHook(func(ctx context.Context, c esdbtest.Call) error {
		if c.Method == "append" && !c.Committed {
			appends.Add(1)
		}
		return nil
	})
	s := openServer(t, srv.URL(0, ""), Options{MaxAppendSize: 4096, MaxAppendEventSize: 2048})
	srv.Tombstone(DefaultStreamPrefix + "deleted")
	srv.Deny(DefaultStreamPrefix + "denied")
	big := func(k string, n int) eventstore.EventData {
		return eventstore.EventData{Key: k, Type: "test.happened", Data: []byte(`"` + strings.Repeat("x", n) + `"`)}
	}
	reqs := []eventstore.AppendRequest{
		{Stream: "deleted", Expected: eventstore.AnyVersion, Events: []eventstore.EventData{ev("d1")}},
		{Stream: "denied", Expected: eventstore.AnyVersion, Events: []eventstore.EventData{ev("x1")}},
		{Stream: "huge-event", Expected: eventstore.AnyVersion, Events: []eventstore.EventData{big("e1", 3000)}},
		{Stream: "huge-append", Expected: eventstore.AnyVersion, Events: []eventstore.EventData{big("s1", 1500), big("s2", 1500), big("s3", 1500)}},
		{Stream: "fine", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("f1")}},
	}
	outs, err := s.AppendMany(t.Context(), reqs)
	if err != nil {
		t.Fatalf("AppendMany = %v; want per-request errors", err)
	}
	for i, o := range outs[:4] {
		if !errors.Is(o.Err, eventstore.ErrInvalid) {
			t.Errorf("request %d (%s): %v; want ErrInvalid", i, reqs[i].Stream, o.Err)
		}
	}
	if outs[4].Err != nil {
		t.Errorf("the valid request: %v", outs[4].Err)
	}
	if n := appends.Load(); n != 3 {
		t.Errorf("the server received %d appends; want 3 (sizes are checked before sending)", n)
	}
	// A read of $all from inside a record is the caller's mistake.
	if _, err := s.ReadAll(t.Context(), outs[4].Result.Last-4, 10); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("ReadAll from an invalid position: %v; want ErrInvalid", err)
	}
}

// TestProtocolTimeoutAfterCommit: when the server commits a write but
// answers with a timeout (its commit timeout, or the call's deadline), the
// append looks its keys up and reports the write as it is.
func TestProtocolTimeoutAfterCommit(t *testing.T) {
	for name, fail := range map[string]error{
		"commit timeout": esdbtest.TimeoutError("commit"),
		"deadline":       status.Error(codes.DeadlineExceeded, "Deadline Exceeded"),
	} {
		t.Run(name, func(t *testing.T) {
			srv := esdbtest.Start(t, esdbtest.Options{})
			var once atomic.Bool
			srv.SetHook(func(ctx context.Context, c esdbtest.Call) error {
				if c.Method == "append" && c.Committed && once.CompareAndSwap(false, true) {
					return fail
				}
				return nil
			})
			s := openServer(t, srv.URL(0, ""), Options{})
			res, err := s.Append(t.Context(), "slow", eventstore.NoStream, ev("s1"), ev("s2"))
			if err != nil || res.Duplicate || res.Version != 1 {
				t.Fatalf("Append = %+v, %v; want the committed write", res, err)
			}
			recs, err := s.ReadStream(t.Context(), "slow", 0, 10)
			if err != nil || len(recs) != 2 || recs[0].Position != res.First || recs[1].Position != res.Last {
				t.Errorf("ReadStream = %+v, %v; result %+v", recs, err, res)
			}
		})
	}
}

// TestProtocolPartialBatch: ESDB has no atomic multi-stream append; when
// a batch fails after some requests were written, AppendMany says which.
func TestProtocolPartialBatch(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	srv.SetHook(func(ctx context.Context, c esdbtest.Call) error {
		if c.Method == "append" && c.Stream == DefaultStreamPrefix+"second" {
			return esdbtest.Unavailable()
		}
		return nil
	})
	s := openServer(t, srv.URL(0, ""), Options{})
	if g := eventstore.GuaranteesOf(s); g.AtomicBatch || g.DensePositions {
		t.Errorf("Guarantees = %+v; the adapter has neither atomic batches nor dense positions", g)
	}
	_, err := s.AppendMany(t.Context(), []eventstore.AppendRequest{
		{Stream: "first", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("p1")}},
		{Stream: "second", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("p2")}},
		{Stream: "third", Expected: eventstore.NoStream, Events: []eventstore.EventData{ev("p3")}},
	})
	var pe *eventstore.PartialBatchError
	if !errors.As(err, &pe) || !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("AppendMany = %v; want a *PartialBatchError matching ErrUnavailable", err)
	}
	if len(pe.Outcomes) != 1 || pe.Outcomes[0].Err != nil || pe.Outcomes[0].Result.Last == 0 {
		t.Errorf("PartialBatchError.Outcomes = %+v; want the first request's", pe.Outcomes)
	}
	if srv.Count(DefaultStreamPrefix+"first") != 1 || srv.Count(DefaultStreamPrefix+"third") != 0 {
		t.Errorf("stored: first %d, third %d", srv.Count(DefaultStreamPrefix+"first"), srv.Count(DefaultStreamPrefix+"third"))
	}
}

// TestProtocolDroppedSubscription: a subscription whose connection drops
// resumes after the last record it delivered, without gaps or repeats.
func TestProtocolDroppedSubscription(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	s := openServer(t, srv.URL(0, ""), Options{RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var want []eventstore.Position
	for i := range 3 {
		res, err := s.Append(ctx, "sub", eventstore.AnyVersion, ev(fmt.Sprintf("b%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, res.Last)
	}
	var got []eventstore.Position
	for r, err := range s.Subscribe(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Position)
		if len(got) == 3 { // live now: drop, then write more
			srv.DropSubscriptions()
			srv.Write("other-app", "noise", 5)
			for i := 3; i < 6; i++ {
				res, err := s.Append(ctx, "sub", eventstore.AnyVersion, ev(fmt.Sprintf("b%d", i)))
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, res.Last)
			}
		}
		if len(got) == 6 {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivered %v; want %v", got, want)
	}
}

// TestProtocolHeadIsCheap: Head does not re-read the log before the last
// record it saw: on a shared server, other applications' records after
// the last Vitals record are read once, not on every call.
func TestProtocolHeadIsCheap(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	s := openServer(t, srv.URL(0, ""), Options{})
	res, err := s.Append(t.Context(), "acct", eventstore.NoStream, ev("h1"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Write("other-app", "noise", 2000)
	for i := range 3 {
		before := srv.EventsRead()
		h, err := s.Head(t.Context())
		if err != nil || h != res.Last {
			t.Fatalf("Head = %d, %v; want %d", h, err, res.Last)
		}
		if n := srv.EventsRead() - before; i > 0 && n > 1 {
			t.Errorf("Head call %d read %d events; want at most 1 (nothing was written since the previous call)", i+1, n)
		}
	}
	srv.Write("other-app", "noise", 10)
	res2, err := s.Append(t.Context(), "acct", 0, ev("h2"))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := s.Head(t.Context()); err != nil || h != res2.Last {
		t.Errorf("Head after another append = %d, %v; want %d", h, err, res2.Last)
	}
}
