package notify_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/notify"
)

// TestParseTarget: the URL forms of --notify, the names they get (never
// the URL), the parameters Vitals takes out, and the errors, which never
// show a password.
func TestParseTarget(t *testing.T) {
	for _, c := range []struct {
		raw              string
		index            int
		name, kind, url  string
		subject, wantErr string
	}{
		{raw: "https://hooks.example.com/vitals", index: 0, name: "0", kind: "webhook", url: "https://hooks.example.com/vitals"},
		{raw: "http://u:secret@127.0.0.1:9000/in?b=2&name=crm&a=1", index: 3, name: "crm", kind: "webhook", url: "http://u:secret@127.0.0.1:9000/in?b=2&a=1"},
		{raw: " https://x.example/?name=chat-ops.1 ", index: 1, name: "chat-ops.1", kind: "webhook", url: "https://x.example/"},
		{raw: "nats://127.0.0.1:4222", index: 2, name: "2", kind: "nats", url: "nats://127.0.0.1:4222", subject: "vitals.notifications"},
		{raw: "nats://user:pw@nats:4222?subject=crm.health&name=bus", index: 0, name: "bus", kind: "nats", url: "nats://user:pw@nats:4222", subject: "crm.health"},
		{raw: "nats://nats:4222?subject=crm.*", wantErr: "not a literal NATS subject"},
		{raw: "nats://nats:4222?stream=X", wantErr: "unknown parameters"},
		{raw: "ftp://user:pw@example.com/", wantErr: `scheme "ftp"`},
		{raw: "https://example.com/?name=a/b", wantErr: "name"},
		{raw: "https://example.com/?name=", wantErr: "name"},
		{raw: "https:///path", wantErr: "no host"},
		{raw: "https://u:pw@exa mple.com/", wantErr: "not a URL"},
	} {
		tg, err := notify.ParseTarget(c.raw, c.index)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%q: %v; want an error containing %q", c.raw, err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "pw") {
				t.Errorf("%q: the error %q shows the password", c.raw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.raw, err)
			continue
		}
		if tg.Name != c.name || tg.Kind != c.kind || tg.URL.String() != c.url || tg.Subject != c.subject {
			t.Errorf("%q: name %q kind %q url %q subject %q; want %q %q %q %q", c.raw, tg.Name, tg.Kind, tg.URL, tg.Subject, c.name, c.kind, c.url, c.subject)
		}
		if r := tg.Redacted(); strings.Contains(r, "secret") || strings.Contains(r, "pw") || strings.Contains(r, "?") || r != tg.URL.Scheme+"://"+tg.URL.Host {
			t.Errorf("%q: Redacted() %q shows the password", c.raw, tg.Redacted())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the dispatcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogsHideURLSecrets: the logs of a failing webhook, at every level,
// show neither the password nor the path or query of its URL.
func TestLogsHideURLSecrets(t *testing.T) {
	ob := newMemOutbox()
	appendNotes(t, ob, note(1, "acme"))
	var logs syncBuffer
	obs := newCountObserver()
	d, err := notify.NewDispatcher(notify.DispatcherConfig{
		Outbox: ob, Secret: testKey, Observer: obs, Clock: newFakeClock(),
		Targets: targets(t, "http://user:pa55@127.0.0.1:1/hooks/T0KEN?sig=S3CRET&name=chat"),
		Logger:  zerolog.New(&logs).Level(zerolog.TraceLevel),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(wait)
	for {
		obs.mu.Lock()
		n := len(obs.failed["chat"])
		obs.mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no failed attempts")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "127.0.0.1:1") || !strings.Contains(out, "delivery failed") {
		t.Errorf("the logs do not show the failing target:\n%s", out)
	}
	for _, secret := range []string{"pa55", "T0KEN", "S3CRET"} {
		if strings.Contains(out, secret) {
			t.Errorf("the logs show %q:\n%s", secret, out)
		}
	}
}
