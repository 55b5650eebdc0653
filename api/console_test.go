package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
)

// TestConsoleRoutes: with keys enforced, the console's routes and GET / for
// a browser reach Config.Console without a Bearer key (the console checks
// its own sessions), JSON clients still get the index at /, and the API's
// routes still need a key.
func TestConsoleRoutes(t *testing.T) {
	keys := &auth.Keyring{}
	if _, err := keys.Create("reader", []auth.Scope{auth.ScopeRead}, now); err != nil {
		t.Fatal(err)
	}
	stub := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "console "+r.Method+" "+r.URL.Path) })
	srv := fullServer(t, api.Config{Keys: keys, Console: stub})
	do := func(method, target, accept string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, target, nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/accounts"}, {"GET", "/accounts/a1"}, {"GET", "/at-risk"}, {"GET", "/upsell"}, {"GET", "/managers"},
		{"GET", "/managers/m1"}, {"GET", "/console/static/console.css"}, {"GET", "/console/sign-in"}, {"POST", "/console/sign-in"},
	} {
		w := do(c.method, c.path, "")
		if w.Code != 200 || w.Body.String() != "console "+c.method+" "+c.path {
			t.Errorf("%s %s: %d %q, want the console", c.method, c.path, w.Code, w.Body.String())
		}
	}
	if w := do("GET", "/", "text/html,application/xhtml+xml,*/*;q=0.8"); w.Body.String() != "console GET /" {
		t.Errorf("a browser at / gets %d %q, want the console", w.Code, w.Body.String())
	}
	if w := do("GET", "/", "application/json"); w.Code != 200 || !strings.Contains(w.Body.String(), `"service":"vitals"`) || w.Header().Get("Vary") != "Accept" {
		t.Errorf("a JSON client at / gets %d %q (Vary %q), want the index", w.Code, w.Body.String(), w.Header().Get("Vary"))
	}
	if w := do("GET", "/v1/accounts", "text/html"); w.Code != http.StatusUnauthorized {
		t.Errorf("GET /v1/accounts without a key: %d, want 401", w.Code)
	}
	for path, want := range map[string]auth.Scope{"/accounts": "", "/accounts/x": "", "/console/sign-out": "", "/accounts/x/y": auth.ScopeAdmin, "/managersx": auth.ScopeAdmin} {
		if got := api.RequiredScope(httptest.NewRequest("GET", path, nil)); got != want {
			t.Errorf("RequiredScope(GET %s) = %q, want %q", path, got, want)
		}
	}
}
