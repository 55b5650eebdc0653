package esdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/rs/zerolog"
	"google.golang.org/grpc/metadata"

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
	// CallTimeout bounds every call to the server (default 10s, the
	// client's own default deadline). A call the client does not
	// return from in time fails with eventstore.ErrUnavailable and the
	// client is replaced (see the package documentation).
	CallTimeout time.Duration
	// CloseTimeout bounds how long Close waits for the calls in flight
	// (default CallTimeout plus one second).
	CloseTimeout time.Duration
	// MaxAppendSize and MaxAppendEventSize are the server's limits on
	// one append and one event (its MaxAppendSize, default 1 MiB, and
	// MaxAppendEventSize, default none: 0). Requests over them fail
	// with eventstore.ErrInvalid before anything is sent. An event's
	// size is measured as the server does: data, metadata and twice the
	// type's length.
	MaxAppendSize, MaxAppendEventSize int
}

// DefaultMaxAppendSize is the server's default MaxAppendSize (1 MiB).
const DefaultMaxAppendSize = 1 << 20

// stuckGrace is how long a call may outlive its deadline before it is
// considered stuck inside the client.
const stuckGrace = 500 * time.Millisecond

// Store is the EventStoreDB/KurrentDB eventstore.Store. Create it with
// Open; it is safe for concurrent use.
type Store struct {
	cfg      esdb.Configuration // to make a new client after the old one gave up
	ns       uuid.UUID
	prefix   string
	window   int
	retry    [2]time.Duration
	timeout  [2]time.Duration // CallTimeout, CloseTimeout
	maxSize  [2]int           // MaxAppendSize, MaxAppendEventSize
	log      zerolog.Logger
	head     headCache
	closeErr error

	// mu guards closed, client and the registration of calls in
	// inflight: Close waits for the calls to finish before it closes
	// the client, which panics when used after Close.
	mu       sync.RWMutex
	closed   bool
	client   *conn
	inflight sync.WaitGroup
	done     context.Context // ends when Close starts: reads and subscriptions stop
	stop     context.CancelFunc
	once     sync.Once
}

// conn is one client and what the Store knows about it.
type conn struct {
	c *esdb.Client
	// calls counts the calls using c; a retired client is closed when
	// the last one ends.
	calls   atomic.Int64
	retired atomic.Bool
	// stuck is set when a call never returned from c: the v4 client
	// then blocks sending on a channel that closing it would close,
	// which would panic that goroutine, so c is never closed.
	stuck atomic.Bool
	once  sync.Once
}

// closeIfIdle closes c when it is retired, idle and not stuck.
func (c *conn) closeIfIdle() {
	if c.retired.Load() && c.calls.Load() == 0 && !c.stuck.Load() {
		c.once.Do(func() { c.c.Close() })
	}
}

// release ends one call on c.
func (c *conn) release() {
	c.calls.Add(-1)
	c.closeIfIdle()
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
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = 10 * time.Second
	}
	if opts.CloseTimeout <= 0 {
		opts.CloseTimeout = opts.CallTimeout + time.Second
	}
	if opts.MaxAppendSize <= 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	// Appends must reach the leader, and so must the reads that check
	// them: a follower's replica may lag.
	if cfg.NodePreference != esdb.NodePreferenceLeader {
		return nil, fmt.Errorf("esdb: connection string: nodePreference=%s: Vitals writes, and reads its writes back, on the leader; "+
			"use nodePreference=leader (the default): %w", cfg.NodePreference, eventstore.ErrInvalid)
	}
	log := opts.Logger.With().Str("store", "esdb").Logger()
	cfg.Logger = clientLogger(log)

	s := &Store{
		cfg:     *cfg,
		ns:      uuid.MustParse(KeyNamespace),
		prefix:  opts.StreamPrefix,
		window:  opts.DedupeWindow,
		retry:   [2]time.Duration{opts.RetryMin, opts.RetryMax},
		timeout: [2]time.Duration{opts.CallTimeout, opts.CloseTimeout},
		maxSize: [2]int{opts.MaxAppendSize, opts.MaxAppendEventSize},
		log:     log,
	}
	s.done, s.stop = context.WithCancel(context.Background())
	c, err := esdb.NewClient(cfg)
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("esdb: %w", err)
	}
	s.client = &conn{c: c}
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
// for the calls in flight to finish (each is bounded by
// Options.CallTimeout; Close waits Options.CloseTimeout at most) and
// closes the connection. A client that a call never returned from is not
// closed (see the package documentation); Close then says so in its
// error. Calling Close again does nothing and returns the same error.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.stop()
		cl := s.client
		s.mu.Unlock()
		idle := make(chan struct{})
		go func() { s.inflight.Wait(); close(idle) }()
		t := time.NewTimer(s.timeout[1])
		defer t.Stop()
		select {
		case <-idle:
		case <-t.C:
			s.closeErr = fmt.Errorf("esdb: close: calls still in flight after %s; their client is left open", s.timeout[1])
		}
		cl.retired.Store(true)
		cl.closeIfIdle()
		if cl.stuck.Load() {
			s.closeErr = errors.Join(s.closeErr, errors.New("esdb: close: a call never returned from the client; it is left open (see the esdb package documentation)"))
		}
	})
	return s.closeErr
}

// begin registers a call and returns the client to make it with; the
// caller must call s.end(c) when the call is over.
func (s *Store) begin(op string) (*conn, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed(op)
	}
	s.inflight.Add(1)
	s.client.calls.Add(1)
	return s.client, nil
}

// end ends a call begun with begin.
func (s *Store) end(c *conn) {
	c.release()
	s.inflight.Done()
}

// isClosed reports whether Close has been called.
func (s *Store) isClosed() bool { return s.done.Err() != nil }

// closable returns a context that also ends when the store closes.
func (s *Store) closable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.done, cancel)
	return ctx, func() { stop(); cancel() }
}

// leader marks a call as one the leader must serve. The v4 client's own
// requires-leader option puts the header into incoming metadata, which a
// client never sends, so it is added here to every call.
func leader(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "requires-leader", "true")
}

// errStuck is the error of a call that never returned from the client.
var errStuck = errors.New("the client did not return from the call")

// call runs fn with client c, bounded: fn gets a context that requires
// the leader, ends when the store closes and, unless streaming is set,
// has Options.CallTimeout as its deadline. When fn has not returned
// stuckGrace after the deadline (the v4 client can block for good, see
// the package documentation) call gives up on it: c is marked stuck and
// replaced, and the error wraps errStuck. A not-leader answer is retried
// once: the client has then already reconnected to the leader the
// follower named.
func (s *Store) call(ctx context.Context, c *conn, streaming bool, fn func(ctx context.Context, c *esdb.Client) error) error {
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		err = s.callOnce(ctx, c, streaming, fn)
		if !hasCode(err, esdb.ErrorCodeNotLeader) || ctx.Err() != nil {
			return err
		}
		s.log.Debug().Err(err).Msg("the node is not the leader; retrying on the leader")
	}
	return err
}

// callOnce is one attempt of call.
func (s *Store) callOnce(ctx context.Context, c *conn, streaming bool, fn func(ctx context.Context, c *esdb.Client) error) error {
	// A streaming call's context is the caller's (already closable): it
	// lives as long as the stream.
	cctx, cancel := leader(ctx), context.CancelFunc(func() {})
	if !streaming {
		cctx, cancel = s.closable(cctx)
		var cancelT context.CancelFunc
		cctx, cancelT = context.WithTimeout(cctx, s.timeout[0])
		defer cancelT()
	}
	done := make(chan error, 1)
	go func() { done <- fn(cctx, c.c) }()
	t := time.NewTimer(s.timeout[0] + stuckGrace)
	defer t.Stop()
	select {
	case err := <-done:
		cancel()
		return err
	case <-t.C:
	case <-cctx.Done():
		// The client honours the context except when it is stuck.
		t.Reset(stuckGrace)
		select {
		case err := <-done:
			cancel()
			return err
		case <-t.C:
		}
	}
	cancel()
	c.stuck.Store(true)
	s.renew(c)
	s.log.Error().Msg("a call never returned from the client (a known v4 client defect); the client is replaced and left open")
	return fmt.Errorf("%w within %s", errStuck, s.timeout[0]+stuckGrace)
}

// fail turns the error of a client call made for ctx into the error the
// caller gets: the context's error when ctx is done, ErrClosed when the
// store closed during the call, a sentinel otherwise. When the client
// gave up on the connection for good it is replaced, so the next call
// connects afresh.
func (s *Store) fail(ctx context.Context, c *conn, op string, err error) error {
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

// renew replaces the client old, which closed itself (the v4 client stops
// for good when a discovery fails, for example while the server restarts)
// or has a call stuck in it. The old client is closed once its last call
// ends, unless a call is stuck in it.
func (s *Store) renew(old *conn) {
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
	s.client = &conn{c: c}
	old.retired.Store(true)
	old.closeIfIdle()
}

// errClosed is eventstore.ErrClosed with the operation's name.
func errClosed(op string) error {
	return fmt.Errorf("esdb: %s: %w", op, eventstore.ErrClosed)
}

// name is the server's name of a Vitals stream.
func (s *Store) name(stream string) string { return s.prefix + stream }

// Head implements eventstore.Store. It reads $all backwards from its end,
// but never past the newest record an earlier call (or an append, read or
// subscription of this Store) already looked at: the log before that has
// no Vitals record newer than the head already known. The first call
// after Open reads back to the last Vitals record; later ones read only
// what was committed since, starting with a single event.
func (s *Store) Head(ctx context.Context) (eventstore.Position, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	c, err := s.begin("head")
	if err != nil {
		return 0, err
	}
	defer s.end(c)

	known, floor := s.head.get()
	var top uint64 // offset of the newest event read
	found := eventstore.Position(0)
	var from esdb.AllPosition = esdb.End{}
	page := uint64(1) // most calls find nothing new: one event settles it
	for first := true; ; first = false {
		var evs []*esdb.RecordedEvent
		err := s.call(ctx, c, false, func(ctx context.Context, cl *esdb.Client) error {
			var err error
			evs, err = readEvents(cl.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page))
			return err
		})
		if err != nil {
			return 0, s.fail(ctx, c, "head", err)
		}
		if first && len(evs) > 0 {
			top = evs[0].Position.Commit
		}
		done := uint64(len(evs)) < page
		for _, ev := range evs {
			if floor.ok && ev.Position.Commit <= floor.offset {
				done = true
				break
			}
			r, ok, err := toRecord(s.prefix, ev)
			if err != nil {
				return 0, s.fail(ctx, c, "head", err)
			}
			if ok {
				found, done = r.Position, true
				break
			}
		}
		if done {
			break
		}
		// Backwards reads exclude the record at the position they start from.
		from = evs[len(evs)-1].Position
		page = 256
	}
	head := max(found, known)
	if top > 0 || floor.ok {
		s.head.set(head, top)
	}
	return head, nil
}

// headCache is what Head already knows: the newest Vitals record seen and
// the newest log offset up to which the log was searched for one.
type headCache struct {
	mu    sync.Mutex
	known eventstore.Position
	floor offset
}

// offset is a log offset that may be unset.
type offset struct {
	offset uint64
	ok     bool
}

func (h *headCache) get() (eventstore.Position, offset) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.known, h.floor
}

// set records that the log up to offset top holds no Vitals record after
// known.
func (h *headCache) set(known eventstore.Position, top uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.known = max(h.known, known)
	if !h.floor.ok || top > h.floor.offset {
		h.floor = offset{top, true}
	}
}

// note records a Vitals record seen by an append, read or subscription.
func (h *headCache) note(p eventstore.Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.known = max(h.known, p)
}

// readEvents reads rs to its end; a nil event is skipped.
func readEvents(rs *esdb.ReadStream, err error) ([]*esdb.RecordedEvent, error) {
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var evs []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return evs, nil
		}
		if err != nil {
			return nil, err
		}
		if raw := ev.OriginalEvent(); raw != nil {
			evs = append(evs, raw)
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
	defer s.end(c)
	rs, err := s.streamEvents(ctx, c, stream, o, count)
	if err != nil && !errors.Is(err, eventstore.ErrStreamNotFound) {
		return nil, s.fail(ctx, c, op, err)
	}
	return records(rs), err
}

// stored is a Vitals record with the attempt token of the append that
// wrote it ("" for records written before tokens).
type stored struct {
	eventstore.Record
	attempt string
}

// records drops the attempt tokens.
func records(rs []stored) []eventstore.Record {
	if rs == nil {
		return nil
	}
	out := make([]eventstore.Record, len(rs))
	for i, r := range rs {
		out[i] = r.Record
	}
	return out
}

// streamEvents reads up to count Vitals records of stream with client c.
// A missing stream is eventstore.ErrStreamNotFound (the client reports
// it on the first Recv, not on the ReadStream call); other errors are the
// client's, for the caller to pass to fail.
func (s *Store) streamEvents(ctx context.Context, c *conn, stream string, o esdb.ReadStreamOptions, count uint64) ([]stored, error) {
	var evs []*esdb.RecordedEvent
	err := s.call(ctx, c, false, func(ctx context.Context, cl *esdb.Client) error {
		var err error
		evs, err = readEvents(cl.ReadStream(ctx, s.name(stream), o, count))
		return err
	})
	if err != nil {
		if hasCode(err, esdb.ErrorCodeResourceNotFound) {
			return nil, fmt.Errorf("esdb: stream %q: %w", stream, eventstore.ErrStreamNotFound)
		}
		return nil, err
	}
	var recs []stored
	for _, ev := range evs {
		r, ok, err := toRecord(s.prefix, ev)
		if err != nil {
			return nil, err
		}
		if ok {
			recs = append(recs, stored{Record: r, attempt: attemptOf(ev.UserMetadata)})
			s.head.note(r.Position)
		}
	}
	return recs, nil
}

// ReadAll implements eventstore.Store. after must be 0, a position this
// store returned, or one less than such a position (see the package
// documentation); the server rejects a read that starts inside a record
// (eventstore.ErrInvalid).
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
	defer s.end(c)

	recs, err := s.readAll(ctx, c, after, limit)
	if err != nil {
		return nil, s.fail(ctx, c, fmt.Sprintf("read all after %d", after), err)
	}
	return recs, nil
}

// readAll reads up to limit Vitals records after `after` from $all,
// paging past system events and other applications' streams. Forward
// reads of $all include the record at their start position; it is
// dropped with everything else not after `after`.
func (s *Store) readAll(ctx context.Context, c *conn, after eventstore.Position, limit int) ([]eventstore.Record, error) {
	var recs []eventstore.Record
	from := startOf(after)
	for len(recs) < limit {
		page := uint64(min(max(limit-len(recs)+1, 64), 4096))
		var evs []*esdb.RecordedEvent
		err := s.call(ctx, c, false, func(ctx context.Context, cl *esdb.Client) error {
			var err error
			evs, err = readEvents(cl.ReadAll(ctx, esdb.ReadAllOptions{From: from}, page))
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			r, ok, err := toRecord(s.prefix, ev)
			if err != nil {
				return nil, err
			}
			if ok && r.Position > after && len(recs) < limit {
				recs = append(recs, r)
				after = r.Position
				s.head.note(r.Position)
			}
		}
		if uint64(len(evs)) < page {
			break // the end of the log
		}
		from = evs[len(evs)-1].Position
	}
	return recs, nil
}
