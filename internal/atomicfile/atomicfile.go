// Package atomicfile writes files so that a crash at any moment leaves
// either the old file or the complete new one, never a part: the bytes go
// to a temp file in the same directory, which is synced, renamed (or
// linked) into place, and then the directory itself is synced so that the
// rename survives a power loss too.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Options tune a write. The zero value writes mode 0600 with temp files
// named ".tmp-<digits>".
type Options struct {
	// Perm is the file's mode; 0 means 0600.
	Perm os.FileMode
	// TempPrefix starts the temp file's name; os.CreateTemp puts digits
	// after it. A caller that cleans up temp files left by a crash names
	// them with its own prefix.
	TempPrefix string
	// MkdirAll creates the file's directory (mode 0750) when missing.
	MkdirAll bool
}

func (o Options) perm() os.FileMode {
	if o.Perm == 0 {
		return 0o600
	}
	return o.Perm
}

func (o Options) prefix() string {
	if o.TempPrefix == "" {
		return ".tmp-"
	}
	return o.TempPrefix
}

// Write replaces path with what fill writes, atomically. fill's error
// leaves path as it was and removes the temp file; so does any failure
// before the rename.
func Write(path string, opts Options, fill func(w io.Writer) error) error {
	return write(path, opts, fill, os.Rename, SyncDir)
}

// WriteFile replaces path with data, atomically (see Write).
func WriteFile(path string, data []byte, opts Options) error {
	return Write(path, opts, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// CreateNew writes data to path only when path does not exist yet, and
// atomically: another process racing to create it either wins (and this
// call fails with an error matching os.ErrExist) or loses, and a crash
// never leaves a partial file at path.
func CreateNew(path string, data []byte, opts Options) error {
	return write(path, opts, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, os.Link, SyncDir)
}

// write does Write and CreateNew; install puts the synced temp file at
// path (os.Rename replaces, os.Link refuses an existing path), and
// syncDir makes that durable.
func write(path string, opts Options, fill func(io.Writer) error, install func(tmp, path string) error, syncDir func(dir string) error) error {
	dir := filepath.Dir(path)
	if opts.MkdirAll {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("atomicfile: %w", err)
		}
	}
	f, err := os.CreateTemp(dir, opts.prefix()+"*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after a rename; after a link, drops the extra name
	if err := fillAndSync(f, opts.perm(), fill); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("atomicfile: close %s: %w", tmp, err)
	}
	if err := install(tmp, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) {
			err = le.Err // keep os.ErrExist reachable, name path once below
		}
		return fmt.Errorf("atomicfile: install %s: %w", path, err)
	}
	return syncDir(dir)
}

// fillAndSync writes fill's bytes to f, sets its mode and syncs it.
func fillAndSync(f *os.File, perm os.FileMode, fill func(io.Writer) error) error {
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync %s: %w", f.Name(), err)
	}
	return nil
}

// SyncDir fsyncs a directory, making the creations, renames and removals
// of names in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: sync directory %s: %w", dir, err)
	}
	return nil
}
