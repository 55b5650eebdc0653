package projections

import (
	"context"
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// Rebuild replays the log from position 0 up to head into fresh
// projections, ignoring any existing snapshot, and writes a new snapshot
// when cfg.SnapshotPath is set. progress, when not nil, is called about
// once a second with the position reached.
func Rebuild(ctx context.Context, cfg Config, head eventstore.Position, progress func(eventstore.Position)) (Stats, error) {
	snapPath := cfg.SnapshotPath
	if snapPath != "" {
		removeStaleSnapshotTemps(snapPath, cfg.Logger)
	}
	cfg.SnapshotPath = "" // do not load: replay from zero
	cfg.Transitions = nil // a rebuild derives nothing: serve takes baselines at start
	cfg.SnapshotEvery = 1 << 62
	cfg.SnapshotInterval = 1 << 62
	p, err := New(cfg)
	if err != nil {
		return Stats{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(runCtx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for p.Position() < head {
		select {
		case err := <-done:
			if err == nil {
				err = ctx.Err()
			}
			return Stats{}, fmt.Errorf("projections: rebuild stopped at position %d of %d: %w", p.Position(), head, err)
		case <-tick.C:
			if progress != nil {
				progress(p.Position())
			}
		case <-p.advancedCh():
		}
	}
	cancel()
	if err := <-done; err != nil {
		return Stats{}, err
	}
	if snapPath != "" {
		p.cfg.SnapshotPath = snapPath
		if err := p.snapshotNow(); err != nil {
			return Stats{}, err
		}
	}
	return p.Stats(), nil
}

// advancedCh returns a channel closed at the next position advance.
func (p *Projector) advancedCh() <-chan struct{} {
	p.advMu.Lock()
	defer p.advMu.Unlock()
	return p.advanced
}
