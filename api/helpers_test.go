package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// newServer builds an api.Server from cfg, filling in a fresh bolt store
// (when cfg.Store is nil), an ingester on it, the test clock and a logger
// that writes JSON lines to logs (discarded when logs is nil). It returns
// the server and the store.
func newServerLog(t testing.TB, cfg api.Config, logs io.Writer) (*api.Server, eventstore.Store) {
	t.Helper()
	if cfg.Store == nil {
		s, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		cfg.Store = s
	}
	if cfg.Ingester == nil {
		cfg.Ingester = ingest.NewWithEncoding(cfg.Store, ingest.EncodeCompact) // as serve does with the embedded store
	}
	cfg.Now = func() time.Time { return now }
	cfg.Logger = zerolog.Nop()
	if logs != nil {
		cfg.Logger = zerolog.New(logs)
	}
	h, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, cfg.Store
}

// newServer is newServerLog without logs.
func newServer(t testing.TB, cfg api.Config) (*api.Server, eventstore.Store) {
	t.Helper()
	return newServerLog(t, cfg, nil)
}

// startServer serves h over HTTP for the test, checking every request and
// answer against openapi.yaml (see validating).
func startServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(validating(t, h))
	t.Cleanup(srv.Close)
	return srv
}
