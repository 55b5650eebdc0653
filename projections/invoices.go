package projections

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/eventstore"
)

// Invoice statuses of an [InvoiceView].
const (
	InvoiceOpen    = "open"    // issued, not fully paid, not past due
	InvoiceOverdue = "overdue" // issued, not fully paid, past its due date
	InvoicePaid    = "paid"
	InvoiceVoided  = "voided"
)

// InvoiceView is one issued invoice as of an instant.
type InvoiceView struct {
	ID       string       `json:"invoice_id"`
	IssuedAt time.Time    `json:"issued_at"`
	Amount   domain.Money `json:"amount"`
	DueDate  string       `json:"due_date"`
	// Paid sums the payments with time ≤ the instant; PaidAt is the time of
	// the one that completed the amount (nil while unpaid).
	Paid        domain.Money `json:"paid"`
	PaidAt      *time.Time   `json:"paid_at,omitempty"`
	Outstanding domain.Money `json:"outstanding"`
	// DaysLate is today − due date for an unpaid invoice (0 when not late).
	DaysLate int    `json:"days_late"`
	Status   string `json:"status"`
}

// InvoiceHistory is an account's issued invoices as of an instant, newest
// issue first, with their totals. Voided invoices are listed and count in
// no total. Pruned reports that the projector's state no longer holds
// some older invoices: paid ones whose due date is past every scoring
// window of the retention horizon (see docs/console.md).
type InvoiceHistory struct {
	AccountID   string              `json:"account_id"`
	At          time.Time           `json:"at"`
	Invoices    []InvoiceView       `json:"invoices"`
	Issued      domain.Money        `json:"issued"`
	Paid        domain.Money        `json:"paid"`
	Outstanding domain.Money        `json:"outstanding"`
	Overdue     domain.Money        `json:"overdue"`
	OverdueN    int                 `json:"overdue_invoices"`
	Pruned      bool                `json:"pruned"`
	Position    eventstore.Position `json:"position"`
}

// Invoices returns account id's invoice history as of at (now when zero).
func (p *Projector) Invoices(ctx context.Context, id string, at time.Time) (InvoiceHistory, error) {
	now := p.cfg.Now()
	if at.IsZero() {
		at = now
	}
	if at.After(now) {
		return InvoiceHistory{}, fmt.Errorf("%w: %s", ErrFuture, at.Format(time.RFC3339))
	}
	st, pos, release, err := p.accountState(ctx, id, at)
	if err != nil {
		return InvoiceHistory{}, err
	}
	defer release()
	a := st.Accounts[id]
	if a == nil || !a.ExistsAt(at) {
		return InvoiceHistory{}, fmt.Errorf("%w: account %q did not exist at %s", ErrNotFound, id, at.Format(time.RFC3339))
	}
	h := invoiceHistory(a, at)
	h.Position = pos
	return h, nil
}

// invoiceHistory lists a's invoices issued by t; its outstanding and
// overdue sums follow the receivables rule of the account view.
func invoiceHistory(a *Account, t time.Time) InvoiceHistory {
	h := InvoiceHistory{AccountID: a.ID, At: t, Invoices: []InvoiceView{}, Pruned: a.InvoicesPruned}
	today := midnight(t)
	for i := range a.Scoring.Invoices {
		inv := &a.Scoring.Invoices[i]
		if !inv.Issued || inv.IssuedAt.After(t) {
			continue
		}
		iv := InvoiceView{ID: a.Scoring.Str(inv.ID), IssuedAt: inv.IssuedAt.Time(), Amount: domain.Money(inv.AmountCents), DueDate: inv.Due.Time().Format(time.DateOnly)}
		for _, pay := range inv.Payments {
			if pay.Time.After(t) {
				break
			}
			iv.Paid = iv.Paid.Add(domain.Money(pay.AmountCents))
			if iv.PaidAt == nil && iv.Paid >= iv.Amount {
				iv.PaidAt = new(pay.Time.Time())
			}
		}
		switch {
		case inv.Voided && !inv.VoidedAt.After(t):
			iv.Status = InvoiceVoided
		case iv.PaidAt != nil:
			iv.Status = InvoicePaid
		default:
			iv.Outstanding = iv.Amount.Add(-iv.Paid)
			iv.Status = InvoiceOpen
			if late := int(today.Sub(inv.Due.Time()) / day); late >= 1 {
				iv.DaysLate, iv.Status = late, InvoiceOverdue
				h.Overdue = h.Overdue.Add(iv.Outstanding)
				h.OverdueN++
			}
		}
		if iv.Status != InvoiceVoided {
			h.Issued = h.Issued.Add(iv.Amount)
			h.Paid = h.Paid.Add(iv.Paid)
			h.Outstanding = h.Outstanding.Add(iv.Outstanding)
		}
		h.Invoices = append(h.Invoices, iv)
	}
	slices.SortStableFunc(h.Invoices, func(x, y InvoiceView) int {
		return cmp.Or(y.IssuedAt.Compare(x.IssuedAt), cmp.Compare(y.ID, x.ID))
	})
	return h
}
