package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
)

// partialStore stores the first request of every AppendMany and then
// fails, as a store without atomic batches (KurrentDB) does when the
// server fails mid-batch.
type partialStore struct{ eventstore.Store }

func (s partialStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	outs, err := s.Store.AppendMany(ctx, reqs[:1])
	if err != nil {
		return nil, err
	}
	return nil, &eventstore.PartialBatchError{Outcomes: outs, Err: fmt.Errorf("server gone: %w", eventstore.ErrUnavailable)}
}

// TestPartlyWrittenBatch: a 503 for a batch the store partly wrote says
// which events are stored, not that nothing was written.
func TestPartlyWrittenBatch(t *testing.T) {
	b, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h, _ := newServer(t, api.Config{Store: partialStore{b}})
	srv := startServer(t, h)
	batch := mustJSON(t, []any{
		ev("p1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1}),
		ev("p2", "account.opened", "beta", t0, map[string]any{"name": "Beta", "mrr": 1}),
	})
	status, out, _ := postRaw(t, srv.URL, batch, "Content-Type", "application/cloudevents-batch+json")
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s; want 503", status, out)
	}
	if strings.Contains(string(out), "nothing was written") || !strings.Contains(string(out), "indexes [0]") {
		t.Errorf("answer %s; want it to name the stored event (index 0)", out)
	}
}
