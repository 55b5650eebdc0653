package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/console"
)

// TestDashboardAtRisk: the dashboard shows the first 10 of the at-risk
// list, in its order, and the whole list's count, though it reads a page.
func TestDashboardAtRisk(t *testing.T) {
	f := loadFixture(t, 150, false)
	c := f.console(t, console.Config{})
	whole, err := f.proj.AtRisk(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if whole.Total <= 10 {
		t.Fatalf("%d accounts at risk: too few to show the dashboard's cut", whole.Total)
	}
	w := get(c, "/")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	section := body[strings.Index(body, `id="risk-h"`):]
	section = section[:strings.Index(section, "</section>")]
	if want := fmt.Sprintf(`At risk <span class="count">%d</span>`, whole.Total); !strings.Contains(section, want) {
		t.Errorf("dashboard lacks %q", want)
	}
	if want := fmt.Sprintf("All %d accounts at risk", whole.Total); !strings.Contains(section, want) {
		t.Errorf("dashboard lacks %q", want)
	}
	rest := section
	for i, av := range whole.Items {
		link := `href="/accounts/` + av.ID + `"`
		at := strings.Index(rest, link)
		if i < 10 && at < 0 {
			t.Fatalf("item %d (%s) missing or out of order", i, av.ID)
		}
		if i >= 10 && strings.Contains(section, link) {
			t.Errorf("item %d (%s) is on the dashboard", i, av.ID)
		}
		if at >= 0 {
			rest = rest[at+len(link):]
		}
	}
}
