package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	wmjetstream "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/jetstream"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/ingest/broker"
)

// natsTarget publishes notifications on a JetStream subject through
// watermill-nats' JetStream publisher, with the CloudEvent id as the
// message UUID and, by TrackMessageID, as the Nats-Msg-Id header that
// JetStream deduplicates on (within the stream's duplicate window, 2 min
// by default).
//
// It connects at its first attempt, not at start, so that an unreachable
// server is retried like any failed delivery; on that attempt it makes
// sure a stream captures the subject, creating a file-backed one named
// after the subject (see broker.StreamName) when none does.
type natsTarget struct {
	target Target
	log    zerolog.Logger

	nc  *nats.Conn
	pub *wmjetstream.Publisher
}

// newNATS returns the sender of a nats:// target.
func newNATS(t Target, log zerolog.Logger) *natsTarget {
	return &natsTarget{target: t, log: log}
}

// connect dials the server and prepares the stream and the publisher.
func (s *natsTarget) connect(ctx context.Context) error {
	name := "vitals-notify-" + s.target.Name
	nc, err := nats.Connect(s.target.URL.String(),
		nats.Name(name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				s.log.Warn().Err(err).Msg("notify: NATS disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			s.log.Info().Str("url", c.ConnectedUrlRedacted()).Msg("notify: NATS reconnected")
		}),
	)
	if err != nil {
		return fmt.Errorf("connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err == nil {
		err = ensureStream(ctx, js, s.target.Subject)
	}
	if err != nil {
		nc.Close()
		return err
	}
	pub, err := wmjetstream.NewPublisher(wmjetstream.PublisherConfig{
		Conn:           nc,
		Logger:         broker.LoggerAdapter(s.log),
		TrackMessageID: true,
		// The publisher takes the subject from the stream configuration's
		// Name; the subject is the topic itself.
		ConfigureStream: func(topic string) jetstream.StreamConfig { return jetstream.StreamConfig{Name: topic} },
	})
	if err != nil {
		nc.Close()
		return fmt.Errorf("NATS publisher: %w", err)
	}
	s.nc, s.pub = nc, pub
	return nil
}

// send implements sender: one JetStream publish, delivered when the
// server acknowledged it (within nats.go's JetStream timeout, 5 s).
func (s *natsTarget) send(ctx context.Context, n Notification) (int, error) {
	if s.pub == nil {
		if err := s.connect(ctx); err != nil {
			return 0, err
		}
	}
	msg := message.NewMessage(n.ID, []byte(n.Event))
	msg.Metadata.Set("Content-Type", ContentTypeCloudEvent)
	msg.SetContext(ctx)
	return 0, s.pub.Publish(s.target.Subject, msg)
}

// close implements sender.
func (s *natsTarget) close() error {
	if s.pub != nil {
		return s.pub.Close()
	}
	return nil
}

// ensureStream makes sure a stream captures subject, creating one when
// none does.
func ensureStream(ctx context.Context, js jetstream.JetStream, subject string) error {
	_, err := js.StreamNameBySubject(ctx, subject)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, jetstream.ErrStreamNotFound):
		return fmt.Errorf("look up the stream of subject %q: %w", subject, err)
	}
	name := broker.StreamName(subject)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "Vitals: derived events (notifications) on " + subject,
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
	})
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return fmt.Errorf("create stream %s for subject %q: %w", name, subject, err)
	}
	return nil
}
