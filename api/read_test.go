package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
)

// readCountingStore counts the bytes of event data ReadStream returns per
// call.
type readCountingStore struct {
	eventstore.Store
	mu    sync.Mutex
	bytes int // since the last reset
}

func (s *readCountingStore) ReadStream(ctx context.Context, stream string, from eventstore.Version, limit int) ([]eventstore.Record, error) {
	recs, err := s.Store.ReadStream(ctx, stream, from, limit)
	s.mu.Lock()
	for _, r := range recs {
		s.bytes += len(r.Data)
	}
	s.mu.Unlock()
	return recs, err
}

func (s *readCountingStore) take() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.bytes
	s.bytes = 0
	return n
}

// TestAccountEventsPageBoundedByBytes: a page of big events stops at
// api.MaxEventsPageBytes (with at least one event), the store is not asked
// for more than about a page of data, and the cursor walks every event
// exactly once.
func TestAccountEventsPageBoundedByBytes(t *testing.T) {
	base, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	store := &readCountingStore{Store: base}
	h, _ := newServer(t, api.Config{Store: store, MaxBodyBytes: 64 << 20})
	srv := startServer(t, h)

	// 40 events of ~300 KiB: 12 MiB in all, 3–4 per page.
	const eventPad = 300 << 10
	var want []string
	batch := []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1, "note": strings.Repeat("o", eventPad)})}
	want = append(want, "a1")
	for i := range 39 {
		id := fmt.Sprintf("p%d", i)
		batch = append(batch, ev(id, "portal.login", "acme", t0, map[string]any{"pad": strings.Repeat("x", eventPad)}))
		want = append(want, id)
	}
	if res := do(t, "POST", srv.URL+"/v1/events", "", mustJSON(t, batch)); res.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %d", res.StatusCode)
	}
	store.take()

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("more pages than events; cursor %q", cursor)
		}
		url := srv.URL + "/v1/accounts/acme/events?limit=1000"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %s", pages, res.StatusCode, body)
		}
		var page struct {
			Events []struct {
				ID string `json:"id"`
			} `json:"events"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		if len(page.Events) == 0 {
			t.Fatalf("page %d has no events", pages)
		}
		if len(page.Events) > 1 && len(body) > api.MaxEventsPageBytes {
			t.Fatalf("page %d: %d events in %d bytes, over the %d-byte cap", pages, len(page.Events), len(body), api.MaxEventsPageBytes)
		}
		if read := store.take(); read > api.MaxEventsPageBytes+2*eventPad+(4<<10) {
			t.Fatalf("page %d: the store returned %d bytes of events for a page of at most %d", pages, read, api.MaxEventsPageBytes)
		}
		for _, e := range page.Events {
			got = append(got, e.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("walked %d events %v, want %d %v", len(got), got, len(want), want)
	}
}

// TestAccountEventsOneHugeEvent: an event larger than the page cap still
// comes, alone on its page.
func TestAccountEventsOneHugeEvent(t *testing.T) {
	h, _ := newServer(t, api.Config{MaxBodyBytes: 64 << 20})
	srv := startServer(t, h)
	big := strings.Repeat("x", api.MaxEventsPageBytes+1000)
	batch := []any{
		ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1}),
		ev("p1", "portal.login", "acme", t0, map[string]any{"pad": big}),
		ev("p2", "portal.login", "acme", t0, map[string]any{}),
	}
	if res := do(t, "POST", srv.URL+"/v1/events", "", mustJSON(t, batch)); res.StatusCode != http.StatusOK {
		t.Fatalf("ingest: %d", res.StatusCode)
	}
	var sizes []int
	cursor := ""
	for {
		url := srv.URL + "/v1/accounts/acme/events"
		if cursor != "" {
			url += "?cursor=" + cursor
		}
		out := getJSON(t, url, http.StatusOK)
		sizes = append(sizes, len(out["events"].([]any)))
		next, ok := out["next_cursor"].(string)
		if !ok {
			break
		}
		cursor = next
	}
	if fmt.Sprint(sizes) != "[1 1 1]" {
		t.Fatalf("page sizes %v, want [1 1 1] (a1 alone as p1 does not fit, p1 alone, p2)", sizes)
	}
}
