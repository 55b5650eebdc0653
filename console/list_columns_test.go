package console_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/console"
	"github.com/vitals-hq/vitals/projections"
)

// TestAccountsListOwedAndLastInteraction: the clients list shows each
// account's outstanding and overdue receivables and its last interaction,
// as the projector answers them for the same instant (now and ?at=).
func TestAccountsListOwedAndLastInteraction(t *testing.T) {
	f := sharedFixture(t)
	c := f.console(t, console.Config{})
	cell := regexp.MustCompile(`(?s)<td class="n receivables">(.*?)</td>\s*<td class="last-interaction">(.*?)</td>`)
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, at := range []struct {
		param string
		t     time.Time
	}{{"", time.Time{}}, {"2026-03-01", time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)}} {
		all, err := f.proj.Accounts(context.Background(), projections.AccountFilter{Limit: 1000}, at.t)
		if err != nil {
			t.Fatal(err)
		}
		// The list's pages, each asked once: a page as of a past instant
		// replays the log, so one request per account would replay it
		// forty times.
		var body string
		for page := 1; page == 1 || page <= (len(all.Items)+49)/50; page++ {
			target := fmt.Sprintf("/accounts?page=%d", page)
			if at.param != "" {
				target += "&at=" + at.param
			}
			body += get(c, target).Body.String()
		}
		var checked, overdue, never int
		for _, av := range all.Items {
			target := "/accounts (at " + at.param + ")"
			link := `href="/accounts/` + url.PathEscape(av.ID)
			i := strings.Index(body, link+`"`) // now: no ?at=
			if i < 0 {
				i = strings.Index(body, link+`?`)
			}
			if i < 0 {
				t.Fatalf("%s: no row for %s", target, av.ID)
			}
			m := cell.FindStringSubmatch(body[i:])
			if m == nil {
				t.Fatalf("%s: no receivables and last-interaction cells", target)
			}
			want := av.ReceivablesOutstanding.String()
			if av.ReceivablesOverdue != 0 {
				want += av.ReceivablesOverdue.String() + " overdue"
				overdue++
			}
			if got := strings.ReplaceAll(tags.ReplaceAllString(m[1], ""), ",", ""); got != want {
				t.Errorf("%s: receivables %q, want %q", av.ID, got, want)
			}
			wantLast := "none"
			if av.LastInteraction != nil {
				wantLast = av.LastInteraction.UTC().Format(time.DateOnly)
			} else {
				never++
			}
			if got := tags.ReplaceAllString(m[2], ""); got != wantLast {
				t.Errorf("%s: last interaction %q, want %q", av.ID, got, wantLast)
			}
			checked++
		}
		if checked == 0 || overdue == 0 || never == len(all.Items) {
			t.Errorf("at %q: %d accounts, %d overdue, %d never contacted: the demo should exercise every case", at.param, checked, overdue, never)
		}
	}
}

// TestRecordPayments: the record page lists the account's invoices as of
// the page's instant, newest first, with the totals the projector gives,
// and says where older invoices are when the history is not whole.
func TestRecordPayments(t *testing.T) {
	f := sharedFixture(t)
	c := f.console(t, console.Config{})
	all, err := f.proj.Accounts(context.Background(), projections.AccountFilter{Limit: 1000}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(`<tr><th scope="row">([^<]*)</th><td>(\d{4}-\d\d-\d\d)</td>`)
	var pruned, whole int
	for _, at := range []struct {
		param string
		t     time.Time
	}{{"", time.Time{}}, {"2026-03-01", time.Date(2026, 3, 1, 23, 59, 59, 0, time.UTC)}} {
		for n, av := range all.Items {
			if at.param != "" && n%5 != 0 {
				// A page as of a past instant replays the whole log: every
				// fifth account checks the as-of path; every account is
				// checked as of now.
				continue
			}
			h, err := f.proj.Invoices(context.Background(), av.ID, at.t)
			if err != nil {
				continue // not open yet at that instant
			}
			target := "/accounts/" + url.PathEscape(av.ID)
			if at.param != "" {
				target += "?at=" + at.param
			}
			body := get(c, target).Body.String()
			i := strings.Index(body, `id="pay-h"`)
			j := strings.Index(body, `id="sig-h"`)
			if i < 0 || j < i {
				t.Fatalf("%s: no payments section", target)
			}
			section := body[i:j]
			var ids []string
			for _, m := range row.FindAllStringSubmatch(section, -1) {
				ids = append(ids, m[1])
			}
			var want []string
			for _, iv := range h.Invoices[:min(len(h.Invoices), 24)] {
				want = append(want, templateEscape(iv.ID))
			}
			if strings.Join(ids, " ") != strings.Join(want, " ") {
				t.Errorf("%s: invoices %v, want %v", target, ids, want)
			}
			if len(h.Invoices) > 0 && !strings.Contains(strings.ReplaceAll(section, ",", ""), "outstanding "+h.Outstanding.String()+" overdue "+h.Overdue.String()) {
				t.Errorf("%s: totals missing (outstanding %s, overdue %s)", target, h.Outstanding, h.Overdue)
			}
			note := strings.Contains(section, `id="older-invoices"`)
			if note != (h.Pruned || len(h.Invoices) > 24) {
				t.Errorf("%s: older-invoices note %v, history pruned %v with %d invoices", target, note, h.Pruned, len(h.Invoices))
			}
			if h.Pruned {
				pruned++
			} else {
				whole++
			}
		}
	}
	if pruned == 0 || whole == 0 {
		t.Errorf("%d pages with a pruned history, %d whole: the demo should show both", pruned, whole)
	}
}
