package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/atomicfile"
)

// Checkpoints: the state as of past instants, on disk, so that a list, the
// portfolio or the capacity as of an instant before the retention horizon
// replays a few records instead of the whole log (docs/checkpoints.md).
//
// The state is bitemporal: pruned to an instant From, it answers every
// instant T ≥ From from the facts with time ≤ T. A checkpoint is such a
// state written at log position P, pruned to From, holding every fact with
// time ≤ To that the log held up to P. It answers T in [From, To] once the
// records after P whose time is ≤ T are applied to it. So that no query
// scans the log after P for them, the projector keeps the late index: the
// position and time of every record it applies whose time is ≤ the late
// line, the largest To of any checkpoint (or checkpoint being built) whose
// P it has passed. The late index is bounded (lateCap): past it, the
// checkpoints are dropped and built again.
//
// Checkpoints come from two places. The builder (checkpoint_build.go)
// makes them from the log, in a pass that does not depend on the log being
// in time order, when the log holds instants before the horizon that no
// checkpoint covers (a first start, an import of history, a changed
// scoring configuration). The projector writes a copy of its live state as
// a checkpoint when its horizon is about to pass the newest one's To.

// Defaults of the checkpoint settings of Config.
const (
	DefaultCheckpointPeriod = 30 * day
	DefaultCheckpointMax    = 60
	DefaultCheckpointQuiet  = 5 * time.Second
)

// lateCap bounds the late index; past it the checkpoints are dropped and
// built again from the log.
const lateCap = 100_000

// buildMaxWait is how long the builder waits for a quiet log (no record
// older than the horizon applied for Config.CheckpointQuiet) once
// checkpoints are missing: an import that never pauses still gets them.
const buildMaxWait = time.Minute

// checkpointDirName is the directory, beside the snapshot file, that holds
// the checkpoints and their manifest.
const checkpointDirName = "checkpoints"

// manifestName is the manifest's file name in the checkpoint directory.
const manifestName = "manifest.json"

// manifestVersion is the manifest's format; another one is ignored (the
// checkpoints are built again).
const manifestVersion = 1

// CheckpointInfo describes one checkpoint.
type CheckpointInfo struct {
	File     string              `json:"file"`
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Position eventstore.Position `json:"position"`
	Bytes    int64               `json:"bytes"`
}

// lateRecord is one entry of the late index: a record applied after a
// checkpoint whose time may be covered by it.
type lateRecord struct {
	Pos  eventstore.Position `json:"p"`
	Time int64               `json:"t"` // Unix nanoseconds
}

// manifest is what the manifest file holds: the checkpoints, the late
// index up to LateUpTo, the late line and the earliest event time seen.
type manifest struct {
	Version int `json:"version"`
	// SnapshotVersion is the format of the checkpoint files (the
	// snapshot format): another one is built again.
	SnapshotVersion int                 `json:"snapshot_version"`
	ConfigVersion   string              `json:"config_version"`
	Checkpoints     []CheckpointInfo    `json:"checkpoints"`
	Line            time.Time           `json:"line"`
	Late            []lateRecord        `json:"late"`
	LateUpTo        eventstore.Position `json:"late_up_to"`
	Earliest        time.Time           `json:"earliest"`
}

// checkpointer is the projector's checkpoint bookkeeping. The fields under
// "p.mu" are guarded by the projector's lock; the cache by its own.
type checkpointer struct {
	dir    string // "" when checkpoints are disabled (no snapshot path)
	period time.Duration
	max    int
	quiet  time.Duration
	// lateCap bounds the late index (lateCap; tests lower it).
	lateCap int

	// p.mu:
	list     []CheckpointInfo // by From
	line     time.Time        // the late line
	late     []lateRecord     // by position
	earliest time.Time        // the earliest event time applied (zero: unknown)
	known    bool             // earliest covers the whole log
	lastOld  time.Time        // wall time of the last record older than the horizon
	gapSince time.Time        // wall time a missing checkpoint was first seen
	building bool
	buildP   eventstore.Position // the building's position
	// floor is the lowest position of a checkpoint (or of the one being
	// built): records at or before it are in every checkpoint, so they
	// are never late (a replay after a lost snapshot applies them again).
	floor eventstore.Position
	gen   uint64   // bumped when the checkpoints are dropped
	trash []string // files no longer listed, to remove

	cacheMu sync.Mutex
	cached  *loadedCheckpoint
}

// loadedCheckpoint is a checkpoint's state read from disk, shared read-only
// by the queries that use it.
type loadedCheckpoint struct {
	file string
	st   *State
}

// newCheckpointer sets up the bookkeeping for cfg; dir is "" without a
// snapshot path.
func newCheckpointer(cfg Config) *checkpointer {
	c := &checkpointer{period: cfg.CheckpointPeriod, max: cfg.CheckpointMax, quiet: cfg.CheckpointQuiet, lateCap: lateCap}
	if cfg.SnapshotPath != "" && !cfg.NoCheckpoints {
		c.dir = filepath.Join(filepath.Dir(cfg.SnapshotPath), checkpointDirName)
	}
	return c
}

// load reads the manifest at start, after the snapshot set p.pos: it keeps
// what holds for the current scoring configuration and position, and
// completes the late index from the log when the manifest was written
// before the snapshot. p is not shared yet.
func (p *Projector) loadCheckpoints() {
	c := p.ck
	if c.dir == "" {
		return
	}
	removeStaleSnapshotTemps(filepath.Join(c.dir, "x"), p.cfg.Logger)
	m, err := readManifest(filepath.Join(c.dir, manifestName))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		p.cfg.Logger.Warn().Err(err).Msg("projections: checkpoint manifest unusable; building the checkpoints again")
	case m.SnapshotVersion != snapshotVersion:
		p.cfg.Logger.Warn().Int("checkpoint_format", m.SnapshotVersion).Int("format", snapshotVersion).
			Msg("projections: checkpoints of another snapshot format; building them again")
	case m.ConfigVersion != p.cfg.Scorer.Version():
		p.cfg.Logger.Warn().Str("checkpoint_config", m.ConfigVersion).Str("config", p.cfg.Scorer.Version()).
			Msg("projections: scoring configuration changed; building the checkpoints again")
	case p.logShorterThan(m.LateUpTo):
		p.cfg.Logger.Warn().Uint64("checkpoint_position", uint64(m.LateUpTo)).
			Msg("projections: the event log ends before the checkpoints (restored from a backup?); building the checkpoints again")
	default:
		c.list, c.line, c.earliest, c.known = m.Checkpoints, m.Line, m.Earliest, true
		c.refloor()
		// Entries past the snapshot are applied again (and logged again);
		// records between the manifest and the snapshot are read now.
		c.late = slices.DeleteFunc(m.Late, func(l lateRecord) bool { return l.Pos > p.pos })
		if m.LateUpTo < p.pos {
			if err := p.recoverLate(m.LateUpTo); err != nil {
				p.cfg.Logger.Warn().Err(err).Msg("projections: cannot complete the late index; building the checkpoints again")
				c.list, c.late, c.line, c.known = nil, nil, time.Time{}, false
			}
		}
	}
	c.refloor()
	// Files the manifest does not list are leftovers.
	keep := map[string]bool{manifestName: true}
	for _, ck := range c.list {
		keep[ck.File] = true
	}
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if !keep[e.Name()] && strings.HasPrefix(e.Name(), "ckpt-") {
			c.trash = append(c.trash, filepath.Join(c.dir, e.Name()))
		}
	}
	c.removeTrash(p)
}

// recoverLate adds to the late index the records in (after, p.pos] whose
// time is at or before the late line; p is not shared yet.
func (p *Projector) recoverLate(after eventstore.Position) error {
	c := p.ck
	for after < p.pos {
		recs, err := p.cfg.Store.ReadAll(context.Background(), after, replayPage)
		if err != nil {
			return fmt.Errorf("projections: read the records after the checkpoint manifest: %w", err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if rec.Position > p.pos {
				return nil
			}
			after = rec.Position
			if t, ok := recordTime(rec); ok {
				c.note(rec.Position, t)
			}
		}
	}
	return nil
}

// logShorterThan reports whether the log's head is before pos (a log
// replaced by an older copy); a store that cannot say is trusted.
func (p *Projector) logShorterThan(pos eventstore.Position) bool {
	head, err := p.cfg.Store.Head(context.Background())
	return err == nil && head < pos
}

// refloor recomputes floor; p.mu is held.
func (c *checkpointer) refloor() {
	c.floor = ^eventstore.Position(0)
	if c.building {
		c.floor = c.buildP
	}
	for _, ck := range c.list {
		c.floor = min(c.floor, ck.Position)
	}
}

// note records an applied record's time: the earliest time, and the late
// index when the time is at or before the late line. p.mu is held.
func (c *checkpointer) note(pos eventstore.Position, t time.Time) {
	if c.dir == "" {
		return
	}
	if c.earliest.IsZero() || t.Before(c.earliest) {
		c.earliest = t
	}
	if c.line.IsZero() || t.After(c.line) || pos <= c.floor {
		return
	}
	if len(c.late) >= c.lateCap {
		c.drop()
		return
	}
	c.late = append(c.late, lateRecord{Pos: pos, Time: t.UnixNano()})
}

// drop forgets every checkpoint (the late index overflowed): they are
// built again. p.mu is held.
func (c *checkpointer) drop() {
	for _, ck := range c.list {
		c.trash = append(c.trash, filepath.Join(c.dir, ck.File))
	}
	c.list, c.late, c.line = nil, nil, time.Time{}
	c.gen++
	c.refloor()
}

// noteApplied is called for every record the projector applies; p.mu is
// held.
func (p *Projector) noteApplied(pos eventstore.Position, t time.Time) {
	c := p.ck
	c.note(pos, t)
	if c.dir != "" && t.Before(p.horizon) {
		c.lastOld = time.Now()
	}
}

// covered returns how far the checkpoints cover time contiguously from
// start (start itself when none covers it). p.mu is held.
func (c *checkpointer) covered(start time.Time) time.Time {
	cur := start
	for _, ck := range c.list { // by From
		if !ck.From.After(cur) && ck.To.After(cur) {
			cur = ck.To
		}
	}
	return cur
}

// pick returns the checkpoint that answers at for a view at position pos,
// and the late records to apply to it: the newest one whose [From, To]
// holds at. ok is false when none does. p.mu is held (read).
func (c *checkpointer) pick(at time.Time, pos eventstore.Position) (ck CheckpointInfo, late []lateRecord, ok bool) {
	for _, x := range c.list {
		if x.From.After(at) || x.To.Before(at) || x.Position > pos {
			continue
		}
		if !ok || x.Position > ck.Position {
			ck, ok = x, true
		}
	}
	if !ok {
		return ck, nil, false
	}
	i, _ := slices.BinarySearchFunc(c.late, ck.Position+1, func(l lateRecord, p eventstore.Position) int {
		return cmpPos(l.Pos, p)
	})
	t := at.UnixNano()
	for _, l := range c.late[i:] {
		if l.Pos > pos {
			break
		}
		if l.Time <= t {
			late = append(late, l)
		}
	}
	return ck, late, true
}

func cmpPos(a, b eventstore.Position) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// manifestCopy is the manifest as of now; p.mu is held.
func (p *Projector) manifestCopy() *manifest {
	c := p.ck
	if c.dir == "" || !c.known {
		return nil
	}
	return &manifest{
		Version: manifestVersion, SnapshotVersion: snapshotVersion, ConfigVersion: p.cfg.Scorer.Version(), Checkpoints: slices.Clone(c.list),
		Line: c.line, Late: slices.Clone(c.late), LateUpTo: p.pos, Earliest: c.earliest,
	}
}

// writeManifest writes m atomically into the checkpoint directory.
func (c *checkpointer) writeManifest(m *manifest) error {
	if m == nil {
		return nil
	}
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("projections: encode checkpoint manifest: %w", err)
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("projections: checkpoint directory: %w", err)
	}
	if err := atomicfile.WriteFile(filepath.Join(c.dir, manifestName), data, atomicfile.Options{TempPrefix: snapshotTempPrefix}); err != nil {
		return fmt.Errorf("projections: write checkpoint manifest: %w", err)
	}
	return nil
}

// readManifest reads a manifest file.
func readManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("projections: checkpoint manifest %s: %w", path, err)
	}
	if m.Version != manifestVersion {
		return nil, fmt.Errorf("projections: checkpoint manifest %s has format %d, want %d", path, m.Version, manifestVersion)
	}
	if !slices.IsSortedFunc(m.Late, func(a, b lateRecord) int { return cmpPos(a.Pos, b.Pos) }) {
		return nil, fmt.Errorf("projections: checkpoint manifest %s: late index out of order", path)
	}
	return &m, nil
}

// removeTrash removes the files of dropped checkpoints (and forgets a
// cached one among them). Failures are logged: a leftover file costs disk
// space only, and the next start removes it.
func (c *checkpointer) removeTrash(p *Projector) {
	p.mu.Lock()
	trash := c.trash
	c.trash = nil
	p.mu.Unlock()
	for _, f := range trash {
		c.cacheMu.Lock()
		if c.cached != nil && filepath.Join(c.dir, c.cached.file) == f {
			c.cached = nil
		}
		c.cacheMu.Unlock()
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			p.cfg.Logger.Warn().Err(err).Str("file", f).Msg("projections: cannot remove a dropped checkpoint")
		}
	}
}

// dropCheckpoint forgets a checkpoint that could not be read (damaged,
// removed): the builder fills the gap it leaves.
func (p *Projector) dropCheckpoint(ck CheckpointInfo) {
	c := p.ck
	p.mu.Lock()
	n := len(c.list)
	c.list = slices.DeleteFunc(c.list, func(x CheckpointInfo) bool { return x.File == ck.File })
	if len(c.list) < n {
		c.trash = append(c.trash, filepath.Join(c.dir, ck.File))
		c.refloor()
	}
	p.mu.Unlock()
}

// CheckpointStatus describes the checkpoints (docs/checkpoints.md).
type CheckpointStatus struct {
	Checkpoints []CheckpointInfo `json:"checkpoints"`
	// Late is the number of records in the late index.
	Late int `json:"late"`
	// Earliest is the earliest event time applied; CoveredFrom the
	// earliest instant the checkpoints must cover (Earliest, or as far
	// back as CheckpointMax of them reach), CoveredTo how far they cover
	// time from there without a gap.
	Earliest    time.Time `json:"earliest"`
	CoveredFrom time.Time `json:"covered_from"`
	CoveredTo   time.Time `json:"covered_to"`
	Building    bool      `json:"building"`
	// Complete is set when the checkpoints cover every instant from
	// CoveredFrom to the retention horizon without a gap (no build is due
	// or running): a list, portfolio or capacity ?at= before the horizon
	// then replays only from a checkpoint.
	Complete bool `json:"complete"`
}

// Checkpoints describes the checkpoints.
func (p *Projector) Checkpoints() CheckpointStatus {
	p.mu.RLock()
	defer p.mu.RUnlock()
	c := p.ck
	start := p.coverStart()
	cov := c.covered(start)
	return CheckpointStatus{
		Checkpoints: append([]CheckpointInfo{}, c.list...), Late: len(c.late), Earliest: c.earliest,
		CoveredFrom: start, CoveredTo: cov, Building: c.building,
		Complete: c.dir != "" && c.known && !c.building && !p.horizon.IsZero() && !(start.Before(p.horizon) && cov.Before(p.horizon)),
	}
}
