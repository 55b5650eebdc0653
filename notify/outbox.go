package notify

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// OutboxFile is the outbox's file name in the data directory.
const OutboxFile = "notify.db"

// Buckets of the outbox file: events by Seq (8 bytes, big endian) → the
// Notification as JSON; ids by CloudEvent id → Seq (the dedupe index);
// checkpoints by target name → Seq.
var (
	bucketEvents      = []byte("events")
	bucketIDs         = []byte("ids")
	bucketCheckpoints = []byte("checkpoints")
)

// ErrClosed is returned by a closed outbox.
var ErrClosed = errors.New("notify: outbox closed")

// BoltOutbox is the durable [Outbox] on bbolt: every Append and
// SetCheckpoint is one fsynced transaction, so what they return survives
// kill -9 and power loss.
type BoltOutbox struct {
	db *bbolt.DB

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at each Append that stored something
	closed  bool
}

var _ Outbox = (*BoltOutbox)(nil)

// OpenOutbox opens (creating it when missing) the outbox file in dataDir.
func OpenOutbox(dataDir string) (*BoltOutbox, error) {
	path := filepath.Join(dataDir, OutboxFile)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("notify: open outbox %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketEvents, bucketIDs, bucketCheckpoints} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("notify: initialise outbox %s: %w", path, err)
	}
	return &BoltOutbox{db: db, changed: make(chan struct{})}, nil
}

// Close closes the file; later calls fail with ErrClosed.
func (o *BoltOutbox) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	return o.db.Close()
}

func seqKey(seq uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return k[:]
}

func (o *BoltOutbox) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return ErrClosed
	}
	return nil
}

// Append stores ns in one fsynced transaction, skipping those whose ID is
// stored already (or repeated within ns), and returns what it stored with
// Seq set.
func (o *BoltOutbox) Append(ctx context.Context, ns []Notification) ([]Notification, error) {
	if err := o.check(ctx); err != nil {
		return nil, err
	}
	for i, n := range ns {
		if n.ID == "" || n.Type == "" || len(n.Event) == 0 {
			return nil, fmt.Errorf("notify: append: notification %d: id, type and event are required", i)
		}
	}
	var stored []Notification
	err := o.db.Update(func(tx *bbolt.Tx) error {
		stored = stored[:0]
		events, ids := tx.Bucket(bucketEvents), tx.Bucket(bucketIDs)
		for _, n := range ns {
			if ids.Get([]byte(n.ID)) != nil {
				continue
			}
			seq, err := events.NextSequence()
			if err != nil {
				return err
			}
			n.Seq = seq
			v, err := json.Marshal(n)
			if err != nil {
				return err
			}
			if err := events.Put(seqKey(seq), v); err != nil {
				return err
			}
			if err := ids.Put([]byte(n.ID), seqKey(seq)); err != nil {
				return err
			}
			stored = append(stored, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: append: %w", err)
	}
	if len(stored) > 0 {
		o.mu.Lock()
		close(o.changed)
		o.changed = make(chan struct{})
		o.mu.Unlock()
	}
	return stored, nil
}

// Read returns up to limit notifications with Seq > after, oldest first.
func (o *BoltOutbox) Read(ctx context.Context, after uint64, limit int) ([]Notification, error) {
	if err := o.check(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("notify: read: limit must be positive, got %d", limit)
	}
	var out []Notification
	err := o.db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(seqKey(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var n Notification
			if err := json.Unmarshal(v, &n); err != nil {
				return fmt.Errorf("notification %d: %w", binary.BigEndian.Uint64(k), err)
			}
			out = append(out, n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read: %w", err)
	}
	return out, nil
}

// Head is the Seq of the last stored notification (0 when empty).
func (o *BoltOutbox) Head(ctx context.Context) (uint64, error) {
	if err := o.check(ctx); err != nil {
		return 0, err
	}
	var head uint64
	err := o.db.View(func(tx *bbolt.Tx) error {
		if k, _ := tx.Bucket(bucketEvents).Cursor().Last(); k != nil {
			head = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return head, err
}

// Checkpoint is the last Seq target has finished with (0 for none).
func (o *BoltOutbox) Checkpoint(ctx context.Context, target string) (uint64, error) {
	if err := o.check(ctx); err != nil {
		return 0, err
	}
	var seq uint64
	err := o.db.View(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(bucketCheckpoints).Get([]byte(target)); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq, err
}

// SetCheckpoint durably records that target has finished with seq.
func (o *BoltOutbox) SetCheckpoint(ctx context.Context, target string, seq uint64) error {
	if err := o.check(ctx); err != nil {
		return err
	}
	if target == "" {
		return errors.New("notify: set checkpoint: target is required")
	}
	err := o.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCheckpoints).Put([]byte(target), seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("notify: set checkpoint %q: %w", target, err)
	}
	return nil
}

// Changed returns a channel closed at the next Append that stores
// something.
func (o *BoltOutbox) Changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}
