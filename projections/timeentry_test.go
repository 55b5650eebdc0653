package projections

import (
	"strings"
	"testing"
	"time"
)

// TestTimeEntriesKeepRefsCompactly: a manager's time entries tell two
// entries at one instant apart by their refs, take the same event twice
// once, and pruning drops the refs of the entries it drops.
func TestTimeEntriesKeepRefsCompactly(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var m Manager
	m.addTime(at, "timesheets/e2", 2, true)
	m.addTime(at, "timesheets/e1", 1, false)
	m.addTime(at, "timesheets/e2", 2, true) // the same event again
	m.addTime(at.Add(40*day), "timesheets/e3", 3, true)
	if len(m.Time) != 3 {
		t.Fatalf("%d time entries, want 3", len(m.Time))
	}
	var refs []string
	for _, e := range m.Time {
		refs = append(refs, m.Refs.Str(e.Ref))
	}
	if got, want := strings.Join(refs, " "), "timesheets/e1 timesheets/e2 timesheets/e3"; got != want {
		t.Errorf("refs in order %q, want %q", got, want)
	}
	m.prune(at.Add(40 * day)) // drops entries older than the 28-day window
	if len(m.Time) != 1 || m.Refs.Str(m.Time[0].Ref) != "timesheets/e3" || m.Time[0].Hours != 3 {
		t.Fatalf("after the prune: %+v", m.Time)
	}
	if text := string(m.Refs.Text); strings.Contains(text, "e1") || strings.Contains(text, "e2") {
		t.Errorf("the refs still hold the pruned entries': %q", text)
	}
}
