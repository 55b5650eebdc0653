package console

import (
	"context"
	"sync"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// managerRef is a manager's id and name, for filters and links.
type managerRef struct {
	ID, Name string
}

// directory caches the managers (ids and names) active at an instant, as
// of a projector position. Names and memberships change only with events,
// so the entry for (position, instant) holds until the position moves; the
// clients list then needs no capacity evaluation of its own.
type directory struct {
	mu   sync.Mutex
	key  dirKey
	refs []managerRef
	ok   bool
}

type dirKey struct {
	pos eventstore.Position
	at  time.Time // zero: now
}

// managerRefs are the managers active at at (now when zero), by id.
func (c *Console) managerRefs(ctx context.Context, at time.Time) ([]managerRef, error) {
	key := dirKey{pos: c.cfg.Projector.Position(), at: at}
	c.dir.mu.Lock()
	if c.dir.ok && c.dir.key == key {
		refs := c.dir.refs
		c.dir.mu.Unlock()
		return refs, nil
	}
	c.dir.mu.Unlock()
	capv, err := c.cfg.Projector.Capacity(ctx, at)
	if err != nil {
		return nil, err
	}
	refs := make([]managerRef, 0, len(capv.Managers))
	for _, m := range capv.Managers {
		refs = append(refs, managerRef{ID: m.ID, Name: m.Name})
	}
	if capv.Position == key.pos {
		c.dir.mu.Lock()
		c.dir.key, c.dir.refs, c.dir.ok = key, refs, true
		c.dir.mu.Unlock()
	}
	return refs, nil
}

// refNames maps the refs' ids to names.
func refNames(refs []managerRef) names {
	n := make(names, len(refs))
	for _, r := range refs {
		n[r.ID] = r.Name
	}
	return n
}
