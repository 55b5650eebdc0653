package projections

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/internal/gobcopy"
)

// benchState is the state of a 1,000-account, 12-month demo agency.
func benchState(b *testing.B) *State {
	b.Helper()
	end := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	st := NewState()
	err := demo.Generate(context.Background(), demo.Config{Seed: 5, Accounts: 1000, Months: 12, End: end}, func(e demo.Event) error {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		ev, err := domain.Parse(raw, end)
		if err != nil {
			return err
		}
		st.Apply(ev)
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkSnapshotCopy is what a snapshot holds the projector's read lock
// for: the copy of the state.
func BenchmarkSnapshotCopy(b *testing.B) {
	st := benchState(b)
	b.ResetTimer()
	for b.Loop() {
		gobcopy.Copy(st)
	}
}

// BenchmarkSnapshotEncode is the encoding that used to run under the lock
// (and now runs after it, with the fsync).
func BenchmarkSnapshotEncode(b *testing.B) {
	st := benchState(b)
	b.ResetTimer()
	for b.Loop() {
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(&snapshot{State: st}); err != nil {
			b.Fatal(err)
		}
	}
}
