package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// demoDataDir returns a data dir whose store holds a small demo agency, and
// the store's head.
func demoDataDir(t *testing.T) (string, eventstore.Position) {
	t.Helper()
	dir := t.TempDir()
	store, err := bolt.Open(t.Context(), dir, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	end := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	cfg := demo.Config{Seed: 3, Accounts: 4, Managers: 2, Months: 2, End: end}
	if _, err := ingestDemo(t.Context(), ingest.New(store), cfg, end, 500, func(int, []ingest.Result) {}); err != nil {
		t.Fatal(err)
	}
	head, err := store.Head(t.Context())
	if err != nil || head < 20 {
		t.Fatalf("demo store head %d, %v", head, err)
	}
	return dir, head
}

// flipRecordByte flips a byte inside the stored event at pos, with bbolt
// directly (bucket "log", 8-byte big-endian positions; see package bolt).
func flipRecordByte(t *testing.T, dir string, pos eventstore.Position) {
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
		v[len(v)/2] ^= 0x04
		return b.Put(key, v)
	}); err != nil {
		t.Fatal(err)
	}
}

// fileLayout returns the page size, the bytes in use and the first leaf
// page of the store file in dir.
func fileLayout(t *testing.T, dir string) (page, used, leaf int) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, bolt.FileName), 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bbolt.Tx) error {
		page, used = db.Info().PageSize, int(tx.Size())
		for id := 2; leaf == 0; id++ {
			info, err := tx.Page(id)
			if err != nil || info == nil {
				return fmt.Errorf("no leaf page: %v", err)
			}
			if info.Type == "leaf" {
				leaf = id
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return page, used, leaf
}

// runStopOnListen runs the command line; a server that starts listening is
// stopped at once (the test then fails on its exit code 0).
func runStopOnListen(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var out, errb syncBuffer
	app := &App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, OnListen: func(net.Addr) { cancel() }}
	code = app.Run(ctx, args)
	return code, errb.String()
}

// oneLine fails unless stderr is exactly one line, without a Go stack.
func oneLine(t *testing.T, what, stderr string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || strings.Contains(stderr, "goroutine") {
		t.Errorf("%s: stderr should be one line:\n%s", what, stderr)
	}
}

// TestDamagedStoreRefusesToStart truncates a real events.db at several
// sizes and zeroes one of its pages: serve, rebuild and verify must each
// exit 1 with one line naming the file and the restore, never crash.
func TestDamagedStoreRefusesToStart(t *testing.T) {
	src, _ := demoDataDir(t)
	data, err := os.ReadFile(filepath.Join(src, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	page, used, leaf := fileLayout(t, src)
	damages := map[string]func([]byte) []byte{
		"empty":               func([]byte) []byte { return nil },
		"cut to 2 pages":      func(b []byte) []byte { return b[:2*page] },
		"cut to 3 pages + 17": func(b []byte) []byte { return b[:3*page+17] },
		"cut in half":         func([]byte) []byte { return data[:used/2/page*page] },
		"one page short":      func([]byte) []byte { return data[:used-page] },
		"a leaf page zeroed": func(b []byte) []byte {
			b = slices.Clone(b)
			clear(b[leaf*page : (leaf+1)*page])
			return b
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, bolt.FileName)
			if err := os.WriteFile(file, damage(data), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{
				{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir},
				{"rebuild", "--data-dir", dir},
				{"verify", "--data-dir", dir},
			} {
				code, stderr := runStopOnListen(t, args...)
				if code != 1 || !strings.Contains(stderr, file+" is damaged") || !strings.Contains(stderr, "vitals backup") {
					t.Errorf("%s: exit %d, stderr %q; want 1 naming %s and the restore", args[0], code, stderr, file)
				}
				oneLine(t, args[0], stderr)
			}
		})
	}
}

// TestVerifyAndRebuildReportCorruptRecord flips a byte inside one stored
// event: verify and rebuild must exit 1 naming its position; on the
// undamaged store verify exits 0 with a summary.
func TestVerifyAndRebuildReportCorruptRecord(t *testing.T) {
	dir, head := demoDataDir(t)
	code, stdout, stderr := run(t, "", nil, "verify", "--data-dir", dir)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("ok: %d records", head)) || !strings.Contains(stdout, "0 legacy records") {
		t.Fatalf("verify of a sound store: exit %d, %q, %q", code, stdout, stderr)
	}

	bad := head/2 + 1
	flipRecordByte(t, dir, bad)
	code, _, stderr = run(t, "", nil, "verify", "--data-dir", dir)
	if code != 1 || !strings.Contains(stderr, fmt.Sprintf("1 of %d records damaged, at position %d (", head, bad)) {
		t.Errorf("verify: exit %d, %q", code, stderr)
	}
	oneLine(t, "verify", stderr)

	code, _, stderr = run(t, "", nil, "rebuild", "--data-dir", dir)
	if code != 1 || !regexp.MustCompile(fmt.Sprintf(`corrupt record at position %d\b`, bad)).MatchString(stderr) ||
		!strings.Contains(stderr, "vitals verify") {
		t.Errorf("rebuild: exit %d, %q", code, stderr)
	}
	if code, _, stderr := run(t, "", nil, "verify", "--data-dir", t.TempDir()); code != 1 || !strings.Contains(stderr, "no event store") {
		t.Errorf("verify of an empty dir: exit %d, %q", code, stderr)
	}
}
