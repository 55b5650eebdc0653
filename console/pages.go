package console

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// Page sizes.
const (
	accountsPerPage = 50
	eventsPerPage   = 25
	invoicesShown   = 24
	dashboardAtRisk = 10
	// sparkSpan is how far back the list's sparklines reach (their points
	// are on the grid of projections.PastScores); chartMonths and chartStep
	// shape the record page's chart.
	sparkSpan   = projections.PastSpan
	chartMonths = 12
	chartStep   = 7 * 24 * time.Hour
	// allAccounts is a limit above any agency's size, for the list pages
	// that filter, search and sort themselves.
	allAccounts = math.MaxInt32
)

// dashboardPage is the data of /.
type dashboardPage struct {
	Portfolio projections.PortfolioView
	AtRisk    []accountRow
	AtRiskAll int
	Over      []projections.ManagerView
	Bands     []scoring.Band
	Statuses  []domain.Status
}

// accountRow is one account in a table: its view, its manager's name and
// (on the list) its sparkline.
type accountRow struct {
	projections.AccountView
	ManagerName string
	Spark       template.HTML
}

// Change is the score change over 30 days, or nil.
func (a accountRow) Change() *float64 {
	if a.Trend == nil {
		return nil
	}
	return a.Trend.Delta30d
}

func (c *Console) dashboard(r *http.Request, at instant) (string, any, error) {
	var pf projections.PortfolioView
	var risk projections.List
	var capv projections.CapacityView
	err := c.cfg.Projector.Read(r.Context(), at.At, func(rd *projections.Reader) error {
		pf, risk, capv = rd.Portfolio(), rd.AtRiskPage(projections.ListPage{Limit: dashboardAtRisk}), rd.Capacity()
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	names := managerNames(capv.Managers)
	d := dashboardPage{Portfolio: pf, AtRiskAll: risk.Total, Bands: allBands, Statuses: statuses}
	for _, av := range risk.Items {
		d.AtRisk = append(d.AtRisk, accountRow{AccountView: av, ManagerName: names.of(av.ManagerID)})
	}
	for _, m := range capv.Managers {
		if m.Over || m.TierExceeded {
			d.Over = append(d.Over, m)
		}
	}
	return "dashboard", d, nil
}

// names maps manager ids to names.
type names map[string]string

// of is the name of manager id, the id when unknown, "" for none.
func (n names) of(id string) string {
	if v, ok := n[id]; ok && v != "" {
		return v
	}
	return id
}

func managerNames(ms []projections.ManagerView) names {
	n := make(names, len(ms))
	for _, m := range ms {
		n[m.ID] = m.Name
	}
	return n
}

// accountsPage is the data of /accounts.
type accountsPage struct {
	Filter   listFilter
	Rows     []accountRow
	Total    int // matching accounts
	Page     int
	Pages    int
	Managers []managerRef
	Statuses []domain.Status
	Tiers    []scoring.Tier
	Bands    []scoring.Band
	Sorts    []string
}

// listFilter is the list's query: filters, search, sort and page.
type listFilter struct {
	Status, Tier, Band, Manager, Q, Sort string
}

// sorts are the list's orders: by name, MRR (largest first), score
// (lowest first) and score change over 30 days (largest drop first).
var sorts = []string{"name", "mrr", "score", "change"}

func (c *Console) accounts(r *http.Request, at instant) (string, any, error) {
	q := r.URL.Query()
	f := listFilter{Status: q.Get("status"), Tier: q.Get("tier"), Band: q.Get("band"), Manager: q.Get("manager"),
		Q: strings.TrimSpace(q.Get("q")), Sort: cmp.Or(q.Get("sort"), "name")}
	af := projections.AccountFilter{Status: domain.Status(f.Status), Tier: scoring.Tier(f.Tier), Band: scoring.Band(f.Band),
		Manager: f.Manager, Limit: allAccounts}
	switch {
	case af.Status != "" && !af.Status.Valid():
		return "", nil, badParam("status: must be one of active, on_hold, churned")
	case af.Tier != "" && !af.Tier.Valid():
		return "", nil, badParam("tier: must be one of platinum, gold, silver, bronze")
	case af.Band != "" && !slices.Contains(allBands, af.Band):
		return "", nil, badParam("band: must be one of green, yellow, red, unknown")
	case !slices.Contains(sorts, f.Sort):
		return "", nil, badParam("sort: must be one of name, mrr, score, change")
	}
	pageNo := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", nil, badParam("page: must be a page number from 1")
		}
		pageNo = n
	}
	ctx := r.Context()
	var all projections.AccountPage
	var refs []managerRef
	err := c.cfg.Projector.Read(ctx, at.At, func(rd *projections.Reader) error {
		all, refs = rd.Accounts(af), managerRefs(rd.Capacity())
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	items := all.Items
	if f.Q != "" {
		needle := strings.ToLower(f.Q)
		items = slices.DeleteFunc(items, func(av projections.AccountView) bool {
			return !strings.Contains(strings.ToLower(av.Name), needle)
		})
	}
	sortAccounts(items, f.Sort)
	p := accountsPage{Filter: f, Total: len(items), Page: pageNo, Pages: max(1, (len(items)+accountsPerPage-1)/accountsPerPage),
		Managers: refs, Statuses: statuses,
		Tiers: []scoring.Tier{scoring.TierPlatinum, scoring.TierGold, scoring.TierSilver, scoring.TierBronze}, Bands: allBands, Sorts: sorts}
	start := min((pageNo-1)*accountsPerPage, len(items))
	names := refNames(refs)
	shown := items[start:min(start+accountsPerPage, len(items))]
	sparks, err := c.pageSparks(ctx, shown, at)
	if err != nil {
		return "", nil, err
	}
	for i, av := range shown {
		p.Rows = append(p.Rows, accountRow{AccountView: av, ManagerName: names.of(av.ManagerID), Spark: sparks[i]})
	}
	return "accounts", p, nil
}

// statuses lists the account statuses.
var statuses = []domain.Status{domain.StatusActive, domain.StatusOnHold, domain.StatusChurned}

// allBands lists the bands, best first.
var allBands = []scoring.Band{scoring.BandGreen, scoring.BandYellow, scoring.BandRed, scoring.BandUnknown}

// sortAccounts orders items by key (ties by id, as the API lists them).
func sortAccounts(items []projections.AccountView, key string) {
	score := func(av projections.AccountView) float64 { // missing scores last
		if av.Score == nil {
			return math.Inf(1)
		}
		return *av.Score
	}
	change := func(av projections.AccountView) float64 {
		if av.Trend == nil || av.Trend.Delta30d == nil {
			return math.Inf(1)
		}
		return *av.Trend.Delta30d
	}
	slices.SortStableFunc(items, func(a, b projections.AccountView) int {
		var c int
		switch key {
		case "name":
			c = cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		case "mrr":
			c = cmp.Compare(b.MRR, a.MRR)
		case "score":
			c = cmp.Compare(score(a), score(b))
		case "change":
			c = cmp.Compare(change(a), change(b))
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
}

// accountPage is the data of /accounts/{id}.
type accountPage struct {
	Row       accountRow
	Health    projections.Health
	Chart     template.HTML
	ChartFrom time.Time
	History   []projections.HistoryPoint
	Invoices  projections.InvoiceHistory
	// Shown is the newest invoicesShown invoices of Invoices.
	Shown      []projections.InvoiceView
	Risks      []projections.SignalView
	Chances    []projections.SignalView
	Evidence   string // the component whose evidence is shown
	Cited      []feedEvent
	Feed       []feedEvent
	FeedPage   int
	FeedPages  int
	FeedTotal  int
	Thresholds scoring.ScoreBands
}

// feedEvent is one event of the activity feed.
type feedEvent struct {
	Ref     string
	Time    time.Time
	Type    domain.Type
	Summary string
	Version eventstore.Version
}

func (c *Console) account(r *http.Request, at instant) (string, any, error) {
	ctx, id := r.Context(), r.PathValue("id")
	var av projections.AccountView
	var manager names
	err := c.cfg.Projector.Read(ctx, at.At, func(rd *projections.Reader) error {
		var err error
		if av, err = rd.Account(id); err != nil {
			return err
		}
		manager = names{av.ManagerID: rd.ManagerName(av.ManagerID)}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	h, err := c.cfg.Projector.Health(ctx, id, at.At)
	if err != nil {
		return "", nil, err
	}
	to := at.Shown()
	from := to.AddDate(0, -chartMonths, 0)
	points, _, err := c.cfg.Projector.History(ctx, id, from, to, chartStep)
	if err != nil {
		return "", nil, err
	}
	p := accountPage{Row: accountRow{AccountView: av, ManagerName: manager.of(av.ManagerID)}, Health: h,
		Chart: scoreChart(points, c.bands, from, to), ChartFrom: from, History: points, Thresholds: c.bands}
	for _, s := range av.Signals {
		if s.Category == projections.CategoryRisk {
			p.Risks = append(p.Risks, s)
		} else {
			p.Chances = append(p.Chances, s)
		}
	}
	if p.Invoices, err = c.cfg.Projector.Invoices(ctx, id, at.At); err != nil {
		return "", nil, err
	}
	p.Shown = p.Invoices.Invoices[:min(len(p.Invoices.Invoices), invoicesShown)]
	pageNo := 1
	if v := r.URL.Query().Get("events"); v != "" {
		if pageNo, err = strconv.Atoi(v); err != nil || pageNo < 1 {
			return "", nil, badParam("events: must be a page number from 1")
		}
	}
	feed, err := c.feed(ctx, id, to)
	if err != nil {
		return "", nil, err
	}
	if want := r.URL.Query().Get("evidence"); want != "" {
		i := slices.IndexFunc(h.Components, func(comp scoring.Component) bool { return comp.Name == want })
		if i < 0 {
			return "", nil, badParam("evidence: no component %q", want)
		}
		p.Evidence = want
		for _, e := range feed {
			if slices.Contains(h.Components[i].Evidence, e.Ref) {
				p.Cited = append(p.Cited, e)
			}
		}
	}
	p.FeedTotal, p.FeedPage = len(feed), pageNo
	p.FeedPages = max(1, (len(feed)+eventsPerPage-1)/eventsPerPage)
	start := min((pageNo-1)*eventsPerPage, len(feed))
	p.Feed = feed[start:min(start+eventsPerPage, len(feed))]
	return "account", p, nil
}

// feed reads an account's events that happened by `to`, newest first.
func (c *Console) feed(ctx context.Context, id string, to time.Time) ([]feedEvent, error) {
	stream := (domain.Event{Type: domain.TypeAccountOpened, Subject: id}).Stream()
	var out []feedEvent
	for next := eventstore.Version(0); ; {
		recs, err := c.cfg.Store.ReadStream(ctx, stream, next, 1000)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			ev, err := domain.Decode(rec.Data)
			if err != nil || ev.Time.After(to) {
				continue
			}
			out = append(out, feedEvent{Ref: ev.Source + "/" + ev.ID, Time: ev.Time, Type: ev.Type, Summary: summary(ev.Data), Version: rec.Version})
		}
		if len(recs) < 1000 {
			break
		}
		next = recs[len(recs)-1].Version + 1
	}
	slices.SortStableFunc(out, func(a, b feedEvent) int {
		return cmp.Or(b.Time.Compare(a.Time), cmp.Compare(b.Version, a.Version))
	})
	return out, nil
}

// summary is an event's data shortened for the feed.
func summary(data []byte) string {
	const maxLen = 240
	s := string(data)
	if len(s) > maxLen {
		s = strings.ToValidUTF8(s[:maxLen], "") + "…"
	}
	return s
}

// listPage is the data of /at-risk and /upsell.
type listPage struct {
	Title string
	Kind  string
	Intro string
	Rows  []accountRow
	Total int
}

func (c *Console) atRisk(r *http.Request, at instant) (string, any, error) {
	return c.list(r, at, "At risk", "at-risk", "Active accounts with at least one at-risk reason, largest MRR first.", (*projections.Reader).AtRisk)
}

func (c *Console) upsell(r *http.Request, at instant) (string, any, error) {
	return c.list(r, at, "Upsell", "upsell", "Green accounts with an open opportunity signal, largest MRR first.", (*projections.Reader).Upsell)
}

// list builds an at-risk or upsell page.
func (c *Console) list(r *http.Request, at instant, title, kind, intro string,
	get func(*projections.Reader) projections.List) (string, any, error) {
	var l projections.List
	var refs []managerRef
	err := c.cfg.Projector.Read(r.Context(), at.At, func(rd *projections.Reader) error {
		l, refs = get(rd), managerRefs(rd.Capacity())
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	names := refNames(refs)
	p := listPage{Title: title, Kind: kind, Intro: intro, Total: l.Total}
	for _, av := range l.Items {
		p.Rows = append(p.Rows, accountRow{AccountView: av, ManagerName: names.of(av.ManagerID)})
	}
	return "list", p, nil
}

// managersPage is the data of /managers.
type managersPage struct {
	Capacity projections.CapacityView
}

func (c *Console) managers(r *http.Request, at instant) (string, any, error) {
	capv, err := c.cfg.Projector.Capacity(r.Context(), at.At)
	if err != nil {
		return "", nil, err
	}
	return "managers", managersPage{Capacity: capv}, nil
}

// managerPage is the data of /managers/{id}.
type managerPage struct {
	Manager projections.ManagerDetail
	Rows    []accountRow
	Bands   []scoring.Band
	Tiers   []scoring.Tier
}

func (c *Console) manager(r *http.Request, at instant) (string, any, error) {
	id := r.PathValue("id")
	var m projections.ManagerDetail
	var accts projections.AccountPage
	err := c.cfg.Projector.Read(r.Context(), at.At, func(rd *projections.Reader) error {
		var err error
		if m, err = rd.Manager(id); err != nil {
			return err
		}
		accts = rd.Accounts(projections.AccountFilter{Manager: id, Status: domain.StatusActive, Limit: allAccounts})
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	p := managerPage{Manager: m, Bands: allBands, Tiers: []scoring.Tier{scoring.TierPlatinum, scoring.TierGold, scoring.TierSilver}}
	sortAccounts(accts.Items, "mrr")
	for _, av := range accts.Items {
		p.Rows = append(p.Rows, accountRow{AccountView: av, ManagerName: m.Name})
	}
	return "manager", p, nil
}
