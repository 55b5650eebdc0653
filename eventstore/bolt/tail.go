package bolt

import (
	"bytes"
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
// The writer is the only goroutine that changes a tail, and only under
// Store.tailMu held for writing; it reads its own tail without the lock.
// Readers hold tailMu for reading. A stream run's positions only ever grow
// at the end (a reader's copy of the slice stays valid); a merge replaces
// the whole tail.
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

func newTail() *tail {
	return &tail{keys: make(map[string]eventstore.Position), streams: make(map[string]*streamRun)}
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

// absorb appends the entries of u, a later tail, to t.
func (t *tail) absorb(u *tail) {
	for k, p := range u.keys {
		t.keys[k] = p
	}
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
// stream versions, stream heads — each index in key order, so that one
// merge walks each index once from left to right, and records through as
// the indexed position.
func (t *tail) merge(tx *bbolt.Tx, through eventstore.Position) error {
	keys := make([]kv, 0, len(t.keys))
	for k, p := range t.keys {
		keys = append(keys, kv{[]byte(k), u64(uint64(p))})
	}
	refs := make([]kv, 0, t.events)
	heads := make([]kv, 0, len(t.streams))
	for s, r := range t.streams {
		for i, p := range r.pos {
			refs = append(refs, kv{streamKey(s, r.first+eventstore.Version(i)), u64(uint64(p))})
		}
		heads = append(heads, kv{[]byte(s), u64(uint64(r.last()))})
	}
	for _, idx := range []struct {
		bucket  string
		entries []kv
	}{{bucketKeys, keys}, {bucketStreams, refs}, {bucketHeads, heads}} {
		b := tx.Bucket([]byte(idx.bucket))
		b.FillPercent = indexFill
		slices.SortFunc(idx.entries, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
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
	t := newTail()
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
