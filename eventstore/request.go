package eventstore

import "fmt"

// Limits every adapter enforces on a request.
const (
	// MaxStreamLen is the longest stream id, in bytes.
	MaxStreamLen = 1024
	// MaxKeyLen is the longest idempotency key, in bytes.
	MaxKeyLen = 4096
)

// Validate checks a request against the contract's rules (stream id, at
// least one event, keys, types, expected version ≥ StreamExists, required
// stream ids) and returns an error wrapping ErrInvalid for the first one
// it breaks. Adapters call it before anything else.
func (r AppendRequest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("append to %q: %s: %w", r.Stream, fmt.Sprintf(format, args...), ErrInvalid)
	}
	switch {
	case r.Stream == "":
		return bad("empty stream id")
	case len(r.Stream) > MaxStreamLen:
		return bad("stream id longer than %d bytes", MaxStreamLen)
	case len(r.Events) == 0:
		return bad("no events")
	case r.Expected < StreamExists:
		return bad("expected version %d", r.Expected)
	}
	for _, req := range r.Requires {
		if req == "" || len(req) > MaxStreamLen {
			return bad("required stream id %q is empty or longer than %d bytes", req, MaxStreamLen)
		}
	}
	for i, ev := range r.Events {
		switch {
		case ev.Key == "":
			return bad("event %d: empty key", i)
		case len(ev.Key) > MaxKeyLen:
			return bad("event %d: key longer than %d bytes", i, MaxKeyLen)
		case ev.Type == "":
			return bad("event %d: empty type", i)
		}
	}
	return nil
}

// UniqueKeys drops the events whose key occurred earlier in evs: a key
// twice in one append is stored once, by its first occurrence. It returns
// evs itself when every key is distinct.
func UniqueKeys(evs []EventData) []EventData {
	if len(evs) < 2 {
		return evs
	}
	seen := make(map[string]struct{}, len(evs))
	out := evs[:0:0]
	for _, ev := range evs {
		if _, dup := seen[ev.Key]; !dup {
			seen[ev.Key] = struct{}{}
			out = append(out, ev)
		}
	}
	if len(out) == len(evs) {
		return evs
	}
	return out
}
