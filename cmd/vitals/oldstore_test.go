package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
)

// oldStoreDir copies the store of testdata/store-2715bca into a temp data
// dir: 218 events written by commit 2715bca (record format 2 in file format 2, each event as
// CloudEvent JSON) by the program beside it, mkfixture.go.txt. served.jsonl
// holds the JSON that commit served for each event, in log order.
func oldStoreDir(t *testing.T) (dir string, served [][]byte) {
	t.Helper()
	src := filepath.Join("testdata", "store-2715bca")
	f, err := os.Open(filepath.Join(src, "events.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	db, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, bolt.FileName), db, 0o600); err != nil {
		t.Fatal(err)
	}
	lines, err := os.ReadFile(filepath.Join(src, "served.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(lines))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		served = append(served, bytes.Clone(sc.Bytes()))
	}
	return dir, served
}

// TestStoreWrittenBeforeCompactEvents opens a store written before events
// were stored in the compact form: every event is served byte for byte as
// it was, vitals verify passes, new events are appended in the compact form
// beside the old ones, and the projections read the mixed log.
func TestStoreWrittenBeforeCompactEvents(t *testing.T) {
	dir, served := oldStoreDir(t)
	if len(served) != 218 {
		t.Fatalf("served.jsonl has %d events", len(served))
	}
	if code, out, errs := run(t, "", nil, "verify", "--data-dir", dir); code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errs)
	}
	// The version that wrote it reads file format 2 only: opening the file
	// marked it format 4, which that version refuses.
	if f := metaFormatOf(t, dir); f != 4 {
		t.Fatalf("the store is file format %d after opening, want 4", f)
	}

	store, err := bolt.Open(t.Context(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	recs, err := store.ReadAll(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(served) {
		t.Fatalf("the store holds %d events, served.jsonl %d", len(recs), len(served))
	}
	var subject string
	for i, r := range recs {
		if domain.IsBinary(r.Data) {
			t.Fatalf("position %d: an old event is in the compact form", r.Position)
		}
		ev, err := domain.Decode(r.Data)
		if err != nil {
			t.Fatalf("position %d: %v", r.Position, err)
		}
		got, err := ev.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, served[i]) {
			t.Fatalf("position %d is served as\n%s\nit was served as\n%s", r.Position, got, served[i])
		}
		if ev.Type == domain.TypeAccountOpened {
			subject = ev.Subject
		}
	}

	// A new event lands in the compact form beside the old ones.
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	raw := []byte(`{"specversion":"1.0","id":"new-1","source":"crm","type":"nps.responded","subject":"` + subject +
		`","time":"2026-06-29T00:00:00Z","data":{"score":3}}`)
	ev, err := domain.Parse(raw, now)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := ingest.NewWithEncoding(store, ingest.EncodeCompact).Ingest(t.Context(), []ingest.Candidate{{Event: ev}})
	if err != nil || res[0].Status != ingest.Accepted {
		t.Fatalf("ingest: %v %+v", err, res)
	}
	last, err := store.ReadAll(t.Context(), eventstore.Position(len(served)), 10)
	if err != nil || len(last) != 1 || !domain.IsBinary(last[0].Data) {
		t.Fatalf("the new event: %v, %d records", err, len(last))
	}

	// The projections replay the mixed log.
	scorer, err := newScorer("")
	if err != nil {
		t.Fatal(err)
	}
	p, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("projector: %v", err)
		}
	}()
	if err := p.WaitFor(t.Context(), last[0].Position); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Replayed != int64(len(served)+1) || st.Accounts != 4 {
		t.Fatalf("projections replayed %d events of %d accounts", st.Replayed, st.Accounts)
	}
	h, err := p.Health(t.Context(), subject, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Position != last[0].Position {
		t.Errorf("health of %s at position %d, want %d", subject, h.Position, last[0].Position)
	}
}

// metaFormatOf reads the file format of the store in dir (meta bucket,
// key "format"; see package bolt).
func metaFormatOf(t *testing.T, dir string) byte {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var f []byte
	if err := db.View(func(tx *bbolt.Tx) error {
		f = bytes.Clone(tx.Bucket([]byte("meta")).Get([]byte("format")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(f) != 1 {
		t.Fatalf("meta format = %v", f)
	}
	return f[0]
}
