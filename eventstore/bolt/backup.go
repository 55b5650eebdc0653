package bolt

import (
	"context"
	"fmt"
	"io"

	"go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database file to w while the
// store keeps serving: it is one read transaction, so appends continue and
// are simply not part of the copy. size, when not nil, is called with the
// copy's exact length before any byte is written. The copy is a complete
// events.db: restore it by putting it into an empty data directory.
//
// Errors: ErrClosed, ErrUnavailable (reading the file), the writer's error,
// or the context's error (checked before starting).
func (s *Store) Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error) {
	var n int64
	err := s.view(ctx, "backup", func(tx *bbolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(w)
		if err != nil {
			return fmt.Errorf("bolt: backup after %d bytes: %w", n, err)
		}
		return nil
	})
	return n, err
}
