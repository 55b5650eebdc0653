package metrics_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/demo"
	"github.com/vitals-hq/vitals/eventstore"
	"github.com/vitals-hq/vitals/eventstore/bolt"
	"github.com/vitals-hq/vitals/internal/testworld"
	"github.com/vitals-hq/vitals/projections"
)

// fixtureNow is the instant the fixture is evaluated at.
var fixtureNow = time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)

// ce builds one CloudEvent of the fixture.
func ce(id, typ, subject, at string, data map[string]any) []byte {
	raw, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": id, "source": "metrics-test", "type": typ,
		"subject": subject, "time": at, "data": data,
	})
	if err != nil {
		panic(err)
	}
	return raw
}

// fixtureEvents is a small agency with every aggregate the domain
// collector exports: two managers, six accounts over all statuses, tiers
// and bands, NPS, messages, an overdue invoice, a risk signal and logged
// time.
func fixtureEvents() [][]byte {
	type m = map[string]any
	return [][]byte{
		ce("m1", "manager.joined", "am-1", "2024-01-01T09:00:00Z", m{"name": "Ada", "capacity_points": 100, "weekly_hours": 40}),
		ce("m2", "manager.joined", "am-2", "2024-01-01T09:00:00Z", m{"name": "Bob", "capacity_points": 50}),

		ce("a1", "account.opened", "acme", "2025-01-01T09:00:00Z", m{"name": "Acme", "mrr": 12000, "manager_id": "am-1", "renewal_date": "2026-04-10"}),
		ce("a2", "nps.responded", "acme", "2026-03-01T09:00:00Z", m{"score": 10}),
		ce("a3", "meeting.held", "acme", "2026-03-05T09:00:00Z", m{"meeting_id": "mt-1"}),
		ce("a4", "kpi.reported", "acme", "2026-03-06T09:00:00Z", m{"kpi": "leads", "target": 100, "actual": 120}),
		ce("a5", "touchpoint.recorded", "acme", "2026-03-10T09:00:00Z", m{"channel": "call", "direction": "outbound"}),
		ce("a6", "signal.raised", "acme", "2026-03-11T09:00:00Z", m{"signal_id": "s-1", "kind": "expansion_interest"}),

		ce("b1", "account.opened", "beta", "2025-02-01T09:00:00Z", m{"name": "Beta", "mrr": 6000, "manager_id": "am-1"}),
		ce("b2", "invoice.issued", "beta", "2026-01-15T09:00:00Z", m{"invoice_id": "inv-1", "amount": 3000, "due_date": "2026-02-01"}),
		ce("b3", "nps.responded", "beta", "2026-02-20T09:00:00Z", m{"score": 3}),
		ce("b4", "signal.raised", "beta", "2026-03-01T09:00:00Z", m{"signal_id": "s-2", "kind": "competitor_mention"}),

		ce("g1", "account.opened", "gamma", "2025-03-01T09:00:00Z", m{"name": "Gamma", "mrr": 2000, "manager_id": "am-2"}),
		ce("g2", "message.received", "gamma", "2026-03-10T09:00:00Z", m{"message_id": "msg-1", "channel": "email"}),
		ce("g3", "message.replied", "gamma", "2026-03-10T12:00:00Z", m{"message_id": "msg-1"}),
		ce("g4", "message.received", "gamma", "2026-03-12T09:00:00Z", m{"message_id": "msg-2"}),
		ce("g5", "message.replied", "gamma", "2026-03-14T12:00:00Z", m{"message_id": "msg-2"}),
		ce("g6", "nps.responded", "gamma", "2026-03-02T09:00:00Z", m{"score": 8}),

		ce("d1", "account.opened", "delta", "2025-12-01T09:00:00Z", m{"name": "Delta", "mrr": 500}),

		ce("e1", "account.opened", "eps", "2024-06-01T09:00:00Z", m{"name": "Eps", "mrr": 3000, "manager_id": "am-2"}),
		ce("e2", "account.status_changed", "eps", "2025-10-01T09:00:00Z", m{"status": "churned", "reason": "budget"}),

		ce("z1", "account.opened", "zeta", "2025-01-15T09:00:00Z", m{"name": "Zeta", "mrr": 1500, "manager_id": "am-2"}),
		ce("z2", "account.status_changed", "zeta", "2026-02-01T09:00:00Z", m{"status": "on_hold", "reason": "paused"}),

		ce("t1", "time.logged", "acme", "2026-03-02T17:00:00Z", m{"manager_id": "am-1", "hours": 8}),
		ce("t2", "time.logged", "acme", "2026-03-03T17:00:00Z", m{"manager_id": "am-1", "hours": 8}),
		ce("t3", "time.logged", "beta", "2026-03-04T17:00:00Z", m{"manager_id": "am-1", "hours": 6, "billable": false}),
		ce("t4", "time.logged", "beta", "2026-03-09T17:00:00Z", m{"manager_id": "am-1", "hours": 20}),
		ce("t5", "time.logged", "beta", "2026-03-10T17:00:00Z", m{"manager_id": "am-1", "hours": 20}),
		ce("t6", "time.logged", "beta", "2026-03-11T17:00:00Z", m{"manager_id": "am-1", "hours": 20}),
		ce("t7", "time.logged", "beta", "2026-03-12T17:00:00Z", m{"manager_id": "am-1", "hours": 20}),
	}
}

// demoEvents generates a demo agency ending at end.
func demoEvents(t testing.TB, accounts, managers, months int, end time.Time) [][]byte {
	return testworld.Demo(t, demo.Config{Seed: 7, Accounts: accounts, Managers: managers, Months: months, End: end})
}

// world is a store loaded with events and a projector that has applied
// them, evaluated by a fixed clock.
type world struct {
	store *bolt.Store
	proj  *projections.Projector
	head  eventstore.Position
}

// newWorld ingests raws (all must be accepted) and runs a projector until
// it has applied them. wrap may wrap the store the ingester writes to
// (nil: the store itself).
func newWorld(t testing.TB, raws [][]byte, now time.Time, wrap func(eventstore.Store) eventstore.Store, obs projections.Observer) *world {
	t.Helper()
	w := testworld.New(t, raws, now, testworld.Options{Wrap: wrap, Observer: obs})
	return &world{store: w.Store, proj: w.Projector, head: w.Head}
}
