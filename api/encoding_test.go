package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/ingest"
)

// TestAccountEventsSameBytesWhateverTheStoredForm posts the same events to
// a server that stores them as JSON and to one that stores the compact
// form: GET …/events answers the same bytes.
func TestAccountEventsSameBytesWhateverTheStoredForm(t *testing.T) {
	body := []byte(`[
	 {"specversion":"1.0","id":"a1","source":"crm","type":"account.opened","subject":"acme","time":"2026-02-01T00:00:00Z",
	  "datacontenttype":"application/json","data":{"name":"Acme","mrr":4500,"renewal_date":"2027-03-01"}},
	 {"specversion":"1.0","id":"n1","source":"survey","type":"nps.responded","subject":"acme","time":"2026-02-02T10:00:00.5+01:00",
	  "traceparent":"00-ab","n":1.50,"data":{"comment":"tr\u00e8s <b>bien</b> \ud83d\ude00","score":9,"x":[1,{"y":null}]}},
	 {"specversion":"1.0","id":"i1","source":"billing","type":"invoice.issued","subject":"acme","time":"2026-02-03T00:00:00Z",
	  "data":{ "amount" : 1200.50, "due_date":"2026-03-01", "invoice_id":"INV-1" }},
	 {"specversion":"1.0","id":"m1","source":"crm","type":"account.manager_assigned","subject":"acme","time":"2026-02-04T00:00:00Z",
	  "data":{"manager_id":null}}]`)
	var pages [2][]byte
	for i, enc := range []ingest.Encoding{ingest.EncodeJSON, ingest.EncodeCompact} {
		_, store := newServer(t, api.Config{}) // a store, for a server that ingests with enc
		h, _ := newServer(t, api.Config{Store: store, Ingester: ingest.NewWithEncoding(store, enc)})
		srv := startServer(t, h)
		res, err := http.Post(srv.URL+"/v1/events", "application/cloudevents-batch+json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || bytes.Contains(out, []byte("rejected")) {
			t.Fatalf("encoding %d: POST: %d %s", enc, res.StatusCode, out)
		}
		res, err = http.Get(srv.URL + "/v1/accounts/acme/events")
		if err != nil {
			t.Fatal(err)
		}
		pages[i], _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("encoding %d: GET events: %d %s", enc, res.StatusCode, pages[i])
		}
		// A cursor past the end is an empty page.
		res, err = http.Get(srv.URL + "/v1/accounts/acme/events?cursor=99")
		if err != nil {
			t.Fatal(err)
		}
		past, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !bytes.Contains(past, []byte(`"events":[]`)) {
			t.Fatalf("encoding %d: a cursor past the end: %d %s", enc, res.StatusCode, past)
		}
	}
	if !bytes.Equal(pages[0], pages[1]) {
		t.Fatalf("GET …/events differs by stored form\nJSON    %s\ncompact %s", pages[0], pages[1])
	}
}

// BenchmarkAccountEvents serves a page of 100 events of one account,
// stored as JSON and in the compact form.
func BenchmarkAccountEvents(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`[{"specversion":"1.0","id":"a1","source":"crm","type":"account.opened","subject":"acme","time":"2026-02-01T00:00:00Z","data":{"name":"Acme","mrr":4500}}`)
	for i := range 99 {
		fmt.Fprintf(&body, `,{"specversion":"1.0","id":"t%d","source":"crm","type":"touchpoint.recorded","subject":"acme","time":"2026-02-01T10:00:00Z",`+
			`"datacontenttype":"application/json","data":{"channel":"email","direction":"outbound","summary":"weekly report sent"}}`, i)
	}
	body.WriteString(`]`)
	for _, enc := range []ingest.Encoding{ingest.EncodeJSON, ingest.EncodeCompact} {
		b.Run(map[ingest.Encoding]string{ingest.EncodeJSON: "json", ingest.EncodeCompact: "compact"}[enc], func(b *testing.B) {
			_, store := newServer(b, api.Config{})
			h, _ := newServer(b, api.Config{Store: store, Ingester: ingest.NewWithEncoding(store, enc)})
			req := httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body.Bytes()))
			req.Header.Set("Content-Type", "application/cloudevents-batch+json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte("rejected")) {
				b.Fatalf("POST: %d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/accounts/acme/events?limit=100", nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET: %d", rec.Code)
				}
			}
		})
	}
}
