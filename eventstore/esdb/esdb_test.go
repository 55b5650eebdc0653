package esdb

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/eventstoretest"
)

// serverURL returns the server the tests run against, or skips t.
func serverURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("VITALS_ESDB_URL")
	if url == "" {
		t.Skip("set VITALS_ESDB_URL=esdb://localhost:2113?tls=false to run the EventStoreDB conformance suite; see docs/deploy.md")
	}
	return url
}

// openServer opens a Store on the test server and closes it when t ends.
func openServer(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	url := serverURL(t)
	// Positions are log offsets (not gap-free) and deduplication is best
	// effort (see the package documentation); reopening is a new client
	// on the same server.
	eventstoretest.Run(t, eventstoretest.Features{Reopen: true},
		func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
			open := func() eventstore.Store { return openServer(t, url, Options{}) }
			return open(), open
		})
}

// TestServerDuplicates checks the deduplication the server does provide:
// exact retries in one stream, and keys found after a rejected append.
func TestServerDuplicates(t *testing.T) {
	checkDuplicates(t, openServer(t, serverURL(t), Options{}))
}

// checkDuplicates checks that retries are recognised in one stream,
// whatever the expected version, and that keys are found after a rejected
// append.
func checkDuplicates(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	run := time.Now().UnixNano()
	stream := fmt.Sprintf("dup-%d", run)
	key := func(i int) string { return fmt.Sprintf("dup-%d/%d", run, i) }
	ev := func(i int) eventstore.EventData {
		return eventstore.EventData{Key: key(i), Type: "test.happened", Data: []byte(`{}`)}
	}

	orig, err := s.Append(ctx, stream, eventstore.NoStream, ev(0), ev(1))
	if err != nil || orig.Duplicate || orig.Version != 1 {
		t.Fatalf("Append = %+v, %v", orig, err)
	}
	for _, exp := range []eventstore.Version{eventstore.NoStream, eventstore.AnyVersion, 7, 0} {
		res, err := s.Append(ctx, stream, exp, ev(0), ev(1))
		if err != nil || !res.Duplicate || res.First != orig.First || res.Last != orig.Last || res.Version != orig.Version {
			t.Errorf("retry with expected version %d = %+v, %v; want a duplicate of %+v", exp, res, err, orig)
		}
	}
	if _, err := s.Append(ctx, stream, 0, ev(1), ev(2)); !errors.Is(err, eventstore.ErrPartialDuplicate) {
		t.Errorf("partial duplicate after a version conflict: %v, want ErrPartialDuplicate", err)
	}
	if v, err := s.StreamVersion(ctx, stream); err != nil || v != 1 {
		t.Errorf("StreamVersion = %d, %v; want 1", v, err)
	}
	// The records carry their keys and the server's stream name has the
	// prefix.
	recs, err := s.ReadStream(ctx, stream, 0, 10)
	if err != nil || len(recs) != 2 || recs[0].Key != key(0) || recs[1].Key != key(1) || recs[0].Stream != stream {
		t.Errorf("ReadStream = %+v, %v", recs, err)
	}
	if err == nil && len(recs) == 2 && (recs[0].Position != orig.First || recs[1].Position != orig.Last ||
		recs[0].Position%2 != 1 || recs[1].Position%2 != 1) {
		t.Errorf("positions %d, %d; append result %+v (record positions are odd: 2×offset+1)", recs[0].Position, recs[1].Position, orig)
	}
}
