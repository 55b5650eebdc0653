package crash

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The webhook signing secret the servers get in VITALS_NOTIFY_SECRET
// (base64 of 32 bytes).
const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw/x7vI8VPGk4="

// failEvery: the receiver answers 503 to every failEvery-th request, so
// deliveries are retried (after about a second) throughout the test.
const failEvery = 10

// hookLatency is how long the receiver takes to answer.
const hookLatency = 3 * time.Millisecond

// hookReceiver is the webhook target of the servers. It verifies every
// request with the Standard Webhooks reference library (an implementation
// independent of Vitals' signing code) and records the ids it accepted,
// in arrival order, redeliveries included.
type hookReceiver struct {
	srv *httptest.Server
	wh  *standardwebhooks.Webhook

	mu       sync.Mutex
	requests int
	refused  int
	ids      []string
	bad      []string
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &hookReceiver{wh: wh}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	// Answer a little late, so that some kills land between a delivery
	// and the checkpoint that records it (the notification then comes
	// again after the restart).
	defer time.Sleep(hookLatency)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err != nil {
		// The sender died mid-request (kill -9): not a delivery.
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := r.wh.Verify(body, req.Header); err != nil {
		r.bad = append(r.bad, "signature: "+err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.ID != req.Header.Get("webhook-id") {
		r.bad = append(r.bad, fmt.Sprintf("webhook-id %q, CloudEvent id %q (%v)", req.Header.Get("webhook-id"), ev.ID, err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if r.requests%failEvery == 0 {
		r.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.ids = append(r.ids, ev.ID)
}

// accepted returns the ids accepted so far, in arrival order.
func (r *hookReceiver) accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// notificationID is the id rule of docs/notifications.md, written again
// here: vn_ and the first 16 bytes, in hex, of the SHA-256 of type,
// subject, instant (RFC 3339 with nanoseconds), from and to, each followed
// by a zero byte.
func notificationID(typ, subject string, at time.Time, from, to string) string {
	h := sha256.New()
	for _, s := range []string{typ, subject, at.UTC().Format(time.RFC3339Nano), from, to} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "vn_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// notification is a derived event as the feed returns it.
type notification struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"`
	Subject string    `json:"subject"`
	Time    time.Time `json:"time"`
}

// feedReader follows GET /v1/notifications across restarts (cursors are
// the outbox's sequence numbers, stable for the data dir).
type feedReader struct {
	after string
	items []notification
	ids   map[string]int // how often each id was served
}

func newFeedReader() *feedReader { return &feedReader{after: "0", ids: map[string]int{}} }

// poll reads every page after the cursor.
func (f *feedReader) poll(ctx context.Context, hc *http.Client, base string) error {
	for {
		status, body, err := get(ctx, hc, base+"/v1/notifications?limit=1000&after="+url.QueryEscape(f.after))
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("GET /v1/notifications: %d %.300s", status, body)
		}
		var page struct {
			Items      []notification `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.NextCursor == "" {
			return fmt.Errorf("GET /v1/notifications: %v: %.300s", err, body)
		}
		for _, n := range page.Items {
			f.items = append(f.items, n)
			f.ids[n.ID]++
		}
		f.after = page.NextCursor
		if len(page.Items) == 0 {
			return nil
		}
	}
}

// flipAccounts is how many accounts the flipper turns red and green.
const flipAccounts = 4

// flip is one band change the flipper causes: an override to red, or its
// clearing, dated when it is built; the transitions it must derive (the
// band and the at-risk list, both at that instant) have these ids.
type flip struct {
	b     *batch
	want  []string
	found bool
}

// flipper writes events that change accounts' bands now, so that the
// server derives transitions that are news (within the recency window).
// It moves an account on only once the transitions of its previous flip
// are in the feed, so each flip's transitions still hold when a restarted
// server derives them again: every acknowledged flip must reach the
// outbox (docs: a transition that no longer holds is not published).
type flipper struct {
	accounts []string
	red      map[string]bool // the band the last flip of each account set
	next     int
	n        int
	batches  []*batch
	flips    []*flip
	pending  *flip // the last flip, until its transitions are in the feed
	feed     *feedReader
	errs     []string
}

func newFlipper(feed *feedReader) *flipper {
	f := &flipper{red: map[string]bool{}, feed: feed}
	for i := range flipAccounts {
		f.accounts = append(f.accounts, fmt.Sprintf("flip-a%d", i+1))
	}
	return f
}

// newBatch builds a batch of events of the flipper's accounts.
func (f *flipper) newBatch(events ...map[string]any) *batch {
	b := &batch{name: fmt.Sprintf("flip-b%d", len(f.batches))}
	for _, e := range events {
		f.n++
		id := fmt.Sprintf("f-%d", f.n)
		e["specversion"], e["id"], e["source"] = "1.0", id, "flipper"
		b.events = append(b.events, &sentEvent{key: eventKey{"flipper", id}, typ: e["type"].(string), subject: e["subject"].(string), batch: b})
		at, _ := time.Parse(time.RFC3339Nano, e["time"].(string))
		if at.After(b.latest) {
			b.latest = at
		}
	}
	body, err := json.Marshal(events)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	b.body = body
	f.batches = append(f.batches, b)
	return b
}

// open writes the flipper's accounts, green (a perfect NPS), dated before
// base, and waits until the server has scored them: their baselines.
func (f *flipper) open(ctx context.Context, hc *http.Client, base string, before time.Time) error {
	at := before.Add(-time.Hour).Format(time.RFC3339)
	var evs []map[string]any
	var opens []*account
	for _, id := range f.accounts {
		evs = append(evs,
			map[string]any{"type": "account.opened", "subject": id, "time": at, "data": map[string]any{"name": "Flip " + id, "mrr": 1000}},
			map[string]any{"type": "nps.responded", "subject": id, "time": at, "data": map[string]any{"score": 10, "respondent": "r@" + id}})
		opens = append(opens, &account{id: id})
	}
	b := f.newBatch(evs...)
	b.opens = opens
	if !f.send(ctx, hc, base, b) {
		return fmt.Errorf("opening the flip accounts: not acknowledged; %v", f.errs)
	}
	for _, id := range f.accounts {
		for {
			status, body, err := get(ctx, hc, base+"/v1/accounts/"+id)
			if err != nil {
				return err
			}
			if status == http.StatusOK {
				var a struct{ Band string }
				if err := json.Unmarshal(body, &a); err != nil || a.Band != "green" {
					return fmt.Errorf("flip account %s: %v, want green: %s", id, err, body)
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	return nil
}

// send posts b until it is acknowledged, like the clients; it reports
// false when the server is gone.
func (f *flipper) send(ctx context.Context, hc *http.Client, base string, b *batch) bool {
	c := &client{id: -1}
	acked := c.send(ctx, hc, base, b)
	f.errs = append(f.errs, c.errs...)
	return acked
}

// run flips accounts until ctx is done or the server is gone: it first
// finishes the pending flip (re-posting it until acknowledged, then
// waiting for its transitions in the feed), then builds the next one.
func (f *flipper) run(ctx context.Context, hc *http.Client, base string) {
	for ctx.Err() == nil {
		if p := f.pending; p != nil {
			if !p.b.acked && !f.send(ctx, hc, base, p.b) {
				return
			}
			if !f.confirm(ctx, hc, base, p) {
				return
			}
			f.pending = nil
		}
		f.pending = f.newFlip()
	}
}

// confirm polls the feed until p's transitions are in it; false when the
// server is gone or ctx is done.
func (f *flipper) confirm(ctx context.Context, hc *http.Client, base string, p *flip) bool {
	for {
		if err := f.feed.poll(ctx, hc, base); err != nil {
			return false
		}
		found := true
		for _, id := range p.want {
			found = found && f.feed.ids[id] > 0
		}
		if found {
			p.found = true
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// newFlip builds the next flip: the next account turns red (an override)
// or green again (the override cleared), now.
func (f *flipper) newFlip() *flip {
	id := f.accounts[f.next%len(f.accounts)]
	f.next++
	at := time.Now().UTC()
	ev := map[string]any{"subject": id, "time": at.Format(time.RFC3339Nano)}
	p := &flip{}
	if f.red[id] {
		ev["type"], ev["data"] = "health.override_cleared", map[string]any{}
		p.want = []string{
			notificationID("vitals.account.band_changed", id, at, "red", "green"),
			notificationID("vitals.account.at_risk_left", id, at, "health_red", ""),
		}
	} else {
		ev["type"], ev["data"] = "health.overridden", map[string]any{"band": "red", "reason": "flip", "author": "crash test"}
		p.want = []string{
			notificationID("vitals.account.band_changed", id, at, "green", "red"),
			notificationID("vitals.account.at_risk_entered", id, at, "", "health_red"),
		}
	}
	f.red[id] = !f.red[id]
	p.b = f.newBatch(ev)
	f.flips = append(f.flips, p)
	return p
}

// notifyReport counts what checkNotifications found.
type notifyReport struct {
	derived, delivered, deliveries, refused, flips, flipTransitions int
	lost, duplicates, outOfOrder, unknown, flipLost, badRequests    int
}

// drainNotifications waits until the receiver has accepted every
// notification the feed holds (reading it again as it grows), or the
// deadline passes.
func drainNotifications(ctx context.Context, hc *http.Client, base string, feed *feedReader, recv *hookReceiver) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	for {
		if err := feed.poll(ctx, hc, base); err != nil {
			return err
		}
		got := map[string]bool{}
		for _, id := range recv.accepted() {
			got[id] = true
		}
		missing := 0
		for _, n := range feed.items {
			if !got[n.ID] {
				missing++
			}
		}
		if missing == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d notifications not delivered after waiting: %w", missing, len(feed.items), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkNotifications compares the outbox (the feed, read to the end),
// what the receiver accepted, and the flips the flipper had acknowledged:
// every outbox id once; every one delivered, first deliveries in outbox
// order (so in order per subject); nothing delivered that the outbox
// lacks; every acknowledged flip's transitions in the outbox.
func checkNotifications(t *testing.T, feed *feedReader, recv *hookReceiver, flips []*flip) notifyReport {
	t.Helper()
	const show = 10
	var r notifyReport
	r.derived = len(feed.items)
	pos := map[string]int{}
	for i, n := range feed.items {
		if _, dup := pos[n.ID]; dup {
			if r.duplicates++; r.duplicates <= show {
				t.Errorf("notifications: %s (%s of %s @%s) is in the outbox twice", n.ID, n.Type, n.Subject, n.Time)
			}
			continue
		}
		pos[n.ID] = i
	}
	accepted := recv.accepted()
	r.deliveries = len(accepted)
	seen := map[string]bool{}
	var first []string // first deliveries, in arrival order
	for _, id := range accepted {
		if _, ok := pos[id]; !ok {
			if r.unknown++; r.unknown <= show {
				t.Errorf("notifications: %s was delivered but is not in the outbox", id)
			}
			continue
		}
		if !seen[id] {
			seen[id] = true
			first = append(first, id)
		}
	}
	r.delivered = len(first)
	for _, n := range feed.items {
		if !seen[n.ID] {
			if r.lost++; r.lost <= show {
				t.Errorf("notifications: %s (%s of %s @%s) is in the outbox but was never delivered", n.ID, n.Type, n.Subject, n.Time)
			}
		}
	}
	for i := 1; i < len(first); i++ {
		if pos[first[i]] < pos[first[i-1]] {
			if r.outOfOrder++; r.outOfOrder <= show {
				a, b := feed.items[pos[first[i-1]]], feed.items[pos[first[i]]]
				t.Errorf("notifications: %s (outbox #%d, %s) first delivered after %s (outbox #%d, %s)",
					b.ID, pos[b.ID]+1, b.Subject, a.ID, pos[a.ID]+1, a.Subject)
			}
		}
	}
	for _, f := range flips {
		if !f.b.acked {
			continue
		}
		r.flips++
		for _, id := range f.want {
			r.flipTransitions++
			if _, ok := pos[id]; !ok {
				if r.flipLost++; r.flipLost <= show {
					t.Errorf("notifications: the acknowledged flip %s %s (%s) did not derive %s; the outbox has about %s:%s",
						f.b.name, f.b.types(), f.b.latest.Format(time.RFC3339Nano), id, f.b.events[0].subject, feed.about(f.b.events[0].subject))
				}
			}
		}
	}
	recv.mu.Lock()
	r.refused, r.badRequests = recv.refused, len(recv.bad)
	for i, b := range recv.bad {
		if i < show {
			t.Errorf("notifications: the receiver rejected a request: %s", b)
		}
	}
	recv.mu.Unlock()
	return r
}

// checkNothingAboutThePast fails for every notification the feed served
// after index from whose instant is not after since (a rebuild must
// publish nothing about the past).
func checkNothingAboutThePast(t *testing.T, feed *feedReader, from int, since time.Time) {
	t.Helper()
	for _, n := range feed.items[from:] {
		if !n.Time.After(since) {
			t.Errorf("notifications: after the rebuild, %s (%s of %s) about %s, before the rebuild at %s", n.ID, n.Type, n.Subject, n.Time, since)
		}
	}
}

// setUpFlipper opens the flipper's accounts on a server of its own, which
// then stops gracefully (writing a snapshot that holds their baselines).
func setUpFlipper(ctx context.Context, srvs *servers, hc *http.Client, f *flipper, base time.Time) error {
	srv, err := srvs.start(ctx)
	if err != nil {
		return err
	}
	if err := srv.waitReady(ctx, hc); err != nil {
		return err
	}
	if err := f.open(ctx, hc, srv.url, base); err != nil {
		return err
	}
	return srv.stop(ctx)
}

// finish completes the pending flip on a running server: re-posted until
// acknowledged, then its transitions awaited in the feed (bounded).
func (f *flipper) finish(ctx context.Context, hc *http.Client, base string) error {
	p := f.pending
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !p.b.acked && !f.send(ctx, hc, base, p.b) {
		return fmt.Errorf("flipper: the last flip %s was not acknowledged by the final server: %v", p.b.name, f.errs)
	}
	if !f.confirm(ctx, hc, base, p) {
		return fmt.Errorf("flipper: the transitions of the acknowledged flip %s %s never reached the outbox", p.b.name, p.b.types())
	}
	f.pending = nil
	return nil
}

// about lists the notifications about subject, for messages.
func (f *feedReader) about(subject string) string {
	var out string
	for i, n := range f.items {
		if n.Subject == subject {
			out += fmt.Sprintf("\n  #%d %s %s @%s", i+1, n.ID, n.Type, n.Time.Format(time.RFC3339Nano))
		}
	}
	return out
}
