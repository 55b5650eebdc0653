package projections

import (
	"slices"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// TestInvoiceHistory: an account's invoice history as of an instant lists
// the invoices issued by then, newest first, with each one's status as of
// that instant; its outstanding and overdue totals equal the account
// view's receivables; once pruning drops an old paid invoice, the history
// says it is no longer whole.
func TestInvoiceHistory(t *testing.T) {
	st := NewState()
	n := 0
	apply := func(at string, typ domain.Type, p any) {
		tm, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		n++
		st.Apply(domain.Event{Type: typ, Source: "t", ID: string(rune('a' + n)), Subject: "acme", Time: tm, Payload: p})
	}
	// Arrival order is not time order.
	apply("2026-05-20T09:00:00Z", domain.TypeInvoiceIssued, domain.InvoiceIssued{InvoiceID: "inv-3", Amount: 50000, DueDate: domain.NewDate(2026, 6, 30)})
	apply("2024-01-01T09:00:00Z", domain.TypeAccountOpened, domain.AccountOpened{Name: "Acme", MRR: 100000})
	apply("2026-05-10T09:00:00Z", domain.TypePaymentReceived, domain.PaymentReceived{InvoiceID: "inv-2", Amount: 40000})
	apply("2026-05-01T09:00:00Z", domain.TypeInvoiceIssued, domain.InvoiceIssued{InvoiceID: "inv-2", Amount: 100000, DueDate: domain.NewDate(2026, 5, 15)})
	apply("2024-02-01T09:00:00Z", domain.TypeInvoiceIssued, domain.InvoiceIssued{InvoiceID: "inv-1", Amount: 100000, DueDate: domain.NewDate(2024, 2, 15)})
	apply("2024-02-20T09:00:00Z", domain.TypePaymentReceived, domain.PaymentReceived{InvoiceID: "inv-1", Amount: 100000})
	apply("2026-04-01T09:00:00Z", domain.TypeInvoiceIssued, domain.InvoiceIssued{InvoiceID: "inv-4", Amount: 70000, DueDate: domain.NewDate(2026, 4, 15)})
	apply("2026-04-05T09:00:00Z", domain.TypeInvoiceVoided, domain.InvoiceVoided{InvoiceID: "inv-4"})
	a := st.Accounts["acme"]

	type row struct {
		id, status string
		late       int
		out        domain.Money
	}
	rows := func(h InvoiceHistory) []row {
		var out []row
		for _, iv := range h.Invoices {
			out = append(out, row{iv.ID, iv.Status, iv.DaysLate, iv.Outstanding})
		}
		return out
	}
	check := func(at time.Time, want []row, issued, paid, outstanding, overdue domain.Money) {
		t.Helper()
		h := invoiceHistory(a, at)
		if got := rows(h); !slices.Equal(got, want) {
			t.Errorf("at %s: invoices %v, want %v", at, got, want)
		}
		if h.Issued != issued || h.Paid != paid || h.Outstanding != outstanding || h.Overdue != overdue {
			t.Errorf("at %s: issued %d paid %d outstanding %d overdue %d, want %d %d %d %d", at,
				h.Issued, h.Paid, h.Outstanding, h.Overdue, issued, paid, outstanding, overdue)
		}
		if o := receivables(a, at); o.outstanding != h.Outstanding || o.overdue != h.Overdue {
			t.Errorf("at %s: receivables %d/%d, history %d/%d", at, o.outstanding, o.overdue, h.Outstanding, h.Overdue)
		}
	}
	june := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	check(june, []row{
		{"inv-3", InvoiceOpen, 0, 50000},
		{"inv-2", InvoiceOverdue, 17, 60000},
		{"inv-4", InvoiceVoided, 0, 0},
		{"inv-1", InvoicePaid, 0, 0},
	}, 250000, 140000, 110000, 60000)
	check(time.Date(2026, 5, 12, 0, 0, 0, 0, time.UTC), []row{
		{"inv-2", InvoiceOpen, 0, 60000},
		{"inv-4", InvoiceVoided, 0, 0},
		{"inv-1", InvoicePaid, 0, 0},
	}, 200000, 140000, 60000, 0)
	check(time.Date(2024, 2, 16, 0, 0, 0, 0, time.UTC), []row{{"inv-1", InvoiceOverdue, 1, 100000}}, 100000, 0, 100000, 100000)
	if h := invoiceHistory(a, june); h.Pruned || h.Invoices[3].PaidAt == nil || !h.Invoices[3].PaidAt.Equal(time.Date(2024, 2, 20, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("before pruning: pruned %v, inv-1 paid at %v", h.Pruned, h.Invoices[3].PaidAt)
	}

	sc, err := scoring.New(scoring.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	p := &Projector{cfg: Config{Scorer: sc, Retain: 30 * day}, state: st}
	p.pruneAccount("acme", june.Add(-30*day), june)
	h := invoiceHistory(a, june)
	if !h.Pruned || slices.ContainsFunc(h.Invoices, func(iv InvoiceView) bool { return iv.ID == "inv-1" }) {
		t.Fatalf("after pruning: pruned %v, invoices %v", h.Pruned, rows(h))
	}
	if h.Outstanding != 110000 || h.Overdue != 60000 {
		t.Errorf("after pruning: outstanding %d overdue %d, want 110000 60000", h.Outstanding, h.Overdue)
	}
}
