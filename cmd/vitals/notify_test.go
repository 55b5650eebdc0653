package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// hookReceiver is a webhook endpoint for the end-to-end tests: it verifies
// every request with the Standard Webhooks reference library (not Vitals'
// own signing code), answers 503 to the first failFirst requests, and
// records what it accepted.
type hookReceiver struct {
	t   *testing.T
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu        sync.Mutex
	failFirst int
	requests  int
	refused   int
	bad       []string
	ids       []string // accepted, in arrival order (with redeliveries)
	bodies    map[string][]byte
	first     *http.Request // the first accepted request, for the log
	firstBody []byte
}

func newHookReceiver(t *testing.T, secret string, failFirst int) *hookReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatalf("the secret %q is not a Standard Webhooks secret: %v", secret, err)
	}
	r := &hookReceiver{t: t, wh: wh, failFirst: failFirst, bodies: map[string][]byte{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	var ev struct {
		ID string `json:"id"`
	}
	switch {
	case err != nil:
		r.bad = append(r.bad, "body: "+err.Error())
	case req.Method != http.MethodPost:
		r.bad = append(r.bad, "method "+req.Method)
	case req.Header.Get("Content-Type") != "application/cloudevents+json":
		r.bad = append(r.bad, "content type "+req.Header.Get("Content-Type"))
	}
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.bad = append(r.bad, "signature: "+err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.ID != req.Header.Get("webhook-id") {
		r.bad = append(r.bad, fmt.Sprintf("webhook-id %q is not the CloudEvent id %q (%v)", req.Header.Get("webhook-id"), ev.ID, err))
	}
	if r.refused < r.failFirst {
		r.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.ids = append(r.ids, ev.ID)
	r.bodies[ev.ID] = body
	if r.first == nil {
		r.first, r.firstBody = req.Clone(req.Context()), body
	}
}

// accepted returns the ids accepted so far, in arrival order.
func (r *hookReceiver) accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// notificationID is the id rule of docs/notifications.md, written again
// here so the test checks it: vn_ and the first 16 bytes, in hex, of the
// SHA-256 of type, subject, instant, from and to, each followed by a zero
// byte.
func notificationID(typ, subject string, at time.Time, from, to string) string {
	h := sha256.New()
	for _, s := range []string{typ, subject, at.UTC().Format(time.RFC3339Nano), from, to} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "vn_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// feedEvent is the part of a derived CloudEvent the tests check.
type feedEvent struct {
	Raw     json.RawMessage `json:"-"`
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	Type    string          `json:"type"`
	Subject string          `json:"subject"`
	Time    time.Time       `json:"time"`
	Data    struct {
		From    string   `json:"from"`
		To      string   `json:"to"`
		Reasons []string `json:"reasons"`
		Added   []string `json:"added"`
		Removed []string `json:"removed"`
	} `json:"data"`
}

// readFeed reads GET /v1/notifications from the start, every page.
func readFeed(t *testing.T, base string) []feedEvent {
	t.Helper()
	var out []feedEvent
	after := "0"
	for {
		res, err := http.Get(base + "/v1/notifications?limit=2&after=" + url.QueryEscape(after))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/notifications: %d %s", res.StatusCode, body)
		}
		var page struct {
			Items      []json.RawMessage `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("feed page: %v: %s", err, body)
		}
		for _, raw := range page.Items {
			var e feedEvent
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatalf("feed item: %v: %s", err, raw)
			}
			e.Raw = raw
			out = append(out, e)
		}
		if len(page.Items) == 0 {
			return out
		}
		after = page.NextCursor
	}
}

// postEvents posts a JSON array of CloudEvents and fails unless every one
// is accepted.
func postEvents(t *testing.T, base string, events ...string) {
	t.Helper()
	res, err := http.Post(base+"/v1/events", "application/cloudevents-batch+json", strings.NewReader("["+strings.Join(events, ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || strings.Count(string(body), `"accepted"`) != len(events) {
		t.Fatalf("POST /v1/events: %d %s", res.StatusCode, body)
	}
}

// accountBand reads the reported band of an account (404 as "").
func accountBand(t *testing.T, base, id string) string {
	t.Helper()
	res, err := http.Get(base + "/v1/accounts/" + id)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return ""
	}
	var a struct {
		Band string `json:"band"`
	}
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/accounts/%s: %d %v", id, res.StatusCode, err)
	}
	return a.Band
}

// TestServeDeliversNotificationsEndToEnd runs "vitals serve" with a
// webhook target whose receiver refuses the first attempts, turns an
// account red and green again with overrides dated now, and checks that
// the receiver got exactly the derived events of the feed — types,
// subject, instants, deterministic ids — in order, with signatures valid
// under the Standard Webhooks reference library and the secret "vitals
// notify secret" prints, and that "vitals notify tail" prints them.
func TestServeDeliversNotificationsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	// The secret is generated into the data dir by the first command that
	// needs it; serve then signs with it.
	code, secretOut, stderr := run(t, "", nil, "notify", "secret", "--data-dir", dir)
	secret := strings.TrimSpace(secretOut)
	if code != 0 || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("notify secret: exit %d, %q, %s", code, secretOut, stderr)
	}
	const failFirst = 2
	recv := newHookReceiver(t, secret, failFirst)
	const source = "vitals://e2e-test"
	base, logs := serveApp(t, &App{}, "--data-dir", dir, "--notify", recv.srv.URL+"/hook?name=crm",
		"--notify-debounce", "0", "--notify-source", source)

	// A green account (a perfect NPS): its baseline, nothing published.
	opened := time.Now().UTC().Add(-time.Hour).Truncate(time.Second).Format(time.RFC3339)
	postEvents(t, base,
		`{"specversion":"1.0","id":"e1","source":"crm","type":"account.opened","subject":"acme","time":"`+opened+`","data":{"name":"Acme","mrr":2500}}`,
		`{"specversion":"1.0","id":"e2","source":"survey","type":"nps.responded","subject":"acme","time":"`+opened+`","data":{"score":10,"respondent":"r@acme"}}`)
	eventually(t, "acme is scored", func() bool { return accountBand(t, base, "acme") != "" })
	if b := accountBand(t, base, "acme"); b != "green" {
		t.Fatalf("acme is %s before the override, want green", b)
	}

	// Red now (an override), then green again (cleared): transitions at
	// the instants of those events.
	// Full precision: the baseline was taken before the account was
	// visible, so this instant is after it.
	red := time.Now().UTC()
	postEvents(t, base, `{"specversion":"1.0","id":"e3","source":"crm","type":"health.overridden","subject":"acme","time":"`+
		red.Format(time.RFC3339Nano)+`","data":{"band":"red","reason":"escalation","author":"lead"}}`)
	eventually(t, "the red transitions in the feed", func() bool { return len(readFeed(t, base)) >= 2 })
	green := time.Now().UTC()
	postEvents(t, base, `{"specversion":"1.0","id":"e4","source":"crm","type":"health.override_cleared","subject":"acme","time":"`+
		green.Format(time.RFC3339Nano)+`","data":{}}`)
	eventually(t, "the green transitions in the feed", func() bool { return len(readFeed(t, base)) >= 4 })

	feed := readFeed(t, base)
	type want struct {
		typ      string
		at       time.Time
		from, to string
	}
	wants := []want{
		{"vitals.account.band_changed", red, "green", "red"},
		{"vitals.account.at_risk_entered", red, "", "health_red"},
		{"vitals.account.band_changed", green, "red", "green"},
		{"vitals.account.at_risk_left", green, "health_red", ""},
	}
	if len(feed) != len(wants) {
		t.Fatalf("feed has %d events, want %d: %+v", len(feed), len(wants), feed)
	}
	var ids []string
	for i, w := range wants {
		e := feed[i]
		id := notificationID(w.typ, "acme", w.at, w.from, w.to)
		if e.Type != w.typ || e.Subject != "acme" || e.Source != source || !e.Time.Equal(w.at) || e.ID != id {
			t.Errorf("feed[%d] = %s %s %s %s @%s, want %s acme %s %s @%s", i, e.ID, e.Source, e.Type, e.Subject, e.Time, id, source, w.typ, w.at)
		}
		ids = append(ids, e.ID)
	}
	if d := feed[0].Data; d.From != "green" || d.To != "red" {
		t.Errorf("band_changed data: from %q to %q", d.From, d.To)
	}
	if d := feed[1].Data; !slices.Equal(d.Reasons, []string{"health_red"}) || !slices.Equal(d.Added, []string{"health_red"}) {
		t.Errorf("at_risk_entered data: reasons %v added %v", d.Reasons, d.Added)
	}

	// The receiver gets them all, after refusing the first attempts.
	eventually(t, "every notification delivered", func() bool {
		got := recv.accepted()
		return len(got) > 0 && slices.Equal(dedupe(got), ids)
	})
	recv.mu.Lock()
	if len(recv.bad) > 0 {
		t.Errorf("the receiver rejected requests: %q", recv.bad)
	}
	if recv.refused != failFirst {
		t.Errorf("the receiver refused %d requests, want %d", recv.refused, failFirst)
	}
	for i, e := range feed {
		if !jsonEqual(recv.bodies[e.ID], e.Raw) {
			t.Errorf("webhook body of %s differs from the feed item:\n%s\n%s", ids[i], recv.bodies[e.ID], e.Raw)
		}
	}
	if recv.first != nil {
		t.Logf("a delivered webhook: POST %s\n%s\n%s", recv.first.URL, headerLines(recv.first.Header), recv.firstBody)
	}
	recv.mu.Unlock()
	if l := logs.String(); strings.Contains(l, "/hook") {
		t.Errorf("the logs show the target's path:\n%s", l)
	}

	// vitals notify tail prints the feed, oldest first, one JSON line each.
	code, out, stderr := run(t, "", nil, "notify", "tail", "--server", base, "--follow=false")
	if code != 0 {
		t.Fatalf("notify tail: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(feed) {
		t.Fatalf("notify tail printed %d lines, want %d:\n%s", len(lines), len(feed), out)
	}
	for i, l := range lines {
		if !jsonEqual([]byte(l), feed[i].Raw) {
			t.Errorf("notify tail line %d:\n%s\nwant\n%s", i, l, feed[i].Raw)
		}
	}
	// --type filters, --after starts after a cursor.
	code, out, stderr = run(t, "", nil, "notify", "tail", "--server", base, "--follow=false", "--type", "vitals.account.band_changed", "--after", "1")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, ids[2]) {
		t.Errorf("notify tail --type band_changed --after 1: exit %d, %s %s", code, out, stderr)
	}

	// The secret the receiver verified with is the one notify secret prints.
	code, again, stderr := run(t, "", nil, "notify", "secret", "--data-dir", dir)
	if code != 0 || strings.TrimSpace(again) != secret {
		t.Errorf("notify secret after serving: exit %d, %q (want %q) %s", code, again, secret, stderr)
	}
}

// dedupe drops redeliveries: each id once, at its first arrival.
func dedupe(ids []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// jsonEqual reports whether a and b are the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// headerLines formats the headers of a request, sorted, one a line.
func headerLines(h http.Header) string {
	var out []string
	for k, vs := range h {
		for _, v := range vs {
			out = append(out, k+": "+v)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestNotifySecret: the secret comes from VITALS_NOTIFY_SECRET when it is
// set (and is checked), else from the data dir, generated there once.
func TestNotifySecret(t *testing.T) {
	dir := t.TempDir()
	code, first, stderr := run(t, "", nil, "notify", "secret", "--data-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	first = strings.TrimSpace(first)
	if _, err := standardwebhooks.NewWebhook(first); err != nil || !strings.HasPrefix(first, "whsec_") {
		t.Fatalf("generated secret %q: %v", first, err)
	}
	if _, second, _ := run(t, "", nil, "notify", "secret", "--data-dir", dir); strings.TrimSpace(second) != first {
		t.Fatalf("second run printed %q, want the stored %q", second, first)
	}
	if _, other, _ := run(t, "", nil, "notify", "secret", "--data-dir", t.TempDir()); strings.TrimSpace(other) == first {
		t.Fatal("two data dirs got the same secret")
	}

	env := "whsec_" + strings.Repeat("QUJD", 8) // base64 of 24 bytes
	code, out, stderr := run(t, "", map[string]string{"VITALS_NOTIFY_SECRET": env}, "notify", "secret", "--data-dir", dir)
	if code != 0 || strings.TrimSpace(out) != env {
		t.Fatalf("with VITALS_NOTIFY_SECRET: exit %d, %q %s", code, out, stderr)
	}
	code, _, stderr = run(t, "", map[string]string{"VITALS_NOTIFY_SECRET": "not-a-secret"}, "notify", "secret", "--data-dir", dir)
	if code == 0 || !strings.Contains(stderr, "VITALS_NOTIFY_SECRET") {
		t.Fatalf("a bad VITALS_NOTIFY_SECRET: exit %d, %s", code, stderr)
	}
}

// TestNotifyTailErrors: a server that is not there, a bad interval and a
// refused key are reported, not printed as events.
func TestNotifyTailErrors(t *testing.T) {
	code, _, stderr := run(t, "", nil, "notify", "tail", "--server", "http://127.0.0.1:1", "--follow=false")
	if code == 0 || !strings.Contains(stderr, "notify tail") {
		t.Errorf("no server: exit %d, %s", code, stderr)
	}
	code, _, stderr = run(t, "", nil, "notify", "tail", "--interval", "0s")
	if code == 0 || !strings.Contains(stderr, "--interval") {
		t.Errorf("--interval 0: exit %d, %s", code, stderr)
	}
	code, _, stderr = run(t, "", nil, "notify", "frobnicate")
	if code != 2 || !strings.Contains(stderr, "frobnicate") {
		t.Errorf("unknown action: exit %d, %s", code, stderr)
	}
}
