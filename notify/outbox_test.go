package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func note(id string) Notification {
	ev, _ := json.Marshal(map[string]string{"id": id, "type": "vitals.account.band_changed"})
	return Notification{ID: id, Type: "vitals.account.band_changed", Subject: "acme", Time: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Event: ev}
}

func openTemp(t *testing.T, dir string) *BoltOutbox {
	t.Helper()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestOutboxConformance checks the Outbox contract on the bolt outbox:
// sequence numbers, dedupe by id, reads after a seq, checkpoints, Changed.
func TestOutboxConformance(t *testing.T) {
	ctx := context.Background()
	o := openTemp(t, t.TempDir())
	defer o.Close()

	if h, err := o.Head(ctx); err != nil || h != 0 {
		t.Fatalf("empty head = %d, %v", h, err)
	}
	ch := o.Changed()
	got, err := o.Append(ctx, []Notification{note("a"), note("b"), note("a")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 2 || got[0].ID != "a" || got[1].ID != "b" {
		t.Fatalf("append stored %+v, want a=1 b=2 (the repeat of a skipped)", got)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by an append that stored something")
	}
	ch = o.Changed()
	got, err = o.Append(ctx, []Notification{note("b"), note("c")})
	if err != nil || len(got) != 1 || got[0].ID != "c" || got[0].Seq != 3 {
		t.Fatalf("second append = %+v, %v; want only c at 3", got, err)
	}
	<-ch
	ch = o.Changed()
	if got, err := o.Append(ctx, []Notification{note("a")}); err != nil || len(got) != 0 {
		t.Fatalf("append of a stored id = %+v, %v; want nothing", got, err)
	}
	select {
	case <-ch:
		t.Fatal("Changed closed by an append that stored nothing")
	default:
	}
	if _, err := o.Append(ctx, []Notification{{ID: "x"}}); err == nil || !strings.Contains(err.Error(), "required") {
		t.Fatalf("append of an incomplete notification: %v", err)
	}

	all, err := o.Read(ctx, 0, 10)
	if err != nil || len(all) != 3 {
		t.Fatalf("read = %d, %v", len(all), err)
	}
	for i, n := range all {
		if n.Seq != uint64(i+1) || !n.Time.Equal(note("").Time) || n.Subject != "acme" {
			t.Fatalf("read[%d] = %+v", i, n)
		}
	}
	page, _ := o.Read(ctx, 1, 1)
	if len(page) != 1 || page[0].ID != "b" {
		t.Fatalf("read after 1 limit 1 = %+v", page)
	}
	if rest, _ := o.Read(ctx, 3, 10); len(rest) != 0 {
		t.Fatalf("read past the end = %+v", rest)
	}
	if _, err := o.Read(ctx, 0, 0); err == nil {
		t.Fatal("read with limit 0 succeeded")
	}
	if h, _ := o.Head(ctx); h != 3 {
		t.Fatalf("head = %d, want 3", h)
	}

	if cp, err := o.Checkpoint(ctx, "hook-1"); err != nil || cp != 0 {
		t.Fatalf("fresh checkpoint = %d, %v", cp, err)
	}
	if err := o.SetCheckpoint(ctx, "hook-1", 2); err != nil {
		t.Fatal(err)
	}
	if cp, _ := o.Checkpoint(ctx, "hook-1"); cp != 2 {
		t.Fatalf("checkpoint = %d, want 2", cp)
	}
	if cp, _ := o.Checkpoint(ctx, "nats-1"); cp != 0 {
		t.Fatalf("another target's checkpoint = %d, want 0", cp)
	}
}

// TestOutboxReopen checks durability: what Append and SetCheckpoint
// returned is there after Close and reopen, the dedupe index too, and the
// sequence goes on.
func TestOutboxReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	o := openTemp(t, dir)
	var ns []Notification
	for i := range 5 {
		ns = append(ns, note(fmt.Sprintf("n%d", i)))
	}
	if _, err := o.Append(ctx, ns); err != nil {
		t.Fatal(err)
	}
	if err := o.SetCheckpoint(ctx, "hook-1", 4); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Head(ctx); err != ErrClosed {
		t.Fatalf("head after close: %v, want ErrClosed", err)
	}
	if _, err := os.Stat(filepath.Join(dir, OutboxFile)); err != nil {
		t.Fatal(err)
	}

	o = openTemp(t, dir)
	defer o.Close()
	if h, _ := o.Head(ctx); h != 5 {
		t.Fatalf("head after reopen = %d, want 5", h)
	}
	if cp, _ := o.Checkpoint(ctx, "hook-1"); cp != 4 {
		t.Fatalf("checkpoint after reopen = %d, want 4", cp)
	}
	got, err := o.Append(ctx, []Notification{note("n3"), note("n5")})
	if err != nil || len(got) != 1 || got[0].ID != "n5" || got[0].Seq != 6 {
		t.Fatalf("append after reopen = %+v, %v; want only n5 at 6", got, err)
	}
}

// TestOutboxOneOpener checks that a second open of the same file fails
// rather than sharing it.
func TestOutboxOneOpener(t *testing.T) {
	dir := t.TempDir()
	o := openTemp(t, dir)
	defer o.Close()
	if o2, err := OpenOutbox(dir); err == nil {
		o2.Close()
		t.Fatal("a second open of the outbox succeeded")
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := t.TempDir()
	key, text, err := LoadOrCreateSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || !strings.HasPrefix(text, "whsec_") {
		t.Fatalf("generated %d bytes, %q", len(key), text)
	}
	fi, err := os.Stat(filepath.Join(dir, SecretFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	key2, text2, err := LoadOrCreateSecret(dir, "")
	if err != nil || text2 != text || string(key2) != string(key) {
		t.Fatalf("second load = %q, %v; want the same secret", text2, err)
	}
	envText := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	envKey, got, err := LoadOrCreateSecret(dir, envText)
	if err != nil || got != envText || len(envKey) != 24 {
		t.Fatalf("env secret = %q (%d bytes), %v", got, len(envKey), err)
	}
	for _, bad := range []string{"secret", "whsec_!!!", "whsec_c2hvcnQ="} {
		if _, _, err := LoadOrCreateSecret(dir, bad); err == nil || !strings.Contains(err.Error(), "VITALS_NOTIFY_SECRET") {
			t.Errorf("env %q: %v, want an error naming VITALS_NOTIFY_SECRET", bad, err)
		}
	}
}
