package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/api"
)

// slowClient opens a raw connection to srv and starts a POST /v1/events
// whose body it then sends one byte at a time, every interval, until the
// connection is closed. It returns the connection; the caller reads the
// answer from it.
func slowClient(t *testing.T, srv *httptest.Server, interval time.Duration) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := `[{"specversion":"1.0","id":"slow","source":"test","type":"portal.login","subject":"acme","time":"2026-02-01T10:00:00Z","data":{}}]`
	head := fmt.Sprintf("POST /v1/events HTTP/1.1\r\nHost: vitals\r\nContent-Type: application/cloudevents-batch+json\r\nContent-Length: %d\r\n\r\n", len(body))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	go func() {
		for i := 0; i < len(body); i++ {
			if _, err := conn.Write([]byte{body[i]}); err != nil {
				return
			}
			time.Sleep(interval)
		}
	}()
	return conn
}

// countingHandler counts the requests that reached the API handler.
type countingHandler struct {
	next    http.Handler
	entered atomic.Int64
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.entered.Add(1)
	c.next.ServeHTTP(w, r)
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSlowBodiesDoNotStarveIngest: more slow uploads than ingest slots are
// in progress, yet a normal ingest is served at once: a body is read before
// the request takes a slot.
func TestSlowBodiesDoNotStarveIngest(t *testing.T) {
	const slots = 2
	h, _ := newServer(t, api.Config{MaxConcurrentIngest: slots, IngestQueueWait: 50 * time.Millisecond, BodyReadTimeout: time.Hour})
	counter := &countingHandler{next: h}
	srv := startServer(t, counter)

	for range slots + 1 {
		slowClient(t, srv, 200*time.Millisecond)
	}
	waitFor(t, "the slow requests to reach the handler", func() bool { return counter.entered.Load() == slots+1 })

	batch := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1})})
	res := do(t, "POST", srv.URL+"/v1/events", "", batch)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ingest while %d slow uploads are in progress: %d, want 200", slots+1, res.StatusCode)
	}
}

// TestSlowBodyGets408: a body that does not arrive within BodyReadTimeout
// is answered 408 with a message that names no socket address.
func TestSlowBodyGets408(t *testing.T) {
	h, _ := newServer(t, api.Config{BodyReadTimeout: 300 * time.Millisecond})
	srv := startServer(t, h)
	conn := slowClient(t, srv, time.Second)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %d %s, want 408", res.StatusCode, body)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "timeout" || e.Error.Message == "" {
		t.Fatalf("slow body: %s, want error code timeout with a message", body)
	}
	host, _, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, leak := range []string{host, "tcp", "i/o timeout"} {
		if strings.Contains(e.Error.Message, leak) {
			t.Errorf("408 message %q contains %q", e.Error.Message, leak)
		}
	}
}
