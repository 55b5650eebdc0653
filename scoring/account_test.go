package scoring

import (
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestRecordsShareRepeatedKeys: the reports of one KPI and the outcomes of
// one meeting keep their name or id once, whether added one by one or
// filled in and normalized (a decoded snapshot), and the instants they
// keep are the times they were given.
func TestRecordsShareRepeatedKeys(t *testing.T) {
	// fresh returns s in a new allocation, as a decoded event's field is.
	fresh := func(s string) string { return strings.Clone(s) }
	var a Account
	for i := range 3 {
		a.AddKPI(KPIReport{Ref: fresh("src/k") + string(rune('a'+i)), Time: ago(time.Duration(i) * day), Name: fresh("organic_sessions"), Target: 10, Actual: 9})
		a.AddMeeting(MeetingOutcome{Ref: fresh("src/m") + string(rune('a'+i)), MeetingID: fresh("weekly"), Time: ago(time.Duration(i) * day), Kind: MeetingHeld})
	}
	check := func(when string, a *Account) {
		t.Helper()
		for i := 1; i < 3; i++ {
			if unsafe.StringData(a.KPIs[i].Name) != unsafe.StringData(a.KPIs[0].Name) {
				t.Errorf("%s: KPI report %d keeps its own copy of the name", when, i)
			}
			if unsafe.StringData(a.Meetings[i].MeetingID) != unsafe.StringData(a.Meetings[0].MeetingID) {
				t.Errorf("%s: meeting outcome %d keeps its own copy of the id", when, i)
			}
		}
		if got := a.KPIs[2].Time.Time(); !got.Equal(T) {
			t.Errorf("%s: the latest report's instant is %v, want %v", when, got, T)
		}
	}
	check("added", &a)
	b := Account{KPIs: append([]KPIRecord(nil), a.KPIs...), Meetings: append([]MeetingRecord(nil), a.Meetings...)}
	for i := range b.KPIs {
		b.KPIs[i].Name = fresh(b.KPIs[i].Name)
		b.Meetings[i].MeetingID = fresh(b.Meetings[i].MeetingID)
	}
	b.Normalize()
	check("normalized", &b)
}
