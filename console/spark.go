package console

import (
	"context"
	"errors"
	"html/template"
	"runtime"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
)

// sparkCache keeps the sparklines the projector's past scores cannot
// answer (see sparkGrid), so that paging back and forth through a list as
// of a long-past instant does not replay 50 accounts' streams each time.
//
// An entry is an account's History at the grid days from from to last,
// keyed by the account's stream version: any event appended to the
// account (also one dated in the past) changes the version and so misses.
// An entry is stored only when the History reflected every record of the
// stream up to that version (its position ≤ the History's position), so a
// projector catching up never leaves a stale entry.
type sparkCache struct {
	mu      sync.Mutex
	entries map[sparkKey][]projections.HistoryPoint
}

type sparkKey struct {
	id         string
	version    eventstore.Version
	from, last time.Time
}

// maxSparkEntries bounds the cache; past it the cache starts over.
const maxSparkEntries = 20000

// pageSparks draws the sparklines of a page of the list, one per account, on
// up to GOMAXPROCS goroutines: an account missing from the cache replays
// its stream, and those replays are independent.
func (c *Console) pageSparks(ctx context.Context, avs []projections.AccountView, at instant) ([]template.HTML, error) {
	out := make([]template.HTML, len(avs))
	errs := make([]error, len(avs))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, av := range avs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = c.spark(ctx, av, at)
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// spark is an account's 90-day sparkline ending at the page's instant:
// the account's scores at the grid days of projections.PastScores since
// then, and its score at the instant itself (from its view, the same
// answer as the list's score column).
func (c *Console) spark(ctx context.Context, av projections.AccountView, at instant) (template.HTML, error) {
	to := at.Shown()
	from := projections.PastGrid(to.Add(-sparkSpan))
	points, ok, err := c.cfg.Projector.PastScores(ctx, av.ID, from, to)
	if err != nil {
		return "", err
	}
	if !ok {
		last := projections.PastGrid(to)
		if last.After(to) {
			last = last.Add(-projections.PastStep)
		}
		if points, err = c.sparkGrid(ctx, av.ID, from, last); err != nil {
			return "", err
		}
	}
	if n := len(points); n == 0 || points[n-1].At.Before(to) {
		points = append(points[:n:n], projections.HistoryPoint{At: to, Score: av.Score, Band: av.Band, ComputedBand: av.ComputedBand})
	}
	return sparkline(points), nil
}

// sparkGrid is account id's History at the grid days from from to last, by
// replay, from the cache when the account has not changed: what the
// sparkline shows when the projector no longer keeps those days (an
// instant long past, or an account that took an event dated before its
// retention horizon).
func (c *Console) sparkGrid(ctx context.Context, id string, from, last time.Time) ([]projections.HistoryPoint, error) {
	stream := (domain.Event{Type: domain.TypeAccountOpened, Subject: id}).Stream()
	version, err := c.cfg.Store.StreamVersion(ctx, stream)
	if err != nil {
		return nil, err
	}
	key := sparkKey{id: id, version: version, from: from, last: last}
	c.sparks.mu.Lock()
	points, ok := c.sparks.entries[key]
	c.sparks.mu.Unlock()
	if ok {
		return points, nil
	}
	points, pos, err := c.cfg.Projector.History(ctx, id, from, last, projections.PastStep)
	if err != nil {
		return nil, err
	}
	recs, err := c.cfg.Store.ReadStream(ctx, stream, version, 1)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, err
	}
	if len(recs) == 1 && recs[0].Position <= pos {
		c.sparks.mu.Lock()
		if c.sparks.entries == nil || len(c.sparks.entries) >= maxSparkEntries {
			c.sparks.entries = make(map[sparkKey][]projections.HistoryPoint)
		}
		c.sparks.entries[key] = points
		c.sparks.mu.Unlock()
	}
	return points, nil
}
