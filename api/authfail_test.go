package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// handler builds a server handler (no listener) so that requests can come
// from any client address.
func handler(t *testing.T, cfg api.Config) http.Handler {
	t.Helper()
	store, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg.Store, cfg.Ingester, cfg.Logger = store, ingest.New(store), zerolog.Nop()
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// from sends GET path from the client address addr with token (none when
// empty).
func from(h http.Handler, addr, path, token string) *http.Response {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = addr + ":40000"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// TestFailedAuthLimitedPerAddress: after DefaultAuthFailures failed
// authentications from one address, that address gets 429 with
// Retry-After — even with a valid key, so a guess cannot be confirmed —
// while other addresses are unaffected.
func TestFailedAuthLimitedPerAddress(t *testing.T) {
	var ring auth.Keyring
	good, err := ring.Create("grafana", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	h := handler(t, api.Config{Keys: &ring})
	const path = "/v1/accounts/x/events"
	const attacker, other, keyless = "192.0.2.1", "192.0.2.2", "2001:db8::3"
	for i := range 10 {
		if res := from(h, attacker, path, "vk_guess"+strconv.Itoa(i)); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	for _, tok := range []string{"vk_guess10", good} {
		res := from(h, attacker, path, tok)
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after 10 failures, key %.9q…: %d, want 429", tok, res.StatusCode)
		}
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Fatalf("Retry-After %q, want 1..60 seconds", res.Header.Get("Retry-After"))
		}
	}
	if res := from(h, attacker, "/livez", ""); res.StatusCode != http.StatusOK {
		t.Fatalf("health probes are never limited: %d", res.StatusCode)
	}
	if res := from(h, other, path, "vk_wrong"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another address, wrong key: %d, want 401", res.StatusCode)
	}
	if res := from(h, other, path, good); res.StatusCode != http.StatusNotFound {
		t.Fatalf("another address, good key: %d, want 404 (allowed)", res.StatusCode)
	}
	// A missing key is a failed authentication too.
	for i := range 10 {
		if res := from(h, keyless, path, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("no key %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	if res := from(h, keyless, path, ""); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th request without a key: %d, want 429", res.StatusCode)
	}
}
