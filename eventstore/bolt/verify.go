package bolt

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/vitals-hq/vitals/eventstore"
)

// verifyChunk is how many records Verify checks per read transaction.
const verifyChunk = 4096

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Head is the last position in the log when Verify started.
	Head eventstore.Position
	// Records counts the records checked.
	Records int64
	// Legacy counts the records in format 1, written before records had
	// checksums: they are decoded, but damage inside them that keeps them
	// decodable cannot be detected.
	Legacy int64
	// Corrupt lists the damaged positions in order: records that fail their
	// checksum or do not decode, records the indexes disagree with, and the
	// first position of every gap in the log.
	Corrupt []eventstore.Position
}

// Verify checks the whole store: every page header (as Open does), then
// every record of the log up to the head — its checksum, its fields, and
// that the stream and idempotency-key indexes point back at it — in
// position order. It returns the report and, when anything is damaged, a
// *eventstore.CorruptError naming every damaged position (or ErrDamaged
// when the file's structure is damaged). progress, when not nil, is called
// after each chunk of records with the report so far.
func (s *Store) Verify(ctx context.Context, progress func(VerifyReport)) (VerifyReport, error) {
	rep := VerifyReport{}
	if s.closed() {
		return rep, errClosed("verify")
	}
	if err := guard("verify", func() error { return checkPages(s.db, s.path) }); err != nil {
		return rep, unavailable("verify", err)
	}
	return s.verifyRecords(ctx, progress)
}

// verifyRecords is Verify without the check of the pages (which reads
// bbolt's freelist, and so must not run while the writer commits).
func (s *Store) verifyRecords(ctx context.Context, progress func(VerifyReport)) (VerifyReport, error) {
	rep := VerifyReport{}
	head, err := s.Head(ctx)
	if err != nil {
		return rep, err
	}
	rep.Head = head
	var reason string
	for next := eventstore.Position(1); next <= head; {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		// The tail and the indexed position stay as they are while the
		// chunk is read (the writer waits to apply its next commit).
		s.keysMu.Lock()
		s.tailMu.RLock()
		err := s.view(ctx, "verify", func(tx *bbolt.Tx) error {
			next, reason = verifyChunkAt(tx, s.indexes(tx), next, head, &rep, reason)
			return nil
		})
		s.tailMu.RUnlock()
		s.keysMu.Unlock()
		if err != nil {
			return rep, err
		}
		if progress != nil {
			progress(rep)
		}
	}
	if len(rep.Corrupt) > 0 {
		return rep, fmt.Errorf("bolt: verify: %w", &eventstore.CorruptError{Positions: rep.Corrupt, Reason: reason})
	}
	return rep, nil
}

// verifyChunkAt checks up to verifyChunk records from position next and
// returns the position to continue from, and the reason of the first
// damage found so far.
func verifyChunkAt(tx *bbolt.Tx, ix indexes, next, head eventstore.Position, rep *VerifyReport, reason string) (eventstore.Position, string) {
	bad := func(p eventstore.Position, why string) {
		rep.Corrupt = append(rep.Corrupt, p)
		if reason == "" {
			reason = why
		}
	}
	c := tx.Bucket([]byte(bucketLog)).Cursor()
	n := 0
	var ce *eventstore.CorruptError
	for k, v := c.Seek(u64(uint64(next))); n < verifyChunk; k, v = c.Next() {
		if k == nil || len(k) != 8 || eventstore.Position(beUint64(k)) > head {
			if next <= head {
				bad(next, fmt.Sprintf("positions %d to %d missing from the log", next, head))
			}
			return head + 1, reason
		}
		pos := eventstore.Position(beUint64(k))
		if pos != next {
			bad(next, fmt.Sprintf("positions %d to %d missing from the log", next, pos-1))
		}
		next = pos + 1
		n++
		rep.Records++
		if len(v) > 0 && v[0] == formatV1 {
			rep.Legacy++
		}
		r, err := decodeRecord(pos, v)
		switch {
		case errors.As(err, &ce):
			bad(pos, ce.Reason)
		case err != nil:
			bad(pos, err.Error())
		case ix.streamPosition(r.Stream, r.Version) != pos:
			bad(pos, "the stream index does not point at the record")
		case ix.keyPosition(r.Key) != pos:
			bad(pos, "the idempotency index does not point at the record")
		}
	}
	return next, reason
}

// indexes are the file's indexes as a read transaction sees them, with the
// tail, which indexes the records after the file's indexed position.
type indexes struct {
	streams, keys *bbolt.Bucket
	tail          *tail
	indexed       eventstore.Position
}

// indexes returns the indexes tx sees; the caller holds tailMu for reading
// since before tx began.
func (s *Store) indexes(tx *bbolt.Tx) indexes {
	return indexes{streams: tx.Bucket([]byte(bucketStreams)), keys: tx.Bucket([]byte(bucketKeys)), tail: s.tail, indexed: s.indexed}
}

// streamPosition is the position the indexes hold for version v of
// stream, 0 when they hold none.
func (ix indexes) streamPosition(stream string, v eventstore.Version) eventstore.Position {
	if p, ok := ix.tail.streams[stream].at(v); ok {
		return p
	}
	if p := indexedPosition(ix.streams.Cursor(), streamPrefix(stream), v); p <= ix.indexed {
		return p
	}
	return 0
}

// keyPosition is the position the indexes hold for key, 0 when they hold
// none.
func (ix indexes) keyPosition(key string) eventstore.Position {
	if p, ok := ix.tail.keys[key]; ok {
		return p
	}
	return positionOf(ix.keys.Get([]byte(key)), ix.indexed)
}

// positionOf decodes an index entry's position; an entry that is not 8
// bytes, or points past the indexed position, is 0.
func positionOf(b []byte, indexed eventstore.Position) eventstore.Position {
	if len(b) != 8 || eventstore.Position(beUint64(b)) > indexed {
		return 0
	}
	return eventstore.Position(beUint64(b))
}
