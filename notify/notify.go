// Package notify publishes Vitals' own derived events — an account's band
// changing, an account entering or leaving the at-risk list, upsell
// readiness, a manager going over capacity — as CloudEvents, through a
// durable outbox, to webhooks, NATS JetStream and a pull feed.
//
// The contract between the parts:
//
//   - derivation (projections → Notification) appends to an Outbox, and the
//     append is durable before anything is sent;
//   - each delivery target reads the Outbox after its own checkpoint and
//     advances the checkpoint only after a delivery succeeded or was given
//     up, so a restart resumes where it stopped (at-least-once);
//   - the feed (GET /v1/notifications) reads the Outbox by sequence number.
package notify

import (
	"context"
	"encoding/json"
	"time"
)

// Notification is one derived event as stored in the outbox.
type Notification struct {
	// Seq is its position in the outbox: 1, 2, 3, … in append order.
	Seq uint64 `json:"seq"`
	// ID is the CloudEvent id, deterministic from (type, subject,
	// transition instant, from, to), so a replay derives the same id.
	ID string `json:"id"`
	// Type is the CloudEvent type, e.g. "vitals.account.band_changed".
	Type string `json:"type"`
	// Subject is the account or manager id.
	Subject string `json:"subject"`
	// Time is the instant the transition happened.
	Time time.Time `json:"time"`
	// Event is the whole CloudEvent in structured JSON mode, exactly the
	// bytes a webhook body carries.
	Event json.RawMessage `json:"event"`
}

// Outbox is the durable queue of derived events.
type Outbox interface {
	// Append stores ns durably (fsynced) in one commit, assigning their
	// Seq; a notification whose ID is already stored is skipped. It
	// returns what was stored, with Seq set.
	Append(ctx context.Context, ns []Notification) ([]Notification, error)
	// Read returns up to limit notifications with Seq > after, oldest
	// first.
	Read(ctx context.Context, after uint64, limit int) ([]Notification, error)
	// Head is the Seq of the last stored notification (0 when empty).
	Head(ctx context.Context) (uint64, error)
	// Checkpoint is the last Seq target has finished with (0 for none).
	Checkpoint(ctx context.Context, target string) (uint64, error)
	// SetCheckpoint durably records that target has finished with seq.
	SetCheckpoint(ctx context.Context, target string, seq uint64) error
	// Changed returns a channel closed at the next Append, for waiting
	// without polling.
	Changed() <-chan struct{}
}
