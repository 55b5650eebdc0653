package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
)

// postRaw posts body with the given headers (a header may repeat) and
// returns the status and the body.
func postRaw(t *testing.T, url string, body []byte, headers ...string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/events", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out, res.Header
}

// binaryHeaders are the ce-* headers of a valid binary-mode nps event.
var binaryHeaders = []string{"Content-Type", "application/json", "ce-specversion", "1.0", "ce-id", "n1", "ce-source", "survey",
	"ce-type", "nps.responded", "ce-subject", "acme", "ce-time", t0}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestBindingRules: the HTTP-level input rules of POST /v1/events.
func TestBindingRules(t *testing.T) {
	h, store := newServer(t, api.Config{MaxBodyBytes: 1 << 20})
	srv := startServer(t, h)
	opened := mustJSON(t, []any{ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1})})
	if status, out, _ := postRaw(t, srv.URL, opened, "Content-Type", "application/cloudevents-batch+json"); status != http.StatusOK {
		t.Fatalf("setup: %d %s", status, out)
	}
	nps := mustJSON(t, ev("n9", "nps.responded", "acme", t0, map[string]any{"score": 9}))
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 8<<20)) // 8 MiB of spaces, ~8 KiB compressed

	cases := []struct {
		name    string
		body    []byte
		headers []string
		status  int
		code    string
		mention []string // the message must contain each
	}{
		{"repeated ce-id", []byte(`{"score":9}`), append(append([]string{}, binaryHeaders...), "ce-id", "n2"),
			http.StatusBadRequest, "bad_request", []string{"Ce-Id", "more than once"}},
		{"repeated ce-subject", []byte(`{"score":9}`), append(append([]string{}, binaryHeaders...), "ce-subject", "other"),
			http.StatusBadRequest, "bad_request", []string{"Ce-Subject", "more than once"}},
		{"ce-datacontenttype header", []byte(`{"score":9}`), append(append([]string{}, binaryHeaders...), "ce-datacontenttype", "application/json"),
			http.StatusBadRequest, "bad_request", []string{"ce-datacontenttype", "Content-Type"}},
		{"brotli", nps, []string{"Content-Type", "application/cloudevents+json", "Content-Encoding", "br"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"br", "gzip"}},
		{"gzip twice", gzipped(t, gzipped(t, nps)), []string{"Content-Type", "application/cloudevents+json", "Content-Encoding", "gzip, gzip"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"gzip, gzip"}},
		{"labelled gzip but plain", nps, []string{"Content-Type", "application/cloudevents+json", "Content-Encoding", "gzip"},
			http.StatusBadRequest, "bad_request", []string{"gzip"}},
		{"gzip bomb", bomb, []string{"Content-Type", "application/cloudevents-batch+json", "Content-Encoding", "gzip"},
			http.StatusRequestEntityTooLarge, "too_large", []string{"decompressed"}},
		{"latin-1 structured", nps, []string{"Content-Type", "application/cloudevents+json; charset=iso-8859-1"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"iso-8859-1", "UTF-8"}},
		{"latin-1 batch", []byte("[" + string(nps) + "]"), []string{"Content-Type", "application/cloudevents-batch+json; charset=latin1"},
			http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"latin1"}},
		{"utf-16 binary", []byte(`{"score":9}`), append([]string{"Content-Type", "application/json; charset=utf-16"}, binaryHeaders[2:]...),
			http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"utf-16"}},
		{"BOM structured", append([]byte("\xEF\xBB\xBF"), nps...), []string{"Content-Type", "application/cloudevents+json"},
			http.StatusBadRequest, "bad_request", []string{"byte order mark"}},
		{"BOM batch", append([]byte("\xEF\xBB\xBF["), append(nps, ']')...), []string{"Content-Type", "application/cloudevents-batch+json"},
			http.StatusBadRequest, "bad_request", []string{"byte order mark"}},
		{"BOM binary", []byte("\xEF\xBB\xBF{\"score\":9}"), binaryHeaders,
			http.StatusBadRequest, "bad_request", []string{"byte order mark"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, out, hdr := postRaw(t, srv.URL, c.body, c.headers...)
			if status != c.status {
				t.Fatalf("status %d body %s, want %d", status, out, c.status)
			}
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error.Code != c.code {
				t.Fatalf("body %s: want error code %q", out, c.code)
			}
			for _, m := range c.mention {
				if !strings.Contains(e.Error.Message, m) {
					t.Errorf("message %q does not mention %q", e.Error.Message, m)
				}
			}
			// RFC 7694: a 415 for an encoding says which ones are accepted.
			if status == http.StatusUnsupportedMediaType && strings.Contains(strings.Join(c.headers, "\n"), "Content-Encoding") &&
				hdr.Get("Accept-Encoding") != "gzip" {
				t.Errorf("Accept-Encoding %q, want gzip", hdr.Get("Accept-Encoding"))
			}
		})
	}
	if head, err := store.Head(t.Context()); err != nil || head != 1 {
		t.Fatalf("head %d after refused requests, want 1", head)
	}

	// gzip is decoded: a compressed structured event and a compressed
	// binary-mode body are accepted.
	status, out, _ := postRaw(t, srv.URL, gzipped(t, nps), "Content-Type", "application/cloudevents+json", "Content-Encoding", "gzip")
	if status != http.StatusOK {
		t.Fatalf("gzip structured: %d %s", status, out)
	}
	status, out, _ = postRaw(t, srv.URL, gzipped(t, []byte(`{"score":9}`)), append(append([]string{}, binaryHeaders...), "Content-Encoding", "GZIP")...)
	if status != http.StatusOK {
		t.Fatalf("gzip binary: %d %s", status, out)
	}
	// A UTF-8 charset, in any case, is fine.
	status, out, _ = postRaw(t, srv.URL, mustJSON(t, ev("n10", "nps.responded", "acme", t0, map[string]any{"score": 9})),
		"Content-Type", `application/cloudevents+json; charset="UTF-8"`, "Content-Encoding", "identity")
	if status != http.StatusOK {
		t.Fatalf("charset UTF-8: %d %s", status, out)
	}
}

// TestSameSourceAndIDDifferentContent: a valid event whose (source, id)
// was stored before is a duplicate whatever its content; an invalid one is
// rejected (validation comes first), and neither changes the store.
func TestSameSourceAndIDDifferentContent(t *testing.T) {
	h, store := newServer(t, api.Config{})
	srv := startServer(t, h)
	first := mustJSON(t, []any{
		ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Acme", "mrr": 1}),
		ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 9}),
	})
	if status, out, _ := postRaw(t, srv.URL, first, "Content-Type", "application/cloudevents-batch+json"); status != http.StatusOK {
		t.Fatalf("setup: %d %s", status, out)
	}
	head, _ := store.Head(t.Context())
	again := mustJSON(t, []any{
		ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 3}),                     // valid, other content
		ev("n1", "nps.responded", "acme", "2026-01-01T00:00:00Z", map[string]any{"score": 4}), // valid, other time
		ev("n1", "nps.responded", "acme", t0, map[string]any{"score": 11}),                    // invalid data
		ev("a1", "account.opened", "acme", t0, map[string]any{"name": "Other", "mrr": 5}),     // valid opener again
	})
	status, out, _ := postRaw(t, srv.URL, again, "Content-Type", "application/cloudevents-batch+json")
	if status != http.StatusMultiStatus {
		t.Fatalf("status %d %s, want 207", status, out)
	}
	var resp api.IngestResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatal(err)
	}
	want := []string{"duplicate", "duplicate", "rejected", "duplicate"}
	for i, w := range want {
		if string(resp.Results[i].Status) != w {
			t.Errorf("event %d: %s, want %s (%+v)", i, resp.Results[i].Status, w, resp.Results[i].Error)
		}
	}
	if e := resp.Results[2].Error; e == nil || e.Field != "data.score" {
		t.Errorf("invalid repeat: error %+v, want data.score", e)
	}
	if after, _ := store.Head(t.Context()); after != head {
		t.Fatalf("head moved from %d to %d", head, after)
	}
}
