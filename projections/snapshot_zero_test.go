package projections

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/domain"
	"github.com/vitals-hq/vitals/scoring"
)

// TestSnapshotKeepsZeroValuedFacts: a fact whose value is the zero of its
// type comes back from a snapshot as it went in. gob leaves out a pointer
// to a zero value, so such a fact must not be held as one: a void at
// 1970-01-01T00:00:00Z (Instant 0) must stay a void. The manager change
// with capacity and hours 0 cannot come from a validated event (both are at
// least 0.01); the state must still not depend on that to survive a restart.
func TestSnapshotKeepsZeroValuedFacts(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	st := NewState()
	for _, ev := range []domain.Event{
		{ID: "o", Source: "s", Type: domain.TypeAccountOpened, Subject: "a1", Time: epoch, Payload: domain.AccountOpened{Name: "A"}},
		{ID: "i", Source: "s", Type: domain.TypeInvoiceIssued, Subject: "a1", Time: epoch, Payload: domain.InvoiceIssued{InvoiceID: "inv", Amount: 1000, DueDate: domain.DateOf(epoch.AddDate(0, 0, 1))}},
		{ID: "v", Source: "s", Type: domain.TypeInvoiceVoided, Subject: "a1", Time: epoch, Payload: domain.InvoiceVoided{InvoiceID: "inv"}},
		{ID: "j", Source: "s", Type: domain.TypeManagerJoined, Subject: "m1", Time: epoch, Payload: domain.ManagerJoined{Name: "M", CapacityPoints: 5, WeeklyHours: 10}},
		{ID: "u", Source: "s", Type: domain.TypeManagerUpdated, Subject: "m1", Time: epoch.Add(time.Hour), Payload: domain.ManagerUpdated{
			CapacityPoints: domain.Opt[float64]{Set: true}, WeeklyHours: domain.Opt[float64]{Set: true}}},
	} {
		st.Apply(ev)
	}
	path := filepath.Join(t.TempDir(), "snapshot")
	if err := writeSnapshot(path, &snapshot{State: st}); err != nil {
		t.Fatal(err)
	}
	s, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	at := epoch.AddDate(0, 0, 20)
	if live, back := receivables(st.Accounts["a1"], at), receivables(s.State.Accounts["a1"], at); live != back {
		t.Errorf("receivables after a void at %s: live %+v, from the snapshot %+v", epoch.Format(time.RFC3339), live, back)
	}
	if live, back := st.Managers["m1"].ProfileAt(at), s.State.Managers["m1"].ProfileAt(at); live != back {
		t.Errorf("manager profile: live %+v, from the snapshot %+v", live, back)
	}
}

// TestSnapshotKeepsZeroValuedMarks: the account facts a transition's "from"
// side is built of come back from a snapshot as they went in — a score or
// points of 0 stay 0 (not null), empty reasons stay [] — so a transition
// published after a restart tells what one without the restart would.
func TestSnapshotKeepsZeroValuedMarks(t *testing.T) {
	zero, half := 0.0, 0.5
	expires := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	marks := newMarks()
	marks.Accounts["a1"] = &AccountMark{
		Born: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		Facts: AccountFacts{
			Status: domain.StatusActive, Tier: "gold", Score: &zero, Band: "red", ComputedBand: "red",
			Reasons: []string{},
			Components: []ComponentFacts{
				{Name: "nps", Band: "red", Value: &zero, Points: &zero},
				{Name: "kpi", Band: "yellow", Value: &half, Points: &half},
			},
		},
	}
	marks.Accounts["a2"] = &AccountMark{Facts: AccountFacts{Reasons: []string{"health_red"},
		Override: &scoring.Override{Band: "green", SetAt: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), ExpiresAt: &expires}}}
	path := filepath.Join(t.TempDir(), "snapshot")
	if err := writeSnapshot(path, &snapshot{State: NewState(), Marks: &marks}); err != nil {
		t.Fatal(err)
	}
	s, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range marks.Accounts {
		got := s.Marks.Accounts[id]
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.Marshal(got.Facts)
			wj, _ := json.Marshal(want.Facts)
			t.Errorf("account %s's mark from the snapshot:\n%s\nwant\n%s", id, gj, wj)
		}
	}
}
