package broker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	wmjetstream "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// DefaultDurable is the default name of the JetStream consumer.
const DefaultDurable = "vitals"

// JetStreamConfig configures NewJetStream.
type JetStreamConfig struct {
	// Topic is the NATS subject events are published on (default
	// DefaultTopic); PoisonTopic the subject rejected messages go to
	// (default DefaultPoisonTopic). Both must be literal subjects. Each
	// needs a stream: an existing stream that captures the subject is
	// used, otherwise one named StreamName(subject) is created.
	Topic, PoisonTopic string
	// Durable names the JetStream consumer that remembers which messages
	// Vitals has acknowledged (default DefaultDurable). Replicas of one
	// deployment share it; another deployment reading the same stream
	// needs its own.
	Durable string
	// AckWait is how long the broker waits for the acknowledgement of a
	// delivered message before it redelivers it (default 30 s).
	AckWait time.Duration
	// NakDelay is how long the broker waits before redelivering a nacked
	// message; it doubles with each delivery of the same message up to
	// MaxNakDelay (defaults 1 s and 1 min).
	NakDelay, MaxNakDelay time.Duration
	// Logger receives connection events and Watermill's logs.
	Logger zerolog.Logger
	// Options are extra nats.go options (credentials, TLS, …), applied
	// after the defaults (reconnect forever, 2 s apart).
	Options []nats.Option
}

func (c *JetStreamConfig) setDefaults() {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.PoisonTopic == "" {
		c.PoisonTopic = DefaultPoisonTopic
	}
	if c.Durable == "" {
		c.Durable = DefaultDurable
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.NakDelay <= 0 {
		c.NakDelay = time.Second
	}
	if c.MaxNakDelay <= 0 {
		c.MaxNakDelay = time.Minute
	}
	c.MaxNakDelay = max(c.MaxNakDelay, c.NakDelay)
}

// NewJetStream connects to the NATS server at url and returns a Subscriber
// for the events and a Publisher for the poison topic, each on its own
// connection. It makes sure both subjects have a stream (creating a
// file-backed one where none captures the subject) and fails when the
// server cannot be reached or has no JetStream.
//
// The subscriber reads through a durable pull consumer (created or updated
// on Subscribe) that starts at the beginning of the stream, acknowledges
// explicitly, never gives up redelivering (MaxDeliver -1), and has at most
// one message unacknowledged (MaxAckPending 1), so that a redelivered
// message is handled before the messages after it. Ack waits for the
// server's confirmation. Closing the subscriber or the publisher closes its
// connection.
//
// The publisher is watermill-nats' JetStream publisher: metadata becomes
// NATS headers, the message UUID the _watermill_message_uuid header.
func NewJetStream(ctx context.Context, url string, cfg JetStreamConfig) (message.Subscriber, message.Publisher, error) {
	cfg.setDefaults()
	for _, s := range []string{cfg.Topic, cfg.PoisonTopic} {
		if !LiteralSubject(s) {
			return nil, nil, fmt.Errorf("broker: topic %q is not a literal NATS subject", s)
		}
	}
	if cfg.Topic == cfg.PoisonTopic {
		return nil, nil, fmt.Errorf("broker: the poison topic must differ from the topic %q", cfg.Topic)
	}
	if !validName(cfg.Durable) {
		return nil, nil, fmt.Errorf("broker: durable name %q: use letters, digits, - and _", cfg.Durable)
	}
	log := cfg.Logger.With().Str("component", "nats").Logger()

	subConn, err := connect(url, "vitals-ingest", log, cfg.Options)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(subConn)
	if err != nil {
		subConn.Close()
		return nil, nil, fmt.Errorf("broker: jetstream: %w", err)
	}
	for _, s := range []string{cfg.Topic, cfg.PoisonTopic} {
		if _, err := ensureStream(ctx, js, s); err != nil {
			subConn.Close()
			return nil, nil, err
		}
	}
	pubConn, err := connect(url, "vitals-poison", log, cfg.Options)
	if err != nil {
		subConn.Close()
		return nil, nil, err
	}
	pub, err := wmjetstream.NewPublisher(wmjetstream.PublisherConfig{
		Conn:   pubConn,
		Logger: LoggerAdapter(log),
		// The publisher takes the subject from the stream configuration's
		// Name; the subject is the topic itself.
		ConfigureStream: func(topic string) jetstream.StreamConfig { return jetstream.StreamConfig{Name: topic} },
	})
	if err != nil {
		subConn.Close()
		pubConn.Close()
		return nil, nil, fmt.Errorf("broker: publisher: %w", err)
	}
	sub := &jsSubscriber{
		nc:      subConn,
		js:      js,
		cfg:     cfg,
		log:     log,
		closing: make(chan struct{}),
	}
	return sub, pub, nil
}

// connect dials url with Vitals' defaults, logging connection changes.
func connect(url, name string, log zerolog.Logger, extra []nats.Option) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(2 * time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn().Err(err).Str("conn", name).Msg("nats: disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info().Str("conn", name).Str("url", c.ConnectedUrlRedacted()).Msg("nats: reconnected")
		}),
	}
	nc, err := nats.Connect(url, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("broker: connect to NATS: %w", err)
	}
	return nc, nil
}

// StreamName is the name of the stream NewJetStream creates for a subject
// no stream captures: the subject in upper case with every character
// other than A–Z, 0–9, - and _ replaced by _ (vitals.events →
// VITALS_EVENTS).
func StreamName(subject string) string {
	b := []byte(strings.ToUpper(subject))
	for i, c := range b {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ensureStream returns the stream that captures subject, creating one when
// there is none.
func ensureStream(ctx context.Context, js jetstream.JetStream, subject string) (jetstream.Stream, error) {
	name, err := js.StreamNameBySubject(ctx, subject)
	switch {
	case err == nil:
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("broker: stream %s: %w", name, err)
		}
		return s, nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, fmt.Errorf("broker: look up the stream of subject %q: %w", subject, err)
	}
	name = StreamName(subject)
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "Vitals: CloudEvents on " + subject,
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = js.Stream(ctx, name) // created meanwhile by another replica
	}
	if err != nil {
		return nil, fmt.Errorf("broker: create stream %s for subject %q: %w", name, subject, err)
	}
	return s, nil
}

// jsSubscriber is a Watermill Subscriber on a durable JetStream pull
// consumer. It delivers one message at a time and owns its output channel
// in one goroutine, which it closes only after its last message was acked
// or nacked (or its ack wait ran out).
type jsSubscriber struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	cfg JetStreamConfig
	log zerolog.Logger

	mu      sync.Mutex
	closed  bool
	closing chan struct{}
	wg      sync.WaitGroup
}

// Subscribe creates or updates the durable consumer of topic and delivers
// its messages until ctx is done or the subscriber is closed.
func (s *jsSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("broker: subscriber closed")
	}
	stream, err := ensureStream(ctx, s.js, topic)
	if err != nil {
		return nil, err
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       s.cfg.Durable,
		Description:   "Vitals event ingestion",
		FilterSubject: topic,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("broker: consumer %s on stream %s: %w", s.cfg.Durable, stream.CachedInfo().Config.Name, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("broker: consume %s: %w", topic, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		select {
		case <-ctx.Done():
		case <-s.closing:
			cancel()
		}
	}()
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer it.Stop()
		s.deliver(ctx, it, out)
	}()
	return out, nil
}

// deliver hands messages to out one at a time until ctx is done.
func (s *jsSubscriber) deliver(ctx context.Context, it jetstream.MessagesContext, out chan<- *message.Message) {
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		switch {
		case ctx.Err() != nil:
			if err == nil {
				_ = m.Nak() // not handed over: redeliver at once
			}
			s.giveBack(it)
			return
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			s.log.Error().Err(err).Msg("broker: the JetStream subscription ended")
			return
		case err != nil:
			s.log.Warn().Err(err).Msg("broker: JetStream")
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		msg := toMessage(m)
		msg.SetContext(ctx)
		select {
		case out <- msg:
		case <-ctx.Done():
			_ = m.Nak()
			s.giveBack(it)
			return
		}
		s.settle(m, msg)
	}
}

// giveBack ends the subscription and naks the messages the client received
// but did not hand over, so that the next subscriber gets them at once
// rather than after the ack wait.
func (s *jsSubscriber) giveBack(it jetstream.MessagesContext) {
	it.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return
		}
		_ = m.Nak()
	}
}

// settle waits for the router's verdict on msg and passes it on to the
// broker. Without a verdict within AckWait the broker redelivers anyway.
func (s *jsSubscriber) settle(m jetstream.Msg, msg *message.Message) {
	timer := time.NewTimer(s.cfg.AckWait)
	defer timer.Stop()
	select {
	case <-msg.Acked():
		// The context of the subscription may be done by now (shutdown);
		// the ack must still go out.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := m.DoubleAck(ctx); err != nil {
			s.log.Warn().Err(err).Str("message", msg.UUID).Msg("broker: ack not confirmed; the broker may redeliver the message (a duplicate, ignored)")
		}
	case <-msg.Nacked():
		delivered := uint64(1)
		if md, err := m.Metadata(); err == nil {
			delivered = md.NumDelivered
		}
		if err := m.NakWithDelay(nakDelay(s.cfg.NakDelay, s.cfg.MaxNakDelay, delivered)); err != nil {
			s.log.Warn().Err(err).Str("message", msg.UUID).Msg("broker: nak failed; the broker redelivers after the ack wait")
		}
	case <-timer.C:
		s.log.Warn().Str("message", msg.UUID).Msg("broker: no verdict within the ack wait; the broker redelivers the message")
	}
}

// Close stops every subscription, waits (bounded) for their last message,
// and closes the connection. It is idempotent.
func (s *jsSubscriber) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	timer := time.NewTimer(s.cfg.AckWait + 5*time.Second)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		err = errors.New("broker: JetStream subscriptions did not stop in time")
	}
	s.nc.Close()
	return err
}

// toMessage converts a JetStream message. Headers become metadata (several
// values of one header joined by ", "), except the server's Nats-* headers
// and Watermill's UUID header, which becomes the UUID; a message without
// one is named by its Nats-Msg-Id or its stream sequence.
func toMessage(m jetstream.Msg) *message.Message {
	h := m.Headers()
	uuid := h.Get(wmnats.WatermillUUIDHdr)
	if uuid == "" {
		uuid = h.Get(nats.MsgIdHdr)
	}
	if uuid == "" {
		if md, err := m.Metadata(); err == nil {
			uuid = fmt.Sprintf("%s:%d", md.Stream, md.Sequence.Stream)
		}
	}
	msg := message.NewMessage(uuid, m.Data())
	for k, vs := range h {
		if k == wmnats.WatermillUUIDHdr || strings.HasPrefix(strings.ToLower(k), "nats-") {
			continue
		}
		msg.Metadata.Set(k, strings.Join(vs, ", "))
	}
	return msg
}

// nakDelay is base doubled for each earlier delivery, at most limit.
func nakDelay(base, limit time.Duration, delivered uint64) time.Duration {
	d := base
	for i := uint64(1); i < delivered && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// LiteralSubject reports whether s is a NATS subject without wildcards (one
// a publisher may name; notify checks its targets with it too).
func LiteralSubject(s string) bool {
	if s == "" {
		return false
	}
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

// validName reports whether s is usable as a JetStream consumer name.
func validName(s string) bool {
	return s != "" && StreamName(s) == strings.ToUpper(s)
}
