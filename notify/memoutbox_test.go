package notify_test

import (
	"context"
	"sync"

	"github.com/vitals-hq/vitals/notify"
)

// memOutbox is an in-memory notify.Outbox for the delivery tests.
type memOutbox struct {
	mu      sync.Mutex
	ns      []notify.Notification
	ids     map[string]bool
	cps     map[string]uint64
	changed chan struct{}
	// failReads makes that many Read calls fail (an outbox in trouble).
	failReads int
}

func newMemOutbox() *memOutbox {
	return &memOutbox{ids: map[string]bool{}, cps: map[string]uint64{}, changed: make(chan struct{})}
}

// Append implements notify.Outbox.
func (o *memOutbox) Append(_ context.Context, ns []notify.Notification) ([]notify.Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []notify.Notification
	for _, n := range ns {
		if o.ids[n.ID] {
			continue
		}
		o.ids[n.ID] = true
		n.Seq = uint64(len(o.ns)) + 1
		o.ns = append(o.ns, n)
		out = append(out, n)
	}
	if len(out) > 0 {
		close(o.changed)
		o.changed = make(chan struct{})
	}
	return out, nil
}

// Read implements notify.Outbox.
func (o *memOutbox) Read(_ context.Context, after uint64, limit int) ([]notify.Notification, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failReads > 0 {
		o.failReads--
		return nil, errTest
	}
	if after >= uint64(len(o.ns)) {
		return nil, nil
	}
	end := min(len(o.ns), int(after)+limit)
	return append([]notify.Notification(nil), o.ns[after:end]...), nil
}

// Head implements notify.Outbox.
func (o *memOutbox) Head(context.Context) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return uint64(len(o.ns)), nil
}

// Checkpoint implements notify.Outbox.
func (o *memOutbox) Checkpoint(_ context.Context, target string) (uint64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.cps[target], nil
}

// SetCheckpoint implements notify.Outbox.
func (o *memOutbox) SetCheckpoint(_ context.Context, target string, seq uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cps[target] = seq
	return nil
}

// Changed implements notify.Outbox.
func (o *memOutbox) Changed() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}

type testError string

func (e testError) Error() string { return string(e) }

const errTest = testError("outbox unavailable")
