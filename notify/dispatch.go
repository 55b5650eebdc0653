package notify

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of DispatcherConfig.
const (
	DefaultRetryFor       = 24 * time.Hour
	DefaultFirstRetry     = time.Second
	DefaultMaxRetryDelay  = 10 * time.Minute
	DefaultRequestTimeout = 10 * time.Second
	// readBatch is how many notifications a target reads at a time.
	readBatch = 100
)

// Clock is the dispatcher's time: Now for signatures and the give-up
// deadline, After for the waits between retries.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Observer is told what the dispatcher does, for metrics
// (metrics.Metrics.NotifyObserver implements it). Its methods must be
// quick and must not block.
type Observer interface {
	// Configured is called once per target by NewDispatcher.
	Configured(target string)
	// Delivered counts a notification delivered to target.
	Delivered(target string)
	// GaveUp counts a notification target never accepted.
	GaveUp(target string)
	// AttemptFailed counts a failed attempt; status is the HTTP status of
	// the answer, 0 when there was none (and for NATS).
	AttemptFailed(target string, status int)
}

// nopObserver is the Observer of a DispatcherConfig without one.
type nopObserver struct{}

func (nopObserver) Configured(string)         {}
func (nopObserver) Delivered(string)          {}
func (nopObserver) GaveUp(string)             {}
func (nopObserver) AttemptFailed(string, int) {}

// DispatcherConfig configures NewDispatcher.
type DispatcherConfig struct {
	// Outbox holds the notifications and the targets' checkpoints.
	// Required.
	Outbox Outbox
	// Targets are where notifications go (see ParseTarget); their names
	// must be unique. None is allowed: Run then only waits.
	Targets []Target
	// Secret is the webhook signing key: the bytes after "whsec_",
	// base64-decoded. Required when a target is a webhook.
	Secret []byte
	// Logger receives delivery failures, give-ups and disabled targets.
	Logger zerolog.Logger
	// Observer is told about deliveries (nil: nobody).
	Observer Observer
	// Clock is the time (nil: the wall clock).
	Clock Clock
	// RetryFor is how long a target may fail every attempt before the
	// notification it is stuck on is given up (default DefaultRetryFor).
	RetryFor time.Duration
	// FirstRetry is the wait before the first retry, doubling with each
	// retry up to MaxRetryDelay, each wait jittered (defaults
	// DefaultFirstRetry, DefaultMaxRetryDelay).
	FirstRetry, MaxRetryDelay time.Duration
	// RequestTimeout bounds one attempt (default DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Jitter returns a number in [0, 1) (nil: math/rand/v2.Float64).
	Jitter func() float64
}

// Dispatcher delivers the outbox to every target, each in a goroutine of
// its own.
//
// A target reads the outbox after its checkpoint and delivers strictly in
// outbox order, one notification at a time: it retries a notification
// until the target accepts it (then the checkpoint advances) or gives up
// (the checkpoint advances too), so a restart resumes with the
// notification that was being delivered (at least once). A webhook that
// answers 410 Gone is disabled: that is recorded in the outbox (a
// checkpoint named DisabledKey(name)) and survives restarts until the
// target's URL changes or Enable is called.
type Dispatcher struct {
	cfg     DispatcherConfig
	log     zerolog.Logger
	targets []*deliverer
}

// NewDispatcher checks cfg and prepares the targets; Run delivers.
func NewDispatcher(cfg DispatcherConfig) (*Dispatcher, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("notify: DispatcherConfig.Outbox is required")
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	if cfg.FirstRetry <= 0 {
		cfg.FirstRetry = DefaultFirstRetry
	}
	if cfg.MaxRetryDelay <= 0 {
		cfg.MaxRetryDelay = DefaultMaxRetryDelay
	}
	cfg.MaxRetryDelay = max(cfg.MaxRetryDelay, cfg.FirstRetry)
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	d := &Dispatcher{cfg: cfg, log: cfg.Logger.With().Str("component", "notify").Logger()}
	seen := map[string]bool{}
	for _, t := range cfg.Targets {
		if seen[t.Name] {
			return nil, fmt.Errorf("notify: two targets are named %q: give one a name= parameter", t.Name)
		}
		seen[t.Name] = true
		log := d.log.With().Str("target", t.Name).Str("kind", t.Kind).Logger()
		dl := &deliverer{d: d, t: t, log: log}
		switch t.Kind {
		case KindWebhook:
			if len(cfg.Secret) == 0 {
				return nil, errors.New("notify: a webhook target needs the signing secret (DispatcherConfig.Secret)")
			}
			w, err := newWebhook(t, cfg.Secret, cfg.Clock.Now)
			if err != nil {
				return nil, err
			}
			dl.s = w
		case KindNATS:
			dl.s = newNATS(t, log)
		default:
			return nil, fmt.Errorf("notify: target %s: unknown kind %q", t.Name, t.Kind)
		}
		d.targets = append(d.targets, dl)
		cfg.Observer.Configured(t.Name)
	}
	return d, nil
}

// Run delivers until ctx is done, then closes the targets' connections and
// returns nil. A failing target never stops it or the other targets.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, dl := range d.targets {
		wg.Go(func() {
			defer func() {
				if err := dl.s.close(); err != nil {
					dl.log.Warn().Err(err).Msg("notify: close")
				}
			}()
			dl.run(ctx)
		})
	}
	for _, dl := range d.targets {
		dl.log.Info().Str("url", dl.t.Redacted()).Str("subject", dl.t.Subject).Msg("notify: delivering")
	}
	wg.Wait()
	return nil
}

// TargetStatus is where one target stands, for metrics.
type TargetStatus struct {
	Name, Kind string
	// Depth is the number of notifications after the target's checkpoint.
	Depth uint64
	// Oldest is the transition instant of the oldest of them (zero when
	// Depth is 0).
	Oldest time.Time
	// Disabled reports a target disabled by a 410 answer.
	Disabled bool
}

// Status reads every target's checkpoint and the outbox's head.
func (d *Dispatcher) Status(ctx context.Context) ([]TargetStatus, error) {
	head, err := d.cfg.Outbox.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("notify: outbox head: %w", err)
	}
	out := make([]TargetStatus, 0, len(d.targets))
	for _, dl := range d.targets {
		st := TargetStatus{Name: dl.t.Name, Kind: dl.t.Kind}
		cp, err := d.cfg.Outbox.Checkpoint(ctx, dl.t.Name)
		if err != nil {
			return nil, fmt.Errorf("notify: checkpoint of %s: %w", dl.t.Name, err)
		}
		if head > cp {
			st.Depth = head - cp
			ns, err := d.cfg.Outbox.Read(ctx, cp, 1)
			if err != nil {
				return nil, fmt.Errorf("notify: outbox: %w", err)
			}
			if len(ns) > 0 {
				st.Oldest = ns[0].Time
			}
		}
		if st.Disabled, err = dl.disabled(ctx); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// DisabledKey is the name of the outbox checkpoint that records that the
// target named name was disabled by a 410 answer: it holds a fingerprint
// of the target's URL, 0 when the target is enabled. Target names cannot
// contain '/', so it never collides with a target's own checkpoint.
func DisabledKey(name string) string { return name + "/disabled" }

// Enable re-enables the target named name after a 410 answer disabled it;
// it takes effect at the next start.
func Enable(ctx context.Context, ob Outbox, name string) error {
	if err := ob.SetCheckpoint(ctx, DisabledKey(name), 0); err != nil {
		return fmt.Errorf("notify: enable %s: %w", name, err)
	}
	return nil
}

// deliverer is one target's delivery loop.
type deliverer struct {
	d   *Dispatcher
	t   Target
	s   sender
	log zerolog.Logger

	// failingSince is the first failed attempt since the last delivery
	// (zero while the target accepts).
	failingSince time.Time
}

// outcome of delivering one notification.
type outcome int

const (
	delivered outcome = iota
	gaveUp
	gone    // 410: the target is disabled
	stopped // ctx is done
)

// disabled reports whether a 410 answer disabled this target's URL.
func (dl *deliverer) disabled(ctx context.Context) (bool, error) {
	v, err := dl.d.cfg.Outbox.Checkpoint(ctx, DisabledKey(dl.t.Name))
	if err != nil {
		return false, fmt.Errorf("notify: disabled record of %s: %w", dl.t.Name, err)
	}
	return v == dl.t.fingerprint(), nil
}

// run delivers the target's notifications until ctx is done or the target
// is disabled.
func (dl *deliverer) run(ctx context.Context) {
	var cp uint64
	var off bool
	if !dl.retryOutbox(ctx, "read the checkpoint", func() (err error) {
		if off, err = dl.disabled(ctx); err != nil {
			return err
		}
		cp, err = dl.d.cfg.Outbox.Checkpoint(ctx, dl.t.Name)
		return err
	}) {
		return
	}
	if off {
		dl.log.Warn().Msg("notify: target disabled by an earlier 410 answer; change its URL or enable it to deliver again")
		return
	}
	for {
		changed := dl.d.cfg.Outbox.Changed()
		var batch []Notification
		if !dl.retryOutbox(ctx, "read the outbox", func() (err error) {
			batch, err = dl.d.cfg.Outbox.Read(ctx, cp, readBatch)
			return err
		}) {
			return
		}
		if len(batch) == 0 {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return
			}
		}
		for _, n := range batch {
			switch dl.deliver(ctx, n) {
			case stopped:
				return
			case gone:
				dl.disable(ctx, n)
				return
			}
			if !dl.advance(ctx, n.Seq) {
				return
			}
			cp = n.Seq
		}
	}
}

// advance records that the target is finished with seq. A delivery that
// succeeded as the dispatcher was stopping is still recorded (bounded by
// RequestTimeout), so that it is not sent again after the restart.
func (dl *deliverer) advance(ctx context.Context, seq uint64) bool {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), dl.d.cfg.RequestTimeout)
	err := dl.d.cfg.Outbox.SetCheckpoint(wctx, dl.t.Name, seq)
	cancel()
	if err == nil {
		return ctx.Err() == nil
	}
	return dl.retryOutbox(ctx, "advance the checkpoint", func() error {
		return dl.d.cfg.Outbox.SetCheckpoint(ctx, dl.t.Name, seq)
	})
}

// deliver attempts n until the target accepts it, answers 410, or has
// failed every attempt for RetryFor.
func (dl *deliverer) deliver(ctx context.Context, n Notification) outcome {
	cfg := dl.d.cfg
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		status, err := dl.s.send(actx, n)
		cancel()
		if err == nil {
			if !dl.failingSince.IsZero() {
				dl.log.Info().Str("id", n.ID).Int("attempt", attempt).Msg("notify: target accepts again")
			}
			dl.failingSince = time.Time{}
			cfg.Observer.Delivered(dl.t.Name)
			return delivered
		}
		if ctx.Err() != nil {
			return stopped // not an answer of the target: it was interrupted
		}
		cfg.Observer.AttemptFailed(dl.t.Name, status)
		now := cfg.Clock.Now()
		if dl.failingSince.IsZero() {
			dl.failingSince = now
		}
		if status == http.StatusGone {
			return gone
		}
		if now.Sub(dl.failingSince) >= cfg.RetryFor {
			dl.log.Error().Err(err).Str("id", n.ID).Uint64("seq", n.Seq).Int("attempts", attempt).
				Dur("failing_for", now.Sub(dl.failingSince)).Msg("notify: gave up on a notification")
			cfg.Observer.GaveUp(dl.t.Name)
			return gaveUp
		}
		wait := RetryDelay(attempt, cfg.FirstRetry, cfg.MaxRetryDelay, cfg.Jitter())
		dl.log.Warn().Err(err).Str("id", n.ID).Int("attempt", attempt).Dur("retry_in", wait).Msg("notify: delivery failed")
		select {
		case <-cfg.Clock.After(wait):
		case <-ctx.Done():
			return stopped
		}
	}
}

// RetryDelay is the wait after the attempt-th failed attempt: first
// doubled attempt−1 times, at most limit, scaled into [½, 1) of that by
// jitter ∈ [0, 1).
func RetryDelay(attempt int, first, limit time.Duration, jitter float64) time.Duration {
	d := first
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(jitter*float64(d/2))
}

// disable records that the target answered 410 to n, so that it stays
// disabled across restarts.
func (dl *deliverer) disable(ctx context.Context, n Notification) {
	dl.log.Error().Str("id", n.ID).Uint64("seq", n.Seq).
		Msg("notify: the target answered 410 Gone; it is disabled and receives nothing more until its URL changes or it is enabled again")
	dl.retryOutbox(ctx, "record the disabled target", func() error {
		return dl.d.cfg.Outbox.SetCheckpoint(ctx, DisabledKey(dl.t.Name), dl.t.fingerprint())
	})
}

// retryOutbox runs op until it succeeds, waiting between failures like
// between delivery attempts; it returns false when ctx is done first.
func (dl *deliverer) retryOutbox(ctx context.Context, what string, op func() error) bool {
	cfg := dl.d.cfg
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		wait := RetryDelay(attempt, cfg.FirstRetry, cfg.MaxRetryDelay, cfg.Jitter())
		dl.log.Error().Err(err).Dur("retry_in", wait).Msg("notify: " + what)
		select {
		case <-cfg.Clock.After(wait):
		case <-ctx.Done():
			return false
		}
	}
}
