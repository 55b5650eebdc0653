package domain

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeEvent checks that Decode never panics, that every rejection is
// a *FieldError, that an accepted event round-trips through MarshalJSON,
// and that Parse agrees with Decode when the future rule cannot trigger.
func FuzzDecodeEvent(f *testing.F) {
	for _, tt := range validPayloads {
		f.Add(event(string(tt.typ), tt.data))
	}
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"time.logged","subject":"a","time":"0000-01-01T00:30:00+01:00","data":{"manager_id":"m","hours":1}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e\u0000","source":"s","type":"nps.responded","subject":"a","time":"2026-03-01T09:30:00.1234567891Z","ext":1e2,"data":{"score":9}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"nps.responded","subject":"a","time":"2026-03-01T09:30:00Z","d\u0061ta":{"score":9},"data":{}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"e","source":"s","type":"account.opened","subject":"a","time":"2026-03-01T09:30:00Z","data":{"name":"x","mrr":1.5e-3}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Decode(raw)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, not *FieldError", err, err)
			}
			// An attribute name is reported as sent (it may end in "."),
			// but a path must not end in an empty member name ("data.").
			if fe.Field == "" || fe.Field == "data." || fe.Message == "" {
				t.Fatalf("error %q does not name a field and say what is wrong", err)
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
		parsed, err := Parse(raw, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
		if err != nil || !reflect.DeepEqual(parsed, e) {
			t.Fatalf("Parse disagrees with Decode: %v", err)
		}
	})
}
