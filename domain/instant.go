package domain

import (
	"errors"
	"strings"
	"time"
)

// The instant range. Every instant Vitals accepts — an event's time, a
// timestamp or date in data, a query's at, from and to — lies in
// [MinInstant, MaxInstant], 1970-01-01T00:00:00Z up to (not including)
// 2200-01-01T00:00:00Z; dates in 1970-01-01..2199-12-31. The range spans
// 230 years, less than the ~292 years a time.Duration can hold, so the
// difference of any two accepted instants is exact, and no instant is
// confused with the zero time.Time.

// Messages of the instant rules (docs/events.md quotes them).
const (
	msgInstantRange = "must be from 1970-01-01T00:00:00Z up to (not including) 2200-01-01T00:00:00Z"
	msgOffset       = "must be RFC 3339, e.g. 2026-03-01T09:30:00Z: a time zone offset has hours 00–23 and minutes 00–59"
	msgDateRange    = "must be a date from 1970-01-01 to 2199-12-31"
)

// MinInstant returns the earliest instant Vitals accepts,
// 1970-01-01T00:00:00Z.
func MinInstant() time.Time { return time.Unix(0, 0).UTC() }

// MaxInstant returns the latest instant Vitals accepts, the last nanosecond
// before 2200-01-01T00:00:00Z.
func MaxInstant() time.Time {
	return time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)
}

// InInstantRange reports whether t lies in [MinInstant, MaxInstant].
func InInstantRange(t time.Time) bool {
	return !t.Before(MinInstant()) && !t.After(MaxInstant())
}

// ParseInstant parses s as the instants of events and queries are written:
// RFC 3339 with seconds and a time zone (Z or an offset ±hh:mm with hours
// 00–23 and minutes 00–59), no decimal comma, within the instant range. It
// returns the instant in UTC; the error's text says what is allowed and is
// meant to follow a field name ("time: …", "at: …").
func ParseInstant(s string) (time.Time, error) {
	t, ok := parseTimestamp(s)
	switch {
	case !ok:
		return time.Time{}, errors.New(msgTimestamp)
	case !validOffset(s):
		return time.Time{}, errors.New(msgOffset)
	case !InInstantRange(t):
		return time.Time{}, errors.New(msgInstantRange)
	}
	return t, nil
}

// validOffset reports whether the zone of s, a timestamp time.Parse
// accepted as RFC 3339, is Z or ±hh:mm with hh ≤ 23 and mm ≤ 59;
// time.Parse also accepts +24:00 and +23:60.
func validOffset(s string) bool {
	if strings.HasSuffix(s, "Z") {
		return true
	}
	if len(s) < 6 {
		return false
	}
	z := s[len(s)-6:] // ±hh:mm
	hh := int(z[1]-'0')*10 + int(z[2]-'0')
	mm := int(z[4]-'0')*10 + int(z[5]-'0')
	return (z[0] == '+' || z[0] == '-') && z[3] == ':' && hh <= 23 && mm <= 59
}

// inDateRange reports whether d lies in 1970-01-01..2199-12-31, the days
// of the instant range.
func inDateRange(d Date) bool {
	y := d.Time().Year()
	return y >= 1970 && y < 2200
}
