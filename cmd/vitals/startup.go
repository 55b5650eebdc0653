package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
)

// catchUpLogEvery is how often serve logs the projections' progress while
// they catch up with the store at start-up.
const catchUpLogEvery = 5 * time.Second

// logCatchUp logs the projections' progress toward head, the store's head
// at start-up, every interval until position reaches it (then once more,
// "caught up", noticed within 100 ms) or ctx is done. from is where the
// projections started (the snapshot's position, or 0); nothing is logged
// when it is already the head.
func logCatchUp(ctx context.Context, log zerolog.Logger, every time.Duration, from, head eventstore.Position, position func() eventstore.Position) {
	if from >= head {
		return
	}
	pos := position()
	start := time.Now()
	rate := func(pos eventstore.Position) float64 {
		return float64(pos-min(pos, from)) / max(time.Since(start).Seconds(), 1e-9)
	}
	log.Info().Uint64("position", uint64(pos)).Uint64("head", uint64(head)).Uint64("from", uint64(from)).
		Msg("projections catching up with the store: /readyz reports not ready until they reach its head")
	tick := time.NewTicker(min(every, 100*time.Millisecond))
	defer tick.Stop()
	last := start
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pos = position()
		if pos >= head {
			log.Info().Uint64("head", uint64(head)).Uint64("events", uint64(head-min(head, from))).
				Float64("took_seconds", time.Since(start).Seconds()).Float64("events_per_second", rate(head)).
				Msg("projections caught up")
			return
		}
		if time.Since(last) < every {
			continue
		}
		last = time.Now()
		log.Info().Uint64("position", uint64(pos)).Uint64("head", uint64(head)).
			Float64("percent", 100*float64(pos)/float64(head)).Float64("events_per_second", rate(pos)).
			Msg("projections catching up")
	}
}

// startCatchUpLog runs logCatchUp in the background; the returned stop
// function ends it and waits for it.
func startCatchUpLog(ctx context.Context, log zerolog.Logger, from, head eventstore.Position, position func() eventstore.Position) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		logCatchUp(ctx, log, catchUpLogEvery, from, head, position)
	}()
	return func() {
		cancel()
		<-done
	}
}

// removeIfMade returns a function that removes dir again when it does not
// exist yet, with every missing parent: serve calls it when start-up fails,
// so a failed start leaves no empty data dir behind. A directory that
// existed is never touched.
func removeIfMade(dir string) func() {
	var top string // the topmost missing directory of dir's path
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		top = d
		if filepath.Dir(d) == d {
			break
		}
	}
	if top == "" {
		return func() {}
	}
	return func() { _ = os.RemoveAll(top) }
}
