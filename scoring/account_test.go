package scoring

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRecordsShareRepeatedKeys: the reports of one KPI and the outcomes of
// one meeting keep their name or id once, whether added one by one or
// filled in and normalized, and the instants they keep are the times they
// were given.
func TestRecordsShareRepeatedKeys(t *testing.T) {
	var a Account
	for i := range 3 {
		a.AddKPI(KPIReport{Ref: "src/k" + string(rune('a'+i)), Time: ago(time.Duration(i) * day), Name: "organic_sessions", Target: 10, Actual: 9})
		a.AddMeeting(MeetingOutcome{Ref: "src/m" + string(rune('a'+i)), MeetingID: "weekly", Time: ago(time.Duration(i) * day), Kind: MeetingHeld})
	}
	check := func(when string, a *Account) {
		t.Helper()
		for i := 1; i < 3; i++ {
			if a.KPIs[i].Name != a.KPIs[0].Name || a.Str(a.KPIs[i].Name) != "organic_sessions" {
				t.Errorf("%s: KPI report %d names %+v (%q), report 0 %+v", when, i, a.KPIs[i].Name, a.Str(a.KPIs[i].Name), a.KPIs[0].Name)
			}
			if a.Meetings[i].MeetingID != a.Meetings[0].MeetingID || a.Str(a.Meetings[i].MeetingID) != "weekly" {
				t.Errorf("%s: meeting outcome %d names %+v, outcome 0 %+v", when, i, a.Meetings[i].MeetingID, a.Meetings[0].MeetingID)
			}
		}
		if got := a.KPIs[2].Time.Time(); !got.Equal(T) {
			t.Errorf("%s: the latest report's instant is %v, want %v", when, got, T)
		}
	}
	check("added", &a)
	// Filled in directly, each name a string of its own in Text.
	var b Account
	for i := range 3 {
		b.KPIs = append(b.KPIs, KPIRecord{Name: b.put("organic_sessions"), Ref: b.put("src/k" + string(rune('a'+i))), Time: InstantOf(ago(time.Duration(i) * day)), Target: 10, Actual: 9})
		b.Meetings = append(b.Meetings, MeetingRecord{MeetingID: b.put("weekly"), Ref: b.put("src/m" + string(rune('a'+i))), Time: InstantOf(ago(time.Duration(i) * day)), Kind: 1})
	}
	b.Normalize()
	check("normalized", &b)
}

// TestTextKeepsOnlyLiveStrings: pruning drops the strings of the records it
// drops, and a string read before stays as it was when Text is compacted or
// grows.
func TestTextKeepsOnlyLiveStrings(t *testing.T) {
	s := mustScorer(t)
	var a Account
	message(&a, "old-message", ago(400*day), time.Hour)
	message(&a, "new-message", ago(day), time.Hour)
	before := a.Str(a.Messages[0].ID)
	s.Prune(&a, T)
	if len(a.Messages) != 1 || a.Str(a.Messages[0].ID) != "new-message" {
		t.Fatalf("after the prune: %d messages, the first %q", len(a.Messages), a.Str(a.Messages[0].ID))
	}
	if strings.Contains(string(a.Text), "old-message") {
		t.Errorf("Text still holds the pruned message's strings: %q", a.Text)
	}
	for i := range 100 {
		a.ReceiveMessage(strings.Repeat("x", i+1), "src/r", ago(day))
	}
	if before != "new-message" {
		t.Errorf("a string read before the prune and growth changed to %q", before)
	}
}

// TestTextPrefixes: strings with a slash keep the part before the last
// slash once per account, and compare, read back and survive compaction
// exactly as the strings they were.
func TestTextPrefixes(t *testing.T) {
	strs := []string{"", "/", "a/", "/b", "crm/e1", "crm/e2", "crm/e10", "crm", "crm/", "crm/sub/e1", "https://x.example/hooks/e1",
		"https://x.example/hooks/e2", "crm0", "crm.", "cr/m", "billing/inv-1", "billing/inv-1/x"}
	var a Account
	texts := make([]Text, len(strs))
	for i, s := range strs {
		texts[i] = a.put(s)
	}
	check := func(when string) {
		t.Helper()
		for i, x := range strs {
			if got := a.Str(texts[i]); got != x {
				t.Errorf("%s: %q reads back as %q", when, x, got)
			}
			for j, y := range strs {
				if got, want := a.cmpText(texts[i], texts[j]), strings.Compare(x, y); got != want {
					t.Errorf("%s: cmpText(%q, %q) = %d, want %d", when, x, y, got, want)
				}
				if got, want := a.cmpStr(texts[i], y), strings.Compare(x, y); got != want {
					t.Errorf("%s: cmpStr(%q, %q) = %d, want %d", when, x, y, got, want)
				}
			}
		}
	}
	check("put")
	var prefixes []string
	for _, p := range a.Prefixes {
		prefixes = append(prefixes, a.raw(p))
	}
	if got, want := fmt.Sprintf("%q", prefixes), `["" "a" "crm" "crm/sub" "https://x.example/hooks" "cr" "billing" "billing/inv-1"]`; got != want {
		t.Errorf("prefixes %s, want %s", got, want)
	}
	// Compaction keeps what records name: here, messages naming them.
	var b Account
	for i, s := range strs {
		b.ReceiveMessage(fmt.Sprintf("m%02d", i), s, T)
	}
	b.compactText()
	for i, s := range strs {
		if got := b.Str(b.Messages[i].Ref); got != s {
			t.Errorf("after compaction, message %d's ref is %q, want %q", i, got, s)
		}
	}
}
