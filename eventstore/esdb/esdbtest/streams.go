package esdbtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// The server's exception trailer and its values.
const (
	exceptionKey = "exception"
	notLeader    = "not-leader"
)

// rpcError is a status error with the server's exception trailers, which
// grpc sends with the status.
func rpcError(ctx context.Context, code codes.Code, msg string, trailer ...string) error {
	if len(trailer) > 0 {
		_ = grpc.SetTrailer(ctx, metadata.Pairs(trailer...))
	}
	return status.Error(code, msg)
}

// TimeoutError is the server's answer when a write's commit or prepare
// timed out (the write may still have been committed): status Aborted,
// "Operation timed out: …".
func TimeoutError(what string) error {
	return status.Error(codes.Aborted, "Operation timed out: "+what)
}

// Unavailable is the status of a dropped connection or a node that is not
// ready.
func Unavailable() error {
	return status.Error(codes.Unavailable, "Server Is Not Ready")
}

type streamsService struct {
	streams.UnimplementedStreamsServer
	s *Server
	n *node
}

// requiresLeader reports whether the call carries "requires-leader: true"
// and records that it did.
func (ss *streamsService) requiresLeader(ctx context.Context, method string) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	v := md.Get("requires-leader")
	yes := len(v) > 0 && v[0] == "true"
	if yes {
		ss.s.mu.Lock()
		ss.s.requests[ss.n.idx][method] = true
		ss.s.mu.Unlock()
	}
	return yes
}

// leaderCheck is the not-leader exception when a call that requires the
// leader reaches a follower.
func (ss *streamsService) leaderCheck(ctx context.Context, requires bool) error {
	ss.s.mu.Lock()
	leader := ss.s.nodes[ss.s.leader]
	isLeader := ss.s.leader == ss.n.idx
	ss.s.mu.Unlock()
	if !requires || isLeader {
		return nil
	}
	return rpcError(ctx, codes.NotFound, "Leader info available",
		exceptionKey, notLeader, "leader-endpoint-host", leader.host, "leader-endpoint-port", strconv.Itoa(leader.port))
}

// proposed is one event of an append.
type proposed struct {
	id   uuid.UUID
	typ  string
	ct   string
	data []byte
	meta []byte
}

// Append implements the Streams Append call: a header with the stream
// and its expected revision, then the proposed events.
func (ss *streamsService) Append(as streams.Streams_AppendServer) error {
	ctx := as.Context()
	requires := ss.requiresLeader(ctx, "append")
	req, err := as.Recv()
	if err != nil {
		return err
	}
	opts := req.GetOptions()
	if opts == nil || opts.GetStreamIdentifier() == nil {
		return status.Error(codes.InvalidArgument, "the first message of an append must be its options")
	}
	name := string(opts.GetStreamIdentifier().GetStreamName())
	var evs []proposed
	for {
		req, err := as.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		m := req.GetProposedMessage()
		if m == nil {
			return status.Error(codes.InvalidArgument, "expected a proposed message")
		}
		id, err := parseID(m.GetId())
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		typ := m.GetMetadata()["type"]
		if typ == "" {
			return rpcError(ctx, codes.InvalidArgument, "Required Metadata Property 'type' is missing",
				exceptionKey, "missing-required-metadata-property")
		}
		evs = append(evs, proposed{id: id, typ: typ, ct: m.GetMetadata()["content-type"], data: m.GetData(), meta: m.GetCustomMetadata()})
	}
	if err := ss.s.runHook(ctx, Call{Node: ss.n.idx, Method: "append", Stream: name}); err != nil {
		return err
	}
	// A follower forwards a write to the leader unless the client
	// requires the leader.
	if err := ss.leaderCheck(ctx, requires); err != nil {
		return err
	}
	if err := ss.s.checkSizes(ctx, evs); err != nil {
		return err
	}
	resp, err := ss.s.write(ctx, name, opts, evs)
	if err != nil {
		return err
	}
	if err := ss.s.runHook(ctx, Call{Node: ss.n.idx, Method: "append", Stream: name, Committed: true}); err != nil {
		return err
	}
	return as.SendAndClose(resp)
}

// checkSizes applies the maximum event size and the maximum append size,
// with the server's measure of an event: data, metadata and twice the
// type's length.
func (s *Server) checkSizes(ctx context.Context, evs []proposed) error {
	total := 0
	for _, ev := range evs {
		size := len(ev.data) + len(ev.meta) + 2*len(ev.typ)
		if s.opts.MaxAppendEventSize > 0 && size > s.opts.MaxAppendEventSize {
			return rpcError(ctx, codes.InvalidArgument,
				fmt.Sprintf("Event with Id: %s, Size: %d, exceeds Maximum Append Event Size of %d.", ev.id, size, s.opts.MaxAppendEventSize),
				exceptionKey, "maximum-append-event-size-exceeded",
				"maximum-append-event-size", strconv.Itoa(s.opts.MaxAppendEventSize),
				"event-id", ev.id.String(), "proposed-append-event-size", strconv.Itoa(size))
		}
		total += size
	}
	if total > s.opts.MaxAppendSize {
		return rpcError(ctx, codes.InvalidArgument, fmt.Sprintf("Maximum Append Size of %d Exceeded.", s.opts.MaxAppendSize),
			exceptionKey, "maximum-append-size-exceeded", "maximum-append-size", strconv.Itoa(s.opts.MaxAppendSize))
	}
	return nil
}

// Expected revisions in the server's terms.
const (
	expectAny          = -2
	expectNoStream     = -1
	expectStreamExists = -4
)

// expected returns the expected revision of an append header.
func expected(opts *streams.AppendReq_Options) int64 {
	switch opts.GetExpectedStreamRevision().(type) {
	case *streams.AppendReq_Options_Any:
		return expectAny
	case *streams.AppendReq_Options_NoStream:
		return expectNoStream
	case *streams.AppendReq_Options_StreamExists:
		return expectStreamExists
	}
	return int64(opts.GetRevision())
}

// write decides and commits an append as the server's commit check does.
func (s *Server) write(ctx context.Context, name string, opts *streams.AppendReq_Options, evs []proposed) (*streams.AppendResp, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.denied[name] {
		return nil, rpcError(ctx, codes.PermissionDenied, "Access Denied", exceptionKey, "access-denied")
	}
	st := s.streams[name]
	if st == nil {
		st = &stream{}
	}
	if st.tombstoned {
		return nil, rpcError(ctx, codes.FailedPrecondition, fmt.Sprintf("Event stream '%s' is deleted.", name),
			exceptionKey, "stream-deleted", "stream-name", name)
	}
	exp := expected(opts)
	cur := int64(len(st.events)) - 1
	ids := make([]uuid.UUID, len(evs))
	for i, ev := range evs {
		ids[i] = ev.id
	}

	switch {
	case exp == expectAny || (exp == expectStreamExists && cur >= 0):
		// The cache of recent ids: a retry whose first id is
		// remembered for this stream is idempotent when every id
		// follows in order.
		if first := s.ids[ids[0]]; first != nil && first.stream == name {
			if orig := matchFrom(st, int64(first.revision), ids); orig != nil {
				return s.idempotent(orig), nil
			}
			return wrongVersion(exp, cur), nil
		}
	case exp == expectStreamExists:
		return wrongVersion(exp, cur), nil
	case exp < cur:
		// Events after the expected revision: an exact retry writes
		// nothing; anything else is a wrong expected version.
		if orig := matchFrom(st, exp+1, ids); orig != nil {
			return s.idempotent(orig), nil
		}
		return wrongVersion(exp, cur), nil
	case exp > cur:
		return wrongVersion(exp, cur), nil
	}
	if s.streams[name] == nil {
		s.streams[name] = st
	}
	var first *event
	now := time.Now().UnixNano() / 100
	for _, p := range evs {
		ev := &event{id: p.id, stream: name, revision: uint64(len(st.events)), offset: s.next,
			typ: p.typ, content: p.ct, data: p.data, meta: p.meta, created: now}
		s.addLocked(st, ev)
		if first == nil {
			first = ev
		}
	}
	last := st.events[len(st.events)-1]
	return success(last.revision, first.offset, true), nil
}

// matchFrom returns the events of st from revision from on whose ids are
// ids, in order, or nil when they are not all there.
func matchFrom(st *stream, from int64, ids []uuid.UUID) []*event {
	if from < 0 || from+int64(len(ids)) > int64(len(st.events)) {
		return nil
	}
	orig := st.events[from : from+int64(len(ids))]
	for i, ev := range orig {
		if ev.id != ids[i] {
			return nil
		}
	}
	return orig
}

// idempotent is the answer to a recognised retry: success with the
// revision of the original last event and, on current servers, the log
// position of the original write.
func (s *Server) idempotent(orig []*event) *streams.AppendResp {
	return success(orig[len(orig)-1].revision, orig[0].offset, !s.opts.NoPositionOnRetry)
}

func success(revision, position uint64, withPosition bool) *streams.AppendResp {
	ok := &streams.AppendResp_Success{
		CurrentRevisionOption: &streams.AppendResp_Success_CurrentRevision{CurrentRevision: revision},
		PositionOption:        &streams.AppendResp_Success_NoPosition{NoPosition: &shared.Empty{}},
	}
	if withPosition {
		ok.PositionOption = &streams.AppendResp_Success_Position{
			Position: &streams.AppendResp_Position{CommitPosition: position, PreparePosition: position}}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_Success_{Success: ok}}
}

func wrongVersion(exp, cur int64) *streams.AppendResp {
	w := &streams.AppendResp_WrongExpectedVersion{}
	if cur < 0 {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentNoStream{CurrentNoStream: &shared.Empty{}}
	} else {
		w.CurrentRevisionOption = &streams.AppendResp_WrongExpectedVersion_CurrentRevision{CurrentRevision: uint64(cur)}
	}
	switch exp {
	case expectAny:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedAny{ExpectedAny: &shared.Empty{}}
	case expectNoStream:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedNoStream{ExpectedNoStream: &shared.Empty{}}
	case expectStreamExists:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedStreamExists{ExpectedStreamExists: &shared.Empty{}}
	default:
		w.ExpectedRevisionOption = &streams.AppendResp_WrongExpectedVersion_ExpectedRevision{ExpectedRevision: uint64(exp)}
	}
	return &streams.AppendResp{Result: &streams.AppendResp_WrongExpectedVersion_{WrongExpectedVersion: w}}
}

// parseID reads a proposed event's id.
func parseID(id *shared.UUID) (uuid.UUID, error) {
	if st := id.GetStructured(); st != nil {
		var b [16]byte
		for i := range 8 {
			b[i] = byte(uint64(st.GetMostSignificantBits()) >> (56 - 8*i))
			b[8+i] = byte(uint64(st.GetLeastSignificantBits()) >> (56 - 8*i))
		}
		return uuid.UUID(b), nil
	}
	return uuid.Parse(id.GetString_())
}

// toProto is the wire form of a recorded event.
func toProto(ev *event) *streams.ReadResp {
	var most, least uint64
	for i := range 8 {
		most = most<<8 | uint64(ev.id[i])
		least = least<<8 | uint64(ev.id[8+i])
	}
	return &streams.ReadResp{Content: &streams.ReadResp_Event{Event: &streams.ReadResp_ReadEvent{
		Event: &streams.ReadResp_ReadEvent_RecordedEvent{
			Id: &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
				MostSignificantBits: int64(most), LeastSignificantBits: int64(least)}}},
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(ev.stream)},
			StreamRevision:   ev.revision,
			PreparePosition:  ev.offset,
			CommitPosition:   ev.offset,
			Metadata: map[string]string{
				"type": ev.typ, "content-type": ev.content, "created": strconv.FormatInt(ev.created, 10),
			},
			CustomMetadata: ev.meta,
			Data:           ev.data,
		},
		Position: &streams.ReadResp_ReadEvent_CommitPosition{CommitPosition: ev.offset},
	}}}
}

// Read implements the Streams Read call: a read of a stream or of $all,
// or a subscription.
func (ss *streamsService) Read(req *streams.ReadReq, rs streams.Streams_ReadServer) error {
	ctx := rs.Context()
	o := req.GetOptions()
	method := "read"
	if o.GetSubscription() != nil {
		method = "subscribe"
	}
	requires := ss.requiresLeader(ctx, method)
	name := string(o.GetStream().GetStreamIdentifier().GetStreamName())
	if err := ss.s.runHook(ctx, Call{Node: ss.n.idx, Method: method, Stream: name}); err != nil {
		return err
	}
	if err := ss.leaderCheck(ctx, requires); err != nil {
		return err
	}
	if method == "subscribe" {
		return ss.subscribe(ctx, o, rs)
	}
	evs, err := ss.s.read(ctx, ss.n, o)
	if err != nil {
		return err
	}
	if evs == nil && o.GetStream() != nil {
		return rs.Send(&streams.ReadResp{Content: &streams.ReadResp_StreamNotFound_{StreamNotFound: &streams.ReadResp_StreamNotFound{
			StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(name)}}}})
	}
	for _, ev := range evs {
		if err := rs.Send(toProto(ev)); err != nil {
			return err
		}
		ss.s.mu.Lock()
		ss.s.sent++
		ss.s.mu.Unlock()
	}
	return nil
}

// read returns the events a read asks for, from the node's view; nil for
// a stream that does not exist there.
func (s *Server) read(ctx context.Context, n *node, o *streams.ReadReq_Options) ([]*event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	view := s.viewLocked(n)
	back := o.GetReadDirection() == streams.ReadReq_Options_Backwards
	count := int(min(o.GetCount(), 1<<20))
	if so := o.GetStream(); so != nil {
		name := string(so.GetStreamIdentifier().GetStreamName())
		if s.denied[name] {
			return nil, rpcError(ctx, codes.PermissionDenied, "Access Denied", exceptionKey, "access-denied")
		}
		st := s.streams[name]
		if st != nil && st.tombstoned {
			return nil, rpcError(ctx, codes.FailedPrecondition, fmt.Sprintf("Event stream '%s' is deleted.", name),
				exceptionKey, "stream-deleted", "stream-name", name)
		}
		var evs []*event
		if st != nil {
			for _, ev := range st.events {
				if visible(view, ev) {
					evs = append(evs, ev)
				}
			}
		}
		if len(evs) == 0 {
			return nil, nil
		}
		out := []*event{}
		switch {
		case !back:
			from := uint64(0)
			if _, ok := so.GetRevisionOption().(*streams.ReadReq_Options_StreamOptions_Revision); ok {
				from = so.GetRevision()
			}
			if so.GetEnd() != nil {
				from = uint64(len(evs))
			}
			for _, ev := range evs {
				if ev.revision >= from && len(out) < count {
					out = append(out, ev)
				}
			}
		default:
			from := uint64(len(evs) - 1)
			if _, ok := so.GetRevisionOption().(*streams.ReadReq_Options_StreamOptions_Revision); ok {
				from = so.GetRevision()
			}
			for _, ev := range slices.Backward(evs) {
				if ev.revision <= from && len(out) < count {
					out = append(out, ev)
				}
			}
		}
		return out, nil
	}

	ao := o.GetAll()
	start, ok := allStart(view, ao, back, s.next)
	if !ok {
		return nil, status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
	}
	out := []*event{}
	if back {
		for i := start - 1; i >= 0 && len(out) < count; i-- {
			out = append(out, view[i])
		}
	} else {
		for i := start; i < len(view) && len(out) < count; i++ {
			out = append(out, view[i])
		}
	}
	return out, nil
}

// visible reports whether ev is in view (a prefix of the log).
func visible(view []*event, ev *event) bool {
	return len(view) > 0 && ev.offset <= view[len(view)-1].offset
}

// allStart returns the index in view where a read of $all starts: a
// forward read includes the record at its position, a backward read
// starts before it. ok is false for a position that is not a record's.
func allStart(view []*event, ao *streams.ReadReq_Options_AllOptions, back bool, end uint64) (int, bool) {
	switch {
	case ao.GetStart() != nil:
		return 0, true
	case ao.GetEnd() != nil:
		return len(view), true
	}
	p := ao.GetPosition().GetCommitPosition()
	i, found := slices.BinarySearchFunc(view, p, func(ev *event, p uint64) int {
		switch {
		case ev.offset < p:
			return -1
		case ev.offset > p:
			return 1
		}
		return 0
	})
	if !found && p != end && i != len(view) {
		return 0, false
	}
	return i, true
}

// subscribe serves a catch-up subscription to $all (from a position,
// exclusive) filtered by stream prefixes, until the client goes away or
// DropSubscriptions.
func (ss *streamsService) subscribe(ctx context.Context, o *streams.ReadReq_Options, rs streams.Streams_ReadServer) error {
	s := ss.s
	ao := o.GetAll()
	if ao == nil {
		return status.Error(codes.Unimplemented, "esdbtest: only subscriptions to $all")
	}
	var prefixes []string
	if f := o.GetFilter(); f != nil {
		if f.GetStreamIdentifier() == nil || f.GetStreamIdentifier().GetRegex() != "" {
			return status.Error(codes.Unimplemented, "esdbtest: only stream prefix filters")
		}
		prefixes = f.GetStreamIdentifier().GetPrefix()
	}
	s.mu.Lock()
	view := s.viewLocked(ss.n)
	next, ok := allStart(view, ao, false, s.next)
	if ok && ao.GetPosition() != nil && next < len(view) && view[next].offset == ao.GetPosition().GetCommitPosition() {
		next++ // exclusive
	}
	dropped := s.dropped
	s.mu.Unlock()
	if !ok {
		return status.Error(codes.InvalidArgument, "Trying to read from an invalid position.")
	}
	if err := rs.Send(&streams.ReadResp{Content: &streams.ReadResp_Confirmation{
		Confirmation: &streams.ReadResp_SubscriptionConfirmation{SubscriptionId: uuid.NewString()}}}); err != nil {
		return err
	}
	for {
		s.mu.Lock()
		view := s.viewLocked(ss.n)
		batch := slices.Clone(view[min(next, len(view)):])
		next = max(next, len(view))
		changed := s.changed
		s.mu.Unlock()
		for _, ev := range batch {
			if !matches(prefixes, ev.stream) {
				continue
			}
			if err := rs.Send(toProto(ev)); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-dropped:
			return Unavailable()
		case <-changed:
		}
	}
}

func matches(prefixes []string, stream string) bool {
	if len(prefixes) == 0 {
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(stream, p) {
			return true
		}
	}
	return false
}
