package scoring

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// invoices: the most days late over the invoices that count at t.
func (s *Scorer) invoices(a *Account, t time.Time, r rule, c *Component) outcome {
	lo := t.Add(-r.window)
	today := dayNum(t)
	worst, n := 0, 0
	var details []InvoiceDetail
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		if !inv.Issued || inv.AmountCents <= 0 || inv.IssuedAt.After(t) || (inv.VoidedAt != nil && !inv.VoidedAt.After(t)) || inv.Due.After(t) {
			continue
		}
		var paid int64
		paidDay := int64(0)
		done := false
		np := 0
		for _, p := range inv.Payments {
			if p.Time.After(t) {
				break
			}
			np++
			paid = addCents(paid, p.AmountCents)
			if !done && paid >= inv.AmountCents {
				done, paidDay = true, dayNum(p.Time)
			}
		}
		if done && !inv.Due.After(lo) {
			continue // paid, and not due in the window
		}
		due := dayNum(inv.Due)
		late := today - due
		if done {
			late = max(0, paidDay-due)
		}
		worst = max(worst, int(late))
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, inv.Ref)
			for _, p := range inv.Payments[:np] {
				c.Evidence = append(c.Evidence, p.Ref)
			}
			d := InvoiceDetail{ID: inv.ID, AmountCents: inv.AmountCents, PaidCents: paid, DueDate: dateString(inv.Due), Paid: done, DaysLate: int(late)}
			if done {
				d.PaidDate = dateString(time.Unix(paidDay*86400, 0))
			}
			details = append(details, d)
		}
	}
	if n == 0 {
		return outcome{}
	}
	if c != nil {
		slices.SortFunc(details, func(x, y InvoiceDetail) int {
			return cmp.Or(strings.Compare(x.DueDate, y.DueDate), strings.Compare(x.ID, y.ID))
		})
		c.Details = &InvoiceDetails{Invoices: details}
	}
	return s.single(compInvoices, r, float64(worst))
}
