package notify_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
)

// TestLastTransitionsReadsTheOutboxBack: the Deriver reports, per subject
// and kind, the last transition in the outbox with its instant and "to"
// value, as a starting projector needs them.
func TestLastTransitionsReadsTheOutboxBack(t *testing.T) {
	ctx := context.Background()
	o := newMemOutbox()
	t0 := time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	trs := []projections.Transition{
		{Kind: projections.TransitionBand, Subject: "acme", At: t0, From: "green", To: "red"},
		{Kind: projections.TransitionAtRisk, Subject: "acme", At: t0, From: "", To: "health_red,overdue_invoice"},
		{Kind: projections.TransitionBand, Subject: "acme", At: t0.Add(time.Hour), From: "red", To: "yellow"},
		{Kind: projections.TransitionUpsell, Subject: "acme", At: t0, From: "false", To: "true"},
		{Kind: projections.TransitionCapacity, Subject: "m-jane", At: t0, From: "ok", To: "over"},
		{Kind: projections.TransitionCapacity, Subject: "m-jane", At: t0.Add(time.Hour), From: "over", To: "ok"},
		{Kind: projections.TransitionAtRisk, Subject: "beta", At: t0, From: "quiet", To: ""},
	}
	var ns []notify.Notification
	for _, tr := range trs {
		n, err := notify.Build("vitals://test", tr)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if _, err := o.Append(ctx, ns); err != nil {
		t.Fatal(err)
	}
	got, err := notify.NewDeriver("vitals://test", o, zerolog.Nop(), nil).LastTransitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, tr := range got {
		lines = append(lines, fmt.Sprintf("%s %s %q @%s", tr.Kind, tr.Subject, tr.To, tr.At.Format(time.RFC3339)))
	}
	slices.Sort(lines)
	want := []string{
		`at_risk acme "health_red,overdue_invoice" @2026-03-17T00:00:00Z`,
		`at_risk beta "" @2026-03-17T00:00:00Z`,
		`band acme "yellow" @2026-03-17T01:00:00Z`,
		`capacity m-jane "ok" @2026-03-17T01:00:00Z`,
		`upsell acme "true" @2026-03-17T00:00:00Z`,
	}
	if !slices.Equal(lines, want) {
		t.Fatalf("LastTransitions:\n got  %q\n want %q", lines, want)
	}
}
