package bolt

import (
	"context"
	"iter"

	"github.com/vitals-hq/vitals/eventstore"
)

// subscribePage is how many records a subscription reads per read
// transaction.
const subscribePage = 512

// Subscribe implements eventstore.Store.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		for {
			if s.closed() {
				yield(eventstore.Record{}, errClosed("subscribe"))
				return
			}
			if err := ctx.Err(); err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			// Head and notification channel together: a commit after this
			// point closes wake, so the wait below cannot miss it.
			s.mu.Lock()
			head, wake := s.head, s.notify
			s.mu.Unlock()

			if after < head {
				recs, err := s.readLog(ctx, after, subscribePage)
				for _, r := range recs {
					if !yield(r, nil) {
						return
					}
					after = r.Position
				}
				if err != nil {
					// A damaged record: everything before it was yielded.
					yield(eventstore.Record{}, err)
					return
				}
				if len(recs) > 0 {
					continue
				}
			}
			select {
			case <-wake:
			case <-ctx.Done():
			case <-s.done:
			}
		}
	}
}
