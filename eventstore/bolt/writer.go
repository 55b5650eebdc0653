package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
)

// op is one Append or AppendMany call waiting for the writer.
type op struct {
	ctx    context.Context
	reqs   []eventstore.AppendRequest
	events int // total events of reqs, at least 1

	// Set by the writer before done is closed.
	outs []eventstore.AppendOutcome
	err  error
	done chan struct{}
}

// Append implements eventstore.Store.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.Version, events ...eventstore.EventData) (eventstore.AppendResult, error) {
	outs, err := s.submit(ctx, []eventstore.AppendRequest{{Stream: stream, Expected: expected, Events: events}})
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	return outs[0].Result, outs[0].Err
}

// AppendMany implements eventstore.Store.
func (s *Store) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	return s.submit(ctx, reqs)
}

// submit queues reqs for the writer and waits for their outcome.
func (s *Store) submit(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o := &op{ctx: ctx, reqs: reqs, done: make(chan struct{})}
	for _, r := range reqs {
		o.events += len(r.Events)
	}
	o.events = max(o.events, 1)

	s.sendMu.RLock()
	if s.closing {
		s.sendMu.RUnlock()
		return nil, errClosed("append")
	}
	if len(reqs) == 0 {
		s.sendMu.RUnlock()
		return []eventstore.AppendOutcome{}, nil
	}
	select {
	case s.ops <- o:
		s.sendMu.RUnlock()
	case <-ctx.Done():
		s.sendMu.RUnlock()
		return nil, ctx.Err()
	}

	select {
	case <-o.done:
		return o.outs, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// write is the writer goroutine: it commits queued ops in batches until
// Close closes the queue and the queue is empty; then it merges the tail
// into the file's indexes, so that a store closed cleanly opens without
// reading any of its log.
func (s *Store) write(head eventstore.Position) {
	defer close(s.writerDone)
	var next *op // taken from the queue but did not fit in the last batch
	for {
		if next == nil {
			o, ok := <-s.ops
			if !ok {
				s.mergeAtClose(head)
				return
			}
			next = o
		}
		batch := []*op{next}
		n := next.events
		next = nil
	drain:
		for n < s.maxBatch {
			select {
			case o, ok := <-s.ops:
				if !ok {
					break drain
				}
				if n+o.events > s.maxBatch {
					next = o
					break drain
				}
				batch = append(batch, o)
				n += o.events
			default:
				break drain
			}
		}
		head = s.commit(head, batch)
	}
}

// mergeAtClose merges the tail into the file's indexes in a transaction of
// its own. A failure leaves the tail to the next Open, which reads it from
// the log.
func (s *Store) mergeAtClose(head eventstore.Position) {
	if s.tail.events == 0 || s.damaged.Load() != nil {
		return
	}
	err := guard("close", func() error {
		return s.db.Update(func(tx *bbolt.Tx) error { return s.tail.merge(tx, head) })
	})
	if err == nil {
		s.tailMu.Lock()
		s.tail, s.indexed = newTail(0), head
		s.tailMu.Unlock()
	}
}

// errNothingWritten rolls back a transaction in which every request failed
// or was a duplicate, saving the fsync.
var errNothingWritten = errors.New("nothing written")

// commit applies batch in one transaction and answers its ops. It returns
// the new head.
func (s *Store) commit(head eventstore.Position, batch []*op) eventstore.Position {
	live := batch[:0:0]
	for _, o := range batch {
		if err := o.ctx.Err(); err != nil {
			// The caller has gone: do not write what it no longer waits for.
			o.err = err
			close(o.done)
			continue
		}
		live = append(live, o)
	}
	if len(live) == 0 {
		return head
	}
	if d := s.damaged.Load(); d != nil {
		for _, o := range live {
			o.err = *d
			close(o.done)
		}
		return head
	}

	events := 0
	for _, o := range live {
		events += o.events
	}
	// The tail, which indexes (indexed, head], is merged into the file's
	// indexes at the start of this transaction once it is large enough;
	// this transaction's own records then start the next tail. Otherwise
	// their keys go straight into the tail's (and are taken out again if
	// the commit fails), their streams' runs into added until the commit.
	merge := s.tail.events >= s.indexEvery
	w := &txWriter{next: head + 1, at: time.Now().UnixNano(), tail: s.tail,
		added: &tail{keys: s.tail.keys, streams: make(map[string]*streamRun)}}
	if merge {
		w.tail, w.added.keys = newTail(0), make(map[string]eventstore.Position, max(events, s.indexEvery))
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	var applied time.Time // when the requests were applied; the rest is commit and fsync
	err := guard("append", func() error {
		return s.db.Update(func(tx *bbolt.Tx) error {
			w.bind(tx)
			if merge {
				if err := s.tail.merge(tx, head); err != nil {
					return err
				}
			}
			for _, o := range live {
				o.outs = make([]eventstore.AppendOutcome, len(o.reqs))
				for i, r := range o.reqs {
					o.outs[i] = w.apply(r)
					if w.fatal != nil {
						return w.fatal
					}
				}
			}
			if w.next == head+1 && !merge { // a merge alone is worth its commit
				return errNothingWritten
			}
			if s.beforeCommit != nil {
				if err := s.beforeCommit(); err != nil {
					return err
				}
			}
			applied = time.Now()
			return nil
		})
	})
	if errors.Is(err, errNothingWritten) {
		err = nil
	}
	if errors.Is(err, ErrDamaged) {
		s.damaged.CompareAndSwap(nil, &err)
	}
	if !merge && (err != nil || w.next == head+1) {
		for _, k := range w.newKeys {
			delete(s.tail.keys, k) // nothing of the transaction was written
		}
	}
	if err != nil {
		err = unavailable("append", err)
		for _, o := range live {
			o.outs, o.err = nil, err
			close(o.done)
		}
		return head
	}

	newHead := w.next - 1
	if newHead != head && s.onCommit != nil {
		s.onCommit(int(newHead-head), time.Since(applied))
	}
	if newHead != head || merge {
		s.commits.Add(1)
		s.events.Add(uint64(newHead - head))
		// Readers see the new tail and the new head together.
		s.tailMu.Lock()
		if merge {
			s.tail, s.indexed = w.added, head
		} else {
			s.tail.absorb(w.added)
		}
		if newHead != head {
			s.mu.Lock()
			s.head = newHead
			close(s.notify)
			s.notify = make(chan struct{})
			s.mu.Unlock()
		}
		s.tailMu.Unlock()
	}
	for _, o := range live {
		close(o.done)
	}
	return newHead
}

// txWriter applies requests inside one read-write transaction.
//
// Records go to the log as they are applied (their keys, the positions,
// only grow: each put appends to the last page). Their index entries go to
// added, a tail of this transaction's records: its keys are the store's
// tail's own map (or, when the transaction merges the store's tail, the
// next tail's), its stream runs are absorbed into the store's tail once
// the transaction has committed. The file's indexes are written only when
// a tail is merged.
type txWriter struct {
	log, keys, heads *bbolt.Bucket

	next  eventstore.Position // position of the next record
	at    int64               // recorded-at of every record of the transaction
	fatal error               // a write failed: the transaction must be aborted

	tail  *tail // the store's: records committed but not in the file's indexes (empty after a merge)
	added *tail // this transaction's records; its keys are the store's tail's unless it merged

	newKeys []string // the keys added, to take out of the tail's if the commit fails

	arena arena // the log's keys and records (bbolt keeps them until the commit)
}

func (w *txWriter) bind(tx *bbolt.Tx) {
	w.log = tx.Bucket([]byte(bucketLog))
	w.log.FillPercent = 1 // keys only ever grow: pack the pages
	w.keys = tx.Bucket([]byte(bucketKeys))
	w.heads = tx.Bucket([]byte(bucketHeads))
}

// keyPosition returns the position stored for an idempotency key, 0 when
// there is none (written in this transaction, in the tail, or in the
// file's index).
func (w *txWriter) keyPosition(key string) eventstore.Position {
	if p, ok := w.added.keys[key]; ok {
		return p
	}
	if p := w.keys.Get([]byte(key)); p != nil {
		return eventstore.Position(beUint64(p))
	}
	return 0
}

// head returns the version of stream's last record, -1 when it has none
// (as moved in this transaction, in the tail, or as in the file's index).
func (w *txWriter) head(stream string) eventstore.Version {
	if r := w.added.streams[stream]; r != nil {
		return r.last()
	}
	if r := w.tail.streams[stream]; r != nil {
		return r.last()
	}
	if h := w.heads.Get([]byte(stream)); h != nil {
		return eventstore.Version(beUint64(h))
	}
	return -1
}

// apply checks and applies one request. It writes nothing unless every
// check passes; if a write fails it sets fatal.
func (w *txWriter) apply(r eventstore.AppendRequest) eventstore.AppendOutcome {
	if err := r.Validate(); err != nil {
		err = fmt.Errorf("bolt: %w", err)
		return eventstore.AppendOutcome{Err: err}
	}
	evs := eventstore.UniqueKeys(r.Events)

	// Idempotency first.
	stored := 0
	var first, last eventstore.Position
	for i, ev := range evs {
		p := w.keyPosition(ev.Key)
		if p == 0 {
			continue
		}
		stored++
		if i == 0 {
			first = p
		}
		if i == len(evs)-1 {
			last = p
		}
	}
	if stored == len(evs) {
		rec, err := decodeRecord(last, w.log.Get(u64(uint64(last))))
		if err != nil {
			return eventstore.AppendOutcome{Err: fmt.Errorf("bolt: append to %q: the original of a duplicate: %w", r.Stream, err)}
		}
		return eventstore.AppendOutcome{Result: eventstore.AppendResult{
			First:     first,
			Last:      rec.Position,
			Version:   rec.Version,
			Duplicate: true,
		}}
	}
	if stored > 0 {
		return eventstore.AppendOutcome{Err: fmt.Errorf("bolt: append to %q: %d of %d keys already stored: %w",
			r.Stream, stored, len(evs), eventstore.ErrPartialDuplicate)}
	}

	// Then the expected version.
	current := w.head(r.Stream) // -1: no stream
	if err := checkExpected(r.Stream, r.Expected, current); err != nil {
		return eventstore.AppendOutcome{Err: err}
	}

	// Then the streams it requires, as they are after the earlier requests
	// of this transaction.
	for _, req := range r.Requires {
		if w.head(req) < 0 {
			return eventstore.AppendOutcome{Err: &eventstore.MissingStreamError{Stream: req}}
		}
	}

	// Write.
	res := eventstore.AppendResult{First: w.next}
	for i, ev := range evs {
		v := current + 1 + eventstore.Version(i)
		key := w.arena.alloc(8)
		binary.BigEndian.PutUint64(key, uint64(w.next))
		rec := w.arena.alloc(recordCap(r.Stream, ev))
		w.put(w.log, key, appendRecord(rec[:0], r.Stream, v, w.at, ev))
		w.added.add(r.Stream, v, ev.Key, w.next)
		w.newKeys = append(w.newKeys, ev.Key)
		res.Last, res.Version = w.next, v
		w.next++
	}
	if w.fatal != nil {
		return eventstore.AppendOutcome{Err: unavailable("append", w.fatal)}
	}
	return eventstore.AppendOutcome{Result: res}
}

// put writes k → v unless an earlier write of the transaction failed.
// bbolt keeps k and v until the commit: they must not be reused.
func (w *txWriter) put(b *bbolt.Bucket, k, v []byte) {
	if w.fatal == nil {
		if err := b.Put(k, v); err != nil {
			w.fatal = err
		}
	}
}

// checkExpected returns eventstore.ErrWrongVersion unless expected allows
// appending to a stream whose last version is current (-1: no stream).
func checkExpected(stream string, expected, current eventstore.Version) error {
	ok := false
	switch expected {
	case eventstore.AnyVersion:
		ok = true
	case eventstore.NoStream:
		ok = current < 0
	case eventstore.StreamExists:
		ok = current >= 0
	default:
		ok = expected == current
	}
	if ok {
		return nil
	}
	at := "does not exist"
	if current >= 0 {
		at = fmt.Sprintf("is at version %d", current)
	}
	return fmt.Errorf("bolt: append to %q: expected %s, stream %s: %w",
		stream, versionString(expected), at, eventstore.ErrWrongVersion)
}

func versionString(v eventstore.Version) string {
	switch v {
	case eventstore.AnyVersion:
		return "any version"
	case eventstore.NoStream:
		return "no stream"
	case eventstore.StreamExists:
		return "an existing stream"
	}
	return fmt.Sprintf("version %d", v)
}

// beUint64 decodes 8 big-endian bytes.
func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
