package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/internal/binread"
)

// DefaultIndexEvery is how many records the store keeps indexed in memory
// only (the tail) before it writes their index entries into the file's
// indexes in one sorted pass (Options.IndexEvery).
const DefaultIndexEvery = 1 << 17

// tail indexes, in memory, the records after the file's indexed position:
// their idempotency keys, and for each stream the positions of its
// versions after the indexed ones. The log holds those records, so Open
// rebuilds the tail by reading them; nothing of it needs to be written
// until it is merged into the file's indexes.
//
// The writer is the only goroutine that changes a tail: its keys under
// Store.keysMu (while it applies a transaction), the rest under
// Store.tailMu held for writing; it reads its own tail without the locks.
// Readers of the streams hold tailMu for reading; Verify, which reads the
// keys too, holds keysMu and then tailMu. A stream run's positions only
// ever grow at the end (a reader's copy of the slice stays valid); a
// merge replaces the whole tail.
type tail struct {
	keys    map[string]eventstore.Position
	streams map[string]*streamRun
	events  int // records indexed here
}

// streamRun is a stream's versions first, first+1, … and their positions.
type streamRun struct {
	first eventstore.Version
	pos   []eventstore.Position
}

// last is the version of the run's last record.
func (r *streamRun) last() eventstore.Version {
	return r.first + eventstore.Version(len(r.pos)) - 1
}

// at returns the position of version v, false when the run does not hold it.
func (r *streamRun) at(v eventstore.Version) (eventstore.Position, bool) {
	if r == nil || v < r.first || v > r.last() {
		return 0, false
	}
	return r.pos[v-r.first], true
}

// newTail returns an empty tail with room for about n records.
func newTail(n int) *tail {
	return &tail{keys: make(map[string]eventstore.Position, n), streams: make(map[string]*streamRun)}
}

// arena hands out byte slices cut from large chunks: a transaction's keys
// and values, which bbolt keeps until the commit, cost one allocation per
// chunk rather than one each.
type arena []byte

// arenaChunk is the size of an arena's chunks.
const arenaChunk = 256 << 10

// alloc returns n bytes.
func (a *arena) alloc(n int) []byte {
	if cap(*a)-len(*a) < n {
		*a = make([]byte, 0, max(arenaChunk, n))
	}
	start := len(*a)
	*a = (*a)[:start+n]
	return (*a)[start : start+n : start+n]
}

// bytes returns a copy of s.
func (a *arena) bytes(s string) []byte {
	b := a.alloc(len(s))
	copy(b, s)
	return b
}

// u64 returns n as 8 big-endian bytes.
func (a *arena) u64(n uint64) []byte {
	b := a.alloc(8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// add indexes the record at pos, version v of stream with key. Versions of
// a stream must come in order, each the one after the last.
func (t *tail) add(stream string, v eventstore.Version, key string, pos eventstore.Position) {
	r := t.streams[stream]
	if r == nil {
		r = &streamRun{first: v}
		t.streams[stream] = r
	}
	r.pos = append(r.pos, pos)
	t.keys[key] = pos
	t.events++
}

// absorb appends the stream runs of u, a later tail sharing t's keys, to t.
func (t *tail) absorb(u *tail) {
	for s, ur := range u.streams {
		if r := t.streams[s]; r != nil {
			r.pos = append(r.pos, ur.pos...)
		} else {
			t.streams[s] = ur
		}
	}
	t.events += u.events
}

// merge writes every entry of t into the file's indexes — idempotency keys,
// one segment per stream, stream heads — each index in key order, so that
// one merge walks each index once from left to right, and records through
// as the indexed position.
func (t *tail) merge(tx *bbolt.Tx, through eventstore.Position) error {
	var a arena
	names := make([]string, 0, len(t.keys))
	for k := range t.keys {
		names = append(names, k)
	}
	slices.Sort(names)
	keys := make([]kv, len(names))
	for i, k := range names {
		keys[i] = kv{a.bytes(k), a.u64(uint64(t.keys[k]))}
	}
	streams := make([]string, 0, len(t.streams))
	for s := range t.streams {
		streams = append(streams, s)
	}
	slices.Sort(streams)
	refs := make([]kv, len(streams))
	heads := make([]kv, len(streams))
	for i, s := range streams {
		r := t.streams[s]
		refs[i] = kv{streamKey(s, r.first), appendSegment(nil, r.pos)}
		heads[i] = kv{a.bytes(s), a.u64(uint64(r.last()))}
	}
	// The streams index's keys start with the stream's length: sort them
	// as bytes.
	slices.SortFunc(refs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, idx := range []struct {
		bucket  string
		entries []kv
	}{{bucketKeys, keys}, {bucketStreams, refs}, {bucketHeads, heads}} {
		b := tx.Bucket([]byte(idx.bucket))
		b.FillPercent = indexFill
		for _, e := range idx.entries {
			if err := b.Put(e.k, e.v); err != nil {
				return err
			}
		}
	}
	return tx.Bucket([]byte(bucketMeta)).Put([]byte(metaIndexed), u64(uint64(through)))
}

// indexFill is how full bbolt packs the pages of the indexes: entries
// arrive sorted within a merge but land between existing ones, and
// bbolt's default fill (0.5) would leave every page it splits half empty.
const indexFill = 0.9

// kv is an index entry to write.
type kv struct{ k, v []byte }

// loadTail reads the records after the indexed position, up to head, into
// a tail. A record it cannot decode, or whose version does not follow its
// stream's, is a *DamagedError: the store cannot know its key or place.
func loadTail(tx *bbolt.Tx, path string, indexed, head eventstore.Position) (*tail, error) {
	t := newTail(int(head - indexed))
	heads := tx.Bucket([]byte(bucketHeads))
	c := tx.Bucket([]byte(bucketLog)).Cursor()
	next := indexed + 1
	for k, v := c.Seek(u64(uint64(next))); k != nil && next <= head; k, v = c.Next() {
		pos := eventstore.Position(beUint64(k))
		if pos != next {
			return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("position %d is missing from the log", next)}
		}
		stream, ver, key, err := recordIndexFields(pos, v)
		if err != nil {
			return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("the record at position %d, not yet in the indexes, is damaged: %v", pos, err)}
		}
		want := eventstore.Version(0)
		if r := t.streams[stream]; r != nil {
			want = r.last() + 1
		} else if h := heads.Get([]byte(stream)); h != nil {
			want = eventstore.Version(beUint64(h)) + 1
		}
		if ver != want {
			return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("the record at position %d is version %d of %q, want %d", pos, ver, stream, want)}
		}
		t.add(stream, ver, key, pos)
		next++
	}
	if next <= head {
		return nil, &DamagedError{Path: path, Reason: fmt.Sprintf("positions %d to %d are missing from the log", next, head)}
	}
	return t, nil
}

// recordIndexFields verifies the record stored at pos and returns what the
// indexes hold of it: its stream, version and key.
func recordIndexFields(pos eventstore.Position, b []byte) (string, eventstore.Version, string, error) {
	_, fields, err := checkRecord(pos, b)
	if err != nil {
		return "", 0, "", err
	}
	d := binread.New(fields)
	stream := d.String()
	v := eventstore.Version(d.Uvarint())
	d.Varint()
	key := d.String()
	if d.Bad() {
		return "", 0, "", corrupt(pos, "undecodable fields")
	}
	return stream, v, key, nil
}

// A stream segment is an entry of the streams index: its key is the
// stream's key at the segment's first version (streamKey), its value the
// position of that version (8 bytes, big-endian) followed, for each next
// version, by the uvarint of its position minus the one before. A merge
// writes one segment per stream it indexes; files of formats 1 to 3 hold a
// segment per version (the position alone).

// appendSegment encodes the positions of consecutive versions as a
// segment's value.
func appendSegment(b []byte, pos []eventstore.Position) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(pos[0]))
	for i := 1; i < len(pos); i++ {
		b = binary.AppendUvarint(b, uint64(pos[i]-pos[i-1]))
	}
	return b
}

// segmentPositions decodes a segment's value into dst; ok is false when it
// is malformed.
func segmentPositions(dst []eventstore.Position, val []byte) ([]eventstore.Position, bool) {
	if len(val) < 8 {
		return dst, false
	}
	p := eventstore.Position(beUint64(val))
	dst = append(dst, p)
	for rest := val[8:]; len(rest) > 0; {
		d, n := binary.Uvarint(rest)
		if n <= 0 || d == 0 {
			return dst, false
		}
		p += eventstore.Position(d)
		dst = append(dst, p)
		rest = rest[n:]
	}
	return dst, true
}

// segmentVersion is the first version of the segment whose key is k, in
// the stream whose keys start with prefix; ok is false when k is not one
// of that stream's keys.
func segmentVersion(k, prefix []byte) (eventstore.Version, bool) {
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0, false
	}
	return eventstore.Version(beUint64(k[len(prefix):])), true
}

// seekSegment moves c to the segment of the stream whose keys start with
// prefix that holds version v or, when none does, to the first segment
// after it (which may be another stream's: check with segmentVersion).
func seekSegment(c *bbolt.Cursor, prefix []byte, v eventstore.Version) (k, val []byte) {
	want := binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(v))
	k, val = c.Seek(want)
	if k != nil && bytes.Equal(k, want) {
		return k, val
	}
	var pk, pv []byte
	if k != nil {
		pk, pv = c.Prev()
	} else {
		pk, pv = c.Last()
	}
	if first, ok := segmentVersion(pk, prefix); ok && first < v {
		if ps, ok := segmentPositions(nil, pv); !ok || first+eventstore.Version(len(ps)) > v {
			return pk, pv // a malformed segment is the caller's to report
		}
	}
	return c.Seek(want)
}

// indexedPosition returns the position the streams index holds for
// version v of the stream whose keys start with prefix, 0 when it holds
// none.
func indexedPosition(c *bbolt.Cursor, prefix []byte, v eventstore.Version) eventstore.Position {
	k, val := seekSegment(c, prefix, v)
	first, ok := segmentVersion(k, prefix)
	if !ok || first > v {
		return 0
	}
	ps, ok := segmentPositions(nil, val)
	if !ok || v-first >= eventstore.Version(len(ps)) {
		return 0
	}
	return ps[v-first]
}
