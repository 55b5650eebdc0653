package scoring

import "time"

// Instant is an instant as nanoseconds since 1970-01-01T00:00:00Z: the
// 8-byte form in which an [Account] keeps the times of its facts (a
// time.Time takes 24 bytes). It spans 1677-09-21 … 2262-04-11, which holds
// every instant an event may carry (1970 … 2199); [InstantOf] a time
// outside that span is not defined.
type Instant int64

// InstantOf is t as an Instant.
func InstantOf(t time.Time) Instant { return Instant(t.UnixNano()) }

// Time is i as a UTC time.Time.
func (i Instant) Time() time.Time { return time.Unix(0, int64(i)).UTC() }

// After reports whether i is after t.
func (i Instant) After(t time.Time) bool { return i > InstantOf(t) }

// Before reports whether i is before t.
func (i Instant) Before(t time.Time) bool { return i < InstantOf(t) }

// Add is i + d.
func (i Instant) Add(d time.Duration) time.Time { return i.Time().Add(d) }
