package console_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/ingest"
	"github.com/vitals-hq/vitals/projections"
)

var (
	sharedOnce sync.Once
	shared     *fixture
)

// sharedFixture is one small demo agency for the unit tests of this file
// (read-only: no test changes it).
func sharedFixture(t *testing.T) *fixture {
	sharedOnce.Do(func() { shared = newFixture(&keepAlive{T: t}, 40) })
	return shared
}

// keepAlive is a testing.TB whose Cleanup and TempDir outlive the test
// that built the shared fixture (the process ends with the package).
type keepAlive struct{ *testing.T }

func (k *keepAlive) Cleanup(func()) {}

func (k *keepAlive) TempDir() string { return sharedDir }

// sharedDir holds the shared fixture's store; TestMain removes it.
var sharedDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "console-test-")
	if err != nil {
		panic(err)
	}
	sharedDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// get answers GET target from h.
func get(h http.Handler, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// pagePaths are one request of each page, with and without ?at=.
func pagePaths(t *testing.T, f *fixture) []string {
	page, err := f.proj.Accounts(context.Background(), projections.AccountFilter{Limit: 1}, time.Time{})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("no demo account: %v", err)
	}
	capv, err := f.proj.Capacity(context.Background(), time.Time{})
	if err != nil || len(capv.Managers) == 0 {
		t.Fatalf("no demo manager: %v", err)
	}
	demoID, mgrID := page.Items[0].ID, capv.Managers[0].ID
	var out []string
	for _, at := range []string{"", "?at=2026-03-01"} {
		for _, p := range []string{"/", "/accounts", "/accounts/" + demoID, "/accounts/" + hostileID, "/at-risk", "/upsell",
			"/managers", "/managers/" + mgrID, "/managers/" + hostileMgrID} {
			out = append(out, p+at)
		}
	}
	return append(out, "/accounts?band=red&sort=mrr", "/accounts?q=script&sort=change", "/accounts?sort=score&page=2",
		"/accounts/"+hostileID+"?evidence=nps&events=1")
}

// TestPages: every page answers 200 as HTML with the security headers, and
// shows the hostile names, notes and reasons escaped, never as markup.
func TestPages(t *testing.T) {
	f := sharedFixture(t)
	c := f.console(t, console.Config{})
	hostile := []string{hostileName, hostileManager, hostileNote, hostileReason}
	for _, p := range pagePaths(t, f) {
		t.Run(p, func(t *testing.T) {
			w := get(c, p)
			body := w.Body.String()
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, body)
			}
			checkHeaders(t, w.Result().Header)
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, h := range hostile {
				if strings.Contains(body, h) {
					t.Errorf("hostile value %q appears unescaped", h)
				}
			}
			if strings.Contains(body, "alert(") && regexp.MustCompile(`<(script|img|svg)[^>]*alert`).MatchString(body) {
				t.Errorf("markup from an event reached the page")
			}
			if strings.Contains(body, `href="javascript:`) {
				t.Errorf("a javascript: URL became a link")
			}
			if !strings.Contains(body, "<main") || !strings.Contains(body, "</html>") {
				t.Errorf("not a whole page")
			}
		})
	}
	// The hostile account's own page shows its values, escaped.
	body := get(c, "/accounts/"+hostileID).Body.String()
	for _, h := range hostile {
		if !strings.Contains(body, html.EscapeString(h)) && !strings.Contains(body, templateEscape(h)) {
			t.Errorf("the record page does not show %q (escaped)", h)
		}
	}
}

// templateEscape is how html/template writes s in text: it escapes
// quotes with numeric references.
func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "\x00", "\uFFFD", "+", "&#43;").Replace(s)
}

// checkHeaders asserts the console's security headers.
func checkHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", h.Get("X-Content-Type-Options"))
	}
	if h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q", h.Get("X-Frame-Options"))
	}
}

// TestNoInlineScriptOrStyle: the pages carry no inline script, event
// handler or style attribute, which the CSP would block.
func TestNoInlineScriptOrStyle(t *testing.T) {
	f := sharedFixture(t)
	c := f.console(t, console.Config{})
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|<[a-z][^>]*\s(?:on[a-z]+|style)=|<style`)
	for _, p := range pagePaths(t, f) {
		if m := inline.FindString(get(c, p).Body.String()); m != "" {
			t.Errorf("%s: inline script or style %q", p, m)
		}
	}
}

// TestAt: ?at= shows the past and says so; a date today shows now; an
// instant after now and a malformed one are 400 pages naming the field.
func TestAt(t *testing.T) {
	f := sharedFixture(t)
	c := f.console(t, console.Config{})
	past := get(c, "/?at=2026-01-10").Body.String()
	if !strings.Contains(past, "The past:") || !strings.Contains(past, "2026-01-10 23:59 UTC") {
		t.Errorf("the past is not announced")
	}
	pf, err := f.proj.Portfolio(context.Background(), mustTime(t, "2026-01-10T23:59:59Z"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `id="kpi-accounts">` + strconv.Itoa(pf.Accounts) + "<"; !strings.Contains(past, want) {
		t.Errorf("the dashboard as of 2026-01-10 lacks %s", want)
	}
	if today := get(c, "/?at=2026-06-15").Body.String(); strings.Contains(today, "The past:") {
		t.Errorf("today is shown as the past")
	}
	for _, bad := range []string{"/?at=2026-06-16", "/?at=2027-01-01T00:00:00Z", "/accounts?at=yesterday"} {
		w := get(c, bad)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "at:") {
			t.Errorf("%s: status %d, want 400 naming at", bad, w.Code)
		}
	}
}

// TestBadParams: unknown filter values and pages are 400; an unknown
// account or manager is 404.
func TestBadParams(t *testing.T) {
	c := sharedFixture(t).console(t, console.Config{})
	for p, want := range map[string]int{
		"/accounts?band=purple": 400, "/accounts?status=x": 400, "/accounts?tier=x": 400, "/accounts?sort=x": 400,
		"/accounts?page=0": 400, "/accounts/nope": 404, "/managers/nope": 404, "/accounts/" + hostileID + "?evidence=x": 400,
	} {
		if w := get(c, p); w.Code != want {
			t.Errorf("%s: status %d, want %d", p, w.Code, want)
		}
	}
}

// TestStatic: the assets are served with their types and the headers.
func TestStatic(t *testing.T) {
	c := sharedFixture(t).console(t, console.Config{})
	for p, ct := range map[string]string{"/console/static/console.css": "text/css", "/console/static/console.js": "text/javascript"} {
		w := get(c, p)
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), ct) {
			t.Errorf("%s: %d %q", p, w.Code, w.Header().Get("Content-Type"))
		}
		checkHeaders(t, w.Result().Header)
	}
}

// TestSignIn: with keys, a page redirects to the sign-in form; a wrong key
// and a key without read are refused; a read key gets an HttpOnly,
// SameSite=Strict session cookie (Secure under TLS) that opens the pages
// until sign-out, or until the key is removed.
func TestSignIn(t *testing.T) {
	f := sharedFixture(t)
	keys := &auth.Keyring{}
	readTok, err := keys.Create("reader", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	ingestTok, err := keys.Create("feeder", []auth.Scope{auth.ScopeIngest}, now)
	if err != nil {
		t.Fatal(err)
	}
	c := f.console(t, console.Config{Keys: keys})
	w := get(c, "/accounts?band=red")
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/sign-in?next="+url.QueryEscape("/accounts?band=red") {
		t.Fatalf("without a session: %d %q", w.Code, w.Header().Get("Location"))
	}
	if w := get(c, "/console/sign-in"); w.Code != 200 || !strings.Contains(w.Body.String(), `name="key"`) {
		t.Fatalf("sign-in form: %d", w.Code)
	}
	post := func(key, next string, secure bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader(url.Values{"key": {key}, "next": {next}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if secure {
			r.TLS = &tls.ConnectionState{}
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	if w := post("vk_wrong", "/", false); w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 {
		t.Errorf("wrong key: %d, cookies %v", w.Code, w.Result().Cookies())
	}
	if w := post(ingestTok, "/", false); w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Errorf("ingest-only key: %d", w.Code)
	}
	w = post(readTok, "//evil.example/x", false)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Errorf("an off-site next is followed: %d %q", w.Code, w.Header().Get("Location"))
	}
	ck := w.Result().Cookies()[0]
	if ck.Name != console.CookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.MaxAge <= 0 {
		t.Errorf("cookie %+v", ck)
	}
	if strings.Contains(ck.Value, readTok) {
		t.Errorf("the cookie holds the key")
	}
	if tw := post(readTok, "/", true); !tw.Result().Cookies()[0].Secure {
		t.Errorf("the cookie is not Secure under TLS")
	}
	if w := get(c, "/accounts", ck); w.Code != 200 {
		t.Fatalf("with a session: %d", w.Code)
	}
	// Sign-out ends the session.
	r := httptest.NewRequest(http.MethodPost, "/console/sign-out", nil)
	r.AddCookie(ck)
	so := httptest.NewRecorder()
	c.ServeHTTP(so, r)
	if so.Code != http.StatusSeeOther || so.Result().Cookies()[0].MaxAge >= 0 {
		t.Errorf("sign-out: %d %v", so.Code, so.Result().Cookies())
	}
	if w := get(c, "/accounts", ck); w.Code != http.StatusSeeOther {
		t.Errorf("after sign-out: %d", w.Code)
	}
	// Removing the key ends its sessions.
	ck = post(readTok, "/", false).Result().Cookies()[0]
	if w := get(c, "/", ck); w.Code != 200 {
		t.Fatalf("second session: %d", w.Code)
	}
	if err := keys.Remove("reader"); err != nil {
		t.Fatal(err)
	}
	if w := get(c, "/", ck); w.Code != http.StatusSeeOther {
		t.Errorf("the session outlived its key: %d", w.Code)
	}
	// A cross-site post is refused.
	r = httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader("key=x"))
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	xs := httptest.NewRecorder()
	c.ServeHTTP(xs, r)
	if xs.Code != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d", xs.Code)
	}
}

// TestSessionExpires: a session ends at its expiry.
func TestSessionExpires(t *testing.T) {
	f := sharedFixture(t)
	keys := &auth.Keyring{}
	tok, err := keys.Create("reader", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	c := f.console(t, console.Config{Keys: keys, Now: func() time.Time { return clock }, SessionTTL: time.Hour})
	r := httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader("key="+url.QueryEscape(tok)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	c.ServeHTTP(w, r)
	ck := w.Result().Cookies()[0]
	if w := get(c, "/managers", ck); w.Code != 200 {
		t.Fatalf("fresh session: %d", w.Code)
	}
	clock = now.Add(time.Hour)
	if w := get(c, "/managers", ck); w.Code != http.StatusSeeOther {
		t.Errorf("expired session: %d", w.Code)
	}
}

// TestSparklineFollowsLateEvents: an event dated in the past changes the
// account's sparkline on the next view (the sparkline cache is keyed by the
// account's stream version).
func TestSparklineFollowsLateEvents(t *testing.T) {
	f := newFixture(t, 3)
	c := f.console(t, console.Config{})
	// The path of the sparkline without its last point (the score now,
	// which the late events change anyway): the cached daily grid.
	spark := regexp.MustCompile(`<svg class="spark".*?<path class="spark-line" d="([^"]*) [ML][^"]*"`)
	row := func() string {
		body := get(c, "/accounts?q="+url.QueryEscape("<script>")).Body.String()
		m := spark.FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	before := row()
	if before == "" || row() != before {
		t.Fatalf("no stable sparkline for the hostile account: %q", before)
	}
	var cands []ingest.Candidate
	for i, days := range []int{80, 70, 60, 50, 40} {
		raw := fmt.Sprintf(`{"specversion":"1.0","id":"late%d","source":"test","type":"nps.responded","subject":%q,"time":%q,"data":{"score":10}}`,
			i, hostileID, now.AddDate(0, 0, -days).Format(time.RFC3339))
		ev, err := domain.Parse([]byte(raw), now)
		if err != nil {
			t.Fatal(err)
		}
		cands = append(cands, ingest.Candidate{Event: ev})
	}
	f.ingest(t, cands)
	head, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.proj.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	if after := row(); after == before {
		t.Errorf("the sparkline did not change after late NPS answers: %s", after)
	}
}

// TestManagerRenamed: a manager's new name shows on the next view of the
// list (the manager directory is keyed by the projector's position).
func TestManagerRenamed(t *testing.T) {
	f := newFixture(t, 3)
	c := f.console(t, console.Config{})
	if body := get(c, "/accounts").Body.String(); !strings.Contains(body, templateEscape(hostileManager)) {
		t.Fatalf("the list lacks the manager's name")
	}
	raw := fmt.Sprintf(`{"specversion":"1.0","id":"ren","source":"test","type":"manager.updated","subject":%q,"time":%q,"data":{"name":"Renamed Person"}}`,
		hostileMgrID, now.Add(-time.Hour).Format(time.RFC3339))
	ev, err := domain.Parse([]byte(raw), now)
	if err != nil {
		t.Fatal(err)
	}
	f.ingest(t, []ingest.Candidate{{Event: ev}})
	head, err := f.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.proj.WaitFor(context.Background(), head); err != nil {
		t.Fatal(err)
	}
	if body := get(c, "/accounts").Body.String(); !strings.Contains(body, "Renamed Person") {
		t.Errorf("the list still shows the old name")
	}
}

// TestSignInLimit: past MaxSignInFailures wrong keys from one address in a
// minute, even the right key gets 429 from it until the minute ends.
func TestSignInLimit(t *testing.T) {
	keys := &auth.Keyring{}
	tok, err := keys.Create("reader", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	c := sharedFixture(t).console(t, console.Config{Keys: keys, Now: func() time.Time { return clock }})
	post := func(key string) int {
		r := httptest.NewRequest(http.MethodPost, "/console/sign-in", strings.NewReader("key="+url.QueryEscape(key)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w.Code
	}
	for i := range console.MaxSignInFailures {
		if code := post(fmt.Sprintf("vk_guess%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := post(tok); code != http.StatusTooManyRequests {
		t.Errorf("after %d failures: %d, want 429", console.MaxSignInFailures, code)
	}
	clock = clock.Add(time.Minute)
	if code := post(tok); code != http.StatusSeeOther {
		t.Errorf("a minute later: %d, want 303", code)
	}
}
