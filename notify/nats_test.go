package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vitals-hq/vitals/notify"
)

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

// TestNATSDelivery: an embedded nats-server receives every event on the
// target's subject, in order, each with its CloudEvent as the data and its
// id as Nats-Msg-Id; delivering them all again after the checkpoint was
// lost adds nothing to the stream (JetStream deduplicates on the id).
func TestNATSDelivery(t *testing.T) {
	url := startNATS(t)
	ob := newMemOutbox()
	var want []notify.Notification
	for i := range 4 {
		want = append(want, note(i, []string{"acme", "globex"}[i%2]))
	}
	appendNotes(t, ob, want[:2]...)
	cfg := notify.DispatcherConfig{Outbox: ob, Targets: targets(t, url+"?subject=crm.health&name=bus")}
	_, stop := run(t, cfg)
	appendNotes(t, ob, want[2:]...)
	waitCheckpoint(t, ob, "bus", 4)
	stop()

	// Lose the checkpoint: everything is published again.
	if err := ob.SetCheckpoint(context.Background(), "bus", 0); err != nil {
		t.Fatal(err)
	}
	_, stop = run(t, cfg)
	waitCheckpoint(t, ob, "bus", 4)
	stop()

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	stream, err := js.Stream(ctx, "CRM_HEALTH")
	if err != nil {
		t.Fatal(err)
	}
	if n := stream.CachedInfo().State.Msgs; n != uint64(len(want)) {
		t.Errorf("the stream holds %d messages; want %d (the redelivery deduplicated)", n, len(want))
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range want {
		m, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Subject() != "crm.health" || m.Headers().Get(nats.MsgIdHdr) != n.ID || string(m.Data()) != string(n.Event) {
			t.Errorf("message %d: subject %s, Nats-Msg-Id %q, data %s; want crm.health, %q, %s",
				i, m.Subject(), m.Headers().Get(nats.MsgIdHdr), m.Data(), n.ID, n.Event)
		}
		if ct := m.Headers().Get("Content-Type"); ct != notify.ContentTypeCloudEvent {
			t.Errorf("message %d: Content-Type %q", i, ct)
		}
	}
}

// TestNATSUnreachable: a NATS target whose server is down is retried like
// any failed delivery and does not hold up a webhook target.
func TestNATSUnreachable(t *testing.T) {
	ob := newMemOutbox()
	rc := newReceiver(t)
	appendNotes(t, ob, note(1, "acme"), note(2, "acme"))
	obs := newCountObserver()
	run(t, notify.DispatcherConfig{
		Outbox: ob, Targets: targets(t, "nats://127.0.0.1:1?name=bus", rc.url("/?name=crm")), Observer: obs,
		FirstRetry: 10 * time.Millisecond, MaxRetryDelay: 10 * time.Millisecond,
	})
	rc.waitFor("both events", func() bool { return len(rc.ids) == 2 })
	deadline := time.Now().Add(wait)
	for {
		obs.mu.Lock()
		n := len(obs.failed["bus"])
		obs.mu.Unlock()
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d failed attempts on the unreachable NATS target; want retries", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if cp, _ := ob.Checkpoint(context.Background(), "bus"); cp != 0 {
		t.Errorf("checkpoint of the unreachable target %d; want 0", cp)
	}
}
