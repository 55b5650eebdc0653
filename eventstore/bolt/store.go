package bolt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vitals-hq/vitals/eventstore"
)

// FileName is the name of the store's file in the data directory.
const FileName = "events.db"

// Limits on the sizes of identifiers; longer ones are eventstore.ErrInvalid.
const (
	// MaxStreamLen is the longest stream id, in bytes.
	MaxStreamLen = eventstore.MaxStreamLen
	// MaxKeyLen is the longest idempotency key, in bytes.
	MaxKeyLen = eventstore.MaxKeyLen
)

// ErrLocked is returned by Open when another process (or another Store in
// this process) has the data directory open.
var ErrLocked = errors.New("bolt: data directory is locked by another process")

// ErrDamaged is returned by Open when the store file is damaged (truncated,
// a page overwritten, not a store file at all), and by reads that meet
// damage Open could not see. It matches eventstore.ErrCorrupt.
var ErrDamaged = fmt.Errorf("bolt: store file damaged: %w", eventstore.ErrCorrupt)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file lock before it fails with ErrLocked (default 2s). A
	// deadline of Open's context shortens it.
	LockTimeout time.Duration
	// MaxBatchEvents caps the events the writer commits in one
	// transaction (default 20000). A single request larger than this is
	// committed alone.
	MaxBatchEvents int
	// QueueLen is how many appends may wait for the writer before
	// Append blocks (default 1024).
	QueueLen int
	// IndexEvery is how many records the store indexes in memory only
	// (the tail, rebuilt at Open from the log) before it writes their
	// index entries into the file in one sorted pass (default
	// DefaultIndexEvery). Larger values write fewer index pages per
	// event and take more memory and a longer Open after a crash.
	IndexEvery int
	// OnCommit, when set, is called by the writer after each successful
	// commit with the number of events and the time the commit took to
	// write and fsync the file (for metrics; it must be quick).
	OnCommit func(events int, sync time.Duration)
}

// Store is the embedded eventstore.Store. Create it with Open; it is safe
// for concurrent use.
type Store struct {
	db       *bbolt.DB
	path     string
	maxBatch int

	// sendMu guards closing and sends on ops: Close takes it for writing,
	// so no append is queued after the writer has drained the queue.
	sendMu  sync.RWMutex
	closing bool
	ops     chan *op

	writerDone chan struct{} // closed when the writer has finished
	done       chan struct{} // closed by Close once the writer is done

	// tailMu guards tail and indexed: the writer changes them (under the
	// write lock) after each commit, readers of the indexes hold the read
	// lock. The writer takes mu inside it, so readers of tail see the
	// head that goes with it.
	keysMu     sync.Mutex // guards tail.keys, which the writer fills as it applies; taken before tailMu
	tailMu     sync.RWMutex
	tail       *tail               // index of the records after indexed
	indexed    eventstore.Position // the file's indexes hold every record up to here
	indexEvery int

	// mu guards head and notify, which the writer updates after each
	// commit.
	mu     sync.Mutex
	head   eventstore.Position
	notify chan struct{} // closed and replaced after every commit

	closeOnce sync.Once

	commits atomic.Uint64
	events  atomic.Uint64

	// damaged holds the error of a write transaction that met a damaged
	// page. bbolt may then still hold its writer lock (its rollback can
	// meet the damage again), so the store writes nothing more and Close
	// leaves the file to the process's exit.
	damaged atomic.Pointer[error]

	// beforeCommit, when set (by tests, before the first append), runs at
	// the end of every write transaction; an error aborts the transaction.
	beforeCommit func() error
	onCommit     func(events int, sync time.Duration)
}

var _ eventstore.Store = (*Store)(nil)

// Open opens (creating if needed) the store in dir. ctx bounds the wait for
// the file lock.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("bolt: create data directory: %w", err)
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 2 * time.Second
	}
	if d, ok := ctx.Deadline(); ok {
		// bbolt treats a zero timeout as "wait for ever".
		opts.LockTimeout = max(min(opts.LockTimeout, time.Until(d)), time.Millisecond)
	}
	if opts.MaxBatchEvents <= 0 {
		opts.MaxBatchEvents = 20000
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = 1024
	}
	if opts.IndexEvery <= 0 {
		opts.IndexEvery = DefaultIndexEvery
	}

	path := filepath.Join(dir, FileName)
	db, st, err := openFile(path, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	head := st.head

	s := &Store{
		db:         db,
		path:       path,
		maxBatch:   opts.MaxBatchEvents,
		onCommit:   opts.OnCommit,
		ops:        make(chan *op, opts.QueueLen),
		writerDone: make(chan struct{}),
		done:       make(chan struct{}),
		head:       head,
		notify:     make(chan struct{}),
		tail:       st.tail,
		indexed:    st.indexed,
		indexEvery: opts.IndexEvery,
	}
	go s.write(head)
	return s, nil
}

// Close stops accepting appends, lets the writer commit what is queued,
// ends the subscriptions with eventstore.ErrClosed and closes the file.
// Calling Close again does nothing and returns nil.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.sendMu.Lock()
		s.closing = true
		close(s.ops)
		s.sendMu.Unlock()
		<-s.writerDone
		close(s.done)
		if d := s.damaged.Load(); d != nil {
			err = fmt.Errorf("bolt: close: the file stays open until the process exits: %w", *d)
			return
		}
		err = s.db.Close()
		if err != nil {
			err = fmt.Errorf("bolt: close: %w", err)
		}
	})
	return err
}

// Stats describe a Store.
type Stats struct {
	// Head is the position of the last committed record.
	Head eventstore.Position
	// Commits counts the write transactions committed since Open: with
	// group commit, fewer than the appends.
	Commits uint64
	// Events counts the events written since Open.
	Events uint64
	// SizeBytes is the size of the store's file.
	SizeBytes int64
}

// Stats returns the store's counters and the size of its file.
func (s *Store) Stats() (Stats, error) {
	st := Stats{Commits: s.commits.Load(), Events: s.events.Load()}
	s.mu.Lock()
	st.Head = s.head
	s.mu.Unlock()
	fi, err := os.Stat(s.path)
	if err != nil {
		return st, fmt.Errorf("bolt: stats: %w: %w", eventstore.ErrUnavailable, err)
	}
	st.SizeBytes = fi.Size()
	return st, nil
}

// Path returns the path of the store's file.
func (s *Store) Path() string { return s.path }

// closed reports whether Close has finished the writer.
func (s *Store) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// errClosed is eventstore.ErrClosed with the operation's name.
func errClosed(op string) error {
	return fmt.Errorf("bolt: %s: %w", op, eventstore.ErrClosed)
}

// unavailable translates a bbolt or OS error into eventstore.ErrUnavailable
// (or ErrClosed when the database is closed), keeping the cause. Damage
// (ErrDamaged) is returned as it is: retrying does not help.
func unavailable(op string, err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return errClosed(op)
	}
	if errors.Is(err, ErrDamaged) {
		return err
	}
	return fmt.Errorf("bolt: %s: %w: %w", op, eventstore.ErrUnavailable, err)
}

// view runs fn in a read transaction. fn's own errors are returned as they
// are; failures to start the transaction are translated.
func (s *Store) view(ctx context.Context, op string, fn func(tx *bbolt.Tx) error) error {
	if s.closed() {
		return errClosed(op)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	if err := guard(op, func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			fnErr = fn(tx)
			return nil
		})
	}); err != nil {
		return unavailable(op, err)
	}
	return fnErr
}

// Head implements eventstore.Store.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if s.closed() {
		return 0, errClosed("head")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.head, nil
}

// StreamVersion implements eventstore.Store.
func (s *Store) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	if run := s.tailRun(stream); run.pos != nil {
		if s.closed() {
			return 0, errClosed("stream version")
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return run.last(), nil
	}
	var v eventstore.Version
	err := s.view(ctx, "stream version", func(tx *bbolt.Tx) error {
		h := tx.Bucket([]byte(bucketHeads)).Get([]byte(stream))
		if h == nil {
			return fmt.Errorf("bolt: stream %q: %w", stream, eventstore.ErrStreamNotFound)
		}
		v = eventstore.Version(beUint64(h))
		return nil
	})
	return v, err
}

// tailRun returns a copy of stream's run in the tail (no positions when
// the tail holds none of its records). It must be taken before the read
// transaction that reads the file's indexes begins: the indexes then hold
// at least every version before the run.
func (s *Store) tailRun(stream string) streamRun {
	s.tailMu.RLock()
	defer s.tailMu.RUnlock()
	if r := s.tail.streams[stream]; r != nil {
		return *r
	}
	return streamRun{}
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Version, limit int) ([]eventstore.Record, error) {
	if limit <= 0 || from < 0 {
		return nil, fmt.Errorf("bolt: read stream %q from %d limit %d: %w", stream, from, limit, eventstore.ErrInvalid)
	}
	run := s.tailRun(stream)
	var recs []eventstore.Record
	err := s.view(ctx, "read stream", func(tx *bbolt.Tx) error {
		last := run.last()
		if run.pos == nil {
			h := tx.Bucket([]byte(bucketHeads)).Get([]byte(stream))
			if h == nil {
				return fmt.Errorf("bolt: stream %q: %w", stream, eventstore.ErrStreamNotFound)
			}
			last = eventstore.Version(beUint64(h))
		}
		if from > last {
			return nil
		}
		recs = make([]eventstore.Record, 0, min(int64(limit), int64(last-from+1)))
		log := tx.Bucket([]byte(bucketLog))
		read := func(p []byte) error {
			r, err := decodeRecord(eventstore.Position(beUint64(p)), log.Get(p))
			if err != nil {
				return fmt.Errorf("bolt: read stream %q: %w", stream, err)
			}
			recs = append(recs, r)
			return nil
		}
		// The versions before the tail's run from the file's index (which
		// may hold the run's too, merged since: they are not read twice).
		if run.pos == nil || from < run.first {
			c := tx.Bucket([]byte(bucketStreams)).Cursor()
			prefix := streamPrefix(stream)
			var ps []eventstore.Position
		segments:
			for k, val := seekSegment(c, prefix, from); len(recs) < limit; k, val = c.Next() {
				first, ok := segmentVersion(k, prefix)
				if !ok {
					break
				}
				var good bool
				if ps, good = segmentPositions(ps[:0], val); !good {
					return fmt.Errorf("bolt: read stream %q: the stream index at version %d: %w", stream, first, ErrDamaged)
				}
				for i, p := range ps {
					v := first + eventstore.Version(i)
					if v < from {
						continue
					}
					if (run.pos != nil && v >= run.first) || len(recs) == limit {
						break segments
					}
					if err := read(u64(uint64(p))); err != nil {
						return err
					}
				}
			}
		}
		for v := max(from, run.first); run.pos != nil && v <= last && len(recs) < limit; v++ {
			p, _ := run.at(v)
			if err := read(u64(uint64(p))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// ReadAll implements eventstore.Store.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	recs, err := s.readLog(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// readLog reads up to limit records after a position. When it meets a
// damaged record it returns the records before it with the error, so that
// a subscription can deliver them before it stops.
func (s *Store) readLog(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("bolt: read all limit %d: %w", limit, eventstore.ErrInvalid)
	}
	var recs []eventstore.Record
	if after == math.MaxUint64 {
		after-- // nothing can follow; avoid wrapping around to position 0
	}
	s.mu.Lock()
	head := s.head
	s.mu.Unlock()
	if head > after {
		recs = make([]eventstore.Record, 0, min(uint64(limit), uint64(head-after)))
	}
	err := s.view(ctx, "read all", func(tx *bbolt.Tx) error {
		c := tx.Bucket([]byte(bucketLog)).Cursor()
		for k, v := c.Seek(u64(uint64(after) + 1)); k != nil && len(recs) < limit; k, v = c.Next() {
			r, err := decodeRecord(eventstore.Position(beUint64(k)), v)
			if err != nil {
				return fmt.Errorf("bolt: read all: %w", err)
			}
			recs = append(recs, r)
		}
		return nil
	})
	return recs, err
}
