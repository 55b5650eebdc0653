package bolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
)

// crashCopy writes a backup of s into a new directory and returns it: the
// file as a process killed now would leave it, with the tail not merged.
func crashCopy(t *testing.T, s *Store) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(t.Context(), f, nil); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fillStreams appends n single-event commits, round robin over streams
// s0, s1, s2, with keys k0, k1, …
func fillStreams(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Append(t.Context(), fmt.Sprintf("s%d", i%3), eventstore.AnyVersion, event(fmt.Sprintf("k%d", i))); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTailAfterCrash: a store killed with records not yet in the file's
// indexes opens with them indexed from the log — their keys are
// duplicates at their positions, their streams read whole and in order,
// appends continue at the right versions, and Verify finds nothing wrong.
func TestTailAfterCrash(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexEvery: 4})
	fillStreams(t, s, 10) // merges after 4 and 8 records: the tail holds 9 and 10
	if s.indexed != 8 || s.tail.events != 2 {
		t.Fatalf("indexed %d, tail of %d records; want 8 and 2", s.indexed, s.tail.events)
	}
	dir := crashCopy(t, s)

	c := openWith(t, dir, Options{IndexEvery: 4})
	if c.indexed != 8 || c.tail.events != 2 {
		t.Fatalf("reopened: indexed %d, tail of %d records; want 8 and 2", c.indexed, c.tail.events)
	}
	for i := range 10 {
		res, err := c.Append(t.Context(), fmt.Sprintf("s%d", i%3), eventstore.AnyVersion, event(fmt.Sprintf("k%d", i)))
		if err != nil || !res.Duplicate || res.First != eventstore.Position(i+1) || res.Version != eventstore.Version(i/3) {
			t.Errorf("k%d again: %+v, %v; want the duplicate of position %d, version %d", i, res, err, i+1, i/3)
		}
	}
	for st, want := range map[string][]eventstore.Position{"s0": {1, 4, 7, 10}, "s1": {2, 5, 8}, "s2": {3, 6, 9}} {
		recs, err := c.ReadStream(t.Context(), st, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []eventstore.Position
		for i, r := range recs {
			got = append(got, r.Position)
			if r.Version != eventstore.Version(i) || r.Stream != st {
				t.Errorf("%s record %d: %s version %d", st, i, r.Stream, r.Version)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: positions %v, want %v", st, got, want)
		}
		if v, err := c.StreamVersion(t.Context(), st); err != nil || v != eventstore.Version(len(want)-1) {
			t.Errorf("%s: version %d, %v; want %d", st, v, err, len(want)-1)
		}
	}
	if res, err := c.Append(t.Context(), "s0", 3, event("k10")); err != nil || res.First != 11 || res.Version != 4 {
		t.Errorf("append after the tail: %+v, %v; want position 11, version 4", res, err)
	}
	if rep, err := c.Verify(t.Context(), nil); err != nil || rep.Records != 11 {
		t.Errorf("verify: %+v, %v", rep, err)
	}
}

// TestDamagedTailRefusedAtOpen: a record after the indexed position that
// fails its checksum cannot be indexed (its key and stream are unknown),
// so Open refuses the file, naming the position, rather than accept
// appends that could repeat its key.
func TestDamagedTailRefusedAtOpen(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexEvery: 4})
	fillStreams(t, s, 10)
	dir := crashCopy(t, s)
	rewriteRecord(t, dir, 9, flipAt(5))
	_, err := Open(t.Context(), dir, Options{})
	var de *DamagedError
	if !errors.As(err, &de) || !errors.Is(err, eventstore.ErrCorrupt) {
		t.Fatalf("Open of a file with a damaged tail record: %v; want a *DamagedError", err)
	}
	if want := "position 9"; !contains(de.Reason, want) {
		t.Errorf("reason %q does not name %q", de.Reason, want)
	}
}

// TestCloseMergesTail: a store closed cleanly leaves no record outside the
// file's indexes.
func TestCloseMergesTail(t *testing.T) {
	dir := t.TempDir()
	s := openWith(t, dir, Options{IndexEvery: 4})
	fillStreams(t, s, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bbolt.Tx) error {
		if got := tx.Bucket([]byte(bucketMeta)).Get([]byte(metaIndexed)); beUint64(got) != 10 {
			t.Errorf("indexed %d after Close, want 10", beUint64(got))
		}
		if n := tx.Bucket([]byte(bucketKeys)).Stats().KeyN; n != 10 {
			t.Errorf("%d keys in the file's index, want 10", n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestReadsDuringMerges reads streams, and verifies the store, while a
// writer appends with a tail of 2 records, so that merges keep moving
// records from the tail to the file's indexes under the readers: every
// read sees each stream whole, from version 0 without a gap or a repeat,
// and Verify finds every record indexed.
func TestReadsDuringMerges(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexEvery: 2})
	const streams, events = 4, 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i := range events {
			if _, err := s.Append(t.Context(), fmt.Sprintf("s%d", i%streams), eventstore.AnyVersion, event(fmt.Sprintf("k%d", i))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() { // Verify's reads of the tail's keys while the writer fills them
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.verifyRecords(t.Context(), nil); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(time.Millisecond) // let the writer have the keys

		}
	})
	for g := range streams {
		wg.Go(func() {
			st := fmt.Sprintf("s%d", g)
			for {
				select {
				case <-done:
					return
				default:
				}
				recs, err := s.ReadStream(t.Context(), st, 0, events)
				if errors.Is(err, eventstore.ErrStreamNotFound) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				v, err := s.StreamVersion(t.Context(), st)
				if err != nil || v < eventstore.Version(len(recs)-1) {
					t.Errorf("%s: version %d after reading %d records (%v)", st, v, len(recs), err)
				}
				for i, r := range recs {
					if r.Version != eventstore.Version(i) || r.Stream != st {
						t.Errorf("%s: record %d is %s version %d", st, i, r.Stream, r.Version)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestReadStreamWithinSegments reads every stream from every version with
// several limits, from a file whose streams index holds segments of many
// versions (merges of 7 records, and the merge at Close), a tail, and
// both: each read returns exactly the versions asked for.
func TestReadStreamWithinSegments(t *testing.T) {
	dir := t.TempDir()
	s := openWith(t, dir, Options{IndexEvery: 7})
	fillStreams(t, s, 30)
	s.Close()
	s = openWith(t, dir, Options{IndexEvery: 7})
	for i := 30; i < 40; i++ { // a merge, then a tail of 3
		if _, err := s.Append(t.Context(), fmt.Sprintf("s%d", i%3), eventstore.AnyVersion, event(fmt.Sprintf("k%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	for st := range 3 {
		stream := fmt.Sprintf("s%d", st)
		var all []eventstore.Position // version v of stream st is at position 3v+st+1
		for p := st + 1; p <= 40; p += 3 {
			all = append(all, eventstore.Position(p))
		}
		for from := range len(all) + 1 {
			for _, limit := range []int{1, 2, 5, 100} {
				recs, err := s.ReadStream(t.Context(), stream, eventstore.Version(from), limit)
				if err != nil {
					t.Fatal(err)
				}
				want := all[from:min(from+limit, len(all))]
				var got []eventstore.Position
				for _, r := range recs {
					got = append(got, r.Position)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s from %d limit %d: positions %v, want %v", stream, from, limit, got, want)
				}
			}
		}
	}
	if _, err := s.Verify(t.Context(), nil); err != nil {
		t.Error(err)
	}
}

// TestDuplicatesStillMerge: a commit that writes nothing (its requests are
// duplicates) still merges a full tail, rather than merging and rolling
// back at every retry.
func TestDuplicatesStillMerge(t *testing.T) {
	s := openWith(t, t.TempDir(), Options{IndexEvery: 2})
	fillStreams(t, s, 3) // a merge after 2 records; the tail holds the third
	fillStreams(t, s, 1) // k0 again: nothing written
	if s.indexed != 2 || s.tail.events != 1 {
		t.Fatalf("indexed %d, tail of %d; want 2 and 1", s.indexed, s.tail.events)
	}
	if _, err := s.Append(t.Context(), "s3", eventstore.AnyVersion, event("k3")); err != nil {
		t.Fatal(err)
	}
	res, err := s.Append(t.Context(), "s0", eventstore.AnyVersion, event("k0"))
	if err != nil || !res.Duplicate || res.First != 1 {
		t.Fatalf("k0 again: %+v, %v", res, err)
	}
	if s.indexed != 4 || s.tail.events != 0 {
		t.Errorf("after a duplicate with a full tail: indexed %d, tail of %d; want 4 and 0", s.indexed, s.tail.events)
	}
	if _, err := s.verifyRecords(t.Context(), nil); err != nil {
		t.Error(err)
	}
}
