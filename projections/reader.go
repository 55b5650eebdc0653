package projections

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/eventstore"
)

// Reader answers the read models from one view of the state as of one
// instant. The query methods of Projector (Accounts, AtRisk, Portfolio, …)
// each open a view for one answer; a caller that needs several answers
// for the same instant — a console page, say — asks them of one Reader
// through Projector.Read, so that the answers agree with each other (same
// instant, same position). As of now a Reader reads the maintained read
// models (maintained.go); as of a past instant it evaluates each account
// once. A Reader is valid only inside the function given to Read, and its
// answers share cached values (a manager's view): callers must not
// modify them.
type Reader struct {
	v   *view
	pos eventstore.Position
}

// Read runs fn with a Reader as of at (now when zero). Instants at or
// after the retention horizon are answered from memory (holding the
// projector's read lock while fn runs); earlier ones from a replay of the
// log up to the current position.
func (p *Projector) Read(ctx context.Context, at time.Time, fn func(r *Reader) error) error {
	return p.withView(ctx, at, func(v *view, pos eventstore.Position) error {
		return fn(&Reader{v: v, pos: pos})
	})
}

// read is Read for one answer.
func read[T any](ctx context.Context, p *Projector, at time.Time, fn func(r *Reader) (T, error)) (T, error) {
	var out T
	err := p.Read(ctx, at, func(r *Reader) error {
		var err error
		out, err = fn(r)
		return err
	})
	return out, err
}

// At is the instant the reader answers for.
func (r *Reader) At() time.Time { return r.v.t }

// Position is the log position the reader's state reflects.
func (r *Reader) Position() eventstore.Position { return r.pos }

// Accounts is a page of the accounts matching f, by id.
func (r *Reader) Accounts(f AccountFilter) AccountPage {
	page := AccountPage{Items: []AccountView{}, Position: r.pos}
	if r.v.live != nil {
		page.Items, page.Total = r.v.live.accounts(f)
	} else {
		page.Items, page.Total = r.v.accountsPage(f)
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		page.Next = page.Items[f.Limit-1].ID
	}
	return page
}

// accountsPage evaluates every account for Accounts: the matches after
// the cursor, up to one more than the limit, and the number of matches.
func (v *view) accountsPage(f AccountFilter) (items []AccountView, total int) {
	items = []AccountView{}
	v.evaluateAll(v.accounts())
	for _, a := range v.accounts() {
		av := v.account(a)
		if (f.Status != "" && av.Status != f.Status) || (f.Tier != "" && av.Tier != f.Tier) ||
			(f.Band != "" && av.Band != f.Band) || (f.Manager != "" && av.ManagerID != f.Manager) {
			continue
		}
		total++
		if av.ID <= f.After || len(items) > f.Limit {
			continue
		}
		items = append(items, av)
	}
	return items, total
}

// Account is one account; ErrNotFound when it does not exist at the
// reader's instant.
func (r *Reader) Account(id string) (AccountView, error) {
	a := r.v.st.Accounts[id]
	if a == nil || !a.ExistsAt(r.v.t) {
		return AccountView{}, fmt.Errorf("%w: account %q", ErrNotFound, id)
	}
	if r.v.live != nil {
		if la := r.v.live.accts[id]; la != nil && la.exists {
			return la.view, nil
		}
	}
	return r.v.account(a), nil
}

// AtRisk is the at-risk list, by MRR descending then account id.
func (r *Reader) AtRisk() List { return r.list(r.v.atRisk()) }

// Upsell is the upsell-ready list.
func (r *Reader) Upsell() List { return r.list(r.v.upsell()) }

func (r *Reader) list(items []AccountView) List {
	return List{At: r.v.t, Items: items, Total: len(items), Position: r.pos}
}

// Capacity is every active manager's capacity.
func (r *Reader) Capacity() CapacityView {
	c := CapacityView{At: r.v.t, Capacity: r.v.capacity(false), Position: r.pos}
	c.Total = len(c.Managers)
	return c
}

// Manager is one manager's capacity (also after they left); ErrNotFound
// for an unknown id.
func (r *Reader) Manager(id string) (ManagerDetail, error) {
	if r.v.live != nil {
		m := r.v.st.Managers[id]
		if m == nil || !m.Joined || m.JoinedAt.After(r.v.t) {
			return ManagerDetail{}, fmt.Errorf("%w: manager %q", ErrNotFound, id)
		}
		return ManagerDetail{At: r.v.t, ManagerView: r.v.live.manager(r.v, m), Position: r.pos}, nil
	}
	c := r.v.capacity(true)
	i := slices.IndexFunc(c.Managers, func(m ManagerView) bool { return m.ID == id })
	if i < 0 {
		return ManagerDetail{}, fmt.Errorf("%w: manager %q", ErrNotFound, id)
	}
	return ManagerDetail{At: r.v.t, ManagerView: c.Managers[i], Position: r.pos}, nil
}

// Portfolio is the agency-wide summary.
func (r *Reader) Portfolio() PortfolioView {
	return PortfolioView{Portfolio: r.v.portfolio(), Position: r.pos}
}

// ManagerName is the name manager id had at the reader's instant; "" when
// the manager is unknown or had not joined by then.
func (r *Reader) ManagerName(id string) string {
	m := r.v.st.Managers[id]
	if m == nil || !m.Joined || m.JoinedAt.After(r.v.t) {
		return ""
	}
	return m.ProfileAt(r.v.t).Name
}
