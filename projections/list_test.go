package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
)

// listKinds are the paged lists, by name.
var listKinds = []struct {
	name string
	page func(r *Reader, p ListPage) List
}{
	{"at-risk", (*Reader).AtRiskPage},
	{"upsell", (*Reader).UpsellPage},
}

// readList reads one page of a list as of at (now when zero).
func (w *randomWorld) readList(at time.Time, page func(r *Reader, p ListPage) List, p ListPage) List {
	w.t.Helper()
	var l List
	if err := w.p.Read(context.Background(), at, func(r *Reader) error { l = page(r, p); return nil }); err != nil {
		w.t.Fatal(err)
	}
	return l
}

// asJSON is v as JSON.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// after is the items of whole strictly after cursor c in the list's order
// (by MRR descending, then id), as the test reads the rule.
func after(whole []AccountView, c *ListCursor) []AccountView {
	var out []AccountView
	for _, av := range whole {
		if c == nil || av.MRR < c.MRR || av.MRR == c.MRR && av.ID > c.ID {
			out = append(out, av)
		}
	}
	return out
}

// TestListPagesEqualTheList: over random histories, paging through the
// live at-risk and upsell lists with random limits gives the whole list
// (each page with the whole list's total, the last without a cursor), and
// each live page equals the page recomputed as of the same instant with
// the same limit and cursor.
func TestListPagesEqualTheList(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newRandomWorld(t, seed, seed%2 == 1, seed%3 != 0)
			rng := rand.New(rand.NewPCG(seed, 42))
			for step := range 200 {
				if w.rng.IntN(2) == 0 || len(w.times) == 0 {
					for range 1 + w.rng.IntN(4) {
						w.event()
					}
				} else {
					w.tick()
				}
				for _, k := range listKinds {
					whole := w.readList(time.Time{}, k.page, ListPage{})
					got := []AccountView{}
					var c *ListCursor
					for pages := 0; ; pages++ {
						p := ListPage{After: c, Limit: 1 + rng.IntN(4)}
						live := w.readList(time.Time{}, k.page, p)
						fresh := w.readList(w.now, k.page, p)
						if a, b := asJSON(t, live), asJSON(t, fresh); a != b {
							t.Fatalf("step %d, %s page %d (%+v): live %s\nrecomputed %s", step, k.name, pages, p, a, b)
						}
						if live.Total != whole.Total || len(live.Items) > p.Limit || pages > whole.Total {
							t.Fatalf("step %d, %s page %d: total %d (want %d), %d items for limit %d", step, k.name, pages, live.Total, whole.Total, len(live.Items), p.Limit)
						}
						got = append(got, live.Items...)
						if live.Next == "" {
							break
						}
						next, err := ParseListCursor(live.Next)
						if err != nil {
							t.Fatalf("step %d, %s: next_cursor %q: %v", step, k.name, live.Next, err)
						}
						c = &next
					}
					if a, b := asJSON(t, got), asJSON(t, whole.Items); a != b {
						t.Fatalf("step %d, %s: pages %s\nwhole list %s", step, k.name, a, b)
					}
				}
			}
		})
	}
}

// TestListCursorAfterChanges: a page read after the list changed starts
// strictly after the previous page's last item's MRR and id, wherever that
// account is now, over random histories that change the lists between
// pages.
func TestListCursorAfterChanges(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newRandomWorld(t, seed, false, seed%2 == 0)
			for step := range 300 {
				for range 1 + w.rng.IntN(3) {
					w.event()
				}
				for _, k := range listKinds {
					first := w.readList(time.Time{}, k.page, ListPage{Limit: 2})
					if first.Next == "" {
						continue
					}
					c, err := ParseListCursor(first.Next)
					if err != nil {
						t.Fatal(err)
					}
					if last := first.Items[1]; c != (ListCursor{MRR: last.MRR, ID: last.ID}) {
						t.Fatalf("cursor %+v after %s (%d)", c, last.ID, last.MRR)
					}
					w.event()
					w.tick()
					whole := w.readList(time.Time{}, k.page, ListPage{})
					want := after(whole.Items, &c)
					next := w.readList(time.Time{}, k.page, ListPage{After: &c, Limit: 2})
					if a, b := asJSON(t, next.Items), asJSON(t, want[:min(2, len(want))]); a != b && !(len(want) == 0 && len(next.Items) == 0) {
						t.Fatalf("step %d, %s after %+v: %s\nwant %s", step, k.name, c, a, b)
					}
					if (next.Next != "") != (len(want) > 2) {
						t.Fatalf("step %d, %s: next_cursor %q with %d items after the cursor", step, k.name, next.Next, len(want))
					}
				}
			}
		})
	}
}

// TestListCursorAfterMovedAccount: the account a cursor names moves down
// the list (its MRR fell) or leaves it (churned): the next page starts
// after the cursor's key, not after the account's new place.
func TestListCursorAfterMovedAccount(t *testing.T) {
	w := newRandomWorld(t, 0, false, false)
	at := w.now.Add(-time.Hour)
	for i, mrr := range []int{5000, 4000, 4000, 3000, 2000, 1000} {
		id := fmt.Sprintf("a%d", i)
		w.post(domain.TypeAccountOpened, id, at, fmt.Sprintf(`{"name":"A %s","mrr":%d}`, id, mrr))
		w.post(domain.TypeHealthOverridden, id, at, `{"band":"red","reason":"r","author":"x"}`)
	}
	ids := func(l List) []string {
		var out []string
		for _, av := range l.Items {
			out = append(out, av.ID)
		}
		return out
	}
	page := func(c string, limit int) (List, *ListCursor) {
		var p ListPage
		if c != "" {
			lc, err := ParseListCursor(c)
			if err != nil {
				t.Fatal(err)
			}
			p.After = &lc
		}
		p.Limit = limit
		return w.readList(time.Time{}, (*Reader).AtRiskPage, p), p.After
	}
	first, _ := page("", 2)
	if got := ids(first); !slices.Equal(got, []string{"a0", "a1"}) || first.Total != 6 {
		t.Fatalf("first page %v of %d", got, first.Total)
	}
	// a1 (4000) falls to the end; a2 has the same old MRR and a later id.
	w.post(domain.TypeAccountUpdated, "a1", w.now.Add(-time.Minute), `{"mrr":500}`)
	second, _ := page(first.Next, 2)
	if got := ids(second); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Fatalf("after a1 moved: %v, want [a2 a3]", got)
	}
	// a3, the cursor's account, churns: the list goes on after its key.
	w.post(domain.TypeAccountStatusChanged, "a3", w.now.Add(-time.Minute), `{"status":"churned"}`)
	third, _ := page(second.Next, 2)
	if got := ids(third); !slices.Equal(got, []string{"a4", "a5"}) || third.Total != 5 || third.Next == "" {
		t.Fatalf("after a3 left: %v of %d (next %q), want [a4 a5] of 5 with a next page", got, third.Total, third.Next)
	}
	last, _ := page(third.Next, 2)
	if got := ids(last); !slices.Equal(got, []string{"a1"}) || last.Next != "" {
		t.Fatalf("last page %v (next %q), want [a1] and no next", got, last.Next)
	}
}

// TestParseListCursor: a cursor survives its encoding; anything else is
// ErrBadCursor.
func TestParseListCursor(t *testing.T) {
	for _, c := range []ListCursor{{0, "a"}, {123456, "acme.io:eu-1"}, {-5, "x_y"}} {
		got, err := ParseListCursor(c.String())
		if err != nil || got != c {
			t.Fatalf("%+v: %+v, %v", c, got, err)
		}
	}
	for _, s := range []string{"", "!!", "YWJj", ListCursor{ID: "a b"}.String(), ListCursor{}.String(), "MTI6", "eDph"} {
		if _, err := ParseListCursor(s); err != ErrBadCursor {
			t.Errorf("%q: %v, want ErrBadCursor", s, err)
		}
	}
}
