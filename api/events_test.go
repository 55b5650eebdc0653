package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/ingest"
)

// now is the fixed clock of these tests.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	store eventstore.Store
	srv   *httptest.Server
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := bolt.Open(context.Background(), t.TempDir(), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h, err := api.New(api.Config{Store: store, Ingester: ingest.New(store), Logger: zerolog.Nop(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: store, srv: startServer(t, h)}
}

func (f *fixture) post(t *testing.T, contentType string, body []byte, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

func (f *fixture) head(t *testing.T) eventstore.Position {
	t.Helper()
	h, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// ev builds a structured CloudEvent as a JSON object.
func ev(id, typ, subject, at string, data any) map[string]any {
	return map[string]any{"specversion": "1.0", "id": id, "source": "test", "type": typ, "subject": subject, "time": at, "data": data}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const t0 = "2026-02-01T10:00:00Z"

func TestPostBatchMixedValidAndInvalid(t *testing.T) {
	f := newFixture(t)
	type want struct {
		status string
		field  string // for rejections
	}
	cases := []struct {
		event any
		want  want
	}{
		{ev("m1", "manager.joined", "am-1", t0, map[string]any{"name": "Ana"}), want{"accepted", ""}},
		{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 12500.50, "manager_id": "am-1"}), want{"accepted", ""}},
		{ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 9}), want{"accepted", ""}},
		// envelope rules
		{map[string]any{"specversion": "0.3", "id": "x1", "source": "test", "type": "nps.responded", "subject": "acme", "time": t0, "data": map[string]any{"score": 9}}, want{"rejected", "specversion"}},
		{ev("", "nps.responded", "acme", t0, map[string]any{"score": 9}), want{"rejected", "id"}},
		{ev(strings.Repeat("x", 201), "nps.responded", "acme", t0, map[string]any{"score": 9}), want{"rejected", "id"}},
		{map[string]any{"specversion": "1.0", "id": "x2", "type": "nps.responded", "subject": "acme", "time": t0, "data": map[string]any{"score": 9}}, want{"rejected", "source"}},
		{ev("x3", "nps.answered", "acme", t0, map[string]any{"score": 9}), want{"rejected", "type"}},
		{ev("x4", "nps.responded", "ac me", t0, map[string]any{"score": 9}), want{"rejected", "subject"}},
		{ev("x5", "nps.responded", "acme", "yesterday", map[string]any{"score": 9}), want{"rejected", "time"}},
		{ev("x6", "nps.responded", "acme", now.Add(10*time.Minute).Format(time.RFC3339), map[string]any{"score": 9}), want{"rejected", "time"}},
		{ev("x7", "nps.responded", "acme", t0, "not an object"), want{"rejected", "data"}},
		{map[string]any{"specversion": "1.0", "id": "x8", "source": "test", "type": "nps.responded", "subject": "acme", "time": t0, "datacontenttype": "text/xml", "data": map[string]any{"score": 9}}, want{"rejected", "datacontenttype"}},
		// payload rules
		{ev("x9", "nps.responded", "acme", t0, map[string]any{"score": 11}), want{"rejected", "data.score"}},
		{ev("x10", "nps.responded", "acme", t0, map[string]any{"score": 7.5}), want{"rejected", "data.score"}},
		{ev("x11", "account.opened", "beta", t0, map[string]any{"mrr": 100}), want{"rejected", "data.name"}},
		{ev("x12", "account.opened", "beta", t0, map[string]any{"name": "Beta", "mrr": 1.005}), want{"rejected", "data.mrr"}},
		{ev("x13", "invoice.issued", "acme", t0, map[string]any{"invoice_id": "inv-1", "amount": 0, "due_date": "2026-03-01"}), want{"rejected", "data.amount"}},
		{ev("x14", "invoice.issued", "acme", t0, map[string]any{"invoice_id": "inv-1", "amount": 10, "due_date": "2026-02-30"}), want{"rejected", "data.due_date"}},
		{ev("x15", "time.logged", "acme", t0, map[string]any{"manager_id": "am-1", "hours": 25}), want{"rejected", "data.hours"}},
		{ev("x16", "signal.raised", "acme", t0, map[string]any{"signal_id": "s1", "kind": "bad_vibes"}), want{"rejected", "data.kind"}},
		// ordering and references
		{ev("x17", "nps.responded", "nobody", t0, map[string]any{"score": 9}), want{"rejected", "subject"}},
		{ev("x18", "account.manager_assigned", "acme", t0, map[string]any{"manager_id": "am-404"}), want{"rejected", "data.manager_id"}},
		{ev("x19", "account.opened", "acme", t0, map[string]any{"name": "Acme again", "mrr": 1}), want{"rejected", "subject"}},
		// valid ones after invalid ones are still stored
		{ev("k1", "kpi.reported", "acme", t0, map[string]any{"kpi": "leads", "target": 100, "actual": 95, "extra_field": "kept"}), want{"accepted", ""}},
		{ev("b1", "account.opened", "beta", t0, map[string]any{"name": "Beta", "mrr": 900}), want{"accepted", ""}},
	}
	batch := make([]any, len(cases))
	for i, c := range cases {
		batch[i] = c.event
	}
	body := mustJSON(t, batch)

	status, out := f.post(t, "application/cloudevents-batch+json; charset=utf-8", body)
	if status != http.StatusMultiStatus {
		t.Fatalf("status = %d, want 207; body %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Results) != len(cases) {
		t.Fatalf("got %d results, want %d", len(resp.Results), len(cases))
	}
	accepted := 0
	for i, c := range cases {
		r := resp.Results[i]
		if r.Index != i || string(r.Status) != c.want.status {
			t.Errorf("event %d: index %d status %q, want %q (error %+v)", i, r.Index, r.Status, c.want.status, r.Error)
			continue
		}
		if c.want.status == "accepted" {
			accepted++
			continue
		}
		if r.Error == nil || r.Error.Field != c.want.field || r.Error.Message == "" {
			t.Errorf("event %d: error %+v, want field %q with a message", i, r.Error, c.want.field)
		}
	}
	head := f.head(t)
	if int(head) != accepted || resp.Position != head {
		t.Fatalf("head = %d, position = %d; want both %d (one record per accepted event)", head, resp.Position, accepted)
	}

	// The same batch again: every accepted event is a duplicate, nothing is stored.
	status, out = f.post(t, "application/cloudevents-batch+json", body)
	if status != http.StatusMultiStatus {
		t.Fatalf("second post: status = %d, want 207", status)
	}
	var again api.IngestResponse
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		want := c.want.status
		if want == "accepted" {
			want = "duplicate"
		}
		if got := string(again.Results[i].Status); got != want {
			t.Errorf("second post, event %d: status %q, want %q", i, got, want)
		}
	}
	if h := f.head(t); h != head {
		t.Fatalf("head moved from %d to %d on a duplicate batch", head, h)
	}

	// Unknown data fields are kept as sent.
	recs, err := f.store.ReadStream(context.Background(), "account-acme", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(recs[len(recs)-1].Data, []byte(`"extra_field":"kept"`)) {
		t.Errorf("unknown field not kept: %s", recs[len(recs)-1].Data)
	}
}

func TestPostWholeRequestErrors(t *testing.T) {
	f := newFixture(t)
	big := bytes.Repeat([]byte(" "), 12<<20)
	big[0] = '['
	big[len(big)-1] = ']'
	tooMany := make([]any, api.DefaultMaxBatchEvents+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{}
	}
	cases := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"12 MB", "application/cloudevents-batch+json", big, http.StatusRequestEntityTooLarge, "too_large"},
		{"too many events", "application/cloudevents-batch+json", mustJSON(t, tooMany), http.StatusRequestEntityTooLarge, "too_large"},
		{"malformed batch", "application/cloudevents-batch+json", []byte(`[{"id": `), http.StatusBadRequest, "bad_request"},
		{"batch not array", "application/cloudevents-batch+json", []byte(`{"id":"1"}`), http.StatusBadRequest, "bad_request"},
		{"malformed structured", "application/cloudevents+json", []byte(`{"id": "1",`), http.StatusBadRequest, "bad_request"},
		{"text/plain", "text/plain", []byte(`hello`), http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"no content type", "", []byte(`{}`), http.StatusUnsupportedMediaType, "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out := f.post(t, c.contentType, c.body)
			if status != c.status {
				t.Fatalf("status = %d, want %d; body %s", status, c.status, out)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Code != c.code || e.Error.Message == "" {
				t.Fatalf("body %s: want error code %q with a message", out, c.code)
			}
		})
	}
	if h := f.head(t); h != 0 {
		t.Fatalf("head = %d after rejected requests, want 0", h)
	}
}

func TestPostSingleStructuredAndBinary(t *testing.T) {
	f := newFixture(t)
	status, out := f.post(t, "application/cloudevents+json", mustJSON(t, ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 100})))
	if status != http.StatusOK {
		t.Fatalf("structured: status %d, body %s", status, out)
	}
	// Binary mode: attributes in ce-* headers, data in the body.
	status, out = f.post(t, "application/json", []byte(`{"score": 10}`),
		"ce-specversion", "1.0", "ce-id", "n1", "ce-source", "survey%2Dtool", "ce-type", "nps.responded",
		"ce-subject", "acme", "ce-time", t0)
	if status != http.StatusOK {
		t.Fatalf("binary: status %d, body %s", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Position != 2 || len(resp.Results) != 1 || resp.Results[0].Status != "accepted" {
		t.Fatalf("binary: %s", out)
	}
	recs, err := f.store.ReadStream(context.Background(), "account-acme", 1, 1)
	if err != nil || len(recs) != 1 || !bytes.Contains(recs[0].Data, []byte(`"source":"survey-tool"`)) {
		t.Fatalf("binary event stored as %v (err %v); want percent-decoded source", recs, err)
	}
	// A single rejected event gets 400 with the result body.
	status, out = f.post(t, "application/cloudevents+json", mustJSON(t, ev("n2", "nps.responded", "acme", t0, map[string]any{"score": -1})))
	if status != http.StatusBadRequest || !strings.Contains(string(out), `"field":"data.score"`) {
		t.Fatalf("single rejected: status %d body %s", status, out)
	}
	status, out = f.post(t, "text/plain", []byte(`hi`), "ce-specversion", "1.0", "ce-id", "n3", "ce-source", "s", "ce-type", "nps.responded", "ce-subject", "acme", "ce-time", t0)
	if status != http.StatusBadRequest || !strings.Contains(string(out), `"field":"datacontenttype"`) {
		t.Fatalf("binary text/plain: status %d body %s", status, out)
	}
}

func TestAccountEventsPaging(t *testing.T) {
	f := newFixture(t)
	batch := []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 100})}
	for i := range 25 {
		batch = append(batch, ev(fmt.Sprintf("n%d", i), "nps.responded", "acme", t0, map[string]any{"score": i % 11}))
	}
	if status, out := f.post(t, "application/cloudevents-batch+json", mustJSON(t, batch)); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, out)
	}
	var ids []string
	cursor := ""
	pages := 0
	for {
		url := f.srv.URL + "/v1/accounts/acme/events?limit=10"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct {
				Position uint64          `json:"position"`
				ID       string          `json:"id"`
				Type     string          `json:"type"`
				Data     json.RawMessage `json:"data"`
			} `json:"events"`
			NextCursor *string `json:"next_cursor"`
		}
		err = json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("status %d, decode %v", res.StatusCode, err)
		}
		pages++
		for _, e := range page.Events {
			ids = append(ids, e.ID)
			if e.Position == 0 || len(e.Data) == 0 {
				t.Fatalf("event without position or data: %+v", e)
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if pages != 3 || len(ids) != 26 || ids[0] != "a1" || ids[25] != "n24" {
		t.Fatalf("pages %d, ids %v", pages, ids)
	}
	res, err := http.Get(f.srv.URL + "/v1/accounts/nobody/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown account: status %d, want 404", res.StatusCode)
	}
}
