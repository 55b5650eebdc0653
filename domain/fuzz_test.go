package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeEvent checks that Decode and Parse never panic, that every
// rejection is a *FieldError naming a field, that an accepted event
// round-trips through MarshalJSON, and that Parse (when the future rule
// cannot trigger) accepts only what Decode accepts, with an equal result.
// Parse may reject what Decode accepts: the rules that bound new events
// (instant and number ranges, offsets, lone surrogates, finite extension
// numbers) do not apply to stored ones.
func FuzzDecodeEvent(f *testing.F) {
	for _, tt := range validPayloads {
		f.Add(event(string(tt.typ), tt.data))
	}
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"time.logged","subject":"a","time":"0000-01-01T00:30:00+01:00","data":{"manager_id":"m","hours":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e\u0000","source":"s","type":"nps.responded","subject":"a","time":"2026-03-01T09:30:00.1234567891Z","ext":1e2,"data":{"score":9}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"nps.responded","subject":"a","time":"2026-03-01T09:30:00Z","d\u0061ta":{"score":9},"data":{}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"account.opened","subject":"a","time":"2026-03-01T09:30:00Z","data":{"name":"x","mrr":1.5e-3}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		parsed, perr := Parse(raw, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		if perr != nil {
			checkFuzzErr(t, perr)
		}
		e, err := Decode(raw)
		if err != nil {
			checkFuzzErr(t, err)
			if perr == nil {
				t.Fatalf("Parse accepted what Decode rejects: %v", err)
			}
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		back, err := Decode(out)
		if err != nil {
			t.Fatalf("Decode(MarshalJSON(e)) = %v\ninput  %q\noutput %q", err, raw, out)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip changed the event\n%#v\n%#v", e, back)
		}
		if perr == nil && !reflect.DeepEqual(parsed, e) {
			t.Fatalf("Parse disagrees with Decode\n%#v\n%#v", parsed, e)
		}
	})
}

// checkFuzzErr fails unless err is a *FieldError that names a field and
// says what is wrong.
func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is %T, not *FieldError", err, err)
	}
	// An attribute name is reported as sent (it may end in "."), but a
	// path must not end in an empty member name ("data.").
	if fe.Field == "" || fe.Field == "data." || fe.Message == "" {
		t.Fatalf("error %q does not name a field and say what is wrong", err)
	}
}
