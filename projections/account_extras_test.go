package projections_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/projections"
)

// TestAccountReceivablesAndLastInteraction: an account's outstanding and
// overdue receivables and its last interaction are answered as of each
// instant, from facts that arrived out of order (back-dated contacts and a
// back-dated payment posted after later facts).
func TestAccountReceivablesAndLastInteraction(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: now}
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: clk.Now})
	ev := func(id, typ, at, data string) string {
		return `{"specversion":"1.0","id":"` + id + `","source":"t","type":"` + typ + `","subject":"acme","time":"` + at + `","data":` + data + `}`
	}
	head := post(t, store, now,
		ev("1", "account.opened", "2026-01-01T08:00:00Z", `{"name":"Acme","mrr":2500}`),
		ev("2", "touchpoint.recorded", "2026-05-20T10:00:00Z", `{"channel":"call","direction":"outbound"}`),
		ev("3", "message.received", "2026-02-10T09:00:00Z", `{"message_id":"m1"}`),
		ev("4", "invoice.issued", "2026-02-01T08:00:00Z", `{"invoice_id":"inv-1","amount":1000,"due_date":"2026-02-15"}`),
		ev("5", "payment.received", "2026-03-01T08:00:00Z", `{"invoice_id":"inv-1","amount":400}`),
		ev("6", "invoice.issued", "2026-05-25T08:00:00Z", `{"invoice_id":"inv-2","amount":300,"due_date":"2026-06-10"}`),
	)
	waitFor(t, p, head)
	// Later, back-dated: a contact and the rest of inv-1's payment.
	head = post(t, store, now,
		ev("7", "touchpoint.recorded", "2026-05-28T10:00:00Z", `{"channel":"email","direction":"inbound"}`),
		ev("8", "payment.received", "2026-05-30T08:00:00Z", `{"invoice_id":"inv-1","amount":600}`),
	)
	waitFor(t, p, head)

	ts := func(s string) *time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &v
	}
	for _, c := range []struct {
		at                   time.Time // zero: now
		outstanding, overdue domain.Money
		last                 *time.Time
	}{
		{time.Time{}, 30000, 0, ts("2026-05-28T10:00:00Z")},
		{time.Date(2026, 5, 29, 0, 0, 0, 0, time.UTC), 90000, 60000, ts("2026-05-28T10:00:00Z")},
		{time.Date(2026, 5, 26, 0, 0, 0, 0, time.UTC), 90000, 60000, ts("2026-05-20T10:00:00Z")},
		{time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), 100000, 100000, ts("2026-02-10T09:00:00Z")},
		{time.Date(2026, 2, 5, 0, 0, 0, 0, time.UTC), 100000, 0, nil},
		{time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 0, 0, nil},
	} {
		av, _, err := p.Account(context.Background(), "acme", c.at)
		if err != nil {
			t.Fatal(err)
		}
		if av.ReceivablesOutstanding != c.outstanding || av.ReceivablesOverdue != c.overdue {
			t.Errorf("at %s: receivables %d/%d cents, want %d/%d", c.at, av.ReceivablesOutstanding, av.ReceivablesOverdue, c.outstanding, c.overdue)
		}
		switch {
		case c.last == nil && av.LastInteraction != nil:
			t.Errorf("at %s: last interaction %s, want none", c.at, av.LastInteraction)
		case c.last != nil && (av.LastInteraction == nil || !av.LastInteraction.Equal(*c.last)):
			t.Errorf("at %s: last interaction %v, want %s", c.at, av.LastInteraction, c.last)
		}
		// The list answers the same as the single account.
		page, err := p.Accounts(context.Background(), projections.AccountFilter{Limit: 10}, c.at)
		if err != nil {
			t.Fatal(err)
		}
		equalJSON(t, "list item and account", page.Items[0], av)
		b, err := json.Marshal(av)
		if err != nil {
			t.Fatal(err)
		}
		if c.last == nil && !strings.Contains(string(b), `"last_interaction_at":null`) {
			t.Errorf("at %s: %s, want last_interaction_at null", c.at, b)
		}
	}
}
