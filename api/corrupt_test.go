package api_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// TestAccountEventsNeverServesCorruptRecord flips a byte inside a stored
// event of a real bolt file: GET /v1/accounts/{id}/events must answer 500
// with a message that names no file, never the damaged bytes.
func TestAccountEventsNeverServesCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	store, err := bolt.Open(context.Background(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var cands []ingest.Candidate
	for _, raw := range []string{
		`{"specversion":"1.0","id":"o1","source":"crm","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}`,
		`{"specversion":"1.0","id":"n1","source":"survey","type":"nps.responded","subject":"acme","time":"2026-02-01T00:00:00Z","data":{"score":9}}`,
	} {
		ev, err := domain.Parse([]byte(raw), now)
		cands = append(cands, ingest.Candidate{Event: ev, Err: err})
	}
	if _, _, err := ingest.New(store).Ingest(context.Background(), cands); err != nil {
		t.Fatal(err)
	}
	store.Close()

	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := binary.BigEndian.AppendUint64(nil, 2) // the nps.responded event
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		v := slices.Clone(b.Get(key))
		i := strings.Index(string(v), `"score":9`)
		v[i+len(`"score":`)] = '{' // valid checksum no more, and invalid JSON
		return b.Put(key, v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	store, err = bolt.Open(context.Background(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	scorer, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	proj, err := projections.New(projections.Config{Store: store, Scorer: scorer})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: store, Ingester: ingest.New(store), Logger: zerolog.Nop(), Projector: proj})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/v1/accounts/acme/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var answer struct {
		Error struct{ Code, Message string }
	}
	if res.StatusCode != http.StatusInternalServerError || json.Unmarshal(body, &answer) != nil || answer.Error.Message == "" {
		t.Fatalf("status %d, body %s; want 500 with an error", res.StatusCode, body)
	}
	if strings.Contains(string(body), dir) || strings.Contains(string(body), bolt.FileName) || strings.Contains(string(body), `"score":{`) {
		t.Errorf("answer leaks a path or the damaged bytes: %s", body)
	}
}
