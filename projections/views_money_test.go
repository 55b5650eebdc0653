package projections

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// portfolioOf evaluates the portfolio of st at t.
func portfolioOf(t *testing.T, st *State, at time.Time) Portfolio {
	t.Helper()
	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	v := &view{st: st, t: at, scorer: sc, score: func(a *Account) scoring.Result { return sc.Score(&a.Scoring, at) }}
	return v.portfolio()
}

// TestMoneySumsPrintExactly: an MRR total beyond 2^53 cents, where a
// float64 drops the last cent, prints exactly.
func TestMoneySumsPrintExactly(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st := NewState()
	open := func(id string, mrr domain.Money) {
		st.Apply(domain.Event{Type: domain.TypeAccountOpened, Source: "t", ID: id, Subject: id, Time: at.Add(-day),
			Payload: domain.AccountOpened{Name: id, MRR: mrr}})
	}
	const n = 9100 // n × MaxMoney > 2^53
	for i := range n {
		open(fmt.Sprintf("a%05d", i), domain.MaxMoney)
	}
	open("cent", 1)
	pf := portfolioOf(t, st, at)
	want := n*domain.MaxMoney + 1
	if pf.MRRTotal != want {
		t.Fatalf("mrr_total = %d cents, want %d", int64(pf.MRRTotal), int64(want))
	}
	b, err := json.Marshal(pf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mrr_total":90999999999909.01`) {
		t.Errorf("portfolio %s, want mrr_total 90999999999909.01", b)
	}
}

// TestReceivablesSaturate: amounts beyond what ingest accepts (facts put
// into the state directly) saturate the receivables instead of wrapping to
// a negative total; an invoice paid beyond int64 owes nothing.
func TestReceivablesSaturate(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	a := &Account{ID: "a"}
	due := at.Add(-30 * day)
	for _, id := range []string{"i1", "i2", "i3"} {
		a.Scoring.IssueInvoice(id, "t/"+id, due.Add(-day), math.MaxInt64, due)
	}
	a.Scoring.IssueInvoice("paid", "t/paid", due.Add(-day), math.MaxInt64, due)
	for _, ref := range []string{"t/p1", "t/p2", "t/p3"} {
		a.Scoring.AddPayment("paid", scoring.Payment{Ref: ref, Time: due, AmountCents: math.MaxInt64 / 2})
	}
	o := receivables(a, at)
	if o.outstanding != math.MaxInt64 || o.overdue != math.MaxInt64 || o.maxDaysLate != 30 {
		t.Fatalf("receivables %+v, want outstanding and overdue saturated at %d, 30 days late", o, int64(math.MaxInt64))
	}
}

// TestManagerNumbersFinite: manager facts that bypass ingest ranges (a
// subnormal capacity and weekly hours, hours whose sum overflows) give
// finite numbers that encode as JSON.
func TestManagerNumbersFinite(t *testing.T) {
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st := NewState()
	tiny := 5e-324
	st.Apply(domain.Event{Type: domain.TypeManagerJoined, Source: "t", ID: "m", Subject: "am-1", Time: at.Add(-10 * day),
		Payload: domain.ManagerJoined{Name: "Ada", CapacityPoints: tiny, WeeklyHours: tiny}})
	st.Apply(domain.Event{Type: domain.TypeAccountOpened, Source: "t", ID: "o", Subject: "acme", Time: at.Add(-10 * day),
		Payload: domain.AccountOpened{Name: "Acme", MRR: 100, ManagerID: "am-1"}})
	for _, id := range []string{"t1", "t2", "t3"} {
		st.Apply(domain.Event{Type: domain.TypeTimeLogged, Source: "t", ID: id, Subject: "acme", Time: at.Add(-day),
			Payload: domain.TimeLogged{ManagerID: "am-1", Hours: math.MaxFloat64, Billable: true}})
	}
	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	v := &view{st: st, t: at, scorer: sc, score: func(a *Account) scoring.Result { return sc.Score(&a.Scoring, at) }}
	c := v.capacity(true)
	if _, err := json.Marshal(c); err != nil {
		t.Fatalf("capacity does not encode: %v", err)
	}
	mv := c.Managers[0]
	for name, x := range map[string]float64{"load_ratio": mv.LoadRatio, "logged_hours_28d": mv.LoggedHours, "billable_hours_28d": mv.BillableHours, "utilization": *mv.Utilization} {
		if x != math.MaxFloat64 {
			t.Errorf("%s = %v, want clamped to the largest float64", name, x)
		}
	}
	if !mv.Over || mv.UtilStatus != "over" {
		t.Errorf("over %v, utilization status %q; want over", mv.Over, mv.UtilStatus)
	}
}

// TestSLACountsHugeSLA: an SLA beyond time.Duration's range (a stored value
// from before the ingest range) counts an answered message as answered in
// time, instead of overflowing to a negative duration that counts it late.
func TestSLACountsHugeSLA(t *testing.T) {
	at := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	a := &Account{}
	a.Scoring.ReceiveMessage("m", "src/m", at.Add(-48*time.Hour))
	a.Scoring.AddReply("m", scoring.Reply{Ref: "src/r", Time: at.Add(-24 * time.Hour)})
	for _, hours := range []float64{1e300, math.Inf(1)} {
		ok, counted := slaCounts(a, at, hours)
		if ok != 1 || counted != 1 {
			t.Errorf("sla %g h: ok %d of %d, want 1 of 1", hours, ok, counted)
		}
	}
}
