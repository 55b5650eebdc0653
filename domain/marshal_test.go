package domain

import (
	"bytes"
	"encoding/json"
	"sort"
	"testing"
	"time"
)

// marshalJSONBefore is MarshalJSON as it was written before it appended
// into one buffer: the reference its output must equal, byte for byte.
func marshalJSONBefore(e Event) []byte {
	var b bytes.Buffer
	member := func(name string, value []byte) {
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		b.Write(quote(name))
		b.WriteByte(':')
		b.Write(value)
	}
	member("specversion", quote(e.SpecVersion))
	member("id", quote(e.ID))
	member("source", quote(e.Source))
	member("type", quote(string(e.Type)))
	member("subject", quote(e.Subject))
	member("time", quote(e.Time.UTC().Format(time.RFC3339Nano)))
	if e.DataContentType != "" {
		member("datacontenttype", quote(e.DataContentType))
	}
	names := make([]string, 0, len(e.Extensions))
	for name := range e.Extensions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		member(name, e.Extensions[name])
	}
	member("data", e.Data)
	b.WriteByte('}')
	return b.Bytes()
}

// TestMarshalJSONSameAsBefore checks MarshalJSON against the way it was
// written before, on strings that need escapes (quotes, backslashes,
// control characters, <>&, U+2028, non-ASCII).
func TestMarshalJSONSameAsBefore(t *testing.T) {
	for _, id := range []string{"evt-1", `a"b\c`, "tab\there\x01", "<b>&amp;", "line\u2028sep\u2029", "ünï😀", "del\x7f"} {
		for _, tt := range validPayloads {
			e, err := Parse(event(string(tt.typ), tt.data), testNow)
			if err != nil {
				t.Fatal(err)
			}
			e.ID, e.Source = id, "src "+id
			e.DataContentType = "application/json; charset=utf-8"
			e.Extensions = map[string]json.RawMessage{"b": json.RawMessage(`"x"`), "a": json.RawMessage(`1`)}
			got, err := e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if want := marshalJSONBefore(e); !bytes.Equal(got, want) {
				t.Fatalf("MarshalJSON changed\n got %s\nwant %s", got, want)
			}
		}
	}
}

func BenchmarkMarshalJSON(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalJSONBefore(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		marshalJSONBefore(e)
	}
}
