package projections

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/gobcopy"
)

// checkpointTick is how often the checkpoint goroutine looks whether a
// checkpoint is due.
const checkpointTick = 200 * time.Millisecond

// runCheckpoints is the goroutine Run starts: it writes a live checkpoint
// when the horizon is about to pass the newest one, and builds the missing
// ones from the log, until ctx is done. Neither blocks ingestion: the
// builder reads the log on its own and takes the lock only to start and
// to install what it built.
func (p *Projector) runCheckpoints(ctx context.Context) {
	if p.ck.dir == "" {
		return
	}
	t := time.NewTicker(checkpointTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.ck.removeTrash(p)
		var err error
		switch p.checkpointDue(time.Now()) {
		case dueLive:
			err = p.writeLiveCheckpoint()
		case dueBuild:
			err = p.buildCheckpoints(ctx)
		}
		if err != nil && ctx.Err() == nil {
			p.cfg.Logger.Error().Err(err).Msg("projections: checkpoint failed; queries before the retention horizon replay the log meanwhile")
		}
	}
}

// due is what the checkpoint goroutine does next.
type due int

const (
	dueNothing due = iota
	dueLive
	dueBuild
)

// liveSlack is how close the horizon may come to the newest checkpoint's
// end before the live state is written as the next checkpoint (so that
// the two overlap).
func (p *Projector) liveSlack() time.Duration { return p.cfg.Retain / 15 }

// coverStart is the earliest instant the checkpoints must cover: the
// earliest event, or as far back as CheckpointMax checkpoints reach.
func (p *Projector) coverStart() time.Time {
	c := p.ck
	return later(c.earliest, p.horizon.Add(-time.Duration(c.max-2)*c.period))
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// checkpointDue decides what is due at wall time now.
func (p *Projector) checkpointDue(now time.Time) due {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.ck
	if c.building || p.horizon.IsZero() || p.pos < p.replayTo {
		return dueNothing
	}
	start := p.coverStart()
	cov := c.covered(start)
	if !c.known || (start.Before(p.horizon) && cov.Before(p.horizon)) {
		if c.gapSince.IsZero() {
			c.gapSince = now
		}
		if now.Sub(c.lastOld) >= c.quiet || now.Sub(c.gapSince) >= buildMaxWait {
			return dueBuild
		}
		return dueNothing
	}
	c.gapSince = time.Time{}
	if len(c.list) > 0 && cov.Sub(p.horizon) < p.liveSlack() {
		return dueLive
	}
	return dueNothing
}

// checkpointFile names a checkpoint's file.
func checkpointFile(from, to time.Time, pos eventstore.Position) string {
	return fmt.Sprintf("ckpt-%d-%d-%d.snap", from.Unix(), to.Unix(), pos)
}

// writeCheckpoint writes st as a checkpoint and describes it.
func (p *Projector) writeCheckpoint(st *State, from, to time.Time, pos eventstore.Position) (CheckpointInfo, error) {
	c := p.ck
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return CheckpointInfo{}, fmt.Errorf("projections: checkpoint directory: %w", err)
	}
	ck := CheckpointInfo{File: checkpointFile(from, to, pos), From: from, To: to, Position: pos}
	path := filepath.Join(c.dir, ck.File)
	s := &snapshot{Position: pos, ConfigVersion: p.cfg.Scorer.Version(), Horizon: from, WrittenAt: p.cfg.Now(), State: st}
	if err := writeSnapshot(path, s); err != nil {
		return CheckpointInfo{}, err
	}
	if fi, err := os.Stat(path); err == nil {
		ck.Bytes = fi.Size()
	}
	return ck, nil
}

// writeLiveCheckpoint writes a copy of the live state as a checkpoint
// answering [horizon, now].
func (p *Projector) writeLiveCheckpoint() error {
	c := p.ck
	to := p.cfg.Now()
	// The late line moves first: every record applied after the copy's
	// position is checked against it.
	p.mu.Lock()
	if to.After(c.line) {
		c.line = to
	}
	gen := c.gen
	p.mu.Unlock()
	p.mu.RLock()
	st, pos, from := gobcopy.Copy(p.state), p.pos, p.horizon
	p.mu.RUnlock()
	start := time.Now()
	ck, err := p.writeCheckpoint(st, from, to, pos)
	if err != nil {
		return err
	}
	p.install([]CheckpointInfo{ck}, gen, time.Time{}, false)
	p.cfg.Logger.Info().Time("from", from).Time("to", to).Uint64("position", uint64(pos)).Int64("bytes", ck.Bytes).
		Dur("took", time.Since(start)).Msg("projections: checkpoint written")
	return nil
}

// install adds built checkpoints, unless the checkpoints were dropped
// since gen (then they are removed); replace drops the existing ones that
// start before the new ones end. It writes the manifest.
func (p *Projector) install(built []CheckpointInfo, gen uint64, earliest time.Time, replace bool) {
	c := p.ck
	p.mu.Lock()
	if c.gen != gen {
		for _, ck := range built {
			c.trash = append(c.trash, filepath.Join(c.dir, ck.File))
		}
		p.mu.Unlock()
		c.removeTrash(p)
		return
	}
	if replace {
		end := built[len(built)-1].To
		c.list = slices.DeleteFunc(c.list, func(x CheckpointInfo) bool {
			if x.From.Before(end) {
				if !slices.ContainsFunc(built, func(b CheckpointInfo) bool { return b.File == x.File }) {
					c.trash = append(c.trash, filepath.Join(c.dir, x.File)) // a file written again stays
				}
				return true
			}
			return false
		})
		if c.earliest.IsZero() || (!earliest.IsZero() && earliest.Before(c.earliest)) {
			c.earliest = earliest
		}
		c.known = true
	}
	c.list = append(c.list, built...)
	slices.SortFunc(c.list, func(a, b CheckpointInfo) int { return cmp.Or(a.From.Compare(b.From), cmpPos(a.Position, b.Position)) })
	for len(c.list) > c.max {
		c.trash = append(c.trash, filepath.Join(c.dir, c.list[0].File))
		c.list = c.list[1:]
	}
	// Late records no checkpoint needs any more are forgotten.
	if replace {
		c.building = false // what it built is in the list now
	}
	c.refloor()
	i, _ := slices.BinarySearchFunc(c.late, c.floor+1, func(l lateRecord, p eventstore.Position) int { return cmpPos(l.Pos, p) })
	c.late = slices.Delete(c.late, 0, i)
	m := p.manifestCopy()
	p.mu.Unlock()
	if err := c.writeManifest(m); err != nil {
		p.cfg.Logger.Error().Err(err).Msg("projections: checkpoint manifest")
	}
	c.removeTrash(p)
}

// run is a stretch of consecutive records of the log (in position order)
// that fall in one period: the position before the first, the last, and
// how many there are.
type run struct {
	after, last eventstore.Position
	n           int
}

// buildCheckpoints builds, from the log up to the current position, a
// checkpoint per period (CheckpointPeriod, on a grid from the Unix epoch)
// from the earliest event to just past the horizon. The first pass reads
// each record's time and notes, per period, the runs of records whose
// time falls in it; the second applies the periods in time order, pruning
// the state to each period's start and writing it. The log need not be in
// time order.
func (p *Projector) buildCheckpoints(ctx context.Context) (err error) {
	c := p.ck
	p.mu.Lock()
	pos, end, gen := p.pos, p.horizon.Add(p.liveSlack()), c.gen
	c.building, c.buildP = true, pos
	c.refloor()
	if end.After(c.line) {
		c.line = end
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		c.building = false
		c.refloor()
		p.mu.Unlock()
	}()
	start := time.Now()
	p.cfg.Logger.Info().Uint64("position", uint64(pos)).Time("to", end).Msg("projections: building checkpoints from the log")
	period := int64(c.period)
	// bucket is the period k holding time t: (k·period, (k+1)·period]
	// from the Unix epoch.
	bucket := func(t time.Time) int64 {
		n := t.UnixNano() - 1
		k := n / period
		if n < 0 && n%period != 0 {
			k-- // floor, not truncation
		}
		return k
	}
	runs := map[int64][]run{}
	var earliest time.Time
	var prev eventstore.Position
	for prev < pos {
		if err := p.buildCheck(ctx, gen); err != nil {
			return err
		}
		recs, err := p.cfg.Store.ReadAll(ctx, prev, replayPage)
		if err != nil {
			return fmt.Errorf("projections: checkpoints: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if rec.Position > pos {
				break
			}
			t, ok := recordTime(rec)
			if ok && !t.After(end) {
				if earliest.IsZero() || t.Before(earliest) {
					earliest = t
				}
				k := bucket(t)
				rs := runs[k]
				if n := len(rs); n > 0 && rs[n-1].last == prev {
					rs[n-1].last, rs[n-1].n = rec.Position, rs[n-1].n+1
				} else {
					runs[k] = append(rs, run{after: prev, last: rec.Position, n: 1})
				}
			}
			prev = rec.Position
		}
	}
	if len(runs) == 0 {
		p.install(nil, gen, earliest, false)
		p.mu.Lock()
		c.known = true
		p.mu.Unlock()
		return nil
	}
	first, last := bucket(earliest), bucket(end)
	first = max(first, last-int64(c.max)+1)
	st := NewState()
	var built []CheckpointInfo
	for k := bucket(earliest); k <= last; k++ {
		for _, r := range runs[k] {
			if err := p.applyRun(ctx, st, r); err != nil {
				return err
			}
		}
		if k < first {
			continue
		}
		from := time.Unix(0, k*period).UTC()
		to := time.Unix(0, (k+1)*period).UTC()
		if to.After(end) {
			to = end
		}
		for _, a := range st.Accounts {
			a.pruneFacts(p.cfg.Scorer, from)
		}
		for _, m := range st.Managers {
			m.prune(from)
		}
		if err := p.buildCheck(ctx, gen); err != nil {
			return err
		}
		ck, err := p.writeCheckpoint(st, from, to, pos)
		if err != nil {
			for _, b := range built {
				os.Remove(filepath.Join(c.dir, b.File))
			}
			return err
		}
		built = append(built, ck)
	}
	p.install(built, gen, earliest, true)
	var bytes int64
	for _, b := range built {
		bytes += b.Bytes
	}
	p.cfg.Logger.Info().Int("checkpoints", len(built)).Int64("bytes", bytes).Uint64("position", uint64(pos)).
		Dur("took", time.Since(start)).Msg("projections: checkpoints built")
	return nil
}

// errCheckpointsDropped stops a build whose checkpoints were dropped
// meanwhile (the late index overflowed): it starts again later.
var errCheckpointsDropped = errors.New("projections: checkpoints dropped during the build")

// buildCheck stops a build when ctx is done or the checkpoints were
// dropped since gen.
func (p *Projector) buildCheck(ctx context.Context, gen uint64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.RLock()
	dropped := p.ck.gen != gen
	p.mu.RUnlock()
	if dropped {
		return errCheckpointsDropped
	}
	return nil
}

// applyRun applies the records of r to st.
func (p *Projector) applyRun(ctx context.Context, st *State, r run) error {
	after := r.after
	for after < r.last {
		recs, err := p.cfg.Store.ReadAll(ctx, after, min(r.n, replayPage))
		if err != nil {
			return fmt.Errorf("projections: checkpoints: %w", err)
		}
		if len(recs) == 0 {
			return fmt.Errorf("projections: checkpoints: records %d…%d are missing", after+1, r.last)
		}
		for _, rec := range recs {
			if rec.Position > r.last {
				break
			}
			after = rec.Position
			if ev, err := domain.DecodePayload(rec.Data); err == nil {
				st.Apply(ev)
			}
		}
	}
	return nil
}

// recordTime is the time of the event a record holds; ok is false for an
// undecodable record (which every replay skips).
func recordTime(rec eventstore.Record) (time.Time, bool) {
	ev, err := domain.DecodePayload(rec.Data)
	if err != nil {
		return time.Time{}, false
	}
	return ev.Time, true
}
