package backtest

import (
	"context"
	"fmt"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
)

// loadPage is how many records Load reads at a time.
const loadPage = 2000

// Load replays the log of s, up to its head when Load starts, into a fresh
// state, keeping the events with time ≤ now (the end of observation): the
// whole history, unpruned. progress, when set, is called after each page
// with the position reached and the head. It returns the state and the
// head it read up to.
func Load(ctx context.Context, s eventstore.Store, now time.Time, progress func(pos, head eventstore.Position)) (*projections.State, eventstore.Position, error) {
	head, err := s.Head(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("backtest: read the store's head: %w", err)
	}
	st := projections.NewState()
	var after eventstore.Position
	for after < head {
		recs, err := s.ReadAll(ctx, after, loadPage)
		if err != nil {
			return nil, 0, fmt.Errorf("backtest: read the log after position %d: %w", after, err)
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if rec.Position > head {
				break
			}
			after = rec.Position
			// An event that does not decode is skipped, as the projector
			// skips it: the scores never counted it.
			if ev, err := domain.Decode(rec.Data); err == nil && !ev.Time.After(now) {
				st.Apply(ev)
			}
		}
		if progress != nil {
			progress(min(after, head), head)
		}
	}
	return st, head, nil
}

// ParseInstant reads the value v of the option name as an RFC 3339
// instant or a date (2026-01-31, 00:00 UTC), within the instants events
// may have; the error names the option.
func ParseInstant(name, v string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		v = d.Format(time.RFC3339)
	}
	t, err := domain.ParseInstant(v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}
