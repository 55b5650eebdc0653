package bolt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/vitals-hq/vitals/eventstore"
)

// DamagedError is Open's error for a store file that is damaged. It matches
// ErrDamaged (and so eventstore.ErrCorrupt). Its message is one line that
// names the file and what to do.
type DamagedError struct {
	Path   string
	Reason string
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("%s is damaged (%s): stop Vitals and restore it from a backup made with \"vitals backup\" "+
		"(see docs/operations.md, Backup while running, and restore)", e.Path, e.Reason)
}

// Unwrap makes errors.Is(err, ErrDamaged) true.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// oneLine flattens a message (a panic's, typically) to one short line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// guard runs fn and turns a panic or a memory fault inside it into an error
// matching ErrDamaged: bbolt panics on pages it finds damaged (a page that
// is not what its parent says, a freelist page of the wrong type) and a
// truncated file faults when a page past its end is read. The fault becomes
// a panic only in the goroutine that runs guard, so fn must not hand bbolt
// work to other goroutines.
func guard(op string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bolt: %s: %w (%s)", op, ErrDamaged, oneLine(fmt.Sprint(r)))
		}
	}()
	return fn()
}

// reason is the cause of a guarded failure without the wrapping, for a
// DamagedError.
func reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, eventstore.ErrCorrupt.Error()+" ("); i >= 0 {
		msg = strings.TrimSuffix(msg[i+len(eventstore.ErrCorrupt.Error())+2:], ")")
	}
	return oneLine(msg)
}

// isSystemError reports whether err comes from the operating system
// (permissions, I/O, locks, memory) rather than from the file's contents.
func isSystemError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

// openFile opens the bbolt file at path, checks that it is whole and
// prepares its buckets; it returns the log's head. A damaged file is a
// *DamagedError, whatever bbolt did on meeting it (an error, a panic, a
// memory fault).
func openFile(path string, lockTimeout time.Duration) (*bbolt.DB, eventstore.Position, error) {
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		// bbolt would silently make a new, empty store of it.
		return nil, 0, &DamagedError{Path: path, Reason: "the file is empty; if it was just being created, delete it"}
	}
	var db *bbolt.DB
	err := guard("open", func() error {
		var err error
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout, FreelistType: bbolt.FreelistMapType})
		return err
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, 0, fmt.Errorf("%w: %s (waited %s)", ErrLocked, path, lockTimeout)
	case errors.Is(err, ErrDamaged):
		// bbolt panicked inside Open: its file handle cannot be closed.
		return nil, 0, &DamagedError{Path: path, Reason: reason(err)}
	case err != nil && !isSystemError(err):
		return nil, 0, &DamagedError{Path: path, Reason: oneLine(err.Error())}
	case err != nil:
		return nil, 0, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	var head eventstore.Position
	err = guard("open", func() error {
		if err := checkPages(db, path); err != nil {
			return err
		}
		var err error
		head, err = prepare(db)
		return err
	})
	if err != nil {
		// Close may meet the damage again; it must not crash either.
		_ = guard("close", db.Close)
		var de *DamagedError
		switch {
		case errors.As(err, &de):
			return nil, 0, err
		case errors.Is(err, ErrDamaged):
			return nil, 0, &DamagedError{Path: path, Reason: reason(err)}
		}
		return nil, 0, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return db, head, nil
}

// checkPages checks that the file holds every page its meta page counts
// (a truncated file does not) and that every page in use starts with the
// header of a branch, leaf or freelist page (an overwritten or zeroed page
// does not). It reads one header per page; the records themselves are
// checked by their checksums when read, and all at once by Verify.
func checkPages(db *bbolt.DB, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	return db.View(func(tx *bbolt.Tx) error {
		if need := tx.Size(); fi.Size() < need {
			return &DamagedError{Path: path, Reason: fmt.Sprintf("the file is %d bytes but its pages take %d: it was truncated", fi.Size(), need)}
		}
		for id := 2; ; {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info == nil {
				return nil // past the last page in use
			}
			switch info.Type {
			case "free":
				id++
			case "branch", "leaf", "freelist":
				id += 1 + info.OverflowCount
			default:
				return &DamagedError{Path: path, Reason: fmt.Sprintf("page %d is %s where a branch, leaf or freelist page belongs", id, info.Type)}
			}
		}
	})
}

// prepare creates the buckets of a new file, checks (and upgrades) the
// file format and returns the log's head.
func prepare(db *bbolt.DB) (eventstore.Position, error) {
	var head eventstore.Position
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{bucketLog, bucketStreams, bucketKeys, bucketHeads, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		meta := tx.Bucket([]byte(bucketMeta))
		switch f := meta.Get([]byte(metaFormat)); {
		case len(f) == 1 && f[0] == fileFormat:
		case f == nil || (len(f) == 1 && f[0] == fileFormatV1):
			// A new file, or one from before record checksums: from now on
			// it holds format 2 records, which earlier versions cannot read.
			if err := meta.Put([]byte(metaFormat), []byte{fileFormat}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unsupported file format %v (this version reads formats %d and %d)", f, fileFormatV1, fileFormatV2)
		}
		if k, _ := tx.Bucket([]byte(bucketLog)).Cursor().Last(); k != nil {
			head = eventstore.Position(beUint64(k))
		}
		return nil
	})
	return head, err
}
