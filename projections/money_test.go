package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
)

// TestMoneyAtMax: 95 accounts at the documented maximum MRR (which once
// wrapped mrr_total to a negative number) and an account owing 100 invoices
// of the maximum, through ingest and the projector: every sum is exact, and
// an invoice paid three times over owes nothing. a00 (red, overdue) is the
// only account at risk; a01 (paid on time) is green; the others have no
// score.
func TestMoneyAtMax(t *testing.T) {
	now := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now, Logger: zerolog.Nop()})
	maxText := domain.MaxMoney.String()
	ev := func(id, typ, subject, at, data string) string {
		return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":"t","type":%q,"subject":%q,"time":%q,"data":%s}`, id, typ, subject, at, data)
	}
	events := []string{ev("m", "manager.joined", "am-1", "2026-01-01T00:00:00Z", `{"name":"Ada"}`)}
	const accounts, invoices = 95, 100
	for i := range accounts {
		events = append(events, ev(fmt.Sprint("o", i), "account.opened", fmt.Sprintf("a%02d", i), "2026-01-01T00:00:00Z",
			fmt.Sprintf(`{"name":"A","mrr":%s,"manager_id":"am-1"}`, maxText)),
			ev(fmt.Sprint("c", i), "touchpoint.recorded", fmt.Sprintf("a%02d", i), "2026-06-10T00:00:00Z", `{"channel":"call","direction":"outbound"}`)) // not quiet
	}
	for i := range invoices { // a00 owes all of them, overdue
		events = append(events, ev(fmt.Sprint("i", i), "invoice.issued", "a00", "2026-02-01T00:00:00Z",
			fmt.Sprintf(`{"invoice_id":"inv-%d","amount":%s,"due_date":"2026-03-01"}`, i, maxText)))
	}
	// a01's invoice is paid three times over.
	events = append(events, ev("x", "invoice.issued", "a01", "2026-05-01T00:00:00Z", fmt.Sprintf(`{"invoice_id":"x","amount":%s,"due_date":"2026-06-01"}`, maxText)))
	for i := range 3 {
		events = append(events, ev(fmt.Sprint("xp", i), "payment.received", "a01", "2026-05-20T00:00:00Z", fmt.Sprintf(`{"invoice_id":"x","amount":%s}`, maxText)))
	}
	waitFor(t, p, post(t, store, now, events...))

	ctx := context.Background()
	pf, err := p.Portfolio(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	capa, err := p.Capacity(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	acct, _, err := p.Account(ctx, "a00", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	total := (accounts * domain.MaxMoney).String()
	owed := (invoices * domain.MaxMoney).String()
	for what, want := range map[string][]string{
		"portfolio": {`"mrr_total":` + total, `"green":` + maxText, `"red":` + maxText, `"unknown":` + (93 * domain.MaxMoney).String(), `"mrr_at_risk":` + maxText,
			`"receivables_outstanding":` + owed, `"receivables_overdue":` + owed},
		"capacity": {`"mrr_managed":` + total, `"mrr_at_risk":` + maxText},
		"account":  {`"mrr":` + maxText},
	} {
		v := map[string]any{"portfolio": pf, "capacity": capa, "account": acct}[what]
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s: no %s in %s", what, w, b)
			}
		}
	}
	if pf.MRRTotal != accounts*domain.MaxMoney || pf.ReceivablesOutstanding != invoices*domain.MaxMoney {
		t.Errorf("mrr_total %s, receivables %s", pf.MRRTotal, pf.ReceivablesOutstanding)
	}
}
