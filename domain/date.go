package domain

import (
	"errors"
	"fmt"
	"time"
)

// Date is a UTC calendar day, written YYYY-MM-DD. The zero Date means "no
// date". Dates are comparable with ==.
type Date struct {
	t time.Time // midnight UTC; zero for the zero Date
}

// ParseDate parses a strict YYYY-MM-DD date with a year from 1000 to 9999
// and a day that exists (2026-02-30 is rejected).
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("domain: date %q: want YYYY-MM-DD", s)
	}
	for i := 0; i < len(s); i++ {
		if i != 4 && i != 7 && !isDigit(s[i]) {
			return Date{}, fmt.Errorf("domain: date %q: want YYYY-MM-DD", s)
		}
	}
	if s[0] == '0' {
		return Date{}, fmt.Errorf("domain: date %q: year must be 1000 to 9999", s)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("domain: date %q: %w", s, err)
	}
	return Date{t: t}, nil
}

// NewDate returns the date y-m-d. Out-of-range values are normalised the
// way time.Date does (February 30 becomes March 2 or 1).
func NewDate(y int, m time.Month, d int) Date {
	return Date{t: time.Date(y, m, d, 0, 0, 0, 0, time.UTC)}
}

// DateOf returns the UTC calendar day that contains t.
func DateOf(t time.Time) Date {
	y, m, d := t.UTC().Date()
	return NewDate(y, m, d)
}

// Time returns the start of the day, 00:00 UTC. The zero Date gives the
// zero time.Time.
func (d Date) Time() time.Time { return d.t }

// IsZero reports whether d is the zero Date ("no date").
func (d Date) IsZero() bool { return d.t.IsZero() }

// String formats d as YYYY-MM-DD, or "" for the zero Date.
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.t.Format(time.DateOnly)
}

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.t.Before(o.t) }

// After reports whether d is a later day than o.
func (d Date) After(o Date) bool { return d.t.After(o.t) }

// AddDays returns the date n days after d (before it when n < 0).
func (d Date) AddDays(n int) Date { return Date{t: d.t.AddDate(0, 0, n)} }

// Sub returns the number of days from o to d (d − o).
func (d Date) Sub(o Date) int { return int((d.t.Unix() - o.t.Unix()) / 86400) }

// MarshalJSON writes "YYYY-MM-DD", or null for the zero Date.
func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON reads "YYYY-MM-DD" (see ParseDate); null gives the zero Date.
func (d *Date) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Date{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return errors.New("domain: date must be a JSON string YYYY-MM-DD")
	}
	v, err := ParseDate(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
