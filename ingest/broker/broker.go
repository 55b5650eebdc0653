// Package broker ingests events that arrive on a message broker, through a
// Watermill router (docs/brokers.md). NATS JetStream is supported out of
// the box (NewJetStream); any Watermill Subscriber and Publisher work.
//
// # Messages
//
// One message carries one CloudEvent, in either of two styles:
//
//   - structured: the payload is the CloudEvent as one JSON object
//     (application/cloudevents+json), exactly as POST /v1/events takes it;
//   - binary: the payload is the data object, and the context attributes
//     are message metadata (NATS headers) named ce-id, ce-source, ce-type,
//     ce-subject, ce-time, ce-specversion, plus content-type for
//     datacontenttype. The prefix ce_ (the Kafka binding's) is accepted
//     too. Other ce- names are extension attributes.
//
// A message with any ce- or ce_ metadata is binary, unless its
// content-type is a CloudEvents type (application/cloudevents+json), which
// marks it structured; a message without them is structured.
//
// # Acknowledgement
//
// A message is acknowledged only after ingest.Ingester.Ingest has returned
// for it, that is after its event was durably appended (or found to be a
// duplicate). An event that is rejected — invalid, or about an unknown
// account or manager — is published to the poison topic with the metadata
// reason_poisoned = "field: message" beside the original metadata, and then
// acknowledged; so is a message whose handling panicked. When the store
// cannot take the event (unavailable, closed, shutting down) the handler
// retries a few times with backoff and then nacks the message, so that the
// broker redelivers it later: a message is never poisoned because the store
// was down.
//
// # Order
//
// Messages are handled one at a time, in the order the subscriber delivers
// them. Ordering across redeliveries is the subscriber's business; the
// JetStream subscriber of this package allows one unacknowledged message at
// a time, so an account.opened that is redelivered is still appended before
// the events that follow it.
package broker

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/ingest"
)

// Default topics.
const (
	DefaultTopic       = "vitals.events"
	DefaultPoisonTopic = "vitals.events.poison"
)

// handlerName names the router handler in Watermill's logs and in the
// handler_poisoned metadata of poisoned messages.
const handlerName = "vitals-ingest"

// Config configures a Consumer.
type Config struct {
	// Subscriber delivers the messages of Topic. The router closes it when
	// Run returns.
	Subscriber message.Subscriber
	// Publisher publishes rejected messages to PoisonTopic. Run closes it
	// when it returns.
	Publisher message.Publisher
	// Topic is the topic events arrive on (default DefaultTopic).
	Topic string
	// PoisonTopic is where rejected messages go (default
	// DefaultPoisonTopic).
	PoisonTopic string
	// Ingester appends the events. Required.
	Ingester *ingest.Ingester
	// Logger receives the consumer's and Watermill's logs.
	Logger zerolog.Logger
	// Now is the clock used to reject events from the future (default
	// time.Now).
	Now func() time.Time
	// OnIngest, if set, is called for every message once Ingest returned
	// without error, with its one candidate and result (for metrics: the
	// signature is that of metrics.(*Metrics).ObserveIngest). A message
	// that is redelivered is reported again.
	OnIngest func(cands []ingest.Candidate, results []ingest.Result)

	// MaxRetries is how many times the handler retries a message the store
	// could not take before it nacks it (default 3).
	MaxRetries int
	// RetryInterval is the first wait between those retries; it doubles up
	// to 2 s (default 100 ms).
	RetryInterval time.Duration
	// CloseTimeout bounds how long Run waits, once ctx is done, for the
	// message in flight (default 10 s).
	CloseTimeout time.Duration
}

// Consumer ingests the events of one topic. Create it with New.
type Consumer struct {
	cfg    Config
	log    zerolog.Logger
	router *message.Router
	ran    atomic.Bool
}

// New validates cfg and builds the router of a Consumer.
func New(cfg Config) (*Consumer, error) {
	switch {
	case cfg.Subscriber == nil:
		return nil, errors.New("broker: Config.Subscriber is required")
	case cfg.Publisher == nil:
		return nil, errors.New("broker: Config.Publisher is required (for the poison topic)")
	case cfg.Ingester == nil:
		return nil, errors.New("broker: Config.Ingester is required")
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	if cfg.PoisonTopic == "" {
		cfg.PoisonTopic = DefaultPoisonTopic
	}
	if cfg.Topic == cfg.PoisonTopic {
		return nil, fmt.Errorf("broker: the poison topic must differ from the topic %q", cfg.Topic)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = 100 * time.Millisecond
	}
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = 10 * time.Second
	}
	c := &Consumer{cfg: cfg, log: cfg.Logger.With().Str("component", "broker").Str("topic", cfg.Topic).Logger()}

	wlog := LoggerAdapter(c.log)
	r, err := message.NewRouter(message.RouterConfig{CloseTimeout: cfg.CloseTimeout}, wlog)
	if err != nil {
		return nil, fmt.Errorf("broker: router: %w", err)
	}
	poison, err := middleware.PoisonQueueWithFilter(cfg.Publisher, cfg.PoisonTopic, isPoison)
	if err != nil {
		return nil, fmt.Errorf("broker: poison queue: %w", err)
	}
	// Outermost first. The poison queue sits outside the retries so that
	// it sees their final error, and outside the recoverer so that a panic
	// is poisoned rather than redelivered forever; only rejections and
	// panics qualify, so a store outage ends in a nack.
	r.AddMiddleware(
		poison,
		c.explainPanic,
		middleware.Recoverer,
		middleware.Retry{
			MaxRetries:          cfg.MaxRetries,
			InitialInterval:     cfg.RetryInterval,
			MaxInterval:         max(2*time.Second, cfg.RetryInterval),
			Multiplier:          2,
			RandomizationFactor: 0.2,
			ShouldRetry:         func(p middleware.RetryParams) bool { return !isPoison(p.Err) },
			Logger:              wlog,
		}.Middleware,
	)
	r.AddConsumerHandler(handlerName, cfg.Topic, cfg.Subscriber, c.handle)
	c.router = r
	return c, nil
}

// Run consumes messages until ctx is done, then stops: it waits up to
// Config.CloseTimeout for the message in flight (whose context is
// cancelled, so an append in progress is abandoned and the message is
// redelivered later), closes the subscriber and the publisher, and
// returns. It returns an error when the subscription cannot start or ends
// while ctx is not done (the broker connection was closed, the consumer
// deleted). Run may be called once.
func (c *Consumer) Run(ctx context.Context) error {
	if !c.ran.CompareAndSwap(false, true) {
		return errors.New("broker: Run called twice")
	}
	c.log.Info().Str("poison_topic", c.cfg.PoisonTopic).Msg("broker: consuming events")
	err := c.router.Run(ctx)
	if cerr := c.cfg.Publisher.Close(); cerr != nil {
		c.log.Warn().Err(cerr).Msg("broker: close the poison publisher")
	}
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("broker: %w", err)
	default:
		return errors.New("broker: the subscription ended")
	}
}

// handle ingests the event of one message.
func (c *Consumer) handle(msg *message.Message) error {
	cands := []ingest.Candidate{decodeMessage(msg, c.cfg.Now())}
	results, _, err := c.cfg.Ingester.Ingest(msg.Context(), cands)
	if err != nil {
		return fmt.Errorf("broker: message %s not appended: %w", msg.UUID, err)
	}
	if c.cfg.OnIngest != nil {
		c.cfg.OnIngest(cands, results)
	}
	r := results[0]
	if r.Status == ingest.Rejected {
		c.log.Warn().Str("message", msg.UUID).Str("event_id", r.ID).Str("field", r.Error.Field).
			Str("reason", r.Error.Message).Msg("broker: event rejected, sent to the poison topic")
		return &poisonError{r.Error}
	}
	return nil
}

// explainPanic turns the Recoverer's error, which carries a stack trace,
// into a short poison reason, and logs the stack.
func (c *Consumer) explainPanic(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		var p middleware.RecoveredPanicError
		if errors.As(err, &p) {
			c.log.Error().Str("message", msg.UUID).Str("stack", p.Stacktrace).
				Msgf("broker: panic while ingesting a message: %v", p.V)
			return out, &poisonError{&domain.FieldError{
				Field:   "event",
				Message: fmt.Sprintf("internal error while ingesting (panic: %v); see the Vitals log", p.V),
			}}
		}
		return out, err
	}
}

// poisonError marks a message that must go to the poison topic. Its text,
// "field: message", becomes the reason_poisoned metadata.
type poisonError struct{ fe *domain.FieldError }

func (e *poisonError) Error() string { return e.fe.Error() }

// isPoison reports whether err sends the message to the poison topic.
func isPoison(err error) bool {
	var pe *poisonError
	return errors.As(err, &pe)
}
