// Package esdbtest is a protocol-level stand-in for an EventStoreDB /
// KurrentDB cluster, for tests that cannot run a real server.
//
// It serves the gRPC services the v4 client uses (Streams Append and Read,
// ServerFeatures, Gossip), built from the client's own generated protos, on
// loopback listeners, and reproduces the server behaviours the esdb adapter
// depends on, as the server's source implements them:
//
//   - Positions are byte offsets in one transaction log: they grow but are
//     not consecutive, and a read of $all must start where a record begins
//     ("Trying to read from an invalid position" otherwise).
//   - Idempotent writes: with an expected revision (or no stream) the
//     proposed event ids are compared with the events after it, and with
//     any / stream exists a bounded cache of recent event ids is
//     consulted. A recognised retry writes nothing and is answered with
//     success, the stream's current revision and the log position of the
//     original events (current servers; Options.NoPositionOnRetry answers
//     as older servers did, without a position). A retry of which only
//     some ids match fails as a wrong expected version.
//   - Wrong expected versions are answered in the append response.
//   - Leadership: node 0 is the leader, the others are followers. A
//     follower forwards writes to the leader and serves reads from its
//     own replica, which lags while replication is paused; a call with
//     the "requires-leader: true" header to a follower fails with the
//     not-leader exception naming the leader's endpoint.
//   - Limits and permanent failures: the maximum append size (sum over the
//     events of data, metadata and twice the type's length; 1 MiB by
//     default) and the optional maximum event size, deleted (tombstoned)
//     streams, access denied, each with the server's status code and
//     exception trailer.
//   - Faults: a Hook runs before each call and again after an append
//     committed, so a test can delay, fail or hold a call (a deadline
//     after commit, a commit timeout); DropSubscriptions ends the live
//     subscriptions as a dropped connection does.
//
// It is a test double, not a database: everything is in memory, there is
// one log shared by all nodes, and subscriptions send no checkpoints.
package esdbtest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/gossip"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
)

// DefaultMaxAppendSize is the server's default maximum size of one append
// (1 MiB).
const DefaultMaxAppendSize = 1 << 20

// Options configure a Server. The zero value is one node with the
// server's defaults.
type Options struct {
	// Nodes is the number of nodes (default 1). Node 0 starts as the
	// leader.
	Nodes int
	// MaxAppendSize limits one append (default DefaultMaxAppendSize).
	MaxAppendSize int
	// MaxAppendEventSize limits one event (0: no limit, as by default).
	MaxAppendEventSize int
	// IDCache is how many recent event ids the idempotency check of
	// appends with any / stream exists remembers (default 1000).
	IDCache int
	// NoPositionOnRetry answers a recognised retry without a log
	// position, as servers before the idempotency fix did.
	NoPositionOnRetry bool
	// Version is what ServerFeatures reports (default "24.10.0").
	Version string
}

// Call describes a call for a Hook.
type Call struct {
	// Node is the index of the node that received the call.
	Node int
	// Method is "append", "read", "subscribe", "features" or "gossip".
	Method string
	// Stream is the stream of an append or a stream read ("" for $all).
	Stream string
	// Committed is true when the hook runs after an append committed
	// (its error then replaces the success answer; the write stays).
	Committed bool
}

// Hook runs before each call (and after each committed append); a
// non-nil error, typically a status error, is the call's answer. It may
// block, for example until ctx (the call's context) ends.
type Hook func(ctx context.Context, c Call) error

// Server is a running test cluster. Close it when done (Start registers
// that with t.Cleanup).
type Server struct {
	opts  Options
	nodes []*node

	mu       sync.Mutex
	log      []*event           // committed events in log order
	streams  map[string]*stream // by name
	ids      map[uuid.UUID]*event
	idOrder  []uuid.UUID // for evicting the id cache, oldest first
	next     uint64      // log offset of the next record
	leader   int
	paused   bool
	replica  int           // followers see log[:replica] while paused
	changed  chan struct{} // closed and replaced when the log grows
	hook     Hook
	dropped  chan struct{} // closed and replaced by DropSubscriptions
	sent     int           // events sent by reads (not subscriptions)
	denied   map[string]bool
	requests []map[string]bool // per node: saw requires-leader on "method"
}

type node struct {
	idx  int
	lis  net.Listener
	grpc *grpc.Server
	host string
	port int
}

// event is a committed record.
type event struct {
	id       uuid.UUID
	stream   string
	revision uint64
	offset   uint64
	typ      string
	content  string
	data     []byte
	meta     []byte
	created  int64 // .NET ticks since the Unix epoch
}

type stream struct {
	events     []*event
	tombstoned bool
}

// Start runs a server with opts on loopback listeners and closes it when
// t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("esdbtest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// New runs a server with opts on loopback listeners.
func New(opts Options) (*Server, error) {
	if opts.Nodes <= 0 {
		opts.Nodes = 1
	}
	if opts.MaxAppendSize <= 0 {
		opts.MaxAppendSize = DefaultMaxAppendSize
	}
	if opts.IDCache <= 0 {
		opts.IDCache = 1000
	}
	if opts.Version == "" {
		opts.Version = "24.10.0"
	}
	s := &Server{
		opts:    opts,
		streams: make(map[string]*stream),
		ids:     make(map[uuid.UUID]*event),
		changed: make(chan struct{}),
		dropped: make(chan struct{}),
		denied:  make(map[string]bool),
		next:    0,
	}
	// A real log never starts empty: the server writes its own records
	// (epochs, system streams) first.
	s.commitLocked("$scavenges", "$scavengeIndexInitialized", nil, nil)
	for i := range opts.Nodes {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("listen: %w", err)
		}
		addr := lis.Addr().(*net.TCPAddr)
		n := &node{idx: i, lis: lis, grpc: grpc.NewServer(), host: addr.IP.String(), port: addr.Port}
		streams.RegisterStreamsServer(n.grpc, &streamsService{s: s, n: n})
		gossip.RegisterGossipServer(n.grpc, &gossipService{s: s, n: n})
		serverfeatures.RegisterServerFeaturesServer(n.grpc, &featuresService{s: s, n: n})
		s.nodes = append(s.nodes, n)
		s.requests = append(s.requests, make(map[string]bool))
		go n.grpc.Serve(lis)
	}
	return s, nil
}

// Close stops every node.
func (s *Server) Close() {
	for _, n := range s.nodes {
		n.grpc.Stop()
	}
}

// Addr is node i's address, host:port.
func (s *Server) Addr(i int) string {
	return net.JoinHostPort(s.nodes[i].host, strconv.Itoa(s.nodes[i].port))
}

// URL is a connection string for node i alone (no discovery), with the
// given extra settings (for example "maxDiscoverAttempts=1").
func (s *Server) URL(i int, settings string) string {
	u := "esdb://" + s.Addr(i) + "?tls=false"
	if settings != "" {
		u += "&" + settings
	}
	return u
}

// ClusterURL is a connection string that discovers the cluster through
// gossip from every node.
func (s *Server) ClusterURL(settings string) string {
	u := "esdb://"
	for i := range s.nodes {
		if i > 0 {
			u += ","
		}
		u += s.Addr(i)
	}
	u += "?tls=false"
	if settings != "" {
		u += "&" + settings
	}
	return u
}

// SetHook installs h (nil removes it).
func (s *Server) SetHook(h Hook) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// PauseReplication freezes the followers' replica at the current log.
func (s *Server) PauseReplication() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.paused {
		s.paused, s.replica = true, len(s.log)
	}
}

// ResumeReplication lets the followers see the whole log again.
func (s *Server) ResumeReplication() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.paused = false
}

// SetLeader makes node i the leader and the others followers.
func (s *Server) SetLeader(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leader = i
}

// Deny makes every call on stream (a server stream name) fail with
// access denied.
func (s *Server) Deny(stream string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[stream] = true
}

// Tombstone deletes stream for good: reads and appends fail with the
// stream-deleted exception.
func (s *Server) Tombstone(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.streams[name]
	if st == nil {
		st = &stream{}
		s.streams[name] = st
	}
	st.tombstoned = true
}

// DropSubscriptions ends every live subscription with the status a
// dropped connection gives (Unavailable).
func (s *Server) DropSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.dropped)
	s.dropped = make(chan struct{})
}

// Write appends foreign events (not written by Vitals) to stream, as
// another application or the server itself does.
func (s *Server) Write(stream, typ string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.commitLocked(stream, typ, []byte(`{}`), nil)
	}
}

// EventsRead is how many events reads (not subscriptions) have sent so
// far, on every node.
func (s *Server) EventsRead() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// SawRequiresLeader reports whether node i received a call of method
// ("append", "read", "subscribe") with the requires-leader header.
func (s *Server) SawRequiresLeader(i int, method string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i][method]
}

// Count is the number of events of stream (a server stream name),
// whatever a follower sees.
func (s *Server) Count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.streams[name]; st != nil {
		return len(st.events)
	}
	return 0
}

// commitLocked appends one event to the log.
func (s *Server) commitLocked(name, typ string, data, meta []byte) *event {
	st := s.streams[name]
	if st == nil {
		st = &stream{}
		s.streams[name] = st
	}
	ev := &event{
		id: uuid.New(), stream: name, revision: uint64(len(st.events)), offset: s.next,
		typ: typ, content: "application/json", data: data, meta: meta, created: time.Now().UnixNano() / 100,
	}
	s.addLocked(st, ev)
	return ev
}

// addLocked stores ev at the end of the log and of st.
func (s *Server) addLocked(st *stream, ev *event) {
	// A prepare record has a header, the stream name, the type, the
	// data and the metadata: offsets are far from consecutive.
	s.next += uint64(64 + len(ev.stream) + len(ev.typ) + len(ev.data) + len(ev.meta))
	s.log = append(s.log, ev)
	st.events = append(st.events, ev)
	s.ids[ev.id] = ev
	s.idOrder = append(s.idOrder, ev.id)
	for len(s.idOrder) > s.opts.IDCache {
		delete(s.ids, s.idOrder[0])
		s.idOrder = s.idOrder[1:]
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// view is the part of the log node n serves reads from.
func (s *Server) viewLocked(n *node) []*event {
	if n.idx != s.leader && s.paused {
		return s.log[:s.replica]
	}
	return s.log
}

// runHook runs the hook, if any, outside the lock.
func (s *Server) runHook(ctx context.Context, c Call) error {
	s.mu.Lock()
	h := s.hook
	s.mu.Unlock()
	if h == nil {
		return nil
	}
	return h(ctx, c)
}
