package api_test

import (
	"bytes"
	"io"
	"net/http"
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
		h, store := newServer(t, api.Config{})
		h, _ = newServer(t, api.Config{Store: store, Ingester: ingest.NewWithEncoding(store, enc)})
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
	}
	if !bytes.Equal(pages[0], pages[1]) {
		t.Fatalf("GET …/events differs by stored form\nJSON    %s\ncompact %s", pages[0], pages[1])
	}
}
