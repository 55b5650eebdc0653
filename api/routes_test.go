package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
)

// errorShape is the error shape of every error answer.
type errorShape struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// request sends method url with no body and returns the answer, its body
// read.
func request(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// TestWrongMethodGets405: a path that exists with other methods answers
// 405 with Allow and the error shape; an unknown path answers 404 in the
// error shape.
func TestWrongMethodGets405(t *testing.T) {
	srv := queryServer(t)
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/v1/events", 405, "method_not_allowed", "POST"},
		{"DELETE", "/v1/events", 405, "method_not_allowed", "POST"},
		{"POST", "/v1/portfolio", 405, "method_not_allowed", "GET, HEAD"},
		{"PUT", "/v1/accounts/acme/health", 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/livez", 405, "method_not_allowed", "GET, HEAD"},
		{"POST", "/", 405, "method_not_allowed", "GET, HEAD"},
		{"GET", "/nope", 404, "not_found", ""},
		{"GET", "/v1/accounts/acme/nope", 404, "not_found", ""},
		{"POST", "/v1/nope", 404, "not_found", ""},
	} {
		res, body := request(t, c.method, srv.URL+c.path)
		var e errorShape
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("%s %s: %d %q is not JSON: %v", c.method, c.path, res.StatusCode, body, err)
			continue
		}
		if res.StatusCode != c.status || e.Error.Code != c.code || e.Error.Message == "" {
			t.Errorf("%s %s: %d %s, want %d with code %s", c.method, c.path, res.StatusCode, body, c.status, c.code)
		}
		if got := res.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, ct)
		}
		if c.status == 405 && !strings.Contains(e.Error.Message, c.allow) {
			t.Errorf("%s %s: message %q does not name the allowed methods", c.method, c.path, e.Error.Message)
		}
	}
}

// TestIndex: GET / answers JSON links to the OpenAPI document and the main
// routes, each of which answers.
func TestIndex(t *testing.T) {
	srv := queryServer(t)
	var idx api.Index
	res, body := request(t, "GET", srv.URL+"/")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"/openapi.json": false, "/v1/portfolio": false, "/v1/at-risk": false, "/v1/accounts": false, "/livez": false, "/readyz": false}
	for _, l := range idx.Links {
		if l.Rel == "" || l.Title == "" {
			t.Errorf("link %+v lacks rel or title", l)
		}
		if _, ok := want[l.Href]; ok {
			want[l.Href] = true
		}
		if res, body := request(t, "GET", srv.URL+l.Href); res.StatusCode != 200 {
			t.Errorf("link %s: %d %s", l.Href, res.StatusCode, body)
		}
	}
	for href, seen := range want {
		if !seen {
			t.Errorf("the index lacks %s: %s", href, body)
		}
	}
	// A browser gets an answer too (the same JSON for now).
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	req.Header.Set("Accept", "text/html")
	res2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != 200 {
		t.Errorf("GET / as a browser: %d", res2.StatusCode)
	}
}
