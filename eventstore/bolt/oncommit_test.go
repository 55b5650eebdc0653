package bolt_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
)

func TestOnCommitReportsEachCommit(t *testing.T) {
	var mu sync.Mutex
	var events []int
	s, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{OnCommit: func(n int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("commit took %v", d)
		}
		events = append(events, n)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	ev := func(k string) eventstore.EventData {
		return eventstore.EventData{Key: k, Type: "t", Data: []byte("{}")}
	}
	if _, err := s.Append(ctx, "s1", eventstore.NoStream, ev("a"), ev("b"), ev("c")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "s1", eventstore.AnyVersion, ev("a"), ev("b"), ev("c")); err != nil { // duplicate: no commit
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "s2", eventstore.NoStream, ev("d")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0] != 3 || events[1] != 1 {
		t.Fatalf("commits reported %v, want [3 1]", events)
	}
}
