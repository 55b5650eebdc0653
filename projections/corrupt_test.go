package projections_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/projections"
)

// flipStoredByte flips one byte in the data of the record at pos of the
// bolt store file in dir, with bbolt directly (the layout is documented in
// package bolt: bucket "log", 8-byte big-endian positions).
func flipStoredByte(t *testing.T, dir string, pos eventstore.Position) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := binary.BigEndian.AppendUint64(nil, uint64(pos))
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("log"))
		v := slices.Clone(b.Get(key))
		if len(v) < 10 {
			return fmt.Errorf("record %d: %d bytes", pos, len(v))
		}
		v[len(v)-10] ^= 0x01
		return b.Put(key, v)
	}); err != nil {
		t.Fatal(err)
	}
}

// corruptObserver records what the projector reports.
type corruptObserver struct {
	mu      sync.Mutex
	corrupt []eventstore.Position
	skipped []string
}

func (o *corruptObserver) Applied(eventstore.Position, time.Time, int) {}
func (o *corruptObserver) Rescored(int)                                {}
func (o *corruptObserver) Skipped(reason string) {
	o.mu.Lock()
	o.skipped = append(o.skipped, reason)
	o.mu.Unlock()
}
func (o *corruptObserver) Corrupt(ps []eventstore.Position) {
	o.mu.Lock()
	o.corrupt = append(o.corrupt, ps...)
	o.mu.Unlock()
}

// TestProjectorStopsAtCorruptRecord damages one stored event of a real bolt
// file: the projector must stop with the error at that position (so that
// readiness fails), report it to its observer, and skip nothing; Rebuild
// must fail naming the position.
func TestProjectorStopsAtCorruptRecord(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	store, err := bolt.Open(context.Background(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	head := ingestAll(t, store, demoEvents(t, 3, 2, now), now)
	store.Close()
	bad := head / 2
	flipStoredByte(t, dir, bad)
	store, err = bolt.Open(context.Background(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	obs := &corruptObserver{}
	cfg := projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }, Observer: obs}
	p, err := projections.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = p.Run(ctx)
	if !errors.Is(err, eventstore.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
		t.Fatalf("Run = %v, want a corrupt record error naming position %d", err, bad)
	}
	if p.Position() != bad-1 {
		t.Errorf("projector at %d, want %d (the record before the damaged one)", p.Position(), bad-1)
	}
	if !slices.Equal(obs.corrupt, []eventstore.Position{bad}) || len(obs.skipped) != 0 {
		t.Errorf("observer saw corrupt %v, skipped %v; want corrupt [%d] and nothing skipped", obs.corrupt, obs.skipped, bad)
	}

	_, err = projections.Rebuild(ctx, cfg, head, nil)
	if !errors.Is(err, eventstore.ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprint(bad)) {
		t.Fatalf("Rebuild = %v, want a corrupt record error naming position %d", err, bad)
	}
}

// TestStaleSnapshotTempsRemoved leaves the temp files a kill during a
// snapshot write leaves behind: New removes them, and nothing else.
func TestStaleSnapshotTempsRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := []string{".snapshot-123456", ".snapshot-9"}
	keep := []string{"projections.snapshot", "events.db", ".snapshot-notes", "snapshot-1", "keys.json"}
	for _, name := range append(slices.Clone(stale), keep...) {
		mustWrite(t, filepath.Join(dir, name), []byte("x"))
	}
	if err := os.Mkdir(filepath.Join(dir, ".snapshot-77"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".snapshot-77") // a directory is not a temp file
	if _, err := projections.New(projections.Config{Store: openStore(t), Scorer: newScorer(t),
		SnapshotPath: filepath.Join(dir, "projections.snapshot")}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(keep)
	if !slices.Equal(left, keep) {
		t.Errorf("after New the directory holds %v, want %v", left, keep)
	}
}
