package domain

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	valid := []string{"2026-03-31", "2024-02-29", "2026-12-31", "1000-01-01", "9999-12-31", "2026-01-01"}
	for _, s := range valid {
		d, err := ParseDate(s)
		if err != nil {
			t.Errorf("ParseDate(%q): %v", s, err)
			continue
		}
		if d.String() != s {
			t.Errorf("ParseDate(%q).String() = %q", s, d.String())
		}
		if d.IsZero() {
			t.Errorf("ParseDate(%q) is zero", s)
		}
		if tm := d.Time(); tm.Hour() != 0 || tm.Location() != time.UTC || tm.Format(time.DateOnly) != s {
			t.Errorf("ParseDate(%q).Time() = %v", s, tm)
		}
	}
	invalid := []string{
		"", "2026-02-30", "2025-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "2026-01-00",
		"2026-1-01", "2026-01-1", "26-01-01", "2026/01/01", "2026-01-01T00:00:00Z", " 2026-01-01",
		"2026-01-01 ", "0999-12-31", "0000-01-01", "+202-01-01", "2026-0a-01", "２０２６-01-01",
	}
	for _, s := range invalid {
		if d, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %v, want error", s, d)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	a := NewDate(2026, time.March, 1)
	b := NewDate(2026, time.February, 15)
	if got := a.Sub(b); got != 14 {
		t.Errorf("Sub = %d, want 14", got)
	}
	if got := b.Sub(a); got != -14 {
		t.Errorf("Sub = %d, want -14", got)
	}
	if got := NewDate(9999, 12, 31).Sub(NewDate(1000, 1, 1)); got != 3287181 {
		t.Errorf("Sub over millennia = %d, want 3287181", got)
	}
	if b.AddDays(14) != a || a.AddDays(-14) != b {
		t.Errorf("AddDays does not invert Sub")
	}
	if !b.Before(a) || !a.After(b) || a.Before(a) {
		t.Errorf("Before/After wrong")
	}
	if got := DateOf(time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("x", -2*3600))); got != NewDate(2026, 3, 2) {
		t.Errorf("DateOf uses UTC day: got %v", got)
	}
	if (Date{}).String() != "" || !(Date{}).IsZero() {
		t.Errorf("zero Date")
	}
}

func TestDateJSON(t *testing.T) {
	var v struct{ D, Z Date }
	if err := json.Unmarshal([]byte(`{"D": "2026-03-31", "Z": null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.D != NewDate(2026, 3, 31) || !v.Z.IsZero() {
		t.Fatalf("got %+v", v)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"D":"2026-03-31","Z":null}` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	for _, bad := range []string{`{"D": "2026-02-30"}`, `{"D": 20260301}`, `{"D": "x"}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}
