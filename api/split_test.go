package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestSplitArray checks splitArray, the fast path of batch parsing, against
// encoding/json: what it accepts, json.Unmarshal reads into the same
// elements; what it refuses is left to json.Unmarshal.
func TestSplitArray(t *testing.T) {
	for _, body := range []string{
		`[]`, ` [ {"a":1} , {"b":[1,2]} ] `, `[{"a":"x"},1,"s",null]`, `[{"a":1,"a":2}]`,
		`[{"a":"\ud800"}]`, "[{\"a\":\"\xff\"}]", `[1,]`, `null`, `{"a":1}`, `[1] [2]`, `[`,
	} {
		fast, ok := splitArray([]byte(body))
		var ref []json.RawMessage
		err := json.Unmarshal([]byte(body), &ref)
		if !ok {
			continue
		}
		if err != nil {
			t.Errorf("splitArray accepted %q, json.Unmarshal refuses it: %v", body, err)
			continue
		}
		if len(fast) != len(ref) {
			t.Errorf("splitArray(%q) has %d elements, json.Unmarshal %d", body, len(fast), len(ref))
			continue
		}
		for i := range fast {
			if string(fast[i]) != string(ref[i]) {
				t.Errorf("splitArray(%q)[%d] = %s, want %s", body, i, fast[i], ref[i])
			}
		}
	}
	if _, ok := splitArray([]byte(`[{"a":1},{"b":2}]`)); !ok {
		t.Error("splitArray refused a valid batch")
	}
}

// BenchmarkDecodeBatch parses a request of 1000 events as POST /v1/events
// does (split the array, parse and validate each event), per event.
func BenchmarkDecodeBatch(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"specversion":"1.0","id":"evt-%d","source":"crm","type":"touchpoint.recorded","subject":"account-%d",`+
			`"time":"2026-02-01T10:00:00Z","datacontenttype":"application/json",`+
			`"data":{"channel":"email","direction":"outbound","manager_id":"am-1","summary":"weekly report sent"}}`, i, i%200)
	}
	body.WriteByte(']')
	s := &Server{cfg: Config{Now: func() time.Time { return now }, MaxBatchEvents: 5000}}
	req := httptest.NewRequest(http.MethodPost, "/v1/events", nil)
	req.Header.Set("Content-Type", mediaBatch)
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		cands, _, err := s.decodeRequest(req, body.Bytes())
		if err != nil || len(cands) != 1000 || cands[999].Err != nil {
			b.Fatalf("decodeRequest: %v", err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/event")
}
