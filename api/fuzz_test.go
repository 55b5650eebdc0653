package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// Limits of the fuzzed server: small, so that the 413 paths are reachable
// with the short inputs a fuzzer produces.
const (
	fuzzMaxBody   = 8 << 10
	fuzzMaxEvents = 8
)

// Request modes of FuzzBatch, chosen by its mode argument modulo 4. The
// headers argument is applied after the mode's Content-Type, so it may
// override it and add ce-* attributes.
var fuzzModes = []string{
	"application/cloudevents-batch+json",
	"application/cloudevents+json",
	"application/json", // binary mode when headers carry ce-*
	"",                 // no Content-Type
}

// FuzzBatch posts arbitrary bodies to POST /v1/events in batch, structured
// and binary mode against one bolt store per fuzzing process, and checks the
// contract of README "Send events" and docs/events.md#http-requests: no
// panic and no 5xx; the status set; one result per
// event in order; 200 exactly when nothing is rejected; every accepted event
// and nothing else is appended, in order, and decodes again; and re-posting
// the same request stores nothing new except events whose account or
// manager was created by the first post.
func FuzzBatch(f *testing.F) {
	store, err := bolt.Open(context.Background(), f.TempDir(), bolt.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	h, err := api.New(api.Config{
		Store: store, Ingester: ingest.New(store), Logger: zerolog.Nop(),
		Now:          func() time.Time { return now },
		MaxBodyBytes: fuzzMaxBody, MaxBatchEvents: fuzzMaxEvents,
	})
	if err != nil {
		f.Fatal(err)
	}

	f.Add([]byte(`[{"specversion":"1.0","id":"m1","source":"code","type":"manager.joined","subject":"am-1","time":"2026-02-01T10:00:00Z","data":{"name":"Ana"}},`+
		`{"specversion":"1.0","id":"a1","source":"code","type":"account.opened","subject":"acme","time":"2026-02-01T10:00:00Z","data":{"name":"Acme","mrr":12500.5,"manager_id":"am-1"}}]`), uint8(0), "")
	f.Add([]byte(`[{"specversion":"1.0","id":"n1","source":"code","type":"nps.responded","subject":"late-code","time":"2026-02-01T10:00:00Z","data":{"score":9}},`+
		`{"specversion":"1.0","id":"a2","source":"code","type":"account.opened","subject":"late-code","time":"2026-02-01T10:00:00Z","data":{"name":"Late","mrr":1}}]`), uint8(0), "")
	f.Add([]byte(`{"specversion":"1.0","id":"s1","source":"code","type":"account.opened","subject":"solo-code","time":"2026-02-01T10:00:00Z","data":{"name":"Solo","mrr":0}}`), uint8(1), "")
	f.Add([]byte(`{"score":10}`), uint8(2), "ce-specversion: 1.0\nce-id: b1\nce-source: code%2Dtool\nce-type: nps.responded\nce-subject: acme\nce-time: 2026-02-01T10:00:00Z")
	f.Add([]byte(`[1, null, {}, []]`), uint8(0), "")
	f.Add([]byte(`[{"id": `), uint8(0), "")
	f.Add([]byte(`hello`), uint8(3), "Content-Type: text/plain")

	f.Fuzz(func(t *testing.T, body []byte, mode uint8, headers string) {
		req := fuzzRequest(body, mode, headers)
		kind, plain := requestKind(req.Header, body)
		before := fuzzHead(t, store)
		prev := postAndCheck(t, h, store, req, plain, kind, before)
		// Re-post until nothing more is accepted: only events rejected for
		// ordering (an account or manager that a later event of the request
		// created) may be accepted the second time, so this settles after a
		// few rounds.
		for round := 0; prev != nil; round++ {
			if round == 3 {
				t.Fatalf("re-posting the same request still accepts events after %d rounds", round)
			}
			head := fuzzHead(t, store)
			next := postAndCheck(t, h, store, fuzzRequest(body, mode, headers), plain, kind, head)
			if next == nil {
				break // whole-request errors are stable across posts
			}
			accepted := comparePosts(t, prev, next)
			prev = next
			if accepted == 0 {
				if after := fuzzHead(t, store); after != head {
					t.Fatalf("head moved from %d to %d on a re-post that accepted nothing", head, after)
				}
				break
			}
		}
	})
}

// fuzzRequest builds the request of one FuzzBatch input.
func fuzzRequest(body []byte, mode uint8, headers string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body))
	if ct := fuzzModes[int(mode)%len(fuzzModes)]; ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for line := range strings.SplitSeq(headers, "\n") {
		name, val, ok := strings.Cut(line, ":")
		val = strings.Trim(val, " \t")
		if !ok || !validHeaderName(name) || !validHeaderValue(val) {
			continue // net/http would refuse the request before the handler
		}
		if strings.EqualFold(name, "Content-Type") {
			req.Header.Set(name, val)
			continue
		}
		req.Header.Add(name, val)
	}
	return req
}

// validHeaderName reports whether s is an HTTP token (RFC 9110 §5.6.2).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether net/http's server would accept s as a
// field value: no control characters except tab.
func validHeaderValue(s string) bool {
	for _, c := range []byte(s) {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// Request kinds of the CloudEvents HTTP binding, plus a body labelled gzip
// that is not gzip data.
const (
	kindBatch = iota
	kindStructured
	kindBinary
	kindUnsupported
	kindBadGzip
)

// requestKind tells which CloudEvents HTTP mode a request is in, and
// returns the body the server decodes (body itself, or decompressed when
// it is labelled gzip). A Content-Encoding other than one gzip, or a
// charset other than UTF-8, makes the request unsupported (415).
func requestKind(h http.Header, body []byte) (int, []byte) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	plain := body
	switch {
	case len(codings) == 0:
	case len(codings) == 1 && (codings[0] == "gzip" || codings[0] == "x-gzip"):
		if len(body) <= fuzzMaxBody {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return kindBadGzip, body
			}
			plain, err = io.ReadAll(io.LimitReader(zr, fuzzMaxBody+1))
			if err != nil {
				return kindBadGzip, body
			}
		}
	default:
		return kindUnsupported, body
	}
	media, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if cs, ok := params["charset"]; err == nil && ok && !strings.EqualFold(cs, "utf-8") {
		return kindUnsupported, plain
	}
	switch {
	case err == nil && media == "application/cloudevents-batch+json":
		return kindBatch, plain
	case err == nil && media == "application/cloudevents+json":
		return kindStructured, plain
	case h.Get("Ce-Specversion") != "" || h.Get("Ce-Id") != "":
		return kindBinary, plain
	default:
		return kindUnsupported, plain
	}
}

func fuzzHead(t *testing.T, store eventstore.Store) eventstore.Position {
	t.Helper()
	h, err := store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// fuzzResult is one result as a client reads it.
type fuzzResult struct {
	Index  *int    `json:"index"`
	ID     *string `json:"id"`
	Status string  `json:"status"`
	Error  *struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error"`
}

// postAndCheck serves req, checks the answer and the store against it, and
// returns the results, or nil when the request was refused as a whole.
func postAndCheck(t *testing.T, h http.Handler, store eventstore.Store, req *http.Request, body []byte, kind int, before eventstore.Position) []fuzzResult {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	status, out := rec.Code, rec.Body.Bytes()
	switch status {
	case http.StatusOK, http.StatusMultiStatus, http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
	default:
		t.Fatalf("status %d; body %s", status, out)
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(out, &shape); err != nil {
		t.Fatalf("status %d: body is not a JSON object: %v\n%s", status, err, out)
	}
	_, hasResults := shape["results"]
	_, hasError := shape["error"]

	var batchLen int
	if kind == kindBatch {
		var raws []json.RawMessage
		if json.Unmarshal(body, &raws) != nil {
			batchLen = -1
		} else {
			batchLen = len(raws)
		}
	}
	tooBig := len(body) > fuzzMaxBody
	switch {
	case tooBig && (status == http.StatusRequestEntityTooLarge || status == http.StatusUnsupportedMediaType):
	case tooBig:
		t.Fatalf("a %d-byte body (limit %d) got status %d", len(body), fuzzMaxBody, status)
	case kind == kindUnsupported && status != http.StatusUnsupportedMediaType:
		t.Fatalf("Content-Type %q (Content-Encoding %q) without ce-* headers got status %d, want 415", req.Header.Get("Content-Type"), req.Header.Get("Content-Encoding"), status)
	case kind == kindBadGzip && status != http.StatusBadRequest:
		t.Fatalf("a body labelled gzip that is not gzip got status %d, want 400", status)
	case kind == kindBatch && batchLen < 0 && status != http.StatusBadRequest:
		t.Fatalf("a batch that is not a JSON array got status %d, want 400", status)
	case kind == kindBatch && batchLen > fuzzMaxEvents && status != http.StatusRequestEntityTooLarge:
		t.Fatalf("a batch of %d events (limit %d) got status %d, want 413", batchLen, fuzzMaxEvents, status)
	case !tooBig && status == http.StatusRequestEntityTooLarge && !(kind == kindBatch && batchLen > fuzzMaxEvents):
		t.Fatalf("status 413 for a %d-byte request of kind %d", len(body), kind)
	}

	if !hasResults {
		if status == http.StatusOK || status == http.StatusMultiStatus {
			t.Fatalf("status %d without results: %s", status, out)
		}
		var e struct {
			Error *struct {
				Code    *string `json:"code"`
				Message *string `json:"message"`
			} `json:"error"`
		}
		if !hasError || json.Unmarshal(out, &e) != nil || e.Error == nil || e.Error.Code == nil || *e.Error.Code == "" ||
			e.Error.Message == nil || *e.Error.Message == "" {
			t.Fatalf("status %d: body is not the error shape: %s", status, out)
		}
		if after := fuzzHead(t, store); after != before {
			t.Fatalf("a request refused with %d moved the head from %d to %d", status, before, after)
		}
		return nil
	}

	// The results shape.
	if status != http.StatusOK && status != http.StatusMultiStatus && !(status == http.StatusBadRequest && kind != kindBatch) {
		t.Fatalf("status %d with the results shape (request kind %d): %s", status, kind, out)
	}
	var resp struct {
		Position *eventstore.Position `json:"position"`
		Results  []fuzzResult         `json:"results"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || resp.Position == nil {
		t.Fatalf("results body %s: %v (or no position)", out, err)
	}
	want := 1
	if kind == kindBatch {
		want = batchLen
	}
	if len(resp.Results) != want {
		t.Fatalf("%d results for %d events: %s", len(resp.Results), want, out)
	}
	rejected := 0
	var acceptedIDs []string
	for i, r := range resp.Results {
		if r.Index == nil || *r.Index != i || r.ID == nil {
			t.Fatalf("result %d has index %v, id %v", i, r.Index, r.ID)
		}
		switch r.Status {
		case string(ingest.Accepted):
			acceptedIDs = append(acceptedIDs, *r.ID)
		case string(ingest.Duplicate):
		case string(ingest.Rejected):
			rejected++
		default:
			t.Fatalf("result %d: status %q", i, r.Status)
		}
		if (r.Status == string(ingest.Rejected)) != (r.Error != nil) {
			t.Fatalf("result %d: status %s with error %+v", i, r.Status, r.Error)
		}
		if r.Error != nil && (r.Error.Field == "" || r.Error.Message == "") {
			t.Fatalf("result %d: rejected without field and message: %+v", i, *r.Error)
		}
	}
	switch {
	case rejected == 0 && status != http.StatusOK:
		t.Fatalf("status %d with no rejection: %s", status, out)
	case rejected > 0 && kind == kindBatch && status != http.StatusMultiStatus:
		t.Fatalf("status %d for a batch with %d rejections, want 207", status, rejected)
	case rejected > 0 && kind != kindBatch && status != http.StatusBadRequest:
		t.Fatalf("status %d for a rejected single event, want 400", status)
	}
	if hp := rec.Header().Get(api.PositionHeader); hp != strconv.FormatUint(uint64(*resp.Position), 10) {
		t.Fatalf("%s header %q, body position %d", api.PositionHeader, hp, *resp.Position)
	}

	// The store holds exactly the accepted events, in order, after before.
	after := fuzzHead(t, store)
	if int(after-before) != len(acceptedIDs) {
		t.Fatalf("head moved from %d to %d for %d accepted events: %s", before, after, len(acceptedIDs), out)
	}
	if *resp.Position > after || (len(acceptedIDs) > 0 && *resp.Position != after) {
		t.Fatalf("position %d, head %d, %d accepted", *resp.Position, after, len(acceptedIDs))
	}
	recs, err := store.ReadAll(context.Background(), before, len(acceptedIDs)+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(acceptedIDs) {
		t.Fatalf("%d records after position %d, want %d", len(recs), before, len(acceptedIDs))
	}
	for i, r := range recs {
		e, err := domain.Decode(r.Data)
		if err != nil {
			t.Fatalf("stored record %d does not decode: %v\n%s", r.Position, err, r.Data)
		}
		if e.ID != acceptedIDs[i] || r.Key != e.Key() {
			t.Fatalf("record %d holds id %q key %q, want accepted id %q", r.Position, e.ID, r.Key, acceptedIDs[i])
		}
		for _, ref := range e.ManagerRefs() {
			stream := domain.Event{Type: domain.TypeManagerJoined, Subject: ref.ID}.Stream()
			first, err := store.ReadStream(context.Background(), stream, 0, 1)
			if err != nil || len(first) == 0 || first[0].Position > r.Position {
				t.Fatalf("record %d (%s) names manager %q in %s, which had not joined before it (%v, err %v)",
					r.Position, e.Type, ref.ID, ref.Field, first, err)
			}
		}
	}
	return resp.Results
}

// comparePosts checks the results of re-posting a request against the
// previous post and returns how many events the re-post accepted.
func comparePosts(t *testing.T, prev, next []fuzzResult) int {
	t.Helper()
	if len(prev) != len(next) {
		t.Fatalf("re-post: %d results, before %d", len(next), len(prev))
	}
	accepted := 0
	for i, p := range prev {
		n := next[i]
		switch {
		case p.Status == string(ingest.Rejected) && orderDependent(p.Error.Message):
			// The account or manager it names may exist now.
			if n.Status == string(ingest.Accepted) {
				accepted++
			}
		case p.Status == string(ingest.Rejected):
			if n.Status != p.Status || n.Error.Field != p.Error.Field {
				t.Fatalf("re-post, event %d: was rejected (%s: %s), now %s %+v", i, p.Error.Field, p.Error.Message, n.Status, n.Error)
			}
		default: // accepted or duplicate: stored, so a duplicate from now on
			if n.Status != string(ingest.Duplicate) {
				t.Fatalf("re-post, event %d: was %s, now %s %+v", i, p.Status, n.Status, n.Error)
			}
		}
	}
	return accepted
}

// orderDependent reports whether a rejection depends on what the store holds
// (docs/events.md#ordering-rules-append-order: unknown account or manager,
// an account opened twice), as
// opposed to the event alone.
func orderDependent(msg string) bool {
	return strings.HasPrefix(msg, "unknown account") || strings.HasPrefix(msg, "unknown manager") ||
		strings.Contains(msg, "already exists")
}
