package projections

import (
	"bytes"
	"sync"

	"github.com/vitals-hq/vitals/domain"
)

// maxHandoff bounds the events held for the projector: beyond it, Offer
// does nothing and the projector decodes what it reads (as it does for
// every record it was not handed).
const maxHandoff = 1 << 16

// handoff holds events the ingester has decoded and is appending, by
// idempotency key, with the bytes it stores for them. The log stays the
// source of truth: the projector takes an event only for a record with the
// same key and the same bytes, so what it applies is what the log holds.
type handoff struct {
	mu sync.Mutex
	m  map[string]handoffEntry
}

type handoffEntry struct {
	data []byte
	ev   domain.Event
}

// Offer hands the projector ev, decoded from the request, before data (its
// stored form) is appended under key: when the subscription reads that
// record, the projector applies ev instead of decoding data. It reports
// whether it holds ev: not when it holds an event under key already (a
// request with the same event in flight) or holds too many; the ingester
// withdraws what it offered and did not store (ingest.Handoff).
func (p *Projector) Offer(key string, data []byte, ev domain.Event) bool {
	h := &p.handoff
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = make(map[string]handoffEntry)
	}
	if _, held := h.m[key]; held || len(h.m) >= maxHandoff {
		return false
	}
	h.m[key] = handoffEntry{data: data, ev: ev}
	return true
}

// Withdraw drops what Offer holds for key (an event found to be a
// duplicate or rejected, or an append that failed).
func (p *Projector) Withdraw(key string) {
	h := &p.handoff
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.m, key)
}

// take removes the event offered under key and returns it when it was
// offered with exactly data.
func (h *handoff) take(key string, data []byte) (domain.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.m[key]
	if !ok {
		return domain.Event{}, false
	}
	delete(h.m, key)
	return e.ev, bytes.Equal(e.data, data)
}

// len is the number of events held.
func (h *handoff) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}
