package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
)

// errorBody reads an answer in the error shape.
func errorBody(t *testing.T, res *http.Response) (code, message string) {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d body %q: not the error shape", res.StatusCode, body)
	}
	return e.Error.Code, e.Error.Message
}

// TestStoreErrorsNameNoPaths: a store failure is answered with a generic
// message and the request id, logged at error level with the detail, and
// /readyz reports the store fault until a write succeeds.
func TestStoreErrorsNameNoPaths(t *testing.T) {
	base, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { base.Close() })
	const path = "/srv/vitals/tiny/d3/events.db"
	fs := &faultStore{Store: base, fail: fmt.Errorf("bolt: append: %w: write %s: no space left on device", eventstore.ErrUnavailable, path)}
	var logs logBuffer
	h, _ := newServerLog(t, api.Config{Store: fs}, &logs)
	srv := startServer(t, h)
	batch := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1})})

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/events", strings.NewReader(string(batch)))
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	req.Header.Set(api.RequestIDHeader, "req-disk-full")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("disk full: %d, want 503", res.StatusCode)
	}
	_, msg := errorBody(t, res)
	for _, leak := range []string{path, "events.db", "bolt", "eventstore:", "no space"} {
		if strings.Contains(msg, leak) {
			t.Errorf("answer %q contains %q", msg, leak)
		}
	}
	if !strings.Contains(msg, "req-disk-full") {
		t.Errorf("answer %q does not name the request id", msg)
	}
	line := logLine(t, logs.String(), "req-disk-full")
	if line["level"] != "error" || !strings.Contains(fmt.Sprint(line["error"]), path) {
		t.Errorf("log line %v: want level error with the store's detail", line)
	}

	// /readyz reports the failed write, without the path.
	res, err = http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(body, &ready); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusServiceUnavailable || ready.Checks["store"] == "ok" || strings.Contains(string(body), path) {
		t.Fatalf("readyz after a failed write: %d %s; want 503 naming the write failure without the path", res.StatusCode, body)
	}

	// A write that succeeds clears the fault.
	fs.mu.Lock()
	fs.fail = nil
	fs.mu.Unlock()
	if res := do(t, "POST", srv.URL+"/v1/events", "", batch); res.StatusCode != http.StatusOK {
		t.Fatalf("retry: %d", res.StatusCode)
	}
	if res := do(t, "GET", srv.URL+"/readyz", "", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("readyz after a successful write: %d, want 200", res.StatusCode)
	}
}

// TestNotFoundMessagesHaveNoPackagePrefix: errors from the read models are
// answered in the client's terms.
func TestNotFoundMessagesHaveNoPackagePrefix(t *testing.T) {
	srv := queryServer(t)
	cases := []struct{ path, want string }{
		{"/v1/accounts/nope", `account "nope" not found`},
		{"/v1/accounts/nope/health", `account "nope" not found`},
		{"/v1/managers/nobody", `manager "nobody" not found`},
		{"/v1/accounts/nope/events", `account "nope" not found`},
	}
	for _, c := range cases {
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", c.path, res.StatusCode)
		}
		code, msg := errorBody(t, res)
		if code != "not_found" || msg != c.want {
			t.Errorf("%s: %s %q, want not_found %q", c.path, code, msg, c.want)
		}
	}
}
