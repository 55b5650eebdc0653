package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// CloudEvent types of the derived events (docs/notifications.md).
const (
	TypeBandChanged     = "vitals.account.band_changed"
	TypeAtRiskEntered   = "vitals.account.at_risk_entered"
	TypeAtRiskChanged   = "vitals.account.at_risk_changed"
	TypeAtRiskLeft      = "vitals.account.at_risk_left"
	TypeUpsellReady     = "vitals.account.upsell_ready"
	TypeUpsellCleared   = "vitals.account.upsell_cleared"
	TypeOverCapacity    = "vitals.manager.over_capacity"
	TypeCapacityOK      = "vitals.manager.capacity_ok"
	DefaultSourcePrefix = "vitals://"
)

// Types lists every derived event type.
func Types() []string {
	return []string{TypeBandChanged, TypeAtRiskEntered, TypeAtRiskChanged, TypeAtRiskLeft,
		TypeUpsellReady, TypeUpsellCleared, TypeOverCapacity, TypeCapacityOK}
}

// DefaultSource is the default CloudEvents source of this deployment:
// vitals://<hostname>.
func DefaultSource() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	return DefaultSourcePrefix + h
}

// ID is the deterministic CloudEvent id of a transition: "vn_" and the
// first 16 bytes, in hex, of the SHA-256 of type, subject, instant (RFC
// 3339 with nanoseconds, UTC), from and to, each followed by a zero byte.
func ID(typ, subject string, at time.Time, from, to string) string {
	h := sha256.New()
	for _, s := range []string{typ, subject, at.UTC().Format(time.RFC3339Nano), from, to} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "vn_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// cloudEvent is a derived event in structured JSON mode.
type cloudEvent struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Subject         string    `json:"subject"`
	Time            time.Time `json:"time"`
	DataContentType string    `json:"datacontenttype"`
	Data            any       `json:"data"`
}

// BandData is the data of vitals.account.band_changed.
type BandData struct {
	AccountID    string            `json:"account_id"`
	From         scoring.Band      `json:"from"`
	To           scoring.Band      `json:"to"`
	Score        *float64          `json:"score"`
	ComputedBand scoring.Band      `json:"computed_band"`
	Override     *scoring.Override `json:"override"`
	Components   []ComponentMove   `json:"components"`
	Tier         scoring.Tier      `json:"tier"`
	ManagerID    string            `json:"manager_id,omitempty"`
	DerivedAt    time.Time         `json:"derived_at"`
}

// ComponentMove is a component whose band or points moved.
type ComponentMove struct {
	Name       string       `json:"name"`
	FromBand   scoring.Band `json:"from_band"`
	ToBand     scoring.Band `json:"to_band"`
	FromPoints *float64     `json:"from_points"`
	ToPoints   *float64     `json:"to_points"`
}

// AtRiskData is the data of the vitals.account.at_risk_* events.
type AtRiskData struct {
	AccountID string       `json:"account_id"`
	Reasons   []string     `json:"reasons"`
	Added     []string     `json:"added"`
	Removed   []string     `json:"removed"`
	Band      scoring.Band `json:"band"`
	Score     *float64     `json:"score"`
	Status    string       `json:"status"`
	ManagerID string       `json:"manager_id,omitempty"`
	DerivedAt time.Time    `json:"derived_at"`
}

// UpsellData is the data of vitals.account.upsell_ready and _cleared.
type UpsellData struct {
	AccountID string       `json:"account_id"`
	Upsell    bool         `json:"upsell"`
	Band      scoring.Band `json:"band"`
	Score     *float64     `json:"score"`
	ManagerID string       `json:"manager_id,omitempty"`
	DerivedAt time.Time    `json:"derived_at"`
}

// CapacityData is the data of vitals.manager.over_capacity and
// capacity_ok.
type CapacityData struct {
	ManagerID string `json:"manager_id"`
	projections.ManagerFacts
	DerivedAt time.Time `json:"derived_at"`
}

// Build turns a transition into its notification (the CloudEvent with its
// deterministic id).
func Build(source string, tr projections.Transition) (Notification, error) {
	typ, data := typeAndData(tr)
	id := ID(typ, tr.Subject, tr.At, tr.From, tr.To)
	at := tr.At.UTC()
	ev, err := json.Marshal(cloudEvent{SpecVersion: "1.0", ID: id, Source: source, Type: typ, Subject: tr.Subject, Time: at,
		DataContentType: "application/json", Data: data})
	if err != nil {
		return Notification{}, fmt.Errorf("notify: encode %s for %s: %w", typ, tr.Subject, err)
	}
	return Notification{ID: id, Type: typ, Subject: tr.Subject, Time: at, Event: ev}, nil
}

func splitReasons(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// typeAndData picks the event type and builds its data.
func typeAndData(tr projections.Transition) (string, any) {
	to := tr.ToAccount
	if to == nil {
		to = &projections.AccountFacts{}
	}
	derived := tr.DerivedAt.UTC()
	switch tr.Kind {
	case projections.TransitionBand:
		d := BandData{AccountID: tr.Subject, From: scoring.Band(tr.From), To: scoring.Band(tr.To), Score: to.Score,
			ComputedBand: to.ComputedBand, Override: to.Override, Components: movedComponents(tr.FromAccount, to),
			Tier: to.Tier, ManagerID: to.ManagerID, DerivedAt: derived}
		return TypeBandChanged, d
	case projections.TransitionAtRisk:
		from, now := splitReasons(tr.From), splitReasons(tr.To)
		d := AtRiskData{AccountID: tr.Subject, Reasons: now, Added: minus(now, from), Removed: minus(from, now),
			Band: to.Band, Score: to.Score, Status: string(to.Status), ManagerID: to.ManagerID, DerivedAt: derived}
		switch {
		case len(from) == 0:
			return TypeAtRiskEntered, d
		case len(now) == 0:
			return TypeAtRiskLeft, d
		default:
			return TypeAtRiskChanged, d
		}
	case projections.TransitionUpsell:
		d := UpsellData{AccountID: tr.Subject, Upsell: tr.To == "true", Band: to.Band, Score: to.Score, ManagerID: to.ManagerID, DerivedAt: derived}
		if d.Upsell {
			return TypeUpsellReady, d
		}
		return TypeUpsellCleared, d
	default: // capacity
		d := CapacityData{ManagerID: tr.Subject, DerivedAt: derived}
		if tr.Manager != nil {
			d.ManagerFacts = *tr.Manager
		}
		if tr.To == projections.CapacityOver {
			return TypeOverCapacity, d
		}
		return TypeCapacityOK, d
	}
}

// minus is a without b, in a's order.
func minus(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// movedComponents lists the components whose band or points differ.
func movedComponents(from, to *projections.AccountFacts) []ComponentMove {
	out := []ComponentMove{}
	if from == nil {
		from = &projections.AccountFacts{}
	}
	old := map[string]projections.ComponentFacts{}
	for _, c := range from.Components {
		old[c.Name] = c
	}
	for _, c := range to.Components {
		o, ok := old[c.Name]
		if !ok {
			o = projections.ComponentFacts{Name: c.Name, Band: scoring.BandUnknown}
		}
		if o.Band != c.Band || !samePoints(o.Points, c.Points) {
			out = append(out, ComponentMove{Name: c.Name, FromBand: o.Band, ToBand: c.Band, FromPoints: round(o.Points), ToPoints: round(c.Points)})
		}
	}
	return out
}

func samePoints(a, b *float64) bool {
	return (a == nil) == (b == nil) && (a == nil || scoring.Round4(*a) == scoring.Round4(*b))
}

func round(p *float64) *float64 {
	if p == nil {
		return nil
	}
	r := scoring.Round4(*p)
	return &r
}

// Counter counts published notifications by type (the
// vitals_notify_published_total metric).
type Counter interface {
	Published(typ string, n int)
}

// Deriver is the projections.TransitionSink that turns transitions into
// notifications and appends them to the outbox from its own goroutine:
// Transitions only queues (it is called under the projector's lock), Run
// appends (one fsynced commit per batch), Sync waits until the queue is
// durable. Nothing queued is dropped: a failed append is retried.
type Deriver struct {
	source  string
	outbox  Outbox
	log     zerolog.Logger
	counter Counter

	mu      sync.Mutex
	queue   []projections.Transition
	queued  uint64 // transitions queued so far
	durable uint64 // transitions appended so far
	wake    chan struct{}
	cond    *sync.Cond
	err     error // the last append error, until an append succeeds
}

var _ projections.TransitionSink = (*Deriver)(nil)

// NewDeriver returns a Deriver appending to outbox with the CloudEvents
// source; counter may be nil.
func NewDeriver(source string, outbox Outbox, log zerolog.Logger, counter Counter) *Deriver {
	d := &Deriver{source: source, outbox: outbox, log: log, counter: counter, wake: make(chan struct{}, 1)}
	d.cond = sync.NewCond(&d.mu)
	return d
}

// Transitions queues ts for the appender; it never blocks on I/O.
func (d *Deriver) Transitions(ts []projections.Transition) {
	d.mu.Lock()
	d.queue = append(d.queue, ts...)
	d.queued += uint64(len(ts))
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Sync waits until every transition queued before the call is in the
// outbox, or ctx is done, or the appender reports an error.
func (d *Deriver) Sync(ctx context.Context) error {
	d.mu.Lock()
	target := d.queued
	d.mu.Unlock()
	stop := context.AfterFunc(ctx, func() {
		d.mu.Lock()
		d.cond.Broadcast()
		d.mu.Unlock()
	})
	defer stop()
	d.mu.Lock()
	defer d.mu.Unlock()
	for d.durable < target {
		if d.err != nil {
			return fmt.Errorf("notify: outbox append failing: %w", d.err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d.cond.Wait()
	}
	return nil
}

// Run appends queued transitions until ctx is done, then appends what is
// left (with a bounded wait) and returns.
func (d *Deriver) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for {
		d.mu.Lock()
		batch := d.queue
		d.queue = nil
		d.mu.Unlock()
		if len(batch) > 0 {
			if err := d.append(context.WithoutCancel(ctx), batch); err != nil {
				d.log.Error().Err(err).Int("transitions", len(batch)).Msg("notify: outbox append failed; retrying")
				d.mu.Lock()
				d.queue = append(batch, d.queue...)
				d.err = err
				d.cond.Broadcast()
				d.mu.Unlock()
				select {
				case <-time.After(backoff):
					backoff = min(2*backoff, 10*time.Second)
				case <-ctx.Done():
					return
				}
				continue
			}
			backoff = 100 * time.Millisecond
			continue
		}
		select {
		case <-d.wake:
		case <-ctx.Done():
			d.mu.Lock()
			left := len(d.queue)
			d.mu.Unlock()
			if left == 0 {
				return
			}
		}
	}
}

// append builds and stores one batch.
func (d *Deriver) append(ctx context.Context, batch []projections.Transition) error {
	ns := make([]Notification, 0, len(batch))
	for _, tr := range batch {
		n, err := Build(d.source, tr)
		if err != nil {
			d.log.Error().Err(err).Msg("notify: transition not encodable; skipped")
			continue
		}
		ns = append(ns, n)
	}
	stored, err := d.outbox.Append(ctx, ns)
	if err != nil {
		return err
	}
	if d.counter != nil {
		for _, n := range stored {
			d.counter.Published(n.Type, 1)
		}
	}
	d.mu.Lock()
	d.durable += uint64(len(batch))
	d.err = nil
	d.cond.Broadcast()
	d.mu.Unlock()
	return nil
}

// LastTransitions reads the outbox and returns the last stored transition
// of each subject and kind (Kind, Subject, At, To), so that a starting
// projector counts them as derived (projections.TransitionHistory).
func (d *Deriver) LastTransitions(ctx context.Context) ([]projections.Transition, error) {
	type key struct {
		kind    projections.TransitionKind
		subject string
	}
	last := map[key]projections.Transition{}
	var after uint64
	for {
		ns, err := d.outbox.Read(ctx, after, 1000)
		if err != nil {
			return nil, fmt.Errorf("notify: read the outbox: %w", err)
		}
		if len(ns) == 0 {
			break
		}
		for _, n := range ns {
			after = n.Seq
			tr, err := transitionOf(n)
			if err != nil {
				return nil, err
			}
			last[key{tr.Kind, tr.Subject}] = tr
		}
	}
	out := make([]projections.Transition, 0, len(last))
	for _, tr := range last {
		out = append(out, tr)
	}
	return out, nil
}

// transitionOf reads back the kind, subject, instant and "to" value of a
// stored notification.
func transitionOf(n Notification) (projections.Transition, error) {
	var ev struct {
		Data struct {
			To      string   `json:"to"`
			Reasons []string `json:"reasons"`
		} `json:"data"`
	}
	if err := json.Unmarshal(n.Event, &ev); err != nil {
		return projections.Transition{}, fmt.Errorf("notify: outbox #%d: %w", n.Seq, err)
	}
	tr := projections.Transition{Subject: n.Subject, At: n.Time}
	switch n.Type {
	case TypeBandChanged:
		tr.Kind, tr.To = projections.TransitionBand, ev.Data.To
	case TypeAtRiskEntered, TypeAtRiskChanged, TypeAtRiskLeft:
		tr.Kind, tr.To = projections.TransitionAtRisk, strings.Join(ev.Data.Reasons, ",")
	case TypeUpsellReady, TypeUpsellCleared:
		tr.Kind, tr.To = projections.TransitionUpsell, strconv.FormatBool(n.Type == TypeUpsellReady)
	case TypeOverCapacity, TypeCapacityOK:
		tr.Kind, tr.To = projections.TransitionCapacity, projections.CapacityOK
		if n.Type == TypeOverCapacity {
			tr.To = projections.CapacityOver
		}
	default:
		return projections.Transition{}, fmt.Errorf("notify: outbox #%d: unknown type %q", n.Seq, n.Type)
	}
	return tr, nil
}
