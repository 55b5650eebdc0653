package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// serve builds a server on a fresh bolt store with cfg's extra settings.
func serve(t *testing.T, store eventstore.Store, cfg api.Config) *httptest.Server {
	t.Helper()
	if store == nil {
		s, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		store = s
	}
	cfg.Store, cfg.Ingester, cfg.Logger, cfg.Now = store, ingest.New(store), zerolog.Nop(), func() time.Time { return now }
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return startServer(t, h)
}

func do(t *testing.T, method, url, token string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

func TestKeysAndScopes(t *testing.T) {
	var ring auth.Keyring
	ingestKey, _ := ring.Create("pipeline", []auth.Scope{auth.ScopeIngest}, now)
	readKey, _ := ring.Create("grafana", []auth.Scope{auth.ScopeRead}, now)
	adminKey, _ := ring.Create("ops", []auth.Scope{auth.ScopeAdmin}, now)
	srv := serve(t, nil, api.Config{Keys: &ring})
	batch := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1})})
	cases := []struct {
		method, path, token string
		body                []byte
		status              int
	}{
		{"GET", "/livez", "", nil, 200},
		{"GET", "/readyz", "", nil, 200},
		{"POST", "/v1/events", "", batch, 401},
		{"POST", "/v1/events", "vk_wrong", batch, 401},
		{"POST", "/v1/events", readKey, batch, 403},
		{"POST", "/v1/events", ingestKey, batch, 200},
		{"GET", "/v1/accounts/acme/events", ingestKey, nil, 403},
		{"GET", "/v1/accounts/acme/events", readKey, nil, 200},
		{"GET", "/v1/accounts/acme/events", "", nil, 401},
		{"GET", "/v1/admin/stats", readKey, nil, 403},
		{"GET", "/v1/admin/stats", adminKey, nil, 501}, // no stats configured here
		{"POST", "/v1/events", adminKey, batch, 200},   // admin implies ingest
	}
	for _, c := range cases {
		res := do(t, c.method, srv.URL+c.path, c.token, c.body)
		if res.StatusCode != c.status {
			t.Errorf("%s %s with %q: %d, want %d", c.method, c.path, c.token, res.StatusCode, c.status)
		}
		if c.status == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s: 401 without WWW-Authenticate", c.method, c.path)
		}
	}
}

func TestRateLimitPerKey(t *testing.T) {
	var ring auth.Keyring
	a, _ := ring.Create("a", []auth.Scope{auth.ScopeRead}, now)
	b, _ := ring.Create("b", []auth.Scope{auth.ScopeRead}, now)
	srv := serve(t, nil, api.Config{Keys: &ring, RateLimit: 0.5, RateBurst: 2})
	url := srv.URL + "/v1/accounts/x/events"
	for i := range 2 {
		if res := do(t, "GET", url, a, nil); res.StatusCode != http.StatusNotFound {
			t.Fatalf("request %d: %d, want 404 (allowed)", i, res.StatusCode)
		}
	}
	res := do(t, "GET", url, a, nil)
	if res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third request: %d, want 429", res.StatusCode)
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Fatalf("Retry-After %q, want 1..2 seconds", res.Header.Get("Retry-After"))
	}
	if res := do(t, "GET", url, b, nil); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another key is limited separately: %d", res.StatusCode)
	}
	if res := do(t, "GET", srv.URL+"/livez", "", nil); res.StatusCode != 200 {
		t.Fatalf("health probes are not limited: %d", res.StatusCode)
	}
}

// faultStore fails AppendMany while fail is set, and can hold appends.
type faultStore struct {
	eventstore.Store
	mu      sync.Mutex
	fail    error
	hold    chan struct{}
	entered chan struct{} // receives when an append starts holding
}

func (f *faultStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	f.mu.Lock()
	fail, hold := f.fail, f.hold
	f.mu.Unlock()
	if hold != nil {
		f.entered <- struct{}{}
		<-hold
	}
	if fail != nil {
		return nil, fail
	}
	return f.Store.AppendMany(ctx, reqs)
}

func TestStoreFailureIs503AndLosesNothing(t *testing.T) {
	base, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	fs := &faultStore{Store: base, fail: fmt.Errorf("bolt: commit: %w: no space left on device", eventstore.ErrUnavailable)}
	srv := serve(t, fs, api.Config{})
	batch := mustJSON(t, []any{
		ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1}),
		ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 9}),
	})
	res := do(t, "POST", srv.URL+"/v1/events", "", batch)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("disk full: %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if h, _ := base.Head(context.Background()); h != 0 {
		t.Fatalf("a failed append left %d records", h)
	}
	fs.mu.Lock()
	fs.fail = nil
	fs.mu.Unlock()
	if res := do(t, "POST", srv.URL+"/v1/events", "", batch); res.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d", res.StatusCode)
	}
	if h, _ := base.Head(context.Background()); h != 2 {
		t.Fatalf("after the retry the store holds %d records, want 2", h)
	}
}

func TestConcurrentIngestCap(t *testing.T) {
	base, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer base.Close()
	hold := make(chan struct{})
	fs := &faultStore{Store: base, hold: hold, entered: make(chan struct{}, 1)}
	srv := serve(t, fs, api.Config{MaxConcurrentIngest: 1, IngestQueueWait: 20 * time.Millisecond})
	batch := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1})})
	first := make(chan int)
	go func() { first <- do(t, "POST", srv.URL+"/v1/events", "", batch).StatusCode }()
	// Wait until the first request holds the only slot (it blocks in the store).
	select {
	case <-fs.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the first ingest never reached the store")
	}
	res := do(t, "POST", srv.URL+"/v1/events", "", batch)
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("second concurrent ingest: %d, want 503 busy", res.StatusCode)
	}
	fs.mu.Lock()
	fs.hold = nil
	fs.mu.Unlock()
	close(hold)
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first ingest: %d", code)
	}
}

func TestDrainAndBackup(t *testing.T) {
	store, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	h, err := api.New(api.Config{Store: store, Ingester: ingest.New(store), Logger: zerolog.Nop(), Backup: store.Backup})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	batch := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1}),
		ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 7})})
	if res := do(t, "POST", srv.URL+"/v1/events", "", batch); res.StatusCode != 200 {
		t.Fatal(res.Status)
	}

	// Backup while serving, then restore it into a new data dir.
	res, err := http.Get(srv.URL + "/v1/admin/backup")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || strconv.Itoa(len(data)) != res.Header.Get("Content-Length") {
		t.Fatalf("backup: %d, %d bytes, Content-Length %s", res.StatusCode, len(data), res.Header.Get("Content-Length"))
	}
	dir := t.TempDir()
	if err := writeFile(dir+"/"+bolt.FileName, data); err != nil {
		t.Fatal(err)
	}
	restored, err := bolt.Open(context.Background(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	recs, err := restored.ReadStream(context.Background(), "account-acme", 0, 10)
	if err != nil || len(recs) != 2 {
		t.Fatalf("restored backup: %d records, %v", len(recs), err)
	}

	h.Drain()
	res, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz while draining: %d", res.StatusCode)
	}
	if res := do(t, "GET", srv.URL+"/livez", "", nil); res.StatusCode != 200 {
		t.Fatalf("livez while draining: %d", res.StatusCode)
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o600) }

func TestReadyzReportsFailingChecks(t *testing.T) {
	var failing atomic.Bool
	srv := serve(t, nil, api.Config{Ready: []api.ReadyCheck{{Name: "projections", Check: func(context.Context) error {
		if failing.Load() {
			return errors.New("stopped: subscription: eventstore: unavailable")
		}
		return nil
	}}}})
	if res := do(t, "GET", srv.URL+"/readyz", "", nil); res.StatusCode != 200 {
		t.Fatalf("readyz: %d", res.StatusCode)
	}
	failing.Store(true)
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !bytes.Contains(body, []byte(`"projections":"stopped: subscription`)) {
		t.Fatalf("readyz with a failing check: %d %s", res.StatusCode, body)
	}
}
