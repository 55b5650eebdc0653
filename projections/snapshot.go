package projections

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/atomicfile"
	"github.com/vitals-hq/vitals/internal/gobcopy"
)

// Snapshot file layout: magic, format version (uint32), payload length
// (uint64), the gob-encoded snapshot, and the SHA-256 of the payload. A file
// that is short, has another magic or version, or fails the checksum is
// rejected and the projector replays the log instead. Version 2: a signal
// raise keeps its note (a version-1 snapshot lacks them and is replayed).
// Version 3: an account records that pruning dropped invoices. Version 4:
// accounts keep their prune instant, past scores and latest event time.
// Version 5: compact live state — fact times as int64 nanoseconds, outcome
// codes, records without pointers (a version-4 snapshot is replayed).
// Version 6: an invoice's void and a manager change's fields are plain
// values with flags, and the marks' account facts are encoded as their
// JSON, as gob leaves out a pointer to a zero value and an empty slice (a
// void at 1970-01-01T00:00:00Z read back as none, a score of 0 in a
// transition's "from" as null; a version-5 snapshot is replayed).
// TestSnapshotFormatIsVersioned fingerprints the types gob
// encodes: a field added, removed or renamed anywhere below snapshot fails
// it until this version is bumped (gob would fill a missing field with its
// zero value, and the state would disagree with a rebuild).
const (
	snapshotMagic   = "VITALSNP"
	snapshotVersion = 6
)

var errNoSnapshot = errors.New("projections: no snapshot")

// snapshotTempPrefix starts the name of the temp file a snapshot is written
// to before it is renamed into place; os.CreateTemp puts digits after it.
const snapshotTempPrefix = ".snapshot-"

// removeStaleSnapshotTemps removes the temp files that a crash (kill -9,
// power loss) during a snapshot write left next to path, logging each. It
// runs before the projector writes, so no temp file there is in use: the
// store lets one process at a time open a data directory. Failures are
// logged, not returned: a leftover file costs only disk space.
func removeStaleSnapshotTemps(path string, log zerolog.Logger) {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn().Err(err).Str("dir", dir).Msg("projections: cannot list the snapshot directory for leftover temp files")
		}
		return
	}
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), snapshotTempPrefix)
		if !ok || digits == "" || strings.Trim(digits, "0123456789") != "" || !e.Type().IsRegular() {
			continue
		}
		tmp := filepath.Join(dir, e.Name())
		var size int64
		if fi, err := e.Info(); err == nil {
			size = fi.Size()
		}
		if err := os.Remove(tmp); err != nil {
			log.Warn().Err(err).Str("file", tmp).Msg("projections: cannot remove a leftover snapshot temp file")
			continue
		}
		log.Info().Str("file", tmp).Int64("bytes", size).Msg("projections: removed a snapshot temp file left by an interrupted write")
	}
}

// snapshot is what a snapshot file holds: the state and the checkpoint it
// reflects, written together.
type snapshot struct {
	Position      eventstore.Position
	ConfigVersion string
	Horizon       time.Time
	WrittenAt     time.Time
	State         *State
	Seen          map[uint64]struct{}
	// Marks is the last derived state of every subject (see
	// transitions.go); nil in snapshots written before notifications,
	// and then every subject gets its baseline at start.
	Marks *Marks
}

// writeSnapshot writes s to path atomically: a temp file in the same
// directory, synced, renamed over path, and the directory synced.
func writeSnapshot(path string, s *snapshot) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(s); err != nil {
		return fmt.Errorf("projections: encode snapshot: %w", err)
	}
	var hdr [20]byte
	copy(hdr[:8], snapshotMagic)
	binary.BigEndian.PutUint32(hdr[8:12], snapshotVersion)
	binary.BigEndian.PutUint64(hdr[12:20], uint64(payload.Len()))
	sum := sha256.Sum256(payload.Bytes())
	err := atomicfile.Write(path, atomicfile.Options{Perm: 0o600, TempPrefix: snapshotTempPrefix}, func(f io.Writer) error {
		w := bufio.NewWriter(f)
		w.Write(hdr[:])
		w.Write(payload.Bytes())
		w.Write(sum[:])
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("projections: write snapshot: %w", err)
	}
	return nil
}

// readSnapshot reads and verifies a snapshot file; errNoSnapshot when there
// is none.
func readSnapshot(path string) (*snapshot, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("projections: read snapshot: %w", err)
	}
	if len(data) < 20+sha256.Size || string(data[:8]) != snapshotMagic {
		return nil, fmt.Errorf("projections: snapshot %s is truncated or not a snapshot", path)
	}
	if v := binary.BigEndian.Uint32(data[8:12]); v != snapshotVersion {
		return nil, fmt.Errorf("projections: snapshot %s has format %d, want %d", path, v, snapshotVersion)
	}
	n := binary.BigEndian.Uint64(data[12:20])
	if n != uint64(len(data)-20-sha256.Size) {
		return nil, fmt.Errorf("projections: snapshot %s is truncated (%d payload bytes, header says %d)", path, len(data)-20-sha256.Size, n)
	}
	payload := data[20 : 20+n]
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], data[20+n:]) {
		return nil, fmt.Errorf("projections: snapshot %s fails its checksum", path)
	}
	var s snapshot
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("projections: decode snapshot: %w", err)
	}
	if s.State == nil {
		s.State = NewState()
	}
	for _, a := range s.State.Accounts {
		a.syncSince() // snapshots written before scoring knew the opening
		a.Scoring.Normalize()
	}
	return &s, nil
}

// maybeSnapshot writes a snapshot when enough events or time have passed
// since the last one, or always when force is set.
func (p *Projector) maybeSnapshot(force bool) error {
	if p.cfg.SnapshotPath == "" {
		return nil
	}
	if !force && !p.snapshotDue(0) {
		return nil
	}
	start := time.Now()
	// A copy of what the snapshot encodes is taken under the read lock;
	// the outbox sync, the encoding and the fsync run without it, so
	// re-scores (the write lock) and the queries queued behind them do not
	// wait for the disk.
	p.mu.RLock()
	s := &snapshot{
		Position: p.pos, ConfigVersion: p.cfg.Scorer.Version(), Horizon: p.horizon, WrittenAt: p.cfg.Now(),
		State: gobcopy.Copy(p.state), Seen: maps.Clone(p.seen), Marks: gobcopy.Copy(&p.marks),
	}
	m := p.manifestCopy() // the late index up to the same position
	p.mu.RUnlock()
	var err error
	if sink := p.cfg.Transitions; sink != nil {
		// The marks must not run ahead of the outbox: every transition
		// derived before they were copied is made durable first.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = sink.Sync(ctx)
		cancel()
	}
	if err == nil {
		err = writeSnapshot(p.cfg.SnapshotPath, s)
	}
	if err == nil {
		err = p.ck.writeManifest(m)
	}
	p.lastSnap = time.Now()
	p.lastSnapTook = p.lastSnap.Sub(start)
	if err != nil {
		p.cfg.Logger.Error().Err(err).Msg("projections: snapshot failed")
		return err
	}
	p.sinceSnap = 0
	p.cfg.Logger.Debug().Uint64("position", uint64(s.Position)).Dur("took", time.Since(start)).Msg("projections: snapshot written")
	return nil
}

// snapshotCostFactor bounds the share of the time snapshots take under a
// heavy ingest: one due by its event count (Config.SnapshotEvery) waits
// until this many times the last snapshot's duration has passed since it,
// so writing snapshots takes at most about 1/snapshotCostFactor of the
// projector's time (at 100k events/s, 50,000 events are half a second).
const snapshotCostFactor = 20

// snapshotDue reports whether a snapshot is due once n more events are
// applied: SnapshotEvery events (and snapshotCostFactor times the last
// snapshot's duration) since the last one, or SnapshotInterval with at
// least one event.
func (p *Projector) snapshotDue(n int) bool {
	if p.cfg.SnapshotPath == "" {
		return false
	}
	since := time.Since(p.lastSnap)
	events := p.sinceSnap + n
	byCount := events >= p.cfg.SnapshotEvery && since >= snapshotCostFactor*p.lastSnapTook
	return byCount || (events > 0 && since >= p.cfg.SnapshotInterval)
}

// snapshotNow writes a snapshot now. It must not run concurrently with Run
// (Rebuild calls it after Run has returned).
func (p *Projector) snapshotNow() error {
	if p.cfg.SnapshotPath == "" {
		return errors.New("projections: snapshots are disabled (no snapshot path)")
	}
	return p.maybeSnapshot(true)
}
