package esdb

import (
	"context"
	"iter"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/vitals-hq/vitals/eventstore"
)

// catchUpPage is how many records a subscription reads per ReadAll while
// it catches up.
const catchUpPage = 512

// Subscribe implements eventstore.Store.
//
// A subscription first catches up by paging through $all with ReadAll,
// then follows new records with a catch-up subscription to $all filtered
// to the stream prefix, started at the last record it delivered. When the
// server drops the subscription (a restart, a leader change, a network
// cut) it starts again from the last delivered record – catch-up, then
// live – after an exponential backoff between Options.RetryMin and
// Options.RetryMax that resets once a record gets through. It retries
// until ctx is done or the store closes; only errors that retrying cannot
// cure (access denied, unauthenticated, unsupported) end it with
// eventstore.ErrUnavailable. Records whose position is not after the
// last delivered one are dropped, so a restart never repeats a record.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position) iter.Seq2[eventstore.Record, error] {
	return func(yield func(eventstore.Record, error) bool) {
		backoff := s.retry[0]
		for {
			if err := ctx.Err(); err != nil {
				yield(eventstore.Record{}, err)
				return
			}
			if s.isClosed() {
				yield(eventstore.Record{}, errClosed("subscribe"))
				return
			}
			delivered, stopped, err := s.follow(ctx, &after, yield)
			switch {
			case stopped:
				return
			case ctx.Err() != nil, s.isClosed():
				continue // reported at the top of the loop
			case permanent(err):
				yield(eventstore.Record{}, translate("subscribe", err))
				return
			}
			if delivered {
				backoff = s.retry[0]
			}
			s.log.Warn().Err(err).Uint64("after", uint64(after)).Dur("retry_in", backoff).
				Msg("subscription to $all dropped; resubscribing")
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-s.done.Done():
			case <-t.C:
			}
			t.Stop()
			backoff = min(2*backoff, s.retry[1])
		}
	}
}

// follow delivers the records after *after until something fails, moving
// *after along. It reports whether it delivered anything, whether the
// consumer stopped, and the failure.
func (s *Store) follow(ctx context.Context, after *eventstore.Position, yield func(eventstore.Record, error) bool) (delivered, stopped bool, err error) {
	deliver := func(r eventstore.Record) bool {
		if r.Position <= *after {
			return true // already delivered (a start position is inclusive or exclusive, depending on the call)
		}
		if !yield(r, nil) {
			return false
		}
		*after = r.Position
		delivered = true
		return true
	}

	// Catch up.
	for {
		recs, err := s.ReadAll(ctx, *after, catchUpPage)
		if err != nil {
			return delivered, false, err
		}
		for _, r := range recs {
			if ctx.Err() != nil || s.isClosed() {
				return delivered, false, ctx.Err()
			}
			if !deliver(r) {
				return delivered, true, nil
			}
		}
		if len(recs) < catchUpPage {
			break
		}
	}

	// Follow. The subscription's start position is excluded by the
	// server; it is the record delivered last (or, when nothing was, one
	// that is not a Vitals record), so nothing is skipped.
	sub, err := s.subscribe(ctx, *after)
	if err != nil {
		return delivered, false, err
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return delivered, false, ev.SubscriptionDropped.Error
		case ev.EventAppeared != nil:
			r, ok, err := toRecord(s.prefix, ev.EventAppeared.OriginalEvent())
			if err != nil {
				return delivered, false, err
			}
			if ok {
				s.head.note(r.Position)
			}
			if ok && !deliver(r) {
				return delivered, true, nil
			}
		}
		// Checkpoints, caught-up and fell-behind notices carry nothing
		// to deliver.
	}
}

// subscribe starts a subscription to $all after p, filtered to the
// stream prefix, that ends when ctx is done or the store closes.
//
// Only the SubscribeToAll call is registered with Close and bounded by
// Options.CallTimeout: receiving from the subscription never touches the
// client's connection loop, and Close ends it by cancelling its context.
func (s *Store) subscribe(ctx context.Context, p eventstore.Position) (*subscription, error) {
	c, err := s.begin("subscribe")
	if err != nil {
		return nil, err
	}
	defer s.end(c)
	sctx, cancel := s.closable(ctx)
	var sub *esdb.Subscription
	err = s.call(sctx, c, true, func(ctx context.Context, cl *esdb.Client) error {
		var err error
		sub, err = cl.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{
			From:   startOf(p),
			Filter: &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}},
		})
		return err
	})
	if err != nil {
		cancel()
		if hasCode(err, esdb.ErrorCodeConnectionClosed) && !s.isClosed() {
			s.renew(c)
		}
		return nil, err
	}
	return &subscription{Subscription: sub, cancel: cancel}, nil
}

// subscription is a client subscription with the context made for it.
type subscription struct {
	*esdb.Subscription
	cancel context.CancelFunc
}

// Close ends the subscription and releases its context.
func (s *subscription) Close() {
	s.Subscription.Close()
	s.cancel()
}
