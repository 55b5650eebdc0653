package bolt

import (
	"fmt"
	"os"

	"github.com/vitals-hq/vitals/eventstore"
)

// The optional capabilities of eventstore the embedded store has.
var (
	_ eventstore.Guaranteer = (*Store)(nil)
	_ eventstore.Sizer      = (*Store)(nil)
	_ eventstore.Backuper   = (*Store)(nil)
)

// SizeBytes implements eventstore.Sizer: the size of the store's file.
func (s *Store) SizeBytes() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, fmt.Errorf("bolt: size: %w: %w", eventstore.ErrUnavailable, err)
	}
	return fi.Size(), nil
}
