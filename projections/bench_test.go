package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
)

// benchAgency is a demo agency of 50 accounts over a year, decoded.
func benchAgency(b *testing.B, now time.Time) ([][]byte, []domain.Event) {
	b.Helper()
	raws := demoEvents(b, 50, 12, now)
	evs := make([]domain.Event, len(raws))
	for i, raw := range raws {
		ev, err := domain.Parse(raw, now)
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = ev
	}
	return raws, evs
}

// BenchmarkApply applies a demo agency's events to a fresh State: the
// apply step of replay, without decoding or scoring.
func BenchmarkApply(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	_, evs := benchAgency(b, now)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s := projections.NewState()
		for _, ev := range evs {
			s.Apply(ev)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkReplay replays a stored demo agency into fresh projections, as
// a rebuild or a restart without snapshot does: decode ‖ apply + score.
func BenchmarkReplay(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	raws, _ := benchAgency(b, now)
	store := openStore(b)
	head := ingestAll(b, store, raws, now)
	scorer := newScorer(b)
	b.ResetTimer()
	for b.Loop() {
		p, err := projections.New(projections.Config{Store: store, Scorer: scorer, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		if err := p.WaitFor(context.Background(), head); err != nil {
			b.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(head)/b.Elapsed().Seconds(), "events/s")
}
