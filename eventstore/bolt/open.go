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
func openFile(path string, lockTimeout time.Duration) (*bbolt.DB, opened, error) {
	var none opened
	if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
		// bbolt would silently make a new, empty store of it.
		return nil, none, &DamagedError{Path: path, Reason: "the file is empty; if it was just being created, delete it"}
	}
	if err := checkSize(path, lockTimeout); err != nil {
		return nil, none, err
	}
	// When bbolt panics inside Open (on a damaged freelist page) it returns
	// no DB to close: keep its file to close it all the same. Its memory
	// map, and with it the file lock, stays until the process exits.
	var file *os.File
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	var db *bbolt.DB
	err := guard("open", func() error {
		var err error
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout, FreelistType: bbolt.FreelistMapType, OpenFile: openFile})
		return err
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, none, fmt.Errorf("%w: %s (waited %s)", ErrLocked, path, lockTimeout)
	case errors.Is(err, ErrDamaged):
		if file != nil {
			_ = file.Close()
		}
		return nil, none, &DamagedError{Path: path, Reason: reason(err)}
	case err != nil && !isSystemError(err):
		return nil, none, &DamagedError{Path: path, Reason: oneLine(err.Error())}
	case err != nil:
		return nil, none, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := guard("open", func() error { return checkPages(db, path) }); err != nil {
		_ = guard("close", db.Close) // read transactions leave no lock behind
		return nil, none, damagedAt(path, err)
	}
	var st opened
	err = guard("open", func() error {
		var err error
		st, err = prepare(db, path)
		return err
	})
	switch {
	case errors.Is(err, ErrDamaged):
		// bbolt may still hold its writer lock, which Close would wait for.
		_ = file.Close()
		return nil, none, damagedAt(path, err)
	case err != nil:
		_ = db.Close()
		return nil, none, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	return db, st, nil
}

// damagedAt makes err, which matches ErrDamaged, a *DamagedError for path
// (unless it is one already).
func damagedAt(path string, err error) error {
	var de *DamagedError
	if errors.As(err, &de) {
		return de
	}
	return &DamagedError{Path: path, Reason: reason(err)}
}

// checkSize opens an existing file read-only, which reads nothing but its
// two meta pages, to check that the file holds every page the meta page
// counts: a truncated file does not, and opening it for writing would read
// its freelist past the end of the file.
func checkSize(path string, lockTimeout time.Duration) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	var db *bbolt.DB
	err = guard("open", func() error {
		var err error
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
		return err
	})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w: %s (waited %s)", ErrLocked, path, lockTimeout)
	case errors.Is(err, ErrDamaged):
		return &DamagedError{Path: path, Reason: reason(err)}
	case err != nil && !isSystemError(err):
		return &DamagedError{Path: path, Reason: oneLine(err.Error())}
	case err != nil:
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error { return sizeOK(tx, path, fi.Size()) })
}

// sizeOK checks that a file of size bytes holds every page tx counts.
func sizeOK(tx *bbolt.Tx, path string, size int64) error {
	if need := tx.Size(); size < need {
		return &DamagedError{Path: path, Reason: fmt.Sprintf("the file is %d bytes but its pages take %d: it was truncated", size, need)}
	}
	return nil
}

// checkPages checks that the file holds every page its meta page counts
// and that every page in use starts with the header of a branch, leaf or
// freelist page (an overwritten or zeroed page does not). It reads one
// header per page; the records themselves are checked by their checksums
// when read, and all at once by Verify.
func checkPages(db *bbolt.DB, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	return db.View(func(tx *bbolt.Tx) error {
		if err := sizeOK(tx, path, fi.Size()); err != nil {
			return err
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

// opened is what Open learns from the file: the log's head, the position
// the file's indexes hold every record up to, and the tail indexing the
// records after it.
type opened struct {
	head, indexed eventstore.Position
	tail          *tail
}

// prepare creates the buckets of a new file, checks (and upgrades) the
// file format, and reads the log's head and the records not yet in the
// file's indexes.
func prepare(db *bbolt.DB, path string) (opened, error) {
	var st opened
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range []string{bucketLog, bucketStreams, bucketKeys, bucketHeads, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		if k, _ := tx.Bucket([]byte(bucketLog)).Cursor().Last(); k != nil {
			st.head = eventstore.Position(beUint64(k))
		}
		meta := tx.Bucket([]byte(bucketMeta))
		switch f := meta.Get([]byte(metaFormat)); {
		case len(f) == 1 && f[0] == fileFormat:
			ix := meta.Get([]byte(metaIndexed))
			if len(ix) != 8 || eventstore.Position(beUint64(ix)) > st.head {
				return &DamagedError{Path: path, Reason: fmt.Sprintf("its indexed position %x is not a position of the log (head %d)", ix, st.head)}
			}
			st.indexed = eventstore.Position(beUint64(ix))
		case f == nil || (len(f) == 1 && f[0] >= fileFormatV1 && f[0] < fileFormat):
			// A new file, or one from an earlier version, whose indexes
			// hold every record: from now on it holds what earlier
			// versions cannot read (format 2 records, compact event data,
			// records not yet in the indexes).
			st.indexed = st.head
			if err := meta.Put([]byte(metaFormat), []byte{fileFormat}); err != nil {
				return err
			}
			if err := meta.Put([]byte(metaIndexed), u64(uint64(st.indexed))); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unsupported file format %v (this version reads formats %d to %d)", f, fileFormatV1, fileFormat)
		}
		var err error
		st.tail, err = loadTail(tx, path, st.indexed, st.head)
		return err
	})
	return st, err
}
