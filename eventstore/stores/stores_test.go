package stores_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/eventstore/esdb"
	"github.com/vitals-hq/vitals/eventstore/esdb/esdbtest"
	"github.com/vitals-hq/vitals/eventstore/stores"
)

func TestOpenEmbedded(t *testing.T) {
	for _, url := range []string{"", "bolt"} {
		dir := t.TempDir()
		s, err := stores.Open(context.Background(), url, stores.Options{DataDir: dir})
		if err != nil {
			t.Fatalf("%q: %v", url, err)
		}
		if _, ok := s.(*bolt.Store); !ok {
			t.Errorf("%q opened a %T, want *bolt.Store", url, s)
		}
		if _, err := os.Stat(filepath.Join(dir, bolt.FileName)); err != nil {
			t.Errorf("%q: no store file in the data dir: %v", url, err)
		}
		if !stores.IsEmbedded(url) {
			t.Errorf("IsEmbedded(%q) = false", url)
		}
		// The embedded store has every capability.
		if eventstore.SizeOf(s) == nil || eventstore.BackupOf(s) == nil || !eventstore.GuaranteesOf(s).DurableKeys {
			t.Errorf("%q: the embedded store lacks a capability", url)
		}
		if n, err := eventstore.SizeOf(s)(); err != nil || n <= 0 {
			t.Errorf("size %d, %v", n, err)
		}
		s.Close()
	}
}

func TestOpenESDB(t *testing.T) {
	srv := esdbtest.Start(t, esdbtest.Options{})
	url := srv.URL(0, "")
	s, err := stores.Open(context.Background(), url, stores.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.(*esdb.Store); !ok {
		t.Fatalf("opened a %T, want *esdb.Store", s)
	}
	if stores.IsEmbedded(url) {
		t.Error("IsEmbedded(esdb URL) = true")
	}
	// KurrentDB has no file size, no backup through Vitals, and keys are
	// deduplicated best effort.
	if eventstore.SizeOf(s) != nil || eventstore.BackupOf(s) != nil || eventstore.GuaranteesOf(s).DurableKeys {
		t.Error("the esdb store claims a capability it lacks")
	}
}

func TestOpenUnknownURLNamesTheForms(t *testing.T) {
	_, err := stores.Open(context.Background(), "postgres://user:secret@db/vitals", stores.Options{DataDir: t.TempDir()})
	if !errors.Is(err, stores.ErrUnknown) {
		t.Fatalf("an unknown store URL: %v, want ErrUnknown", err)
	}
	for _, want := range []string{"postgres://user:xxxxx@db/vitals", "bolt", "esdb://"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q shows the password", err)
	}
}

func TestOpenESDBUnreachableFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := stores.Open(ctx, "esdb://127.0.0.1:1?tls=false&maxDiscoverAttempts=1", stores.Options{})
	if err == nil {
		t.Fatal("an unreachable server opened")
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error %q does not name the server", err)
	}
}
