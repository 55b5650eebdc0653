package domain

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// checkBinaryRoundTrip fails unless e, encoded in the compact form, decodes
// to an equal event whose JSON is byte for byte the JSON of e.
func checkBinaryRoundTrip(t *testing.T, e Event) []byte {
	t.Helper()
	bin, err := e.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	if !IsBinary(bin) {
		t.Fatalf("MarshalBinary wrote %q, which IsBinary does not recognise", bin)
	}
	back, err := Decode(bin)
	if err != nil {
		t.Fatalf("Decode(MarshalBinary(e)) = %v\nevent %#v\nbinary %q", err, e, bin)
	}
	if !reflect.DeepEqual(back, e) {
		t.Fatalf("compact round trip changed the event\n%#v\n%#v", e, back)
	}
	want, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	got, err := back.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("JSON of the decoded event differs\n got %s\nwant %s", got, want)
	}
	direct, err := AppendJSONOfBinary([]byte("prefix"), bin)
	if err != nil {
		t.Fatalf("AppendJSONOfBinary: %v", err)
	}
	if !bytes.Equal(direct, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendJSONOfBinary differs from MarshalJSON\n got %s\nwant prefix%s", direct, want)
	}
	return bin
}

// TestBinaryRoundTrip encodes an event of every type, with and without
// extensions and content type, with data in declaration order, sorted, and
// in an order or spelling that only the raw copy keeps.
func TestBinaryRoundTrip(t *testing.T) {
	for _, tt := range validPayloads {
		e, err := Parse(event(string(tt.typ), tt.data), testNow)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		checkBinaryRoundTrip(t, e)
		e.DataContentType = "application/json" // the common one, written as a flag
		checkBinaryRoundTrip(t, e)
		e.DataContentType = "application/json; charset=utf-8"
		e.Extensions = map[string]json.RawMessage{"traceparent": json.RawMessage(`"00-ab"`), "n": json.RawMessage(`1.50`)}
		checkBinaryRoundTrip(t, e)
	}
	for _, data := range []string{
		`{"name":"Acme","mrr":4500,"renewal_date":"2027-03-01"}`,     // declaration order
		`{"mrr":4500,"name":"Acme","renewal_date":"2027-03-01"}`,     // sorted
		`{"renewal_date":"2027-03-01","name":"Acme","mrr":4500}`,     // neither: raw
		`{"name":"Acme","mrr":4500.50}`,                              // 4500.5 is how it renders: raw
		`{"name":"Acm\u00e9","mrr":0}`,                               // an escape: raw
		`{"name":"Acme","mrr":1,"sla_response_hours":0.5,"x":[1,2]}`, // unknown member: raw
	} {
		e, err := Parse(event("account.opened", data), testNow)
		if err != nil {
			t.Fatal(err)
		}
		checkBinaryRoundTrip(t, e)
	}
}

// TestBinaryCompactWhenCanonical checks that data written the way the
// payload renders is not stored a second time.
func TestBinaryCompactWhenCanonical(t *testing.T) {
	data := `{"channel":"email","direction":"outbound","manager_id":"am-1","summary":"weekly report sent"}`
	e, err := Parse(event("touchpoint.recorded", data), testNow)
	if err != nil {
		t.Fatal(err)
	}
	bin := checkBinaryRoundTrip(t, e)
	if bytes.Contains(bin, []byte(`"channel"`)) {
		t.Errorf("compact form %q holds the data object as JSON", bin)
	}
	js, _ := e.MarshalJSON()
	if len(bin) >= len(js)/2 {
		t.Errorf("compact form is %d bytes, JSON %d", len(bin), len(js))
	}
}

// TestBinaryTypeCodes keeps the code table complete: every type of the
// catalog has a code and a payload struct.
func TestBinaryTypeCodes(t *testing.T) {
	if len(binaryTypes) != len(payloadTypes) {
		t.Fatalf("%d type codes, %d payload types", len(binaryTypes), len(payloadTypes))
	}
	for _, typ := range Types() {
		if typeCode(typ) == 0 {
			t.Errorf("type %s has no code in the compact form", typ)
		}
	}
}

// TestDecodeBinaryDamaged checks that a truncated or altered compact event
// is an error naming the event, never a panic or a different event.
func TestDecodeBinaryDamaged(t *testing.T) {
	e, err := Parse(event("invoice.issued", `{"invoice_id":"INV-1","amount":1200,"due_date":"2026-03-31"}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := e.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for i := range bin {
		if _, err := Decode(bin[:i]); err == nil && i > 0 {
			t.Errorf("Decode accepted the compact form cut to %d of %d bytes", i, len(bin))
		}
	}
	if _, err := Decode(append(bin, 0)); err == nil {
		t.Error("Decode accepted a trailing byte")
	}
	checkFieldErr(t, func() error { _, err := Decode([]byte{binaryV1, 99, 0}); return err }(), "event", "compact")
	for i := range bin {
		if _, err := AppendJSONOfBinary(nil, bin[:i]); err == nil {
			t.Errorf("AppendJSONOfBinary accepted the compact form cut to %d of %d bytes", i, len(bin))
		}
	}
}

// FuzzDecodeBinary checks that every event Decode accepts as JSON survives
// the compact form, and that Decode never panics on a damaged compact form.
func FuzzDecodeBinary(f *testing.F) {
	for _, tt := range validPayloads {
		f.Add(event(string(tt.typ), tt.data))
		if e, err := Parse(event(string(tt.typ), tt.data), testNow); err == nil {
			if bin, err := e.MarshalBinary(); err == nil {
				f.Add(bin) // the compact form itself, to damage
			}
		}
	}
	addCorpus(f, "testdata/fuzz/FuzzDecodeEvent")
	f.Fuzz(func(t *testing.T, raw []byte) {
		if IsBinary(raw) {
			e, err := Decode(raw)
			direct, derr := AppendJSONOfBinary(nil, raw)
			if err != nil {
				checkFuzzErr(t, err)
				if derr == nil {
					t.Fatalf("AppendJSONOfBinary accepted what Decode refuses: %q", raw)
				}
				return
			}
			if js, jerr := e.MarshalJSON(); (jerr == nil) != (derr == nil) || jerr == nil && !bytes.Equal(js, direct) {
				t.Fatalf("AppendJSONOfBinary(%q) = %s, %v; MarshalJSON(Decode) = %s, %v", raw, direct, derr, js, jerr)
			}
			return
		}
		e, err := Decode(raw)
		if err != nil {
			return
		}
		bin := checkBinaryRoundTrip(t, e)
		for i := 1; i < len(bin); i++ { // every truncation is refused
			if _, err := Decode(bin[:i]); err == nil {
				t.Fatalf("Decode accepted a truncated compact form %q", bin[:i])
			}
		}
	})
}

func BenchmarkMarshalBinary(b *testing.B) {
	e := benchEvent(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	bin, err := benchEvent(b).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(bin)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(bin); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	js, err := benchEvent(b).MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(js)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(js); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEvent is a typical stored event.
func benchEvent(b *testing.B) Event {
	b.Helper()
	e, err := Parse(event("touchpoint.recorded", `{"channel":"email","direction":"outbound","manager_id":"am-1","summary":"weekly report sent"}`),
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// TestDecodePayload: DecodePayload returns what Decode does, but the data
// object a compact event renders from its payload.
func TestDecodePayload(t *testing.T) {
	for _, tt := range validPayloads {
		e, err := Parse(event(string(tt.typ), tt.data), testNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []func() ([]byte, error){e.MarshalBinary, e.MarshalJSON} {
			raw, err := form()
			if err != nil {
				t.Fatal(err)
			}
			full, err := Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodePayload(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got.Data != nil && !bytes.Equal(got.Data, full.Data) {
				t.Fatalf("%s: DecodePayload data %s, Decode %s", tt.name, got.Data, full.Data)
			}
			got.Data = full.Data
			if !reflect.DeepEqual(got, full) {
				t.Fatalf("%s: DecodePayload\n%#v\nDecode\n%#v", tt.name, got, full)
			}
		}
	}
}

func BenchmarkAppendJSONOfBinary(b *testing.B) {
	bin, err := benchEvent(b).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AppendJSONOfBinary(buf[:0], bin); err != nil {
			b.Fatal(err)
		}
	}
}
