package notify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/vitals-hq/vitals/notify"
)

// wait bounds every wait of these tests; it only catches hangs.
const wait = 30 * time.Second

// testSecret is a webhook secret as VITALS_NOTIFY_SECRET holds it.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// testKey is testSecret's signing key.
var testKey, _ = base64.StdEncoding.DecodeString(strings.TrimPrefix(testSecret, "whsec_"))

// note returns the i-th notification about subject, as derivation would
// append it.
func note(i int, subject string) notify.Notification {
	id := fmt.Sprintf("n-%s-%d", subject, i)
	at := time.Date(2026, 3, 1, 12, i, 0, 0, time.UTC)
	ev, _ := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "urn:vitals:test", "type": "vitals.account.band_changed",
		"subject": subject, "time": at, "datacontenttype": "application/json",
		"data": map[string]any{"from": "green", "to": "red", "i": i},
	})
	return notify.Notification{ID: id, Type: "vitals.account.band_changed", Subject: subject, Time: at, Event: ev}
}

// fakeClock starts at the wall clock's now and moves only by the waits
// the dispatcher asks for, which it records; every wait ends at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// receiver is a webhook endpoint that verifies every request with the
// Standard Webhooks reference library and records what it accepted.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	wh     *standardwebhooks.Webhook
	verify bool

	mu       sync.Mutex
	requests int
	ids      []string // accepted, in arrival order
	failures int      // answer 503 to this many requests first
	status   int      // when not 0, answer this to every request
	bad      []string // what was wrong with requests
	bodies   map[string][]byte
	headers  http.Header // of the last accepted request
	got      chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, wh: wh, verify: true, bodies: map[string][]byte{}, got: make(chan struct{}, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	switch {
	case err != nil:
		r.bad = append(r.bad, err.Error())
	case req.Method != http.MethodPost:
		r.bad = append(r.bad, "method "+req.Method)
	case req.Header.Get("Content-Type") != "application/cloudevents+json":
		r.bad = append(r.bad, "content type "+req.Header.Get("Content-Type"))
	}
	if r.verify {
		if err := r.wh.Verify(body, req.Header); err != nil {
			r.bad = append(r.bad, "signature: "+err.Error())
		}
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != req.Header.Get("webhook-id") {
		r.bad = append(r.bad, fmt.Sprintf("webhook-id %q is not the CloudEvent id %q (%v)", req.Header.Get("webhook-id"), ev.ID, err))
	}
	if r.status != 0 {
		w.WriteHeader(r.status)
		r.got <- struct{}{}
		return
	}
	if r.failures > 0 {
		r.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.ids = append(r.ids, ev.ID)
	r.bodies[ev.ID] = body
	r.headers = req.Header.Clone()
	r.got <- struct{}{}
}

// url is the receiver's address with extra appended to it.
func (r *receiver) url(extra string) string { return r.srv.URL + extra }

// accepted returns the ids accepted so far.
func (r *receiver) accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// waitFor waits until cond holds on the receiver's state.
func (r *receiver) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.After(wait)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.got:
		case <-deadline:
			r.t.Fatalf("waited %s for the receiver: %s", wait, what)
		}
	}
}

func (r *receiver) checkRequests() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		r.t.Error(b)
	}
}

// countObserver counts what the dispatcher reports.
type countObserver struct {
	mu         sync.Mutex
	configured []string
	delivered  map[string]int
	gaveUp     map[string]int
	failed     map[string][]int
}

func newCountObserver() *countObserver {
	return &countObserver{delivered: map[string]int{}, gaveUp: map[string]int{}, failed: map[string][]int{}}
}

func (o *countObserver) Configured(t string) {
	o.mu.Lock()
	o.configured = append(o.configured, t)
	o.mu.Unlock()
}
func (o *countObserver) Delivered(t string) { o.mu.Lock(); o.delivered[t]++; o.mu.Unlock() }
func (o *countObserver) GaveUp(t string)    { o.mu.Lock(); o.gaveUp[t]++; o.mu.Unlock() }
func (o *countObserver) AttemptFailed(t string, status int) {
	o.mu.Lock()
	o.failed[t] = append(o.failed[t], status)
	o.mu.Unlock()
}

// run starts a dispatcher and returns a function that stops it and waits
// for Run to return.
func run(t *testing.T, cfg notify.DispatcherConfig) (*notify.Dispatcher, func()) {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = testKey
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	d, err := notify.NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(wait):
				t.Fatal("Run did not return after its context was cancelled")
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

func targets(t *testing.T, urls ...string) []notify.Target {
	t.Helper()
	var out []notify.Target
	for i, u := range urls {
		tg, err := notify.ParseTarget(u, i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func appendNotes(t *testing.T, ob notify.Outbox, ns ...notify.Notification) {
	t.Helper()
	if _, err := ob.Append(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
}

func ids(ns []notify.Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// TestWebhookRetriesInOrder: a receiver that fails its first attempts
// still gets every event, signed (checked by the Standard Webhooks
// reference library), once each and in outbox order; the waits between
// attempts follow the documented schedule; events appended while the
// dispatcher runs wake it.
func TestWebhookRetriesInOrder(t *testing.T) {
	ob := newMemOutbox()
	ob.failReads = 2
	rc := newReceiver(t)
	rc.failures = 3
	var want []notify.Notification
	for i := range 6 {
		want = append(want, note(i, []string{"acme", "globex"}[i%2]))
	}
	appendNotes(t, ob, want[:3]...)
	clock := newFakeClock()
	obs := newCountObserver()
	d, _ := run(t, notify.DispatcherConfig{
		Outbox: ob, Targets: targets(t, rc.url("/hooks?token=abc&name=crm")), Clock: clock, Observer: obs,
		Jitter: func() float64 { return 0.5 },
	})
	rc.waitFor("the first three events", func() bool { return len(rc.ids) == 3 })
	appendNotes(t, ob, want[3:]...)
	rc.waitFor("all six events", func() bool { return len(rc.ids) == 6 })
	rc.checkRequests()

	if got := rc.accepted(); !slices.Equal(got, ids(want)) {
		t.Errorf("accepted %v; want %v", got, ids(want))
	}
	for _, n := range want {
		if string(rc.bodies[n.ID]) != string(n.Event) {
			t.Errorf("body of %s: %s; want the CloudEvent %s", n.ID, rc.bodies[n.ID], n.Event)
		}
	}
	// Two failed outbox reads and three failed attempts, each waited
	// for: 1 s, 2 s, then 1 s, 2 s, 4 s, all at jitter ½ (¾ of each).
	wantWaits := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}
	if got := clock.Waits(); !slices.Equal(got, wantWaits) {
		t.Errorf("waits %v; want %v", got, wantWaits)
	}
	waitCheckpoint(t, ob, "crm", 6)
	obs.mu.Lock()
	if obs.delivered["crm"] != 6 || !slices.Equal(obs.failed["crm"], []int{503, 503, 503}) || !slices.Equal(obs.configured, []string{"crm"}) {
		t.Errorf("observer: configured %v, delivered %v, failed attempts %v", obs.configured, obs.delivered, obs.failed)
	}
	obs.mu.Unlock()
	st, err := d.Status(context.Background())
	if err != nil || len(st) != 1 || st[0].Name != "crm" || st[0].Depth != 0 || st[0].Disabled {
		t.Errorf("Status: %+v, %v", st, err)
	}
}

// waitCheckpoint waits until target's checkpoint is seq.
func waitCheckpoint(t *testing.T, ob notify.Outbox, target string, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		cp, err := ob.Checkpoint(context.Background(), target)
		if err != nil {
			t.Fatal(err)
		}
		if cp == seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint of %s is %d; want %d", target, cp, seq)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhookRestartResumes: a dispatcher stopped while a notification is
// being retried delivers it after a restart, then the rest, in order.
func TestWebhookRestartResumes(t *testing.T) {
	ob := newMemOutbox()
	rc := newReceiver(t)
	var want []notify.Notification
	for i := range 4 {
		want = append(want, note(i, "acme"))
	}
	appendNotes(t, ob, want...)
	rc.mu.Lock()
	rc.status = http.StatusInternalServerError
	rc.mu.Unlock()
	// A real clock with long waits: the first dispatcher is stopped
	// during its first wait.
	cfg := notify.DispatcherConfig{Outbox: ob, Targets: targets(t, rc.url("/")), FirstRetry: time.Hour}
	_, stop := run(t, cfg)
	rc.waitFor("a first attempt", func() bool { return rc.requests >= 1 })
	stop()
	if cp, _ := ob.Checkpoint(context.Background(), "0"); cp != 0 {
		t.Fatalf("checkpoint %d after a failed attempt; want 0", cp)
	}
	rc.mu.Lock()
	rc.status = 0
	rc.mu.Unlock()
	run(t, cfg)
	rc.waitFor("all events after the restart", func() bool { return len(rc.ids) == len(want) })
	rc.checkRequests()
	if got := rc.accepted(); !slices.Equal(got, ids(want)) {
		t.Errorf("accepted %v; want %v", got, ids(want))
	}
}

// TestWebhookGiveUp: a receiver that always answers 400 is retried on the
// schedule until RetryFor has passed, then the notification is given up
// and the checkpoint moves on; the next one, with the target still
// failing, gets a single attempt.
func TestWebhookGiveUp(t *testing.T) {
	ob := newMemOutbox()
	rc := newReceiver(t)
	rc.verify = false // the fake clock runs hours ahead of the library's tolerance
	rc.status = http.StatusBadRequest
	appendNotes(t, ob, note(1, "acme"), note(2, "acme"))
	clock := newFakeClock()
	obs := newCountObserver()
	run(t, notify.DispatcherConfig{
		Outbox: ob, Targets: targets(t, rc.url("/")), Clock: clock, Observer: obs,
		RetryFor: time.Hour, Jitter: func() float64 { return 0 },
	})
	waitCheckpoint(t, ob, "0", 2)
	rc.checkRequests()
	// Waits at jitter 0: half of 1 s, 2 s, … 512 s, then half of 600 s,
	// until their sum reaches an hour.
	var want []time.Duration
	var sum time.Duration
	for d := time.Second; sum < time.Hour; d = min(2*d, 10*time.Minute) {
		want = append(want, d/2)
		sum += d / 2
	}
	if got := clock.Waits(); !slices.Equal(got, want) {
		t.Errorf("waits %v; want %v", got, want)
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.gaveUp["0"] != 2 || obs.delivered["0"] != 0 {
		t.Errorf("gave up %d, delivered %d; want 2 and 0", obs.gaveUp["0"], obs.delivered["0"])
	}
	if n := len(obs.failed["0"]); n != len(want)+2 {
		t.Errorf("%d failed attempts; want %d (retries of the first, one of the second)", n, len(want)+2)
	}
}

// TestWebhookGoneDisables: a 410 answer disables the target, without
// moving its checkpoint, and it stays disabled across a restart while the
// other target goes on; a new URL, or Enable, delivers again.
func TestWebhookGoneDisables(t *testing.T) {
	ob := newMemOutbox()
	gone, ok := newReceiver(t), newReceiver(t)
	gone.status = http.StatusGone
	appendNotes(t, ob, note(1, "acme"), note(2, "acme"))
	tgs := targets(t, gone.url("/?name=old"), ok.url("/?name=ok"))
	d, stop := run(t, notify.DispatcherConfig{Outbox: ob, Targets: tgs})
	ok.waitFor("both events", func() bool { return len(ok.ids) == 2 })
	gone.waitFor("one attempt", func() bool { return gone.requests == 1 })
	waitDisabled(t, d, "old")
	// A delivery the receiver saw but whose answer a stop interrupts is
	// delivered again after the restart (at least once): wait for the
	// checkpoint, so the counts below are exact.
	waitCheckpoint(t, ob, "ok", 2)
	stop()
	if cp, _ := ob.Checkpoint(context.Background(), "old"); cp != 0 {
		t.Errorf("checkpoint of the disabled target %d; want 0", cp)
	}

	// Restarted, the disabled target makes no request, the other delivers
	// the new event.
	appendNotes(t, ob, note(3, "acme"))
	_, stop = run(t, notify.DispatcherConfig{Outbox: ob, Targets: tgs})
	ok.waitFor("the third event", func() bool { return len(ok.ids) == 3 })
	waitCheckpoint(t, ob, "ok", 3)
	stop()
	gone.mu.Lock()
	if gone.requests != 1 {
		t.Errorf("the disabled target got %d requests; want 1", gone.requests)
	}
	gone.status = 0
	gone.mu.Unlock()

	// The same name with a new URL is a new receiver.
	moved := targets(t, gone.url("/v2?name=old"))
	run(t, notify.DispatcherConfig{Outbox: ob, Targets: moved})
	gone.waitFor("all three events at the new URL", func() bool { return len(gone.ids) == 3 })

	// Enable re-enables the old URL.
	gone2 := newReceiver(t)
	gone2.status = http.StatusGone
	tg := targets(t, gone2.url("/?name=again"))
	d, stop = run(t, notify.DispatcherConfig{Outbox: ob, Targets: tg})
	waitDisabled(t, d, "again")
	stop()
	gone2.mu.Lock()
	gone2.status = 0
	gone2.mu.Unlock()
	if err := notify.Enable(context.Background(), ob, "again"); err != nil {
		t.Fatal(err)
	}
	run(t, notify.DispatcherConfig{Outbox: ob, Targets: tg})
	gone2.waitFor("all three events once enabled", func() bool { return len(gone2.ids) == 3 })
	gone.checkRequests()
	gone2.checkRequests()
}

// waitDisabled waits until Status reports target disabled.
func waitDisabled(t *testing.T, d *notify.Dispatcher, target string) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		st, err := d.Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Name == target && s.Disabled {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s not disabled: %+v", target, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDeadTargetDoesNotDelayOthers: a target that never answers holds up
// only itself; the other receives every event while the dead one's first
// request is still open, and Status shows the dead one's backlog.
func TestDeadTargetDoesNotDelayOthers(t *testing.T) {
	ob := newMemOutbox()
	release := make(chan struct{})
	hung := make(chan struct{}, 10)
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hung <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(dead.Close)
	t.Cleanup(func() { close(release) })
	ok := newReceiver(t)
	var want []notify.Notification
	for i := range 5 {
		want = append(want, note(i, "acme"))
	}
	appendNotes(t, ob, want...)
	d, _ := run(t, notify.DispatcherConfig{
		Outbox: ob, Targets: targets(t, dead.URL+"/?name=dead", ok.url("/?name=ok")), RequestTimeout: time.Hour,
	})
	select {
	case <-hung:
	case <-time.After(wait):
		t.Fatal("the dead target got no request")
	}
	ok.waitFor("every event", func() bool { return len(ok.ids) == len(want) })
	if got := ok.accepted(); !slices.Equal(got, ids(want)) {
		t.Errorf("accepted %v; want %v", got, ids(want))
	}
	st, err := d.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]notify.TargetStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	if s := byName["dead"]; s.Depth != 5 || !s.Oldest.Equal(want[0].Time) {
		t.Errorf("dead target: %+v; want depth 5, oldest %s", s, want[0].Time)
	}
	waitCheckpoint(t, ob, "ok", 5)
	if st, _ := d.Status(context.Background()); len(st) != 2 || st[1].Depth != 0 || !st[1].Oldest.IsZero() {
		t.Errorf("status %+v; want the second target caught up", st)
	}
	ok.checkRequests()
}

// TestWebhookHeaders: one delivered webhook carries the CloudEvent as its
// body and the three Standard Webhooks headers, the signature being
// notify.Sign of them.
func TestWebhookHeaders(t *testing.T) {
	ob := newMemOutbox()
	rc := newReceiver(t)
	n := note(7, "acme")
	appendNotes(t, ob, n)
	run(t, notify.DispatcherConfig{Outbox: ob, Targets: targets(t, rc.url("/"))})
	rc.waitFor("the event", func() bool { return len(rc.ids) == 1 })
	rc.checkRequests()
	rc.mu.Lock()
	h := rc.headers
	rc.mu.Unlock()
	var ts int64
	if _, err := fmt.Sscan(h.Get("webhook-timestamp"), &ts); err != nil {
		t.Fatalf("webhook-timestamp %q: %v", h.Get("webhook-timestamp"), err)
	}
	if got, want := h.Get("webhook-signature"), notify.Sign(testKey, n.ID, time.Unix(ts, 0), n.Event); got != want || !strings.HasPrefix(got, "v1,") {
		t.Errorf("webhook-signature %q; want %q", got, want)
	}
	if h.Get("webhook-id") != n.ID {
		t.Errorf("webhook-id %q; want %q", h.Get("webhook-id"), n.ID)
	}
}

// TestRetryDelay pins the documented schedule: 1 s doubling up to 10 min,
// each wait between half and all of that.
func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		attempt  int
		lo, full time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{10, 256 * time.Second, 512 * time.Second},
		{11, 300 * time.Second, 600 * time.Second},
		{1000, 300 * time.Second, 600 * time.Second},
	} {
		if got := notify.RetryDelay(c.attempt, time.Second, 10*time.Minute, 0); got != c.lo {
			t.Errorf("attempt %d, jitter 0: %s; want %s", c.attempt, got, c.lo)
		}
		if got := notify.RetryDelay(c.attempt, time.Second, 10*time.Minute, 0.999999); got >= c.full || got < c.full*99/100 {
			t.Errorf("attempt %d, jitter ~1: %s; want just under %s", c.attempt, got, c.full)
		}
	}
}

// TestNewDispatcherErrors: configuration mistakes are refused.
func TestNewDispatcherErrors(t *testing.T) {
	ob := newMemOutbox()
	for _, c := range []struct {
		name string
		cfg  notify.DispatcherConfig
		want string
	}{
		{"no outbox", notify.DispatcherConfig{}, "Outbox is required"},
		{"no secret", notify.DispatcherConfig{Outbox: ob, Targets: targets(t, "https://example.com/")}, "secret"},
		{"same name", notify.DispatcherConfig{Outbox: ob, Secret: testKey, Targets: targets(t, "https://a.example/?name=x", "https://b.example/?name=x")}, `named "x"`},
	} {
		_, err := notify.NewDispatcher(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error containing %q", c.name, err, c.want)
		}
	}
}
