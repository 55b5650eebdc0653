package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/eventstore"
)

// DefaultStreamPrefix is the prefix of every stream Vitals writes (see
// Options.StreamPrefix).
const DefaultStreamPrefix = "vitals-"

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// Logger receives the adapter's and the client's messages (the
	// zero value discards them).
	Logger zerolog.Logger
	// StreamPrefix is put before every stream id on the server
	// (default DefaultStreamPrefix): Vitals' "account-acme" is the
	// server's "vitals-account-acme". Reads and subscriptions of $all
	// keep only streams with the prefix, so the server may hold other
	// applications' streams.
	StreamPrefix string
	// DedupeWindow is how many of a stream's last events an append
	// that the server rejected searches for its keys (default 1000),
	// to report a retry as a duplicate (or ErrPartialDuplicate) rather
	// than as ErrWrongVersion.
	DedupeWindow int
	// RetryMin and RetryMax bound the exponential backoff between a
	// dropped subscription and its next attempt (defaults 100ms, 10s).
	RetryMin, RetryMax time.Duration
}

// Store is the EventStoreDB/KurrentDB eventstore.Store. Create it with
// Open; it is safe for concurrent use.
type Store struct {
	cfg    esdb.Configuration // to make a new client after the old one gave up
	ns     uuid.UUID
	prefix string
	window int
	retry  [2]time.Duration
	log    zerolog.Logger

	// mu guards closed, client and the registration of calls in
	// inflight: Close waits for the calls to finish before it closes
	// the client, which panics when used after Close.
	mu       sync.RWMutex
	closed   bool
	client   *esdb.Client
	inflight sync.WaitGroup
	done     context.Context // ends when Close starts: reads and subscriptions stop
	stop     context.CancelFunc
	once     sync.Once
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the server at url, a client connection string such as
// "esdb://localhost:2113?tls=false" or
// "esdb://admin:changeit@node1:2113,node2:2113,node3:2113" (see
// https://docs.kurrent.io for every setting). It reads the head of $all
// once, so an unreachable server fails here; ctx bounds that read.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	s, err := newStore(url, opts)
	if err != nil {
		return nil, err
	}
	if _, err := s.Head(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("esdb: connect to %s: %w", endpoints(&s.cfg), err)
	}
	return s, nil
}

// endpoints names the server(s) of cfg for messages, without the
// credentials a connection string may hold.
func endpoints(cfg *esdb.Configuration) string {
	if len(cfg.GossipSeeds) == 0 {
		return cfg.Address
	}
	names := make([]string, len(cfg.GossipSeeds))
	for i, e := range cfg.GossipSeeds {
		names[i] = e.String()
	}
	return strings.Join(names, ",")
}

// newStore makes a Store without connecting: the client connects on its
// first call.
func newStore(url string, opts Options) (*Store, error) {
	cfg, err := esdb.ParseConnectionString(url)
	if err != nil {
		return nil, fmt.Errorf("esdb: connection string: %w", err)
	}
	if opts.StreamPrefix == "" {
		opts.StreamPrefix = DefaultStreamPrefix
	}
	if isSystemStream(opts.StreamPrefix) {
		return nil, fmt.Errorf("esdb: stream prefix %q: $ streams belong to the server", opts.StreamPrefix)
	}
	if opts.DedupeWindow <= 0 {
		opts.DedupeWindow = 1000
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(10*time.Second, opts.RetryMin)
	}
	log := opts.Logger.With().Str("store", "esdb").Logger()
	cfg.Logger = clientLogger(log)

	s := &Store{
		cfg:    *cfg,
		ns:     uuid.MustParse(KeyNamespace),
		prefix: opts.StreamPrefix,
		window: opts.DedupeWindow,
		retry:  [2]time.Duration{opts.RetryMin, opts.RetryMax},
		log:    log,
	}
	s.done, s.stop = context.WithCancel(context.Background())
	if s.client, err = esdb.NewClient(cfg); err != nil {
		s.stop()
		return nil, fmt.Errorf("esdb: %w", err)
	}
	return s, nil
}

// clientLogger routes the client's messages to log. The client logs every
// ended subscription and every failed call as an error, including the
// ones this package handles, so they are logged at debug and warn level.
func clientLogger(log zerolog.Logger) esdb.LoggingFunc {
	log = log.With().Str("component", "esdb-client").Logger()
	return func(level esdb.LogLevel, format string, args ...any) {
		ev := log.Debug()
		if level == esdb.LogWarn || level == esdb.LogError {
			ev = log.Warn()
		}
		ev.Msgf(format, args...)
	}
}

// Close ends the subscriptions and reads with eventstore.ErrClosed, waits
// for the appends in flight to finish (they are bounded by the client's
// deadline, 10s by default) and closes the connection. Calling Close
// again does nothing and returns nil.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.stop()
		s.mu.Unlock()
		s.inflight.Wait()
		s.client.Close()
	})
	return nil
}

// begin registers a call and returns the client to make it with; the
// caller must call s.inflight.Done when the call is over.
func (s *Store) begin(op string) (*esdb.Client, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed(op)
	}
	s.inflight.Add(1)
	return s.client, nil
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool { return s.done.Err() != nil }

// closable returns a context that also ends when the store closes.
func (s *Store) closable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel)
	return ctx, func() { stop(); cancel() }
}

// fail turns the error of a client call made for ctx into the error the
// caller gets: the context's error when ctx is done, ErrClosed when the
// store closed during the call, a sentinel otherwise. When the client
// gave up on the connection for good it is replaced, so the next call
// connects afresh.
func (s *Store) fail(ctx context.Context, c *esdb.Client, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("esdb: %s: %w", op, ctx.Err())
	}
	if s.isClosed() {
		return errClosed(op)
	}
	if hasCode(err, esdb.ErrorCodeConnectionClosed) {
		s.renew(c)
	}
	return translate(op, err)
}

// renew replaces the client old, which closed itself: the v4 client stops
// for good when a discovery fails (for example while the server
// restarts). The old client is not closed: its connection loop has ended,
// and closing it could make a call that is still sending to it panic.
func (s *Store) renew(old *esdb.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.client != old {
		return
	}
	cfg := s.cfg
	c, err := esdb.NewClient(&cfg)
	if err != nil {
		s.log.Error().Err(err).Msg("cannot make a new client")
		return
	}
	s.log.Warn().Msg("the client closed its connection; reconnecting")
	s.client = c
}

// errClosed is eventstore.ErrClosed with the operation's name.
func errClosed(op string) error {
	return fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed)
}

// name is the server's name of a Vitals stream.
func (s *Store) name(stream string) string { return s.prefix + stream }

// Head implements eventstore.Store: it reads $all backwards from its end
// to the last Vitals record, skipping system events and other streams.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c, err := s.begin("head")
	if err != nil {
		return 0, err
	}
	defer s.inflight.Done()
	rctx, cancel := s.closable(ctx)
	defer cancel()

	const page = 256
	var from esdb.AllPosition = esdb.End{}
	for {
		rs, err := c.ReadAll(rctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page)
		if err != nil {
			return 0, s.fail(ctx, c, "head", err)
		}
		n, last, rec, err := s.scan(rs, func(eventstore.Record) bool { return false })
		rs.Close()
		switch {
		case err != nil:
			return 0, s.fail(ctx, c, "head", err)
		case rec != nil:
			return rec.Position, nil
		case n < page:
			return 0, nil // the start of the log
		}
		// Backwards reads exclude the record at the position they start from.
		from = last
	}
}

// scan reads rs to its end. It returns how many events it read, the
// position of the last one, and the first Vitals record for which more
// returns false (nil if there was none: more accepted every record).
func (s *Store) scan(rs *esdb.ReadStream, more func(eventstore.Record) bool) (n int, last esdb.Position, stopped *eventstore.Record, err error) {
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, last, nil, nil
		}
		if err != nil {
			return n, last, nil, err
		}
		n++
		raw := ev.OriginalEvent()
		if raw == nil {
			continue
		}
		last = raw.Position
		r, ok, err := toRecord(s.prefix, raw)
		if err != nil {
			return n, last, nil, err
		}
		if ok && !more(r) {
			return n, last, &r, nil
		}
	}
}

// StreamVersion implements eventstore.Store.
func (s *Store) StreamVersion(ctx context.Context, stream string) (eventstore.Version, error) {
	recs, err := s.readStream(ctx, "stream version", stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return 0, err
	}
	if len(recs) == 0 {
		return 0, fmt.Errorf("esdb: stream %q: %w", stream, eventstore.ErrStreamNotFound)
	}
	return recs[0].Version, nil
}

// ReadStream implements eventstore.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from eventstore.Version, limit int) ([]eventstore.Record, error) {
	if limit <= 0 || from < 0 {
		return nil, fmt.Errorf("esdb: read stream %q from %d limit %d: %w", stream, from, limit, eventstore.ErrInvalid)
	}
	return s.readStream(ctx, "read stream", stream, esdb.ReadStreamOptions{From: esdb.Revision(uint64(from))}, uint64(limit))
}

// readStream reads up to count events of stream for a public call.
func (s *Store) readStream(ctx context.Context, op, stream string, o esdb.ReadStreamOptions, count uint64) ([]eventstore.Record, error) {
	if stream == "" {
		return nil, fmt.Errorf("esdb: %s: empty stream id: %w", op, eventstore.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.begin(op)
	if err != nil {
		return nil, err
	}
	defer s.inflight.Done()
	rctx, cancel := s.closable(ctx)
	defer cancel()
	recs, err := s.streamEvents(rctx, c, stream, o, count)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, s.fail(ctx, c, op, err)
	}
	return recs, err
}

// streamEvents reads up to count Vitals records of stream with client c.
// A missing stream is eventstore.ErrStreamNotFound (the client reports
// it on the first Recv, not on the ReadStream call); other errors are the
// client's, for the caller to pass to fail.
func (s *Store) streamEvents(ctx context.Context, c *esdb.Client, stream string, o esdb.ReadStreamOptions, count uint64) ([]eventstore.Record, error) {
	rs, err := c.ReadStream(ctx, s.name(stream), o, count)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var recs []eventstore.Record
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			if hasCode(err, esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted) {
				return nil, fmt.Errorf("esdb: stream %q: %w", stream, eventstore.ErrStreamNotFound)
			}
			return nil, err
		}
		r, ok, err := toRecord(s.prefix, ev.OriginalEvent())
		if err != nil {
			return nil, err
		}
		if ok {
			recs = append(recs, r)
		}
	}
}

// ReadAll implements eventstore.Store. after must be 0, a position this
// store returned, or one less than such a position (see the package
// documentation); the server rejects a read that starts inside a record.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("esdb: read all limit %d: %w", limit, eventstore.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.begin("read all")
	if err != nil {
		return nil, err
	}
	defer s.inflight.Done()
	rctx, cancel := s.closable(ctx)
	defer cancel()

	recs, err := s.readAll(rctx, c, after, limit)
	if err != nil {
		return nil, s.fail(ctx, c, "read all", err)
	}
	return recs, nil
}

// readAll reads up to limit Vitals records after `after` from $all,
// paging past system events and other applications' streams. Forward
// reads of $all include the record at their start position; it is
// dropped with everything else not after `after`.
func (s *Store) readAll(ctx context.Context, c *esdb.Client, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	var recs []eventstore.Record
	from := startOf(after)
	for len(recs) < limit {
		page := uint64(min(max(limit-len(recs)+1, 64), 4096))
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: from}, page)
		if err != nil {
			return nil, err
		}
		n, last, _, err := s.scan(rs, func(r eventstore.Record) bool {
			if r.Position > after {
				recs = append(recs, r)
				after = r.Position
			}
			return len(recs) < limit
		})
		rs.Close()
		if err != nil {
			return nil, err
		}
		if uint64(n) < page {
			break // the end of the log
		}
		from = last
	}
	if len(recs) > limit {
		recs = recs[:limit]
	}
	return recs, nil
}
