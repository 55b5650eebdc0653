package broker_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/ingest/broker"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// wait bounds every wait of these tests; it only catches hangs.
const wait = 30 * time.Second

// startNATS runs an embedded NATS server with JetStream on a random port.
func startNATS(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(wait) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.ClientURL()
}

func openStore(t *testing.T) eventstore.Store {
	t.Helper()
	s, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testLog writes to t.Log until the test ends, then drops lines (NATS
// callbacks may log late).
type testLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func newTestLog(t *testing.T) zerolog.Logger {
	w := &testLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return zerolog.New(zerolog.ConsoleWriter{Out: w, NoColor: true}).Level(zerolog.InfoLevel)
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

// harness runs a Consumer against an embedded server and inspects the
// server through a connection of its own.
type harness struct {
	t       *testing.T
	url     string
	store   eventstore.Store
	js      jetstream.JetStream
	ackWait time.Duration
	results chan ingest.Result
	cancel  context.CancelFunc
	done    chan error
}

func start(t *testing.T, url string, store eventstore.Store) *harness {
	t.Helper()
	return startWith(t, url, store, 10*time.Second)
}

// startWith sets the ack wait. Tests of shutdown set it far beyond their
// waits, so that they fail if a message is only redelivered once its ack
// wait has passed.
func startWith(t *testing.T, url string, store eventstore.Store, ackWait time.Duration) *harness {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, url: url, store: store, js: js, ackWait: ackWait, results: make(chan ingest.Result, 100)}
	h.run()
	return h
}

// run starts a consumer (again).
func (h *harness) run() {
	t := h.t
	t.Helper()
	log := newTestLog(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sub, pub, err := broker.NewJetStream(ctx, h.url, broker.JetStreamConfig{
		AckWait: h.ackWait, NakDelay: 20 * time.Millisecond, MaxNakDelay: 100 * time.Millisecond, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := broker.New(broker.Config{
		Subscriber: sub, Publisher: pub, Ingester: ingest.New(h.store), Logger: log,
		Now: func() time.Time { return now },
		OnIngest: func(_ []ingest.Candidate, rs []ingest.Result) {
			for _, r := range rs {
				h.results <- r
			}
		},
		MaxRetries:    2,
		RetryInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	h.cancel = stop
	h.done = make(chan error, 1)
	go func() { h.done <- c.Run(runCtx) }()
	t.Cleanup(func() { h.stop() })
}

// stop cancels the consumer and waits for Run to return.
func (h *harness) stop() {
	h.t.Helper()
	if h.done == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(wait):
		h.t.Fatal("Run did not return after its context was cancelled")
	}
	h.done = nil
}

// publish sends a raw NATS message on the events subject, as `nats pub`
// would.
func (h *harness) publish(data string, headers ...string) {
	h.t.Helper()
	msg := &nats.Msg{Subject: broker.DefaultTopic, Data: []byte(data), Header: nats.Header{}}
	for i := 0; i+1 < len(headers); i += 2 {
		msg.Header.Add(headers[i], headers[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := h.js.PublishMsg(ctx, msg); err != nil {
		h.t.Fatal(err)
	}
}

// waitResults returns the next n results.
func (h *harness) waitResults(n int) []ingest.Result {
	h.t.Helper()
	var out []ingest.Result
	deadline := time.After(wait)
	for len(out) < n {
		select {
		case r := <-h.results:
			out = append(out, r)
		case <-deadline:
			h.t.Fatalf("got %d results, want %d: %+v", len(out), n, out)
		}
	}
	return out
}

// settled waits until every message on the events stream was acked, and
// returns the consumer's final state.
func (h *harness) settled() *jetstream.ConsumerInfo {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		info, err := h.consumerInfo(ctx)
		if err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			st := h.streamInfo(ctx, broker.DefaultTopic)
			if info.AckFloor.Stream == st.State.LastSeq {
				return info
			}
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("messages not all acked: %+v, %v", info, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (h *harness) consumerInfo(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	c, err := h.js.Consumer(ctx, broker.StreamName(broker.DefaultTopic), broker.DefaultDurable)
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

func (h *harness) streamInfo(ctx context.Context, subject string) *jetstream.StreamInfo {
	h.t.Helper()
	s, err := h.js.Stream(ctx, broker.StreamName(subject))
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return info
}

// poisoned returns every message on the poison stream, oldest first.
func (h *harness) poisoned() []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := h.js.Stream(ctx, broker.StreamName(broker.DefaultPoisonTopic))
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// storedIDs returns the ids of the stored events in log order, and checks
// that the head is the last position.
func (h *harness) storedIDs() []string {
	h.t.Helper()
	ctx := context.Background()
	recs, err := h.store.ReadAll(ctx, 0, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ev, err := domain.Decode(r.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		ids[i] = ev.ID
	}
	head, err := h.store.Head(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(recs) > 0 && head != recs[len(recs)-1].Position {
		h.t.Errorf("head %d, last record at %d", head, recs[len(recs)-1].Position)
	}
	return ids
}

// structured is a structured-mode CloudEvent.
func structured(id, typ, subject, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"crm","type":%q,"subject":%q,"time":"2026-02-01T00:00:00Z","data":%s}`,
		id, typ, subject, data)
}

// binary returns the headers of a binary-mode event with the given prefix
// (ce- or ce_).
func binary(prefix, id, typ, subject string) []string {
	return []string{
		prefix + "specversion", "1.0", prefix + "id", id, prefix + "source", "crm", prefix + "type", typ,
		prefix + "subject", subject, prefix + "time", "2026-02-01T00:00:00Z", "content-type", "application/json",
	}
}

func statuses(rs []ingest.Result) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s:%s ", r.ID, r.Status)
		if r.Error != nil {
			fmt.Fprintf(&b, "(%s) ", r.Error)
		}
	}
	return b.String()
}

func TestIngestsInOrder(t *testing.T) {
	h := start(t, startNATS(t), openStore(t))
	h.publish(structured("1", "manager.joined", "am-1", `{"name":"Ana"}`))
	h.publish(`{"name":"Acme","mrr":12000,"manager_id":"am-1"}`, binary("ce-", "2", "account.opened", "acme")...)
	h.publish(`{"name":"Beta","mrr":900}`, binary("ce_", "3", "account.opened", "beta")...)
	h.publish(structured("4", "touchpoint.recorded", "acme", `{"channel":"call","direction":"outbound"}`))
	h.publish(`{"score":9}`, append(binary("CE-", "5", "nps.responded", "beta"), "ce-traceparent", "00-abc-def-01")...)
	h.publish(structured("6", "nps.responded", "acme", `{"score":7}`), "content-type", "application/cloudevents+json")
	h.publish(`{"invoice_id":"inv-1","amount":100,"due_date":"2026-02-15"}`, binary("ce-", "7", "invoice.issued", "beta")...)
	h.publish(structured("8", "payment.received", "beta", `{"invoice_id":"inv-1","amount":100}`))

	rs := h.waitResults(8)
	for i, r := range rs {
		if r.Status != ingest.Accepted || r.ID != fmt.Sprint(i+1) || r.Position != eventstore.Position(i+1) {
			t.Fatalf("results: %s", statuses(rs))
		}
	}
	h.settled()
	if got := strings.Join(h.storedIDs(), ","); got != "1,2,3,4,5,6,7,8" {
		t.Errorf("stored %s, want 1..8 in order", got)
	}
	if p := h.poisoned(); len(p) != 0 {
		t.Errorf("%d poisoned messages, want none", len(p))
	}
	// The binary extension attribute was kept.
	recs, err := h.store.ReadAll(context.Background(), 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := domain.Decode(recs[0].Data); err != nil || string(ev.Extensions["traceparent"]) != `"00-abc-def-01"` {
		t.Errorf("event 5: extensions %v, %v", ev.Extensions, err)
	}
}

func TestRedeliveryStoredOnce(t *testing.T) {
	h := start(t, startNATS(t), openStore(t))
	opened := structured("1", "account.opened", "acme", `{"name":"Acme","mrr":100}`)
	h.publish(opened)
	h.publish(opened)
	// The same event in binary style is the same (source, id).
	h.publish(`{"name":"Acme","mrr":100}`, binary("ce-", "1", "account.opened", "acme")...)

	rs := h.waitResults(3)
	want := []ingest.Status{ingest.Accepted, ingest.Duplicate, ingest.Duplicate}
	for i, r := range rs {
		if r.Status != want[i] || r.Position != 1 {
			t.Fatalf("results: %s", statuses(rs))
		}
	}
	info := h.settled()
	if info.AckFloor.Stream != 3 {
		t.Errorf("ack floor %d, want 3", info.AckFloor.Stream)
	}
	if got := h.storedIDs(); len(got) != 1 {
		t.Errorf("stored %v, want one event", got)
	}
}

// panicStore panics when asked to append an event whose id contains
// "boom".
type panicStore struct{ eventstore.Store }

func (s panicStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	for _, r := range reqs {
		for _, e := range r.Events {
			if strings.Contains(e.Key, "boom") {
				panic("boom")
			}
		}
	}
	return s.Store.AppendMany(ctx, reqs)
}

func TestInvalidEventsArePoisoned(t *testing.T) {
	store := openStore(t)
	h := start(t, startNATS(t), panicStore{store})
	type msg struct {
		data    string
		headers []string
		field   string // "" for a valid event
	}
	msgs := []msg{
		{data: structured("ok-1", "account.opened", "acme", `{"name":"Acme","mrr":100}`)},
		{data: structured("bad-score", "nps.responded", "acme", `{"score":11}`), field: "data.score"},
		{data: structured("ok-2", "nps.responded", "acme", `{"score":10}`)},
		{data: structured("bad-type", "nps.answered", "acme", `{"score":1}`), field: "type"},
		{data: structured("ghost", "touchpoint.recorded", "ghost", `{"channel":"call","direction":"inbound"}`), field: "subject"},
		{data: "not json at all", field: "event"},
		{data: `{"score":3}`, headers: append(binary("ce-", "twice", "nps.responded", "acme"), "ce_id", "other"), field: "id"},
		{data: `{"score":3}`, headers: binary("ce-", "no-mrr", "account.opened", "gamma"), field: "data.name"},
		{data: structured("boom", "nps.responded", "acme", `{"score":5}`), field: "event"},
		{data: structured("ok-3", "nps.responded", "acme", `{"score":9}`), headers: []string{"x-trace", "a", "x-trace", "b"}},
	}
	for _, m := range msgs {
		h.publish(m.data, m.headers...)
	}
	var wantPoison []msg
	for _, m := range msgs {
		if m.field != "" {
			wantPoison = append(wantPoison, m)
		}
	}
	rs := h.waitResults(len(msgs) - 1) // the panic reports no result
	for _, r := range rs {
		if r.Status == ingest.Rejected && r.Error == nil {
			t.Errorf("rejected without an error: %+v", r)
		}
	}
	h.settled()
	if got := strings.Join(h.storedIDs(), ","); got != "ok-1,ok-2,ok-3" {
		t.Errorf("stored %s, want ok-1,ok-2,ok-3", got)
	}
	poison := h.poisoned()
	if len(poison) != len(wantPoison) {
		t.Fatalf("%d poisoned messages, want %d", len(poison), len(wantPoison))
	}
	for i, p := range poison {
		w := wantPoison[i]
		reason := p.Header.Get("reason_poisoned")
		if !strings.HasPrefix(reason, w.field+": ") || len(reason) <= len(w.field)+2 {
			t.Errorf("poisoned %d: reason %q, want %q: …", i, reason, w.field)
		}
		if string(p.Data) != w.data {
			t.Errorf("poisoned %d: payload %q, want the original %q", i, p.Data, w.data)
		}
		if got := p.Header.Get("topic_poisoned"); got != broker.DefaultTopic {
			t.Errorf("poisoned %d: topic_poisoned %q", i, got)
		}
		for j := 0; j+1 < len(w.headers); j += 2 {
			if got := p.Header.Get(w.headers[j]); got == "" {
				t.Errorf("poisoned %d: original header %s missing", i, w.headers[j])
			}
		}
	}
}

// flakyStore fails the first n AppendMany calls with ErrUnavailable.
type flakyStore struct {
	eventstore.Store
	fail  atomic.Int32
	calls atomic.Int32
}

func (s *flakyStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	s.calls.Add(1)
	if s.fail.Add(-1) >= 0 {
		return nil, fmt.Errorf("flaky: %w", eventstore.ErrUnavailable)
	}
	return s.Store.AppendMany(ctx, reqs)
}

func TestUnavailableStoreNacks(t *testing.T) {
	store := &flakyStore{Store: openStore(t)}
	// Three attempts per delivery (MaxRetries 2): the first delivery fails,
	// the second succeeds at its third attempt.
	store.fail.Store(5)
	h := start(t, startNATS(t), store)
	h.publish(structured("1", "account.opened", "acme", `{"name":"Acme","mrr":100}`))
	h.publish(structured("2", "touchpoint.recorded", "acme", `{"channel":"call","direction":"inbound"}`))

	rs := h.waitResults(2)
	if rs[0].ID != "1" || rs[0].Status != ingest.Accepted || rs[1].ID != "2" || rs[1].Status != ingest.Accepted {
		t.Fatalf("results: %s (the event after a redelivered account.opened must not overtake it)", statuses(rs))
	}
	info := h.settled()
	if info.Delivered.Consumer != 3 || info.Delivered.Stream != 2 {
		t.Errorf("deliveries %d of %d messages, want 3 of 2 (one redelivery)", info.Delivered.Consumer, info.Delivered.Stream)
	}
	if n := store.calls.Load(); n != 7 {
		t.Errorf("%d appends, want 7 (5 failed, 2 succeeded)", n)
	}
	if got := strings.Join(h.storedIDs(), ","); got != "1,2" {
		t.Errorf("stored %s, want 1,2", got)
	}
	if p := h.poisoned(); len(p) != 0 {
		t.Errorf("%d poisoned messages, want none", len(p))
	}
}

// gateStore blocks every AppendMany until the gate opens or its context
// ends, and says when one has begun.
type gateStore struct {
	eventstore.Store
	entered chan struct{}
	gate    chan struct{}
}

func newGateStore(s eventstore.Store) *gateStore {
	return &gateStore{Store: s, entered: make(chan struct{}, 10), gate: make(chan struct{})}
}

func (s *gateStore) AppendMany(ctx context.Context, reqs []eventstore.AppendRequest) ([]eventstore.AppendOutcome, error) {
	s.entered <- struct{}{}
	select {
	case <-s.gate:
		return s.Store.AppendMany(ctx, reqs)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *gateStore) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(wait):
		t.Fatal("no append started")
	}
}

func TestAckOnlyAfterAppend(t *testing.T) {
	store := newGateStore(openStore(t))
	h := start(t, startNATS(t), store)
	h.publish(structured("1", "account.opened", "acme", `{"name":"Acme","mrr":100}`))
	store.waitEntered(t)

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	info, err := h.consumerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumAckPending != 1 || info.AckFloor.Stream != 0 {
		t.Fatalf("while the append is in progress: %d pending acks, ack floor %d; want 1 and 0", info.NumAckPending, info.AckFloor.Stream)
	}
	close(store.gate)
	if rs := h.waitResults(1); rs[0].Status != ingest.Accepted {
		t.Fatalf("results: %s", statuses(rs))
	}
	if info := h.settled(); info.AckFloor.Stream != 1 {
		t.Errorf("ack floor %d, want 1", info.AckFloor.Stream)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		h := start(t, startNATS(t), openStore(t))
		h.stop()
	})
	t.Run("append in flight", func(t *testing.T) {
		store := openStore(t)
		gate := newGateStore(store)
		h := startWith(t, startNATS(t), gate, time.Hour)
		h.publish(structured("1", "account.opened", "acme", `{"name":"Acme","mrr":100}`))
		gate.waitEntered(t)
		h.stop() // cancels the append: not stored, not acked

		if got := h.storedIDs(); len(got) != 0 {
			t.Fatalf("stored %v after a cancelled append", got)
		}
		h.store = store
		h.run() // a restart gets the message again
		if rs := h.waitResults(1); rs[0].Status != ingest.Accepted {
			t.Fatalf("after restart: %s", statuses(rs))
		}
		h.settled()
		if got := h.storedIDs(); len(got) != 1 {
			t.Errorf("stored %v, want one event", got)
		}
		if p := h.poisoned(); len(p) != 0 {
			t.Errorf("%d poisoned messages, want none", len(p))
		}
	})
}

func TestNewValidates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	url := startNATS(t)
	for _, cfg := range []broker.JetStreamConfig{
		{Topic: "vitals.*"},
		{Topic: "a.b", PoisonTopic: "a.b"},
		{Durable: "has.dot"},
	} {
		if _, _, err := broker.NewJetStream(ctx, url, cfg); err == nil {
			t.Errorf("NewJetStream(%+v) succeeded", cfg)
		}
	}
	if _, _, err := broker.NewJetStream(ctx, "nats://127.0.0.1:1", broker.JetStreamConfig{}); err == nil {
		t.Error("NewJetStream without a server succeeded")
	}
	if _, err := broker.New(broker.Config{}); err == nil || !strings.Contains(err.Error(), "Subscriber") {
		t.Errorf("New(empty): %v", err)
	}
}

func TestRestartUnderLoad(t *testing.T) {
	store := openStore(t)
	h := startWith(t, startNATS(t), store, time.Hour)
	const n = 40
	h.publish(structured("0", "account.opened", "acme", `{"name":"Acme","mrr":100}`))
	for i := 1; i < n; i++ {
		h.publish(structured(fmt.Sprint(i), "nps.responded", "acme", fmt.Sprintf(`{"score":%d}`, i%11)))
	}
	first := h.waitResults(5)
	h.stop() // mid-stream
	h.run()
	seen := map[string]ingest.Status{}
	for _, r := range first {
		seen[r.ID] = r.Status
	}
	for len(seen) < n {
		for _, r := range h.waitResults(1) {
			if r.Status == ingest.Rejected {
				t.Fatalf("rejected after restart: %s", statuses([]ingest.Result{r}))
			}
			seen[r.ID] = r.Status
		}
	}
	h.settled()
	ids := h.storedIDs()
	if len(ids) != n {
		t.Fatalf("stored %d events, want %d", len(ids), n)
	}
	for i, id := range ids {
		if id != fmt.Sprint(i) {
			t.Fatalf("stored out of order: %v", ids)
		}
	}
}

// BenchmarkConsume measures messages ingested per second end to end: an
// embedded NATS server, the JetStream subscriber (one unacked message at a
// time) and a bolt store syncing every append.
func BenchmarkConsume(b *testing.B) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		b.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(wait) {
		b.Fatal("nats-server not ready")
	}
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	store, err := bolt.Open(context.Background(), b.TempDir(), bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sub, pub, err := broker.NewJetStream(ctx, srv.ClientURL(), broker.JetStreamConfig{})
	if err != nil {
		b.Fatal(err)
	}
	var done atomic.Int64
	all := make(chan struct{})
	target := int64(b.N + 1)
	c, err := broker.New(broker.Config{Subscriber: sub, Publisher: pub, Ingester: ingest.New(store), Logger: zerolog.Nop(),
		Now: func() time.Time { return now },
		OnIngest: func(_ []ingest.Candidate, rs []ingest.Result) {
			if rs[0].Status != ingest.Accepted {
				b.Errorf("result %+v", rs[0])
			}
			if done.Add(1) == target {
				close(all)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	publish := func(data string) {
		if _, err := js.Publish(ctx, broker.DefaultTopic, []byte(data)); err != nil {
			b.Fatal(err)
		}
	}
	publish(structured("open", "account.opened", "acme", `{"name":"Acme","mrr":100}`))
	for i := 0; i < b.N; i++ {
		publish(structured(fmt.Sprint(i), "nps.responded", "acme", `{"score":9}`))
	}
	runCtx, stop := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	b.ResetTimer()
	go func() { runDone <- c.Run(runCtx) }()
	select {
	case <-all:
	case <-ctx.Done():
		b.Fatalf("%d of %d messages ingested", done.Load(), target)
	}
	b.StopTimer()
	stop()
	if err := <-runDone; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
