package eventstore

import (
	"context"
	"io"
)

// Capabilities beyond the Store contract are optional interfaces: a store
// implements the ones it can do, and callers ask with a type assertion
// (or the helpers below), so an adapter that cannot do something says so
// by not implementing it, never by a flag that could disagree with its
// methods. The set:
//
//   - Guaranteer: what AppendMany, positions and keys promise (store.go).
//     A store that does not keep keys forever (Guarantees.DurableKeys
//     false) makes the projector dedupe by key.
//   - Sizer: the store's size on disk, for vitals_store_size_bytes.
//   - Backuper: a consistent copy while it runs, for GET /v1/admin/backup
//     and vitals backup.

// Sizer is implemented by stores that know their size on disk.
type Sizer interface {
	// SizeBytes is the size of the store's files.
	SizeBytes() (int64, error)
}

// Backuper is implemented by stores that can write a consistent copy of
// themselves while they serve.
type Backuper interface {
	// Backup writes the copy to w and returns its length; size, when not
	// nil, is told the length before the first byte is written.
	Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
}

// SizeOf returns s's SizeBytes method, or nil when s does not know its
// size.
func SizeOf(s Store) func() (int64, error) {
	if z, ok := s.(Sizer); ok {
		return z.SizeBytes
	}
	return nil
}

// BackupOf returns s's Backup method, or nil when s cannot back itself up.
func BackupOf(s Store) func(ctx context.Context, w io.Writer, size func(int64)) (int64, error) {
	if b, ok := s.(Backuper); ok {
		return b.Backup
	}
	return nil
}
