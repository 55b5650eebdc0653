package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/eventstoretest"
)

// open opens a store in dir and closes it when the test ends.
func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	eventstoretest.Run(t, eventstoretest.Features{GapFreePositions: true, Reopen: true, Dedupe: true},
		func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
			dir := t.TempDir()
			return open(t, dir), func() eventstore.Store { return open(t, dir) }
		})
}

// TestConformanceMerging runs the conformance suite with tails of 1 and 3
// records, so that nearly every commit merges the tail into the file's
// indexes and reads meet records on both sides of the indexed position.
func TestConformanceMerging(t *testing.T) {
	for _, every := range []int{1, 3} {
		t.Run(fmt.Sprintf("IndexEvery=%d", every), func(t *testing.T) {
			eventstoretest.Run(t, eventstoretest.Features{GapFreePositions: true, Reopen: true, Dedupe: true},
				func(t *testing.T) (eventstore.Store, func() eventstore.Store) {
					dir := t.TempDir()
					return openWith(t, dir, Options{IndexEvery: every}), func() eventstore.Store { return openWith(t, dir, Options{IndexEvery: every}) }
				})
		})
	}
}

// openWith opens a store in dir with opts and closes it when the test ends.
func openWith(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func event(key string) eventstore.EventData {
	return eventstore.EventData{Key: key, Type: "test.happened", Data: []byte(`{}`)}
}

func TestOpenCreatesOneFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, dir)
	if _, err := s.Append(t.Context(), "s", eventstore.NoStream, event("k")); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != FileName {
		t.Errorf("data directory holds %v, want only %s", entries, FileName)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if st.SizeBytes != fi.Size() || st.SizeBytes == 0 || st.Head != 1 || st.Events != 1 || st.Commits != 1 {
		t.Errorf("Stats = %+v, file size %d", st, fi.Size())
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	// bbolt's flock is per open file, so a second Open in this process
	// meets the lock exactly as another process would.
	s, err := Open(t.Context(), dir, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestOpenRejectsForeignFormat(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaFormat), []byte{99})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := Open(t.Context(), dir, Options{}); err == nil {
		s2.Close()
		t.Fatal("Open of a file in format 99 succeeded")
	}
}

// TestGroupCommit checks that concurrent appenders share commits.
func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir())
	const appenders = 64
	// Hold the writer inside a transaction until every appender is
	// queued, so the test does not depend on scheduling.
	release := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	s.beforeCommit = func() error {
		once.Do(func() { close(held); <-release })
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := s.Append(t.Context(), "first", eventstore.NoStream, event("first")); err != nil {
			t.Error(err)
		}
	})
	<-held
	for i := range appenders {
		wg.Go(func() {
			if _, err := s.Append(t.Context(), fmt.Sprint("s", i), eventstore.NoStream, event(fmt.Sprint("k", i))); err != nil {
				t.Error(err)
			}
		})
	}
	for len(s.ops) < appenders {
		// Wait until every appender has queued (the writer is held).
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != appenders+1 || st.Commits != 2 {
		t.Errorf("Stats = %+v, want %d events in 2 commits", st, appenders+1)
	}
}

// TestCommitFailure checks that a failed commit fails every request of
// the transaction with ErrUnavailable, writes nothing and leaves no gap.
func TestCommitFailure(t *testing.T) {
	// A tail of 1 record: the failing commit also merges the tail.
	for _, every := range []int{0, 1} {
		t.Run(fmt.Sprintf("IndexEvery=%d", every), func(t *testing.T) { testCommitFailure(t, Options{IndexEvery: every}) })
	}
}

func testCommitFailure(t *testing.T, opts Options) {
	s := openWith(t, t.TempDir(), opts)
	if _, err := s.Append(t.Context(), "a", eventstore.NoStream, event("k0")); err != nil {
		t.Fatal(err)
	}
	var fail sync.Mutex // held: commits fail
	failing := true
	s.beforeCommit = func() error {
		fail.Lock()
		defer fail.Unlock()
		if failing {
			return fmt.Errorf("write events.db: %w", syscall.ENOSPC)
		}
		return nil
	}
	outs, err := s.AppendMany(t.Context(), []eventstore.AppendRequest{
		{Stream: "a", Expected: 0, Events: []eventstore.EventData{event("k1")}},
		{Stream: "b", Expected: eventstore.NoStream, Events: []eventstore.EventData{event("k2")}},
	})
	if !errors.Is(err, eventstore.ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) || outs != nil {
		t.Fatalf("AppendMany with a failing commit = %v, %v; want ErrUnavailable wrapping ENOSPC", outs, err)
	}
	if h, _ := s.Head(t.Context()); h != 1 {
		t.Errorf("Head = %d after a failed commit, want 1", h)
	}
	fail.Lock()
	failing = false
	fail.Unlock()
	res, err := s.Append(t.Context(), "a", 0, event("k1"), event("k2"))
	if err != nil || res.Duplicate || res.First != 2 || res.Last != 3 || res.Version != 2 {
		t.Errorf("Append after the failure = %+v, %v; want positions 2..3, version 2", res, err)
	}
	if _, err := s.StreamVersion(t.Context(), "b"); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("stream b of the failed commit: %v, want ErrStreamNotFound", err)
	}
}

func TestInvalidLengths(t *testing.T) {
	s := open(t, t.TempDir())
	long := string(make([]byte, MaxKeyLen+1))
	if _, err := s.Append(t.Context(), long[:MaxStreamLen+1], eventstore.AnyVersion, event("k")); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("long stream: %v, want ErrInvalid", err)
	}
	if _, err := s.Append(t.Context(), "s", eventstore.AnyVersion, event(long)); !errors.Is(err, eventstore.ErrInvalid) {
		t.Errorf("long key: %v, want ErrInvalid", err)
	}
	if _, err := s.Append(t.Context(), long[:MaxStreamLen], eventstore.AnyVersion, event(long[:MaxKeyLen])); err != nil {
		t.Errorf("stream and key of the maximum length: %v", err)
	}
}

func TestRecordEncoding(t *testing.T) {
	tests := []struct {
		stream string
		v      eventstore.Version
		at     int64
		ev     eventstore.EventData
	}{
		{"s", 0, 0, eventstore.EventData{Key: "k", Type: "t"}},
		{"account-acme", 1 << 40, -5, eventstore.EventData{Key: "crm/evt-1", Type: "nps.responded", Data: []byte(`{"score":9}`)}},
		{string(make([]byte, 300)), 7, 1763900000123456789, eventstore.EventData{Key: "\x00", Type: "x", Data: make([]byte, 70000)}},
	}
	for i, tt := range tests {
		b := encodeRecord(tt.stream, tt.v, tt.at, tt.ev)
		r, err := decodeRecord(eventstore.Position(i+1), b)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if r.Position != eventstore.Position(i+1) || r.Stream != tt.stream || r.Version != tt.v || r.Key != tt.ev.Key ||
			r.Type != tt.ev.Type || string(r.Data) != string(tt.ev.Data) || r.RecordedAt.UnixNano() != tt.at {
			t.Errorf("case %d: decoded %+v", i, r)
		}
		for cut := range b {
			if _, err := decodeRecord(1, b[:cut]); err == nil {
				t.Fatalf("case %d: a record cut to %d of %d bytes decoded", i, cut, len(b))
			}
		}
		if _, err := decodeRecord(1, append(b, 0)); err == nil {
			t.Errorf("case %d: a record with a trailing byte decoded", i)
		}
	}
}

// TestRecordChecksum flips every bit of a format 2 record, one at a time:
// each flip must be reported as corruption of the record's position.
func TestRecordChecksum(t *testing.T) {
	b := encodeRecord("account-acme", 4, 1763900000123456789,
		eventstore.EventData{Key: "crm/evt-1", Type: "nps.responded", Data: []byte(`{"score":9}`)})
	for i := range b {
		for bit := range 8 {
			damaged := slices.Clone(b)
			damaged[i] ^= 1 << bit
			_, err := decodeRecord(12, damaged)
			var ce *eventstore.CorruptError
			if !errors.As(err, &ce) || !slices.Equal(ce.Positions, []eventstore.Position{12}) {
				t.Fatalf("byte %d bit %d flipped: %v", i, bit, err)
			}
		}
	}
}

// TestRecordFormatV1 decodes a record as format 1 wrote it (no checksum).
func TestRecordFormatV1(t *testing.T) {
	ev := eventstore.EventData{Key: "crm/evt-1", Type: "nps.responded", Data: []byte(`{"score":9}`)}
	r, err := decodeRecord(3, encodeRecordV1("account-acme", 4, 77, ev))
	if err != nil || r.Stream != "account-acme" || r.Version != 4 || r.RecordedAt.UnixNano() != 77 ||
		r.Key != ev.Key || r.Type != ev.Type || string(r.Data) != string(ev.Data) {
		t.Fatalf("decoded %+v, %v", r, err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord("s", 3, 42, eventstore.EventData{Key: "k", Type: "t", Data: []byte("{}")}))
	f.Add(encodeRecordV1("s", 3, 42, eventstore.EventData{Key: "k", Type: "t", Data: []byte("{}")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(9, b)
		if err != nil {
			var ce *eventstore.CorruptError
			if !errors.As(err, &ce) || !slices.Equal(ce.Positions, []eventstore.Position{9}) {
				t.Fatalf("error %v is not a corrupt record at position 9", err)
			}
			return
		}
		// Varints have more than one encoding: compare decoded records.
		again, err := decodeRecord(9, encodeRecord(r.Stream, r.Version, r.RecordedAt.UnixNano(), eventstore.EventData{Key: r.Key, Type: r.Type, Data: r.Data}))
		if err != nil || again.Stream != r.Stream || again.Version != r.Version || !again.RecordedAt.Equal(r.RecordedAt) ||
			again.Key != r.Key || again.Type != r.Type || string(again.Data) != string(r.Data) {
			t.Errorf("re-encoding %+v gives %+v, %v", r, again, err)
		}
	})
}

// TestOpenUpgradesFileFormat: a file of format 1, 2 or 3 (written before
// event data could be in the compact form, or before records could be
// left out of the indexes) is marked format 4 when opened, with its
// indexes holding every record up to its head, so that an earlier
// version, which could not decode such data or find such records,
// refuses it.
func TestOpenUpgradesFileFormat(t *testing.T) {
	for _, old := range []byte{fileFormatV1, fileFormatV2, fileFormatV3} {
		dir := t.TempDir()
		s := open(t, dir)
		if _, err := s.Append(t.Context(), "s", eventstore.NoStream, event("a"), event("b")); err != nil {
			t.Fatal(err)
		}
		s.Close() // merges the tail: the indexes hold both records
		db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Update(func(tx *bbolt.Tx) error {
			meta := tx.Bucket([]byte(bucketMeta))
			if err := meta.Delete([]byte(metaIndexed)); err != nil {
				return err
			}
			return meta.Put([]byte(metaFormat), []byte{old})
		}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		s = open(t, dir)
		var format, indexed []byte
		if err := s.db.View(func(tx *bbolt.Tx) error {
			meta := tx.Bucket([]byte(bucketMeta))
			format = bytes.Clone(meta.Get([]byte(metaFormat)))
			indexed = bytes.Clone(meta.Get([]byte(metaIndexed)))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(format, []byte{4}) || !bytes.Equal(indexed, u64(2)) {
			t.Errorf("a file of format %d is format %v, indexed %v after Open, want 4 and 2", old, format, indexed)
		}
		if res, err := s.Append(t.Context(), "s", eventstore.StreamExists, event("b")); err != nil || !res.Duplicate || res.Last != 2 {
			t.Errorf("a key of the upgraded file appended again: %+v, %v; want the duplicate of position 2", res, err)
		}
		s.Close()
	}
}
