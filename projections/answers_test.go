package projections_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/projections"
)

// TestManagerDecidesOnExactRatios: a manager whose load is a hair over
// capacity is over, and one whose utilization is a hair over 80 % is over
// target, although both ratios show as their 4-decimal rounding (1 and
// 0.8) in the answer; capacity points, a fact, show as given.
func TestManagerDecidesOnExactRatios(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	head := post(t, store, now,
		// One bronze account is 3 load points: 3 ÷ 2.99999 = 1.0000033.
		`{"specversion":"1.0","id":"m","source":"t","type":"manager.joined","subject":"am-1","time":"2026-01-01T00:00:00Z","data":{"name":"Ana","capacity_points":2.99999,"weekly_hours":10}}`,
		`{"specversion":"1.0","id":"a","source":"t","type":"account.opened","subject":"acme","time":"2026-01-02T00:00:00Z","data":{"name":"Acme","mrr":500,"manager_id":"am-1"}}`,
		// 32.0004 billable hours ÷ (10 h × 4) = 0.80001.
		`{"specversion":"1.0","id":"t1","source":"t","type":"time.logged","subject":"acme","time":"2026-02-20T17:00:00Z","data":{"manager_id":"am-1","hours":16.0002}}`,
		`{"specversion":"1.0","id":"t2","source":"t","type":"time.logged","subject":"acme","time":"2026-02-21T17:00:00Z","data":{"manager_id":"am-1","hours":16.0002}}`,
	)
	waitFor(t, p, head)
	d, err := p.Manager(context.Background(), "am-1", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !d.Over || d.UtilStatus != "over" {
		t.Errorf("over %v, utilization_status %q: want over and \"over\" (load %v ÷ %v, billable %v ÷ %v h)",
			d.Over, d.UtilStatus, d.LoadPoints, d.CapacityPoints, d.BillableHours, d.WeeklyHours*4)
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"load_ratio":1,`, `"over":true`, `"utilization":0.8,`, `"utilization_status":"over"`, `"capacity_points":2.99999,`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("answer lacks %s: %s", want, raw)
		}
	}
}

// TestHealthJSONKeepsItsOwnFields: the health answer holds account_id and
// position beside the result's members, whose numbers are rounded.
func TestHealthJSONKeepsItsOwnFields(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	store := openStore(t)
	p := runProjector(t, projections.Config{Store: store, Scorer: newScorer(t), Now: func() time.Time { return now }})
	head := post(t, store, now,
		`{"specversion":"1.0","id":"a","source":"t","type":"account.opened","subject":"acme","time":"2026-01-02T00:00:00Z","data":{"name":"Acme","mrr":500}}`,
		`{"specversion":"1.0","id":"r","source":"t","type":"message.received","subject":"acme","time":"2026-02-20T09:00:00Z","data":{"message_id":"m1"}}`,
		`{"specversion":"1.0","id":"p","source":"t","type":"message.replied","subject":"acme","time":"2026-02-20T11:25:00Z","data":{"message_id":"m1"}}`,
	)
	waitFor(t, p, head)
	h, err := p.Health(context.Background(), "acme", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got["account_id"] != "acme" || got["position"] != float64(head) || got["band"] == nil || got["components"] == nil {
		t.Fatalf("health answer: %s", raw)
	}
	// 2 h 25 min = 2.41666… h; the SLA of a bronze account is 48 h.
	if !strings.Contains(string(raw), `"hours":2.4167,`) || !strings.Contains(string(raw), `"ratio":0.0503}`) {
		t.Errorf("message hours and ratio not rounded to 4 decimals: %s", raw)
	}
	msg := h.Components[4].Details
	if msg == nil {
		t.Fatalf("response component missing: %s", raw)
	}
}
