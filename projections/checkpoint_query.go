package projections

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/gobcopy"
)

// checkpointState is the state as of ck's position plus the late records
// (whose times are at or before the instant asked), read from the log by
// position.
func (p *Projector) checkpointState(ctx context.Context, ck CheckpointInfo, late []lateRecord) (*State, error) {
	base, err := p.ck.load(ck, p.cfg.Scorer.Version())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errCheckpointUnreadable, err)
	}
	if len(late) == 0 {
		return base, nil
	}
	evs, err := p.readLate(ctx, late)
	if err != nil {
		return nil, err
	}
	return overlay(base, evs), nil
}

// errCheckpointUnreadable is a checkpoint file that cannot be used
// (damaged, removed, of another format): it is dropped and built again.
var errCheckpointUnreadable = errors.New("projections: checkpoint unreadable")

// load returns ck's state, read from disk or from the cache (the last
// checkpoint read). The state is shared: it must not be changed.
func (c *checkpointer) load(ck CheckpointInfo, config string) (*State, error) {
	c.cacheMu.Lock()
	defer c.cacheMu.Unlock()
	if c.cached != nil && c.cached.file == ck.File {
		return c.cached.st, nil
	}
	s, err := readSnapshot(filepath.Join(c.dir, ck.File))
	if err != nil {
		return nil, err
	}
	if s.ConfigVersion != config || s.Position != ck.Position {
		return nil, fmt.Errorf("projections: checkpoint %s is of configuration %q at position %d, want %q at %d", ck.File, s.ConfigVersion, s.Position, config, ck.Position)
	}
	c.cached = &loadedCheckpoint{file: ck.File, st: s.State}
	return s.State, nil
}

// readLate reads and decodes the records of late (by position), a run of
// consecutive positions at a time.
func (p *Projector) readLate(ctx context.Context, late []lateRecord) ([]domain.Event, error) {
	evs := make([]domain.Event, 0, len(late))
	for i := 0; i < len(late); {
		j := i + 1
		for j < len(late) && j-i < replayPage && late[j].Pos == late[j-1].Pos+1 {
			j++
		}
		recs, err := p.cfg.Store.ReadAll(ctx, late[i].Pos-1, j-i)
		if err != nil {
			return nil, fmt.Errorf("projections: read late records: %w", err)
		}
		want := late[i:j]
		for _, rec := range recs {
			if _, ok := slices.BinarySearchFunc(want, rec.Position, func(l lateRecord, p eventstore.Position) int { return cmpPos(l.Pos, p) }); !ok {
				continue
			}
			if ev, err := domain.DecodePayload(rec.Data); err == nil {
				evs = append(evs, ev)
			}
		}
		i = j
	}
	return evs, nil
}

// overlay is base with evs applied, without changing base: the accounts
// and managers the events touch are copied, the others shared.
func overlay(base *State, evs []domain.Event) *State {
	st := &State{Accounts: maps.Clone(base.Accounts), Managers: maps.Clone(base.Managers)}
	ownA, ownM := map[string]bool{}, map[string]bool{}
	own := func(id string, manager bool) {
		if manager {
			if m := base.Managers[id]; m != nil && !ownM[id] {
				st.Managers[id] = gobcopy.Copy(m)
			}
			ownM[id] = true
			return
		}
		if a := base.Accounts[id]; a != nil && !ownA[id] {
			st.Accounts[id] = gobcopy.Copy(a)
		}
		ownA[id] = true
	}
	for _, ev := range evs {
		own(ev.Subject, ev.Type.IsManagerEvent())
		if tl, ok := ev.Payload.(domain.TimeLogged); ok {
			own(tl.ManagerID, true)
		}
		st.Apply(ev)
	}
	return st
}
