package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// eventKey is the idempotency key of an event: (source, id).
type eventKey struct{ source, id string }

func (k eventKey) String() string { return k.source + "/" + k.id }

// sentEvent is one event a client built; it belongs to exactly one batch.
type sentEvent struct {
	key     eventKey
	typ     string
	subject string
	batch   *batch
}

// batch is one request body, re-posted unchanged when it is retried.
type batch struct {
	name      string // c<client>-b<n>, for messages
	events    []*sentEvent
	body      []byte
	opens     []*account // accounts opened in this batch
	joins     []string   // managers joined in this batch
	attempts  int
	acked     bool      // some attempt was answered 200
	abandoned bool      // never retried again after a failed attempt
	latest    time.Time // the latest event time in the batch
}

// types lists the batch's event types, for messages.
func (b *batch) types() string {
	var ts []string
	for _, e := range b.events {
		ts = append(ts, e.typ+"("+e.subject+")")
	}
	if len(ts) > 8 {
		ts = append(ts[:8], fmt.Sprintf("… %d more", len(ts)-8))
	}
	return "[" + strings.Join(ts, " ") + "]"
}

// account is what a client remembers of an account it opened, to refer
// to earlier invoices, messages, meetings and signals.
type account struct {
	id                          string
	invoices                    []invoice
	messages, meetings, signals []string
	n                           int // counter for sub ids
}

type invoice struct {
	id    string
	cents int64
}

// clientStats counts what one client did.
type clientStats struct {
	batches, posts, retries, retriedDuplicate, retriedAccepted, retriedMixed, abandoned, unavailable int
	ackedBatches, ackedEvents                                                                        int
}

// client is one of the concurrent writers. It lives for the whole test (its
// state carries over restarts); run is called once per cycle. Its
// accounts and managers are its own (ids prefixed c<id>-), so the ordering
// rules hold: an account's events are only sent once its account.opened
// was acknowledged, a manager is named only once its manager.joined was.
type client struct {
	id       int
	base     time.Time // every event is dated before base
	seq      map[string]int
	managers []string   // acknowledged
	accounts []*account // acknowledged
	nAcc     int
	nMgr     int
	pending  *batch // the batch whose last attempt was not acknowledged
	batches  []*batch
	stats    clientStats
	errs     []string // protocol violations seen by this client
}

func newClient(id int, base time.Time) *client {
	return &client{id: id, base: base, seq: make(map[string]int)}
}

func (c *client) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf("client %d: ", c.id)+fmt.Sprintf(format, args...))
}

// run posts batches to url until ctx is done or an attempt is not
// acknowledged (the server died). First it retries the batch left
// unacknowledged by the previous cycle, or abandons it, at random.
func (c *client) run(ctx context.Context, hc *http.Client, url string, rng *rand.Rand) {
	if b := c.pending; b != nil {
		if rng.IntN(100) >= 75 {
			b.abandoned = true
			c.pending = nil
			c.stats.abandoned++
		} else if !c.send(ctx, hc, url, b) {
			return
		}
	}
	for ctx.Err() == nil {
		b := c.newBatch(rng)
		c.pending = b
		if !c.send(ctx, hc, url, b) {
			return
		}
	}
}

// send posts b until it is acknowledged, re-posting it after the wait an
// answer 429 or 503 asks for; it gives up when the connection fails.
func (c *client) send(ctx context.Context, hc *http.Client, url string, b *batch) bool {
	for {
		acked, retryAfter := c.post(ctx, hc, url, b)
		if acked || retryAfter <= 0 {
			return acked
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(min(retryAfter, time.Second)):
		}
	}
}

// post sends b and reports whether it was acknowledged (200 with a result
// per event, each accepted or duplicate). Connection errors and other 5xx
// are "not acknowledged"; 429 and 503 are that too, with the wait before
// trying again; anything else is recorded as a failure.
func (c *client) post(ctx context.Context, hc *http.Client, url string, b *batch) (acked bool, retryAfter time.Duration) {
	retry := b.attempts > 0
	b.attempts++
	c.stats.posts++
	if retry {
		c.stats.retries++
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/events", bytes.NewReader(b.body))
	if err != nil {
		c.fail("batch %s: %v", b.name, err)
		return false, 0
	}
	req.Header.Set("Content-Type", "application/cloudevents-batch+json")
	resp, err := hc.Do(req)
	if err != nil {
		return false, 0
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, 0
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		c.stats.unavailable++
		return false, retryAfterOf(resp)
	case code >= 500:
		c.stats.unavailable++
		return false, 0
	default:
		c.fail("batch %s (attempt %d): HTTP %d: %.500s", b.name, b.attempts, code, body)
		return false, 0
	}
	var r struct {
		Position *uint64 `json:"position"`
		Results  []struct {
			Index  int             `json:"index"`
			ID     string          `json:"id"`
			Status string          `json:"status"`
			Error  json.RawMessage `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.Position == nil {
		c.fail("batch %s: 200 with an unreadable body (%v): %.300s", b.name, err, body)
		return false, 0
	}
	if len(r.Results) != len(b.events) {
		c.fail("batch %s: %d results for %d events", b.name, len(r.Results), len(b.events))
		return false, 0
	}
	var accepted, duplicate int
	for i, res := range r.Results {
		switch {
		case res.Index != i || res.ID != b.events[i].key.id:
			c.fail("batch %s: result %d is {index %d, id %q}, want {%d, %q}", b.name, i, res.Index, res.ID, i, b.events[i].key.id)
			return false, 0
		case res.Status == "accepted":
			accepted++
		case res.Status == "duplicate":
			duplicate++
		default:
			c.fail("batch %s: event %s: status %q %s", b.name, b.events[i].key, res.Status, res.Error)
			return false, 0
		}
	}
	// Acknowledged: every event is durable, whatever else is wrong.
	b.acked = true
	c.pending = nil
	c.stats.ackedBatches++
	c.stats.ackedEvents += len(b.events)
	c.accounts = append(c.accounts, b.opens...)
	c.managers = append(c.managers, b.joins...)
	switch {
	case accepted > 0 && duplicate > 0:
		c.stats.retriedMixed++
		c.fail("batch %s %s (attempt %d): %d events accepted and %d duplicate: an earlier attempt was stored in part", b.name, b.types(), b.attempts, accepted, duplicate)
	case duplicate > 0 && !retry:
		c.fail("batch %s: first attempt answered duplicate for fresh ids", b.name)
	case retry && duplicate > 0:
		c.stats.retriedDuplicate++
	case retry:
		c.stats.retriedAccepted++
	}
	return true, 0
}

// retryAfterOf reads the Retry-After seconds of an answer (at least 10 ms).
func retryAfterOf(resp *http.Response) time.Duration {
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs <= 0 {
		return 10 * time.Millisecond
	}
	return time.Duration(secs) * time.Second
}

// Generation.

var (
	channels   = []string{"email", "call", "chat", "meeting", "in_person", "portal", "other"}
	industries = []string{"retail", "saas", "health", "finance", "travel"}
	kpiNames   = []string{"leads", "cpa", "roas", "ctr", "uptime"}
	riskKinds  = []string{"scope_dispute", "competitor_mention", "budget_cut", "champion_left", "other_risk"}
	oppKinds   = []string{"expansion_interest", "new_market", "strong_results", "new_budget", "other_opportunity"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// money formats cents as a JSON number with two decimals.
func money(cents int64) json.Number {
	return json.Number(fmt.Sprintf("%d.%02d", cents/100, cents%100))
}

func date(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// ago returns base minus a random duration in [lo, hi).
func (c *client) ago(rng *rand.Rand, lo, hi time.Duration) time.Time {
	return c.base.Add(-lo - time.Duration(rng.Int64N(int64(hi-lo)))).Truncate(time.Second)
}

// newBatch builds the next batch: 1–50 events, new managers and accounts
// now and then (always while the client has none acknowledged), the rest
// events of acknowledged accounts, all dated in the past.
func (c *client) newBatch(rng *rand.Rand) *batch {
	b := &batch{name: fmt.Sprintf("c%d-b%d", c.id, len(c.batches))}
	c.batches = append(c.batches, b)
	c.stats.batches++
	n := 1 + rng.IntN(50)
	var evs []map[string]any
	add := func(source, typ, subject string, at time.Time, data map[string]any) {
		c.seq[source]++
		// Ids repeat across sources (c0-1 from crm and from billing are
		// two events): the key is (source, id).
		id := fmt.Sprintf("c%d-%d", c.id, c.seq[source])
		evs = append(evs, map[string]any{
			"specversion": "1.0", "id": id, "source": source, "type": typ,
			"subject": subject, "time": at.Format(time.RFC3339), "data": data,
		})
		b.events = append(b.events, &sentEvent{key: eventKey{source, id}, typ: typ, subject: subject, batch: b})
		if at.After(b.latest) {
			b.latest = at
		}
	}
	// A manager joins at the start of some batches (of the first always);
	// events later in the same batch often name the new manager.
	if len(c.managers) == 0 || rng.IntN(100) < 8 {
		c.nMgr++
		id := fmt.Sprintf("c%d-m%d", c.id, c.nMgr)
		add("hr-sync", "manager.joined", id, c.ago(rng, 60*24*time.Hour, 90*24*time.Hour), map[string]any{
			"name": "Manager " + id, "capacity_points": 60 + rng.IntN(80), "weekly_hours": 30 + rng.IntN(15),
		})
		b.joins = append(b.joins, id)
	}
	manager := func() string {
		if len(b.joins) > 0 && (len(c.managers) == 0 || rng.IntN(2) == 0) {
			return b.joins[0]
		}
		return pick(rng, c.managers)
	}

	for len(evs) < n {
		openP := 2
		switch {
		case len(c.accounts) < 10:
			openP = 25
		case len(c.accounts) > 150:
			openP = 0
		}
		switch {
		case len(c.accounts) == 0 || rng.IntN(100) < openP:
			c.nAcc++
			a := &account{id: fmt.Sprintf("c%d-a%d", c.id, c.nAcc)}
			data := map[string]any{
				"name": "Account " + a.id, "mrr": money(int64(rng.IntN(2_000_000))),
				"renewal_date": date(c.base.AddDate(0, 0, 10+rng.IntN(200))), "industry": pick(rng, industries),
			}
			if rng.IntN(100) < 80 {
				data["manager_id"] = manager()
			}
			add("crm", "account.opened", a.id, c.ago(rng, 10*24*time.Hour, 40*24*time.Hour), data)
			b.opens = append(b.opens, a)
			if len(c.accounts) == 0 {
				// Nothing else to write about until an account is acknowledged.
				n = min(n, len(evs)+rng.IntN(3))
			}
		default:
			c.accountEvent(rng, pick(rng, c.accounts), manager, add)
		}
	}
	body, err := json.Marshal(evs)
	if err != nil {
		panic(err) // maps of strings and numbers always marshal
	}
	b.body = body
	return b
}

// accountEvent adds one event about an acknowledged account; manager picks
// a manager it may name (acknowledged, or joined earlier in the batch).
func (c *client) accountEvent(rng *rand.Rand, a *account, manager func() string, add func(source, typ, subject string, at time.Time, data map[string]any)) {
	at := c.ago(rng, time.Minute, 5*24*time.Hour)
	a.n++
	sub := fmt.Sprintf("%s-%d", a.id, a.n)
	switch k := rng.IntN(100); {
	case k < 14:
		d := map[string]any{"channel": pick(rng, channels), "direction": pick(rng, []string{"inbound", "outbound"})}
		if rng.IntN(2) == 0 {
			d["manager_id"] = manager()
		}
		add("crm", "touchpoint.recorded", a.id, at, d)
	case k < 24:
		add("survey", "nps.responded", a.id, at, map[string]any{"score": rng.IntN(11), "respondent": "r@" + a.id})
	case k < 34:
		name := pick(rng, kpiNames)
		add("reporting", "kpi.reported", a.id, at, map[string]any{
			"kpi": name, "target": 50 + rng.IntN(100), "actual": rng.IntN(200), "higher_is_better": name != "cpa",
		})
	case k < 44:
		inv := invoice{id: "INV-" + sub, cents: 10_000 + rng.Int64N(5_000_000)}
		a.invoices = append(a.invoices, inv)
		add("billing", "invoice.issued", a.id, at, map[string]any{
			"invoice_id": inv.id, "amount": money(inv.cents), "due_date": date(at.AddDate(0, 0, rng.IntN(45)-15)),
		})
	case k < 52 && len(a.invoices) > 0:
		inv := pick(rng, a.invoices)
		cents := inv.cents
		if rng.IntN(4) == 0 {
			cents = max(1, cents/2)
		}
		add("billing", "payment.received", a.id, at, map[string]any{"invoice_id": inv.id, "amount": money(cents)})
	case k < 54 && len(a.invoices) > 0:
		add("billing", "invoice.voided", a.id, at, map[string]any{"invoice_id": pick(rng, a.invoices).id})
	case k < 62:
		a.messages = append(a.messages, "msg-"+sub)
		add("inbox", "message.received", a.id, at, map[string]any{"message_id": "msg-" + sub, "channel": pick(rng, channels)})
	case k < 68 && len(a.messages) > 0:
		add("inbox", "message.replied", a.id, at, map[string]any{"message_id": pick(rng, a.messages)})
	case k < 76:
		id := "mtg-" + sub
		a.meetings = append(a.meetings, id)
		typ := pick(rng, []string{"meeting.held", "meeting.held", "meeting.missed", "meeting.canceled"})
		add("calendar", typ, a.id, at, map[string]any{"meeting_id": id})
	case k < 80:
		id := "sig-" + sub
		a.signals = append(a.signals, id)
		kind := pick(rng, riskKinds)
		if rng.IntN(2) == 0 {
			kind = pick(rng, oppKinds)
		}
		add("crm", "signal.raised", a.id, at, map[string]any{"signal_id": id, "kind": kind})
	case k < 82 && len(a.signals) > 0:
		add("crm", "signal.resolved", a.id, at, map[string]any{"signal_id": pick(rng, a.signals)})
	case k < 88:
		add("timesheet", "time.logged", a.id, at, map[string]any{
			"manager_id": manager(), "hours": float64(1+rng.IntN(32)) / 4, "billable": rng.IntN(5) > 0,
		})
	case k < 91:
		add("portal", "portal.login", a.id, at, map[string]any{"contact": "u@" + a.id})
	case k < 93:
		add("crm", "account.updated", a.id, at, map[string]any{"mrr": money(int64(rng.IntN(2_000_000)))})
	case k < 94:
		add("crm", "account.status_changed", a.id, at, map[string]any{"status": pick(rng, []string{"active", "on_hold", "churned"})})
	case k < 95:
		add("crm", "account.manager_assigned", a.id, at, map[string]any{"manager_id": manager()})
	case k < 96:
		add("crm", "health.overridden", a.id, at, map[string]any{
			"band": pick(rng, []string{"green", "yellow", "red"}), "reason": "review", "author": "lead",
			"expires_at": at.Add(time.Duration(1+rng.IntN(14)) * 24 * time.Hour).Format(time.RFC3339),
		})
	case k < 97:
		add("crm", "health.override_cleared", a.id, at, map[string]any{})
	default:
		add("crm", "referral.made", a.id, at, map[string]any{"referred": "Friend of " + a.id})
	}
}
