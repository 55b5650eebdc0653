package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
)

// ledger is everything the clients sent, for checking what was stored.
type ledger struct {
	events  map[eventKey]*sentEvent
	batches []*batch
}

func newLedger(clients []*client, more ...*batch) *ledger {
	l := &ledger{events: make(map[eventKey]*sentEvent)}
	batches := more
	for _, c := range clients {
		batches = append(batches, c.batches...)
	}
	for _, b := range batches {
		l.batches = append(l.batches, b)
		for _, e := range b.events {
			l.events[e.key] = e
		}
	}
	return l
}

// accountIDs lists every account any batch opened, acknowledged or not.
func (l *ledger) accountIDs() []string {
	var ids []string
	for _, b := range l.batches {
		for _, a := range b.opens {
			ids = append(ids, a.id)
		}
	}
	slices.Sort(ids)
	return ids
}

// sampleAccounts picks up to n acknowledged accounts, spread over the ids.
func (l *ledger) sampleAccounts(n int) []string {
	var ids []string
	for _, b := range l.batches {
		if b.acked {
			for _, a := range b.opens {
				ids = append(ids, a.id)
			}
		}
	}
	slices.Sort(ids)
	if len(ids) <= n {
		return ids
	}
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, ids[i*len(ids)/n])
	}
	return out
}

// lastAcked is the latest event time of any acknowledged batch.
func (l *ledger) lastAcked() time.Time {
	var t time.Time
	for _, b := range l.batches {
		if b.acked && b.latest.After(t) {
			t = b.latest
		}
	}
	return t
}

// storedEvent is an event as read back.
type storedEvent struct {
	key          eventKey
	typ, subject string
	position     uint64
}

// report counts what a check found.
type report struct {
	stored, storedUnacked, acked              int
	lost, duplicates, unknown, partial, wrong int
}

// check compares what was stored with what was sent, for the sent events
// include selects (the ones the stored set can contain), and reports every
// violation with t.Errorf (the first few of each kind).
func (l *ledger) check(t *testing.T, name string, stored []storedEvent, include func(*sentEvent) bool) report {
	t.Helper()
	const show = 10
	var r report
	counts := make(map[eventKey]int, len(stored))
	for _, s := range stored {
		counts[s.key]++
		r.stored++
		e := l.events[s.key]
		switch {
		case e == nil:
			if r.unknown++; r.unknown <= show {
				t.Errorf("%s: stored event %s (%s of %s) was never sent", name, s.key, s.typ, s.subject)
			}
		case e.typ != s.typ || e.subject != s.subject:
			if r.wrong++; r.wrong <= show {
				t.Errorf("%s: stored event %s is %s of %s, sent as %s of %s", name, s.key, s.typ, s.subject, e.typ, e.subject)
			}
		case !e.batch.acked:
			r.storedUnacked++
		}
	}
	for k, n := range counts {
		if n > 1 {
			if r.duplicates += n - 1; r.duplicates <= show {
				t.Errorf("%s: event %s is stored %d times", name, k, n)
			}
		}
	}
	for _, b := range l.batches {
		var want, present int
		var missing []string
		for _, e := range b.events {
			if !include(e) {
				continue
			}
			want++
			if counts[e.key] > 0 {
				present++
			} else {
				missing = append(missing, e.key.String())
			}
		}
		if b.acked {
			r.acked += want
			if present < want {
				if r.lost += want - present; r.lost <= show {
					t.Errorf("%s: batch %s was acknowledged but %d of its %d events are missing: %v", name, b.name, want-present, want, missing[:min(len(missing), 5)])
				}
			}
			continue
		}
		if present != 0 && present != want {
			if r.partial++; r.partial <= show {
				t.Errorf("%s: batch %s %s (unacknowledged, %d attempts) is stored in part: %d of %d events", name, b.name, b.types(), b.attempts, present, want)
			}
		}
	}
	return r
}

// readAccountEvents reads every account's events, all pages, from
// GET /v1/accounts/{id}/events. An account that is not found has none.
func readAccountEvents(ctx context.Context, hc *http.Client, base string, ids []string) ([]storedEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out []storedEvent
	for _, id := range ids {
		cursor := ""
		for page := 0; ; page++ {
			if page > 10_000 {
				return nil, fmt.Errorf("account %s: more than 10000 pages of events", id)
			}
			u := base + "/v1/accounts/" + url.PathEscape(id) + "/events?limit=1000"
			if cursor != "" {
				u += "&cursor=" + url.QueryEscape(cursor)
			}
			status, body, err := get(ctx, hc, u)
			if err != nil {
				return nil, err
			}
			if status == http.StatusNotFound && page == 0 {
				break
			}
			if status != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %.300s", u, status, body)
			}
			var p struct {
				Events []struct {
					Position uint64 `json:"position"`
					ID       string `json:"id"`
					Source   string `json:"source"`
					Type     string `json:"type"`
					Subject  string `json:"subject"`
				} `json:"events"`
				Next string `json:"next_cursor"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				return nil, fmt.Errorf("GET %s: %w", u, err)
			}
			for _, e := range p.Events {
				out = append(out, storedEvent{key: eventKey{e.Source, e.ID}, typ: e.Type, subject: e.Subject, position: e.Position})
			}
			if p.Next == "" {
				break
			}
			if len(p.Events) == 0 {
				return nil, fmt.Errorf("GET %s: an empty page with a next cursor", u)
			}
			cursor = p.Next
		}
	}
	return out, nil
}

// readLog reads the whole log from the store file (the server must be
// stopped) and checks that positions run 1, 2, 3, … without gaps.
func readLog(ctx context.Context, dataDir string) ([]storedEvent, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	store, err := bolt.Open(ctx, dataDir, bolt.Options{})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return nil, err
	}
	var out []storedEvent
	var after uint64
	for {
		recs, err := store.ReadAll(ctx, eventstore.Position(after), 5000)
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			break
		}
		for _, rec := range recs {
			if uint64(rec.Position) != after+1 {
				return nil, fmt.Errorf("store log: position %d follows %d", rec.Position, after)
			}
			after = uint64(rec.Position)
			// The stored form (compact or JSON) is the store's business:
			// read it as the server does.
			e, err := domain.Decode(rec.Data)
			if err != nil {
				return nil, fmt.Errorf("store log: position %d: %w", rec.Position, err)
			}
			out = append(out, storedEvent{key: eventKey{e.Source, e.ID}, typ: string(e.Type), subject: e.Subject, position: after})
		}
	}
	if after != uint64(head) {
		return nil, fmt.Errorf("store log: read up to position %d, head is %d", after, head)
	}
	return out, nil
}

// fetchViews reads the read models as of at and returns each answer as
// canonical JSON without its "position" members, by path.
func fetchViews(ctx context.Context, hc *http.Client, base string, at time.Time, accounts []string) (map[string][]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	q := "at=" + url.QueryEscape(at.UTC().Format(time.RFC3339))
	paths := []string{"/v1/portfolio?" + q, "/v1/at-risk?" + q, "/v1/upsell?" + q, "/v1/managers?" + q}
	for _, id := range accounts {
		paths = append(paths, "/v1/accounts/"+url.PathEscape(id)+"?"+q, "/v1/accounts/"+url.PathEscape(id)+"/health?"+q)
	}
	out := make(map[string][]byte)
	for _, p := range paths {
		v, err := getView(ctx, hc, base+p)
		if err != nil {
			return nil, err
		}
		out[p] = v
	}
	// The account list, all pages.
	cursor := ""
	for page := 0; ; page++ {
		p := "/v1/accounts?limit=1000&" + q
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		v, err := getView(ctx, hc, base+p)
		if err != nil {
			return nil, err
		}
		out[p] = v
		var next struct {
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(v, &next); err != nil {
			return nil, err
		}
		if next.Next == "" {
			break
		}
		if page > 1000 {
			return nil, errors.New("/v1/accounts: more than 1000 pages")
		}
		cursor = next.Next
	}
	return out, nil
}

// getView GETs u (expecting 200) and canonicalizes the answer.
func getView(ctx context.Context, hc *http.Client, u string) ([]byte, error) {
	status, body, err := get(ctx, hc, u)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d %.300s", u, status, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	out, err := json.Marshal(stripPositions(v))
	if err != nil {
		return nil, err
	}
	return out, nil
}

// stripPositions removes every "position" member, at any depth.
func stripPositions(v any) any {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "position")
		for k, x := range v {
			v[k] = stripPositions(x)
		}
	case []any:
		for i, x := range v {
			v[i] = stripPositions(x)
		}
	}
	return v
}

// checkCounts checks that the account list and the managers' capacity
// (answers of fetchViews, all instants after every open and join) hold
// exactly the accounts and managers whose opening event is in the log.
func checkCounts(t *testing.T, views map[string][]byte, log []storedEvent) {
	t.Helper()
	var opened, joined int
	for _, e := range log {
		switch e.typ {
		case "account.opened":
			opened++
		case "manager.joined":
			joined++
		}
	}
	var listed, managers int
	for p, v := range views {
		switch {
		case strings.HasPrefix(p, "/v1/accounts?"):
			var page struct {
				Items []json.RawMessage `json:"items"`
				Total int               `json:"total"`
			}
			if err := json.Unmarshal(v, &page); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			listed += len(page.Items)
			if page.Total != opened {
				t.Errorf("%s: total %d accounts, the log has %d account.opened", p, page.Total, opened)
			}
		case strings.HasPrefix(p, "/v1/managers?"):
			var c struct {
				Managers []json.RawMessage `json:"managers"`
			}
			if err := json.Unmarshal(v, &c); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			managers = len(c.Managers)
		}
	}
	if listed != opened {
		t.Errorf("/v1/accounts lists %d accounts over its pages, the log has %d account.opened", listed, opened)
	}
	if managers != joined {
		t.Errorf("/v1/managers lists %d managers, the log has %d manager.joined", managers, joined)
	}
}

// compareViews reports every view whose answers differ.
func compareViews(t *testing.T, live, rebuilt map[string][]byte) {
	t.Helper()
	for p, a := range live {
		b, ok := rebuilt[p]
		switch {
		case !ok:
			t.Errorf("%s: answered by the restarted server, not after the rebuild", p)
		case !bytes.Equal(a, b):
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			lo := max(0, i-200)
			t.Errorf("%s: differs after a rebuild from zero at byte %d:\nrestarted: …%s…\nrebuilt:   …%s…",
				p, i, a[lo:min(len(a), i+200)], b[lo:min(len(b), i+200)])
		}
	}
	for p := range rebuilt {
		if _, ok := live[p]; !ok {
			t.Errorf("%s: answered after the rebuild, not by the restarted server", p)
		}
	}
}

// get GETs u and returns the status and body; it waits and tries again
// (a few times) when the answer is 429.
func get(ctx context.Context, hc *http.Client, u string) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, nil, fmt.Errorf("GET %s: %w", u, err)
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt == 20 {
			return resp.StatusCode, body, nil
		}
		select {
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-time.After(min(retryAfterOf(resp), time.Second)):
		}
	}
}
