package metrics_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vitals-hq/vitals/metrics"
	"github.com/vitals-hq/vitals/notify"
)

// fakeNotifyStatus answers Status with fixed values, or an error.
type fakeNotifyStatus struct {
	sts []notify.TargetStatus
	err error
}

func (f *fakeNotifyStatus) Status(context.Context) ([]notify.TargetStatus, error) {
	return f.sts, f.err
}

// TestNotifyMetrics: the observer's counts by target and result or reason,
// pre-created at zero for configured targets, and the per-target gauges
// read at scrape time (age from the oldest pending transition, 0 when
// caught up), with failed reads counted.
func TestNotifyMetrics(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reg := prometheus.NewPedanticRegistry()
	m := metrics.New(reg, metrics.Options{Version: "test", Now: func() time.Time { return now }})
	n := m.Notify()
	var obs notify.Observer = n
	obs.Configured("crm")
	obs.Configured("1")
	obs.Delivered("crm")
	obs.Delivered("crm")
	obs.GaveUp("crm")
	for _, s := range []int{0, 302, 400, 410, 503} {
		obs.AttemptFailed("crm", s)
	}
	src := &fakeNotifyStatus{sts: []notify.TargetStatus{
		{Name: "crm", Kind: notify.KindWebhook, Depth: 3, Oldest: now.Add(-90 * time.Second)},
		{Name: "1", Kind: notify.KindNATS, Depth: 0, Disabled: true},
	}}
	if err := n.Watch(src); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP vitals_notify_deliveries_total Notifications finished with, by target (its configured name or index) and result: delivered (accepted by the target), failed (given up after retrying).
# TYPE vitals_notify_deliveries_total counter
vitals_notify_deliveries_total{result="delivered",target="1"} 0
vitals_notify_deliveries_total{result="delivered",target="crm"} 2
vitals_notify_deliveries_total{result="failed",target="1"} 0
vitals_notify_deliveries_total{result="failed",target="crm"} 1
# HELP vitals_notify_attempt_failures_total Failed delivery attempts, by target and reason: no_answer (connection error, timeout, NATS error) or the answer's status class (3xx, 4xx, 5xx).
# TYPE vitals_notify_attempt_failures_total counter
vitals_notify_attempt_failures_total{reason="3xx",target="1"} 0
vitals_notify_attempt_failures_total{reason="3xx",target="crm"} 1
vitals_notify_attempt_failures_total{reason="4xx",target="1"} 0
vitals_notify_attempt_failures_total{reason="4xx",target="crm"} 2
vitals_notify_attempt_failures_total{reason="5xx",target="1"} 0
vitals_notify_attempt_failures_total{reason="5xx",target="crm"} 1
vitals_notify_attempt_failures_total{reason="no_answer",target="1"} 0
vitals_notify_attempt_failures_total{reason="no_answer",target="crm"} 1
# HELP vitals_notify_outbox_depth Notifications in the outbox the target has not finished with (delivered or given up).
# TYPE vitals_notify_outbox_depth gauge
vitals_notify_outbox_depth{target="1"} 0
vitals_notify_outbox_depth{target="crm"} 3
# HELP vitals_notify_oldest_undelivered_age_seconds Time since the transition reported by the oldest notification the target has not finished with; 0 when caught up.
# TYPE vitals_notify_oldest_undelivered_age_seconds gauge
vitals_notify_oldest_undelivered_age_seconds{target="1"} 0
vitals_notify_oldest_undelivered_age_seconds{target="crm"} 90
# HELP vitals_notify_target_disabled 1 when the target answered 410 Gone and receives nothing until its URL changes or it is enabled again, else 0.
# TYPE vitals_notify_target_disabled gauge
vitals_notify_target_disabled{target="1"} 1
vitals_notify_target_disabled{target="crm"} 0
# HELP vitals_notify_status_errors_total Scrapes that could not read the outbox for the notify gauges.
# TYPE vitals_notify_status_errors_total counter
vitals_notify_status_errors_total 0
`
	names := []string{"vitals_notify_deliveries_total", "vitals_notify_attempt_failures_total", "vitals_notify_outbox_depth",
		"vitals_notify_oldest_undelivered_age_seconds", "vitals_notify_target_disabled", "vitals_notify_status_errors_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// A failed read drops the gauges and counts the error.
	src.err = errors.New("outbox closed")
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP vitals_notify_status_errors_total Scrapes that could not read the outbox for the notify gauges.
# TYPE vitals_notify_status_errors_total counter
vitals_notify_status_errors_total 1
`), "vitals_notify_outbox_depth", "vitals_notify_status_errors_total"); err != nil {
		t.Error(err)
	}
}

// TestNotifySeriesPerTarget: each configured target adds a fixed number of
// series, whatever it delivers, so the budget grows only with --notify
// flags.
func TestNotifySeriesPerTarget(t *testing.T) {
	count := func(targets int) int {
		reg := prometheus.NewPedanticRegistry()
		m := metrics.New(reg, metrics.Options{Version: "test"})
		n := m.Notify()
		src := &fakeNotifyStatus{}
		for i := range targets {
			name := string(rune('a' + i))
			n.Configured(name)
			n.Delivered(name)
			n.AttemptFailed(name, 418)
			src.sts = append(src.sts, notify.TargetStatus{Name: name, Depth: 1, Oldest: time.Unix(0, 0)})
		}
		if err := n.Watch(src); err != nil {
			t.Fatal(err)
		}
		return seriesOf(t, reg, "vitals_notify_")
	}
	base, one, three := count(0), count(1), count(3)
	if per := one - base; per != 9 || three-base != 3*per {
		t.Errorf("series: %d with no target, %d with one, %d with three; want 9 per target", base, one, three)
	}
}
