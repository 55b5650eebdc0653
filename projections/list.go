package projections

import (
	"cmp"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/google/btree"

	"github.com/vitals-hq/vitals/domain"
)

// ListPage selects a page of the at-risk or upsell list: the items
// strictly after After in the list's order (by MRR descending, then
// account id; nil: from the first item), at most Limit of them (0: every
// item). The zero ListPage is the whole list.
type ListPage struct {
	After *ListCursor
	Limit int
}

// ListCursor is the sort key of a list item: its MRR and account id. A
// page that starts after it starts strictly after that key in the list's
// order, wherever the account is now (its MRR changed, it left the list).
type ListCursor struct {
	MRR domain.Money
	ID  string
}

// ErrBadCursor is returned by ParseListCursor for a string that is not a
// cursor it encodes.
var ErrBadCursor = errors.New("not a list cursor")

// cursorOf is the cursor after item av.
func cursorOf(av *AccountView) *ListCursor { return &ListCursor{MRR: av.MRR, ID: av.ID} }

// String encodes the cursor, opaque to clients: "<MRR in cents>:<id>"
// in unpadded base64url.
func (c ListCursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(int64(c.MRR), 10) + ":" + c.ID))
}

// ParseListCursor decodes a cursor encoded by ListCursor.String;
// ErrBadCursor when s is not one.
func ParseListCursor(s string) (ListCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ListCursor{}, ErrBadCursor
	}
	mrr, id, ok := strings.Cut(string(b), ":")
	cents, err := strconv.ParseInt(mrr, 10, 64)
	if !ok || err != nil || !domain.ValidID(id) {
		return ListCursor{}, ErrBadCursor
	}
	return ListCursor{MRR: domain.Money(cents), ID: id}, nil
}

// before reports whether the cursor's key comes strictly before item av
// in the list's order.
func (c *ListCursor) before(av *AccountView) bool {
	return cmp.Or(cmp.Compare(av.MRR, c.MRR), cmp.Compare(c.ID, av.ID)) < 0
}

// size is how many items a page reads at most: one more than its limit
// (to tell whether more follow), n when it has none.
func (p ListPage) size(n int) int {
	if p.Limit <= 0 || p.Limit >= n {
		return n
	}
	return p.Limit + 1
}

// page reads a page of list t (by MRR descending, then id): it seeks to
// the cursor and reads up to one more item than the limit, so it costs
// O(log n + limit), whatever the list's length. p.mu is held (read).
func (m *maintained) page(t *btree.BTreeG[*liveAccount], p ListPage) []AccountView {
	n := p.size(t.Len())
	items := make([]AccountView, 0, n)
	visit := func(la *liveAccount) bool {
		if p.After == nil || p.After.before(&la.view) {
			items = append(items, la.view)
		}
		return len(items) < n
	}
	if n == 0 {
		return items
	}
	if p.After == nil {
		t.Ascend(visit)
	} else {
		t.AscendGreaterOrEqual(&liveAccount{id: p.After.ID, view: AccountView{MRR: p.After.MRR}}, visit)
	}
	return items
}

// slicePage is page over a recomputed list, sorted by MRR descending then
// id: a binary search finds the first item after the cursor.
func slicePage(items []AccountView, p ListPage) []AccountView {
	from := 0
	if p.After != nil {
		from, _ = slices.BinarySearchFunc(items, p.After, func(av AccountView, c *ListCursor) int {
			if c.before(&av) {
				return 1
			}
			return -1
		})
	}
	rest := items[from:]
	return slices.Clip(rest[:p.size(len(rest))])
}

// AtRiskPage is a page of the at-risk list (see ListPage); Total is the
// whole list's length and Next the cursor after the page's last item
// when more follow. The live one seeks in the maintained list.
func (r *Reader) AtRiskPage(p ListPage) List {
	if p == (ListPage{}) {
		return r.AtRisk() // the cached whole list
	}
	if r.v.live != nil {
		return r.paged(p, r.v.live.atRisk, nil)
	}
	return r.paged(p, nil, r.v.atRisk())
}

// UpsellPage is a page of the upsell list (see AtRiskPage).
func (r *Reader) UpsellPage(p ListPage) List {
	if p == (ListPage{}) {
		return r.Upsell()
	}
	if r.v.live != nil {
		return r.paged(p, r.v.live.upsell, nil)
	}
	return r.paged(p, nil, r.v.upsell())
}

// paged is the page p of the maintained list t, or of the recomputed
// list all when t is nil.
func (r *Reader) paged(p ListPage, t *btree.BTreeG[*liveAccount], all []AccountView) List {
	var items []AccountView
	total := len(all)
	if t != nil {
		items, total = r.v.live.page(t, p), t.Len()
	} else {
		items = slicePage(all, p)
	}
	l := List{At: r.v.t, Items: items, Total: total, Position: r.pos}
	if p.Limit > 0 && len(items) > p.Limit {
		l.Items = items[:p.Limit:p.Limit]
		l.Next = cursorOf(&l.Items[p.Limit-1]).String()
	}
	return l
}
