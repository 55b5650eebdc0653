package projections

import (
	"fmt"
	"testing"
)

// TestRunStartsGoOnFromTheLastSearch: the search for when an account's
// facets took their values, kept between re-scores and cut back by each
// event applied to the account (back-dated ones included), finds the same
// instants as a search afresh over the whole window, whatever the events
// and clock moves in between.
func TestRunStartsGoOnFromTheLastSearch(t *testing.T) {
	seeds := 6
	if testing.Short() {
		seeds = 2
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newRandomWorld(t, 100+seed, true, seed%2 == 1)
			compared := 0
			for step := range 250 {
				if w.rng.IntN(2) == 0 || len(w.times) == 0 {
					for range 1 + w.rng.IntN(4) {
						w.event()
					}
				} else {
					w.tick()
				}
				w.p.mu.Lock()
				if w.rng.IntN(3) == 0 {
					w.p.flushDirty(w.now)
				}
				// The projector's own walks, which applyLocked cuts back.
				for id, c := range w.p.cache {
					a := w.p.state.Accounts[id]
					if a == nil || !a.Opened {
						continue
					}
					if c.walk == nil {
						c.walk = &runWalk{}
					}
					got := w.p.runStarts(a, w.now, c.walk)
					want := w.p.runStarts(a, w.now, nil)
					if got != want {
						w.p.mu.Unlock()
						t.Fatalf("step %d, account %s at %s: the search gone on from the last one found %v, afresh %v", step, id, w.now, got, want)
					}
					compared++
				}
				w.p.mu.Unlock()
			}
			if compared == 0 {
				t.Fatal("no account compared")
			}
		})
	}
}
