package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
)

// fill writes n events of about size bytes each to streams s0…s3 of the
// store in dir and closes it.
func fill(t *testing.T, dir string, n, size int) {
	t.Helper()
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pad := strings.Repeat("x", size)
	for i := range n {
		ev := eventstore.EventData{Key: fmt.Sprintf("k%d", i), Type: "test.happened",
			Data: fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, pad)}
		if _, err := s.Append(t.Context(), fmt.Sprintf("s%d", i%4), eventstore.AnyVersion, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// rewriteRecord changes the stored bytes of the record at pos with bbolt
// directly, as bit rot or a stray write would: the file stays a valid
// bbolt file, only the record's bytes differ.
func rewriteRecord(t *testing.T, dir string, pos eventstore.Position, change func([]byte) []byte) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bucketLog))
		v := b.Get(u64(uint64(pos)))
		if v == nil {
			return fmt.Errorf("no record at %d", pos)
		}
		return b.Put(u64(uint64(pos)), change(slices.Clone(v)))
	}); err != nil {
		t.Fatal(err)
	}
}

// flipAt returns a change that flips one bit of the byte at i (from the
// end when i < 0).
func flipAt(i int) func([]byte) []byte {
	return func(b []byte) []byte {
		if i < 0 {
			i += len(b)
		}
		b[i] ^= 0x10
		return b
	}
}

// wantCorrupt fails unless err is a *eventstore.CorruptError naming want.
func wantCorrupt(t *testing.T, what string, err error, want ...eventstore.Position) {
	t.Helper()
	var ce *eventstore.CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, eventstore.ErrCorrupt) {
		t.Fatalf("%s: err = %v, want a corrupt record error", what, err)
	}
	if !slices.Equal(ce.Positions, want) {
		t.Fatalf("%s: corrupt positions %v, want %v", what, ce.Positions, want)
	}
	if strings.Contains(err.Error(), string(filepath.Separator)+FileName) {
		t.Errorf("%s: error names the file: %v", what, err)
	}
}

// TestCorruptRecordIsDetected flips one byte in different parts of a stored
// record and checks that every read path reports the record's position
// instead of returning its bytes.
func TestCorruptRecordIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func([]byte) []byte
	}{
		{"data byte", flipAt(-10)},
		{"last data byte", flipAt(-5)},
		{"checksum byte", flipAt(-1)},
		{"format byte", flipAt(0)},
		{"stream length", flipAt(1)},
		{"stream name", flipAt(2)},
		{"truncated", func(b []byte) []byte { return b[:len(b)-7] }},
		{"extended", func(b []byte) []byte { return append(b, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fill(t, dir, 8, 20) // positions 1..8; stream s2 holds 3 and 7
			rewriteRecord(t, dir, 7, tc.change)
			s := open(t, dir)
			ctx := t.Context()

			_, err := s.ReadAll(ctx, 0, 100)
			wantCorrupt(t, "ReadAll", err, 7)
			if recs, err := s.ReadAll(ctx, 0, 6); err != nil || len(recs) != 6 {
				t.Errorf("ReadAll before the damage = %d records, %v", len(recs), err)
			}
			if recs, err := s.ReadAll(ctx, 7, 100); err != nil || len(recs) != 1 {
				t.Errorf("ReadAll after the damage = %d records, %v", len(recs), err)
			}
			_, err = s.ReadStream(ctx, "s2", 0, 10)
			wantCorrupt(t, "ReadStream", err, 7)

			var got []eventstore.Position
			for rec, err := range s.Subscribe(ctx, 0) {
				if err != nil {
					wantCorrupt(t, "Subscribe", err, 7)
					break
				}
				got = append(got, rec.Position)
			}
			if !slices.Equal(got, []eventstore.Position{1, 2, 3, 4, 5, 6}) {
				t.Errorf("Subscribe yielded %v before the error, want 1..6", got)
			}

			rep, err := s.Verify(ctx, nil)
			wantCorrupt(t, "Verify", err, 7)
			if rep.Records != 8 || !slices.Equal(rep.Corrupt, []eventstore.Position{7}) {
				t.Errorf("Verify report = %+v", rep)
			}
		})
	}
}

// TestVerifyReportsEveryCorruptRecord damages several records and checks
// that Verify names all of them, in order.
func TestVerifyReportsEveryCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 600, 100)
	for _, p := range []eventstore.Position{2, 333, 600} {
		rewriteRecord(t, dir, p, flipAt(-3))
	}
	s := open(t, dir)
	var calls int
	rep, err := s.Verify(t.Context(), func(VerifyReport) { calls++ })
	wantCorrupt(t, "Verify", err, 2, 333, 600)
	if rep.Records != 600 || rep.Legacy != 0 || calls == 0 {
		t.Errorf("report %+v after %d progress calls", rep, calls)
	}
}

// TestVerifyCleanStore checks the summary of an undamaged store.
func TestVerifyCleanStore(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 50, 10)
	s := open(t, dir)
	rep, err := s.Verify(t.Context(), nil)
	if err != nil || rep.Records != 50 || rep.Legacy != 0 || len(rep.Corrupt) != 0 || rep.Head != 50 {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

// encodeRecordV1 encodes a record as format 1 did (no checksum), to build
// the files earlier versions wrote.
func encodeRecordV1(stream string, v eventstore.Version, at int64, ev eventstore.EventData) []byte {
	b := []byte{formatV1}
	b = appendString(b, stream)
	b = binary.AppendUvarint(b, uint64(v))
	b = binary.AppendVarint(b, at)
	b = appendString(b, ev.Key)
	b = appendString(b, ev.Type)
	return appendString(b, string(ev.Data))
}

// TestLegacyRecordsStillOpen writes a file as format 1 did (meta format 1,
// records without checksum) and checks it opens, reads, takes new appends
// with checksums, and that Verify counts the legacy records.
func TestLegacyRecordsStillOpen(t *testing.T) {
	dir := t.TempDir()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		bs := map[string]*bbolt.Bucket{}
		for _, name := range []string{bucketLog, bucketStreams, bucketKeys, bucketHeads, bucketMeta} {
			b, err := tx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			bs[name] = b
		}
		if err := bs[bucketMeta].Put([]byte(metaFormat), []byte{formatV1}); err != nil {
			return err
		}
		for i := range 3 {
			pos := u64(uint64(i + 1))
			ev := eventstore.EventData{Key: fmt.Sprintf("old%d", i), Type: "test.happened", Data: []byte(`{"old":true}`)}
			for _, kv := range []struct {
				b    string
				k, v []byte
			}{
				{bucketLog, pos, encodeRecordV1("s", eventstore.Version(i), 1e18, ev)},
				{bucketStreams, streamKey("s", eventstore.Version(i)), pos},
				{bucketKeys, []byte(ev.Key), pos},
				{bucketHeads, []byte("s"), u64(uint64(i))},
			} {
				if err := bs[kv.b].Put(kv.k, kv.v); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := open(t, dir)
	if _, err := s.Append(t.Context(), "s", 2, event("new")); err != nil {
		t.Fatal(err)
	}
	recs, err := s.ReadStream(t.Context(), "s", 0, 10)
	if err != nil || len(recs) != 4 || string(recs[0].Data) != `{"old":true}` || recs[3].Key != "new" {
		t.Fatalf("ReadStream = %+v, %v", recs, err)
	}
	rep, err := s.Verify(t.Context(), nil)
	if err != nil || rep.Records != 4 || rep.Legacy != 3 {
		t.Fatalf("Verify = %+v, %v; want 4 records of which 3 legacy", rep, err)
	}
}

// copyTruncated copies the store file of src into a new directory, cut to
// size bytes, and returns the directory.
func copyTruncated(t *testing.T, src string, size int64) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), data[:size], 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantDamaged fails unless opening dir fails with ErrDamaged and a message
// that names the file and says how to restore it.
func wantDamaged(t *testing.T, dir, what string) {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err == nil {
		s.Close()
		t.Fatalf("%s: Open succeeded", what)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("%s: Open = %v, want ErrDamaged", what, err)
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Join(dir, FileName)) || !strings.Contains(msg, "vitals backup") || strings.Contains(msg, "\n") {
		t.Errorf("%s: message %q should be one line naming the file and the restore", what, msg)
	}
}

// highWater returns the page size, the number of pages in use and the
// freelist's page of the store file in dir.
func highWater(t *testing.T, dir string) (pageSize, pages, freelist int64) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		pageSize = int64(db.Info().PageSize)
		pages = tx.Size() / pageSize
		for id := range pages {
			if info, err := tx.Page(int(id)); err == nil && info != nil && info.Type == "freelist" {
				freelist = id
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pageSize, pages, freelist
}

// TestOpenTruncatedFile cuts a real store file at several sizes below its
// used length: Open must fail with a clear error, never crash.
func TestOpenTruncatedFile(t *testing.T) {
	src := t.TempDir()
	fill(t, src, 400, 900)
	ps, pages, freelist := highWater(t, src)
	used := ps * pages
	if freelist < 4 {
		t.Fatalf("freelist at page %d: the file is too small for the test", freelist)
	}
	// Cut at the freelist's page, bbolt reads the freelist past the end of
	// the file: a memory fault, not a panic.
	for _, size := range []int64{0, 1, 100, ps - 1, ps, 2 * ps, 3*ps + 17, freelist * ps, used / 3, used / 2, used - ps, used - 1} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			dir := copyTruncated(t, src, size)
			wantDamaged(t, dir, fmt.Sprintf("truncated to %d of %d", size, used))
			// The failed Open released the file: trying again gives the
			// same answer, not "locked".
			wantDamaged(t, dir, fmt.Sprintf("truncated to %d of %d, again", size, used))
		})
	}
}

// TestOpenZeroedPage zeroes, one at a time, every page of a real store
// file that starts a freelist, branch or leaf page: Open must fail with a
// clear error, never crash.
func TestOpenZeroedPage(t *testing.T) {
	src := t.TempDir()
	fill(t, src, 300, 500)
	ps, _, _ := highWater(t, src)
	var heads []int
	db, err := bbolt.Open(filepath.Join(src, FileName), 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bbolt.Tx) error {
		for id := 2; ; {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return err
			}
			next := id + 1
			switch info.Type {
			case "freelist", "branch", "leaf":
				heads = append(heads, id)
				next += info.OverflowCount
			}
			id = next
		}
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) < 5 {
		t.Fatalf("only %d pages to damage", len(heads))
	}
	data, err := os.ReadFile(filepath.Join(src, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range heads {
		t.Run(fmt.Sprint(id), func(t *testing.T) {
			dir := t.TempDir()
			damaged := slices.Clone(data)
			clear(damaged[int64(id)*ps : int64(id+1)*ps])
			if err := os.WriteFile(filepath.Join(dir, FileName), damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			wantDamaged(t, dir, fmt.Sprintf("page %d zeroed", id))
		})
	}
}

// TestDamageAfterOpen zeroes the pages of an open store's file, as a
// failing disk or another program could: reads and appends must fail with
// ErrDamaged instead of crashing the process.
func TestDamageAfterOpen(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 300, 500)
	ps, pages, _ := highWater(t, dir)
	s := open(t, dir)
	f, err := os.OpenFile(filepath.Join(dir, FileName), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(make([]byte, (pages-2)*ps), 2*ps); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := s.ReadAll(t.Context(), 0, 1000); !errors.Is(err, ErrDamaged) {
		t.Errorf("ReadAll = %v, want ErrDamaged", err)
	}
	if _, err := s.ReadStream(t.Context(), "s1", 0, 1000); !errors.Is(err, ErrDamaged) {
		t.Errorf("ReadStream = %v, want ErrDamaged", err)
	}
	if _, err := s.Append(t.Context(), "s1", eventstore.AnyVersion, event("after")); !errors.Is(err, ErrDamaged) {
		t.Errorf("Append = %v, want ErrDamaged", err)
	}
	if _, err := s.Verify(t.Context(), nil); !errors.Is(err, ErrDamaged) {
		t.Errorf("Verify = %v, want ErrDamaged", err)
	}
	// bbolt may hold its writer lock after the damaged write: later appends
	// and Close must answer, not wait for it.
	if _, err := s.Append(t.Context(), "s1", eventstore.AnyVersion, event("again")); !errors.Is(err, ErrDamaged) {
		t.Errorf("second Append = %v, want ErrDamaged", err)
	}
	if err := s.Close(); !errors.Is(err, ErrDamaged) {
		t.Errorf("Close = %v, want ErrDamaged", err)
	}
}
