package projections

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// Snapshot file layout: magic, format version (uint32), payload length
// (uint64), the gob-encoded snapshot, and the SHA-256 of the payload. A file
// that is short, has another magic or version, or fails the checksum is
// rejected and the projector replays the log instead. Version 2: a signal
// raise keeps its note (a version-1 snapshot lacks them and is replayed).
const (
	snapshotMagic   = "VITALSNP"
	snapshotVersion = 2
)

var errNoSnapshot = errors.New("projections: no snapshot")

// snapshot is what a snapshot file holds: the state and the checkpoint it
// reflects, written together.
type snapshot struct {
	Position      eventstore.Position
	ConfigVersion string
	Horizon       time.Time
	WrittenAt     time.Time
	State         *State
	Seen          map[uint64]struct{}
}

// writeSnapshot writes s to path atomically: a temp file in the same
// directory, synced, renamed over path, and the directory synced.
func writeSnapshot(path string, s *snapshot) error {
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(s); err != nil {
		return fmt.Errorf("projections: encode snapshot: %w", err)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".snapshot-*")
	if err != nil {
		return fmt.Errorf("projections: write snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	w := bufio.NewWriter(f)
	var hdr [20]byte
	copy(hdr[:8], snapshotMagic)
	binary.BigEndian.PutUint32(hdr[8:12], snapshotVersion)
	binary.BigEndian.PutUint64(hdr[12:20], uint64(payload.Len()))
	sum := sha256.Sum256(payload.Bytes())
	w.Write(hdr[:])
	w.Write(payload.Bytes())
	w.Write(sum[:])
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("projections: write snapshot: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("projections: sync snapshot: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("projections: close snapshot: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("projections: install snapshot: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
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
		if a.Signals == nil {
			a.Signals = make(map[string]*Signal)
		}
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
	if !force && p.sinceSnap < p.cfg.SnapshotEvery && (p.sinceSnap == 0 || time.Since(p.lastSnap) < p.cfg.SnapshotInterval) {
		return nil
	}
	start := time.Now()
	p.mu.RLock()
	s := &snapshot{Position: p.pos, ConfigVersion: p.cfg.Scorer.Version(), Horizon: p.horizon, WrittenAt: p.cfg.Now(), State: p.state, Seen: p.seen}
	err := writeSnapshot(p.cfg.SnapshotPath, s)
	p.mu.RUnlock()
	p.lastSnap = time.Now()
	if err != nil {
		p.cfg.Logger.Error().Err(err).Msg("projections: snapshot failed")
		return err
	}
	p.sinceSnap = 0
	p.cfg.Logger.Debug().Uint64("position", uint64(s.Position)).Dur("took", time.Since(start)).Msg("projections: snapshot written")
	return nil
}

// snapshotNow writes a snapshot now. It must not run concurrently with Run
// (Rebuild calls it after Run has returned).
func (p *Projector) snapshotNow() error {
	if p.cfg.SnapshotPath == "" {
		return errors.New("projections: snapshots are disabled (no snapshot path)")
	}
	return p.maybeSnapshot(true)
}
