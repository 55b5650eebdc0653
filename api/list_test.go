package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/projections"
)

// TestListPaging: paging through /v1/at-risk and /v1/upsell with ?limit=
// and next_cursor, live and ?at=, gives the whole list (the answer without
// ?limit=), each page with the whole list's total and the last without
// next_cursor; every answer is validated against openapi.yaml.
func TestListPaging(t *testing.T) {
	srv := startServer(t, fullServer(t, api.Config{MaxBatchEvents: 2000}))
	pos, _, _ := loadDemo(t, srv.URL)
	rw := fmt.Sprintf("min_position=%d", pos)
	past := url.QueryEscape(now.AddDate(0, -2, 0).Format(time.RFC3339))
	get := func(path string) projections.List {
		t.Helper()
		var l projections.List
		if err := json.Unmarshal(getRaw(t, srv.URL+path), &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, list := range []string{"/v1/at-risk", "/v1/upsell"} {
		for _, at := range []string{"", "&at=" + past} {
			whole := get(list + "?" + rw + at)
			if whole.Next != "" {
				t.Fatalf("%s%s without limit: next_cursor %q", list, at, whole.Next)
			}
			if list == "/v1/at-risk" && len(whole.Items) < 5 {
				t.Fatalf("%s%s: %d items, too few to page", list, at, len(whole.Items))
			}
			var ids, want []string
			for _, av := range whole.Items {
				want = append(want, av.ID)
			}
			cursor, pages := "", 0
			for {
				l := get(fmt.Sprintf("%s?%s%s&limit=2&cursor=%s", list, rw, at, cursor))
				if pages++; l.Total != whole.Total || len(l.Items) > 2 || pages > len(want)+1 {
					t.Fatalf("%s%s page %d: total %d (want %d), %d items", list, at, pages, l.Total, whole.Total, len(l.Items))
				}
				for _, av := range l.Items {
					ids = append(ids, av.ID)
				}
				if l.Next == "" {
					break
				}
				cursor = url.QueryEscape(l.Next)
			}
			if fmt.Sprint(ids) != fmt.Sprint(want) {
				t.Errorf("%s%s: pages %v, whole list %v", list, at, ids, want)
			}
		}
	}
}

// TestListPagingErrors: a bad ?limit= or ?cursor= of the lists is a 400
// naming the parameter.
func TestListPagingErrors(t *testing.T) {
	srv := startServer(t, fullServer(t, api.Config{}))
	for _, list := range []string{"/v1/at-risk", "/v1/upsell"} {
		for _, c := range []struct{ query, prefix string }{
			{"limit=0", "limit: "}, {"limit=1001", "limit: "}, {"limit=x", "limit: "}, {"limit=-1", "limit: "},
			{"cursor=x", "cursor: "}, {"cursor=a1", "cursor: "}, {"limit=5&cursor=" + projections.ListCursor{ID: "a b"}.String(), "cursor: "},
			{"cursor=" + url.QueryEscape("100:a1"), "cursor: "},
		} {
			msg := errorMessage(t, srv.URL, list+"?"+c.query, http.StatusBadRequest)
			if !strings.HasPrefix(msg, c.prefix) {
				t.Errorf("%s?%s: message %q, want one starting %q", list, c.query, msg, c.prefix)
			}
		}
		// A well-formed cursor of an unknown account is a place in the list.
		if l := getJSON(t, srv.URL+list+"?limit=5&cursor="+projections.ListCursor{MRR: 100, ID: "nobody"}.String(), http.StatusOK); l["total"] != 0.0 {
			t.Errorf("%s with a cursor: %v", list, l)
		}
	}
}
