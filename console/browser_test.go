package console_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/auth"
	"github.com/vitals-hq/vitals/console"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write docs/screenshots/*.png from the browser test")

// chromiumPath finds Chromium. Without it the browser test is skipped, or
// fails when VITALS_REQUIRE_TOOLS=1 (as in CI).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found (apt-get install chromium); the browser test needs it"
	if os.Getenv("VITALS_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg + " — required because VITALS_REQUIRE_TOOLS=1")
	}
	t.Skip(msg)
	return ""
}

// browserServer is the whole HTTP server (api + console) over the shared
// fixture, with keys when keys is not nil.
func browserServer(t *testing.T, f *fixture, keys *auth.Keyring) *httptest.Server {
	t.Helper()
	clock := func() time.Time { return now }
	web := f.console(t, console.Config{Keys: keys})
	srv, err := api.New(api.Config{Store: f.store, Ingester: f.ing, Logger: zerolog.Nop(), Now: clock, Projector: f.proj, Keys: keys, Console: web})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts
}

// browser is a headless Chromium tab that records console errors and
// failed requests.
type browser struct {
	ctx context.Context
	mu  sync.Mutex
	bad []string
}

// newBrowser starts Chromium for t at a 1280 × 900 window.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	path := chromiumPath(t)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.Flag("disable-gpu", true))...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelA() })
	b := &browser{ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.note("console: " + m.String())
			}
		}
	}()
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventLoadingFailed:
			if !e.Canceled {
				b.note(fmt.Sprintf("request failed: %s %s", e.ErrorText, e.BlockedReason))
			}
		case *network.EventResponseReceived:
			if e.Response != nil && e.Response.Status >= 400 {
				b.note(fmt.Sprintf("HTTP %d for %s", e.Response.Status, e.Response.URL))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *browser) note(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.bad = append(b.bad, s)
}

// problems returns and clears what went wrong since the last call.
func (b *browser) problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.bad
	b.bad = nil
	return out
}

// open navigates to url, waits for the page's main element, lets late
// errors arrive, and fails t on any console error or failed request.
func (b *browser) open(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible("main"), chromedp.Sleep(150*time.Millisecond)); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	for _, p := range b.problems() {
		t.Errorf("%s: %s", url, p)
	}
}

// text is the visible text of the first element matching sel.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	for {
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err == nil {
			return strings.TrimSpace(s)
		}
		// A node found by the query can be replaced before its text is
		// read when the page is still settling (CDP answers "No node with
		// given id"): query again until the deadline.
		if ctx.Err() != nil || !strings.Contains(err.Error(), "No node with given id") {
			t.Fatalf("text of %s: %v", sel, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// screenshot writes docs/screenshots/name.png when -update-screenshots.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	if !*updateScreenshots {
		return
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// getJSON decodes the JSON answer of url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestBrowser drives headless Chromium through every page of a demo
// agency: no console error and no failed request anywhere; the record
// page's numbers equal the JSON API's at the same instant; the filters
// and ?at= work.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	f := sharedFixture(t)
	ts := browserServer(t, f, nil)
	var risk struct {
		Items []struct {
			ID string `json:"account_id"`
		} `json:"items"`
	}
	getJSON(t, ts.URL+"/v1/at-risk", &risk)
	var mgrs struct {
		Managers []struct {
			ID string `json:"manager_id"`
		} `json:"managers"`
	}
	getJSON(t, ts.URL+"/v1/managers", &mgrs)
	if len(risk.Items) == 0 || len(mgrs.Managers) == 0 {
		t.Fatal("the demo agency has no account at risk or no manager")
	}
	acct, mgr := risk.Items[0].ID, mgrs.Managers[0].ID
	pages := []string{"/", "/accounts", "/accounts/" + acct, "/at-risk", "/upsell", "/managers", "/managers/" + mgr,
		"/accounts/" + hostileID, "/accounts?sort=change&page=1", "/accounts/" + acct + "?evidence=invoices"}
	for _, p := range pages {
		b.open(t, ts.URL+p)
	}
	if *updateScreenshots {
		shoot(t, b)
	}
	t.Run("record equals API", func(t *testing.T) { checkRecord(t, b, ts.URL, acct) })
	t.Run("filters", func(t *testing.T) { checkFilters(t, b, ts.URL) })
	t.Run("at", func(t *testing.T) { checkAt(t, b, ts.URL) })
	t.Run("narrow", func(t *testing.T) {
		defer func() { _ = chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)) }()
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 740)); err != nil {
			t.Fatal(err)
		}
		b.open(t, ts.URL+"/accounts/"+acct)
		// Nothing but the tables' own scroll regions is wider than the screen.
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("the record page scrolls sideways at 360 px")
		}
	})
}

// shoot writes the screenshots of docs/ from a demo agency without the
// hostile account (pictures for people, not for the escaping test).
func shoot(t *testing.T, b *browser) {
	f := loadFixture(t, 40, false)
	ts := browserServer(t, f, nil)
	var risk struct {
		Items []struct {
			ID string `json:"account_id"`
		} `json:"items"`
	}
	getJSON(t, ts.URL+"/v1/at-risk", &risk)
	var mgrs struct {
		Managers []struct {
			ID string `json:"manager_id"`
		} `json:"managers"`
	}
	getJSON(t, ts.URL+"/v1/managers", &mgrs)
	acct, mgr := risk.Items[0].ID, mgrs.Managers[0].ID
	for _, p := range []struct{ path, shot string }{
		{"/", "dashboard"}, {"/accounts", "accounts"}, {"/accounts/" + acct, "account"}, {"/at-risk", "at-risk"},
		{"/upsell", "upsell"}, {"/managers", "managers"}, {"/managers/" + mgr, "manager"},
	} {
		b.open(t, ts.URL+p.path)
		b.screenshot(t, p.shot)
	}
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(360, 740)); err != nil {
		t.Fatal(err)
	}
	b.open(t, ts.URL+"/accounts/"+acct)
	b.screenshot(t, "account-360")
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

// waitFor waits until the JavaScript expression is true on the page,
// across the navigation that a click starts (which interrupts a poll).
func waitFor(ctx context.Context, expr string) error {
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
		if err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkRecord compares the record page with /v1/accounts/{id} and its
// health at one instant.
func checkRecord(t *testing.T, b *browser, base, id string) {
	at := "2026-05-20T08:00:00Z"
	var av struct {
		Score    *float64        `json:"score"`
		Band     string          `json:"band"`
		MRR      json.RawMessage `json:"mrr"`
		Tier     string          `json:"tier"`
		Coverage float64         `json:"coverage"`
	}
	getJSON(t, base+"/v1/accounts/"+id+"?at="+at, &av)
	var h struct {
		Components []struct {
			Name   string   `json:"name"`
			Value  *float64 `json:"value"`
			Points *float64 `json:"points"`
		} `json:"components"`
	}
	getJSON(t, base+"/v1/accounts/"+id+"/health?at="+at, &h)
	b.open(t, base+"/accounts/"+id+"?at="+at)
	numText := func(x *float64) string {
		if x == nil {
			return "—"
		}
		return strconv.FormatFloat(*x, 'f', -1, 64)
	}
	if got := b.text(t, "#score"); got != numText(av.Score) {
		t.Errorf("score: page %q, API %q", got, numText(av.Score))
	}
	if got := strings.ReplaceAll(b.text(t, "#mrr"), ",", ""); got != string(av.MRR) {
		t.Errorf("mrr: page %q, API %s", got, av.MRR)
	}
	if got := b.text(t, "#tier"); got != av.Tier {
		t.Errorf("tier: page %q, API %q", got, av.Tier)
	}
	if got := b.text(t, "#coverage"); got != strconv.FormatFloat(av.Coverage, 'f', -1, 64) {
		t.Errorf("coverage: page %q, API %v", got, av.Coverage)
	}
	if got := b.text(t, "p.lead .band"); !strings.HasSuffix(got, av.Band) {
		t.Errorf("band: page %q, API %q", got, av.Band)
	}
	for _, c := range h.Components {
		if got := b.text(t, "#comp-"+c.Name+" .c-value"); got != numText(c.Value) {
			t.Errorf("%s value: page %q, API %q", c.Name, got, numText(c.Value))
		}
		if got := b.text(t, "#comp-"+c.Name+" .c-points"); got != numText(c.Points) {
			t.Errorf("%s points: page %q, API %q", c.Name, got, numText(c.Points))
		}
	}
}

// checkFilters filters the list by band with the form, then by a search.
func checkFilters(t *testing.T, b *browser, base string) {
	b.open(t, base+"/accounts")
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue("#band", "red"), chromedp.SetValue("#status", "active"),
		chromedp.Click(`form.filters button[type="submit"]`)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `location.search.includes("band=red") && document.readyState === "complete"`); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "band=red") || !strings.Contains(loc, "status=active") {
		t.Fatalf("the filter form went to %s", loc)
	}
	var page struct {
		Total int `json:"total"`
	}
	getJSON(t, base+"/v1/accounts?band=red&status=active", &page)
	if got := b.text(t, "#accounts-total"); got != strconv.Itoa(page.Total) {
		t.Errorf("red active accounts: page %s, API %d", got, page.Total)
	}
	bands, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("table.accounts tbody td .band")].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range bands {
		if !strings.HasSuffix(s, "red") {
			t.Errorf("a %q account is listed under band=red", s)
		}
	}
	for _, p := range b.problems() {
		t.Error(p)
	}
}

// checkAt picks a date with the date picker and finds the dashboard as of
// the end of that day, announced as the past. The date is within the
// projector's retention, so the page does not replay the log (TestAt
// covers an older one).
func checkAt(t *testing.T, b *browser, base string) {
	b.open(t, base+"/")
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue("#at", "2026-06-01"), chromedp.Click(`form.when button`)); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(ctx, `location.search.includes("at=2026-06-01") && document.readyState === "complete" && !!document.querySelector("p.past")`); err != nil {
		t.Fatal(err)
	}
	var pf struct {
		Accounts int `json:"accounts"`
	}
	getJSON(t, base+"/v1/portfolio?at=2026-06-01T23:59:59Z", &pf)
	if got := b.text(t, "#kpi-accounts"); got != strconv.Itoa(pf.Accounts) {
		t.Errorf("accounts on 2026-06-01: page %s, API %d", got, pf.Accounts)
	}
	// Links keep the instant.
	href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('nav a[href^="/accounts"]').getAttribute("href")`))
	if err != nil {
		t.Fatal(err)
	}
	if href != "/accounts?at=2026-06-01" {
		t.Errorf("the accounts link is %q, want the instant kept", href)
	}
	for _, p := range b.problems() {
		t.Error(p)
	}
}

// TestBrowserSignIn: with keys on, the browser is sent to the sign-in
// form, signs in with a read key, lands on the page it asked for, and signs
// out.
func TestBrowserSignIn(t *testing.T) {
	b := newBrowser(t)
	keys := &auth.Keyring{}
	tok, err := keys.Create("browser", []auth.Scope{auth.ScopeRead}, now)
	if err != nil {
		t.Fatal(err)
	}
	ts := browserServer(t, sharedFixture(t), keys)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/managers"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	b.screenshot(t, "sign-in")
	if err := chromedp.Do(ctx, chromedp.SendKeys("#key", tok), chromedp.Submit("#key"), chromedp.WaitVisible("form.signout")); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if loc != ts.URL+"/managers" {
		t.Errorf("after sign-in at %s, want /managers", loc)
	}
	if got := b.text(t, "h1"); !strings.HasPrefix(got, "Managers") {
		t.Errorf("h1 %q", got)
	}
	for _, p := range b.problems() {
		t.Error(p)
	}
	if err := chromedp.Do(ctx, chromedp.Click("form.signout button"), chromedp.WaitVisible("#key")); err != nil {
		t.Fatal(err)
	}
	b.problems() // the sign-in page after sign-out is a 200; nothing to check
}
