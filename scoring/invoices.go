package scoring

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// invoicesComponent is the invoices component: the most days late of the
// invoices that count (lower is better).
type invoicesComponent struct{}

func (invoicesComponent) name() string                              { return "invoices" }
func (invoicesComponent) lowerIsBetter() bool                       { return true }
func (invoicesComponent) settings(cs *Components) *ComponentConfig  { return &cs.Invoices }
func (invoicesComponent) patch(ps ComponentPatches) *ComponentPatch { return ps.Invoices }

// next: issue, due date, payments, voiding, the due date leaving the
// window, and every midnight while an invoice is unpaid past due.
func (invoicesComponent) next(a *Account, x time.Time, r rule, _ time.Duration, e *Earliest) {
	nextMidnight := midnight(x).Add(day)
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		var paid int64
		for _, p := range inv.Payments {
			e.Add(p.Time.Time())
			if !p.Time.After(x) {
				paid = addCents(paid, p.AmountCents)
			}
		}
		if inv.Voided {
			e.Add(inv.VoidedAt.Time())
		}
		if !inv.Issued {
			continue
		}
		due := inv.Due.Time()
		e.Add(inv.IssuedAt.Time())
		e.Add(due)
		e.Add(due.Add(r.window))
		voided := inv.Voided && !inv.VoidedAt.After(x)
		if !voided && paid < inv.AmountCents {
			// Unpaid: one more day late at every midnight from the due date on.
			e.Add(later(due, nextMidnight))
		}
	}
}

// evaluate: the most days late over the invoices that count at t.
func (invoicesComponent) evaluate(s *Scorer, a *Account, t time.Time, r rule, _ float64, c *Component) outcome {
	lo := t.Add(-r.window)
	today := dayNum(t)
	worst, n := 0, 0
	var details []InvoiceDetail
	for i := range a.Invoices {
		inv := &a.Invoices[i]
		if !inv.Issued || inv.AmountCents <= 0 || inv.IssuedAt.After(t) || (inv.Voided && !inv.VoidedAt.After(t)) || inv.Due.After(t) {
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
				done, paidDay = true, dayNum(p.Time.Time())
			}
		}
		if done && !inv.Due.After(lo) {
			continue // paid, and not due in the window
		}
		due := dayNum(inv.Due.Time())
		late := today - due
		if done {
			late = max(0, paidDay-due)
		}
		worst = max(worst, int(late))
		n++
		if c != nil {
			c.Evidence = append(c.Evidence, a.str(inv.Ref))
			for _, p := range inv.Payments[:np] {
				c.Evidence = append(c.Evidence, a.str(p.Ref))
			}
			d := InvoiceDetail{ID: a.str(inv.ID), AmountCents: inv.AmountCents, PaidCents: paid, DueDate: dateString(inv.Due.Time()), Paid: done, DaysLate: int(late)}
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
	return s.single(true, r, float64(worst))
}
